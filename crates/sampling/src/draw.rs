//! Verifiable "double random" draws (双随机): inspection targets drawn from a register, inspectors
//! drawn to inspect them, by a documented deterministic algorithm over a SHA-256 hash stream.
//!
//! Protocol (see `docs/sampling.md` for the exact byte layout):
//! 1. Before the draw, publish `commit(task)`: the hashes of the target register, the inspector
//!    register and the rules, a commitment SHA-256(seed) to a secret seed, and the beacon round
//!    (or lottery) whose future value will be used.
//! 2. When the beacon value is public, reveal the seed and call `run_draw(task, randomness)`.
//! 3. Anyone calls `verify(draw, published)`: it recomputes every hash and the whole draw and
//!    lists exactly what differs.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DrawError;
use crate::rfc3797;

/// Version tag of the selection algorithm; part of every hash.
pub const ALGORITHM: &str = "zhiliang-draw-v1";

/// Limits on outside input.
pub const TARGETS_MAX: usize = 50_000_000;
pub const INSPECTORS_MAX: usize = 10_000_000;
pub const LIST_MAX: usize = 1_000;
pub const ID_LEN_MAX: usize = 256;
pub const INSPECTORS_PER_TARGET_MAX: u32 = 16;
/// Parts per million: a sampling ratio of 3 % is 30_000.
pub const PPM: u64 = 1_000_000;
/// Consecutive rejected candidates before the fallback scan (see docs).
pub const REJECTIONS_BEFORE_SCAN: u32 = 64;

/// An inspection target (an enterprise, or one of its sites) in the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub id: String,
    pub organisation: String,
    #[serde(default)]
    pub products: Vec<String>,
    pub region: String,
    pub industry: String,
    pub risk_class: String,
}

/// An inspector (执法检查人员) in the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspector {
    pub id: String,
    pub region: String,
    /// Industries the inspector is qualified for.
    #[serde(default)]
    pub qualifications: Vec<String>,
    /// Organisations the inspector belongs to or works for.
    #[serde(default)]
    pub affiliations: Vec<String>,
    /// Declared conflicts: target ids or organisation ids.
    #[serde(default)]
    pub conflicts: Vec<String>,
}

/// Where an inspector may inspect relative to the target's region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionRule {
    Any,
    /// Only inspectors of the target's region (local supervision).
    SameRegion,
    /// Only inspectors from other regions (cross-region checks, 异地抽查).
    OtherRegion,
}

/// Which targets of the register are in the population. Empty lists mean "all".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub industries: Vec<String>,
    #[serde(default)]
    pub risk_classes: Vec<String>,
    /// Targets that make at least one of these products.
    #[serde(default)]
    pub products: Vec<String>,
}

impl Filter {
    fn admits(&self, t: &Target) -> bool {
        (self.regions.is_empty() || has(&self.regions, &t.region))
            && (self.industries.is_empty() || has(&self.industries, &t.industry))
            && (self.risk_classes.is_empty() || has(&self.risk_classes, &t.risk_class))
            && (self.products.is_empty() || t.products.iter().any(|p| has(&self.products, p)))
    }
}

/// The rules of a draw task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    #[serde(default)]
    pub filter: Filter,
    /// Sampling ratio per risk class in parts per million (A: 30000 = 3 %, D: 1000000 = 100 %).
    pub ratio_ppm: BTreeMap<String, u32>,
    /// Inspectors per target, at least 2.
    pub inspectors_per_target: u32,
    /// Most targets one inspector may be assigned in this draw.
    pub workload_cap: u32,
    pub region_rule: RegionRule,
    /// Inspectors must list the target's industry among their qualifications.
    pub require_qualification: bool,
}

/// Where the public randomness will come from (fixed at commitment time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BeaconSpec {
    /// A future drand round of the chain with this hash.
    Drand { chain_hash: String, round: u64 },
    /// Published lottery numbers, RFC 3797 style; `description` names the draws and dates.
    Rfc3797 { description: String },
}

/// The revealed beacon value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BeaconValue {
    /// drand round and its signature (hex); randomness = SHA-256(signature).
    Drand { round: u64, signature: String },
    /// The sources' numbers in the announced order; randomness = SHA-256(RFC 3797 key string).
    Rfc3797 { sources: Vec<Vec<u64>> },
}

/// A draw task: population, inspectors, rules, and what was committed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawTask {
    pub id: String,
    pub targets: Vec<Target>,
    pub inspectors: Vec<Inspector>,
    pub rules: Rules,
    /// Hex SHA-256 of the secret seed.
    pub seed_commitment: String,
    pub beacon: BeaconSpec,
}

/// What is published before the draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    pub algorithm: String,
    pub task_id: String,
    pub targets_hash: String,
    pub targets_count: u64,
    pub inspectors_hash: String,
    pub inspectors_count: u64,
    pub rules_hash: String,
    pub seed_commitment: String,
    pub beacon: BeaconSpec,
    /// SHA-256 over all fields above.
    pub commitment: String,
}

/// The randomness revealed after the commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Randomness {
    /// The secret seed, hex.
    pub seed: String,
    pub beacon: BeaconValue,
}

/// One drawn target and its inspectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub target_id: String,
    pub risk_class: String,
    pub inspectors: Vec<String>,
    /// Inspectors missing because not enough eligible ones were left (0 normally).
    #[serde(default)]
    pub shortfall: u32,
}

/// Per risk class: population and number drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stratum {
    pub risk_class: String,
    pub population: u64,
    pub drawn: u64,
}

/// Everything needed to re-derive the draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    pub algorithm: String,
    pub commitment: Commitment,
    pub randomness: Randomness,
    pub beacon_randomness: String,
    pub master: String,
    pub strata: Vec<Stratum>,
    pub selections_hash: String,
}

/// The result of a draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draw {
    pub task_id: String,
    pub selections: Vec<Selection>,
    pub proof: Proof,
}

/// The inputs a verifier holds: the commitment published before the draw, the task (registers
/// and rules) and the revealed randomness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub commitment: Commitment,
    pub task: DrawTask,
    pub randomness: Randomness,
}

/// One thing that differs between a draw and what the published inputs give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Difference {
    /// A commitment field recomputed from the task differs from the published commitment.
    Commitment {
        field: String,
        published: String,
        recomputed: String,
    },
    /// The revealed seed does not hash to the committed seed commitment.
    SeedCommitment {
        committed: String,
        revealed_hash: String,
    },
    /// The beacon value is not the committed round / kind.
    Beacon { committed: String, revealed: String },
    /// A field of the draw's proof differs from the published inputs.
    Proof {
        field: String,
        in_draw: String,
        published: String,
    },
    /// The number of selections differs.
    SelectionCount { in_draw: usize, rederived: usize },
    /// Position `position` holds another target.
    Target {
        position: usize,
        in_draw: String,
        rederived: String,
    },
    /// Same target, other inspectors.
    Inspectors {
        target_id: String,
        in_draw: Vec<String>,
        rederived: Vec<String>,
    },
    /// The draw breaks a rule.
    Rule {
        target_id: String,
        inspector_id: String,
        rule: String,
    },
    /// The task itself is invalid.
    Invalid { error: String },
}

/// String equality without a `memcmp` call for short strings (the draw compares millions of
/// short ids; the library call dominated profiles on the benchmark machine).
#[inline]
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && (a.as_ptr() == b.as_ptr()
            || if a.len() <= 32 {
                a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
            } else {
                a == b
            })
}

#[inline]
fn has(list: &[String], x: &str) -> bool {
    list.iter().any(|v| same(v, x))
}

// ----- canonical hashing -----

struct Enc(Sha256);

impl Enc {
    fn new(domain: &str) -> Self {
        let mut e = Enc(Sha256::new());
        e.str(ALGORITHM);
        e.str(domain);
        e
    }
    fn u64(&mut self, v: u64) {
        self.0.update(v.to_be_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.update(s.as_bytes());
    }
    fn list(&mut self, v: &[String]) {
        self.u64(v.len() as u64);
        for s in v {
            self.str(s);
        }
    }
    fn done(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

fn prefix_key(s: &str) -> u128 {
    let b = s.as_bytes();
    let mut k = [0u8; 16];
    let n = b.len().min(16);
    k[..n].copy_from_slice(&b[..n]);
    u128::from_be_bytes(k)
}

/// Indices of `v` ordered by `key` (byte order). Sorts (16-byte prefix, index) pairs and only
/// compares whole strings on equal prefixes: much faster than an indirect string sort.
fn sorted_indices<T>(v: &[T], key: impl Fn(&T) -> &str) -> Vec<u32> {
    let mut pairs: Vec<(u128, u32)> = v
        .iter()
        .enumerate()
        .map(|(i, x)| (prefix_key(key(x)), i as u32))
        .collect();
    pairs.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| key(&v[a.1 as usize]).cmp(key(&v[b.1 as usize])))
    });
    pairs.into_iter().map(|(_, i)| i).collect()
}

fn sorted_list(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

impl Enc {
    /// A list as a set: sorted and without duplicates.
    fn set(&mut self, v: &[String]) {
        if v.windows(2).all(|w| w[0] < w[1]) {
            self.list(v);
        } else {
            self.list(&sorted_list(v));
        }
    }
}

/// The canonical orders of both registers (by id), computed once per draw.
struct Order {
    targets: Vec<u32>,
    inspectors: Vec<u32>,
}

impl Order {
    fn of(task: &DrawTask) -> Order {
        Order {
            targets: sorted_indices(&task.targets, |t| &t.id),
            inspectors: sorted_indices(&task.inspectors, |s| &s.id),
        }
    }
}

/// Hash of the target register (order-independent: targets sorted by id, lists sorted).
pub fn targets_hash(targets: &[Target]) -> [u8; 32] {
    targets_hash_ordered(targets, &sorted_indices(targets, |t| &t.id))
}

fn targets_hash_ordered(targets: &[Target], order: &[u32]) -> [u8; 32] {
    let mut e = Enc::new("targets");
    e.u64(targets.len() as u64);
    for &i in order {
        let t = &targets[i as usize];
        e.str(&t.id);
        e.str(&t.organisation);
        e.set(&t.products);
        e.str(&t.region);
        e.str(&t.industry);
        e.str(&t.risk_class);
    }
    e.done()
}

/// Hash of the inspector register (order-independent).
pub fn inspectors_hash(inspectors: &[Inspector]) -> [u8; 32] {
    inspectors_hash_ordered(inspectors, &sorted_indices(inspectors, |s| &s.id))
}

fn inspectors_hash_ordered(inspectors: &[Inspector], order: &[u32]) -> [u8; 32] {
    let mut e = Enc::new("inspectors");
    e.u64(inspectors.len() as u64);
    for &i in order {
        let s = &inspectors[i as usize];
        e.str(&s.id);
        e.str(&s.region);
        e.set(&s.qualifications);
        e.set(&s.affiliations);
        e.set(&s.conflicts);
    }
    e.done()
}

/// Hash of the rules.
pub fn rules_hash(rules: &Rules) -> [u8; 32] {
    let mut e = Enc::new("rules");
    e.set(&rules.filter.regions);
    e.set(&rules.filter.industries);
    e.set(&rules.filter.risk_classes);
    e.set(&rules.filter.products);
    e.u64(rules.ratio_ppm.len() as u64);
    for (k, v) in &rules.ratio_ppm {
        e.str(k);
        e.u64(u64::from(*v));
    }
    e.u64(u64::from(rules.inspectors_per_target));
    e.u64(u64::from(rules.workload_cap));
    e.str(match rules.region_rule {
        RegionRule::Any => "any",
        RegionRule::SameRegion => "same_region",
        RegionRule::OtherRegion => "other_region",
    });
    e.u64(u64::from(rules.require_qualification));
    e.done()
}

fn beacon_spec_string(b: &BeaconSpec) -> String {
    match b {
        BeaconSpec::Drand { chain_hash, round } => format!("drand:{chain_hash}:{round}"),
        BeaconSpec::Rfc3797 { description } => format!("rfc3797:{description}"),
    }
}

/// SHA-256 commitment to a seed (hex in, hex out).
pub fn seed_commitment(seed_hex: &str) -> Result<String, DrawError> {
    let seed = hex::decode(seed_hex).map_err(|_| DrawError::invalid("seed", "hex"))?;
    if seed.len() < 16 || seed.len() > 1024 {
        return Err(DrawError::invalid("seed", "16 to 1024 bytes"));
    }
    let mut e = Enc::new("seed");
    e.u64(seed.len() as u64);
    e.0.update(&seed);
    Ok(hex::encode(e.done()))
}

fn check_id(field: &str, s: &str) -> Result<(), DrawError> {
    if s.is_empty() || s.len() > ID_LEN_MAX {
        return Err(DrawError::invalid(field, "1 to 256 bytes"));
    }
    Ok(())
}

fn check_list(field: &str, v: &[String]) -> Result<(), DrawError> {
    if v.len() > LIST_MAX {
        return Err(DrawError::invalid(field, "at most 1000 entries"));
    }
    v.iter().try_for_each(|s| check_id(field, s))
}

/// Validate a task (limits, unique ids, rules).
pub fn validate(task: &DrawTask) -> Result<(), DrawError> {
    validate_ordered(task, &Order::of(task))
}

fn validate_ordered(task: &DrawTask, order: &Order) -> Result<(), DrawError> {
    check_id("id", &task.id)?;
    if task.targets.len() > TARGETS_MAX {
        return Err(DrawError::invalid("targets", "at most 50,000,000 targets"));
    }
    if task.inspectors.len() > INSPECTORS_MAX {
        return Err(DrawError::invalid(
            "inspectors",
            "at most 10,000,000 inspectors",
        ));
    }
    for t in &task.targets {
        check_id("targets.id", &t.id)?;
        check_id("targets.organisation", &t.organisation)?;
        check_id("targets.region", &t.region)?;
        check_id("targets.industry", &t.industry)?;
        check_id("targets.risk_class", &t.risk_class)?;
        check_list("targets.products", &t.products)?;
    }
    for s in &task.inspectors {
        check_id("inspectors.id", &s.id)?;
        check_id("inspectors.region", &s.region)?;
        check_list("inspectors.qualifications", &s.qualifications)?;
        check_list("inspectors.affiliations", &s.affiliations)?;
        check_list("inspectors.conflicts", &s.conflicts)?;
    }
    let ti = &order.targets;
    if let Some(w) = ti.windows(2).find(|w| {
        same(
            &task.targets[w[0] as usize].id,
            &task.targets[w[1] as usize].id,
        )
    }) {
        return Err(DrawError::Duplicate {
            field: "targets.id",
            id: task.targets[w[0] as usize].id.clone(),
        });
    }
    let ii = &order.inspectors;
    if let Some(w) = ii.windows(2).find(|w| {
        same(
            &task.inspectors[w[0] as usize].id,
            &task.inspectors[w[1] as usize].id,
        )
    }) {
        return Err(DrawError::Duplicate {
            field: "inspectors.id",
            id: task.inspectors[w[0] as usize].id.clone(),
        });
    }
    let r = &task.rules;
    if r.inspectors_per_target < 2 || r.inspectors_per_target > INSPECTORS_PER_TARGET_MAX {
        return Err(DrawError::invalid(
            "rules.inspectors_per_target",
            "between 2 and 16",
        ));
    }
    if r.workload_cap == 0 {
        return Err(DrawError::invalid("rules.workload_cap", "at least 1"));
    }
    if r.ratio_ppm.is_empty() || r.ratio_ppm.len() > LIST_MAX {
        return Err(DrawError::invalid(
            "rules.ratio_ppm",
            "1 to 1000 risk classes",
        ));
    }
    for (k, v) in &r.ratio_ppm {
        check_id("rules.ratio_ppm", k)?;
        if u64::from(*v) > PPM {
            return Err(DrawError::invalid(
                format!("rules.ratio_ppm.{k}"),
                "at most 1000000 (100 %)",
            ));
        }
    }
    for t in task.targets.iter().filter(|t| r.filter.admits(t)) {
        if !r.ratio_ppm.contains_key(&t.risk_class) {
            return Err(DrawError::invalid(
                format!("rules.ratio_ppm.{}", t.risk_class),
                "a ratio for every risk class in the population",
            ));
        }
    }
    hex::decode(&task.seed_commitment)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| DrawError::invalid("seed_commitment", "64 hex digits"))?;
    Ok(())
}

/// The commitment to publish before the draw.
pub fn commit(task: &DrawTask) -> Result<Commitment, DrawError> {
    commit_ordered(task, &Order::of(task))
}

fn commit_ordered(task: &DrawTask, order: &Order) -> Result<Commitment, DrawError> {
    validate_ordered(task, order)?;
    let mut c = Commitment {
        algorithm: ALGORITHM.to_string(),
        task_id: task.id.clone(),
        targets_hash: hex::encode(targets_hash_ordered(&task.targets, &order.targets)),
        targets_count: task.targets.len() as u64,
        inspectors_hash: hex::encode(inspectors_hash_ordered(&task.inspectors, &order.inspectors)),
        inspectors_count: task.inspectors.len() as u64,
        rules_hash: hex::encode(rules_hash(&task.rules)),
        seed_commitment: task.seed_commitment.to_ascii_lowercase(),
        beacon: task.beacon.clone(),
        commitment: String::new(),
    };
    c.commitment = hex::encode(commitment_hash(&c));
    Ok(c)
}

fn commitment_hash(c: &Commitment) -> [u8; 32] {
    let mut e = Enc::new("commitment");
    e.str(&c.algorithm);
    e.str(&c.task_id);
    e.str(&c.targets_hash);
    e.u64(c.targets_count);
    e.str(&c.inspectors_hash);
    e.u64(c.inspectors_count);
    e.str(&c.rules_hash);
    e.str(&c.seed_commitment);
    e.str(&beacon_spec_string(&c.beacon));
    e.done()
}

/// 32 bytes of public randomness from a beacon value.
pub fn beacon_randomness(b: &BeaconValue) -> Result<[u8; 32], DrawError> {
    match b {
        BeaconValue::Drand { signature, .. } => {
            let sig = hex::decode(signature)
                .map_err(|_| DrawError::invalid("beacon.signature", "hex"))?;
            if sig.is_empty() || sig.len() > 1024 {
                return Err(DrawError::invalid("beacon.signature", "1 to 1024 bytes"));
            }
            Ok(rfc3797::drand_randomness(&sig))
        }
        BeaconValue::Rfc3797 { sources } => {
            let key = rfc3797::key(sources)?;
            Ok(Sha256::digest(key.as_bytes()).into())
        }
    }
}

fn beacon_matches(spec: &BeaconSpec, value: &BeaconValue) -> Result<(), (String, String)> {
    match (spec, value) {
        (BeaconSpec::Drand { round, .. }, BeaconValue::Drand { round: r, .. }) if round == r => {
            Ok(())
        }
        (BeaconSpec::Rfc3797 { .. }, BeaconValue::Rfc3797 { .. }) => Ok(()),
        (s, v) => Err((
            beacon_spec_string(s),
            match v {
                BeaconValue::Drand { round, .. } => format!("drand round {round}"),
                BeaconValue::Rfc3797 { .. } => "rfc3797 numbers".to_string(),
            },
        )),
    }
}

/// Master randomness: SHA-256 over the commitment, the beacon randomness and the seed.
pub fn master_randomness(
    commitment: &Commitment,
    beacon: &[u8; 32],
    seed_hex: &str,
) -> Result<[u8; 32], DrawError> {
    let seed = hex::decode(seed_hex).map_err(|_| DrawError::invalid("seed", "hex"))?;
    let mut e = Enc::new("master");
    e.str(&commitment.commitment);
    e.0.update(beacon);
    e.u64(seed.len() as u64);
    e.0.update(&seed);
    Ok(e.done())
}

/// A stream of 64-bit values: block i = SHA-256(master || len(label) || label || i), each block
/// read as four big-endian u64.
pub struct HashStream {
    master: [u8; 32],
    label: Vec<u8>,
    counter: u64,
    block: [u8; 32],
    pos: usize,
}

impl HashStream {
    pub fn new(master: &[u8; 32], label: &str) -> Self {
        HashStream {
            master: *master,
            label: label.as_bytes().to_vec(),
            counter: 0,
            block: [0; 32],
            pos: 32,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        if self.pos == 32 {
            let mut h = Sha256::new();
            h.update(self.master);
            h.update((self.label.len() as u64).to_be_bytes());
            h.update(&self.label);
            h.update(self.counter.to_be_bytes());
            self.block = h.finalize().into();
            self.counter += 1;
            self.pos = 0;
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.block[self.pos..self.pos + 8]);
        self.pos += 8;
        u64::from_be_bytes(b)
    }

    /// Uniform integer in [0, m) by rejection: values >= m * floor(2^64 / m) are skipped.
    pub fn below(&mut self, m: u64) -> u64 {
        assert!(m > 0, "below(0)");
        let limit = (u64::MAX / m) * m;
        loop {
            let x = self.next_u64();
            if x < limit {
                return x % m;
            }
        }
    }
}

fn ceil_ppm(n: u64, ppm: u32) -> u64 {
    (n * u64::from(ppm)).div_ceil(PPM)
}

struct Eligibility<'a> {
    task: &'a DrawTask,
    workload: Vec<u32>,
}

impl Eligibility<'_> {
    fn ok(&self, t: &Target, i: u32) -> bool {
        let s = &self.task.inspectors[i as usize];
        let r = &self.task.rules;
        self.workload[i as usize] < r.workload_cap && rule_violation(r, t, s).is_none()
    }
}

/// The first rule an (target, inspector) pair breaks, workload aside.
pub fn rule_violation(rules: &Rules, t: &Target, s: &Inspector) -> Option<&'static str> {
    if has(&s.affiliations, &t.organisation) {
        return Some("inspector affiliated with the target's organisation");
    }
    if s.conflicts
        .iter()
        .any(|c| same(c, &t.id) || same(c, &t.organisation))
    {
        return Some("inspector declared a conflict with the target");
    }
    match rules.region_rule {
        RegionRule::SameRegion if !same(&s.region, &t.region) => {
            return Some("region rule same_region");
        }
        RegionRule::OtherRegion if same(&s.region, &t.region) => {
            return Some("region rule other_region");
        }
        _ => {}
    }
    if rules.require_qualification && !has(&s.qualifications, &t.industry) {
        return Some("inspector not qualified for the target's industry");
    }
    None
}

/// Run the draw. Fails if the task is invalid, the seed does not match its commitment, or the
/// beacon value is not the committed one.
pub fn run_draw(task: &DrawTask, randomness: &Randomness) -> Result<Draw, DrawError> {
    let order = Order::of(task);
    let commitment = commit_ordered(task, &order)?;
    if seed_commitment(&randomness.seed)? != commitment.seed_commitment {
        return Err(DrawError::SeedMismatch);
    }
    if beacon_matches(&task.beacon, &randomness.beacon).is_err() {
        return Err(DrawError::invalid(
            "randomness.beacon",
            "the committed beacon kind and round",
        ));
    }
    let beacon = beacon_randomness(&randomness.beacon)?;
    let master = master_randomness(&commitment, &beacon, &randomness.seed)?;
    let (selections, strata, _) = select(task, &order, &master);
    let selections_hash = hex::encode(selections_digest(&selections));
    Ok(Draw {
        task_id: task.id.clone(),
        selections,
        proof: Proof {
            algorithm: ALGORITHM.to_string(),
            commitment,
            randomness: randomness.clone(),
            beacon_randomness: hex::encode(beacon),
            master: hex::encode(master),
            strata,
            selections_hash,
        },
    })
}

fn selections_digest(sel: &[Selection]) -> [u8; 32] {
    let mut e = Enc::new("selections");
    e.u64(sel.len() as u64);
    for s in sel {
        e.str(&s.target_id);
        e.str(&s.risk_class);
        e.list(&s.inspectors);
        e.u64(u64::from(s.shortfall));
    }
    e.done()
}

/// The selection algorithm proper (documented step by step in docs/sampling.md).
fn select(
    task: &DrawTask,
    order: &Order,
    master: &[u8; 32],
) -> (Vec<Selection>, Vec<Stratum>, Vec<u32>) {
    let rules = &task.rules;
    // Step 1: population = filtered targets, by risk class, each class sorted by id.
    let mut by_class: Vec<(&str, Vec<u32>)> = Vec::new();
    for &i in &order.targets {
        let t = &task.targets[i as usize];
        if rules.filter.admits(t) {
            let class = t.risk_class.as_str();
            match by_class.iter_mut().find(|(c, _)| same(c, class)) {
                Some((_, v)) => v.push(i),
                None => by_class.push((class, vec![i])),
            }
        }
    }
    // Step 2: per class, k = ceil(N * ratio), partial Fisher-Yates over the sorted list.
    let mut drawn: Vec<u32> = Vec::new();
    let mut strata = Vec::new();
    by_class.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (class, mut idx) in by_class {
        let n = idx.len() as u64;
        let k = ceil_ppm(n, rules.ratio_ppm.get(class).copied().unwrap_or(0)).min(n);
        let mut stream = HashStream::new(master, &format!("targets/{class}"));
        for i in 0..k {
            let j = i + stream.below(n - i);
            idx.swap(i as usize, j as usize);
        }
        drawn.extend_from_slice(&idx[..k as usize]);
        strata.push(Stratum {
            risk_class: class.to_string(),
            population: n,
            drawn: k,
        });
    }
    // Step 3: inspectors. Candidate lists sorted by inspector id, per industry (when
    // qualification is required) and per region (same_region rule).
    let ins_sorted = &order.inspectors;
    let mut pools: HashMap<(Option<&str>, Option<&str>), Vec<u32>> = HashMap::new();
    let by_industry = rules.require_qualification;
    let by_region = rules.region_rule == RegionRule::SameRegion;
    for &i in ins_sorted {
        let s = &task.inspectors[i as usize];
        let regions: Vec<Option<&str>> = if by_region {
            vec![Some(s.region.as_str())]
        } else {
            vec![None]
        };
        let mut inds: Vec<Option<&str>> = if by_industry {
            s.qualifications.iter().map(|q| Some(q.as_str())).collect()
        } else {
            vec![None]
        };
        inds.sort_unstable();
        inds.dedup();
        for r in &regions {
            for ind in &inds {
                pools.entry((*ind, *r)).or_default().push(i);
            }
        }
    }
    let mut elig = Eligibility {
        task,
        workload: vec![0; task.inspectors.len()],
    };
    let mut stream = HashStream::new(master, "inspectors");
    let empty: Vec<u32> = Vec::new();
    let mut out = Vec::with_capacity(drawn.len());
    for &ti in &drawn {
        let t = &task.targets[ti as usize];
        let key = (
            by_industry.then_some(t.industry.as_str()),
            by_region.then_some(t.region.as_str()),
        );
        let pool = pools.get(&key).unwrap_or(&empty);
        let mut chosen: Vec<u32> = Vec::with_capacity(rules.inspectors_per_target as usize);
        while (chosen.len() as u32) < rules.inspectors_per_target && !pool.is_empty() {
            let mut picked = None;
            for _ in 0..REJECTIONS_BEFORE_SCAN {
                let c = pool[stream.below(pool.len() as u64) as usize];
                if !chosen.contains(&c) && elig.ok(t, c) {
                    picked = Some(c);
                    break;
                }
            }
            if picked.is_none() {
                let e: Vec<u32> = pool
                    .iter()
                    .copied()
                    .filter(|c| !chosen.contains(c) && elig.ok(t, *c))
                    .collect();
                if e.is_empty() {
                    break;
                }
                picked = Some(e[stream.below(e.len() as u64) as usize]);
            }
            if let Some(c) = picked {
                elig.workload[c as usize] += 1;
                chosen.push(c);
            }
        }
        let shortfall = rules.inspectors_per_target - chosen.len() as u32;
        out.push(Selection {
            target_id: t.id.clone(),
            risk_class: t.risk_class.clone(),
            inspectors: chosen
                .iter()
                .map(|&c| task.inspectors[c as usize].id.clone())
                .collect(),
            shortfall,
        });
    }
    (out, strata, drawn)
}

/// Check a draw's selections against the rules of the task (duplicates, conflicts, affiliation,
/// region, qualification, workload cap, inspectors per target).
pub fn check_rules(task: &DrawTask, selections: &[Selection]) -> Vec<Difference> {
    let order = Order::of(task);
    let idx: Vec<Option<u32>> = selections
        .iter()
        .map(|s| find_target(task, &order, &s.target_id))
        .collect();
    check_rules_indexed(task, selections, &idx)
}

/// Index of the target with this id, by binary search over the canonical order.
fn find_target(task: &DrawTask, order: &Order, id: &str) -> Option<u32> {
    order
        .targets
        .binary_search_by(|&i| task.targets[i as usize].id.as_str().cmp(id))
        .ok()
        .map(|p| order.targets[p])
}

/// `check_rules` with the targets already resolved to indices (`None`: not in the register).
fn check_rules_indexed(
    task: &DrawTask,
    selections: &[Selection],
    target_idx: &[Option<u32>],
) -> Vec<Difference> {
    let mut out = Vec::new();
    let inspectors: HashMap<&str, u32> = task
        .inspectors
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i as u32))
        .collect();
    let mut load = vec![0u32; task.inspectors.len()];
    let mut drawn = vec![false; task.targets.len()];
    for (sel, ti) in selections.iter().zip(target_idx) {
        let rule = |inspector_id: &str, rule: &str| Difference::Rule {
            target_id: sel.target_id.clone(),
            inspector_id: inspector_id.to_string(),
            rule: rule.to_string(),
        };
        let Some(ti) = *ti else {
            out.push(rule("", "target not in the register"));
            continue;
        };
        let t = &task.targets[ti as usize];
        if std::mem::replace(&mut drawn[ti as usize], true) {
            out.push(rule("", "target drawn twice"));
        }
        if !task.rules.filter.admits(t) {
            out.push(rule("", "target outside the population filter"));
        }
        if sel.inspectors.len() as u32 + sel.shortfall != task.rules.inspectors_per_target {
            out.push(rule("", "inspectors per target"));
        }
        for (k, id) in sel.inspectors.iter().enumerate() {
            if sel.inspectors[..k].iter().any(|x| same(x, id)) {
                out.push(rule(id, "inspector assigned twice to one target"));
            }
            let Some(&si) = inspectors.get(id.as_str()) else {
                out.push(rule(id, "inspector not in the register"));
                continue;
            };
            if let Some(v) = rule_violation(&task.rules, t, &task.inspectors[si as usize]) {
                out.push(rule(id, v));
            }
            let l = &mut load[si as usize];
            *l += 1;
            if *l == task.rules.workload_cap + 1 {
                out.push(rule(id, "workload cap exceeded"));
            }
        }
    }
    out
}

/// Verify a draw against the published inputs. `Ok(())` or every difference found.
pub fn verify(draw: &Draw, published: &Published) -> Result<(), Vec<Difference>> {
    let mut diffs = Vec::new();
    let order = Order::of(&published.task);
    let recomputed = match commit_ordered(&published.task, &order) {
        Ok(c) => c,
        Err(e) => {
            return Err(vec![Difference::Invalid {
                error: e.to_string(),
            }]);
        }
    };
    let pc = &published.commitment;
    let mut cmp = |field: &str, published: String, recomputed: String| {
        if published != recomputed {
            diffs.push(Difference::Commitment {
                field: field.to_string(),
                published,
                recomputed,
            });
        }
    };
    cmp(
        "algorithm",
        pc.algorithm.clone(),
        recomputed.algorithm.clone(),
    );
    cmp("task_id", pc.task_id.clone(), recomputed.task_id.clone());
    cmp(
        "targets_hash",
        pc.targets_hash.clone(),
        recomputed.targets_hash.clone(),
    );
    cmp(
        "targets_count",
        pc.targets_count.to_string(),
        recomputed.targets_count.to_string(),
    );
    cmp(
        "inspectors_hash",
        pc.inspectors_hash.clone(),
        recomputed.inspectors_hash.clone(),
    );
    cmp(
        "inspectors_count",
        pc.inspectors_count.to_string(),
        recomputed.inspectors_count.to_string(),
    );
    cmp(
        "rules_hash",
        pc.rules_hash.clone(),
        recomputed.rules_hash.clone(),
    );
    cmp(
        "seed_commitment",
        pc.seed_commitment.clone(),
        recomputed.seed_commitment.clone(),
    );
    cmp(
        "beacon",
        beacon_spec_string(&pc.beacon),
        beacon_spec_string(&recomputed.beacon),
    );
    cmp(
        "commitment",
        pc.commitment.clone(),
        hex::encode(commitment_hash(pc)),
    );
    // The seed must open the commitment that was published.
    let rand = &published.randomness;
    match seed_commitment(&rand.seed) {
        Ok(h) if h == pc.seed_commitment => {}
        Ok(h) => diffs.push(Difference::SeedCommitment {
            committed: pc.seed_commitment.clone(),
            revealed_hash: h,
        }),
        Err(e) => diffs.push(Difference::Invalid {
            error: e.to_string(),
        }),
    }
    if let Err((committed, revealed)) = beacon_matches(&pc.beacon, &rand.beacon) {
        diffs.push(Difference::Beacon {
            committed,
            revealed,
        });
    }
    // The draw's own proof must carry the published commitment and randomness.
    let proof = &draw.proof;
    let mut pf = |field: &str, in_draw: String, published: String| {
        if in_draw != published {
            diffs.push(Difference::Proof {
                field: field.to_string(),
                in_draw,
                published,
            });
        }
    };
    pf("task_id", draw.task_id.clone(), published.task.id.clone());
    pf("algorithm", proof.algorithm.clone(), ALGORITHM.to_string());
    pf(
        "commitment",
        proof.commitment.commitment.clone(),
        pc.commitment.clone(),
    );
    pf(
        "commitment.targets_hash",
        proof.commitment.targets_hash.clone(),
        pc.targets_hash.clone(),
    );
    pf(
        "commitment.inspectors_hash",
        proof.commitment.inspectors_hash.clone(),
        pc.inspectors_hash.clone(),
    );
    pf(
        "commitment.rules_hash",
        proof.commitment.rules_hash.clone(),
        pc.rules_hash.clone(),
    );
    pf(
        "randomness.seed",
        proof.randomness.seed.clone(),
        rand.seed.clone(),
    );
    pf(
        "randomness.beacon",
        serde_json::to_string(&proof.randomness.beacon).unwrap_or_default(),
        serde_json::to_string(&rand.beacon).unwrap_or_default(),
    );
    // Re-derive the draw from the published task and randomness, with the published commitment.
    let mut rederived: Vec<Selection> = Vec::new();
    let mut rederived_idx: Vec<u32> = Vec::new();
    let beacon = beacon_randomness(&rand.beacon);
    let master = beacon
        .as_ref()
        .ok()
        .and_then(|b| master_randomness(pc, b, &rand.seed).ok());
    match (beacon, master) {
        (Ok(b), Some(m)) => {
            pf(
                "beacon_randomness",
                proof.beacon_randomness.clone(),
                hex::encode(b),
            );
            pf("master", proof.master.clone(), hex::encode(m));
            let (sel, strata, sel_idx) = select(&published.task, &order, &m);
            rederived_idx = sel_idx;
            pf(
                "strata",
                serde_json::to_string(&proof.strata).unwrap_or_default(),
                serde_json::to_string(&strata).unwrap_or_default(),
            );
            pf(
                "selections_hash",
                proof.selections_hash.clone(),
                hex::encode(selections_digest(&draw.selections)),
            );
            if sel.len() != draw.selections.len() {
                diffs.push(Difference::SelectionCount {
                    in_draw: draw.selections.len(),
                    rederived: sel.len(),
                });
            }
            for (i, (a, b)) in draw.selections.iter().zip(&sel).enumerate() {
                if a.target_id != b.target_id {
                    diffs.push(Difference::Target {
                        position: i,
                        in_draw: a.target_id.clone(),
                        rederived: b.target_id.clone(),
                    });
                } else if a.inspectors != b.inspectors || a.shortfall != b.shortfall {
                    diffs.push(Difference::Inspectors {
                        target_id: a.target_id.clone(),
                        in_draw: a.inspectors.clone(),
                        rederived: b.inspectors.clone(),
                    });
                }
            }
            rederived = sel;
        }
        (Err(e), _) => diffs.push(Difference::Invalid {
            error: e.to_string(),
        }),
        (Ok(_), None) => diffs.push(Difference::Invalid {
            error: "seed: hex".to_string(),
        }),
    }
    // Rule checks on the draw as given; positions that match the re-derived draw reuse its indices.
    let idx: Vec<Option<u32>> = draw
        .selections
        .iter()
        .enumerate()
        .map(|(i, s)| match (rederived.get(i), rederived_idx.get(i)) {
            (Some(r), Some(&ti)) if same(&r.target_id, &s.target_id) => Some(ti),
            _ => find_target(&published.task, &order, &s.target_id),
        })
        .collect();
    diffs.extend(check_rules_indexed(&published.task, &draw.selections, &idx));
    if diffs.is_empty() { Ok(()) } else { Err(diffs) }
}
