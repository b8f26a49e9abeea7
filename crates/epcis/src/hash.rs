//! The CBV 2.0 event hash (`ni:///sha-256;<hex>?ver=CBV2.0`) over events in their JSON-LD form.
//!
//! The algorithm is the one of the reference implementation (GS1 Germany / EECC,
//! `epcis-event-hash-generator`, `README-algorithm.md`); where its prose and the reference
//! implementation's vectors disagree, the vectors win, because other parties compute their event
//! IDs with that implementation. In one line: the pre-hash string is `eventType=<type>`, then the
//! standard fields in the canonical property order (each list sorted), then everything else
//! (business transactions, sources, destinations, ILMD, user extensions) as one sorted tail:
//!
//! 1. `eventTime`, `eventTimeZoneOffset`, `certificationInfo`, `epcList`, `parentID`,
//!    `inputEPCList`, `childEPCs`, `quantityList`, `childQuantityList`, `inputQuantityList`,
//!    `outputEPCList`, `outputQuantityList`, `action`, `transformationID`, `bizStep`,
//!    `disposition`, `persistentDisposition` (`set`, `unset`), `readPoint` (`id`), `bizLocation`
//!    (`id`), `sensorElementList` (`sensorMetadata`, `sensorReport`, each in its own field order).
//!    A field is written as `name=value`; a structured field as its name followed by its children;
//!    entries of one name are sorted as strings; user extensions inside a structured field
//!    (namespace ending in `/`) follow its regular fields, sorted.
//! 2. The tail: every remaining top-level element except `recordTime`, `eventID`, `type`,
//!    `errorDeclaration` and the document's `ignoreFields`, written generically
//!    (`{namespace}local=value`, nested elements after their parent, sorted at every level).
//!    `bizTransactionList`, `sourceList` and `destinationList` entries are written as
//!    `type=<type><key>=<value>`. Parts of standard fields that the field order does not know stay
//!    behind and are written here under their parents' names.
//!
//! Values are trimmed; bare CBV terms (`shipping`, `in_transit`, `po`, `Temperature`) and CURIEs of
//! GS1 namespaces expand to their web URIs, `urn:epcglobal:cbv:` URNs to `https://ref.gs1.org/cbv/`;
//! numbers are written the way the reference writes them (a double, integral values without
//! fraction); timestamps of standard fields become UTC with milliseconds (4th decimal rounds half
//! up); EPC URIs and GS1 Digital Links become the constrained canonical Digital Link
//! (`gs1::canonical_dl`, then only the finest identification level, serials percent-encoded the
//! reference's way).
//!
//! JSON and XML give the same pre-hash: a JSON array under a user extension named `…List` holds
//! entries named without `List` (`ex:fooList: [..]` is `<ex:fooList><ex:foo>..`), an object there
//! is the list element itself; the document's `…:ignoreFields` (a JSON array of names, or from XML
//! an object whose members are the names) leave those top-level fields out.
//!
//! Decisions where neither the prose nor a vector decides (documented deviations from the reference
//! implementation): `epcList` comes before `parentID` (README table and openepcis; the Python puts
//! `parentID` first); JSON `null` counts as absent; a `type` in a business transaction, source or
//! destination comes first whatever the JSON key order; nested arrays are flattened; naive
//! timestamps are read as UTC; prefixes default to the EPCIS 2.0 context (`gs1` is
//! `https://gs1.org/voc/`, `cbvmda` is `urn:epcglobal:cbv:mda:`); numeric strings that Python's
//! `float()` reads but Rust's does not (`1_000`, non-ASCII digits) stay as written.
//!
//! Two paths write the pre-hash. The fast path (module `fast`) walks the event's JSON once and
//! writes the standard fields in the order above straight into the output; it covers the common
//! shapes and refuses the rest before anything it wrote counts. The generic path builds the
//! element tree, orders and sorts it; it handles everything and is the reference the fast path
//! is tested against ([`Hasher::reference_prehash_into`]). Both canonicalise values with the same
//! code.
//!
//! Events given as JSON text ([`Hasher::event_hash_json`], [`document_hashes_json`]) take the raw
//! path first (module `raw`): a scanner turns the text into reused tokens that borrow it, and the
//! fast path's walk (generic over parsed values and tokens) reads them; no `Value` is built and
//! nothing is allocated once the buffers are warm. Whatever the raw path refuses (invalid JSON,
//! repeated keys, escapes it cannot decode, the shapes the fast path refuses) is parsed and
//! hashed as above, so the hash of a text is always that of its parsed event.
//!
//! Speed: a [`Hasher`] keeps its buffers and a small direct-mapped cache of canonical identifiers
//! (locations and parties recur; for `sgtin` and `lgtin` URNs the class part is cached and the
//! serial or lot appended) from event to event; hash many events of one document with one
//! `Hasher` ([`document_hashes`] does). The free functions build one per call.
//!
//! Limits: nesting deeper than [`MAX_DEPTH`] or events with more than [`MAX_NODES`] elements are
//! refused with an error, not hashed; the identifier cache has [`ID_CACHE_SLOTS`] slots.

mod fast;
mod raw;
pub mod vocab;

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::hash::Hasher as _;

use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

use vocab::Vocabulary;

/// Deepest nesting of an event that is hashed.
pub const MAX_DEPTH: usize = 32;
/// Most elements (JSON values, after list expansion) of one event that are hashed.
pub const MAX_NODES: usize = 1 << 20;

/// Why an event or document could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// A value that must be a JSON object is not.
    #[error("{field}: must be a JSON object")]
    NotAnObject {
        /// The offending field.
        field: &'static str,
    },
    /// The event has no string `type`.
    #[error("type: an event must have a string `type` naming its event type")]
    MissingType,
    /// The event nests deeper than [`MAX_DEPTH`].
    #[error("{field}: nested deeper than {limit} levels")]
    TooDeep {
        /// The element at which the limit was reached.
        field: String,
        /// The limit.
        limit: usize,
    },
    /// The event has more than [`MAX_NODES`] elements.
    #[error("event: more than {limit} elements")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The document has no event list where EPCIS puts one.
    #[error(
        "epcisBody: neither eventList (EPCISDocument) nor queryResults.resultsBody.eventList \
         (EPCISQueryDocument)"
    )]
    NoEventList,
    /// The event's (or document's) JSON text is not valid JSON.
    #[error("not valid JSON: {message}")]
    Json {
        /// What the JSON parser said.
        message: String,
    },
    /// The event list is not an array.
    #[error("{field}: must be an array of events")]
    NotAnArray {
        /// The offending field.
        field: &'static str,
    },
}

/// Turns an identifier URI into its canonical GS1 Digital Link, or `None` if it is not one.
pub type IdCanonicaliser = fn(&str) -> Option<String>;

/// The pre-hash string of `event`. `context` is the document's `@context` (it names the
/// namespaces of user extensions); pass `Value::Null` if there is none.
pub fn prehash(event: &Value, context: &Value) -> Result<String, HashError> {
    Hasher::new(context).prehash(event)
}

/// The CBV 2.0 event hash `ni:///sha-256;<hex>?ver=CBV2.0` of `event`.
pub fn event_hash(event: &Value, context: &Value) -> Result<String, HashError> {
    Hasher::new(context).event_hash(event)
}

/// The event hash of each event of an `EPCISDocument` or `EPCISQueryDocument`, in document order.
pub fn document_hashes(doc: &Value) -> Result<Vec<String>, HashError> {
    let (hasher, events) = document_events(doc)?;
    let mut pre = String::with_capacity(1024);
    events
        .iter()
        .map(|e| {
            pre.clear();
            hasher.prehash_into(e, &mut pre)?;
            Ok(ni_uri(&pre))
        })
        .collect()
}

/// [`document_hashes`] of a document given as JSON text, hashing each event from its own text
/// ([`Hasher::event_hash_json`]) instead of from a parsed `Value` of the whole document. The
/// result (hashes or error) is that of [`document_hashes`] on the parsed document; text that
/// is not JSON is [`HashError::Json`].
pub fn document_hashes_json(text: &str) -> Result<Vec<String>, HashError> {
    if let Some(hashes) = raw_document_hashes(text) {
        return hashes;
    }
    let doc: Value = serde_json::from_str(text).map_err(|e| HashError::Json {
        message: e.to_string(),
    })?;
    document_hashes(&doc)
}

/// The members of a JSON object, each as its text (a repeated key keeps its last value, as in
/// a parsed `Value`).
type RawMembers<'a> = std::collections::BTreeMap<String, &'a serde_json::value::RawValue>;

type Raw<'a> = &'a serde_json::value::RawValue;

/// Whether a member name is `ignoreFields` under any prefix.
fn is_ignore_key(k: &str) -> bool {
    k.rsplit([':', '}']).next() == Some("ignoreFields")
}

/// What [`raw_document_hashes`] needs of a document, read in one pass over its text (the event
/// list, which is nearly all of it, is scanned once): the context, the `ignoreFields` members,
/// and `epcisBody` with its event list read as event texts where it is a plain `eventList`.
struct DocParts<'a> {
    context: Option<Raw<'a>>,
    ignore: RawMembers<'a>,
    body: Option<BodyParts<'a>>,
}

/// `epcisBody`: its plain `eventList` as event texts, or its members as texts.
enum BodyParts<'a> {
    EventList(Vec<Raw<'a>>),
    Members(RawMembers<'a>),
}

impl<'de> serde::Deserialize<'de> for DocParts<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = DocParts<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an EPCIS document")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<DocParts<'de>, M::Error> {
                let mut parts = DocParts {
                    context: None,
                    ignore: RawMembers::new(),
                    body: None,
                };
                while let Some(k) = m.next_key::<Cow<'de, str>>()? {
                    match &*k {
                        "@context" => parts.context = Some(m.next_value()?),
                        "epcisBody" => parts.body = Some(m.next_value()?),
                        k if is_ignore_key(k) => {
                            parts.ignore.insert(k.to_string(), m.next_value()?);
                        }
                        _ => {
                            m.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(parts)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> serde::Deserialize<'de> for BodyParts<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = BodyParts<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an epcisBody object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<BodyParts<'de>, M::Error> {
                let mut members = RawMembers::new();
                let mut list: Option<Vec<Raw<'de>>> = None;
                while let Some(k) = m.next_key::<String>()? {
                    if k == "eventList" {
                        // The last `eventList` counts, as in a parsed `Value`.
                        list = Some(m.next_value()?);
                    } else {
                        members.insert(k, m.next_value()?);
                    }
                }
                Ok(match list {
                    Some(list) => BodyParts::EventList(list),
                    None => BodyParts::Members(members),
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// [`document_hashes_json`] when the document has the usual shape (an object, `epcisBody` an
/// object, the event list an array); `None` leaves everything else to [`document_hashes`],
/// which gives the errors.
fn raw_document_hashes(text: &str) -> Option<Result<Vec<String>, HashError>> {
    let parse = |raw: &serde_json::value::RawValue| -> Option<Value> {
        serde_json::from_str(raw.get()).ok()
    };
    let doc: DocParts<'_> = serde_json::from_str(text).ok()?;
    let context = match doc.context {
        Some(c) => parse(c)?,
        None => Value::Null,
    };
    let mut ignore_lists = Vec::new();
    for v in doc.ignore.values() {
        ignore_lists.push(parse(v)?);
    }
    let events: Vec<&serde_json::value::RawValue> = match doc.body? {
        BodyParts::EventList(list) => list,
        BodyParts::Members(body) => {
            if let Some(qr) = body.get("queryResults") {
                let qr: RawMembers<'_> = serde_json::from_str(qr.get()).ok()?;
                for (k, v) in &qr {
                    if is_ignore_key(k) {
                        ignore_lists.push(parse(v)?);
                    }
                }
                let results: RawMembers<'_> =
                    serde_json::from_str(qr.get("resultsBody")?.get()).ok()?;
                serde_json::from_str(results.get("eventList")?.get()).ok()?
            } else {
                vec![*body.get("event")?]
            }
        }
    };
    let hasher = || {
        let mut hasher = Hasher::new(&context);
        for list in &ignore_lists {
            match list {
                Value::Array(list) => hasher.ignore.extend(list.iter().filter_map(Value::as_str)),
                Value::Object(fields) => hasher.ignore.extend(fields.keys().map(String::as_str)),
                Value::String(field) => hasher.ignore.push(field),
                _ => {}
            }
        }
        hasher
    };
    let hash_all = |events: &[&serde_json::value::RawValue]| -> Vec<Result<String, HashError>> {
        let h = hasher();
        events.iter().map(|e| h.event_hash_json(e.get())).collect()
    };
    // Large documents are hashed on every core (a `Hasher` per thread), in document order.
    let threads = if events.len() >= PARALLEL_EVENTS_MIN {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(PARALLEL_THREADS_MAX))
    } else {
        1
    };
    let results: Vec<Result<String, HashError>> = if threads <= 1 {
        hash_all(&events)
    } else {
        let chunk = events.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = events
                .chunks(chunk)
                .map(|part| s.spawn(|| hash_all(part)))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a hashing thread panicked"))
                .collect()
        })
    };
    Some(results.into_iter().collect())
}

/// [`document_hashes_json`] hashes documents of at least this many events on several threads.
const PARALLEL_EVENTS_MIN: usize = 4_096;
/// At most this many threads.
const PARALLEL_THREADS_MAX: usize = 8;

/// The pre-hash string of each event of a document, in document order.
pub fn document_prehashes(doc: &Value) -> Result<Vec<String>, HashError> {
    let (hasher, events) = document_events(doc)?;
    events.iter().map(|e| hasher.prehash(e)).collect()
}

/// `ni:///sha-256;<hex>?ver=CBV2.0` of a pre-hash string.
pub fn ni_uri(prehash: &str) -> String {
    const PREFIX: &str = "ni:///sha-256;";
    const SUFFIX: &str = "?ver=CBV2.0";
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(prehash.as_bytes());
    let mut s = Vec::with_capacity(PREFIX.len() + 64 + SUFFIX.len());
    s.extend_from_slice(PREFIX.as_bytes());
    for b in digest {
        s.push(HEX[usize::from(b >> 4)]);
        s.push(HEX[usize::from(b & 15)]);
    }
    s.extend_from_slice(SUFFIX.as_bytes());
    String::from_utf8(s).unwrap_or_default()
}

/// The hasher of a document, and its event list.
fn document_events(doc: &Value) -> Result<(Hasher<'_>, &[Value]), HashError> {
    let obj = doc
        .as_object()
        .ok_or(HashError::NotAnObject { field: "document" })?;
    let context = obj.get("@context").unwrap_or(&Value::Null);
    let body = obj
        .get("epcisBody")
        .ok_or(HashError::NoEventList)?
        .as_object()
        .ok_or(HashError::NotAnObject { field: "epcisBody" })?;
    let mut hasher = Hasher::new(context);
    hasher.add_ignore_fields(obj);
    let events = if let Some(list) = body.get("eventList") {
        list.as_array().ok_or(HashError::NotAnArray {
            field: "epcisBody.eventList",
        })?
    } else if let Some(qr) = body.get("queryResults") {
        let qr = qr.as_object().ok_or(HashError::NotAnObject {
            field: "queryResults",
        })?;
        hasher.add_ignore_fields(qr);
        qr.get("resultsBody")
            .and_then(|b| b.get("eventList"))
            .ok_or(HashError::NoEventList)?
            .as_array()
            .ok_or(HashError::NotAnArray {
                field: "queryResults.resultsBody.eventList",
            })?
    } else if let Some(event) = body.get("event") {
        std::slice::from_ref(event)
    } else {
        return Err(HashError::NoEventList);
    };
    Ok((hasher, events))
}

/// Namespace prefixes every EPCIS 2.0 document has (as the EPCIS 2.0 JSON-LD context defines them).
const DEFAULT_NAMESPACES: [(&str, &str); 4] = [
    ("gs1", "https://gs1.org/voc/"),
    ("cbv", "https://ref.gs1.org/cbv/"),
    ("epcis", "https://ref.gs1.org/epcis/"),
    ("cbvmda", "urn:epcglobal:cbv:mda:"),
];

/// Hashes events of one document: holds the document's namespace prefixes and ignored fields,
/// and reuses its buffers and canonical identifiers from event to event (so it is not `Sync`;
/// use one per thread).
pub struct Hasher<'c> {
    namespaces: Vec<(&'c str, &'c str)>,
    /// The prefixes (of `namespaces` and the defaults) that name a GS1 namespace, with it.
    gs1_prefixes: Vec<(&'c str, &'c str)>,
    /// The length of the longest prefix in `gs1_prefixes`.
    gs1_longest: usize,
    /// [`Namespaces::gs1_first`] of `gs1_prefixes`.
    gs1_first: u128,
    ignore: Vec<&'c str>,
    /// `None`: `gs1::canonical_dl_into` (written straight into the pre-hash, no allocation).
    canonical_id: Option<IdCanonicaliser>,
    scratch: RefCell<Scratch>,
}

impl std::fmt::Debug for Hasher<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("namespaces", &self.namespaces)
            .field("ignore", &self.ignore)
            .finish_non_exhaustive()
    }
}

/// How many canonical identifiers a [`Hasher`] remembers (a direct-mapped cache: locations,
/// parties and containers recur from event to event).
pub const ID_CACHE_SLOTS: usize = 1024;

/// Buffers reused from event to event.
#[derive(Default)]
struct Scratch {
    nodes: Vec<Node<'static>>,
    stack: Vec<(usize, usize)>,
    text: String,
    ids: IdCache,
    /// The pre-hash string of [`Hasher::event_hash`].
    prehash: String,
    /// The tokens of the raw path.
    raw: raw::Tokens,
    /// Events hashed so far (the identifier cache starts with the second).
    events: u64,
}

/// Identifier → its constrained canonical Digital Link, direct-mapped; the slots' buffers are
/// reused, so a warm cache does not allocate.
///
/// Serialised identifiers (`sgtin` serials, `lgtin` lots) are mostly unique, so they are not
/// cached whole: the canonical form of their class part (`urn:epc:id:sgtin:CP.IR.` →
/// `https://id.gs1.org/01/<GTIN>/21/`) is, in `templates`, and the serial or lot is appended.
#[derive(Default)]
struct IdCache {
    slots: Vec<IdSlot>,
    templates: Vec<IdSlot>,
}

#[derive(Default)]
struct IdSlot {
    used: bool,
    key: String,
    /// Empty: not a GS1 identifier (written as it is).
    value: String,
}

impl IdCache {
    fn slot(&mut self, key: &str) -> &mut IdSlot {
        Self::slot_in(&mut self.slots, key)
    }

    fn slot_in<'s>(slots: &'s mut Vec<IdSlot>, key: &str) -> &'s mut IdSlot {
        if slots.is_empty() {
            slots.resize_with(ID_CACHE_SLOTS, IdSlot::default);
        }
        let mut h = FxHasher::default();
        h.write(key.as_bytes());
        let i = (h.finish() >> 32) as usize & (ID_CACHE_SLOTS - 1);
        &mut slots[i]
    }

    /// The canonical Digital Link of an `sgtin` or `lgtin` URN whose company prefix and item
    /// reference take `gs1::canonical_dl_into`'s fast path and whose serial or lot is plain
    /// (1-20 bytes that the canonical form keeps as they are): the cached class part, then the
    /// serial. Exactly what `gs1::canonical_dl_into` writes, for these inputs it writes
    /// `https://id.gs1.org/01/<GTIN-14 of CP, IR>/21/<serial>` (`/10/<lot>`). `false` (nothing
    /// written) for any other identifier.
    fn serialised(&mut self, urn: &str, out: &mut String) -> bool {
        let Some(body) = urn
            .strip_prefix("urn:epc:id:sgtin:")
            .or_else(|| urn.strip_prefix("urn:epc:class:lgtin:"))
        else {
            return false;
        };
        // `CP.IR.serial` with CP 6-12 digits and CP + IR 13 digits: the class part is 14
        // bytes with one dot at 6..=12, and the second dot follows it.
        let b = body.as_bytes();
        if b.len() < 16 || b[14] != b'.' {
            return false;
        }
        // Without branches per byte (a fixed-length loop the compiler unrolls).
        let mut class = [0u8; 14];
        class.copy_from_slice(&b[..14]);
        let mut dots = 0u32;
        let mut other = false;
        for (i, c) in class.into_iter().enumerate() {
            dots |= u32::from(c == b'.') << i;
            other |= !(c.is_ascii_digit() || c == b'.');
        }
        let dot = dots.trailing_zeros();
        let serial = &b[15..];
        if other
            || dots.count_ones() != 1
            || !(6..=12).contains(&dot)
            || serial.len() > 20
            || !serial.iter().all(|&c| dl_keep(c))
        {
            return false;
        }
        let key = &urn[..urn.len() - serial.len()];
        let slot = Self::slot_in(&mut self.templates, key);
        if !(slot.used && same(&slot.key, key)) {
            let start = out.len();
            if !gs1::canonical_dl_into(urn, out) || !out.as_bytes()[start..].ends_with(serial) {
                // Not the expected form: write whatever it gave, without a template.
                if out.len() == start {
                    out.push_str(urn);
                }
                return true;
            }
            slot.used = true;
            slot.key.clear();
            slot.key.push_str(key);
            slot.value.clear();
            slot.value.push_str(&out[start..out.len() - serial.len()]);
            return true;
        }
        out.push_str(&slot.value);
        out.push_str(&urn[urn.len() - serial.len()..]);
        true
    }
}

/// Reuse the allocation of an emptied vector for nodes of another lifetime.
fn recycle<'b>(mut v: Vec<Node<'_>>) -> Vec<Node<'b>> {
    v.clear();
    v.into_iter()
        .map(|_| -> Node<'b> { unreachable!("the vector is empty") })
        .collect()
}

/// The Fx hash (rustc's): fast for short keys, no DoS resistance needed for a bounded cache that
/// is emptied when full.
#[derive(Default)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl<'c> Hasher<'c> {
    /// A hasher for events of a document with this `@context` (`Value::Null` if none).
    pub fn new(context: &'c Value) -> Self {
        let mut namespaces = Vec::new();
        collect_namespaces(context, &mut namespaces);
        let mut gs1_prefixes: Vec<(&'c str, &'c str)> = Vec::new();
        for p in namespaces
            .iter()
            .map(|(p, _)| *p)
            .chain(DEFAULT_NAMESPACES.map(|(p, _)| p))
        {
            let declared = namespaces
                .iter()
                .rev()
                .find(|(q, _)| *q == p)
                .map(|(_, iri)| *iri);
            let default = DEFAULT_NAMESPACES
                .iter()
                .find(|(q, _)| *q == p)
                .map(|(_, iri)| *iri);
            if let Some(iri) = declared.or(default)
                && is_gs1_namespace(iri)
                && !gs1_prefixes.iter().any(|(q, _)| *q == p)
            {
                gs1_prefixes.push((p, iri));
            }
        }
        Hasher {
            namespaces,
            gs1_longest: gs1_prefixes.iter().map(|(p, _)| p.len()).max().unwrap_or(0),
            gs1_first: gs1_prefixes
                .iter()
                .map(|(p, _)| match p.as_bytes().first() {
                    Some(&b) if b < 128 => 1u128 << b,
                    _ => u128::MAX,
                })
                .fold(0, |m, b| m | b),
            gs1_prefixes,
            ignore: Vec::new(),
            canonical_id: None,
            scratch: RefCell::default(),
        }
    }

    /// Use another identifier canonicaliser than `gs1::canonical_dl`.
    pub fn with_id_canonicaliser(mut self, canonical_id: IdCanonicaliser) -> Self {
        self.canonical_id = Some(canonical_id);
        self
    }

    /// Leave these top-level event fields (JSON keys, as CURIEs or plain) out of the hash.
    pub fn with_ignored_fields(mut self, fields: impl IntoIterator<Item = &'c str>) -> Self {
        self.ignore.extend(fields);
        self
    }

    /// Take the `…:ignoreFields` lists of a document (or query results) object.
    fn add_ignore_fields(&mut self, obj: &'c Map<String, Value>) {
        for (k, v) in obj {
            let local = k.rsplit([':', '}']).next().unwrap_or(k);
            if local != "ignoreFields" {
                continue;
            }
            // JSON: an array of field names; from XML: empty elements named by the fields.
            match v {
                Value::Array(list) => self.ignore.extend(list.iter().filter_map(Value::as_str)),
                Value::Object(fields) => self.ignore.extend(fields.keys().map(String::as_str)),
                Value::String(field) => self.ignore.push(field),
                _ => {}
            }
        }
    }

    /// The pre-hash string of `event`.
    pub fn prehash(&self, event: &Value) -> Result<String, HashError> {
        let mut out = String::with_capacity(512);
        self.prehash_into(event, &mut out)?;
        Ok(out)
    }

    /// The event hash of `event`.
    pub fn event_hash(&self, event: &Value) -> Result<String, HashError> {
        let mut pre = self
            .scratch
            .try_borrow_mut()
            .map(|mut s| std::mem::take(&mut s.prehash))
            .unwrap_or_default();
        pre.clear();
        let result = self.prehash_into(event, &mut pre).map(|()| ni_uri(&pre));
        if let Ok(mut s) = self.scratch.try_borrow_mut() {
            s.prehash = pre;
        }
        result
    }

    /// Append the pre-hash string of `event` to `out`: the fast path if it covers the event,
    /// else the generic path.
    pub fn prehash_into(&self, event: &Value, out: &mut String) -> Result<(), HashError> {
        let (obj, event_type) = event_parts(event)?;
        if self.fast_into(event, event_type, out) {
            return Ok(());
        }
        self.generic_into(obj, event_type, out)
    }

    /// The fast path alone (see the `fast` module): appends the pre-hash string of `event` to
    /// `out` and returns `true`, or returns `false` (leaving `out` as it was) for an event that
    /// only the generic path hashes. For tests and measurements.
    pub fn prehash_fast_into(&self, event: &Value, out: &mut String) -> Result<bool, HashError> {
        let (_, event_type) = event_parts(event)?;
        Ok(self.fast_into(event, event_type, out))
    }

    /// The event hash of one event given as its JSON text (an object, minified or not), read
    /// straight from the bytes; the same hash as [`Hasher::event_hash`] of the parsed event.
    pub fn event_hash_json(&self, json: &str) -> Result<String, HashError> {
        let mut pre = self
            .scratch
            .try_borrow_mut()
            .map(|mut s| std::mem::take(&mut s.prehash))
            .unwrap_or_default();
        pre.clear();
        let result = self
            .prehash_json_into(json, &mut pre)
            .map(|()| ni_uri(&pre));
        if let Ok(mut s) = self.scratch.try_borrow_mut() {
            s.prehash = pre;
        }
        result
    }

    /// [`Hasher::event_hash_json`] of JSON bytes (which must be UTF-8).
    pub fn event_hash_json_bytes(&self, json: &[u8]) -> Result<String, HashError> {
        let json = std::str::from_utf8(json).map_err(|e| HashError::Json {
            message: e.to_string(),
        })?;
        self.event_hash_json(json)
    }

    /// Append the pre-hash string of the event whose JSON text is `json` to `out`: the raw path
    /// (module `raw`: a scanner over the bytes feeding the fast path, no `Value`) if it covers
    /// the event, else the event is parsed and [`Hasher::prehash_into`] hashes it. Either way
    /// the result is that of [`Hasher::prehash_into`] on the parsed event.
    pub fn prehash_json_into(&self, json: &str, out: &mut String) -> Result<(), HashError> {
        if self.raw_into(json, out) {
            return Ok(());
        }
        let event: Value = serde_json::from_str(json).map_err(|e| HashError::Json {
            message: e.to_string(),
        })?;
        self.prehash_into(&event, out)
    }

    /// The raw path alone: appends the pre-hash string of the event whose JSON text is `json`
    /// and returns `true`, or returns `false` (leaving `out` as it was) for an event that it
    /// leaves to the parsed paths (odd shapes, invalid JSON, duplicate keys, …). For tests and
    /// measurements.
    pub fn prehash_raw_into(&self, json: &str, out: &mut String) -> bool {
        self.raw_into(json, out)
    }

    fn raw_into(&self, json: &str, out: &mut String) -> bool {
        let mut tokens = self
            .scratch
            .try_borrow_mut()
            .map(|mut s| std::mem::take(&mut s.raw))
            .unwrap_or_default();
        let done = match tokens.scan(json) {
            Some(doc) => match doc.event_type() {
                Some(event_type) => self.fast_into(doc.root(), event_type, out),
                None => false,
            },
            None => false,
        };
        if let Ok(mut s) = self.scratch.try_borrow_mut() {
            s.raw = tokens;
        }
        done
    }

    /// The generic path alone, the reference the fast path is tested against: builds the
    /// element tree of the event, orders and sorts it. Appends the pre-hash string to `out`.
    pub fn reference_prehash_into(&self, event: &Value, out: &mut String) -> Result<(), HashError> {
        let (obj, event_type) = event_parts(event)?;
        self.generic_into(obj, event_type, out)
    }

    fn fast_into<'n, J: fast::Json<'n>>(
        &'n self,
        obj: J,
        event_type: &str,
        out: &mut String,
    ) -> bool
    where
        'c: 'n,
    {
        let ns = Namespaces {
            local: &[],
            doc: &self.namespaces,
            gs1: &self.gs1_prefixes,
            gs1_longest: self.gs1_longest,
            gs1_first: self.gs1_first,
        };
        let mut fresh = Scratch::default();
        let mut borrowed = self.scratch.try_borrow_mut();
        let scratch = match borrowed.as_deref_mut() {
            Ok(s) => s,
            Err(_) => &mut fresh,
        };
        let use_ids = scratch.events > 0;
        let mut f = fast::Fast {
            leaf: Leaf {
                out,
                ids: use_ids.then_some(&mut scratch.ids),
                ns,
                canonical_id: self.canonical_id,
            },
            stack: &mut scratch.stack,
            sort_buf: &mut scratch.text,
            ignore: &self.ignore,
            nodes: 0,
        };
        let done = f.event(obj, event_type);
        if done {
            scratch.events += 1;
        }
        done
    }

    fn generic_into(
        &self,
        obj: &Map<String, Value>,
        event_type: &str,
        out: &mut String,
    ) -> Result<(), HashError> {
        let mut local_ns = Vec::new();
        if let Some(ctx) = member(obj, "@context") {
            collect_namespaces(ctx, &mut local_ns);
        }
        let ns = Namespaces {
            local: &local_ns,
            doc: &self.namespaces,
            gs1: &self.gs1_prefixes,
            gs1_longest: self.gs1_longest,
            gs1_first: self.gs1_first,
        };
        let mut fresh = Scratch::default();
        let mut borrowed = self.scratch.try_borrow_mut();
        let scratch = match borrowed.as_deref_mut() {
            Ok(s) => s,
            Err(_) => &mut fresh,
        };
        let mut b = Builder {
            nodes: recycle(std::mem::take(&mut scratch.nodes)),
            ns,
        };
        b.nodes.push(Node::new(
            Name::Key(""),
            Text::None,
            Src::Obj(obj, Ctx::Top),
        ));
        if let Err(err) = b.expand(0, 0) {
            scratch.nodes = recycle(b.nodes);
            return Err(err);
        }
        let ignored = |name: &Name<'_>| {
            ["recordTime", "eventID", "type", "errorDeclaration"]
                .into_iter()
                .chain(self.ignore.iter().copied())
                .any(|k| ns.name_of(k) == *name)
        };
        let mut e = Emitter {
            nodes: b.nodes,
            out,
            stack: std::mem::take(&mut scratch.stack),
            scratch: std::mem::take(&mut scratch.text),
            ids: (scratch.events > 0).then_some(&mut scratch.ids),
            ns,
            canonical_id: self.canonical_id,
        };
        e.out.push_str("eventType=");
        e.out.push_str(event_type);
        let root = e.nodes[0];
        e.ordered(root.children(), &TOP, true);
        // The tail: everything the field order did not take, sorted.
        let start = e.out.len();
        let base = e.stack.len();
        for c in root.children() {
            if e.removed(c) || ignored(&e.nodes[c].name) {
                continue;
            }
            let s = e.out.len();
            e.generic(c);
            e.stack.push((s, e.out.len()));
        }
        e.sort_group(start, base);
        let Emitter {
            nodes,
            stack,
            scratch: text,
            ..
        } = e;
        scratch.nodes = recycle(nodes);
        scratch.stack = stack;
        scratch.text = text;
        scratch.events += 1;
        Ok(())
    }
}

/// The event object and its `type`.
fn event_parts(event: &Value) -> Result<(&Map<String, Value>, &str), HashError> {
    let obj = event
        .as_object()
        .ok_or(HashError::NotAnObject { field: "event" })?;
    let event_type = member(obj, "type")
        .and_then(Value::as_str)
        .ok_or(HashError::MissingType)?;
    Ok((obj, event_type))
}

/// `map[key]` by a scan: events' objects are small, and hashing the key costs more.
fn member<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

fn is_gs1_namespace(iri: &str) -> bool {
    iri.starts_with("https://ref.gs1.org") || iri.starts_with("https://gs1.org")
}

fn collect_namespaces<'c>(context: &'c Value, into: &mut Vec<(&'c str, &'c str)>) {
    match context {
        Value::Array(items) => items.iter().for_each(|c| collect_namespaces(c, into)),
        Value::Object(map) => {
            for (k, v) in map {
                if k.starts_with('@') {
                    continue;
                }
                let iri = match v {
                    Value::String(s) => s.as_str(),
                    Value::Object(def) => match def.get("@id") {
                        Some(Value::String(s)) => s.as_str(),
                        _ => continue,
                    },
                    _ => continue,
                };
                into.push((k.as_str(), iri));
            }
        }
        _ => {}
    }
}

/// Namespace prefixes in scope of one event: its own `@context`, the document's, the defaults.
#[derive(Clone, Copy)]
struct Namespaces<'a> {
    local: &'a [(&'a str, &'a str)],
    doc: &'a [(&'a str, &'a str)],
    /// The prefixes of `doc` and the defaults that name GS1 namespaces.
    gs1: &'a [(&'a str, &'a str)],
    /// The length of the longest prefix in `gs1`.
    gs1_longest: usize,
    /// The ASCII bytes that prefixes in `gs1` start with, as bits (all bits if one does not start
    /// with an ASCII byte).
    gs1_first: u128,
}

impl<'a> Namespaces<'a> {
    fn get(&self, prefix: &str) -> Option<&'a str> {
        let find = |list: &'a [(&'a str, &'a str)]| {
            list.iter()
                .rev()
                .find(|(p, _)| same(p, prefix))
                .map(|(_, iri)| *iri)
        };
        find(self.local).or_else(|| find(self.doc)).or_else(|| {
            DEFAULT_NAMESPACES
                .iter()
                .find(|(p, _)| same(p, prefix))
                .map(|(_, iri)| *iri)
        })
    }

    /// A JSON key as an element name: `prefix:local` with a known prefix is `{namespace}local`.
    fn name_of(&self, key: &'a str) -> Name<'a> {
        // A byte loop: keys are short, and `split_once` sets up a searcher.
        if let Some(colon) = key.bytes().position(|b| b == b':')
            && let Some(iri) = self.get(&key[..colon])
        {
            return Name::Ns(iri, &key[colon + 1..]);
        }
        Name::Key(key)
    }

    /// A CURIE value of a GS1 namespace, expanded (user namespaces stay as written).
    fn expand_value(&self, value: &str) -> Option<String> {
        // Only a colon right after a prefix in scope can expand the value.
        let longest = if self.local.is_empty() {
            match value.as_bytes().first() {
                Some(&b) if b < 128 && self.gs1_first & (1 << b) == 0 => return None,
                _ => self.gs1_longest,
            }
        } else {
            31
        };
        let colon = value
            .as_bytes()
            .iter()
            .take(longest + 1)
            .position(|&b| b == b':')?;
        let (prefix, rest) = (&value[..colon], &value[colon + 1..]);
        let iri = if self.local.is_empty() {
            self.gs1
                .iter()
                .find(|(p, _)| same(p, prefix))
                .map(|(_, iri)| *iri)?
        } else {
            self.get(prefix).filter(|iri| is_gs1_namespace(iri))?
        };
        Some([iri, rest].concat())
    }
}

/// An element name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Name<'a> {
    /// As written (no or unknown prefix).
    Key(&'a str),
    /// `{namespace}local`.
    Ns(&'a str, &'a str),
}

impl<'a> Name<'a> {
    fn is(&self, name: &str) -> bool {
        matches!(self, Name::Key(k) if *k == name)
    }

    /// A user extension that is appended to its enclosing standard field (namespace ends in `/`).
    fn is_user_extension(&self) -> bool {
        match self {
            Name::Ns(iri, _) => iri.ends_with('/'),
            Name::Key(k) => k.contains('{') && k.contains("/}"),
        }
    }

    /// `xxxList` without `List`, if the name ends so.
    fn list_element(&self) -> Option<Name<'a>> {
        match *self {
            Name::Key(k) => k.strip_suffix("List").map(Name::Key),
            Name::Ns(iri, l) => l.strip_suffix("List").map(|l| Name::Ns(iri, l)),
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Name::Key(k) => out.push_str(k),
            Name::Ns(iri, l) => {
                out.push('{');
                out.push_str(iri);
                out.push('}');
                out.push_str(l);
            }
        }
    }
}

/// A leaf value.
#[derive(Debug, Clone, Copy)]
enum Text<'a> {
    None,
    Str(&'a str),
    Num(&'a Number),
    /// A number as written in JSON text (the raw path; validated JSON number syntax).
    Numeral(&'a str),
    Bool(bool),
}

/// Which bare-term vocabulary a value is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Voc {
    None,
    Of(&'static Vocabulary),
}

/// Where in the event an object sits (decides the vocabulary of its values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    Other,
    PersistentDisposition,
    SensorElement,
    SensorReport,
    ErrorDeclaration,
}

/// How a node's children are produced from JSON.
#[derive(Debug, Clone, Copy)]
enum Src<'a> {
    Leaf,
    Obj(&'a Map<String, Value>, Ctx),
    /// The elements of `value` (an array, or one value), each named `element`.
    List {
        value: &'a Value,
        element: Name<'a>,
        pairs: Option<&'static Vocabulary>,
        ctx: Ctx,
    },
    /// One business transaction, source or destination: `type` first, then the rest.
    Pair(&'a Value, Name<'a>, &'static Vocabulary),
}

#[derive(Debug, Clone, Copy)]
struct Node<'a> {
    name: Name<'a>,
    text: Text<'a>,
    voc: Voc,
    src: Src<'a>,
    first: u32,
    len: u32,
    /// Index of the field this node matches in its parent's field order.
    field: u8,
    processed: bool,
    pair: bool,
}

const NO_FIELD: u8 = u8::MAX;

impl<'a> Node<'a> {
    fn new(name: Name<'a>, text: Text<'a>, src: Src<'a>) -> Self {
        Node {
            name,
            text,
            voc: Voc::None,
            src,
            first: 0,
            len: 0,
            field: NO_FIELD,
            processed: false,
            pair: false,
        }
    }

    fn children(&self) -> std::ops::Range<usize> {
        self.first as usize..(self.first + self.len) as usize
    }
}

/// Builds the element tree of one event (JSON keys as names, arrays as repeated elements,
/// `xxxList` arrays as a list element with one `xxx` child per entry, as in the XML form).
struct Builder<'a> {
    nodes: Vec<Node<'a>>,
    ns: Namespaces<'a>,
}

fn json_text(v: &Value) -> Text<'_> {
    match v {
        Value::String(s) => Text::Str(s),
        Value::Number(n) => Text::Num(n),
        Value::Bool(b) => Text::Bool(*b),
        _ => Text::None,
    }
}

/// Keys that never take part in the hash.
fn ignored_key(k: &str) -> bool {
    k.starts_with('@') || same(k, "#text") || same(k, "comment") || same(k, "rdfs:comment")
}

/// The vocabulary of the values of `key` in an object at `ctx`, and the context of its objects.
fn key_role(ctx: Ctx, key: &str) -> (Voc, Ctx) {
    if ctx == Ctx::Other {
        return (Voc::None, Ctx::Other);
    }
    match (ctx, key) {
        (Ctx::Top, "bizStep") => (Voc::Of(&vocab::BIZ_STEP), Ctx::Other),
        (Ctx::Top, "disposition") => (Voc::Of(&vocab::DISPOSITION), Ctx::Other),
        (Ctx::Top, "persistentDisposition") => (Voc::None, Ctx::PersistentDisposition),
        (Ctx::Top, "sensorElementList") => (Voc::None, Ctx::SensorElement),
        (Ctx::Top, "errorDeclaration") => (Voc::None, Ctx::ErrorDeclaration),
        (Ctx::PersistentDisposition, "set" | "unset") => (Voc::Of(&vocab::DISPOSITION), Ctx::Other),
        (Ctx::SensorElement, "sensorReport") => (Voc::None, Ctx::SensorReport),
        (Ctx::SensorReport, "type") => (Voc::Of(&vocab::MEASUREMENT_TYPE), Ctx::Other),
        (Ctx::SensorReport, "exception") => (Voc::Of(&vocab::SENSOR_ALERT_TYPE), Ctx::Other),
        (Ctx::SensorReport, "component") => (Voc::Of(&vocab::COMPONENT), Ctx::Other),
        (Ctx::ErrorDeclaration, "reason") => (Voc::Of(&vocab::ERROR_REASON), Ctx::Other),
        _ => (Voc::None, Ctx::Other),
    }
}

/// The element name of an entry of a list named `list` (`epcList` → `epc`, `inputEPCList` →
/// `epc`, `quantityList` → `quantityElement`, …).
fn list_element_name<'a>(list: Name<'a>, entry_is_object: bool) -> Name<'a> {
    let Some(base) = list.list_element() else {
        return list;
    };
    match base {
        Name::Key("inputEPC" | "outputEPC") => Name::Key("epc"),
        Name::Key("inputQuantity" | "outputQuantity" | "childQuantity") => {
            Name::Key("quantityElement")
        }
        Name::Key("quantity") if entry_is_object => Name::Key("quantityElement"),
        other => other,
    }
}

/// Calls `f` for each entry of `v`: the elements of an array (nested arrays flattened, nulls
/// skipped) or `v` itself.
fn for_each_entry<'a>(v: &'a Value, f: &mut impl FnMut(&'a Value)) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| for_each_entry(i, f)),
        Value::Null => {}
        other => f(other),
    }
}

impl<'a> Builder<'a> {
    fn push(&mut self, node: Node<'a>) -> Result<(), HashError> {
        if self.nodes.len() >= MAX_NODES {
            return Err(HashError::TooLarge { limit: MAX_NODES });
        }
        self.nodes.push(node);
        Ok(())
    }

    /// A node for one JSON value named `name`.
    fn value_node(name: Name<'a>, v: &'a Value, voc: Voc, ctx: Ctx) -> Node<'a> {
        let mut node = match v {
            // A `#text` member (XML text beside attributes) is read when the object is expanded.
            Value::Object(map) => Node::new(name, Text::None, Src::Obj(map, ctx)),
            other => Node::new(name, json_text(other), Src::Leaf),
        };
        node.voc = voc;
        node
    }

    /// The nodes of one key of an object.
    fn push_key(&mut self, key: &'a str, v: &'a Value, ctx: Ctx) -> Result<(), HashError> {
        if ignored_key(key) || v.is_null() {
            return Ok(());
        }
        let name = self.ns.name_of(key);
        let (voc, child_ctx) = key_role(ctx, key);
        // Standard lists always hold entries; a user extension `…List` only when it is an array
        // (an object is the list element itself, as in XML).
        let (is_list, pairs) = match (ctx, key.as_bytes().last()) {
            (Ctx::Top, Some(b't' | b's')) => match key {
                "epcList" | "inputEPCList" | "outputEPCList" | "childEPCs" | "quantityList"
                | "childQuantityList" | "inputQuantityList" | "outputQuantityList"
                | "sensorElementList" => (true, None),
                "bizTransactionList" => (true, Some(&vocab::BIZ_TRANSACTION_TYPE)),
                "sourceList" | "destinationList" => (true, Some(&vocab::SOURCE_DEST_TYPE)),
                _ => (v.is_array() && name.list_element().is_some(), None),
            },
            _ => (v.is_array() && name.list_element().is_some(), None),
        };
        if is_list {
            if v.as_array().is_some_and(|a| a.is_empty()) {
                return Ok(());
            }
            let element = if key == "childEPCs" {
                Name::Key("epc")
            } else {
                name
            };
            return self.push(Node::new(
                name,
                Text::None,
                Src::List {
                    value: v,
                    element,
                    pairs,
                    ctx: child_ctx,
                },
            ));
        }
        let mut result = Ok(());
        for_each_entry(v, &mut |entry| {
            if result.is_ok() {
                result = self.push(Self::value_node(name, entry, voc, child_ctx));
            }
        });
        result
    }

    /// Create the children of node `idx` (and theirs).
    fn expand(&mut self, idx: usize, depth: usize) -> Result<(), HashError> {
        let src = self.nodes[idx].src;
        if matches!(src, Src::Leaf) {
            return Ok(());
        }
        if depth >= MAX_DEPTH {
            let mut field = String::new();
            self.nodes[idx].name.write(&mut field);
            return Err(HashError::TooDeep {
                field,
                limit: MAX_DEPTH,
            });
        }
        let first = self.nodes.len();
        match src {
            Src::Leaf => {}
            Src::Obj(map, ctx) => {
                for (k, v) in map {
                    if k == "#text" {
                        self.nodes[idx].text = json_text(v);
                    } else {
                        self.push_key(k, v, ctx)?;
                    }
                }
            }
            Src::List {
                value,
                element,
                pairs,
                ctx,
            } => {
                let mut result = Ok(());
                for_each_entry(value, &mut |entry| {
                    if result.is_err() {
                        return;
                    }
                    let node = match pairs {
                        Some(voc) => {
                            let key = element.list_element().unwrap_or(element);
                            let mut n =
                                Node::new(Name::Key(""), Text::None, Src::Pair(entry, key, voc));
                            n.pair = true;
                            n
                        }
                        None => {
                            let name = if matches!(element, Name::Key("epc")) {
                                element
                            } else {
                                list_element_name(element, entry.is_object())
                            };
                            Self::value_node(name, entry, Voc::None, ctx)
                        }
                    };
                    result = self.push(node);
                });
                result?;
            }
            Src::Pair(entry, key, voc) => match entry {
                Value::Object(map) => {
                    if let Some(t) = member(map, "type") {
                        let mut result = Ok(());
                        for_each_entry(t, &mut |t| {
                            if result.is_ok() {
                                let n = Self::value_node(
                                    Name::Key("type"),
                                    t,
                                    Voc::Of(voc),
                                    Ctx::Other,
                                );
                                result = self.push(n);
                            }
                        });
                        result?;
                    }
                    for (k, v) in map {
                        if k != "type" {
                            self.push_key(k, v, Ctx::Other)?;
                        }
                    }
                }
                other => self.push(Self::value_node(key, other, Voc::None, Ctx::Other))?,
            },
        }
        let last = self.nodes.len();
        self.nodes[idx].first = first as u32;
        self.nodes[idx].len = (last - first) as u32;
        for child in first..last {
            self.expand(child, depth + 1)?;
        }
        Ok(())
    }
}

/// A standard field in a field order.
struct Field {
    name: &'static str,
    /// A timestamp (normalised to UTC milliseconds).
    time: bool,
    /// The order of its children, if it is structured.
    sub: Option<&'static [Field]>,
}

const fn leaf(name: &'static str) -> Field {
    Field {
        name,
        time: false,
        sub: None,
    }
}

const fn time(name: &'static str) -> Field {
    Field {
        name,
        time: true,
        sub: None,
    }
}

const fn node(name: &'static str, sub: &'static [Field]) -> Field {
    Field {
        name,
        time: false,
        sub: Some(sub),
    }
}

static EPCS: [Field; 1] = [leaf("epc")];
static QUANTITY_ELEMENT: [Field; 3] = [leaf("epcClass"), leaf("quantity"), leaf("uom")];
static QUANTITIES: [Field; 1] = [node("quantityElement", &QUANTITY_ELEMENT)];
static PERSISTENT_DISPOSITION: [Field; 2] = [leaf("set"), leaf("unset")];
static LOCATION: [Field; 1] = [leaf("id")];
static SENSOR_METADATA: [Field; 8] = [
    time("time"),
    time("startTime"),
    time("endTime"),
    leaf("deviceID"),
    leaf("deviceMetadata"),
    leaf("rawData"),
    leaf("dataProcessingMethod"),
    leaf("bizRules"),
];
static SENSOR_REPORT: [Field; 23] = [
    leaf("type"),
    leaf("exception"),
    leaf("deviceID"),
    leaf("deviceMetadata"),
    leaf("rawData"),
    leaf("dataProcessingMethod"),
    time("time"),
    leaf("microorganism"),
    leaf("chemicalSubstance"),
    leaf("value"),
    leaf("component"),
    leaf("stringValue"),
    leaf("booleanValue"),
    leaf("hexBinaryValue"),
    leaf("uriValue"),
    leaf("minValue"),
    leaf("maxValue"),
    leaf("meanValue"),
    leaf("sDev"),
    leaf("percRank"),
    leaf("percValue"),
    leaf("uom"),
    leaf("coordinateReferenceSystem"),
];
static SENSOR_ELEMENT: [Field; 2] = [
    node("sensorMetadata", &SENSOR_METADATA),
    node("sensorReport", &SENSOR_REPORT),
];
static SENSOR_ELEMENTS: [Field; 1] = [node("sensorElement", &SENSOR_ELEMENT)];

/// The canonical property order of the standard fields of an event.
static TOP: [Field; 20] = [
    time("eventTime"),
    leaf("eventTimeZoneOffset"),
    leaf("certificationInfo"),
    node("epcList", &EPCS),
    leaf("parentID"),
    node("inputEPCList", &EPCS),
    node("childEPCs", &EPCS),
    node("quantityList", &QUANTITIES),
    node("childQuantityList", &QUANTITIES),
    node("inputQuantityList", &QUANTITIES),
    node("outputEPCList", &EPCS),
    node("outputQuantityList", &QUANTITIES),
    leaf("action"),
    leaf("transformationID"),
    leaf("bizStep"),
    leaf("disposition"),
    node("persistentDisposition", &PERSISTENT_DISPOSITION),
    node("readPoint", &LOCATION),
    node("bizLocation", &LOCATION),
    node("sensorElementList", &SENSOR_ELEMENTS),
];

/// The index in [`TOP`] of a top-level key.
fn top_field(key: &str) -> u8 {
    // The one candidate by length and first byte, then the bytes inline (a `match` on the
    // strings would call `memcmp` for every candidate).
    let b = key.as_bytes();
    let i = match (b.len(), b.first().copied().unwrap_or(0)) {
        (9, b'e') => 0,
        (19, b'e') => 1,
        (17, b'c') if b[1] == b'e' => 2,
        (7, b'e') => 3,
        (8, b'p') => 4,
        (12, b'i') => 5,
        (9, b'c') => 6,
        (12, b'q') => 7,
        (17, b'c') => 8,
        (17, b'i') => 9,
        (13, b'o') => 10,
        (18, b'o') => 11,
        (6, b'a') => 12,
        (16, b't') => 13,
        (7, b'b') => 14,
        (11, b'd') => 15,
        (21, b'p') => 16,
        (9, b'r') => 17,
        (11, b'b') => 18,
        (17, b's') => 19,
        _ => return NO_FIELD,
    };
    if same(TOP[i].name, key) {
        i as u8
    } else {
        NO_FIELD
    }
}

/// `a == b`, inline: eight bytes at a time, no call (the strings compared here are short, and a
/// `memcmp` call costs more than the comparison).
#[inline(always)]
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut i = 0;
    while i + 8 <= n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    // The tail as one word that overlaps the last one compared.
    word(a, n - 8) == word(b, n - 8)
}

/// The eight bytes of `b` from `i`, big-endian (so that words compare as the bytes do).
#[inline(always)]
fn word(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_be_bytes(w)
}

/// The sixteen bytes of `b` from `i`, big-endian.
#[inline(always)]
fn wide(b: &[u8], i: usize) -> u128 {
    let mut w = [0u8; 16];
    w.copy_from_slice(&b[i..i + 16]);
    u128::from_be_bytes(w)
}

/// `a.cmp(b)` of byte strings, inline (see [`same`]).
#[inline(always)]
fn compare(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 16 <= n {
        let (x, y) = (wide(a, i), wide(b, i));
        if x != y {
            return x.cmp(&y);
        }
        i += 16;
    }
    while i + 8 <= n {
        let (x, y) = (word(a, i), word(b, i));
        if x != y {
            return x.cmp(&y);
        }
        i += 8;
    }
    if n >= 8 {
        // The tail as one word overlapping bytes already found equal: its first difference is
        // the first difference of the tail.
        let (x, y) = (word(a, n - 8), word(b, n - 8));
        if x != y {
            return x.cmp(&y);
        }
    } else {
        for (x, y) in a[i..n].iter().zip(&b[i..n]) {
            if x != y {
                return x.cmp(y);
            }
        }
    }
    a.len().cmp(&b.len())
}

/// Writes the pre-hash string of a built tree.
struct Emitter<'a, 'o> {
    nodes: Vec<Node<'a>>,
    out: &'o mut String,
    /// Byte ranges of `out` of the entries of the open sort groups.
    stack: Vec<(usize, usize)>,
    scratch: String,
    ids: Option<&'o mut IdCache>,
    ns: Namespaces<'a>,
    canonical_id: Option<IdCanonicaliser>,
}

impl Emitter<'_, '_> {
    /// Sort the entries `stack[base..]`, which fill `out[start..]`, as strings.
    fn sort_group(&mut self, start: usize, base: usize) {
        sort_group(self.out, &mut self.stack, &mut self.scratch, start, base);
    }

    /// A node that is fully taken by the field order (so not part of the tail).
    fn removed(&self, idx: usize) -> bool {
        let n = &self.nodes[idx];
        n.processed && n.children().all(|c| self.removed(c))
    }

    fn mark_processed(&mut self, idx: usize) {
        self.nodes[idx].processed = true;
        for c in self.nodes[idx].children() {
            self.mark_processed(c);
        }
    }

    /// The children `range` in the field order `order`; user extensions at the end.
    fn ordered(&mut self, range: std::ops::Range<usize>, order: &[Field], top: bool) {
        let gather = !top && range.len() > 1;
        for c in range.clone() {
            let n = &mut self.nodes[c];
            n.field = if gather && n.name.is_user_extension() {
                NO_FIELD - 1
            } else if let Name::Key(k) = n.name {
                if top {
                    top_field(k)
                } else {
                    order
                        .iter()
                        .position(|f| f.name == k)
                        .map_or(NO_FIELD, |p| p as u8)
                }
            } else {
                NO_FIELD
            };
        }
        for (fi, field) in order.iter().enumerate() {
            let start = self.out.len();
            let base = self.stack.len();
            for c in range.clone() {
                if usize::from(self.nodes[c].field) != fi {
                    continue;
                }
                let s = self.out.len();
                self.field(c, field);
                self.nodes[c].processed = true;
                if self.out.len() > s {
                    self.stack.push((s, self.out.len()));
                }
            }
            self.sort_group(start, base);
        }
        if gather {
            let start = self.out.len();
            let base = self.stack.len();
            for c in range {
                if self.nodes[c].field == NO_FIELD - 1 {
                    let s = self.out.len();
                    self.generic(c);
                    self.mark_processed(c);
                    self.stack.push((s, self.out.len()));
                }
            }
            self.sort_group(start, base);
        }
    }

    /// A standard field: `name=value` and/or `name` followed by its children; nothing if empty.
    fn field(&mut self, idx: usize, field: &Field) {
        let n = self.nodes[idx];
        let p = self.out.len();
        n.name.write(self.out);
        let after_name = self.out.len();
        self.text(n.text, n.voc, field.time);
        if let Some(sub) = field.sub {
            self.ordered(n.children(), sub, false);
        }
        if self.out.len() == after_name {
            self.out.truncate(p);
        }
    }

    /// Any element: `name[=value]` followed by its remaining children, sorted.
    fn generic(&mut self, idx: usize) {
        let n = self.nodes[idx];
        n.name.write(self.out);
        self.text(n.text, n.voc, false);
        let mut children = n.children();
        if n.pair
            && let Some(first) = children.clone().next()
            && self.nodes[first].name.is("type")
        {
            // `type` leads its business transaction, source or destination.
            if !self.removed(first) {
                self.generic(first);
            }
            children.next();
        }
        let start = self.out.len();
        let base = self.stack.len();
        for c in children {
            if self.removed(c) {
                continue;
            }
            let s = self.out.len();
            self.generic(c);
            self.stack.push((s, self.out.len()));
        }
        self.sort_group(start, base);
    }

    /// `=value` if the value is not empty.
    fn text(&mut self, text: Text<'_>, voc: Voc, time: bool) {
        let mut leaf = Leaf {
            out: self.out,
            ids: self.ids.as_deref_mut(),
            ns: self.ns,
            canonical_id: self.canonical_id,
        };
        leaf.text(text, voc, time);
    }
}

/// Sort the entries `stack[base..]`, which fill `out[start..]`, as strings (a no-op, apart from
/// one comparison per entry, when they are in order already).
fn sort_group(
    out: &mut String,
    stack: &mut Vec<(usize, usize)>,
    scratch: &mut String,
    start: usize,
    base: usize,
) {
    let ranges = &mut stack[base..];
    if ranges.len() > 1 {
        let key = |r: &(usize, usize)| &out.as_bytes()[r.0..r.1];
        if !ranges.is_sorted_by(|a, b| compare(key(a), key(b)).is_le()) {
            ranges.sort_unstable_by(|a, b| compare(key(a), key(b)));
            scratch.clear();
            for r in ranges.iter() {
                scratch.push_str(&out[r.0..r.1]);
            }
            out.truncate(start);
            out.push_str(scratch);
        }
    }
    stack.truncate(base);
}

/// Writes leaf values (the same canonicalisation for the generic path and the fast path).
struct Leaf<'n, 'o> {
    out: &'o mut String,
    ids: Option<&'o mut IdCache>,
    ns: Namespaces<'n>,
    canonical_id: Option<IdCanonicaliser>,
}

impl Leaf<'_, '_> {
    /// `=value` if the value is not empty.
    fn text(&mut self, text: Text<'_>, voc: Voc, time: bool) {
        let eq = self.out.len();
        self.out.push('=');
        match text {
            Text::None => {}
            Text::Bool(b) => self.out.push_str(if b { "true" } else { "false" }),
            Text::Num(n) => write_number(self.out, n),
            Text::Numeral(n) => write_number_text(self.out, n),
            Text::Str(s) => {
                if let Voc::Of(v) = voc
                    && let Some(prefix) = v.prefix_of(s)
                {
                    self.out.push_str(prefix);
                    self.out.push_str(s);
                } else if let Some(expanded) = self.ns.expand_value(s) {
                    self.value(&expanded, time);
                } else {
                    self.value(s, time);
                }
            }
        }
        if self.out.len() == eq + 1 {
            self.out.truncate(eq);
        }
    }

    /// A string value, canonicalised.
    fn value(&mut self, s: &str, time: bool) {
        let s = trim(s);
        if s.is_empty() {
            return;
        }
        if time {
            if !write_timestamp(self.out, s) {
                self.out.push_str(s);
            }
            return;
        }
        if is_identifier(s) {
            self.identifier(s);
            return;
        }
        let s = web_vocabulary(s);
        if s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
            && let Ok(f) = s.parse::<f64>()
            && f.is_finite()
        {
            write_float(self.out, f);
            return;
        }
        // An old CBV URN that became a web URI (not a GS1 key, but that is for the
        // canonicaliser to say), or anything else.
        if !(is_identifier(&s) && canonical_id_into(self.canonical_id, &s, self.out)) {
            self.out.push_str(&s);
        }
    }

    /// A value written as an identifier: its canonical Digital Link, or the value with old CBV
    /// URNs in it as web URIs (see [`web_vocabulary`]) if it is not a GS1 key. Through the cache,
    /// keyed by the value as written (the result is a function of it).
    fn identifier(&mut self, s: &str) {
        let write = |out: &mut String, canonical_id| {
            let w = web_vocabulary(s);
            if !canonical_id_into(canonical_id, &w, out) {
                out.push_str(&w);
            }
        };
        let start = self.out.len();
        let Some(ids) = self.ids.as_deref_mut() else {
            write(self.out, self.canonical_id);
            return;
        };
        // These shapes hold no `urn:epcglobal:cbv:` (their only `u` is the first byte, and
        // `urn:epc:` is not it), so `web_vocabulary` leaves them as they are.
        if self.canonical_id.is_none() && ids.serialised(s, self.out) {
            return;
        }
        // SSCCs are unique (one per logistic unit): caching them only evicts the locations and
        // parties that recur.
        if s.starts_with("urn:epc:id:sscc:") {
            write(self.out, self.canonical_id);
            return;
        }
        let slot = ids.slot(s);
        if slot.used && same(&slot.key, s) {
            self.out.push_str(if slot.value.is_empty() {
                s
            } else {
                &slot.value
            });
            return;
        }
        write(self.out, self.canonical_id);
        slot.used = true;
        slot.key.clear();
        slot.key.push_str(s);
        slot.value.clear();
        if self.out[start..] != *s {
            slot.value.push_str(&self.out[start..]);
        }
    }
}

/// Whether a value is written as an identifier (an EPC URI or a web URI).
fn is_identifier(s: &str) -> bool {
    s.starts_with("urn:epc:") || s.starts_with("http://") || s.starts_with("https://")
}

/// `s.trim()`, without looking at the characters when the ends are visible ASCII (any Unicode
/// white space starts with a byte of at least 0x80, ASCII white space is below `!`).
fn trim(s: &str) -> &str {
    let visible = |b: u8| (b'!'..0x80).contains(&b);
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if visible(a) && visible(z) => s,
        _ => s.trim(),
    }
}

/// Appends the constrained canonical Digital Link of `s` to `out`; `false` if `s` is not a GS1
/// identifier. `gs1::canonical_dl_into` already writes the constrained form.
fn canonical_id_into(custom: Option<IdCanonicaliser>, s: &str, out: &mut String) -> bool {
    match custom {
        None => gs1::canonical_dl_into(s, out),
        Some(f) => match f(s) {
            Some(dl) => {
                write_constrained_dl(out, &dl);
                true
            }
            None => false,
        },
    }
}

/// Old CBV URNs as CBV 2.0 web URIs (wherever they occur in the value, as the reference does).
fn web_vocabulary(s: &str) -> Cow<'_, str> {
    const URN: &str = "urn:epcglobal:cbv:";
    const WEB: [(&str, &str); 5] = [
        ("bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
        ("disp:", "https://ref.gs1.org/cbv/Disp-"),
        ("btt:", "https://ref.gs1.org/cbv/BTT-"),
        ("sdt:", "https://ref.gs1.org/cbv/SDT-"),
        ("er:", "https://ref.gs1.org/cbv/ER-"),
    ];
    let web = |after: &str| WEB.iter().find(|(k, _)| after.starts_with(k)).copied();
    // Most values hold no `urn:epcglobal:cbv:` at all: look for it without a substring searcher.
    // Values are short, and a searcher's set-up per value costs more than the search: look for
    // each `u` eight bytes at a time.
    let b = s.as_bytes();
    let mut hit = false;
    let mut from = 0;
    while b.len() >= from + URN.len()
        && let Some(i) = find_byte(&b[from..b.len() - URN.len() + 1], b'u').map(|p| from + p)
    {
        if b[i..].starts_with(URN.as_bytes()) && web(&s[i + URN.len()..]).is_some() {
            hit = true;
            break;
        }
        from = i + 1;
    }
    if !hit {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(i) = rest.find(URN) {
        let after = &rest[i + URN.len()..];
        out.push_str(&rest[..i]);
        match web(after) {
            Some((k, uri)) => {
                out.push_str(uri);
                rest = &after[k.len()..];
            }
            None => {
                out.push_str(URN);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The first position of `needle` in `hay` (eight bytes at a time: the classic "has zero byte"
/// test on the bytes XOR the needle).
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) ^ pattern;
        let found = w.wrapping_sub(LO) & !w & HI;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == needle)
        .map(|p| at + p)
}

/// A JSON number the way the reference writes it (as a double; integral values as integers).
fn write_number(out: &mut String, n: &Number) {
    if let Some(u) = n.as_u64()
        && u < (1 << 53)
    {
        write_u64(out, u);
    } else if let Some(i) = n.as_i64()
        && i.unsigned_abs() < (1 << 53)
    {
        out.push('-');
        write_u64(out, i.unsigned_abs());
    } else if let Some(f) = n.as_f64() {
        write_float(out, f);
    }
}

/// A JSON number as written in the text, the way [`write_number`] writes the number that
/// `serde_json` reads from it: short integers directly, anything else through `serde_json`'s
/// own number parser (so that floats round exactly as in a parsed `Value`).
fn write_number_text(out: &mut String, n: &str) {
    let digits = n.strip_prefix('-').unwrap_or(n);
    // Up to 15 digits is below 2^53; `-0` is a float for serde_json (written `0`).
    if !digits.is_empty()
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && n != "-0"
    {
        out.push_str(n);
        return;
    }
    if let Ok(number) = serde_json::from_str::<Number>(n) {
        write_number(out, &number);
    }
}

/// The decimal digits of `u` (what `write!(out, "{u}")` writes, without the formatter).
fn write_u64(out: &mut String, mut u: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    out.extend(buf[i..].iter().map(|&c| char::from(c)));
}

/// A finite double as the reference writes it: integral values as the exact integer, others as
/// the shortest round-trip decimal (scientific below 1e-4, as Python's `repr`).
fn write_float(out: &mut String, f: f64) {
    if f == f.trunc() {
        if f == 0.0 {
            out.push('0');
        } else if f.abs() < 18_446_744_073_709_551_616.0 {
            if f < 0.0 {
                out.push('-');
            }
            let _ = write!(out, "{}", f.abs() as u64);
        } else {
            write_big_integer(out, f);
        }
    } else if f.abs() >= 1e-4 {
        let _ = write!(out, "{f}");
    } else {
        // Rust writes `1.5e-5`; Python `1.5e-05`.
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
        let _ = write!(out, "{mantissa}e{sign}{digits:0>2}");
    }
}

/// The exact decimal value of an integral double of at least 2^64.
fn write_big_integer(out: &mut String, f: f64) {
    let bits = f.abs().to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32 - 1075;
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    // Little-endian base 10^9 limbs of mantissa * 2^exp (exp > 0 here).
    let mut limbs: Vec<u64> = vec![mantissa % 1_000_000_000, mantissa / 1_000_000_000];
    for _ in 0..exp.max(0) {
        let mut carry = 0;
        for l in limbs.iter_mut() {
            let v = *l * 2 + carry;
            *l = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    if f < 0.0 {
        out.push('-');
    }
    let mut iter = limbs.iter().rev();
    if let Some(top) = iter.next() {
        let _ = write!(out, "{top}");
    }
    for l in iter {
        let _ = write!(out, "{l:09}");
    }
}

/// An `xsd:dateTime` as UTC with milliseconds (`YYYY-MM-DDTHH:MM:SS.mmmZ`); the 4th decimal
/// rounds half up. Returns false (writing nothing) if `s` is not a timestamp.
fn write_timestamp(out: &mut String, s: &str) -> bool {
    let Some(ms) = parse_timestamp_ms(s.as_bytes()) else {
        return false;
    };
    // Already `YYYY-MM-DDTHH:MM:SS.mmmZ` (and valid, as parsed): written as it is.
    let b = s.as_bytes();
    if b.len() == 24 && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z' {
        out.push_str(s);
        return true;
    }
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return false;
    }
    let mut buf = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: i64| {
        for k in (at..at + width).rev() {
            buf[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, m);
    put(8, 2, d);
    put(11, 2, in_day / 3_600_000);
    put(14, 2, in_day / 60_000 % 60);
    put(17, 2, in_day / 1000 % 60);
    put(20, 3, in_day % 1000);
    out.extend(buf.iter().map(|&c| char::from(c)));
    true
}

/// Milliseconds since 1970-01-01T00:00Z of an ISO 8601 date-time.
fn parse_timestamp_ms(b: &[u8]) -> Option<i64> {
    let mut i = 0;
    let num = |i: &mut usize, n: usize| -> Option<i64> {
        let digits = b.get(*i..*i + n)?;
        let mut v = 0i64;
        for &c in digits {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        *i += n;
        Some(v)
    };
    let expect = |i: &mut usize, c: u8| -> Option<()> { (b.get(*i) == Some(&c)).then(|| *i += 1) };
    let year = num(&mut i, 4)?;
    expect(&mut i, b'-')?;
    let month = num(&mut i, 2)?;
    expect(&mut i, b'-')?;
    let day = num(&mut i, 2)?;
    if !matches!(b.get(i), Some(b'T' | b't' | b' ')) {
        return None;
    }
    i += 1;
    let hour = num(&mut i, 2)?;
    expect(&mut i, b':')?;
    let minute = num(&mut i, 2)?;
    let mut second = 0;
    let mut millis = 0;
    if b.get(i) == Some(&b':') {
        i += 1;
        second = num(&mut i, 2)?;
        if matches!(b.get(i), Some(b'.' | b',')) {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let frac = &b[start..i];
            if frac.is_empty() {
                return None;
            }
            for k in 0..3 {
                millis = millis * 10 + frac.get(k).map_or(0, |c| i64::from(c - b'0'));
            }
            if frac.get(3).is_some_and(|&c| c >= b'5') {
                millis += 1;
            }
        }
    }
    let offset_min = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            i += 1;
            let h = num(&mut i, 2)?;
            if b.get(i) == Some(&b':') {
                i += 1;
            }
            let m = if i < b.len() { num(&mut i, 2)? } else { 0 };
            if h > 23 || m > 59 {
                return None;
            }
            if sign == b'-' {
                -(h * 60 + m)
            } else {
                h * 60 + m
            }
        }
        Some(_) => return None,
    };
    if i != b.len()
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(
        days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis
            - offset_min * 60_000,
    )
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The constrained canonical Digital Link of the hash: only the finest identification level
/// (`01/21`, `01/235`, `01/10`, `8006/21`, `8006/10`, `414/254`, `8010/8011`, else the key
/// alone), no query, path values percent-encoded the reference's way.
fn write_constrained_dl(out: &mut String, dl: &str) {
    // `gs1::canonical_dl` already gives this form; check that cheaply and take it as it is.
    if let Some(path) = dl.strip_prefix("https://id.gs1.org/")
        && is_constrained_path(path)
    {
        out.push_str(dl);
        return;
    }
    let path = dl.split(['?', '#']).next().unwrap_or(dl);
    let Some(path) = path.strip_prefix("https://id.gs1.org/") else {
        out.push_str(dl);
        return;
    };
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    let (Some(key_ai), Some(key)) = (segs.next(), segs.next()) else {
        out.push_str(dl);
        return;
    };
    let mut qualifiers: [Option<&str>; 4] = [None; 4];
    let wanted: &[&str] = match key_ai {
        "01" => &["21", "235", "10"],
        "8006" => &["21", "10"],
        "414" => &["254"],
        "8010" => &["8011"],
        _ => &[],
    };
    while let (Some(ai), Some(v)) = (segs.next(), segs.next()) {
        if let Some(p) = wanted.iter().position(|w| *w == ai) {
            qualifiers[p] = Some(v);
        }
    }
    out.push_str("https://id.gs1.org/");
    out.push_str(key_ai);
    out.push('/');
    write_dl_value(out, key);
    if let Some((p, v)) = qualifiers
        .iter()
        .enumerate()
        .find_map(|(p, q)| q.map(|v| (p, v)))
    {
        out.push('/');
        out.push_str(wanted[p]);
        out.push('/');
        write_dl_value(out, v);
    }
}

/// `key-AI/key[/qualifier-AI/value]` with a qualifier the hash keeps for that key, and values
/// already percent-encoded the reference's way.
fn is_constrained_path(path: &str) -> bool {
    let mut segs = path.split('/');
    let (Some(key_ai), Some(key)) = (segs.next(), segs.next()) else {
        return false;
    };
    let qualifier = match (segs.next(), segs.next(), segs.next()) {
        (None, None, None) => None,
        (Some(ai), Some(v), None) => Some((ai, v)),
        _ => return false,
    };
    let allowed = matches!(
        (key_ai, qualifier.map(|(ai, _)| ai)),
        (
            "00" | "01"
                | "253"
                | "255"
                | "401"
                | "402"
                | "414"
                | "417"
                | "8003"
                | "8004"
                | "8006"
                | "8010"
                | "8017"
                | "8018",
            None,
        ) | ("01", Some("21" | "235" | "10"))
            | ("8006", Some("21" | "10"))
            | ("414", Some("254"))
            | ("8010", Some("8011"))
    );
    allowed && is_encoded_value(key) && qualifier.is_none_or(|(_, v)| is_encoded_value(v))
}

/// A non-empty path value of kept bytes and `%XX` (upper-case hex) escapes only.
fn is_encoded_value(v: &str) -> bool {
    let b = v.as_bytes();
    let hex = |c: u8| c.is_ascii_digit() || (b'A'..=b'F').contains(&c);
    let mut i = 0;
    while i < b.len() {
        if dl_keep(b[i]) {
            i += 1;
        } else if b[i] == b'%'
            && b.get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(|&c| hex(c)))
        {
            i += 3;
        } else {
            return false;
        }
    }
    !b.is_empty()
}

/// The bytes a Digital Link path value keeps as they are in the hash.
fn dl_keep(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'\'' | b'-' | b'.' | b'_' | b';' | b'=')
}

/// A Digital Link path value percent-encoded as the reference does: letters, digits and
/// `'-._;=` as they are, everything else `%XX`.
fn write_dl_value(out: &mut String, v: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let keep = dl_keep;
    if v.bytes().all(keep) {
        out.push_str(v);
        return;
    }
    let bytes = v.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let mut c = bytes[i];
        if c == b'%'
            && let Some(h) = bytes.get(i + 1..i + 3)
            && let Ok(h) = std::str::from_utf8(h)
            && let Ok(decoded) = u8::from_str_radix(h, 16)
        {
            c = decoded;
            i += 2;
        }
        if keep(c) {
            out.push(c as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(c >> 4)] as char);
            out.push(HEX[usize::from(c & 15)] as char);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> String {
        let mut out = String::new();
        assert!(write_timestamp(&mut out, s), "{s}");
        out
    }

    #[test]
    fn timestamps_round_half_up_to_milliseconds_in_utc() {
        assert_eq!(ts("2023-01-18T11:04:03.1415Z"), "2023-01-18T11:04:03.142Z");
        assert_eq!(ts("2023-01-18T11:04:03.1414Z"), "2023-01-18T11:04:03.141Z");
        assert_eq!(
            ts("2005-04-03T20:33:31.116000-06:00"),
            "2005-04-04T02:33:31.116Z"
        );
        assert_eq!(ts("2020-04-01T15:00:00+01:00"), "2020-04-01T14:00:00.000Z");
        assert_eq!(ts("2020-12-31T23:59:59.9996Z"), "2021-01-01T00:00:00.000Z");
        assert_eq!(ts("2020-02-29T00:30:00+01:00"), "2020-02-28T23:30:00.000Z");
        let mut out = String::new();
        assert!(!write_timestamp(&mut out, "2020-02-30T00:00:00Z"));
        assert!(!write_timestamp(&mut out, "yesterday"));
    }

    fn num(s: &str) -> String {
        let mut out = String::new();
        write_float(&mut out, s.parse().unwrap());
        out
    }

    #[test]
    fn numbers_are_written_as_the_reference_writes_doubles() {
        assert_eq!(num("26.0"), "26");
        assert_eq!(num("0.100"), "0.1");
        assert_eq!(num("-0"), "0");
        assert_eq!(num("1e5"), "100000");
        assert_eq!(num("0.00001"), "1e-05");
        assert_eq!(num("0.0001"), "0.0001");
        assert_eq!(num("-1.5e-7"), "-1.5e-07");
        // Python: int(float("111100001111000011110000")) == 111100001111000003641344
        assert_eq!(num("111100001111000011110000"), "111100001111000003641344");
        assert_eq!(num("1e300").len(), 301);
    }

    #[test]
    fn cbv_urns_become_web_uris() {
        assert_eq!(
            web_vocabulary("urn:epcglobal:cbv:bizstep:shipping"),
            "https://ref.gs1.org/cbv/BizStep-shipping"
        );
        assert_eq!(
            web_vocabulary("x urn:epcglobal:cbv:disp:in_transit urn:epcglobal:cbv:sdt:location"),
            "x https://ref.gs1.org/cbv/Disp-in_transit https://ref.gs1.org/cbv/SDT-location"
        );
        // Business transaction IDs are identifiers, not vocabulary.
        let bt = "urn:epcglobal:cbv:bt:4012345000009:ASN1099";
        assert!(matches!(web_vocabulary(bt), Cow::Borrowed(b) if b == bt));
    }

    #[test]
    fn top_fields_are_found_by_name() {
        for (i, f) in TOP.iter().enumerate() {
            assert_eq!(usize::from(top_field(f.name)), i, "{}", f.name);
            for other in [&f.name[1..], &f.name[..f.name.len() - 1]] {
                assert_eq!(top_field(other), NO_FIELD, "{other}");
            }
        }
        for other in [
            "",
            "eventtime",
            "epcLisT",
            "childQuantityLisx",
            "ilmd",
            "type",
        ] {
            assert_eq!(top_field(other), NO_FIELD, "{other}");
        }
    }

    #[test]
    fn find_byte_finds_the_first_occurrence() {
        let hay: Vec<u8> = (0..40u8).map(|i| b'a' + i % 7).collect();
        for len in 0..hay.len() {
            for needle in [b'a', b'c', b'g', b'u', 0x80] {
                let h = &hay[..len];
                assert_eq!(find_byte(h, needle), h.iter().position(|&c| c == needle));
            }
        }
        assert_eq!(find_byte(&[0xff, 0x75, 0x75], b'u'), Some(1));
    }

    #[test]
    fn inline_comparisons_agree_with_the_standard_ones() {
        let words = [
            "",
            "a",
            "b",
            "ab",
            "abcdefg",
            "abcdefgh",
            "abcdefgi",
            "abcdefghi",
            "abcdefghj",
            "abcdefghijklmnop",
            "abcdefghijklmnoq",
            "abcdefghijklmnopq",
            "abcdefghijklmnopqrstuvwx",
            "abcdefghijklmnopqrstuvwy",
            "abcdefghijklmnopqrstuvwxyz0",
            "zbcdefghijklmnopqrstuvwxyz",
        ];
        for a in words {
            for b in words {
                assert_eq!(same(a, b), a == b, "{a} {b}");
                assert_eq!(compare(a.as_bytes(), b.as_bytes()), a.cmp(b), "{a} {b}");
            }
        }
    }

    #[test]
    fn integers_are_written_as_display_writes_them() {
        for u in [0u64, 7, 10, 99, 100, 12345, (1 << 53) - 1, u64::MAX] {
            let mut out = String::new();
            write_u64(&mut out, u);
            assert_eq!(out, u.to_string());
        }
    }

    /// The cached class part plus the serial is exactly `gs1::canonical_dl_into`.
    #[test]
    fn serialised_identifiers_from_the_cache_equal_the_canonical_form() {
        let mut cache = IdCache::default();
        let mut hits = 0;
        let items = [
            "4012345.011111",
            "4012345.111111",
            "401234567.0111",
            "4012345.01111",
        ];
        let serials = [
            "1",
            "987",
            "A-b_c.d;e=f'",
            "00000000000000000000",
            "x/y",
            "",
            "123456789012345678901",
        ];
        for round in 0..2 {
            for item in items {
                for serial in serials {
                    for scheme in ["urn:epc:id:sgtin:", "urn:epc:class:lgtin:"] {
                        let urn = format!("{scheme}{item}.{serial}");
                        let mut want = String::new();
                        if !gs1::canonical_dl_into(&urn, &mut want) {
                            want.clear();
                        }
                        let mut got = String::new();
                        if cache.serialised(&urn, &mut got) {
                            hits += 1;
                            if want.is_empty() {
                                want.push_str(&urn);
                            }
                            assert_eq!(got, want, "{urn} (round {round})");
                        } else {
                            assert!(got.is_empty());
                        }
                    }
                }
            }
        }
        // 3 shapes x 4 plain serials x 2 schemes x 2 rounds take the cached path.
        assert_eq!(hits, 48);
    }

    #[test]
    fn digital_links_are_constrained_to_the_finest_level() {
        let c = |s: &str| {
            let mut out = String::new();
            write_constrained_dl(&mut out, s);
            out
        };
        assert_eq!(
            c("https://id.gs1.org/01/09780345418913/22/x/10/L1/21/765tz?abc=1"),
            "https://id.gs1.org/01/09780345418913/21/765tz"
        );
        assert_eq!(
            c("https://id.gs1.org/01/09780345418913/10/L1"),
            "https://id.gs1.org/01/09780345418913/10/L1"
        );
        assert_eq!(
            c("https://id.gs1.org/01/80614141123458/21/6789%2f&%25\"!%3F()"),
            "https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29"
        );
        assert_eq!(
            c("https://id.gs1.org/414/4012345000115/254/987"),
            "https://id.gs1.org/414/4012345000115/254/987"
        );
    }
}
