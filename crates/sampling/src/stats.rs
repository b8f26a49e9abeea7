//! Pass-rate statistics of inspection results: grouped pass and nonconformity rates, Wilson and
//! Clopper-Pearson intervals, stratified estimates with finite-population correction, and the
//! batch ratio that SAMR reports (nonconforming batches / batches) with both denominators.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};
use statrs::function::beta::beta_reg;

use crate::error::PlanError;

// ----- intervals -----

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

fn check_conf(conf: f64) -> Result<(), PlanError> {
    if conf > 0.0 && conf < 1.0 {
        Ok(())
    } else {
        Err(PlanError::Invalid {
            field: "confidence",
            rule: "strictly between 0 and 1",
        })
    }
}

fn check_xn(x: u64, n: u64) -> Result<(), PlanError> {
    if n == 0 || x > n {
        Err(PlanError::Invalid {
            field: "x",
            rule: "0 <= x <= n with n >= 1",
        })
    } else {
        Ok(())
    }
}

fn z_quantile(q: f64) -> f64 {
    // Normal(0, 1) is always constructible.
    Normal::new(0.0, 1.0)
        .map(|d| d.inverse_cdf(q))
        .unwrap_or(f64::NAN)
}

/// Inverse of the regularized incomplete beta function I_x(a, b) in x, by bisection to the
/// last representable digit.
pub fn beta_quantile(q: f64, a: f64, b: f64) -> f64 {
    if q <= 0.0 {
        return 0.0;
    }
    if q >= 1.0 {
        return 1.0;
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..2000 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if beta_reg(a, b, mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Student t quantile (df > 0) through the incomplete beta function.
pub fn t_quantile(q: f64, df: f64) -> f64 {
    if q == 0.5 {
        return 0.0;
    }
    if q < 0.5 {
        return -t_quantile(1.0 - q, df);
    }
    // upper tail: P(T > t) = 0.5 * I_{df/(df+t^2)}(df/2, 1/2) = 1 - q
    let x = beta_quantile(2.0 * (1.0 - q), df / 2.0, 0.5);
    (df * (1.0 - x) / x).sqrt()
}

/// Clopper-Pearson ("exact") interval for x successes of n.
pub fn clopper_pearson(x: u64, n: u64, conf: f64) -> Result<Interval, PlanError> {
    check_xn(x, n)?;
    check_conf(conf)?;
    let a = (1.0 - conf) / 2.0;
    let lo = if x == 0 {
        0.0
    } else {
        beta_quantile(a, x as f64, (n - x + 1) as f64)
    };
    let hi = if x == n {
        1.0
    } else {
        beta_quantile(1.0 - a, (x + 1) as f64, (n - x) as f64)
    };
    Ok(Interval { lo, hi })
}

/// Wilson score interval, optionally with continuity correction (as R's `prop.test`).
pub fn wilson(x: u64, n: u64, conf: f64, continuity: bool) -> Result<Interval, PlanError> {
    check_xn(x, n)?;
    check_conf(conf)?;
    let nf = n as f64;
    let est = x as f64 / nf;
    let z = z_quantile((1.0 + conf) / 2.0);
    let yates = if continuity {
        0.5f64.min((x as f64 - nf * 0.5).abs())
    } else {
        0.0
    };
    let z22n = z * z / (2.0 * nf);
    let bound = |pc: f64, sign: f64| {
        (pc + z22n + sign * z * (pc * (1.0 - pc) / nf + z22n / (2.0 * nf)).sqrt())
            / (1.0 + 2.0 * z22n)
    };
    let pc_hi = est + yates / nf;
    let hi = if pc_hi >= 1.0 { 1.0 } else { bound(pc_hi, 1.0) };
    let pc_lo = est - yates / nf;
    let lo = if pc_lo <= 0.0 {
        0.0
    } else {
        bound(pc_lo, -1.0)
    };
    Ok(Interval {
        lo: lo.max(0.0),
        hi: hi.min(1.0),
    })
}

// ----- stratified estimates -----

/// One stratum of a stratified design: population size, sample size, units with the attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StratumSample {
    pub population: u64,
    pub sampled: u64,
    pub positive: u64,
}

/// Stratified estimate of a proportion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StratifiedEstimate {
    pub p_unweighted: f64,
    pub p: f64,
    pub se_with_fpc: f64,
    pub se_without_fpc: f64,
    /// Degrees of freedom: sampled units minus strata.
    pub df: u64,
    /// Clopper-Pearson on the effective sample size (R survey `svyciprop(method = "beta")`).
    pub ci_beta: Interval,
    /// Logit interval with t quantiles (R survey `svyciprop(method = "logit")`).
    pub ci_logit: Interval,
}

/// Stratified proportion with finite-population correction:
/// p = sum W_h p_h, Var = sum W_h^2 (1 - n_h/N_h) p_h (1 - p_h) / (n_h - 1).
pub fn stratified(strata: &[StratumSample], conf: f64) -> Result<StratifiedEstimate, PlanError> {
    check_conf(conf)?;
    if strata.is_empty() || strata.len() > 100_000 {
        return Err(PlanError::Invalid {
            field: "strata",
            rule: "1 to 100000 strata",
        });
    }
    let mut big_n = 0u64;
    let mut n = 0u64;
    let mut x = 0u64;
    for s in strata {
        if s.sampled < 2 || s.sampled > s.population || s.positive > s.sampled {
            return Err(PlanError::Invalid {
                field: "strata",
                rule: "2 <= sampled <= population and positive <= sampled in every stratum",
            });
        }
        big_n += s.population;
        n += s.sampled;
        x += s.positive;
    }
    let mut p = 0.0;
    let mut var = 0.0;
    let mut var_nofpc = 0.0;
    for s in strata {
        let w = s.population as f64 / big_n as f64;
        let ph = s.positive as f64 / s.sampled as f64;
        let nh = s.sampled as f64;
        p += w * ph;
        let v = w * w * ph * (1.0 - ph) / (nh - 1.0);
        var += v * (1.0 - nh / s.population as f64);
        var_nofpc += v;
    }
    let df = n - strata.len() as u64;
    let alpha = 1.0 - conf;
    let se = var.sqrt();
    let ci_beta = if var > 0.0 && df > 0 {
        let mut n_eff = p * (1.0 - p) / var;
        let ratio = t_quantile(alpha / 2.0, (n - 1) as f64) / t_quantile(alpha / 2.0, df as f64);
        n_eff *= ratio * ratio;
        Interval {
            lo: beta_quantile(alpha / 2.0, n_eff * p, n_eff * (1.0 - p) + 1.0),
            hi: beta_quantile(1.0 - alpha / 2.0, n_eff * p + 1.0, n_eff * (1.0 - p)),
        }
    } else {
        Interval { lo: p, hi: p }
    };
    let ci_logit = if p > 0.0 && p < 1.0 && df > 0 {
        let l = (p / (1.0 - p)).ln();
        let se_l = se / (p * (1.0 - p));
        let t = t_quantile(1.0 - alpha / 2.0, df as f64);
        let expit = |v: f64| 1.0 / (1.0 + (-v).exp());
        Interval {
            lo: expit(l - t * se_l),
            hi: expit(l + t * se_l),
        }
    } else {
        Interval { lo: p, hi: p }
    };
    Ok(StratifiedEstimate {
        p_unweighted: x as f64 / n as f64,
        p,
        se_with_fpc: se,
        se_without_fpc: var_nofpc.sqrt(),
        df,
        ci_beta,
        ci_logit,
    })
}

// ----- SAMR batch ratio -----

/// Nonconforming batches over batches, with both denominators SAMR publications use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BatchRatio {
    pub nonconforming: u64,
    pub sampled: u64,
    pub tested: u64,
    /// nonconforming / sampled
    pub ratio_sampled: f64,
    /// nonconforming / tested (batches with a result)
    pub ratio_tested: f64,
}

pub fn batch_ratio(nonconforming: u64, sampled: u64, tested: u64) -> Result<BatchRatio, PlanError> {
    if sampled == 0 || tested == 0 || tested > sampled || nonconforming > tested {
        return Err(PlanError::Invalid {
            field: "batches",
            rule: "nonconforming <= tested <= sampled, tested >= 1",
        });
    }
    Ok(BatchRatio {
        nonconforming,
        sampled,
        tested,
        ratio_sampled: nonconforming as f64 / sampled as f64,
        ratio_tested: nonconforming as f64 / tested as f64,
    })
}

// ----- grouped rollup -----

/// Result of inspecting one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    /// Sampled but no result (sample lost, enterprise closed, test not done).
    NotTested,
}

/// One inspection record, owned (CSV / JSON form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectionRecord {
    pub category: String,
    pub region: String,
    pub enterprise_size: String,
    /// ISO date `YYYY-MM-DD`.
    pub date: String,
    pub outcome: Outcome,
    #[serde(default)]
    pub items_tested: u32,
    #[serde(default)]
    pub nonconformities: u32,
}

/// A borrowed view of a record: what `rollup` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub category: &'a str,
    pub region: &'a str,
    pub enterprise_size: &'a str,
    pub date: &'a str,
    pub outcome: Outcome,
    pub items_tested: u32,
    pub nonconformities: u32,
}

impl InspectionRecord {
    pub fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            category: &self.category,
            region: &self.region,
            enterprise_size: &self.enterprise_size,
            date: &self.date,
            outcome: self.outcome,
            items_tested: self.items_tested,
            nonconformities: self.nonconformities,
        }
    }
}

/// What to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Category,
    Region,
    Size,
    Year,
    Quarter,
    Month,
}

impl GroupBy {
    pub fn parse(s: &str) -> Result<GroupBy, PlanError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "category" | "product_category" => Ok(GroupBy::Category),
            "region" => Ok(GroupBy::Region),
            "size" | "enterprise_size" => Ok(GroupBy::Size),
            "year" => Ok(GroupBy::Year),
            "quarter" => Ok(GroupBy::Quarter),
            "month" | "period" => Ok(GroupBy::Month),
            _ => Err(PlanError::Invalid {
                field: "group_by",
                rule: "category, region, size, year, quarter or month",
            }),
        }
    }
}

/// Date window `[from, to)` on ISO dates (string comparison).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Counts and rates of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStats {
    pub key: Vec<String>,
    pub batches_sampled: u64,
    pub batches_tested: u64,
    pub batches_passed: u64,
    pub batches_failed: u64,
    /// passed / tested
    pub pass_rate: f64,
    pub pass_wilson_95: Interval,
    pub pass_clopper_pearson_95: Interval,
    /// failed / sampled and failed / tested (SAMR batch ratio, both denominators)
    pub nonconforming_ratio_sampled: f64,
    pub nonconforming_ratio_tested: f64,
    pub items_tested: u64,
    pub nonconformities: u64,
    /// nonconformities / items tested
    pub nonconformity_rate: f64,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    sampled: u64,
    tested: u64,
    passed: u64,
    items: u64,
    nonconf: u64,
}

const QUARTERS: [&str; 4] = ["Q1", "Q2", "Q3", "Q4"];

/// A group key: up to 8 string parts. Hashed with the default (DoS-resistant) hasher, but in
/// one `write` of a length-prefixed concatenation instead of 17 small writes.
#[derive(Clone, Copy, PartialOrd, Ord)]
struct Key<'a>([&'a str; 8]);

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        // Lengths first, then pointers: unused parts are empty and equal parts often share
        // storage. (Measured: `memcmp` of empty slices dominated the rollup on this machine.)
        self.0.iter().zip(&other.0).all(|(a, b)| {
            a.len() == b.len() && (a.is_empty() || a.as_ptr() == b.as_ptr() || a == b)
        })
    }
}

impl Eq for Key<'_> {}

impl std::hash::Hash for Key<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut buf = [0u8; 256];
        let mut n = 0;
        for part in &self.0 {
            let b = part.as_bytes();
            if n + 4 + b.len() > buf.len() {
                // Long keys: hash part by part.
                for p in &self.0 {
                    p.hash(state);
                }
                return;
            }
            buf[n..n + 4].copy_from_slice(&(b.len() as u32).to_le_bytes());
            buf[n + 4..n + 4 + b.len()].copy_from_slice(b);
            n += 4 + b.len();
        }
        state.write(&buf[..n]);
    }
}

fn key_of<'a>(r: &RecordRef<'a>, by: &[GroupBy]) -> Key<'a> {
    let mut k = [""; 8];
    let mut i = 0;
    for g in by.iter().take(4) {
        match g {
            GroupBy::Category => k[i] = r.category,
            GroupBy::Region => k[i] = r.region,
            GroupBy::Size => k[i] = r.enterprise_size,
            GroupBy::Year => k[i] = r.date.get(..4).unwrap_or(""),
            GroupBy::Month => k[i] = r.date.get(..7).unwrap_or(""),
            GroupBy::Quarter => {
                k[i] = r.date.get(..4).unwrap_or("");
                let m: usize = r.date.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(0);
                i += 1;
                k[i] = if (1..=12).contains(&m) {
                    QUARTERS[(m - 1) / 3]
                } else {
                    ""
                };
            }
        }
        i += 1;
    }
    Key(k)
}

fn key_strings(k: &Key<'_>, by: &[GroupBy]) -> Vec<String> {
    let k = &k.0;
    let mut out = Vec::new();
    let mut i = 0;
    for g in by.iter().take(4) {
        if *g == GroupBy::Quarter {
            out.push(format!("{}-{}", k[i], k[i + 1]));
            i += 2;
        } else {
            out.push(k[i].to_string());
            i += 1;
        }
    }
    out
}

/// Limit on the number of groups (outside input decides the keys).
pub const GROUPS_MAX: usize = 1_000_000;

/// Group records and compute rates. Groups come out sorted by key.
pub fn rollup<'a, I>(
    records: I,
    by: &[GroupBy],
    window: &Window,
) -> Result<Vec<GroupStats>, PlanError>
where
    I: IntoIterator<Item = RecordRef<'a>>,
{
    if by.len() > 4 {
        return Err(PlanError::Invalid {
            field: "group_by",
            rule: "at most 4 keys",
        });
    }
    let mut map: HashMap<Key<'a>, Counts> = HashMap::new();
    for r in records {
        if let Some(f) = &window.from
            && r.date < f.as_str()
        {
            continue;
        }
        if let Some(t) = &window.to
            && r.date >= t.as_str()
        {
            continue;
        }
        let k = key_of(&r, by);
        let len = map.len();
        let c = match map.get_mut(&k) {
            Some(c) => c,
            None => {
                if len >= GROUPS_MAX {
                    return Err(PlanError::Invalid {
                        field: "group_by",
                        rule: "at most 1,000,000 groups",
                    });
                }
                map.entry(k).or_default()
            }
        };
        c.sampled += 1;
        match r.outcome {
            Outcome::Pass => {
                c.tested += 1;
                c.passed += 1;
            }
            Outcome::Fail => c.tested += 1,
            Outcome::NotTested => {}
        }
        c.items += u64::from(r.items_tested);
        c.nonconf += u64::from(r.nonconformities);
    }
    let mut keys: Vec<(Key<'a>, Counts)> = map.into_iter().collect();
    keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    keys.into_iter()
        .map(|(k, c)| group_stats(key_strings(&k, by), c))
        .collect()
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

fn group_stats(key: Vec<String>, c: Counts) -> Result<GroupStats, PlanError> {
    let failed = c.tested - c.passed;
    let (w, cp) = if c.tested > 0 {
        (
            wilson(c.passed, c.tested, 0.95, false)?,
            clopper_pearson(c.passed, c.tested, 0.95)?,
        )
    } else {
        let nan = Interval {
            lo: f64::NAN,
            hi: f64::NAN,
        };
        (nan, nan)
    };
    Ok(GroupStats {
        key,
        batches_sampled: c.sampled,
        batches_tested: c.tested,
        batches_passed: c.passed,
        batches_failed: failed,
        pass_rate: ratio(c.passed, c.tested),
        pass_wilson_95: w,
        pass_clopper_pearson_95: cp,
        nonconforming_ratio_sampled: ratio(failed, c.sampled),
        nonconforming_ratio_tested: ratio(failed, c.tested),
        items_tested: c.items,
        nonconformities: c.nonconf,
        nonconformity_rate: ratio(c.nonconf, c.items),
    })
}
