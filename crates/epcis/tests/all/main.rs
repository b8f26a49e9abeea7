//! All integration tests of the epcis crate, in one binary.
mod hash;
mod index_query;
mod xml_validate;
