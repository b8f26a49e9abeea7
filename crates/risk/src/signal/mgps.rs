//! MGPS: DuMouchel's (1999) gamma-Poisson shrinker with a two-gamma-mixture prior.
//!
//! Model: N ~ Poisson(λE), λ ~ P·Gamma(α₁, β₁) + (1−P)·Gamma(α₂, β₂) (shape, rate). The marginal
//! distribution of N is a mixture of two negative binomials, NB(size α_k, prob β_k/(β_k+E)); the
//! prior θ = (α₁, β₁, α₂, β₂, P) is fitted by maximum likelihood of that marginal, conditional on
//! N ≥ N* (openEBGM's `negLL`; cells with N = 0 are not in a table of reports). The posterior is
//! again a two-gamma mixture with weight Qn = P·f₁(n) / (P·f₁(n) + (1−P)·f₂(n)) and components
//! Gamma(α_k + n, β_k + E). EBGM = exp(E[ln λ | n]); EB05 and EB95 are posterior quantiles.

use serde::{Deserialize, Serialize};

use super::optimize::{Bfgs, NelderMead};
use crate::RiskError;
use crate::special::{digamma, ln_gamma, mixture_quantile, mixture_quantile_lg};

/// Hyperparameters θ of the two-gamma-mixture prior (gamma shape α, rate β; P is the weight of
/// the first component).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MgpsPrior {
    /// Shape of component 1.
    pub alpha1: f64,
    /// Rate of component 1.
    pub beta1: f64,
    /// Shape of component 2.
    pub alpha2: f64,
    /// Rate of component 2.
    pub beta2: f64,
    /// Mixture weight of component 1.
    pub p: f64,
}

/// The empirical-Bayes scores of one cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MgpsScore {
    /// Posterior weight of component 1.
    pub qn: f64,
    /// E[log2 λ | n].
    pub eblog2: f64,
    /// Empirical Bayes geometric mean, 2^EBlog2.
    pub ebgm: f64,
    /// 5th percentile of the posterior of λ.
    pub eb05: f64,
    /// 95th percentile of the posterior of λ.
    pub eb95: f64,
}

fn ln_nb(n: f64, lg_ratio: f64, alpha: f64, beta: f64, e: f64) -> f64 {
    // ln NB(n; size α, prob β/(β+E)) with lg_ratio = lnΓ(α+n) − lnΓ(α) − ln n!
    let l = (beta + e).ln();
    lg_ratio + alpha * (beta.ln() - l) + n * (e.ln() - l)
}

fn log_add(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

impl MgpsPrior {
    /// Checks that all parameters are positive and P is in (0, 1).
    pub fn validate(&self) -> Result<(), RiskError> {
        for (name, v) in [
            ("alpha1", self.alpha1),
            ("beta1", self.beta1),
            ("alpha2", self.alpha2),
            ("beta2", self.beta2),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(RiskError::invalid(name, "must be a positive number"));
            }
        }
        if !(self.p > 0.0 && self.p < 1.0) {
            return Err(RiskError::invalid("p", "must be within (0, 1)"));
        }
        Ok(())
    }

    /// Posterior weight Qn of component 1 given N = n and expected count E.
    pub fn qn(&self, n: u64, e: f64) -> f64 {
        let nf = n as f64;
        let lf = ln_gamma(nf + 1.0);
        let l1 = self.p.ln()
            + ln_nb(
                nf,
                ln_gamma(self.alpha1 + nf) - ln_gamma(self.alpha1) - lf,
                self.alpha1,
                self.beta1,
                e,
            );
        let l2 = (1.0 - self.p).ln()
            + ln_nb(
                nf,
                ln_gamma(self.alpha2 + nf) - ln_gamma(self.alpha2) - lf,
                self.alpha2,
                self.beta2,
                e,
            );
        1.0 / (1.0 + (l2 - l1).exp())
    }

    /// Qn, EBlog2 and EBGM (no quantiles; cheap).
    pub fn ebgm(&self, n: u64, e: f64) -> (f64, f64, f64) {
        let qn = self.qn(n, e);
        let nf = n as f64;
        let e1 = digamma(self.alpha1 + nf) - (self.beta1 + e).ln();
        let e2 = digamma(self.alpha2 + nf) - (self.beta2 + e).ln();
        let el = qn * e1 + (1.0 - qn) * e2;
        (qn, el / std::f64::consts::LN_2, el.exp())
    }

    /// The `prob` quantile (e.g. 0.05) of the posterior of λ given N = n, E and Qn.
    pub fn quantile(&self, n: u64, e: f64, qn: f64, prob: f64) -> f64 {
        let nf = n as f64;
        mixture_quantile(
            prob,
            &[
                (qn, self.alpha1 + nf, self.beta1 + e),
                (1.0 - qn, self.alpha2 + nf, self.beta2 + e),
            ],
        )
    }

    /// Scores of many cells; identical (n, E) cells (common: E = n_i· n_·j / N repeats whenever the
    /// margins do) are computed once.
    pub fn score_all(&self, cells: &[(u64, f64)]) -> Vec<MgpsScore> {
        let mut cache: std::collections::HashMap<(u64, u64), MgpsScore> =
            std::collections::HashMap::with_capacity(cells.len() / 2);
        cells
            .iter()
            .map(|&(n, e)| {
                *cache
                    .entry((n, e.to_bits()))
                    .or_insert_with(|| self.score(n, e))
            })
            .collect()
    }

    /// All scores of one cell (lnΓ and ψ of the posterior shapes computed once).
    pub fn score(&self, n: u64, e: f64) -> MgpsScore {
        let nf = n as f64;
        let (a1, a2) = (self.alpha1 + nf, self.alpha2 + nf);
        let (b1, b2) = (self.beta1 + e, self.beta2 + e);
        let (lg1, lg2) = (ln_gamma(a1), ln_gamma(a2));
        let lf = ln_gamma(nf + 1.0);
        let (lb1, lb2, le) = (b1.ln(), b2.ln(), e.ln());
        // ln NB(n) for each component, as in `qn`.
        let l1 = self.p.ln() + lg1 - ln_gamma(self.alpha1) - lf
            + self.alpha1 * (self.beta1.ln() - lb1)
            + nf * (le - lb1);
        let l2 = (1.0 - self.p).ln() + lg2 - ln_gamma(self.alpha2) - lf
            + self.alpha2 * (self.beta2.ln() - lb2)
            + nf * (le - lb2);
        let qn = 1.0 / (1.0 + (l2 - l1).exp());
        let el = qn * (digamma(a1) - lb1) + (1.0 - qn) * (digamma(a2) - lb2);
        let comps = [(qn, a1, b1, lg1), (1.0 - qn, a2, b2, lg2)];
        let used: &[(f64, f64, f64, f64)] = if qn <= 0.0 {
            &comps[1..]
        } else if qn >= 1.0 {
            &comps[..1]
        } else {
            &comps
        };
        MgpsScore {
            qn,
            eblog2: el / std::f64::consts::LN_2,
            ebgm: el.exp(),
            eb05: mixture_quantile_lg(0.05, used),
            eb95: mixture_quantile_lg(0.95, used),
        }
    }

    fn to_x(self) -> [f64; 5] {
        [
            self.alpha1.ln(),
            self.beta1.ln(),
            self.alpha2.ln(),
            self.beta2.ln(),
            (self.p / (1.0 - self.p)).ln(),
        ]
    }

    fn from_x(x: &[f64]) -> MgpsPrior {
        MgpsPrior {
            alpha1: x[0].exp(),
            beta1: x[1].exp(),
            alpha2: x[2].exp(),
            beta2: x[3].exp(),
            p: 1.0 / (1.0 + (-x[4]).exp()),
        }
    }

    /// The same prior with the components swapped so that P ≤ ½ (the mixture is unchanged).
    pub fn canonical(self) -> MgpsPrior {
        if self.p > 0.5 {
            MgpsPrior {
                alpha1: self.alpha2,
                beta1: self.beta2,
                alpha2: self.alpha1,
                beta2: self.beta1,
                p: 1.0 - self.p,
            }
        } else {
            self
        }
    }
}

/// Points (n, E) aggregated with weights: identical (n, E) pairs are evaluated once.
#[derive(Debug, Clone)]
struct Points {
    n: Vec<f64>,
    e: Vec<f64>,
    ln_e: Vec<f64>,
    w: Vec<f64>,
    /// Index of each point's n in `distinct_n`.
    n_idx: Vec<usize>,
    distinct_n: Vec<f64>,
}

impl Points {
    fn new(points: &[(u64, f64)], n_star: u64) -> Points {
        Self::squashed(points, n_star, None)
    }

    /// Aggregates identical (n, E); then, while more than `squash.0` points remain, squashes the
    /// points of count n = N*, N*+1, … as openEBGM's `squashData` does: sorted by E, the largest
    /// `keep_bins` bins kept, the rest binned `bin_size` at a time into their mean E with the bin's
    /// weight.
    fn squashed(
        points: &[(u64, f64)],
        n_star: u64,
        squash: Option<(usize, usize, usize)>,
    ) -> Points {
        let mut v: Vec<(u64, u64)> = points
            .iter()
            .filter(|p| p.0 >= n_star)
            .map(|&(n, e)| (n, e.to_bits()))
            .collect();
        v.sort_unstable();
        let mut agg: Vec<(u64, f64, f64)> = Vec::new();
        for (n, eb) in v {
            let e = f64::from_bits(eb);
            match agg.last_mut() {
                Some((ln, le, w)) if *ln == n && le.to_bits() == eb => *w += 1.0,
                _ => agg.push((n, e, 1.0)),
            }
        }
        if let Some((max_points, bin_size, keep_bins)) = squash {
            let mut count = n_star.max(1);
            while agg.len() > max_points && count < n_star.max(1) + 50 {
                agg = squash_count(&agg, count, bin_size as f64, keep_bins as f64);
                count += 1;
            }
        }
        let mut distinct_n: Vec<f64> = Vec::new();
        let mut n_idx = Vec::with_capacity(agg.len());
        for &(n, _, _) in &agg {
            if distinct_n.last() != Some(&(n as f64)) {
                distinct_n.push(n as f64);
            }
            n_idx.push(distinct_n.len() - 1);
        }
        Points {
            n: agg.iter().map(|a| a.0 as f64).collect(),
            e: agg.iter().map(|a| a.1).collect(),
            ln_e: agg.iter().map(|a| a.1.ln()).collect(),
            w: agg.iter().map(|a| a.2).collect(),
            n_idx,
            distinct_n,
        }
    }

    fn neg_log_likelihood(&self, th: &MgpsPrior, n_star: u64) -> f64 {
        let lg1: Vec<f64> = self
            .distinct_n
            .iter()
            .map(|&n| ln_gamma(th.alpha1 + n) - ln_gamma(th.alpha1) - ln_gamma(n + 1.0))
            .collect();
        let lg2: Vec<f64> = self
            .distinct_n
            .iter()
            .map(|&n| ln_gamma(th.alpha2 + n) - ln_gamma(th.alpha2) - ln_gamma(n + 1.0))
            .collect();
        let (lb1, lb2) = (th.beta1.ln(), th.beta2.ln());
        let (lp, lq) = (th.p.ln(), (1.0 - th.p).ln());
        // lnΓ(α+k) − lnΓ(α) − ln k! for the truncated counts k < N*, once per evaluation.
        let trunc: Vec<(f64, f64)> = (0..n_star)
            .map(|k| {
                let kf = k as f64;
                (
                    ln_gamma(th.alpha1 + kf) - ln_gamma(th.alpha1) - ln_gamma(kf + 1.0),
                    ln_gamma(th.alpha2 + kf) - ln_gamma(th.alpha2) - ln_gamma(kf + 1.0),
                )
            })
            .collect();
        let mut total = 0.0;
        for i in 0..self.n.len() {
            let n = self.n[i];
            let le = self.ln_e[i];
            let e = self.e[i];
            let l1b = (th.beta1 + e).ln();
            let l2b = (th.beta2 + e).ln();
            let mut f1 = lg1[self.n_idx[i]] + th.alpha1 * (lb1 - l1b) + n * (le - l1b);
            let mut f2 = lg2[self.n_idx[i]] + th.alpha2 * (lb2 - l2b) + n * (le - l2b);
            if n_star > 0 {
                // Truncate at N ≥ N*: divide by 1 − P(N < N*).
                let mut c1 = 0.0;
                let mut c2 = 0.0;
                for (k, (g1, g2)) in trunc.iter().enumerate() {
                    let kf = k as f64;
                    c1 += (g1 + th.alpha1 * (lb1 - l1b) + kf * (le - l1b)).exp();
                    c2 += (g2 + th.alpha2 * (lb2 - l2b) + kf * (le - l2b)).exp();
                }
                f1 -= (-c1).ln_1p();
                f2 -= (-c2).ln_1p();
            }
            total -= self.w[i] * log_add(lp + f1, lq + f2);
        }
        total
    }

    /// −log L and its gradient with respect to (ln α₁, ln β₁, ln α₂, ln β₂, logit P), for
    /// N* ≤ 1 (no truncation, or truncation at zero).
    fn nll_grad(&self, th: &MgpsPrior, n_star: u64) -> (f64, [f64; 5]) {
        debug_assert!(n_star <= 1);
        let lgm = |a: f64| -> Vec<f64> {
            self.distinct_n
                .iter()
                .map(|&n| ln_gamma(a + n) - ln_gamma(a) - ln_gamma(n + 1.0))
                .collect()
        };
        let dgm = |a: f64| -> Vec<f64> {
            let d0 = digamma(a);
            self.distinct_n
                .iter()
                .map(|&n| digamma(a + n) - d0)
                .collect()
        };
        let (lg1, lg2, dg1, dg2) = (
            lgm(th.alpha1),
            lgm(th.alpha2),
            dgm(th.alpha1),
            dgm(th.alpha2),
        );
        let (a1, b1, a2, b2, p) = (th.alpha1, th.beta1, th.alpha2, th.beta2, th.p);
        let (lb1, lb2) = (b1.ln(), b2.ln());
        let (lp, lq) = (p.ln(), (1.0 - p).ln());
        let mut total = 0.0;
        let mut g = [0.0; 5];
        for i in 0..self.n.len() {
            let (n, le, e, w, j) = (self.n[i], self.ln_e[i], self.e[i], self.w[i], self.n_idx[i]);
            let (l1b, l2b) = ((b1 + e).ln(), (b2 + e).ln());
            let (lq1, lq2) = (lb1 - l1b, lb2 - l2b);
            let mut f1 = lg1[j] + a1 * lq1 + n * (le - l1b);
            let mut f2 = lg2[j] + a2 * lq2 + n * (le - l2b);
            let mut da1 = dg1[j] + lq1;
            let mut db1 = a1 / b1 - (a1 + n) / (b1 + e);
            let mut da2 = dg2[j] + lq2;
            let mut db2 = a2 / b2 - (a2 + n) / (b2 + e);
            if n_star == 1 {
                let t1 = (a1 * lq1).exp();
                let t2 = (a2 * lq2).exp();
                f1 -= (-t1).ln_1p();
                f2 -= (-t2).ln_1p();
                da1 += t1 * lq1 / (1.0 - t1);
                db1 += t1 * a1 * (1.0 / b1 - 1.0 / (b1 + e)) / (1.0 - t1);
                da2 += t2 * lq2 / (1.0 - t2);
                db2 += t2 * a2 * (1.0 / b2 - 1.0 / (b2 + e)) / (1.0 - t2);
            }
            let m = log_add(lp + f1, lq + f2);
            let r1 = (lp + f1 - m).exp();
            let r2 = 1.0 - r1;
            total -= w * m;
            g[0] -= w * r1 * da1 * a1;
            g[1] -= w * r1 * db1 * b1;
            g[2] -= w * r2 * da2 * a2;
            g[3] -= w * r2 * db2 * b2;
            g[4] -= w * ((f1 - m).exp() - (f2 - m).exp()) * p * (1.0 - p);
        }
        (total, g)
    }
}

/// One squashing pass over the points with n = `count` (input sorted by (n, E)).
fn squash_count(
    agg: &[(u64, f64, f64)],
    count: u64,
    bin_size: f64,
    keep_bins: f64,
) -> Vec<(u64, f64, f64)> {
    let start = agg.partition_point(|p| p.0 < count);
    let end = agg.partition_point(|p| p.0 <= count);
    let group = &agg[start..end];
    let total: f64 = group.iter().map(|p| p.2).sum();
    let keep_weight = keep_bins * bin_size;
    if total - keep_weight < bin_size {
        return agg.to_vec();
    }
    let mut out: Vec<(u64, f64, f64)> = agg[..start].to_vec();
    // Points whose cumulative weight from the top stays within keep_weight are kept as they are.
    let mut from_top = 0.0;
    let mut split = group.len();
    while split > 0 && from_top + group[split - 1].2 <= keep_weight {
        from_top += group[split - 1].2;
        split -= 1;
    }
    let (mut w_acc, mut e_acc) = (0.0, 0.0);
    for &(_, e, w) in &group[..split] {
        w_acc += w;
        e_acc += e * w;
        if w_acc >= bin_size {
            out.push((count, e_acc / w_acc, w_acc));
            w_acc = 0.0;
            e_acc = 0.0;
        }
    }
    if w_acc > 0.0 {
        out.push((count, e_acc / w_acc, w_acc));
    }
    out.extend_from_slice(&group[split..]);
    out.extend_from_slice(&agg[end..]);
    out
}

/// The negative log-likelihood of θ over cells (n, E), conditional on N ≥ `n_star` (cells with
/// n < n_star are left out); `n_star = 0` gives the unconditional likelihood (openEBGM `negLLzero`).
pub fn neg_log_likelihood(prior: &MgpsPrior, points: &[(u64, f64)], n_star: u64) -> f64 {
    Points::new(points, n_star).neg_log_likelihood(prior, n_star)
}

/// Options for fitting the prior.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Smallest count used (openEBGM's `N_star`); 1 for tables built from reports.
    pub n_star: u64,
    /// Starting points; the best fit over all of them is kept.
    pub starts: Vec<MgpsPrior>,
    /// The optimiser (a local search from each start).
    pub optimizer: NelderMead,
    /// Estimates with an α or β at or above this are discarded as out of bounds (openEBGM's
    /// `param_limit`, 100).
    pub param_limit: f64,
    /// Squash the data (openEBGM `squashData`, bins of 50, the 2 bins of largest E kept) for
    /// counts N*, N*+1, … while more than this many distinct (n, E) points remain. `None` fits on
    /// every point. DuMouchel & Pregibon (2001) show the estimates barely move; it bounds the cost
    /// of a fit on tables of millions of cells.
    pub squash_above: Option<usize>,
}

impl Default for FitOptions {
    fn default() -> Self {
        // openEBGM's documented starting points (vignette "Hyperparameter Estimation").
        let s = |alpha1, beta1, alpha2, beta2, p| MgpsPrior {
            alpha1,
            beta1,
            alpha2,
            beta2,
            p,
        };
        FitOptions {
            n_star: 1,
            starts: vec![
                // openEBGM's documented starting points (vignette "Hyperparameter Estimation")…
                s(0.2, 0.1, 2.0, 4.0, 1.0 / 3.0),
                s(0.1, 0.2, 10.0, 10.0, 0.2),
                s(0.3, 0.5, 6.0, 6.0, 0.5),
                // …and three with a narrow, high first component: the likelihood can have a
                // second, better optimum there (see `fit_prior`).
                s(1.0, 0.125, 2.0, 2.0, 0.05),
                s(10.0, 1.25, 2.0, 2.0, 0.05),
                s(30.0, 3.75, 2.0, 2.0, 0.05),
            ],
            optimizer: NelderMead {
                step: 0.05,
                ..NelderMead::default()
            },
            param_limit: 100.0,
            squash_above: Some(20_000),
        }
    }
}

/// A fitted prior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MgpsFit {
    /// θ̂ (canonical: P ≤ ½).
    pub prior: MgpsPrior,
    /// −log L at θ̂.
    pub neg_log_likelihood: f64,
    /// Function evaluations over all starts.
    pub evaluations: usize,
    /// Number of starts whose optimum agrees with the best to 1e-6 in −log L.
    pub starts_agreeing: usize,
    /// The optimum reached from each start (canonical prior, −log L), before the final polish.
    pub per_start: Vec<(MgpsPrior, f64)>,
}

/// Fits the prior by maximum likelihood: from each start a BFGS search with the analytic gradient
/// (then a short Nelder–Mead polish) over (ln α₁, ln β₁, ln α₂, ln β₂, logit P) inside the bounds
/// α, β < `param_limit`, keeping the smallest −log L (openEBGM's `autoHyper` does the same with
/// nlminb from its starts).
///
/// The likelihood can be very flat and have several optima: on openEBGM's CAERS data the one
/// openEBGM reports (α₁ ≈ 3.26, −log L 4162.456) is local; a narrow, high first component
/// (α₁ ≈ 21) gives 4162.181. The default starts include both regions. See docs/risk.md.
pub fn fit_prior(points: &[(u64, f64)], options: &FitOptions) -> Result<MgpsFit, RiskError> {
    let pts = Points::squashed(
        points,
        options.n_star,
        options.squash_above.map(|m| (m, 50, 2)),
    );
    if pts.n.len() < 5 {
        return Err(RiskError::invalid(
            "cells",
            "at least 5 distinct (n, E) cells are needed to fit 5 hyperparameters",
        ));
    }
    if options.starts.is_empty() {
        return Err(RiskError::invalid(
            "starts",
            "at least one starting point is needed",
        ));
    }
    let mut results = Vec::new();
    let mut evaluations = 0;
    for (i, s) in options.starts.iter().enumerate() {
        s.validate()
            .map_err(|e| RiskError::invalid(format!("starts[{i}]"), e.to_string()))?;
        // The search stays inside the bounds (α, β < param_limit): outside, −log L is +∞.
        let out_of_bounds = |th: &MgpsPrior| {
            [th.alpha1, th.beta1, th.alpha2, th.beta2]
                .iter()
                .any(|&v| v >= options.param_limit)
        };
        let r = if options.n_star <= 1 {
            // Quasi-Newton with the analytic gradient; the best start is polished below.
            Bfgs::default().minimize(
                |x| {
                    let th = MgpsPrior::from_x(x);
                    if out_of_bounds(&th) {
                        return (f64::INFINITY, vec![0.0; 5]);
                    }
                    let (f, g) = pts.nll_grad(&th, options.n_star);
                    (f, g.to_vec())
                },
                &s.to_x(),
            )
        } else {
            options.optimizer.minimize(
                |x| {
                    let th = MgpsPrior::from_x(x);
                    if [th.alpha1, th.beta1, th.alpha2, th.beta2]
                        .iter()
                        .any(|&v| v >= options.param_limit)
                    {
                        return f64::INFINITY;
                    }
                    pts.neg_log_likelihood(&th, options.n_star)
                },
                &s.to_x(),
            )
        };
        evaluations += r.evaluations;
        results.push((MgpsPrior::from_x(&r.x).canonical(), r.f));
    }
    let in_bounds = |p: &MgpsPrior| {
        [p.alpha1, p.beta1, p.alpha2, p.beta2]
            .iter()
            .all(|&v| v > 0.0 && v < options.param_limit)
            && p.p > 0.0
            && p.p < 1.0
    };
    let Some(best) = results
        .iter()
        .copied()
        .filter(|r| in_bounds(&r.0) && r.1.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1))
    else {
        return Err(RiskError::NoConvergence {
            what: "MGPS prior fit",
            detail: "no start converged within the parameter bounds".into(),
        });
    };
    // Polish the best optimum with Nelder–Mead: along the flat ridges of this likelihood a small
    // gradient can still leave −log L above the optimum by more than 1e-9.
    let mut best = best;
    if options.n_star <= 1 {
        let polish = NelderMead {
            step: 1e-3,
            max_restarts: 3,
            max_evaluations: 5_000,
            ..options.optimizer
        };
        let r = polish.minimize(
            |x| {
                let th = MgpsPrior::from_x(x);
                if [th.alpha1, th.beta1, th.alpha2, th.beta2]
                    .iter()
                    .any(|&v| v >= options.param_limit)
                {
                    return f64::INFINITY;
                }
                pts.neg_log_likelihood(&th, options.n_star)
            },
            &best.0.to_x(),
        );
        evaluations += r.evaluations;
        if r.f <= best.1 {
            best = (MgpsPrior::from_x(&r.x).canonical(), r.f);
        }
    }
    let starts_agreeing = results
        .iter()
        .filter(|r| (r.1 - best.1).abs() <= 1e-6)
        .count();
    Ok(MgpsFit {
        prior: best.0,
        neg_log_likelihood: best.1,
        evaluations,
        starts_agreeing,
        per_start: results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytic gradient against central differences, with and without truncation.
    #[test]
    fn gradient_matches_finite_differences() {
        let pts: Vec<(u64, f64)> = (0..400u64)
            .map(|i| {
                (
                    1 + (i * 7919) % 13 + (i % 5) * (i % 3),
                    0.01 + (i as f64 * 0.37) % 6.0,
                )
            })
            .collect();
        let th = MgpsPrior {
            alpha1: 3.2,
            beta1: 0.4,
            alpha2: 2.0,
            beta2: 1.9,
            p: 0.07,
        };
        for n_star in [0u64, 1] {
            let p = Points::new(&pts, n_star);
            let (f, g) = p.nll_grad(&th, n_star);
            assert!((f - p.neg_log_likelihood(&th, n_star)).abs() < 1e-9 * f.abs());
            let x = th.to_x();
            for k in 0..5 {
                let h = 1e-6;
                let mut xp = x;
                let mut xm = x;
                xp[k] += h;
                xm[k] -= h;
                let fd = (p.neg_log_likelihood(&MgpsPrior::from_x(&xp), n_star)
                    - p.neg_log_likelihood(&MgpsPrior::from_x(&xm), n_star))
                    / (2.0 * h);
                assert!(
                    (fd - g[k]).abs() <= 1e-5 * (1.0 + g[k].abs()),
                    "n*={n_star} k={k}: fd {fd} vs {}",
                    g[k]
                );
            }
        }
    }
}
