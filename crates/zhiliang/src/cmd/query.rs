//! `zhiliang query`: the EPCIS query language on the command line, answered like `GET /epcis/events`.

use std::io::Write;

use anyhow::bail;
use clap::Args;
use store::{OrgId, Scope};
use zhiliang_http::{output, params, pipeline, system_clock_ms};

use crate::storeargs::StoreArgs;

#[derive(Args, Debug)]
pub struct QueryArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only events of this organisation (default: every event; this command reads the data
    /// directory directly, like a regulator).
    #[arg(long)]
    pub org: Option<String>,
    /// Write EPCIS 2.0 XML instead of JSON-LD.
    #[arg(long)]
    pub xml: bool,
    /// Most events printed (a page size is applied internally).
    #[arg(long, default_value_t = 1_000_000)]
    pub limit: usize,
    /// Query parameters as in a URL: `MATCH_epc=…&EQ_bizStep=shipping`.
    #[arg(default_value = "")]
    pub query: String,
}

impl QueryArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let limits = zhiliang_http::HttpLimits::default();
        let raw = self.query.trim_start_matches('?');
        let pairs = params::parse(Some(raw), &limits).map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some((k, _)) = pairs
            .iter()
            .find(|(k, _)| k == "perPage" || k == "nextPageToken")
        {
            bail!("{k}: paging is done by this command; use --limit");
        }
        let query = pipeline::event_query(&pairs).map_err(anyhow::Error::msg)?;
        let scope = match &self.org {
            Some(o) => Scope::org(OrgId::parse(o).map_err(anyhow::Error::msg)?),
            None => Scope::All,
        };
        let store = self.store.open()?;
        let total = query
            .event_count_limit
            .unwrap_or(usize::MAX)
            .min(self.limit);
        let page_max = store::Limits::default().page_size_max;
        let mut events = Vec::new();
        let mut after = None;
        while events.len() < total {
            let page = store.query_events(
                &scope,
                &query,
                after.as_ref(),
                page_max.min(total - events.len()),
            )?;
            events.extend(page.events);
            match page.next {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        let doc = output::query_document(&events, "SimpleEventQuery", system_clock_ms());
        let mut out = std::io::stdout().lock();
        if self.xml {
            let xml = pipeline::query_document_xml(&doc).map_err(anyhow::Error::msg)?;
            out.write_all(xml.as_bytes())?;
        } else {
            serde_json::to_writer_pretty(&mut out, &doc)?;
        }
        writeln!(out)?;
        Ok(())
    }
}
