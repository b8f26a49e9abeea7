//! Readable tree and Graphviz output of a trace.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::{Edge, EdgeKind, ObjectFacts, ObjectKind, Trace};

fn kind_word(k: ObjectKind) -> &'static str {
    match k {
        ObjectKind::Serial => "serial",
        ObjectKind::Lot => "lot",
        ObjectKind::Container => "container",
    }
}

fn edge_word(k: EdgeKind) -> &'static str {
    match k {
        EdgeKind::Transformation => "transformation",
        EdgeKind::Aggregation => "aggregation",
        EdgeKind::Lot => "lot",
    }
}

/// `YYYY-MM-DD HH:MM` (UTC) of a time in ms.
pub(crate) fn short_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60
    )
}

fn describe(o: &ObjectFacts) -> String {
    let mut s = format!("{} [{}]", o.id, kind_word(o.kind));
    if let Some(q) = &o.last_quantity {
        let _ = write!(
            s,
            " qty {}{}",
            q.quantity,
            q.uom
                .as_deref()
                .map(|u| format!(" {u}"))
                .unwrap_or_default()
        );
    }
    if let Some(h) = &o.last_holder {
        let _ = write!(s, " held by {h}");
    }
    if let Some(l) = &o.last_location {
        let _ = write!(s, " at {l}");
    }
    if let Some(d) = &o.last_disposition {
        let _ = write!(s, " ({d})");
    }
    if let Some(t) = o.last_seen_ms {
        let _ = write!(s, ", last seen {}", short_time(t));
    }
    let _ = write!(s, ", {} events", o.events.len());
    s
}

/// Each object once, under the first edge that reached it from a shallower object.
pub(crate) fn tree(t: &Trace) -> String {
    let depth: BTreeMap<&str, u32> = t.objects.iter().map(|o| (o.id.as_str(), o.depth)).collect();
    let facts: BTreeMap<&str, &ObjectFacts> =
        t.objects.iter().map(|o| (o.id.as_str(), o)).collect();
    let mut parent_edge: BTreeMap<&str, &Edge> = BTreeMap::new();
    for e in &t.edges {
        let (Some(df), Some(dt)) = (depth.get(e.from.as_str()), depth.get(e.to.as_str())) else {
            continue;
        };
        if df < dt && !t.start.contains(&e.to) {
            parent_edge.entry(e.to.as_str()).or_insert(e);
        }
    }
    let mut kids: BTreeMap<&str, Vec<&Edge>> = BTreeMap::new();
    for e in parent_edge.values() {
        kids.entry(e.from.as_str()).or_default().push(e);
    }
    let mut out = format!(
        "{} trace from {}: {} objects, {} events{}\n",
        t.direction.as_str(),
        t.start.join(", "),
        t.objects.len(),
        t.events.len(),
        if t.truncated {
            " (truncated by a budget)"
        } else {
            ""
        }
    );
    let mut seen = BTreeSet::new();
    // An explicit stack (no recursion over data): (object, indent, via edge).
    let mut stack: Vec<(&str, String, Option<&Edge>)> = t
        .start
        .iter()
        .rev()
        .map(|s| (s.as_str(), String::new(), None))
        .collect();
    while let Some((id, indent, via)) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let line = facts
            .get(id)
            .map(|o| describe(o))
            .unwrap_or_else(|| id.to_string());
        match via {
            None => {
                let _ = writeln!(out, "{line}");
            }
            Some(e) => {
                let _ = writeln!(
                    out,
                    "{indent}└─ {} {} ({}) → {line}",
                    edge_word(e.kind),
                    short_time(e.time_ms),
                    e.event_id
                );
            }
        }
        if let Some(children) = kids.get(id) {
            let next = format!("{indent}   ");
            for e in children.iter().rev() {
                stack.push((e.to.as_str(), next.clone(), Some(e)));
            }
        }
    }
    out
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// A Graphviz digraph: one node per object (shape by kind), one edge per link.
pub(crate) fn dot(t: &Trace) -> String {
    let mut out = String::from(
        "digraph trace {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for o in &t.objects {
        let shape = match o.kind {
            ObjectKind::Serial => "ellipse",
            ObjectKind::Lot => "box",
            ObjectKind::Container => "box3d",
        };
        let mut label = format!("{}\n{}", o.id, kind_word(o.kind));
        if let Some(l) = &o.last_location {
            label.push_str(&format!("\nat {l}"));
        }
        let style = if t.start.contains(&o.id) {
            ", style=bold"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} [shape={shape}, label={}{style}];",
            quote(&o.id),
            quote(&label)
        );
    }
    for e in &t.edges {
        let _ = writeln!(
            out,
            "  {} -> {} [label={}];",
            quote(&e.from),
            quote(&e.to),
            quote(&format!("{} {}", edge_word(e.kind), short_time(e.time_ms)))
        );
    }
    out.push_str("}\n");
    out
}
