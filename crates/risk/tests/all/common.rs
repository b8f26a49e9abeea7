//! Helpers: reference-data paths and a CSV table reader built on the crate's own parser.

use std::collections::HashMap;

pub const REF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference-data/risk"
);

pub fn read(rel: &str) -> String {
    let path = format!("{REF}/{rel}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn read_gz(rel: &str) -> String {
    use std::io::Read;
    let path = format!("{REF}/{rel}");
    let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut s = String::new();
    flate2::read::GzDecoder::new(f)
        .read_to_string(&mut s)
        .expect("gzip");
    s
}

/// A CSV file as a header index and rows of strings.
pub struct Table {
    pub header: HashMap<String, usize>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn parse(text: &str) -> Table {
        let mut it = risk::csv::records(text);
        let (_, h) = it.next().expect("header").expect("header parses");
        let header = h.into_iter().enumerate().map(|(i, n)| (n, i)).collect();
        let rows = it.map(|r| r.expect("row parses").1).collect();
        Table { header, rows }
    }
    pub fn get<'a>(&self, row: &'a [String], col: &str) -> &'a str {
        &row[*self
            .header
            .get(col)
            .unwrap_or_else(|| panic!("no column {col}"))]
    }
    pub fn f(&self, row: &[String], col: &str) -> f64 {
        let s = self.get(row, col);
        match s {
            "Inf" | "inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" | "NA" | "nan" => f64::NAN,
            _ => s
                .parse()
                .unwrap_or_else(|_| panic!("{col}: '{s}' is not a number")),
        }
    }
}

/// Relative closeness (absolute below 1e-12 in magnitude); NaN equals NaN, inf equals inf.
pub fn close(a: f64, b: f64, rel: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= rel * b.abs().max(1e-12)
}

#[track_caller]
pub fn assert_close(what: &str, got: f64, want: f64, rel: f64) {
    assert!(
        close(got, want, rel),
        "{what}: got {got}, want {want} (rel {rel})"
    );
}
