//! GS1 identifiers (pure, no I/O).
//!
//! Contract used by other crates (keep these signatures):
//! - [`normalize_id`]: any identifier URI -> its canonical form used for indexing, matching and hashing.
//! - [`canonical_dl`]: an EPC URN (id / class / idpat without wildcards) or any GS1 Digital Link ->
//!   the canonical Digital Link on `https://id.gs1.org/`, or `None` if it is not a GS1 identifier.
//! - [`parse_id_pattern`]: a query value (EPC URN, `urn:epc:idpat:…` with `*`, Digital Link or any
//!   URI) -> exact canonical id or a canonical prefix.

/// Canonical form of an identifier: `canonical_dl(uri)` when it is a GS1 identifier, otherwise the
/// input unchanged.
pub fn normalize_id(uri: &str) -> String {
    canonical_dl(uri).unwrap_or_else(|| uri.to_string())
}

/// See the crate docs.
pub fn canonical_dl(_uri: &str) -> Option<String> {
    todo!("implemented by the gs1 work")
}

/// A query identifier: exact or prefix (both in canonical form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdPattern {
    Exact(String),
    Prefix(String),
}

/// See the crate docs. Errors name the rule that was broken.
pub fn parse_id_pattern(_s: &str) -> Result<IdPattern, String> {
    todo!("implemented by the gs1 work")
}
