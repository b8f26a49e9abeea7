//! The signals CSV: exact headers per method, pairs summed, values equal to the measures.

use risk::csv::{parse_pairs, records};
use risk::signal::{Contingency, ExpectedMethod, FitOptions, Method, Table2x2, signals_csv};

fn table(text: &str) -> Contingency {
    let pairs = parse_pairs(text).unwrap();
    Contingency::from_counts(
        pairs
            .iter()
            .map(|(p, e, s, n)| (p.as_str(), e.as_str(), s.as_str(), *n)),
        ExpectedMethod::Unstratified,
    )
    .unwrap()
}

#[test]
fn headers_are_exactly_as_specified() {
    let t = table("product,event,count\np1,e1,20\np1,e2,80\np2,e1,100\np2,e2,9800\n");
    let want = [
        (
            Method::Prr,
            "product,event,a,b,c,d,expected,prr,prr_lo,prr_hi,chi2_yates,evans",
        ),
        (
            Method::Ror,
            "product,event,a,b,c,d,expected,ror,ror_lo,ror_hi",
        ),
        (
            Method::Bcpnn,
            "product,event,a,b,c,d,expected,ic,ic025,ic975",
        ),
    ];
    for (m, header) in want {
        let (csv, _) = signals_csv(&t, m, &FitOptions::default()).unwrap();
        assert_eq!(csv.lines().next().unwrap(), header);
        assert_eq!(csv.lines().count(), 5);
    }
}

#[test]
fn repeated_pairs_are_summed_and_values_match_the_measures() {
    // (20, 80, 100, 9800) split over repeated lines and in a different order.
    let t = table("event,product,count\ne1,p1,5\ne2,p1,80\ne1,p2,100\ne1,p1,15\ne2,p2,9800\n");
    let (csv, _) = signals_csv(&t, Method::Prr, &FitOptions::default()).unwrap();
    let recs: Vec<Vec<String>> = records(&csv).map(|r| r.unwrap().1).collect();
    let row = recs.iter().find(|r| r[0] == "p1" && r[1] == "e1").unwrap();
    assert_eq!(&row[2..6], ["20", "80", "100", "9800"]);
    let tab = Table2x2::new(20, 80, 100, 9800);
    let prr = tab.prr();
    let parsed: Vec<f64> = row[6..].iter().map(|v| v.parse().unwrap()).collect();
    assert_eq!(
        parsed,
        vec![
            tab.expected(),
            prr.estimate,
            prr.lo,
            prr.hi,
            tab.chi2_yates(),
            1.0
        ]
    );
}

#[test]
fn names_with_commas_and_quotes_round_trip() {
    let t = table("product,event,count\n\"Vitamin C, 500 mg\",\"\"\"rash\"\"\",3\nx,y,4\n");
    let (csv, _) = signals_csv(&t, Method::Ror, &FitOptions::default()).unwrap();
    let recs: Vec<Vec<String>> = records(&csv).map(|r| r.unwrap().1).collect();
    assert_eq!(recs[1][0], "Vitamin C, 500 mg");
    assert_eq!(recs[1][1], "\"rash\"");
}

#[test]
fn mgps_column_values_come_from_the_fitted_prior() {
    let c = crate::mgps::caers();
    let (csv, fit) = signals_csv(&c, Method::Mgps, &FitOptions::default()).unwrap();
    let fit = fit.unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        "product,event,a,b,c,d,expected,ebgm,eb05,eb95"
    );
    assert_eq!(csv.lines().count(), c.cells.len() + 1);
    let first = &c.cells[0];
    let s = fit.prior.score(first.table.a, first.expected);
    let line = csv.lines().nth(1).unwrap().to_string();
    let rec = records(&line).next().unwrap().unwrap().1;
    let got: Vec<f64> = rec[7..].iter().map(|v| v.parse().unwrap()).collect();
    assert_eq!(got, vec![s.ebgm, s.eb05, s.eb95]);
}

/// The table-wide BCPNN (margin terms shared) equals the per-table formula on every CAERS cell.
#[test]
fn bcpnn_all_equals_the_per_cell_formula() {
    let c = crate::mgps::caers();
    let all = c.bcpnn_all();
    assert_eq!(all.len(), c.cells.len());
    for (b, cell) in all.iter().zip(&c.cells) {
        let r = cell.table.bcpnn();
        for (x, y) in [
            (b.ic, r.ic),
            (b.variance, r.variance),
            (b.ic025, r.ic025),
            (b.ic975, r.ic975),
        ] {
            assert!(
                (x - y).abs() <= 1e-12 * y.abs().max(1.0),
                "{:?}: {x} vs {y}",
                cell.table
            );
        }
    }
}

/// The table-wide BCPNN equals the per-table formula on random tables: many small and a few
/// large counts, from a handful to thousands of products and events (one or several threads).
#[test]
fn bcpnn_all_equals_the_per_cell_formula_on_random_tables() {
    let mut rng = risk::rng::Xoshiro256::seed(17);
    for round in 0..12 {
        let products = 1 + (rng.next_f64() * 3000.0) as u32;
        let events = 1 + (rng.next_f64() * 300.0) as u32;
        let pairs = 1 + (rng.next_f64() * 60_000.0) as usize;
        let rows: Vec<(String, String, u64)> = (0..pairs)
            .map(|_| {
                let p = (rng.next_f64() * rng.next_f64() * products as f64) as u32;
                let e = (rng.next_f64() * events as f64) as u32;
                let big = rng.next_f64() < 0.02;
                let n = 1 + (rng.next_f64() * if big { 5_000.0 } else { 4.0 }) as u64;
                (format!("p{p}"), format!("e{e}"), n)
            })
            .collect();
        let c = risk::signal::Contingency::from_counts(
            rows.iter()
                .map(|(p, e, n)| (p.as_str(), e.as_str(), "", *n)),
            risk::signal::ExpectedMethod::Unstratified,
        )
        .unwrap();
        let all = c.bcpnn_all();
        assert_eq!(all.len(), c.cells.len());
        for (b, cell) in all.iter().zip(&c.cells) {
            let r = cell.table.bcpnn();
            for (x, y) in [
                (b.ic, r.ic),
                (b.variance, r.variance),
                (b.ic025, r.ic025),
                (b.ic975, r.ic975),
            ] {
                assert!(
                    (x - y).abs() <= 1e-12 * y.abs().max(1.0),
                    "round {round} {:?}: {x} vs {y}",
                    cell.table
                );
            }
        }
    }
}

/// The table-wide measures on a table large enough to be shared between threads (60,000 cells)
/// equal the per-table methods, in cell order: PRR and ROR bit for bit, BCPNN to rounding.
#[test]
fn whole_table_measures_on_several_threads_equal_the_per_cell_methods() {
    let mut rng = risk::rng::Xoshiro256::seed(23);
    let rows: Vec<(String, String, u64)> = (0..60_000u32)
        .map(|i| {
            let n = 1 + (rng.next_f64() * rng.next_f64() * 30.0) as u64;
            (
                format!("p{}", i / 40),
                format!("e{}", (i * 7919) % 1_000),
                n,
            )
        })
        .collect();
    let c = Contingency::from_counts(
        rows.iter()
            .map(|(p, e, n)| (p.as_str(), e.as_str(), "", *n)),
        ExpectedMethod::Unstratified,
    )
    .unwrap();
    assert!(c.cells.len() >= 50_000, "{} cells", c.cells.len());
    let (prr, ror, bcpnn) = (c.prr_all(), c.ror_all(), c.bcpnn_all());
    let bits = |i: &risk::signal::Interval| [i.estimate, i.lo, i.hi].map(f64::to_bits);
    for (i, cell) in c.cells.iter().enumerate() {
        let t = cell.table;
        assert_eq!(bits(&prr[i].prr), bits(&t.prr()), "{t:?}");
        assert_eq!(prr[i].chi2_yates.to_bits(), t.chi2_yates().to_bits());
        assert_eq!(prr[i].evans, t.evans());
        assert_eq!(bits(&ror[i]), bits(&t.ror()), "{t:?}");
        let r = t.bcpnn();
        assert!((bcpnn[i].ic - r.ic).abs() <= 1e-12 * r.ic.abs().max(1.0));
        assert!((bcpnn[i].ic025 - r.ic025).abs() <= 1e-12 * r.ic025.abs().max(1.0));
    }
}

/// The table-wide PRR and ROR on CAERS's 17,189 cells equal the per-table methods bit for bit,
/// in cell order.
#[test]
fn prr_all_and_ror_all_equal_the_per_cell_methods() {
    let c = crate::mgps::caers();
    let (prr, ror) = (c.prr_all(), c.ror_all());
    assert_eq!((prr.len(), ror.len()), (c.cells.len(), c.cells.len()));
    // Bit patterns: a table with b = 0 has an infinite ROR and a NaN bound, equal to itself here.
    let bits = |i: &risk::signal::Interval| [i.estimate, i.lo, i.hi].map(f64::to_bits);
    for ((p, r), cell) in prr.iter().zip(&ror).zip(&c.cells) {
        let t = cell.table;
        assert_eq!(bits(&p.prr), bits(&t.prr()), "{t:?}");
        assert_eq!(p.chi2_yates.to_bits(), t.chi2_yates().to_bits(), "{t:?}");
        assert_eq!(p.evans, t.evans(), "{t:?}");
        assert_eq!(bits(r), bits(&t.ror()), "{t:?}");
    }
}
