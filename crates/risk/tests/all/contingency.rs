//! Building contingency tables: stratified expected counts against openEBGM, summing pairs.

use risk::signal::{Contingency, ExpectedMethod, Report};

use crate::common::{Table, assert_close, read, read_gz};

#[test]
fn caers_stratified_expected_counts_match_openebgm() {
    let t = Table::parse(&read("signal/openebgm_caers_input.csv"));
    let c = Contingency::from_reports(
        t.rows.iter().map(|r| Report {
            id: t.get(r, "id"),
            product: t.get(r, "var1"),
            event: t.get(r, "var2"),
            stratum: t.get(r, "strat1"),
        }),
        ExpectedMethod::Stratified,
    )
    .unwrap();
    let want = Table::parse(&read_gz(
        "signal/openebgm_caers_expected_stratified_counts.csv.gz",
    ));
    assert_eq!(c.cells.len(), want.rows.len());
    let index: std::collections::HashMap<(&str, &str), &risk::signal::Cell> =
        c.cells.iter().map(|cell| (c.names(cell), cell)).collect();
    for r in &want.rows {
        let key = (want.get(r, "var1"), want.get(r, "var2"));
        let cell = index[&key];
        assert_eq!(cell.table.a as f64, want.f(r, "N"));
        assert_close(&format!("{key:?} E"), cell.expected, want.f(r, "E"), 1e-12);
    }
}

#[test]
fn repeated_pairs_are_summed_and_margins_are_sums() {
    let rows = [
        ("p1", "e1", "", 2),
        ("p1", "e1", "", 3),
        ("p1", "e2", "", 5),
        ("p2", "e1", "", 10),
        ("p2", "e2", "", 80),
    ];
    let c = Contingency::from_counts(rows, ExpectedMethod::Unstratified).unwrap();
    assert_eq!(c.total, 100);
    assert_eq!(c.cells.len(), 4);
    let first = c.cells[0];
    assert_eq!(c.names(&first), ("p1", "e1"));
    assert_eq!(
        (first.table.a, first.table.b, first.table.c, first.table.d),
        (5, 5, 10, 80)
    );
    assert_close("E", first.expected, 10.0 * 15.0 / 100.0, 1e-15);
}

#[test]
fn stratified_pairs_sum_expected_over_strata() {
    // Naive reference: E = Σ_s n_i·s n_·js / n_s.
    let rows = [
        ("p", "e", "m", 4),
        ("p", "x", "m", 6),
        ("q", "e", "m", 10),
        ("q", "x", "m", 30),
        ("p", "e", "f", 1),
        ("q", "x", "f", 9),
    ];
    let c = Contingency::from_counts(rows, ExpectedMethod::Stratified).unwrap();
    let pe = c
        .cells
        .iter()
        .find(|cell| c.names(cell) == ("p", "e"))
        .unwrap();
    let want = 10.0 * 14.0 / 50.0 + 1.0 * 1.0 / 10.0;
    assert_close("stratified E", pe.expected, want, 1e-15);
}
