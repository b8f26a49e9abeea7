//! Disproportionality measures of one 2×2 table.

use serde::{Deserialize, Serialize};

use crate::special::{digamma, gamma_quantile, trigamma};

/// A point estimate with a two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Point estimate.
    pub estimate: f64,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

/// The BCPNN information component in the PhViD / vigipy parameterisation (Bate et al. 1998,
/// Gould 2003): posterior mean and variance of IC with beta/Dirichlet priors, and normal
/// approximate credibility bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bcpnn {
    /// E[IC] (log2 scale).
    pub ic: f64,
    /// V[IC].
    pub variance: f64,
    /// E[IC] − z(0.975)·√V[IC].
    pub ic025: f64,
    /// E[IC] + z(0.975)·√V[IC].
    pub ic975: f64,
}

/// One 2×2 table: a = product with event, b = product with other events, c = other products with
/// the event, d = neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Table2x2 {
    /// Product and event.
    pub a: u64,
    /// Product, other events.
    pub b: u64,
    /// Other products, event.
    pub c: u64,
    /// Neither.
    pub d: u64,
}

/// PRR with its interval, Yates' χ² and the Evans criteria of one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrrSignal {
    /// PRR with its 95 % interval.
    pub prr: Interval,
    /// Pearson χ² with Yates' correction.
    pub chi2_yates: f64,
    /// The Evans et al. (2001) criteria.
    pub evans: bool,
}

/// Φ⁻¹(0.975), checked against `norm_quantile` in the tests.
pub const Z975: f64 = 1.959963984540054;

fn z975() -> f64 {
    Z975
}

impl Table2x2 {
    /// A table.
    pub fn new(a: u64, b: u64, c: u64, d: u64) -> Table2x2 {
        Table2x2 { a, b, c, d }
    }

    fn f(&self) -> (f64, f64, f64, f64) {
        (self.a as f64, self.b as f64, self.c as f64, self.d as f64)
    }

    /// N = a + b + c + d.
    pub fn n(&self) -> f64 {
        let (a, b, c, d) = self.f();
        a + b + c + d
    }

    /// Expected count of the cell under independence, (a+b)(a+c)/N.
    pub fn expected(&self) -> f64 {
        let (a, b, c, _) = self.f();
        (a + b) * (a + c) / self.n()
    }

    /// Proportional reporting ratio (a/(a+b)) / (c/(c+d)) with its 95 % interval
    /// exp(ln PRR ± 1.96·√(1/a − 1/(a+b) + 1/c − 1/(c+d))).
    ///
    /// Computed as a(c+d) / ((a+b)c) and 1/a − 1/(a+b) = b/(a(a+b)), 1/c − 1/(c+d) = d/(c(c+d)):
    /// the same values to rounding with three divisions instead of seven, and no cancellation
    /// (a zero count gives ∞ or NaN as the textbook formulas do).
    #[inline]
    pub fn prr(&self) -> Interval {
        let (est, se) = self.prr_parts();
        interval_log(est, se)
    }

    /// PRR and the standard error of its logarithm.
    #[inline]
    pub(crate) fn prr_parts(&self) -> (f64, f64) {
        let (a, b, c, d) = self.f();
        let est = (a * (c + d)) / ((a + b) * c);
        let se = (b / (a * (a + b)) + d / (c * (c + d))).sqrt();
        (est, se)
    }

    /// Pearson χ² without continuity correction.
    pub fn chi2(&self) -> f64 {
        let (a, b, c, d) = self.f();
        let n = self.n();
        let num = a * d - b * c;
        n * num * num / ((a + b) * (c + d) * (a + c) * (b + d))
    }

    /// Pearson χ² with Yates' continuity correction, N·max(0, |ad − bc| − N/2)² / (row and column
    /// totals) — R's `chisq.test(correct = TRUE)` for a 2×2 table.
    #[inline]
    pub fn chi2_yates(&self) -> f64 {
        let (a, b, c, d) = self.f();
        let n = self.n();
        let diff = ((a * d - b * c).abs() - n / 2.0).max(0.0);
        n * diff * diff / ((a + b) * (c + d) * (a + c) * (b + d))
    }

    /// The Evans et al. (2001) signal criteria: PRR ≥ 2, Yates χ² ≥ 4 and a ≥ 3.
    pub fn evans(&self) -> bool {
        let prr = self.prr().estimate;
        self.a >= 3 && prr >= 2.0 && self.chi2_yates() >= 4.0
    }

    /// [`prr`](Self::prr), [`chi2_yates`](Self::chi2_yates) and [`evans`](Self::evans) at once
    /// (the same values, each computed once).
    #[inline]
    pub fn prr_signal(&self) -> PrrSignal {
        let prr = self.prr();
        let chi2_yates = self.chi2_yates();
        PrrSignal {
            prr,
            chi2_yates,
            evans: self.a >= 3 && prr.estimate >= 2.0 && chi2_yates >= 4.0,
        }
    }

    /// Reporting odds ratio ad/(bc) with its 95 % interval exp(ln ROR ± 1.96·√(1/a+1/b+1/c+1/d)).
    ///
    #[inline]
    pub fn ror(&self) -> Interval {
        let (est, se) = self.ror_parts();
        interval_log(est, se)
    }

    /// ROR and the standard error of its logarithm.
    #[inline]
    pub(crate) fn ror_parts(&self) -> (f64, f64) {
        let (a, b, c, d) = self.f();
        let est = (a * d) / (b * c);
        let se = (1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d).sqrt();
        (est, se)
    }

    /// The shrinkage information component IC = log2((a + ½)/(E + ½)) with 95 % credibility bounds
    /// from the gamma(a + ½, E + ½) posterior (Norén et al. 2013).
    pub fn ic_shrink(&self) -> Interval {
        let a = self.a as f64;
        let e = self.expected();
        let est = ((a + 0.5) / (e + 0.5)).log2();
        let lo = (gamma_quantile(0.025, a + 0.5, e + 0.5)).log2();
        let hi = (gamma_quantile(0.975, a + 0.5, e + 0.5)).log2();
        Interval {
            estimate: est,
            lo,
            hi,
        }
    }

    /// The BCPNN information component (PhViD `BCPNN(MC = FALSE)`, vigipy `bcpnn`).
    pub fn bcpnn(&self) -> Bcpnn {
        let (a, b, c, _) = self.f();
        let n = self.n();
        let n1j = a + b; // product margin
        let ni1 = a + c; // event margin
        let p1 = 1.0 + n1j;
        let p2 = 1.0 + n - n1j;
        let q1 = 1.0 + ni1;
        let q2 = 1.0 + n - ni1;
        let r1 = 1.0 + a;
        let r2b = n - a - 1.0 + (2.0 + n) * (2.0 + n) / (q1 * p1);
        let ln2 = std::f64::consts::LN_2;
        let ic = (digamma(r1)
            - digamma(r1 + r2b)
            - (digamma(p1) - digamma(p1 + p2) + digamma(q1) - digamma(q1 + q2)))
            / ln2;
        let variance = (trigamma(r1) - trigamma(r1 + r2b)
            + (trigamma(p1) - trigamma(p1 + p2) + trigamma(q1) - trigamma(q1 + q2)))
            / (ln2 * ln2);
        let sd = variance.sqrt();
        let z = z975();
        Bcpnn {
            ic,
            variance,
            ic025: ic - z * sd,
            ic975: ic + z * sd,
        }
    }
}

/// exp(ln est ± z·se) as est·e^(∓z·se): one exponential, no logarithm.
#[inline]
pub(crate) fn interval_log(est: f64, se: f64) -> Interval {
    let f = (z975() * se).exp();
    Interval {
        estimate: est,
        lo: est / f,
        hi: est * f,
    }
}
