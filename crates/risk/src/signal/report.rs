//! The signals table: every cell of a contingency table with one method's measures, as CSV.
//!
//! Columns: `product,event,a,b,c,d,expected` then, per method,
//! `prr,prr_lo,prr_hi,chi2_yates,evans` (PRR with its 95 % interval, Yates χ², Evans flag 0/1),
//! `ror,ror_lo,ror_hi` (95 %), `ic,ic025,ic975` (BCPNN, PhViD/vigipy parameterisation) or
//! `ebgm,eb05,eb95` (MGPS with the prior fitted to the table). Numbers are written in Rust's
//! shortest round-trip form; infinities as `Inf`/`-Inf`, undefined values as `NaN`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::contingency::Contingency;
use super::mgps::{FitOptions, MgpsFit, fit_prior};
use crate::RiskError;
use crate::csv::quote;

/// A disproportionality method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Proportional reporting ratio with the Evans criteria.
    Prr,
    /// Reporting odds ratio.
    Ror,
    /// BCPNN information component.
    Bcpnn,
    /// MGPS empirical Bayes geometric mean.
    Mgps,
}

impl Method {
    /// The method-specific column names.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Method::Prr => &["prr", "prr_lo", "prr_hi", "chi2_yates", "evans"],
            Method::Ror => &["ror", "ror_lo", "ror_hi"],
            Method::Bcpnn => &["ic", "ic025", "ic975"],
            Method::Mgps => &["ebgm", "eb05", "eb95"],
        }
    }
}

/// Writes a number for the CSV.
pub fn num(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x == f64::INFINITY {
        out.push_str("Inf");
    } else if x == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{x}");
    }
}

/// The CSV text of all cells with `method`'s measures. For MGPS the prior is fitted first with
/// `mgps` options; the fit is returned.
pub fn signals_csv(
    table: &Contingency,
    method: Method,
    mgps: &FitOptions,
) -> Result<(String, Option<MgpsFit>), RiskError> {
    let pts: Vec<(u64, f64)> = if method == Method::Mgps {
        table
            .cells
            .iter()
            .map(|c| (c.table.a, c.expected))
            .collect()
    } else {
        Vec::new()
    };
    let fit = if method == Method::Mgps {
        Some(fit_prior(&pts, mgps)?)
    } else {
        None
    };
    let scores = fit
        .as_ref()
        .map(|f| f.prior.score_all(&pts))
        .unwrap_or_default();
    let bcpnn = if method == Method::Bcpnn {
        table.bcpnn_all()
    } else {
        Vec::new()
    };
    let mut out = String::with_capacity(table.cells.len() * 96 + 64);
    out.push_str("product,event,a,b,c,d,expected");
    for c in method.columns() {
        out.push(',');
        out.push_str(c);
    }
    out.push('\n');
    for (i, cell) in table.cells.iter().enumerate() {
        let (p, e) = table.names(cell);
        let t = cell.table;
        out.push_str(&quote(p));
        out.push(',');
        out.push_str(&quote(e));
        let _ = write!(out, ",{},{},{},{},", t.a, t.b, t.c, t.d);
        num(&mut out, cell.expected);
        let vals: [f64; 5];
        let n = match method {
            Method::Prr => {
                let prr = t.prr();
                vals = [
                    prr.estimate,
                    prr.lo,
                    prr.hi,
                    t.chi2_yates(),
                    if t.evans() { 1.0 } else { 0.0 },
                ];
                5
            }
            Method::Ror => {
                let r = t.ror();
                vals = [r.estimate, r.lo, r.hi, 0.0, 0.0];
                3
            }
            Method::Bcpnn => {
                let b = bcpnn[i];
                vals = [b.ic, b.ic025, b.ic975, 0.0, 0.0];
                3
            }
            Method::Mgps => {
                let s = scores[i];
                vals = [s.ebgm, s.eb05, s.eb95, 0.0, 0.0];
                3
            }
        };
        for v in &vals[..n] {
            out.push(',');
            num(&mut out, *v);
        }
        out.push('\n');
    }
    Ok((out, fit))
}
