//! Integration tests of trace and recall.
mod chains;
mod ift;
mod mem;
mod naive;
mod property;
mod stores;
