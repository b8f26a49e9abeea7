//! Early warning over count series (per product category, hazard, region or enterprise).
//!
//! - [`ears`]: the CDC Early Aberration Reporting System C1, C2 and C3.
//! - [`cusum`]: one-sided CUSUM and EWMA charts with their zero-state average run lengths.
//! - [`farrington`]: the Farrington flexible algorithm (quasi-Poisson GLM with trend, reweighting
//!   and the 2/3-power threshold), as in R `surveillance::farringtonFlexible`.
//! - [`scan`]: the Kulldorff Poisson space-time scan statistic with a Monte Carlo p-value.

pub mod cusum;
pub mod ears;
pub mod farrington;
mod glm;
pub mod scan;

use crate::RiskError;
use crate::limits::MAX_SERIES_LEN;

pub(crate) fn check_series(field: &str, series: &[f64]) -> Result<(), RiskError> {
    if series.len() > MAX_SERIES_LEN {
        return Err(RiskError::Limit {
            field: field.into(),
            limit: MAX_SERIES_LEN,
            what: "points",
        });
    }
    if let Some(i) = series.iter().position(|x| !x.is_finite() || *x < 0.0) {
        return Err(RiskError::invalid(
            format!("{field}[{i}]"),
            "counts must be finite and non-negative",
        ));
    }
    Ok(())
}
