//! EARS C1, C2 and C3 (Hutwagner et al. 2003, "The bioterrorism preparedness and response Early
//! Aberration Reporting System (EARS)", J Urban Health 80(2 Suppl 1); CDC EARS documentation).
//!
//! With a baseline of 7 time points, mean Ȳ and sample standard deviation S (n − 1):
//! - C1(t) = (Y(t) − Ȳ₁(t)) / S₁(t), baseline t−7 … t−1;
//! - C2(t) = (Y(t) − Ȳ₂(t)) / S₂(t), baseline t−9 … t−3 (a two-point guard band);
//! - C3(t) = Σ_{i=0}^{2} max(0, C2(t−i) − 1), the current and the two previous C2 values.
//!
//! Each flags when the statistic exceeds a threshold. CDC's thresholds are 3 (C1, C2) and 2 (C3);
//! like R `surveillance::earsC` we take the threshold z = Φ⁻¹(1 − α) so one α serves all three.
//! The upper bound is the smallest count that would flag: Ȳ + z·S for C1 and C2, and for C3
//! Ȳ₂ + S₂·(1 + z − Σ_{i=1,2} max(0, C2(t−i) − 1)) when that sum is at most z (otherwise C3 flags
//! whatever Y(t) is, and the bound is reported as 0).
//!
//! Note: surveillance 1.20.3 and 1.26.0 compute the C3 bound in code as
//! Y(t) + S₂·(z − Σ_{i=1,2} …), which ignores the current week; we follow the documented C3.

use serde::{Deserialize, Serialize};

use super::check_series;
use crate::RiskError;
use crate::special::norm_quantile;

/// Which EARS method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EarsMethod {
    /// C1: baseline t−7 … t−1.
    C1,
    /// C2: baseline t−9 … t−3.
    C2,
    /// C3: the sum of the current and two previous exceedances of C2 over 1.
    C3,
}

/// Options.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EarsOptions {
    /// One-sided level; the threshold is z = Φ⁻¹(1 − α).
    pub alpha: f64,
    /// Baseline length (7 in EARS).
    pub baseline: usize,
}

impl Default for EarsOptions {
    fn default() -> Self {
        EarsOptions {
            alpha: 0.001,
            baseline: 7,
        }
    }
}

/// The result at one time point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EarsPoint {
    /// 0-based index into the series.
    pub index: usize,
    /// The observed count.
    pub observed: f64,
    /// Baseline mean.
    pub mean: f64,
    /// Baseline sample standard deviation.
    pub sd: f64,
    /// C1, C2 or C3.
    pub statistic: f64,
    /// The smallest count that flags.
    pub upperbound: f64,
    /// The statistic exceeds the threshold.
    pub alarm: bool,
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

fn standardized(y: f64, m: f64, s: f64) -> f64 {
    if s > 0.0 {
        (y - m) / s
    } else if y > m {
        f64::INFINITY
    } else if y < m {
        f64::NEG_INFINITY
    } else {
        0.0
    }
}

/// Runs an EARS method over the 0-based indices `range` of `series`.
pub fn ears(
    series: &[f64],
    range: std::ops::Range<usize>,
    method: EarsMethod,
    options: &EarsOptions,
) -> Result<Vec<EarsPoint>, RiskError> {
    check_series("series", series)?;
    let b = options.baseline;
    if b < 2 {
        return Err(RiskError::invalid("baseline", "must be at least 2"));
    }
    if !(options.alpha > 0.0 && options.alpha < 1.0) {
        return Err(RiskError::invalid("alpha", "must be within (0, 1)"));
    }
    let lag = match method {
        EarsMethod::C1 => 0,
        EarsMethod::C2 | EarsMethod::C3 => 2,
    };
    let history = b + lag + if method == EarsMethod::C3 { 2 } else { 0 };
    if range.start < history {
        return Err(RiskError::invalid(
            "range",
            format!(
                "must start at index {history} or later: {method:?} needs {history} earlier points"
            ),
        ));
    }
    if range.end > series.len() {
        return Err(RiskError::invalid("range", "ends after the series"));
    }
    let z = norm_quantile(1.0 - options.alpha);
    let base = |t: usize, lag: usize| mean_sd(&series[t - lag - b..t - lag]);
    let c2 = |t: usize| {
        let (m, s) = base(t, 2);
        standardized(series[t], m, s)
    };
    Ok(range
        .map(|t| {
            let y = series[t];
            match method {
                EarsMethod::C1 | EarsMethod::C2 => {
                    let (m, s) = base(t, lag);
                    let upper = m + z * s;
                    EarsPoint {
                        index: t,
                        observed: y,
                        mean: m,
                        sd: s,
                        statistic: standardized(y, m, s),
                        upperbound: upper,
                        alarm: y > upper,
                    }
                }
                EarsMethod::C3 => {
                    let (m, s) = base(t, 2);
                    let past: f64 = (1..=2).map(|i| (c2(t - i) - 1.0).max(0.0)).sum();
                    let stat = past + (standardized(y, m, s) - 1.0).max(0.0);
                    let upper = if past <= z {
                        (m + s * (1.0 + z - past)).max(0.0)
                    } else {
                        0.0
                    };
                    EarsPoint {
                        index: t,
                        observed: y,
                        mean: m,
                        sd: s,
                        statistic: stat,
                        upperbound: upper,
                        alarm: stat > z,
                    }
                }
            }
        })
        .collect())
}
