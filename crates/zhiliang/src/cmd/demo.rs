//! `zhiliang demo generate`: a realistic multi-tier supply chain as one EPCIS 2.0 JSON-LD document.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum DemoCommand {
    /// Write generated events as one EPCISDocument (deterministic from --seed).
    Generate(GenerateArgs),
}

/// 2025-01-01T00:00:00Z: the default start of demo time (fixed, so output depends only on the seed).
const DEMO_START_MS: i64 = 1_735_689_600_000;

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Number of events.
    #[arg(long)]
    pub events: usize,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Start of demo time, milliseconds since the Unix epoch.
    #[arg(long, default_value_t = DEMO_START_MS)]
    pub start_ms: i64,
}

impl DemoCommand {
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            DemoCommand::Generate(a) => {
                let cfg = demo::DemoConfig::new(a.events, a.seed, a.start_ms);
                let file = std::fs::File::create(&a.out)
                    .with_context(|| format!("creating {}", a.out.display()))?;
                let n = demo::write_document(&cfg, file)
                    .with_context(|| format!("writing {}", a.out.display()))?;
                println!("wrote {n} events to {} (seed {})", a.out.display(), a.seed);
                Ok(())
            }
        }
    }
}
