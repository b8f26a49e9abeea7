//! One-sided CUSUM and EWMA charts for a standardized series, and their zero-state average run
//! lengths (ARL) for normal observations, computed by the Nyström method on the ARL integral
//! equations (Gauss–Legendre quadrature; Vance 1986, Crowder 1987) — the quantities R's
//! `spc::xcusum.arl` and `spc::xewma.arl` compute, used to choose h (or L) for a wanted false-alarm
//! rate.

use serde::{Deserialize, Serialize};

use super::check_series;
use crate::RiskError;
use crate::special::{norm_cdf, norm_pdf};

/// Options of the upper one-sided CUSUM S_t = max(0, S_{t−1} + (x_t − μ₀)/σ − k), alarm S_t > h.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CusumOptions {
    /// In-control mean μ₀.
    pub target: f64,
    /// In-control standard deviation σ (> 0).
    pub sigma: f64,
    /// Reference value k (in σ units; ½ for detecting a 1σ shift).
    pub k: f64,
    /// Decision interval h (in σ units).
    pub h: f64,
    /// Restart from 0 after an alarm.
    pub reset_after_alarm: bool,
}

/// One point of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChartPoint {
    /// 0-based index.
    pub index: usize,
    /// The chart statistic.
    pub statistic: f64,
    /// Upper control limit at this point.
    pub limit: f64,
    /// Statistic above the limit.
    pub alarm: bool,
}

/// Runs the upper CUSUM over a series.
pub fn cusum(series: &[f64], o: &CusumOptions) -> Result<Vec<ChartPoint>, RiskError> {
    check_series("series", series)?;
    if o.sigma.is_nan() || o.sigma <= 0.0 {
        return Err(RiskError::invalid("sigma", "must be positive"));
    }
    if !(o.h > 0.0 && o.k >= 0.0) {
        return Err(RiskError::invalid(
            "h",
            "h must be positive and k non-negative",
        ));
    }
    let mut s = 0.0;
    let mut out = Vec::with_capacity(series.len());
    for (i, &x) in series.iter().enumerate() {
        s = (s + (x - o.target) / o.sigma - o.k).max(0.0);
        let alarm = s > o.h;
        out.push(ChartPoint {
            index: i,
            statistic: s,
            limit: o.h,
            alarm,
        });
        if alarm && o.reset_after_alarm {
            s = 0.0;
        }
    }
    Ok(out)
}

/// Options of the EWMA chart Z_t = λ x_t + (1 − λ) Z_{t−1}, Z_0 = μ₀, alarm when Z_t is above
/// μ₀ + L σ √(λ/(2−λ) (1 − (1−λ)^{2t})) (exact limits) or the asymptotic limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EwmaOptions {
    /// In-control mean.
    pub target: f64,
    /// In-control standard deviation (> 0).
    pub sigma: f64,
    /// Smoothing λ in (0, 1].
    pub lambda: f64,
    /// Limit width L (in asymptotic standard deviations of Z).
    pub l: f64,
    /// Use the time-varying exact limits instead of the asymptotic ones.
    pub exact_limits: bool,
}

/// Runs the EWMA chart (upper side: warning on increases) over a series.
pub fn ewma(series: &[f64], o: &EwmaOptions) -> Result<Vec<ChartPoint>, RiskError> {
    check_series("series", series)?;
    if o.sigma.is_nan() || o.sigma <= 0.0 {
        return Err(RiskError::invalid("sigma", "must be positive"));
    }
    if !(o.lambda > 0.0 && o.lambda <= 1.0) {
        return Err(RiskError::invalid("lambda", "must be within (0, 1]"));
    }
    let mut z = o.target;
    let asym = o.lambda / (2.0 - o.lambda);
    Ok(series
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            z = o.lambda * x + (1.0 - o.lambda) * z;
            let var = if o.exact_limits {
                asym * (1.0 - (1.0 - o.lambda).powi(2 * (i as i32 + 1)))
            } else {
                asym
            };
            let limit = o.target + o.l * o.sigma * var.sqrt();
            ChartPoint {
                index: i,
                statistic: z,
                limit,
                alarm: z > limit,
            }
        })
        .collect())
}

/// Gauss–Legendre nodes and weights on [a, b].
pub fn gauss_legendre(n: usize, a: f64, b: f64) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let m = n.div_ceil(2);
    for i in 0..m {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut pp = 0.0;
        for _ in 0..100 {
            let mut p1 = 1.0;
            let mut p2 = 0.0;
            for j in 0..n {
                let p3 = p2;
                p2 = p1;
                p1 = ((2.0 * j as f64 + 1.0) * z * p2 - j as f64 * p3) / (j as f64 + 1.0);
            }
            pp = n as f64 * (z * p1 - p2) / (z * z - 1.0);
            let z1 = z;
            z = z1 - p1 / pp;
            if (z - z1).abs() < 1e-15 {
                break;
            }
        }
        let xm = 0.5 * (b + a);
        let xl = 0.5 * (b - a);
        x[i] = xm - xl * z;
        x[n - 1 - i] = xm + xl * z;
        w[i] = 2.0 * xl / ((1.0 - z * z) * pp * pp);
        w[n - 1 - i] = w[i];
    }
    (x, w)
}

/// Solves A x = b by Gaussian elimination with partial pivoting (A is n×n, row-major).
pub(crate) fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col] == 0.0 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            if f != 0.0 {
                let (upper, lower) = a.split_at_mut(row);
                for (x, y) in lower[0][col..n].iter_mut().zip(&upper[col][col..n]) {
                    *x -= f * y;
                }
                b[row] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    Some(x)
}

/// Zero-state ARL of the upper one-sided CUSUM (reference k, decision interval h) for N(μ, 1)
/// observations. `nodes` Gauss–Legendre nodes (60 give about 1e-9 relative accuracy).
pub fn cusum_arl(k: f64, h: f64, mu: f64, nodes: usize) -> f64 {
    // L(s) = 1 + L(0) Φ(k − s − μ) + ∫₀ʰ L(y) φ(y − s + k − μ) dy
    let (z, w) = gauss_legendre(nodes, 0.0, h);
    let n = nodes + 1;
    let pts: Vec<f64> = std::iter::once(0.0).chain(z.iter().copied()).collect();
    let mut a = vec![vec![0.0; n]; n];
    for (i, &s) in pts.iter().enumerate() {
        a[i][0] -= norm_cdf(k - s - mu);
        for j in 0..nodes {
            a[i][j + 1] -= w[j] * norm_pdf(z[j] - s + k - mu);
        }
        a[i][i] += 1.0;
    }
    solve(a, vec![1.0; n]).map(|l| l[0]).unwrap_or(f64::NAN)
}

/// Zero-state ARL of the two-sided EWMA chart with asymptotic limits ±L√(λ/(2−λ)) for N(μ, 1)
/// observations, starting at 0.
pub fn ewma_arl(lambda: f64, l: f64, mu: f64, nodes: usize) -> f64 {
    // L(z) = 1 + (1/λ) ∫_{−c}^{c} L(y) φ((y − (1−λ) z)/λ − μ) dy
    let c = l * (lambda / (2.0 - lambda)).sqrt();
    let (y, w) = gauss_legendre(nodes, -c, c);
    let mut a = vec![vec![0.0; nodes]; nodes];
    for i in 0..nodes {
        for j in 0..nodes {
            a[i][j] = -w[j] / lambda * norm_pdf((y[j] - (1.0 - lambda) * y[i]) / lambda - mu);
        }
        a[i][i] += 1.0;
    }
    let Some(lv) = solve(a, vec![1.0; nodes]) else {
        return f64::NAN;
    };
    // Evaluate at z = 0 with the Nyström interpolation formula.
    1.0 + (0..nodes)
        .map(|j| w[j] / lambda * norm_pdf(y[j] / lambda - mu) * lv[j])
        .sum::<f64>()
}
