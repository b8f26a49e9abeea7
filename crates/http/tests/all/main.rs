//! All integration tests of zhiliang-http, in one binary.
