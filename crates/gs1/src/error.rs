//! Errors of the gs1 crate.

/// Why an identifier was rejected. Every variant names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Gs1Error {
    /// A component broke a syntax rule.
    #[error("{field}: {rule}")]
    Invalid {
        /// The component (e.g. `GTIN`, `serial`, `GS1 Company Prefix`).
        field: &'static str,
        /// The rule it broke.
        rule: String,
    },
    /// The check digit/character does not match.
    #[error("{field}: check digit is {found}, expected {expected}")]
    CheckDigit {
        /// The key.
        field: &'static str,
        /// The character found.
        found: char,
        /// The character computed.
        expected: char,
    },
    /// Input longer than the limit.
    #[error("{field}: longer than {max} bytes")]
    TooLong {
        /// What was too long.
        field: &'static str,
        /// The limit.
        max: usize,
    },
}

impl Gs1Error {
    pub(crate) fn invalid(field: &'static str, rule: impl Into<String>) -> Self {
        Gs1Error::Invalid {
            field,
            rule: rule.into(),
        }
    }
}
