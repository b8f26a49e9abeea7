//! Issue 3 over HTTP: trace, master data, recalls (scope on hand-built chains, notifications,
//! effectiveness, close-out, notice), FSMA 204 records. Expected values come from the chains as
//! built here (counted by hand from the events) or from the reference data.

use std::collections::BTreeSet;
use std::sync::Mutex;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use store::{OrgId, Role};
use zhiliang_http::api::recall::{WebhookSender, deliver_pending};
use zhiliang_http::keys;

use crate::common::{Harness, document};

const FSMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference-data/openepcis-dpp-ready/extensions/us/fsma204/epcis"
);
const IFT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference-data/ift-opentraceability/OpenTraceability.Tests/Data"
);

const RAW: &str = "urn:epc:class:lgtin:0614141.107346.RAW1";
const SSCC: &str = "urn:epc:id:sscc:0614141.1234567890";

fn serial(n: u32) -> String {
    format!("urn:epc:id:sgtin:0614141.107347.{n}")
}
fn sgln(org: u32) -> String {
    format!("urn:epc:id:sgln:0614141.0000{org}.0")
}
fn pgln(org: u32) -> String {
    format!("urn:epc:id:pgln:0614141.0000{org}")
}
fn dl(id: &str) -> String {
    gs1::normalize_id(id)
}

fn time(h: u32, m: u32) -> String {
    format!("2024-03-01T{h:02}:{m:02}:00.000+00:00")
}

fn base(id: &str, ty: &str, t: &str, step: &str, org: u32) -> Value {
    json!({
        "type": ty, "eventID": id, "eventTime": t, "eventTimeZoneOffset": "+00:00",
        "bizStep": step, "readPoint": { "id": sgln(org) }, "bizLocation": { "id": sgln(org) },
    })
}

fn object(id: &str, t: &str, step: &str, disp: &str, org: u32, epcs: &[String]) -> Value {
    let mut e = base(id, "ObjectEvent", t, step, org);
    e["action"] = json!("OBSERVE");
    e["disposition"] = json!(disp);
    e["epcList"] = json!(epcs);
    e
}

fn ship(id: &str, t: &str, from: u32, to: u32, epcs: &[String]) -> Value {
    let mut e = object(id, t, "shipping", "in_transit", from, epcs);
    e["sourceList"] = json!([{ "type": "owning_party", "source": pgln(from) }]);
    e["destinationList"] = json!([{ "type": "owning_party", "destination": pgln(to) }]);
    e
}

fn receive(id: &str, t: &str, from: u32, to: u32, epcs: &[String]) -> Value {
    let mut e = object(id, t, "receiving", "in_progress", to, epcs);
    e["sourceList"] = json!([{ "type": "owning_party", "source": pgln(from) }]);
    e["destinationList"] = json!([{ "type": "owning_party", "destination": pgln(to) }]);
    e
}

fn aggregation(id: &str, t: &str, action: &str, org: u32, children: &[String]) -> Value {
    let mut e = base(
        id,
        "AggregationEvent",
        t,
        if action == "ADD" {
            "packing"
        } else {
            "unpacking"
        },
        org,
    );
    e["action"] = json!(action);
    e["parentID"] = json!(SSCC);
    e["childEPCs"] = json!(children);
    e
}

fn serials(r: std::ops::RangeInclusive<u32>) -> Vec<String> {
    r.map(serial).collect()
}

/// The hand-built chain (orgA = 1 makes, orgB = 2 distributes, orgC = 3 retails later):
/// orgA transforms 100 kg of RAW1 into serials 1..6, packs 1..4 on a pallet and ships the pallet
/// (partial shipment: 5 and 6 stay); orgB receives and unpacks it, sells 1 and returns 2 to orgA,
/// which receives it back. Held by hand: orgA 5, 6, 2 (3); orgB 3, 4 (2).
async fn chain(h: &Harness) {
    let mut tr = base(
        "urn:uuid:tr-1",
        "TransformationEvent",
        &time(10, 0),
        "commissioning",
        1,
    );
    tr["inputQuantityList"] = json!([{ "epcClass": RAW, "quantity": 100, "uom": "KGM" }]);
    tr["outputEPCList"] = json!(serials(1..=6));
    let a = vec![
        tr,
        aggregation("urn:uuid:agg-1", &time(10, 5), "ADD", 1, &serials(1..=4)),
        ship("urn:uuid:ship-1", &time(10, 10), 1, 2, &[SSCC.to_string()]),
        receive("urn:uuid:ret-rcv", &time(11, 30), 2, 1, &[serial(2)]),
    ];
    let b = vec![
        receive("urn:uuid:rcv-1", &time(11, 0), 1, 2, &[SSCC.to_string()]),
        aggregation("urn:uuid:agg-2", &time(11, 5), "DELETE", 2, &serials(1..=4)),
        object(
            "urn:uuid:sell-1",
            &time(11, 10),
            "retail_selling",
            "retail_sold",
            2,
            &[serial(1)],
        ),
        ship("urn:uuid:ret-ship", &time(11, 20), 2, 1, &[serial(2)]),
    ];
    h.capture_ok(&h.keys.a, &document(a)).await;
    h.capture_ok(&h.keys.b, &document(b)).await;
}

fn key_c(h: &Harness) -> String {
    let (_, s) = keys::create_key(
        h.store.as_ref(),
        OrgId::parse("orgC").unwrap(),
        Role::Enterprise,
        1,
        [9; 32],
    )
    .unwrap();
    s.expose().to_string()
}

/// Goods moving on after the recall opened: orgB ships serial 3 to orgC, which receives it.
async fn move_on(h: &Harness, c: &str) {
    h.capture_ok(
        &h.keys.b,
        &document(vec![ship(
            "urn:uuid:ship-3",
            &time(12, 0),
            2,
            3,
            &[serial(3)],
        )]),
    )
    .await;
    h.capture_ok(
        c,
        &document(vec![receive(
            "urn:uuid:rcv-3",
            &time(12, 30),
            2,
            3,
            &[serial(3)],
        )]),
    )
    .await;
}

async fn post_json(h: &Harness, uri: &str, key: Option<&str>, body: &Value) -> crate::common::Resp {
    h.request(
        Method::POST,
        uri,
        key,
        &[("content-type", "application/json")],
        Body::from(serde_json::to_vec(body).unwrap()),
    )
    .await
}

fn recall_body(firm: &str) -> Value {
    json!({
        "title": "RAW1 contamination", "reason": "Listeria found in raw material lot RAW1",
        "hazard": "Listeria monocytogenes", "classification": "I", "recalling_firm": firm,
        "depth": "consumer", "targets": { "lots": [RAW] }, "recovery_target": 0.5,
    })
}

/// Holders of a scope: organisation -> (tier, received count, held count) for counted units.
fn holders(scope: &Value) -> Vec<(String, u64, f64, f64)> {
    let mut out = Vec::new();
    for t in scope["tiers"].as_array().unwrap() {
        for h in t["holders"].as_array().unwrap() {
            let count = |k: &str| {
                h[k].as_array()
                    .unwrap()
                    .iter()
                    .filter(|a| a.get("uom").is_none())
                    .map(|a| a["quantity"].as_f64().unwrap())
                    .sum::<f64>()
            };
            out.push((
                h["organisation"].as_str().unwrap().to_string(),
                h["tier"].as_u64().unwrap(),
                count("received"),
                count("held"),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn orgs(scope: &Value) -> BTreeSet<String> {
    holders(scope).into_iter().map(|h| h.0).collect()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn recall_scope_of_a_hand_built_chain_grows_when_goods_move_on() {
    let h = Harness::new();
    chain(&h).await;
    let r = post_json(
        &h,
        "/api/recalls",
        Some(&h.keys.regulator),
        &recall_body("orgA"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let rec = r.json();
    let id = rec["id"].as_str().unwrap().to_string();
    let sc = &rec["scope"];
    // Transformation: RAW1 -> 1..6; aggregation: the pallet.
    let expect: BTreeSet<String> = serials(1..=6).iter().map(|s| dl(s)).collect();
    assert_eq!(strings(&sc["serials"]), expect);
    assert!(strings(&sc["lots"]).contains(&dl(RAW)));
    assert_eq!(strings(&sc["containers"]), BTreeSet::from([dl(SSCC)]));
    // Partial shipment, sale and return, counted by hand.
    let hs = holders(sc);
    assert_eq!(hs.len(), 2, "{hs:?}");
    assert_eq!(hs[0], ("orgA".into(), 0, 7.0, 3.0)); // made 6, got 2 back; holds 5, 6, 2
    assert_eq!(hs[1], ("orgB".into(), 1, 4.0, 2.0)); // got 1..4, sold 1, returned 2
    // One notification per holder, pending.
    let notes = h
        .get(
            &format!("/api/recalls/{id}/notifications"),
            Some(&h.keys.regulator),
        )
        .await
        .json();
    let mut who: Vec<(String, String)> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["holder"].as_str().unwrap().into(),
                n["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    who.sort();
    assert_eq!(
        who,
        vec![
            ("orgA".into(), "pending".into()),
            ("orgB".into(), "pending".into())
        ]
    );

    // Goods move on after the recall opened: the scope grows on the next read.
    let c = key_c(&h);
    move_on(&h, &c).await;
    let again = h
        .get(&format!("/api/recalls/{id}"), Some(&h.keys.regulator))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    let hs = holders(&again.json()["scope"]);
    assert_eq!(hs.len(), 3, "{hs:?}");
    assert_eq!(hs[1], ("orgB".into(), 1, 4.0, 1.0));
    assert_eq!(hs[2], ("orgC".into(), 2, 1.0, 1.0));
    let notes = h
        .get(
            &format!("/api/recalls/{id}/notifications"),
            Some(&h.keys.regulator),
        )
        .await
        .json();
    assert_eq!(notes.as_array().unwrap().len(), 3);
    // orgC, now a notified holder, sees the recall but only its own holdings.
    let seen_by_c = h.get(&format!("/api/recalls/{id}"), Some(&c)).await;
    assert_eq!(seen_by_c.status, StatusCode::OK);
    assert_eq!(
        orgs(&seen_by_c.json()["scope"]),
        BTreeSet::from(["orgC".to_string()])
    );

    // scope.csv: one row per holder plus the header.
    let csv = h
        .get(
            &format!("/api/recalls/{id}/scope.csv"),
            Some(&h.keys.regulator),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let text = csv.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("tier,organisation"));
    assert!(lines.iter().any(|l| l.starts_with("2,orgC,")));
}

#[tokio::test]
async fn enterprises_see_traces_and_holders_of_their_own_events_only() {
    let h = Harness::new();
    chain(&h).await;
    let uri = format!("/api/trace?id={}&direction=forward", dl(RAW));
    let all = h.get(&uri, Some(&h.keys.regulator)).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text());
    let all = all.json();
    let all_events = strings(&all["events"]);
    assert_eq!(all_events.len(), 8);
    for (key, org, own) in [
        (
            &h.keys.a,
            "orgA",
            [
                "urn:uuid:tr-1",
                "urn:uuid:agg-1",
                "urn:uuid:ship-1",
                "urn:uuid:ret-rcv",
            ],
        ),
        (
            &h.keys.b,
            "orgB",
            [
                "urn:uuid:rcv-1",
                "urn:uuid:agg-2",
                "urn:uuid:sell-1",
                "urn:uuid:ret-ship",
            ],
        ),
    ] {
        let t = h.get(&uri, Some(key)).await.json();
        let ev = strings(&t["events"]);
        assert!(
            ev.is_subset(&own.iter().map(|s| s.to_string()).collect()),
            "{org}: {ev:?}"
        );
        for o in t["objects"].as_array().unwrap() {
            for step in o["custody"].as_array().unwrap() {
                assert_eq!(step["holder"], org);
            }
        }
    }
    // Backward from a serial sold by orgB, through the pallet and the transformation (regulator).
    let back = h
        .get(
            &format!("/api/trace?id={}&direction=backward", dl(&serial(1))),
            Some(&h.keys.regulator),
        )
        .await
        .json();
    let objs: BTreeSet<String> = back["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    assert!(objs.contains(&dl(RAW)), "{objs:?}");
    // Graphviz.
    let dot = h
        .get(&format!("{uri}&format=dot"), Some(&h.keys.regulator))
        .await;
    assert_eq!(dot.header("content-type"), Some("text/vnd.graphviz"));
    assert!(dot.text().starts_with("digraph"));
    // Bad parameters name themselves.
    let bad = h
        .get("/api/trace?id=x&direction=sideways", Some(&h.keys.a))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("direction"));
    assert_eq!(h.get(&uri, None).await.status, StatusCode::UNAUTHORIZED);

    // A recall opened by the recalling firm shows it only its own holders; orgB is not revealed.
    let r = post_json(&h, "/api/recalls", Some(&h.keys.a), &recall_body("orgA")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let rec = r.json();
    assert_eq!(orgs(&rec["scope"]), BTreeSet::from(["orgA".to_string()]));
    assert!(!r.text().contains("orgB"), "{}", r.text());
    let id = rec["id"].as_str().unwrap();
    let csv = h
        .get(&format!("/api/recalls/{id}/scope.csv"), Some(&h.keys.a))
        .await
        .text();
    assert!(!csv.contains("orgB"));
    // An enterprise may not open a recall for another firm.
    let r = post_json(&h, "/api/recalls", Some(&h.keys.b), &recall_body("orgA")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // orgB is a notified holder: it sees the recall with its own holdings only.
    let seen = h
        .get(&format!("/api/recalls/{id}"), Some(&h.keys.b))
        .await
        .json();
    assert_eq!(orgs(&seen["scope"]), BTreeSet::from(["orgB".to_string()]));
    assert!(
        seen["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["holder"] == "orgB")
    );
    // A public key sees nothing until publication; the list hides recalls from strangers.
    assert_eq!(
        h.get(&format!("/api/recalls/{id}/notice"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let c = key_c(&h);
    assert_eq!(
        h.get(&format!("/api/recalls/{id}"), Some(&c)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(h.get("/api/recalls", Some(&c)).await.json(), json!([]));
    assert_eq!(
        h.get("/api/recalls", Some(&h.keys.b))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// (url, headers, body) of one request.
type Sent = (String, Vec<(String, String)>, Vec<u8>);

struct FakeSender(Mutex<Vec<Sent>>);

impl WebhookSender for FakeSender {
    fn send(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> Result<u16, String> {
        self.0
            .lock()
            .unwrap()
            .push((url.to_string(), headers.to_vec(), body.to_vec()));
        Ok(204)
    }
}

#[tokio::test]
async fn notifications_are_signed_acknowledged_and_effectiveness_gates_close_out() {
    let h = Harness::new();
    chain(&h).await;
    let org = json!([{ "id": "orgB", "name": "B Distribution", "webhook_url": "https://b.example/hook", "webhook_secret": "s3cret" }]);
    let r = post_json(&h, "/api/masterdata/organisations", Some(&h.keys.b), &org).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = post_json(
        &h,
        "/api/recalls",
        Some(&h.keys.regulator),
        &recall_body("orgA"),
    )
    .await;
    let id = r.json()["id"].as_str().unwrap().to_string();

    let fake = FakeSender(Mutex::new(Vec::new()));
    let rep = deliver_pending(h.store.as_ref(), &fake, 1_000).unwrap();
    assert_eq!((rep.sent, rep.skipped), (1, 1), "orgA has no webhook");
    let sent = fake.0.lock().unwrap().clone();
    let (url, headers, body) = &sent[0];
    assert_eq!(url, "https://b.example/hook");
    let sig = headers
        .iter()
        .find(|(k, _)| k == "X-Zhiliang-Signature")
        .unwrap()
        .1
        .clone();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(body);
    assert_eq!(
        sig,
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    let payload: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["holder"], "orgB");
    assert!(
        !String::from_utf8_lossy(body).contains("orgA\""),
        "another holder leaked"
    );
    // Sent once only.
    assert_eq!(
        deliver_pending(h.store.as_ref(), &fake, 2_000)
            .unwrap()
            .sent,
        0
    );
    // Goods found later: the delivery round itself recomputes the scope, so orgC (with a
    // webhook) is notified without anyone reading the recall first; it acknowledges.
    let c = key_c(&h);
    let org_c =
        json!([{ "id": "orgC", "webhook_url": "https://c.example/hook", "webhook_secret": "c" }]);
    let r = post_json(&h, "/api/masterdata/organisations", Some(&c), &org_c).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    move_on(&h, &c).await;
    let rep = deliver_pending(h.store.as_ref(), &fake, 3_000).unwrap();
    assert_eq!(rep.sent, 1);
    assert_eq!(
        fake.0.lock().unwrap().last().unwrap().0,
        "https://c.example/hook"
    );
    let ack_c = format!("/api/recalls/{id}/notifications/orgC/ack");
    let r = h
        .request(Method::POST, &ack_c, Some(&c), &[], Body::empty())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Master data never shows the secret.
    assert!(
        !h.get("/api/masterdata/organisations", Some(&h.keys.a))
            .await
            .text()
            .contains("s3cret")
    );

    // Acknowledgement: only the holder's own key.
    let ack = format!("/api/recalls/{id}/notifications/orgB/ack");
    assert_eq!(
        h.request(Method::POST, &ack, Some(&h.keys.a), &[], Body::empty())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = h
        .request(Method::POST, &ack, Some(&h.keys.b), &[], Body::empty())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "acknowledged");

    // Level A: every consignee (orgB) checked; recovered share must reach 0.5 of the 5 held.
    let close = format!("/api/recalls/{id}/close");
    let eff = format!("/api/recalls/{id}/effectiveness");
    let refused = h
        .request(
            Method::POST,
            &close,
            Some(&h.keys.regulator),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );
    assert_eq!(refused.json()["field"], "/effectiveness");
    let r = post_json(
        &h,
        &eff,
        Some(&h.keys.b),
        &json!({ "holder": "orgB", "returned": { "epcList": [serial(3), serial(4)], "to": pgln(1) } }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let e = &r.json()["effectiveness"];
    assert_eq!(e["level"], "A");
    assert_eq!(e["consignees"], 2);
    assert_eq!(e["checked"], 2);
    assert_eq!(e["affected"], 5.0);
    assert_eq!(e["recovered_share"], 0.4);
    assert_eq!(
        h.request(
            Method::POST,
            &close,
            Some(&h.keys.regulator),
            &[],
            Body::empty()
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    // Another holder cannot report for orgB.
    assert_eq!(
        post_json(
            &h,
            &eff,
            Some(&c),
            &json!({ "holder": "orgB", "destroyed": { "epcList": [serial(3)] } })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = post_json(
        &h,
        &eff,
        Some(&h.keys.a),
        &json!({ "holder": "orgA", "destroyed": { "epcList": [serial(5)] } }),
    )
    .await;
    assert_eq!(r.json()["effectiveness"]["recovered_share"], 0.6);
    let r = h
        .request(
            Method::POST,
            &close,
            Some(&h.keys.regulator),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "closed");

    // The public notice after publication: no key, no holder named.
    let r = h
        .request(
            Method::POST,
            &format!("/api/recalls/{id}/publish"),
            Some(&h.keys.regulator),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let n = h.get(&format!("/api/recalls/{id}/notice"), None).await;
    assert_eq!(n.status, StatusCode::OK, "{}", n.text());
    let n = n.json();
    assert_eq!(n["hazard"], "Listeria monocytogenes");
    assert!(strings(&n["lots"]).contains(&dl(RAW)));
    assert!(n["what_to_do"].as_str().unwrap().contains("Do not use"));
    assert!(!n.to_string().contains("orgB"));
}

/// The holder entry of `org` in a scope: (held count, objects held).
fn held_by(scope: &Value, org: &str) -> (f64, BTreeSet<String>) {
    let hs = holders(scope);
    let held = hs.iter().find(|x| x.0 == org).map_or(0.0, |x| x.3);
    let objects = scope["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["holders"].as_array().unwrap().iter())
        .filter(|x| x["organisation"] == org)
        .flat_map(|x| x["objects_held"].as_array().unwrap().iter())
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    (held, objects)
}

#[tokio::test]
async fn effectiveness_reports_are_epcis_events_in_the_holders_scope_and_lower_held() {
    let h = Harness::new();
    chain(&h).await;
    let r = post_json(
        &h,
        "/api/recalls",
        Some(&h.keys.regulator),
        &recall_body("orgA"),
    )
    .await;
    let id = r.json()["id"].as_str().unwrap().to_string();
    let sc = &r.json()["scope"];
    // By hand (see `chain`): orgB holds 3 and 4, orgA holds 2, 5, 6.
    assert_eq!(
        held_by(sc, "orgB"),
        (2.0, BTreeSet::from([dl(&serial(3)), dl(&serial(4))]))
    );
    assert_eq!(held_by(sc, "orgA").0, 3.0);
    let eff = format!("/api/recalls/{id}/effectiveness");
    let events_before = h.store.count_events(&store::Scope::All).unwrap();

    // Refused, nothing captured: a bare count, an object outside the scope, a regulator
    // writing into a holder's record, a location the capture validation rejects.
    let bare = post_json(&h, &eff, Some(&h.keys.b), &json!({ "returned": 2 })).await;
    assert_eq!(bare.status, StatusCode::BAD_REQUEST, "{}", bare.text());
    assert_eq!(bare.json()["field"], "/returned");
    let outside = post_json(
        &h,
        &eff,
        Some(&h.keys.b),
        &json!({ "held": { "epcList": [serial(4)] }, "returned": { "epcList": [serial(99)] } }),
    )
    .await;
    assert_eq!(
        outside.status,
        StatusCode::BAD_REQUEST,
        "{}",
        outside.text()
    );
    assert_eq!(outside.json()["field"], "/returned/epcList/0");
    let by_regulator = post_json(
        &h,
        &eff,
        Some(&h.keys.regulator),
        &json!({ "holder": "orgB", "returned": { "epcList": [serial(4)] } }),
    )
    .await;
    assert_eq!(by_regulator.status, StatusCode::FORBIDDEN);
    let bad_location = post_json(
        &h,
        &eff,
        Some(&h.keys.b),
        &json!({ "location": "urn:epc:id:sgln:0614141.0002.0", "held": { "epcList": [serial(3)] }, "returned": { "epcList": [serial(4)] } }),
    )
    .await;
    assert_eq!(
        bad_location.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_location.text()
    );
    assert_eq!(bad_location.json()["field"], "/location");
    assert_eq!(
        h.store.count_events(&store::Scope::All).unwrap(),
        events_before,
        "a refused report stores nothing"
    );

    // orgB sets 3 apart and returns 4 to orgA: two events in orgB's own scope.
    let r = post_json(
        &h,
        &eff,
        Some(&h.keys.b),
        &json!({ "held": { "epcList": [serial(3)] }, "returned": { "epcList": [dl(&serial(4))], "to": pgln(1) } }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let out = r.json();
    let captured: Vec<String> = out["captured"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    assert_eq!(captured.len(), 2);
    let recall_ref = zhiliang_http::api::recall::recall_uri(&id);
    let check_event = |e: &Value, step: &str, disp: &str, epc: &str| {
        assert_eq!(e["type"], "ObjectEvent");
        assert_eq!(e["action"], "OBSERVE");
        assert_eq!(e["bizStep"], step);
        assert_eq!(e["disposition"], disp);
        assert_eq!(e["epcList"], json!([epc]));
        assert_eq!(
            e["bizLocation"]["id"],
            dl(&sgln(2)),
            "the holder's own location"
        );
        assert!(
            e["bizTransactionList"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["bizTransaction"] == recall_ref.as_str()),
            "{e}"
        );
    };
    for (eid, step, disp, epc) in [
        (&captured[0], "holding", "recalled", serial(3)),
        (&captured[1], "shipping", "recalled", dl(&serial(4))),
    ] {
        let q = format!("/epcis/events?EQ_eventID={eid}");
        let mine = h.get(&q, Some(&h.keys.b)).await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.text());
        let list = mine.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"].clone();
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        check_event(&list[0], step, disp, &epc);
        // In orgB's scope only.
        let other = h.get(&q, Some(&h.keys.a)).await.json();
        assert_eq!(
            other["epcisBody"]["queryResults"]["resultsBody"]["eventList"],
            json!([])
        );
    }
    let shipped = h
        .get(
            "/epcis/events?EQ_bizStep=shipping&EQ_disposition=recalled",
            Some(&h.keys.b),
        )
        .await
        .json();
    assert_eq!(
        shipped["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["destinationList"][0]["destination"],
        pgln(1).as_str()
    );
    // Held falls by the returned unit only (held apart is still held).
    let sc = out["scope"].clone();
    assert_eq!(
        held_by(&sc, "orgB"),
        (1.0, BTreeSet::from([dl(&serial(3))]))
    );
    let e = &out["effectiveness"];
    assert_eq!(
        (e["returned"].as_f64(), e["held_apart"].as_f64()),
        (Some(1.0), Some(1.0))
    );
    assert_eq!(e["recovered"], 1.0);
    assert_eq!(e["affected"], 5.0);
    assert_eq!(e["checked"], 1, "orgB reported: checked");
    // orgB sees its own reports; orgA, the recalling firm, sees them too.
    let kinds = |v: &Value| -> BTreeSet<String> {
        v["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{}:{}",
                    r["holder"].as_str().unwrap(),
                    r["kind"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        kinds(
            &h.get(&format!("/api/recalls/{id}"), Some(&h.keys.a))
                .await
                .json()
        ),
        BTreeSet::from(["orgB:held".to_string(), "orgB:returned".to_string()])
    );

    // orgA takes 4 back (receiving, held rises) and destroys it with 5 (held falls by 2), and
    // corrects 10 kg of the raw lot; 4 counts once in the recovered units.
    let r = post_json(
        &h,
        &eff,
        Some(&h.keys.a),
        &json!({
            "received": { "epcList": [serial(4)], "from": pgln(2) },
            "destroyed": { "epcList": [serial(4), serial(5)] },
            "corrected": { "quantityList": [{ "epcClass": RAW, "quantity": 10, "uom": "KGM" }] },
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let out = r.json();
    assert_eq!(out["captured"].as_array().unwrap().len(), 3);
    let (held_a, objects_a) = held_by(&out["scope"], "orgA");
    assert_eq!(held_a, 2.0, "2, 6 (+4 received, -4 -5 destroyed)");
    assert_eq!(objects_a, BTreeSet::from([dl(&serial(2)), dl(&serial(6))]));
    let e = &out["effectiveness"];
    assert_eq!(e["returned"], 1.0);
    assert_eq!(e["received"], 1.0);
    assert_eq!(e["destroyed"], 2.0);
    assert_eq!(e["corrected"], 10.0);
    assert_eq!(
        e["recovered"], 12.0,
        "serials 4 and 5 once each, plus 10 kg"
    );
    // The recalled goods leave orgA's stock in the trace as well.
    let t = h
        .get(
            &format!("/api/trace?id={}&direction=forward", dl(&serial(4))),
            Some(&h.keys.a),
        )
        .await
        .json();
    assert_eq!(t["objects"][0]["last_disposition"], "destroyed");
}

/// A local webhook listener: answers every request with `status`, and hands each request's
/// head and body to the test.
fn listener(status: u16) -> (String, std::sync::mpsc::Receiver<(String, Vec<u8>)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                head.push_str(&line);
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let _ = conn.write_all(
                format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            if tx.send((head, body)).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

#[tokio::test]
async fn the_delivery_worker_posts_signed_webhooks_backs_off_and_stops_cleanly() {
    use std::sync::Arc;
    use std::time::Duration;
    use zhiliang_http::api::recall::{
        HttpWebhookSender, WorkerConfig, next_attempt_ms, run_delivery_worker,
    };
    let h = Harness::new();
    chain(&h).await;
    let (ok_url, ok_rx) = listener(204);
    let (bad_url, bad_rx) = listener(503);
    for (key, org, url) in [(&h.keys.b, "orgB", &ok_url), (&h.keys.a, "orgA", &bad_url)] {
        let body =
            json!([{ "id": org, "webhook_url": url, "webhook_secret": format!("{org}-secret") }]);
        let r = post_json(&h, "/api/masterdata/organisations", Some(key), &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let r = post_json(
        &h,
        "/api/recalls",
        Some(&h.keys.regulator),
        &recall_body("orgA"),
    )
    .await;
    let id = r.json()["id"].as_str().unwrap().to_string();

    // A fixed clock: orgA's failed entry must not be retried before its backoff ends.
    let now = 1_000_000;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(run_delivery_worker(
        h.store.clone(),
        Arc::new(HttpWebhookSender::default()),
        Arc::new(move || now),
        WorkerConfig {
            interval: Duration::from_millis(20),
            backoff_max: Duration::from_millis(100),
        },
        stop_rx,
    ));
    let got = tokio::task::spawn_blocking(move || {
        let ok = ok_rx.recv_timeout(Duration::from_secs(20)).unwrap();
        let bad = bad_rx.recv_timeout(Duration::from_secs(20)).unwrap();
        // Several rounds pass; neither is posted again (sent; backing off).
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            ok_rx.try_recv().is_err(),
            "a sent notification was sent again"
        );
        assert!(
            bad_rx.try_recv().is_err(),
            "a failed one was retried before its backoff"
        );
        (ok, bad)
    })
    .await
    .unwrap();
    stop_tx.send(true).unwrap();
    let summary = tokio::time::timeout(Duration::from_secs(20), worker)
        .await
        .expect("the worker stops when told")
        .unwrap();
    assert!(summary.rounds >= 2, "{summary:?}");
    assert_eq!((summary.sent, summary.failed), (1, 1), "{summary:?}");

    // The request is signed with the holder's secret over the exact body.
    let (head, body) = got.0;
    assert!(head.starts_with("POST /hook HTTP/1.1\r\n"), "{head}");
    let sig = head
        .lines()
        .find_map(|l| l.strip_prefix("X-Zhiliang-Signature: "))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"orgB-secret").unwrap();
    mac.update(&body);
    assert_eq!(
        sig,
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (payload["recall"].as_str(), payload["holder"].as_str()),
        (Some(id.as_str()), Some("orgB"))
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&got.1.1).unwrap()["holder"],
        "orgA"
    );

    // The outbox says what happened: orgB sent, orgA pending with its next attempt.
    let notes = h
        .get(
            &format!("/api/recalls/{id}/notifications"),
            Some(&h.keys.regulator),
        )
        .await
        .json();
    let by = |org: &str| {
        notes
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["holder"] == org)
            .unwrap()
            .clone()
    };
    assert_eq!(by("orgB")["status"], "sent");
    let a = by("orgA");
    assert_eq!(
        (a["status"].as_str(), a["attempts"].as_u64()),
        (Some("pending"), Some(1))
    );
    assert_eq!(a["last_error"], "HTTP 503");
    assert_eq!(a["next_attempt_ms"], next_attempt_ms(now, 1));
    // The backoff doubles per failure.
    assert_eq!(
        next_attempt_ms(now, 2) - now,
        2 * (next_attempt_ms(now, 1) - now)
    );
}

/// Follow `Link: rel="next"` from `uri`: every page's items, and the last link seen per page.
async fn all_pages(h: &Harness, uri: &str, key: &str) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut next = Some(uri.to_string());
    while let Some(u) = next {
        let r = h.get(&u, Some(key)).await;
        assert_eq!(r.status, StatusCode::OK, "{u}: {}", r.text());
        pages.push(r.json().as_array().unwrap().clone());
        next = r.next_link();
        assert!(pages.len() <= 50, "paging does not end");
    }
    pages
}

/// A GTIN-14 with its check digit.
fn gtin(n: u32) -> String {
    let body = format!("0086000{n:06}");
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

#[tokio::test]
async fn recall_and_master_data_lists_page_without_showing_others_records() {
    let h = Harness::new();
    chain(&h).await;
    let c = key_c(&h);
    // Three recalls that notify orgB (holder), two that only orgC (the firm) may see.
    let mut visible_to_b = BTreeSet::new();
    for i in 0..5 {
        let (key, body) = if i % 2 == 0 {
            (&h.keys.regulator, recall_body("orgA"))
        } else {
            let mut b = recall_body("orgC");
            b["targets"] = json!({ "lots": ["urn:epc:class:lgtin:0614141.107346.OTHER"] });
            (&c, b)
        };
        let mut body = body;
        body["title"] = json!(format!("recall {i}"));
        let r = post_json(&h, "/api/recalls", Some(key), &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        if i % 2 == 0 {
            visible_to_b.insert(r.json()["id"].as_str().unwrap().to_string());
        }
    }
    let ids = |pages: &[Vec<Value>]| -> Vec<String> {
        pages
            .iter()
            .flatten()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    // The regulator sees all five, two per page, each once, in id order.
    let pages = all_pages(&h, "/api/recalls?perPage=2", &h.keys.regulator).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    let all = ids(&pages);
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(all, sorted);
    assert_eq!(all.len(), 5);
    // orgB pages through exactly its three; after the last one no link hints at orgC's.
    let pages = all_pages(&h, "/api/recalls?perPage=1", &h.keys.b).await;
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert_eq!(
        ids(&pages).into_iter().collect::<BTreeSet<_>>(),
        visible_to_b
    );
    // A token is useless to another caller (it fails like a garbled one).
    let first = h.get("/api/recalls?perPage=1", Some(&h.keys.b)).await;
    let link = first.next_link().unwrap();
    for key in [&h.keys.a, &c, &h.keys.regulator] {
        let r = h.get(&link, Some(key)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert!(r.problem_type().contains("QueryParameterException"));
    }
    assert_eq!(
        h.get("/api/recalls?perPage=0", Some(&h.keys.b))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // Master data: 7 products, three per page, JSON and CSV (the format stays in the link).
    let products: Vec<Value> = (1..=7)
        .map(|i| json!({ "gtin": gtin(i), "name": format!("product {i}") }))
        .collect();
    let r = post_json(
        &h,
        "/api/masterdata/products",
        Some(&h.keys.a),
        &json!(products),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let pages = all_pages(&h, "/api/masterdata/products?perPage=3", &h.keys.b).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 3, 1]
    );
    let got: BTreeSet<String> = pages
        .iter()
        .flatten()
        .map(|p| p["gtin"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, (1..=7).map(gtin).collect());
    let csv = h
        .get(
            "/api/masterdata/products?format=csv&perPage=3",
            Some(&h.keys.b),
        )
        .await;
    assert_eq!(csv.text().lines().count(), 4, "{}", csv.text());
    let link = csv.next_link().unwrap();
    assert!(link.contains("format=csv"), "{link}");
    let second = h.get(&link, Some(&h.keys.b)).await;
    assert!(
        second
            .header("content-type")
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(second.text().lines().count(), 4);
    // Bound to the caller's scope and to the query.
    assert_eq!(
        h.get(&link, Some(&h.keys.a)).await.status,
        StatusCode::BAD_REQUEST
    );
    let as_json = link.replace("format=csv", "format=json");
    assert_eq!(
        h.get(&as_json, Some(&h.keys.b)).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn recall_input_is_validated_field_by_field() {
    let h = Harness::new();
    for (patch, field) in [
        (json!({ "classification": "IV" }), "/classification"),
        (json!({ "depth": "shelf" }), "/depth"),
        (json!({ "targets": {} }), "/targets"),
        (
            json!({ "targets": { "products": [{ "gtin": "12345" }] } }),
            "/targets/products/0/gtin",
        ),
        (json!({ "colour": "red" }), "/colour"),
    ] {
        let mut b = recall_body("orgA");
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        let r = post_json(&h, "/api/recalls", Some(&h.keys.regulator), &b).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}: {}", r.text());
        assert_eq!(r.json()["field"], field);
    }
    assert_eq!(
        post_json(
            &h,
            "/api/recalls",
            Some(&h.keys.public),
            &recall_body("orgA")
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn product_targets_with_a_window_pick_the_lots_seen_in_it() {
    let h = Harness::new();
    chain(&h).await;
    let mut b = recall_body("orgA");
    // GTIN of 0614141.107347 serials (check digit computed by the identifiers crate).
    let gtin = dl(&serial(1)).split("/01/").nth(1).unwrap()[..14].to_string();
    b["targets"] = json!({ "products": [{ "gtin": gtin, "from": "2024-03-01", "to": "2024-03-01T10:30:00Z" }] });
    let r = post_json(&h, "/api/recalls", Some(&h.keys.regulator), &b).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let sc = &r.json()["scope"];
    assert_eq!(
        strings(&sc["serials"]),
        serials(1..=6).iter().map(|s| dl(s)).collect()
    );
    // The raw lot is upstream: not in a forward scope from the product.
    assert!(!strings(&sc["lots"]).contains(&dl(RAW)));
}

#[tokio::test]
async fn master_data_from_json_csv_and_epcis() {
    let h = Harness::new();
    let csv =
        "gtin,name,brand,category,unit\r\n00860009999923,\"Romaine, whole\",Acme,produce,LBR\n";
    let r = h
        .request(
            Method::POST,
            "/api/masterdata/products",
            Some(&h.keys.a),
            &[("content-type", "text/csv")],
            Body::from(csv),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let list = h
        .get("/api/masterdata/products", Some(&h.keys.b))
        .await
        .json();
    assert_eq!(list[0]["gtin"], "00860009999923");
    assert_eq!(list[0]["name"], "Romaine, whole");
    let out = h
        .request(
            Method::GET,
            "/api/masterdata/products",
            Some(&h.keys.b),
            &[("accept", "text/csv")],
            Body::empty(),
        )
        .await;
    assert!(out.text().contains("\"Romaine, whole\""), "{}", out.text());
    // A bad check digit and an unknown column name themselves.
    let r = post_json(
        &h,
        "/api/masterdata/products",
        Some(&h.keys.a),
        &json!([{ "gtin": "00860009999924" }]),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h
        .request(
            Method::POST,
            "/api/masterdata/locations",
            Some(&h.keys.a),
            &[("content-type", "text/csv")],
            Body::from("id,colour\nx,y\n"),
        )
        .await;
    assert_eq!(r.json()["field"], "/header/colour");
    let r = post_json(
        &h,
        "/api/masterdata/organisations",
        Some(&h.keys.a),
        &json!([{ "id": "orgA", "gln": "0614141000013" }]),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.json()["field"], "/0/gln");

    // EPCIS master data: every vocabulary element of a known type is imported.
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{IFT}/gdst_data_withmasterdata.jsonld")).unwrap(),
    )
    .unwrap();
    let mut expected = (0, 0, 0);
    let mut names = BTreeSet::new();
    for v in doc["epcisHeader"]["epcisMasterData"]["vocabularyList"]
        .as_array()
        .unwrap()
    {
        let ty = v["type"].as_str().unwrap().to_ascii_lowercase();
        let n = v["vocabularyElementList"].as_array().unwrap().len();
        if ty.ends_with("epcclass") {
            expected.0 += n;
            for el in v["vocabularyElementList"].as_array().unwrap() {
                for a in el["attributes"].as_array().unwrap() {
                    if a["id"] == "urn:epcglobal:cbv:mda#descriptionShort" {
                        names.insert(a["attribute"].as_str().unwrap().to_string());
                    }
                }
            }
        } else if ty.ends_with("location") {
            expected.1 += n;
        } else if ty.ends_with("party") {
            expected.2 += n;
        }
    }
    assert!(expected.0 > 0 && expected.1 > 0, "{expected:?}");
    let r = post_json(&h, "/api/masterdata/epcis", Some(&h.keys.regulator), &doc).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["imported"], expected.0 + expected.1 + expected.2);
    let products = h
        .get("/api/masterdata/products", Some(&h.keys.regulator))
        .await
        .json();
    let got: BTreeSet<String> = products
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.is_subset(&got), "{names:?} vs {got:?}");
    assert_eq!(
        h.get("/api/masterdata/locations", Some(&h.keys.regulator))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        expected.1
    );
    assert_eq!(
        h.get("/api/masterdata/products", Some(&h.keys.public))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

/// The CTE each reference event is, by the GS1 US mapping the reference files document in
/// their `_comment_gs1us_mapping` (None: not a CTE, e.g. transporting or pallet building).
fn reference_cte(file: &str, index: usize) -> Option<&'static str> {
    match (file, index) {
        ("harvest-cte.jsonld", 0) => Some("Harvesting"),
        ("cooling-cte.jsonld", 0) => Some("Receiving"),
        ("cooling-cte.jsonld", 1) => Some("Cooling"),
        ("first-land-based-receiver-cte.jsonld", 0) => Some("First Land-Based Receiving"),
        ("initial-packing-cte.jsonld", 0) => Some("Harvesting"),
        ("initial-packing-cte.jsonld", 2) => Some("Receiving"),
        ("initial-packing-cte.jsonld", 4) => Some("Initial Packing"),
        ("receiving-cte.jsonld", 1) => Some("Receiving"),
        ("shipping-cte.jsonld", 2) => Some("Shipping"),
        ("transformation-cte.jsonld", 0) => Some("Transformation"),
        _ => None,
    }
}

fn parse_csv_rows(text: &str) -> Vec<Vec<String>> {
    zhiliang_http::api::recall::parse_csv(text, 100_000).unwrap()
}

#[tokio::test]
async fn fsma204_rows_carry_the_kdes_of_the_reference_ctes() {
    let h = Harness::new();
    let files = [
        "harvest-cte.jsonld",
        "cooling-cte.jsonld",
        "initial-packing-cte.jsonld",
        "shipping-cte.jsonld",
        "receiving-cte.jsonld",
        "transformation-cte.jsonld",
        "first-land-based-receiver-cte.jsonld",
    ];
    let mut docs = Vec::new();
    for f in files {
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{FSMA}/{f}")).unwrap()).unwrap();
        // The files carry a top-level `_comment_gs1us_mapping` (prose; not a term of their
        // contexts, so JSON-LD expansion drops it): captured unmodified, the member is ignored
        // with a warning (docs/trace.md).
        let parsed =
            epcis::document::document_from_value(doc.clone(), &Default::default()).unwrap();
        let ignored: Vec<String> = epcis::validate::ignored_members(&parsed)
            .into_iter()
            .map(|w| w.pointer)
            .collect();
        assert_eq!(ignored, vec!["/_comment_gs1us_mapping".to_string()], "{f}");
        let r = h.capture(&h.keys.a, &doc).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{f}: {}", r.text());
        docs.push((f, doc));
    }
    let md = json!([{ "gtin": "00860009999923", "name": "Romaine lettuce, whole head" }]);
    assert_eq!(
        post_json(&h, "/api/masterdata/products", Some(&h.keys.a), &md)
            .await
            .status,
        StatusCode::OK
    );
    let cols = zhiliang_http::api::recall::FSMA_COLUMNS;
    let col = |name: &str| cols.iter().position(|c| *c == name).unwrap();
    let mut checked = 0;
    for (f, doc) in &docs {
        for (i, e) in doc["epcisBody"]["eventList"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let Some(cte) = reference_cte(f, i) else {
                continue;
            };
            // The lot this CTE is about: the created/received/shipped class, else a packed one.
            let lot = ["quantityList", "outputQuantityList", "childQuantityList"]
                .iter()
                .find_map(|l| e[*l].as_array().and_then(|a| a.first()).cloned());
            let (lot, qty) = match lot {
                Some(q) => (q["epcClass"].as_str().unwrap().to_string(), Some(q)),
                None => {
                    // Shipping a pallet: the lots come from the aggregation just before it.
                    let agg = &doc["epcisBody"]["eventList"][i - 1];
                    (
                        agg["childQuantityList"][0]["epcClass"]
                            .as_str()
                            .unwrap()
                            .to_string(),
                        Some(agg["childQuantityList"][0].clone()),
                    )
                }
            };
            let r = h
                .get(
                    &format!("/api/fsma204?lot={}", zhiliang_http::params::encode(&lot)),
                    Some(&h.keys.a),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            assert!(r.header("content-type").unwrap().starts_with("text/csv"));
            let rows = parse_csv_rows(&r.text());
            assert_eq!(
                rows[0],
                cols.iter().map(|c| c.to_string()).collect::<Vec<_>>()
            );
            // Every KDE the reference event states, all in one row.
            let t = e["eventTime"].as_str().unwrap();
            let mut want: Vec<(&str, String)> = vec![
                ("Event Date", t.to_string()),
                ("Critical Tracking Event", cte.to_string()),
                ("Traceability Lot Code", lot.clone()),
            ];
            if let Some(q) = qty {
                want.push(("Quantity", q["quantity"].as_f64().unwrap().to_string()));
                want.push(("Unit of Measure", q["uom"].as_str().unwrap().to_string()));
            }
            let bt: Vec<&Value> = e["bizTransactionList"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            let numbers: Vec<&str> = bt
                .iter()
                .map(|b| b["bizTransaction"].as_str().unwrap())
                .collect();
            let types: Vec<&str> = bt.iter().map(|b| b["type"].as_str().unwrap()).collect();
            want.push(("Reference Document Number", numbers.join("; ")));
            want.push(("Reference Document Type", types.join("; ")));
            let loc = e["bizLocation"]["id"]
                .as_str()
                .or(e["readPoint"]["id"].as_str())
                .unwrap();
            want.push(("Location", loc.to_string()));
            for (list, key, column) in [
                ("sourceList", "source", "Ship From"),
                ("destinationList", "destination", "Ship To"),
            ] {
                if let Some(first) = e[list]
                    .as_array()
                    .and_then(|a| a.iter().find(|s| s["type"] == "location"))
                {
                    want.push((column, first[key].as_str().unwrap().to_string()));
                }
            }
            if lot.contains("00860009999923") {
                want.push(("Product Description", "Romaine lettuce, whole head".into()));
                // Its TLC source is where it was harvested (bizLocation, else readPoint).
                let harvest = &docs[0].1["epcisBody"]["eventList"][0];
                let src = harvest["bizLocation"]["id"]
                    .as_str()
                    .or(harvest["readPoint"]["id"].as_str())
                    .unwrap();
                want.push(("Traceability Lot Code Source", src.to_string()));
            }
            assert!(
                rows[1..]
                    .iter()
                    .any(|row| want.iter().all(|(c, v)| row[col(c)] == *v)),
                "{f} #{i}: no row with {want:?} in {rows:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 10, "every reference CTE was found");
    // A window that excludes everything gives the header only; XLSX is a workbook.
    let lot = zhiliang_http::params::encode("https://id.gs1.org/01/00860009999923/10/ABC1234");
    let r = h
        .get(
            &format!("/api/fsma204?lot={lot}&from=2030-01-01"),
            Some(&h.keys.a),
        )
        .await;
    assert_eq!(r.text().lines().count(), 1);
    let x = h
        .get(
            &format!("/api/fsma204?lot={lot}&format=xlsx"),
            Some(&h.keys.a),
        )
        .await;
    assert_eq!(x.status, StatusCode::OK);
    assert_eq!(
        x.header("content-type"),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    assert_eq!(&x.body[..2], b"PK");
    // Another enterprise sees no rows of orgA's events.
    let other = h
        .get(&format!("/api/fsma204?lot={lot}"), Some(&h.keys.b))
        .await;
    assert_eq!(other.text().lines().count(), 1);
    assert_eq!(
        h.get("/api/fsma204", Some(&h.keys.a)).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn openapi_documents_every_route() {
    let h = Harness::new();
    let doc = h.get("/openapi.json", None).await.json();
    for (path, method) in [
        ("/api/trace", "get"),
        ("/api/masterdata/{kind}", "post"),
        ("/api/recalls", "post"),
        ("/api/recalls/{id}", "get"),
        ("/api/recalls/{id}/scope.csv", "get"),
        ("/api/recalls/{id}/notifications/{holder}/ack", "post"),
        ("/api/recalls/{id}/effectiveness", "post"),
        ("/api/recalls/{id}/close", "post"),
        ("/api/recalls/{id}/notice", "get"),
        ("/api/fsma204", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    assert!(doc["paths"]["/api/recalls/{id}/notice"]["get"]["security"].is_null());
}
