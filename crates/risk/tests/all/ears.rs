//! EARS C1/C2 against surveillance 1.20.3 (expected_surveillance.json); C3 as documented.

use risk::warning::ears::{EarsMethod, EarsOptions, ears};
use serde_json::Value;

use crate::common::{Table, assert_close, read};

pub fn series(file: &str) -> Vec<f64> {
    let t = Table::parse(&read(file));
    t.rows.iter().map(|r| t.f(r, "observed")).collect()
}

pub fn expected() -> Value {
    serde_json::from_str(&read("surveillance/expected_surveillance.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn check(series: &[f64], key: &str, method: EarsMethod, alpha: f64) -> usize {
    let exp = expected();
    let e = &exp[key];
    let range = floats(&e["range"]);
    let (first, last) = (range[0] as usize, range[1] as usize);
    let out = ears(
        series,
        first - 1..last,
        method,
        &EarsOptions { alpha, baseline: 7 },
    )
    .unwrap();
    let ub = floats(&e["upperbound"]);
    let alarm = floats(&e["alarm"]);
    assert_eq!(out.len(), ub.len());
    for (i, p) in out.iter().enumerate() {
        assert_close(&format!("{key}[{i}] upperbound"), p.upperbound, ub[i], 1e-8);
        assert_eq!(p.alarm, alarm[i] == 1.0, "{key}[{i}] alarm");
    }
    out.len()
}

#[test]
fn agona_c1_c2_alpha_0_001() {
    let s = series("surveillance/salmonella_agona_weekly.csv");
    assert_eq!(check(&s, "agona_earsC_C1", EarsMethod::C1, 0.001), 213);
    assert_eq!(check(&s, "agona_earsC_C2", EarsMethod::C2, 0.001), 213);
}

#[test]
fn salm_newport_2011_c1_c2_alpha_0_05() {
    let s = series("surveillance/salmNewport_germany_weekly.csv");
    assert_eq!(
        check(
            &s,
            "salmNewport_earsC_C1_alpha0.05_2011",
            EarsMethod::C1,
            0.05
        ),
        52
    );
    assert_eq!(
        check(
            &s,
            "salmNewport_earsC_C2_alpha0.05_2011",
            EarsMethod::C2,
            0.05
        ),
        52
    );
    // The package's own test: upperbound[1:4] = 3.278854, 3.278854, 3.436517, 3.855617.
    let out = ears(
        &s,
        365..369,
        EarsMethod::C1,
        &EarsOptions {
            alpha: 0.05,
            baseline: 7,
        },
    )
    .unwrap();
    for (p, want) in out.iter().zip([3.278854, 3.278854, 3.436517, 3.855617]) {
        assert!((p.upperbound - want).abs() < 5e-7);
    }
}

/// C3 as documented: C3(t) = Σ_{i=0..2} max(0, C2(t−i) − 1) > z. A naive implementation written
/// plainly here, and the relation to the package's (code) C3: the package alarms exactly when the
/// two previous terms alone exceed z, so each package alarm is also a documented-C3 alarm.
#[test]
fn c3_as_documented_and_related_to_the_package() {
    let z_of = |alpha: f64| risk::special::norm_quantile(1.0 - alpha);
    for (file, key, alpha) in [
        (
            "surveillance/salmonella_agona_weekly.csv",
            "agona_earsC_C3",
            0.025,
        ),
        (
            "surveillance/salmNewport_germany_weekly.csv",
            "salmNewport_earsC_C3_alpha0.05_2011",
            0.05,
        ),
    ] {
        let s = series(file);
        let exp = expected();
        let e = &exp[key];
        let range = floats(&e["range"]);
        let (first, last) = (range[0] as usize, range[1] as usize);
        let out = ears(
            &s,
            first - 1..last,
            EarsMethod::C3,
            &EarsOptions { alpha, baseline: 7 },
        )
        .unwrap();
        let z = z_of(alpha);
        let c2 = |t: usize| {
            let b = &s[t - 9..t - 2];
            let m = b.iter().sum::<f64>() / 7.0;
            let sd = (b.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 6.0).sqrt();
            if sd == 0.0 {
                if s[t] > m {
                    f64::INFINITY
                } else if s[t] < m {
                    f64::NEG_INFINITY
                } else {
                    0.0
                }
            } else {
                (s[t] - m) / sd
            }
        };
        let pkg_alarm = floats(&e["alarm"]);
        for (i, p) in out.iter().enumerate() {
            let t = first - 1 + i;
            let c3: f64 = (0..3).map(|k| (c2(t - k) - 1.0).max(0.0)).sum();
            assert_eq!(p.alarm, c3 > z, "{key}[{i}]");
            if c3.is_finite() {
                assert_close(&format!("{key}[{i}] C3"), p.statistic, c3, 1e-12);
            }
            if pkg_alarm[i] == 1.0 {
                assert!(
                    p.alarm,
                    "{key}[{i}]: the package alarms, the documented C3 must too"
                );
            }
        }
    }
}
