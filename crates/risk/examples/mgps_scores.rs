//! Profiling aid: MGPS posterior scores (EBGM, EB05, EB95) on the bench's synthetic table with a
//! fixed prior (no fit), e.g. under `valgrind --tool=callgrind`.
//!
//! `cargo run --release -p risk --example mgps_scores -- [CELLS]` (default 1,000,000);
//! `MGPS_DATA=caers` uses openEBGM's CAERS pairs instead, with the prior the bench fits on them.

use risk::rng::Xoshiro256;
use risk::signal::{Contingency, ExpectedMethod, MgpsPrior};

fn main() {
    let cells: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // The same generator as benches/signals.rs.
    let mut rng = Xoshiro256::seed(20261126);
    let mut seen = std::collections::HashSet::with_capacity(1_000_000);
    let mut rows: Vec<(String, String, u64)> = Vec::with_capacity(1_000_000);
    while rows.len() < 1_000_000 {
        let p = ((rng.next_f64() * rng.next_f64()) * 20_000.0) as u32;
        let e = ((rng.next_f64() * rng.next_f64()) * 2_000.0) as u32;
        if seen.insert((p, e)) {
            let u = rng.next_f64();
            let n = 1 + (-(1.0 - u).ln() * if rng.next_f64() < 0.05 { 20.0 } else { 1.5 }) as u64;
            rows.push((format!("P{p:05}"), format!("H{e:04}"), n));
        }
    }
    let caers = std::env::var("MGPS_DATA").is_ok_and(|v| v == "caers");
    let text;
    let recs: Vec<Vec<String>>;
    let table = if caers {
        // openEBGM's CAERS data as summed pairs (the bench's `caers_pairs`).
        text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference-data/risk/signal/openebgm_caers_input.csv"
        ))
        .expect("CAERS input");
        recs = risk::csv::records(&text)
            .skip(1)
            .map(|r| r.expect("parses").1)
            .collect();
        Contingency::from_counts(
            recs.iter()
                .map(|r| (r[1].as_str(), r[2].as_str(), "", 1u64)),
            ExpectedMethod::Unstratified,
        )
    } else {
        Contingency::from_counts(
            rows.iter()
                .map(|(p, e, n)| (p.as_str(), e.as_str(), "", *n)),
            ExpectedMethod::Unstratified,
        )
    }
    .expect("builds");
    let pts: Vec<(u64, f64)> = table
        .cells
        .iter()
        .take(cells)
        .map(|c| (c.table.a, c.expected))
        .collect();
    // The prior the bench fits on this table (boundary: shapes near 0).
    let prior = if caers {
        // The prior the bench fits on `caers_pairs`.
        MgpsPrior {
            alpha1: 1.1563154199924837,
            beta1: 0.28693283505143363,
            alpha2: 4.575639662423691,
            beta2: 5.860722691324166,
            p: 0.16139380630494682,
        }
    } else {
        MgpsPrior {
            alpha1: 1.1219366292006548e-15,
            beta1: 0.0029614841547492186,
            alpha2: 1.0560106445267082e-7,
            beta2: 0.06256622024545731,
            p: 0.16254533271959629,
        }
    };
    let t = std::time::Instant::now();
    let s = prior.score_all(&pts);
    let d = t.elapsed();
    // Against the one-cell reference path (`ebgm`, `quantile`: the general mixture quantile).
    let mut worst = [0.0f64; 3];
    for (i, &(n, e)) in pts.iter().enumerate().step_by(37) {
        let (qn, _, ebgm) = prior.ebgm(n, e);
        let r = [
            ebgm,
            prior.quantile(n, e, qn, 0.05),
            prior.quantile(n, e, qn, 0.95),
        ];
        let got = [s[i].ebgm, s[i].eb05, s[i].eb95];
        for k in 0..3 {
            worst[k] = worst[k].max((got[k] - r[k]).abs() / r[k].abs());
        }
    }
    println!(
        "max relative difference to the reference path (EBGM, EB05, EB95): {:.1e} {:.1e} {:.1e}",
        worst[0], worst[1], worst[2]
    );
    let sum: f64 = s.iter().map(|x| x.eb05 + x.eb95 + x.ebgm).sum();
    println!(
        "{} cells: {:.4} s ({:.0} ns/cell), checksum {sum:.12e}",
        pts.len(),
        d.as_secs_f64(),
        d.as_nanos() as f64 / pts.len() as f64
    );
}
