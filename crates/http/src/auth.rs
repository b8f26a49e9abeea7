//! Who is calling: `Authorization: Bearer <key>` -> [`Principal`]. Handlers that take a
//! `Principal` argument require a valid key; the scope they pass to the store comes from here only.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use store::{OrgId, Role, Scope};

use crate::error::ApiError;
use crate::keys::{KEY_LEN_MAX, hash_secret};
use crate::{AppState, blocking};

#[derive(Debug, Clone)]
pub struct Principal {
    pub key_id: String,
    pub org: OrgId,
    pub role: Role,
}

impl Principal {
    /// What this caller may see of events, jobs and counts.
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Enterprise => Scope::org(self.org.clone()),
            Role::Regulator | Role::Admin => Scope::All,
            Role::Public => Scope::Public,
        }
    }

    /// Records that belong to the caller's own organisation (named queries): private even from
    /// regulators, whose views are their own.
    pub fn own_scope(&self) -> Scope {
        Scope::org(self.org.clone())
    }

    /// Capturing events is for organisations that own events: not for public keys.
    pub fn require_capture(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Public => Err(ApiError::Forbidden(
                "this key's role may not capture events".into(),
            )),
            _ => Ok(()),
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = bearer(parts).ok_or(ApiError::Unauthenticated)?;
        authenticate(state, secret)
            .await?
            .ok_or(ApiError::Unauthenticated)
    }
}

/// The bearer token of a request, if well-formed.
pub fn bearer(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if v.len() > KEY_LEN_MAX + 7 {
        return None;
    }
    let (scheme, token) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// The principal for a secret, `None` if unknown or revoked.
pub async fn authenticate(state: &AppState, secret: String) -> Result<Option<Principal>, ApiError> {
    let hash = hash_secret(&secret);
    let key = blocking(state, move |s| s.key_by_hash(&hash)).await?;
    Ok(key.filter(|k| !k.revoked).map(|k| Principal {
        key_id: k.key_id,
        org: k.org,
        role: k.role,
    }))
}

/// Optional authentication (the home page): no header or a bad key is simply anonymous.
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybePrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer(parts) {
            None => Ok(MaybePrincipal(None)),
            Some(secret) => Ok(MaybePrincipal(authenticate(state, secret).await?)),
        }
    }
}
