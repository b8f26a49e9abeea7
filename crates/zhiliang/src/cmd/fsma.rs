//! `zhiliang fsma204`: the FSMA 204 electronic sortable spreadsheet for one traceability lot, as
//! `GET /api/fsma204` produces it (same rows, same columns), over every event in the store.

use std::io::Write;

use anyhow::{Context, bail};
use store::Scope;
use zhiliang_http::api::recall::{fsma_rows, parse_time, rows_csv, rows_xlsx};

/// Output form.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsmaFormat {
    Csv,
    Xlsx,
}

#[derive(clap::Args, Debug)]
pub struct FsmaArgs {
    #[command(flatten)]
    store: crate::storeargs::StoreArgs,
    /// The traceability lot code: a GS1 Digital Link (`…/01/GTIN/10/LOT`), an `lgtin` class URI,
    /// or any class identifier used in the events.
    #[arg(long, value_name = "LOT")]
    lot: String,
    /// Only events at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Only events at or before this time (RFC 3339, or YYYY-MM-DD for the whole day).
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    #[arg(long, value_enum, default_value = "csv")]
    format: FsmaFormat,
    /// Write to this file instead of standard output (required for xlsx).
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
}

fn time_arg(name: &str, v: Option<&str>, end_of_day: bool) -> anyhow::Result<Option<i64>> {
    let Some(s) = v else { return Ok(None) };
    let ms = parse_time(s)
        .with_context(|| format!("--{name}: {s:?} is not an RFC 3339 time or a date YYYY-MM-DD"))?;
    Ok(Some(if end_of_day && s.len() == 10 {
        ms + 86_399_999
    } else {
        ms
    }))
}

impl FsmaArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let from = time_arg("from", self.from.as_deref(), false)?;
        let to = time_arg("to", self.to.as_deref(), true)?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            bail!("--to must not be before --from");
        }
        if self.format == FsmaFormat::Xlsx && self.out.is_none() {
            bail!("--format xlsx needs --out FILE");
        }
        let store = self.store.open()?;
        let rows = fsma_rows(store.as_ref(), &Scope::All, &self.lot, from, to)?;
        let bytes = match self.format {
            FsmaFormat::Csv => rows_csv(&rows).into_bytes(),
            FsmaFormat::Xlsx => rows_xlsx(&rows)?,
        };
        match &self.out {
            Some(path) => {
                std::fs::write(path, &bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!(
                    "{} critical tracking events for {} written to {}",
                    rows.len(),
                    self.lot,
                    path.display()
                );
            }
            None => std::io::stdout().write_all(&bytes)?,
        }
        Ok(())
    }
}
