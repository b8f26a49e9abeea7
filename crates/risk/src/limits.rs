//! Limits on everything that comes from outside.

/// Injury scenarios per assessment.
pub const MAX_SCENARIOS: usize = 64;
/// Steps per injury scenario.
pub const MAX_STEPS: usize = 32;
/// Length of any free-text field in an assessment, in bytes.
pub const MAX_TEXT_BYTES: usize = 4096;
/// Distinct product × event cells in one contingency table.
pub const MAX_CELLS: usize = 20_000_000;
/// Points in a count series.
pub const MAX_SERIES_LEN: usize = 1_000_000;
/// Regions in a scan.
pub const MAX_REGIONS: usize = 10_000;
/// Monte Carlo replicates in a scan.
pub const MAX_REPLICATES: usize = 100_000;
/// Fields per CSV record.
pub const MAX_CSV_FIELDS: usize = 256;
/// Bytes per CSV field.
pub const MAX_CSV_FIELD_BYTES: usize = 64 * 1024;
