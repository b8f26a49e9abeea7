//! The traversal: a fixed point over object windows, computed by batched frontier rounds.
//!
//! Everything inside the walk is interned ([`Syms`]): identifiers, organisations, locations and
//! CBV words are integers, events are [`CEv`]s in one vector. Strings are made only for the
//! answer: [`Walked::into_trace`] for a trace, [`Walked::scope`] for a recall scope (which needs no
//! [`Trace`] at all).

use std::collections::BTreeSet;

use store::{Scope, Store, StoreError, StoredEvent};

use crate::compact::CEv;
use crate::recall::{ObjView, RecallScope, StepView};
use crate::sym::{FxMap, Sym, Syms};
use crate::{
    CustodyStep, Direction, Edge, EdgeKind, ObjectFacts, ObjectKind, Quantity, Trace, TraceError,
    TraceOptions,
};

const START_LEN_MAX: usize = 2048;
/// Most `events_touching` calls of one walk in flight at once.
const FETCH_LANES_MAX: usize = 4;

/// `events_touching` for each batch of a wave, the batches on parallel threads (each takes a
/// reader of its own from the store).
fn fetch_wave(
    store: &dyn Store,
    scope: &Scope,
    wave: &[Vec<String>],
) -> Vec<Result<Vec<StoredEvent>, StoreError>> {
    match wave {
        [] => Vec::new(),
        [one] => vec![store.events_touching(scope, one)],
        [first, rest @ ..] => std::thread::scope(|s| {
            let handles: Vec<_> = rest
                .iter()
                .map(|n| s.spawn(move || store.events_touching(scope, n)))
                .collect();
            let mut out = vec![store.events_touching(scope, first)];
            out.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a fetch thread panicked")),
            );
            out
        }),
    }
}

/// Batches fetched at once: one per core, at most [`FETCH_LANES_MAX`].
/// Asked once per process: `available_parallelism` reads cgroup files (tens of µs a call).
fn fetch_lanes() -> usize {
    static LANES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *LANES.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, FETCH_LANES_MAX)
    })
}

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

/// One followed link: (from, to, event id) is its key; the last time a link is followed wins.
#[derive(Clone, Copy)]
struct Link {
    kind: EdgeKind,
    event: u32,
    inside: Option<(i64, i64)>,
}

struct Walk<'a> {
    store: &'a dyn Store,
    scope: &'a Scope,
    opts: &'a TraceOptions,
    lo: i64,
    hi: i64,
    syms: Syms,
    events: Vec<CEv>,
    by_seq: FxMap<i64, u32>,
    fetched_rows: usize,
    /// Indices into `events` of every event naming an identifier (all times), in time order.
    loaded: FxMap<Sym, Vec<u32>>,
    /// Indices into `events` of the TransformationEvents of each `transformationID` (in scope).
    groups: FxMap<Sym, Vec<u32>>,
    nodes: FxMap<Sym, Node>,
    /// Discovery order, for stable rounds.
    order: Vec<Sym>,
    links: FxMap<(Sym, Sym, Sym), Link>,
    truncated: bool,
}

/// A finished walk, still interned.
pub(crate) struct Walked {
    syms: Syms,
    events: Vec<CEv>,
    direction: Direction,
    truncated: bool,
    starts: Vec<Sym>,
    /// Objects in answer order (start objects first, then by depth and id), each with its node.
    objects: Vec<(Sym, u32, i64, i64)>,
    /// Per object (same order): its own events in its window, in time order.
    direct: Vec<Vec<u32>>,
    /// Per object: custody steps (event, container it came through), in time order.
    custody: Vec<Vec<(u32, Option<Sym>)>>,
    /// Links sorted by (from, to, event id) names.
    edges: Vec<(Sym, Sym, Link)>,
}

/// Trace from `start` (identifiers in any form: EPC URIs, Digital Links, other URIs) within
/// `scope`.
pub fn trace(
    store: &dyn Store,
    scope: &Scope,
    start: &[String],
    opts: &TraceOptions,
) -> Result<Trace, TraceError> {
    Ok(walk(store, scope, start, opts)?.into_trace())
}

/// The recall scope of a forward trace from `start`: the same as
/// `recall::scope(&trace(store, scope, start, opts)?)`, computed without building the trace's
/// strings (what a recall needs, several times faster on large lots).
pub fn recall_scope(
    store: &dyn Store,
    scope: &Scope,
    start: &[String],
    opts: &TraceOptions,
) -> Result<RecallScope, TraceError> {
    Ok(walk(store, scope, start, opts)?.scope())
}

pub(crate) fn walk(
    store: &dyn Store,
    scope: &Scope,
    start: &[String],
    opts: &TraceOptions,
) -> Result<Walked, TraceError> {
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
        syms: Syms::default(),
        events: Vec::new(),
        by_seq: FxMap::default(),
        fetched_rows: 0,
        loaded: FxMap::default(),
        groups: FxMap::default(),
        nodes: FxMap::default(),
        order: Vec::new(),
        links: FxMap::default(),
        truncated: false,
    };
    let mut starts = Vec::new();
    for s in start {
        if s.is_empty() || s.len() > START_LEN_MAX {
            return Err(TraceError::BadStart(s.clone()));
        }
        let id = w.syms.id(s);
        if !starts.contains(&id) {
            starts.push(id);
        }
        w.reach(id, 0, lo, hi);
    }
    w.run()?;
    Ok(w.finish(starts))
}

impl Walk<'_> {
    /// Reach `id` at `depth` with window `[lo, hi]`: a new object, or a wider window (hull).
    fn reach(&mut self, id: Sym, depth: u32, lo: i64, hi: i64) -> bool {
        let (lo, hi) = (lo.max(self.lo), hi.min(self.hi));
        if lo > hi {
            return false;
        }
        match self.nodes.get_mut(&id) {
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
                    id,
                    Node {
                        depth,
                        lo,
                        hi,
                        dirty: true,
                    },
                );
                self.order.push(id);
                true
            }
        }
    }

    fn fetched(&mut self, kind: Fetch) -> &mut FxMap<Sym, Vec<u32>> {
        match kind {
            Fetch::Identifiers => &mut self.loaded,
            Fetch::Transformations => &mut self.groups,
        }
    }

    /// `events_touching` for every key not fetched yet, in batches of `batch_max`; each key gets
    /// the indices of its events in time order.
    fn fetch(&mut self, keys: &[Sym], kind: Fetch) -> Result<(), TraceError> {
        let mut missing: Vec<Sym> = {
            let known = self.fetched(kind);
            keys.iter()
                .copied()
                .filter(|k| !known.contains_key(k))
                .collect()
        };
        // In symbol order (the order identifiers were first seen): deterministic, and no string
        // comparisons.
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let chunks: Vec<&[Sym]> = missing.chunks(self.opts.batch_max).collect();
        let waves: Vec<&[&[Sym]]> = chunks.chunks(fetch_lanes()).collect();
        let names: Vec<Vec<Vec<String>>> = waves
            .iter()
            .map(|wave| {
                wave.iter()
                    .map(|chunk| {
                        chunk
                            .iter()
                            .map(|&k| self.syms.name(k).to_string())
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let (store, scope) = (self.store, self.scope);
        // Wave k + 1 is fetched while wave k is indexed. The budget is applied as if every batch
        // had been fetched after the one before (rows past it are dropped unread), so the answer
        // does not depend on the number of lanes.
        std::thread::scope(|s| -> Result<(), TraceError> {
            let mut next: Option<std::thread::ScopedJoinHandle<'_, _>> = None;
            for (k, wave) in waves.iter().enumerate() {
                let fetched = if k == 0 {
                    // The first wave on this thread (most walks' batches fit in one wave).
                    (self.fetched_rows < self.opts.events_max)
                        .then(|| fetch_wave(store, scope, &names[0]))
                } else {
                    next.take()
                        .map(|h| h.join().expect("a fetch thread panicked"))
                };
                if k + 1 < waves.len() && self.fetched_rows < self.opts.events_max {
                    let n = &names[k + 1];
                    next = Some(s.spawn(move || fetch_wave(store, scope, n)));
                }
                let mut fetched = fetched.unwrap_or_default().into_iter();
                for &chunk in wave.iter() {
                    let rows = fetched.next();
                    if self.fetched_rows >= self.opts.events_max {
                        self.truncated = true;
                        let known = self.fetched(kind);
                        for &k in chunk {
                            known.insert(k, Vec::new());
                        }
                        continue;
                    }
                    let rows = rows.expect("a wave is fetched while under budget")?;
                    self.fetched_rows += rows.len();
                    self.take(chunk, rows, kind)?;
                }
            }
            Ok(())
        })
    }

    /// Index the rows of one batch under its keys.
    fn take(
        &mut self,
        chunk: &[Sym],
        rows: Vec<StoredEvent>,
        kind: Fetch,
    ) -> Result<(), TraceError> {
        let mut per: FxMap<Sym, Vec<u32>> = chunk.iter().map(|&k| (k, Vec::new())).collect();
        for row in rows {
            let idx = match self.by_seq.get(&row.seq) {
                Some(&i) => i,
                None => {
                    let seq = row.seq;
                    let ev = CEv::parse(row, &mut self.syms)?;
                    let i = self.events.len() as u32;
                    self.events.push(ev);
                    self.by_seq.insert(seq, i);
                    i
                }
            };
            let ev = &self.events[idx as usize];
            match kind {
                Fetch::Identifiers => {
                    for id in ev.touched() {
                        if let Some(list) = per.get_mut(&id) {
                            list.push(idx);
                        }
                    }
                }
                Fetch::Transformations => {
                    if let Some(t) = ev.transformation_id
                        && let Some(list) = per.get_mut(&t)
                    {
                        list.push(idx);
                    }
                }
            }
        }
        let events = &self.events;
        for list in per.values_mut() {
            list.sort_by_key(|&i| (events[i as usize].time_ms, events[i as usize].seq));
            list.dedup();
        }
        self.fetched(kind).extend(per);
        Ok(())
    }

    /// The events of the transformation that event `i` is part of: every TransformationEvent
    /// sharing its `transformationID`, or `i` alone.
    fn transformation(&self, i: u32) -> Vec<u32> {
        match self.events[i as usize]
            .transformation_id
            .and_then(|t| self.groups.get(&t))
        {
            Some(g) if !g.is_empty() => g.clone(),
            _ => vec![i],
        }
    }

    fn expandable(&self, id: Sym) -> bool {
        let n = &self.nodes[&id];
        self.opts.depth_max.is_none_or(|d| n.depth < d)
    }

    fn run(&mut self) -> Result<(), TraceError> {
        loop {
            let dirty: Vec<Sym> = self
                .order
                .iter()
                .copied()
                .filter(|id| self.nodes[id].dirty)
                .collect();
            if dirty.is_empty() {
                return Ok(());
            }
            self.fetch(&dirty, Fetch::Identifiers)?;
            if self.opts.direction == Direction::Forward {
                // Containment windows need the container's events (its DELETEs).
                let mut parents = Vec::new();
                for &id in dirty.iter().filter(|&&id| self.expandable(id)) {
                    for &i in &self.loaded[&id] {
                        let e = &self.events[i as usize];
                        if e.is_containment() && e.all_children().any(|c| c == id) {
                            parents.extend(e.parent);
                        }
                    }
                }
                self.fetch(&parents, Fetch::Identifiers)?;
            }
            // Transformations split over several events by transformationID.
            let mut tids = Vec::new();
            for &id in dirty.iter().filter(|&&id| self.expandable(id)) {
                for &i in &self.loaded[&id] {
                    tids.extend(self.events[i as usize].transformation_id);
                }
            }
            self.fetch(&tids, Fetch::Transformations)?;
            let mut todo = Vec::new();
            for id in dirty {
                if let Some(n) = self.nodes.get_mut(&id) {
                    n.dirty = false;
                }
                if self.expandable(id) {
                    todo.clear();
                    match self.opts.direction {
                        Direction::Forward => self.forward(id, &mut todo),
                        Direction::Backward => self.backward(id, &mut todo),
                    }
                    let depth = self.nodes[&id].depth + 1;
                    for &(to, kind, event, lo, hi, inside) in &todo {
                        if self.reach(to, depth, lo, hi) {
                            self.links.insert(
                                (id, to, self.events[event as usize].id),
                                Link {
                                    kind,
                                    event,
                                    inside,
                                },
                            );
                        }
                    }
                }
            }
        }
    }

    fn in_window(&self, id: Sym) -> impl Iterator<Item = u32> + '_ {
        let n = &self.nodes[&id];
        self.loaded[&id]
            .iter()
            .copied()
            .filter(move |&i| (n.lo..=n.hi).contains(&self.events[i as usize].time_ms))
    }

    /// The end of `child`'s stay in `parent` entered by event `add`: the time of the first later
    /// DELETE of `parent` that removes it, or unbounded.
    fn stay_end(&self, parent: Sym, child: Sym, add: u32) -> i64 {
        let a = &self.events[add as usize];
        self.loaded
            .get(&parent)
            .into_iter()
            .flatten()
            .map(|&i| &self.events[i as usize])
            .filter(|d| (d.time_ms, d.seq) > (a.time_ms, a.seq) && d.parent == Some(parent))
            .filter(|d| d.removes(child))
            .map(|d| d.time_ms)
            .next()
            .unwrap_or(i64::MAX)
    }

    /// The links forward from `id`, in the order they are followed: (to, kind, event, window
    /// from, window until, stay).
    fn forward(&self, id: Sym, todo: &mut Vec<Todo>) {
        let hi = self.nodes[&id].hi;
        for i in self.in_window(id) {
            let e = &self.events[i as usize];
            if e.is_transformation() && e.all_inputs().any(|x| x == id) {
                for g in self.transformation(i) {
                    let ge = &self.events[g as usize];
                    for out in ge.all_outputs() {
                        todo.push((out, EdgeKind::Transformation, g, ge.time_ms, i64::MAX, None));
                    }
                }
            }
            if e.is_containment()
                && e.all_children().any(|c| c == id)
                && let Some(p) = e.parent
            {
                let end = self.stay_end(p, id, i).min(hi);
                todo.push((
                    p,
                    EdgeKind::Aggregation,
                    i,
                    e.time_ms,
                    end,
                    Some((e.time_ms, end)),
                ));
            }
            if e.ilmd_lot_set.contains(&id) {
                for &(serial, lot) in &e.ilmd_lots {
                    if lot == id {
                        todo.push((serial, EdgeKind::Lot, i, e.time_ms, i64::MAX, None));
                    }
                }
            }
        }
    }

    fn backward(&self, id: Sym, todo: &mut Vec<Todo>) {
        let hi = self.nodes[&id].hi;
        for i in self.in_window(id) {
            let e = &self.events[i as usize];
            if e.is_transformation() && e.all_outputs().any(|x| x == id) {
                for g in self.transformation(i) {
                    let ge = &self.events[g as usize];
                    for inp in ge.all_inputs() {
                        todo.push((inp, EdgeKind::Transformation, g, i64::MIN, ge.time_ms, None));
                    }
                }
            }
            if e.is_containment() && e.parent == Some(id) {
                for c in e.all_children() {
                    let end = self.stay_end(id, c, i).min(hi);
                    todo.push((
                        c,
                        EdgeKind::Aggregation,
                        i,
                        i64::MIN,
                        end,
                        Some((e.time_ms, end)),
                    ));
                }
            }
            for &(serial, lot) in &e.ilmd_lots {
                if serial == id {
                    todo.push((lot, EdgeKind::Lot, i, i64::MIN, e.time_ms, None));
                }
            }
        }
    }

    fn finish(self, starts: Vec<Sym>) -> Walked {
        let Walk {
            syms,
            events,
            loaded,
            nodes,
            order,
            links,
            truncated,
            opts,
            ..
        } = self;
        let mut edges: Vec<(Sym, Sym, Sym, Link)> = links
            .into_iter()
            .map(|((f, t, e), l)| (f, t, e, l))
            .collect();
        edges.sort_by(|a, b| {
            (syms.name(a.0), syms.name(a.1), syms.name(a.2)).cmp(&(
                syms.name(b.0),
                syms.name(b.1),
                syms.name(b.2),
            ))
        });
        let edges: Vec<(Sym, Sym, Link)> =
            edges.into_iter().map(|(f, t, _, l)| (f, t, l)).collect();
        // Objects in answer order.
        let start_set: BTreeSet<Sym> = starts.iter().copied().collect();
        let mut objects: Vec<(Sym, u32, i64, i64)> = order
            .iter()
            .map(|id| {
                let n = &nodes[id];
                (*id, n.depth, n.lo, n.hi)
            })
            .collect();
        objects.sort_by(|a, b| {
            (!start_set.contains(&a.0), a.1, syms.name(a.0)).cmp(&(
                !start_set.contains(&b.0),
                b.1,
                syms.name(b.0),
            ))
        });
        let position: FxMap<Sym, usize> =
            objects.iter().enumerate().map(|(k, o)| (o.0, k)).collect();
        let direct: Vec<Vec<u32>> = objects
            .iter()
            .map(|&(id, _, lo, hi)| {
                loaded
                    .get(&id)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&i| (lo..=hi).contains(&events[i as usize].time_ms))
                    .collect()
            })
            .collect();
        // Custody: the object's own events, then (up to 4 levels of nesting) the steps of each
        // container during the stay.
        let mut custody: Vec<Vec<(u32, Option<Sym>)>> = direct
            .iter()
            .map(|l| l.iter().map(|&i| (i, None)).collect())
            .collect();
        let stays: Vec<(usize, usize, Sym, i64, i64)> = edges
            .iter()
            .filter(|(_, _, l)| l.kind == EdgeKind::Aggregation)
            .filter_map(|&(from, to, l)| {
                let (child, parent) = match opts.direction {
                    Direction::Forward => (from, to),
                    Direction::Backward => (to, from),
                };
                let (a, b) = l.inside.unwrap_or((i64::MIN, i64::MAX));
                Some((
                    *position.get(&child)?,
                    *position.get(&parent)?,
                    parent,
                    a,
                    b,
                ))
            })
            .collect();
        let mut add: Vec<(u32, Option<Sym>)> = Vec::new();
        for _ in 0..4 {
            let mut changed = false;
            for &(child, parent, parent_sym, a, b) in &stays {
                add.clear();
                add.extend(
                    custody[parent]
                        .iter()
                        .filter(|(i, _)| (a..=b).contains(&events[*i as usize].time_ms))
                        .map(|&(i, via)| (i, Some(via.unwrap_or(parent_sym)))),
                );
                let mine = &mut custody[child];
                for &(i, via) in &add {
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
        for steps in &mut custody {
            steps.sort_by_key(|(i, _)| (events[*i as usize].time_ms, events[*i as usize].seq));
        }
        Walked {
            syms,
            events,
            direction: opts.direction,
            truncated,
            starts,
            objects,
            direct,
            custody,
            edges,
        }
    }
}

type Todo = (Sym, EdgeKind, u32, i64, i64, Option<(i64, i64)>);

impl Walked {
    fn name(&self, k: Sym) -> &str {
        self.syms.name(k)
    }

    fn opt(&self, k: Option<Sym>) -> Option<String> {
        k.map(|k| self.name(k).to_string())
    }

    fn kind(&self, id: Sym, own: &[u32]) -> ObjectKind {
        kind_of(
            self.name(id),
            own.iter().map(|&i| &self.events[i as usize]),
            id,
        )
    }

    fn last_quantity(&self, id: Sym, own: &[u32]) -> Option<(f64, Option<Sym>)> {
        own.iter()
            .rev()
            .find_map(|&i| self.events[i as usize].quantity_of(id))
    }

    /// The answer of `trace`.
    pub(crate) fn into_trace(self) -> Trace {
        let edges: Vec<Edge> = self
            .edges
            .iter()
            .map(|&(from, to, l)| {
                let ev = &self.events[l.event as usize];
                Edge {
                    from: self.name(from).to_string(),
                    to: self.name(to).to_string(),
                    kind: l.kind,
                    event_id: self.name(ev.id).to_string(),
                    time_ms: ev.time_ms,
                    inside_from_ms: l.inside.map(|(a, _)| a),
                    inside_until_ms: l.inside.and_then(|(_, b)| (b != i64::MAX).then_some(b)),
                }
            })
            .collect();
        let mut objects = Vec::with_capacity(self.objects.len());
        for (k, &(id, depth, lo, hi)) in self.objects.iter().enumerate() {
            let own = &self.direct[k];
            let steps: Vec<CustodyStep> = self.custody[k]
                .iter()
                .map(|&(i, via)| self.step(&self.events[i as usize], id, via))
                .collect();
            objects.push(ObjectFacts {
                id: self.name(id).to_string(),
                kind: self.kind(id, own),
                depth,
                from_ms: (lo != i64::MIN).then_some(lo),
                until_ms: (hi != i64::MAX).then_some(hi),
                events: own
                    .iter()
                    .map(|&i| self.name(self.events[i as usize].id).to_string())
                    .collect(),
                last_seen_ms: steps.last().map(|s| s.time_ms),
                last_holder: steps.last().map(|s| s.holder.clone()),
                last_location: steps.iter().rev().find_map(|s| s.location.clone()),
                last_disposition: steps.iter().rev().find_map(|s| s.disposition.clone()),
                last_quantity: self.last_quantity(id, own).map(|(quantity, uom)| Quantity {
                    quantity,
                    uom: self.opt(uom),
                }),
                custody: steps,
            });
        }
        let mut all: Vec<(i64, i64, u32)> = self
            .direct
            .iter()
            .flatten()
            .map(|&i| {
                (
                    self.events[i as usize].time_ms,
                    self.events[i as usize].seq,
                    i,
                )
            })
            .collect();
        all.sort_unstable();
        all.dedup();
        let mut seen = BTreeSet::new();
        let events = all
            .into_iter()
            .map(|(_, _, i)| self.name(self.events[i as usize].id))
            .filter(|id| seen.insert(*id))
            .map(str::to_string)
            .collect();
        Trace {
            start: self
                .starts
                .iter()
                .map(|&s| self.name(s).to_string())
                .collect(),
            direction: self.direction,
            events,
            objects,
            edges,
            truncated: self.truncated,
        }
    }

    fn step(&self, e: &CEv, id: Sym, via: Option<Sym>) -> CustodyStep {
        CustodyStep {
            time_ms: e.time_ms,
            event_id: self.name(e.id).to_string(),
            biz_step: self.opt(e.biz_step),
            disposition: self.opt(e.disposition),
            holder: self.name(e.owner).to_string(),
            role: if via.is_some() {
                "container"
            } else {
                e.role_of(id)
            },
            location: self.opt(e.location),
            source: self.opt(e.source_party),
            destination: self.opt(e.destination_party),
            source_location: self.opt(e.source_location),
            destination_location: self.opt(e.destination_location),
            quantity: if via.is_none() {
                e.quantity_of(id).map(|(quantity, uom)| Quantity {
                    quantity,
                    uom: self.opt(uom),
                })
            } else {
                None
            },
            via: self.opt(via),
        }
    }

    /// The recall scope, straight from the interned walk (the same as `recall::scope` of
    /// [`Walked::into_trace`]).
    pub(crate) fn scope(&self) -> RecallScope {
        let serialised: BTreeSet<&str> = self
            .edges
            .iter()
            .filter(|(_, _, l)| l.kind == EdgeKind::Lot)
            .map(|&(from, to, _)| match self.direction {
                Direction::Forward => self.name(from),
                Direction::Backward => self.name(to),
            })
            .collect();
        let views = self.objects.iter().enumerate().map(|(k, &(id, _, _, _))| {
            let kind = self.kind(id, &self.direct[k]);
            // Serials count 1 each: their stated quantities are not read.
            let quantities = kind != ObjectKind::Serial;
            ObjView {
                id: self.name(id),
                kind,
                steps: self.custody[k]
                    .iter()
                    .map(|&(i, via)| {
                        let e = &self.events[i as usize];
                        let name = |s: Option<Sym>| s.map(|s| self.name(s));
                        StepView {
                            holder: (e.owner, e.location),
                            biz_step: name(e.biz_step),
                            disposition: name(e.disposition),
                            role: if via.is_some() {
                                "container"
                            } else {
                                e.role_of(id)
                            },
                            quantity: if via.is_none() && quantities {
                                e.quantity_of(id).map(|(q, uom)| (q, name(uom)))
                            } else {
                                None
                            },
                        }
                    })
                    .collect(),
            }
        });
        crate::recall::scope_of_views(views, &serialised, self.truncated, |(o, l)| {
            (self.name(o), l.map(|l| self.name(l)))
        })
    }
}

/// What an object is, from its identifier and its events.
fn kind_of<'e>(name: &str, events: impl Iterator<Item = &'e CEv>, id: Sym) -> ObjectKind {
    if let Some(k) = kind_by_name(name) {
        return k;
    }
    let mut kind = ObjectKind::Serial;
    for e in events {
        if e.parent == Some(id) {
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

/// The kind an identifier's own form says, if it says one.
fn kind_by_name(id: &str) -> Option<ObjectKind> {
    let dl = id.strip_prefix(gs1::CANONICAL_HOST).unwrap_or("");
    if dl.starts_with("/00/") || id.starts_with("urn:epc:id:sscc:") {
        return Some(ObjectKind::Container);
    }
    if dl.contains("/21/") || id.starts_with("urn:epc:id:sgtin:") {
        return Some(ObjectKind::Serial);
    }
    if dl.contains("/10/") || id.starts_with("urn:epc:class:") {
        return Some(ObjectKind::Lot);
    }
    None
}
