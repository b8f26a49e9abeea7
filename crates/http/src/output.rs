//! What clients read back: `EPCISQueryDocument`s, capture jobs, collections. No HTTP types, so
//! `zhiliang query` prints exactly what `GET /epcis/events` answers.

use serde_json::{Value, json};
use store::{CaptureJob, JobStatus, StoredEvent};

/// The standard EPCIS 2.0 JSON-LD context.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// RFC 3339 UTC with milliseconds (`2026-11-26T08:00:00.000Z`).
pub fn format_time_ms(ms: i64) -> String {
    use time::OffsetDateTime;
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The event as stored with `recordTime` added (the stored body never carries it).
pub fn event_json(e: &StoredEvent) -> Value {
    let mut v: Value = match serde_json::from_str(&e.body) {
        Ok(v) => v,
        Err(err) => {
            // A stored body that does not parse is corruption; show what we know instead of failing
            // the whole page, and make it visible in logs.
            tracing::error!(event_id = %e.event_id, error = %err, "stored event body is not JSON");
            json!({ "eventID": e.event_id, "type": e.event_type })
        }
    };
    if let Value::Object(m) = &mut v {
        m.insert(
            "recordTime".into(),
            Value::String(format_time_ms(e.record_time_ms)),
        );
    }
    v
}

/// An `EPCISQueryDocument` holding `events`.
pub fn query_document(events: &[StoredEvent], query_name: &str, creation_ms: i64) -> Value {
    let list: Vec<Value> = events.iter().map(event_json).collect();
    json!({
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": format_time_ms(creation_ms),
        "epcisBody": {
            "queryResults": {
                "queryName": query_name,
                "resultsBody": { "eventList": list }
            }
        }
    })
}

/// A capture job as the REST bindings describe it (plus our counts).
pub fn job_json(job: &CaptureJob) -> Value {
    json!({
        "captureID": job.id,
        "createdAt": format_time_ms(job.created_ms),
        "finishedAt": format_time_ms(job.finished_ms),
        "running": false,
        "success": job.status == JobStatus::Success,
        "errors": job.errors,
        "eventsStored": job.stored,
        "eventsDuplicate": job.duplicates,
    })
}

/// A JSON-LD `Collection` of URIs or names.
pub fn collection(members: &[String]) -> Value {
    json!({ "@context": EPCIS_CONTEXT, "type": "Collection", "member": members })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format_matches_rfc3339() {
        assert_eq!(format_time_ms(0), "1970-01-01T00:00:00.000Z");
        // 2005-04-03T20:33:31.116Z (the GS1 example's time in UTC+0)
        assert_eq!(
            format_time_ms(1_112_560_411_116),
            "2005-04-03T20:33:31.116Z"
        );
    }
}
