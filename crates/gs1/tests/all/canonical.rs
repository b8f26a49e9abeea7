//! canonical_dl against the CBV 2.0 event-hash reference vectors.

use crate::read_reference;
use gs1::{IdPattern, canonical_dl, normalize_id, parse_id_pattern};

const KNOWN_SKIPS: usize = 3;
const DIR: &str = "epcis-event-hash-generator/tests/examples";

/// The epcList of epclist_normalisation.jsonld, canonicalised and sorted, must equal the `epc=`
/// values of its pre-hash string (the reference sorts them too).
#[test]
fn epclist_normalisation_matches_prehash() {
    let doc: serde_json::Value = serde_json::from_str(&read_reference(&format!(
        "{DIR}/epclist_normalisation.jsonld"
    )))
    .unwrap();
    let pre = read_reference(&format!("{DIR}/epclist_normalisation.prehashes"));
    let list = doc["epcisBody"]["eventList"][0]["epcList"]
        .as_array()
        .unwrap();
    let mut ours: Vec<String> = list
        .iter()
        .map(|v| normalize_id(v.as_str().unwrap()))
        .collect();
    ours.sort();
    let start = pre.find("epcListepc=").unwrap() + "epcList".len();
    let end = pre.find("action=").unwrap();
    let theirs: Vec<&str> = pre[start..end]
        .split("epc=")
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(theirs.len(), 23);
    assert_eq!(ours, theirs);
    println!(
        "epclist_normalisation: {} of {} ids match the reference pre-hash",
        ours.len(),
        23
    );
}

/// Every EPC URN or Digital Link in an example document appears, canonicalised, in that example's
/// pre-hash strings.
#[test]
fn identifiers_in_examples_appear_in_prehashes() {
    let mut files = 0;
    let mut checked = 0;
    let mut skipped = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(crate::reference(DIR))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".jsonld") else {
            continue;
        };
        let pre_path = path.with_file_name(format!("{stem}.prehashes"));
        let Ok(pre) = std::fs::read_to_string(&pre_path) else {
            skipped.push(format!("{stem}: no .prehashes file"));
            continue;
        };
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let body = &doc["epcisBody"];
        let events = body["eventList"]
            .as_array()
            .or_else(|| body["queryResults"]["resultsBody"]["eventList"].as_array())
            .cloned()
            .unwrap_or_default();
        let lines: Vec<&str> = pre.lines().filter(|l| !l.trim().is_empty()).collect();
        files += 1;
        for (i, event) in events.iter().enumerate() {
            let mut ids = Vec::new();
            collect_ids(event, &mut ids);
            let canon: Vec<String> = ids
                .iter()
                .map(|id| {
                    canonical_dl(id).unwrap_or_else(|| panic!("{stem}: {id} not canonicalised"))
                })
                .collect();
            // The pre-hash line of this event: the one holding all its identifiers.
            let found = lines
                .iter()
                .any(|l| canon.iter().all(|c| l.contains(&format!("={c}"))));
            if found {
                checked += canon.len();
            } else {
                let missing: Vec<_> = canon
                    .iter()
                    .filter(|c| !lines.iter().any(|l| l.contains(&format!("={c}"))))
                    .collect();
                skipped.push(format!(
                    "{stem} event {i}: no pre-hash line has all ids; missing {missing:?}"
                ));
            }
        }
    }
    println!("canonical ids checked against pre-hashes: {checked} in {files} files");
    for s in &skipped {
        println!("skipped: {s}");
    }
    assert!(checked >= 100, "only {checked} ids checked");
    // Known upstream gaps: epcisDocHavingEventWithComment has no pre-hash file; the pre-hash file of epcisDocWithAllGS1Keys is corrupted
    // (interleaved fragments such as "epc=httpspc="), and the second pre-hash line of
    // epcisDocWithCustomSchemaInContext repeats the first event instead of the second.
    assert_eq!(skipped.len(), KNOWN_SKIPS, "{skipped:#?}");
}

fn collect_ids(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s)
            if s.starts_with("urn:epc:id:")
                || s.starts_with("urn:epc:class:")
                || s.starts_with("urn:epc:idpat:")
                || s.starts_with("https://id.gs1.org/") =>
        {
            out.push(s.clone());
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_ids(x, out)),
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                // Extension fields may hold arbitrary strings; the hash keeps them verbatim.
                if k.contains(':') && !k.starts_with("http") {
                    continue;
                }
                collect_ids(x, out)
            }
        }
        _ => {}
    }
}

#[test]
fn non_gs1_uris_are_unchanged() {
    for s in [
        "urn:example:foo",
        "https://example.com/abc",
        "urn:epc:id:gid:123.456.789",
        "https://id.gs1.org/",
        "http://example.com/01/abc",
        "geo:47.506694,11.104301",
    ] {
        assert_eq!(canonical_dl(s), None, "{s}");
        assert_eq!(normalize_id(s), s);
    }
}

#[test]
fn digital_link_variants_are_canonicalised() {
    let c = "https://id.gs1.org/01/09780345418913/21/765tz";
    for s in [
        "https://example.com/gtin/09780345418913/21/765tz?abc=211121",
        "https://example.com/shop/01/9780345418913/21/765tz",
        "http://id.gs1.org/01/09780345418913/10/LOT1/21/765tz#frag",
        "https://id.gs1.org/01/09780345418913/ser/765tz/",
        "https://id.gs1.org/01/09780345418913/22/2A/10/L/21/765tz?linkType=all",
        "  https://id.gs1.org/01/09780345418913/21/765tz\n",
    ] {
        assert_eq!(canonical_dl(s).as_deref(), Some(c), "{s}");
    }
    assert_eq!(
        canonical_dl("https://example.org/01/12345670/10/ABC%2fD").as_deref(),
        Some("https://id.gs1.org/01/00000012345670/10/ABC%2FD")
    );
}

#[test]
fn id_patterns() {
    use IdPattern::*;
    let p = |s: &str| parse_id_pattern(s);
    assert_eq!(
        p("urn:epc:idpat:sgtin:4012345.011111.*"),
        Ok(Prefix("https://id.gs1.org/01/04012345111118/21/".into()))
    );
    assert_eq!(
        p("urn:epc:id:sgtin:4012345.011111.9876"),
        Ok(Exact("https://id.gs1.org/01/04012345111118/21/9876".into()))
    );
    assert_eq!(
        p("https://example.com/01/04012345111118/21/9876?x=1"),
        Ok(Exact("https://id.gs1.org/01/04012345111118/21/9876".into()))
    );
    assert_eq!(
        p("urn:epc:idpat:sgtin:4012345.011111.9876"),
        Ok(Exact("https://id.gs1.org/01/04012345111118/21/9876".into()))
    );
    assert_eq!(p("urn:example:x"), Ok(Exact("urn:example:x".into())));
    assert_eq!(
        p(" urn:epc:idpat:sgtin:4012345.011111.* "),
        Ok(Prefix("https://id.gs1.org/01/04012345111118/21/".into()))
    );
    assert_eq!(
        p("urn:epc:idpat:sgln:4012345.00005.*"),
        Ok(Prefix("https://id.gs1.org/414/4012345000054".into()))
    );
    assert_eq!(
        p("urn:epc:idpat:giai:4012345.*"),
        Ok(Prefix("https://id.gs1.org/8004/4012345".into()))
    );
    assert_eq!(
        p("urn:epc:idpat:grai:4012345.00022.*"),
        Ok(Prefix("https://id.gs1.org/8003/04012345000221".into()))
    );
    let e = p("urn:epc:idpat:sscc:4012345.*").unwrap_err();
    assert!(e.contains("prefix"), "{e}");
    let e = p("urn:epc:idpat:sgtin:4012345.*.*").unwrap_err();
    assert!(e.contains("indicator"), "{e}");
    assert!(p("urn:epc:idpat:sgtin:*.*.*").is_err());
    assert!(p("urn:epc:idpat:sgtin:4012345.*.9").is_err());
}

/// Every EPC URN / id.gs1.org Digital Link in the XML examples appears, canonicalised, in the
/// example's pre-hash strings.
#[test]
fn identifiers_in_xml_examples_appear_in_prehashes() {
    let mut entries: Vec<_> = std::fs::read_dir(crate::reference(DIR))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let (mut files, mut checked) = (0, 0);
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".xml") else {
            continue;
        };
        let Ok(pre) = std::fs::read_to_string(path.with_file_name(format!("{stem}.prehashes")))
        else {
            continue;
        };
        let xml = std::fs::read_to_string(&path).unwrap();
        files += 1;
        for prefix in [
            "urn:epc:id:",
            "urn:epc:class:",
            "urn:epc:idpat:",
            "https://id.gs1.org/",
        ] {
            for (start, _) in xml.match_indices(prefix) {
                let end = xml[start..]
                    .find(['<', '"', '\'', ' ', '\n', '\t', '\r'])
                    .map_or(xml.len(), |p| start + p);
                let id = &xml[start..end];
                let c =
                    canonical_dl(id).unwrap_or_else(|| panic!("{stem}: {id} not canonicalised"));
                assert!(
                    pre.contains(&format!("={c}")),
                    "{stem}: {id} -> {c} not in pre-hash"
                );
                checked += 1;
            }
        }
    }
    println!("XML examples: {checked} identifiers found canonicalised in {files} pre-hash files");
    assert!(checked >= 100, "{checked}");
}
