//! A self-hosted subset of the HIBP breach API v3 under `/api/v3`, answered from the index's
//! source metadata: `breachedaccount/{account}`, `breaches`, `breach/{name}`, `dataclasses`.
//!
//! `breachedaccount` needs a `hibp-api-key` header holding one of the operator's keys (401
//! otherwise), a `user-agent` (403 otherwise), and stays within a per-key rate limit (429 with
//! `retry-after`); wrong keys are throttled per client address ([`crate::access`]). The other
//! routes are public, as at HIBP.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use leakdex_core::range::Breach;
use leakdex_core::{Kind, Source};

use crate::Shared;

/// API keys and the per-key rate limit.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    /// Accepted keys.
    pub keys: BTreeSet<String>,
    /// Requests per minute per key (0: unlimited).
    pub per_minute: u32,
}

impl Keys {
    /// Reads keys, one per line (`#` starts a comment), from a file's text.
    pub fn parse(text: &str) -> BTreeSet<String> {
        text.lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Token buckets, one per key.
#[derive(Default)]
pub(crate) struct Limiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    /// Takes one token for `key`; on refusal, the seconds until one is free.
    fn take(&self, key: &str, per_minute: u32) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        let rate = f64::from(per_minute) / 60.0;
        let cap = f64::from(per_minute.max(1));
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let (tokens, last) = b.entry(key.to_string()).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(cap);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - *tokens) / rate).ceil() as u64).max(1))
        }
    }
}

/// The HIBP breach model of a source (in the core: an export writes the catalogue too).
fn model<'a>(s: &'a Source, built_at: &'a str) -> Breach<'a> {
    Breach::of(s, built_at)
}

fn status(code: StatusCode, msg: &'static str) -> Response {
    crate::access::status(code, msg)
}

/// Query parameters are case-insensitive at HIBP (`IncludeUnverified`, `includeUnverified`).
fn param<'q>(q: &'q BTreeMap<String, String>, name: &str) -> Option<&'q str> {
    q.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

pub(crate) async fn breached_account(
    State(shared): State<Arc<Shared>>,
    Path(account): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    peer: Option<axum::Extension<crate::access::ClientAddr>>,
    headers: HeaderMap,
) -> Response {
    let keys = &shared.config.keys;
    let peer = peer.map_or(std::net::IpAddr::from([0u8, 0, 0, 0]), |p| p.0 .0);
    // Wrong keys count against the client address, and past its budget even a right key is
    // answered 429: keys cannot be guessed at speed.
    let key = match crate::access::identify(&shared, &headers, peer, true) {
        Ok(crate::access::Caller::Key(k)) => k,
        Ok(crate::access::Caller::Anonymous) => {
            return status(StatusCode::UNAUTHORIZED, crate::access::UNAUTHORIZED);
        }
        Err(r) => return r.response(),
    };
    if headers.get(header::USER_AGENT).is_none_or(|v| v.is_empty()) {
        return status(StatusCode::FORBIDDEN, "Requests must carry a user-agent header.");
    }
    if let Err(wait) = shared.limiter.take(key, keys.per_minute) {
        return crate::access::too_many(wait);
    }
    if let Some(r) = shared.refuse_modified(Kind::Email) {
        return r;
    }
    let Some(l) = shared.current(Kind::Email) else {
        return status(StatusCode::NOT_FOUND, "This server holds no email index.");
    };
    if let Some(r) = shared.refuse(Kind::Email, &l) {
        return r;
    }
    let hit = l.index.lookup_email(account.trim());
    // After the read: a truncation or rewrite during it answers 503, not what was read.
    if let Some(r) = shared.refuse(Kind::Email, &l) {
        return r;
    }
    let hit = match hit {
        Ok(h) => h,
        Err(leakdex_core::Error::InvalidEmail(_)) => {
            return status(StatusCode::BAD_REQUEST, "The account is not a valid email address.")
        }
        Err(e) => return crate::internal(e),
    };
    let Some(hit) = hit else { return StatusCode::NOT_FOUND.into_response() };
    let sources = l.index.sources();
    let domain = param(&q, "domain").map(str::to_ascii_lowercase);
    let built_at = l.index.meta().built_at.as_str();
    let matched: Vec<&Source> = hit
        .sources
        .iter()
        .filter_map(|id| sources.get(id as usize))
        .filter(|s| domain.as_deref().is_none_or(|d| s.domain.as_deref().is_some_and(|sd| sd.eq_ignore_ascii_case(d))))
        .collect();
    if matched.is_empty() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let truncate = param(&q, "truncateResponse").is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    if truncate {
        let names: Vec<serde_json::Value> = matched.iter().map(|s| serde_json::json!({ "Name": s.name })).collect();
        Json(names).into_response()
    } else {
        Json(matched.iter().map(|s| model(s, built_at)).collect::<Vec<_>>()).into_response()
    }
}

pub(crate) async fn breaches(State(shared): State<Arc<Shared>>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    if let Some(r) = shared.refuse_modified(Kind::Email) {
        return r;
    }
    let Some(l) = shared.current(Kind::Email) else { return Json(Vec::<()>::new()).into_response() };
    let built_at = l.index.meta().built_at.as_str();
    let domain = param(&q, "domain").map(str::to_ascii_lowercase);
    let list: Vec<Breach<'_>> = l
        .index
        .sources()
        .iter()
        .filter(|s| domain.as_deref().is_none_or(|d| s.domain.as_deref().is_some_and(|sd| sd.eq_ignore_ascii_case(d))))
        .map(|s| model(s, built_at))
        .collect();
    Json(list).into_response()
}

pub(crate) async fn breach(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    if let Some(r) = shared.refuse_modified(Kind::Email) {
        return r;
    }
    let Some(l) = shared.current(Kind::Email) else { return StatusCode::NOT_FOUND.into_response() };
    let built_at = l.index.meta().built_at.as_str();
    match l.index.sources().iter().find(|s| s.name.eq_ignore_ascii_case(&name)) {
        Some(s) => Json(model(s, built_at)).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(crate) async fn data_classes(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(r) = shared.refuse_modified(Kind::Email) {
        return r;
    }
    let Some(l) = shared.current(Kind::Email) else { return Json(Vec::<()>::new()).into_response() };
    let classes: BTreeSet<&str> =
        l.index.sources().iter().flat_map(|s| s.data_classes.iter().map(String::as_str)).collect();
    Json(classes).into_response()
}

pub(crate) use Limiter as RateLimiter;
