//! `zhiliang trace`: backward or forward trace from one identifier, as a tree, JSON or Graphviz.

use std::io::Write;

use anyhow::{Context, bail};
use store::Scope;
use trace::{Direction, TraceOptions};

/// Output form of `zhiliang trace`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// A readable tree (the default).
    Tree,
    /// The JSON of `GET /api/trace` (`events`, `objects`, `edges`).
    Json,
    /// A Graphviz `digraph`.
    Dot,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("direction").required(true).args(["backward", "forward"])))]
pub struct TraceArgs {
    #[command(flatten)]
    store: crate::storeargs::StoreArgs,
    /// Where did this come from: an EPC URI, Digital Link, SSCC, lot class or any identifier.
    #[arg(long, value_name = "ID")]
    backward: Option<String>,
    /// Where did it go.
    #[arg(long, value_name = "ID")]
    forward: Option<String>,
    /// Print JSON (same as --format json).
    #[arg(long)]
    json: bool,
    #[arg(long, value_enum, default_value = "tree")]
    format: TraceFormat,
    /// Most link hops from the start.
    #[arg(long, value_name = "N")]
    depth: Option<u32>,
    /// Only events at or after this time (RFC 3339, e.g. 2026-01-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Only events at or before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    /// Most objects reached before the trace stops and says it was truncated.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    max_objects: usize,
}

fn time_arg(name: &str, v: Option<&str>) -> anyhow::Result<Option<i64>> {
    v.map(|s| epcis::index::parse_time_ms(s).map_err(|e| anyhow::anyhow!("--{name}: {e}")))
        .transpose()
}

impl TraceArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let (direction, id) = match (&self.backward, &self.forward) {
            (Some(id), None) => (Direction::Backward, id.clone()),
            (None, Some(id)) => (Direction::Forward, id.clone()),
            _ => bail!("give exactly one of --backward ID or --forward ID"),
        };
        let mut opts = TraceOptions::new(direction);
        opts.from_ms = time_arg("from", self.from.as_deref())?;
        opts.to_ms = time_arg("to", self.to.as_deref())?;
        opts.depth_max = self.depth;
        opts.objects_max = self.max_objects;
        let store = self.store.open()?;
        // The command line works directly on the data: it sees everything.
        let result = trace::trace(
            store.as_ref(),
            &Scope::All,
            std::slice::from_ref(&id),
            &opts,
        )
        .with_context(|| format!("tracing {} from {id}", direction.as_str()))?;
        let format = if self.json {
            TraceFormat::Json
        } else {
            self.format
        };
        let text = match format {
            TraceFormat::Json => serde_json::to_string_pretty(&result)? + "\n",
            TraceFormat::Dot => result.to_dot(),
            TraceFormat::Tree => result.to_tree(),
        };
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            // A closed pipe (`| head`) is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            r => r.context("writing the trace")?,
        }
        if result.truncated {
            eprintln!(
                "zhiliang: warning: the trace was cut short by --max-objects or the event budget"
            );
        }
        Ok(())
    }
}
