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
use std::collections::HashMap;

use crate::special::{digamma, gamma_p_front_tol, ln_gamma, mixture_quantile};

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

/// A third-order (Householder) step below this relative size ends the quantile search.
const HOUSEHOLDER_STOP: f64 = 1e-4;
/// A Halley step below this relative size ends the quantile search.
const HALLEY_STOP: f64 = 1e-6;
/// A Newton step below this relative size ends the quantile search.
const NEWTON_STOP: f64 = 1e-8;
/// The posterior quantiles reported: EB05 and EB95.
const QUANTILES: [f64; 2] = [0.05, 0.95];
/// A mixture weight this small changes the CDF by less than rounding: the component is left out.
const NEGLIGIBLE_WEIGHT: f64 = 1e-17;
/// Below this many distinct (n, E) points the prior's starts run one after another.
const PARALLEL_MIN_FIT_POINTS: usize = 2_000;
/// Below twice this many cells `score_all` runs on the calling thread.
const PARALLEL_MIN_SCORE_CELLS: usize = 4_096;
/// Below twice this many cells `score_all` copies the scores of the distinct points to the cells
/// on the calling thread (a hash lookup a cell: less than a helper thread can cost to join on a
/// busy machine).
const PARALLEL_MIN_COPY_CELLS: usize = 16_384;
/// After this many cells a thread of `score_all` stops looking for repeated (n, E) points unless
/// a quarter of them were repeats.
const SEEN_TRIAL: usize = 4_096;
/// Counts below this are cached in a vector indexed by n, the others in a map.
const DENSE_MAX_N: u64 = 1 << 16;

/// A multiplicative hash for the score caches (keys are counts and f64 bit patterns, not
/// attacker-chosen strings; SipHash was a visible share of the scoring time).
#[derive(Default, Clone, Copy)]
struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type FastHash = std::hash::BuildHasherDefault<FastHasher>;

/// The per-count constants of one thread of [`MgpsPrior::score_all`], in a vector indexed by n
/// for small counts, in a map for the others.
struct PerCounts {
    dense: Vec<Option<PerCount>>,
    sparse: HashMap<u64, PerCount, FastHash>,
}

impl PerCounts {
    fn new(cells: &[(u64, f64)]) -> PerCounts {
        let max_n = cells.iter().map(|c| c.0).max().unwrap_or(0);
        let dense = if max_n < DENSE_MAX_N {
            vec![None; max_n as usize + 1]
        } else {
            Vec::new()
        };
        PerCounts {
            dense,
            sparse: HashMap::default(),
        }
    }

    fn get(&mut self, th: &MgpsPrior, n: u64) -> PerCount {
        match self.dense.get_mut(n as usize) {
            Some(slot) => *slot.get_or_insert_with(|| PerCount::new(th, n)),
            None => *self.sparse.entry(n).or_insert_with(|| PerCount::new(th, n)),
        }
    }
}

type ScoreMap = HashMap<(u64, u64), MgpsScore, FastHash>;

/// The thread of `threads` that scores the point (n, E bits) in `MgpsPrior::score_all`.
fn owner(key: (u64, u64), threads: usize) -> usize {
    use std::hash::Hasher;
    let mut h = FastHasher::default();
    h.write_u64(key.0);
    h.write_u64(key.1);
    ((h.finish() >> 32) % threads as u64) as usize
}

/// The caches of one thread of [`MgpsPrior::score_all`] (where it scores blocks of cells): the per-count
/// constants and the scores of the (n, E) points seen so far. The latter pays only where (n, E)
/// points repeat often (tables of reports: E repeats whenever margins do); where they hardly do
/// (a large table with varied margins), probing a map of mostly distinct points that outgrows the
/// caches costs more than it saves, so it is dropped after `SEEN_TRIAL` cells if fewer than a
/// quarter of them were repeats.
struct ScoreCache {
    per_count: PerCounts,
    seen: Option<ScoreMap>,
    /// Cells scored and repeats found so far.
    calls: usize,
    hits: usize,
}

impl ScoreCache {
    fn new(cells: &[(u64, f64)]) -> ScoreCache {
        let mut seen = HashMap::default();
        seen.reserve(cells.len().min(SEEN_TRIAL));
        ScoreCache {
            per_count: PerCounts::new(cells),
            seen: Some(seen),
            calls: 0,
            hits: 0,
        }
    }

    fn score(&mut self, th: &MgpsPrior, n: u64, e: f64) -> MgpsScore {
        self.calls += 1;
        if self.calls == SEEN_TRIAL && self.hits < SEEN_TRIAL / 4 {
            self.seen = None;
        }
        if let Some(s) = self.seen.as_ref().and_then(|m| m.get(&(n, e.to_bits()))) {
            self.hits += 1;
            return *s;
        }
        let s = th.score_with(&self.per_count.get(th, n), n, e);
        if let Some(m) = &mut self.seen {
            m.insert((n, e.to_bits()), s);
        }
        s
    }
}

/// The constants of the posterior given N = n that do not depend on E.
#[derive(Debug, Clone, Copy)]
struct PerCount {
    /// Posterior shapes α_k + n.
    a1: f64,
    a2: f64,
    /// lnΓ(α_k + n).
    lg1: f64,
    lg2: f64,
    /// ln(1−P) − ln P + [lnΓ(α₂+n) − lnΓ(α₂)] − [lnΓ(α₁+n) − lnΓ(α₁)] + α₂ ln β₂ − α₁ ln β₁.
    k21: f64,
    /// ψ(α_k + n).
    psi1: f64,
    psi2: f64,
    /// q[k][j]: the QUANTILES[j] quantile of Gamma(α_k + n, rate 1); lnq its logarithm; front
    /// q^a e^(−q) / Γ(a) there.
    q: [[f64; 2]; 2],
    lnq: [[f64; 2]; 2],
    front: [[f64; 2]; 2],
}

impl PerCount {
    fn new(th: &MgpsPrior, n: u64) -> PerCount {
        let nf = n as f64;
        let (a1, a2) = (th.alpha1 + nf, th.alpha2 + nf);
        let (lg1, lg2) = (ln_gamma(a1), ln_gamma(a2));
        let lf = ln_gamma(nf + 1.0);
        let single = |a: f64, lg: f64, p: f64| {
            let c = [(1.0, a, 1.0, 0.0, lg), (0.0, 1.0, 1.0, 0.0, 0.0)];
            // Wilson–Hilferty start; the bracket is open above.
            let z = if p < 0.5 {
                -1.6448536269514722
            } else {
                1.6448536269514722
            };
            let t = 1.0 - 1.0 / (9.0 * a) + z * (1.0 / (9.0 * a)).sqrt();
            let x = if t > 0.0 { a * t * t * t } else { a * 0.05 };
            mixture2_quantile(p, &c, x, 0.0, f64::INFINITY, None)
        };
        let q = [
            [single(a1, lg1, QUANTILES[0]), single(a1, lg1, QUANTILES[1])],
            [single(a2, lg2, QUANTILES[0]), single(a2, lg2, QUANTILES[1])],
        ];
        let lnq = q.map(|r| r.map(f64::ln));
        let (a, lg) = ([a1, a2], [lg1, lg2]);
        let front = [0, 1].map(|k| [0, 1].map(|j| (a[k] * lnq[k][j] - q[k][j] - lg[k]).exp()));
        let c1 = lg1 - ln_gamma(th.alpha1) - lf;
        let c2 = lg2 - ln_gamma(th.alpha2) - lf;
        PerCount {
            a1,
            a2,
            lg1,
            lg2,
            k21: ((1.0 - th.p).ln() - th.p.ln())
                + (c2 - c1)
                + (th.alpha2 * th.beta2.ln() - th.alpha1 * th.beta1.ln()),
            psi1: digamma(a1),
            psi2: digamma(a2),
            q,
            lnq,
            front,
        }
    }
}

/// The Wilson–Hilferty approximation of the `level` quantile of Gamma(a, rate b), if positive.
fn wilson_hilferty(level: f64, a: f64, b: f64) -> Option<f64> {
    if !(level > 0.0 && level < 1.0) {
        return None;
    }
    let z = crate::special::norm_quantile_approx(level);
    let c = 1.0 / (9.0 * a);
    let t = 1.0 - c + z * c.sqrt();
    (t > 0.0).then(|| a / b * t * t * t)
}

/// The `p` quantile of a mixture of two gammas, components `(weight, shape, rate, ln rate,
/// lnΓ(shape))`, from `x` inside the bracket [lo, hi] (hi may be +∞; `first` is (CDF − p,
/// density, its first and second derivatives) at `x` when the caller has them): Householder's
/// third-order method on the CDF (the density and its derivatives come with the CDF at no extra
/// cost), Halley's or Newton's where the higher-order corrections are large, with a bisection
/// (or a doubling while hi is unbounded) whenever a step leaves the bracket, which narrows at
/// every evaluation. Stops after a Householder step below 1e-4 relative (Halley 1e-6, Newton
/// 1e-8), where the error left is far below 1e-12, or when the bracket has collapsed.
fn mixture2_quantile(
    p: f64,
    c: &[(f64, f64, f64, f64, f64); 2],
    x0: f64,
    lo: f64,
    hi: f64,
    mut first: Option<[f64; 4]>,
) -> f64 {
    let (mut x, mut lo, mut hi) = (x0, lo, hi);
    // The mixture density at the previous point (0: not known yet, full precision).
    let mut d_prev = first.map_or(0.0, |v| v[1]);
    for _ in 0..400 {
        let [f, d, d1, d2] = first.take().unwrap_or_else(|| {
            let (lx, inv_x) = (x.ln(), 1.0 / x);
            // An error δ in a component's CDF moves the root by w·δ/F′: a quarter of
            // 1e-16·x·F′/w (F′ as at the previous point, which changes little) is all the
            // precision the result can use (a tail CDF far below 1e-16 needs few terms).
            let tol = 0.25e-16 * x * d_prev;
            let (mut f, mut d, mut d1, mut d2) = (-p, 0.0, 0.0, 0.0);
            for &(w, a, b, lb, lg) in c {
                if w == 0.0 {
                    continue;
                }
                let y = b * x;
                // y^a e^(−y) / Γ(a): the CDF's front factor; front / x is the density.
                let front = (a * (lb + lx) - y - lg).exp();
                f += w * gamma_p_front_tol(a, y, front, tol / w);
                let g = w * front * inv_x;
                let t = (a - 1.0) * inv_x - b;
                d += g;
                d1 += g * t;
                d2 += g * (t * t - (a - 1.0) * inv_x * inv_x);
            }
            [f, d, d1, d2]
        });
        d_prev = d;
        if f == 0.0 {
            return x;
        }
        if f > 0.0 {
            hi = x;
        } else {
            lo = x;
        }
        // With u = f/d (Newton's step), r1 = u·d1/d and r2 = u²·d2/d: Householder's third-order
        // step u(1 − r1/2)/(1 − r1 + r2/6) while both corrections are moderate, else Halley's
        // u/(1 − r1/2) while its correction stays below ½, else Newton's u.
        let inv_d = 1.0 / d;
        let u = f * inv_d;
        let r1 = u * d1 * inv_d;
        let r2 = u * u * d2 * inv_d;
        let (step, stop) = if r1.abs() < 0.5 && r2.abs() < 1.0 {
            (
                u * (1.0 - 0.5 * r1) / (1.0 - r1 + r2 / 6.0),
                HOUSEHOLDER_STOP,
            )
        } else if r1 < 1.0 {
            (u / (1.0 - 0.5 * r1), HALLEY_STOP)
        } else {
            (u, NEWTON_STOP)
        };
        let next = x - step;
        if next > lo && next < hi {
            // After a step of relative size h the error is about K·h⁴ (Householder), K·h³
            // (Halley) or K·h² (Newton), K of order one for the shapes here.
            if step.abs() <= stop * x {
                return next;
            }
            x = next;
        } else if hi.is_finite() {
            if hi - lo <= 1e-15 * hi {
                return 0.5 * (lo + hi);
            }
            x = if lo > 0.0 {
                (lo * hi).sqrt()
            } else {
                0.5 * (lo + hi)
            };
        } else {
            x = 2.0 * x.max(f64::MIN_POSITIVE);
        }
    }
    x
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

    /// Scores of many cells. Identical (n, E) cells (common: E = n_i· n_·j / N repeats whenever
    /// the margins do) are computed once, the constants that depend on n only (lnΓ, ψ and the
    /// quantiles of each posterior component) once per distinct n, and large inputs are split
    /// over the available cores (`std::thread::scope`). Every score is [`score`](Self::score)'s,
    /// so the result does not depend on the split.
    ///
    /// On several threads, each distinct (n, E) point is owned by one thread (by a hash), which
    /// scores it; then every cell copies its point's score. Where points hardly repeat (checked on
    /// the first cells) each thread scores its own chunk of cells instead.
    pub fn score_all(&self, cells: &[(u64, f64)]) -> Vec<MgpsScore> {
        let threads = super::par::threads_for(cells.len(), PARALLEL_MIN_SCORE_CELLS);
        if threads > 1
            && let Some(maps) = self.score_distinct(cells, threads)
        {
            return super::par::map_with(
                cells,
                PARALLEL_MIN_COPY_CELLS,
                |_| (),
                |_, &(n, e)| {
                    let key = (n, e.to_bits());
                    maps[owner(key, threads)][&key]
                },
            );
        }
        super::par::map_with(
            cells,
            PARALLEL_MIN_SCORE_CELLS,
            ScoreCache::new,
            |cache, &(n, e)| cache.score(self, n, e),
        )
    }

    /// The scores of the distinct (n, E) points of `cells`, thread t of `threads` scoring the
    /// points it owns; `None` when fewer than a quarter of a thread's first `SEEN_TRIAL /
    /// threads` cells were repeats (the maps would cost more than they save).
    fn score_distinct(&self, cells: &[(u64, f64)], threads: usize) -> Option<Vec<ScoreMap>> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let give_up = AtomicBool::new(false);
        let trial = SEEN_TRIAL / threads;
        let give_up = &give_up;
        let work = move |t: usize| {
            let mut per_count = PerCounts::new(cells);
            let mut map = ScoreMap::default();
            // Room for a fifth of the owned cells: tables of reports repeat most points, and
            // a map far larger than its points costs page faults; it grows where needed.
            map.reserve((cells.len() / threads / 5).min(1 << 16));
            let (mut owned, mut hits) = (0usize, 0usize);
            for &(n, e) in cells {
                let key = (n, e.to_bits());
                if owner(key, threads) != t {
                    continue;
                }
                owned += 1;
                if owned == trial && hits < trial / 4 {
                    give_up.store(true, Ordering::Relaxed);
                }
                if owned % 1024 == 0 && give_up.load(Ordering::Relaxed) {
                    return None;
                }
                match map.entry(key) {
                    std::collections::hash_map::Entry::Occupied(_) => hits += 1,
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(self.score_with(&per_count.get(self, n), n, e));
                    }
                }
            }
            Some(map)
        };
        // Helpers for owners 1, 2, …; the calling thread is owner 0.
        let maps: Vec<Option<ScoreMap>> = std::thread::scope(|s| {
            let handles: Vec<_> = (1..threads).map(|t| s.spawn(move || work(t))).collect();
            let mut maps = vec![work(0)];
            maps.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a scoring thread panicked")),
            );
            maps
        });
        if give_up.load(Ordering::Relaxed) {
            return None;
        }
        maps.into_iter().collect()
    }

    /// All scores of one cell.
    pub fn score(&self, n: u64, e: f64) -> MgpsScore {
        self.score_with(&PerCount::new(self, n), n, e)
    }

    fn score_with(&self, pc: &PerCount, n: u64, e: f64) -> MgpsScore {
        let nf = n as f64;
        let (b1, b2) = (self.beta1 + e, self.beta2 + e);
        let (lb1, lb2) = (b1.ln(), b2.ln());
        // ln[(1−P)·NB₂(n)] − ln[P·NB₁(n)] (the n·ln E terms cancel).
        let l21 = pc.k21 + (self.alpha1 * lb1 - self.alpha2 * lb2) + nf * (lb1 - lb2);
        let qn = 1.0 / (1.0 + l21.exp());
        let el = qn * (pc.psi1 - lb1) + (1.0 - qn) * (pc.psi2 - lb2);
        let comps = [
            (qn, pc.a1, b1, lb1, pc.lg1),
            (1.0 - qn, pc.a2, b2, lb2, pc.lg2),
        ];
        let quantile = |j: usize| {
            // Start at the quantile of the heavier component, where its CDF is exactly
            // QUANTILES[j] and its density is known per n: only the lighter one is evaluated.
            let (h, l) = if comps[0].0 >= comps[1].0 {
                (0, 1)
            } else {
                (1, 0)
            };
            let (wh, ah, bh, lbh, _) = comps[h];
            let x = pc.q[h][j] / bh;
            let (wl, al, bl, lbl, lgl) = comps[l];
            // The lighter component moves the CDF at x by at most wl·max(p, 1 − p) = 0.95·wl,
            // and the density there is at least the heavier one's, so the Newton step from x is
            // at most 0.95·wl / gh: below 1e-14 relative, x is the answer to rounding.
            let gh = comps[h].0 * pc.front[h][j] / x;
            if wl <= NEGLIGIBLE_WEIGHT || 0.95 * wl <= 1e-14 * x * gh {
                return x;
            }
            // The mixture's quantile lies between its components' quantiles.
            let other = pc.q[l][j] / bl;
            let (lo, hi) = if x <= other { (x, other) } else { (other, x) };
            if lo == hi {
                return lo;
            }
            // Where the components are apart, the root sits where one of them has all or none
            // of its mass below it: P_l(x*) = (p − wh)/wl (p > wh, heavier one to the left) or
            // p/wl (p < wl, heavier one to the right), exact bounds on x* on that side. Start
            // there (Wilson–Hilferty) when it lies beyond the heavier component's quantile.
            let alt = if QUANTILES[j] > wh {
                wilson_hilferty((QUANTILES[j] - wh) / wl, al, bl).filter(|&v| v > x && v < hi)
            } else if QUANTILES[j] < wl {
                wilson_hilferty(QUANTILES[j] / wl, al, bl).filter(|&v| v < x && v > lo)
            } else {
                None
            };
            if let Some(start) = alt {
                return mixture2_quantile(QUANTILES[j], &comps, start, lo, hi, None);
            }
            let lx = pc.lnq[h][j] - lbh;
            let yl = bl * x;
            let front = (al * (lbl + lx) - yl - lgl).exp();
            // P_l is weighed by wl: an error δ in it moves the root by about wl·δ/gh, so
            // 1e-16·x·gh/wl is all the precision the quantile can use.
            let tol = 1e-16 * x * gh / wl;
            let f = wl * (gamma_p_front_tol(al, yl, front, tol) - QUANTILES[j]);
            let inv_x = 1.0 / x;
            let (gh, gl) = (wh * pc.front[h][j] * inv_x, wl * front * inv_x);
            let (th, tl) = ((ah - 1.0) * inv_x - bh, (al - 1.0) * inv_x - bl);
            let d = gh + gl;
            let d1 = gh * th + gl * tl;
            let inv_x2 = inv_x * inv_x;
            let d2 = gh * (th * th - (ah - 1.0) * inv_x2) + gl * (tl * tl - (al - 1.0) * inv_x2);
            mixture2_quantile(QUANTILES[j], &comps, x, lo, hi, Some([f, d, d1, d2]))
        };
        MgpsScore {
            qn,
            eblog2: el / std::f64::consts::LN_2,
            ebgm: el.exp(),
            eb05: quantile(0),
            eb95: quantile(1),
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
            if n_star == 1 {
                // Truncate at N ≥ 1: divide by 1 − NB(0) = −expm1(α ln(β/(β+E))), exact also
                // when α → 0.
                f1 -= (-(th.alpha1 * (lb1 - l1b)).exp_m1()).ln();
                f2 -= (-(th.alpha2 * (lb2 - l2b)).exp_m1()).ln();
            } else if n_star > 1 {
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
            // ln NB_k(n) without the truncation.
            let f1 = lg1[j] + a1 * lq1 + n * (le - l1b);
            let f2 = lg2[j] + a2 * lq2 + n * (le - l2b);
            let mut da1 = dg1[j] + lq1;
            let mut db1 = a1 / b1 - (a1 + n) / (b1 + e);
            let mut da2 = dg2[j] + lq2;
            let mut db2 = a2 / b2 - (a2 + n) / (b2 + e);
            // 1 / (1 − NB_k(0)): the truncation at N ≥ 1 divides each component by it.
            let (mut s1, mut s2) = (1.0, 1.0);
            if n_star == 1 {
                // t_k = NB_k(0) = (β_k/(β_k+E))^α_k; 1 − t_k through expm1, which keeps its
                // digits when α_k → 0 (t_k → 1).
                let (e1, e2) = ((a1 * lq1).exp_m1(), (a2 * lq2).exp_m1());
                let (t1, t2) = (1.0 + e1, 1.0 + e2);
                s1 = -1.0 / e1;
                s2 = -1.0 / e2;
                da1 += t1 * lq1 * s1;
                db1 += t1 * a1 * (1.0 / b1 - 1.0 / (b1 + e)) * s1;
                da2 += t2 * lq2 * s2;
                db2 += t2 * a2 * (1.0 / b2 - 1.0 / (b2 + e)) * s2;
            }
            // m = ln(P·NB₁/(1−t₁) + (1−P)·NB₂/(1−t₂)) and r₁ = the first term's share, with
            // one exp and one ln (the plain log-sum-exp where e^(f₁−f₂) could overflow).
            let diff = f1 - f2;
            let (m, r1) = if diff.abs() < 600.0 {
                let a = p * diff.exp() * s1;
                let b = (1.0 - p) * s2;
                (f2 + (a + b).ln(), a / (a + b))
            } else {
                let (x1, x2) = (lp + f1 + s1.ln(), lq + f2 + s2.ln());
                let m = log_add(x1, x2);
                (m, (x1 - m).exp())
            };
            let r2 = 1.0 - r1;
            total -= w * m;
            g[0] -= w * r1 * da1 * a1;
            g[1] -= w * r1 * db1 * b1;
            g[2] -= w * r2 * da2 * a2;
            g[3] -= w * r2 * db2 * b2;
            // ∂m/∂logit P = (e^(f₁−m) − e^(f₂−m))·P(1−P) = r₁ − P.
            g[4] -= w * (r1 - p);
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
    for (i, s) in options.starts.iter().enumerate() {
        s.validate()
            .map_err(|e| RiskError::invalid(format!("starts[{i}]"), e.to_string()))?;
    }
    // The search stays inside the bounds (α, β < param_limit): outside, −log L is +∞.
    let out_of_bounds = |th: &MgpsPrior| {
        [th.alpha1, th.beta1, th.alpha2, th.beta2]
            .iter()
            .any(|&v| v >= options.param_limit)
    };
    let run = |s: &MgpsPrior| {
        if options.n_star <= 1 {
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
                    if out_of_bounds(&th) {
                        return f64::INFINITY;
                    }
                    pts.neg_log_likelihood(&th, options.n_star)
                },
                &s.to_x(),
            )
        }
    };
    // The starts are independent searches: on large inputs they run on the available cores
    // (`std::thread::scope`), each exactly as it would alone, so the result does not depend on it.
    let threads = if pts.n.len() >= PARALLEL_MIN_FIT_POINTS {
        super::par::cores().min(options.starts.len())
    } else {
        1
    };
    let runs: Vec<_> = if threads <= 1 {
        options.starts.iter().map(run).collect()
    } else {
        let run = &run;
        let mut slots: Vec<Option<_>> = vec![None; options.starts.len()];
        std::thread::scope(|sc| {
            // Start i goes to thread i mod threads.
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    sc.spawn(move || {
                        options
                            .starts
                            .iter()
                            .enumerate()
                            .skip(t)
                            .step_by(threads)
                            .map(|(i, s)| (i, run(s)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                for (i, r) in h.join().expect("a fit thread panicked") {
                    slots[i] = Some(r);
                }
            }
        });
        slots
            .into_iter()
            .map(|r| r.expect("every start ran"))
            .collect()
    };
    let mut evaluations = 0;
    let mut results = Vec::with_capacity(runs.len());
    for r in runs {
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
                if out_of_bounds(&th) {
                    return f64::INFINITY;
                }
                // The same −log L as `neg_log_likelihood`, with fewer logarithms.
                pts.nll_grad(&th, options.n_star).0
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
        // Reported with the reference formula (`neg_log_likelihood`); the search used the
        // algebraically equal one of `nll_grad`, which rounds differently in the last digits.
        neg_log_likelihood: pts.neg_log_likelihood(&best.0, options.n_star),
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
