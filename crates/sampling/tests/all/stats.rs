//! Intervals, stratified estimates, SAMR batch ratios and the grouped rollup.

use std::collections::BTreeMap;

use sampling::stats::{self, GroupBy, InspectionRecord, Outcome, StratumSample, Window};

use crate::{close, f, read, u};

const REL: f64 = 1e-9;

#[test]
fn binomial_intervals_all_45_rows_6_bounds() {
    let rows = read("binomial_ci.csv");
    let mut values = 0;
    for r in &rows {
        let (x, n, conf) = (u(r, "x"), u(r, "n"), f(r, "conf"));
        let what = format!("x={x} n={n} conf={conf}");
        let cp = stats::clopper_pearson(x, n, conf).unwrap();
        close(cp.lo, f(r, "cp_lo"), REL, &format!("cp_lo {what}"));
        close(cp.hi, f(r, "cp_hi"), REL, &format!("cp_hi {what}"));
        let w = stats::wilson(x, n, conf, false).unwrap();
        close(w.lo, f(r, "wilson_lo"), REL, &format!("wilson_lo {what}"));
        close(w.hi, f(r, "wilson_hi"), REL, &format!("wilson_hi {what}"));
        let wc = stats::wilson(x, n, conf, true).unwrap();
        close(
            wc.lo,
            f(r, "wilson_cc_lo"),
            REL,
            &format!("wilson_cc_lo {what}"),
        );
        close(
            wc.hi,
            f(r, "wilson_cc_hi"),
            REL,
            &format!("wilson_cc_hi {what}"),
        );
        values += 6;
    }
    assert_eq!(values, 45 * 6);
}

#[test]
fn stratified_estimates_all_3_designs() {
    let inputs = read("stratified_inputs.csv");
    let mut cases: BTreeMap<String, Vec<StratumSample>> = BTreeMap::new();
    for r in &inputs {
        cases
            .entry(r["case"].clone())
            .or_default()
            .push(StratumSample {
                population: u(r, "N_h"),
                sampled: u(r, "n_h"),
                positive: u(r, "x_h"),
            });
        // per-stratum variance term W_h^2 (1 - n_h/N_h) p_h (1 - p_h) / (n_h - 1)
        let (nh, big) = (f(r, "n_h"), f(r, "N_h"));
        let (w, p) = (f(r, "W_h"), f(r, "p_h"));
        close(f(r, "x_h") / nh, p, REL, "p_h");
        close(
            w * w * (1.0 - nh / big) * p * (1.0 - p) / (nh - 1.0),
            f(r, "var_term"),
            1e-8,
            "var_term",
        );
    }
    let est = read("stratified_estimates.csv");
    assert_eq!(est.len(), 3);
    for r in &est {
        let case = &r["case"];
        let e = stats::stratified(&cases[case], 0.95).unwrap();
        close(e.p_unweighted, f(r, "p_unweighted"), REL, case);
        close(e.p, f(r, "p_stratified"), REL, case);
        close(e.se_with_fpc, f(r, "se_with_fpc"), REL, case);
        close(e.se_without_fpc, f(r, "se_without_fpc"), REL, case);
        assert_eq!(e.df, u(r, "df"));
        close(
            e.ci_beta.lo,
            f(r, "ci95_beta_lo"),
            1e-7,
            &format!("{case} beta lo"),
        );
        close(
            e.ci_beta.hi,
            f(r, "ci95_beta_hi"),
            1e-7,
            &format!("{case} beta hi"),
        );
        close(
            e.ci_logit.lo,
            f(r, "ci95_logit_lo"),
            1e-7,
            &format!("{case} logit lo"),
        );
        close(
            e.ci_logit.hi,
            f(r, "ci95_logit_hi"),
            1e-7,
            &format!("{case} logit hi"),
        );
    }
}

/// SAMR published figures: the recomputed rate with the denominator the source used.
#[test]
fn samr_batch_ratio_published_rows() {
    let rows = read("samr_national_supervision_summary.csv");
    let mut checked = 0;
    for r in &rows {
        if r["batches_nonconforming"].is_empty() {
            continue;
        }
        let nc = u(r, "batches_nonconforming");
        // "5594 (5573 tested)" carries both denominators.
        let b = &r["batches_sampled"];
        let (sampled, tested) = match b.split_once(" (") {
            Some((s, t)) => (
                s.parse::<u64>().unwrap(),
                t.trim_end_matches(" tested)").parse::<u64>().unwrap(),
            ),
            None => (b.parse().unwrap(), b.parse().unwrap()),
        };
        let br = stats::batch_ratio(nc, sampled, tested).unwrap();
        let check = f(r, "check_rate_percent");
        // check_rate_percent is printed to 3 decimals from the tested denominator.
        assert!(
            (br.ratio_tested * 100.0 - check).abs() < 0.0005,
            "{}",
            r["year"]
        );
        assert!((br.ratio_tested * 100.0 - f(r, "published_rate_percent")).abs() < 0.05);
        assert!(br.ratio_sampled <= br.ratio_tested);
        checked += 1;
    }
    assert_eq!(checked, 3);
}

fn rec(
    cat: &str,
    region: &str,
    size: &str,
    date: &str,
    outcome: Outcome,
    items: u32,
    nc: u32,
) -> InspectionRecord {
    InspectionRecord {
        category: cat.into(),
        region: region.into(),
        enterprise_size: size.into(),
        date: date.into(),
        outcome,
        items_tested: items,
        nonconformities: nc,
    }
}

/// Rollup against a naive count written plainly here, plus the intervals.
#[test]
fn rollup_matches_naive_counts() {
    let mut recs = Vec::new();
    let cats = ["food", "toys", "electrical"];
    let regions = ["310000", "440000"];
    for i in 0..600u32 {
        let outcome = match i % 17 {
            0 | 5 => Outcome::Fail,
            3 => Outcome::NotTested,
            _ => Outcome::Pass,
        };
        let month = 1 + (i % 12);
        recs.push(rec(
            cats[(i % 3) as usize],
            regions[(i % 2) as usize],
            if i % 5 == 0 { "large" } else { "small" },
            &format!("2024-{month:02}-15"),
            outcome,
            10,
            if outcome == Outcome::Fail {
                1 + i % 3
            } else {
                0
            },
        ));
    }
    let window = Window {
        from: Some("2024-01-01".into()),
        to: Some("2024-07-01".into()),
    };
    let got = stats::rollup(
        recs.iter().map(|r| r.as_ref()),
        &[GroupBy::Category, GroupBy::Quarter],
        &window,
    )
    .unwrap();
    let mut naive: BTreeMap<(String, String), (u64, u64, u64, u64)> = BTreeMap::new();
    for r in &recs {
        if r.date.as_str() < "2024-01-01" || r.date.as_str() >= "2024-07-01" {
            continue;
        }
        let m: u32 = r.date[5..7].parse().unwrap();
        let q = format!("{}-Q{}", &r.date[..4], (m - 1) / 3 + 1);
        let e = naive.entry((r.category.clone(), q)).or_default();
        e.0 += 1;
        if r.outcome != Outcome::NotTested {
            e.1 += 1;
        }
        if r.outcome == Outcome::Pass {
            e.2 += 1;
        }
        e.3 += u64::from(r.nonconformities);
    }
    assert_eq!(got.len(), naive.len());
    for g in &got {
        let (s, t, p, nc) = naive[&(g.key[0].clone(), g.key[1].clone())];
        assert_eq!(
            (
                g.batches_sampled,
                g.batches_tested,
                g.batches_passed,
                g.nonconformities
            ),
            (s, t, p, nc)
        );
        assert_eq!(g.batches_failed, t - p);
        assert_eq!(g.pass_rate, p as f64 / t as f64);
        assert_eq!(g.nonconforming_ratio_sampled, (t - p) as f64 / s as f64);
        assert_eq!(g.nonconforming_ratio_tested, (t - p) as f64 / t as f64);
        let w = stats::wilson(p, t, 0.95, false).unwrap();
        assert_eq!(g.pass_wilson_95, w);
        assert!(
            g.pass_clopper_pearson_95.lo <= g.pass_rate
                && g.pass_rate <= g.pass_clopper_pearson_95.hi
        );
    }
    assert!(
        GroupBy::parse("colour")
            .unwrap_err()
            .to_string()
            .starts_with("group_by")
    );
}

#[test]
fn records_csv_import_names_the_line() {
    let ok = "category,region,enterprise_size,date,outcome,items_tested,nonconformities\n\
              food,310000,small,2024-02-01,pass,12,0\n\
              food,310000,small,2024-02-03,fail,12,2\n";
    let recs = sampling::import::records_from_csv(ok.as_bytes()).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].outcome, Outcome::Fail);
    let bad = "category,region,enterprise_size,date,outcome,items_tested,nonconformities\n\
               food,310000,small,2024-02-01,maybe,12,0\n";
    let e = sampling::import::records_from_csv(bad.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("records line 2"), "{e}");
}
