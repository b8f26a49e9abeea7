//! One module per subcommand family. Each exposes clap `Args` structs with
//! `fn run(self) -> anyhow::Result<()>`; `main.rs` only wires them.

pub mod capture;
pub mod demo;
pub mod fsma;
pub mod hash;
pub mod key;
pub mod query;
pub mod risk;
pub mod sampling;
pub mod serve;
pub mod trace;

use std::path::Path;

use zhiliang_http::pipeline::Format;

/// The format of a file: by extension (`.xml`), otherwise by its first byte.
pub fn file_format(path: &Path, bytes: &[u8]) -> Format {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("xml") => Format::Xml,
        Some("json" | "jsonld") => Format::Json,
        _ => Format::sniff(bytes),
    }
}
