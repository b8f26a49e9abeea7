//! MGPS against openEBGM: fixed-theta posteriors on the 2×2 check and on all 17,189 CAERS pairs,
//! and the maximum-likelihood fit of the prior.

use risk::signal::mgps::{fit_prior, neg_log_likelihood};
use risk::signal::{Contingency, ExpectedMethod, FitOptions, MgpsPrior, Report};

use crate::common::{Table, assert_close, read};

/// The hyperparameters of openEBGM's own test (tests/testthat/testEBGM.R), used for
/// openebgm_caers_expected_fixed_theta.csv.
pub fn caers_fixed_theta() -> MgpsPrior {
    MgpsPrior {
        alpha1: 3.25280367,
        beta1: 0.39983376,
        alpha2: 2.02490400,
        beta2: 1.90726819,
        p: 0.06536416,
    }
}

pub fn caers() -> Contingency {
    let t = Table::parse(&read("signal/openebgm_caers_input.csv"));
    Contingency::from_reports(
        t.rows.iter().map(|r| Report {
            id: t.get(r, "id"),
            product: t.get(r, "var1"),
            event: t.get(r, "var2"),
            stratum: "",
        }),
        ExpectedMethod::Unstratified,
    )
    .expect("builds")
}

#[test]
fn openebgm_2x2_mgps_check_all_rows() {
    let t = Table::parse(&read("signal/openebgm_2x2_mgps_check.csv"));
    let prior = caers_fixed_theta();
    assert_eq!(t.rows.len(), 10);
    for r in &t.rows {
        let n = t.get(r, "a").parse::<u64>().unwrap();
        let e = t.f(r, "E");
        let s = prior.score(n, e);
        let id = format!("a={n} E={e}");
        assert_close(&format!("{id} Qn"), s.qn, t.f(r, "Qn"), 1e-9);
        // EBGM printed with 8 decimals, quantiles with 6.
        assert!(
            (s.ebgm - t.f(r, "EBGM")).abs() <= 0.51e-8,
            "{id} EBGM {} vs {}",
            s.ebgm,
            t.f(r, "EBGM")
        );
        assert!(
            (s.eb05 - t.f(r, "EB05")).abs() <= 1.01e-6,
            "{id} EB05 {} vs {}",
            s.eb05,
            t.f(r, "EB05")
        );
        assert!(
            (s.eb95 - t.f(r, "EB95")).abs() <= 1.01e-6,
            "{id} EB95 {} vs {}",
            s.eb95,
            t.f(r, "EB95")
        );
    }
}

#[test]
fn openebgm_caers_expected_fixed_theta_all_17189_pairs() {
    let c = caers();
    let t = Table::parse(&read("signal/openebgm_caers_expected_fixed_theta.csv"));
    assert_eq!(t.rows.len(), 17_189);
    assert_eq!(c.cells.len(), 17_189, "same number of pairs as processRaw");
    let index: std::collections::HashMap<(&str, &str), &risk::signal::Cell> =
        c.cells.iter().map(|cell| (c.names(cell), cell)).collect();
    let prior = caers_fixed_theta();
    let mut checked = 0;
    for r in &t.rows {
        let key = (t.get(r, "var1"), t.get(r, "var2"));
        let cell = index
            .get(&key)
            .unwrap_or_else(|| panic!("pair {key:?} missing"));
        let id = format!("{key:?}");
        assert_eq!(cell.table.a as f64, t.f(r, "N"), "{id} N");
        assert_close(&format!("{id} E"), cell.expected, t.f(r, "E"), 1e-12);
        // RR and PRR are printed rounded to 2 decimals: the reference is within half a unit.
        assert!(
            (cell.table.a as f64 / cell.expected - t.f(r, "RR")).abs() <= 0.005 + 1e-9,
            "{id} RR"
        );
        let prr = cell.table.prr().estimate;
        let want = t.f(r, "PRR");
        if want.is_infinite() {
            assert!(prr.is_infinite() || prr.is_nan(), "{id} PRR {prr}");
        } else {
            assert!(
                (prr - want).abs() <= 0.005 + 1e-9,
                "{id} PRR {prr} vs {want}"
            );
        }
        let s = prior.score(cell.table.a, cell.expected);
        assert_close(&format!("{id} Qn"), s.qn, t.f(r, "Qn"), 1e-8);
        assert!(
            (s.ebgm - t.f(r, "EBGM")).abs() <= 0.51e-8,
            "{id} EBGM {} vs {}",
            s.ebgm,
            t.f(r, "EBGM")
        );
        assert!(
            (s.eb05 - t.f(r, "QUANT_05")).abs() <= 1.01e-6,
            "{id} Q05 {} vs {}",
            s.eb05,
            t.f(r, "QUANT_05")
        );
        assert!(
            (s.eb95 - t.f(r, "QUANT_95")).abs() <= 1.01e-6,
            "{id} Q95 {} vs {}",
            s.eb95,
            t.f(r, "QUANT_95")
        );
        checked += 1;
    }
    assert_eq!(checked, 17_189);
}

/// The full-data maximum-likelihood fit (N* = 1, no squashing). openEBGM's vignette
/// "Hyperparameter Estimation" prints for `autoHyper(processed, squashed = FALSE)` the estimate
/// 3.25596617 0.39998845 2.02374464 1.90612821 0.06530723 with minimum 4162.456, its three starts
/// agreeing only to the 4th significant digit (3.256048 / 3.256318 / 3.255966).
///
/// 1. Our likelihood at that estimate is the printed minimum.
/// 2. A local search started at that estimate stays there (it is a local optimum), agreeing to
///    5e-5 relative — ten times closer than the reference's own starts agree with each other.
/// 3. From openEBGM's documented starts our search finds a *lower* optimum (α₁ ≈ 21): the
///    reference's estimate is a local optimum, not the maximum-likelihood estimate. We assert that
///    ours is at least as good and that a second run from it reproduces −log L to 1e-12 (the
///    parameters to 2e-5: the likelihood is that flat).
#[test]
fn caers_hyperparameter_fit_against_openebgm() {
    let c = caers();
    let pts: Vec<(u64, f64)> = c
        .cells
        .iter()
        .map(|cell| (cell.table.a, cell.expected))
        .collect();
    let reference = MgpsPrior {
        alpha1: 3.25596617,
        beta1: 0.39998845,
        alpha2: 2.02374464,
        beta2: 1.90612821,
        p: 0.06530723,
    };
    let ref_nll = neg_log_likelihood(&reference, &pts, 1);
    assert_close("reference minimum", ref_nll, 4162.456, 1e-6);

    let local = fit_prior(
        &pts,
        &FitOptions {
            starts: vec![reference],
            ..FitOptions::default()
        },
    )
    .expect("fits");
    let p = local.prior;
    for (name, got, want) in [
        ("alpha1", p.alpha1, reference.alpha1),
        ("beta1", p.beta1, reference.beta1),
        ("alpha2", p.alpha2, reference.alpha2),
        ("beta2", p.beta2, reference.beta2),
        ("p", p.p, reference.p),
    ] {
        assert_close(name, got, want, 5e-5);
    }
    assert!(local.neg_log_likelihood <= ref_nll + 1e-9);

    let global = fit_prior(&pts, &FitOptions::default()).expect("fits");
    assert!(
        global.neg_log_likelihood <= ref_nll,
        "{} vs {}",
        global.neg_log_likelihood,
        ref_nll
    );
    assert!(global.neg_log_likelihood <= neg_log_likelihood(&caers_fixed_theta(), &pts, 1));
    let again = fit_prior(
        &pts,
        &FitOptions {
            starts: vec![global.prior],
            ..FitOptions::default()
        },
    )
    .expect("fits");
    assert_close(
        "refit nll",
        again.neg_log_likelihood,
        global.neg_log_likelihood,
        1e-12,
    );
    // The likelihood is flat: −log L pins the parameters down to about 1e-5 relative only.
    for (name, a, b) in [
        ("alpha1", again.prior.alpha1, global.prior.alpha1),
        ("beta1", again.prior.beta1, global.prior.beta1),
        ("alpha2", again.prior.alpha2, global.prior.alpha2),
        ("beta2", again.prior.beta2, global.prior.beta2),
        ("p", again.prior.p, global.prior.p),
    ] {
        assert_close(&format!("refit {name}"), a, b, 2e-5);
    }
}

#[test]
fn toy17_counts_including_the_zero_cell() {
    let input = Table::parse(&read("signal/openebgm_toy17_input.csv"));
    let c = Contingency::from_reports(
        input.rows.iter().map(|r| Report {
            id: input.get(r, "id"),
            product: input.get(r, "var1"),
            event: input.get(r, "var2"),
            stratum: "",
        }),
        ExpectedMethod::Unstratified,
    )
    .unwrap()
    .with_zero_cells()
    .unwrap();
    let t = Table::parse(&read("signal/openebgm_toy17_expected_counts.csv"));
    assert_eq!(c.cells.len(), t.rows.len());
    for (cell, r) in c.cells.iter().zip(&t.rows) {
        let (p, e) = c.names(cell);
        assert_eq!(
            (p, e),
            (t.get(r, "var1"), t.get(r, "var2")),
            "order as processRaw"
        );
        assert_eq!(cell.table.a as f64, t.f(r, "N"));
        assert_close(&format!("{p}/{e} E"), cell.expected, t.f(r, "E"), 1e-12);
        let rr = cell.table.a as f64 / cell.expected;
        assert!((rr - t.f(r, "RR")).abs() <= 0.005 + 1e-9, "{p}/{e} RR");
        let prr = cell.table.prr().estimate;
        assert!(
            (prr - t.f(r, "PRR")).abs() <= 0.005 + 1e-9,
            "{p}/{e} PRR {prr}"
        );
    }
}

/// Squashing (forced here by a low threshold) keeps the fit close: the prior fitted on squashed
/// CAERS points, evaluated on all points, is within 0.5 of the full fit's −log L (whose
/// standard errors are in the units of the parameters, see openEBGM's vignette).
#[test]
fn squashed_fit_is_close_to_the_full_fit() {
    let c = caers();
    let pts: Vec<(u64, f64)> = c
        .cells
        .iter()
        .map(|cell| (cell.table.a, cell.expected))
        .collect();
    let reference = MgpsPrior {
        alpha1: 3.25596617,
        beta1: 0.39998845,
        alpha2: 2.02374464,
        beta2: 1.90612821,
        p: 0.06530723,
    };
    let full = fit_prior(
        &pts,
        &FitOptions {
            starts: vec![reference],
            squash_above: None,
            ..FitOptions::default()
        },
    )
    .unwrap();
    let squashed = fit_prior(
        &pts,
        &FitOptions {
            starts: vec![reference],
            squash_above: Some(2_000),
            ..FitOptions::default()
        },
    )
    .unwrap();
    let on_all = neg_log_likelihood(&squashed.prior, &pts, 1);
    assert!(
        on_all - full.neg_log_likelihood < 0.5,
        "{on_all} vs {}",
        full.neg_log_likelihood
    );
    assert!(on_all >= full.neg_log_likelihood - 1e-9);
    assert_close("squashed p", squashed.prior.p, full.prior.p, 0.1);
}

/// A naive reference for the posterior quantiles: bisection in log λ on the mixture CDF built
/// from statrs' regularized incomplete gamma.
fn naive_quantile(prior: &MgpsPrior, n: u64, e: f64, qn: f64, p: f64) -> f64 {
    let nf = n as f64;
    let cdf = |x: f64| {
        qn * risk::special::gamma_p(prior.alpha1 + nf, (prior.beta1 + e) * x)
            + (1.0 - qn) * risk::special::gamma_p(prior.alpha2 + nf, (prior.beta2 + e) * x)
    };
    let (mut lo, mut hi) = ((1e-300f64).ln(), (1e300f64).ln());
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid.exp()) < p {
            lo = mid
        } else {
            hi = mid
        }
    }
    (0.5 * (lo + hi)).exp()
}

/// `score_all` on cells whose (n, E) points repeat (as in tables of reports), where each
/// thread scores the distinct points it owns and every cell copies its point's score: equal to
/// the one-cell `score` bit for bit, in cell order.
#[test]
fn score_all_with_repeated_points_equals_one_cell_scores() {
    let mut rng = risk::rng::Xoshiro256::seed(11);
    let points: Vec<(u64, f64)> = (0..3_000)
        .map(|_| {
            let n = (60f64.powf(rng.next_f64())) as u64;
            (n.max(1), 1e-4 * 1e6f64.powf(rng.next_f64()))
        })
        .collect();
    let cells: Vec<(u64, f64)> = (0..50_000)
        .map(|_| points[(rng.next_f64() * points.len() as f64) as usize])
        .collect();
    let prior = caers_fixed_theta();
    let all = prior.score_all(&cells);
    assert_eq!(all.len(), cells.len());
    for (i, &(n, e)) in cells.iter().enumerate() {
        assert_eq!(all[i], prior.score(n, e), "cell {i} (n={n}, E={e})");
    }
}

/// `score_all` (per-count constants, Householder steps from the heavier component's quantile, several
/// threads above 32,768 cells) equals the one-cell `score` bit for bit, and its EB05/EB95 agree
/// with a naive bisection to 1e-10 relative, over random (n, E) and three priors: openEBGM's
/// CAERS prior, a boundary prior (shapes near 0, as fitted on the benchmark's synthetic table)
/// and two well-separated components.
#[test]
fn score_all_equals_one_cell_scores_and_a_naive_quantile() {
    let mut rng = risk::rng::Xoshiro256::seed(5);
    let mut cells: Vec<(u64, f64)> = (0..40_000)
        .map(|_| {
            let n = (300f64.powf(rng.next_f64())) as u64;
            let e = 1e-4 * 1e7f64.powf(rng.next_f64());
            (n.max(1), e)
        })
        .collect();
    // Repeated cells are scored once and copied.
    for i in 0..2_000 {
        cells.push(cells[i * 7]);
    }
    let priors = [
        caers_fixed_theta(),
        MgpsPrior {
            alpha1: 1.1219366292006548e-15,
            beta1: 0.0029614841547492186,
            alpha2: 1.0560106445267082e-7,
            beta2: 0.06256622024545731,
            p: 0.16254533271959629,
        },
        MgpsPrior {
            alpha1: 50.0,
            beta1: 0.5,
            alpha2: 0.3,
            beta2: 3.0,
            p: 0.01,
        },
    ];
    for prior in priors {
        let all = prior.score_all(&cells);
        for (i, &(n, e)) in cells.iter().enumerate() {
            assert_eq!(all[i], prior.score(n, e), "cell {i} (n={n}, E={e})");
        }
        for &(n, e) in cells.iter().step_by(101) {
            let s = prior.score(n, e);
            let (qn, _, ebgm) = prior.ebgm(n, e);
            assert_close(&format!("n={n} E={e} Qn"), s.qn, qn, 1e-12);
            assert_close(&format!("n={n} E={e} EBGM"), s.ebgm, ebgm, 1e-12);
            for (got, p) in [(s.eb05, 0.05), (s.eb95, 0.95)] {
                let want = naive_quantile(&prior, n, e, s.qn, p);
                assert_close(&format!("{prior:?} n={n} E={e} q{p}"), got, want, 1e-10);
            }
        }
    }
}
