//! Per-tenant API keys: `Authorization: Bearer rbk_<id>_<secret>`.
//!
//! A key is shown once, when it is created (`rebound keys create`); the store keeps
//! only its SHA-256. The secret part is 256 random bits, so a fast hash is the right
//! one (a slow password hash protects guessable secrets; these are not guessable),
//! and lookups stay cheap enough to authenticate every request. Keys found valid are
//! remembered for a minute, so the store is not read on every request.
//!
//! A key names exactly one tenant, and every handler works on that tenant only:
//! tenant isolation is decided here, once, not by each handler.

use crate::App;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rebound_store::{ApiKey, Store, Ts};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a key found valid is trusted without asking the store again.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// Entries kept at most (the cache is cleared when full).
const CACHE_MAX: usize = 10_000;

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The stored form of a key.
pub fn hash(key: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, key.as_bytes()).as_ref())
}

/// Creates and stores a key for `tenant`; returns the key, to show once.
pub fn create_key(
    store: &mut dyn Store,
    tenant: &str,
    label: &str,
    at: Ts,
) -> rebound_store::Result<String> {
    let rng = SystemRandom::new();
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rng.fill(&mut id)
        .and_then(|_| rng.fill(&mut secret))
        .map_err(|_| rebound_store::Error::Backend("no system randomness".into()))?;
    let id = hex(&id);
    let key = format!("rbk_{id}_{}", URL_SAFE_NO_PAD.encode(secret));
    store.create_api_key(&ApiKey {
        id,
        tenant: tenant.to_string(),
        hash: hash(&key),
        label: label.to_string(),
        created_at: at,
    })?;
    Ok(key)
}

#[derive(Default)]
pub struct KeyCache {
    valid: RwLock<HashMap<String, (String, Instant)>>,
}

impl KeyCache {
    /// The tenant of a presented key.
    pub async fn tenant(&self, app: &App, key: &str) -> Result<String, ApiError> {
        if !key.starts_with("rbk_") || key.len() > 200 {
            return Err(ApiError::unauthorized("not a Rebound API key"));
        }
        let h = hash(key);
        if let Ok(v) = self.valid.read()
            && let Some((tenant, when)) = v.get(&h)
            && when.elapsed() < CACHE_TTL
        {
            return Ok(tenant.clone());
        }
        let lookup = h.clone();
        let found = app.db.with(move |s| s.api_key(&lookup)).await?;
        let Some(k) = found else {
            return Err(ApiError::unauthorized("unknown API key"));
        };
        if let Ok(mut v) = self.valid.write() {
            if v.len() >= CACHE_MAX {
                v.clear();
            }
            v.insert(h, (k.tenant.clone(), Instant::now()));
        }
        Ok(k.tenant)
    }
}

/// The tenant an authenticated request acts for.
pub struct Tenant(pub String);

impl FromRequestParts<Arc<App>> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <API key>`"))?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
        let key = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <API key>`"))?;
        app.keys.tenant(app, key.trim()).await.map(Tenant)
    }
}
