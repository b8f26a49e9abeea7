//! Risk assessment (EU 2019/417), signal detection (PRR, ROR, BCPNN, MGPS), early warning (pure)
