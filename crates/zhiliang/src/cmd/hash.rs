//! `zhiliang hash FILE`: the CBV 2.0 event hash of each event, one per line, in document order.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use zhiliang_http::pipeline::{self, Format};

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
        // JSON: each event is hashed from its own text, without a `Value` of the document
        // (the same hashes). Anything that fails goes through the pipeline, for its errors.
        let from_text = match format {
            Format::Json => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| epcis::hash::document_hashes_json(text).ok()),
            Format::Xml => None,
        };
        let hashes = match from_text {
            Some(hashes) => hashes,
            None => pipeline::document_hashes(&bytes, format)
                .with_context(|| format!("hashing {}", self.file.display()))?,
        };
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for h in hashes {
            writeln!(out, "{h}")?;
        }
        out.flush()?;
        Ok(())
    }
}
