//! Typed errors. Each names the field (or table cell) and the rule that was broken.

use thiserror::Error;

/// Errors of plan look-up, OC computation, switching and statistics.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PlanError {
    #[error("{field}: must be {rule}")]
    Invalid {
        field: &'static str,
        rule: &'static str,
    },
    #[error("no plan at code letter {letter}, AQL {aql}: the table has a gap there")]
    TableGap { letter: char, aql: &'static str },
    #[error("{what} not available: {why}")]
    NotAvailable {
        what: &'static str,
        why: &'static str,
    },
    #[error("inspection is discontinued for this product and supplier: resume it first")]
    Discontinued,
}

/// Errors of the double-random draw.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DrawError {
    #[error("{field}: must be {rule}")]
    Invalid { field: String, rule: &'static str },
    #[error("{field}: duplicate id {id}")]
    Duplicate { field: &'static str, id: String },
    #[error("seed does not match the published seed commitment")]
    SeedMismatch,
}

impl DrawError {
    pub(crate) fn invalid(field: impl Into<String>, rule: &'static str) -> Self {
        DrawError::Invalid {
            field: field.into(),
            rule,
        }
    }
}
