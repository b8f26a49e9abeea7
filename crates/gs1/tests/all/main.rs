//! Integration tests of the gs1 crate against the reference data.

mod canonical;
mod keys;
mod linters;
mod props;
mod syntax_engine;
mod translate;

/// Path of a file under the shared reference data.
pub fn reference(path: &str) -> String {
    format!(
        "{}/../../../shared/reference-data/{path}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Reads a reference file.
pub fn read_reference(path: &str) -> String {
    std::fs::read_to_string(reference(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}
