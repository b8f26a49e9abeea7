//! `zhiliang signals` (disproportionality over a pairs CSV) and `zhiliang risk assess` (the EU
//! 2019/417 risk assessment of a JSON file). Thin wiring: parsing, statistics and formatting live
//! in the `risk` crate.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use risk::signal::{Contingency, ExpectedMethod, FitOptions, Method, signals_csv};

/// Largest input file read, in bytes.
const MAX_INPUT_BYTES: u64 = 4 << 30;

/// Disproportionality method.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalMethod {
    /// Proportional reporting ratio with 95 % interval, Yates χ² and the Evans flag.
    Prr,
    /// Reporting odds ratio with 95 % interval.
    Ror,
    /// BCPNN information component with IC025 / IC975.
    Bcpnn,
    /// MGPS: EBGM, EB05, EB95 with the prior fitted by maximum likelihood.
    Mgps,
}

impl From<SignalMethod> for Method {
    fn from(m: SignalMethod) -> Method {
        match m {
            SignalMethod::Prr => Method::Prr,
            SignalMethod::Ror => Method::Ror,
            SignalMethod::Bcpnn => Method::Bcpnn,
            SignalMethod::Mgps => Method::Mgps,
        }
    }
}

/// `zhiliang signals --input pairs.csv --method prr|ror|bcpnn|mgps [--output FILE]`
///
/// Reads CSV with a header and the columns `product,event,count` (any order; repeated pairs are
/// summed; an optional `stratum` column is used with `--stratified`) and writes CSV with
/// `product,event,a,b,c,d,expected` and the method's columns.
#[derive(clap::Args, Debug)]
pub struct SignalsArgs {
    /// Pairs CSV (`-` for standard input).
    #[arg(long)]
    pub input: PathBuf,
    /// The measure to compute.
    #[arg(long, value_enum)]
    pub method: SignalMethod,
    /// Output file (standard output when absent).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Expected counts summed over the strata of the `stratum` column.
    #[arg(long)]
    pub stratified: bool,
}

fn read_input(path: &PathBuf) -> anyhow::Result<String> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_string(&mut text)
            .context("reading standard input")?;
    } else {
        let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        f.take(MAX_INPUT_BYTES + 1)
            .read_to_string(&mut text)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    if text.len() as u64 > MAX_INPUT_BYTES {
        bail!("{}: larger than {} bytes", path.display(), MAX_INPUT_BYTES);
    }
    Ok(text)
}

impl SignalsArgs {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let text = read_input(&self.input)?;
        let pairs =
            risk::csv::parse_pairs(&text).with_context(|| format!("{}", self.input.display()))?;
        drop(text);
        let method = if self.stratified {
            ExpectedMethod::Stratified
        } else {
            ExpectedMethod::Unstratified
        };
        let table = Contingency::from_counts(
            pairs
                .iter()
                .map(|(p, e, s, n)| (p.as_str(), e.as_str(), s.as_str(), *n)),
            method,
        )?;
        if table.cells.is_empty() {
            bail!("{}: no pairs with a positive count", self.input.display());
        }
        let (csv, fit) = signals_csv(&table, self.method.into(), &FitOptions::default())?;
        if let Some(fit) = fit {
            let p = fit.prior;
            eprintln!(
                "MGPS prior: alpha1={} beta1={} alpha2={} beta2={} p={} (-logL {:.6})",
                p.alpha1, p.beta1, p.alpha2, p.beta2, p.p, fit.neg_log_likelihood
            );
        }
        match &self.output {
            Some(path) => {
                std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?
            }
            None => std::io::stdout()
                .lock()
                .write_all(csv.as_bytes())
                .context("writing standard output")?,
        }
        Ok(())
    }
}

/// `zhiliang risk …`
#[derive(clap::Args, Debug)]
pub struct RiskArgs {
    #[command(subcommand)]
    pub command: RiskCommand,
}

/// Risk subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum RiskCommand {
    /// Assess a product's risk (EU Safety Gate method, Implementing Decision (EU) 2019/417) from a
    /// JSON file of injury scenarios; prints the level and its rationale.
    Assess {
        /// The assessment JSON (`-` for standard input).
        file: PathBuf,
        /// Print the full result as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl RiskArgs {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            RiskCommand::Assess { file, json } => {
                let text = read_input(&file)?;
                let input: risk::assessment::AssessmentInput = serde_json::from_str(&text)
                    .with_context(|| format!("{}: not a valid assessment", file.display()))?;
                let a = risk::assessment::assess(&input)
                    .with_context(|| format!("{}", file.display()))?;
                let mut out = std::io::stdout().lock();
                if json {
                    serde_json::to_writer_pretty(&mut out, &a)?;
                    writeln!(out)?;
                } else {
                    writeln!(out, "{}", a.level.label())?;
                    for line in &a.rationale {
                        writeln!(out, "  {line}")?;
                    }
                }
                Ok(())
            }
        }
    }
}
