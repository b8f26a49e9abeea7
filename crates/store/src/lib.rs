//! The storage boundary of zhiliang.
//!
//! Everything above this crate (trace, HTTP, CLI) talks to a [`Store`]; nothing above it knows which
//! backend runs. Every backend must pass the conformance suite in [`conformance`].
//!
//! The trait is synchronous on purpose: callers on an async executor wrap calls in
//! `tokio::task::spawn_blocking`. Backends own their connection pools.
//!
//! Architecture invariant: this crate does no I/O itself and knows nothing about HTTP.

pub mod codec;
pub mod conformance;
mod error;
mod types;

pub use error::StoreError;
pub use types::*;

use epcis::index::EventIndex;
use epcis::query::EventQuery;

/// Limits that every backend enforces on what comes from outside.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most events accepted in one capture document.
    pub capture_events_max: usize,
    /// Most events returned in one page.
    pub page_size_max: usize,
    /// Most identifiers in one `events_touching` batch.
    pub frontier_batch_max: usize,
}

impl Limits {
    /// A requested page size, capped at `page_size_max`.
    pub fn page(&self, requested: usize) -> usize {
        requested.min(self.page_size_max)
    }

    /// Refuses an `events_touching` batch over `frontier_batch_max`.
    pub fn check_frontier(&self, ids: usize) -> Result<(), StoreError> {
        if ids > self.frontier_batch_max {
            return Err(StoreError::LimitExceeded(format!(
                "events_touching takes at most {} identifiers, got {ids}",
                self.frontier_batch_max
            )));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            capture_events_max: 100_000,
            page_size_max: 10_000,
            frontier_batch_max: 10_000,
        }
    }
}

/// The storage trait. All methods are blocking.
///
/// Visibility: every read takes a [`Scope`]; a backend must never return, count or hint at a record
/// outside it (including in errors: an invisible record is reported exactly like a missing one).
pub trait Store: Send + Sync + 'static {
    // ---- capture -------------------------------------------------------------------------------

    /// Store a whole capture document. With [`ErrorBehaviour::Rollback`] either every event is
    /// stored or none is; events already stored (same owner and same `eventID` or same hash) are
    /// counted as duplicates and not stored again. Returns only after the data is durable.
    fn capture(&self, capture: NewCapture) -> Result<CaptureJob, StoreError>;

    /// A capture job, if it exists and is visible in `scope`.
    fn capture_job(&self, scope: &Scope, id: &str) -> Result<Option<CaptureJob>, StoreError>;

    /// Capture jobs visible in `scope`, newest first, at most `limit`, strictly older than `before`
    /// (an opaque cursor returned by a previous call).
    fn capture_jobs(
        &self,
        scope: &Scope,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CaptureJob>, StoreError>;

    // ---- query ---------------------------------------------------------------------------------

    /// Events matching `query` within `scope`, in the query's order, starting after `after`
    /// (the `next` cursor of the previous page), at most `limit`.
    fn query_events(
        &self,
        scope: &Scope,
        query: &EventQuery,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<EventPage, StoreError>;

    /// Distinct values of one vocabulary (event types, bizSteps, dispositions, readPoints,
    /// bizLocations, EPCs) among the events visible in `scope`, sorted, at most `limit`, after `after`.
    fn distinct_values(
        &self,
        scope: &Scope,
        vocabulary: Vocabulary,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// Every event visible in `scope` in which any of `ids` (canonical identifiers, see
    /// `gs1::normalize_id`) appears in any role (object, parent, child, input, output, class).
    /// Used by trace as one batched frontier query; `ids.len()` is at most `Limits::frontier_batch_max`.
    fn events_touching(
        &self,
        scope: &Scope,
        ids: &[String],
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Number of events visible in `scope`.
    fn count_events(&self, scope: &Scope) -> Result<u64, StoreError>;

    // ---- API keys ------------------------------------------------------------------------------

    fn put_key(&self, key: ApiKey) -> Result<(), StoreError>;
    /// The key whose SHA-256 hash (hex) is `hash_hex`, if any (revoked keys included).
    fn key_by_hash(&self, hash_hex: &str) -> Result<Option<ApiKey>, StoreError>;
    fn count_keys(&self) -> Result<u64, StoreError>;
    fn revoke_key(&self, key_id: &str) -> Result<bool, StoreError>;

    // ---- records: named queries, master data, recalls, reports, registers ---------------------

    /// Insert or replace a record. `expected_version` (if given) must match the stored version
    /// (optimistic concurrency; 0 means "must not exist"). Returns the new version.
    fn put_record(
        &self,
        record: NewRecord,
        expected_version: Option<u64>,
    ) -> Result<u64, StoreError>;
    fn get_record(
        &self,
        scope: &Scope,
        collection: &str,
        id: &str,
    ) -> Result<Option<Record>, StoreError>;
    /// Records of a collection visible in `scope`, ordered by id, after `after`, at most `limit`.
    fn list_records(
        &self,
        scope: &Scope,
        collection: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;
    fn delete_record(&self, scope: &Scope, collection: &str, id: &str) -> Result<bool, StoreError>;

    // ---- server state shared by all servers on one store -------------------------------------

    /// A secret shared by every server on this store (page-token signing), created on first use.
    fn server_secret(&self) -> Result<[u8; 32], StoreError>;

    /// Which backend this is ("sqlite", "postgres"), for `/health` and the home page.
    fn backend_name(&self) -> &'static str;
}

/// Convenience re-export so backends and tests agree on the index type.
pub type NewEventIndex = EventIndex;
