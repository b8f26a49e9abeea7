//! All integration tests of store-sqlite, in one binary.
mod sqlite;
