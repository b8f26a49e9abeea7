//! Recall scope: a pure function of a forward trace.
//!
//! Every object of the trace is affected. Quantities come from each object's custody chain:
//! a holder (organisation and location) *receives* an object when it produces it (commissioning,
//! transformation output) or receives it (`receiving`, `arriving`, `accepting`, also when the
//! object came inside a container); it *stops holding* it when it ships it, sells it, destroys
//! it, dispenses it or consumes it as a transformation input. Serials count 1 each; lots count
//! the quantities their events state, per unit of measure. A lot whose serials are in the scope
//! (linked by ILMD) is not counted again. Tiers: objects are taken in trace order (start objects
//! first, then by depth); where an object is made or first seen, the holder keeps the tier it
//! already has (from the inputs it made the object of) or 0; a holder that receives the object
//! from another is one tier further than the holder that last let it go; a holder's tier is the
//! smallest it gets from any object.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::{CustodyStep, Direction, EdgeKind, ObjectKind, Trace};

/// An amount in one unit of measure (`None`: a count of instances).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Amount {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uom: Option<String>,
    pub quantity: f64,
}

/// One holder of affected goods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Holder {
    pub organisation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub tier: u32,
    /// Everything it received (or made), per unit.
    pub received: Vec<Amount>,
    /// What it still holds: received minus shipped on, sold, destroyed, returned or consumed.
    pub held: Vec<Amount>,
    /// The affected serials and lots it still holds.
    pub objects_held: Vec<String>,
}

/// Holders of one tier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierGroup {
    pub tier: u32,
    pub holders: Vec<Holder>,
    pub received: Vec<Amount>,
    pub held: Vec<Amount>,
}

/// The computed scope of a recall.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecallScope {
    pub lots: Vec<String>,
    pub serials: Vec<String>,
    pub containers: Vec<String>,
    pub tiers: Vec<TierGroup>,
    /// True when the trace behind the scope was cut short by a budget.
    pub truncated: bool,
}

impl RecallScope {
    pub fn holders(&self) -> impl Iterator<Item = &Holder> {
        self.tiers.iter().flat_map(|t| t.holders.iter())
    }
}

const GAIN_STEPS: &[&str] = &["receiving", "arriving", "accepting"];
const MADE_STEPS: &[&str] = &["commissioning", "creating_class_instance"];
const LOSS_STEPS: &[&str] = &[
    "shipping",
    "departing",
    "retail_selling",
    "destroying",
    "dispensing",
    "decommissioning",
];
const LOSS_DISPOSITIONS: &[&str] = &["retail_sold", "destroyed", "dispensed", "disposed"];

/// What one custody step does to the holder's stock: +1 gain, -1 loss, 0 nothing.
pub fn effect(step: &CustodyStep) -> i8 {
    effect_of(
        step.biz_step.as_deref(),
        step.disposition.as_deref(),
        step.role,
    )
}

fn effect_of(biz_step: Option<&str>, disposition: Option<&str>, role: &str) -> i8 {
    let bs = biz_step.unwrap_or("");
    let disp = disposition.unwrap_or("");
    if role == "input" || LOSS_STEPS.contains(&bs) || LOSS_DISPOSITIONS.contains(&disp) {
        return -1;
    }
    if GAIN_STEPS.contains(&bs)
        || role == "output"
        || (MADE_STEPS.contains(&bs) && role == "object")
    {
        return 1;
    }
    0
}

/// What the scope reads of one custody step. `K` identifies the holder (organisation and
/// location): their names, or interned symbols of them.
pub(crate) struct StepView<'a, K> {
    pub holder: K,
    pub biz_step: Option<&'a str>,
    pub disposition: Option<&'a str>,
    pub role: &'static str,
    pub quantity: Option<(f64, Option<&'a str>)>,
}

/// What the scope reads of one object: its id, kind and custody chain in time order.
pub(crate) struct ObjView<'a, K> {
    pub id: &'a str,
    pub kind: ObjectKind,
    pub steps: Vec<StepView<'a, K>>,
}

/// A holder's names: organisation and location.
type HolderName<'a> = (&'a str, Option<&'a str>);

#[derive(Default)]
struct Acc<'a> {
    received: BTreeMap<Option<&'a str>, f64>,
    held: BTreeMap<Option<&'a str>, f64>,
    objects_held: BTreeSet<&'a str>,
    tier: u32,
}

fn amounts(m: &BTreeMap<Option<&str>, f64>) -> Vec<Amount> {
    m.iter()
        .map(|(uom, q)| Amount {
            uom: uom.map(str::to_string),
            quantity: q.max(0.0),
        })
        .collect()
}

/// The recall scope of a forward trace (for a backward trace the holders are those of the
/// ancestry, which is rarely what a recall wants; the function does not care).
/// [`crate::recall_scope`] computes the same straight from the store, without the trace.
pub fn scope(trace: &Trace) -> RecallScope {
    // Lots whose serials carry the counts.
    let serialised_lots: BTreeSet<&str> = trace
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Lot)
        .map(|e| {
            if trace.direction == Direction::Forward {
                e.from.as_str()
            } else {
                e.to.as_str()
            }
        })
        .collect();
    let views = trace.objects.iter().map(|o| ObjView {
        id: &o.id,
        kind: o.kind,
        steps: o
            .custody
            .iter()
            .map(|s| StepView {
                holder: (s.holder.as_str(), s.location.as_deref()),
                biz_step: s.biz_step.as_deref(),
                disposition: s.disposition.as_deref(),
                role: s.role,
                quantity: s.quantity.as_ref().map(|q| (q.quantity, q.uom.as_deref())),
            })
            .collect(),
    });
    scope_of_views(views, &serialised_lots, trace.truncated, |k| k)
}

/// The scope of objects in trace order (start objects first, then by depth and id).
/// `name` gives a holder key's names (holders are listed in name order).
pub(crate) fn scope_of_views<'a, K: Ord + Copy>(
    objects: impl Iterator<Item = ObjView<'a, K>>,
    serialised_lots: &BTreeSet<&str>,
    truncated: bool,
    name: impl Fn(K) -> HolderName<'a>,
) -> RecallScope {
    let mut lots = Vec::new();
    let mut serials = Vec::new();
    let mut containers = Vec::new();
    let mut acc: BTreeMap<K, Acc<'a>> = BTreeMap::new();
    // Per object, reused.
    let mut tier_here: BTreeMap<K, u32> = BTreeMap::new();
    let mut held_here: BTreeMap<K, f64> = BTreeMap::new();
    for o in objects {
        match o.kind {
            ObjectKind::Lot => lots.push(o.id.to_string()),
            ObjectKind::Serial => serials.push(o.id.to_string()),
            ObjectKind::Container => {
                containers.push(o.id.to_string());
                continue;
            }
        }
        let counted = !serialised_lots.contains(o.id);
        // Tier of each holder along this object's chain.
        tier_here.clear();
        held_here.clear();
        let mut last_loss: Option<K> = None;
        for step in &o.steps {
            let fx = effect_of(step.biz_step, step.disposition, step.role);
            if fx == 0 {
                continue;
            }
            let key = step.holder;
            let (q, uom) = match o.kind {
                ObjectKind::Serial => (1.0, None),
                _ => step.quantity.unwrap_or((0.0, None)),
            };
            if !tier_here.contains_key(&key) {
                let t = match &last_loss {
                    // Received from the holder that last let it go: one tier further.
                    Some(from) if fx > 0 && *from != key => {
                        tier_here.get(from).map_or(0, |t| t + 1)
                    }
                    // Made or first seen here: the tier this holder already has, else 0.
                    _ => acc.get(&key).map_or(0, |a| a.tier),
                };
                tier_here.insert(key, t);
            }
            if fx < 0 {
                last_loss = Some(key);
            }
            let tier = tier_here[&key];
            let a = acc.entry(key).or_insert_with(|| Acc {
                tier,
                ..Acc::default()
            });
            a.tier = a.tier.min(tier);
            if counted {
                let signed = if fx > 0 { q } else { -q };
                if fx > 0 {
                    *a.received.entry(uom).or_default() += q;
                }
                *a.held.entry(uom).or_default() += signed;
            }
            *held_here.entry(key).or_default() += if fx > 0 { q.max(1.0) } else { -q.max(1.0) };
        }
        for (key, n) in &held_here {
            if *n > 0.0
                && let Some(a) = acc.get_mut(key)
            {
                a.objects_held.insert(o.id);
            }
        }
    }
    let mut by_tier: BTreeMap<u32, Vec<Holder>> = BTreeMap::new();
    let mut acc: Vec<(HolderName<'a>, Acc<'a>)> =
        acc.into_iter().map(|(k, a)| (name(k), a)).collect();
    acc.sort_by(|a, b| a.0.cmp(&b.0));
    for ((organisation, location), a) in acc {
        by_tier.entry(a.tier).or_default().push(Holder {
            organisation: organisation.to_string(),
            location: location.map(str::to_string),
            tier: a.tier,
            received: amounts(&a.received),
            held: amounts(&a.held),
            objects_held: a.objects_held.into_iter().map(str::to_string).collect(),
        });
    }
    let tiers = by_tier
        .into_iter()
        .map(|(tier, holders)| {
            let mut received: BTreeMap<Option<&str>, f64> = BTreeMap::new();
            let mut held: BTreeMap<Option<&str>, f64> = BTreeMap::new();
            for h in &holders {
                for a in &h.received {
                    *received.entry(a.uom.as_deref()).or_default() += a.quantity;
                }
                for a in &h.held {
                    *held.entry(a.uom.as_deref()).or_default() += a.quantity;
                }
            }
            let (received, held) = (amounts(&received), amounts(&held));
            TierGroup {
                tier,
                holders,
                received,
                held,
            }
        })
        .collect();
    RecallScope {
        lots,
        serials,
        containers,
        tiers,
        truncated,
    }
}
