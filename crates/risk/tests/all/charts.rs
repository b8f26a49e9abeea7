//! CUSUM and EWMA: run lengths against spc 0.6.7 (spc_arl_reference.csv) and the charts against a
//! plain recursion.

use risk::warning::cusum::{CusumOptions, EwmaOptions, cusum, cusum_arl, ewma, ewma_arl};

use crate::common::{Table, assert_close, read};

#[test]
fn arl_against_spc_every_row() {
    let t = Table::parse(&read("surveillance/spc_arl_reference.csv"));
    let mut n = 0;
    for r in &t.rows {
        let want = t.f(r, "ARL");
        let got = match t.get(r, "chart") {
            "CUSUM_one_sided" => cusum_arl(t.f(r, "k"), t.f(r, "h"), t.f(r, "mu"), 80),
            "EWMA_two_sided" => ewma_arl(t.f(r, "lambda"), t.f(r, "L"), t.f(r, "mu"), 120),
            other => panic!("unknown chart {other}"),
        };
        assert_close(&format!("{r:?}"), got, want, 1e-6);
        n += 1;
    }
    assert_eq!(n, 30);
}

#[test]
fn cusum_and_ewma_follow_their_recursions() {
    let xs = [10.0, 12.0, 9.0, 15.0, 16.0, 18.0, 11.0, 10.0];
    let o = CusumOptions {
        target: 10.0,
        sigma: 2.0,
        k: 0.5,
        h: 4.0,
        reset_after_alarm: false,
    };
    let out = cusum(&xs, &o).unwrap();
    let mut s = 0.0_f64;
    for (p, &x) in out.iter().zip(&xs) {
        s = (s + (x - 10.0) / 2.0 - 0.5).max(0.0);
        assert_eq!(p.statistic, s);
        assert_eq!(p.alarm, s > 4.0);
    }
    assert!(out.iter().any(|p| p.alarm));
    let e = ewma(
        &xs,
        &EwmaOptions {
            target: 10.0,
            sigma: 2.0,
            lambda: 0.2,
            l: 3.0,
            exact_limits: true,
        },
    )
    .unwrap();
    let mut z = 10.0;
    for (i, (p, &x)) in e.iter().zip(&xs).enumerate() {
        z = 0.2 * x + 0.8 * z;
        assert!((p.statistic - z).abs() < 1e-12);
        let lim = 10.0 + 3.0 * 2.0 * (0.2 / 1.8 * (1.0 - 0.8f64.powi(2 * (i as i32 + 1)))).sqrt();
        assert!((p.limit - lim).abs() < 1e-12);
    }
}
