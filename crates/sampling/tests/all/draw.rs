//! Double-random draws: determinism against a plain re-implementation of the documented
//! algorithm, verification catching every kind of tampering, and rule properties over random
//! registers.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use sha2::{Digest, Sha256};

use sampling::draw::{
    self, BeaconSpec, BeaconValue, Difference, DrawTask, Filter, Inspector, Published, Randomness,
    RegionRule, Rules, Target,
};

use crate::read;

const SEED: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// A small deterministic generator for test registers (xorshift).
struct Gen(u64);
impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

const REGIONS: [&str; 3] = ["310000", "320000", "330000"];
const INDUSTRIES: [&str; 3] = ["food", "toys", "electrical"];
const CLASSES: [&str; 4] = ["A", "B", "C", "D"];

fn registers(seed: u64, targets: usize, inspectors: usize) -> (Vec<Target>, Vec<Inspector>) {
    let mut g = Gen(seed | 1);
    let ts = (0..targets)
        .map(|i| Target {
            id: format!("T{i:05}"),
            organisation: format!("ORG{}", g.next() % (targets as u64 / 2 + 1)),
            products: vec![format!("P{}", g.next() % 5)],
            region: g.pick(&REGIONS).to_string(),
            industry: g.pick(&INDUSTRIES).to_string(),
            risk_class: g.pick(&CLASSES).to_string(),
        })
        .collect();
    let is = (0..inspectors)
        .map(|i| {
            let mut quals = vec![g.pick(&INDUSTRIES).to_string()];
            if g.next().is_multiple_of(2) {
                quals.push(g.pick(&INDUSTRIES).to_string());
            }
            Inspector {
                id: format!("I{i:04}"),
                region: g.pick(&REGIONS).to_string(),
                qualifications: quals,
                affiliations: vec![format!("ORG{}", g.next() % (targets as u64 / 2 + 1))],
                conflicts: if g.next().is_multiple_of(3) {
                    vec![format!("T{:05}", g.next() % targets.max(1) as u64)]
                } else {
                    vec![]
                },
            }
        })
        .collect();
    (ts, is)
}

fn rules(region_rule: RegionRule, cap: u32) -> Rules {
    Rules {
        filter: Filter::default(),
        ratio_ppm: [
            ("A", 30_000),
            ("B", 100_000),
            ("C", 300_000),
            ("D", 1_000_000),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        inspectors_per_target: 2,
        workload_cap: cap,
        region_rule,
        require_qualification: true,
    }
}

fn drand_round(round: u64) -> (BeaconSpec, BeaconValue) {
    let rows = read("drand_vectors.csv");
    let v: BTreeMap<String, String> = rows
        .iter()
        .map(|r| (r["field"].clone(), r["value"].clone()))
        .collect();
    (
        BeaconSpec::Drand {
            chain_hash: v["chain_hash"].clone(),
            round,
        },
        BeaconValue::Drand {
            round,
            signature: v["round1_signature"].clone(),
        },
    )
}

fn task(
    targets: usize,
    inspectors: usize,
    region_rule: RegionRule,
    cap: u32,
) -> (DrawTask, Randomness) {
    let (ts, is) = registers(42, targets, inspectors);
    let (spec, value) = drand_round(1);
    let t = DrawTask {
        id: "2026-Q1-food".into(),
        targets: ts,
        inspectors: is,
        rules: rules(region_rule, cap),
        seed_commitment: draw::seed_commitment(SEED).unwrap(),
        beacon: spec,
    };
    (
        t,
        Randomness {
            seed: SEED.into(),
            beacon: value,
        },
    )
}

// ----- a plain re-implementation of the documented target selection -----

fn naive_u64s(master: &[u8; 32], label: &str, count: usize) -> Vec<u64> {
    let mut out = Vec::new();
    let mut i: u64 = 0;
    while out.len() < count {
        let mut h = Sha256::new();
        h.update(master);
        h.update((label.len() as u64).to_be_bytes());
        h.update(label.as_bytes());
        h.update(i.to_be_bytes());
        let block = h.finalize();
        for c in block.chunks(8) {
            out.push(u64::from_be_bytes(c.try_into().unwrap()));
        }
        i += 1;
    }
    out
}

fn naive_targets(task: &DrawTask, master: &[u8; 32]) -> Vec<String> {
    let mut classes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in &task.targets {
        classes.entry(&t.risk_class).or_default().push(&t.id);
    }
    let mut out = Vec::new();
    for (class, mut ids) in classes {
        ids.sort();
        let n = ids.len() as u64;
        let ppm = u64::from(task.rules.ratio_ppm[class]);
        let k = (n * ppm).div_ceil(1_000_000);
        let stream = naive_u64s(master, &format!("targets/{class}"), 10 * k as usize + 64);
        let mut s = stream.into_iter();
        for i in 0..k {
            let m = n - i;
            let limit = (u64::MAX / m) * m;
            let j = loop {
                let x = s.next().unwrap();
                if x < limit {
                    break i + x % m;
                }
            };
            ids.swap(i as usize, j as usize);
        }
        out.extend(ids[..k as usize].iter().map(|s| s.to_string()));
    }
    out
}

#[test]
fn target_selection_equals_plain_reimplementation() {
    let (t, r) = task(2000, 120, RegionRule::Any, 50);
    let d = draw::run_draw(&t, &r).unwrap();
    let master: [u8; 32] = hex::decode(&d.proof.master).unwrap().try_into().unwrap();
    let got: Vec<String> = d.selections.iter().map(|s| s.target_id.clone()).collect();
    assert_eq!(got, naive_targets(&t, &master));
    // master = SHA-256 over the documented fields
    let c = draw::commit(&t).unwrap();
    let beacon = draw::beacon_randomness(&r.beacon).unwrap();
    assert_eq!(draw::master_randomness(&c, &beacon, SEED).unwrap(), master);
}

#[test]
fn same_inputs_same_draw_and_order_independent_registers() {
    let (t, r) = task(1500, 100, RegionRule::SameRegion, 40);
    let a = draw::run_draw(&t, &r).unwrap();
    let b = draw::run_draw(&t, &r).unwrap();
    assert_eq!(a, b);
    let mut shuffled = t.clone();
    shuffled.targets.reverse();
    shuffled.inspectors.reverse();
    let c = draw::run_draw(&shuffled, &r).unwrap();
    assert_eq!(a.selections, c.selections);
    assert_eq!(a.proof.commitment, c.proof.commitment);
    // JSON round trip keeps the draw verifiable.
    let json = serde_json::to_string(&a).unwrap();
    let back: draw::Draw = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
}

#[test]
fn strata_sizes_follow_published_credit_ratios() {
    // Henan 2020 ratios (100 %, 20 %, 8 %, 4 %, 1 %) from the reference file.
    let rows = read("credit_risk_sampling_ratio_examples.csv");
    let henan: Vec<(String, u32)> = rows
        .iter()
        .filter(|r| r["jurisdiction"] == "Henan provincial SAMR" && r["year"] == "2020")
        .map(|r| {
            let pct: f64 = r["sampling_ratio"].trim_end_matches('%').parse().unwrap();
            (r["risk_class"].clone(), (pct * 10_000.0).round() as u32)
        })
        .collect();
    assert_eq!(henan.len(), 5);
    let (mut t, r) = task(3000, 400, RegionRule::Any, 1000);
    let names: Vec<&str> = henan.iter().map(|(k, _)| k.as_str()).collect();
    for (i, tg) in t.targets.iter_mut().enumerate() {
        tg.risk_class = names[i % names.len()].to_string();
    }
    t.rules.ratio_ppm = henan.iter().cloned().collect();
    let d = draw::run_draw(&t, &r).unwrap();
    for s in &d.proof.strata {
        let ppm = t.rules.ratio_ppm[&s.risk_class] as u64;
        assert_eq!(s.population, 600);
        assert_eq!(s.drawn, (600 * ppm).div_ceil(1_000_000), "{}", s.risk_class);
        let n = d
            .selections
            .iter()
            .filter(|x| x.risk_class == s.risk_class)
            .count() as u64;
        assert_eq!(n, s.drawn);
    }
}

fn published(t: &DrawTask, r: &Randomness) -> Published {
    Published {
        commitment: draw::commit(t).unwrap(),
        task: t.clone(),
        randomness: r.clone(),
    }
}

fn kinds(diffs: &[Difference]) -> Vec<String> {
    diffs
        .iter()
        .map(|d| match d {
            Difference::Commitment { field, .. } => format!("commitment.{field}"),
            Difference::Proof { field, .. } => format!("proof.{field}"),
            other => serde_json::to_value(other).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string(),
        })
        .collect()
}

#[test]
fn verify_accepts_the_honest_draw() {
    let (t, r) = task(1000, 80, RegionRule::Any, 30);
    let d = draw::run_draw(&t, &r).unwrap();
    assert_eq!(draw::verify(&d, &published(&t, &r)), Ok(()));
}

#[test]
fn verify_catches_population_change_after_commitment() {
    let (t, r) = task(1000, 80, RegionRule::Any, 30);
    let p = published(&t, &r);
    let d = draw::run_draw(&t, &r).unwrap();
    // (a) a target removed, (b) one target's risk class changed, (c) a target added
    let mut removed = p.clone();
    removed.task.targets.remove(17);
    let mut reclassed = p.clone();
    reclassed.task.targets[3].risk_class = if t.targets[3].risk_class == "D" {
        "A".into()
    } else {
        "D".into()
    };
    let mut added = p.clone();
    added.task.targets.push(Target {
        id: "T99999".into(),
        ..t.targets[0].clone()
    });
    for (name, bad) in [
        ("removed", removed),
        ("reclassed", reclassed),
        ("added", added),
    ] {
        let k = kinds(&draw::verify(&d, &bad).unwrap_err());
        assert!(
            k.contains(&"commitment.targets_hash".to_string()),
            "{name}: {k:?}"
        );
    }
    // The party running the draw on a changed population is caught too.
    let mut t2 = t.clone();
    t2.targets.remove(5);
    let d2 = draw::run_draw(&t2, &r).unwrap();
    let k = kinds(&draw::verify(&d2, &p).unwrap_err());
    assert!(
        k.contains(&"proof.commitment.targets_hash".to_string()),
        "{k:?}"
    );
}

#[test]
fn verify_catches_inspector_register_and_rules_changes() {
    let (t, r) = task(1000, 80, RegionRule::Any, 30);
    let p = published(&t, &r);
    let d = draw::run_draw(&t, &r).unwrap();
    let mut ins = p.clone();
    ins.task.inspectors[0].conflicts.push("T00001".into());
    let k = kinds(&draw::verify(&d, &ins).unwrap_err());
    assert!(
        k.contains(&"commitment.inspectors_hash".to_string()),
        "{k:?}"
    );
    let mut ratio = p.clone();
    ratio.task.rules.ratio_ppm.insert("A".into(), 50_000);
    let k = kinds(&draw::verify(&d, &ratio).unwrap_err());
    assert!(k.contains(&"commitment.rules_hash".to_string()), "{k:?}");
    let mut cap = p.clone();
    cap.task.rules.workload_cap = 31;
    let k = kinds(&draw::verify(&d, &cap).unwrap_err());
    assert!(k.contains(&"commitment.rules_hash".to_string()), "{k:?}");
    // A draw run under other rules than committed is caught.
    let mut t3 = t.clone();
    t3.rules.region_rule = RegionRule::OtherRegion;
    let d3 = draw::run_draw(&t3, &r).unwrap();
    let k = kinds(&draw::verify(&d3, &p).unwrap_err());
    assert!(
        k.contains(&"proof.commitment.rules_hash".to_string()),
        "{k:?}"
    );
}

#[test]
fn verify_catches_randomness_changes() {
    let (t, r) = task(1000, 80, RegionRule::Any, 30);
    let p = published(&t, &r);
    let d = draw::run_draw(&t, &r).unwrap();
    // Another beacon signature for the same round: the draw no longer re-derives.
    let mut other = p.clone();
    if let BeaconValue::Drand { signature, .. } = &mut other.randomness.beacon {
        let mut b = hex::decode(&*signature).unwrap();
        b[0] ^= 1;
        *signature = hex::encode(b);
    }
    let k = kinds(&draw::verify(&d, &other).unwrap_err());
    for want in [
        "proof.randomness.beacon",
        "proof.beacon_randomness",
        "proof.master",
    ] {
        assert!(k.contains(&want.to_string()), "{want}: {k:?}");
    }
    assert!(
        k.iter().any(|x| x == "target" || x == "inspectors"),
        "{k:?}"
    );
    // Another round than committed.
    let mut round = p.clone();
    if let BeaconValue::Drand { round: rd, .. } = &mut round.randomness.beacon {
        *rd = 2;
    }
    let k = kinds(&draw::verify(&d, &round).unwrap_err());
    assert!(k.contains(&"beacon".to_string()), "{k:?}");
    // A seed that does not open the commitment.
    let mut seed = p.clone();
    seed.randomness.seed = SEED.replace("00", "01");
    let k = kinds(&draw::verify(&d, &seed).unwrap_err());
    assert!(k.contains(&"seed_commitment".to_string()), "{k:?}");
    // ... and run_draw refuses it outright.
    assert!(draw::run_draw(&t, &seed.randomness).is_err());
    // RFC 3797 numbers instead of drand: kind differs from the committed beacon.
    let mut lottery = p.clone();
    lottery.randomness.beacon = BeaconValue::Rfc3797 {
        sources: vec![vec![1, 2, 3]],
    };
    let k = kinds(&draw::verify(&d, &lottery).unwrap_err());
    assert!(k.contains(&"beacon".to_string()), "{k:?}");
}

#[test]
fn verify_names_edited_selections() {
    let (t, r) = task(1000, 80, RegionRule::Any, 30);
    let p = published(&t, &r);
    let d = draw::run_draw(&t, &r).unwrap();
    // A target swapped for one that was not drawn.
    let mut swapped = d.clone();
    let drawn: std::collections::HashSet<&str> =
        d.selections.iter().map(|s| s.target_id.as_str()).collect();
    let other = t
        .targets
        .iter()
        .find(|x| !drawn.contains(x.id.as_str()))
        .unwrap();
    swapped.selections[0].target_id = other.id.clone();
    let e = draw::verify(&swapped, &p).unwrap_err();
    assert!(
        e.iter()
            .any(|x| matches!(x, Difference::Target { position: 0, .. })),
        "{e:?}"
    );
    // An inspector replaced: named with the target.
    let mut ins = d.clone();
    let tid = ins.selections[1].target_id.clone();
    ins.selections[1].inspectors[0] = t
        .inspectors
        .iter()
        .map(|i| i.id.clone())
        .find(|i| !ins.selections[1].inspectors.contains(i))
        .unwrap();
    let e = draw::verify(&ins, &p).unwrap_err();
    assert!(
        e.iter()
            .any(|x| matches!(x, Difference::Inspectors { target_id, .. } if *target_id == tid)),
        "{e:?}"
    );
    // A selection dropped.
    let mut dropped = d.clone();
    dropped.selections.pop();
    let e = draw::verify(&dropped, &p).unwrap_err();
    assert!(
        e.iter()
            .any(|x| matches!(x, Difference::SelectionCount { .. })),
        "{e:?}"
    );
}

#[test]
fn rfc3797_numbers_as_beacon() {
    let (mut t, _) = task(500, 60, RegionRule::Any, 30);
    t.beacon = BeaconSpec::Rfc3797 {
        description: "lottery draws of 2026-01-05".into(),
    };
    let rows = read("rfc3797_nomcom_vectors.csv");
    let sources = sampling::rfc3797::parse_key(&rows[0]["key"]).unwrap();
    let r = Randomness {
        seed: SEED.into(),
        beacon: BeaconValue::Rfc3797 { sources },
    };
    let d = draw::run_draw(&t, &r).unwrap();
    assert_eq!(draw::verify(&d, &published(&t, &r)), Ok(()));
    let key =
        sampling::rfc3797::key(&sampling::rfc3797::parse_key(&rows[0]["key"]).unwrap()).unwrap();
    assert_eq!(
        d.proof.beacon_randomness,
        hex::encode(Sha256::digest(key.as_bytes()))
    );
}

#[test]
fn invalid_tasks_name_the_field() {
    let (mut t, r) = task(100, 10, RegionRule::Any, 30);
    t.rules.inspectors_per_target = 1;
    let e = draw::run_draw(&t, &r).unwrap_err().to_string();
    assert!(e.starts_with("rules.inspectors_per_target"), "{e}");
    let (mut t, r) = task(100, 10, RegionRule::Any, 30);
    t.targets[1].id = t.targets[0].id.clone();
    assert!(
        draw::run_draw(&t, &r)
            .unwrap_err()
            .to_string()
            .starts_with("targets.id")
    );
    let (mut t, r) = task(100, 10, RegionRule::Any, 30);
    t.rules.ratio_ppm.remove("B");
    assert!(
        draw::run_draw(&t, &r)
            .unwrap_err()
            .to_string()
            .starts_with("rules.ratio_ppm.B")
    );
}

/// Naive rule checks, written independently of `draw::check_rules`.
fn assert_rules_hold(t: &DrawTask, d: &draw::Draw) {
    let ins: HashMap<&str, &Inspector> = t.inspectors.iter().map(|i| (i.id.as_str(), i)).collect();
    let tg: HashMap<&str, &Target> = t.targets.iter().map(|x| (x.id.as_str(), x)).collect();
    let mut load: HashMap<&str, u32> = HashMap::new();
    for s in &d.selections {
        let target = tg[s.target_id.as_str()];
        assert_eq!(
            s.inspectors.len() as u32 + s.shortfall,
            t.rules.inspectors_per_target
        );
        let mut uniq = s.inspectors.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), s.inspectors.len(), "distinct inspectors");
        for id in &s.inspectors {
            let i = ins[id.as_str()];
            assert!(
                !i.affiliations.contains(&target.organisation),
                "affiliation {id} -> {}",
                target.id
            );
            assert!(
                !i.conflicts.contains(&target.id) && !i.conflicts.contains(&target.organisation),
                "conflict"
            );
            match t.rules.region_rule {
                RegionRule::SameRegion => assert_eq!(i.region, target.region),
                RegionRule::OtherRegion => assert_ne!(i.region, target.region),
                RegionRule::Any => {}
            }
            assert!(i.qualifications.contains(&target.industry), "qualification");
            *load.entry(id.as_str()).or_default() += 1;
        }
    }
    for (id, l) in load {
        assert!(l <= t.rules.workload_cap, "workload of {id}: {l}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn conflict_and_workload_rules_never_broken(
        seed in any::<u64>(),
        targets in 1usize..400,
        inspectors in 2usize..60,
        cap in 1u32..12,
        rule in 0u8..3,
        beacon_byte in any::<u8>(),
    ) {
        let (ts, is) = registers(seed, targets, inspectors);
        let region_rule = [RegionRule::Any, RegionRule::SameRegion, RegionRule::OtherRegion][rule as usize];
        let (spec, mut value) = drand_round(1);
        if let BeaconValue::Drand { signature, .. } = &mut value {
            let mut b = hex::decode(&*signature).unwrap();
            b[5] = beacon_byte;
            *signature = hex::encode(b);
        }
        let t = DrawTask {
            id: "prop".into(),
            targets: ts,
            inspectors: is,
            rules: rules(region_rule, cap),
            seed_commitment: draw::seed_commitment(SEED).unwrap(),
            beacon: spec,
        };
        let r = Randomness { seed: SEED.into(), beacon: value };
        let d = draw::run_draw(&t, &r).unwrap();
        assert_rules_hold(&t, &d);
        prop_assert!(draw::check_rules(&t, &d.selections).is_empty());
        prop_assert_eq!(draw::verify(&d, &published(&t, &r)), Ok(()));
    }
}

#[test]
fn registers_from_csv() {
    let t = "id,organisation,products,region,industry,risk_class\nT1,ORG1,P1;P2,310000,food,A\n";
    let ts = sampling::import::targets_from_csv(t.as_bytes()).unwrap();
    assert_eq!(ts[0].products, vec!["P1".to_string(), "P2".to_string()]);
    let i = "id,region,qualifications,affiliations,conflicts\nI1,310000,food;toys,ORG2,\n";
    let is = sampling::import::inspectors_from_csv(i.as_bytes()).unwrap();
    assert_eq!(is[0].qualifications.len(), 2);
    assert!(is[0].conflicts.is_empty());
    let bad = "id,organisation\nT1,ORG1\n";
    assert!(
        sampling::import::targets_from_csv(bad.as_bytes())
            .unwrap_err()
            .to_string()
            .starts_with("targets line 2")
    );
}

/// `check_rules` (used by `verify`) names each broken rule, with the target and the inspector.
#[test]
fn check_rules_names_broken_rules() {
    let (t, r) = task(800, 60, RegionRule::SameRegion, 30);
    let d = draw::run_draw(&t, &r).unwrap();
    assert!(draw::check_rules(&t, &d.selections).is_empty());
    let sel = &d.selections[0];
    let target = t.targets.iter().find(|x| x.id == sel.target_id).unwrap();
    let inspector_id = sel.inspectors[0].clone();
    let rules_for = |t2: &DrawTask| -> Vec<(String, String)> {
        draw::check_rules(t2, &d.selections)
            .into_iter()
            .filter_map(|x| match x {
                Difference::Rule {
                    target_id,
                    inspector_id,
                    rule,
                } if target_id == sel.target_id => Some((inspector_id, rule)),
                _ => None,
            })
            .collect()
    };
    let mut affiliated = t.clone();
    let i = affiliated
        .inspectors
        .iter_mut()
        .find(|i| i.id == inspector_id)
        .unwrap();
    i.affiliations.push(target.organisation.clone());
    assert_eq!(
        rules_for(&affiliated),
        vec![(
            inspector_id.clone(),
            "inspector affiliated with the target's organisation".to_string()
        )]
    );
    let mut conflicted = t.clone();
    let i = conflicted
        .inspectors
        .iter_mut()
        .find(|i| i.id == inspector_id)
        .unwrap();
    i.conflicts.push(target.id.clone());
    assert_eq!(
        rules_for(&conflicted),
        vec![(
            inspector_id.clone(),
            "inspector declared a conflict with the target".to_string()
        )]
    );
    let mut moved = t.clone();
    let i = moved
        .inspectors
        .iter_mut()
        .find(|i| i.id == inspector_id)
        .unwrap();
    i.region = "990000".into();
    assert_eq!(
        rules_for(&moved),
        vec![(inspector_id.clone(), "region rule same_region".to_string())]
    );
    let mut capped = t.clone();
    capped.rules.workload_cap = 1;
    let all = draw::check_rules(&capped, &d.selections);
    let mut load: HashMap<&str, u32> = HashMap::new();
    for s in &d.selections {
        for i in &s.inspectors {
            *load.entry(i.as_str()).or_default() += 1;
        }
    }
    let over = load.values().filter(|&&l| l > 1).count();
    assert!(over > 0);
    assert_eq!(
        all.iter()
            .filter(
                |x| matches!(x, Difference::Rule { rule, .. } if rule == "workload cap exceeded")
            )
            .count(),
        over
    );
}
