//! The one error type of the HTTP layer: every handler returns `Result<_, ApiError>`, and this file
//! is the one table from error to status, EPCIS exception type and text. Internal errors are logged
//! with their detail and shown to the client only as "internal error".

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use store::StoreError;

use crate::pipeline::{Issue, PipelineError};

/// Most validation issues listed in one problem response.
const ISSUES_SHOWN_MAX: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the document or event is invalid; nothing was stored.
    #[error("validation failed")]
    Validation(Vec<Issue>),
    /// 400: a query parameter (or named-query definition, or page token) is invalid.
    #[error("{0}")]
    QueryParameter(String),
    /// 413: a capture over the advertised limits.
    #[error("{0}")]
    CaptureLimitExceeded(String),
    /// 401: no key, unknown key, revoked key.
    #[error("a valid API key is required (Authorization: Bearer <key>)")]
    Unauthenticated,
    /// 403: a valid key whose role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: missing or not visible to the caller (never say which).
    #[error("{0}")]
    NoSuchResource(String),
    /// 409: a named query of that name exists (in the caller's own organisation).
    #[error("{0}")]
    AlreadyExists(String),
    /// 413 for non-capture bodies (named queries, single events).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 406
    #[error("{0}")]
    NotAcceptable(String),
    /// 500: logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn validation(pointer: &str, rule: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![Issue {
            pointer: pointer.to_string(),
            rule: rule.into(),
        }])
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            Validation(_) => (
                StatusCode::BAD_REQUEST,
                "ValidationException",
                "Invalid EPCIS document or event",
            ),
            QueryParameter(_) => (
                StatusCode::BAD_REQUEST,
                "QueryParameterException",
                "Invalid query parameter",
            ),
            CaptureLimitExceeded(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "CaptureLimitExceededException",
                "Capture limit exceeded",
            ),
            Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "SecurityException",
                "Not authenticated",
            ),
            Forbidden(_) => (StatusCode::FORBIDDEN, "SecurityException", "Not allowed"),
            NoSuchResource(_) => (
                StatusCode::NOT_FOUND,
                "NoSuchResourceException",
                "No such resource",
            ),
            AlreadyExists(_) => (
                StatusCode::CONFLICT,
                "ResourceAlreadyExistsException",
                "Resource already exists",
            ),
            PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "QueryTooLargeException",
                "Request too large",
            ),
            UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "ValidationException",
                "Unsupported media type",
            ),
            NotAcceptable(_) => (
                StatusCode::NOT_ACCEPTABLE,
                "NotAcceptableException",
                "Not acceptable",
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "ImplementationException",
                "Internal error",
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::LimitExceeded(m) => ApiError::CaptureLimitExceeded(m),
            StoreError::InvalidCursor => {
                ApiError::QueryParameter("nextPageToken: not valid for this query".into())
            }
            StoreError::Invalid(m) => ApiError::validation("", m),
            StoreError::Conflict { .. } => {
                ApiError::AlreadyExists("the resource already exists".into())
            }
            StoreError::Backend(m) => ApiError::Internal(format!("store: {m}")),
        }
    }
}

impl From<PipelineError> for ApiError {
    fn from(e: PipelineError) -> ApiError {
        match e {
            PipelineError::Invalid(issues) => ApiError::Validation(issues),
            e @ (PipelineError::TooManyEvents { .. } | PipelineError::TooLarge { .. }) => {
                ApiError::CaptureLimitExceeded(e.to_string())
            }
            PipelineError::Store(s) => s.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = self.parts();
        let mut body = json!({
            "type": format!("epcisException:{kind}"),
            "title": title,
            "status": status.as_u16(),
        });
        match &self {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                body["detail"] = json!("internal error; see the server log");
            }
            ApiError::Validation(issues) => {
                let first = issues.first();
                body["detail"] = json!(
                    first
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "invalid".into())
                );
                if let Some(i) = first {
                    body["field"] = json!(i.pointer);
                    body["rule"] = json!(i.rule);
                }
                body["issues"] = issues
                    .iter()
                    .take(ISSUES_SHOWN_MAX)
                    .map(|i| json!({ "field": i.pointer, "rule": i.rule }))
                    .collect();
            }
            other => body["detail"] = json!(other.to_string()),
        }
        let mut resp = (status, body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
