//! Shewhart control charts as R `qcc` 2.7 computes them (Scrucca 2004; Montgomery 1991): x̄ with σ
//! from ranges or standard deviations, R, S, individuals (x̄ of one: σ from moving ranges or the
//! SD), p, np, c and u; points beyond the limits, qcc's run rule (7 on one side), and the eight
//! Nelson rules.

use serde::{Deserialize, Serialize};

use crate::RiskError;
use crate::special::{ln_gamma, norm_quantile};

/// d2 (expected range of n standard normals) for n = 2…25, as qcc's `exp.R.unscaled`.
const D2: [f64; 24] = [
    1.128, 1.693, 2.059, 2.326, 2.534, 2.704, 2.847, 2.970, 3.078, 3.173, 3.258, 3.336, 3.407,
    3.472, 3.532, 3.588, 3.640, 3.689, 3.735, 3.778, 3.819, 3.858, 3.895, 3.931,
];
/// d3 (SD of the range of n standard normals) for n = 2…25, as qcc's `se.R.unscaled`.
const D3: [f64; 24] = [
    0.8525033, 0.8883697, 0.8798108, 0.8640855, 0.8480442, 0.8332108, 0.8198378, 0.8078413,
    0.7970584, 0.7873230, 0.7784873, 0.7704163, 0.7629938, 0.7561183, 0.7497240, 0.7437324,
    0.7380979, 0.7327715, 0.7277258, 0.7229268, 0.7183463, 0.7139690, 0.7097741, 0.7057447,
];

fn d2(n: usize) -> Result<f64, RiskError> {
    D2.get(n.wrapping_sub(2))
        .copied()
        .ok_or_else(|| RiskError::invalid("sizes", format!("group size {n}: must be 2 to 25")))
}
fn d3(n: usize) -> Result<f64, RiskError> {
    D3.get(n.wrapping_sub(2))
        .copied()
        .ok_or_else(|| RiskError::invalid("sizes", format!("group size {n}: must be 2 to 25")))
}
/// c4(n) = √(2/(n−1)) Γ(n/2)/Γ((n−1)/2).
pub fn c4(n: usize) -> f64 {
    let n = n as f64;
    (2.0 / (n - 1.0)).sqrt() * (ln_gamma(n / 2.0) - ln_gamma((n - 1.0) / 2.0)).exp()
}

/// A chart: centre, σ, limits per point (calibration points then new points), statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// Centre line.
    pub center: f64,
    /// Estimated process σ (for attribute charts, √(p̄(1−p̄)) or √c̄ as qcc reports).
    pub std_dev: f64,
    /// Statistics of the calibration groups, then of the new groups.
    pub statistics: Vec<f64>,
    /// Number of calibration groups.
    pub calibration: usize,
    /// Lower limit per point.
    pub lcl: Vec<f64>,
    /// Upper limit per point.
    pub ucl: Vec<f64>,
}

/// How σ is estimated for x̄ charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigmaFrom {
    /// Unweighted average of R_i/d2(n_i) (qcc "UWAVE-R").
    Ranges,
    /// Unweighted average of S_i/c4(n_i) (qcc "UWAVE-SD").
    StdDevs,
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}
fn sd(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)).sqrt()
}
fn range(x: &[f64]) -> f64 {
    x.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - x.iter().copied().fold(f64::INFINITY, f64::min)
}

/// z for `nsigmas` or for a confidence level (qcc's `confidence.level`: z = Φ⁻¹(1 − (1 − level)/2)).
pub fn z_for_confidence(level: f64) -> f64 {
    norm_quantile(1.0 - (1.0 - level) / 2.0)
}

fn check_groups(field: &str, groups: &[Vec<f64>]) -> Result<(), RiskError> {
    if groups.is_empty() {
        return Err(RiskError::invalid(field, "at least one group is required"));
    }
    for (i, g) in groups.iter().enumerate() {
        if g.len() < 2 || g.len() > 25 {
            return Err(RiskError::invalid(
                format!("{field}[{i}]"),
                "a group needs 2 to 25 measurements",
            ));
        }
        if g.iter().any(|v| !v.is_finite()) {
            return Err(RiskError::invalid(
                format!("{field}[{i}]"),
                "measurements must be finite",
            ));
        }
    }
    Ok(())
}

/// σ of grouped data.
pub fn sigma_grouped(groups: &[Vec<f64>], from: SigmaFrom) -> Result<f64, RiskError> {
    check_groups("groups", groups)?;
    let mut acc = 0.0;
    for g in groups {
        acc += match from {
            SigmaFrom::Ranges => range(g) / d2(g.len())?,
            SigmaFrom::StdDevs => sd(g) / c4(g.len()),
        };
    }
    Ok(acc / groups.len() as f64)
}

/// x̄ chart: centre = grand mean of the calibration groups (weighted by size), limits
/// centre ± z·σ/√n_i.
pub fn xbar(
    groups: &[Vec<f64>],
    new: &[Vec<f64>],
    from: SigmaFrom,
    z: f64,
) -> Result<Chart, RiskError> {
    let sigma = sigma_grouped(groups, from)?;
    check_groups("new", new).or_else(|e| if new.is_empty() { Ok(()) } else { Err(e) })?;
    let total: f64 = groups.iter().map(|g| g.iter().sum::<f64>()).sum();
    let n: usize = groups.iter().map(Vec::len).sum();
    let center = total / n as f64;
    let all: Vec<&Vec<f64>> = groups.iter().chain(new).collect();
    Ok(Chart {
        center,
        std_dev: sigma,
        statistics: all.iter().map(|g| mean(g)).collect(),
        calibration: groups.len(),
        lcl: all
            .iter()
            .map(|g| center - z * sigma / (g.len() as f64).sqrt())
            .collect(),
        ucl: all
            .iter()
            .map(|g| center + z * sigma / (g.len() as f64).sqrt())
            .collect(),
    })
}

/// R chart: centre R̄ = size-weighted mean range; limits R̄ ± z·d3(n)σ (lower at least 0), σ
/// from ranges (qcc: with equal sizes R̄ = d2σ).
pub fn r_chart(groups: &[Vec<f64>], new: &[Vec<f64>], z: f64) -> Result<Chart, RiskError> {
    let sigma = sigma_grouped(groups, SigmaFrom::Ranges)?;
    let n: usize = groups.iter().map(Vec::len).sum();
    let center = groups
        .iter()
        .map(|g| g.len() as f64 * range(g))
        .sum::<f64>()
        / n as f64;
    let all: Vec<&Vec<f64>> = groups.iter().chain(new).collect();
    let mut lcl = Vec::new();
    let mut ucl = Vec::new();
    for g in &all {
        let b = d3(g.len())?;
        lcl.push((center - z * b * sigma).max(0.0));
        ucl.push(center + z * b * sigma);
    }
    Ok(Chart {
        center,
        std_dev: sigma,
        statistics: all.iter().map(|g| range(g)).collect(),
        calibration: groups.len(),
        lcl,
        ucl,
    })
}

/// S chart: centre S̄ = size-weighted mean SD; limits S̄ ± z·σ√(1 − c4(n)²), σ from SDs.
pub fn s_chart(groups: &[Vec<f64>], new: &[Vec<f64>], z: f64) -> Result<Chart, RiskError> {
    let sigma = sigma_grouped(groups, SigmaFrom::StdDevs)?;
    let n: usize = groups.iter().map(Vec::len).sum();
    let center = groups.iter().map(|g| g.len() as f64 * sd(g)).sum::<f64>() / n as f64;
    let all: Vec<&Vec<f64>> = groups.iter().chain(new).collect();
    let c = |g: &Vec<f64>| c4(g.len());
    Ok(Chart {
        center,
        std_dev: sigma,
        statistics: all.iter().map(|g| sd(g)).collect(),
        calibration: groups.len(),
        lcl: all
            .iter()
            .map(|g| (center - z * sigma * (1.0 - c(g) * c(g)).sqrt()).max(0.0))
            .collect(),
        ucl: all
            .iter()
            .map(|g| center + z * sigma * (1.0 - c(g) * c(g)).sqrt())
            .collect(),
    })
}

/// σ of individual values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndividualsSigma {
    /// Mean moving range of span 2 / d2(2) (qcc "MR").
    MovingRange,
    /// Sample SD / c4(n) (qcc "SD").
    StdDev,
}

/// Individuals chart (qcc `xbar.one`).
pub fn individuals(
    x: &[f64],
    new: &[f64],
    how: IndividualsSigma,
    z: f64,
) -> Result<Chart, RiskError> {
    if x.len() < 2 || x.iter().chain(new).any(|v| !v.is_finite()) {
        return Err(RiskError::invalid(
            "x",
            "at least 2 finite values are required",
        ));
    }
    let sigma = match how {
        IndividualsSigma::MovingRange => {
            mean(
                &x.windows(2)
                    .map(|w| (w[1] - w[0]).abs())
                    .collect::<Vec<_>>(),
            ) / d2(2)?
        }
        IndividualsSigma::StdDev => sd(x) / c4(x.len()),
    };
    let center = mean(x);
    let n = x.len() + new.len();
    Ok(Chart {
        center,
        std_dev: sigma,
        statistics: x.iter().chain(new).copied().collect(),
        calibration: x.len(),
        lcl: vec![center - z * sigma; n],
        ucl: vec![center + z * sigma; n],
    })
}

/// Attribute charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attribute {
    /// Proportion nonconforming D/n.
    P,
    /// Number nonconforming D (equal sizes).
    Np,
    /// Count of nonconformities.
    C,
    /// Nonconformities per unit x/n.
    U,
}

/// p, np, c or u chart from counts and sizes (calibration) and new counts and sizes.
pub fn attribute(
    kind: Attribute,
    counts: &[f64],
    sizes: &[f64],
    new_counts: &[f64],
    new_sizes: &[f64],
    z: f64,
) -> Result<Chart, RiskError> {
    if counts.is_empty() || counts.len() != sizes.len() || new_counts.len() != new_sizes.len() {
        return Err(RiskError::invalid(
            "sizes",
            "one size per count is required",
        ));
    }
    if counts
        .iter()
        .chain(new_counts)
        .any(|v| !v.is_finite() || *v < 0.0)
        || sizes
            .iter()
            .chain(new_sizes)
            .any(|v| !(v.is_finite() && *v > 0.0))
    {
        return Err(RiskError::invalid(
            "counts",
            "counts must be non-negative and sizes positive",
        ));
    }
    let sum_c: f64 = counts.iter().sum();
    let sum_n: f64 = sizes.iter().sum();
    let all_c: Vec<f64> = counts.iter().chain(new_counts).copied().collect();
    let all_n: Vec<f64> = sizes.iter().chain(new_sizes).copied().collect();
    let (center, std_dev, stats, lim): (f64, f64, Vec<f64>, Vec<(f64, f64)>) = match kind {
        Attribute::P => {
            let p = sum_c / sum_n;
            let s = (p * (1.0 - p)).sqrt();
            (
                p,
                s,
                all_c.iter().zip(&all_n).map(|(c, n)| c / n).collect(),
                all_n.iter().map(|n| (p, z * s / n.sqrt())).collect(),
            )
        }
        Attribute::Np => {
            let p = sum_c / sum_n;
            let n0 = sizes[0];
            (
                n0 * p,
                (n0 * p * (1.0 - p)).sqrt(),
                all_c.clone(),
                all_n
                    .iter()
                    .map(|n| (n * p, z * (n * p * (1.0 - p)).sqrt()))
                    .collect(),
            )
        }
        Attribute::C => {
            let c = sum_c / counts.len() as f64;
            (
                c,
                c.sqrt(),
                all_c.clone(),
                all_n.iter().map(|_| (c, z * c.sqrt())).collect(),
            )
        }
        Attribute::U => {
            let u = sum_c / sum_n;
            (
                u,
                u.sqrt(),
                all_c.iter().zip(&all_n).map(|(c, n)| c / n).collect(),
                all_n.iter().map(|n| (u, z * (u / n).sqrt())).collect(),
            )
        }
    };
    Ok(Chart {
        center,
        std_dev,
        statistics: stats,
        calibration: counts.len(),
        lcl: lim.iter().map(|(c, w)| (c - w).max(0.0)).collect(),
        ucl: lim.iter().map(|(c, w)| c + w).collect(),
    })
}

impl Chart {
    /// 1-based indices of points strictly outside their limits (qcc `beyond.limits`), in order.
    pub fn beyond_limits(&self) -> Vec<usize> {
        (0..self.statistics.len())
            .filter(|&i| self.statistics[i] > self.ucl[i] || self.statistics[i] < self.lcl[i])
            .map(|i| i + 1)
            .collect()
    }

    /// 1-based indices of points that are the `run_length`-th or later of a run on one side of
    /// the centre (qcc `violating.runs`, run length 7; a point on the centre breaks a run).
    pub fn violating_runs(&self, run_length: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut side = 0i8;
        let mut len = 0usize;
        for (i, &s) in self.statistics.iter().enumerate() {
            let d = s - self.center;
            let this = if d > 0.0 {
                1
            } else if d < 0.0 {
                -1
            } else {
                0
            };
            if this != 0 && this == side {
                len += 1;
            } else {
                side = this;
                len = usize::from(this != 0);
            }
            if side != 0 && len >= run_length {
                out.push(i + 1);
            }
        }
        out
    }
}

/// The eight Nelson rules; each returns the 0-based indices of the points that complete a
/// violating pattern.
pub fn nelson(x: &[f64], center: f64, sigma: f64) -> [Vec<usize>; 8] {
    let z: Vec<f64> = x.iter().map(|v| (v - center) / sigma).collect();
    let n = z.len();
    let mut r: [Vec<usize>; 8] = Default::default();
    for i in 0..n {
        let win = |k: usize| {
            if i + 1 >= k {
                Some(&z[i + 1 - k..=i])
            } else {
                None
            }
        };
        // 1: one point beyond 3σ.
        if z[i].abs() > 3.0 {
            r[0].push(i);
        }
        // 2: nine in a row on one side.
        if let Some(w) = win(9)
            && (w.iter().all(|&v| v > 0.0) || w.iter().all(|&v| v < 0.0))
        {
            r[1].push(i);
        }
        // 3: six in a row steadily increasing or decreasing.
        if let Some(w) = win(6)
            && (w.windows(2).all(|p| p[1] > p[0]) || w.windows(2).all(|p| p[1] < p[0]))
        {
            r[2].push(i);
        }
        // 4: fourteen in a row alternating up and down.
        if let Some(w) = win(14) {
            let d: Vec<f64> = w.windows(2).map(|p| p[1] - p[0]).collect();
            if d.iter().all(|&v| v != 0.0) && d.windows(2).all(|p| p[0] * p[1] < 0.0) {
                r[3].push(i);
            }
        }
        // 5: two of three beyond 2σ on the same side.
        if let Some(w) = win(3)
            && (w.iter().filter(|&&v| v > 2.0).count() >= 2
                || w.iter().filter(|&&v| v < -2.0).count() >= 2)
        {
            r[4].push(i);
        }
        // 6: four of five beyond 1σ on the same side.
        if let Some(w) = win(5)
            && (w.iter().filter(|&&v| v > 1.0).count() >= 4
                || w.iter().filter(|&&v| v < -1.0).count() >= 4)
        {
            r[5].push(i);
        }
        // 7: fifteen in a row within 1σ.
        if let Some(w) = win(15)
            && w.iter().all(|&v| v.abs() < 1.0)
        {
            r[6].push(i);
        }
        // 8: eight in a row beyond 1σ, on both sides.
        if let Some(w) = win(8)
            && w.iter().all(|&v| v.abs() > 1.0)
            && w.iter().any(|&v| v > 0.0)
            && w.iter().any(|&v| v < 0.0)
        {
            r[7].push(i);
        }
    }
    r
}

/// Process capability (qcc `process.capability`): indices from the chart's centre and σ, their
/// confidence limits, and the expected and observed fractions outside the specification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capability {
    /// (USL − LSL)/(6σ).
    pub cp: f64,
    /// (centre − LSL)/(3σ).
    pub cp_l: f64,
    /// (USL − centre)/(3σ).
    pub cp_u: f64,
    /// min(Cp_l, Cp_u).
    pub cp_k: f64,
    /// Cp / √(1 + ((centre − target)/σ)²).
    pub cpm: f64,
    /// Lower confidence limits of (Cp, Cp_l, Cp_u, Cp_k, Cpm).
    pub lower: [f64; 5],
    /// Upper confidence limits of (Cp, Cp_l, Cp_u, Cp_k, Cpm).
    pub upper: [f64; 5],
    /// Φ((LSL − centre)/σ).
    pub exp_lsl: f64,
    /// 1 − Φ((USL − centre)/σ).
    pub exp_usl: f64,
    /// Share of observations below LSL.
    pub obs_lsl: f64,
    /// Share of observations above USL.
    pub obs_usl: f64,
}

fn qchisq(p: f64, df: f64) -> f64 {
    crate::special::mixture_quantile(p, &[(1.0, df / 2.0, 0.5)])
}

/// Capability of a process with `observations` (all individual values), the chart's `center`
/// and `sigma`, specification limits, a target (default the middle of the limits) and a
/// confidence level (qcc: 0.95). Intervals as qcc: χ² for Cp and Cpm, Bissell's (1990) normal
/// approximation for Cp_l, Cp_u (with the one-sided z) and Cp_k (two-sided z).
pub fn capability(
    observations: &[f64],
    center: f64,
    sigma: f64,
    lsl: f64,
    usl: f64,
    target: Option<f64>,
    confidence: f64,
) -> Result<Capability, RiskError> {
    if lsl.is_nan() || usl.is_nan() || lsl >= usl {
        return Err(RiskError::invalid("spec_limits", "LSL must be below USL"));
    }
    if observations.len() < 2 || sigma.is_nan() || sigma <= 0.0 {
        return Err(RiskError::invalid(
            "observations",
            "at least 2 observations and a positive sigma are required",
        ));
    }
    let n = observations.len() as f64;
    let target = target.unwrap_or((lsl + usl) / 2.0);
    let cp = (usl - lsl) / (6.0 * sigma);
    let cp_u = (usl - center) / (3.0 * sigma);
    let cp_l = (center - lsl) / (3.0 * sigma);
    let cp_k = cp_u.min(cp_l);
    let off = (center - target) / sigma;
    let cpm = cp / (1.0 + off * off).sqrt();
    let alpha = 1.0 - confidence;
    let z = norm_quantile(1.0 - alpha / 2.0);
    let chi = |p: f64, df: f64| (qchisq(p, df) / df).sqrt();
    // qcc uses the one-sided z for Cp_l and Cp_u and the two-sided one for Cp_k.
    let z1 = norm_quantile(1.0 - alpha);
    let bissell = |c: f64, s: f64, z: f64| {
        c * (1.0 + s * z * (1.0 / (9.0 * n * c * c) + 1.0 / (2.0 * (n - 1.0))).sqrt())
    };
    let df_m = n * (1.0 + off * off) / (1.0 + 2.0 * off * off);
    let lower = [
        cp * chi(alpha / 2.0, n - 1.0),
        bissell(cp_l, -1.0, z1),
        bissell(cp_u, -1.0, z1),
        bissell(cp_k, -1.0, z),
        cpm * chi(alpha / 2.0, df_m),
    ];
    let upper = [
        cp * chi(1.0 - alpha / 2.0, n - 1.0),
        bissell(cp_l, 1.0, z1),
        bissell(cp_u, 1.0, z1),
        bissell(cp_k, 1.0, z),
        cpm * chi(1.0 - alpha / 2.0, df_m),
    ];
    Ok(Capability {
        cp,
        cp_l,
        cp_u,
        cp_k,
        cpm,
        lower,
        upper,
        exp_lsl: crate::special::norm_cdf((lsl - center) / sigma),
        exp_usl: crate::special::norm_sf((usl - center) / sigma),
        obs_lsl: observations.iter().filter(|&&x| x < lsl).count() as f64 / n,
        obs_usl: observations.iter().filter(|&&x| x > usl).count() as f64 / n,
    })
}

/// Overall (long-term) performance indices from the sample SD of all observations:
/// (Pp, Ppl, Ppu, Ppk).
pub fn performance(
    observations: &[f64],
    lsl: f64,
    usl: f64,
) -> Result<(f64, f64, f64, f64), RiskError> {
    if observations.len() < 2 || lsl.is_nan() || usl.is_nan() || lsl >= usl {
        return Err(RiskError::invalid(
            "observations",
            "at least 2 observations and LSL < USL are required",
        ));
    }
    let m = mean(observations);
    let s = sd(observations);
    let ppl = (m - lsl) / (3.0 * s);
    let ppu = (usl - m) / (3.0 * s);
    Ok(((usl - lsl) / (6.0 * s), ppl, ppu, ppl.min(ppu)))
}
