//! The fast path of the pre-hash: one walk over the event's JSON that writes the standard fields
//! straight into the output in the canonical order, with no element tree and no per-event
//! allocation. It covers the events that capture sees every day (standard fields of the common
//! shapes, business transactions, sources, destinations, ILMD and user extensions made of plain
//! objects, arrays and scalars) and gives up on anything else (returns `false` before anything
//! it wrote counts): then the generic path of [`super::Hasher::prehash_into`], which is the
//! reference, hashes the event. The two agree byte for byte wherever the fast path answers; the
//! tests check that on the reference vectors and on thousands of generated events.
//!
//! The walk reads the event through the [`Json`] trait: a parsed `serde_json::Value`, or the
//! tokens of the raw scanner (module `raw`) when the event is hashed straight from its text.
//!
//! Where the fast path gives up: an event-level `@context`; `persistentDisposition`,
//! `sensorElementList`; a standard field of an unexpected JSON type (an array where one value
//! is expected, a list that is not an array, a list entry that is not a string or, for
//! quantities, not an object); a key the field order does not know inside a standard field
//! (user extensions there); XML text members (`#text`); nested arrays; nesting deeper than
//! [`FAST_DEPTH`] or more than [`FAST_NODES`] elements (the generic path decides about limits).

use serde_json::Value;

use super::{
    Leaf, NO_FIELD, Name, TOP, Text, Voc, ignored_key, json_text, list_element_name, same,
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

/// A JSON value as the fast path reads it: a parsed [`Value`] or a token of the raw scanner
/// (module `raw`). One walk serves both, so both write the same pre-hash by construction.
pub(super) trait Json<'n>: Copy {
    /// The members of an object, in document order.
    type Members: Iterator<Item = (&'n str, Self)> + Clone;
    /// The entries of an array.
    type Items: Iterator<Item = Self> + Clone;
    fn is_null(self) -> bool;
    /// The members if this is an object.
    fn members(self) -> Option<Self::Members>;
    /// The entries if this is an array.
    fn items(self) -> Option<Self::Items>;
    /// A string, number or boolean as leaf text; [`Text::None`] for anything else.
    fn text(self) -> Text<'n>;
}

type ValueMembers<'n> =
    std::iter::Map<serde_json::map::Iter<'n>, fn((&'n String, &'n Value)) -> (&'n str, &'n Value)>;

impl<'n> Json<'n> for &'n Value {
    type Members = ValueMembers<'n>;
    type Items = std::slice::Iter<'n, Value>;

    #[inline]
    fn is_null(self) -> bool {
        Value::is_null(self)
    }

    #[inline]
    fn members(self) -> Option<Self::Members> {
        match self {
            Value::Object(m) => Some(m.iter().map(|(k, v)| (k.as_str(), v))),
            _ => None,
        }
    }

    #[inline]
    fn items(self) -> Option<Self::Items> {
        match self {
            Value::Array(a) => Some(a.iter()),
            _ => None,
        }
    }

    #[inline]
    fn text(self) -> Text<'n> {
        json_text(self)
    }
}

/// The first member named `key`.
fn member<'n, J: Json<'n>>(mut members: J::Members, key: &str) -> Option<J> {
    members.find(|(k, _)| *k == key).map(|(_, v)| v)
}

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
    /// Append the pre-hash of `event` (an object whose `type` is `event_type`); `false` (with
    /// `out` as it was) if the generic path must hash it.
    pub(super) fn event<J: Json<'n>>(&mut self, event: J, event_type: &str) -> bool {
        let start = self.leaf.out.len();
        let base = self.stack.len();
        if self.event_inner(event, event_type).is_ok() {
            return true;
        }
        self.leaf.out.truncate(start);
        self.stack.truncate(base);
        false
    }

    fn event_inner<J: Json<'n>>(&mut self, event: J, event_type: &str) -> Step {
        let Some(members) = event.members() else {
            return Err(Bail);
        };
        let mut slots: [Option<J>; TOP.len()] = [None; TOP.len()];
        // The keys of the tail, by position (events have a dozen keys; more than 64 give up).
        let mut tail = 0u64;
        for (i, (k, v)) in members.clone().enumerate() {
            if i >= 64 {
                return Err(Bail);
            }
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
                self.top(i, *v)?;
            }
        }
        // The tail: every other element, sorted.
        let start = self.leaf.out.len();
        let base = self.stack.len();
        for (i, (k, v)) in members.enumerate() {
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
    fn check_size<J: Json<'n>>(&mut self, v: J, depth: usize) -> Step {
        self.count(depth)?;
        if let Some(mut items) = v.items() {
            items.try_for_each(|x| self.check_size(x, depth + 1))
        } else if let Some(mut members) = v.members() {
            members.try_for_each(|(_, x)| self.check_size(x, depth + 1))
        } else {
            Ok(())
        }
    }

    /// A scalar as text; anything else gives up.
    fn scalar<J: Json<'n>>(v: J) -> Result<Text<'n>, Bail> {
        match v.text() {
            Text::None => Err(Bail),
            text => Ok(text),
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
    fn top<J: Json<'n>>(&mut self, i: usize, v: J) -> Step {
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

    /// A list field written as a sort group: the name, then what `entry` writes for each entry
    /// (each pushing its byte range), sorted; nothing at all if no entry writes anything.
    fn sorted_list<J: Json<'n>>(
        &mut self,
        name: &str,
        v: J,
        mut entry: impl FnMut(&mut Self, J) -> Step,
    ) -> Step {
        let Some(items) = v.items() else {
            return Err(Bail);
        };
        if items.clone().next().is_none() {
            return Ok(());
        }
        let p = self.leaf.out.len();
        self.leaf.out.push_str(name);
        let start = self.leaf.out.len();
        let base = self.stack.len();
        for item in items {
            entry(self, item)?;
        }
        self.sort(start, base);
        if self.leaf.out.len() == start {
            self.leaf.out.truncate(p);
        }
        Ok(())
    }

    /// `epcList` and the other lists of EPCs: the name, then `epc=…` of each entry, sorted.
    fn epc_list<J: Json<'n>>(&mut self, name: &str, v: J) -> Step {
        self.sorted_list(name, v, |this, item| {
            if item.is_null() {
                return Ok(());
            }
            this.count(2)?;
            let text = Self::scalar(item)?;
            let s = this.leaf.out.len();
            this.leaf_field("epc", text, Voc::None, false);
            if this.leaf.out.len() > s {
                this.stack.push((s, this.leaf.out.len()));
            }
            Ok(())
        })
    }

    /// `quantityList` and the other lists of quantities: the name, then each
    /// `quantityElementepcClass=…quantity=…uom=…`, sorted.
    fn quantity_list<J: Json<'n>>(&mut self, name: &str, v: J) -> Step {
        self.sorted_list(name, v, |this, item| {
            let Some(q) = item.members() else {
                if item.is_null() {
                    return Ok(());
                }
                return Err(Bail);
            };
            this.count(2)?;
            let mut fields: [Option<J>; 3] = [None; 3];
            for (k, x) in q {
                if x.is_null() || (ignored_key(k) && k != "#text") {
                    continue;
                }
                let Some(f) = QUANTITY_FIELDS.iter().position(|q| same(q, k)) else {
                    return Err(Bail);
                };
                fields[f] = Some(x);
            }
            let s = this.leaf.out.len();
            this.leaf.out.push_str("quantityElement");
            let after = this.leaf.out.len();
            for (f, x) in QUANTITY_FIELDS.into_iter().zip(fields) {
                if let Some(x) = x {
                    this.count(3)?;
                    let text = Self::scalar(x)?;
                    this.leaf_field(f, text, Voc::None, false);
                }
            }
            if this.leaf.out.len() == after {
                this.leaf.out.truncate(s);
            } else {
                this.stack.push((s, this.leaf.out.len()));
            }
            Ok(())
        })
    }

    /// `readPoint` / `bizLocation`: `readPointid=…`.
    fn location<J: Json<'n>>(&mut self, name: &str, v: J) -> Step {
        let Some(m) = v.members() else {
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
    fn key<J: Json<'n>>(
        &mut self,
        k: &'n str,
        name: Name<'n>,
        v: J,
        top: bool,
        depth: usize,
    ) -> Step {
        if top && let Some(voc) = pair_vocabulary(k) {
            return self.list(name, v, Some(voc), depth);
        }
        if let Some(items) = v.items() {
            if name.list_element().is_some() {
                return self.list(name, v, None, depth);
            }
            for item in items {
                if item.is_null() {
                    continue;
                }
                if item.items().is_some() {
                    return Err(Bail);
                }
                self.element(name, item, depth)?;
            }
            return Ok(());
        }
        if v.is_null() {
            return Ok(());
        }
        self.element(name, v, depth)
    }

    /// A `…List` element with one element per entry of `v`, pushed as one sort entry.
    fn list<J: Json<'n>>(
        &mut self,
        name: Name<'n>,
        v: J,
        pairs: Option<&'static vocab::Vocabulary>,
        depth: usize,
    ) -> Step {
        let (many, one) = match v.items() {
            Some(items) if items.clone().next().is_none() => return Ok(()),
            Some(items) => (Some(items), None),
            None => (None, Some(v)),
        };
        self.count(depth)?;
        let s = self.leaf.out.len();
        name.write(self.leaf.out);
        let start = self.leaf.out.len();
        let base = self.stack.len();
        for item in many.into_iter().flatten().chain(one) {
            if item.is_null() {
                continue;
            }
            if item.items().is_some() {
                return Err(Bail);
            }
            match pairs {
                Some(voc) => self.pair(name, item, voc, depth + 1)?,
                None => {
                    let element = list_element_name(name, item.members().is_some());
                    self.element(element, item, depth + 1)?;
                }
            }
        }
        self.sort(start, base);
        self.stack.push((s, self.leaf.out.len()));
        Ok(())
    }

    /// One business transaction, source or destination: `type=…` first, then the rest sorted.
    fn pair<J: Json<'n>>(
        &mut self,
        list: Name<'n>,
        item: J,
        voc: &'static vocab::Vocabulary,
        depth: usize,
    ) -> Step {
        self.count(depth)?;
        let s = self.leaf.out.len();
        match item.members() {
            Some(m) => {
                match member::<J>(m.clone(), "type") {
                    None => {}
                    Some(t) if t.is_null() => {}
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
            None => {
                // A bare entry is the element of the list (`bizTransaction`, `source`, …).
                let element = list.list_element().unwrap_or(list);
                self.count(depth + 1)?;
                element.write(self.leaf.out);
                self.leaf.text(Self::scalar(item)?, Voc::None, false);
            }
        }
        self.stack.push((s, self.leaf.out.len()));
        Ok(())
    }

    /// One element (`name[=value]`, then its children sorted), pushed as one sort entry.
    fn element<J: Json<'n>>(&mut self, name: Name<'n>, v: J, depth: usize) -> Step {
        self.count(depth)?;
        let s = self.leaf.out.len();
        name.write(self.leaf.out);
        match v.members() {
            Some(m) => {
                if let Some(t) = member::<J>(m.clone(), "#text") {
                    self.leaf.text(t.text(), Voc::None, false);
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
            None => self.leaf.text(Self::scalar(v)?, Voc::None, false),
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
