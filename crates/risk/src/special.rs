//! Special functions used by the statistics in this crate.
//!
//! `ln_gamma`, `digamma`, the regularized incomplete gamma and `erfc` come from `statrs`; the rest
//! (trigamma, normal quantile refinement, Student t tail, gamma-mixture quantiles) are here.

pub use statrs::function::gamma::{digamma, ln_gamma};

#[cfg(test)]
mod accuracy {
    // Reference values from mpmath (50 digits).
    #[test]
    fn statrs_functions_we_rely_on() {
        assert!((super::ln_gamma(100.3) - 360.51470572905816).abs() < 1e-12);
        assert!((super::digamma(3.3) - 1.03482248905962).abs() < 1e-13);
        assert!((super::gamma_p(10.0, 12.0) - 0.757607838329488).abs() < 1e-14);
        assert!((super::norm_sf(1.0) - 0.15865525393145705).abs() < 1e-16);
    }
}

/// Regularized lower incomplete gamma P(a, x) (the gamma CDF with shape a, rate 1, at x).
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x.is_infinite() {
        return 1.0;
    }
    statrs::function::gamma::gamma_lr(a, x)
}

/// Regularized upper incomplete gamma Q(a, x) = 1 − P(a, x).
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    statrs::function::gamma::gamma_ur(a, x)
}

/// Density of the gamma distribution with shape `a` and rate `b` at `x`.
pub fn gamma_pdf(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    (a * b.ln() + (a - 1.0) * x.ln() - b * x - ln_gamma(a)).exp()
}

/// Trigamma ψ'(x) for x > 0 (recurrence to x ≥ 6, then the asymptotic series).
pub fn trigamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 20.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let inv = 1.0 / x;
    let z = inv * inv;
    // ψ'(x) ~ 1/x + 1/(2x²) + 1/(6x³) − 1/(30x⁵) + 1/(42x⁷) − 1/(30x⁹) + 5/(66x¹¹)
    let series = inv
        + z / 2.0
        + inv
            * z
            * (1.0 / 6.0
                - z * (1.0 / 30.0 - z * (1.0 / 42.0 - z * (1.0 / 30.0 - z * (5.0 / 66.0)))));
    acc + series
}

/// (ψ(x), ψ'(x)) at once, equal to [`digamma`] and [`trigamma`] bit for bit: for x ≥ 20 both
/// asymptotic series share 1/x (as statrs' digamma computes it), below that the two functions.
#[inline]
pub fn digamma_trigamma(x: f64) -> (f64, f64) {
    if !(x >= 20.0 && x.is_finite()) {
        return (digamma(x), trigamma(x));
    }
    let inv = 1.0 / x;
    // statrs' digamma for z ≥ 12 (no recurrence steps; 0 + y is y).
    let r = inv * inv;
    let psi = (x.ln() - 0.5 * inv)
        - r * (1.0 / 12.0
            - r * (1.0 / 120.0 - r * (1.0 / 252.0 - r * (1.0 / 240.0 - r * (1.0 / 132.0)))));
    // `trigamma` for x ≥ 20 (no recurrence steps).
    let z = r;
    let tri = inv
        + z / 2.0
        + inv
            * z
            * (1.0 / 6.0
                - z * (1.0 / 30.0 - z * (1.0 / 42.0 - z * (1.0 / 30.0 - z * (5.0 / 66.0)))));
    (psi, tri)
}

/// Standard normal CDF Φ(x).
pub fn norm_cdf(x: f64) -> f64 {
    norm_sf(-x)
}

/// Standard normal upper tail 1 − Φ(x), accurate in the tail.
///
/// Computed as ½·Q(½, x²/2) (erfc through the incomplete gamma function): statrs 0.19's `erfc`
/// is only accurate to about 1e-11, which shows in the sixth digit of normal quantiles' users.
pub fn norm_sf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let q = 0.5 * gamma_q(0.5, 0.5 * x * x);
    if x >= 0.0 { q } else { 1.0 - q }
}

/// Standard normal density.
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal quantile Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation polished by
/// two Halley steps (full double precision).
pub fn norm_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let mut x = norm_quantile_approx(p);
    for _ in 0..2 {
        let e = if x < 0.0 {
            norm_cdf(x) - p
        } else {
            (1.0 - p) - norm_sf(x)
        };
        let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
        x -= u / (1.0 + x * u / 2.0);
    }
    x
}

/// Acklam's rational approximation of Φ⁻¹(p) for p in (0, 1), relative error below 1.2e-9 (a
/// starting point; [`norm_quantile`] polishes it).
pub fn norm_quantile_approx(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.383_577_518_672_69e2,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    let plow = 0.02425;
    if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

/// Two-sided p-value of a Student t statistic with `df` degrees of freedom: 2·P(T > |t|).
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    // P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2)
    let x = df / (df + t * t);
    statrs::function::beta::beta_reg(df / 2.0, 0.5, x)
}

/// ln of the negative-binomial probability mass in the (size, prob) parameterisation:
/// Γ(n+size)/(Γ(size) n!) · prob^size · (1−prob)^n.
pub fn ln_dnbinom(n: f64, size: f64, prob: f64) -> f64 {
    ln_gamma(n + size) - ln_gamma(size) - ln_gamma(n + 1.0)
        + size * prob.ln()
        + n * (1.0 - prob).ln()
}

/// CDF of the negative binomial (size, prob) at integer `k`.
pub fn pnbinom(k: f64, size: f64, prob: f64) -> f64 {
    if k < 0.0 {
        return 0.0;
    }
    statrs::function::beta::beta_reg(size, k.floor() + 1.0, prob)
}

/// Quantile of the negative binomial (size, prob): the smallest integer k with CDF(k) ≥ p.
pub fn qnbinom(p: f64, size: f64, prob: f64) -> f64 {
    let mean = size * (1.0 - prob) / prob;
    let sd = (mean / prob).sqrt();
    let mut k = (mean + sd * norm_quantile(p)).floor().max(0.0);
    // Walk to the exact answer (R's search uses a relative fuzz of 64 eps; do the same).
    let fuzz = 1.0 - 64.0 * f64::EPSILON;
    while k > 0.0 && pnbinom(k - 1.0, size, prob) >= p * fuzz {
        k -= 1.0;
    }
    while pnbinom(k, size, prob) < p * fuzz {
        k += 1.0;
    }
    k
}

/// Quantile of the Poisson(lambda): smallest integer k with CDF(k) ≥ p.
pub fn qpois(p: f64, lambda: f64) -> f64 {
    let mut k = (lambda + lambda.sqrt() * norm_quantile(p)).floor().max(0.0);
    let fuzz = 1.0 - 64.0 * f64::EPSILON;
    let cdf = |k: f64| gamma_q(k + 1.0, lambda);
    while k > 0.0 && cdf(k - 1.0) >= p * fuzz {
        k -= 1.0;
    }
    while cdf(k) < p * fuzz {
        k += 1.0;
    }
    k
}

/// Quantile of the gamma distribution with shape `a` and rate `b` (Newton with a bisection guard).
pub fn gamma_quantile(p: f64, a: f64, b: f64) -> f64 {
    mixture_quantile(p, &[(1.0, a, b)])
}

/// Regularized lower incomplete gamma P(a, x) given lnΓ(a) (series below a + 1, Lentz's
/// continued fraction above; relative precision about 1e-15).
pub fn gamma_p_lg(a: f64, x: f64, ln_gamma_a: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x.is_infinite() {
        return 1.0;
    }
    let log_front = -x + a * x.ln() - ln_gamma_a;
    if x < a + 1.0 {
        let mut ap = a;
        let mut del = 1.0 / a;
        let mut sum = del;
        for _ in 0..100_000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        (sum.ln() + log_front).exp().min(1.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..100_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        1.0 - (log_front.exp() * h)
    }
}

/// Regularized lower incomplete gamma P(a, y) given `front` = y^a e^(−y) / Γ(a) (the caller has
/// it, e.g. from the density): the series below a + 1, Lentz's continued fraction above, as in
/// [`gamma_p_lg`], without the logarithms and exponentials that recompute the front factor.
#[inline]
pub fn gamma_p_front(a: f64, y: f64, front: f64) -> f64 {
    gamma_p_front_tol(a, y, front, 0.0)
}

/// [`gamma_p_front`] to an absolute error of about `abs_tol` (or to full precision, whichever
/// comes first): for callers that weigh P by a small factor. The series stops once the bound
/// y/(a + k + 1 − y) · term on what its remaining terms add is below `abs_tol`, the continued
/// fraction once its last change is below a tenth of it.
#[inline]
pub fn gamma_p_front_tol(a: f64, y: f64, front: f64, abs_tol: f64) -> f64 {
    if y <= 0.0 {
        return 0.0;
    }
    if front == 0.0 {
        // y^a e^(−y) underflows only far in a tail.
        return if y < a { 0.0 } else { 1.0 };
    }
    if y < a + 1.0 {
        let mut ap = a;
        let mut del = 1.0 / a;
        let mut sum = del;
        // Two terms per step from one division: y/(ap+1) = y(ap+2)/((ap+1)(ap+2)).
        for _ in 0..50_000 {
            let (a1, a2) = (ap + 1.0, ap + 2.0);
            let yr = y / (a1 * a2);
            let del1 = del * (yr * a2);
            del = del1 * (yr * a1);
            sum += del1 + del;
            ap = a2;
            // The terms after this one shrink at least by y/(ap + 1) each: they add at most
            // del·y/(ap + 1 − y).
            if del < sum * 1e-16 || front * del * y < abs_tol * (ap + 1.0 - y) {
                break;
            }
        }
        (front * sum).min(1.0)
    } else {
        1.0 - front * upper_gamma_fraction(a, y, 0.1 * abs_tol / front)
    }
}

/// The continued fraction Γ(a, y) / (y^a e^(−y)) = 1/(b₁ + a₁/(b₂ + a₂/(b₃ + …))) with
/// b_k = y + 2k − 1 − a and a_k = −k(k − a), for y > a + 1, by the forward (Wallis) recurrence of
/// its numerators A and denominators B: two multiply–add chains without divisions (the modified
/// Lentz algorithm needs two dependent divisions per term). Stops when successive convergents
/// A/B agree to 1e-16 relative, as Lentz's |Δ − 1| < 1e-16 does; A and B are rescaled by a power
/// of two (exactly) when they grow large. With `abs_tol` > 0 it also stops once successive
/// convergents differ by less than that.
#[inline]
fn upper_gamma_fraction(a: f64, y: f64, abs_tol: f64) -> f64 {
    const BIG: f64 = 1.152_921_504_606_847e18; // 2^60
    const SMALL: f64 = 1.0 / BIG;
    let mut b = y + 1.0 - a;
    // Convergents n − 1 and n: A₀ = 0, B₀ = 1; A₁ = 1, B₁ = b₁.
    let (mut a0, mut b0, mut a1, mut b1) = (0.0, 1.0, 1.0, b);
    for i in 1..100_000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        let a2 = b * a1 + an * a0;
        let b2 = b * b1 + an * b0;
        (a0, b0, a1, b1) = (a1, b1, a2, b2);
        // |A₂/B₂ − A₁/B₁| ≤ 1e-16·|A₂/B₂|, without dividing.
        let change = (a1 * b0 - a0 * b1).abs();
        if change <= 1e-16 * (a1 * b0).abs() || change < abs_tol * (b1 * b0).abs() {
            break;
        }
        if b1.abs() > BIG {
            (a0, b0, a1, b1) = (a0 * SMALL, b0 * SMALL, a1 * SMALL, b1 * SMALL);
        } else if b1.abs() < SMALL {
            (a0, b0, a1, b1) = (a0 * BIG, b0 * BIG, a1 * BIG, b1 * BIG);
        }
    }
    a1 / b1
}

/// Quantile of a mixture of gamma distributions `(weight, shape, rate)` (weights summing to 1).
pub fn mixture_quantile(p: f64, comps: &[(f64, f64, f64)]) -> f64 {
    let mut cs = [(0.0, 1.0, 1.0, 0.0); 2];
    let mut k = 0;
    for &(w, a, b) in comps {
        if w > 0.0 {
            if k == 2 {
                // More than two components: fold the rest by recursion-free bisection below.
                return mixture_quantile_slow(p, comps);
            }
            cs[k] = (w, a, b, ln_gamma(a));
            k += 1;
        }
    }
    mixture_quantile_lg(p, &cs[..k])
}

fn mixture_quantile_slow(p: f64, comps: &[(f64, f64, f64)]) -> f64 {
    let cdf = |x: f64| {
        comps
            .iter()
            .map(|&(w, a, b)| w * gamma_p(a, b * x))
            .sum::<f64>()
    };
    let (mut lo, mut hi) = (0.0, 1.0);
    while cdf(hi) < p {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < p { lo = mid } else { hi = mid }
    }
    0.5 * (lo + hi)
}

/// Quantile of a gamma mixture given `(weight, shape, rate, lnΓ(shape))` per component: Newton's
/// method on the CDF from a Wilson–Hilferty start, safeguarded by a bracket that is narrowed at
/// every step (bisection, or doubling while no upper bound is known, when a step leaves it), to a
/// relative precision of about 1e-12.
pub fn mixture_quantile_lg(p: f64, cs: &[(f64, f64, f64, f64)]) -> f64 {
    if cs.is_empty() || p.is_nan() || p >= 1.0 {
        return f64::NAN;
    }
    if p <= 0.0 {
        return 0.0;
    }
    let eval = |x: f64| {
        let mut c = 0.0;
        let mut d = 0.0;
        for &(w, a, b, lg) in cs {
            c += w * gamma_p_lg(a, b * x, lg);
            d += w * (a * b.ln() + (a - 1.0) * x.ln() - b * x - lg).exp();
        }
        (c - p, d)
    };
    let &(_, a, b, _) = cs
        .iter()
        .max_by(|x, y| x.0.total_cmp(&y.0))
        .expect("non-empty");
    let z = match p {
        0.05 => -1.6448536269514722,
        0.95 => 1.6448536269514722,
        _ => norm_quantile(p),
    };
    let t = 1.0 - 1.0 / (9.0 * a) + z * (1.0 / (9.0 * a)).sqrt();
    let mut x = if t > 0.0 {
        a / b * t * t * t
    } else {
        a / b * 0.05
    };
    let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
    for _ in 0..300 {
        let (f, d) = eval(x);
        if f.abs() <= 2e-16 {
            // The CDF is exact to rounding here: further steps are noise.
            return x;
        }
        if f > 0.0 {
            hi = x;
        } else {
            lo = x;
        }
        let mut next = if d > 0.0 { x - f / d } else { f64::NAN };
        if !(next > lo && next < hi) {
            next = if hi.is_finite() {
                0.5 * (lo + hi)
            } else {
                2.0 * x.max(f64::MIN_POSITIVE)
            };
        }
        if (next - x).abs() <= 1e-12 * x {
            return next;
        }
        if hi.is_finite() && hi - lo <= 1e-15 * hi {
            return 0.5 * (lo + hi);
        }
        x = next;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigamma_known_values() {
        // ψ'(1) = π²/6, ψ'(1/2) = π²/2
        let pi2 = std::f64::consts::PI * std::f64::consts::PI;
        assert!((trigamma(1.0) - pi2 / 6.0).abs() < 1e-13);
        assert!((trigamma(0.5) - pi2 / 2.0).abs() < 1e-12);
    }

    #[test]
    fn digamma_trigamma_equals_the_two_functions() {
        let mut x = 0.01;
        while x < 1e12 {
            let (d, t) = digamma_trigamma(x);
            assert_eq!(d.to_bits(), digamma(x).to_bits(), "digamma({x})");
            assert_eq!(t.to_bits(), trigamma(x).to_bits(), "trigamma({x})");
            x *= 1.0137;
        }
    }

    #[test]
    fn incomplete_gamma_from_front_matches_statrs() {
        // Both branches: the series (y < a + 1) and the continued fraction (above).
        for &a in &[0.01, 0.3, 1.0, 2.7, 21.9, 250.0, 3000.0] {
            for &r in &[0.01, 0.5, 0.9, 1.0, 1.1, 1.5, 2.0, 5.0, 30.0] {
                let y: f64 = a * r + 0.3;
                let front = (a * y.ln() - y - ln_gamma(a)).exp();
                let ours = gamma_p_front(a, y, front);
                let p = gamma_p(a, y);
                // `front` itself carries a relative error of about eps·(a·|ln y| + y).
                let tol = 1e-15 * (a * y.ln().abs() + y + 10.0);
                assert!((ours - p).abs() <= tol * p, "a={a} y={y}: {ours} vs {p}");
            }
        }
    }

    #[test]
    fn incomplete_gamma_matches_statrs() {
        for &a in &[0.3, 1.0, 2.5, 17.0, 250.0, 3000.0] {
            for &r in &[0.01, 0.5, 0.9, 1.0, 1.1, 2.0, 5.0] {
                let x = a * r;
                let ours = gamma_p_lg(a, x, ln_gamma(a));
                let theirs = gamma_p(a, x);
                assert!(
                    (ours - theirs).abs() <= 1e-13 * theirs.max(1e-300) + 1e-15,
                    "a={a} x={x}: {ours} vs {theirs}"
                );
            }
        }
    }

    #[test]
    fn norm_quantile_roundtrip() {
        for &p in &[1e-10, 0.001, 0.025, 0.05, 0.3, 0.5, 0.9, 0.975, 0.999] {
            let x = norm_quantile(p);
            assert!((norm_cdf(x) - p).abs() < 1e-15_f64.max(p * 1e-13), "p={p}");
        }
        assert!(
            (norm_quantile(0.975) - 1.959963984540054).abs() < 1e-14,
            "{}",
            norm_quantile(0.975)
        );
    }
}
