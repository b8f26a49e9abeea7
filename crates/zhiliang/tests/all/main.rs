//! Integration tests of the zhiliang binary, in one test binary: the real executable
//! (`CARGO_BIN_EXE_zhiliang`) driven over its command line and plain HTTP/1.1.

mod common;

mod cli;
mod ledger;
mod pg;
