//! ISO 2859-1 / GB/T 2828.1 sampling plans, OC curves, verifiable double-random draws, pass-rate statistics (pure)
