//! `POST /api/v1/check`: one call answering an email and a password for a sign-up form, for
//! internal tools that may hold a full hash. **Not k-anonymous**: the client sends the whole
//! SHA-1, which names the address (a SHA-1 of an address is reversed by dictionary) or the
//! password to whoever reads the request. Off unless [`crate::Config::enable_check_api`]
//! (`serve --enable-check-api`); then 404 like any unknown route.
//!
//! - Request: `Content-Type: application/json` (else 415: a cross-origin page cannot send it
//!   without a preflight), a body of at most [`MAX_CHECK_BODY`] bytes (else 413), a JSON
//!   object `{"email_sha1": "<40 hex>", "password_sha1": "<40 hex>"}`, either or both: the SHA-1
//!   of the normalized address (`leakdex_core::email_key`) and of the password's bytes, never
//!   the plaintext. Anything else is 400 with `{"error": ..., "field": ...}`, `field` naming
//!   `email_sha1` or `password_sha1` when one of them is wrong and `null` otherwise: an unknown
//!   field (such as `password`) is refused, and neither its name nor its value is read back.
//! - Response: 200, `{"email": {"exposed", "count", "sources"}, "password": {...}}` (`null`
//!   for a field not asked), padded with JSON white space to one length for the loaded indexes
//!   whatever the answer: the length of an answer naming every source of each index with a
//!   20-digit count. Never compressed, no `ETag`, `Cache-Control: no-store`.
//! - The same key policy and rate limits as the range routes (the strictest policy among the
//!   kinds served), the same `Host` check; CORS only for `--cors-origin` origins (`POST`,
//!   `Content-Type`, `hibp-api-key`). The access log names the route and status class only;
//!   nothing of the request body is logged.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use leakdex_core::{parse_key, Kind};
use serde_json::{json, Value};

use crate::access::{self, KeyPolicy};
use crate::{Shared, Uncompressed};

/// The route.
pub const ROUTE: &str = "/api/v1/check";
/// Largest request body, in bytes: two 40-digit hashes and their names take about 120.
pub const MAX_CHECK_BODY: usize = 1024;
/// Digits a count is padded for: the largest `u64`.
const COUNT_DIGITS: usize = 20;
/// The request's fields and the index kind each is looked up in.
const FIELDS: [(&str, &str, Kind); 2] =
    [("email_sha1", "email", Kind::Email), ("password_sha1", "password", Kind::Password)];

/// A 4xx answer: `{"error": message, "field": field}`.
fn refuse(status: StatusCode, message: &str, field: Option<&str>) -> Response {
    let body = json!({ "error": message, "field": field }).to_string();
    let mut r = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The key policy of the route: the strictest of the kinds served.
fn policy(shared: &Shared) -> KeyPolicy {
    let access = &shared.config.range_access;
    let rank = |p: KeyPolicy| match p {
        KeyPolicy::Off => 0,
        KeyPolicy::Optional => 1,
        KeyPolicy::Required => 2,
    };
    let mut policies = Vec::new();
    if shared.current(Kind::Email).is_some() {
        policies.push(access.email_policy(!shared.config.keys.keys.is_empty()));
    }
    if shared.current(Kind::Password).is_some() {
        policies.push(access.password);
    }
    policies.into_iter().max_by_key(|p| rank(*p)).unwrap_or(KeyPolicy::Off)
}

/// One field of the answer.
fn answer(exposed: bool, count: u64, sources: Vec<&str>) -> Value {
    json!({ "exposed": exposed, "count": count, "sources": sources })
}

pub(crate) async fn check(
    State(shared): State<Arc<Shared>>,
    peer: Option<axum::Extension<access::ClientAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) = access::admit_range(&shared, &headers, peer.map(|p| p.0), policy(&shared)) {
        return r.response();
    }
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send Content-Type: application/json", None);
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_CHECK_BODY).await else {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is over {MAX_CHECK_BODY} bytes (or was not received whole)"),
            None,
        );
    };
    // The parser's message names a line and column, never the content.
    let parsed: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("the body is not JSON ({e})"), None),
    };
    let Some(object) = parsed.as_object() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object with email_sha1 and/or password_sha1",
            None,
        );
    };
    // An unknown field's name is never shown back, whatever it looks like: a password sent as
    // a key (`{"Summer2024": 1}`) is as secret as one sent as a value.
    if object.keys().any(|k| !FIELDS.iter().any(|(f, _, _)| f == k)) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the body has an unknown field (its name is not shown back): send only email_sha1 and password_sha1 (hex SHA-1 of the normalized address and of the password, never the plaintext)",
            None,
        );
    }
    let mut keys = Vec::new();
    for (field, _, kind) in FIELDS {
        let Some(v) = object.get(field) else { continue };
        let key = v.as_str().filter(|s| s.len() == 40).and_then(parse_key);
        let Some(key) = key else {
            return refuse(StatusCode::BAD_REQUEST, "must be a string of 40 hex digits (a SHA-1)", Some(field));
        };
        if shared.current(kind).is_none() {
            return refuse(StatusCode::NOT_FOUND, &format!("this server holds no {kind} index"), Some(field));
        }
        keys.push((field, kind, key));
    }
    if keys.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "give email_sha1, password_sha1 or both", None);
    }
    let mut out = serde_json::Map::new();
    out.insert("email".into(), Value::Null);
    out.insert("password".into(), Value::Null);
    // The padded length: every field answered with every source of its index and the longest
    // count, whatever was asked.
    let mut widest = serde_json::Map::new();
    for (_, name, kind) in FIELDS {
        let Some(l) = shared.current(kind) else {
            widest.insert(name.into(), Value::Null);
            continue;
        };
        let all: Vec<&str> = l.index.sources().iter().map(|s| s.name.as_str()).collect();
        widest.insert(name.into(), answer(false, 0, all));
    }
    // `false` and a one-digit count: the longest count adds COUNT_DIGITS - 1 per field.
    let target = Value::Object(widest).to_string().len() + 2 * (COUNT_DIGITS - 1);
    for (_, kind, key) in keys {
        let Some(l) = shared.current(kind) else { continue };
        if let Some(r) = shared.refuse(kind, &l) {
            return r;
        }
        let found = l.index.lookup_hash(&key);
        if let Some(r) = shared.refuse(kind, &l) {
            return r;
        }
        let value = match found {
            Ok(Some(hit)) => {
                let sources = l.index.sources();
                let names = hit.sources.iter().filter_map(|id| sources.get(id as usize)).map(|s| s.name.as_str());
                answer(true, hit.count, names.collect())
            }
            Ok(None) => answer(false, 0, Vec::new()),
            Err(e) => return crate::internal(e),
        };
        let name = FIELDS.iter().find(|(_, _, k)| *k == kind).map_or("", |(_, n, _)| n);
        out.insert(name.into(), value);
    }
    let mut body = Value::Object(out).to_string();
    match target.checked_sub(body.len()) {
        // JSON white space before the closing `}`: the same object to every parser.
        Some(missing) => body.insert_str(body.len() - 1, &" ".repeat(missing)),
        None => {
            crate::log::log(&format!("BUG: a check answer is {} bytes, over its padded length {target}", body.len()))
        }
    }
    let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.extensions_mut().insert(Uncompressed);
    r
}
