//! OC, AOQ, ATI, AOQL and plan design against the reference values (R AcceptanceSampling,
//! scipy, mistat), relative tolerance 1e-9 as SOURCES.md says.

use sampling::oc::{self, Model, RiskPoint, Stage};

use crate::{close, f, read, u};

const REL: f64 = 1e-9;

#[test]
fn oc_single_plans_all_487_values() {
    let rows = read("oc_single_plans.csv");
    let mut counts = [0usize; 3];
    for r in &rows {
        let (n, c) = (u(r, "n"), u(r, "c"));
        assert_eq!(u(r, "r"), c + 1);
        let want = f(r, "pa");
        let (got, k) = match r["type"].as_str() {
            "binomial" => (oc::pa_single(Model::Binomial, n, c, f(r, "pd")).unwrap(), 0),
            "poisson" => (oc::pa_single(Model::Poisson, n, c, f(r, "pd")).unwrap(), 1),
            "hypergeom" => {
                let lot = u(r, "N");
                let d = u(r, "D");
                // Both the explicit-D function and the p -> D = pN path.
                let direct = oc::hypergeometric_cdf(lot, d, n, c);
                let via_p =
                    oc::pa_single(Model::Hypergeometric { lot_size: lot }, n, c, f(r, "pd"))
                        .unwrap();
                assert_eq!(direct, via_p);
                (direct, 2)
            }
            t => panic!("type {t}"),
        };
        close(
            got,
            want,
            REL,
            &format!("{} n={n} c={c} p={}", r["type"], r["pd"]),
        );
        counts[k] += 1;
    }
    assert_eq!(counts.iter().sum::<usize>(), 487);
    assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
}

#[test]
fn oc_double_and_multiple_plans_all_80_values() {
    let rows = read("oc_multistage_plans.csv");
    let mut count = 0;
    for r in &rows {
        let list = |k: &str| -> Vec<u64> { r[k].split(';').map(|x| x.parse().unwrap()).collect() };
        let (ns, cs, rs) = (list("n"), list("c"), list("r"));
        let stages: Vec<Stage> = ns
            .iter()
            .zip(&cs)
            .zip(&rs)
            .map(|((&n, &ac), &re)| Stage { n, ac, re })
            .collect();
        let model = match r["type"].as_str() {
            "binomial" => Model::Binomial,
            "poisson" => Model::Poisson,
            t => panic!("type {t}"),
        };
        let got = oc::pa_multistage(model, &stages, f(r, "pd")).unwrap();
        close(
            got,
            f(r, "pa"),
            REL,
            &format!("{} {} p={}", r["type"], r["n"], r["pd"]),
        );
        count += 1;
    }
    assert_eq!(count, 80);
}

#[test]
fn rectifying_aoq_ati_all_42_rows() {
    let rows = read("rectifying_aoq_ati.csv");
    for r in &rows {
        let (lot, n, c, p) = (u(r, "N"), u(r, "n"), u(r, "c"), f(r, "p"));
        let pts = oc::oc_curve(Model::Binomial, n, c, &[p], Some(lot)).unwrap();
        let pt = pts[0];
        close(pt.pa, f(r, "pa"), REL, "pa");
        close(pt.aoq, f(r, "aoq"), REL, "aoq");
        close(pt.ati.unwrap(), f(r, "ati"), REL, "ati");
    }
    assert_eq!(rows.len(), 42);
}

#[test]
fn aoql_all_7_plans() {
    let rows = read("aoql.csv");
    for r in &rows {
        let (v, p) = oc::aoql(u(r, "n"), u(r, "c"), u(r, "N")).unwrap();
        close(v, f(r, "aoql"), REL, "aoql");
        // The maximum is flat: its location is known to far fewer digits than its value.
        close(p, f(r, "p_at_aoql"), 1e-5, "p at aoql");
    }
    assert_eq!(rows.len(), 7);
}

#[test]
fn plan_design_all_18_cases() {
    let rows = read("find_plan_cases.csv");
    for r in &rows {
        let model = match r["type"].as_str() {
            "binomial" => Model::Binomial,
            "poisson" => Model::Poisson,
            "hypergeom" => Model::Hypergeometric {
                lot_size: u(r, "N"),
            },
            t => panic!("type {t}"),
        };
        let d = oc::design_plan(
            RiskPoint {
                p: f(r, "prp_p"),
                pa: f(r, "prp_pa"),
            },
            RiskPoint {
                p: f(r, "crp_p"),
                pa: f(r, "crp_pa"),
            },
            model,
        )
        .unwrap();
        let what = format!("{} {} {}", r["type"], r["prp_p"], r["crp_p"]);
        assert_eq!((d.n, d.c, d.r), (u(r, "n"), u(r, "c"), u(r, "r")), "{what}");
        close(d.pa_at_producer, f(r, "pa_at_prp"), REL, &what);
        close(d.pa_at_consumer, f(r, "pa_at_crp"), REL, &what);
    }
    assert_eq!(rows.len(), 18);
}

/// The design search (which starts each n at the previous n's acceptance number) equals the plain
/// search written here (c from 0 for every n) on a grid of risk points in all three models.
#[test]
fn plan_design_equals_a_plain_search() {
    let plain = |p1: f64, pa1: f64, p2: f64, pa2: f64, model: Model| -> (u64, u64) {
        for n in 1..=5_000u64 {
            if let Model::Hypergeometric { lot_size } = model
                && n > lot_size
            {
                break;
            }
            let c = (0..=n)
                .find(|&c| oc::pa_single(model, n, c, p1).unwrap() >= pa1)
                .unwrap();
            if oc::pa_single(model, n, c, p2).unwrap() <= pa2 {
                return (n, c);
            }
        }
        panic!("no plan with n <= 5000");
    };
    let mut cases = 0;
    for model in [
        Model::Binomial,
        Model::Poisson,
        Model::Hypergeometric { lot_size: 2_000 },
    ] {
        for (p1, p2) in [(0.005, 0.03), (0.01, 0.04), (0.02, 0.05), (0.04, 0.12)] {
            for (pa1, pa2) in [(0.95, 0.10), (0.99, 0.05), (0.90, 0.20)] {
                let d = oc::design_plan(
                    RiskPoint { p: p1, pa: pa1 },
                    RiskPoint { p: p2, pa: pa2 },
                    model,
                )
                .unwrap();
                assert_eq!(
                    (d.n, d.c),
                    plain(p1, pa1, p2, pa2, model),
                    "{model:?} {p1} {p2} {pa1} {pa2}"
                );
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 36);
}

#[test]
fn iso2859_4_examples_binomial_risk() {
    let rows = read("iso2859_4_examples.csv");
    for r in &rows {
        let p = f(r, "dql_percent") / 100.0;
        // Risk of contradicting a correct declaration at the DQL: P(X > L).
        let got = 1.0 - oc::binomial_cdf(u(r, "n"), u(r, "limiting_or_nonrejection_number"), p);
        close(
            got,
            f(r, "p_contradict_at_dql_binomial"),
            REL,
            &r["edition"],
        );
    }
    assert_eq!(rows.len(), 2);
}

/// Properties: OC curves fall with p; Pa(binomial) sums the pmf; bad input names its field.
#[test]
fn oc_properties() {
    let mut last = 1.0;
    for i in 0..=100 {
        let p = i as f64 / 100.0;
        let pa = oc::pa_single(Model::Binomial, 80, 2, p).unwrap();
        assert!(pa <= last + 1e-15);
        last = pa;
        let pmf: f64 = oc::binomial_pmf(80, p, 2).iter().sum();
        assert!((pmf - pa).abs() < 1e-12);
    }
    assert!(
        oc::pa_single(Model::Binomial, 10, 1, 1.5)
            .unwrap_err()
            .to_string()
            .starts_with("p:")
    );
    assert!(
        Model::parse("hypergeometric", None)
            .unwrap_err()
            .to_string()
            .starts_with("lot_size")
    );
}
