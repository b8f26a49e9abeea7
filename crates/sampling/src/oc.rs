//! Operating characteristic (OC) curves, AOQ, AOQL, ATI and plan design.
//!
//! The distributions are computed here from log-space recurrences (no sampling library):
//! the first term from `ln_binomial` (statrs' log-factorial) and each next term by the exact
//! ratio of consecutive probabilities, summed with a running maximum shift.

use serde::{Deserialize, Serialize};
use statrs::function::factorial::ln_binomial;

use crate::error::PlanError;

/// Probability model for the number of nonconforming units in a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "model")]
pub enum Model {
    /// Sampling from an infinite process (or with replacement).
    Binomial,
    /// Nonconformities per unit, or the large-lot small-p approximation.
    Poisson,
    /// Sampling without replacement from a lot of `lot_size` units.
    Hypergeometric { lot_size: u64 },
}

impl Model {
    pub fn parse(name: &str, lot_size: Option<u64>) -> Result<Model, PlanError> {
        match name.to_ascii_lowercase().as_str() {
            "binomial" => Ok(Model::Binomial),
            "poisson" => Ok(Model::Poisson),
            "hypergeometric" | "hypergeom" => match lot_size {
                Some(n) => Ok(Model::Hypergeometric { lot_size: n }),
                None => Err(PlanError::Invalid {
                    field: "lot_size",
                    rule: "given for the hypergeometric model",
                }),
            },
            _ => Err(PlanError::Invalid {
                field: "model",
                rule: "one of binomial, poisson, hypergeometric",
            }),
        }
    }
}

/// Largest sample size or lot size accepted by the OC functions (a limit on outside input).
pub const SIZE_MAX: u64 = 100_000_000;

fn check_p(p: f64) -> Result<(), PlanError> {
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(PlanError::Invalid {
            field: "p",
            rule: "a proportion in [0, 1]",
        })
    }
}

fn check_size(field: &'static str, n: u64) -> Result<(), PlanError> {
    if n == 0 || n > SIZE_MAX {
        Err(PlanError::Invalid {
            field,
            rule: "between 1 and 10^8",
        })
    } else {
        Ok(())
    }
}

/// Sum exp(l_k) for a sequence of log terms with a running shift (no overflow, no underflow
/// of the largest term).
struct LogSum {
    max: f64,
    sum: f64,
}

impl LogSum {
    fn new() -> Self {
        LogSum {
            max: f64::NEG_INFINITY,
            sum: 0.0,
        }
    }
    fn add(&mut self, l: f64) {
        if l == f64::NEG_INFINITY {
            return;
        }
        if l > self.max {
            self.sum = self.sum * (self.max - l).exp() + 1.0;
            self.max = l;
        } else {
            self.sum += (l - self.max).exp();
        }
    }
    fn value(&self) -> f64 {
        if self.max == f64::NEG_INFINITY {
            0.0
        } else {
            self.sum * self.max.exp()
        }
    }
}

/// P(X = k) for k = 0..=kmax, binomial(n, p).
pub fn binomial_pmf(n: u64, p: f64, kmax: u64) -> Vec<f64> {
    let kmax = kmax.min(n);
    let mut out = Vec::with_capacity(kmax as usize + 1);
    if p == 0.0 {
        out.push(1.0);
        out.resize(kmax as usize + 1, 0.0);
        return out;
    }
    if p == 1.0 {
        out.resize(kmax as usize + 1, 0.0);
        if kmax == n {
            out[n as usize] = 1.0;
        }
        return out;
    }
    let lq = (-p).ln_1p();
    let lodds = p.ln() - lq;
    let mut l = n as f64 * lq;
    for k in 0..=kmax {
        if k > 0 {
            l += ((n - k + 1) as f64 / k as f64).ln() + lodds;
        }
        out.push(l.exp());
    }
    out
}

/// P(X <= c), binomial(n, p).
pub fn binomial_cdf(n: u64, c: u64, p: f64) -> f64 {
    if c >= n {
        return 1.0;
    }
    if p == 0.0 {
        return 1.0;
    }
    if p == 1.0 {
        return 0.0;
    }
    let lq = (-p).ln_1p();
    let lodds = p.ln() - lq;
    let mut l = n as f64 * lq;
    let mut s = LogSum::new();
    for k in 0..=c {
        if k > 0 {
            l += ((n - k + 1) as f64 / k as f64).ln() + lodds;
        }
        s.add(l);
    }
    s.value().min(1.0)
}

/// P(X = k) for k = 0..=kmax, Poisson(lambda).
pub fn poisson_pmf(lambda: f64, kmax: u64) -> Vec<f64> {
    let mut out = Vec::with_capacity(kmax as usize + 1);
    if lambda == 0.0 {
        out.push(1.0);
        out.resize(kmax as usize + 1, 0.0);
        return out;
    }
    let ll = lambda.ln();
    let mut l = -lambda;
    for k in 0..=kmax {
        if k > 0 {
            l += ll - (k as f64).ln();
        }
        out.push(l.exp());
    }
    out
}

/// P(X <= c), Poisson(lambda).
pub fn poisson_cdf(c: u64, lambda: f64) -> f64 {
    if lambda == 0.0 {
        return 1.0;
    }
    let ll = lambda.ln();
    let mut l = -lambda;
    let mut s = LogSum::new();
    for k in 0..=c {
        if k > 0 {
            l += ll - (k as f64).ln();
        }
        s.add(l);
    }
    s.value().min(1.0)
}

/// P(X <= c) for a sample of n from a lot of `lot` units holding `d` nonconforming.
pub fn hypergeometric_cdf(lot: u64, d: u64, n: u64, c: u64) -> f64 {
    let d = d.min(lot);
    let n = n.min(lot);
    let good = lot - d;
    let kmin = n.saturating_sub(good);
    let kmax = c.min(d).min(n);
    if kmin > kmax {
        return 0.0;
    }
    if kmax == d.min(n) {
        return 1.0;
    }
    let base = ln_binomial(lot, n);
    let mut l = ln_binomial(d, kmin) + ln_binomial(good, n - kmin) - base;
    let mut s = LogSum::new();
    for k in kmin..=kmax {
        if k > kmin {
            // P(k)/P(k-1) = (d-k+1)(n-k+1) / (k (good-n+k))
            let num = ((d - k + 1) as f64) * ((n - k + 1) as f64);
            let den = (k as f64) * ((good + k - n) as f64);
            l += (num / den).ln();
        }
        s.add(l);
    }
    s.value().min(1.0)
}

/// Probability of acceptance of a single plan (n, c) at fraction nonconforming p.
/// For the hypergeometric model the number nonconforming in the lot is round(p * N).
pub fn pa_single(model: Model, n: u64, c: u64, p: f64) -> Result<f64, PlanError> {
    check_p(p)?;
    check_size("sample_size", n)?;
    Ok(match model {
        Model::Binomial => binomial_cdf(n, c, p),
        Model::Poisson => poisson_cdf(c, n as f64 * p),
        Model::Hypergeometric { lot_size } => {
            check_size("lot_size", lot_size)?;
            if n > lot_size {
                return Err(PlanError::Invalid {
                    field: "sample_size",
                    rule: "at most the lot size",
                });
            }
            let d = (p * lot_size as f64).round() as u64;
            hypergeometric_cdf(lot_size, d, n, c)
        }
    })
}

/// One stage of a multiple sampling plan; `ac` and `re` apply to the cumulative count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub n: u64,
    pub ac: u64,
    pub re: u64,
}

/// Probability of acceptance of a double or multiple plan (binomial or Poisson per stage).
pub fn pa_multistage(model: Model, stages: &[Stage], p: f64) -> Result<f64, PlanError> {
    check_p(p)?;
    if stages.is_empty() || stages.len() > 16 {
        return Err(PlanError::Invalid {
            field: "stages",
            rule: "1 to 16 stages",
        });
    }
    for (i, s) in stages.iter().enumerate() {
        check_size("stages.n", s.n)?;
        if s.re <= s.ac || (i + 1 == stages.len() && s.re != s.ac + 1) {
            return Err(PlanError::Invalid {
                field: "stages.re",
                rule: "greater than ac, and ac + 1 at the last stage",
            });
        }
        if s.re > 10_000 {
            return Err(PlanError::Invalid {
                field: "stages.re",
                rule: "at most 10000",
            });
        }
    }
    // cont[d] = P(still undecided with cumulative count d)
    let mut cont: Vec<f64> = vec![1.0];
    let mut accept = 0.0;
    for s in stages {
        let kmax = s.re;
        let pmf = match model {
            Model::Binomial => binomial_pmf(s.n, p, kmax),
            Model::Poisson => poisson_pmf(s.n as f64 * p, kmax),
            Model::Hypergeometric { .. } => {
                return Err(PlanError::Invalid {
                    field: "model",
                    rule: "binomial or poisson for multiple plans",
                });
            }
        };
        let mut next = vec![0.0; s.re as usize];
        for (d0, &w) in cont.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            for (x, &px) in pmf.iter().enumerate() {
                let d = d0 + x;
                if d >= s.re as usize {
                    break;
                }
                if d as u64 <= s.ac {
                    accept += w * px;
                } else {
                    next[d] += w * px;
                }
            }
        }
        cont = next;
    }
    Ok(accept.min(1.0))
}

/// One point of an OC curve with rectifying-inspection figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OcPoint {
    pub p: f64,
    pub pa: f64,
    /// Average outgoing quality: p * Pa * (N - n) / N, or p * Pa when no lot size is known.
    pub aoq: f64,
    /// Average total inspection n + (1 - Pa)(N - n); `None` without a lot size.
    pub ati: Option<f64>,
}

/// AOQ of a single plan under rectifying inspection (binomial Pa unless a model is given).
pub fn aoq(p: f64, pa: f64, n: u64, lot: Option<u64>) -> f64 {
    match lot {
        Some(lot) if lot > 0 => p * pa * (lot.saturating_sub(n)) as f64 / lot as f64,
        _ => p * pa,
    }
}

/// Average total inspection.
pub fn ati(pa: f64, n: u64, lot: u64) -> f64 {
    n as f64 + (1.0 - pa) * lot.saturating_sub(n) as f64
}

/// Largest number of points on one curve (a limit on outside input).
pub const POINTS_MAX: usize = 10_000;

/// OC curve of a single plan with AOQ and ATI at each p.
pub fn oc_curve(
    model: Model,
    n: u64,
    c: u64,
    ps: &[f64],
    lot: Option<u64>,
) -> Result<Vec<OcPoint>, PlanError> {
    if ps.is_empty() || ps.len() > POINTS_MAX {
        return Err(PlanError::Invalid {
            field: "p",
            rule: "1 to 10000 values",
        });
    }
    let lot = match model {
        Model::Hypergeometric { lot_size } => Some(lot_size),
        _ => lot,
    };
    if let Some(l) = lot
        && n > l
    {
        return Err(PlanError::Invalid {
            field: "sample_size",
            rule: "at most the lot size",
        });
    }
    ps.iter()
        .map(|&p| {
            let pa = pa_single(model, n, c, p)?;
            Ok(OcPoint {
                p,
                pa,
                aoq: aoq(p, pa, n, lot),
                ati: lot.map(|l| ati(pa, n, l)),
            })
        })
        .collect()
}

/// Average outgoing quality limit of a single plan (binomial Pa) and the p where it falls.
pub fn aoql(n: u64, c: u64, lot: u64) -> Result<(f64, f64), PlanError> {
    check_size("sample_size", n)?;
    check_size("lot_size", lot)?;
    let f = |p: f64| aoq(p, binomial_cdf(n, c, p), n, Some(lot));
    // Coarse grid for the bracket, then golden-section search (AOQ is unimodal in p).
    let grid: u32 = 2000;
    let mut best: u32 = 0;
    let mut best_v = f64::NEG_INFINITY;
    for i in 0..=grid {
        let v = f(f64::from(i) / f64::from(grid));
        if v > best_v {
            best_v = v;
            best = i;
        }
    }
    let mut a = f64::from(best.saturating_sub(1)) / f64::from(grid);
    let mut b = f64::from((best + 1).min(grid)) / f64::from(grid);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut x1 = b - g * (b - a);
    let mut x2 = a + g * (b - a);
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..200 {
        if b - a < 1e-15 {
            break;
        }
        if f1 < f2 {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + g * (b - a);
            f2 = f(x2);
        } else {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - g * (b - a);
            f1 = f(x1);
        }
    }
    let p = (a + b) / 2.0;
    Ok((f(p), p))
}

/// A point (p, Pa) of the OC curve: producer's risk point (p1, 1 - alpha) or consumer's (p2, beta).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RiskPoint {
    pub p: f64,
    pub pa: f64,
}

/// A designed single plan and the Pa it reaches at both risk points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DesignedPlan {
    pub n: u64,
    pub c: u64,
    pub r: u64,
    pub pa_at_producer: f64,
    pub pa_at_consumer: f64,
}

/// Largest sample size searched by `design_plan`.
pub const DESIGN_N_MAX: u64 = 100_000;

/// Smallest single plan (n, c) with Pa(p1) >= 1 - alpha and Pa(p2) <= beta.
/// For each n from 1 up, c is the smallest acceptance number meeting the producer's point;
/// the first n whose such c also meets the consumer's point is returned.
pub fn design_plan(
    producer: RiskPoint,
    consumer: RiskPoint,
    model: Model,
) -> Result<DesignedPlan, PlanError> {
    check_p(producer.p)?;
    check_p(consumer.p)?;
    if producer.p >= consumer.p || producer.pa <= consumer.pa {
        return Err(PlanError::Invalid {
            field: "risk_points",
            rule: "p1 < p2 and 1 - alpha > beta",
        });
    }
    let n_max = match model {
        Model::Hypergeometric { lot_size } => {
            check_size("lot_size", lot_size)?;
            lot_size.min(DESIGN_N_MAX)
        }
        _ => DESIGN_N_MAX,
    };
    // The smallest c meeting the producer's point never decreases as n grows (for a fixed c, Pa
    // falls with n in all three models), so each n starts from the previous n's c: the same
    // answer as starting from 0, in linear rather than quadratic work.
    let mut c_from = 0;
    for n in 1..=n_max {
        let mut c = c_from;
        loop {
            let pa1 = pa_single(model, n, c, producer.p)?;
            if pa1 >= producer.pa {
                c_from = c;
                let pa2 = pa_single(model, n, c, consumer.p)?;
                if pa2 <= consumer.pa {
                    return Ok(DesignedPlan {
                        n,
                        c,
                        r: c + 1,
                        pa_at_producer: pa1,
                        pa_at_consumer: pa2,
                    });
                }
                break;
            }
            c += 1;
            if c > n {
                break;
            }
        }
    }
    Err(PlanError::NotAvailable {
        what: "a single plan meeting both risk points",
        why: "none with n up to 100000",
    })
}
