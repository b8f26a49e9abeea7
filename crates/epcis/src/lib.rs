//! GS1 EPCIS 2.0 (pure, no I/O, no HTTP types).
//!
//! Events are kept in their JSON-LD form (`serde_json::Value`, key order preserved) so that user
//! extensions survive losslessly; XML is converted to and from that form.

pub mod document;
pub mod hash;
pub mod index;
pub mod query;
pub mod validate;
pub mod xml;
