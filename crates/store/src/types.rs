use epcis::index::EventIndex;

/// An organisation identifier (a GLN, a Unified Social Credit Code, or a short name):
/// 1..=128 printable ASCII characters without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(String);

impl OrgId {
    pub fn parse(s: &str) -> Result<OrgId, String> {
        if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "organisation id must be 1 to 128 printable ASCII characters without spaces, got {s:?}"
            ));
        }
        Ok(OrgId(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OrgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Captures events; sees only what its organisation captured (and, later, what partners share).
    Enterprise,
    /// Sees everything; opens recalls, runs draws.
    Regulator,
    /// Everything a regulator can, plus key management.
    Admin,
    /// Sees only published results.
    Public,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Enterprise => "enterprise",
            Role::Regulator => "regulator",
            Role::Admin => "admin",
            Role::Public => "public",
        }
    }
    pub fn parse(s: &str) -> Result<Role, String> {
        match s {
            "enterprise" => Ok(Role::Enterprise),
            "regulator" => Ok(Role::Regulator),
            "admin" => Ok(Role::Admin),
            "public" => Ok(Role::Public),
            _ => Err(format!(
                "role must be one of enterprise, regulator, admin, public; got {s:?}"
            )),
        }
    }
}

/// What a caller may see. Built from the caller's key by the HTTP layer; stores filter by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every record (regulators, admins, and the CLI working directly on a data directory).
    All,
    /// Records owned by any of these organisations (an enterprise, plus partners sharing with it).
    Orgs(Vec<OrgId>),
    /// Nothing owned by anyone (public callers): only records stored with `owner = None`.
    Public,
}

impl Scope {
    pub fn org(org: OrgId) -> Scope {
        Scope::Orgs(vec![org])
    }
    /// Whether a record owned by `owner` (None = public) is visible.
    pub fn sees(&self, owner: Option<&OrgId>) -> bool {
        match (self, owner) {
            (Scope::All, _) => true,
            (_, None) => true,
            (Scope::Orgs(orgs), Some(o)) => orgs.contains(o),
            (Scope::Public, Some(_)) => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorBehaviour {
    /// All or nothing (the EPCIS default).
    Rollback,
    /// Store the valid events, report the invalid ones.
    Proceed,
}

/// One event ready to store: its index (extracted by `epcis::index`) carries the body as received.
pub type NewEvent = EventIndex;

/// A capture document, validated and indexed.
#[derive(Debug, Clone)]
pub struct NewCapture {
    /// Unique id chosen by the caller (e.g. a ULID-like string); becomes the job id.
    pub id: String,
    pub owner: OrgId,
    /// Milliseconds since the Unix epoch; becomes every event's recordTime.
    pub record_time_ms: i64,
    pub behaviour: ErrorBehaviour,
    pub events: Vec<NewEvent>,
    /// Errors found before storing (for `proceed`: the events that were left out), kept in the job.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Success,
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureJob {
    pub id: String,
    pub owner: OrgId,
    pub created_ms: i64,
    pub finished_ms: i64,
    pub status: JobStatus,
    /// Events newly stored by this capture.
    pub stored: u64,
    /// Events that were already stored (same owner and eventID or hash).
    pub duplicates: u64,
    pub errors: Vec<String>,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Store-internal, increasing in capture order (not shown to clients).
    pub seq: i64,
    pub owner: OrgId,
    pub capture_id: String,
    pub event_id: String,
    pub event_hash: String,
    pub event_type: String,
    pub event_time_ms: i64,
    pub record_time_ms: i64,
    /// The event's JSON (JSON-LD form) exactly as captured, with `eventID` added if it had none.
    /// `recordTime` is not in it: add it from `record_time_ms` on output.
    pub body: String,
}

/// Where the next page starts: the sort key and seq of the last event returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub sort_key_ms: i64,
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    pub events: Vec<StoredEvent>,
    /// Present when more events match.
    pub next: Option<Cursor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vocabulary {
    EventType,
    BizStep,
    Disposition,
    ReadPoint,
    BizLocation,
    Epc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub key_id: String,
    /// SHA-256 of the secret, lowercase hex.
    pub hash_hex: String,
    pub org: OrgId,
    pub role: Role,
    pub created_ms: i64,
    pub revoked: bool,
}

/// A JSON record in a named collection ("queries", "organisations", "recalls", ...).
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub collection: String,
    pub id: String,
    /// None: visible to everyone (published).
    pub owner: Option<OrgId>,
    pub updated_ms: i64,
    pub body: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub collection: String,
    pub id: String,
    pub owner: Option<OrgId>,
    pub version: u64,
    pub updated_ms: i64,
    pub body: serde_json::Value,
}
