//! Signal detection (disproportionality analysis) over product × event contingency tables.
//!
//! For every (product, event) cell the 2×2 table is
//!
//! |               | event | other events |
//! |---------------|-------|--------------|
//! | product       | a     | b            |
//! | other products| c     | d            |
//!
//! and the expected count is E = (a+b)(a+c)/N (or a sum over strata, see [`ExpectedMethod`]).
//! [`measures`] holds the per-table statistics (PRR with the Evans criteria, χ², ROR, BCPNN IC,
//! shrinkage IC), [`mgps`] the empirical-Bayes MGPS with its fitted prior, and [`contingency`]
//! builds tables from summed pair counts or from individual reports.

pub mod contingency;
pub mod measures;
pub mod mgps;
mod optimize;
mod par;
pub mod report;

pub use contingency::{Cell, Contingency, ExpectedMethod, Report};
pub use measures::{Bcpnn, Interval, PrrSignal, Table2x2};
pub use mgps::{FitOptions, MgpsFit, MgpsPrior, MgpsScore};
pub use optimize::{Bfgs, NelderMead, NelderMeadResult};
pub use report::{Method, signals_csv};
