//! The notification delivery worker: a background task that calls [`deliver_pending`] every
//! `interval`, with the HMAC-signed webhook sender, until told to stop.
//!
//! Backoff is at two levels: an outbox entry whose delivery failed is not tried again before its
//! `next_attempt_ms` (doubling per failure, see [`super::recalls::next_attempt_ms`]); a round that
//! fails as a whole (the store is unavailable) doubles the wait before the next round, up to
//! `backoff_max`, and a good round resets it.
//!
//! [`HttpWebhookSender`] speaks plain HTTP/1.1 (`http://` URLs) with connect, read and write
//! timeouts. This build carries no TLS client: an `https://` webhook is reported as a failed
//! attempt naming the reason (deliver through a local TLS-originating proxy until one is added).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use store::Store;
use tokio::sync::watch;

use super::recalls::{DeliveryReport, WebhookSender, deliver_pending};
use crate::Clock;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Wait between two rounds when all is well.
    pub interval: Duration,
    /// Longest wait after rounds that failed.
    pub backoff_max: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            interval: Duration::from_secs(30),
            backoff_max: Duration::from_secs(600),
        }
    }
}

/// What a worker did before it stopped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WorkerSummary {
    pub rounds: u64,
    /// Rounds that failed as a whole (store errors).
    pub failed_rounds: u64,
    pub sent: usize,
    pub failed: usize,
}

/// The wait before the next round: `interval` after a good round, doubled per failed round in a
/// row, at most `backoff_max`.
pub fn next_wait(cfg: &WorkerConfig, failures_in_a_row: u32) -> Duration {
    if failures_in_a_row == 0 {
        return cfg.interval;
    }
    let factor = 1u32 << failures_in_a_row.min(16);
    cfg.interval
        .saturating_mul(factor)
        .min(cfg.backoff_max.max(cfg.interval))
}

/// Run delivery rounds until `stop` turns true (or its sender is dropped). A round in progress
/// is finished first; nothing is cut off half-way.
pub async fn run_delivery_worker(
    store: Arc<dyn Store>,
    sender: Arc<dyn WebhookSender>,
    clock: Clock,
    cfg: WorkerConfig,
    mut stop: watch::Receiver<bool>,
) -> WorkerSummary {
    let mut summary = WorkerSummary::default();
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            break;
        }
        let (s, tx, now) = (store.clone(), sender.clone(), clock());
        let round: Result<DeliveryReport, String> = tokio::task::spawn_blocking(move || {
            deliver_pending(s.as_ref(), tx.as_ref(), now).map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(format!("delivery round panicked: {e}")));
        summary.rounds += 1;
        match round {
            Ok(r) => {
                failures = 0;
                summary.sent += r.sent;
                summary.failed += r.failed;
                if r.sent + r.failed > 0 {
                    tracing::info!(sent = r.sent, failed = r.failed, "recall notifications");
                }
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                summary.failed_rounds += 1;
                tracing::warn!(error = %e, "recall notification delivery round failed");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(next_wait(&cfg, failures)) => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    summary
}

/// Longest response head read from a webhook.
const RESPONSE_HEAD_MAX: usize = 8 * 1024;

/// A webhook sender over plain HTTP/1.1 (`http://host[:port]/path`), one connection per request.
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    pub timeout: Duration,
}

impl Default for HttpWebhookSender {
    fn default() -> Self {
        HttpWebhookSender {
            timeout: Duration::from_secs(10),
        }
    }
}

/// (host, port, path) of an `http://` URL.
fn split_url(url: &str) -> Result<(String, u16, String), String> {
    if url.starts_with("https://") {
        return Err(
            "https webhooks need a TLS client, which this build does not include; use an http:// URL (for example a local TLS-originating proxy)".into(),
        );
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("webhook_url must start with http://, got {url:?}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err("webhook_url needs a host (and no user information)".into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h.to_string(),
            p.parse::<u16>()
                .map_err(|_| format!("webhook_url port {p:?} is not a number"))?,
        ),
        _ => (authority.to_string(), 80),
    };
    if path.chars().any(|c| c.is_control() || c == ' ') {
        return Err("webhook_url path has spaces or control characters".into());
    }
    Ok((host, port, path.to_string()))
}

impl WebhookSender for HttpWebhookSender {
    fn send(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> Result<u16, String> {
        let (host, port, path) = split_url(url)?;
        let addr = (host.trim_start_matches('[').trim_end_matches(']'), port)
            .to_socket_addrs()
            .map_err(|e| format!("resolving {host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host} has no address"))?;
        let mut conn = TcpStream::connect_timeout(&addr, self.timeout)
            .map_err(|e| format!("connecting to {host}:{port}: {e}"))?;
        conn.set_read_timeout(Some(self.timeout))
            .and_then(|_| conn.set_write_timeout(Some(self.timeout)))
            .map_err(|e| e.to_string())?;
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: zhiliang/{}\r\n",
            body.len(),
            crate::VERSION
        );
        for (k, v) in headers {
            if k.contains(['\r', '\n', ':']) || v.contains(['\r', '\n']) {
                return Err(format!("header {k:?} is not a valid HTTP header"));
            }
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        conn.write_all(head.as_bytes())
            .and_then(|_| conn.write_all(body))
            .and_then(|_| conn.flush())
            .map_err(|e| format!("sending to {host}:{port}: {e}"))?;
        // The status line is all we need.
        let mut buf = Vec::with_capacity(256);
        let mut chunk = [0u8; 512];
        while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < RESPONSE_HEAD_MAX {
            let n = conn
                .read(&mut chunk)
                .map_err(|e| format!("reading the answer of {host}:{port}: {e}"))?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&buf);
        let mut words = line.lines().next().unwrap_or("").split_whitespace();
        match (
            words.next(),
            words.next().and_then(|c| c.parse::<u16>().ok()),
        ) {
            (Some(v), Some(code)) if v.starts_with("HTTP/1.") => Ok(code),
            _ => Err(format!(
                "{host}:{port} did not answer with an HTTP status line"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_and_https_is_refused_with_the_reason() {
        assert_eq!(
            split_url("http://127.0.0.1:8081/hook?x=1").unwrap(),
            ("127.0.0.1".into(), 8081, "/hook?x=1".into())
        );
        assert_eq!(
            split_url("http://example.org").unwrap(),
            ("example.org".into(), 80, "/".into())
        );
        assert_eq!(
            split_url("http://[::1]:9/h").unwrap(),
            ("[::1]".into(), 9, "/h".into())
        );
        assert!(
            split_url("https://b.example/hook")
                .unwrap_err()
                .contains("TLS")
        );
        assert!(split_url("ftp://x").is_err());
        assert!(split_url("http://u@x/").is_err());
    }

    #[test]
    fn waits_double_per_failed_round_up_to_the_cap() {
        let cfg = WorkerConfig {
            interval: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
        };
        let waits: Vec<u64> = (0..7).map(|f| next_wait(&cfg, f).as_secs()).collect();
        assert_eq!(waits, vec![2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(next_wait(&cfg, u32::MAX).as_secs(), 60);
    }
}
