//! Every error type, the 413 limits (declared, streamed, lying Content-Length, event count), and
//! internal errors that are logged but not shown.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use epcis::query::EventQuery;
use serde_json::json;
use store::*;
use zhiliang_http::{AppState, HttpLimits};

use crate::common::*;

fn small_limits() -> HttpLimits {
    HttpLimits {
        capture_bytes_max: 4096,
        capture_events_max: 3,
        ..HttpLimits::default()
    }
}

fn events(n: u64) -> serde_json::Value {
    document(
        (0..n)
            .map(|i| {
                object_event(
                    &format!("urn:uuid:40000000-0000-4000-8000-{i:012}"),
                    "0614141",
                    i,
                    "shipping",
                    i as u32,
                )
            })
            .collect(),
    )
}

#[tokio::test]
async fn capture_over_the_limits_is_413_before_the_body_is_read_whole() {
    let h = Harness::with_limits(small_limits());
    // Declared too large: refused on Content-Length alone (the body here is tiny).
    let r = h
        .request(
            Method::POST,
            "/epcis/capture",
            Some(&h.keys.a),
            &[
                ("content-type", "application/json"),
                ("content-length", "4097"),
            ],
            Body::from(vec![b' '; 4097]),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.problem_type(),
        "epcisException:CaptureLimitExceededException"
    );
    // Streamed without Content-Length: cut off at the limit.
    let r = h
        .request(
            Method::POST,
            "/epcis/capture",
            Some(&h.keys.a),
            &[("content-type", "application/json")],
            Body::from(vec![b' '; 100_000]),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A lying (small) Content-Length does not help either.
    let r = h
        .request(
            Method::POST,
            "/epcis/capture",
            Some(&h.keys.a),
            &[
                ("content-type", "application/json"),
                ("content-length", "10"),
            ],
            Body::from(vec![b' '; 100_000]),
        )
        .await;
    assert!(
        r.status == StatusCode::PAYLOAD_TOO_LARGE || r.status == StatusCode::BAD_REQUEST,
        "{}",
        r.status
    );
    // More events than GS1-EPCIS-Capture-Limit.
    let r = h.capture(&h.keys.a, &events(4)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert_eq!(
        r.problem_type(),
        "epcisException:CaptureLimitExceededException"
    );
    assert_eq!(h.count(&Scope::All), 0);
    // At the limit it is fine.
    assert_eq!(
        h.capture(&h.keys.a, &events(3)).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn each_exception_type_is_problem_json_with_its_status() {
    let h = Harness::new();
    // ValidationException: not JSON at all.
    let r = h
        .request(
            Method::POST,
            "/epcis/capture",
            Some(&h.keys.a),
            &[("content-type", "application/json")],
            Body::from("{not json"),
        )
        .await;
    assert_eq!(
        (r.status, r.problem_type().as_str()),
        (
            StatusCode::BAD_REQUEST,
            "epcisException:ValidationException"
        )
    );
    // ValidationException: invalid UTF-8.
    let r = h
        .request(
            Method::POST,
            "/epcis/capture",
            Some(&h.keys.a),
            &[("content-type", "application/json")],
            Body::from(vec![0xff, 0xfe]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // 415 for a media type we do not read.
    let r = h
        .request(
            Method::POST,
            "/epcis/capture",
            Some(&h.keys.a),
            &[("content-type", "text/csv")],
            Body::from("a,b"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // QueryParameterException: unknown parameter, bad perPage, bad token, bad encoding.
    for q in [
        "EQ_nonsense=1",
        "perPage=0",
        "perPage=abc",
        "nextPageToken=garbage",
        "GE_eventTime=yesterday",
        "MATCH_epc=%zz",
    ] {
        let r = h.get(&format!("/epcis/events?{q}"), Some(&h.keys.a)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text());
        assert_eq!(
            r.problem_type(),
            "epcisException:QueryParameterException",
            "{q}"
        );
    }
    // SecurityException: 401 without a key, with an unknown key, with a revoked key; 403 for a
    // public key capturing.
    for key in [None, Some("zlk_unknown"), Some(h.keys.revoked.as_str())] {
        let r = h.get("/epcis/events", key).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.problem_type(), "epcisException:SecurityException");
    }
    let r = h.capture(&h.keys.public, &events(1)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.problem_type(), "epcisException:SecurityException");
    // NoSuchResourceException
    for uri in [
        "/epcis/capture/nope",
        "/epcis/events/urn:uuid:nope",
        "/epcis/queries/nope",
        "/epcis/nothing/here",
    ] {
        let r = h.get(uri, Some(&h.keys.a)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(r.problem_type(), "epcisException:NoSuchResourceException");
    }
}

/// A store whose reads fail like a broken disk.
struct BrokenStore(Arc<dyn Store>);

const SECRET_DETAIL: &str = "disk /dev/sda1 on fire at sector 12345";

impl Store for BrokenStore {
    fn capture(&self, c: NewCapture) -> Result<CaptureJob, StoreError> {
        self.0.capture(c)
    }
    fn capture_job(&self, s: &Scope, id: &str) -> Result<Option<CaptureJob>, StoreError> {
        self.0.capture_job(s, id)
    }
    fn capture_jobs(
        &self,
        s: &Scope,
        b: Option<&str>,
        l: usize,
    ) -> Result<Vec<CaptureJob>, StoreError> {
        self.0.capture_jobs(s, b, l)
    }
    fn query_events(
        &self,
        _: &Scope,
        _: &EventQuery,
        _: Option<&Cursor>,
        _: usize,
    ) -> Result<EventPage, StoreError> {
        Err(StoreError::Backend(SECRET_DETAIL.into()))
    }
    fn distinct_values(
        &self,
        s: &Scope,
        v: Vocabulary,
        a: Option<&str>,
        l: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.0.distinct_values(s, v, a, l)
    }
    fn events_touching(&self, s: &Scope, ids: &[String]) -> Result<Vec<StoredEvent>, StoreError> {
        self.0.events_touching(s, ids)
    }
    fn count_events(&self, s: &Scope) -> Result<u64, StoreError> {
        self.0.count_events(s)
    }
    fn put_key(&self, k: ApiKey) -> Result<(), StoreError> {
        self.0.put_key(k)
    }
    fn key_by_hash(&self, h: &str) -> Result<Option<ApiKey>, StoreError> {
        self.0.key_by_hash(h)
    }
    fn count_keys(&self) -> Result<u64, StoreError> {
        self.0.count_keys()
    }
    fn revoke_key(&self, id: &str) -> Result<bool, StoreError> {
        self.0.revoke_key(id)
    }
    fn put_record(&self, r: NewRecord, v: Option<u64>) -> Result<u64, StoreError> {
        self.0.put_record(r, v)
    }
    fn get_record(&self, s: &Scope, c: &str, id: &str) -> Result<Option<Record>, StoreError> {
        self.0.get_record(s, c, id)
    }
    fn list_records(
        &self,
        s: &Scope,
        c: &str,
        a: Option<&str>,
        l: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.0.list_records(s, c, a, l)
    }
    fn delete_record(&self, s: &Scope, c: &str, id: &str) -> Result<bool, StoreError> {
        self.0.delete_record(s, c, id)
    }
    fn server_secret(&self) -> Result<[u8; 32], StoreError> {
        self.0.server_secret()
    }
    fn backend_name(&self) -> &'static str {
        "broken"
    }
}

#[tokio::test]
async fn internal_errors_are_500_implementation_exception_without_detail() {
    let h =
        Harness::new().with_app(|s| AppState::new(Arc::new(BrokenStore(s)), HttpLimits::default()));
    let r = h.get("/epcis/events", Some(&h.keys.a)).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.problem_type(), "epcisException:ImplementationException");
    assert!(
        !r.text().contains("sda1") && !r.text().contains("fire"),
        "{}",
        r.text()
    );
    assert_eq!(r.json()["status"], json!(500));
}
