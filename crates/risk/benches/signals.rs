//! Benchmark: PRR, ROR, BCPNN and MGPS over openEBGM's CAERS data and over a synthetic table of
//! 1,000,000 product × hazard pairs. Prints wall-clock times (best of `RISK_BENCH_RUNS`, default 3).
//!
//! `cargo bench -p risk --bench signals` (`RISK_BENCH_ONLY=caers` skips the synthetic table).
//! The library splits large tables over the available cores (`std::thread::scope`): these are
//! wall-clock times of the whole machine's cores, as are vigipy's (numpy may use threads too). With `RISK_BENCH_OUT=DIR` it also writes the pairs CSVs
//! (`caers_pairs.csv`, `synthetic_pairs.csv`), our results and our compute times
//! (`<set>_times.json`), for `scripts/bench-vigipy.sh`.

use std::time::{Duration, Instant};

use risk::rng::Xoshiro256;
use risk::signal::{Contingency, ExpectedMethod, FitOptions, Method, Report, signals_csv};

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("at least one run"))
}

fn measures(name: &str, table: &Contingency, runs: usize, out_dir: Option<&str>) {
    println!("{name}: {} cells, N = {}", table.cells.len(), table.total);
    let fit = FitOptions::default();
    // Computation only (results kept in memory), as the libraries compared return arrays.
    // The library's whole-table functions (split over the available cores on large tables).
    let mut times: Vec<(&str, f64)> = Vec::new();
    let (d, v) = best(runs, || table.prr_all());
    std::hint::black_box(&v);
    times.push(("prr", d.as_secs_f64()));
    println!(
        "  compute PRR+CI+chi2+Evans: {:.6} s ({:.0} ns/cell)",
        d.as_secs_f64(),
        d.as_nanos() as f64 / table.cells.len() as f64
    );
    let (d, v) = best(runs, || table.ror_all());
    std::hint::black_box(&v);
    times.push(("ror", d.as_secs_f64()));
    println!(
        "  compute ROR+CI: {:.6} s ({:.0} ns/cell)",
        d.as_secs_f64(),
        d.as_nanos() as f64 / table.cells.len() as f64
    );
    let (d, v) = best(runs, || table.bcpnn_all());
    std::hint::black_box(&v);
    times.push(("bcpnn", d.as_secs_f64()));
    println!(
        "  compute BCPNN IC/IC025/IC975: {:.6} s ({:.0} ns/cell)",
        d.as_secs_f64(),
        d.as_nanos() as f64 / table.cells.len() as f64
    );
    let pts: Vec<(u64, f64)> = table
        .cells
        .iter()
        .map(|c| (c.table.a, c.expected))
        .collect();
    let (d, f) = best(runs, || {
        risk::signal::mgps::fit_prior(&pts, &fit).expect("fits")
    });
    println!(
        "  compute MGPS prior fit: {:.4} s ({} evaluations)",
        d.as_secs_f64(),
        f.evaluations
    );
    for (p, nll) in &f.per_start {
        println!("    start optimum -logL {nll:.4}: {p:?}");
    }
    let (d, v) = best(runs, || f.prior.score_all(&pts));
    std::hint::black_box(&v);
    times.push(("mgps", d.as_secs_f64()));
    if let Some(dir) = out_dir {
        // The compute times, for the ratios `scripts/bench-vigipy.sh` prints.
        let fields: Vec<String> = times.iter().map(|(k, t)| format!("\"{k}\": {t}")).collect();
        std::fs::write(
            format!("{dir}/{name}_times.json"),
            format!("{{{}}}\n", fields.join(", ")),
        )
        .expect("write times");
    }
    println!(
        "  compute MGPS EBGM/EB05/EB95: {:.6} s ({:.0} ns/cell)",
        d.as_secs_f64(),
        d.as_nanos() as f64 / table.cells.len() as f64
    );
    // End to end with the CSV text (what `zhiliang signals` does after reading).
    for m in [Method::Prr, Method::Ror, Method::Bcpnn, Method::Mgps] {
        let (d, (csv, prior)) = best(runs, || signals_csv(table, m, &fit).expect("computes"));
        let extra = prior
            .as_ref()
            .map(|f| {
                format!(
                    " (prior fit: {} evaluations, -logL {:.4})",
                    f.evaluations, f.neg_log_likelihood
                )
            })
            .unwrap_or_default();
        println!(
            "  {m:?} with CSV output: {:.3} s ({:.0} ns/cell){extra}",
            d.as_secs_f64(),
            d.as_nanos() as f64 / table.cells.len() as f64
        );
        if let Some(dir) = out_dir {
            std::fs::write(format!("{dir}/{name}_{m:?}.csv").to_lowercase(), csv)
                .expect("write result");
            if let Some(f) = &prior {
                let p = f.prior;
                let json = format!(
                    "{{\"alpha1\": {}, \"beta1\": {}, \"alpha2\": {}, \"beta2\": {}, \"p\": {}}}\n",
                    p.alpha1, p.beta1, p.alpha2, p.beta2, p.p
                );
                std::fs::write(format!("{dir}/{name}_mgps_prior.json"), json).expect("write prior");
            }
        }
    }
}

fn write_pairs(path: &str, table: &Contingency) {
    let mut s = String::from("product,event,count\n");
    for c in &table.cells {
        let (p, e) = table.names(c);
        s.push_str(&format!(
            "{},{},{}\n",
            risk::csv::quote(p),
            risk::csv::quote(e),
            c.table.a
        ));
    }
    std::fs::write(path, s).expect("write pairs");
}

fn main() {
    let runs: usize = std::env::var("RISK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let out_dir = std::env::var("RISK_BENCH_OUT").ok();
    if let Some(d) = &out_dir {
        std::fs::create_dir_all(d).expect("create RISK_BENCH_OUT");
    }

    // CAERS as report lines (distinct report ids, openEBGM semantics) and as summed pairs.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference-data/risk/signal/openebgm_caers_input.csv"
    );
    let text = std::fs::read_to_string(path).expect("CAERS input");
    let recs: Vec<Vec<String>> = risk::csv::records(&text)
        .skip(1)
        .map(|r| r.expect("parses").1)
        .collect();
    let (d, reports) = best(runs, || {
        Contingency::from_reports(
            recs.iter().map(|r| Report {
                id: &r[0],
                product: &r[1],
                event: &r[2],
                stratum: "",
            }),
            ExpectedMethod::Unstratified,
        )
        .expect("builds")
    });
    println!("caers_reports table build: {:.3} s", d.as_secs_f64());
    measures("caers_reports", &reports, runs, out_dir.as_deref());
    let (d, pairs) = best(runs, || {
        Contingency::from_counts(
            recs.iter()
                .map(|r| (r[1].as_str(), r[2].as_str(), "", 1u64)),
            ExpectedMethod::Unstratified,
        )
        .expect("builds")
    });
    println!("caers_pairs table build: {:.3} s", d.as_secs_f64());
    if let Some(dir) = &out_dir {
        write_pairs(&format!("{dir}/caers_pairs.csv"), &pairs);
    }
    measures("caers_pairs", &pairs, runs, out_dir.as_deref());

    if std::env::var("RISK_BENCH_ONLY").is_ok_and(|v| v == "caers") {
        return;
    }
    // Synthetic: 1,000,000 distinct pairs over 20,000 products × 2,000 hazards, skewed counts.
    let mut rng = Xoshiro256::seed(20261126);
    let mut seen = std::collections::HashSet::with_capacity(1_000_000);
    let mut rows: Vec<(String, String, u64)> = Vec::with_capacity(1_000_000);
    while rows.len() < 1_000_000 {
        // Popular products and hazards are more likely (squares of uniforms).
        let p = ((rng.next_f64() * rng.next_f64()) * 20_000.0) as u32;
        let e = ((rng.next_f64() * rng.next_f64()) * 2_000.0) as u32;
        if seen.insert((p, e)) {
            let u = rng.next_f64();
            let n = 1 + (-(1.0 - u).ln() * if rng.next_f64() < 0.05 { 20.0 } else { 1.5 }) as u64;
            rows.push((format!("P{p:05}"), format!("H{e:04}"), n));
        }
    }
    let (d, synth) = best(runs, || {
        Contingency::from_counts(
            rows.iter()
                .map(|(p, e, n)| (p.as_str(), e.as_str(), "", *n)),
            ExpectedMethod::Unstratified,
        )
        .expect("builds")
    });
    println!("synthetic table build: {:.3} s", d.as_secs_f64());
    measures("synthetic", &synth, runs, out_dir.as_deref());

    if let Some(dir) = &out_dir {
        write_pairs(&format!("{dir}/synthetic_pairs.csv"), &synth);
    }
}
