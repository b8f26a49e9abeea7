//! Control charts against qcc 2.7 (spc/expected_qcc_2.7.json), CUSUM/EWMA on the pistonrings
//! means, and the Nelson rules (spc/nelson_rules_cases.json).

use risk::spc::{
    Attribute, Chart, IndividualsSigma, SigmaFrom, attribute, individuals, nelson, r_chart,
    s_chart, xbar, z_for_confidence,
};
use risk::warning::cusum::{CusumOptions, EwmaOptions, cusum, ewma};
use serde_json::Value;

use crate::common::{Table, assert_close, read};

fn expected() -> Value {
    serde_json::from_str(&read("spc/expected_qcc_2.7.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_f64().unwrap()).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        _ => vec![],
    }
}

fn ints(v: &Value) -> Vec<usize> {
    let mut x: Vec<usize> = floats(v).into_iter().map(|f| f as usize).collect();
    x.sort_unstable();
    x
}

/// Compares a chart with a qcc entry: centre, σ, statistics (calibration and new), limits,
/// beyond-limit points and run violations.
fn check(key: &str, c: &Chart) {
    let exp = expected();
    let e = &exp[key];
    assert_close(
        &format!("{key} center"),
        c.center,
        e["center"].as_f64().unwrap(),
        1e-9,
    );
    assert_close(
        &format!("{key} std_dev"),
        c.std_dev,
        e["std_dev"].as_f64().unwrap(),
        1e-9,
    );
    let mut stats = floats(&e["statistics"]);
    stats.extend(floats(&e["new_statistics"]));
    assert_eq!(c.statistics.len(), stats.len(), "{key} points");
    for (i, (a, b)) in c.statistics.iter().zip(&stats).enumerate() {
        assert_close(&format!("{key} stat[{i}]"), *a, *b, 1e-9);
    }
    for (name, ours) in [("lcl", &c.lcl), ("ucl", &c.ucl)] {
        let want = floats(&e[name]);
        for (i, v) in ours.iter().enumerate() {
            let w = if want.len() == 1 { want[0] } else { want[i] };
            if w == 0.0 {
                assert!(v.abs() < 1e-12, "{key} {name}[{i}] {v}");
            } else {
                assert_close(&format!("{key} {name}[{i}]"), *v, w, 1e-9);
            }
        }
    }
    assert_eq!(
        c.beyond_limits(),
        ints(&e["beyond_limits"]),
        "{key} beyond limits"
    );
    assert_eq!(
        c.violating_runs(7),
        ints(&e["violating_runs"]),
        "{key} violating runs"
    );
}

fn pistonrings(drop: &[usize]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let t = Table::parse(&read("spc/qcc_pistonrings.csv"));
    let mut calib: Vec<Vec<f64>> = vec![Vec::new(); 25];
    let mut new: Vec<Vec<f64>> = vec![Vec::new(); 15];
    for (row, r) in t.rows.iter().enumerate() {
        if drop.contains(&(row + 1)) {
            continue;
        }
        let s = t.f(r, "sample") as usize;
        let x = t.f(r, "diameter");
        if t.get(r, "trial") == "TRUE" {
            calib[s - 1].push(x)
        } else {
            new[s - 26].push(x)
        }
    }
    (calib, new)
}

#[test]
fn pistonrings_xbar_r_s_charts() {
    let (calib, new) = pistonrings(&[]);
    check(
        "pistonrings_xbar_R_sigma",
        &xbar(&calib, &new, SigmaFrom::Ranges, 3.0).unwrap(),
    );
    check(
        "pistonrings_xbar_S_sigma",
        &xbar(&calib, &new, SigmaFrom::StdDevs, 3.0).unwrap(),
    );
    check(
        "pistonrings_xbar_conf099",
        &xbar(&calib, &new, SigmaFrom::Ranges, z_for_confidence(0.99)).unwrap(),
    );
    check("pistonrings_R", &r_chart(&calib, &new, 3.0).unwrap());
    check("pistonrings_S", &s_chart(&calib, &new, 3.0).unwrap());
}

#[test]
fn pistonrings_unequal_group_sizes() {
    // qcc's example drops these rows of the calibration samples.
    let (calib, _) = pistonrings(&[9, 10, 30, 35, 45, 64, 65, 74, 75, 85, 99, 100]);
    check(
        "pistonrings_unequal_xbar",
        &xbar(&calib, &[], SigmaFrom::Ranges, 3.0).unwrap(),
    );
    check("pistonrings_unequal_R", &r_chart(&calib, &[], 3.0).unwrap());
}

#[test]
fn pistonrings_individuals() {
    let t = Table::parse(&read("spc/qcc_pistonrings.csv"));
    let x: Vec<f64> = t.rows.iter().take(50).map(|r| t.f(r, "diameter")).collect();
    check(
        "pistonrings_first50_xbar_one_MR",
        &individuals(&x, &[], IndividualsSigma::MovingRange, 3.0).unwrap(),
    );
    check(
        "pistonrings_first50_xbar_one_SD",
        &individuals(&x, &[], IndividualsSigma::StdDev, 3.0).unwrap(),
    );
}

fn attr(
    file: &str,
    count_col: &str,
    calib: impl Fn(usize, &Table, &[String]) -> Option<bool>,
    size: Option<f64>,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let t = Table::parse(&read(file));
    let (mut c, mut n, mut nc, mut nn) = (vec![], vec![], vec![], vec![]);
    for (i, r) in t.rows.iter().enumerate() {
        let x = t.f(r, count_col);
        let s = size.unwrap_or_else(|| t.f(r, "size"));
        match calib(i + 1, &t, r) {
            Some(true) => {
                c.push(x);
                n.push(s)
            }
            Some(false) => {
                nc.push(x);
                nn.push(s)
            }
            None => {}
        }
    }
    (c, n, nc, nn)
}

#[test]
fn attribute_charts_p_np_c_u() {
    let trial = |_: usize, t: &Table, r: &[String]| Some(t.get(r, "trial") == "TRUE");
    let calib_only = |_: usize, t: &Table, r: &[String]| {
        if t.get(r, "trial") == "TRUE" {
            Some(true)
        } else {
            None
        }
    };
    let (c, n, nc, nn) = attr("spc/qcc_orangejuice.csv", "D", calib_only, None);
    check(
        "orangejuice_p",
        &attribute(Attribute::P, &c, &n, &nc, &nn, 3.0).unwrap(),
    );
    check(
        "orangejuice_np",
        &attribute(Attribute::Np, &c, &n, &nc, &nn, 3.0).unwrap(),
    );
    let revised = |i: usize, t: &Table, r: &[String]| {
        if i == 15 || i == 23 {
            None
        } else {
            Some(t.get(r, "trial") == "TRUE")
        }
    };
    let (c, n, nc, nn) = attr("spc/qcc_orangejuice.csv", "D", revised, None);
    check(
        "orangejuice_p_revised",
        &attribute(Attribute::P, &c, &n, &nc, &nn, 3.0).unwrap(),
    );
    let (c, n, nc, nn) = attr("spc/qcc_orangejuice2.csv", "D", trial, None);
    check(
        "orangejuice2_p",
        &attribute(Attribute::P, &c, &n, &nc, &nn, 3.0).unwrap(),
    );
    let (c, n, nc, nn) = attr("spc/qcc_circuit.csv", "x", calib_only, None);
    check(
        "circuit_c",
        &attribute(Attribute::C, &c, &n, &nc, &nn, 3.0).unwrap(),
    );
    let (c, n, nc, nn) = attr("spc/qcc_circuit.csv", "x", calib_only, Some(100.0));
    check(
        "circuit_u_size100",
        &attribute(Attribute::U, &c, &n, &nc, &nn, 3.0).unwrap(),
    );
    let c_revised = |i: usize, t: &Table, r: &[String]| {
        if i == 6 || i == 20 {
            None
        } else {
            Some(t.get(r, "trial") == "TRUE")
        }
    };
    let (c, n, nc, nn) = attr("spc/qcc_circuit.csv", "x", c_revised, None);
    check(
        "circuit_c_revised",
        &attribute(Attribute::C, &c, &n, &nc, &nn, 3.0).unwrap(),
    );
    let all = |_: usize, _: &Table, _: &[String]| Some(true);
    let (c, n, nc, nn) = attr("spc/qcc_pcmanufact.csv", "x", all, None);
    check(
        "pcmanufact_u",
        &attribute(Attribute::U, &c, &n, &nc, &nn, 3.0).unwrap(),
    );
    let (c, n, nc, nn) = attr("spc/qcc_dyedcloth.csv", "x", all, None);
    check(
        "dyedcloth_u_unequal",
        &attribute(Attribute::U, &c, &n, &nc, &nn, 3.0).unwrap(),
    );
}

/// qcc's `cusum` and `ewma` on the 40 pistonrings means, with centre and σ/√n from the 25
/// calibration samples, are our standardized CUSUM (k = ½, h = 5) and EWMA (λ = 0.2, exact limits).
#[test]
fn qcc_cusum_and_ewma_on_pistonrings() {
    let (calib, new) = pistonrings(&[]);
    let chart = xbar(&calib, &new, SigmaFrom::Ranges, 3.0).unwrap();
    let se = chart.std_dev / 5f64.sqrt();
    let exp = expected();
    let e = &exp["pistonrings_cusum"];
    let out = cusum(
        &chart.statistics,
        &CusumOptions {
            target: chart.center,
            sigma: se,
            k: 0.5,
            h: 5.0,
            reset_after_alarm: false,
        },
    )
    .unwrap();
    for (p, w) in out.iter().zip(floats(&e["pos"])) {
        assert!(
            (p.statistic - w).abs() <= 1e-8 * w.max(1.0),
            "{} vs {w}",
            p.statistic
        );
    }
    let alarms: Vec<usize> = out
        .iter()
        .filter(|p| p.alarm)
        .map(|p| p.index + 1)
        .collect();
    assert_eq!(alarms, ints(&e["violations_upper"]));
    let e = &exp["pistonrings_ewma"];
    let out = ewma(
        &chart.statistics,
        &EwmaOptions {
            target: chart.center,
            sigma: se,
            lambda: 0.2,
            l: 3.0,
            exact_limits: true,
        },
    )
    .unwrap();
    for ((p, y), u) in out.iter().zip(floats(&e["y"])).zip(floats(&e["ucl"])) {
        assert_close("ewma y", p.statistic, y, 1e-9);
        assert_close("ewma ucl", p.limit, u, 1e-9);
    }
    let alarms: Vec<usize> = out
        .iter()
        .filter(|p| p.alarm)
        .map(|p| p.index + 1)
        .collect();
    assert_eq!(alarms, ints(&e["violations"]));
}

#[test]
fn nelson_rules_each_case_triggers_only_its_rule() {
    let cases: Value = serde_json::from_str(&read("spc/nelson_rules_cases.json")).unwrap();
    let mut n = 0;
    for (name, case) in cases.as_object().unwrap() {
        let x = floats(&case["x"]);
        let got = nelson(
            &x,
            case["center"].as_f64().unwrap(),
            case["sigma"].as_f64().unwrap(),
        );
        for rule in 1..=8 {
            let want = case["violations"]
                .get(format!("rule{rule}"))
                .map(ints)
                .unwrap_or_default();
            assert_eq!(got[rule - 1], want, "{name} rule {rule}");
        }
        n += 1;
    }
    assert_eq!(n, 8);
}

#[test]
fn pistonrings_capability_and_performance() {
    let (calib, _) = pistonrings(&[]);
    let chart = xbar(&calib, &[], SigmaFrom::Ranges, 3.0).unwrap();
    let obs: Vec<f64> = calib.iter().flatten().copied().collect();
    let exp = expected();
    let names = ["Cp", "Cp_l", "Cp_u", "Cp_k", "Cpm"];
    for (key, lsl, usl, target) in [
        ("pistonrings_capability", 73.95, 74.05, None),
        (
            "pistonrings_capability_target74.02",
            73.95,
            74.05,
            Some(74.02),
        ),
        ("pistonrings_capability_spec73.99_74.01", 73.99, 74.01, None),
    ] {
        let e = &exp[key];
        let c = risk::spc::capability(&obs, chart.center, chart.std_dev, lsl, usl, target, 0.95)
            .unwrap();
        let got = [c.cp, c.cp_l, c.cp_u, c.cp_k, c.cpm];
        for (i, n) in names.iter().enumerate() {
            assert_close(
                &format!("{key} {n}"),
                got[i],
                e["indices"][n].as_f64().unwrap(),
                1e-9,
            );
            if let Some(lo) = e.get("ci_lower") {
                assert_close(
                    &format!("{key} {n} lower"),
                    c.lower[i],
                    lo[n].as_f64().unwrap(),
                    1e-8,
                );
                assert_close(
                    &format!("{key} {n} upper"),
                    c.upper[i],
                    e["ci_upper"][n].as_f64().unwrap(),
                    1e-8,
                );
            }
        }
        // The reference stores fractions below about 1e-6 as 0 (the 73.95-74.05 spec: Φ(−5.2) ≈ 8e-8).
        for (name, v) in [
            ("exp_lsl", c.exp_lsl),
            ("exp_usl", c.exp_usl),
            ("obs_lsl", c.obs_lsl),
            ("obs_usl", c.obs_usl),
        ] {
            if let Some(w) = e.get(name).and_then(Value::as_f64) {
                assert!(
                    (v - w).abs() <= 1e-9 * w + 1e-6 * f64::from(u8::from(w == 0.0)),
                    "{key} {name}: {v} vs {w}"
                );
            }
        }
    }
    let pp: Value = serde_json::from_str(&read("spc/expected_pp_ppk_pistonrings.json")).unwrap();
    let (p, pl, pu, pk) = risk::spc::performance(
        &obs,
        pp["LSL"].as_f64().unwrap(),
        pp["USL"].as_f64().unwrap(),
    )
    .unwrap();
    assert_close("Pp", p, pp["Pp"].as_f64().unwrap(), 1e-12);
    assert_close("Ppl", pl, pp["Ppl"].as_f64().unwrap(), 1e-12);
    assert_close("Ppu", pu, pp["Ppu"].as_f64().unwrap(), 1e-12);
    assert_close("Ppk", pk, pp["Ppk"].as_f64().unwrap(), 1e-12);
}
