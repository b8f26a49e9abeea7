//! Integration tests of the demo generator.
mod generate;
