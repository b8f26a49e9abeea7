//! Lineage graph, forward and backward trace, recall scope (pure over the store trait).
//!
//! [`trace`] walks the event records from one or more identifiers, backward (where did this come
//! from) or forward (where did it go), by batched frontier queries
//! ([`store::Store::events_touching`]): one query per round for every object whose window grew,
//! never a recursive query, so it runs unchanged on a sharded database. The exact semantics are in
//! `docs/trace.md`.
//!
//! [`recall::scope`] turns a forward trace into a recall scope: affected lots, serials and
//! containers, and every holder with the quantities it received and still holds, by tier.
//! [`recall_scope`] computes the same scope straight from the walk, without the trace's strings
//! (what a recall needs; the walk's strings are interned, see `sym.rs`).
//!
//! Architecture invariant: no I/O other than the store handed in; no clock; every traversal is
//! bounded by [`TraceOptions`].

mod compact;
mod event;
pub mod recall;
mod render;
mod sym;
mod walk;

use serde::Serialize;
use thiserror::Error;

pub use event::{Ev, Qty, bare_cbv, lot_of_serial};
pub use walk::{recall_scope, trace};

/// Which way to walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Where did this come from: outputs to inputs, containers to contents, serials to their lot.
    Backward,
    /// Where did it go: inputs to outputs, contents to containers (while inside), lots to serials.
    Forward,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Backward => "backward",
            Direction::Forward => "forward",
        }
    }
}

/// Bounds of one trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceOptions {
    pub direction: Direction,
    /// Only events at or after this time (ms since the Unix epoch).
    pub from_ms: Option<i64>,
    /// Only events at or before this time.
    pub to_ms: Option<i64>,
    /// Most link hops (transformation, aggregation, lot) from a start object; `None`: unlimited.
    pub depth_max: Option<u32>,
    /// Most objects reached before the trace stops (and says `truncated`).
    pub objects_max: usize,
    /// Most events read from the store before the trace stops (and says `truncated`).
    pub events_max: usize,
    /// Most identifiers per `events_touching` call (at most the store's `frontier_batch_max`).
    pub batch_max: usize,
}

impl TraceOptions {
    pub fn new(direction: Direction) -> TraceOptions {
        TraceOptions {
            direction,
            from_ms: None,
            to_ms: None,
            depth_max: None,
            objects_max: 100_000,
            events_max: 2_000_000,
            batch_max: 1_000,
        }
    }
}

#[derive(Debug, Error)]
pub enum TraceError {
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    #[error("event {event_id}: body is not valid JSON: {reason}")]
    BadEvent { event_id: String, reason: String },
    #[error("start: at least one identifier is required")]
    NoStart,
    #[error("start: identifier {0:?} is empty or longer than 2048 bytes")]
    BadStart(String),
    #[error("options: from_ms must not be after to_ms")]
    BadWindow,
    #[error("options: batch_max must be between 1 and 10000")]
    BadBatch,
}

/// What an object is, judged from its identifier and the events that name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// A serialised instance (`sgtin`, `…/01/…/21/…`, or any listed EPC that is not a container).
    Serial,
    /// A class or lot (`lgtin`, `…/01/…/10/…`, or anything named in a quantity list).
    Lot,
    /// A logistic unit or any aggregation parent (`sscc`, `…/00/…`).
    Container,
}

/// A quantity with its unit (`None`: a count of instances).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantity {
    pub quantity: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uom: Option<String>,
}

/// One step of an object's custody chain: who held it where, when, and in which business step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustodyStep {
    pub time_ms: i64,
    pub event_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// The organisation that recorded the event (the responsible party at that step).
    pub holder: String,
    /// How the event names the object: `object` (epcList, quantityList), `parent`, `child`,
    /// `input`, `output`, `lot` (the lot of commissioned serials), `container` (a step of a
    /// container the object was in).
    pub role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `owning_party` source of a transfer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `owning_party` destination of a transfer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_location: Option<String>,
    /// The container the object was in when the step concerned the container, not the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The quantity of the object the event states (classes), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Quantity>,
}

/// Everything the trace says about one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectFacts {
    pub id: String,
    pub kind: ObjectKind,
    /// Link hops from the nearest start object.
    pub depth: u32,
    /// The object's window: only its events in `[from_ms, until_ms]` belong to the trace
    /// (`None`: unbounded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
    /// Events that name the object within its window, in time order.
    pub events: Vec<String>,
    /// The custody chain, in time order, including steps of containers it was in.
    pub custody: Vec<CustodyStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_holder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_disposition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_quantity: Option<Quantity>,
}

/// How two objects are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// Input and output of one TransformationEvent.
    Transformation,
    /// Child and parent of an AggregationEvent (ADD or OBSERVE), for the time the child was inside.
    Aggregation,
    /// A serial and its lot (ILMD `lotNumber`).
    Lot,
}

/// A link followed by the trace, in the direction of the walk (`from` was reached first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    pub event_id: String,
    pub time_ms: i64,
    /// For aggregation: when the child went in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inside_from_ms: Option<i64>,
    /// For aggregation: when the child came out (None: still inside).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inside_until_ms: Option<i64>,
}

/// The result of a trace. Serialises to the JSON of `GET /api/trace`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    pub start: Vec<String>,
    pub direction: Direction,
    /// Every event reached, in time order (event IDs, each once).
    pub events: Vec<String>,
    /// Every object reached, start objects first, then by depth and id.
    pub objects: Vec<ObjectFacts>,
    pub edges: Vec<Edge>,
    /// True when a budget stopped the walk before it was complete.
    pub truncated: bool,
}

impl Trace {
    pub fn object(&self, id: &str) -> Option<&ObjectFacts> {
        self.objects.iter().find(|o| o.id == id)
    }

    /// A readable tree (one line per object under the link that first reached it).
    pub fn to_tree(&self) -> String {
        render::tree(self)
    }

    /// A Graphviz `digraph`.
    pub fn to_dot(&self) -> String {
        render::dot(self)
    }
}
