//! Switching rules of ISO 2859-1:1999 / GB/T 2828.1-2012 clause 9 as a state machine, one per
//! product and supplier.
//!
//! - normal -> tightened: 2 lots not accepted among 5 or fewer consecutive lots (original inspection);
//! - tightened -> normal: 5 consecutive lots accepted;
//! - normal -> reduced: switching score >= 30, production steady, and the responsible authority approves;
//! - reduced -> normal: a lot not accepted, or production irregular;
//! - tightened -> discontinued: the number of lots not accepted in the current run of tightened
//!   inspection reaches 5; `resume` (after corrective action) restarts at tightened.
//!
//! Switching score (9.3.3.2), kept during normal inspection and set to 0 when normal starts:
//! single sampling with Ac >= 2: +3 if the lot would also have been accepted with the AQL one step
//! tighter (the next smaller acceptance number of the table's series at the same sample size),
//! otherwise reset to 0; single with Ac 0 or 1: +2 if accepted, otherwise reset; double sampling:
//! +3 if accepted after the first sample, otherwise reset.

use serde::{Deserialize, Serialize};

use crate::error::PlanError;
use crate::plans::{
    Aql, DoublePlan, Inspection, Level, PlanRequest, PlanResult, Scheme, SinglePlan, Standard, plan,
};

/// State of a product/supplier pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Normal,
    Tightened,
    Reduced,
    Discontinued,
}

/// Switching score threshold for normal -> reduced.
pub const SWITCHING_SCORE_LIMIT: u32 = 30;

/// Acceptance-number series of the normal tables (one step per AQL column at a fixed sample size).
const AC_SERIES: [u32; 11] = [0, 1, 2, 3, 5, 7, 10, 14, 21, 30, 44];

/// The result of inspecting one lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotResult {
    /// Size of this lot (also used for the next plan).
    pub lot_size: u64,
    /// Nonconforming units (or nonconformities) in the first (or only) sample.
    pub first_sample: u32,
    /// In the second sample of a double plan, if one was drawn.
    pub second_sample: Option<u32>,
    /// Production is steady (required for reduced; `false` ends reduced inspection).
    pub production_steady: bool,
    /// The responsible authority approves reduced inspection.
    pub authority_approves_reduced: bool,
}

/// Why the state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    TwoOfFiveNotAccepted,
    FiveConsecutiveAccepted,
    SwitchingScoreReached,
    ReducedLotNotAccepted,
    BetweenAcAndReOnReduced,
    ProductionIrregular,
    FiveNotAcceptedOnTightened,
    Resumed,
}

/// What `record_lot` returns: whether the lot was accepted, the state change and the next plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextPlan {
    pub lot_accepted: bool,
    pub state: State,
    pub switching_score: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transition: Option<(State, State, Reason)>,
    /// `None` when inspection is discontinued.
    pub plan: Option<PlanResult>,
}

/// Switching-rule state for one product and supplier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Switching {
    pub product: String,
    pub supplier: String,
    pub standard: Standard,
    pub level: Level,
    pub aql_index: usize,
    pub scheme: Scheme,
    pub state: State,
    pub score: u32,
    /// Acceptance of the last (up to 5) lots in the current normal run, newest last.
    recent_normal: Vec<bool>,
    consecutive_accepted_tightened: u32,
    not_accepted_tightened: u32,
}

impl Switching {
    /// Start at normal inspection (ISO 2859-1 9.2).
    pub fn new(
        product: impl Into<String>,
        supplier: impl Into<String>,
        standard: Standard,
        level: Level,
        aql: Aql,
        scheme: Scheme,
    ) -> Self {
        Switching {
            product: product.into(),
            supplier: supplier.into(),
            standard,
            level,
            aql_index: aql.index(),
            scheme,
            state: State::Normal,
            score: 0,
            recent_normal: Vec::new(),
            consecutive_accepted_tightened: 0,
            not_accepted_tightened: 0,
        }
    }

    fn aql(&self) -> Result<Aql, PlanError> {
        Aql::from_index(self.aql_index).ok_or(PlanError::Invalid {
            field: "aql_index",
            rule: "0..26",
        })
    }

    /// The plan for a lot of this size in the current state.
    pub fn current_plan(&self, lot_size: u64) -> Result<Option<PlanResult>, PlanError> {
        let inspection = match self.state {
            State::Normal => Inspection::Normal,
            State::Tightened => Inspection::Tightened,
            State::Reduced => Inspection::Reduced,
            State::Discontinued => return Ok(None),
        };
        let scheme = match (self.standard, inspection, self.scheme) {
            // GB/T 2828.1 reduced double plans are not in the tables here: use single.
            (Standard::Gb2828, Inspection::Reduced, Scheme::Double) => Scheme::Single,
            (_, _, s) => s,
        };
        plan(&PlanRequest {
            standard: self.standard,
            inspection,
            scheme,
            level: self.level,
            aql: self.aql()?,
            lot_size,
        })
        .map(Some)
    }

    fn enter(&mut self, to: State) {
        self.state = to;
        self.recent_normal.clear();
        self.consecutive_accepted_tightened = 0;
        self.not_accepted_tightened = 0;
        if to == State::Normal {
            self.score = 0;
        }
    }

    /// Restart after discontinuation (supplier's corrective action, authority's agreement): tightened.
    pub fn resume(&mut self) -> Result<(), PlanError> {
        if self.state != State::Discontinued {
            return Err(PlanError::Invalid {
                field: "state",
                rule: "discontinued to resume",
            });
        }
        self.enter(State::Tightened);
        Ok(())
    }

    /// Judge a lot with the current plan, apply the switching rules and return the next plan.
    pub fn record_lot(&mut self, lot: &LotResult) -> Result<NextPlan, PlanError> {
        let current = self
            .current_plan(lot.lot_size)?
            .ok_or(PlanError::Discontinued)?;
        let (accepted, first_stage_accept) = judge(&current, lot)?;
        let from = self.state;
        let mut reason = None;
        match self.state {
            State::Normal => {
                self.update_score(&current, lot, accepted, first_stage_accept);
                self.recent_normal.push(accepted);
                if self.recent_normal.len() > 5 {
                    self.recent_normal.remove(0);
                }
                if self.recent_normal.iter().filter(|a| !**a).count() >= 2 {
                    reason = Some((State::Tightened, Reason::TwoOfFiveNotAccepted));
                } else if self.score >= SWITCHING_SCORE_LIMIT
                    && lot.production_steady
                    && lot.authority_approves_reduced
                {
                    reason = Some((State::Reduced, Reason::SwitchingScoreReached));
                }
            }
            State::Tightened => {
                if accepted {
                    self.consecutive_accepted_tightened += 1;
                } else {
                    self.consecutive_accepted_tightened = 0;
                    self.not_accepted_tightened += 1;
                }
                if self.not_accepted_tightened >= 5 {
                    reason = Some((State::Discontinued, Reason::FiveNotAcceptedOnTightened));
                } else if self.consecutive_accepted_tightened >= 5 {
                    reason = Some((State::Normal, Reason::FiveConsecutiveAccepted));
                }
            }
            State::Reduced => {
                let above_ac = current.single.is_some_and(|p| lot.first_sample > p.ac);
                if accepted && above_ac {
                    reason = Some((State::Normal, Reason::BetweenAcAndReOnReduced));
                } else if !accepted {
                    reason = Some((State::Normal, Reason::ReducedLotNotAccepted));
                } else if !lot.production_steady {
                    reason = Some((State::Normal, Reason::ProductionIrregular));
                }
            }
            State::Discontinued => return Err(PlanError::Discontinued),
        }
        let transition = reason.map(|(to, why)| {
            self.enter(to);
            (from, to, why)
        });
        Ok(NextPlan {
            lot_accepted: accepted,
            state: self.state,
            switching_score: self.score,
            transition,
            plan: self.current_plan(lot.lot_size)?,
        })
    }

    fn update_score(
        &mut self,
        current: &PlanResult,
        lot: &LotResult,
        accepted: bool,
        first_stage_accept: bool,
    ) {
        if current.double.is_some() {
            self.score = if first_stage_accept {
                self.score + 3
            } else {
                0
            };
            return;
        }
        if let Some(SinglePlan { ac, .. }) = current.single {
            if ac >= 2 {
                let tighter = AC_SERIES
                    .iter()
                    .rev()
                    .find(|&&x| x < ac)
                    .copied()
                    .unwrap_or(0);
                self.score = if lot.first_sample <= tighter {
                    self.score + 3
                } else {
                    0
                };
            } else {
                self.score = if accepted { self.score + 2 } else { 0 };
            }
        }
    }
}

/// Judge a lot against a plan: (accepted, accepted at the first stage).
pub fn judge(current: &PlanResult, lot: &LotResult) -> Result<(bool, bool), PlanError> {
    if let Some(SinglePlan { n, re, .. }) = current.single {
        if lot.first_sample > n {
            return Err(PlanError::Invalid {
                field: "first_sample",
                rule: "at most the sample size",
            });
        }
        // Z1.4 reduced plans may have Re > Ac + 1: between them the lot is accepted
        // (and normal inspection reinstated, see `record_lot`).
        let a = lot.first_sample < re;
        return Ok((a, a));
    }
    if let Some(DoublePlan {
        n1,
        n2,
        ac1,
        re1,
        ac2,
        ..
    }) = current.double
    {
        if lot.first_sample > n1 {
            return Err(PlanError::Invalid {
                field: "first_sample",
                rule: "at most n1",
            });
        }
        if lot.first_sample <= ac1 {
            return Ok((true, true));
        }
        if lot.first_sample >= re1 {
            return Ok((false, false));
        }
        let d2 = lot.second_sample.ok_or(PlanError::Invalid {
            field: "second_sample",
            rule: "given when the first sample falls between Ac1 and Re1",
        })?;
        if d2 > n2 {
            return Err(PlanError::Invalid {
                field: "second_sample",
                rule: "at most n2",
            });
        }
        return Ok((lot.first_sample + d2 <= ac2, false));
    }
    Err(PlanError::Invalid {
        field: "plan",
        rule: "single or double",
    })
}
