//! National supervision spot checks (国家监督抽查): not AQL sampling.
//!
//! A few units are taken from one batch and split into test units and reserve units (备样, kept
//! sealed for a re-inspection on objection). Every test item is judged against its standard
//! clause; the batch is nonconforming as soon as one item fails. A re-inspection of the reserve
//! units, when granted, replaces the result of the items it covers.

use serde::{Deserialize, Serialize};

use crate::error::PlanError;

/// How many units are drawn from a batch and how they are split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpotCheckPlan {
    pub test_units: u32,
    pub reserve_units: u32,
    /// Items tested, each with its standard and clause (e.g. "GB 2763-2021 4.1").
    pub items: Vec<TestItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestItem {
    pub name: String,
    pub standard_clause: String,
}

/// Limits on outside input.
pub const UNITS_MAX: u32 = 10_000;
pub const ITEMS_MAX: usize = 1_000;

impl SpotCheckPlan {
    pub fn new(
        test_units: u32,
        reserve_units: u32,
        items: Vec<TestItem>,
    ) -> Result<Self, PlanError> {
        if test_units == 0 || test_units > UNITS_MAX {
            return Err(PlanError::Invalid {
                field: "test_units",
                rule: "between 1 and 10000",
            });
        }
        if reserve_units > UNITS_MAX {
            return Err(PlanError::Invalid {
                field: "reserve_units",
                rule: "at most 10000",
            });
        }
        if items.is_empty() || items.len() > ITEMS_MAX {
            return Err(PlanError::Invalid {
                field: "items",
                rule: "1 to 1000 test items",
            });
        }
        Ok(SpotCheckPlan {
            test_units,
            reserve_units,
            items,
        })
    }

    /// Units taken from the batch in all.
    pub fn units_sampled(&self) -> u32 {
        self.test_units + self.reserve_units
    }

    /// Judge a batch: `failed_units[i]` is the number of test units failing item i.
    /// `reinspection` (item index, failed units on the reserve) replaces those items' results.
    pub fn judge(
        &self,
        failed_units: &[u32],
        reinspection: &[(usize, u32)],
    ) -> Result<SpotCheckOutcome, PlanError> {
        if failed_units.len() != self.items.len() {
            return Err(PlanError::Invalid {
                field: "failed_units",
                rule: "one count per test item",
            });
        }
        let mut per_item: Vec<u32> = failed_units.to_vec();
        for &(i, f) in reinspection {
            let slot = per_item.get_mut(i).ok_or(PlanError::Invalid {
                field: "reinspection.item",
                rule: "an index of a test item",
            })?;
            if f > self.reserve_units {
                return Err(PlanError::Invalid {
                    field: "reinspection.failed",
                    rule: "at most the reserve units",
                });
            }
            *slot = f;
        }
        if per_item
            .iter()
            .any(|&f| f > self.test_units.max(self.reserve_units))
        {
            return Err(PlanError::Invalid {
                field: "failed_units",
                rule: "at most the test units",
            });
        }
        let failed_items: Vec<String> = per_item
            .iter()
            .zip(&self.items)
            .filter(|(f, _)| **f > 0)
            .map(|(_, it)| it.name.clone())
            .collect();
        Ok(SpotCheckOutcome {
            conforming: failed_items.is_empty(),
            failed_items,
        })
    }

    /// Probability that a batch passes when each item independently makes a unit fail with
    /// probability `p_item[i]`: every test unit must pass every item.
    pub fn pass_probability(&self, p_item: &[f64]) -> Result<f64, PlanError> {
        if p_item.len() != self.items.len() {
            return Err(PlanError::Invalid {
                field: "p_item",
                rule: "one probability per test item",
            });
        }
        let mut lp = 0.0;
        for &p in p_item {
            if !(0.0..=1.0).contains(&p) {
                return Err(PlanError::Invalid {
                    field: "p_item",
                    rule: "probabilities in [0, 1]",
                });
            }
            lp += self.test_units as f64 * (-p).ln_1p();
        }
        Ok(lp.exp())
    }
}

/// Result of one spot check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpotCheckOutcome {
    pub conforming: bool,
    pub failed_items: Vec<String>,
}
