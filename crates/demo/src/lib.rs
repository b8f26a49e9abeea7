//! Deterministic generator of realistic multi-tier supply-chain EPCIS 2.0 data.
//!
//! The chain has five tiers of organisations, each with its own GS1 company prefix, GLNs, sites
//! and a Unified Social Credit Code:
//!
//! 1. **suppliers** (farms and refiners) commission raw-material lots (`ObjectEvent` ADD with a
//!    `urn:epc:class:lgtin` quantity and ILMD `lotNumber`) and ship them, sometimes in two partial
//!    shipments;
//! 2. **processors** receive raw lots and transform them into intermediate lots (class to class
//!    `TransformationEvent`s, commingling several input lots);
//! 3. **manufacturers** transform lots into serialised consumer units (`sgtin`) carrying their lot
//!    in ILMD, either directly in the `TransformationEvent` or in a separate commissioning
//!    `ObjectEvent`, pack them onto SSCC pallets (`AggregationEvent` ADD) and ship them;
//! 4. **distributors** receive pallets, unpack them (`AggregationEvent` DELETE, sometimes without
//!    children, i.e. the whole aggregation), repack mixed pallets for retailers or cross-dock whole
//!    pallets, take back returned goods and destroy some of them;
//! 5. **retailers** receive and unpack at their stores and sell (`retail_selling`,
//!    `retail_sold`), destroy damaged goods (`destroying`, `destroyed`) or return goods to the
//!    distributor (`shipping` with disposition `returned` and an `rma` transaction). Some goods stay
//!    on the shelf.
//!
//! Shipping and receiving events carry `po`/`desadv` business transactions and `owning_party` and
//! `location` sources and destinations (SGLNs).
//!
//! The output depends only on [`DemoConfig`]: randomness comes from a ChaCha8 generator seeded
//! with `seed`, time starts at `start_ms` and never reads the clock. Events come out in strictly
//! increasing `eventTime`. Generation is streaming: memory is bounded by the goods in flight,
//! not by the number of events.
//!
//! Architecture invariant: no I/O other than the `Write` the caller hands to [`write_document`].

pub mod ids;
mod sim;

use std::io::{self, Write};

pub use sim::Generator;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Number of events to generate.
    pub events: usize,
    /// Seed of the random generator: the same configuration gives the same bytes.
    pub seed: u64,
    /// Time of the first event, milliseconds since the Unix epoch.
    pub start_ms: i64,
    /// Farms and refiners (tier 0). At least 5 (one per raw material).
    pub suppliers: usize,
    /// Processors making intermediate lots (tier 1). At least 3.
    pub processors: usize,
    /// Manufacturers making serialised goods (tier 2). At least 4.
    pub manufacturers: usize,
    /// Distributors (tier 3). At least 1.
    pub distributors: usize,
    /// Retail chains (tier 4), each with several stores. At least 1.
    pub retailers: usize,
}

impl DemoConfig {
    /// A configuration with the default number of organisations (10, 3, 4, 4, 6).
    pub fn new(events: usize, seed: u64, start_ms: i64) -> DemoConfig {
        DemoConfig {
            events,
            seed,
            start_ms,
            suppliers: 10,
            processors: 3,
            manufacturers: 4,
            distributors: 4,
            retailers: 6,
        }
    }
}

/// The tier of an organisation in the chain, from raw material (0) to retail (4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Supplier,
    Processor,
    Manufacturer,
    Distributor,
    Retailer,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Supplier => "supplier",
            Tier::Processor => "processor",
            Tier::Manufacturer => "manufacturer",
            Tier::Distributor => "distributor",
            Tier::Retailer => "retailer",
        }
    }
    /// 0 for raw material up to 4 for retail.
    pub fn level(self) -> u8 {
        self as u8
    }
}

/// One site (farm, plant, distribution centre, store) of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub name: String,
    /// 13-digit GLN with its check digit.
    pub gln: String,
    /// `urn:epc:id:sgln:…`
    pub sgln: String,
}

/// An organisation of the demo chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// The organisation id used as event owner: its 13-digit GLN.
    pub id: String,
    pub name: String,
    pub tier: Tier,
    /// 7-digit GS1 company prefix.
    pub company_prefix: String,
    /// The organisation's own GLN (same as `id`).
    pub gln: String,
    /// The party as used in source and destination lists (`urn:epc:id:sgln:…` of `gln`).
    pub party: String,
    /// Unified Social Credit Code (GB 32100-2015) with a valid check character.
    pub uscc: String,
    /// Administrative division code (GB/T 2260).
    pub region: String,
    pub sites: Vec<Site>,
}

/// A product (trade item) of the demo chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// 14-digit GTIN with its check digit.
    pub gtin: String,
    pub name: String,
    /// Index of the owning organisation in [`organisations`].
    pub org: usize,
    /// EPC URI stem `prefix.indicatorItemRef` (used in `sgtin` and `lgtin` URIs).
    pub epc_stem: String,
    /// Unit of measure for lot quantities (`KGM`, `LTR`), `None` for counted units.
    pub uom: Option<&'static str>,
    /// Whether instances are serialised (`sgtin`) or only tracked by lot (`lgtin`).
    pub serialised: bool,
}

/// The organisations of a configuration, in a fixed order (suppliers, processors,
/// manufacturers, distributors, retailers).
pub fn organisations(cfg: &DemoConfig) -> Vec<Organisation> {
    sim::world(cfg).orgs
}

/// The products of a configuration: one per producing organisation, in organisation order.
pub fn products(cfg: &DemoConfig) -> Vec<Product> {
    sim::world(cfg).products
}

/// The events as JSON-LD objects, in document order (strictly increasing `eventTime`).
pub fn generate(cfg: &DemoConfig) -> impl Iterator<Item = serde_json::Value> + use<> {
    Generator::new(cfg).map(|(_, e)| e)
}

/// The events with the id of the organisation that captures each one (the shipper for
/// shipping, the receiver for receiving, the site owner otherwise).
pub fn generate_with_owner(cfg: &DemoConfig) -> Generator {
    Generator::new(cfg)
}

/// The `@context` of generated documents.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// Write one EPCIS 2.0 JSON-LD `EPCISDocument` with all events of `cfg`, streaming.
/// Returns the number of events written.
pub fn write_document<W: Write>(cfg: &DemoConfig, w: W) -> io::Result<usize> {
    write_events(cfg, generate(cfg), w)
}

/// Write one `EPCISDocument` around the given events (e.g. one organisation's share of
/// [`generate_with_owner`]). `creationDate` is `cfg.start_ms`. Returns the number of events.
pub fn write_events<W: Write>(
    cfg: &DemoConfig,
    events: impl Iterator<Item = serde_json::Value>,
    w: W,
) -> io::Result<usize> {
    let mut w = io::BufWriter::with_capacity(1 << 16, w);
    write!(
        w,
        "{{\"@context\":[\"{EPCIS_CONTEXT}\"],\"type\":\"EPCISDocument\",\"schemaVersion\":\"2.0\",\
         \"creationDate\":\"{}\",\"epcisBody\":{{\"eventList\":[",
        ids::rfc3339_ms(cfg.start_ms)
    )?;
    let mut n = 0usize;
    for e in events {
        if n > 0 {
            w.write_all(b",\n")?;
        } else {
            w.write_all(b"\n")?;
        }
        serde_json::to_writer(&mut w, &e)?;
        n += 1;
    }
    w.write_all(b"\n]}}\n")?;
    w.flush()?;
    Ok(n)
}
