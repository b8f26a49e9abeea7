//! Deterministic generator of realistic multi-tier supply-chain EPCIS 2.0 data
