//! The fast path of the pre-hash: one walk over the event's JSON that writes the standard fields
//! straight into the output in the canonical order, with no element tree and no per-event
//! allocation. It covers the events that capture sees every day (standard fields of the common
//! shapes, business transactions, sources, destinations, ILMD and user extensions made of plain
//! objects, arrays and scalars) and gives up on anything else (returns `false` before anything
//! it wrote counts): then the generic path of [`super::Hasher::prehash_into`], which is the
//! reference, hashes the event. The two agree byte for byte wherever the fast path answers; the
//! tests check that on the reference vectors and on thousands of generated events.
//!
//! Where the fast path gives up: an event-level `@context`; `persistentDisposition`,
//! `sensorElementList`; a standard field of an unexpected JSON type (an array where one value
//! is expected, a list that is not an array, a list entry that is not a string or, for
//! quantities, not an object); a key the field order does not know inside a standard field
//! (user extensions there); XML text members (`#text`); nested arrays; nesting deeper than
//! [`FAST_DEPTH`] or more than [`FAST_NODES`] elements (the generic path decides about limits).

use serde_json::{Map, Value};

use super::{
    Leaf, NO_FIELD, Name, TOP, Text, Voc, ignored_key, json_text, list_element_name, member, same,
    sort_group, top_field, vocab,
};

/// Deepest JSON nesting the fast path writes (well inside [`super::MAX_DEPTH`], which counts
/// list elements as levels too).
pub(super) const FAST_DEPTH: usize = 12;
/// Most elements of one event the fast path writes (well inside [`super::MAX_NODES`]).
pub(super) const FAST_NODES: usize = 10_000;

/// Top-level keys that never count (with the hasher's ignored fields). They have no prefix, so
/// they are their own element names.
const BOOKKEEPING: [&str; 4] = ["recordTime", "eventID", "type", "errorDeclaration"];

/// The state of one fast walk.
pub(super) struct Fast<'n, 'o> {
    pub(super) leaf: Leaf<'n, 'o>,
    /// Byte ranges of the entries of the open sort groups (the hasher's reused buffer).
    pub(super) stack: &'o mut Vec<(usize, usize)>,
    /// Buffer for reordering a sort group (the hasher's reused buffer).
    pub(super) sort_buf: &'o mut String,
    /// The hasher's ignored top-level fields.
    pub(super) ignore: &'o [&'n str],
    /// Elements written so far.
    pub(super) nodes: usize,
}

/// The fields of a quantity element, in their order.
const QUANTITY_FIELDS: [&str; 3] = ["epcClass", "quantity", "uom"];

/// Give up: the generic path hashes this event.
struct Bail;

type Step = Result<(), Bail>;

impl<'n> Fast<'n, '_> {
    /// Append the pre-hash of `event` (whose `type` is `event_type`); `false` (with `out` as it
    /// was) if the generic path must hash it.
    pub(super) fn event(&mut self, event: &'n Map<String, Value>, event_type: &str) -> bool {
        let start = self.leaf.out.len();
        let base = self.stack.len();
        if self.event_inner(event, event_type).is_ok() {
            return true;
        }
        self.leaf.out.truncate(start);
        self.stack.truncate(base);
        false
    }

    fn event_inner(&mut self, event: &'n Map<String, Value>, event_type: &str) -> Step {
        let mut slots: [Option<&'n Value>; TOP.len()] = [None; TOP.len()];
        // The keys of the tail, by position (events have a dozen keys).
        let mut tail = 0u64;
        if event.len() > 64 {
            return Err(Bail);
        }
        for (i, (k, v)) in event.iter().enumerate() {
            let f = top_field(k);
            if f != NO_FIELD {
                if !v.is_null() {
                    slots[usize::from(f)] = Some(v);
                }
            } else if same(k, "@context") {
                return Err(Bail);
            } else if !v.is_null() && !ignored_key(k) {
                tail |= 1 << i;
            }
        }
        let out = &mut *self.leaf.out;
        out.push_str("eventType=");
        out.push_str(event_type);
        for (i, v) in slots.iter().enumerate() {
            if let Some(v) = v {
                self.top(i, v)?;
            }
        }
        // The tail: every other element, sorted.
        let start = self.leaf.out.len();
        let base = self.stack.len();
        for (i, (k, v)) in event.iter().enumerate() {
            if tail & (1 << i) == 0 {
                continue;
            }
            let name = self.leaf.ns.name_of(k);
            let bookkeeping =
                matches!(name, Name::Key(key) if BOOKKEEPING.iter().any(|b| same(b, key)));
            if bookkeeping || self.ignore.iter().any(|i| self.leaf.ns.name_of(i) == name) {
                // Not hashed, but the generic path would still refuse it if it is too large.
                self.check_size(v, 1)?;
                continue;
            }
            self.key(k, name, v, true, 1)?;
        }
        self.sort(start, base);
        Ok(())
    }

    fn sort(&mut self, start: usize, base: usize) {
        sort_group(self.leaf.out, self.stack, self.sort_buf, start, base);
    }

    fn count(&mut self, depth: usize) -> Step {
        self.nodes += 1;
        if self.nodes > FAST_NODES || depth > FAST_DEPTH {
            return Err(Bail);
        }
        Ok(())
    }

    /// A value the hash leaves out: only its size counts (the generic path builds it).
    fn check_size(&mut self, v: &Value, depth: usize) -> Step {
        self.count(depth)?;
        match v {
            Value::Array(a) => a.iter().try_for_each(|x| self.check_size(x, depth + 1)),
            Value::Object(m) => m.values().try_for_each(|x| self.check_size(x, depth + 1)),
            _ => Ok(()),
        }
    }

    /// A scalar as text; anything else gives up.
    fn scalar(v: &Value) -> Result<Text<'_>, Bail> {
        match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(json_text(v)),
            _ => Err(Bail),
        }
    }

    /// `name=value` of a standard leaf field; nothing at all if the value is empty.
    fn leaf_field(&mut self, name: &str, text: Text<'_>, voc: Voc, time: bool) {
        let p = self.leaf.out.len();
        self.leaf.out.push_str(name);
        let after = self.leaf.out.len();
        self.leaf.text(text, voc, time);
        if self.leaf.out.len() == after {
            self.leaf.out.truncate(p);
        }
    }

    /// Standard field `i` of [`TOP`].
    fn top(&mut self, i: usize, v: &'n Value) -> Step {
        let name = TOP[i].name;
        self.count(1)?;
        // By index in `TOP` (a `match` on the names would compare strings).
        match i {
            3 | 5 | 6 | 10 => self.epc_list(name, v),
            7 | 8 | 9 | 11 => self.quantity_list(name, v),
            17 | 18 => self.location(name, v),
            16 | 19 => Err(Bail),
            _ => {
                let voc = match i {
                    14 => Voc::Of(&vocab::BIZ_STEP),
                    15 => Voc::Of(&vocab::DISPOSITION),
                    _ => Voc::None,
                };
                let text = Self::scalar(v)?;
                self.leaf_field(name, text, voc, TOP[i].time);
                Ok(())
            }
        }
    }

    /// `epcList` and the other lists of EPCs: the name, then `epc=…` of each entry, sorted.
    fn epc_list(&mut self, name: &str, v: &'n Value) -> Step {
        let Value::Array(items) = v else {
            return Err(Bail);
        };
        if items.is_empty() {
            return Ok(());
        }
        let p = self.leaf.out.len();
        self.leaf.out.push_str(name);
        let start = self.leaf.out.len();
        let base = self.stack.len();
        for item in items {
            if item.is_null() {
                continue;
            }
            self.count(2)?;
            let text = Self::scalar(item)?;
            let s = self.leaf.out.len();
            self.leaf_field("epc", text, Voc::None, false);
            if self.leaf.out.len() > s {
                self.stack.push((s, self.leaf.out.len()));
            }
        }
        self.sort(start, base);
        if self.leaf.out.len() == start {
            self.leaf.out.truncate(p);
        }
        Ok(())
    }

    /// `quantityList` and the other lists of quantities: the name, then each
    /// `quantityElementepcClass=…quantity=…uom=…`, sorted.
    fn quantity_list(&mut self, name: &str, v: &'n Value) -> Step {
        let Value::Array(items) = v else {
            return Err(Bail);
        };
        if items.is_empty() {
            return Ok(());
        }
        let p = self.leaf.out.len();
        self.leaf.out.push_str(name);
        let start = self.leaf.out.len();
        let base = self.stack.len();
        for item in items {
            let Value::Object(q) = item else {
                if item.is_null() {
                    continue;
                }
                return Err(Bail);
            };
            self.count(2)?;
            let mut fields: [Option<&Value>; 3] = [None; 3];
            for (k, x) in q {
                if x.is_null() || (ignored_key(k) && k != "#text") {
                    continue;
                }
                let Some(f) = QUANTITY_FIELDS.iter().position(|q| same(q, k)) else {
                    return Err(Bail);
                };
                fields[f] = Some(x);
            }
            let s = self.leaf.out.len();
            self.leaf.out.push_str("quantityElement");
            let after = self.leaf.out.len();
            for (f, x) in QUANTITY_FIELDS.into_iter().zip(fields) {
                if let Some(x) = x {
                    self.count(3)?;
                    let text = Self::scalar(x)?;
                    self.leaf_field(f, text, Voc::None, false);
                }
            }
            if self.leaf.out.len() == after {
                self.leaf.out.truncate(s);
            } else {
                self.stack.push((s, self.leaf.out.len()));
            }
        }
        self.sort(start, base);
        if self.leaf.out.len() == start {
            self.leaf.out.truncate(p);
        }
        Ok(())
    }

    /// `readPoint` / `bizLocation`: `readPointid=…`.
    fn location(&mut self, name: &str, v: &'n Value) -> Step {
        let Value::Object(m) = v else {
            return Err(Bail);
        };
        let mut id = None;
        for (k, x) in m {
            if x.is_null() || (ignored_key(k) && k != "#text") {
                continue;
            }
            if !same(k, "id") {
                return Err(Bail);
            }
            id = Some(x);
        }
        let p = self.leaf.out.len();
        self.leaf.out.push_str(name);
        let after = self.leaf.out.len();
        if let Some(x) = id {
            self.count(2)?;
            let text = Self::scalar(x)?;
            self.leaf_field("id", text, Voc::None, false);
        }
        if self.leaf.out.len() == after {
            self.leaf.out.truncate(p);
        }
        Ok(())
    }

    /// The elements of one key of an object (one per entry of an array, one list element for
    /// a `…List` array), each pushed as an entry of the open sort group. `top`: a key of the
    /// event itself (where business transactions, sources and destinations are lists of pairs).
    fn key(&mut self, k: &'n str, name: Name<'n>, v: &'n Value, top: bool, depth: usize) -> Step {
        if top && let Some(voc) = pair_vocabulary(k) {
            return self.list(name, v, Some(voc), depth);
        }
        match v {
            Value::Array(_) if name.list_element().is_some() => self.list(name, v, None, depth),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Null => {}
                        Value::Array(_) => return Err(Bail),
                        _ => self.element(name, item, depth)?,
                    }
                }
                Ok(())
            }
            Value::Null => Ok(()),
            _ => self.element(name, v, depth),
        }
    }

    /// A `…List` element with one element per entry of `v`, pushed as one sort entry.
    fn list(
        &mut self,
        name: Name<'n>,
        v: &'n Value,
        pairs: Option<&'static vocab::Vocabulary>,
        depth: usize,
    ) -> Step {
        let items = match v {
            Value::Array(items) if items.is_empty() => return Ok(()),
            Value::Array(items) => items.as_slice(),
            other => std::slice::from_ref(other),
        };
        self.count(depth)?;
        let s = self.leaf.out.len();
        name.write(self.leaf.out);
        let start = self.leaf.out.len();
        let base = self.stack.len();
        for item in items {
            match item {
                Value::Null => {}
                Value::Array(_) => return Err(Bail),
                _ => match pairs {
                    Some(voc) => self.pair(name, item, voc, depth + 1)?,
                    None => {
                        let element = list_element_name(name, item.is_object());
                        self.element(element, item, depth + 1)?;
                    }
                },
            }
        }
        self.sort(start, base);
        self.stack.push((s, self.leaf.out.len()));
        Ok(())
    }

    /// One business transaction, source or destination: `type=…` first, then the rest sorted.
    fn pair(
        &mut self,
        list: Name<'n>,
        item: &'n Value,
        voc: &'static vocab::Vocabulary,
        depth: usize,
    ) -> Step {
        self.count(depth)?;
        let s = self.leaf.out.len();
        match item {
            Value::Object(m) => {
                match member(m, "type") {
                    None | Some(Value::Null) => {}
                    Some(t) => {
                        self.count(depth + 1)?;
                        let text = Self::scalar(t)?;
                        self.leaf.out.push_str("type");
                        self.leaf.text(text, Voc::Of(voc), false);
                    }
                }
                let start = self.leaf.out.len();
                let base = self.stack.len();
                for (k, x) in m {
                    if same(k, "type") || ignored_key(k) {
                        if k == "#text" {
                            return Err(Bail);
                        }
                        continue;
                    }
                    let name = self.leaf.ns.name_of(k);
                    self.key(k, name, x, false, depth + 1)?;
                }
                self.sort(start, base);
            }
            other => {
                // A bare entry is the element of the list (`bizTransaction`, `source`, …).
                let element = list.list_element().unwrap_or(list);
                self.count(depth + 1)?;
                element.write(self.leaf.out);
                self.leaf.text(Self::scalar(other)?, Voc::None, false);
            }
        }
        self.stack.push((s, self.leaf.out.len()));
        Ok(())
    }

    /// One element (`name[=value]`, then its children sorted), pushed as one sort entry.
    fn element(&mut self, name: Name<'n>, v: &'n Value, depth: usize) -> Step {
        self.count(depth)?;
        let s = self.leaf.out.len();
        name.write(self.leaf.out);
        match v {
            Value::Object(m) => {
                if let Some(t) = member(m, "#text") {
                    self.leaf.text(json_text(t), Voc::None, false);
                }
                let start = self.leaf.out.len();
                let base = self.stack.len();
                for (k, x) in m {
                    if ignored_key(k) {
                        continue;
                    }
                    let name = self.leaf.ns.name_of(k);
                    self.key(k, name, x, false, depth + 1)?;
                }
                self.sort(start, base);
            }
            other => self.leaf.text(Self::scalar(other)?, Voc::None, false),
        }
        self.stack.push((s, self.leaf.out.len()));
        Ok(())
    }
}

/// The vocabulary of the `type` of the entries of an event-level list of pairs.
fn pair_vocabulary(key: &str) -> Option<&'static vocab::Vocabulary> {
    if same(key, "bizTransactionList") {
        Some(&vocab::BIZ_TRANSACTION_TYPE)
    } else if same(key, "sourceList") || same(key, "destinationList") {
        Some(&vocab::SOURCE_DEST_TYPE)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Fast::top` dispatches on positions in `TOP`.
    #[test]
    fn the_field_positions_are_those_of_top() {
        let names = |ix: &[usize]| ix.iter().map(|&i| TOP[i].name).collect::<Vec<_>>();
        assert_eq!(
            names(&[3, 5, 6, 10]),
            ["epcList", "inputEPCList", "childEPCs", "outputEPCList"]
        );
        assert_eq!(
            names(&[7, 8, 9, 11]),
            [
                "quantityList",
                "childQuantityList",
                "inputQuantityList",
                "outputQuantityList"
            ]
        );
        assert_eq!(names(&[17, 18]), ["readPoint", "bizLocation"]);
        assert_eq!(
            names(&[14, 15, 16, 19]),
            [
                "bizStep",
                "disposition",
                "persistentDisposition",
                "sensorElementList"
            ]
        );
    }
}
