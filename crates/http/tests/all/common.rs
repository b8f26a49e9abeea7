//! The test harness: a temporary store, keys for every kind of caller, and a request helper.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::{Value, json};
use store::{OrgId, Role, Scope, Store};
use tower::ServiceExt;
use zhiliang_http::{AppState, HttpLimits, app, keys};

pub const GS1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference-data/gs1-EPCIS"
);
pub const OPENEPCIS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference-data/openepcis-test-resources/2.0/EPCIS"
);

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!(
            "zl-http-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The callers of the isolation matrix.
pub struct Keys {
    pub a: String,
    pub b: String,
    pub regulator: String,
    pub admin: String,
    pub public: String,
    pub revoked: String,
}

pub struct Harness {
    pub app: Router,
    pub store: Arc<dyn Store>,
    pub keys: Keys,
    _dir: TempDir,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The problem type (`epcisException:…`) of an error response.
    pub fn problem_type(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text()
        );
        self.json()["type"].as_str().unwrap().to_string()
    }
    /// The target of `Link: <…>; rel="next"`, if any.
    pub fn next_link(&self) -> Option<String> {
        let l = self.header("link")?;
        let start = l.find('<')? + 1;
        let end = l.find('>')?;
        Some(l[start..end].to_string())
    }
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_limits(HttpLimits::default())
    }

    pub fn with_limits(limits: HttpLimits) -> Harness {
        let dir = TempDir::new("app");
        let store_limits = store::Limits {
            capture_events_max: limits.capture_events_max,
            ..store::Limits::default()
        };
        let store: Arc<dyn Store> =
            Arc::new(store_sqlite::SqliteStore::open(&dir.0, store_limits).unwrap());
        let key = |org: &str, role: Role, seed: u8| -> String {
            let (_, s) = keys::create_key(
                store.as_ref(),
                OrgId::parse(org).unwrap(),
                role,
                1,
                [seed; 32],
            )
            .unwrap();
            s.expose().to_string()
        };
        let keys = Keys {
            a: key("orgA", Role::Enterprise, 1),
            b: key("orgB", Role::Enterprise, 2),
            regulator: key("samr", Role::Regulator, 3),
            admin: key("admin", Role::Admin, 4),
            public: key("public", Role::Public, 5),
            revoked: {
                let (k, s) = keys::create_key(
                    store.as_ref(),
                    OrgId::parse("orgA").unwrap(),
                    Role::Enterprise,
                    1,
                    [6; 32],
                )
                .unwrap();
                assert!(store.revoke_key(&k.key_id).unwrap());
                s.expose().to_string()
            },
        };
        let state = AppState::new(store.clone(), limits);
        Harness {
            app: app(state),
            store,
            keys,
            _dir: dir,
        }
    }

    pub fn with_app(mut self, f: impl FnOnce(Arc<dyn Store>) -> AppState) -> Harness {
        self.app = app(f(self.store.clone()));
        self
    }

    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str, key: Option<&str>) -> Resp {
        self.request(Method::GET, uri, key, &[], Body::empty())
            .await
    }

    pub async fn capture(&self, key: &str, doc: &Value) -> Resp {
        let body = serde_json::to_vec(doc).unwrap();
        self.request(
            Method::POST,
            "/epcis/capture",
            Some(key),
            &[("content-type", "application/ld+json")],
            Body::from(body),
        )
        .await
    }

    pub async fn capture_ok(&self, key: &str, doc: &Value) -> Value {
        let r = self.capture(key, doc).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
        r.json()
    }

    /// Every event the key can see through `GET /epcis/events`, following `Link` headers.
    pub async fn all_events(&self, key: &str, query: &str) -> Vec<Value> {
        let mut uri = format!(
            "/epcis/events?perPage=7{}{query}",
            if query.is_empty() { "" } else { "&" }
        );
        let mut out = Vec::new();
        for _ in 0..10_000 {
            let r = self.get(&uri, Some(key)).await;
            assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
            let doc = r.json();
            out.extend(
                doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .cloned(),
            );
            match r.next_link() {
                Some(next) => uri = next,
                None => return out,
            }
        }
        panic!("paging did not end");
    }

    pub fn count(&self, scope: &Scope) -> u64 {
        self.store.count_events(scope).unwrap()
    }
}

/// The eventIDs of events.
pub fn ids(events: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = events
        .iter()
        .map(|e| e["eventID"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// An ObjectEvent of `org_prefix` (a GS1 company prefix) with a client-chosen eventID.
pub fn object_event(id: &str, prefix: &str, serial: u64, biz_step: &str, minute: u32) -> Value {
    let item = if prefix.len() == 7 { "107346" } else { "01734" };
    json!({
        "type": "ObjectEvent",
        "eventID": id,
        "eventTime": format!("2024-03-01T10:{:02}:00.000+01:00", minute % 60),
        "eventTimeZoneOffset": "+01:00",
        "action": "OBSERVE",
        "epcList": [format!("urn:epc:id:sgtin:{prefix}.{item}.{serial}")],
        "bizStep": biz_step,
        "disposition": "in_progress",
        "readPoint": { "id": format!("urn:epc:id:sgln:{prefix}.{}.0", if prefix.len() == 7 { "00001" } else { "0001" }) },
        "bizLocation": { "id": format!("urn:epc:id:sgln:{prefix}.{}.0", if prefix.len() == 7 { "00002" } else { "0002" }) }
    })
}

pub fn document(events: Vec<Value>) -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-03-01T12:00:00.000Z",
        "epcisBody": { "eventList": events }
    })
}

/// Every file under `dir` with extension `ext`, sorted.
pub fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().and_then(|x| x.to_str()) == Some(ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
