//! The walk's own form of an event: [`Ev`]'s fields with every string interned ([`Sym`]).
//!
//! [`CEv::parse`] reads the stored JSON body straight into borrowed fields (no `serde_json::Value`
//! tree, no copy of an identifier already seen). Anything it does not expect (an `epcList` entry
//! that is an object, a `readPoint` given as a string, a duplicate key, …) makes it fall back to
//! [`Ev::parse`], the reference, and convert: both give the same event (tested).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use store::StoredEvent;

use crate::TraceError;
use crate::event::{Ev, Qty, bare_cbv, lot_of_serial};
use crate::sym::{Sym, Syms};

/// Kinds of events the walk distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Aggregation,
    Transformation,
    Other,
}

/// `action`, as far as the walk cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    Delete,
    /// ADD, OBSERVE, anything else or none.
    Other,
}

/// One quantity-list entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CQty {
    pub class: Sym,
    pub quantity: Option<f64>,
    pub uom: Option<Sym>,
}

/// An event as the walk sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CEv {
    /// The event ID (interned: edges are keyed by it).
    pub id: Sym,
    pub seq: i64,
    pub time_ms: i64,
    pub owner: Sym,
    pub kind: Kind,
    pub action: Act,
    pub biz_step: Option<Sym>,
    pub disposition: Option<Sym>,
    /// `bizLocation`, else `readPoint`.
    pub location: Option<Sym>,
    pub epcs: Vec<Sym>,
    pub parent: Option<Sym>,
    pub children: Vec<Sym>,
    pub inputs: Vec<Sym>,
    pub outputs: Vec<Sym>,
    /// As given (not an identifier: interned as a word).
    pub transformation_id: Option<Sym>,
    pub quantities: Vec<CQty>,
    pub child_quantities: Vec<CQty>,
    pub input_quantities: Vec<CQty>,
    pub output_quantities: Vec<CQty>,
    /// (serial, lot class)
    pub ilmd_lots: Vec<(Sym, Sym)>,
    /// The distinct lots of `ilmd_lots` (usually one).
    pub ilmd_lot_set: Vec<Sym>,
    pub source_party: Option<Sym>,
    pub destination_party: Option<Sym>,
    pub source_location: Option<Sym>,
    pub destination_location: Option<Sym>,
}

#[derive(Deserialize)]
struct Place<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawQty<'a> {
    #[serde(borrow)]
    epc_class: Cow<'a, str>,
    quantity: Option<f64>,
    #[serde(borrow)]
    uom: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawSource<'a> {
    #[serde(borrow, rename = "type")]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawDestination<'a> {
    #[serde(borrow, rename = "type")]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    destination: Option<Cow<'a, str>>,
}

/// The first ILMD member whose local name is `lotNumber` and whose value is a string.
struct IlmdLot<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for IlmdLot<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = IlmdLot<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an ILMD object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<IlmdLot<'a>, M::Error> {
                let mut lot = None;
                while let Some(k) = m.next_key::<Cow<'de, str>>()? {
                    let local = k.rsplit([':', '#']).next().unwrap_or(&k);
                    if lot.is_none() && local == "lotNumber" {
                        let v: serde_json::Value = m.next_value()?;
                        if let serde_json::Value::String(s) = v {
                            lot = Some(Cow::Owned(s));
                        }
                    } else {
                        m.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(IlmdLot(lot))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw<'a> {
    #[serde(borrow)]
    action: Option<Cow<'a, str>>,
    #[serde(borrow)]
    biz_step: Option<Cow<'a, str>>,
    #[serde(borrow)]
    disposition: Option<Cow<'a, str>>,
    #[serde(borrow)]
    read_point: Option<Place<'a>>,
    #[serde(borrow)]
    biz_location: Option<Place<'a>>,
    #[serde(borrow)]
    epc_list: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, rename = "parentID")]
    parent_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "childEPCs")]
    child_epcs: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, rename = "inputEPCList")]
    input_epc_list: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, rename = "outputEPCList")]
    output_epc_list: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, rename = "transformationID")]
    transformation_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    quantity_list: Option<Vec<RawQty<'a>>>,
    #[serde(borrow)]
    child_quantity_list: Option<Vec<RawQty<'a>>>,
    #[serde(borrow)]
    input_quantity_list: Option<Vec<RawQty<'a>>>,
    #[serde(borrow)]
    output_quantity_list: Option<Vec<RawQty<'a>>>,
    #[serde(borrow)]
    ilmd: Option<IlmdLot<'a>>,
    #[serde(borrow)]
    source_list: Option<Vec<RawSource<'a>>>,
    #[serde(borrow)]
    destination_list: Option<Vec<RawDestination<'a>>>,
}

fn kind_of_type(t: &str) -> Kind {
    match t {
        "AggregationEvent" => Kind::Aggregation,
        "TransformationEvent" => Kind::Transformation,
        _ => Kind::Other,
    }
}

fn party_and_location<'s>(
    list: impl Iterator<Item = (&'s str, &'s str)>,
    syms: &mut Syms,
) -> (Option<Sym>, Option<Sym>) {
    let (mut party, mut location) = (None, None);
    for (ty, id) in list {
        let ty = bare_cbv(ty);
        if party.is_none() && ty == "owning_party" {
            party = Some(syms.id(id));
        }
        if location.is_none() && ty == "location" {
            location = Some(syms.id(id));
        }
    }
    (party, location)
}

impl CEv {
    /// Read a stored event: the borrowed fast path, or [`Ev::parse`] when the body has a shape the
    /// fast path does not take.
    pub(crate) fn parse(row: StoredEvent, syms: &mut Syms) -> Result<CEv, TraceError> {
        match serde_json::from_str::<Raw>(&row.body) {
            Ok(raw) => Ok(CEv::from_raw(raw, &row, syms)),
            Err(_) => Ok(CEv::from_ev(&Ev::parse(&row)?, syms)),
        }
    }

    fn from_raw(raw: Raw, row: &StoredEvent, syms: &mut Syms) -> CEv {
        let ids = |list: &Option<Vec<Cow<str>>>, syms: &mut Syms| -> Vec<Sym> {
            list.iter().flatten().map(|s| syms.id(s)).collect()
        };
        let qtys = |list: &Option<Vec<RawQty>>, syms: &mut Syms| -> Vec<CQty> {
            list.iter()
                .flatten()
                .map(|q| CQty {
                    class: syms.id(&q.epc_class),
                    quantity: q.quantity,
                    uom: q.uom.as_deref().map(|u| syms.word(u)),
                })
                .collect()
        };
        let place = |p: &Option<Place>, syms: &mut Syms| -> Option<Sym> {
            p.as_ref()
                .and_then(|p| p.id.as_deref())
                .map(|id| syms.id(id))
        };
        let epcs = ids(&raw.epc_list, syms);
        let outputs = ids(&raw.output_epc_list, syms);
        let mut ilmd_lots = Vec::new();
        if let Some(IlmdLot(Some(lot))) = &raw.ilmd {
            for &serial in epcs.iter().chain(outputs.iter()) {
                if let Some(class) = lot_of_serial(syms.name(serial), lot) {
                    ilmd_lots.push((serial, syms.word(&class)));
                }
            }
        }
        let kind = kind_of_type(&row.event_type);
        let (source_party, source_location) = party_and_location(
            raw.source_list
                .iter()
                .flatten()
                .filter_map(|s| Some((s.ty.as_deref().unwrap_or(""), s.source.as_deref()?))),
            syms,
        );
        let (destination_party, destination_location) = party_and_location(
            raw.destination_list
                .iter()
                .flatten()
                .filter_map(|s| Some((s.ty.as_deref().unwrap_or(""), s.destination.as_deref()?))),
            syms,
        );
        let biz_location = place(&raw.biz_location, syms);
        let read_point = place(&raw.read_point, syms);
        let mut c = CEv {
            id: syms.word(&row.event_id),
            seq: row.seq,
            time_ms: row.event_time_ms,
            owner: syms.word(row.owner.as_str()),
            kind,
            action: match raw.action.as_deref() {
                Some("DELETE") => Act::Delete,
                _ => Act::Other,
            },
            biz_step: raw.biz_step.as_deref().map(|b| syms.cbv(b)),
            disposition: raw.disposition.as_deref().map(|d| syms.cbv(d)),
            location: biz_location.or(read_point),
            epcs,
            parent: raw.parent_id.as_deref().map(|p| syms.id(p)),
            children: ids(&raw.child_epcs, syms),
            inputs: ids(&raw.input_epc_list, syms),
            outputs,
            transformation_id: if kind == Kind::Transformation {
                raw.transformation_id.as_deref().map(|t| syms.word(t))
            } else {
                None
            },
            quantities: qtys(&raw.quantity_list, syms),
            child_quantities: qtys(&raw.child_quantity_list, syms),
            input_quantities: qtys(&raw.input_quantity_list, syms),
            output_quantities: qtys(&raw.output_quantity_list, syms),
            ilmd_lots,
            ilmd_lot_set: Vec::new(),
            source_party,
            destination_party,
            source_location,
            destination_location,
        };
        c.fill_lot_set();
        c
    }

    /// The same event from the reference reading.
    pub(crate) fn from_ev(e: &Ev, syms: &mut Syms) -> CEv {
        let list = |l: &[String], syms: &mut Syms| -> Vec<Sym> {
            l.iter().map(|s| syms.word(s)).collect()
        };
        let qtys = |l: &[Qty], syms: &mut Syms| -> Vec<CQty> {
            l.iter()
                .map(|q| CQty {
                    class: syms.word(&q.class),
                    quantity: q.quantity,
                    uom: q.uom.as_deref().map(|u| syms.word(u)),
                })
                .collect()
        };
        let find = |l: &[(String, String)], t: &str, syms: &mut Syms| -> Option<Sym> {
            l.iter()
                .find(|(ty, _)| ty == t)
                .map(|(_, id)| syms.word(id))
        };
        let mut c = CEv {
            id: syms.word(&e.id),
            seq: e.seq,
            time_ms: e.time_ms,
            owner: syms.word(&e.owner),
            kind: kind_of_type(&e.event_type),
            action: if e.action_is("DELETE") {
                Act::Delete
            } else {
                Act::Other
            },
            biz_step: e.biz_step.as_deref().map(|b| syms.word(b)),
            disposition: e.disposition.as_deref().map(|d| syms.word(d)),
            location: e.location().map(|l| syms.word(l)),
            epcs: list(&e.epcs, syms),
            parent: e.parent.as_deref().map(|p| syms.word(p)),
            children: list(&e.children, syms),
            inputs: list(&e.inputs, syms),
            outputs: list(&e.outputs, syms),
            transformation_id: e.transformation_id.as_deref().map(|t| syms.word(t)),
            quantities: qtys(&e.quantities, syms),
            child_quantities: qtys(&e.child_quantities, syms),
            input_quantities: qtys(&e.input_quantities, syms),
            output_quantities: qtys(&e.output_quantities, syms),
            ilmd_lots: e
                .ilmd_lots
                .iter()
                .map(|(s, l)| (syms.word(s), syms.word(l)))
                .collect(),
            ilmd_lot_set: Vec::new(),
            source_party: find(&e.sources, "owning_party", syms),
            destination_party: find(&e.destinations, "owning_party", syms),
            source_location: find(&e.sources, "location", syms),
            destination_location: find(&e.destinations, "location", syms),
        };
        c.fill_lot_set();
        c
    }

    fn fill_lot_set(&mut self) {
        for &(_, l) in &self.ilmd_lots {
            if !self.ilmd_lot_set.contains(&l) {
                self.ilmd_lot_set.push(l);
            }
        }
    }

    pub(crate) fn is_transformation(&self) -> bool {
        self.kind == Kind::Transformation
    }

    /// An aggregation that puts children into a parent (ADD) or confirms they are in it.
    pub(crate) fn is_containment(&self) -> bool {
        self.kind == Kind::Aggregation && self.action != Act::Delete && self.parent.is_some()
    }

    pub(crate) fn all_children(&self) -> impl Iterator<Item = Sym> + '_ {
        self.children
            .iter()
            .copied()
            .chain(self.child_quantities.iter().map(|q| q.class))
    }

    pub(crate) fn all_inputs(&self) -> impl Iterator<Item = Sym> + '_ {
        self.inputs
            .iter()
            .copied()
            .chain(self.input_quantities.iter().map(|q| q.class))
    }

    pub(crate) fn all_outputs(&self) -> impl Iterator<Item = Sym> + '_ {
        self.outputs
            .iter()
            .copied()
            .chain(self.output_quantities.iter().map(|q| q.class))
    }

    /// Every identifier the event names in any role (may repeat one).
    pub(crate) fn touched(&self) -> impl Iterator<Item = Sym> + '_ {
        self.epcs
            .iter()
            .copied()
            .chain(self.parent)
            .chain(self.all_children())
            .chain(self.all_inputs())
            .chain(self.all_outputs())
            .chain(self.quantities.iter().map(|q| q.class))
            .chain(self.ilmd_lot_set.iter().copied())
    }

    /// Whether this aggregation DELETE removes `child` (lists it, or lists no children).
    pub(crate) fn removes(&self, child: Sym) -> bool {
        self.kind == Kind::Aggregation
            && self.action == Act::Delete
            && (self.all_children().next().is_none() || self.all_children().any(|c| c == child))
    }

    /// The quantity this event states for `id` (class quantities; 1 for a listed instance).
    pub(crate) fn quantity_of(&self, id: Sym) -> Option<(f64, Option<Sym>)> {
        for list in [
            &self.quantities,
            &self.child_quantities,
            &self.input_quantities,
            &self.output_quantities,
        ] {
            if let Some(q) = list.iter().find(|q| q.class == id) {
                return q.quantity.map(|n| (n, q.uom));
            }
        }
        let listed = self
            .epcs
            .iter()
            .chain(&self.children)
            .chain(&self.inputs)
            .chain(&self.outputs);
        if listed.into_iter().any(|&x| x == id) {
            return Some((1.0, None));
        }
        None
    }

    /// How the event names `id` (see `CustodyStep::role`).
    pub(crate) fn role_of(&self, id: Sym) -> &'static str {
        if self.all_inputs().any(|x| x == id) {
            "input"
        } else if self.all_outputs().any(|x| x == id) {
            "output"
        } else if self.parent == Some(id) {
            "parent"
        } else if self.all_children().any(|x| x == id) {
            "child"
        } else if self.ilmd_lot_set.contains(&id) {
            "lot"
        } else {
            "object"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn stored(seq: i64, e: &Value) -> StoredEvent {
        StoredEvent {
            seq,
            owner: store::OrgId::parse("org-a").unwrap(),
            capture_id: "c".into(),
            event_id: format!("urn:uuid:00000000-0000-4000-8000-{seq:012}"),
            event_hash: String::new(),
            event_type: e["type"].as_str().unwrap_or("ObjectEvent").to_string(),
            event_time_ms: seq,
            record_time_ms: seq,
            body: e.to_string(),
        }
    }

    /// The fast reading equals the reference reading (`Ev::parse`) of the same body.
    fn same(events: &[Value]) -> usize {
        let mut syms = Syms::default();
        let mut fast = 0;
        for (k, e) in events.iter().enumerate() {
            let row = stored(k as i64, e);
            let reference = CEv::from_ev(&Ev::parse(&row).unwrap(), &mut syms);
            if let Ok(raw) = serde_json::from_str::<Raw>(&row.body) {
                fast += 1;
                assert_eq!(CEv::from_raw(raw, &row, &mut syms), reference, "{e}");
            }
            assert_eq!(CEv::parse(row, &mut syms).unwrap(), reference, "{e}");
        }
        fast
    }

    #[test]
    fn fast_reading_equals_the_reference_on_demo_events() {
        let cfg = demo::DemoConfig::new(5_000, 7, 1_767_225_600_000);
        let events: Vec<Value> = demo::generate(&cfg).collect();
        assert_eq!(
            same(&events),
            events.len(),
            "every demo event takes the fast path"
        );
    }

    #[test]
    fn fast_reading_equals_the_reference_on_the_gs1_examples_and_odd_shapes() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference-data/gs1-EPCIS/JSON"
        );
        let mut events = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(dir)];
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let Ok(doc) = serde_json::from_str::<Value>(&std::fs::read_to_string(&p).unwrap())
            else {
                continue;
            };
            let body = &doc["epcisBody"];
            let list = body
                .get("eventList")
                .or_else(|| body["queryResults"]["resultsBody"].get("eventList"));
            events.extend(
                list.and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
        assert!(events.len() > 50, "{} example events", events.len());
        // Shapes the fast path leaves to the reference reading.
        events.push(serde_json::json!({"type": "ObjectEvent", "epcList": [{"epc": "urn:epc:id:sgtin:4012345.011111.1"}], "readPoint": "urn:epc:id:sgln:4012345.00001.0"}));
        events.push(serde_json::json!({"type": "ObjectEvent", "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.L1", "quantity": "12"}]}));
        events.push(serde_json::json!({"type": "ObjectEvent", "epcList": ["urn:epc:id:sgtin:4012345.011111.2"], "ilmd": {"ex:lotNumber": 7, "cbvmda:lotNumber": "L9"}}));
        let fast = same(&events);
        assert!(
            fast < events.len() && fast > events.len() / 2,
            "{fast} of {}",
            events.len()
        );
    }
}
