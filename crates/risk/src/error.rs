use thiserror::Error;

/// Errors of the risk crate. Each names the field (or input position) and the rule broken.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RiskError {
    /// A field of the input violates a rule.
    #[error("{field}: {rule}")]
    Invalid {
        /// Path of the offending field, e.g. `scenarios[1].steps[0].probability`.
        field: String,
        /// The rule that was broken.
        rule: String,
    },
    /// An input exceeds a documented limit.
    #[error("{field}: more than {limit} {what}")]
    Limit {
        /// Which input.
        field: String,
        /// The limit.
        limit: usize,
        /// What was counted.
        what: &'static str,
    },
    /// A CSV document could not be parsed.
    #[error("line {line}: {rule}")]
    Csv {
        /// 1-based line number.
        line: usize,
        /// The rule that was broken.
        rule: String,
    },
    /// A numerical procedure did not converge.
    #[error("{what}: did not converge ({detail})")]
    NoConvergence {
        /// The procedure.
        what: &'static str,
        /// Details.
        detail: String,
    },
}

impl RiskError {
    pub(crate) fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        RiskError::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }
}
