//! All integration tests of zhiliang-http, in one binary. The app runs in-process
//! (`tower::ServiceExt::oneshot`) on a real `SqliteStore` in a temporary directory.

mod common;

mod api_recall;
mod api_risk;
mod api_sampling;
mod capture;
mod errors;
mod isolation;
mod query;
