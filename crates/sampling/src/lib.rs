//! ISO 2859-1 / GB/T 2828.1 sampling plans, OC curves, verifiable double-random draws and
//! pass-rate statistics.
//!
//! Architecture invariant: this crate is pure. It reads no files, no clock and no global
//! random source; every random choice comes from an explicit input (a beacon value, lottery
//! numbers, a committed seed) through a documented SHA-256 hash stream. See `docs/sampling.md`.

pub mod chart;
pub mod draw;
pub mod error;
pub mod import;
pub mod oc;
pub mod plans;
pub mod rfc3797;
pub mod spot;
pub mod stats;
pub mod switching;
pub mod tables;
pub mod tables_gb2828;

pub use error::{DrawError, PlanError};
pub use plans::{
    Aql, CodeLetter, DoublePlan, Inspection, Level, PlanRequest, PlanResult, Scheme, SinglePlan,
    Standard, plan,
};
