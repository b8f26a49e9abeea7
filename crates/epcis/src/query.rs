//! The EPCIS 2.0 query language as a typed value (pure): parsed from REST query parameters
//! (`GET /epcis/events?...`) or from a named query's JSON, executed by the store.

/// How to match one identifier given in a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdMatch {
    /// Canonical identifier (`gs1::normalize_id`).
    Exact(String),
    /// Every canonical identifier starting with this string (from `urn:epc:idpat:…:*`).
    Prefix(String),
}

/// Which identifier roles a `MATCH_*` parameter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchField {
    /// `MATCH_epc`: epcList and childEPCs.
    Epc,
    /// `MATCH_parentID`.
    ParentId,
    /// `MATCH_inputEPC`.
    InputEpc,
    /// `MATCH_outputEPC`.
    OutputEpc,
    /// `MATCH_anyEPC`: epcList, childEPCs, inputEPCList, outputEPCList, parentID.
    AnyEpc,
    /// `MATCH_epcClass`: quantityList and childQuantityList.
    EpcClass,
    /// `MATCH_inputEPCClass`.
    InputEpcClass,
    /// `MATCH_outputEPCClass`.
    OutputEpcClass,
    /// `MATCH_anyEPCClass`: all four quantity lists.
    AnyEpcClass,
}

impl MatchField {
    /// The identifier roles this field covers.
    pub fn roles(self) -> &'static [crate::index::IdRole] {
        use crate::index::IdRole::*;
        match self {
            MatchField::Epc => &[Epc, Child],
            MatchField::ParentId => &[Parent],
            MatchField::InputEpc => &[Input],
            MatchField::OutputEpc => &[Output],
            MatchField::AnyEpc => &[Epc, Child, Input, Output, Parent],
            MatchField::EpcClass => &[Class, ChildClass],
            MatchField::InputEpcClass => &[InputClass],
            MatchField::OutputEpcClass => &[OutputClass],
            MatchField::AnyEpcClass => &[Class, ChildClass, InputClass, OutputClass],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderBy {
    /// `eventTime`
    EventTime,
    /// `recordTime` (the default: stable paging while capture goes on)
    #[default]
    RecordTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

/// A parsed query. Every `Vec` filter is an OR over its values; different filters are ANDed.
/// Empty `Vec` / `None` means "no restriction".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventQuery {
    pub event_types: Vec<String>,
    pub ge_event_time_ms: Option<i64>,
    pub lt_event_time_ms: Option<i64>,
    pub ge_record_time_ms: Option<i64>,
    pub lt_record_time_ms: Option<i64>,
    pub eq_action: Vec<String>,
    /// Full CBV URIs (bare words are expanded on parse).
    pub eq_biz_step: Vec<String>,
    pub eq_disposition: Vec<String>,
    /// Canonical identifiers.
    pub eq_read_point: Vec<String>,
    pub eq_biz_location: Vec<String>,
    /// With descendants: the location or any sub-location (`…/254/…` under the same GLN, or
    /// master-data children when known).
    pub wd_read_point: Vec<String>,
    pub wd_biz_location: Vec<String>,
    /// Each entry is ANDed with the others; within one entry the identifiers are ORed.
    pub matches: Vec<(MatchField, Vec<IdMatch>)>,
    pub eq_event_id: Vec<String>,
    /// `EXISTS_errorDeclaration`
    pub exists_error_declaration: bool,
    /// (type URI, or "" for any type; canonical ids)
    pub eq_biz_transaction: Vec<(String, Vec<String>)>,
    pub eq_source: Vec<(String, Vec<String>)>,
    pub eq_destination: Vec<(String, Vec<String>)>,
    pub order_by: OrderBy,
    pub order_direction: Direction,
    /// `eventCountLimit`: stop after this many events in total.
    pub event_count_limit: Option<usize>,
}
