//! `/api/sampling`, `/api/draws`, `/api/inspections`, `/api/statistics`: every route, role checks,
//! a full commit -> run -> verify cycle with tampering, and the public-sees-only-published rule.
//! Expected values come from the reference data (`shared/reference-data/sampling/`), from naive
//! computations written here, or from properties.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use store::{NewRecord, Scope};

use crate::common::{Harness, Resp};

const SAMPLING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference-data/sampling"
);

fn csv_rows(name: &str) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(format!("{SAMPLING}/{name}")).unwrap();
    let mut lines = text.lines();
    let head: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|h| h.trim_matches('"').to_string())
        .collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split(',').map(|v| v.trim_matches('"').to_string()))
                .collect()
        })
        .collect()
}

async fn send(
    h: &Harness,
    method: Method,
    uri: &str,
    key: Option<&str>,
    ct: &str,
    body: String,
) -> Resp {
    h.request(method, uri, key, &[("content-type", ct)], Body::from(body))
        .await
}

async fn post_json(h: &Harness, uri: &str, key: Option<&str>, v: &Value) -> Resp {
    send(h, Method::POST, uri, key, "application/json", v.to_string()).await
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300) || (a - b).abs() < 1e-15
}

/// Problem type and the field it names.
fn problem(r: &Resp) -> (String, String) {
    let t = r.problem_type();
    let v = r.json();
    let field = v["field"].as_str().unwrap_or_default().to_string();
    (
        t,
        format!("{field} {}", v["detail"].as_str().unwrap_or_default()),
    )
}

#[tokio::test]
async fn plan_route_matches_table_1_and_the_resolved_z14_tables() {
    let h = Harness::new();
    let key = Some(h.keys.public.as_str());
    let table1 = csv_rows("iso2859_1_table1_code_letters.csv");
    let levels = ["S-1", "S-2", "S-3", "S-4", "I", "II", "III"];
    let mut plans: HashMap<(String, String, String), (u64, u64, u64)> = HashMap::new();
    for r in csv_rows("z14_single_plans_resolved.csv") {
        plans.insert(
            (
                r["severity"].clone(),
                r["code_letter"].clone(),
                r["aql"].clone(),
            ),
            (
                r["n"].parse().unwrap(),
                r["ac"].parse().unwrap(),
                r["re"].parse().unwrap(),
            ),
        );
    }
    let mut letters = 0;
    for row in &table1 {
        let lot: u64 = row["lot_min"].parse().unwrap();
        for level in levels {
            let r = h
                .get(
                    &format!("/api/sampling/plan?lot_size={lot}&level={level}&aql=1.0"),
                    key,
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            assert_eq!(
                r.json()["code_letter"],
                row[level].as_str(),
                "lot {lot} level {level}"
            );
            letters += 1;
        }
    }
    assert_eq!(letters, 105, "every Table 1 cell");
    let aqls: Vec<String> = {
        let mut s: Vec<String> = plans
            .keys()
            .map(|k| k.2.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        s.sort();
        s
    };
    assert_eq!(aqls.len(), 26);
    let mut cells = 0;
    for row in &table1 {
        let lot: u64 = row["lot_min"].parse().unwrap();
        let letter = &row["II"];
        for severity in ["normal", "tightened", "reduced"] {
            for aql in &aqls {
                let r = h
                    .get(
                        &format!("/api/sampling/plan?lot_size={lot}&aql={aql}&inspection={severity}&standard=z14"),
                        key,
                    )
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.text());
                let v = r.json();
                let (n, ac, re) = plans[&(severity.to_string(), letter.clone(), aql.clone())];
                assert_eq!(
                    (
                        v["sample_size"].as_u64().unwrap(),
                        v["accept"].as_u64().unwrap(),
                        v["reject"].as_u64().unwrap()
                    ),
                    (n, ac, re),
                    "{severity} {letter} AQL {aql}"
                );
                assert_eq!(v["code_letter"], letter.as_str());
                assert_eq!(v["hundred_percent"], json!(n >= lot));
                cells += 1;
            }
        }
    }
    assert_eq!(cells, 15 * 26 * 3);
    // Double plans: both stages, stage 2 cumulative, as the resolved table.
    let doubles = csv_rows("z14_double_plans_resolved.csv");
    let row = doubles
        .iter()
        .find(|r| r["severity"] == "normal" && r["code_letter"] == "K" && r["aql"] == "1.0")
        .unwrap();
    let v = h
        .get(
            "/api/sampling/plan?lot_size=1201&aql=1.0&scheme=double&standard=z14",
            key,
        )
        .await
        .json();
    assert_eq!(v["code_letter"], "K");
    let st = &v["stages"];
    let num = |k: &str| row[k].parse::<u64>().unwrap();
    assert_eq!(st[0]["sample_size"].as_u64(), Some(num("n1")));
    assert_eq!(st[0]["accept"].as_u64(), Some(num("ac1")));
    assert_eq!(st[0]["reject"].as_u64(), Some(num("re1")));
    assert_eq!(
        st[1]["cumulative_sample_size"].as_u64(),
        Some(num("n1") + num("n2"))
    );
    assert_eq!(st[1]["accept"].as_u64(), Some(num("ac2_cum")));
    assert_eq!(st[1]["reject"].as_u64(), Some(num("re2_cum")));
    // GB/T 2828.1 reduced plans: lot 3000 at level II is code letter K; every AQL of row K of
    // Table 2-C as transcribed from the standard (the sampling crate's test data, source in its
    // header), through Table 1 and the arrows.
    let t2c = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sampling/tests/data/gbt2828_1_2012_table2c_resolved.csv"
    ))
    .unwrap();
    let row_k: Vec<Vec<&str>> = t2c
        .lines()
        .filter(|l| l.starts_with("K,"))
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(row_k.len(), 26);
    for cell in &row_k {
        let aql = cell[1];
        let v = h
            .get(
                &format!("/api/sampling/plan?lot_size=3000&aql={aql}&inspection=reduced"),
                key,
            )
            .await
            .json();
        assert_eq!(v["code_letter"], "K");
        assert_eq!(v["plan_letter"], cell[2], "AQL {aql}");
        assert_eq!(
            [&v["sample_size"], &v["accept"], &v["reject"]].map(|x| x.as_u64().unwrap()),
            [cell[3], cell[4], cell[5]].map(|x| x.parse::<u64>().unwrap()),
            "AQL {aql}"
        );
    }
    // GB/T 2828.1 reduced double plans (Table 3-C) are not provided: the error names the scheme.
    let r = h
        .get(
            "/api/sampling/plan?lot_size=3000&aql=1.0&inspection=reduced&scheme=double",
            key,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["detail"].as_str().unwrap().starts_with("scheme:"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn plan_and_oc_errors_name_the_parameter() {
    let h = Harness::new();
    let key = Some(h.keys.a.as_str());
    for (uri, field) in [
        ("/api/sampling/plan?aql=1.0", "lot_size"),
        ("/api/sampling/plan?lot_size=100", "aql"),
        ("/api/sampling/plan?lot_size=100&aql=0.7", "aql"),
        ("/api/sampling/plan?lot_size=100&aql=1.0&level=IV", "level"),
        (
            "/api/sampling/plan?lot_size=100&aql=1.0&inspection=loose",
            "inspection",
        ),
        (
            "/api/sampling/plan?lot_size=100&aql=1.0&colour=red",
            "colour",
        ),
        ("/api/sampling/plan?lot_size=x&aql=1.0", "lot_size"),
        ("/api/sampling/oc?accept=1&p=0.1", "sample_size"),
        ("/api/sampling/oc?sample_size=10&accept=1&p=1.5", "p"),
        (
            "/api/sampling/oc?sample_size=10&accept=1&p=0.1&model=hypergeometric",
            "lot_size",
        ),
        (
            "/api/sampling/oc?sample_size=10&accept=1&p=0.1&model=normal",
            "model",
        ),
        (
            "/api/sampling/oc?sample_size=10&accept=1&p=0.1&format=png",
            "format",
        ),
        ("/api/statistics/pass-rates?group_by=colour", "group_by"),
        ("/api/statistics/pass-rates?from=2024-13-01", "from"),
    ] {
        let r = h.get(uri, key).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text());
        let (t, detail) = problem(&r);
        assert_eq!(t, "epcisException:QueryParameterException", "{uri}");
        assert!(detail.contains(field), "{uri}: {detail}");
    }
    // Too many points.
    let ps = vec!["0.01"; 10_001].join(",");
    let r = h
        .get(
            &format!("/api/sampling/oc?sample_size=10&accept=1&p={ps}"),
            key,
        )
        .await;
    // (10,001 points do not fit in the query-string limit: refused as a query parameter error.)
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.problem_type(), "epcisException:QueryParameterException");
}

#[tokio::test]
async fn oc_route_matches_reference_pa_aoq_ati_and_draws_svg() {
    let h = Harness::new();
    let key = Some(h.keys.public.as_str());
    let mut groups: BTreeMap<(u64, u64, u64), Vec<HashMap<String, String>>> = BTreeMap::new();
    for r in csv_rows("rectifying_aoq_ati.csv") {
        groups
            .entry((
                r["N"].parse().unwrap(),
                r["n"].parse().unwrap(),
                r["c"].parse().unwrap(),
            ))
            .or_default()
            .push(r);
    }
    let mut checked = 0;
    for ((lot, n, c), rows) in &groups {
        let ps: Vec<&str> = rows.iter().map(|r| r["p"].as_str()).collect();
        let r = h
            .get(
                &format!(
                    "/api/sampling/oc?sample_size={n}&accept={c}&p={}&lot_size={lot}",
                    ps.join(",")
                ),
                key,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let pts = r.json()["points"].as_array().unwrap().clone();
        assert_eq!(pts.len(), rows.len());
        for (pt, row) in pts.iter().zip(rows) {
            for k in ["pa", "aoq", "ati"] {
                let want: f64 = row[k].parse().unwrap();
                let got = pt[k].as_f64().unwrap();
                assert!(
                    close(got, want, 1e-9),
                    "N={lot} n={n} c={c} p={}: {k} {got} vs {want}",
                    row["p"]
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, csv_rows("rectifying_aoq_ati.csv").len());
    // Without a lot size: ATI is null and AOQ = p·Pa; Pa against a naive binomial sum.
    let v = h
        .get("/api/sampling/oc?sample_size=20&accept=1&p=0.05,0.1", key)
        .await
        .json();
    for pt in v["points"].as_array().unwrap() {
        let p = pt["p"].as_f64().unwrap();
        let naive = (1.0 - p).powi(20) + 20.0 * p * (1.0 - p).powi(19);
        assert!(close(pt["pa"].as_f64().unwrap(), naive, 1e-12));
        assert!(close(pt["aoq"].as_f64().unwrap(), p * naive, 1e-12));
        assert!(pt["ati"].is_null());
    }
    let r = h
        .get(
            "/api/sampling/oc?sample_size=80&accept=2&p=0,0.01,0.02,0.05&format=svg",
            key,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert!(r.text().contains("<svg"));
}

#[tokio::test]
async fn switching_route_applies_the_rules_per_organisation() {
    let h = Harness::new();
    let a = Some(h.keys.a.as_str());
    let lots = "/api/sampling/switching/widget/acme/lots";
    let plan_of = |inspection: &str| {
        format!("/api/sampling/plan?lot_size=1000&aql=1.0&inspection={inspection}")
    };
    let normal = h.get(&plan_of("normal"), a).await.json();
    let tightened = h.get(&plan_of("tightened"), a).await.json();
    // The first lot must say which AQL.
    let r = post_json(&h, lots, a, &json!({"lot_size": 1000, "nonconforming": 0})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(problem(&r).1.contains("/aql"));
    let reject = normal["reject"].as_u64().unwrap();
    // Two lots not accepted among five: tightened, and the next plan is the tightened plan.
    let r = post_json(
        &h,
        lots,
        a,
        &json!({"lot_size": 1000, "nonconforming": reject, "aql": "1.0"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["lot_accepted"], false);
    assert_eq!(v["state"], "normal");
    assert_eq!(v["judged_with"]["sample_size"], normal["sample_size"]);
    let v = post_json(&h, lots, a, &json!({"lot_size": 1000, "nonconforming": 0}))
        .await
        .json();
    assert_eq!(v["lot_accepted"], true);
    let v = post_json(
        &h,
        lots,
        a,
        &json!({"lot_size": 1000, "nonconforming": reject}),
    )
    .await
    .json();
    assert_eq!(v["lot_accepted"], false);
    assert_eq!(v["state"], "tightened");
    assert_eq!(v["transition"]["from"], "normal");
    assert_eq!(v["transition"]["to"], "tightened");
    assert_eq!(v["next_plan"]["sample_size"], tightened["sample_size"]);
    assert_eq!(v["next_plan"]["accept"], tightened["accept"]);
    // Five consecutive accepted on tightened: back to normal.
    for i in 0..5 {
        let v = post_json(
            &h,
            lots,
            a,
            &json!({"lot_size": 1000, "nonconforming": 0, "lot": format!("L{i}")}),
        )
        .await
        .json();
        assert_eq!(v["lot_accepted"], true);
        assert_eq!(
            v["state"],
            if i < 4 { "tightened" } else { "normal" },
            "lot {i}"
        );
    }
    let s = h
        .get("/api/sampling/switching/widget/acme?lot_size=1000", a)
        .await;
    assert_eq!(s.status, StatusCode::OK);
    let s = s.json();
    assert_eq!(s["lots_recorded"], 8);
    assert_eq!(s["state"], "normal");
    assert_eq!(s["plan"]["sample_size"], normal["sample_size"]);
    // Settings that disagree with the state are refused, naming the field.
    let r = post_json(
        &h,
        lots,
        a,
        &json!({"lot_size": 1000, "nonconforming": 0, "aql": "2.5"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(problem(&r).1.contains("/aql"));
    let r = post_json(
        &h,
        lots,
        a,
        &json!({"lot_size": 1000, "nonconforming": 0, "colour": 1}),
    )
    .await;
    assert!(problem(&r).1.contains("/colour"));
    // Another organisation has its own state; the public may not record lots.
    let r = h
        .get("/api/sampling/switching/widget/acme", Some(&h.keys.b))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = post_json(
        &h,
        lots,
        Some(&h.keys.public),
        &json!({"lot_size": 1000, "nonconforming": 0}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post_json(
        &h,
        lots,
        None,
        &json!({"lot_size": 1000, "nonconforming": 0}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

fn targets_csv(n: usize) -> (String, Vec<sampling::draw::Target>) {
    let mut csv = String::from("id,organisation,products,region,industry,risk_class\n");
    let mut out = Vec::new();
    for i in 0..n {
        let class = ["A", "B", "C"][i % 3];
        let region = ["110101", "310101"][i % 2];
        let t = sampling::draw::Target {
            id: format!("T{i:03}"),
            organisation: format!("org{}", i % 7),
            products: vec![format!("P{}", i % 4), "food".to_string()],
            region: region.to_string(),
            industry: "food".to_string(),
            risk_class: class.to_string(),
        };
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            t.id,
            t.organisation,
            t.products.join(";"),
            t.region,
            t.industry,
            t.risk_class
        ));
        out.push(t);
    }
    (csv, out)
}

fn inspectors_json(n: usize) -> Vec<sampling::draw::Inspector> {
    (0..n)
        .map(|i| sampling::draw::Inspector {
            id: format!("I{i:02}"),
            region: ["110101", "310101"][i % 2].to_string(),
            qualifications: vec!["food".into()],
            affiliations: vec![format!("org{}", i % 7)],
            conflicts: if i == 3 { vec!["T001".into()] } else { vec![] },
        })
        .collect()
}

#[tokio::test]
async fn registers_import_csv_and_json_with_roles_limits_and_paging() {
    let h = Harness::new();
    let reg = Some(h.keys.regulator.as_str());
    let (csv, targets) = targets_csv(11);
    for (key, status) in [
        (Some(h.keys.a.as_str()), StatusCode::FORBIDDEN),
        (Some(h.keys.public.as_str()), StatusCode::FORBIDDEN),
        (Some(h.keys.admin.as_str()), StatusCode::FORBIDDEN),
        (None, StatusCode::UNAUTHORIZED),
        (Some(h.keys.revoked.as_str()), StatusCode::UNAUTHORIZED),
    ] {
        let r = send(
            &h,
            Method::POST,
            "/api/sampling/targets",
            key,
            "text/csv",
            csv.clone(),
        )
        .await;
        assert_eq!(r.status, status, "{}", r.text());
        assert_eq!(r.problem_type(), "epcisException:SecurityException");
    }
    let r = send(
        &h,
        Method::POST,
        "/api/sampling/targets",
        reg,
        "text/csv",
        csv.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["imported"], 11);
    // Re-importing is an upsert, not a duplicate.
    let r = send(
        &h,
        Method::POST,
        "/api/sampling/targets",
        reg,
        "text/csv",
        csv,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // Paging: perPage=4 over 11 rows, following Link.
    let mut uri = "/api/sampling/targets?perPage=4".to_string();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = h.get(&uri, reg).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let page = r.json();
        assert!(page.as_array().unwrap().len() <= 4);
        for t in page.as_array().unwrap() {
            seen.push(serde_json::from_value::<sampling::draw::Target>(t.clone()).unwrap());
        }
        pages += 1;
        match r.next_link() {
            Some(n) => uri = n,
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, targets, "every row once, in id order, as imported");
    // Admin may read, enterprises may not.
    assert_eq!(
        h.get("/api/sampling/targets", Some(&h.keys.admin))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        h.get("/api/sampling/targets", Some(&h.keys.a)).await.status,
        StatusCode::FORBIDDEN
    );
    // A token is bound to the query.
    let r = h.get("/api/sampling/targets?perPage=4", reg).await;
    let next = r.next_link().unwrap();
    let tok = next.split("nextPageToken=").nth(1).unwrap();
    let r = h
        .get(
            &format!("/api/sampling/inspectors?perPage=4&nextPageToken={tok}"),
            reg,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // JSON rows; errors name the row and field.
    let ins = inspectors_json(4);
    let r = post_json(
        &h,
        "/api/sampling/inspectors",
        reg,
        &json!({ "inspectors": ins }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let listed = h.get("/api/sampling/inspectors", reg).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 4);
    let bad = json!([{"id": "X1", "region": "1"}, {"id": "X2"}]);
    let r = post_json(&h, "/api/sampling/inspectors", reg, &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "/1/region");
    let dup = json!([{"id": "X1", "region": "1"}, {"id": "X1", "region": "2"}]);
    assert_eq!(
        post_json(&h, "/api/sampling/inspectors", reg, &dup)
            .await
            .json()["field"],
        "/1/id"
    );
    let r = send(
        &h,
        Method::POST,
        "/api/sampling/targets",
        reg,
        "text/csv",
        "id,organisation\nT1,o\n".into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = send(
        &h,
        Method::POST,
        "/api/sampling/targets",
        reg,
        "application/xml",
        "<a/>".into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Limits: rows per import, and a declared body over the limit is refused unread.
    let (big, _) = targets_csv(0);
    let mut big = big;
    for i in 0..10_001 {
        big.push_str(&format!("B{i},o,,r,i,A\n"));
    }
    let r = send(
        &h,
        Method::POST,
        "/api/sampling/targets",
        reg,
        "text/csv",
        big,
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    let r = h
        .request(
            Method::POST,
            "/api/sampling/targets",
            reg,
            &[
                ("content-type", "text/csv"),
                ("content-length", "999999999"),
            ],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        h.get("/api/sampling/targets?perPage=100", reg)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        11
    );
}

fn drand() -> HashMap<String, String> {
    csv_rows("drand_vectors.csv")
        .into_iter()
        .map(|r| (r["field"].clone(), r["value"].clone()))
        .collect()
}

#[tokio::test]
async fn draw_commit_run_verify_cycle_and_tampering() {
    let h = Harness::new();
    let reg = Some(h.keys.regulator.as_str());
    let (csv, targets) = targets_csv(30);
    let inspectors = inspectors_json(10);
    assert_eq!(
        send(
            &h,
            Method::POST,
            "/api/sampling/targets",
            reg,
            "text/csv",
            csv
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        post_json(&h, "/api/sampling/inspectors", reg, &json!(inspectors))
            .await
            .status,
        StatusCode::OK
    );
    let d = drand();
    let seed = "5eed".repeat(16);
    let rules = json!({
        "ratio_ppm": {"A": 100_000, "B": 300_000, "C": 1_000_000},
        "inspectors_per_target": 2,
        "workload_cap": 8,
        "region_rule": "any",
        "require_qualification": true
    });
    let task = json!({
        "id": "2026-food-1",
        "rules": rules,
        "seed_commitment": sampling::draw::seed_commitment(&seed).unwrap(),
        "beacon": {"kind": "drand", "chain_hash": d["chain_hash"], "round": 1}
    });
    // Roles: enterprises and the public may not create draws; no key is 401.
    for (key, status) in [
        (Some(h.keys.a.as_str()), StatusCode::FORBIDDEN),
        (Some(h.keys.public.as_str()), StatusCode::FORBIDDEN),
        (None, StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(post_json(&h, "/api/draws", key, &task).await.status, status);
    }
    // Invalid rules name the field.
    let mut bad = task.clone();
    bad["rules"]["inspectors_per_target"] = json!(1);
    let r = post_json(&h, "/api/draws", reg, &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        problem(&r).1.contains("inspectors_per_target"),
        "{}",
        r.text()
    );
    let mut bad = task.clone();
    bad["rules"]["ratio_pct"] = json!({});
    assert_eq!(
        post_json(&h, "/api/draws", reg, &bad).await.json()["field"],
        "/rules/ratio_pct"
    );
    // Commit: the snapshot hashes are the hashes of the registers as imported.
    let r = post_json(&h, "/api/draws", reg, &task).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.header("location"), Some("/api/draws/2026-food-1"));
    let committed = r.json();
    assert_eq!(committed["status"], "committed");
    assert_eq!(committed["population"]["targets"], 30);
    assert_eq!(committed["commitment"]["targets_count"], 30);
    assert_eq!(
        committed["population"]["targets_hash"],
        hex::encode(sampling::draw::targets_hash(&targets))
    );
    assert_eq!(
        committed["population"]["inspectors_hash"],
        hex::encode(sampling::draw::inspectors_hash(&inspectors))
    );
    assert_eq!(
        post_json(&h, "/api/draws", reg, &task).await.status,
        StatusCode::CONFLICT
    );
    // Verify before the run: nothing to verify.
    assert_eq!(
        h.get("/api/draws/2026-food-1/verify", reg).await.status,
        StatusCode::NOT_FOUND
    );
    // Run: a wrong seed is refused; enterprises may not run.
    let beacon = json!({"kind": "drand", "round": 1, "signature": d["round1_signature"]});
    let r = post_json(
        &h,
        "/api/draws/2026-food-1/run",
        reg,
        &json!({"seed": "00".repeat(32), "beacon": beacon}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "/seed");
    let run = json!({"seed": seed, "beacon": beacon});
    assert_eq!(
        post_json(&h, "/api/draws/2026-food-1/run", Some(&h.keys.a), &run)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post_json(&h, "/api/draws/nope/run", reg, &run).await.status,
        StatusCode::NOT_FOUND
    );
    let r = post_json(&h, "/api/draws/2026-food-1/run", reg, &run).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let drawn = r.json();
    assert_eq!(drawn["status"], "drawn");
    let sel = drawn["draw"]["selections"].as_array().unwrap().clone();
    // Per class: ceil(N · ratio) targets (naive count here), each with 2 distinct eligible inspectors.
    let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &targets {
        *per_class.entry(t.risk_class.as_str()).or_default() += 1;
    }
    let ratio = |c: &str| match c {
        "A" => 0.1,
        "B" => 0.3,
        _ => 1.0,
    };
    let want: usize = per_class
        .iter()
        .map(|(c, n)| (*n as f64 * ratio(c)).ceil() as usize)
        .sum();
    assert_eq!(sel.len(), want);
    let by_id: HashMap<&str, &sampling::draw::Target> =
        targets.iter().map(|t| (t.id.as_str(), t)).collect();
    let ins_by_id: HashMap<&str, &sampling::draw::Inspector> =
        inspectors.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut load: HashMap<String, u32> = HashMap::new();
    for s in &sel {
        let t = by_id[s["target_id"].as_str().unwrap()];
        let ids: Vec<&str> = s["inspectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert_eq!(ids.len() as u64 + s["shortfall"].as_u64().unwrap_or(0), 2);
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        for i in ids {
            let ins = ins_by_id[i];
            assert!(
                !ins.affiliations.contains(&t.organisation),
                "{i} affiliated with {}",
                t.organisation
            );
            assert!(
                !ins.conflicts.contains(&t.id),
                "{i} conflicts with {}",
                t.id
            );
            *load.entry(i.to_string()).or_default() += 1;
        }
    }
    assert!(load.values().all(|n| *n <= 8), "workload cap");
    // The API's draw is the library's draw on the same published inputs.
    let lib_task = sampling::draw::DrawTask {
        id: "2026-food-1".into(),
        targets: targets.clone(),
        inspectors: inspectors.clone(),
        rules: serde_json::from_value(task["rules"].clone()).unwrap(),
        seed_commitment: task["seed_commitment"].as_str().unwrap().into(),
        beacon: serde_json::from_value(task["beacon"].clone()).unwrap(),
    };
    let lib =
        sampling::draw::run_draw(&lib_task, &serde_json::from_value(run.clone()).unwrap()).unwrap();
    assert_eq!(drawn["draw"], serde_json::to_value(&lib).unwrap());
    // Once only.
    assert_eq!(
        post_json(&h, "/api/draws/2026-food-1/run", reg, &run)
            .await
            .status,
        StatusCode::CONFLICT
    );
    // Read and verify.
    let g = h.get("/api/draws/2026-food-1", reg).await;
    assert_eq!(g.status, StatusCode::OK);
    assert_eq!(g.json()["draw"], drawn["draw"]);
    // Enterprises read the published draw (who sees what: `draw_publication_who_sees_what`).
    assert_eq!(
        h.get("/api/draws/2026-food-1", Some(&h.keys.a))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        h.get("/api/draws/2026-food-1", Some(&h.keys.admin))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        h.get("/api/draws/other", reg).await.status,
        StatusCode::NOT_FOUND
    );
    let v = h.get("/api/draws/2026-food-1/verify", reg).await.json();
    assert_eq!(v["result"], "OK", "{v}");
    assert_eq!(v["current_registers"]["same_as_committed"], true);
    // A register change after the commitment does not change the draw, and is reported.
    let r = post_json(
        &h,
        "/api/sampling/inspectors",
        reg,
        &json!([{"id": "I99", "region": "110101"}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = h.get("/api/draws/2026-food-1/verify", reg).await.json();
    assert_eq!(v["result"], "OK");
    assert_eq!(v["current_registers"]["same_as_committed"], false);
    // Tampering with the stored draw: another inspector for the first target.
    let store = h.store.clone();
    let chunk = store
        .get_record(
            &Scope::All,
            "sampling.snapshots",
            "2026-food-1/selections/000000",
        )
        .unwrap()
        .unwrap();
    let mut body = chunk.body.clone();
    let first = body[0]["inspectors"][0].as_str().unwrap().to_string();
    let other = inspectors
        .iter()
        .map(|i| i.id.clone())
        .find(|i| *i != first && body[0]["inspectors"][1] != json!(i))
        .unwrap();
    body[0]["inspectors"][0] = json!(other);
    let put = |body: Value, id: &str, owner: Option<store::OrgId>| NewRecord {
        collection: "sampling.snapshots".into(),
        id: id.into(),
        owner,
        updated_ms: 0,
        body,
    };
    store
        .put_record(put(body, &chunk.id, chunk.owner.clone()), None)
        .unwrap();
    let v = h.get("/api/draws/2026-food-1/verify", reg).await.json();
    assert_eq!(v["result"], "DIFFERS");
    let kinds: Vec<&str> = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"inspectors"), "{v}");
    store
        .put_record(
            put(chunk.body.clone(), &chunk.id, chunk.owner.clone()),
            None,
        )
        .unwrap();
    assert_eq!(
        h.get("/api/draws/2026-food-1/verify", reg).await.json()["result"],
        "OK"
    );
    // Tampering with the population snapshot: the committed targets hash no longer matches.
    let snap = store
        .get_record(
            &Scope::All,
            "sampling.snapshots",
            "2026-food-1/targets/000000",
        )
        .unwrap()
        .unwrap();
    let mut body = snap.body.clone();
    body[5]["risk_class"] = json!("A"); // T005 is class C
    store
        .put_record(put(body, &snap.id, snap.owner.clone()), None)
        .unwrap();
    let v = h.get("/api/draws/2026-food-1/verify", reg).await.json();
    assert_eq!(v["result"], "DIFFERS");
    assert!(
        v["differences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "commitment" && d["field"] == "targets_hash"),
        "{v}"
    );
}

fn record(id: &str, org: &str, product: &str, category: &str, date: &str, outcome: &str) -> Value {
    json!({
        "id": id, "organisation": org, "product": product, "category": category,
        "region": "110101", "enterprise_size": "small", "date": date, "outcome": outcome,
        "lot": "L1", "sample_size": 6, "reserve_units": 3, "items_tested": 4,
        "standard": "GB 2762-2022", "clause": "4.1", "lab": "lab-1",
        "nonconforming_items": if outcome == "fail" { json!(["lead"]) } else { json!([]) },
    })
}

#[tokio::test]
async fn inspection_results_public_sees_only_published() {
    let h = Harness::new();
    let reg = Some(h.keys.regulator.as_str());
    let recs = json!([
        record("r1", "orgA", "milk", "dairy", "2026-01-10", "pass"),
        record("r2", "orgA", "cheese", "dairy", "2026-02-10", "fail"),
        record("r3", "orgB", "milk", "dairy", "2026-03-10", "pass"),
    ]);
    for (key, status) in [
        (Some(h.keys.a.as_str()), StatusCode::FORBIDDEN),
        (Some(h.keys.public.as_str()), StatusCode::FORBIDDEN),
        (None, StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(
            post_json(&h, "/api/inspections", key, &recs).await.status,
            status
        );
    }
    let r = post_json(&h, "/api/inspections", reg, &recs).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        post_json(&h, "/api/inspections", reg, &recs[0])
            .await
            .status,
        StatusCode::CONFLICT
    );
    let ids = |r: Resp| -> Vec<String> {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(h.get("/api/inspections", reg).await),
        ["r1", "r2", "r3"]
    );
    assert!(ids(h.get("/api/inspections", Some(&h.keys.public)).await).is_empty());
    assert!(ids(h.get("/api/inspections", Some(&h.keys.a)).await).is_empty());
    assert_eq!(
        h.get("/api/inspections/r2", Some(&h.keys.public))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Publishing: regulators only.
    assert_eq!(
        h.request(
            Method::POST,
            "/api/inspections/r2/publish",
            Some(&h.keys.a),
            &[],
            Body::empty()
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.request(
            Method::POST,
            "/api/inspections/r2/publish",
            Some(&h.keys.public),
            &[],
            Body::empty()
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.request(
            Method::POST,
            "/api/inspections/none/publish",
            reg,
            &[],
            Body::empty()
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    for id in ["r2", "r3"] {
        let r = h
            .request(
                Method::POST,
                &format!("/api/inspections/{id}/publish"),
                reg,
                &[],
                Body::empty(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["published"], true);
    }
    // Idempotent.
    let r = h
        .request(
            Method::POST,
            "/api/inspections/r2/publish",
            reg,
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for key in [&h.keys.public, &h.keys.a, &h.keys.b] {
        assert_eq!(
            ids(h.get("/api/inspections", Some(key)).await),
            ["r2", "r3"]
        );
        assert_eq!(
            ids(h.get("/api/inspections?org=orgA", Some(key)).await),
            ["r2"]
        );
        assert_eq!(
            ids(h.get("/api/inspections?product=milk", Some(key)).await),
            ["r3"]
        );
        assert_eq!(
            h.get("/api/inspections/r1", Some(key)).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            h.get("/api/inspections/r2", Some(key)).await.json()["nonconforming_items"],
            json!(["lead"])
        );
    }
    assert_eq!(
        ids(h.get("/api/inspections?published=false", reg).await),
        ["r1"]
    );
    assert_eq!(
        ids(h.get("/api/inspections?org=orgA&product=milk", reg).await),
        ["r1"]
    );
    // Paging across the filter.
    let r = h
        .get("/api/inspections?perPage=1", Some(&h.keys.public))
        .await;
    assert_eq!(
        ids(h.get(&r.next_link().unwrap(), Some(&h.keys.public)).await),
        ["r3"]
    );
    // Validation names the field; the spot-check rule: a pass has no failed items.
    for (edit, field) in [
        (json!({"outcome": "maybe"}), "/outcome"),
        (json!({"date": "2026-02-30x"}), "/date"),
        (json!({"product": ""}), "/product"),
        (
            json!({"nonconforming_items": ["lead"]}),
            "/nonconforming_items",
        ),
        (json!({"colour": "red"}), "/colour"),
        (json!({"id": "a b"}), "/id"),
    ] {
        let mut rec = record("x1", "orgA", "milk", "dairy", "2026-01-10", "pass");
        for (k, v) in edit.as_object().unwrap() {
            rec[k] = v.clone();
        }
        let r = post_json(&h, "/api/inspections", reg, &rec).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{edit}");
        assert_eq!(r.json()["field"], field, "{}", r.text());
    }
    let many: Vec<Value> = (0..1001)
        .map(|i| record(&format!("m{i}"), "o", "p", "c", "2026-01-01", "pass"))
        .collect();
    assert_eq!(
        post_json(&h, "/api/inspections", reg, &json!(many))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        ids(h.get("/api/inspections", reg).await).len(),
        3,
        "nothing of a refused request is stored"
    );
}

#[tokio::test]
async fn pass_rates_match_reference_intervals_and_both_batch_ratio_denominators() {
    let h = Harness::new();
    let reg = Some(h.keys.regulator.as_str());
    // Two categories with the (x, n) of reference rows, plus not-tested batches and one record
    // outside the window.
    let ci: Vec<HashMap<String, String>> = csv_rows("binomial_ci.csv")
        .into_iter()
        .filter(|r| r["conf"] == "0.95")
        .collect();
    let cases = [("dairy", 47u64, 50u64, 2u64), ("toys", 2, 7, 1)];
    let mut recs = Vec::new();
    for (cat, x, n, not_tested) in cases {
        for i in 0..n + not_tested {
            let outcome = if i < x {
                "pass"
            } else if i < n {
                "fail"
            } else {
                "nottested"
            };
            recs.push(record(
                &format!("{cat}{i:03}"),
                "orgA",
                "p",
                cat,
                "2026-03-01",
                outcome,
            ));
        }
    }
    recs.push(record("late", "orgA", "p", "dairy", "2027-01-01", "fail"));
    let r = post_json(&h, "/api/inspections", reg, &json!(recs)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = h
        .get(
            "/api/statistics/pass-rates?group_by=category&from=2026-01-01&to=2027-01-01",
            reg,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["records"], 50 + 2 + 7 + 1, "in the window");
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    for ((cat, x, n, not_tested), g) in cases.iter().zip(groups) {
        assert_eq!(g["key"], json!([cat]));
        let row = ci
            .iter()
            .find(|r| r["x"] == x.to_string() && r["n"] == n.to_string())
            .unwrap();
        let f = |k: &str| row[k].parse::<f64>().unwrap();
        assert!(
            close(
                g["pass_wilson_95"]["lo"].as_f64().unwrap(),
                f("wilson_lo"),
                1e-9
            ),
            "{g}"
        );
        assert!(
            close(
                g["pass_wilson_95"]["hi"].as_f64().unwrap(),
                f("wilson_hi"),
                1e-9
            ),
            "{g}"
        );
        assert!(
            close(
                g["pass_clopper_pearson_95"]["lo"].as_f64().unwrap(),
                f("cp_lo"),
                1e-9
            ),
            "{g}"
        );
        assert!(
            close(
                g["pass_clopper_pearson_95"]["hi"].as_f64().unwrap(),
                f("cp_hi"),
                1e-9
            ),
            "{g}"
        );
        let failed = n - x;
        let br = &g["batch_ratio"];
        assert_eq!(br["nonconforming"], failed);
        assert_eq!(br["sampled"], n + not_tested);
        assert_eq!(br["tested"], *n);
        assert!(close(
            br["ratio_sampled"].as_f64().unwrap(),
            failed as f64 / (n + not_tested) as f64,
            1e-12
        ));
        assert!(close(
            br["ratio_tested"].as_f64().unwrap(),
            failed as f64 / *n as f64,
            1e-12
        ));
        assert!(close(
            g["pass_rate"].as_f64().unwrap(),
            *x as f64 / *n as f64,
            1e-12
        ));
    }
    assert_eq!(v["overall"]["batches_sampled"], 60);
    // The public sees published results only: nothing yet.
    let p = h
        .get("/api/statistics/pass-rates", Some(&h.keys.public))
        .await
        .json();
    assert_eq!(p["groups"], json!([]));
    let r = h
        .request(
            Method::POST,
            "/api/inspections/toys000/publish",
            reg,
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let p = h
        .get(
            "/api/statistics/pass-rates?group_by=category,region",
            Some(&h.keys.public),
        )
        .await
        .json();
    assert_eq!(p["groups"].as_array().unwrap().len(), 1);
    assert_eq!(p["groups"][0]["key"], json!(["toys", "110101"]));
    assert_eq!(p["groups"][0]["batches_sampled"], 1);
    // Other groupings and the chart.
    let v = h
        .get("/api/statistics/pass-rates?group_by=size,period", reg)
        .await
        .json();
    let keys: Vec<Value> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].clone())
        .collect();
    assert_eq!(
        keys,
        [json!(["small", "2026-03"]), json!(["small", "2027-01"])]
    );
    let r = h
        .get("/api/statistics/pass-rates?format=svg&target=0.98", reg)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert!(r.text().contains("<svg"));
    assert_eq!(
        h.get("/api/statistics/pass-rates", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn every_documented_sampling_route_exists_and_needs_a_key() {
    let h = Harness::new();
    let doc = h.get("/openapi.json", None).await.json();
    let mut n = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let ours = [
            "/api/sampling",
            "/api/draws",
            "/api/inspections",
            "/api/statistics",
        ]
        .iter()
        .any(|p| path.starts_with(p));
        if !ours {
            continue;
        }
        let uri = path.replace(['{', '}'], "");
        for method in ops.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let r = h.request(m, &uri, None, &[], Body::empty()).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
            assert_eq!(ops[method]["security"], json!([{ "bearer": [] }]));
            n += 1;
        }
    }
    assert_eq!(n, 24, "documented operations");
}

/// "Double random, one public": the commitment is readable by every key as soon as it is made,
/// the draw with its verification material once it has run; anyone can then re-derive the draw
/// offline from what was published (the commitment fetched before the run, the material after it)
/// with the pure crate's `verify`. Regulators see the snapshot before the run and the live
/// registers beside it; enterprise keys see what the public sees plus the selections of their
/// own organisation (checked against a naive filter of the snapshot here).
#[tokio::test]
async fn draw_publication_who_sees_what() {
    let h = Harness::new();
    let reg = Some(h.keys.regulator.as_str());
    let admin = Some(h.keys.admin.as_str());
    let public = Some(h.keys.public.as_str());
    let ent_a = Some(h.keys.a.as_str());
    let ent_b = Some(h.keys.b.as_str());
    // Targets of orgA, orgB and others (the enterprise keys belong to orgA and orgB).
    let (_, mut targets) = targets_csv(40);
    for (i, t) in targets.iter_mut().enumerate() {
        t.organisation = ["orgA", "orgB", "org2", "org3"][i % 4].to_string();
    }
    let inspectors = inspectors_json(12);
    for (uri, rows) in [
        ("/api/sampling/targets", json!(targets)),
        ("/api/sampling/inspectors", json!(inspectors)),
    ] {
        let r = post_json(&h, uri, reg, &rows).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let d = drand();
    let seed = "a1b2".repeat(16);
    let task = json!({
        "id": "2026-pub-1",
        "rules": {
            "ratio_ppm": {"A": 500_000, "B": 500_000, "C": 1_000_000},
            "inspectors_per_target": 2,
            "workload_cap": 10,
            "region_rule": "any",
            "require_qualification": true
        },
        "seed_commitment": sampling::draw::seed_commitment(&seed).unwrap(),
        "beacon": {"kind": "drand", "chain_hash": d["chain_hash"], "round": 1}
    });
    let r = post_json(&h, "/api/draws", reg, &task).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let committed = r.json();

    // Committed: every role reads the commitment, the same one the regulator got.
    for key in [reg, admin, public, ent_a, ent_b] {
        let g = h.get("/api/draws/2026-pub-1", key).await;
        assert_eq!(g.status, StatusCode::OK, "{key:?}: {}", g.text());
        let v = g.json();
        assert_eq!(v["status"], "committed");
        assert_eq!(v["commitment"], committed["commitment"]);
        assert_eq!(v["seed_commitment"], task["seed_commitment"]);
        assert_eq!(v["draw"], Value::Null);
        let list = h.get("/api/draws", key).await;
        assert_eq!(list.status, StatusCode::OK);
        let list = list.json();
        assert_eq!(list.as_array().unwrap().len(), 1, "{key:?}");
        assert_eq!(list[0]["id"], "2026-pub-1");
        assert_eq!(list[0]["commitment"], committed["commitment"]);
    }
    // Nothing of the secret seed is shown anywhere before the run.
    let shown = h.get("/api/draws/2026-pub-1", public).await.text();
    assert!(!shown.contains(&seed));
    // The population snapshot: regulators and admins before the run, nobody else.
    for key in [reg, admin] {
        let m = h.get("/api/draws/2026-pub-1/material", key).await;
        assert_eq!(m.status, StatusCode::OK, "{}", m.text());
        let m = m.json();
        assert_eq!(m["draw"], Value::Null);
        assert_eq!(m["task"]["targets"].as_array().unwrap().len(), 40);
        assert_eq!(m["commitment"], committed["commitment"]);
    }
    for key in [public, ent_a] {
        let m = h.get("/api/draws/2026-pub-1/material", key).await;
        assert_eq!(m.status, StatusCode::NOT_FOUND, "{}", m.text());
        assert!(!m.text().contains("T001"));
        assert_eq!(
            h.get("/api/draws/2026-pub-1/verify", key).await.status,
            StatusCode::NOT_FOUND
        );
    }
    // Registers themselves stay with regulators; public and enterprise keys may not run draws.
    for key in [public, ent_a] {
        assert_eq!(
            h.get("/api/sampling/targets", key).await.status,
            StatusCode::FORBIDDEN
        );
    }
    let beacon = json!({"kind": "drand", "round": 1, "signature": d["round1_signature"]});
    let run = json!({"seed": seed, "beacon": beacon});
    for key in [public, ent_a] {
        assert_eq!(
            post_json(&h, "/api/draws/2026-pub-1/run", key, &run)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    }
    let drawn = post_json(&h, "/api/draws/2026-pub-1/run", reg, &run).await;
    assert_eq!(drawn.status, StatusCode::OK, "{}", drawn.text());
    let drawn = drawn.json();

    // Drawn: every role reads the same draw with its proof (randomness revealed).
    for key in [reg, admin, public, ent_a, ent_b] {
        let v = h.get("/api/draws/2026-pub-1", key).await.json();
        assert_eq!(v["status"], "drawn", "{key:?}");
        assert_eq!(v["draw"], drawn["draw"], "{key:?}");
        assert_eq!(v["draw"]["proof"]["randomness"]["seed"], json!(seed));
    }
    // The public verifies offline: commitment as fetched before the run, material after it.
    let m = h.get("/api/draws/2026-pub-1/material", public).await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.text());
    let m = m.json();
    let d_pub: sampling::draw::Draw = serde_json::from_value(m["draw"].clone()).unwrap();
    let t_pub: sampling::draw::DrawTask = serde_json::from_value(m["task"].clone()).unwrap();
    let c_before: sampling::draw::Commitment =
        serde_json::from_value(committed["commitment"].clone()).unwrap();
    let published = sampling::draw::Published {
        commitment: c_before.clone(),
        task: t_pub.clone(),
        randomness: d_pub.proof.randomness.clone(),
    };
    assert_eq!(sampling::draw::verify(&d_pub, &published), Ok(()));
    // ... and the published snapshot is the registers as imported (order aside).
    assert_eq!(
        hex::encode(sampling::draw::targets_hash(&t_pub.targets)),
        hex::encode(sampling::draw::targets_hash(&targets))
    );
    // A tampered copy of the material does not verify against the pre-run commitment.
    let mut t_bad = t_pub.clone();
    t_bad.targets.retain(|t| t.id != "T000");
    let bad = sampling::draw::Published {
        commitment: c_before,
        task: t_bad,
        randomness: d_pub.proof.randomness.clone(),
    };
    assert!(sampling::draw::verify(&d_pub, &bad).is_err());
    // Server-side verification for every role; only readers get the live registers beside it.
    for key in [reg, admin, public, ent_a] {
        let v = h.get("/api/draws/2026-pub-1/verify", key).await.json();
        assert_eq!(v["result"], "OK", "{key:?}: {v}");
        assert_eq!(
            v.get("current_registers").is_some(),
            key == reg || key == admin,
            "{key:?}"
        );
    }
    // Enterprises: exactly the selections whose target is their own organisation's.
    let org_of: HashMap<&str, &str> = targets
        .iter()
        .map(|t| (t.id.as_str(), t.organisation.as_str()))
        .collect();
    for (key, org) in [(ent_a, "orgA"), (ent_b, "orgB")] {
        let v = h.get("/api/draws/2026-pub-1", key).await.json();
        let want: Vec<&Value> = drawn["draw"]["selections"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| org_of[s["target_id"].as_str().unwrap()] == org)
            .collect();
        assert!(!want.is_empty());
        let got: Vec<&Value> = v["selections_concerning_you"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(got, want, "{org}");
    }
    for key in [reg, public] {
        let v = h.get("/api/draws/2026-pub-1", key).await.json();
        assert!(v.get("selections_concerning_you").is_none());
    }
    // No key: 401, as everywhere under /api.
    for uri in [
        "/api/draws",
        "/api/draws/2026-pub-1",
        "/api/draws/2026-pub-1/material",
        "/api/draws/2026-pub-1/verify",
    ] {
        assert_eq!(h.get(uri, None).await.status, StatusCode::UNAUTHORIZED);
    }
    // Unknown draws are 404 for everyone.
    for key in [reg, public] {
        assert_eq!(
            h.get("/api/draws/nope/material", key).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

/// The reference value in column `k` of a CSV row.
fn num(r: &HashMap<String, String>, k: &str) -> f64 {
    r[k].parse().unwrap_or_else(|_| panic!("{k}={:?}", r[k]))
}

/// GET /api/sampling/design reproduces every `find.plan` case of R AcceptanceSampling
/// (`find_plan_cases.csv`: binomial, Poisson, hypergeometric) and equals the pure crate.
#[tokio::test]
async fn design_route_matches_the_18_reference_cases() {
    let h = Harness::new();
    let key = Some(h.keys.public.as_str());
    let rows = csv_rows("find_plan_cases.csv");
    assert_eq!(rows.len(), 18);
    for r in &rows {
        let model = match r["type"].as_str() {
            "hypergeom" => "hypergeometric",
            t => t,
        };
        let alpha = 1.0 - num(r, "prp_pa");
        let mut uri = format!(
            "/api/sampling/design?p1={}&alpha={alpha}&p2={}&beta={}&model={model}",
            r["prp_p"], r["crp_p"], r["crp_pa"]
        );
        if !r["N"].is_empty() {
            uri.push_str(&format!("&lot_size={}", r["N"]));
        }
        let g = h.get(&uri, key).await;
        assert_eq!(g.status, StatusCode::OK, "{uri}: {}", g.text());
        let v = g.json();
        let what = format!("{} {} {}", r["type"], r["prp_p"], r["crp_p"]);
        assert_eq!(
            [&v["sample_size"], &v["accept"], &v["reject"]],
            [
                &json!(num(r, "n") as u64),
                &json!(num(r, "c") as u64),
                &json!(num(r, "r") as u64)
            ],
            "{what}"
        );
        let pa1 = v["producer"]["pa"].as_f64().unwrap();
        let pa2 = v["consumer"]["pa"].as_f64().unwrap();
        assert!(close(pa1, num(r, "pa_at_prp"), 1e-9), "{what}: {pa1}");
        assert!(close(pa2, num(r, "pa_at_crp"), 1e-9), "{what}: {pa2}");
    }
    // Errors name the parameter and the rule.
    for (q, field) in [
        ("p1=0.05&alpha=0.05&p2=0.01&beta=0.1", "p2"),
        ("p1=0.01&p2=0.05&beta=0.1", "alpha"),
        ("p1=0.01&alpha=0.05&p2=0.05&beta=0.96", "beta"),
        ("p1=1.5&alpha=0.05&p2=0.05&beta=0.1", "p1"),
        ("p1=0.01&alpha=0.05&p2=0.05&beta=0.1&model=normal", "model"),
        (
            "p1=0.01&alpha=0.05&p2=0.05&beta=0.1&model=hypergeometric",
            "lot_size",
        ),
        ("p1=0.01&alpha=0.05&p2=0.05&beta=0.1&n=3", "n"),
    ] {
        let g = h.get(&format!("/api/sampling/design?{q}"), key).await;
        assert_eq!(g.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(
            g.problem_type().contains("QueryParameterException"),
            "{q}: {}",
            g.text()
        );
        assert!(
            g.json()["detail"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{field}:")),
            "{q}: {}",
            g.text()
        );
    }
}

/// GET /api/sampling/aoql reproduces `aoql.csv` (R `optimize` on AOQ = p Pa (N - n) / N).
#[tokio::test]
async fn aoql_route_matches_the_reference_values() {
    let h = Harness::new();
    let key = Some(h.keys.a.as_str());
    let rows = csv_rows("aoql.csv");
    assert_eq!(rows.len(), 7);
    for r in &rows {
        let uri = format!(
            "/api/sampling/aoql?sample_size={}&accept={}&lot_size={}",
            r["n"], r["c"], r["N"]
        );
        let v = h.get(&uri, key).await.json();
        let (a, at) = (
            v["aoql"].as_f64().unwrap(),
            v["p_at_aoql"].as_f64().unwrap(),
        );
        assert!(close(a, num(r, "aoql"), 1e-9), "{uri}: {a}");
        assert!((at - num(r, "p_at_aoql")).abs() < 1e-5, "{uri}: {at}");
        // The AOQ of /oc at the AOQL's p is the AOQL (the two routes agree).
        let oc = h
            .get(
                &format!(
                    "/api/sampling/oc?sample_size={}&accept={}&lot_size={}&p={at}",
                    r["n"], r["c"], r["N"]
                ),
                key,
            )
            .await
            .json();
        assert!(close(oc["points"][0]["aoq"].as_f64().unwrap(), a, 1e-12));
    }
    for (q, field) in [
        ("sample_size=80&accept=80&lot_size=1000", "accept"),
        ("sample_size=80&accept=2", "lot_size"),
        ("sample_size=2000&accept=2&lot_size=1000", "sample_size"),
        ("sample_size=x&accept=2&lot_size=1000", "sample_size"),
    ] {
        let g = h.get(&format!("/api/sampling/aoql?{q}"), key).await;
        assert_eq!(g.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(
            g.json()["detail"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{field}:")),
            "{q}: {}",
            g.text()
        );
    }
}

/// POST /api/statistics/stratified reproduces R survey (`svymean`, `svyciprop` beta and logit)
/// for the three reference designs.
#[tokio::test]
async fn stratified_route_matches_the_survey_reference() {
    let h = Harness::new();
    let key = Some(h.keys.regulator.as_str());
    let inputs = csv_rows("stratified_inputs.csv");
    let estimates = csv_rows("stratified_estimates.csv");
    assert_eq!(estimates.len(), 3);
    for e in &estimates {
        let strata: Vec<Value> = inputs
            .iter()
            .filter(|r| r["case"] == e["case"])
            .map(|r| {
                json!({
                    "name": r["stratum"],
                    "population": num(r, "N_h") as u64,
                    "sampled": num(r, "n_h") as u64,
                    "positive": num(r, "x_h") as u64,
                })
            })
            .collect();
        assert!(strata.len() >= 2);
        let r = post_json(
            &h,
            "/api/statistics/stratified",
            key,
            &json!({ "strata": strata }),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let v = r.json();
        let case = &e["case"];
        // Estimates to 1e-9; interval ends to 1e-7 (t and beta quantiles: the tolerance the
        // sampling crate's own reference test uses).
        for (got, want, rel) in [
            ("/p", "p_stratified", 1e-9),
            ("/p_unweighted", "p_unweighted", 1e-9),
            ("/se_with_fpc", "se_with_fpc", 1e-9),
            ("/se_without_fpc", "se_without_fpc", 1e-9),
            ("/ci_beta/lo", "ci95_beta_lo", 1e-7),
            ("/ci_beta/hi", "ci95_beta_hi", 1e-7),
            ("/ci_logit/lo", "ci95_logit_lo", 1e-7),
            ("/ci_logit/hi", "ci95_logit_hi", 1e-7),
        ] {
            let g = v.pointer(got).and_then(Value::as_f64).unwrap();
            assert!(close(g, num(e, want), rel), "{case} {want}: {g}");
        }
        assert_eq!(v["df"], json!(num(e, "df") as u64), "{case}");
        // Per stratum: the weight and proportion of the reference inputs.
        for (s, r) in v["strata"]
            .as_array()
            .unwrap()
            .iter()
            .zip(inputs.iter().filter(|r| r["case"] == e["case"]))
        {
            assert_eq!(s["name"], json!(r["stratum"]));
            assert!(close(s["weight"].as_f64().unwrap(), num(r, "W_h"), 1e-12));
            assert!(close(s["p"].as_f64().unwrap(), num(r, "p_h"), 1e-12));
        }
    }
    // Errors are ValidationException naming the field.
    let ok = json!({"population": 100, "sampled": 10, "positive": 1});
    for (body, field) in [
        (json!({"strata": []}), "/strata"),
        (
            json!({"strata": [ok, {"population": 100, "sampled": 1, "positive": 0}]}),
            "/strata/1/sampled",
        ),
        (
            json!({"strata": [{"population": 5, "sampled": 10, "positive": 0}]}),
            "/strata/0/sampled",
        ),
        (
            json!({"strata": [ok, {"population": 50, "sampled": 10, "positive": 11}]}),
            "/strata/1/positive",
        ),
        (
            json!({"strata": [{"population": 50, "sampled": 10}]}),
            "/strata/0/positive",
        ),
        (
            json!({"strata": [{"population": 50, "sampled": 10, "positive": 1, "weight": 1}]}),
            "/strata/0/weight",
        ),
        (json!({"strata": [ok], "confidence": 1.5}), "/confidence"),
    ] {
        let r = post_json(&h, "/api/statistics/stratified", key, &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json()["field"], field, "{body}: {}", r.text());
    }
}

/// POST /api/sampling/spot-check: any failed item fails the batch, a granted re-inspection on the
/// reserve units replaces the items it covers, and the pass probability is the plain product
/// prod (1 - p_i)^test_units computed here; the verdicts equal the pure crate's `judge`.
#[tokio::test]
async fn spot_check_route_judges_batches_and_pass_probability() {
    let h = Harness::new();
    let key = Some(h.keys.b.as_str());
    let items = json!([
        {"name": "lead", "standard_clause": "GB 2762-2022 3.1"},
        {"name": "aflatoxin B1", "standard_clause": "GB 2761-2017 4.1"},
        {"name": "label", "standard_clause": "GB 7718-2011 4.1"},
    ]);
    let lib_plan =
        sampling::spot::SpotCheckPlan::new(4, 2, serde_json::from_value(items.clone()).unwrap())
            .unwrap();
    let p_item: [f64; 3] = [0.01, 0.02, 0.005];
    let r = post_json(
        &h,
        "/api/sampling/spot-check",
        key,
        &json!({"test_units": 4, "reserve_units": 2, "items": items, "p_item": p_item}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["units_sampled"], 6);
    assert_eq!(v["outcome"], Value::Null);
    let naive: f64 = p_item.iter().map(|p| (1.0 - p).powi(4)).product();
    assert!(close(v["pass_probability"].as_f64().unwrap(), naive, 1e-12));
    for (failed, reinspection, conforming, names) in [
        (vec![0, 0, 0], vec![], true, vec![]),
        (vec![0, 1, 0], vec![], false, vec!["aflatoxin B1"]),
        (vec![2, 0, 1], vec![], false, vec!["lead", "label"]),
        (vec![0, 1, 0], vec![(1usize, 0u32)], true, vec![]),
        (vec![0, 1, 1], vec![(1, 0)], false, vec!["label"]),
        (vec![0, 0, 0], vec![(0, 1)], false, vec!["lead"]),
    ] {
        let re: Vec<Value> = reinspection
            .iter()
            .map(|(i, f)| json!({"item": i, "failed": f}))
            .collect();
        let r = post_json(
            &h,
            "/api/sampling/spot-check",
            key,
            &json!({"test_units": 4, "reserve_units": 2, "items": items,
                    "failed_units": failed, "reinspection": re}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let out = &r.json()["outcome"];
        assert_eq!(out["conforming"], conforming, "{failed:?} {reinspection:?}");
        assert_eq!(
            out["failed_items"],
            json!(names),
            "{failed:?} {reinspection:?}"
        );
        let lib = lib_plan.judge(&failed, &reinspection).unwrap();
        assert_eq!(*out, serde_json::to_value(&lib).unwrap());
    }
    // Errors name the field and the rule.
    let base = json!({"test_units": 4, "reserve_units": 2, "items": items});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("failed_units", json!([0, 1])), "/failed_units"),
        (with("p_item", json!([0.1, 1.5, 0.0])), "/p_item/1"),
        (with("test_units", json!(0)), "/test_units"),
        (
            {
                let mut b = with("failed_units", json!([0, 0, 0]));
                b["reinspection"] = json!([{"item": 0, "failed": 3}]);
                b
            },
            "/reinspection/0/failed",
        ),
        (
            {
                let mut b = with("failed_units", json!([0, 0, 0]));
                b["reinspection"] = json!([{"item": 7, "failed": 0}]);
                b
            },
            "/reinspection/0/item",
        ),
        (
            with("items", json!([{"name": "x"}])),
            "/items/0/standard_clause",
        ),
        (base.clone(), ""),
        (with("extra", json!(1)), "/extra"),
    ] {
        let r = post_json(&h, "/api/sampling/spot-check", key, &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json()["field"], field, "{body}: {}", r.text());
    }
}
