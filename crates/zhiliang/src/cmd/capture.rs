//! `zhiliang capture`: bulk import through the same pipeline as `POST /epcis/capture`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use store::{ErrorBehaviour, OrgId};
use zhiliang_http::pipeline::{self, CaptureRequest, DocumentLimits, PipelineError};
use zhiliang_http::system_clock_ms;

use crate::storeargs::StoreArgs;

#[derive(Args, Debug)]
pub struct CaptureArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The organisation that owns the captured events.
    #[arg(long, default_value = "local")]
    pub org: String,
    /// Store the valid events of a document and report the invalid ones (default: all or nothing).
    #[arg(long)]
    pub proceed: bool,
    /// Most events in one document.
    #[arg(long, default_value_t = 10_000_000)]
    pub events_max: usize,
    /// Largest document in bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024 * 1024)]
    pub bytes_max: usize,
    /// EPCIS documents (JSON-LD or XML).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// A result line on stdout (the progress bar lives on stderr and hides itself when it is not a
/// terminal; the results must be visible either way).
fn say(bar: &ProgressBar, line: String) {
    bar.suspend(|| println!("{line}"));
}

impl CaptureArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let owner = OrgId::parse(&self.org).map_err(anyhow::Error::msg)?;
        let store = self.store.open_with(store::Limits {
            capture_events_max: self.events_max,
            ..store::Limits::default()
        })?;
        let limits = DocumentLimits {
            bytes_max: self.bytes_max,
            events_max: self.events_max,
        };
        let bar = ProgressBar::new(self.files.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} documents, {msg} [{elapsed}]")
                .expect("constant template"),
        );
        let (mut stored, mut duplicates, mut rejected) = (0u64, 0u64, 0usize);
        for path in &self.files {
            bar.set_message(format!(
                "{stored} events stored; reading {}",
                path.display()
            ));
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let format = super::file_format(path, &bytes);
            let now_ms = system_clock_ms();
            let req = CaptureRequest {
                id: pipeline::new_capture_id(now_ms),
                owner: owner.clone(),
                now_ms,
                behaviour: if self.proceed {
                    ErrorBehaviour::Proceed
                } else {
                    ErrorBehaviour::Rollback
                },
                events_max: self.events_max,
            };
            let result = pipeline::parse_document(&bytes, format, &limits)
                .and_then(|doc| pipeline::capture(store.as_ref(), &doc, &req));
            match result {
                Ok(job) => {
                    stored += job.stored;
                    duplicates += job.duplicates;
                    say(
                        &bar,
                        format!(
                            "{}: {} stored, {} already stored, job {}",
                            path.display(),
                            job.stored,
                            job.duplicates,
                            job.id
                        ),
                    );
                    for e in &job.errors {
                        say(&bar, format!("{}: left out: {e}", path.display()));
                    }
                }
                Err(PipelineError::Store(e)) => {
                    return Err(e).context(format!("storing {}", path.display()));
                }
                Err(e) => {
                    rejected += 1;
                    say(
                        &bar,
                        format!("{}: rejected, nothing stored: {e}", path.display()),
                    );
                    if let PipelineError::Invalid(issues) = &e {
                        for i in issues.iter().skip(1).take(19) {
                            say(&bar, format!("  {i}"));
                        }
                    }
                }
            }
            bar.inc(1);
        }
        bar.finish_with_message(format!(
            "{stored} events stored, {duplicates} already stored"
        ));
        if rejected > 0 {
            bail!("{rejected} of {} documents rejected", self.files.len());
        }
        Ok(())
    }
}
