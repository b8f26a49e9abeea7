//! The Kulldorff Poisson scan statistic (Kulldorff 1997; space-time: Kulldorff et al. 1998,
//! Kulldorff 2001) for clusters of reports by region and time.
//!
//! Cells are (region, time) with observed counts c and a baseline (population or expected counts)
//! that is scaled so that expected counts sum to the total C. A cluster is a cylinder: a circle of
//! regions (a centre region and its nearest neighbours, up to `max_population_fraction` of the
//! baseline) times a time window. Its log-likelihood ratio for a raised rate inside is
//! c ln(c/e) + (C − c) ln((C − c)/(C − e)) when c > e, else 0. The most likely cluster maximises
//! it; its p-value is Monte Carlo: (1 + #{replicates whose maximum LLR ≥ observed}) / (R + 1),
//! with replicates drawn multinomially under the null from an explicit seed.

use serde::{Deserialize, Serialize};

use crate::RiskError;
use crate::limits::{MAX_REGIONS, MAX_REPLICATES};
use crate::rng::Xoshiro256;

/// The Poisson log-likelihood ratio of a window with `c` observed and `e` expected out of a total
/// of `total` cases (0 unless c > e).
pub fn poisson_llr(c: f64, e: f64, total: f64) -> f64 {
    if c <= e || e <= 0.0 {
        return 0.0;
    }
    let out = total - c;
    let out_e = total - e;
    let inside = c * (c / e).ln();
    let outside = if out > 0.0 {
        out * (out / out_e).ln()
    } else {
        0.0
    };
    inside + outside
}

/// A region with planar coordinates (projected, or longitude/latitude for small areas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Identifier.
    pub id: String,
    /// X coordinate.
    pub x: f64,
    /// Y coordinate.
    pub y: f64,
}

/// Scan options.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScanOptions {
    /// Largest share of the total baseline inside a circle (Kulldorff's default ½).
    pub max_population_fraction: f64,
    /// Longest time window, in time points.
    pub max_window: usize,
    /// Only windows ending at the last time point (prospective surveillance).
    pub prospective: bool,
    /// Monte Carlo replicates (999 is usual; 0 skips the p-value).
    pub replicates: usize,
    /// Seed of the Monte Carlo replicates.
    pub seed: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_population_fraction: 0.5,
            max_window: usize::MAX,
            prospective: false,
            replicates: 999,
            seed: 0,
        }
    }
}

/// A candidate cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// Regions inside (indices into the input), centre first.
    pub regions: Vec<usize>,
    /// First time point (0-based).
    pub start: usize,
    /// Number of time points.
    pub length: usize,
    /// Observed inside.
    pub observed: f64,
    /// Expected inside.
    pub expected: f64,
    /// Log-likelihood ratio.
    pub llr: f64,
    /// Relative risk inside vs outside: (c/e) / ((C − c)/(C − e)).
    pub relative_risk: f64,
}

/// The scan result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanResult {
    /// The most likely cluster (None when no window has an excess).
    pub most_likely: Option<Cluster>,
    /// Monte Carlo p-value of the most likely cluster (None if no replicates).
    pub p_value: Option<f64>,
    /// The best `top` windows, overlapping allowed, by LLR (ties: earlier start, then shorter).
    pub top: Vec<Cluster>,
}

struct Zones {
    /// Each zone: the ordered regions of a circle (a prefix of the centre's neighbour list).
    zones: Vec<Vec<usize>>,
}

fn zones(regions: &[Region], baseline_region: &[f64], max_frac: f64) -> Zones {
    let total: f64 = baseline_region.iter().sum();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (ci, c) in regions.iter().enumerate() {
        let mut order: Vec<usize> = (0..regions.len()).collect();
        order.sort_by(|&a, &b| {
            let da = (regions[a].x - c.x).powi(2) + (regions[a].y - c.y).powi(2);
            let db = (regions[b].x - c.x).powi(2) + (regions[b].y - c.y).powi(2);
            da.total_cmp(&db).then(a.cmp(&b))
        });
        debug_assert_eq!(order[0], ci);
        let mut acc = 0.0;
        for m in 1..=order.len() {
            acc += baseline_region[order[m - 1]];
            if m > 1 && acc > max_frac * total {
                break;
            }
            let mut key: Vec<usize> = order[..m].to_vec();
            key.sort_unstable();
            if seen.insert(key) {
                out.push(order[..m].to_vec());
            }
        }
    }
    Zones { zones: out }
}

/// Scans counts\[region\]\[time\] against baseline\[region\]\[time\] (population or expected; use
/// 1.0 everywhere for a uniform baseline). Returns the most likely cluster, its Monte Carlo
/// p-value and the `top` best windows.
pub fn scan(
    regions: &[Region],
    counts: &[Vec<f64>],
    baseline: &[Vec<f64>],
    options: &ScanOptions,
    top: usize,
) -> Result<ScanResult, RiskError> {
    let r = regions.len();
    if r == 0 {
        return Err(RiskError::invalid(
            "regions",
            "at least one region is required",
        ));
    }
    if r > MAX_REGIONS {
        return Err(RiskError::Limit {
            field: "regions".into(),
            limit: MAX_REGIONS,
            what: "regions",
        });
    }
    if options.replicates > MAX_REPLICATES {
        return Err(RiskError::Limit {
            field: "replicates".into(),
            limit: MAX_REPLICATES,
            what: "replicates",
        });
    }
    if counts.len() != r || baseline.len() != r {
        return Err(RiskError::invalid(
            "counts",
            "one row per region is required in counts and baseline",
        ));
    }
    let t = counts[0].len();
    for i in 0..r {
        if counts[i].len() != t || baseline[i].len() != t {
            return Err(RiskError::invalid(
                format!("counts[{i}]"),
                "every region needs the same number of time points",
            ));
        }
        if counts[i]
            .iter()
            .chain(&baseline[i])
            .any(|v| !v.is_finite() || *v < 0.0)
        {
            return Err(RiskError::invalid(
                format!("counts[{i}]"),
                "counts and baseline must be finite and non-negative",
            ));
        }
    }
    let total_c: f64 = counts.iter().flatten().sum();
    let total_b: f64 = baseline.iter().flatten().sum();
    if total_b <= 0.0 {
        return Err(RiskError::invalid("baseline", "must not be all zero"));
    }
    let expected: Vec<Vec<f64>> = baseline
        .iter()
        .map(|row| row.iter().map(|b| b * total_c / total_b).collect())
        .collect();
    let base_region: Vec<f64> = baseline.iter().map(|row| row.iter().sum()).collect();
    let z = zones(regions, &base_region, options.max_population_fraction);
    let max_w = options.max_window.min(t).max(1);

    let evaluate = |counts: &[Vec<f64>], total: f64, collect: Option<&mut Vec<Cluster>>| -> f64 {
        let mut best = 0.0;
        let mut found: Vec<Cluster> = Vec::new();
        let keep = collect.is_some();
        let mut zc = vec![0.0; t];
        let mut ze = vec![0.0; t];
        for zone in &z.zones {
            // Zones are prefixes of neighbour lists: rebuild sums (cheap relative to windows).
            zc.iter_mut().for_each(|v| *v = 0.0);
            ze.iter_mut().for_each(|v| *v = 0.0);
            for &reg in zone {
                for k in 0..t {
                    zc[k] += counts[reg][k];
                    ze[k] += expected[reg][k];
                }
            }
            let exp_scale = if total_c > 0.0 { total / total_c } else { 0.0 };
            for end in 0..t {
                if options.prospective && end != t - 1 {
                    continue;
                }
                let mut c = 0.0;
                let mut e = 0.0;
                for len in 1..=max_w.min(end + 1) {
                    let start = end + 1 - len;
                    c += zc[start];
                    e += ze[start] * exp_scale;
                    let llr = poisson_llr(c, e, total);
                    if llr > best {
                        best = llr;
                    }
                    if keep && llr > 0.0 {
                        let out_rr = if total - c > 0.0 {
                            (total - c) / (total - e)
                        } else {
                            0.0
                        };
                        found.push(Cluster {
                            regions: zone.clone(),
                            start,
                            length: len,
                            observed: c,
                            expected: e,
                            llr,
                            relative_risk: if out_rr > 0.0 {
                                (c / e) / out_rr
                            } else {
                                f64::INFINITY
                            },
                        });
                    }
                }
            }
        }
        if let Some(v) = collect {
            *v = found;
        }
        best
    };

    let mut all = Vec::new();
    let observed_max = evaluate(counts, total_c, Some(&mut all));
    all.sort_by(|a, b| {
        b.llr
            .total_cmp(&a.llr)
            .then(a.start.cmp(&b.start))
            .then(a.length.cmp(&b.length))
            .then(a.regions.len().cmp(&b.regions.len()))
    });
    let most_likely = all.first().cloned();
    all.truncate(top);

    let p_value = if options.replicates > 0 && most_likely.is_some() {
        let mut rng = Xoshiro256::seed(options.seed);
        // Cumulative expected over cells for multinomial draws.
        let cells: Vec<(usize, usize)> = (0..r).flat_map(|i| (0..t).map(move |k| (i, k))).collect();
        let mut cum = Vec::with_capacity(cells.len());
        let mut acc = 0.0;
        for &(i, k) in &cells {
            acc += expected[i][k];
            cum.push(acc);
        }
        let n_cases = total_c.round() as u64;
        let mut at_least = 0usize;
        let mut sim = vec![vec![0.0; t]; r];
        for _ in 0..options.replicates {
            sim.iter_mut()
                .for_each(|row| row.iter_mut().for_each(|v| *v = 0.0));
            for _ in 0..n_cases {
                let u = rng.next_f64() * acc;
                let j = cum.partition_point(|&c| c <= u).min(cells.len() - 1);
                let (i, k) = cells[j];
                sim[i][k] += 1.0;
            }
            if evaluate(&sim, n_cases as f64, None) >= observed_max {
                at_least += 1;
            }
        }
        Some((1 + at_least) as f64 / (options.replicates + 1) as f64)
    } else {
        None
    };
    Ok(ScanResult {
        most_likely,
        p_value,
        top: all,
    })
}
