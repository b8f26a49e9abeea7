//! The zhiliang binary: thin wiring of subcommands. Each subcommand lives in `cmd/`, exposes clap
//! `Args` with `fn run(self) -> anyhow::Result<()>`, and calls library crates for the work.

mod cmd;
mod storeargs;

use clap::{Parser, Subcommand};

/// zhiliang: a GS1 EPCIS 2.0 traceability repository and the regulator's tools around it.
#[derive(Parser, Debug)]
#[command(name = "zhiliang", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP server (EPCIS 2.0 REST bindings under /epcis).
    Serve(cmd::serve::ServeArgs),
    /// Capture EPCIS documents (JSON-LD or XML) from files, each all-or-nothing.
    Capture(cmd::capture::CaptureArgs),
    /// Query events with EPCIS REST query parameters; prints an EPCISQueryDocument.
    Query(cmd::query::QueryArgs),
    /// Print the CBV 2.0 event hash of every event of a document, one per line.
    Hash(cmd::hash::HashArgs),
    /// Manage API keys.
    #[command(subcommand)]
    Key(cmd::key::KeyCommand),
    /// Demo data.
    #[command(subcommand)]
    Demo(cmd::demo::DemoCommand),
    /// Attribute sampling plans and OC curves (GB/T 2828.1, ISO 2859-1, Z1.4).
    Sampling(cmd::sampling::SamplingArgs),
    /// Verifiable "double random" draws.
    Draw(cmd::sampling::DrawArgs),
    /// Pass-rate statistics.
    Stats(cmd::sampling::StatsArgs),
    /// Disproportionality signals (PRR, ROR, BCPNN, MGPS) over a pairs CSV.
    Signals(cmd::risk::SignalsArgs),
    /// Risk assessment (EU 2019/417).
    Risk(cmd::risk::RiskArgs),
    /// Trace an identifier backward (where from) or forward (where to).
    Trace(cmd::trace::TraceArgs),
    /// FSMA 204 records request: the sortable spreadsheet of one traceability lot (CSV or XLSX).
    Fsma204(cmd::fsma::FsmaArgs),
    /// Print the Citus DDL that distributes the PostgreSQL schema (run it once, by hand, on the
    /// coordinator after the first `serve --store` has migrated the schema).
    CitusDdl,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ZHILIANG_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => a.run(),
        Command::Capture(a) => a.run(),
        Command::Query(a) => a.run(),
        Command::Hash(a) => a.run(),
        Command::Key(a) => a.run(),
        Command::Demo(a) => a.run(),
        Command::Sampling(a) => a.run(),
        Command::Draw(a) => a.run(),
        Command::Stats(a) => a.run(),
        Command::Signals(a) => a.run(),
        Command::Risk(a) => a.run(),
        Command::Trace(a) => a.run(),
        Command::Fsma204(a) => a.run(),
        Command::CitusDdl => {
            println!("{}", store_postgres::citus_ddl());
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("zhiliang: error: {e:#}");
        std::process::exit(1);
    }
}
