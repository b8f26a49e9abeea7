//! All integration tests of the sampling crate (one test binary, one module per topic).

mod chart;
mod draw;
mod oc;
mod rfc3797;
mod spot;
mod stats;
mod switching;
mod tables;

use std::collections::HashMap;

/// Rows of a reference CSV file in `shared/reference-data/sampling/`, as header -> value maps.
pub fn read(name: &str) -> Vec<HashMap<String, String>> {
    let path = format!(
        "{}/../../../shared/reference-data/sampling/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut rdr = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let headers = rdr.headers().expect("headers").clone();
    rdr.records()
        .map(|r| {
            let r = r.expect("record");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

pub fn f(row: &HashMap<String, String>, k: &str) -> f64 {
    row[k]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{k}={:?}", row[k]))
}

pub fn u(row: &HashMap<String, String>, k: &str) -> u64 {
    row[k]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{k}={:?}", row[k]))
}

/// Relative comparison with the reference data's tolerance (1e-9), absolute near zero.
#[track_caller]
pub fn close(got: f64, want: f64, rel: f64, what: &str) {
    let ok = if want == 0.0 {
        got.abs() <= 1e-15
    } else {
        ((got - want) / want).abs() <= rel || (got - want).abs() <= 1e-15
    };
    assert!(ok, "{what}: got {got:e}, want {want:e}");
}
