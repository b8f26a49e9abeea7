//! `/api/reports`, `/api/vocabulary`, `/api/signals`, `/api/risk/assessments`, `/api/alerts`:
//! every route, validation errors naming the field, duplicates, the overdue view on an injected
//! clock, redacted publication, isolation between enterprises, and the chain
//! signal -> assessment -> recall proposal. Expected values come from counts written plainly here,
//! from the pure `risk` crate called directly (the API must agree with it), or from properties.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use store::Scope;
use zhiliang_http::{AppState, HttpLimits};

use crate::common::{Harness, Resp, document, object_event};

const DAY: i64 = 86_400_000;

async fn send(h: &Harness, method: Method, uri: &str, key: &str, ct: &str, body: String) -> Resp {
    h.request(
        method,
        uri,
        Some(key),
        &[("content-type", ct)],
        Body::from(body),
    )
    .await
}

async fn post(h: &Harness, uri: &str, key: &str, v: &Value) -> Resp {
    send(h, Method::POST, uri, key, "application/json", v.to_string()).await
}

/// (problem type, field) of an error response.
fn problem(r: &Resp) -> (String, String) {
    let t = r.problem_type();
    (
        t,
        r.json()["field"].as_str().unwrap_or_default().to_string(),
    )
}

fn assert_invalid(r: &Resp, field: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let (t, f) = problem(r);
    assert_eq!(t, "epcisException:ValidationException", "{}", r.text());
    assert_eq!(f, field, "{}", r.text());
    assert!(
        !r.json()["rule"].as_str().unwrap_or_default().is_empty(),
        "{}",
        r.text()
    );
}

/// Days since 1970-01-01 -> YYYY-MM-DD (civil-from-days, written independently of the server).
fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn incident(gtin: &str, awareness: &str, deaths: u64, text: &str) -> Value {
    json!({
        "kind": "incident",
        "product": { "id": gtin, "lot": "L42" },
        "category": "toys",
        "hazard": "choking",
        "description": text,
        "awareness_date": awareness,
        "event_date": awareness,
        "injuries": 1,
        "deaths": deaths,
        "severity": "serious",
    })
}

fn injury(category: &str, hazard: &str, injury_type: &str, day: &str, n: usize) -> Value {
    json!({
        "kind": "injury",
        "age_group": "0-3",
        "injury_type": injury_type,
        "body_part": "mouth_teeth",
        "severity": "moderate",
        "category": category,
        "hazard": hazard,
        "place": "home",
        "event_date": day,
        "description": format!("case {n}"),
    })
}

fn complaint(text: &str) -> Value {
    json!({
        "kind": "complaint",
        "product": { "id": "https://id.gs1.org/01/09521234543213/10/ABC1", "name": "Kettle K1" },
        "category": "electrical_appliances",
        "seller": "Shop 12",
        "issue": "safety_hazard",
        "desired_remedy": "refund",
        "description": text,
        "consumer": { "name": "Wang Fang", "phone": "138 0013 8000", "email": "wf@example.cn" },
    })
}

#[tokio::test]
async fn vocabulary_route_lists_every_field_and_matches_the_docs() {
    let h = Harness::new();
    let r = h.get("/api/vocabulary", Some(&h.keys.public)).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/vocabulary.md"
    ))
    .unwrap();
    let fields = v["fields"].as_object().unwrap();
    for f in [
        "hazard",
        "injury_type",
        "body_part",
        "severity",
        "category",
        "age_group",
        "place",
        "issue",
        "desired_remedy",
    ] {
        let codes = fields[f]["codes"].as_array().unwrap();
        assert!(!codes.is_empty(), "{f}");
        let set: BTreeSet<&str> = codes.iter().map(|c| c["code"].as_str().unwrap()).collect();
        assert_eq!(set.len(), codes.len(), "{f}: codes are unique");
        for c in &set {
            assert!(
                doc.contains(&format!("`{c}`")),
                "docs/vocabulary.md does not document {f} code {c}"
            );
        }
    }
    let levels: Vec<u64> = fields["severity"]["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["level"].as_u64().unwrap())
        .collect();
    assert_eq!(levels, vec![1, 2, 3, 4]);
    assert_eq!(
        h.get("/api/vocabulary", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn incident_intake_normalises_the_product_and_links_trace_records() {
    let h = Harness::new();
    // An event of orgA about serial 7 of GTIN 0614141 107346 (prefix 0614141).
    let ev = object_event("urn:uuid:risk-1", "0614141", 7, "shipping", 1);
    h.capture_ok(&h.keys.a, &document(vec![ev])).await;
    let mut rep = incident("0614141073467", "2024-03-02", 0, "a button came off");
    rep["product"] = json!({ "id": "urn:epc:id:sgtin:0614141.107346.7" });
    let r = post(&h, "/api/reports", &h.keys.a, &rep).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let b = r.json();
    let id = b["id"].as_str().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("/api/reports/{id}").as_str())
    );
    assert_eq!(
        b["product"]["id"],
        json!(gs1::normalize_id("urn:epc:id:sgtin:0614141.107346.7"))
    );
    // The enterprise learns nothing about events beyond its own: no link facts in its view.
    assert_eq!(b["trace"]["linked"], Value::Null, "{b}");
    assert_eq!(b["trace"]["event_ids"], Value::Null, "{b}");
    assert_eq!(b["reporter"], "orgA");
    // The regulator sees the linked event ids; the enterprise only the link.
    let g = h
        .get(&format!("/api/reports/{id}"), Some(&h.keys.regulator))
        .await;
    assert_eq!(g.json()["trace"]["event_ids"], json!(["urn:uuid:risk-1"]));
    assert_eq!(g.json()["trace"]["linked"], json!(true));
    // orgB filing about the same serial learns nothing either.
    let r = post(&h, "/api/reports", &h.keys.b, &rep).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["trace"]["linked"], Value::Null);
    // A GTIN-13 with a lot becomes a canonical Digital Link with AI 10.
    let r = post(
        &h,
        "/api/reports",
        &h.keys.a,
        &incident("9521234543213", "2024-03-02", 0, "x"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        r.json()["product"]["id"],
        json!(gs1::normalize_id(
            "https://id.gs1.org/01/09521234543213/10/L42"
        ))
    );
    let lot_id = r.json()["id"].as_str().unwrap().to_string();
    let g = h
        .get(&format!("/api/reports/{lot_id}"), Some(&h.keys.regulator))
        .await;
    assert_eq!(g.json()["trace"]["linked"], json!(false));
    // A bare GTIN is not linked at intake (it may touch millions of events).
    let mut bare = incident("9521234543213", "2024-03-02", 0, "bare gtin");
    bare["product"] = json!("9521234543213");
    let r = post(&h, "/api/reports", &h.keys.a, &bare).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let g = h
        .get(
            &format!("/api/reports/{}", r.json()["id"].as_str().unwrap()),
            Some(&h.keys.regulator),
        )
        .await;
    assert_eq!(g.json()["trace"]["linked"], Value::Null);
    assert!(
        g.json()["trace"]["trace"]
            .as_str()
            .unwrap()
            .starts_with("/api/trace?id=")
    );
}

#[tokio::test]
async fn validation_errors_name_the_field_and_the_rule() {
    let h = Harness::new();
    let a = &h.keys.a;
    let ok = incident("9521234543213", "2024-03-02", 0, "smoke");
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "/kind"),
        (json!({"kind": "accident"}), "/kind"),
        (
            {
                let mut v = ok.clone();
                v["product"]["id"] = json!("9521234543214");
                v
            },
            "/product/id",
        ),
        (
            {
                let mut v = ok.clone();
                v["product"] = json!({"id": "https://id.gs1.org/01/09521234543213", "lot": "X"});
                v
            },
            "/product/lot",
        ),
        (
            {
                let mut v = ok.clone();
                v["hazard"] = json!("dragons");
                v
            },
            "/hazard",
        ),
        (
            {
                let mut v = ok.clone();
                v["awareness_date"] = json!("2999-01-01");
                v
            },
            "/awareness_date",
        ),
        (
            {
                let mut v = ok.clone();
                v["event_date"] = json!("2024-03-05");
                v
            },
            "/event_date",
        ),
        (
            {
                let mut v = ok.clone();
                v.as_object_mut().unwrap().remove("deaths");
                v
            },
            "/deaths",
        ),
        (
            {
                let mut v = ok.clone();
                v["colour"] = json!("red");
                v
            },
            "/colour",
        ),
        (
            {
                let mut v = injury("toys", "choking", "asphyxia", "2024-01-01", 1);
                v["body_part"] = json!("tail");
                v
            },
            "/body_part",
        ),
        (
            {
                let mut v = injury("toys", "choking", "asphyxia", "2024-01-01", 1);
                v.as_object_mut().unwrap().remove("age_group");
                v
            },
            "/age_group",
        ),
        (
            {
                let mut v = complaint("bad");
                v["desired_remedy"] = json!("revenge");
                v
            },
            "/desired_remedy",
        ),
    ];
    for (body, field) in &cases {
        let r = post(&h, "/api/reports", a, body).await;
        assert_invalid(&r, field);
    }
    assert_eq!(
        h.store
            .list_records(&Scope::All, "reports", None, 100)
            .unwrap()
            .len(),
        0,
        "nothing stored"
    );
    // Roles: public keys may not file incidents; regulators not either.
    let r = post(&h, "/api/reports", &h.keys.public, &ok).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &h,
        Method::POST,
        "/api/reports",
        a,
        "text/plain",
        "x".into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn duplicates_get_409_with_the_existing_id_and_are_not_stored_twice() {
    let h = Harness::new();
    let rep = incident("9521234543213", "2024-03-02", 0, "The lid  cracked");
    let first = post(&h, "/api/reports", &h.keys.a, &rep).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let id = first.json()["id"].as_str().unwrap().to_string();
    // Same reporter, product, date, description (case and spacing aside): a duplicate.
    let mut again = rep.clone();
    again["description"] = json!("the lid cracked");
    again["injuries"] = json!(2);
    let r = post(&h, "/api/reports", &h.keys.a, &again).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(
        r.problem_type(),
        "epcisException:ResourceAlreadyExistsException"
    );
    assert_eq!(r.json()["existing_id"], json!(id));
    // Another enterprise reporting the same is not a duplicate of orgA's report.
    let r = post(&h, "/api/reports", &h.keys.b, &rep).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_ne!(r.json()["id"], json!(id));
    // A different event date is a different report.
    let mut other = rep.clone();
    other["event_date"] = json!("2024-03-01");
    assert_eq!(
        post(&h, "/api/reports", &h.keys.a, &other).await.status,
        StatusCode::CREATED
    );
    let all = h
        .store
        .list_records(&Scope::All, "reports", None, 100)
        .unwrap();
    assert_eq!(all.len(), 3);
}

#[tokio::test]
async fn csv_import_creates_reports_reports_duplicates_and_names_bad_rows() {
    let h = Harness::new();
    let csv = "kind,product_id,lot,category,hazard,injury_type,event_date,awareness_date,description,injuries,deaths,severity,age_group,body_part,place\n\
incident,9521234543213,L1,toys,choking,,2024-02-01,2024-02-02,part swallowed,1,0,serious,,,\n\
injury,,,toys,fall,fracture,2024-02-03,,,,,moderate,4-6,upper_limb,home\n\
incident,9521234543213,L1,toys,choking,,2024-02-01,2024-02-02,Part swallowed,1,0,serious,,,\n";
    let r = send(
        &h,
        Method::POST,
        "/api/reports",
        &h.keys.a,
        "text/csv",
        csv.into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_eq!(v["created"].as_array().unwrap().len(), 2);
    assert_eq!(v["duplicates"][0]["row"], json!(2));
    assert_eq!(v["duplicates"][0]["existing_id"], v["created"][0]);
    // A bad code on the second data row: the error names the row, the field and the line.
    let bad = "kind,category,hazard,injury_type,event_date,severity,age_group,body_part,place\n\
injury,toys,fall,fracture,2024-02-03,moderate,4-6,upper_limb,home\n\
injury,toys,lava,fracture,2024-02-04,moderate,4-6,upper_limb,home\n";
    let r = send(
        &h,
        Method::POST,
        "/api/reports",
        &h.keys.a,
        "text/csv",
        bad.into(),
    )
    .await;
    assert_invalid(&r, "/rows/1/hazard");
    assert!(
        r.json()["rule"].as_str().unwrap().starts_with("line 3:"),
        "{}",
        r.text()
    );
    let r = send(
        &h,
        Method::POST,
        "/api/reports",
        &h.keys.a,
        "text/csv",
        "kind,shoe\ninjury,1\n".into(),
    )
    .await;
    assert_invalid(&r, "/csv/header/shoe");
    assert_eq!(
        h.store
            .list_records(&Scope::All, "reports", None, 100)
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn overdue_incidents_follow_the_injected_clock_and_the_configured_deadlines() {
    let now = Arc::new(AtomicI64::new(0));
    let t0_day: i64 = 20_000; // 2024-10-04
    now.store(t0_day * DAY + 3_600_000, Ordering::SeqCst);
    let clock = now.clone();
    let h = Harness::new().with_app(move |s| {
        AppState::with_clock(
            s,
            HttpLimits::default(),
            Arc::new(move || clock.load(Ordering::SeqCst)),
        )
    });
    let reg = h.keys.regulator.clone();
    // Serious (a death): 10 days by default. Aware 5 days ago: due in 5 more days.
    let serious = incident("9521234543213", &date(t0_day - 5), 1, "fatal fall");
    let r = post(&h, "/api/reports", &h.keys.a, &serious).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let serious_id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["deadline"], json!(date(t0_day + 5)));
    assert_eq!(r.json()["overdue"], json!(false));
    // Not serious: 30 days; aware 40 days ago, so filed late: overdue at once.
    let mut minor = incident("9521234543213", &date(t0_day - 40), 0, "scratch");
    minor["injuries"] = json!(0);
    minor["severity"] = json!("minor");
    let r = post(&h, "/api/reports", &h.keys.b, &minor).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let late_id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["late"], json!(true));
    let overdue_ids = |v: Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let r = h.get("/api/reports?overdue=true", Some(&reg)).await;
    assert_eq!(overdue_ids(r.json()), BTreeSet::from([late_id.clone()]));
    // Six days later the serious one is past its deadline without a final report.
    now.store((t0_day + 6) * DAY, Ordering::SeqCst);
    let r = h
        .get("/api/reports?overdue=true&kind=incident", Some(&reg))
        .await;
    assert_eq!(
        overdue_ids(r.json()),
        BTreeSet::from([late_id.clone(), serious_id.clone()])
    );
    // Enterprises see only their own in the same view.
    let r = h.get("/api/reports?overdue=true", Some(&h.keys.a)).await;
    assert_eq!(overdue_ids(r.json()), BTreeSet::from([serious_id.clone()]));
    // The final report stops the clock (only the reporter may file it, once).
    let fin = json!({"outcome": "design fault in the hinge", "corrective_action": "recall"});
    let r = post(
        &h,
        &format!("/api/reports/{serious_id}/final"),
        &h.keys.b,
        &fin,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = post(
        &h,
        &format!("/api/reports/{serious_id}/final"),
        &h.keys.a,
        &fin,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = post(
        &h,
        &format!("/api/reports/{serious_id}/final"),
        &h.keys.a,
        &fin,
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = h.get("/api/reports?overdue=true", Some(&reg)).await;
    assert_eq!(overdue_ids(r.json()), BTreeSet::from([late_id.clone()]));
    // Deadlines are configurable by regulators: 60 days for non-serious makes the next one timely.
    let r = send(
        &h,
        Method::PUT,
        "/api/reports/deadlines",
        &h.keys.a,
        "application/json",
        json!({"serious_days": 5, "other_days": 60}).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &h,
        Method::PUT,
        "/api/reports/deadlines",
        &reg,
        "application/json",
        json!({"serious_days": 5, "other_days": 0}).to_string(),
    )
    .await;
    assert_invalid(&r, "/other_days");
    let r = send(
        &h,
        Method::PUT,
        "/api/reports/deadlines",
        &reg,
        "application/json",
        json!({"serious_days": 5, "other_days": 60}).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        h.get("/api/reports/deadlines", Some(&h.keys.a))
            .await
            .json()["other_days"],
        json!(60)
    );
    let mut minor2 = minor.clone();
    minor2["description"] = json!("another scratch");
    let r = post(&h, "/api/reports", &h.keys.b, &minor2).await;
    assert_eq!(r.json()["late"], json!(false), "{}", r.text());
    assert_eq!(r.json()["deadline_days"], json!(60));
}

#[tokio::test]
async fn complaints_are_published_redacted_and_public_keys_see_only_that() {
    let h = Harness::new();
    let text = "Wang Fang says the kettle sparked; call 138 0013 8000 or wf@example.cn";
    let r = post(&h, "/api/reports", &h.keys.public, &complaint(text)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    // Before publication a public key sees nothing.
    let uri = format!("/api/reports/{id}");
    assert_eq!(
        h.get(&uri, Some(&h.keys.public)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.get("/api/reports", Some(&h.keys.public)).await.json(),
        json!([])
    );
    // Only regulators publish.
    let pub_uri = format!("/api/reports/{id}/publish");
    assert_eq!(
        post(&h, &pub_uri, &h.keys.a, &json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    let r = h
        .request(
            Method::POST,
            &pub_uri,
            Some(&h.keys.regulator),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let g = h.get(&uri, Some(&h.keys.public)).await;
    assert_eq!(g.status, StatusCode::OK);
    let public = g.json();
    let s = public.to_string();
    for secret in [
        "Wang",
        "Fang",
        "138",
        "8000",
        "wf@example.cn",
        "consumer",
        "reporter",
    ] {
        assert!(!s.contains(secret), "{secret} leaked: {s}");
    }
    assert!(
        public["description"]
            .as_str()
            .unwrap()
            .contains("the kettle sparked")
    );
    assert_eq!(public["seller"], "Shop 12");
    let list = h.get("/api/reports", Some(&h.keys.public)).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], json!(id));
    // Enterprises see published complaints through ?published=true, not the original.
    let other = h
        .get("/api/reports?published=true", Some(&h.keys.b))
        .await
        .json();
    assert_eq!(other[0]["id"], json!(id));
    assert!(!other.to_string().contains("Wang"));
    // Incidents are not publishable.
    let inc = post(
        &h,
        "/api/reports",
        &h.keys.a,
        &incident("9521234543213", "2024-03-02", 0, "x"),
    )
    .await;
    let inc_id = inc.json()["id"].as_str().unwrap().to_string();
    let r = post(
        &h,
        &format!("/api/reports/{inc_id}/publish"),
        &h.keys.regulator,
        &json!({}),
    )
    .await;
    assert_invalid(&r, "/kind");
}

#[tokio::test]
async fn enterprises_see_only_their_own_reports_regulators_all() {
    let h = Harness::new();
    let a = post(
        &h,
        "/api/reports",
        &h.keys.a,
        &incident("9521234543213", "2024-03-02", 0, "a's"),
    )
    .await;
    let b = post(
        &h,
        "/api/reports",
        &h.keys.b,
        &incident("9521234543213", "2024-03-02", 0, "b's"),
    )
    .await;
    let a_id = a.json()["id"].as_str().unwrap().to_string();
    let b_id = b.json()["id"].as_str().unwrap().to_string();
    let ids = |r: Resp| -> BTreeSet<String> {
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(h.get("/api/reports", Some(&h.keys.a)).await),
        BTreeSet::from([a_id.clone()])
    );
    assert_eq!(
        ids(h.get("/api/reports", Some(&h.keys.b)).await),
        BTreeSet::from([b_id.clone()])
    );
    assert_eq!(
        ids(h.get("/api/reports", Some(&h.keys.regulator)).await),
        BTreeSet::from([a_id.clone(), b_id.clone()])
    );
    // Another's report is exactly as missing as a report that does not exist.
    let hidden = h
        .get(&format!("/api/reports/{b_id}"), Some(&h.keys.a))
        .await;
    let missing = h
        .get("/api/reports/rep-000000000000000000000000", Some(&h.keys.a))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(hidden.body, missing.body);
    assert_eq!(
        h.get(&format!("/api/reports/{b_id}"), Some(&h.keys.regulator))
            .await
            .status,
        StatusCode::OK
    );
    // Signals, alerts and scans are for regulators only.
    for uri in ["/api/signals?method=prr", "/api/alerts"] {
        assert_eq!(
            h.get(uri, Some(&h.keys.a)).await.status,
            StatusCode::FORBIDDEN,
            "{uri}"
        );
    }
    let scan =
        json!({"method": "ears_c1", "by": "category", "from": "2024-01-01", "to": "2024-06-01"});
    assert_eq!(
        post(&h, "/api/alerts/scan", &h.keys.b, &scan).await.status,
        StatusCode::FORBIDDEN
    );
    // Paging: perPage=1 follows the Link header through both for the regulator.
    let r = h
        .get("/api/reports?perPage=1", Some(&h.keys.regulator))
        .await;
    let next = r.next_link().expect("a next link");
    let r2 = h.get(&next, Some(&h.keys.regulator)).await;
    let mut seen = ids(r);
    seen.extend(ids(r2));
    assert_eq!(seen, BTreeSet::from([a_id, b_id]));
}

#[tokio::test]
async fn signals_agree_with_counts_made_here() {
    let h = Harness::new();
    // A product-category x hazard table with a clear excess of choking among toys.
    let mut cells: Vec<(&str, &str, usize)> = vec![
        ("toys", "choking", 6),
        ("toys", "fall", 2),
        ("furniture", "fall", 5),
        ("furniture", "crushing", 3),
        ("kitchen", "burns", 4),
        ("kitchen", "choking", 1),
    ];
    cells.sort();
    let mut n = 0;
    let mut csv = String::from(
        "kind,category,hazard,injury_type,event_date,severity,age_group,body_part,place,description\n",
    );
    for (cat, hz, k) in &cells {
        for _ in 0..*k {
            n += 1;
            csv.push_str(&format!(
                "injury,{cat},{hz},fracture,2024-05-{:02},minor,7-14,head,home,case {n}\n",
                1 + n % 27
            ));
        }
    }
    let r = send(&h, Method::POST, "/api/reports", &h.keys.a, "text/csv", csv).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["created"].as_array().unwrap().len(), n);
    let total: usize = cells.iter().map(|c| c.2).sum();
    let row_total = |cat: &str| {
        cells
            .iter()
            .filter(|c| c.0 == cat)
            .map(|c| c.2)
            .sum::<usize>()
    };
    let col_total = |hz: &str| {
        cells
            .iter()
            .filter(|c| c.1 == hz)
            .map(|c| c.2)
            .sum::<usize>()
    };
    let r = h
        .get("/api/signals?method=prr&by=hazard", Some(&h.keys.regulator))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["reports"], json!(total));
    let rows = v["signals"].as_array().unwrap();
    assert_eq!(rows.len(), cells.len());
    for row in rows {
        let (p, e) = (
            row["product"].as_str().unwrap(),
            row["event"].as_str().unwrap(),
        );
        let a = cells.iter().find(|c| c.0 == p && c.1 == e).unwrap().2;
        let b = row_total(p) - a;
        let c = col_total(e) - a;
        let d = total - a - b - c;
        assert_eq!(
            [
                row["a"].as_u64().unwrap(),
                row["b"].as_u64().unwrap(),
                row["c"].as_u64().unwrap(),
                row["d"].as_u64().unwrap()
            ],
            [a as u64, b as u64, c as u64, d as u64],
            "{p} {e}"
        );
        let prr = (a as f64 / (a + b) as f64) / (c as f64 / (c + d) as f64);
        match row["prr"].as_f64() {
            Some(x) => assert!(
                (x - prr).abs() <= 1e-12 * prr.abs(),
                "{p} {e}: {x} vs {prr}"
            ),
            None => assert!(!prr.is_finite(), "{p} {e}"),
        }
        let expected = (a + b) as f64 * (a + c) as f64 / total as f64;
        assert!((row["expected"].as_f64().unwrap() - expected).abs() < 1e-12);
    }
    // CSV: the columns of `zhiliang signals`.
    let r = h
        .get(
            "/api/signals?method=ror&format=csv",
            Some(&h.keys.regulator),
        )
        .await;
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = r.text();
    assert_eq!(
        text.lines().next().unwrap(),
        "product,event,a,b,c,d,expected,ror,ror_lo,ror_hi"
    );
    assert_eq!(text.lines().count(), 1 + cells.len());
    let r = h
        .request(
            Method::GET,
            "/api/signals?method=bcpnn",
            Some(&h.keys.regulator),
            &[("accept", "text/csv")],
            Body::empty(),
        )
        .await;
    assert_eq!(
        r.text().lines().next().unwrap(),
        "product,event,a,b,c,d,expected,ic,ic025,ic975"
    );
    // Stratifying by report kind changes nothing when all reports are of one kind.
    let st = h
        .get(
            "/api/signals?method=prr&stratified=true",
            Some(&h.keys.regulator),
        )
        .await
        .json();
    for (x, y) in st["signals"].as_array().unwrap().iter().zip(rows.iter()) {
        let (ex, ey) = (
            x["expected"].as_f64().unwrap(),
            y["expected"].as_f64().unwrap(),
        );
        assert!((ex - ey).abs() <= 1e-12 * ey, "{x} {y}");
    }
    // MGPS: EBGM and its interval come with the fitted prior; EB05 <= EBGM <= EB95.
    let r = h
        .get("/api/signals?method=mgps", Some(&h.keys.regulator))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert!(v["prior"]["alpha1"].as_f64().unwrap() > 0.0, "{v}");
    for row in v["signals"].as_array().unwrap() {
        let (lo, m, hi) = (
            row["eb05"].as_f64().unwrap(),
            row["ebgm"].as_f64().unwrap(),
            row["eb95"].as_f64().unwrap(),
        );
        assert!(lo <= m && m <= hi, "{row}");
    }
    // by=injury: one injury type for all, so one column per category.
    let r = h
        .get("/api/signals?method=prr&by=injury", Some(&h.keys.regulator))
        .await;
    assert_eq!(r.json()["signals"].as_array().unwrap().len(), 3);
    // A date window that excludes everything.
    let r = h
        .get(
            "/api/signals?method=prr&from=2025-01-01",
            Some(&h.keys.regulator),
        )
        .await;
    assert_eq!(r.json()["signals"], json!([]));
    for (q, name) in [
        ("method=xyz", "method"),
        ("method=prr&by=colour", "by"),
        ("method=prr&from=May", "from"),
        ("method=prr&x=1", "x"),
    ] {
        let r = h
            .get(&format!("/api/signals?{q}"), Some(&h.keys.regulator))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(r.problem_type(), "epcisException:QueryParameterException");
        assert!(
            r.json()["detail"].as_str().unwrap().starts_with(name),
            "{q}: {}",
            r.text()
        );
    }
}

fn chair() -> Value {
    json!({
        "product": "folding chair model FC-1",
        "hazard": "trapping of fingers",
        "scenarios": [
            {
                "description": "finger trapped in the hinge while unfolding",
                "injury": "crushed fingertip",
                "severity": 2,
                "steps": [
                    {"description": "user unfolds with hand at the hinge", "probability": "1/10"},
                    {"description": "finger enters the gap", "probability": 0.5},
                    {"description": "hinge closes on it", "probability": "1/2"}
                ]
            },
            {
                "description": "child's finger amputated",
                "injury": "amputation",
                "severity": 4,
                "consumer": "vulnerable",
                "steps": [
                    {"description": "child plays with chair", "probability": "1/100"},
                    {"description": "hinge closes on finger", "probability": "1/10"}
                ]
            }
        ]
    })
}

#[tokio::test]
async fn assessments_are_stored_with_the_level_of_the_risk_crate() {
    let h = Harness::new();
    let r = post(&h, "/api/risk/assessments", &h.keys.a, &chair()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    let direct = risk::assessment::assess(&serde_json::from_value(chair()).unwrap()).unwrap();
    assert_eq!(v["level"], serde_json::to_value(direct.level).unwrap());
    assert_eq!(
        v["rationale"],
        serde_json::to_value(&direct.rationale).unwrap()
    );
    assert!(!v["rationale"].as_array().unwrap().is_empty());
    let loc = r.header("location").unwrap().to_string();
    let g = h.get(&loc, Some(&h.keys.a)).await;
    assert_eq!(g.status, StatusCode::OK);
    assert_eq!(g.json()["id"], v["id"]);
    assert_eq!(
        h.get(&loc, Some(&h.keys.b)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.get(&loc, Some(&h.keys.regulator)).await.status,
        StatusCode::OK
    );
    // Field errors with pointers.
    let mut bad = chair();
    bad["scenarios"][1]["severity"] = json!(5);
    assert_invalid(
        &post(&h, "/api/risk/assessments", &h.keys.a, &bad).await,
        "/scenarios/1/severity",
    );
    let mut bad = chair();
    bad["scenarios"][0]["steps"][2]["probability"] = json!(1.5);
    assert_invalid(
        &post(&h, "/api/risk/assessments", &h.keys.a, &bad).await,
        "/scenarios/0/steps/2/probability",
    );
    let mut bad = chair();
    bad["scenarios"] = json!([]);
    assert_invalid(
        &post(&h, "/api/risk/assessments", &h.keys.a, &bad).await,
        "/scenarios",
    );
    let mut bad = chair();
    bad["report_ids"] = json!(["rep-nope"]);
    assert_invalid(
        &post(&h, "/api/risk/assessments", &h.keys.a, &bad).await,
        "/report_ids/0",
    );
    assert_eq!(
        post(&h, "/api/risk/assessments", &h.keys.public, &chair())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn signal_to_assessment_to_recall_proposal_is_one_chain() {
    let h = Harness::new();
    let from_day: i64 = 20_097; // 2025-01-09
    // Weekly injury reports: toys 1,2,1,2,1,2,1,2,1 then 8 in week 9; furniture 1 a week.
    let toys = [1, 2, 1, 2, 1, 2, 1, 2, 1, 8];
    let mut csv = String::from(
        "kind,category,hazard,injury_type,event_date,severity,age_group,body_part,place,description\n",
    );
    let mut n = 0;
    let mut spike_rows = 0;
    for (w, k) in toys.iter().enumerate() {
        for i in 0..*k {
            n += 1;
            csv.push_str(&format!(
                "injury,toys,choking,asphyxia,{},serious,0-3,mouth_teeth,home,toy case {n}\n",
                date(from_day + 7 * w as i64 + i % 7)
            ));
            if w == 9 {
                spike_rows += 1;
            }
        }
        n += 1;
        csv.push_str(&format!(
            "injury,furniture,fall,fracture,{},minor,65+,lower_limb,home,chair case {n}\n",
            date(from_day + 7 * w as i64 + 3)
        ));
    }
    let r = send(&h, Method::POST, "/api/reports", &h.keys.a, "text/csv", csv).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let scan = json!({"method": "ears_c1", "by": "category", "from": date(from_day), "to": date(from_day + 70)});
    let r = post(&h, "/api/alerts/scan", &h.keys.regulator, &scan).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["weeks"], json!(10));
    let alerts = v["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{v}");
    let alert = &alerts[0];
    assert_eq!(alert["group"], "toys");
    assert_eq!(alert["week_start"], json!(date(from_day + 63)));
    assert_eq!(alert["observed"], json!(8.0));
    assert_eq!(alert["report_ids"].as_array().unwrap().len(), spike_rows);
    // The series in the alert is the weekly count written above.
    let series: Vec<f64> = alert["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(series, toys.iter().map(|&x| x as f64).collect::<Vec<_>>());
    // EARS C1 by hand: baseline weeks 2..9, mean + z(0.999) * sd.
    let base: Vec<f64> = series[2..9].to_vec();
    let m = base.iter().sum::<f64>() / 7.0;
    let sd = (base.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 6.0).sqrt();
    let z = 3.090_232_306_167_813;
    assert!((alert["threshold"].as_f64().unwrap() - (m + z * sd)).abs() < 1e-9);
    // A rescan stores nothing new.
    let again = post(&h, "/api/alerts/scan", &h.keys.regulator, &scan)
        .await
        .json();
    assert_eq!(again["alerts"], json!([]));
    assert_eq!(again["existing"], json!([alert["id"]]));
    let alert_id = alert["id"].as_str().unwrap().to_string();
    let listed = h
        .get("/api/alerts?status=open", Some(&h.keys.regulator))
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // Assess the alert.
    let mut input = chair();
    input.as_object_mut().unwrap().remove("product");
    input.as_object_mut().unwrap().remove("hazard");
    let r = post(
        &h,
        &format!("/api/alerts/{alert_id}/assess"),
        &h.keys.regulator,
        &input,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let asm = r.json();
    let asm_id = asm["id"].as_str().unwrap().to_string();
    assert_eq!(asm["alert_id"], json!(alert_id));
    assert_eq!(asm["report_ids"], alert["report_ids"]);
    assert_eq!(asm["product"], "products of category toys");
    let r = post(
        &h,
        &format!("/api/alerts/{alert_id}/assess"),
        &h.keys.regulator,
        &input,
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["existing_id"], json!(asm_id));
    // Propose the recall.
    let uri = format!("/api/risk/assessments/{asm_id}/recall-proposal");
    assert_eq!(
        post(&h, &uri, &h.keys.a, &json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_invalid(
        &post(
            &h,
            &uri,
            &h.keys.regulator,
            &json!({"classification": "IV"}),
        )
        .await,
        "/classification",
    );
    let r = h
        .request(
            Method::POST,
            &uri,
            Some(&h.keys.regulator),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let prop = r.json();
    let prop_id = prop["id"].as_str().unwrap().to_string();
    assert_eq!(prop["assessment_id"], json!(asm_id));
    assert_eq!(prop["alert_id"], json!(alert_id));
    let level = asm["level"].as_str().unwrap();
    let want_class = match level {
        "serious" => "I",
        "high" => "II",
        _ => "III",
    };
    assert_eq!(prop["recall"]["classification"], want_class);
    assert!(
        ["wholesale", "retail", "consumer"].contains(&prop["recall"]["depth"].as_str().unwrap())
    );
    let stored = h
        .store
        .get_record(&Scope::All, "recall.proposals", &prop_id)
        .unwrap()
        .unwrap();
    assert_eq!(stored.body["assessment_id"], json!(asm_id));
    // Every record of the chain names the others.
    let a2 = h
        .get(&format!("/api/alerts/{alert_id}"), Some(&h.keys.regulator))
        .await
        .json();
    assert_eq!(a2["status"], "proposed");
    assert_eq!(a2["assessment_id"], json!(asm_id));
    assert_eq!(a2["proposal_id"], json!(prop_id));
    let s2 = h
        .get(
            &format!("/api/risk/assessments/{asm_id}"),
            Some(&h.keys.regulator),
        )
        .await
        .json();
    assert_eq!(s2["proposal_id"], json!(prop_id));
    let r = post(&h, &uri, &h.keys.regulator, &json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["existing_id"], json!(prop_id));
    // The other scan methods run over the same data; CUSUM and EWMA flag the toys spike too.
    for m in ["ears_c2", "cusum", "ewma"] {
        let s = json!({"method": m, "by": "category", "from": date(from_day), "to": date(from_day + 70)});
        let r = post(&h, "/api/alerts/scan", &h.keys.regulator, &s).await;
        assert_eq!(r.status, StatusCode::OK, "{m}: {}", r.text());
        let groups: BTreeMap<String, usize> =
            r.json()["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .fold(BTreeMap::new(), |mut acc, a| {
                    *acc.entry(a["group"].as_str().unwrap().to_string())
                        .or_default() += 1;
                    acc
                });
        assert!(
            !groups.contains_key("furniture"),
            "{m}: a flat series never alarms"
        );
        if m == "cusum" || m == "ewma" {
            assert!(groups.contains_key("toys"), "{m}");
        }
    }
    // EARS C3 needs 11 weeks of history and Farrington a year: the error names the window.
    let s = json!({"method": "ears_c3", "by": "category", "from": date(from_day), "to": date(from_day + 70)});
    assert_invalid(
        &post(&h, "/api/alerts/scan", &h.keys.regulator, &s).await,
        "/from",
    );
    let s = json!({"method": "farrington", "by": "hazard", "from": date(from_day), "to": date(from_day + 70)});
    assert_invalid(
        &post(&h, "/api/alerts/scan", &h.keys.regulator, &s).await,
        "/from",
    );
    let s = json!({"method": "magic", "by": "hazard", "from": date(from_day), "to": date(from_day + 70)});
    assert_invalid(
        &post(&h, "/api/alerts/scan", &h.keys.regulator, &s).await,
        "/method",
    );
}

/// A 4 × 4 grid of regions `Rij` at (i, j), population 1,000 each.
fn grid() -> Vec<Value> {
    (0..4)
        .flat_map(|i| {
            (0..4)
                .map(move |j| json!({"id": format!("R{i}{j}"), "x": i, "y": j, "population": 1000}))
        })
        .collect()
}

#[tokio::test]
async fn space_time_scan_finds_the_planted_cluster_and_agrees_with_the_risk_crate() {
    let h = Harness::new();
    let from_day: i64 = 20_097; // 2025-01-09
    let weeks = 8usize;
    // One injury report per region and week, six more in R11 and R12 in each of weeks 6 and 7,
    // and one report in a region the scan is not told about.
    let mut csv = String::from(
        "kind,category,hazard,injury_type,event_date,severity,age_group,body_part,place,region,description\n",
    );
    let mut counts = vec![vec![0.0; weeks]; 16];
    let mut n = 0;
    let mut row = |csv: &mut String, region: &str, day: i64| {
        n += 1;
        csv.push_str(&format!(
            "injury,toys,choking,asphyxia,{},serious,0-3,mouth_teeth,home,{region},case {n}\n",
            date(day)
        ));
    };
    for i in 0..4 {
        for j in 0..4 {
            for (w, c) in counts[i * 4 + j].iter_mut().enumerate() {
                row(&mut csv, &format!("R{i}{j}"), from_day + 7 * w as i64 + 2);
                *c += 1.0;
                if ((i, j) == (1, 1) || (i, j) == (1, 2)) && w >= 6 {
                    for k in 0..6 {
                        row(&mut csv, &format!("R{i}{j}"), from_day + 7 * w as i64 + k);
                        *c += 1.0;
                    }
                }
            }
        }
    }
    row(&mut csv, "ZZ9", from_day + 3);
    let r = send(&h, Method::POST, "/api/reports", &h.keys.a, "text/csv", csv).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let scan = json!({
        "method": "space_time_scan", "from": date(from_day), "to": date(from_day + 56),
        "regions": grid(), "max_weeks": 4, "replicates": 99, "seed": 7,
    });
    // Enterprises cannot run scans.
    assert_eq!(
        post(&h, "/api/alerts/scan", &h.keys.a, &scan).await.status,
        StatusCode::FORBIDDEN
    );
    let r = post(&h, "/api/alerts/scan", &h.keys.regulator, &scan).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["weeks"], json!(8));
    assert_eq!(v["cases"], json!(counts.iter().flatten().sum::<f64>()));
    assert_eq!(v["unlocated"], json!(1));
    // The same scan through the pure crate on counts made here.
    let regions: Vec<risk::warning::scan::Region> = (0..4)
        .flat_map(|i| {
            (0..4).map(move |j| risk::warning::scan::Region {
                id: format!("R{i}{j}"),
                x: i as f64,
                y: j as f64,
            })
        })
        .collect();
    let want = risk::warning::scan::scan(
        &regions,
        &counts,
        &vec![vec![1000.0; weeks]; 16],
        &risk::warning::scan::ScanOptions {
            max_population_fraction: 0.5,
            max_window: 4,
            prospective: false,
            replicates: 99,
            seed: 7,
        },
        10,
    )
    .unwrap();
    let ml = want.most_likely.unwrap();
    let names: Vec<&str> = ml.regions.iter().map(|&i| regions[i].id.as_str()).collect();
    assert_eq!(v["most_likely"]["regions"], json!(names));
    assert!((v["most_likely"]["llr"].as_f64().unwrap() - ml.llr).abs() <= 1e-9 * ml.llr);
    assert_eq!(v["p_value"], json!(want.p_value.unwrap()));
    assert_eq!(v["top"].as_array().unwrap().len(), want.top.len());
    // The planted cluster: R11 and R12 in weeks 6 and 7, and nothing older.
    assert!(names.contains(&"R11") && names.contains(&"R12"), "{v}");
    assert_eq!(v["most_likely"]["week_start"], json!(date(from_day + 42)));
    assert_eq!(v["most_likely"]["week_end"], json!(date(from_day + 56)));
    assert!(want.p_value.unwrap() <= 0.05);
    // It is stored as an alert with the reports of its cells, and a rescan stores nothing new.
    let alerts = v["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{v}");
    let alert = &alerts[0];
    assert_eq!(alert["method"], "space_time_scan");
    assert_eq!(alert["by"], "region");
    assert_eq!(alert["group"], json!(names[0]));
    let in_cluster: f64 = ml
        .regions
        .iter()
        .map(|&i| counts[i][6] + counts[i][7])
        .sum();
    assert_eq!(alert["observed"], json!(in_cluster));
    assert_eq!(
        alert["report_ids"].as_array().unwrap().len(),
        (in_cluster as usize).min(100)
    );
    let again = post(&h, "/api/alerts/scan", &h.keys.regulator, &scan)
        .await
        .json();
    assert_eq!(again["alerts"], json!([]));
    assert_eq!(again["existing"], json!([alert["id"]]));
    // The alert goes on to an assessment like any other.
    let mut input = chair();
    input.as_object_mut().unwrap().remove("product");
    input.as_object_mut().unwrap().remove("hazard");
    let id = alert["id"].as_str().unwrap();
    let r = post(
        &h,
        &format!("/api/alerts/{id}/assess"),
        &h.keys.regulator,
        &input,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["report_ids"], alert["report_ids"]);
    // A narrower filter that matches nothing is an error naming the regions.
    let mut s = scan.clone();
    s["hazard"] = json!("burns");
    assert_invalid(
        &post(&h, "/api/alerts/scan", &h.keys.regulator, &s).await,
        "/regions",
    );
    // Validation names the field and the rule.
    for (patch, field) in [
        (json!({"regions": []}), "/regions"),
        (
            json!({"regions": [{"id": "A1", "x": 0, "y": 0}, {"id": "A1", "x": 1, "y": 0}]}),
            "/regions/1/id",
        ),
        (
            json!({"regions": [{"id": "A1", "x": "east", "y": 0}]}),
            "/regions/0/x",
        ),
        (
            json!({"regions": [{"id": "A-1", "x": 0, "y": 0}]}),
            "/regions/0/id",
        ),
        (
            json!({"regions": [{"id": "A1", "x": 0, "y": 0, "population": 0}]}),
            "/regions/0/population",
        ),
        (
            json!({"regions": [{"id": "A1", "x": 0, "y": 0, "z": 1}]}),
            "/regions/0/z",
        ),
        (
            json!({"max_population_fraction": 0.7}),
            "/max_population_fraction",
        ),
        (json!({"max_weeks": 9}), "/max_weeks"),
        (json!({"max_weeks": 0}), "/max_weeks"),
        (json!({"replicates": 10_000}), "/replicates"),
        (json!({"alpha": 0}), "/alpha"),
        (json!({"prospective": "yes"}), "/prospective"),
        (json!({"to": date(from_day)}), "/to"),
    ] {
        let mut s = scan.clone();
        for (k, val) in patch.as_object().unwrap() {
            s[k] = val.clone();
        }
        assert_invalid(
            &post(&h, "/api/alerts/scan", &h.keys.regulator, &s).await,
            field,
        );
    }
    // A request whose work would be too large is refused before it runs.
    let many: Vec<Value> = (0..500)
        .map(|i| json!({"id": format!("G{i}"), "x": i, "y": 0}))
        .collect();
    let s = json!({"method": "space_time_scan", "from": date(from_day), "to": date(from_day + 364),
                   "regions": many, "replicates": 9_999});
    assert_invalid(
        &post(&h, "/api/alerts/scan", &h.keys.regulator, &s).await,
        "/replicates",
    );
}

/// Follow `Link: rel="next"` from `uri`: the items of every page.
async fn all_pages(h: &Harness, uri: &str, key: &str) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut next = Some(uri.to_string());
    while let Some(u) = next {
        let r = h.get(&u, Some(key)).await;
        assert_eq!(r.status, StatusCode::OK, "{u}: {}", r.text());
        pages.push(r.json().as_array().unwrap().clone());
        next = r.next_link();
        if next.is_some() {
            assert!(r.header("GS1-Next-Page-Token-Expires").is_some());
        }
        assert!(pages.len() <= 100, "paging does not end");
    }
    pages
}

#[tokio::test]
async fn alert_list_pages_with_per_page_and_next_page_token() {
    let h = Harness::new();
    // 23 alerts stored directly, statuses and methods in turn.
    let statuses = ["open", "assessed", "proposed"];
    let methods = ["ears_c1", "cusum", "space_time_scan", "ewma"];
    let mut all: Vec<Value> = Vec::new();
    for i in 0..23 {
        let body = json!({
            "id": format!("alr-{i:04}"), "method": methods[i % 4], "status": statuses[i % 3],
            "by": "category", "group": "toys",
        });
        h.store
            .put_record(
                store::NewRecord {
                    collection: "alerts".into(),
                    id: format!("alr-{i:04}"),
                    owner: None,
                    updated_ms: 0,
                    body: body.clone(),
                },
                None,
            )
            .unwrap();
        all.push(body);
    }
    let reg = h.keys.regulator.clone();
    // Unfiltered, 5 per page: every alert once, in id order, pages full but the last.
    let pages = all_pages(&h, "/api/alerts?perPage=5", &reg).await;
    assert_eq!(pages.len(), 5);
    assert!(pages[..4].iter().all(|p| p.len() == 5));
    let flat: Vec<Value> = pages.concat();
    assert_eq!(flat, all);
    // Filtered: the pages hold exactly the matching alerts (a naive filter of the list above).
    for (query, want) in [
        (
            "status=open",
            all.iter().filter(|a| a["status"] == "open").count(),
        ),
        (
            "method=cusum",
            all.iter().filter(|a| a["method"] == "cusum").count(),
        ),
        (
            "status=assessed&method=space_time_scan",
            all.iter()
                .filter(|a| a["status"] == "assessed" && a["method"] == "space_time_scan")
                .count(),
        ),
    ] {
        let pages = all_pages(&h, &format!("/api/alerts?{query}&perPage=2"), &reg).await;
        let flat: Vec<Value> = pages.concat();
        let naive: Vec<Value> = all
            .iter()
            .filter(|a| {
                query.split('&').all(|kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    a[k] == v
                })
            })
            .cloned()
            .collect();
        assert_eq!(flat.len(), want, "{query}");
        assert_eq!(flat, naive, "{query}");
        assert!(pages.iter().all(|p| p.len() <= 2));
        // No empty trailing page: a next link only when more follows.
        assert!(pages.last().is_some_and(|p| !p.is_empty()) || want == 0);
    }
    // Without perPage: the default page holds all 23 and announces no next page.
    let r = h.get("/api/alerts", Some(&reg)).await;
    assert_eq!(r.json().as_array().unwrap().len(), 23);
    assert!(r.next_link().is_none());
    // A token is bound to its query, and garbage or bad perPage values are refused by name.
    let first = h.get("/api/alerts?status=open&perPage=2", Some(&reg)).await;
    let link = first.next_link().unwrap();
    let token = link.split("nextPageToken=").nth(1).unwrap().to_string();
    for uri in [
        format!("/api/alerts?status=proposed&perPage=2&nextPageToken={token}"),
        "/api/alerts?nextPageToken=abc.def".to_string(),
        "/api/alerts?perPage=0".to_string(),
        "/api/alerts?perPage=lots".to_string(),
        "/api/alerts?method=magic".to_string(),
        "/api/alerts?page=2".to_string(),
    ] {
        let r = h.get(&uri, Some(&reg)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text());
        assert_eq!(
            r.problem_type(),
            "epcisException:QueryParameterException",
            "{uri}"
        );
    }
    // Enterprises may not list alerts.
    assert_eq!(
        h.get("/api/alerts?perPage=2", Some(&h.keys.a)).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn openapi_documents_the_risk_routes() {
    let h = Harness::new();
    let doc = h.get("/openapi.json", None).await.json();
    for (path, method) in [
        ("/api/reports", "post"),
        ("/api/reports", "get"),
        ("/api/reports/{id}/publish", "post"),
        ("/api/vocabulary", "get"),
        ("/api/signals", "get"),
        ("/api/risk/assessments", "post"),
        ("/api/risk/assessments/{id}/recall-proposal", "post"),
        ("/api/alerts/scan", "post"),
        ("/api/alerts", "get"),
        ("/api/alerts/{id}/assess", "post"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    // The alert list documents its paging, the scan its space-time method.
    let params: Vec<&str> = doc["paths"]["/api/alerts"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["status", "method", "perPage", "nextPageToken"] {
        assert!(params.contains(&name), "{name} in {params:?}");
    }
    let text = doc["paths"]["/api/alerts/scan"]["post"].to_string();
    assert!(text.contains("space_time_scan"), "{text}");
}
