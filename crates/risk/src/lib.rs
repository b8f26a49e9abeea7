//! Risk assessment (EU 2019/417), signal detection (PRR, ROR, BCPNN, MGPS), early warning (pure).
//!
//! Architecture invariant: this crate does no I/O. It reads no files, no clock and no global random
//! source: callers hand in data, and Monte Carlo procedures take an explicit seed. Every collection
//! that comes from outside is bounded by a limit in [`limits`].
//!
//! - [`assessment`]: the EU Safety Gate (RAPEX) risk assessment of Commission Implementing Decision
//!   (EU) 2019/417: injury scenarios, severity, probability bands, the risk matrix, sensitivity.
//! - [`signal`]: disproportionality over product × event contingency tables: PRR (Evans), ROR,
//!   BCPNN information component, shrinkage IC, MGPS (EBGM with a fitted two-gamma-mixture prior).
//! - [`warning`]: early warning over count series: EARS C1/C2/C3, CUSUM, EWMA, Farrington flexible,
//!   and the Kulldorff Poisson space-time scan statistic.
//! - [`spc`]: Shewhart control charts (x̄/R/S, individuals, p/np/c/u) and the Nelson rules.
//! - [`csv`]: a small pure CSV record parser (RFC 4180 quoting) for report imports.

pub mod assessment;
pub mod csv;
mod error;
pub mod limits;
pub mod rng;
pub mod signal;
pub mod spc;
pub mod special;
pub mod warning;

pub use error::RiskError;
