//! Farrington flexible against surveillance 1.20.3 on salmonella.agona (both option sets of the
//! package's help example).

use risk::warning::farrington::{FarringtonOptions, farrington_flexible};
use serde_json::Value;

use crate::common::assert_close;
use crate::ears::{expected, series};

fn check(key: &str, o: &FarringtonOptions) -> usize {
    let s = series("surveillance/salmonella_agona_weekly.csv");
    let exp = expected();
    let e = &exp[key];
    let range: Vec<usize> = e["range"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let out = farrington_flexible(&s, range[0] - 1..range[range.len() - 1], o).unwrap();
    let ub: Vec<f64> = e["upperbound"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let alarm: Vec<f64> = e["alarm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let obs: Vec<f64> = e["observed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(out.len(), ub.len());
    for (i, p) in out.iter().enumerate() {
        assert_eq!(p.observed, obs[i]);
        assert_close(
            &format!("{key}[{i}] upperbound"),
            p.upperbound.expect("enough cases"),
            ub[i],
            1e-6,
        );
        assert_eq!(p.alarm, alarm[i] == 1.0, "{key}[{i}] alarm");
    }
    out.len()
}

#[test]
fn agona_farrington_1996_options() {
    assert_eq!(
        check(
            "agona_farringtonFlexible_farrington1996_options",
            &FarringtonOptions::farrington_1996()
        ),
        31
    );
}

#[test]
fn agona_noufaily_2013_options() {
    assert_eq!(
        check(
            "agona_farringtonFlexible_noufaily2013_options",
            &FarringtonOptions::noufaily_2013()
        ),
        31
    );
}

/// The older `algo.farrington` (b = 4, w = 3, α = 0.1) on the same data: upper bounds, alarms and
/// the trend decisions.
#[test]
fn agona_algo_farrington() {
    let s = series("surveillance/salmonella_agona_weekly.csv");
    let exp = expected();
    let e = &exp["agona_algo_farrington_b4w3_alpha0.1"];
    let f = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (ub, alarm, trend) = (f(&e["upperbound"]), f(&e["alarm"]), f(&e["trend"]));
    let out =
        farrington_flexible(&s, 281..312, &FarringtonOptions::algo_farrington(4, 3, 0.1)).unwrap();
    assert_eq!(out.len(), 31);
    for (i, p) in out.iter().enumerate() {
        assert_close(
            &format!("algo.farrington[{i}] upperbound"),
            p.upperbound.unwrap(),
            ub[i],
            1e-8,
        );
        assert_eq!(p.trend, trend[i] == 1.0, "algo.farrington[{i}] trend");
        assert_eq!(p.score > 1.0, alarm[i] == 1.0, "algo.farrington[{i}] alarm");
    }
}
