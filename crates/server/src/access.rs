//! Who may ask the range routes and the breach API: API keys (compared in constant time),
//! rate limits per key and per client address, and a throttle on failed key attempts.
//!
//! - A route's [`KeyPolicy`] says whether it needs a key. Email ranges answer the same
//!   question as `/api/v3/breachedaccount` (who is exposed, where), so when keys are configured
//!   they need one by default, as HIBP's email range API does; password ranges need none by
//!   default, as HIBP's Pwned Passwords.
//! - Requests with a valid key count against that key's per-minute limit; requests without a
//!   key (where none is needed) count against their client address's limit.
//! - Every wrong key counts against the client address's failure budget; once it is spent,
//!   every key-checked request from that address answers 429 with `Retry-After`, whatever key
//!   it carries, so keys cannot be guessed at speed (and a right guess is not told by a 200).
//! - Client addresses are those of the TCP peer: behind a reverse proxy every client shares
//!   the proxy's address (forwarded headers are not trusted). IPv6 clients are limited by
//!   their /64.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use subtle::ConstantTimeEq;

/// Whether a route needs an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    /// A valid `hibp-api-key` is needed (401 without one).
    Required,
    /// Requests without a key are answered within the per-address limit; a wrong key is 401.
    Optional,
    /// Keys are not looked at; every request counts against its address's limit.
    Off,
}

impl std::fmt::Display for KeyPolicy {
    /// The words of `--range-keys`: `required`, `optional` or `off`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyPolicy::Required => "required",
            KeyPolicy::Optional => "optional",
            KeyPolicy::Off => "off",
        })
    }
}

/// Keys needed and limits of the range routes, and the failed-key throttle of every route that
/// checks keys.
#[derive(Debug, Clone, Copy)]
pub struct RangeAccess {
    /// Email ranges; `None`: [`KeyPolicy::Required`] when keys are configured, else off.
    pub email: Option<KeyPolicy>,
    /// Password and NTLM ranges.
    pub password: KeyPolicy,
    /// Range requests per minute per valid key (0: unlimited).
    pub per_key_per_minute: u32,
    /// Range requests per minute per client address without a valid key (0: unlimited).
    pub per_address_per_minute: u32,
    /// Wrong keys per minute per client address before 429 (0: unlimited).
    pub key_failures_per_minute: u32,
}

impl Default for RangeAccess {
    fn default() -> RangeAccess {
        RangeAccess {
            email: None,
            password: KeyPolicy::Off,
            per_key_per_minute: DEFAULT_RANGE_PER_KEY,
            per_address_per_minute: 0,
            key_failures_per_minute: DEFAULT_KEY_FAILURES,
        }
    }
}

/// Default range requests per minute per key: a bulk check of thousands of people at the
/// client's 8 requests at once stays well inside it.
pub const DEFAULT_RANGE_PER_KEY: u32 = 6000;
/// Default wrong keys per minute per client address.
pub const DEFAULT_KEY_FAILURES: u32 = 10;

impl RangeAccess {
    /// The policy of email ranges, given whether keys are configured.
    pub fn email_policy(&self, have_keys: bool) -> KeyPolicy {
        self.email.unwrap_or(if have_keys { KeyPolicy::Required } else { KeyPolicy::Off })
    }
}

/// Whether `presented` is one of `keys`. Every key is compared, by SHA-256 digest (equal
/// lengths), in constant time: neither the time nor an early exit tells how much of a guess
/// was right, or how long a key is.
pub(crate) fn key_matches(keys: &BTreeSet<String>, presented: &str) -> bool {
    let want = ring::digest::digest(&ring::digest::SHA256, presented.as_bytes());
    let mut ok = subtle::Choice::from(0);
    for k in keys {
        let have = ring::digest::digest(&ring::digest::SHA256, k.as_bytes());
        ok |= have.as_ref().ct_eq(want.as_ref());
    }
    ok.into()
}

/// Token buckets by name (a key, or a client address), refilled at a per-minute rate.
#[derive(Default)]
pub(crate) struct Buckets {
    /// The buckets, and when idle ones were last dropped.
    buckets: Mutex<(Table, Option<Instant>)>,
}

/// Tokens left and when they were last counted, by name.
type Table = HashMap<String, (f64, Instant)>;

/// Buckets kept before idle ones are dropped: an idle bucket for a minute is full again, so
/// dropping it changes nothing; the cap only bounds memory under many addresses. The sweep
/// runs at most once a second, so a flood of new addresses cannot make every request pay it.
const MAX_BUCKETS: usize = 65_536;

impl Buckets {
    /// Takes one token from `name`; on refusal, the seconds until one is free.
    pub(crate) fn take(&self, name: &str, per_minute: u32) -> Result<(), u64> {
        self.update(name, per_minute, true)
    }

    /// Whether `name` has a token left, without taking it; on refusal, the seconds to wait.
    pub(crate) fn check(&self, name: &str, per_minute: u32) -> Result<(), u64> {
        self.update(name, per_minute, false)
    }

    fn update(&self, name: &str, per_minute: u32, take: bool) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        let rate = f64::from(per_minute) / 60.0;
        let cap = f64::from(per_minute);
        let mut guard = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (b, swept) = &mut *guard;
        let now = Instant::now();
        if b.len() >= MAX_BUCKETS && swept.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1)) {
            b.retain(|_, (_, last)| now.duration_since(*last) < Duration::from_secs(60));
            *swept = Some(now);
        }
        let (tokens, last) = b.entry(name.to_string()).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(cap);
        *last = now;
        if *tokens >= 1.0 {
            if take {
                *tokens -= 1.0;
            }
            Ok(())
        } else {
            // Rounded up: a client that waits the advertised time finds a token.
            Err((((1.0 - *tokens) / rate).ceil() as u64).max(1))
        }
    }
}

/// The client address of a request, a request extension: [`crate::serve`] sets it from the
/// TCP peer; a program that embeds [`crate::app`] behind its own listener should insert it
/// too, or every request shares one unspecified address for the per-address limits.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// HIBP's JSON error body.
pub(crate) fn status(code: StatusCode, msg: &str) -> Response {
    use axum::response::IntoResponse;
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        axum::Json(serde_json::json!({ "statusCode": code.as_u16(), "message": msg })),
    )
        .into_response()
}

/// 429 with `Retry-After`.
pub(crate) fn too_many(wait: u64) -> Response {
    let mut r = status(StatusCode::TOO_MANY_REQUESTS, "Rate limit is exceeded.");
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The message of a 401 (what to do next; no key is ever echoed).
pub(crate) const UNAUTHORIZED: &str = "Access denied due to missing or invalid hibp-api-key. Clients of leakdex pass it with LEAKDEX_API_KEY or --api-key-file.";

/// The address a client is limited as: IPv4 addresses alone, IPv6 addresses by their /64
/// (one host is usually given a whole /64, and would otherwise get 2^64 budgets).
fn limited_as(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refusal {
    /// 401: no key where one is needed, or a wrong one.
    Unauthorized,
    /// 429: over a limit, with the seconds to wait.
    TooMany(u64),
}

impl Refusal {
    /// The answer: HIBP's JSON body, and `Retry-After` with a 429.
    pub(crate) fn response(self) -> Response {
        match self {
            Refusal::Unauthorized => status(StatusCode::UNAUTHORIZED, UNAUTHORIZED),
            Refusal::TooMany(wait) => too_many(wait),
        }
    }
}

/// What a key check found.
pub(crate) enum Caller<'h> {
    /// A valid key.
    Key(&'h str),
    /// No key.
    Anonymous,
}

/// The key check shared by the routes that look at keys: 429 while the address's failure
/// budget is spent, 401 for a wrong key (counted) or a missing one (when `required`).
pub(crate) fn identify<'h>(
    shared: &crate::Shared,
    headers: &'h HeaderMap,
    peer: IpAddr,
    required: bool,
) -> Result<Caller<'h>, Refusal> {
    let access = &shared.config.range_access;
    let budget = format!("fail:{}", limited_as(peer));
    if let Err(wait) = shared.buckets.check(&budget, access.key_failures_per_minute) {
        return Err(Refusal::TooMany(wait));
    }
    let presented = headers.get("hibp-api-key").map(|v| v.to_str().map(str::trim).unwrap_or(""));
    match presented {
        None if required => Err(Refusal::Unauthorized),
        None => Ok(Caller::Anonymous),
        Some(k) if !k.is_empty() && key_matches(&shared.config.keys.keys, k) => Ok(Caller::Key(k)),
        Some(_) => {
            let _ = shared.buckets.take(&budget, access.key_failures_per_minute);
            Err(Refusal::Unauthorized)
        }
    }
}

/// Admission to a range route under `policy`: keys checked as the policy says, then the
/// per-key or per-address limit.
pub(crate) fn admit_range(
    shared: &crate::Shared,
    headers: &HeaderMap,
    peer: Option<ClientAddr>,
    policy: KeyPolicy,
) -> Result<(), Refusal> {
    let access = &shared.config.range_access;
    let peer = peer.map_or(IpAddr::from([0u8, 0, 0, 0]), |p| p.0);
    let caller = match policy {
        KeyPolicy::Off => Caller::Anonymous,
        KeyPolicy::Optional => identify(shared, headers, peer, false)?,
        KeyPolicy::Required => identify(shared, headers, peer, true)?,
    };
    let limited = match caller {
        Caller::Key(k) => shared.buckets.take(&format!("range-key:{k}"), access.per_key_per_minute),
        Caller::Anonymous => {
            shared.buckets.take(&format!("range-addr:{}", limited_as(peer)), access.per_address_per_minute)
        }
    };
    limited.map_err(Refusal::TooMany)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_configured_key_matches() {
        let keys: BTreeSet<String> = ["7c0ffee7".to_string(), "a-much-longer-key-0123456789".to_string()].into();
        assert!(key_matches(&keys, "7c0ffee7"));
        assert!(key_matches(&keys, "a-much-longer-key-0123456789"));
        for wrong in
            ["7c0ffee", "7c0ffee70", "7C0FFEE7", "", "a-much-longer-key", "7c0ffee7a-much-longer-key-0123456789"]
        {
            assert!(!key_matches(&keys, wrong), "{wrong:?}");
        }
        assert!(!key_matches(&BTreeSet::new(), ""));
    }

    #[test]
    fn ipv6_clients_share_one_budget_per_64_and_ipv4_clients_have_their_own() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limited_as(a), limited_as(b));
        assert_ne!(limited_as(a), limited_as(c));
        assert_eq!(limited_as(a), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(limited_as(v4), v4);
    }

    #[test]
    fn a_bucket_refuses_past_its_rate_and_says_how_long_to_wait() {
        let b = Buckets::default();
        for _ in 0..3 {
            assert!(b.take("k", 3).is_ok());
        }
        // 3 a minute: one token every 20 s.
        let wait = b.take("k", 3).unwrap_err();
        assert!((19..=20).contains(&wait), "{wait}");
        assert!(b.check("k", 3).is_err());
        assert!(b.take("other", 3).is_ok());
        assert!(b.take("k", 0).is_ok(), "0 is no limit");
    }
}
