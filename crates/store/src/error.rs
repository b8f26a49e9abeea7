use thiserror::Error;

/// Errors a store reports. Callers map them to HTTP statuses; their text is for logs, except
/// where noted.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The capture exceeds a limit (text may be shown to the client).
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// An optimistic-concurrency check failed.
    #[error("version conflict on {collection}/{id}")]
    Conflict { collection: String, id: String },
    /// A cursor that this store did not issue or that does not fit the query.
    #[error("invalid cursor")]
    InvalidCursor,
    /// Some events in a `proceed` capture failed (shown to the client).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// Anything the backend itself reports (I/O, SQL, corruption). Never shown to clients.
    #[error("backend error: {0}")]
    Backend(String),
}
