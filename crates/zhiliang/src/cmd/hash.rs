//! `zhiliang hash FILE`: the CBV 2.0 event hash of each event, one per line, in document order.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use zhiliang_http::pipeline;

#[derive(Args, Debug)]
pub struct HashArgs {
    /// An EPCIS document (JSON-LD or XML).
    pub file: PathBuf,
}

impl HashArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let bytes = std::fs::read(&self.file)
            .with_context(|| format!("reading {}", self.file.display()))?;
        let format = super::file_format(&self.file, &bytes);
        let hashes = pipeline::document_hashes(&bytes, format)
            .with_context(|| format!("hashing {}", self.file.display()))?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for h in hashes {
            writeln!(out, "{h}")?;
        }
        out.flush()?;
        Ok(())
    }
}
