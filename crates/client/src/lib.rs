//! leakdex-client: ask a k-anonymity range API whether passwords or email addresses are
//! exposed, sending only short hash prefixes and matching the returned suffixes locally.
//!
//! It speaks the Have I Been Pwned Pwned Passwords range API (`GET /range/{5 hex}`, `SUFFIX:COUNT`
//! lines, count-0 padding lines ignored) and the Monitor-style email range search
//! (`GET /range/search/{6 hex}`, JSON), as served by `leakdex serve`, by a static export of
//! `leakdex export-ranges` behind nginx, or by the real Pwned Passwords API.
//!
//! ```no_run
//! # async fn run() -> Result<(), leakdex_client::Error> {
//! let client = leakdex_client::RangeClient::new("http://127.0.0.1:8080")?;
//! let key = leakdex_core::password_key(b"P@ssw0rd");
//! let counts = client.password_counts(&[key]).await?;
//! println!("seen {} times", counts[0]);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use leakdex_core::{hex, Key, Kind};

/// Prefix length of password ranges, in hex digits.
pub const PASSWORD_PREFIX_LEN: usize = 5;
/// Prefix length of email ranges, in hex digits.
pub const EMAIL_PREFIX_LEN: usize = 6;

/// What can go wrong. Messages name the server and the route, never a prefix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The base URL is not an http(s) URL.
    #[error("{url:?} is not an http:// or https:// URL")]
    BadUrl {
        /// What was given.
        url: String,
    },
    /// The server could not be reached, or did not answer in time, after every retry.
    #[error("cannot reach the range API at {base} ({route}) after {attempts} attempts")]
    Transport {
        /// Base URL.
        base: String,
        /// Route template.
        route: &'static str,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an unexpected status after every retry.
    #[error("the range API at {base} answered {status} on {route}")]
    Status {
        /// Base URL.
        base: String,
        /// Route template.
        route: &'static str,
        /// HTTP status.
        status: u16,
    },
    /// The answer is not a range response: probably not a range API at that URL.
    #[error("{base} does not look like a range API ({route}): {reason}; check the --api URL")]
    NotRangeApi {
        /// Base URL.
        base: String,
        /// Route template.
        route: &'static str,
        /// What was wrong with the body.
        reason: String,
    },
}

/// An email found in a range: its sources and, when the server gives it, its count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailHit {
    /// Source (breach) names.
    pub sources: Vec<String>,
    /// Occurrences (leakdex servers send it; Monitor-style servers may not: then the number of
    /// sources).
    pub count: u64,
}

/// A client for range APIs.
#[derive(Debug, Clone)]
pub struct RangeClient {
    base: String,
    http: reqwest::Client,
    concurrency: usize,
    retries: u32,
    padding: bool,
    pad_requests_to: usize,
}

#[derive(serde::Deserialize)]
struct EmailEntry {
    #[serde(rename = "hashSuffix")]
    hash_suffix: String,
    #[serde(default)]
    websites: Vec<String>,
    #[serde(default)]
    count: Option<u64>,
}

impl RangeClient {
    /// A client for the API at `base` (e.g. `http://127.0.0.1:8080`), with 8 requests at once,
    /// 4 retries, a 15 s timeout and padding requested.
    pub fn new(base: &str) -> Result<RangeClient, Error> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::BadUrl { url: base });
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("leakdex/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| Error::BadUrl { url: base.clone() })?;
        Ok(RangeClient { base, http, concurrency: 8, retries: 4, padding: true, pad_requests_to: 0 })
    }

    /// Requests in flight at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> RangeClient {
        self.concurrency = n.max(1);
        self
    }
    /// Retries after a 429, a 5xx or a transport error.
    pub fn retries(mut self, n: u32) -> RangeClient {
        self.retries = n;
        self
    }
    /// Whether to send `Add-Padding: true` (default yes).
    pub fn padding(mut self, yes: bool) -> RangeClient {
        self.padding = yes;
        self
    }
    /// Sends random dummy prefixes too, so that the number of requests is a multiple of `n`
    /// and does not reveal how many distinct prefixes (people) were checked. 0: off.
    pub fn pad_requests_to(mut self, n: usize) -> RangeClient {
        self.pad_requests_to = n;
        self
    }

    /// GET with retries. `Ok(None)` for 404.
    async fn get(&self, route: &'static str, url: String) -> Result<Option<String>, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.http.get(&url);
            if self.padding {
                req = req.header("Add-Padding", "true");
            }
            let wait = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        return match resp.text().await {
                            Ok(t) => Ok(Some(t)),
                            Err(e) if attempt > self.retries => {
                                return Err(Error::Transport {
                                    base: self.base.clone(),
                                    route,
                                    attempts: attempt,
                                    source: e,
                                })
                            }
                            Err(_) => {
                                tokio::time::sleep(backoff(attempt)).await;
                                continue;
                            }
                        };
                    }
                    if status.as_u16() == 404 {
                        return Ok(None);
                    }
                    let retryable = status.as_u16() == 429 || status.is_server_error();
                    if !retryable || attempt > self.retries {
                        return Err(Error::Status { base: self.base.clone(), route, status: status.as_u16() });
                    }
                    resp.headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s.min(60)))
                        .unwrap_or_else(|| backoff(attempt))
                }
                Err(e) => {
                    if attempt > self.retries {
                        return Err(Error::Transport { base: self.base.clone(), route, attempts: attempt, source: e });
                    }
                    backoff(attempt)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Fetches every prefix's range, `concurrency` at a time: `(prefix, body)`, `None` for 404.
    async fn fetch_all(
        &self,
        route: &'static str,
        prefixes: Vec<String>,
        url: impl Fn(&str) -> String,
    ) -> Vec<Result<(String, Option<String>), Error>> {
        stream::iter(prefixes)
            .map(|p| {
                let u = url(&p);
                async move { Ok((p, self.get(route, u).await?)) }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await
    }

    /// The distinct prefixes of `keys`, plus dummies when padding the request count.
    fn prefixes(&self, keys: &[Key], len: usize) -> Vec<String> {
        let mut set: BTreeSet<String> = keys.iter().map(|k| hex(k)[..len].to_string()).collect();
        let real = set.len();
        if self.pad_requests_to > 0 {
            let target = real.div_ceil(self.pad_requests_to).max(1) * self.pad_requests_to;
            let mut seed =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos());
            while set.len() < target.min(16usize.pow(len as u32)) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let dummy = leakdex_core::password_key(&seed.to_le_bytes());
                set.insert(hex(&dummy)[..len].to_string());
            }
        }
        // Order carries nothing: BTreeSet order is the hex order of real and dummy alike.
        set.into_iter().collect()
    }

    /// Counts for password keys (SHA-1 of the password bytes): 0 when not found.
    pub async fn password_counts(&self, keys: &[Key]) -> Result<Vec<u64>, Error> {
        self.password_counts_in(Kind::Password, keys).await
    }

    /// Counts for password keys of `kind`: SHA-1 ([`Kind::Password`]) or NTLM ([`Kind::Ntlm`],
    /// asked with `?mode=ntlm`, keys from [`leakdex_core::ntlm_key`]).
    pub async fn password_counts_in(&self, kind: Kind, keys: &[Key]) -> Result<Vec<u64>, Error> {
        const ROUTE: &str = "/range/{prefix}";
        let digits = kind.hex_len();
        let query = if kind == Kind::Ntlm { "?mode=ntlm" } else { "" };
        let prefixes = self.prefixes(keys, PASSWORD_PREFIX_LEN);
        let bodies = self.fetch_all(ROUTE, prefixes, |p| format!("{}/range/{p}{query}", self.base)).await;
        let mut found: BTreeMap<String, u64> = BTreeMap::new();
        for r in bodies {
            let (prefix, body) = r?;
            for line in body.unwrap_or_default().split('\n') {
                let line = line.trim_end_matches('\r');
                if line.is_empty() {
                    continue;
                }
                let parsed = line.split_once(':').and_then(|(s, c)| {
                    (s.len() == digits - PASSWORD_PREFIX_LEN && s.bytes().all(|b| b.is_ascii_hexdigit()))
                        .then_some(())
                        .and(c.trim().parse::<u64>().ok().map(|c| (s, c)))
                });
                let Some((suffix, count)) = parsed else {
                    return Err(Error::NotRangeApi {
                        base: self.base.clone(),
                        route: ROUTE,
                        reason: "a line is not SUFFIX:COUNT".into(),
                    });
                };
                if count > 0 {
                    found.insert(format!("{prefix}{}", suffix.to_ascii_uppercase()), count);
                }
            }
        }
        Ok(keys.iter().map(|k| found.get(&hex(k)[..digits]).copied().unwrap_or(0)).collect())
    }

    /// Sources of email keys (SHA-1 of the normalized address): `None` when not found.
    pub async fn email_hits(&self, keys: &[Key]) -> Result<Vec<Option<EmailHit>>, Error> {
        const ROUTE: &str = "/range/search/{prefix}";
        let prefixes = self.prefixes(keys, EMAIL_PREFIX_LEN);
        let bodies = self.fetch_all(ROUTE, prefixes, |p| format!("{}/range/search/{p}", self.base)).await;
        let mut found: BTreeMap<String, EmailHit> = BTreeMap::new();
        for r in bodies {
            let (prefix, body) = r?;
            let Some(body) = body else { continue };
            let entries: Vec<EmailEntry> = serde_json::from_str(&body).map_err(|e| Error::NotRangeApi {
                base: self.base.clone(),
                route: ROUTE,
                reason: format!("the body is not a JSON list of hashSuffix entries ({e})"),
            })?;
            for e in entries {
                if e.websites.is_empty() || e.count == Some(0) {
                    continue; // padding
                }
                let count = e.count.unwrap_or(e.websites.len() as u64);
                found.insert(
                    format!("{prefix}{}", e.hash_suffix.to_ascii_uppercase()),
                    EmailHit { sources: e.websites, count },
                );
            }
        }
        Ok(keys.iter().map(|k| found.get(&hex(k)).cloned()).collect())
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << attempt.min(8)))
}
