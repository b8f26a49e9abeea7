//! Page tokens (`nextPageToken`): a small JSON payload (where the next page starts, when the token
//! expires), encrypted and then authenticated with an HMAC-SHA256 over the caller's scope, the
//! resource and the query, with keys derived from the store's server secret. So a token works on
//! every server of one store, cannot be forged or edited, is useless to another organisation or
//! with another query (it then fails exactly like a garbled token), and does not show the store's
//! internal sequence numbers (which would tell how many events others captured in between).
//!
//! Encryption is HMAC-SHA256 in counter mode over a random 16-byte nonce (a PRF keystream), then
//! encrypt-then-MAC with a separate key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use store::Scope;

use crate::error::ApiError;

/// Longest token accepted.
pub const TOKEN_LEN_MAX: usize = 2048;
/// How long a token stays valid.
pub const TOKEN_TTL_MS: i64 = 24 * 3600 * 1000;

/// What a token is bound to.
pub struct Binding<'a> {
    pub scope: &'a Scope,
    /// The resource path (e.g. `/epcis/events`, `/epcis/queries/q1/events`).
    pub resource: &'a str,
    /// Query parameters without `perPage` and `nextPageToken`.
    pub params: &'a [(String, String)],
}

impl Binding<'_> {
    fn message(&self, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(256 + payload.len());
        let scope = match self.scope {
            Scope::All => "all".to_string(),
            Scope::Public => "public".to_string(),
            Scope::Orgs(orgs) => {
                let mut o: Vec<&str> = orgs.iter().map(|o| o.as_str()).collect();
                o.sort_unstable();
                format!("orgs:{}", o.join(","))
            }
        };
        for part in [
            b"zhiliang-page-token-v1".as_slice(),
            scope.as_bytes(),
            self.resource.as_bytes(),
        ] {
            push_framed(&mut m, part);
        }
        let mut params: Vec<&(String, String)> = self.params.iter().collect();
        params.sort();
        push_framed(&mut m, params.len().to_string().as_bytes());
        for (k, v) in params {
            push_framed(&mut m, k.as_bytes());
            push_framed(&mut m, v.as_bytes());
        }
        push_framed(&mut m, payload);
        m
    }
}

/// Length-prefixed, so no two different inputs frame to the same bytes.
fn push_framed(m: &mut Vec<u8>, part: &[u8]) {
    m.extend_from_slice(&(part.len() as u64).to_be_bytes());
    m.extend_from_slice(part);
}

fn mac(key: &[u8], message: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac
}

/// A key for one purpose, derived from the server secret.
fn subkey(secret: &[u8; 32], purpose: &[u8]) -> [u8; 32] {
    mac(secret, purpose).finalize().into_bytes().into()
}

const NONCE_LEN: usize = 16;

/// XOR `data` with the keystream HMAC(enc_key, nonce || block counter).
fn apply_keystream(secret: &[u8; 32], nonce: &[u8], data: &mut [u8]) {
    let key = subkey(secret, b"zhiliang-page-token-enc");
    for (i, chunk) in data.chunks_mut(32).enumerate() {
        let mut m = mac(&key, nonce);
        m.update(&(i as u64).to_be_bytes());
        let block = m.finalize().into_bytes();
        for (d, k) in chunk.iter_mut().zip(block.iter()) {
            *d ^= k;
        }
    }
}

/// Seal `payload` (an object; `exp` is added) for `binding`.
pub fn sign(secret: &[u8; 32], binding: &Binding<'_>, mut payload: Value, now_ms: i64) -> String {
    payload["exp"] = Value::from(now_ms.saturating_add(TOKEN_TTL_MS));
    let mut sealed = vec![0u8; NONCE_LEN];
    rand::fill(&mut sealed[..]);
    sealed.extend(serde_json::to_vec(&payload).expect("a JSON value serialises"));
    let (nonce, body) = sealed.split_at_mut(NONCE_LEN);
    apply_keystream(secret, nonce, body);
    let mac_key = subkey(secret, b"zhiliang-page-token-mac");
    let tag = mac(&mac_key, &binding.message(&sealed))
        .finalize()
        .into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&sealed),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// When the token signed at `now_ms` expires (for `GS1-Next-Page-Token-Expires`).
pub fn expires_ms(now_ms: i64) -> i64 {
    now_ms.saturating_add(TOKEN_TTL_MS)
}

/// Check a token and return its payload. Every failure is the same error.
pub fn verify(
    secret: &[u8; 32],
    binding: &Binding<'_>,
    token: &str,
    now_ms: i64,
) -> Result<Value, ApiError> {
    let bad =
        || ApiError::QueryParameter("nextPageToken: not valid for this query (or expired)".into());
    if token.len() > TOKEN_LEN_MAX {
        return Err(bad());
    }
    let (p, t) = token.split_once('.').ok_or_else(bad)?;
    let mut sealed = URL_SAFE_NO_PAD.decode(p).map_err(|_| bad())?;
    let tag = URL_SAFE_NO_PAD.decode(t).map_err(|_| bad())?;
    if sealed.len() <= NONCE_LEN {
        return Err(bad());
    }
    let mac_key = subkey(secret, b"zhiliang-page-token-mac");
    mac(&mac_key, &binding.message(&sealed))
        .verify_slice(&tag)
        .map_err(|_| bad())?;
    let (nonce, body) = sealed.split_at_mut(NONCE_LEN);
    apply_keystream(secret, nonce, body);
    let v: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    match v.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now_ms => Ok(v),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use store::OrgId;

    #[test]
    fn token_is_bound_to_scope_query_and_secret() {
        let secret = [7u8; 32];
        let a = Scope::org(OrgId::parse("A").unwrap());
        let b = Scope::org(OrgId::parse("B").unwrap());
        let params = vec![("EQ_bizStep".to_string(), "shipping".to_string())];
        let bind = |scope| Binding {
            scope,
            resource: "/epcis/events",
            params: &params,
        };
        let t = sign(&secret, &bind(&a), json!({"k": 1, "s": 2}), 1000);
        assert_eq!(verify(&secret, &bind(&a), &t, 2000).unwrap()["s"], 2);
        assert!(verify(&secret, &bind(&b), &t, 2000).is_err(), "other org");
        assert!(
            verify(&secret, &bind(&Scope::All), &t, 2000).is_err(),
            "other scope"
        );
        assert!(
            verify(&[8u8; 32], &bind(&a), &t, 2000).is_err(),
            "other secret"
        );
        let other_params = vec![("EQ_bizStep".to_string(), "receiving".to_string())];
        let other = Binding {
            scope: &a,
            resource: "/epcis/events",
            params: &other_params,
        };
        assert!(verify(&secret, &other, &t, 2000).is_err(), "other query");
        assert!(
            verify(&secret, &bind(&a), &t, 1000 + TOKEN_TTL_MS).is_err(),
            "expired"
        );
        // Any edit of the payload breaks the MAC.
        let (p, tag) = t.split_once('.').unwrap();
        let mut edited = URL_SAFE_NO_PAD.decode(p).unwrap();
        let last = edited.len() - 1;
        edited[last] ^= 1;
        let edited = URL_SAFE_NO_PAD.encode(&edited);
        assert!(verify(&secret, &bind(&a), &format!("{edited}.{tag}"), 2000).is_err());
        assert!(verify(&secret, &bind(&a), &format!("{p}."), 2000).is_err());
        // The payload is not readable: no sequence number shows through.
        let raw = URL_SAFE_NO_PAD.decode(p).unwrap();
        assert!(serde_json::from_slice::<Value>(&raw[NONCE_LEN..]).is_err());
        assert!(!raw.windows(4).any(|w| w == br#""s":"#));
        // Two tokens for the same page differ (fresh nonce), both valid.
        let t2 = sign(&secret, &bind(&a), json!({"k": 1, "s": 2}), 1000);
        assert_ne!(t, t2);
        assert_eq!(verify(&secret, &bind(&a), &t2, 2000).unwrap()["k"], 1);
    }
}
