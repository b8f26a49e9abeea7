//! Where the data lives, shared by every subcommand that opens a store.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use store::{Limits, Store};

/// `--data DIR` (the embedded store) or `--store URL`.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreArgs {
    /// Data directory of the embedded SQLite store (created if missing).
    #[arg(
        long,
        env = "ZHILIANG_DATA",
        default_value = "./zhiliang-data",
        value_name = "DIR"
    )]
    pub data: PathBuf,
    /// Store URL instead of --data: `sqlite:DIR`, or `postgres://…` (PostgreSQL is not built yet).
    #[arg(long, env = "ZHILIANG_STORE", value_name = "URL")]
    pub store: Option<String>,
}

impl StoreArgs {
    /// Open the store with default limits.
    pub fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        self.open_with(Limits::default())
    }

    /// Open the store with explicit limits.
    pub fn open_with(&self, limits: Limits) -> anyhow::Result<Arc<dyn Store>> {
        let dir = match self.store.as_deref() {
            None => self.data.clone(),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                bail!(
                    "the PostgreSQL store is not built yet; use --data DIR (the embedded store) for now"
                )
            }
            Some(url) => match url.strip_prefix("sqlite:") {
                Some(dir) => PathBuf::from(dir.trim_start_matches("//")),
                None => bail!("unknown store URL {url:?}: use sqlite:DIR or postgres://…"),
            },
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        let store = store_sqlite::SqliteStore::open(&dir, limits)
            .with_context(|| format!("opening the store in {}", dir.display()))?;
        Ok(Arc::new(store))
    }

    /// What to show the user about where the data is.
    pub fn describe(&self) -> String {
        match &self.store {
            Some(url) => url.clone(),
            None => self.data.display().to_string(),
        }
    }
}
