//! The EU Safety Gate (RAPEX) risk assessment method of Commission Implementing Decision (EU)
//! 2019/417, Annex, Part III ("risk assessment guidelines").
//!
//! An assessment is a set of injury scenarios. Each scenario is a chain of steps, each step with
//! the probability that it happens given the previous steps; the scenario's overall probability is
//! the product of the step probabilities. Its injury has a severity from 1 (minor) to 4 (fatal or
//! life-changing). The overall probability falls into one of eight bands (`> 50 %`, `> 1/10`, …,
//! `< 1/1 000 000`), and the risk matrix maps (band, severity) to a risk level: serious, high,
//! medium or low. The scenario with the highest risk decides the product's risk. A sensitivity
//! analysis varies probabilities and severities and reports whether the level changes.
//!
//! See `docs/risk.md` for the matrix, where each cell comes from and what was verified.

use serde::{Deserialize, Serialize};

use crate::RiskError;
use crate::limits::{MAX_SCENARIOS, MAX_STEPS, MAX_TEXT_BYTES};

/// The four risk levels of the Decision, ordered from lowest to highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Low risk.
    Low,
    /// Medium risk.
    Medium,
    /// High risk.
    High,
    /// Serious risk (the level that requires a Safety Gate notification).
    Serious,
}

impl RiskLevel {
    /// The name used in the Decision.
    pub fn label(self) -> &'static str {
        match self {
            RiskLevel::Low => "Low risk",
            RiskLevel::Medium => "Medium risk",
            RiskLevel::High => "High risk",
            RiskLevel::Serious => "Serious risk",
        }
    }
}

/// The eight probability bands of the risk matrix, from the most to the least probable.
///
/// Each band is "greater than" its bound: an overall probability of exactly 1/1 000 is *not*
/// `> 1/1 000` and falls into `> 1/10 000`. Products of decimal step probabilities carry rounding
/// error, so a probability within a relative 1e-9 of a bound counts as equal to the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProbabilityBand {
    /// `> 50 %`
    #[serde(rename = ">50%")]
    Above50Percent,
    /// `> 1/10`
    #[serde(rename = ">1/10")]
    Above1In10,
    /// `> 1/100`
    #[serde(rename = ">1/100")]
    Above1In100,
    /// `> 1/1 000`
    #[serde(rename = ">1/1000")]
    Above1In1000,
    /// `> 1/10 000`
    #[serde(rename = ">1/10000")]
    Above1In10000,
    /// `> 1/100 000`
    #[serde(rename = ">1/100000")]
    Above1In100000,
    /// `> 1/1 000 000`
    #[serde(rename = ">1/1000000")]
    Above1In1000000,
    /// `< 1/1 000 000`
    #[serde(rename = "<1/1000000")]
    Below1In1000000,
}

/// All bands, most probable first (the rows of the matrix).
pub const BANDS: [ProbabilityBand; 8] = [
    ProbabilityBand::Above50Percent,
    ProbabilityBand::Above1In10,
    ProbabilityBand::Above1In100,
    ProbabilityBand::Above1In1000,
    ProbabilityBand::Above1In10000,
    ProbabilityBand::Above1In100000,
    ProbabilityBand::Above1In1000000,
    ProbabilityBand::Below1In1000000,
];

/// Exclusive lower bounds of the bands, in the order of [`BANDS`].
pub const BAND_LOWER_BOUNDS: [f64; 8] = [0.5, 0.1, 0.01, 1e-3, 1e-4, 1e-5, 1e-6, 0.0];

impl ProbabilityBand {
    /// The band of an overall probability in [0, 1].
    pub fn of(p: f64) -> ProbabilityBand {
        for (band, bound) in BANDS.iter().zip(BAND_LOWER_BOUNDS) {
            if bound == 0.0 {
                return *band;
            }
            // "greater than the bound", with a relative tolerance for rounding in products.
            if p > bound * (1.0 + 1e-9) {
                return *band;
            }
        }
        ProbabilityBand::Below1In1000000
    }

    /// Row index in [`BANDS`] (0 = most probable).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The label as written in the Decision's matrix.
    pub fn label(self) -> &'static str {
        match self {
            ProbabilityBand::Above50Percent => "> 50 %",
            ProbabilityBand::Above1In10 => "> 1/10",
            ProbabilityBand::Above1In100 => "> 1/100",
            ProbabilityBand::Above1In1000 => "> 1/1 000",
            ProbabilityBand::Above1In10000 => "> 1/10 000",
            ProbabilityBand::Above1In100000 => "> 1/100 000",
            ProbabilityBand::Above1In1000000 => "> 1/1 000 000",
            ProbabilityBand::Below1In1000000 => "< 1/1 000 000",
        }
    }

    fn shifted(self, rows_more_probable: i32) -> ProbabilityBand {
        let i = (self.index() as i32 - rows_more_probable).clamp(0, 7);
        BANDS[i as usize]
    }
}

/// The risk matrix: rows are the bands of [`BANDS`], columns are severities 1 to 4.
///
/// Source and verification status: see `docs/risk.md` ("The risk matrix").
pub const RISK_MATRIX: [[RiskLevel; 4]; 8] = {
    use RiskLevel::{High as H, Low as L, Medium as M, Serious as S};
    [
        [H, S, S, S], // > 50 %
        [M, S, S, S], // > 1/10
        [M, S, S, S], // > 1/100
        [L, H, S, S], // > 1/1 000
        [L, M, H, S], // > 1/10 000
        [L, L, M, H], // > 1/100 000
        [L, L, L, M], // > 1/1 000 000
        [L, L, L, L], // < 1/1 000 000
    ]
};

/// Severity of the injury, 1 to 4 (Decision 2019/417, Part III, table 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "u8")]
pub struct Severity(u8);

impl Severity {
    /// A severity from 1 to 4.
    pub fn new(level: u8) -> Result<Severity, RiskError> {
        if (1..=4).contains(&level) {
            Ok(Severity(level))
        } else {
            Err(RiskError::invalid(
                "severity",
                format!("must be 1, 2, 3 or 4, got {level}"),
            ))
        }
    }
    /// 1 to 4.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl From<Severity> for u8 {
    fn from(s: Severity) -> u8 {
        s.0
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u8::deserialize(d)?;
        Severity::new(v).map_err(|_| serde::de::Error::custom("severity must be 1, 2, 3 or 4"))
    }
}

/// The risk level of one cell of the matrix.
pub fn risk_level(band: ProbabilityBand, severity: Severity) -> RiskLevel {
    RISK_MATRIX[band.index()][usize::from(severity.0 - 1)]
}

/// A probability as written by an assessor: a number in [0, 1], a fraction `"1/500"` or a
/// percentage `"2%"`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(into = "f64")]
pub struct Probability(f64);

impl Probability {
    /// A probability in [0, 1].
    pub fn new(p: f64) -> Result<Probability, RiskError> {
        if p.is_finite() && (0.0..=1.0).contains(&p) {
            Ok(Probability(p))
        } else {
            Err(RiskError::invalid(
                "probability",
                format!("must be within [0, 1], got {p}"),
            ))
        }
    }

    /// Parses `0.02`, `"1/50"` or `"2%"`.
    pub fn parse(text: &str) -> Result<Probability, RiskError> {
        let t = text.trim();
        let bad = || {
            RiskError::invalid(
                "probability",
                format!("'{t}' is not a number, a fraction 'a/b' or a percentage"),
            )
        };
        let value = if let Some((num, den)) = t.split_once('/') {
            let num: f64 = num
                .trim()
                .replace([' ', '\u{a0}'], "")
                .parse()
                .map_err(|_| bad())?;
            let den: f64 = den
                .trim()
                .replace([' ', '\u{a0}'], "")
                .parse()
                .map_err(|_| bad())?;
            if den <= 0.0 {
                return Err(RiskError::invalid(
                    "probability",
                    format!("'{t}': denominator must be positive"),
                ));
            }
            num / den
        } else if let Some(pct) = t.strip_suffix('%') {
            pct.trim().parse::<f64>().map_err(|_| bad())? / 100.0
        } else {
            t.parse::<f64>().map_err(|_| bad())?
        };
        Probability::new(value)
    }

    /// The value in [0, 1].
    pub fn get(self) -> f64 {
        self.0
    }
}

impl From<Probability> for f64 {
    fn from(p: Probability) -> f64 {
        p.0
    }
}

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Number(f64),
            Text(String),
        }
        let r = match Repr::deserialize(d)? {
            Repr::Number(x) => Probability::new(x),
            Repr::Text(s) => Probability::parse(&s),
        };
        r.map_err(|e| serde::de::Error::custom(e.to_string()))
    }
}

/// Consumer groups of the Decision's table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsumerGroup {
    /// Very young children (0-36 months), people with extensive and complex disabilities.
    VeryVulnerable,
    /// Young and older children (>36 months to 14 years), people with reduced capabilities.
    Vulnerable,
    /// Adults other than the above.
    Adult,
}

/// One step of an injury scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// What happens.
    pub description: String,
    /// Probability of this step given the previous ones.
    pub probability: Probability,
    /// Optional lower plausible value, used by the sensitivity analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability_low: Option<Probability>,
    /// Optional upper plausible value, used by the sensitivity analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability_high: Option<Probability>,
}

/// One injury scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioInput {
    /// The scenario in a sentence.
    pub description: String,
    /// Injury type and location, e.g. "minor pinching of finger".
    #[serde(default)]
    pub injury: String,
    /// Who is hurt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<ConsumerGroup>,
    /// Severity of the injury, 1 to 4.
    pub severity: Severity,
    /// The chain of steps; the overall probability is their product.
    pub steps: Vec<StepInput>,
}

/// An assessment request (the JSON of `zhiliang risk assess` and `POST /api/risk/assessments`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentInput {
    /// The product, described unambiguously.
    pub product: String,
    /// The hazard, e.g. "trapping of fingers".
    #[serde(default)]
    pub hazard: String,
    /// The injury scenarios (at least one).
    pub scenarios: Vec<ScenarioInput>,
}

/// The outcome for one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// Index in the input.
    pub index: usize,
    /// The scenario.
    pub description: String,
    /// Severity.
    pub severity: Severity,
    /// Product of the step probabilities.
    pub overall_probability: f64,
    /// The overall probability written as `1/N` (or a percentage above 1/2).
    pub overall_probability_label: String,
    /// Its band.
    pub band: ProbabilityBand,
    /// The matrix cell.
    pub level: RiskLevel,
}

/// One variation of the sensitivity analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variation {
    /// The scenario varied.
    pub scenario: usize,
    /// What was changed.
    pub change: String,
    /// The varied scenario's overall probability.
    pub overall_probability: f64,
    /// The varied scenario's severity.
    pub severity: Severity,
    /// The product's risk level with this variation.
    pub level: RiskLevel,
}

/// The sensitivity analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sensitivity {
    /// Lowest product level over all variations.
    pub level_min: RiskLevel,
    /// Highest product level over all variations.
    pub level_max: RiskLevel,
    /// True if no variation changes the product's level.
    pub robust: bool,
    /// Every variation tried.
    pub variations: Vec<Variation>,
}

/// The result of an assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// The product's risk: the highest scenario risk.
    pub level: RiskLevel,
    /// Index of the scenario that decides (the first with the highest level).
    pub deciding_scenario: usize,
    /// Per-scenario outcome.
    pub scenarios: Vec<ScenarioResult>,
    /// The sensitivity analysis.
    pub sensitivity: Sensitivity,
    /// The reasoning, one sentence per line, for people.
    pub rationale: Vec<String>,
}

/// Writes a probability the way the Decision does: `1/500`, `> 50 %` values as percentages.
pub fn probability_label(p: f64) -> String {
    if p <= 0.0 {
        return "0".to_string();
    }
    if p > 0.5 {
        return format!("{}%", trim_float(p * 100.0));
    }
    let inv = 1.0 / p;
    let rounded = inv.round();
    if ((inv - rounded) / inv).abs() < 1e-9 {
        format!("1/{}", rounded as u64)
    } else {
        format!("1/{}", trim_float(inv))
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn check_text(field: &str, s: &str) -> Result<(), RiskError> {
    if s.len() > MAX_TEXT_BYTES {
        return Err(RiskError::invalid(
            field,
            format!("longer than {MAX_TEXT_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn validate(input: &AssessmentInput) -> Result<(), RiskError> {
    check_text("product", &input.product)?;
    check_text("hazard", &input.hazard)?;
    if input.product.trim().is_empty() {
        return Err(RiskError::invalid("product", "must not be empty"));
    }
    if input.scenarios.is_empty() {
        return Err(RiskError::invalid(
            "scenarios",
            "at least one injury scenario is required",
        ));
    }
    if input.scenarios.len() > MAX_SCENARIOS {
        return Err(RiskError::Limit {
            field: "scenarios".into(),
            limit: MAX_SCENARIOS,
            what: "scenarios",
        });
    }
    for (i, s) in input.scenarios.iter().enumerate() {
        check_text(&format!("scenarios[{i}].description"), &s.description)?;
        check_text(&format!("scenarios[{i}].injury"), &s.injury)?;
        if s.steps.is_empty() {
            return Err(RiskError::invalid(
                format!("scenarios[{i}].steps"),
                "at least one step is required",
            ));
        }
        if s.steps.len() > MAX_STEPS {
            return Err(RiskError::Limit {
                field: format!("scenarios[{i}].steps"),
                limit: MAX_STEPS,
                what: "steps",
            });
        }
        for (j, st) in s.steps.iter().enumerate() {
            check_text(
                &format!("scenarios[{i}].steps[{j}].description"),
                &st.description,
            )?;
            let p = st.probability.get();
            if let Some(lo) = st.probability_low
                && lo.get() > p
            {
                return Err(RiskError::invalid(
                    format!("scenarios[{i}].steps[{j}].probability_low"),
                    "must not exceed probability",
                ));
            }
            if let Some(hi) = st.probability_high
                && hi.get() < p
            {
                return Err(RiskError::invalid(
                    format!("scenarios[{i}].steps[{j}].probability_high"),
                    "must not be below probability",
                ));
            }
        }
    }
    Ok(())
}

fn overall(steps: &[StepInput], pick: impl Fn(&StepInput) -> f64) -> f64 {
    steps.iter().map(pick).product()
}

fn level_of(p: f64, severity: Severity) -> RiskLevel {
    risk_level(ProbabilityBand::of(p), severity)
}

/// Assesses a product: every scenario through the matrix, the highest decides, then the
/// sensitivity analysis.
///
/// Sensitivity variations, one scenario at a time (the others unchanged): the overall probability
/// one band up (×10) and down (÷10), the severity one level up and down (within 1-4), and, where
/// the assessor gave `probability_low` / `probability_high` for steps, all steps at their low and
/// at their high values.
pub fn assess(input: &AssessmentInput) -> Result<Assessment, RiskError> {
    validate(input)?;
    let scenarios: Vec<ScenarioResult> = input
        .scenarios
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let p = overall(&s.steps, |st| st.probability.get());
            let band = ProbabilityBand::of(p);
            ScenarioResult {
                index,
                description: s.description.clone(),
                severity: s.severity,
                overall_probability: p,
                overall_probability_label: probability_label(p),
                band,
                level: risk_level(band, s.severity),
            }
        })
        .collect();
    let level = scenarios
        .iter()
        .map(|s| s.level)
        .max()
        .unwrap_or(RiskLevel::Low);
    let deciding = scenarios.iter().position(|s| s.level == level).unwrap_or(0);

    // Sensitivity: product level when one scenario is replaced by a variation.
    let product_level_with = |idx: usize, varied: RiskLevel| -> RiskLevel {
        scenarios
            .iter()
            .map(|s| if s.index == idx { varied } else { s.level })
            .max()
            .unwrap_or(varied)
    };
    let mut variations = Vec::new();
    for (s_in, s) in input.scenarios.iter().zip(&scenarios) {
        let mut push = |change: String, p: f64, sev: Severity| {
            let p = p.clamp(0.0, 1.0);
            let l = level_of(p, sev);
            variations.push(Variation {
                scenario: s.index,
                change,
                overall_probability: p,
                severity: sev,
                level: product_level_with(s.index, l),
            });
        };
        push(
            "overall probability ×10".into(),
            s.overall_probability * 10.0,
            s.severity,
        );
        push(
            "overall probability ÷10".into(),
            s.overall_probability / 10.0,
            s.severity,
        );
        if s.severity.0 < 4 {
            push(
                "severity +1".into(),
                s.overall_probability,
                Severity(s.severity.0 + 1),
            );
        }
        if s.severity.0 > 1 {
            push(
                "severity −1".into(),
                s.overall_probability,
                Severity(s.severity.0 - 1),
            );
        }
        if s_in.steps.iter().any(|st| st.probability_low.is_some()) {
            let p = overall(&s_in.steps, |st| {
                st.probability_low.unwrap_or(st.probability).get()
            });
            push("steps at their low probabilities".into(), p, s.severity);
        }
        if s_in.steps.iter().any(|st| st.probability_high.is_some()) {
            let p = overall(&s_in.steps, |st| {
                st.probability_high.unwrap_or(st.probability).get()
            });
            push("steps at their high probabilities".into(), p, s.severity);
        }
    }
    let level_min = variations
        .iter()
        .map(|v| v.level)
        .min()
        .unwrap_or(level)
        .min(level);
    let level_max = variations
        .iter()
        .map(|v| v.level)
        .max()
        .unwrap_or(level)
        .max(level);
    let robust = level_min == level && level_max == level;

    let mut rationale = Vec::new();
    for s in &scenarios {
        rationale.push(format!(
            "Scenario {} ({}): overall probability {} ({}), severity {} → {}.",
            s.index + 1,
            s.description,
            s.overall_probability_label,
            s.band.label(),
            s.severity.0,
            s.level.label()
        ));
    }
    let d = &scenarios[deciding];
    rationale.push(format!(
        "The product presents a {}: scenario {} has the highest risk (Decision (EU) 2019/417, the highest risk of all scenarios decides).",
        level.label().to_lowercase(),
        d.index + 1
    ));
    if robust {
        rationale.push("Sensitivity: no variation of probability (one band) or severity (one level) changes the risk level.".into());
    } else {
        rationale.push(format!(
            "Sensitivity: the level ranges from {} to {} under the variations; review the uncertain steps.",
            level_min.label().to_lowercase(),
            level_max.label().to_lowercase()
        ));
    }
    Ok(Assessment {
        level,
        deciding_scenario: deciding,
        scenarios,
        sensitivity: Sensitivity {
            level_min,
            level_max,
            robust,
            variations,
        },
        rationale,
    })
}

/// Shifts a band by whole rows (positive = more probable). Used by tests and callers exploring the
/// matrix.
pub fn shift_band(band: ProbabilityBand, rows_more_probable: i32) -> ProbabilityBand {
    band.shifted(rows_more_probable)
}
