//! The conformance suite every backend must pass. Backends call [`run_all`] (or the single
//! checks) from their own tests with a fresh, empty store.
