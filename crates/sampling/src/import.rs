//! CSV import of registers and inspection records, from bytes already in memory (no I/O here).
//!
//! Lists inside a cell (products, qualifications, affiliations, conflicts) are separated by `;`.

use serde::Deserialize;

use crate::draw::{Inspector, Target};
use crate::error::DrawError;
use crate::stats::InspectionRecord;

/// Most rows accepted from one CSV document.
pub const ROWS_MAX: usize = 50_000_000;

fn list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn rows<T: for<'de> Deserialize<'de>>(what: &str, data: &[u8]) -> Result<Vec<T>, DrawError> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(data);
    let mut out = Vec::new();
    for (i, r) in rdr.deserialize::<T>().enumerate() {
        if i >= ROWS_MAX {
            return Err(DrawError::invalid(what, "at most 50,000,000 rows"));
        }
        let r = r.map_err(|e| DrawError::Invalid {
            field: format!("{what} line {}: {e}", i + 2),
            rule: "the documented CSV columns",
        })?;
        out.push(r);
    }
    Ok(out)
}

#[derive(Deserialize)]
struct TargetRow {
    id: String,
    organisation: String,
    #[serde(default)]
    products: String,
    region: String,
    industry: String,
    risk_class: String,
}

/// Targets CSV: `id,organisation,products,region,industry,risk_class`.
pub fn targets_from_csv(data: &[u8]) -> Result<Vec<Target>, DrawError> {
    Ok(rows::<TargetRow>("targets", data)?
        .into_iter()
        .map(|r| Target {
            id: r.id,
            organisation: r.organisation,
            products: list(&r.products),
            region: r.region,
            industry: r.industry,
            risk_class: r.risk_class,
        })
        .collect())
}

#[derive(Deserialize)]
struct InspectorRow {
    id: String,
    region: String,
    #[serde(default)]
    qualifications: String,
    #[serde(default)]
    affiliations: String,
    #[serde(default)]
    conflicts: String,
}

/// Inspectors CSV: `id,region,qualifications,affiliations,conflicts`.
pub fn inspectors_from_csv(data: &[u8]) -> Result<Vec<Inspector>, DrawError> {
    Ok(rows::<InspectorRow>("inspectors", data)?
        .into_iter()
        .map(|r| Inspector {
            id: r.id,
            region: r.region,
            qualifications: list(&r.qualifications),
            affiliations: list(&r.affiliations),
            conflicts: list(&r.conflicts),
        })
        .collect())
}

/// Inspection records CSV:
/// `category,region,enterprise_size,date,outcome,items_tested,nonconformities`
/// with `outcome` one of `pass`, `fail`, `nottested`.
pub fn records_from_csv(data: &[u8]) -> Result<Vec<InspectionRecord>, DrawError> {
    rows::<InspectionRecord>("records", data)
}
