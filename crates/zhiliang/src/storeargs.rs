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
    /// Store URL instead of --data: `sqlite:DIR`, or `postgres://user@host:port/db` (PostgreSQL,
    /// shared by many servers).
    #[arg(long, env = "ZHILIANG_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// PostgreSQL only: accept a database with `synchronous_commit=off` (acknowledged captures may
    /// then be lost in a crash). Refused by default.
    #[arg(long, env = "ZHILIANG_ALLOW_ASYNC_COMMIT")]
    pub allow_async_commit: bool,
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
                let opts = store_postgres::PgOptions {
                    allow_async_commit: self.allow_async_commit,
                    limits,
                    ..Default::default()
                };
                let store = store_postgres::PostgresStore::connect(url, opts)
                    .map_err(|e| anyhow::anyhow!("{e}"))
                    .context("opening the PostgreSQL store")?;
                return Ok(Arc::new(store));
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
            Some(url) => redact_password(url),
            None => self.data.display().to_string(),
        }
    }
}

/// A store URL without its password, for printing.
fn redact_password(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
