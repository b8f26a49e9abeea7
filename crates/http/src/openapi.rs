//! The OpenAPI 3.1 document this server serves at `/openapi.json`, built from one table of
//! operations. A test calls every operation listed here, so the table and the router agree.

use serde_json::{Map, Value, json};

/// What an operation takes beyond authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    None,
    /// EPCIS query parameters plus paging.
    EventQuery,
    /// `perPage` and `nextPageToken` only.
    Paging,
    /// An EPCIS document (JSON-LD or XML).
    CaptureDocument,
    /// One EPCIS event (JSON).
    Event,
    /// A named query definition.
    QueryDefinition,
}

/// One operation: method, path (with `{param}`s), summary, whether it needs a key, input, success status.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub auth: bool,
    pub input: Input,
    pub success: u16,
}

const fn op(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: bool,
    input: Input,
    success: u16,
) -> Operation {
    Operation {
        method,
        path,
        summary,
        auth,
        input,
        success,
    }
}

/// Every operation of the server.
pub const OPERATIONS: &[Operation] = &[
    op(
        "get",
        "/",
        "Home page: what this server is and where its API is",
        false,
        Input::None,
        200,
    ),
    op(
        "get",
        "/health",
        "Liveness and backend",
        false,
        Input::None,
        200,
    ),
    op(
        "get",
        "/openapi.json",
        "This document",
        false,
        Input::None,
        200,
    ),
    op(
        "get",
        "/epcis",
        "Top-level EPCIS resources",
        true,
        Input::None,
        200,
    ),
    op(
        "options",
        "/epcis/capture",
        "Capture limits and error behaviours",
        false,
        Input::None,
        204,
    ),
    op(
        "post",
        "/epcis/capture",
        "Capture an EPCIS document (all-or-nothing unless GS1-Capture-Error-Behaviour: proceed); 202 once durable",
        true,
        Input::CaptureDocument,
        202,
    ),
    op(
        "get",
        "/epcis/capture",
        "Capture jobs of the caller's organisation, newest first",
        true,
        Input::Paging,
        200,
    ),
    op(
        "get",
        "/epcis/capture/{captureID}",
        "One capture job",
        true,
        Input::None,
        200,
    ),
    op(
        "get",
        "/epcis/events",
        "Query events (EPCIS 2.0 query parameters)",
        true,
        Input::EventQuery,
        200,
    ),
    op(
        "post",
        "/epcis/events",
        "Capture one event; 201 once durable",
        true,
        Input::Event,
        201,
    ),
    op(
        "get",
        "/epcis/events/{eventID}",
        "One event by eventID",
        true,
        Input::None,
        200,
    ),
    op(
        "get",
        "/epcis/eventTypes",
        "Event types in the caller's events",
        true,
        Input::Paging,
        200,
    ),
    op(
        "get",
        "/epcis/eventTypes/{eventType}",
        "Sub-resources of an event type",
        true,
        Input::None,
        200,
    ),
    op(
        "get",
        "/epcis/eventTypes/{eventType}/events",
        "Events of one type",
        true,
        Input::EventQuery,
        200,
    ),
    op(
        "get",
        "/epcis/epcs",
        "EPCs in the caller's events (canonical form)",
        true,
        Input::Paging,
        200,
    ),
    op(
        "get",
        "/epcis/epcs/{epc}",
        "Sub-resources of an EPC",
        true,
        Input::None,
        200,
    ),
    op(
        "get",
        "/epcis/epcs/{epc}/events",
        "Events naming an EPC in any role (EPC URI or Digital Link)",
        true,
        Input::EventQuery,
        200,
    ),
    op(
        "get",
        "/epcis/bizSteps",
        "Business steps in the caller's events",
        true,
        Input::Paging,
        200,
    ),
    op(
        "get",
        "/epcis/bizSteps/{bizStep}",
        "Sub-resources of a business step",
        true,
        Input::None,
        200,
    ),
    op(
        "get",
        "/epcis/bizSteps/{bizStep}/events",
        "Events with a business step",
        true,
        Input::EventQuery,
        200,
    ),
    op(
        "get",
        "/epcis/bizLocations",
        "Business locations in the caller's events",
        true,
        Input::Paging,
        200,
    ),
    op(
        "get",
        "/epcis/bizLocations/{bizLocation}",
        "Sub-resources of a business location",
        true,
        Input::None,
        200,
    ),
    op(
        "get",
        "/epcis/bizLocations/{bizLocation}/events",
        "Events at a business location",
        true,
        Input::EventQuery,
        200,
    ),
    op(
        "get",
        "/epcis/readPoints",
        "Read points in the caller's events",
        true,
        Input::Paging,
        200,
    ),
    op(
        "get",
        "/epcis/readPoints/{readPoint}",
        "Sub-resources of a read point",
        true,
        Input::None,
        200,
    ),
    op(
        "get",
        "/epcis/readPoints/{readPoint}/events",
        "Events at a read point",
        true,
        Input::EventQuery,
        200,
    ),
    op(
        "get",
        "/epcis/dispositions",
        "Dispositions in the caller's events",
        true,
        Input::Paging,
        200,
    ),
    op(
        "get",
        "/epcis/dispositions/{disposition}",
        "Sub-resources of a disposition",
        true,
        Input::None,
        200,
    ),
    op(
        "get",
        "/epcis/dispositions/{disposition}/events",
        "Events with a disposition",
        true,
        Input::EventQuery,
        200,
    ),
    op(
        "get",
        "/epcis/queries",
        "Named queries of the caller's organisation",
        true,
        Input::Paging,
        200,
    ),
    op(
        "post",
        "/epcis/queries",
        "Create a named query",
        true,
        Input::QueryDefinition,
        201,
    ),
    op(
        "get",
        "/epcis/queries/{queryName}",
        "A named query's definition",
        true,
        Input::None,
        200,
    ),
    op(
        "delete",
        "/epcis/queries/{queryName}",
        "Delete a named query",
        true,
        Input::None,
        204,
    ),
    op(
        "get",
        "/epcis/queries/{queryName}/events",
        "Run a named query",
        true,
        Input::Paging,
        200,
    ),
];

/// The standard query parameters of `GET /epcis/events` (each pipe-delimited where it takes a list).
pub const QUERY_PARAMETERS: &[&str] = &[
    "eventType",
    "GE_eventTime",
    "LT_eventTime",
    "GE_recordTime",
    "LT_recordTime",
    "EQ_action",
    "EQ_bizStep",
    "EQ_disposition",
    "EQ_readPoint",
    "EQ_bizLocation",
    "WD_readPoint",
    "WD_bizLocation",
    "MATCH_epc",
    "MATCH_parentID",
    "MATCH_inputEPC",
    "MATCH_outputEPC",
    "MATCH_anyEPC",
    "MATCH_epcClass",
    "MATCH_inputEPCClass",
    "MATCH_outputEPCClass",
    "MATCH_anyEPCClass",
    "EQ_eventID",
    "EQ_transformationID",
    "EXISTS_errorDeclaration",
    "orderBy",
    "orderDirection",
    "eventCountLimit",
];

/// A response described as an RFC 7807 problem.
pub(crate) fn problem(description: &str) -> Value {
    json!({ "description": description, "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

/// The error responses every `/api` operation has: 400 naming the field and the rule, 401, 403, and
/// 404 when the path names a resource.
pub(crate) fn error_responses(responses: &mut Map<String, Value>, path: &str) {
    responses.insert(
        "400".into(),
        problem("ValidationException or QueryParameterException naming the field and the rule"),
    );
    responses.insert(
        "401".into(),
        problem("SecurityException: missing, unknown or revoked key"),
    );
    responses.insert(
        "403".into(),
        problem("SecurityException: the key's role may not do this"),
    );
    if path.contains('{') {
        responses.insert("404".into(), problem("NoSuchResourceException"));
    }
}

fn param(name: &str, location: &str, description: &str) -> Value {
    json!({ "name": name, "in": location, "required": location == "path", "description": description, "schema": { "type": "string" } })
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for o in OPERATIONS {
        let mut parameters: Vec<Value> = o
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|p| param(p, "path", "URL-encoded"))
            .collect();
        if matches!(o.input, Input::EventQuery | Input::Paging) {
            parameters.push(param(
                "perPage",
                "query",
                "events (or items) per page, default 30",
            ));
            parameters.push(param(
                "nextPageToken",
                "query",
                "from the Link header of the previous page",
            ));
        }
        if o.input == Input::EventQuery {
            for p in QUERY_PARAMETERS {
                parameters.push(param(
                    p,
                    "query",
                    "EPCIS 2.0 query parameter (lists pipe-delimited)",
                ));
            }
            parameters.push(param(
                "EQ_bizTransaction_{type}",
                "query",
                "business transaction of a type",
            ));
            parameters.push(param("EQ_source_{type}", "query", "source of a type"));
            parameters.push(param(
                "EQ_destination_{type}",
                "query",
                "destination of a type",
            ));
        }
        if o.input == Input::CaptureDocument {
            parameters.push(param(
                "GS1-Capture-Error-Behaviour",
                "header",
                "rollback (default) or proceed",
            ));
        }
        let mut responses = Map::new();
        let ok = match (o.success, o.input) {
            (202, _) => {
                json!({ "description": "Accepted and durable; Location names the capture job" })
            }
            (201, _) => json!({ "description": "Created; Location names the resource" }),
            (204, _) => json!({ "description": "No content" }),
            (_, Input::EventQuery) => {
                json!({ "description": "An EPCISQueryDocument (JSON-LD, or XML on Accept: application/xml); Link rel=next when more" })
            }
            _ => json!({ "description": "OK" }),
        };
        responses.insert(o.success.to_string(), ok);
        if o.auth {
            responses.insert(
                "401".into(),
                problem("SecurityException: missing, unknown or revoked key"),
            );
        }
        if matches!(
            o.input,
            Input::CaptureDocument | Input::Event | Input::QueryDefinition
        ) {
            responses.insert(
                "400".into(),
                problem("ValidationException naming the field and the rule"),
            );
            responses.insert("413".into(), problem("CaptureLimitExceededException"));
        }
        if matches!(o.input, Input::EventQuery | Input::Paging) {
            responses.insert("400".into(), problem("QueryParameterException"));
        }
        if o.path.contains('{') {
            responses.insert(
                "404".into(),
                problem("NoSuchResourceException (also for resources of other organisations)"),
            );
        }
        responses.insert("500".into(), problem("ImplementationException"));
        let mut operation = json!({
            "summary": o.summary,
            "operationId": format!("{}{}", o.method, o.path.replace(['/', '{', '}', '.'], "_")),
            "parameters": parameters,
            "responses": responses,
        });
        if o.auth {
            operation["security"] = json!([{ "bearer": [] }]);
        }
        if matches!(
            o.input,
            Input::CaptureDocument | Input::Event | Input::QueryDefinition
        ) {
            operation["requestBody"] = json!({ "required": true, "content": match o.input {
                Input::CaptureDocument => json!({ "application/ld+json": {}, "application/json": {}, "application/xml": {} }),
                Input::QueryDefinition => json!({ "application/json": { "schema": { "type": "object", "required": ["name", "query"], "properties": { "name": { "type": "string" }, "query": { "type": "object" } } } } }),
                _ => json!({ "application/json": {} }),
            }});
        }
        let entry = paths.entry(o.path.to_string()).or_insert_with(|| json!({}));
        entry[o.method] = operation;
    }
    crate::api::openapi_paths(&mut paths);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "zhiliang EPCIS 2.0 repository",
            "version": crate::VERSION,
            "description": "GS1 EPCIS 2.0 REST bindings (capture, query, browse, named queries) with per-organisation visibility. Errors are RFC 7807 problem documents with EPCIS exception types."
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title"],
                    "properties": {
                        "type": { "type": "string" }, "title": { "type": "string" },
                        "status": { "type": "integer" }, "detail": { "type": "string" },
                        "field": { "type": "string" }, "rule": { "type": "string" }
                    }
                }
            }
        }
    })
}
