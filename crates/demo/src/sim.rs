//! The simulation: a discrete-event scheduler over the organisations of the chain.
//!
//! Every action runs at a scheduled time, emits zero or more events, and schedules its
//! follow-ups at later times; actions run in time order, so event times never decrease (they are
//! made strictly increasing by at least one millisecond).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use crate::ids;
use crate::{DemoConfig, Organisation, Product, Site, Tier};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// A material of the catalogue.
struct Material {
    name: &'static str,
    tier: Tier,
    uom: Option<&'static str>,
    /// (material, input quantity per 100 output units)
    inputs: &'static [(usize, u64)],
}

const MILK: usize = 0;
const WHEAT: usize = 1;
const SOY: usize = 2;
const LITHIUM: usize = 3;
const COBALT: usize = 4;
const POWDER: usize = 5;
const FLOUR: usize = 6;
const CELLS: usize = 7;

const MATERIALS: &[Material] = &[
    Material {
        name: "Raw cow milk",
        tier: Tier::Supplier,
        uom: Some("LTR"),
        inputs: &[],
    },
    Material {
        name: "Wheat",
        tier: Tier::Supplier,
        uom: Some("KGM"),
        inputs: &[],
    },
    Material {
        name: "Soybeans",
        tier: Tier::Supplier,
        uom: Some("KGM"),
        inputs: &[],
    },
    Material {
        name: "Lithium carbonate",
        tier: Tier::Supplier,
        uom: Some("KGM"),
        inputs: &[],
    },
    Material {
        name: "Cobalt sulfate",
        tier: Tier::Supplier,
        uom: Some("KGM"),
        inputs: &[],
    },
    Material {
        name: "Whole milk powder",
        tier: Tier::Processor,
        uom: Some("KGM"),
        inputs: &[(MILK, 800)],
    },
    Material {
        name: "Wheat flour",
        tier: Tier::Processor,
        uom: Some("KGM"),
        inputs: &[(WHEAT, 130)],
    },
    Material {
        name: "Li-ion battery cell 21700",
        tier: Tier::Processor,
        uom: None,
        inputs: &[(LITHIUM, 2), (COBALT, 1)],
    },
    Material {
        name: "Infant formula 800 g",
        tier: Tier::Manufacturer,
        uom: None,
        inputs: &[(POWDER, 80)],
    },
    Material {
        name: "Instant noodles carton 24x",
        tier: Tier::Manufacturer,
        uom: None,
        inputs: &[(FLOUR, 250), (SOY, 20)],
    },
    Material {
        name: "E-bike battery pack 48V",
        tier: Tier::Manufacturer,
        uom: None,
        inputs: &[(CELLS, 4000)],
    },
    Material {
        name: "Soy milk case 12x250 ml",
        tier: Tier::Manufacturer,
        uom: None,
        inputs: &[(SOY, 150)],
    },
];

const RAW: [usize; 5] = [MILK, WHEAT, SOY, LITHIUM, COBALT];
const INTERMEDIATE: [usize; 3] = [POWDER, FLOUR, CELLS];
const FINISHED: [usize; 4] = [8, 9, 10, 11];

/// (organisation name, region code) per material for suppliers and processors and manufacturers.
const MAKERS: &[(&str, &str)] = &[
    ("Hulunbuir Grassland Dairy Farm", "150700"),
    ("Zhoukou Golden Wheat Cooperative", "411600"),
    ("Heihe Black Soil Soybean Farm", "231100"),
    ("Yichun Lithium Refining Co.", "360900"),
    ("Ganzhou Cobalt Chemicals Co.", "360700"),
    ("Hohhot Dairy Processing Co.", "150100"),
    ("Zhengzhou Flour Mill Co.", "410100"),
    ("Ningde Cell Technology Co.", "350900"),
    ("Harbin Infant Nutrition Co.", "230100"),
    ("Xinxiang Noodle Foods Co.", "410700"),
    ("Changzhou E-Mobility Power Co.", "320400"),
    ("Qiqihar Soy Beverage Co.", "230200"),
];

const CITIES: &[(&str, &str)] = &[
    ("Shanghai", "310115"),
    ("Beijing", "110105"),
    ("Guangzhou", "440106"),
    ("Chengdu", "510104"),
    ("Wuhan", "420106"),
    ("Hangzhou", "330106"),
    ("Xi'an", "610113"),
    ("Shenyang", "210102"),
    ("Nanjing", "320106"),
    ("Tianjin", "120101"),
];

/// The static world: organisations and products, and who makes what.
pub(crate) struct World {
    pub orgs: Vec<Organisation>,
    pub products: Vec<Product>,
    /// org -> (material, product index) for producing organisations
    made_by: Vec<Option<(usize, usize)>>,
}

fn clamp_cfg(cfg: &DemoConfig) -> DemoConfig {
    let mut c = cfg.clone();
    c.suppliers = c.suppliers.clamp(RAW.len(), 10_000);
    c.processors = c.processors.clamp(INTERMEDIATE.len(), 10_000);
    c.manufacturers = c.manufacturers.clamp(FINISHED.len(), 10_000);
    c.distributors = c.distributors.clamp(1, 10_000);
    c.retailers = c.retailers.clamp(1, 10_000);
    c
}

pub(crate) fn world(cfg: &DemoConfig) -> World {
    let cfg = clamp_cfg(cfg);
    let mut orgs = Vec::new();
    let mut products = Vec::new();
    let mut made_by = Vec::new();
    let tiers = [
        (Tier::Supplier, cfg.suppliers),
        (Tier::Processor, cfg.processors),
        (Tier::Manufacturer, cfg.manufacturers),
        (Tier::Distributor, cfg.distributors),
        (Tier::Retailer, cfg.retailers),
    ];
    for (tier, count) in tiers {
        for k in 0..count {
            let idx = orgs.len();
            let prefix = format!("{}", 6_900_100 + idx * 7);
            let round = k / 5 + 1;
            let suffix = if round > 1 {
                format!(" No. {round}")
            } else {
                String::new()
            };
            let (material, name, region, site_names): (Option<usize>, String, &str, Vec<String>) =
                match tier {
                    Tier::Supplier => {
                        let m = RAW[k % RAW.len()];
                        let (n, r) = MAKERS[m];
                        (
                            Some(m),
                            format!("{n}{suffix}"),
                            r,
                            vec![format!("{n}{suffix} site")],
                        )
                    }
                    Tier::Processor => {
                        let m = INTERMEDIATE[k % INTERMEDIATE.len()];
                        let (n, r) = MAKERS[m];
                        (
                            Some(m),
                            format!("{n}{suffix}"),
                            r,
                            vec![format!("{n}{suffix} plant")],
                        )
                    }
                    Tier::Manufacturer => {
                        let m = FINISHED[k % FINISHED.len()];
                        let (n, r) = MAKERS[m];
                        (
                            Some(m),
                            format!("{n}{suffix}"),
                            r,
                            vec![format!("{n}{suffix} factory")],
                        )
                    }
                    Tier::Distributor => {
                        let (city, r) = CITIES[k % CITIES.len()];
                        let n = format!("{city} Cold Chain Logistics{suffix}");
                        let sites = vec![format!("{n} DC")];
                        (None, n, r, sites)
                    }
                    Tier::Retailer => {
                        let (city, r) = CITIES[(k + 3) % CITIES.len()];
                        let n = format!("{city} Hualian Supermarkets{suffix}");
                        let sites = (1..=3).map(|s| format!("{n} store {s}")).collect();
                        (None, n, r, sites)
                    }
                };
            let gln = ids::gln(&prefix, "00000");
            let sites = site_names
                .into_iter()
                .enumerate()
                .map(|(s, name)| {
                    let loc = format!("{:05}", s + 1);
                    Site {
                        name,
                        gln: ids::gln(&prefix, &loc),
                        sgln: ids::sgln(&prefix, &loc),
                    }
                })
                .collect();
            let uscc = ids::uscc(region, 31_000_000 + (idx as u32) * 13);
            if let Some(m) = material {
                let item = format!("0{:05}", 100 + m);
                let mat = &MATERIALS[m];
                made_by.push(Some((m, products.len())));
                products.push(Product {
                    gtin: ids::gtin14(&prefix, &item),
                    name: mat.name.to_string(),
                    org: idx,
                    epc_stem: format!("{prefix}.{item}"),
                    uom: mat.uom,
                    serialised: mat.tier == Tier::Manufacturer,
                });
            } else {
                made_by.push(None);
            }
            orgs.push(Organisation {
                id: gln.clone(),
                name,
                tier,
                party: ids::sgln(&prefix, "00000"),
                company_prefix: prefix,
                gln,
                uscc,
                region: region.to_string(),
                sites,
            });
        }
    }
    World {
        orgs,
        products,
        made_by,
    }
}

/// A lot (or part of one) held in stock.
struct LotStock {
    class: String,
    qty: u64,
}

/// A pallet in flight.
struct Pallet {
    sscc: String,
    children: Vec<String>,
}

struct Shipment {
    from: usize,
    from_site: usize,
    to: usize,
    to_site: usize,
    po: String,
    desadv: String,
}

enum Fate {
    Sale,
    Destroy,
    Return,
}

enum Action {
    Harvest {
        org: usize,
    },
    Produce {
        org: usize,
    },
    Fulfil {
        org: usize,
    },
    ShipLot {
        ship: Shipment,
        class: String,
        qty: u64,
        uom: Option<&'static str>,
    },
    ReceiveLot {
        ship: Shipment,
        class: String,
        qty: u64,
        uom: Option<&'static str>,
        material: usize,
    },
    DestroyLot {
        org: usize,
        class: String,
        qty: u64,
        uom: Option<&'static str>,
    },
    Pack {
        org: usize,
        serials: Vec<String>,
    },
    ShipPallets {
        ship: Shipment,
        pallets: Vec<Pallet>,
    },
    ReceivePallets {
        ship: Shipment,
        pallets: Vec<Pallet>,
    },
    Unpack {
        org: usize,
        site: usize,
        from: usize,
        pallets: Vec<Pallet>,
    },
    Retail {
        org: usize,
        site: usize,
        from: usize,
        serials: Vec<String>,
        fate: Fate,
    },
    ReceiveReturn {
        ship: Shipment,
        serials: Vec<String>,
    },
    DestroyReturned {
        org: usize,
        serials: Vec<String>,
    },
}

/// A scheduled action; boxed so that heap operations move 24 bytes, not the action.
struct Scheduled {
    time: i64,
    seq: u64,
    action: Box<Action>,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    // Reversed: BinaryHeap is a max-heap and we want the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Streaming event generator; yields `(owner organisation id, event)`.
pub struct Generator {
    rng: ChaCha8Rng,
    world: World,
    heap: BinaryHeap<Scheduled>,
    seq: u64,
    last_ms: i64,
    out: VecDeque<(usize, Value)>,
    remaining: usize,
    /// org -> per recipe input slot -> lots in stock (oldest first)
    stock: Vec<Vec<VecDeque<LotStock>>>,
    /// distributor org -> loose serials in its DC
    loose: Vec<VecDeque<String>>,
    /// material -> organisations consuming it
    buyers: Vec<Vec<usize>>,
    lot_counter: Vec<u64>,
    sscc_counter: Vec<u64>,
    doc_counter: Vec<u64>,
    serial_counter: Vec<u64>,
    distributors: Vec<usize>,
    retailers: Vec<usize>,
}

impl Generator {
    pub fn new(cfg: &DemoConfig) -> Generator {
        let world = world(cfg);
        let n = world.orgs.len();
        let mut buyers = vec![Vec::new(); MATERIALS.len()];
        let mut stock = Vec::with_capacity(n);
        for o in 0..n {
            let slots = match world.made_by[o] {
                Some((m, _)) => {
                    for &(inp, _) in MATERIALS[m].inputs {
                        buyers[inp].push(o);
                    }
                    MATERIALS[m].inputs.len()
                }
                None => 0,
            };
            stock.push((0..slots).map(|_| VecDeque::new()).collect());
        }
        let distributors = (0..n)
            .filter(|&o| world.orgs[o].tier == Tier::Distributor)
            .collect();
        let retailers = (0..n)
            .filter(|&o| world.orgs[o].tier == Tier::Retailer)
            .collect();
        let mut g = Generator {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            heap: BinaryHeap::new(),
            seq: 0,
            last_ms: cfg.start_ms - 1,
            out: VecDeque::new(),
            remaining: cfg.events,
            stock,
            loose: vec![VecDeque::new(); n],
            buyers,
            lot_counter: vec![0; n],
            sscc_counter: vec![0; n],
            doc_counter: vec![0; n],
            serial_counter: vec![0; world.products.len()],
            distributors,
            retailers,
            world,
        };
        for o in 0..n {
            let jitter = g.rng.random_range(0..HOUR);
            let t = cfg.start_ms + jitter;
            match g.world.orgs[o].tier {
                Tier::Supplier => {
                    g.schedule(cfg.start_ms + jitter / 60, Action::Harvest { org: o })
                }
                Tier::Processor | Tier::Manufacturer => {
                    g.schedule(t + 2 * DAY, Action::Produce { org: o })
                }
                Tier::Distributor => g.schedule(t + 5 * DAY, Action::Fulfil { org: o }),
                Tier::Retailer => {}
            }
        }
        g
    }

    fn schedule(&mut self, time: i64, action: Action) {
        self.seq += 1;
        self.heap.push(Scheduled {
            time,
            seq: self.seq,
            action: Box::new(action),
        });
    }

    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.random_range(lo..hi)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    /// The time of the next event: at or after `t`, strictly after the previous event.
    fn stamp(&mut self, t: i64) -> i64 {
        let t = t.max(self.last_ms + 1);
        self.last_ms = t;
        t
    }

    fn uuid(&mut self) -> String {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
        let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
        format!(
            "urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    fn new_lot(&mut self, org: usize, t: i64) -> String {
        self.lot_counter[org] += 1;
        let d = ids::date(t);
        format!(
            "L{}{}{}-{:04}",
            &d[2..4],
            &d[5..7],
            &d[8..10],
            self.lot_counter[org] % 10_000
        )
    }

    fn new_sscc(&mut self, org: usize) -> String {
        self.sscc_counter[org] += 1;
        let prefix = &self.world.orgs[org].company_prefix;
        format!(
            "urn:epc:id:sscc:{prefix}.0{:09}",
            self.sscc_counter[org] % 1_000_000_000
        )
    }

    /// A business-document id `urn:epcglobal:cbv:bt:{GLN}:{KIND}-{n}` of organisation `org`.
    fn new_doc(&mut self, org: usize, kind: &str) -> String {
        self.doc_counter[org] += 1;
        format!(
            "urn:epcglobal:cbv:bt:{}:{kind}-{:07}",
            self.world.orgs[org].gln, self.doc_counter[org]
        )
    }

    fn site_sgln(&self, org: usize, site: usize) -> &str {
        &self.world.orgs[org].sites[site].sgln
    }

    fn random_site(&mut self, org: usize) -> usize {
        let n = self.world.orgs[org].sites.len();
        self.rng.random_range(0..n)
    }

    /// The common head of every event.
    fn head(&mut self, ty: &str, t: i64) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("type".into(), Value::from(ty));
        m.insert("eventID".into(), Value::from(self.uuid()));
        m.insert("eventTime".into(), Value::from(ids::rfc3339_ms(t)));
        m.insert("eventTimeZoneOffset".into(), Value::from("+08:00"));
        m
    }

    fn where_why(
        &self,
        m: &mut Map<String, Value>,
        biz_step: &str,
        disposition: &str,
        org: usize,
        site: usize,
    ) {
        let loc = self.site_sgln(org, site).to_string();
        m.insert("bizStep".into(), Value::from(biz_step));
        m.insert("disposition".into(), Value::from(disposition));
        m.insert("readPoint".into(), json!({ "id": loc }));
        m.insert("bizLocation".into(), json!({ "id": loc }));
    }

    fn transfer(&self, m: &mut Map<String, Value>, ship: &Shipment, docs: &[(&str, &str)]) {
        let list: Vec<Value> = docs
            .iter()
            .map(|(ty, id)| json!({ "type": ty, "bizTransaction": id }))
            .collect();
        m.insert("bizTransactionList".into(), Value::Array(list));
        let (f, t) = (&self.world.orgs[ship.from], &self.world.orgs[ship.to]);
        m.insert(
            "sourceList".into(),
            json!([
                { "type": "owning_party", "source": f.party },
                { "type": "location", "source": f.sites[ship.from_site].sgln },
            ]),
        );
        m.insert(
            "destinationList".into(),
            json!([
                { "type": "owning_party", "destination": t.party },
                { "type": "location", "destination": t.sites[ship.to_site].sgln },
            ]),
        );
    }

    fn push(&mut self, owner: usize, m: Map<String, Value>) {
        self.out.push_back((owner, Value::Object(m)));
    }

    fn quantity(class: &str, qty: u64, uom: Option<&str>) -> Value {
        match uom {
            Some(u) => json!({ "epcClass": class, "quantity": qty, "uom": u }),
            None => json!({ "epcClass": class, "quantity": qty }),
        }
    }

    fn epc_list(items: &[String]) -> Value {
        Value::Array(items.iter().map(|s| Value::from(s.as_str())).collect())
    }

    fn run(&mut self, now: i64, action: Action) {
        match action {
            Action::Harvest { org } => self.harvest(now, org),
            Action::Produce { org } => self.produce(now, org),
            Action::Fulfil { org } => self.fulfil(now, org),
            Action::ShipLot {
                ship,
                class,
                qty,
                uom,
            } => {
                let t = self.stamp(now);
                let mut m = self.head("ObjectEvent", t);
                m.insert("epcList".into(), json!([]));
                m.insert("action".into(), Value::from("OBSERVE"));
                self.where_why(&mut m, "shipping", "in_transit", ship.from, ship.from_site);
                self.transfer(&mut m, &ship, &[("po", &ship.po), ("desadv", &ship.desadv)]);
                m.insert(
                    "quantityList".into(),
                    json!([Self::quantity(&class, qty, uom)]),
                );
                self.push(ship.from, m);
                let material = self.material_of_class(&class);
                let arrive = t + self.between(12 * HOUR, 72 * HOUR);
                self.schedule(
                    arrive,
                    Action::ReceiveLot {
                        ship,
                        class,
                        qty,
                        uom,
                        material,
                    },
                );
            }
            Action::ReceiveLot {
                ship,
                class,
                qty,
                uom,
                material,
            } => {
                let t = self.stamp(now);
                let mut m = self.head("ObjectEvent", t);
                m.insert("epcList".into(), json!([]));
                m.insert("action".into(), Value::from("OBSERVE"));
                self.where_why(&mut m, "receiving", "in_progress", ship.to, ship.to_site);
                self.transfer(&mut m, &ship, &[("po", &ship.po), ("desadv", &ship.desadv)]);
                m.insert(
                    "quantityList".into(),
                    json!([Self::quantity(&class, qty, uom)]),
                );
                self.push(ship.to, m);
                let org = ship.to;
                let Some((made, _)) = self.world.made_by[org] else {
                    return;
                };
                let Some(slot) = MATERIALS[made]
                    .inputs
                    .iter()
                    .position(|&(i, _)| i == material)
                else {
                    return;
                };
                self.stock[org][slot].push_back(LotStock { class, qty });
                if self.stock[org][slot].len() > 6 {
                    // Too much of this input: the oldest lot expires and is destroyed.
                    let old = self.stock[org][slot].pop_front().expect("non-empty");
                    let at = t + self.between(HOUR, 4 * HOUR);
                    self.schedule(
                        at,
                        Action::DestroyLot {
                            org,
                            class: old.class,
                            qty: old.qty,
                            uom,
                        },
                    );
                }
            }
            Action::DestroyLot {
                org,
                class,
                qty,
                uom,
            } => {
                let t = self.stamp(now);
                let mut m = self.head("ObjectEvent", t);
                m.insert("epcList".into(), json!([]));
                m.insert("action".into(), Value::from("DELETE"));
                self.where_why(&mut m, "destroying", "destroyed", org, 0);
                m.insert(
                    "quantityList".into(),
                    json!([Self::quantity(&class, qty, uom)]),
                );
                self.push(org, m);
            }
            Action::Pack { org, serials } => self.pack(now, org, serials),
            Action::ShipPallets { ship, pallets } => {
                let t = self.stamp(now);
                let mut m = self.head("ObjectEvent", t);
                let ssccs: Vec<String> = pallets.iter().map(|p| p.sscc.clone()).collect();
                m.insert("epcList".into(), Self::epc_list(&ssccs));
                m.insert("action".into(), Value::from("OBSERVE"));
                self.where_why(&mut m, "shipping", "in_transit", ship.from, ship.from_site);
                self.transfer(&mut m, &ship, &[("po", &ship.po), ("desadv", &ship.desadv)]);
                self.push(ship.from, m);
                let arrive = t + self.between(12 * HOUR, 72 * HOUR);
                self.schedule(arrive, Action::ReceivePallets { ship, pallets });
            }
            Action::ReceivePallets { ship, pallets } => self.receive_pallets(now, ship, pallets),
            Action::Unpack {
                org,
                site,
                from,
                pallets,
            } => self.unpack(now, org, site, from, pallets),
            Action::Retail {
                org,
                site,
                from,
                serials,
                fate,
            } => self.retail(now, org, site, from, serials, fate),
            Action::ReceiveReturn { ship, serials } => {
                let t = self.stamp(now);
                let mut m = self.head("ObjectEvent", t);
                m.insert("epcList".into(), Self::epc_list(&serials));
                m.insert("action".into(), Value::from("OBSERVE"));
                self.where_why(&mut m, "receiving", "returned", ship.to, ship.to_site);
                self.transfer(&mut m, &ship, &[("rma", &ship.po)]);
                self.push(ship.to, m);
                if self.chance(0.5) {
                    let at = t + self.between(DAY, 5 * DAY);
                    self.schedule(
                        at,
                        Action::DestroyReturned {
                            org: ship.to,
                            serials,
                        },
                    );
                } else {
                    self.loose[ship.to].extend(serials);
                }
            }
            Action::DestroyReturned { org, serials } => {
                let t = self.stamp(now);
                let mut m = self.head("ObjectEvent", t);
                m.insert("epcList".into(), Self::epc_list(&serials));
                m.insert("action".into(), Value::from("DELETE"));
                self.where_why(&mut m, "destroying", "destroyed", org, 0);
                self.push(org, m);
            }
        }
    }

    fn material_of_class(&self, class: &str) -> usize {
        // urn:epc:class:lgtin:{prefix}.{0+item}.{lot}: the item reference is 100 + material.
        let stem = class.trim_start_matches("urn:epc:class:lgtin:");
        let item = stem.split('.').nth(1).unwrap_or("0");
        item.parse::<usize>()
            .map(|i| i.saturating_sub(100))
            .unwrap_or(0)
    }

    fn product_of(&self, org: usize) -> (usize, usize) {
        self.world.made_by[org].expect("producing organisation")
    }

    fn harvest(&mut self, now: i64, org: usize) {
        let (mat, p) = self.product_of(org);
        let t = self.stamp(now);
        let lot = self.new_lot(org, t);
        let class = format!(
            "urn:epc:class:lgtin:{}.{lot}",
            self.world.products[p].epc_stem
        );
        let uom = MATERIALS[mat].uom;
        let qty: u64 = match mat {
            MILK => self.rng.random_range(2_000..6_000),
            WHEAT => self.rng.random_range(5_000..20_000),
            SOY => self.rng.random_range(3_000..12_000),
            LITHIUM => self.rng.random_range(500..2_000),
            _ => self.rng.random_range(300..1_000),
        };
        let mut m = self.head("ObjectEvent", t);
        m.insert("epcList".into(), json!([]));
        m.insert("action".into(), Value::from("ADD"));
        self.where_why(&mut m, "commissioning", "active", org, 0);
        m.insert(
            "quantityList".into(),
            json!([Self::quantity(&class, qty, uom)]),
        );
        m.insert(
            "ilmd".into(),
            json!({
                "cbvmda:lotNumber": lot,
                "cbvmda:countryOfOrigin": "CN",
                "cbvmda:itemExpirationDate": ids::date(t + 180 * DAY),
            }),
        );
        self.push(org, m);
        self.ship_lot(t, org, class, qty, uom, mat);
        let next = t + self.between(8 * HOUR, 16 * HOUR);
        self.schedule(next, Action::Harvest { org });
    }

    /// Ship a new lot to its buyers: one shipment, or two partial shipments (same buyer and
    /// purchase order, or two buyers).
    fn ship_lot(
        &mut self,
        t: i64,
        org: usize,
        class: String,
        qty: u64,
        uom: Option<&'static str>,
        mat: usize,
    ) {
        if self.buyers[mat].is_empty() {
            return;
        }
        let nb = self.buyers[mat].len();
        let first = self.buyers[mat][self.rng.random_range(0..nb)];
        let parts: Vec<(usize, u64)> = if qty >= 20 && self.chance(0.3) {
            let q1 = qty * self.rng.random_range(30..70) / 100;
            let second = if self.chance(0.5) {
                first
            } else {
                self.buyers[mat][self.rng.random_range(0..nb)]
            };
            vec![(first, q1), (second, qty - q1)]
        } else {
            vec![(first, qty)]
        };
        let mut at = t + self.between(2 * HOUR, 24 * HOUR);
        let mut po_for: Option<(usize, String)> = None;
        for (buyer, q) in parts {
            let po = match &po_for {
                Some((b, po)) if *b == buyer => po.clone(),
                _ => self.new_doc(buyer, "PO"),
            };
            po_for = Some((buyer, po.clone()));
            let desadv = self.new_doc(org, "DESADV");
            let to_site = self.random_site(buyer);
            let ship = Shipment {
                from: org,
                from_site: 0,
                to: buyer,
                to_site,
                po,
                desadv,
            };
            self.schedule(
                at,
                Action::ShipLot {
                    ship,
                    class: class.clone(),
                    qty: q,
                    uom,
                },
            );
            at += self.between(DAY, 3 * DAY);
        }
    }

    fn produce(&mut self, now: i64, org: usize) {
        let (mat, p) = self.product_of(org);
        let def = &MATERIALS[mat];
        let next = now + self.between(3 * HOUR, 8 * HOUR);
        self.schedule(next, Action::Produce { org });
        // How much output the stock allows.
        let mut max_out = u64::MAX;
        for (slot, &(_, per100)) in def.inputs.iter().enumerate() {
            let avail: u64 = self.stock[org][slot].iter().map(|l| l.qty).sum();
            max_out = max_out.min(avail * 100 / per100);
        }
        let serialised = def.tier == Tier::Manufacturer;
        let min_run = if serialised { 12 } else { 50 };
        if max_out < min_run {
            return;
        }
        let share = self.rng.random_range(40..=100);
        let mut out = (max_out * share / 100).max(min_run);
        if serialised {
            out = out.min(self.rng.random_range(60..480));
        }
        // Consume the inputs, oldest lots first.
        let mut inputs = Vec::new();
        for (slot, &(_, per100)) in def.inputs.iter().enumerate() {
            let mut need = (out * per100).div_ceil(100);
            let uom = MATERIALS[def.inputs[slot].0].uom;
            while need > 0 {
                let Some(front) = self.stock[org][slot].front_mut() else {
                    break;
                };
                let take = need.min(front.qty);
                front.qty -= take;
                need -= take;
                inputs.push(Self::quantity(&front.class, take, uom));
                if front.qty == 0 {
                    self.stock[org][slot].pop_front();
                }
            }
        }
        let t = self.stamp(now);
        let lot = self.new_lot(org, t);
        let stem = self.world.products[p].epc_stem.clone();
        let class = format!("urn:epc:class:lgtin:{stem}.{lot}");
        let ilmd = json!({
            "cbvmda:lotNumber": lot,
            "cbvmda:itemExpirationDate": ids::date(t + 365 * DAY),
        });
        let mut m = self.head("TransformationEvent", t);
        m.insert("inputQuantityList".into(), Value::Array(inputs));
        if !serialised {
            m.insert(
                "outputQuantityList".into(),
                json!([Self::quantity(&class, out, def.uom)]),
            );
            self.where_why(&mut m, "creating_class_instance", "active", org, 0);
            m.insert("ilmd".into(), ilmd);
            self.push(org, m);
            self.ship_lot(t, org, class, out, def.uom, mat);
            return;
        }
        let first = self.serial_counter[p] + 1_000_001;
        self.serial_counter[p] += out;
        let serials: Vec<String> = (first..first + out)
            .map(|s| format!("urn:epc:id:sgtin:{stem}.{s}"))
            .collect();
        if org.is_multiple_of(2) {
            // Serials come out of the transformation with their lot in ILMD.
            m.insert("outputEPCList".into(), Self::epc_list(&serials));
            self.where_why(&mut m, "commissioning", "active", org, 0);
            m.insert("ilmd".into(), ilmd);
            self.push(org, m);
        } else {
            // The transformation makes a lot; the serials are commissioned with the lot in ILMD.
            m.insert(
                "outputQuantityList".into(),
                json!([Self::quantity(&class, out, None)]),
            );
            self.where_why(&mut m, "creating_class_instance", "active", org, 0);
            self.push(org, m);
            let dt = self.between(60_000, 10 * 60_000);
            let t = self.stamp(t + dt);
            let mut m = self.head("ObjectEvent", t);
            m.insert("epcList".into(), Self::epc_list(&serials));
            m.insert("action".into(), Value::from("ADD"));
            self.where_why(&mut m, "commissioning", "active", org, 0);
            m.insert("ilmd".into(), ilmd);
            self.push(org, m);
        }
        let at = t + self.between(HOUR, 6 * HOUR);
        self.schedule(at, Action::Pack { org, serials });
    }

    fn aggregate_add(&mut self, t: i64, org: usize, site: usize, sscc: &str, children: &[String]) {
        let mut m = self.head("AggregationEvent", t);
        m.insert("parentID".into(), Value::from(sscc));
        m.insert("childEPCs".into(), Self::epc_list(children));
        m.insert("action".into(), Value::from("ADD"));
        self.where_why(&mut m, "packing", "in_progress", org, site);
        self.push(org, m);
    }

    fn pack(&mut self, now: i64, org: usize, serials: Vec<String>) {
        let mut pallets = Vec::new();
        let mut rest = serials.as_slice();
        let mut t = now;
        while !rest.is_empty() {
            let n = self.rng.random_range(24..=96).min(rest.len());
            let (children, tail) = rest.split_at(n);
            rest = tail;
            let sscc = self.new_sscc(org);
            t = self.stamp(t);
            self.aggregate_add(t, org, 0, &sscc, children);
            pallets.push(Pallet {
                sscc,
                children: children.to_vec(),
            });
            t += self.between(20_000, 3 * 60_000);
        }
        // Ship to one distributor, in one or two shipments of one purchase order.
        let nd = self.distributors.len();
        let to = self.distributors[self.rng.random_range(0..nd)];
        let po = self.new_doc(to, "PO");
        let split = if pallets.len() >= 2 && self.chance(0.35) {
            pallets.len() / 2
        } else {
            pallets.len()
        };
        let second: Vec<Pallet> = pallets.split_off(split);
        let mut at = t + self.between(4 * HOUR, 24 * HOUR);
        for part in [pallets, second] {
            if part.is_empty() {
                continue;
            }
            let desadv = self.new_doc(org, "DESADV");
            let to_site = self.random_site(to);
            let ship = Shipment {
                from: org,
                from_site: 0,
                to,
                to_site,
                po: po.clone(),
                desadv,
            };
            self.schedule(
                at,
                Action::ShipPallets {
                    ship,
                    pallets: part,
                },
            );
            at += self.between(DAY, 3 * DAY);
        }
    }

    fn receive_pallets(&mut self, now: i64, ship: Shipment, pallets: Vec<Pallet>) {
        let t = self.stamp(now);
        let mut m = self.head("ObjectEvent", t);
        let ssccs: Vec<String> = pallets.iter().map(|p| p.sscc.clone()).collect();
        m.insert("epcList".into(), Self::epc_list(&ssccs));
        m.insert("action".into(), Value::from("OBSERVE"));
        self.where_why(&mut m, "receiving", "in_progress", ship.to, ship.to_site);
        self.transfer(&mut m, &ship, &[("po", &ship.po), ("desadv", &ship.desadv)]);
        self.push(ship.to, m);
        let org = ship.to;
        if self.world.orgs[org].tier == Tier::Distributor {
            let (mut unpack, mut cross) = (Vec::new(), Vec::new());
            for p in pallets {
                if self.chance(0.2) {
                    cross.push(p)
                } else {
                    unpack.push(p)
                }
            }
            if !cross.is_empty() {
                let nr = self.retailers.len();
                let r = self.retailers[self.rng.random_range(0..nr)];
                let po = self.new_doc(r, "PO");
                let desadv = self.new_doc(org, "DESADV");
                let to_site = self.random_site(r);
                let s = Shipment {
                    from: org,
                    from_site: ship.to_site,
                    to: r,
                    to_site,
                    po,
                    desadv,
                };
                let at = t + self.between(2 * HOUR, 12 * HOUR);
                self.schedule(
                    at,
                    Action::ShipPallets {
                        ship: s,
                        pallets: cross,
                    },
                );
            }
            if !unpack.is_empty() {
                let at = t + self.between(HOUR, 12 * HOUR);
                self.schedule(
                    at,
                    Action::Unpack {
                        org,
                        site: ship.to_site,
                        from: ship.from,
                        pallets: unpack,
                    },
                );
            }
        } else {
            let at = t + self.between(HOUR, 8 * HOUR);
            self.schedule(
                at,
                Action::Unpack {
                    org,
                    site: ship.to_site,
                    from: ship.from,
                    pallets,
                },
            );
        }
    }

    fn unpack(&mut self, now: i64, org: usize, site: usize, from: usize, pallets: Vec<Pallet>) {
        let mut t = now;
        let retail = self.world.orgs[org].tier == Tier::Retailer;
        for p in pallets {
            t = self.stamp(t);
            let mut m = self.head("AggregationEvent", t);
            m.insert("parentID".into(), Value::from(p.sscc.as_str()));
            if self.chance(0.85) {
                m.insert("childEPCs".into(), Self::epc_list(&p.children));
            }
            m.insert("action".into(), Value::from("DELETE"));
            self.where_why(&mut m, "unpacking", "in_progress", org, site);
            self.push(org, m);
            t += self.between(20_000, 3 * 60_000);
            if !retail {
                self.loose[org].extend(p.children);
                continue;
            }
            // The supplying distributor (for returns): the shipper, or a random distributor
            // when the goods came straight from a manufacturer.
            let dist = if self.world.orgs[from].tier == Tier::Distributor {
                from
            } else {
                self.distributors[self.rng.random_range(0..self.distributors.len())]
            };
            let mut rest = p.children.as_slice();
            while !rest.is_empty() {
                let n = self.rng.random_range(1..=3).min(rest.len());
                let (group, tail) = rest.split_at(n);
                rest = tail;
                let roll = self.rng.random_range(0..100);
                let (fate, lo, hi) = match roll {
                    0..88 => (Fate::Sale, HOUR, 20 * DAY),
                    88..91 => (Fate::Destroy, DAY, 10 * DAY),
                    91..95 => (Fate::Return, DAY, 14 * DAY),
                    _ => continue, // stays on the shelf
                };
                let at = t + self.between(lo, hi);
                self.schedule(
                    at,
                    Action::Retail {
                        org,
                        site,
                        from: dist,
                        serials: group.to_vec(),
                        fate,
                    },
                );
            }
        }
    }

    fn retail(
        &mut self,
        now: i64,
        org: usize,
        site: usize,
        dist: usize,
        serials: Vec<String>,
        fate: Fate,
    ) {
        let t = self.stamp(now);
        let mut m = self.head("ObjectEvent", t);
        m.insert("epcList".into(), Self::epc_list(&serials));
        match fate {
            Fate::Sale => {
                m.insert("action".into(), Value::from("OBSERVE"));
                self.where_why(&mut m, "retail_selling", "retail_sold", org, site);
                self.push(org, m);
            }
            Fate::Destroy => {
                m.insert("action".into(), Value::from("DELETE"));
                self.where_why(&mut m, "destroying", "destroyed", org, site);
                self.push(org, m);
            }
            Fate::Return => {
                m.insert("action".into(), Value::from("OBSERVE"));
                self.where_why(&mut m, "shipping", "returned", org, site);
                let rma = self.new_doc(org, "RMA");
                let desadv = String::new();
                let ship = Shipment {
                    from: org,
                    from_site: site,
                    to: dist,
                    to_site: 0,
                    po: rma,
                    desadv,
                };
                self.transfer(&mut m, &ship, &[("rma", &ship.po)]);
                self.push(org, m);
                let at = t + self.between(DAY, 4 * DAY);
                self.schedule(at, Action::ReceiveReturn { ship, serials });
            }
        }
    }

    fn fulfil(&mut self, now: i64, org: usize) {
        let next = now + self.between(2 * HOUR, 4 * HOUR);
        self.schedule(next, Action::Fulfil { org });
        let orders = (1 + self.loose[org].len() / 300).min(8);
        let mut t = now;
        for _ in 0..orders {
            if self.loose[org].len() < 12 {
                break;
            }
            let n = self.rng.random_range(24..=96).min(self.loose[org].len());
            let children: Vec<String> = self.loose[org].drain(..n).collect();
            let sscc = self.new_sscc(org);
            t = self.stamp(t);
            self.aggregate_add(t, org, 0, &sscc, &children);
            let nr = self.retailers.len();
            let r = self.retailers[self.rng.random_range(0..nr)];
            let po = self.new_doc(r, "PO");
            let desadv = self.new_doc(org, "DESADV");
            let to_site = self.random_site(r);
            let ship = Shipment {
                from: org,
                from_site: 0,
                to: r,
                to_site,
                po,
                desadv,
            };
            let at = t + self.between(HOUR, 6 * HOUR);
            self.schedule(
                at,
                Action::ShipPallets {
                    ship,
                    pallets: vec![Pallet { sscc, children }],
                },
            );
            t += self.between(20_000, 3 * 60_000);
        }
    }
}

impl Iterator for Generator {
    type Item = (String, Value);

    fn next(&mut self) -> Option<(String, Value)> {
        if self.remaining == 0 {
            return None;
        }
        while self.out.is_empty() {
            let s = self.heap.pop()?;
            self.run(s.time, *s.action);
        }
        let (owner, event) = self.out.pop_front()?;
        self.remaining -= 1;
        Some((self.world.orgs[owner].id.clone(), event))
    }
}
