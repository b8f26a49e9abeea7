//! Every row of signal/expected_2x2_vectors.csv, and the (3, 97, 50, 9850) table.

use risk::signal::Table2x2;

use crate::common::{Table, assert_close, read};

fn tables() -> (Table, Vec<(Table2x2, Vec<String>)>) {
    let t = Table::parse(&read("signal/expected_2x2_vectors.csv"));
    let rows = t
        .rows
        .iter()
        .map(|r| {
            let n = |c: &str| t.get(r, c).parse::<u64>().expect("count");
            (Table2x2::new(n("a"), n("b"), n("c"), n("d")), r.clone())
        })
        .collect();
    (t, rows)
}

#[test]
fn expected_2x2_vectors_all_columns() {
    let (t, rows) = tables();
    assert_eq!(rows.len(), 10, "the reference has 10 tables");
    let mut checked = 0;
    for (tab, r) in &rows {
        let id = format!("{tab:?}");
        let f = |c: &str| t.f(r, c);
        assert_close(&format!("{id} E"), tab.expected(), f("E"), 1e-12);
        let prr = tab.prr();
        assert_close(&format!("{id} PRR"), prr.estimate, f("PRR"), 1e-12);
        assert_close(&format!("{id} PRR_lo95"), prr.lo, f("PRR_lo95"), 1e-9);
        assert_close(&format!("{id} PRR_hi95"), prr.hi, f("PRR_hi95"), 1e-9);
        assert_close(
            &format!("{id} chi2"),
            tab.chi2(),
            f("chi2_uncorrected"),
            1e-9,
        );
        assert_close(
            &format!("{id} chi2_yates"),
            tab.chi2_yates(),
            f("chi2_yates"),
            1e-9,
        );
        assert_eq!(tab.evans(), f("evans_signal_yates") == 1.0, "{id} Evans");
        let ror = tab.ror();
        assert_close(&format!("{id} ROR"), ror.estimate, f("ROR"), 1e-12);
        assert_close(&format!("{id} ROR_lo95"), ror.lo, f("ROR_lo95"), 1e-9);
        assert_close(&format!("{id} ROR_hi95"), ror.hi, f("ROR_hi95"), 1e-9);
        let ic = tab.ic_shrink();
        assert_close(
            &format!("{id} IC_shrink"),
            ic.estimate,
            f("IC_shrink"),
            1e-12,
        );
        assert_close(&format!("{id} IC025_gamma"), ic.lo, f("IC025_gamma"), 1e-8);
        assert_close(&format!("{id} IC975_gamma"), ic.hi, f("IC975_gamma"), 1e-8);
        let b = tab.bcpnn();
        assert_close(&format!("{id} BCPNN_EIC"), b.ic, f("BCPNN_EIC"), 1e-9);
        assert_close(&format!("{id} BCPNN_VIC"), b.variance, f("BCPNN_VIC"), 1e-9);
        assert_close(
            &format!("{id} BCPNN_IC025"),
            b.ic025,
            f("BCPNN_IC025_normal"),
            1e-9,
        );
        checked += 1;
    }
    assert_eq!(checked, 10);
}

#[test]
fn mgps_on_the_2x2_vectors_with_the_fixed_theta() {
    let (t, rows) = tables();
    let prior = crate::mgps::caers_fixed_theta();
    for (tab, r) in &rows {
        let s = prior.score(tab.a, tab.expected());
        let id = format!("{tab:?}");
        assert_close(&format!("{id} Qn"), s.qn, t.f(r, "Qn"), 1e-9);
        assert_close(&format!("{id} EBlog2"), s.eblog2, t.f(r, "EBlog2"), 1e-9);
        assert_close(&format!("{id} EBGM"), s.ebgm, t.f(r, "EBGM"), 1e-9);
        assert_close(&format!("{id} EB05"), s.eb05, t.f(r, "EB05"), 1e-8);
        assert_close(&format!("{id} EB95"), s.eb95, t.f(r, "EB95"), 1e-8);
    }
}

/// The (3, 97, 50, 9850) table: PRR and ROR signal (lower bounds above 1) and Evans flags it, but
/// the Bayesian measures disagree — IC025 and EB05 stay below their thresholds. Our numbers must
/// disagree the same way as the reference's.
#[test]
fn the_3_97_50_9850_table_disagrees_the_same_way() {
    let (t, rows) = tables();
    let (tab, r) = rows
        .iter()
        .find(|(tab, _)| *tab == Table2x2::new(3, 97, 50, 9850))
        .expect("table in the reference");
    let prior = crate::mgps::caers_fixed_theta();
    let s = prior.score(tab.a, tab.expected());
    let ours = [
        tab.prr().lo > 1.0,
        tab.ror().lo > 1.0,
        tab.evans(),
        tab.bcpnn().ic025 > 0.0,
        tab.ic_shrink().lo > 0.0,
        s.eb05 > 1.0,
        s.eb05 >= 2.0,
    ];
    let reference = [
        t.f(r, "PRR_lo95") > 1.0,
        t.f(r, "ROR_lo95") > 1.0,
        t.f(r, "evans_signal_yates") == 1.0,
        t.f(r, "BCPNN_IC025_normal") > 0.0,
        t.f(r, "IC025_gamma") > 0.0,
        t.f(r, "EB05") > 1.0,
        t.f(r, "EB05") >= 2.0,
    ];
    assert_eq!(ours, reference);
    // And the disagreement is real: frequentist measures flag, Bayesian ones do not.
    assert_eq!(ours, [true, true, true, false, false, false, false]);
}

#[test]
fn z975_constant_is_the_normal_quantile() {
    let z = risk::special::norm_quantile(0.975);
    assert!((risk::signal::measures::Z975 - z).abs() <= 2.0 * f64::EPSILON * z);
}
