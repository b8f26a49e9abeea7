//! `zhiliang sampling …`, `zhiliang draw …` and `zhiliang stats …`: thin wrappers over the pure
//! `sampling` crate. Files are read and written here, never in the library.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use sampling::draw::{self, BeaconValue, Commitment, Draw, DrawTask, Published, Randomness};
use sampling::oc::{self, Model};
use sampling::plans::{self, Aql, Inspection, Level, PlanRequest, Scheme, Standard};
use sampling::stats::{self, GroupBy, Window};

/// Largest input file read by these commands.
const FILE_MAX_BYTES: u64 = 8 << 30;

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > FILE_MAX_BYTES {
        bail!("{}: larger than {} bytes", path.display(), FILE_MAX_BYTES);
    }
    let mut buf = Vec::with_capacity(len as usize);
    f.take(FILE_MAX_BYTES + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(buf)
}

fn read_json<T>(path: &Path, parse: impl FnOnce(&[u8]) -> serde_json::Result<T>) -> Result<T> {
    let bytes = read_file(path)?;
    parse(&bytes).with_context(|| format!("{}: not the expected JSON", path.display()))
}

fn write_out(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => {
            println!("{text}");
            Ok(())
        }
    }
}

// ----- zhiliang sampling -----

/// Attribute sampling plans (GB/T 2828.1 / ISO 2859-1, ANSI/ASQ Z1.4) and OC curves.
#[derive(Debug, Args)]
pub struct SamplingArgs {
    #[command(subcommand)]
    pub command: SamplingCommand,
}

#[derive(Debug, Subcommand)]
pub enum SamplingCommand {
    /// Look up the sampling plan for a lot (Table 1, then the master table with arrows followed).
    Plan(PlanArgs),
    /// Operating characteristic curve of a single plan, with AOQ and ATI.
    Oc(OcArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Lot size N.
    #[arg(long)]
    pub lot_size: u64,
    /// Inspection level: S-1, S-2, S-3, S-4, I, II, III.
    #[arg(long, default_value = "II")]
    pub level: String,
    /// Acceptance quality limit, one of the preferred values 0.010 … 1000.
    #[arg(long)]
    pub aql: String,
    /// normal, tightened or reduced.
    #[arg(long, default_value = "normal")]
    pub inspection: String,
    /// single or double.
    #[arg(long, default_value = "single")]
    pub scheme: String,
    /// gb2828 (GB/T 2828.1-2012 = ISO 2859-1:1999) or z14 (ANSI/ASQ Z1.4).
    #[arg(long, default_value = "gb2828")]
    pub standard: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OcArgs {
    /// Sample size n.
    #[arg(long)]
    pub sample_size: u64,
    /// Acceptance number c.
    #[arg(long)]
    pub accept: u64,
    /// Fractions nonconforming, comma separated (0.01,0.02,…).
    #[arg(long, value_delimiter = ',', required = true)]
    pub p: Vec<f64>,
    /// binomial, poisson or hypergeometric.
    #[arg(long, default_value = "binomial")]
    pub model: String,
    /// Lot size N (required for hypergeometric; gives AOQ with (N-n)/N and ATI).
    #[arg(long)]
    pub lot_size: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also draw the curve as SVG into this file.
    #[arg(long)]
    pub svg: Option<PathBuf>,
}

impl SamplingArgs {
    pub fn run(self) -> Result<()> {
        match self.command {
            SamplingCommand::Plan(a) => a.run(),
            SamplingCommand::Oc(a) => a.run(),
        }
    }
}

fn standard_name(s: Standard) -> &'static str {
    match s {
        Standard::Gb2828 => "GB/T 2828.1-2012 (ISO 2859-1:1999)",
        Standard::Z14 => "ANSI/ASQ Z1.4 (MIL-STD-105E)",
    }
}

impl PlanArgs {
    pub fn run(self) -> Result<()> {
        let req = PlanRequest {
            standard: Standard::parse(&self.standard)?,
            inspection: Inspection::parse(&self.inspection)?,
            scheme: Scheme::parse(&self.scheme)?,
            level: Level::parse(&self.level)?,
            aql: Aql::parse(&self.aql)?,
            lot_size: self.lot_size,
        };
        let r = plans::plan(&req)?;
        let mut out = json!({
            "standard": r.standard,
            "inspection": r.inspection,
            "level": r.level,
            "aql": r.aql.as_str(),
            "lot_size": r.lot_size,
            "code_letter": r.code_letter.to_string(),
            "hundred_percent": r.hundred_percent,
        });
        let o = out
            .as_object_mut()
            .ok_or_else(|| anyhow!("internal: object"))?;
        if let Some(d) = r.double {
            o.insert("scheme".into(), json!("double"));
            o.insert("sample_size".into(), json!(d.n1));
            o.insert("accept".into(), json!(d.ac1));
            o.insert("reject".into(), json!(d.re1));
            o.insert(
                "stages".into(),
                json!([
                    {"stage": 1, "sample_size": d.n1, "cumulative_sample_size": d.n1, "accept": d.ac1, "reject": d.re1},
                    {"stage": 2, "sample_size": d.n2, "cumulative_sample_size": d.n1 + d.n2, "accept": d.ac2, "reject": d.re2},
                ]),
            );
        } else if let Some(s) = r.single {
            o.insert("scheme".into(), json!("single"));
            o.insert(
                "plan_letter".into(),
                json!(r.plan_letter.map(|c| c.to_string())),
            );
            o.insert("sample_size".into(), json!(s.n));
            o.insert("accept".into(), json!(s.ac));
            o.insert("reject".into(), json!(s.re));
            if r.used_single_instead_of_double {
                o.insert(
                    "note".into(),
                    json!("the double-sampling table has * here: use the single plan"),
                );
            }
        }
        if self.json {
            println!("{}", serde_json::to_string_pretty(&out)?);
            return Ok(());
        }
        println!("standard:     {}", standard_name(r.standard));
        println!(
            "inspection:   {:?}, level {}, AQL {}, lot size {}",
            r.inspection,
            r.level,
            r.aql.as_str(),
            r.lot_size
        );
        println!("code letter:  {}", r.code_letter);
        if let Some(d) = r.double {
            println!("double sampling:");
            println!("  stage 1: n1 = {}, Ac1 = {}, Re1 = {}", d.n1, d.ac1, d.re1);
            println!(
                "  stage 2: n2 = {} (cumulative {}), Ac2 = {}, Re2 = {}",
                d.n2,
                d.n1 + d.n2,
                d.ac2,
                d.re2
            );
        } else if let Some(s) = r.single {
            if let Some(l) = r.plan_letter
                && l != r.code_letter
            {
                println!("plan row:     {l} (arrow followed)");
            }
            if r.used_single_instead_of_double {
                println!("double table has * here: single plan");
            }
            println!("sample size:  {}", s.n);
            println!("accept (Ac):  {}", s.ac);
            println!("reject (Re):  {}", s.re);
        }
        if r.hundred_percent {
            println!("sample size >= lot size: inspect every unit");
        }
        Ok(())
    }
}

impl OcArgs {
    pub fn run(self) -> Result<()> {
        let model = Model::parse(&self.model, self.lot_size)?;
        let pts = oc::oc_curve(model, self.sample_size, self.accept, &self.p, self.lot_size)?;
        if let Some(path) = &self.svg {
            let xy: Vec<(f64, f64)> = pts.iter().map(|p| (p.p, p.pa)).collect();
            let label = format!(
                "n = {}, c = {} ({})",
                self.sample_size, self.accept, self.model
            );
            let svg = sampling::chart::oc_svg(
                "Operating characteristic",
                &[sampling::chart::Curve {
                    label: &label,
                    points: &xy,
                }],
            )?;
            std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
        }
        if self.json {
            let points: Vec<Value> = pts
                .iter()
                .map(|p| json!({"p": p.p, "pa": p.pa, "aoq": p.aoq, "ati": p.ati}))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({ "points": points }))?
            );
            return Ok(());
        }
        println!("{:>12} {:>14} {:>14} {:>14}", "p", "Pa", "AOQ", "ATI");
        for p in &pts {
            let ati = p
                .ati
                .map(|a| format!("{a:.4}"))
                .unwrap_or_else(|| "-".into());
            println!("{:>12} {:>14.10} {:>14.10} {:>14}", p.p, p.pa, p.aoq, ati);
        }
        Ok(())
    }
}

// ----- zhiliang draw -----

/// Verifiable "double random" draws: commit, run, verify.
#[derive(Debug, Args)]
pub struct DrawArgs {
    #[command(subcommand)]
    pub command: DrawCommand,
}

#[derive(Debug, Subcommand)]
pub enum DrawCommand {
    /// Print the commitment to publish before the draw (registers, rules, seed commitment, beacon).
    Commit {
        /// Draw task (JSON: id, targets, inspectors, rules, seed_commitment, beacon).
        task: PathBuf,
    },
    /// Run the draw and print it with its proof (JSON).
    Run {
        /// Draw task (JSON).
        task: PathBuf,
        #[command(flatten)]
        randomness: RandomnessArgs,
        /// Write the draw here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Re-derive a draw from the published inputs: prints OK or every difference.
    Verify {
        /// Draw (JSON written by `draw run`); not with --material.
        #[arg(required_unless_present = "material")]
        draw: Option<PathBuf>,
        /// The task as published (JSON); not with --material.
        #[arg(long, required_unless_present = "material")]
        task: Option<PathBuf>,
        /// Verification material as served by `GET /api/draws/{id}/material` (JSON with `task`,
        /// `commitment` and `draw`), instead of DRAW and --task.
        #[arg(long, conflicts_with_all = ["draw", "task"])]
        material: Option<PathBuf>,
        /// The commitment published before the draw (JSON from `draw commit`, or the `commitment`
        /// of `GET /api/draws/{id}` fetched before the run). Without it the draw is checked against
        /// the commitment in the material, or else the one the draw carries.
        #[arg(long)]
        commitment: Option<PathBuf>,
        /// Override the revealed randomness (default: the one in the draw's proof).
        #[command(flatten)]
        randomness: RandomnessArgs,
    },
}

#[derive(Debug, Args)]
pub struct RandomnessArgs {
    /// The secret seed (hex) whose SHA-256 commitment is in the task.
    #[arg(long)]
    pub seed: Option<String>,
    /// drand round number and signature (hex) of the committed round.
    #[arg(long, requires = "drand_signature")]
    pub drand_round: Option<u64>,
    #[arg(long, requires = "drand_round")]
    pub drand_signature: Option<String>,
    /// RFC 3797 key string of the published numbers, e.g. "17.20.22./90193202./".
    #[arg(long, conflicts_with = "drand_round")]
    pub rfc3797_key: Option<String>,
}

impl RandomnessArgs {
    fn beacon(&self) -> Result<Option<BeaconValue>> {
        if let (Some(round), Some(sig)) = (self.drand_round, &self.drand_signature) {
            return Ok(Some(BeaconValue::Drand {
                round,
                signature: sig.clone(),
            }));
        }
        if let Some(k) = &self.rfc3797_key {
            return Ok(Some(BeaconValue::Rfc3797 {
                sources: sampling::rfc3797::parse_key(k)?,
            }));
        }
        Ok(None)
    }
}

impl DrawArgs {
    pub fn run(self) -> Result<()> {
        match self.command {
            DrawCommand::Commit { task } => {
                let task: DrawTask = read_json(&task, |b| serde_json::from_slice(b))?;
                let c = draw::commit(&task)?;
                println!("{}", serde_json::to_string_pretty(&c)?);
                Ok(())
            }
            DrawCommand::Run {
                task,
                randomness,
                out,
            } => {
                let task: DrawTask = read_json(&task, |b| serde_json::from_slice(b))?;
                let seed = randomness
                    .seed
                    .clone()
                    .ok_or_else(|| anyhow!("--seed: required to run a draw"))?;
                let beacon = randomness.beacon()?.ok_or_else(|| {
                    anyhow!("beacon: give --drand-round with --drand-signature, or --rfc3797-key")
                })?;
                let d = draw::run_draw(&task, &Randomness { seed, beacon })?;
                eprintln!(
                    "drew {} targets ({} strata); commitment {}",
                    d.selections.len(),
                    d.proof.strata.len(),
                    d.proof.commitment.commitment
                );
                write_out(out.as_deref(), &serde_json::to_string_pretty(&d)?)
            }
            DrawCommand::Verify {
                draw: draw_path,
                task,
                material,
                commitment,
                randomness,
            } => {
                let (d, task, material_commitment) = match (material, draw_path, task) {
                    (Some(m), _, _) => {
                        // What `GET /api/draws/{id}/material` serves: {task, commitment, draw}.
                        let v: Value = read_json(&m, |b| serde_json::from_slice(b))?;
                        let field = |k: &str| {
                            v.get(k).cloned().filter(|x| !x.is_null()).ok_or_else(|| {
                                anyhow!("{}: no {k} (is the draw run yet?)", m.display())
                            })
                        };
                        let d: Draw = serde_json::from_value(field("draw")?)
                            .with_context(|| format!("{}: draw", m.display()))?;
                        let t: DrawTask = serde_json::from_value(field("task")?)
                            .with_context(|| format!("{}: task", m.display()))?;
                        let c: Commitment = serde_json::from_value(field("commitment")?)
                            .with_context(|| format!("{}: commitment", m.display()))?;
                        (d, t, Some(c))
                    }
                    (None, Some(dp), Some(tp)) => (
                        read_json::<Draw>(&dp, |b| serde_json::from_slice(b))?,
                        read_json::<DrawTask>(&tp, |b| serde_json::from_slice(b))?,
                        None,
                    ),
                    _ => bail!("give DRAW and --task, or --material"),
                };
                let commitment: Commitment = match (commitment, material_commitment) {
                    (Some(p), _) => read_json(&p, |b| serde_json::from_slice(b))?,
                    (None, Some(c)) => {
                        eprintln!(
                            "note: checking against the commitment in the material; pass --commitment with the one fetched before the draw to rule out a replaced commitment"
                        );
                        c
                    }
                    (None, None) => {
                        eprintln!(
                            "note: no published commitment given; checking against the one in the draw"
                        );
                        d.proof.commitment.clone()
                    }
                };
                let mut rand = d.proof.randomness.clone();
                if let Some(s) = &randomness.seed {
                    rand.seed = s.clone();
                }
                if let Some(b) = randomness.beacon()? {
                    rand.beacon = b;
                }
                let published = Published {
                    commitment,
                    task,
                    randomness: rand,
                };
                match draw::verify(&d, &published) {
                    Ok(()) => {
                        println!("OK: the draw re-derives from the published inputs");
                        Ok(())
                    }
                    Err(diffs) => {
                        for x in &diffs {
                            println!("{}", serde_json::to_string(x)?);
                        }
                        bail!("verification failed: {} difference(s)", diffs.len())
                    }
                }
            }
        }
    }
}

// ----- zhiliang stats -----

/// Pass-rate statistics over inspection records.
#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(subcommand)]
    pub command: StatsCommand,
}

#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// Pass and nonconformity rates by group, with Wilson and Clopper-Pearson 95 % intervals and
    /// the SAMR batch ratio over sampled and over tested batches.
    PassRates(PassRatesArgs),
}

#[derive(Debug, Args)]
pub struct PassRatesArgs {
    /// CSV with columns category,region,enterprise_size,date,outcome,items_tested,nonconformities.
    #[arg(long)]
    pub input: PathBuf,
    /// Grouping keys, comma separated: category, region, size, year, quarter, month.
    #[arg(long, value_delimiter = ',', default_value = "category")]
    pub group_by: Vec<String>,
    /// First date included (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// First date excluded (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Draw the pass rates with their Wilson intervals as SVG into this file.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Target line on the chart (e.g. 0.98 for food sampling).
    #[arg(long)]
    pub target: Option<f64>,
}

impl StatsArgs {
    pub fn run(self) -> Result<()> {
        match self.command {
            StatsCommand::PassRates(a) => a.run(),
        }
    }
}

impl PassRatesArgs {
    pub fn run(self) -> Result<()> {
        let by: Vec<GroupBy> = self
            .group_by
            .iter()
            .map(|g| GroupBy::parse(g))
            .collect::<Result<_, _>>()?;
        let data = read_file(&self.input)?;
        let records = sampling::import::records_from_csv(&data)?;
        let window = Window {
            from: self.from.clone(),
            to: self.to.clone(),
        };
        let groups = stats::rollup(records.iter().map(|r| r.as_ref()), &by, &window)?;
        if let Some(path) = &self.svg {
            let labels: Vec<String> = groups.iter().map(|g| g.key.join(" / ")).collect();
            let bars: Vec<sampling::chart::RateBar<'_>> = groups
                .iter()
                .zip(&labels)
                .map(|(g, l)| sampling::chart::RateBar {
                    label: l,
                    rate: g.pass_rate,
                    lo: g.pass_wilson_95.lo,
                    hi: g.pass_wilson_95.hi,
                })
                .collect();
            let svg =
                sampling::chart::pass_rates_svg("Pass rates (Wilson 95 %)", &bars, self.target)?;
            std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
        }
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({ "groups": groups }))?
            );
            return Ok(());
        }
        println!(
            "{:<32} {:>9} {:>9} {:>9} {:>9} {:>21} {:>11} {:>11}",
            "group",
            "sampled",
            "tested",
            "failed",
            "pass",
            "Wilson 95 %",
            "nc/sampled",
            "nc/tested"
        );
        for g in &groups {
            println!(
                "{:<32} {:>9} {:>9} {:>9} {:>8.3}% {:>9.3}%-{:>9.3}% {:>10.3}% {:>10.3}%",
                g.key.join(" / "),
                g.batches_sampled,
                g.batches_tested,
                g.batches_failed,
                g.pass_rate * 100.0,
                g.pass_wilson_95.lo * 100.0,
                g.pass_wilson_95.hi * 100.0,
                g.nonconforming_ratio_sampled * 100.0,
                g.nonconforming_ratio_tested * 100.0
            );
        }
        Ok(())
    }
}
