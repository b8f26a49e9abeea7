//! The traversal: a fixed point over object windows, computed by batched frontier rounds.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use store::{Scope, Store};

use crate::event::Ev;
use crate::{
    CustodyStep, Direction, Edge, EdgeKind, ObjectFacts, ObjectKind, Quantity, Trace, TraceError,
    TraceOptions,
};

const START_LEN_MAX: usize = 2048;

struct Node {
    depth: u32,
    lo: i64,
    hi: i64,
    dirty: bool,
}

/// What a batch of `events_touching` keys names.
#[derive(Clone, Copy)]
enum Fetch {
    /// Identifiers: every event naming one (`Walk::loaded`).
    Identifiers,
    /// `transformationID`s: the TransformationEvents of each (`Walk::groups`).
    Transformations,
}

struct Walk<'a> {
    store: &'a dyn Store,
    scope: &'a Scope,
    opts: &'a TraceOptions,
    lo: i64,
    hi: i64,
    /// Shared, so that following one event's links does not copy it (a commissioning event of a
    /// large lot lists every serial; copying it per serial made lots quadratic).
    events: Vec<std::rc::Rc<Ev>>,
    by_seq: HashMap<i64, usize>,
    fetched_rows: usize,
    /// Indices into `events` of every event naming an identifier (all times), by identifier.
    loaded: HashMap<String, Vec<usize>>,
    /// Indices into `events` of the TransformationEvents of each `transformationID` (in scope).
    groups: HashMap<String, Vec<usize>>,
    nodes: HashMap<String, Node>,
    /// Discovery order, for stable output.
    order: Vec<String>,
    edges: BTreeMap<(String, String, String), Edge>,
    truncated: bool,
}

/// Trace from `start` (identifiers in any form: EPC URIs, Digital Links, other URIs) within
/// `scope`.
pub fn trace(
    store: &dyn Store,
    scope: &Scope,
    start: &[String],
    opts: &TraceOptions,
) -> Result<Trace, TraceError> {
    if start.is_empty() {
        return Err(TraceError::NoStart);
    }
    if opts.batch_max == 0 || opts.batch_max > 10_000 {
        return Err(TraceError::BadBatch);
    }
    let lo = opts.from_ms.unwrap_or(i64::MIN);
    let hi = opts.to_ms.unwrap_or(i64::MAX);
    if lo > hi {
        return Err(TraceError::BadWindow);
    }
    let mut w = Walk {
        store,
        scope,
        opts,
        lo,
        hi,
        events: Vec::new(),
        by_seq: HashMap::new(),
        fetched_rows: 0,
        loaded: HashMap::new(),
        groups: HashMap::new(),
        nodes: HashMap::new(),
        order: Vec::new(),
        edges: BTreeMap::new(),
        truncated: false,
    };
    let mut starts = Vec::new();
    for s in start {
        if s.is_empty() || s.len() > START_LEN_MAX {
            return Err(TraceError::BadStart(s.clone()));
        }
        let id = gs1::normalize_id(s);
        if !starts.contains(&id) {
            starts.push(id.clone());
        }
        w.reach(&id, 0, lo, hi);
    }
    w.run()?;
    Ok(w.finish(starts))
}

impl Walk<'_> {
    /// Reach `id` at `depth` with window `[lo, hi]`: a new object, or a wider window (hull).
    fn reach(&mut self, id: &str, depth: u32, lo: i64, hi: i64) -> bool {
        let (lo, hi) = (lo.max(self.lo), hi.min(self.hi));
        if lo > hi {
            return false;
        }
        match self.nodes.get_mut(id) {
            Some(n) => {
                if lo < n.lo || hi > n.hi || depth < n.depth {
                    n.lo = n.lo.min(lo);
                    n.hi = n.hi.max(hi);
                    n.depth = n.depth.min(depth);
                    n.dirty = true;
                }
                true
            }
            None => {
                if self.nodes.len() >= self.opts.objects_max {
                    self.truncated = true;
                    return false;
                }
                self.nodes.insert(
                    id.to_string(),
                    Node {
                        depth,
                        lo,
                        hi,
                        dirty: true,
                    },
                );
                self.order.push(id.to_string());
                true
            }
        }
    }

    /// Fetch the events of every listed identifier not loaded yet, in batches.
    fn load(&mut self, ids: &[String]) -> Result<(), TraceError> {
        self.fetch(ids, Fetch::Identifiers)
    }

    /// Fetch the TransformationEvents of every listed `transformationID` not loaded yet (the
    /// store indexes the ID like an identifier), in batches.
    fn load_groups(&mut self, tids: &[String]) -> Result<(), TraceError> {
        self.fetch(tids, Fetch::Transformations)
    }

    fn fetched(&mut self, kind: Fetch) -> &mut HashMap<String, Vec<usize>> {
        match kind {
            Fetch::Identifiers => &mut self.loaded,
            Fetch::Transformations => &mut self.groups,
        }
    }

    /// `events_touching` for every key not fetched yet, in batches of `batch_max`; each key gets
    /// the indices of its events in time order.
    fn fetch(&mut self, keys: &[String], kind: Fetch) -> Result<(), TraceError> {
        let mut missing: Vec<String> = {
            let known = self.fetched(kind);
            keys.iter()
                .filter(|k| !known.contains_key(*k))
                .cloned()
                .collect()
        };
        missing.sort();
        missing.dedup();
        for chunk in missing.chunks(self.opts.batch_max) {
            if self.fetched_rows >= self.opts.events_max {
                self.truncated = true;
                let known = self.fetched(kind);
                for k in chunk {
                    known.insert(k.clone(), Vec::new());
                }
                continue;
            }
            let rows = self.store.events_touching(self.scope, chunk)?;
            self.fetched_rows += rows.len();
            let mut per: HashMap<&str, Vec<usize>> =
                chunk.iter().map(|k| (k.as_str(), Vec::new())).collect();
            for row in &rows {
                let idx = match self.by_seq.get(&row.seq) {
                    Some(&i) => i,
                    None => {
                        self.events.push(std::rc::Rc::new(Ev::parse(row)?));
                        self.by_seq.insert(row.seq, self.events.len() - 1);
                        self.events.len() - 1
                    }
                };
                let ev = &self.events[idx];
                match kind {
                    // Per identifier the event names (not per key of the chunk: that was rows x
                    // chunk comparisons, seconds for a lot reaching a few thousand objects).
                    Fetch::Identifiers => {
                        for id in ev.touched() {
                            if let Some(list) = per.get_mut(id) {
                                list.push(idx);
                            }
                        }
                    }
                    Fetch::Transformations => {
                        if let Some(t) = &ev.transformation_id
                            && let Some(list) = per.get_mut(t.as_str())
                        {
                            list.push(idx);
                        }
                    }
                }
            }
            let lists: Vec<(String, Vec<usize>)> = per
                .into_iter()
                .map(|(k, mut list)| {
                    list.sort_by_key(|&i| (self.events[i].time_ms, self.events[i].seq));
                    list.dedup();
                    (k.to_string(), list)
                })
                .collect();
            self.fetched(kind).extend(lists);
        }
        Ok(())
    }

    /// The events of the transformation that event `i` is part of: every TransformationEvent
    /// sharing its `transformationID`, or `i` alone.
    fn transformation(&self, i: usize) -> Vec<usize> {
        match self.events[i]
            .transformation_id
            .as_ref()
            .and_then(|t| self.groups.get(t))
        {
            Some(g) if !g.is_empty() => g.clone(),
            _ => vec![i],
        }
    }

    fn expandable(&self, id: &str) -> bool {
        let n = &self.nodes[id];
        self.opts.depth_max.is_none_or(|d| n.depth < d)
    }

    fn run(&mut self) -> Result<(), TraceError> {
        loop {
            let dirty: Vec<String> = self
                .order
                .iter()
                .filter(|id| self.nodes[*id].dirty)
                .cloned()
                .collect();
            if dirty.is_empty() {
                return Ok(());
            }
            self.load(&dirty)?;
            if self.opts.direction == Direction::Forward {
                // Containment windows need the container's events (its DELETEs).
                let mut parents = Vec::new();
                for id in dirty.iter().filter(|id| self.expandable(id)) {
                    for &i in &self.loaded[id] {
                        let e = &self.events[i];
                        if is_containment(e) && e.all_children().any(|c| c == id) {
                            parents.extend(e.parent.clone());
                        }
                    }
                }
                self.load(&parents)?;
            }
            // Transformations split over several events by transformationID.
            let mut tids = Vec::new();
            for id in dirty.iter().filter(|id| self.expandable(id)) {
                for &i in &self.loaded[id] {
                    tids.extend(self.events[i].transformation_id.clone());
                }
            }
            self.load_groups(&tids)?;
            for id in dirty {
                if let Some(n) = self.nodes.get_mut(&id) {
                    n.dirty = false;
                }
                if self.expandable(&id) {
                    match self.opts.direction {
                        Direction::Forward => self.forward(&id),
                        Direction::Backward => self.backward(&id),
                    }
                }
            }
        }
    }

    fn in_window(&self, id: &str) -> Vec<usize> {
        let n = &self.nodes[id];
        self.loaded[id]
            .iter()
            .copied()
            .filter(|&i| (n.lo..=n.hi).contains(&self.events[i].time_ms))
            .collect()
    }

    fn link(&mut self, from: &str, to: &str, kind: EdgeKind, e: usize, inside: Option<(i64, i64)>) {
        let ev = &self.events[e];
        let key = (from.to_string(), to.to_string(), ev.id.clone());
        self.edges.insert(
            key,
            Edge {
                from: from.to_string(),
                to: to.to_string(),
                kind,
                event_id: ev.id.clone(),
                time_ms: ev.time_ms,
                inside_from_ms: inside.map(|(a, _)| a),
                inside_until_ms: inside.and_then(|(_, b)| (b != i64::MAX).then_some(b)),
            },
        );
    }

    /// The end of `child`'s stay in `parent` entered by event `add`: the time of the first later
    /// DELETE of `parent` that removes it, or unbounded.
    fn stay_end(&self, parent: &str, child: &str, add: usize) -> i64 {
        let a = &self.events[add];
        self.loaded
            .get(parent)
            .into_iter()
            .flatten()
            .map(|&i| &self.events[i])
            .filter(|d| {
                (d.time_ms, d.seq) > (a.time_ms, a.seq) && d.parent.as_deref() == Some(parent)
            })
            .filter(|d| d.removes(child))
            .map(|d| d.time_ms)
            .next()
            .unwrap_or(i64::MAX)
    }

    fn forward(&mut self, id: &str) {
        let depth = self.nodes[id].depth + 1;
        let hi = self.nodes[id].hi;
        for i in self.in_window(id) {
            let e = std::rc::Rc::clone(&self.events[i]);
            if e.is_transformation() && e.all_inputs().any(|x| x == id) {
                for g in self.transformation(i) {
                    let ge = std::rc::Rc::clone(&self.events[g]);
                    for out in ge.all_outputs() {
                        if self.reach(out, depth, ge.time_ms, i64::MAX) {
                            self.link(id, out, EdgeKind::Transformation, g, None);
                        }
                    }
                }
            }
            if is_containment(&e)
                && e.all_children().any(|c| c == id)
                && let Some(p) = e.parent.as_deref()
            {
                let end = self.stay_end(p, id, i).min(hi);
                if self.reach(p, depth, e.time_ms, end) {
                    self.link(id, p, EdgeKind::Aggregation, i, Some((e.time_ms, end)));
                }
            }
            for (serial, lot) in &e.ilmd_lots {
                if lot == id && self.reach(serial, depth, e.time_ms, i64::MAX) {
                    self.link(id, serial, EdgeKind::Lot, i, None);
                }
            }
        }
    }

    fn backward(&mut self, id: &str) {
        let depth = self.nodes[id].depth + 1;
        let hi = self.nodes[id].hi;
        for i in self.in_window(id) {
            let e = std::rc::Rc::clone(&self.events[i]);
            if e.is_transformation() && e.all_outputs().any(|x| x == id) {
                for g in self.transformation(i) {
                    let ge = std::rc::Rc::clone(&self.events[g]);
                    for inp in ge.all_inputs() {
                        if self.reach(inp, depth, i64::MIN, ge.time_ms) {
                            self.link(id, inp, EdgeKind::Transformation, g, None);
                        }
                    }
                }
            }
            if is_containment(&e) && e.parent.as_deref() == Some(id) {
                for c in e.all_children() {
                    let end = self.stay_end(id, c, i).min(hi);
                    if self.reach(c, depth, i64::MIN, end) {
                        self.link(id, c, EdgeKind::Aggregation, i, Some((e.time_ms, end)));
                    }
                }
            }
            for (serial, lot) in &e.ilmd_lots {
                if serial == id && self.reach(lot, depth, i64::MIN, e.time_ms) {
                    self.link(id, lot, EdgeKind::Lot, i, None);
                }
            }
        }
    }

    fn finish(mut self, starts: Vec<String>) -> Trace {
        let edges: Vec<Edge> = std::mem::take(&mut self.edges).into_values().collect();
        let mut objects: Vec<ObjectFacts> = Vec::new();
        let mut all_events: BTreeSet<(i64, i64, usize)> = BTreeSet::new();
        let mut direct: HashMap<&str, Vec<usize>> = HashMap::new();
        for id in &self.order {
            let n = &self.nodes[id];
            let list: Vec<usize> = self
                .loaded
                .get(id)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&i| (n.lo..=n.hi).contains(&self.events[i].time_ms))
                .collect();
            for &i in &list {
                all_events.insert((self.events[i].time_ms, self.events[i].seq, i));
            }
            direct.insert(id.as_str(), list);
        }
        // Custody: the object's own events, then (up to 4 levels of nesting) the steps of each
        // container during the stay.
        let mut custody: HashMap<&str, Vec<(usize, Option<String>)>> = direct
            .iter()
            .map(|(id, l)| (*id, l.iter().map(|&i| (i, None)).collect()))
            .collect();
        let stays: Vec<(&str, &str, i64, i64)> = edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Aggregation)
            .map(|e| {
                let (child, parent) = match self.opts.direction {
                    Direction::Forward => (e.from.as_str(), e.to.as_str()),
                    Direction::Backward => (e.to.as_str(), e.from.as_str()),
                };
                (
                    child,
                    parent,
                    e.inside_from_ms.unwrap_or(i64::MIN),
                    e.inside_until_ms.unwrap_or(i64::MAX),
                )
            })
            .collect();
        for _ in 0..4 {
            let mut changed = false;
            for &(child, parent, a, b) in &stays {
                let add: Vec<(usize, Option<String>)> = custody
                    .get(parent)
                    .into_iter()
                    .flatten()
                    .filter(|(i, _)| (a..=b).contains(&self.events[*i].time_ms))
                    .map(|(i, via)| (*i, Some(via.clone().unwrap_or_else(|| parent.to_string()))))
                    .collect();
                let mine = custody.entry(child).or_default();
                for (i, via) in add {
                    if !mine.iter().any(|(j, _)| *j == i) {
                        mine.push((i, via));
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let start_set: BTreeSet<&str> = starts.iter().map(String::as_str).collect();
        for id in &self.order {
            let n = &self.nodes[id];
            let mut steps = custody.remove(id.as_str()).unwrap_or_default();
            steps.sort_by_key(|(i, _)| (self.events[*i].time_ms, self.events[*i].seq));
            let steps: Vec<CustodyStep> = steps
                .into_iter()
                .map(|(i, via)| self.step(&self.events[i], id, via))
                .collect();
            let own = &direct[id.as_str()];
            let kind = kind_of(id, own.iter().map(|&i| &*self.events[i]));
            let last_quantity = own.iter().rev().find_map(|&i| {
                self.events[i]
                    .quantity_of(id)
                    .map(|(quantity, uom)| Quantity { quantity, uom })
            });
            objects.push(ObjectFacts {
                id: id.clone(),
                kind,
                depth: n.depth,
                from_ms: (n.lo != i64::MIN).then_some(n.lo),
                until_ms: (n.hi != i64::MAX).then_some(n.hi),
                events: own.iter().map(|&i| self.events[i].id.clone()).collect(),
                last_seen_ms: steps.last().map(|s| s.time_ms),
                last_holder: steps.last().map(|s| s.holder.clone()),
                last_location: steps.iter().rev().find_map(|s| s.location.clone()),
                last_disposition: steps.iter().rev().find_map(|s| s.disposition.clone()),
                last_quantity,
                custody: steps,
            });
        }
        objects.sort_by(|a, b| {
            let sa = !start_set.contains(a.id.as_str());
            let sb = !start_set.contains(b.id.as_str());
            (sa, a.depth, &a.id).cmp(&(sb, b.depth, &b.id))
        });
        let mut seen = BTreeSet::new();
        let events = all_events
            .into_iter()
            .map(|(_, _, i)| self.events[i].id.clone())
            .filter(|id| seen.insert(id.clone()))
            .collect();
        Trace {
            start: starts,
            direction: self.opts.direction,
            events,
            objects,
            edges,
            truncated: self.truncated,
        }
    }

    fn step(&self, e: &Ev, id: &str, via: Option<String>) -> CustodyStep {
        let loc = |list: &[(String, String)]| {
            list.iter()
                .find(|(t, _)| t == "location")
                .map(|(_, v)| v.clone())
        };
        CustodyStep {
            time_ms: e.time_ms,
            event_id: e.id.clone(),
            biz_step: e.biz_step.clone(),
            disposition: e.disposition.clone(),
            holder: e.owner.clone(),
            role: if via.is_some() {
                "container"
            } else {
                e.role_of(id)
            },
            location: e.location().map(str::to_string),
            source: Ev::party(&e.sources).map(str::to_string),
            destination: Ev::party(&e.destinations).map(str::to_string),
            source_location: loc(&e.sources),
            destination_location: loc(&e.destinations),
            quantity: if via.is_none() {
                e.quantity_of(id)
                    .map(|(quantity, uom)| Quantity { quantity, uom })
            } else {
                None
            },
            via,
        }
    }
}

/// An aggregation that puts children into a parent (ADD) or confirms they are in it (OBSERVE).
fn is_containment(e: &Ev) -> bool {
    e.is_aggregation() && !e.action_is("DELETE") && e.parent.is_some()
}

/// What an object is, from its identifier and its events.
pub(crate) fn kind_of<'e>(id: &str, events: impl Iterator<Item = &'e Ev>) -> ObjectKind {
    let dl = id.strip_prefix(gs1::CANONICAL_HOST).unwrap_or("");
    if dl.starts_with("/00/") || id.starts_with("urn:epc:id:sscc:") {
        return ObjectKind::Container;
    }
    if dl.contains("/21/") || id.starts_with("urn:epc:id:sgtin:") {
        return ObjectKind::Serial;
    }
    if dl.contains("/10/") || id.starts_with("urn:epc:class:") {
        return ObjectKind::Lot;
    }
    let mut kind = ObjectKind::Serial;
    for e in events {
        if e.parent.as_deref() == Some(id) {
            return ObjectKind::Container;
        }
        let lists = [
            &e.quantities,
            &e.child_quantities,
            &e.input_quantities,
            &e.output_quantities,
        ];
        if lists.iter().any(|l| l.iter().any(|q| q.class == id)) {
            kind = ObjectKind::Lot;
        }
    }
    kind
}
