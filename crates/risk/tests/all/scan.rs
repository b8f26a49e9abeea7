//! The Poisson scan statistic against scan_statistic_reference.json.

use risk::warning::scan::{Region, ScanOptions, poisson_llr, scan};
use serde_json::Value;

use crate::common::{assert_close, read};

fn reference() -> Value {
    serde_json::from_str(&read("surveillance/scan_statistic_reference.json")).unwrap()
}

#[test]
fn single_window_llr_every_row() {
    let r = reference();
    let rows = r["single_window"].as_array().unwrap();
    for w in rows {
        let got = poisson_llr(
            w["c"].as_f64().unwrap(),
            w["e"].as_f64().unwrap(),
            w["C"].as_f64().unwrap(),
        );
        assert_close(&format!("{w}"), got, w["llr"].as_f64().unwrap(), 1e-12);
    }
    assert_eq!(rows.len(), 8);
}

type Grid = Vec<Vec<f64>>;

fn temporal() -> (Vec<Region>, Grid, Grid, usize) {
    let r = reference();
    let ex = &r["temporal_example"];
    let counts: Vec<f64> = ex["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let base: Vec<f64> = ex["baseline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let regions = vec![Region {
        id: "all".into(),
        x: 0.0,
        y: 0.0,
    }];
    (
        regions,
        vec![counts],
        vec![base],
        ex["max_window"].as_u64().unwrap() as usize,
    )
}

#[test]
fn temporal_example_most_likely_cluster_and_top5() {
    let r = reference();
    let ex = &r["temporal_example"];
    let (regions, counts, base, max_window) = temporal();
    let o = ScanOptions {
        max_window,
        replicates: 0,
        ..ScanOptions::default()
    };
    let res = scan(
        &regions,
        &counts,
        &base,
        &ScanOptions {
            max_population_fraction: 1.0,
            ..o
        },
        5,
    )
    .unwrap();
    let ml = res.most_likely.unwrap();
    let want = &ex["most_likely_cluster"];
    assert_eq!(ml.start as u64, want["start_index0"].as_u64().unwrap());
    assert_eq!(ml.length as u64, want["length"].as_u64().unwrap());
    assert_eq!(ml.observed, want["observed"].as_f64().unwrap());
    assert_close(
        "expected",
        ml.expected,
        want["expected"].as_f64().unwrap(),
        1e-12,
    );
    assert_close("llr", ml.llr, want["llr"].as_f64().unwrap(), 1e-12);
    assert_close(
        "rr",
        ml.relative_risk,
        want["relative_risk_inside"].as_f64().unwrap(),
        1e-12,
    );
    let top = ex["top5_windows"].as_array().unwrap();
    assert_eq!(res.top.len(), 5);
    for (got, want) in res.top.iter().zip(top) {
        assert_eq!(got.start as u64, want["start_index0"].as_u64().unwrap());
        assert_eq!(got.length as u64, want["length"].as_u64().unwrap());
        assert_close("top llr", got.llr, want["llr"].as_f64().unwrap(), 1e-12);
    }
}

#[test]
fn monte_carlo_p_value_is_reproducible_from_the_seed() {
    let (regions, counts, base, max_window) = temporal();
    let o = ScanOptions {
        max_window,
        replicates: 199,
        seed: 42,
        max_population_fraction: 1.0,
        prospective: false,
    };
    let a = scan(&regions, &counts, &base, &o, 1).unwrap();
    let b = scan(&regions, &counts, &base, &o, 1).unwrap();
    assert_eq!(a.p_value, b.p_value);
    // 28 cases in 3 weeks against 10 expected is extreme: no replicate reaches it.
    assert_eq!(a.p_value, Some(1.0 / 200.0));
}

#[test]
fn space_time_cluster_is_found_in_the_right_regions() {
    // 5 × 5 grid, 20 weeks, uniform baseline; an outbreak in the 4 regions around (4,4), weeks 15-17.
    let mut regions = Vec::new();
    for i in 0..5 {
        for j in 0..5 {
            regions.push(Region {
                id: format!("r{i}{j}"),
                x: i as f64,
                y: j as f64,
            });
        }
    }
    let weeks = 20;
    let mut counts = vec![vec![2.0; weeks]; 25];
    for (idx, reg) in regions.iter().enumerate() {
        if reg.x >= 3.0 && reg.y >= 3.0 {
            counts[idx][15..18].iter_mut().for_each(|c| *c = 12.0);
        }
    }
    let base = vec![vec![1.0; weeks]; 25];
    let o = ScanOptions {
        max_window: 6,
        replicates: 99,
        seed: 7,
        max_population_fraction: 0.5,
        prospective: false,
    };
    let res = scan(&regions, &counts, &base, &o, 3).unwrap();
    let ml = res.most_likely.unwrap();
    let mut inside: Vec<&str> = ml.regions.iter().map(|&i| regions[i].id.as_str()).collect();
    inside.sort_unstable();
    assert_eq!(inside, ["r33", "r34", "r43", "r44"]);
    assert_eq!((ml.start, ml.length), (15, 3));
    assert_eq!(res.p_value, Some(0.01));
}
