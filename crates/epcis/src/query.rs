//! The EPCIS 2.0 query language as a typed value (pure): parsed from REST query parameters
//! (`GET /epcis/events?...`) or from a named query's JSON, executed by the store.
//!
//! List parameters follow the REST bindings' `pipeDelimited` style (`EQ_bizStep=shipping|receiving`);
//! commas are accepted as separators too (the EPCIS 1.x habit), and a repeated parameter adds its
//! values (OR). A literal `|` or `,` inside one value cannot be expressed in the REST form; the JSON
//! form (arrays) takes values as they are.

use crate::index::{CbvVocab, expand_cbv, parse_time_ms};
use thiserror::Error;

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
    /// `EQ_transformationID`: exact transformation IDs (any URI, compared as given).
    TransformationId,
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
            MatchField::TransformationId => &[TransformationId],
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
    /// `EQ_quantity` (any of), `GT_`/`GE_`/`LT_`/`LE_quantity`: the event has a quantity element
    /// (in any quantity list) whose `quantity` satisfies all of the given comparisons.
    pub eq_quantity: Vec<f64>,
    pub gt_quantity: Option<f64>,
    pub ge_quantity: Option<f64>,
    pub lt_quantity: Option<f64>,
    pub le_quantity: Option<f64>,
}

impl EventQuery {
    /// Whether the query has any quantity condition.
    pub fn has_quantity_filter(&self) -> bool {
        !self.eq_quantity.is_empty()
            || self.gt_quantity.is_some()
            || self.ge_quantity.is_some()
            || self.lt_quantity.is_some()
            || self.le_quantity.is_some()
    }

    /// Whether one quantity satisfies every quantity condition of the query.
    pub fn quantity_matches(&self, q: f64) -> bool {
        (self.eq_quantity.is_empty() || self.eq_quantity.contains(&q))
            && self.gt_quantity.is_none_or(|b| q > b)
            && self.ge_quantity.is_none_or(|b| q >= b)
            && self.lt_quantity.is_none_or(|b| q < b)
            && self.le_quantity.is_none_or(|b| q <= b)
    }
}

/// A query parameter that breaks a rule. `param` is the parameter's name as given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("query parameter {param}: {rule}")]
pub struct QueryParamError {
    pub param: String,
    pub rule: String,
}

fn perr(param: &str, rule: impl Into<String>) -> QueryParamError {
    QueryParamError {
        param: param.to_string(),
        rule: rule.into(),
    }
}

/// Most parameters in one query.
pub const PARAMS_MAX: usize = 256;
/// Most values in one list parameter (after splitting and repetition).
pub const VALUES_PER_PARAM_MAX: usize = 1_000;
/// Longest single value (characters).
pub const VALUE_LEN_MAX: usize = 2_048;
/// Largest `eventCountLimit` accepted.
pub const EVENT_COUNT_LIMIT_MAX: usize = 10_000_000;

/// Parameters that the query language leaves to the HTTP layer (paging).
pub const PAGING_PARAMS: [&str; 2] = ["perPage", "nextPageToken"];

/// Whether a suffix of `EQ_bizTransaction_<type>` etc. is well formed (`[a-z][a-zA-Z0-9_]+` as in
/// the REST bindings' query schema).
fn valid_type_suffix(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 2
        && b.len() <= 128
        && b[0].is_ascii_lowercase()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn split_values(v: &str) -> Vec<&str> {
    v.split(['|', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

#[derive(Default)]
struct Builder {
    q: EventQuery,
    order_by: Option<OrderBy>,
    order_direction: Option<Direction>,
    seen_single: Vec<String>,
    match_index: Vec<(MatchField, usize)>,
}

impl Builder {
    fn single(&mut self, name: &str) -> Result<(), QueryParamError> {
        if self.seen_single.iter().any(|n| n == name) {
            return Err(perr(name, "may be given only once"));
        }
        self.seen_single.push(name.to_string());
        Ok(())
    }

    fn add(&mut self, name: &str, values: Vec<&str>, raw: &str) -> Result<(), QueryParamError> {
        if raw.len() > VALUE_LEN_MAX * 4 {
            return Err(perr(
                name,
                format!("value longer than {} characters", VALUE_LEN_MAX * 4),
            ));
        }
        for v in &values {
            if v.len() > VALUE_LEN_MAX {
                return Err(perr(
                    name,
                    format!("a value is longer than {VALUE_LEN_MAX} characters"),
                ));
            }
        }
        let list = |what: &str| -> Result<Vec<&str>, QueryParamError> {
            if values.is_empty() {
                return Err(perr(name, format!("needs at least one {what}")));
            }
            Ok(values.clone())
        };
        let time = |b: &mut Builder| -> Result<i64, QueryParamError> {
            b.single(name)?;
            parse_time_ms(raw.trim()).map_err(|r| perr(name, r))
        };
        match name {
            "eventType" => {
                for v in list("event type")? {
                    let ok = v
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':');
                    if !ok || !v.as_bytes()[0].is_ascii_alphabetic() {
                        return Err(perr(name, format!("{v:?} is not an event type name")));
                    }
                    self.q.event_types.push(v.to_string());
                }
            }
            "GE_eventTime" => self.q.ge_event_time_ms = Some(time(self)?),
            "LT_eventTime" => self.q.lt_event_time_ms = Some(time(self)?),
            "GE_recordTime" => self.q.ge_record_time_ms = Some(time(self)?),
            "LT_recordTime" => self.q.lt_record_time_ms = Some(time(self)?),
            "EQ_action" => {
                for v in list("action")? {
                    match v {
                        "ADD" | "OBSERVE" | "DELETE" => self.q.eq_action.push(v.to_string()),
                        _ => {
                            return Err(perr(
                                name,
                                format!("must be ADD, OBSERVE or DELETE, got {v:?}"),
                            ));
                        }
                    }
                }
            }
            "EQ_bizStep" => {
                for v in list("bizStep")? {
                    self.q.eq_biz_step.push(expand_cbv(CbvVocab::BizStep, v));
                }
            }
            "EQ_disposition" => {
                for v in list("disposition")? {
                    self.q
                        .eq_disposition
                        .push(expand_cbv(CbvVocab::Disposition, v));
                }
            }
            "EQ_readPoint" => self
                .q
                .eq_read_point
                .extend(list("location URI")?.into_iter().map(gs1::normalize_id)),
            "EQ_bizLocation" => self
                .q
                .eq_biz_location
                .extend(list("location URI")?.into_iter().map(gs1::normalize_id)),
            "WD_readPoint" => self
                .q
                .wd_read_point
                .extend(list("location URI")?.into_iter().map(gs1::normalize_id)),
            "WD_bizLocation" => self
                .q
                .wd_biz_location
                .extend(list("location URI")?.into_iter().map(gs1::normalize_id)),
            "EQ_eventID" => self
                .q
                .eq_event_id
                .extend(list("event ID")?.into_iter().map(str::to_string)),
            "EXISTS_errorDeclaration" => {
                self.single(name)?;
                self.q.exists_error_declaration = match raw.trim() {
                    "" | "true" | "1" => true,
                    "false" | "0" => false,
                    v => {
                        return Err(perr(
                            name,
                            format!("must be empty, true or false, got {v:?}"),
                        ));
                    }
                };
            }
            "orderBy" => {
                self.single(name)?;
                self.order_by = Some(match raw.trim() {
                    "eventTime" => OrderBy::EventTime,
                    "recordTime" => OrderBy::RecordTime,
                    v => {
                        return Err(perr(
                            name,
                            format!("must be eventTime or recordTime, got {v:?}"),
                        ));
                    }
                });
            }
            "orderDirection" => {
                self.single(name)?;
                self.order_direction = Some(match raw.trim() {
                    "ASC" => Direction::Asc,
                    "DESC" => Direction::Desc,
                    v => return Err(perr(name, format!("must be ASC or DESC, got {v:?}"))),
                });
            }
            "EQ_quantity" => {
                for v in list("number")? {
                    self.q.eq_quantity.push(number(name, v)?);
                }
            }
            "GT_quantity" | "GE_quantity" | "LT_quantity" | "LE_quantity" => {
                self.single(name)?;
                let n = Some(number(name, raw.trim())?);
                match name {
                    "GT_quantity" => self.q.gt_quantity = n,
                    "GE_quantity" => self.q.ge_quantity = n,
                    "LT_quantity" => self.q.lt_quantity = n,
                    _ => self.q.le_quantity = n,
                }
            }
            "eventCountLimit" => {
                self.single(name)?;
                let n: usize = raw
                    .trim()
                    .parse()
                    .map_err(|_| perr(name, format!("must be a positive integer, got {raw:?}")))?;
                if n == 0 || n > EVENT_COUNT_LIMIT_MAX {
                    return Err(perr(
                        name,
                        format!("must be between 1 and {EVENT_COUNT_LIMIT_MAX}"),
                    ));
                }
                self.q.event_count_limit = Some(n);
            }
            "EQ_transformationID" => {
                let field = MatchField::TransformationId;
                let pats: Vec<IdMatch> = list("transformationID")?
                    .into_iter()
                    .map(|v| IdMatch::Exact(v.trim().to_string()))
                    .collect();
                if let Some(&(_, i)) = self.match_index.iter().find(|(f, _)| *f == field) {
                    self.q.matches[i].1.extend(pats);
                } else {
                    self.match_index.push((field, self.q.matches.len()));
                    self.q.matches.push((field, pats));
                }
            }
            _ => {
                if let Some(field) = match_field(name) {
                    let mut pats = Vec::new();
                    for v in list("identifier")? {
                        let p = gs1::parse_id_pattern(v)
                            .map_err(|r| perr(name, format!("{v:?}: {r}")))?;
                        pats.push(match p {
                            gs1::IdPattern::Exact(s) => IdMatch::Exact(s),
                            gs1::IdPattern::Prefix(s) => IdMatch::Prefix(s),
                        });
                    }
                    // Repeating one MATCH_ parameter ORs its values, like the other lists.
                    if let Some(&(_, i)) = self.match_index.iter().find(|(f, _)| *f == field) {
                        self.q.matches[i].1.extend(pats);
                    } else {
                        self.match_index.push((field, self.q.matches.len()));
                        self.q.matches.push((field, pats));
                    }
                } else if let Some((kind, ty)) = link_param(name) {
                    if !valid_type_suffix(ty) {
                        return Err(perr(
                            name,
                            "the type after the prefix must match [a-z][a-zA-Z0-9_]+",
                        ));
                    }
                    let vocab = if kind == 0 {
                        CbvVocab::BizTransactionType
                    } else {
                        CbvVocab::SourceDestType
                    };
                    let ty = expand_cbv(vocab, ty);
                    let ids: Vec<String> = list("identifier")?
                        .into_iter()
                        .map(gs1::normalize_id)
                        .collect();
                    let target = match kind {
                        0 => &mut self.q.eq_biz_transaction,
                        1 => &mut self.q.eq_source,
                        _ => &mut self.q.eq_destination,
                    };
                    if let Some(e) = target.iter_mut().find(|(t, _)| *t == ty) {
                        e.1.extend(ids);
                    } else {
                        target.push((ty, ids));
                    }
                } else {
                    return Err(perr(name, "unknown or unsupported query parameter"));
                }
            }
        }
        let too_many = [
            self.q.event_types.len(),
            self.q.eq_action.len(),
            self.q.eq_biz_step.len(),
            self.q.eq_disposition.len(),
            self.q.eq_read_point.len(),
            self.q.eq_biz_location.len(),
            self.q.wd_read_point.len(),
            self.q.wd_biz_location.len(),
            self.q.eq_event_id.len(),
            self.q.eq_quantity.len(),
        ]
        .into_iter()
        .chain(self.q.matches.iter().map(|m| m.1.len()))
        .chain(self.q.eq_biz_transaction.iter().map(|m| m.1.len()))
        .chain(self.q.eq_source.iter().map(|m| m.1.len()))
        .chain(self.q.eq_destination.iter().map(|m| m.1.len()))
        .any(|n| n > VALUES_PER_PARAM_MAX);
        if too_many {
            return Err(perr(
                name,
                format!("more than {VALUES_PER_PARAM_MAX} values"),
            ));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<EventQuery, QueryParamError> {
        if self.q.event_count_limit.is_some() && self.order_by.is_none() {
            return Err(perr(
                "eventCountLimit",
                "may only be used together with orderBy",
            ));
        }
        if let Some(o) = self.order_by {
            self.q.order_by = o;
            // The standard's default direction when orderBy is given.
            self.q.order_direction = self.order_direction.unwrap_or(Direction::Desc);
        } else if let Some(d) = self.order_direction {
            self.q.order_direction = d;
        }
        if let (Some(ge), Some(lt)) = (self.q.ge_event_time_ms, self.q.lt_event_time_ms)
            && ge > lt
        {
            return Err(perr("GE_eventTime", "must not be later than LT_eventTime"));
        }
        if let (Some(ge), Some(lt)) = (self.q.ge_record_time_ms, self.q.lt_record_time_ms)
            && ge > lt
        {
            return Err(perr(
                "GE_recordTime",
                "must not be later than LT_recordTime",
            ));
        }
        Ok(self.q)
    }
}

fn number(name: &str, v: &str) -> Result<f64, QueryParamError> {
    match v.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(perr(name, format!("must be a number, got {v:?}"))),
    }
}

fn match_field(name: &str) -> Option<MatchField> {
    Some(match name {
        "MATCH_epc" => MatchField::Epc,
        "MATCH_parentID" => MatchField::ParentId,
        "MATCH_inputEPC" => MatchField::InputEpc,
        "MATCH_outputEPC" => MatchField::OutputEpc,
        "MATCH_anyEPC" => MatchField::AnyEpc,
        "MATCH_epcClass" => MatchField::EpcClass,
        "MATCH_inputEPCClass" => MatchField::InputEpcClass,
        "MATCH_outputEPCClass" => MatchField::OutputEpcClass,
        "MATCH_anyEPCClass" => MatchField::AnyEpcClass,
        _ => return None,
    })
}

/// `EQ_bizTransaction_<t>` -> (0, t), `EQ_source_<t>` -> (1, t), `EQ_destination_<t>` -> (2, t).
fn link_param(name: &str) -> Option<(u8, &str)> {
    if let Some(t) = name.strip_prefix("EQ_bizTransaction_") {
        return Some((0, t));
    }
    if let Some(t) = name.strip_prefix("EQ_source_") {
        return Some((1, t));
    }
    name.strip_prefix("EQ_destination_").map(|t| (2, t))
}

impl EventQuery {
    /// Parse REST query parameters (already percent-decoded, in order). `perPage` and
    /// `nextPageToken` are skipped (HTTP handles paging); any other unknown parameter is an error.
    pub fn from_params(params: &[(String, String)]) -> Result<EventQuery, QueryParamError> {
        if params.len() > PARAMS_MAX {
            return Err(perr("query", format!("more than {PARAMS_MAX} parameters")));
        }
        let mut b = Builder::default();
        for (name, value) in params {
            if PAGING_PARAMS.contains(&name.as_str()) {
                continue;
            }
            b.add(name, split_values(value), value)?;
        }
        b.finish()
    }

    /// Parse the JSON form of a query (the `query` object of a named query in the REST bindings,
    /// `query-schema.json`): list parameters are arrays of strings (taken as they are, not split),
    /// times are strings, `EXISTS_errorDeclaration` is null, a boolean or an integer,
    /// `eventCountLimit` an integer. `@context` is ignored.
    pub fn from_json(query: &serde_json::Value) -> Result<EventQuery, QueryParamError> {
        use serde_json::Value;
        let Value::Object(obj) = query else {
            return Err(perr("query", "must be a JSON object"));
        };
        if obj.len() > PARAMS_MAX {
            return Err(perr("query", format!("more than {PARAMS_MAX} parameters")));
        }
        let mut b = Builder::default();
        for (name, value) in obj {
            if name == "@context" || PAGING_PARAMS.contains(&name.as_str()) {
                continue;
            }
            match value {
                Value::Array(items) => {
                    if items.len() > VALUES_PER_PARAM_MAX {
                        return Err(perr(
                            name,
                            format!("more than {VALUES_PER_PARAM_MAX} values"),
                        ));
                    }
                    let mut vals = Vec::with_capacity(items.len());
                    for it in items {
                        match it {
                            Value::String(s) => vals.push(s.as_str()),
                            _ => return Err(perr(name, "array items must be strings")),
                        }
                    }
                    let joined = vals.first().copied().unwrap_or("");
                    if vals.is_empty() {
                        return Err(perr(name, "needs at least one value"));
                    }
                    // Scalar parameters given as a one-element array are tolerated.
                    b.add(
                        name,
                        vals.clone(),
                        if vals.len() == 1 { joined } else { "" },
                    )?;
                }
                Value::String(s) => b.add(name, vec![s.as_str()], s)?,
                Value::Number(n) => {
                    let s = n.to_string();
                    b.add(name, vec![s.as_str()], &s)?
                }
                Value::Bool(v) => {
                    let s = v.to_string();
                    b.add(name, vec![s.as_str()], &s)?
                }
                Value::Null => b.add(name, vec![], "")?,
                Value::Object(_) => return Err(perr(name, "must be a string, number or array")),
            }
        }
        b.finish()
    }
}
