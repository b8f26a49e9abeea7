//! The Farrington flexible outbreak detection algorithm (Farrington et al. 1996; Noufaily et al.
//! 2013), as R `surveillance::farringtonFlexible` computes it with `thresholdMethod = "delta"`:
//!
//! 1. For time point t, the reference weeks are t − 52·i (i = 1 … b); a window of ±w weeks around
//!    each, plus the w weeks before t, form the baseline. With `no_periods` > 1 the rest of each
//!    year is split into `no_periods − 1` blocks, each a level of a seasonal factor.
//! 2. The last `past_weeks_not_included` weeks before t (and t) are left out.
//! 3. A quasi-Poisson GLM with log link, `count ~ 1 + time [+ season]`, is fitted by IRLS;
//!    dispersion φ = max(Pearson dispersion, 1).
//! 4. Reweighting: Anscombe residuals s_i = 3/2 (y^{2/3} μ^{−1/6} − μ^{1/2}) / √(φ(1 − h_i));
//!    weights γ·s_i^{−2} where s_i > threshold, γ elsewhere (γ normalises the weights to sum n);
//!    the model is refitted with these weights.
//! 5. The trend is kept only if its p-value (t test) is below `p_threshold_trend`, b ≥ 3 and the
//!    prediction does not exceed the largest baseline count; otherwise refit without it.
//! 6. The threshold is the (1 − α) quantile of the prediction under the 2/3-power transformation:
//!    U = (μ₀^{2/3} + z·√(4/9 μ₀^{1/3} (φ + Var(μ̂₀)/μ₀)))^{3/2}.
//! 7. An alarm needs at least 5 cases in the last 4 weeks (t included), a non-zero count, and a
//!    score (y − μ₀)/(U − μ₀) above 1.

use serde::{Deserialize, Serialize};

use super::check_series;
use super::glm::{GlmFit, fit_quasipoisson};
use crate::RiskError;
use crate::special::{norm_quantile, t_two_sided_p};

/// Options (names follow `farringtonFlexible`'s control list).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FarringtonOptions {
    /// Time points per year (52 for weekly data).
    pub freq: usize,
    /// Years back.
    pub b: usize,
    /// Half window.
    pub w: usize,
    /// Reweight past outbreaks.
    pub reweight: bool,
    /// Anscombe-residual threshold for down-weighting.
    pub weights_threshold: f64,
    /// One-sided level of the threshold.
    pub alpha: f64,
    /// Try a time trend.
    pub trend: bool,
    /// Keep the trend only with a p-value below this.
    pub p_threshold_trend: f64,
    /// Minimum cases (limit54[0]) in the last `limit_weeks` time points.
    pub limit_cases: f64,
    /// limit54[1].
    pub limit_weeks: usize,
    /// Number of seasonal periods (1 = no seasonal factor).
    pub no_periods: usize,
    /// Weeks before t left out of the baseline.
    pub past_weeks_not_included: usize,
    /// Which implementation's arithmetic to reproduce; see [`Variant`].
    pub variant: Variant,
}

/// The small differences between implementations of the same algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// R `surveillance::farringtonFlexible` (1.20–1.26) exactly. After reweighting the package
    /// stores the prior weights ω in the model's `weights` slot, so `summary.glm` (used for the
    /// trend's p-value and, through `predict.glm`, for the standard error of μ̂₀) computes the
    /// dispersion as Σ ω ((y − μ)/μ)² / (n − p) instead of the Pearson Σ ω (y − μ)²/μ / (n − p);
    /// φ is the Pearson estimate. z = Φ⁻¹(1 − α).
    FarringtonFlexible,
    /// R `surveillance::algo.farrington`: Pearson dispersion for the trend test, φ for the
    /// standard error of μ̂₀, and z = Φ⁻¹(1 − α/2).
    AlgoFarrington,
    /// The Pearson dispersion throughout and z = Φ⁻¹(1 − α).
    Pearson,
}

impl FarringtonOptions {
    /// The "Farrington 1996"-like options of the surveillance help example.
    pub fn farrington_1996() -> Self {
        FarringtonOptions {
            freq: 52,
            b: 4,
            w: 3,
            reweight: true,
            weights_threshold: 1.0,
            alpha: 0.1,
            trend: true,
            p_threshold_trend: 0.05,
            limit_cases: 5.0,
            limit_weeks: 4,
            no_periods: 1,
            past_weeks_not_included: 3,
            variant: Variant::FarringtonFlexible,
        }
    }
    /// R `algo.farrington(control = list(b, w, alpha, ...))` with its defaults (reweighting with
    /// threshold 1, trend, 2/3 power).
    pub fn algo_farrington(b: usize, w: usize, alpha: f64) -> Self {
        FarringtonOptions {
            b,
            w,
            alpha,
            past_weeks_not_included: w,
            variant: Variant::AlgoFarrington,
            ..Self::farrington_1996()
        }
    }
    /// The "Noufaily 2013"-like options of the surveillance help example.
    pub fn noufaily_2013() -> Self {
        FarringtonOptions {
            weights_threshold: 2.58,
            p_threshold_trend: 1.0,
            no_periods: 10,
            past_weeks_not_included: 26,
            ..Self::farrington_1996()
        }
    }
}

/// The result at one time point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FarringtonPoint {
    /// 0-based index.
    pub index: usize,
    /// Observed count.
    pub observed: f64,
    /// Expected count μ₀ from the GLM.
    pub expected: f64,
    /// Upper threshold U (None when there were too few cases to alarm).
    pub upperbound: Option<f64>,
    /// (y − μ₀)/(U − μ₀).
    pub score: f64,
    /// φ.
    pub phi: f64,
    /// A trend was kept.
    pub trend: bool,
    /// Alarm.
    pub alarm: bool,
}

struct Design {
    rows: Vec<Vec<f64>>,
    y: Vec<f64>,
    /// Level (1-based) of the current window, as a column index of the seasonal dummies.
    now_row_season: Vec<f64>,
    max_y: f64,
}

fn blocks(n: usize, k: usize, o: &FarringtonOptions) -> Result<Vec<Option<usize>>, RiskError> {
    // Positions are 1-based as in R; `k` is 1-based.
    let mut f: Vec<Option<usize>> = vec![None; n + 1];
    let p = o.no_periods;
    let refs: Vec<usize> = (0..=o.b).map(|i| k - i * o.freq).collect();
    for item in f.iter_mut().take(k + 1).skip(k - o.w) {
        *item = Some(p);
    }
    for i in 1..=o.b {
        let rw = refs[i];
        for item in f.iter_mut().take(rw + o.w + 1).skip(rw - o.w) {
            *item = Some(p);
        }
        if p != 1 {
            let period = refs[i - 1] as i64 - 2 * o.w as i64 - 1 - rw as i64;
            if period < p as i64 - (2 * o.w as i64 + 1) {
                return Err(RiskError::invalid(
                    "no_periods",
                    "too many periods for the year",
                ));
            }
            let period = period as usize;
            let len = period / (p - 1);
            let rest = period % (p - 1);
            let mut start = rw + o.w + 1;
            for j in 1..p {
                let l = len + usize::from(j <= rest);
                for item in f.iter_mut().skip(start).take(l) {
                    *item = Some(j);
                }
                start += l;
            }
        }
    }
    Ok(f)
}

fn design(
    series: &[f64],
    k: usize,
    o: &FarringtonOptions,
    with_trend: bool,
) -> Result<Design, RiskError> {
    let n = series.len();
    let blocks = blocks(n, k, o)?;
    let mut idx = Vec::new();
    for (pos, b) in blocks.iter().enumerate().skip(1) {
        if b.is_some() && !(pos + o.past_weeks_not_included >= k && pos <= k) {
            idx.push(pos);
        }
    }
    // Seasonal levels present, sorted; the first is the baseline level.
    let mut levels: Vec<usize> = idx.iter().map(|&p| blocks[p].expect("some")).collect();
    levels.sort_unstable();
    levels.dedup();
    let use_factor = o.no_periods != 1;
    let row_for = |pos_time: f64, level: usize| {
        let mut r = vec![1.0];
        if with_trend {
            r.push(pos_time);
        }
        if use_factor {
            for &l in levels.iter().skip(1) {
                r.push(if l == level { 1.0 } else { 0.0 });
            }
        }
        r
    };
    let rows: Vec<Vec<f64>> = idx
        .iter()
        .map(|&p| row_for(p as f64, blocks[p].expect("some")))
        .collect();
    let y: Vec<f64> = idx.iter().map(|&p| series[p - 1]).collect();
    let max_y = y.iter().copied().fold(0.0, f64::max);
    Ok(Design {
        rows,
        y,
        now_row_season: row_for(k as f64, o.no_periods),
        max_y,
    })
}

fn fit_flexible(d: &Design, o: &FarringtonOptions) -> Option<(GlmFit, f64)> {
    let ones = vec![1.0; d.y.len()];
    let m = fit_quasipoisson(&d.rows, &d.y, &ones)?;
    if !m.converged {
        return None;
    }
    let mut phi = m.dispersion.max(1.0);
    let mut model = m;
    if o.reweight {
        let s: Vec<f64> = (0..d.y.len())
            .map(|i| {
                let y = d.y[i];
                let mu = model.mu[i];
                1.5 * (y.powf(2.0 / 3.0) * mu.powf(-1.0 / 6.0) - mu.sqrt())
                    / (phi * (1.0 - model.hat[i])).sqrt()
            })
            .collect();
        let thr = o.weights_threshold;
        let denom: f64 = s
            .iter()
            .map(|&si| if si > thr { si.powi(-2) } else { 1.0 })
            .sum();
        let gamma = s.len() as f64 / denom;
        let omega: Vec<f64> = s
            .iter()
            .map(|&si| if si > thr { gamma * si.powi(-2) } else { gamma })
            .collect();
        model = fit_quasipoisson(&d.rows, &d.y, &omega)?;
        phi = model.dispersion.max(1.0);
    }
    Some((model, phi))
}

/// Runs the algorithm over the 0-based indices `range` of a weekly (or `freq`-periodic) series.
pub fn farrington_flexible(
    series: &[f64],
    range: std::ops::Range<usize>,
    o: &FarringtonOptions,
) -> Result<Vec<FarringtonPoint>, RiskError> {
    check_series("series", series)?;
    if range.end > series.len() {
        return Err(RiskError::invalid("range", "ends after the series"));
    }
    if !(o.alpha > 0.0 && o.alpha < 1.0) {
        return Err(RiskError::invalid("alpha", "must be within (0, 1)"));
    }
    if o.no_periods == 0 || o.freq == 0 || o.b == 0 {
        return Err(RiskError::invalid(
            "no_periods",
            "freq, b and no_periods must be positive",
        ));
    }
    let need = o.b * o.freq + o.w;
    if range.start < need {
        return Err(RiskError::invalid(
            "range",
            format!("must start at index {need} or later (b years of history and a half window)"),
        ));
    }
    let z = match o.variant {
        Variant::AlgoFarrington => norm_quantile(1.0 - o.alpha / 2.0),
        _ => norm_quantile(1.0 - o.alpha),
    };
    let mut out = Vec::with_capacity(range.len());
    for t in range {
        let k = t + 1; // 1-based
        let y = series[t];
        let mut with_trend = o.trend;
        let mut d = design(series, k, o, with_trend)?;
        let mut fit = fit_flexible(&d, o);
        if fit.is_none() && with_trend {
            with_trend = false;
            d = design(series, k, o, false)?;
            fit = fit_flexible(&d, o);
        }
        let Some((mut model, mut phi)) = fit else {
            return Err(RiskError::NoConvergence {
                what: "Farrington GLM",
                detail: format!("at index {t}"),
            });
        };
        let trend_dispersion = |m: &GlmFit| match o.variant {
            Variant::FarringtonFlexible if o.reweight => m.dispersion_prior_weights,
            _ => m.dispersion,
        };
        let mut do_trend = false;
        if with_trend {
            let (eta, _) = model.predict_link(&d.now_row_season, 1.0);
            let pred = eta.exp();
            let se = (trend_dispersion(&model) * model.cov_unscaled[1][1]).sqrt();
            let p = t_two_sided_p(model.beta[1] / se, model.df_residual);
            let significant = p < o.p_threshold_trend;
            do_trend = o.b >= 3 && significant && pred <= d.max_y;
            if !do_trend {
                d = design(series, k, o, false)?;
                let Some(refit) = fit_flexible(&d, o) else {
                    return Err(RiskError::NoConvergence {
                        what: "Farrington GLM",
                        detail: format!("at index {t} without trend"),
                    });
                };
                (model, phi) = refit;
            }
        }
        let se_dispersion = match o.variant {
            Variant::AlgoFarrington => phi,
            _ => trend_dispersion(&model),
        };
        let (eta, se_eta) = model.predict_link(&d.now_row_season, se_dispersion);
        let mu0 = eta.exp();
        let se_mu = se_eta * mu0;
        let tau = phi + se_mu * se_mu / mu0;
        let se = (4.0 / 9.0 * mu0.powf(1.0 / 3.0) * tau).sqrt();
        let upper = (mu0.powf(2.0 / 3.0) + z * se).powf(1.5);
        let score = (y - mu0) / (upper - mu0);
        let from = (t + 1).saturating_sub(o.limit_weeks);
        let enough = series[from..=t].iter().sum::<f64>() >= o.limit_cases;
        out.push(FarringtonPoint {
            index: t,
            observed: y,
            expected: mu0,
            upperbound: enough.then_some(upper),
            score,
            phi,
            trend: do_trend,
            alarm: enough && score > 1.0 && y != 0.0,
        });
    }
    Ok(out)
}
