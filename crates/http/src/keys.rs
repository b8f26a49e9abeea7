//! API keys (no HTTP types; the CLI uses this too). A key is a random secret shown once; the store
//! keeps only its SHA-256.

use sha2::{Digest, Sha256};
use store::{ApiKey, OrgId, Role, Store, StoreError};

/// Prefix of every secret, so that leaked keys are recognisable by scanners.
pub const KEY_PREFIX: &str = "zlk_";
/// Longest `Authorization` value we look at.
pub const KEY_LEN_MAX: usize = 256;

/// A secret that never prints itself by accident.
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one time it is shown.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// SHA-256 of a secret, lowercase hex (what the store keeps).
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Create and store a new key. `random` supplies 32 random bytes (injected for tests).
pub fn create_key(
    store: &dyn Store,
    org: OrgId,
    role: Role,
    now_ms: i64,
    random: [u8; 32],
) -> Result<(ApiKey, Secret), StoreError> {
    use base64::Engine;
    let secret = format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
    );
    let hash_hex = hash_secret(&secret);
    let key = ApiKey {
        // Derived from the hash (not from the secret directly) so it reveals nothing usable.
        key_id: format!("key_{}", &hash_hex[..16]),
        hash_hex,
        org,
        role,
        created_ms: now_ms,
        revoked: false,
    };
    store.put_key(key.clone())?;
    Ok((key, Secret(secret)))
}

/// 32 bytes from the operating system's random source.
pub fn os_random() -> [u8; 32] {
    let mut r = [0u8; 32];
    rand::fill(&mut r);
    r
}

/// On an empty key table, create one admin key (org `admin`) and return its secret.
pub fn ensure_admin_key(store: &dyn Store, now_ms: i64) -> Result<Option<Secret>, StoreError> {
    if store.count_keys()? > 0 {
        return Ok(None);
    }
    let org = OrgId::parse("admin").expect("constant org id is valid");
    let (_, secret) = create_key(store, org, Role::Admin, now_ms, os_random())?;
    Ok(Some(secret))
}
