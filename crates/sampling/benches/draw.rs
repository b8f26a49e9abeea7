//! Benchmark (run once, not a timed test):
//! - a double-random draw over 10,000,000 targets and 100,000 inspectors (commit, run, verify);
//! - a pass-rate rollup over 10,000,000 inspection records.
//!
//! `cargo bench -p sampling --bench draw` (set `SAMPLING_BENCH_TARGETS` / `SAMPLING_BENCH_RECORDS`
//! for other sizes). Prints the seconds of each step.

use std::collections::BTreeMap;
use std::time::Instant;

use sampling::draw::{
    self, BeaconSpec, BeaconValue, DrawTask, Filter, Inspector, Published, Randomness, RegionRule,
    Rules, Target,
};
use sampling::stats::{self, GroupBy, Outcome, RecordRef, Window};

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// CPU seconds of this process so far (the machine is shared: wall time alone misleads).
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|ns| ns / 1e9)
        .unwrap_or(f64::NAN)
}

struct Timer(Instant, f64);
impl Timer {
    fn start() -> Timer {
        Timer(Instant::now(), cpu_s())
    }
    fn show(&self) -> String {
        format!(
            "{:.2} s wall, {:.2} s CPU",
            self.0.elapsed().as_secs_f64(),
            cpu_s() - self.1
        )
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const SEED: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
const SIGNATURE: &str = "8d61d9100567de44682506aea1a7a6fa6e5491cd27a0a0ed349ef6910ac5ac20ff7bc3e09d7c046566c9f7f3c6f3b10104990e7cb424998203d8f7de586fb7fa5f60045417a432684f85093b06ca91c769f0e7ca19268375e659c2a2352b4655";

fn main() {
    let n_targets = env_usize("SAMPLING_BENCH_TARGETS", 10_000_000);
    let n_inspectors = env_usize("SAMPLING_BENCH_INSPECTORS", 100_000);
    let n_records = env_usize("SAMPLING_BENCH_RECORDS", 10_000_000);
    let regions: Vec<String> = (0..31).map(|i| format!("{}0000", 11 + i)).collect();
    let industries: Vec<String> = (0..10).map(|i| format!("ind{i}")).collect();
    let mut g = XorShift(0x9E37_79B9_7F4A_7C15);

    let t0 = Instant::now();
    let targets: Vec<Target> = (0..n_targets)
        .map(|i| {
            let class = match g.below(100) {
                0..40 => "A",
                40..80 => "B",
                80..95 => "C",
                _ => "D",
            };
            Target {
                id: format!("T{i:09}"),
                organisation: format!("O{:08}", i / 2),
                products: Vec::new(),
                region: regions[g.below(31) as usize].clone(),
                industry: industries[g.below(10) as usize].clone(),
                risk_class: class.to_string(),
            }
        })
        .collect();
    let inspectors: Vec<Inspector> = (0..n_inspectors)
        .map(|i| Inspector {
            id: format!("I{i:07}"),
            region: regions[g.below(31) as usize].clone(),
            qualifications: vec![
                industries[g.below(10) as usize].clone(),
                industries[g.below(10) as usize].clone(),
            ],
            affiliations: vec![format!("O{:08}", g.below(n_targets as u64 / 2 + 1))],
            conflicts: vec![format!("T{:09}", g.below(n_targets as u64))],
        })
        .collect();
    let ratio_ppm: BTreeMap<String, u32> = [
        ("A", 30_000),
        ("B", 100_000),
        ("C", 300_000),
        ("D", 1_000_000),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let task = DrawTask {
        id: "bench".into(),
        targets,
        inspectors,
        rules: Rules {
            filter: Filter::default(),
            ratio_ppm,
            inspectors_per_target: 2,
            workload_cap: 60,
            region_rule: RegionRule::SameRegion,
            require_qualification: true,
        },
        seed_commitment: draw::seed_commitment(SEED).expect("seed"),
        beacon: BeaconSpec::Drand {
            chain_hash: "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce".into(),
            round: 1,
        },
    };
    let randomness = Randomness {
        seed: SEED.into(),
        beacon: BeaconValue::Drand {
            round: 1,
            signature: SIGNATURE.into(),
        },
    };
    println!(
        "generated {n_targets} targets and {n_inspectors} inspectors in {:.2} s (not counted)",
        t0.elapsed().as_secs_f64()
    );

    let t = Timer::start();
    let commitment = draw::commit(&task).expect("commit");
    println!("commit (validate + hash registers and rules): {}", t.show());

    let t = Timer::start();
    let d = draw::run_draw(&task, &randomness).expect("draw");
    let run_s = t.show();
    let short = d.selections.iter().filter(|s| s.shortfall > 0).count();
    println!(
        "run_draw: {run_s}: {} targets drawn, {} inspector assignments, {short} short of inspectors",
        d.selections.len(),
        d.selections
            .iter()
            .map(|s| s.inspectors.len())
            .sum::<usize>()
    );

    let t = Timer::start();
    let published = Published {
        commitment,
        task,
        randomness,
    };
    let ok = draw::verify(&d, &published).is_ok();
    println!("verify: {} (ok = {ok})", t.show());
    drop(published);
    drop(d);

    // ----- pass-rate rollup -----
    let categories: Vec<String> = (0..40).map(|i| format!("category{i}")).collect();
    let sizes = ["large", "medium", "small", "micro"];
    let dates: Vec<String> = (0..365)
        .map(|d| {
            let month = d / 31 + 1;
            format!("2025-{:02}-{:02}", month.min(12), d % 28 + 1)
        })
        .collect();
    // Records held compactly (indices into the small vocabularies), viewed as RecordRef.
    let t0 = Instant::now();
    let compact: Vec<[u16; 5]> = (0..n_records)
        .map(|_| {
            let o = match g.below(1000) {
                0..60 => 1,
                60..70 => 2,
                _ => 0,
            };
            [
                g.below(40) as u16,
                g.below(31) as u16,
                g.below(4) as u16,
                g.below(365) as u16,
                o,
            ]
        })
        .collect();
    println!(
        "generated {n_records} records in {:.2} s (not counted)",
        t0.elapsed().as_secs_f64()
    );
    let view = |r: &[u16; 5]| RecordRef {
        category: &categories[r[0] as usize],
        region: &regions[r[1] as usize],
        enterprise_size: sizes[r[2] as usize],
        date: &dates[r[3] as usize],
        outcome: [Outcome::Pass, Outcome::Fail, Outcome::NotTested][r[4] as usize],
        items_tested: 12,
        nonconformities: u32::from(r[4] == 1),
    };
    for by in [
        vec![GroupBy::Category],
        vec![GroupBy::Category, GroupBy::Region, GroupBy::Quarter],
        vec![GroupBy::Region, GroupBy::Size, GroupBy::Month],
    ] {
        let t = Timer::start();
        let groups =
            stats::rollup(compact.iter().map(view), &by, &Window::default()).expect("rollup");
        println!(
            "rollup by {by:?} over {n_records} records: {}, {} groups",
            t.show(),
            groups.len()
        );
    }
}
