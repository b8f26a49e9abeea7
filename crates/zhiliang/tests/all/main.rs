//! Integration tests of the zhiliang binary, in one test binary.
