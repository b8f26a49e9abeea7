//! Integration tests of the risk crate (one binary, one module per topic).

mod assessment;
mod charts;
mod common;
mod contingency;
mod csv_parser;
mod ears;
mod farrington;
mod mgps;
mod properties;
mod report;
mod scan;
mod spc;
mod two_by_two;
