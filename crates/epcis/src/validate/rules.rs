//! Semantic rules of EPCIS 2.0 / CBV 2.0 that the JSON schema does not express (or expresses only
//! as an `anyOf` whose error does not say which field is missing).

use super::ValidationIssue;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn issue(out: &mut Vec<ValidationIssue>, pointer: String, rule: impl Into<String>) {
    out.push(ValidationIssue {
        pointer,
        rule: rule.into(),
    });
}

fn non_empty_array(ev: &Value, key: &str) -> bool {
    ev.get(key)
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

/// Checks one event at `p` (its JSON pointer).
pub(super) fn check_event(ev: &Value, p: &str, out: &mut Vec<ValidationIssue>) {
    let Some(obj) = ev.as_object() else {
        return;
    };
    let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");

    // action
    if matches!(
        ty,
        "ObjectEvent" | "AggregationEvent" | "TransactionEvent" | "AssociationEvent"
    ) && !obj.contains_key("action")
    {
        issue(
            out,
            format!("{p}/action"),
            format!("`action` (ADD, OBSERVE or DELETE) is required in an {ty}"),
        );
    }
    let action = obj.get("action").and_then(Value::as_str);

    // timestamps
    match obj.get("eventTime") {
        None => issue(
            out,
            format!("{p}/eventTime"),
            "`eventTime` is required in every event",
        ),
        Some(t) => check_time(t, || format!("{p}/eventTime"), out),
    }
    if let Some(t) = obj.get("recordTime") {
        check_time(t, || format!("{p}/recordTime"), out);
    }
    if let Some(t) = obj
        .get("errorDeclaration")
        .and_then(|e| e.get("declarationTime"))
    {
        check_time(t, || format!("{p}/errorDeclaration/declarationTime"), out);
    }
    match obj.get("eventTimeZoneOffset") {
        None => issue(
            out,
            format!("{p}/eventTimeZoneOffset"),
            "`eventTimeZoneOffset` (e.g. `+01:00`) is required in every event",
        ),
        Some(Value::String(s)) if !valid_offset(s) => issue(
            out,
            format!("{p}/eventTimeZoneOffset"),
            format!("`{s}` must be `+hh:mm` or `-hh:mm` between -14:00 and +14:00"),
        ),
        _ => {}
    }

    // ILMD describes objects at their creation: only with action ADD (ObjectEvent).
    if ty == "ObjectEvent"
        && obj.contains_key("ilmd")
        && matches!(action, Some("OBSERVE" | "DELETE"))
    {
        issue(
            out,
            format!("{p}/ilmd"),
            format!(
                "`ilmd` is only allowed in an ObjectEvent with action ADD, not {}",
                action.unwrap_or("")
            ),
        );
    }

    // what the event is about
    match ty {
        "ObjectEvent" => {
            let sensor_only =
                non_empty_array(ev, "sensorElementList") && obj.contains_key("readPoint");
            if !obj.contains_key("epcList") && !non_empty_array(ev, "quantityList") && !sensor_only
            {
                issue(
                    out,
                    format!("{p}/epcList"),
                    "an ObjectEvent needs `epcList` or a non-empty `quantityList` \
                     (or `sensorElementList` with `readPoint`)",
                );
            }
        }
        "AggregationEvent" | "AssociationEvent" => {
            if matches!(action, Some("ADD" | "DELETE")) && !obj.contains_key("parentID") {
                issue(
                    out,
                    format!("{p}/parentID"),
                    format!(
                        "`parentID` is required in an {ty} with action {}",
                        action.unwrap_or("")
                    ),
                );
            }
            if action != Some("DELETE")
                && !non_empty_array(ev, "childEPCs")
                && !non_empty_array(ev, "childQuantityList")
            {
                issue(
                    out,
                    format!("{p}/childEPCs"),
                    format!(
                        "an {ty} with action ADD or OBSERVE needs a non-empty `childEPCs` or \
                         `childQuantityList`"
                    ),
                );
            }
        }
        "TransactionEvent"
            if action != Some("DELETE")
                && !obj.contains_key("epcList")
                && !non_empty_array(ev, "quantityList") =>
        {
            issue(
                out,
                format!("{p}/epcList"),
                "a TransactionEvent with action ADD or OBSERVE needs `epcList` or a \
                 non-empty `quantityList`",
            );
        }
        "TransformationEvent" => {
            let inputs =
                non_empty_array(ev, "inputEPCList") || non_empty_array(ev, "inputQuantityList");
            let outputs =
                non_empty_array(ev, "outputEPCList") || non_empty_array(ev, "outputQuantityList");
            if !inputs && !outputs {
                issue(
                    out,
                    format!("{p}/inputEPCList"),
                    "a TransformationEvent needs at least one non-empty input or output list \
                     (`inputEPCList`, `inputQuantityList`, `outputEPCList`, `outputQuantityList`)",
                );
            }
        }
        _ => {}
    }

    // quantity elements
    for list in [
        "quantityList",
        "childQuantityList",
        "inputQuantityList",
        "outputQuantityList",
    ] {
        if let Some(a) = obj.get(list).and_then(Value::as_array) {
            for (i, q) in a.iter().enumerate() {
                if q.get("uom").is_some() && q.get("quantity").is_none() {
                    issue(
                        out,
                        format!("{p}/{list}/{i}/uom"),
                        "`uom` may only be given together with `quantity`",
                    );
                }
                if let Some(c) = q.get("epcClass").and_then(Value::as_str) {
                    check_id(c, || format!("{p}/{list}/{i}/epcClass"), out);
                }
            }
        }
    }

    // identifiers
    for list in ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] {
        if let Some(a) = obj.get(list).and_then(Value::as_array) {
            for (i, v) in a.iter().enumerate() {
                if let Some(s) = v.as_str() {
                    check_id(s, || format!("{p}/{list}/{i}"), out);
                }
            }
        }
    }
    if let Some(s) = obj.get("parentID").and_then(Value::as_str) {
        check_id(s, || format!("{p}/parentID"), out);
    }
    for loc in ["readPoint", "bizLocation"] {
        if let Some(s) = obj
            .get(loc)
            .and_then(|l| l.get("id"))
            .and_then(Value::as_str)
        {
            check_id(s, || format!("{p}/{loc}/id"), out);
        }
    }
    for (list, key) in [
        ("sourceList", "source"),
        ("destinationList", "destination"),
        ("bizTransactionList", "bizTransaction"),
    ] {
        if let Some(a) = obj.get(list).and_then(Value::as_array) {
            for (i, v) in a.iter().enumerate() {
                if let Some(s) = v.get(key).and_then(Value::as_str) {
                    check_id(s, || format!("{p}/{list}/{i}/{key}"), out);
                }
            }
        }
    }
}

/// `pointer` is built only when there is an issue (this runs for every event).
fn check_time(t: &Value, pointer: impl Fn() -> String, out: &mut Vec<ValidationIssue>) {
    let Some(s) = t.as_str() else {
        issue(out, pointer(), "must be a date-time string");
        return;
    };
    if OffsetDateTime::parse(s, &Rfc3339).is_err() {
        issue(
            out,
            pointer(),
            format!(
                "`{}` must be an RFC 3339 date-time with a time-zone offset \
                 (e.g. `2020-06-15T21:41:19.000+02:00` or `...Z`)",
                truncate(s)
            ),
        );
    }
}

fn truncate(s: &str) -> &str {
    if s.len() <= 100 {
        return s;
    }
    let mut end = 100;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `+hh:mm` / `-hh:mm`, -14:00 ..= +14:00.
pub(crate) fn valid_offset(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 6 || !matches!(b[0], b'+' | b'-') || b[3] != b':' {
        return false;
    }
    let digits = |x: &[u8]| -> Option<u32> {
        x.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    match (digits(&b[1..3]), digits(&b[4..6])) {
        (Some(h), Some(m)) => m < 60 && (h < 14 || (h == 14 && m == 0)),
        _ => false,
    }
}

/// EPC schemes with a GS1 key (EPC Tag Data Standard 2.0) that `gs1` converts to Digital Links.
const GS1_EPC_SCHEMES: &[&str] = &[
    "sgtin", "sscc", "sgln", "grai", "giai", "gsrn", "gsrnp", "gdti", "cpi", "sgcn", "ginc",
    "gsin", "itip", "upui", "pgln",
];

/// Primary-key AIs that start a GS1 Digital Link path.
const DL_PRIMARY_AIS: &[&str] = &[
    "00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017",
    "8018",
];

/// What a GS1-looking identifier claims to be, or `None` when it does not look like one.
pub(crate) fn gs1_kind(uri: &str) -> Option<&'static str> {
    if let Some(rest) = uri.strip_prefix("urn:epc:id:") {
        let scheme = rest.split(':').next().unwrap_or("");
        return GS1_EPC_SCHEMES
            .contains(&scheme)
            .then_some("GS1 EPC URI (urn:epc:id:…)");
    }
    if uri.starts_with("urn:epc:class:lgtin:") {
        return Some("GS1 EPC class URI (urn:epc:class:lgtin:…)");
    }
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    if host.eq_ignore_ascii_case("id.gs1.org") {
        return Some("GS1 Digital Link");
    }
    let mut segs = path.split('/');
    let first = segs.next().unwrap_or("");
    let second = segs.next().unwrap_or("");
    (DL_PRIMARY_AIS.contains(&first) && !second.is_empty()).then_some("GS1 Digital Link")
}

fn check_id(s: &str, pointer: impl Fn() -> String, out: &mut Vec<ValidationIssue>) {
    let Some(kind) = gs1_kind(s) else {
        return;
    };
    // `gs1::key_path` checks syntax, lengths, character sets and key qualifiers. Check digits
    // are not verified: the openepcis documents labelled valid carry GRAIs with wrong ones, and
    // an EPC URI has none (it is computed).
    let rule = match gs1::key_path(s) {
        Err(e) => Some(e.to_string()),
        Ok(kp) => kp.validate().err().map(str::to_string),
    };
    if let Some(rule) = rule {
        issue(
            out,
            pointer(),
            format!(
                "`{}` looks like a {kind} but is not a valid one: {rule}",
                truncate(s)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        for ok in ["+00:00", "-06:00", "+14:00", "-13:59"] {
            assert!(valid_offset(ok), "{ok}");
        }
        for bad in ["+14:01", "06:00", "+6:00", "+06:60", "Z", "+06:00:00"] {
            assert!(!valid_offset(bad), "{bad}");
        }
    }

    #[test]
    fn invalid_gs1_identifiers_are_reported_with_their_pointer() {
        let ev = serde_json::json!({
            "type": "ObjectEvent", "action": "OBSERVE",
            "eventTime": "2020-01-01T00:00:00Z", "eventTimeZoneOffset": "+00:00",
            "epcList": [
                "urn:epc:id:sgtin:0614141.107346.2018",
                "https://id.gs1.org/01/0952114101234X/21/1",
                "urn:epc:id:sgtin:0614141.107346"
            ],
            "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"}
        });
        let mut out = Vec::new();
        check_event(&ev, "/e", &mut out);
        let pointers: Vec<&str> = out.iter().map(|i| i.pointer.as_str()).collect();
        // A GTIN is digits only; an SGTIN needs a serial.
        assert_eq!(pointers, ["/e/epcList/1", "/e/epcList/2"], "{out:?}");
        assert!(out[0].rule.contains("GS1 Digital Link"), "{}", out[0].rule);
    }

    #[test]
    fn gs1_looking_ids() {
        assert!(gs1_kind("urn:epc:id:sgtin:0614141.107346.2018").is_some());
        assert!(gs1_kind("https://id.gs1.org/01/09521141012345/21/2017").is_some());
        assert!(gs1_kind("https://example.com/01/09521141012345").is_some());
        assert!(gs1_kind("urn:epc:id:gid:1.2.3").is_none());
        assert!(gs1_kind("http://transaction.acme.com/po/12345678").is_none());
        assert!(gs1_kind("urn:epcglobal:cbv:bt:0614141073467:1152").is_none());
    }
}
