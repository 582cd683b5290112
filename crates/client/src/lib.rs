//! leakdex-client: ask a k-anonymity range API whether passwords or email addresses are
//! exposed, sending only short hash prefixes and matching the returned suffixes locally.
//!
//! It speaks the Have I Been Pwned Pwned Passwords range API (`GET /range/{5 hex}`, `SUFFIX:COUNT`
//! lines, count-0 padding lines ignored) and the Monitor-style email range search
//! (`GET /range/search/{6 hex}`, JSON), as served by `leakdex serve`, by a static export of
//! `leakdex export-ranges` behind nginx, or by the real Pwned Passwords API.
//!
//! A wrong URL is an error, never "not found": before its first answer of a kind the client
//! checks that the URL is a range API of that kind ([`RangeClient::validate`]), and a password
//! range that does not answer 200 is an error. Email range search may answer 404 for "no
//! results", which is trusted only after that check.
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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use leakdex_core::{hex, Key, Kind};

/// Prefix length of password ranges, in hex digits.
pub const PASSWORD_PREFIX_LEN: usize = 5;
/// Prefix length of email ranges, in hex digits.
pub const EMAIL_PREFIX_LEN: usize = 6;
/// What a range API answers, with status 400, to a malformed prefix (as HIBP does).
pub const BAD_PREFIX: &str = "The hash prefix was not in a valid format";
/// The malformed password prefix sent to check that a URL is a range API: right length, not hex.
const PROBE_PASSWORD: &str = "ZZZZZ";
/// The malformed email prefix of the same check.
const PROBE_EMAIL: &str = "ZZZZZZ";
/// What every "not a range API" message ends with.
const HINT: &str = "check the --api URL and --kind";

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
    /// The server needs an API key for this route (401) and none was sent, or it refused the
    /// one sent. The key itself is never shown.
    #[error("the range API at {base} answered 401 on {route}: it needs an API key{}; put the key in LEAKDEX_API_KEY or in a file given with --api-key-file", if *sent { " and refused the one sent" } else { "" })]
    KeyNeeded {
        /// Base URL.
        base: String,
        /// Route template.
        route: &'static str,
        /// Whether a key was sent.
        sent: bool,
    },
    /// The URL is not a range API of the asked kind (a wrong path, a web server answering 404
    /// or an HTML page for everything, a server holding another kind of index), or an answer is
    /// not a range response. Never read as "not found".
    #[error("{base} does not look like {} range API: {reason}; {HINT}", kind_words(*kind))]
    NotRangeApi {
        /// Base URL.
        base: String,
        /// The kind of range asked for.
        kind: Kind,
        /// Route template.
        route: &'static str,
        /// What it answered (status, content type) and why that is not a range API.
        reason: String,
    },
}

/// 64 random bits from the operating system (`getrandom`). It fails only where the OS has no
/// random source, which no supported platform lacks.
fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).expect("the operating system's random number generator is unavailable");
    u64::from_le_bytes(b)
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

/// "an email", "a password (SHA-1)", "an NTLM".
fn kind_words(kind: Kind) -> &'static str {
    match kind {
        Kind::Email => "an email",
        Kind::Password => "a password (SHA-1)",
        Kind::Ntlm => "an NTLM password",
    }
}

/// One answer: status, content type and body.
struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

impl Answer {
    /// `404 (text/html)`: how an answer is named in errors.
    fn shown(&self) -> String {
        let ct = if self.content_type.is_empty() { "no content type" } else { self.content_type.as_str() };
        format!("{} ({ct})", self.status)
    }
}

/// A client for range APIs.
///
/// Before its first answer of a kind, the client checks that the URL is a range API of that
/// kind ([`RangeClient::validate`]): a wrong URL is an error, never a list of "not found".
#[derive(Debug, Clone)]
pub struct RangeClient {
    base: String,
    /// `base` with any password in it replaced, for messages.
    shown: String,
    validated: Arc<Mutex<BTreeSet<&'static str>>>,
    http: reqwest::Client,
    concurrency: usize,
    retries: u32,
    padding: bool,
    pad_requests_to: usize,
    unverified: bool,
    /// Sent as `hibp-api-key` with every range request; never shown.
    api_key: Option<String>,
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
        let shown = redact(&base);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::BadUrl { url: shown });
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("leakdex/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| Error::BadUrl { url: shown.clone() })?;
        Ok(RangeClient {
            base,
            shown,
            validated: Arc::default(),
            http,
            concurrency: 8,
            retries: 4,
            padding: true,
            pad_requests_to: 0,
            unverified: false,
            api_key: None,
        })
    }

    /// The base URL as shown in messages: any password in it replaced by `***`.
    pub fn shown_base(&self) -> &str {
        &self.shown
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

    /// Accepts a range API that has no `manifest.json` (an HIBP-compatible server other than
    /// leakdex and the Pwned Passwords API) on the strength of its malformed-prefix answer
    /// alone. Off by default: a web server whose export root is wrong gives that answer too,
    /// and then every range would read as empty.
    pub fn unverified(mut self, yes: bool) -> RangeClient {
        self.unverified = yes;
        self
    }

    /// Sends `key` as `hibp-api-key` with every range request (servers that need a key for
    /// their ranges, as `leakdex serve --api-keys` does for email ranges). It never appears in
    /// messages.
    pub fn api_key(mut self, key: Option<String>) -> RangeClient {
        self.api_key = key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty());
        self
    }

    /// GET with retries of 429, 5xx and transport errors; any other answer is returned.
    async fn get(&self, route: &'static str, url: String) -> Result<Answer, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.http.get(&url);
            if self.padding {
                req = req.header("Add-Padding", "true");
            }
            if let Some(key) = &self.api_key {
                req = req.header("hibp-api-key", key);
            }
            // reqwest's message names the URL, which holds the prefix: never shown.
            let failed = |e: reqwest::Error| Error::Transport {
                base: self.shown.clone(),
                route,
                attempts: attempt,
                source: e.without_url(),
            };
            let wait = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    if status.as_u16() == 401 {
                        return Err(Error::KeyNeeded { base: self.shown.clone(), route, sent: self.api_key.is_some() });
                    }
                    let retryable = status.as_u16() == 429 || status.is_server_error();
                    if !retryable {
                        let content_type = resp
                            .headers()
                            .get(reqwest::header::CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        match resp.text().await {
                            Ok(body) => return Ok(Answer { status: status.as_u16(), content_type, body }),
                            Err(e) if attempt > self.retries => return Err(failed(e)),
                            Err(_) => backoff(attempt),
                        }
                    } else if attempt > self.retries {
                        return Err(Error::Status { base: self.shown.clone(), route, status: status.as_u16() });
                    } else {
                        resp.headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .map(|s| Duration::from_secs(s.min(60)))
                            .unwrap_or_else(|| backoff(attempt))
                    }
                }
                Err(e) if attempt > self.retries => return Err(failed(e)),
                Err(_) => backoff(attempt),
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn not_range_api(&self, kind: Kind, route: &'static str, reason: String) -> Error {
        Error::NotRangeApi { base: self.shown.clone(), kind, route, reason }
    }

    /// Checks that the URL is a range API of `kind`, once per client and kind:
    ///
    /// - a static export's `manifest.json`, when the server has one, must name `kind`;
    /// - a malformed prefix must get the API's 400 answer ([`BAD_PREFIX`]). A wrong path, a web
    ///   server answering 404 or a page for everything, and a `leakdex serve` without an index
    ///   of that kind (it answers 404 before judging the prefix) all fail here.
    ///
    /// Errors name the base URL and what it answered, never a prefix.
    pub async fn validate(&self, kind: Kind) -> Result<(), Error> {
        let tag = kind.as_str();
        if self.validated.lock().unwrap_or_else(|e| e.into_inner()).contains(tag) {
            return Ok(());
        }
        self.check_manifest(kind).await?;
        let (route, url) = match kind {
            Kind::Email => ("/range/search/{prefix}", format!("{}/range/search/{PROBE_EMAIL}", self.base)),
            Kind::Password => ("/range/{prefix}", format!("{}/range/{PROBE_PASSWORD}", self.base)),
            Kind::Ntlm => ("/range/{prefix}?mode=ntlm", format!("{}/range/{PROBE_PASSWORD}?mode=ntlm", self.base)),
        };
        let a = self.get(route, url).await?;
        let is_bad_prefix = a.body.to_ascii_lowercase().contains(&BAD_PREFIX.to_ascii_lowercase());
        if a.status != 400 || !is_bad_prefix {
            // A short plain-text answer says what is there ("this server holds no email
            // index"); it can only echo the probe's malformed prefix, never a real one.
            let first = a.body.lines().next().unwrap_or("").trim();
            let said = if a.content_type.starts_with("text/plain") && !first.is_empty() && first.len() <= 100 {
                format!(" saying {first:?}")
            } else {
                String::new()
            };
            return Err(self.not_range_api(
                kind,
                route,
                format!("GET {route} with a malformed prefix answered {}{said}, not 400 \"{BAD_PREFIX}\"", a.shown()),
            ));
        }
        self.validated.lock().unwrap_or_else(|e| e.into_inner()).insert(tag);
        Ok(())
    }

    /// `leakdex serve` (`ranges`: a list) and a static export of `leakdex export-ranges`
    /// (`kind`, `prefix_len`) describe what they answer in `manifest.json`; the asked kind must
    /// be among them. Without a manifest a web server over a wrong or empty export root passes
    /// the malformed-prefix probe and answers every range as empty, so a server without one is
    /// accepted only when it is the Pwned Passwords API itself (password kinds) or when the
    /// caller asked for [`RangeClient::unverified`].
    async fn check_manifest(&self, kind: Kind) -> Result<(), Error> {
        const ROUTE: &str = "/manifest.json";
        let want = match kind {
            Kind::Email => EMAIL_PREFIX_LEN,
            Kind::Password | Kind::Ntlm => PASSWORD_PREFIX_LEN,
        } as u64;
        let manifest = match self.http.get(format!("{}{ROUTE}", self.base)).send().await {
            // Unreachable: the probe that follows says so.
            Err(_) => return Ok(()),
            Ok(resp) if resp.status().is_success() => {
                resp.text().await.ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            }
            Ok(_) => None,
        };
        let described: Vec<(String, u64)> = match &manifest {
            Some(m) if m["ranges"].is_array() => m["ranges"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| Some((r["kind"].as_str()?.to_string(), r["prefix_len"].as_u64()?)))
                .collect(),
            Some(m) => match (m["kind"].as_str(), m["prefix_len"].as_u64()) {
                (Some(k), Some(len)) => vec![(k.to_string(), len)],
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        if described.iter().any(|(k, len)| k == kind.as_str() && *len == want) {
            return Ok(());
        }
        if !described.is_empty() {
            // Escaped: the server's text must not break the one-line message.
            let what: Vec<String> =
                described.iter().map(|(k, l)| format!("{} ranges with {l}-digit prefixes", k.escape_debug())).collect();
            return Err(self.not_range_api(kind, ROUTE, format!("its manifest.json describes {}", what.join(" and "))));
        }
        let official = kind != Kind::Email && self.base.trim_end_matches('/') == "https://api.pwnedpasswords.com";
        if official || self.unverified {
            return Ok(());
        }
        Err(self.not_range_api(
            kind,
            ROUTE,
            "it has no manifest.json naming its ranges, as leakdex serve and export-ranges directories do (a web server over a wrong or empty export root would answer every range as empty); if it is another HIBP-compatible range API, pass --api-unverified".into(),
        ))
    }

    /// The breach dates of the server's breach catalogue (`GET /api/v3/breaches`, HIBP's
    /// breach model: `Name`, `BreachDate`), by breach name; `None` when the server offers no
    /// catalogue (a static export without one, a password-only API).
    pub async fn breach_dates(&self) -> Result<Option<BTreeMap<String, String>>, Error> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Breach {
            name: String,
            #[serde(default)]
            breach_date: Option<String>,
        }
        let a = match self.get("/api/v3/breaches", format!("{}/api/v3/breaches", self.base)).await {
            Ok(a) => a,
            Err(Error::Status { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if a.status != 200 {
            return Ok(None);
        }
        let Ok(list) = serde_json::from_str::<Vec<Breach>>(&a.body) else { return Ok(None) };
        Ok(Some(
            list.into_iter().filter_map(|b| Some((b.name, b.breach_date.filter(|d| !d.trim().is_empty())?))).collect(),
        ))
    }

    /// Fetches every prefix's range, `concurrency` at a time. The first prefix that fails after
    /// its retries ends the batch (the requests in flight are dropped): a dead or hostile server
    /// costs one prefix's retries, not every prefix's.
    async fn fetch_all(
        &self,
        route: &'static str,
        prefixes: Vec<String>,
        url: impl Fn(&str) -> String,
    ) -> Result<Vec<(String, Answer)>, Error> {
        let mut answers = stream::iter(prefixes)
            .map(|p| {
                let u = url(&p);
                async move { Ok::<_, Error>((p, self.get(route, u).await?)) }
            })
            .buffer_unordered(self.concurrency);
        let mut out = Vec::new();
        while let Some(answer) = answers.next().await {
            out.push(answer?);
        }
        Ok(out)
    }

    /// The distinct prefixes of `keys`, plus dummies when padding the request count, in random
    /// order. Dummies and the order come from the operating system's CSPRNG: a server that logs
    /// request times cannot recompute them (a clock-seeded generator could be), nor tell real
    /// prefixes from dummies by their place in the sequence.
    fn prefixes(&self, keys: &[Key], len: usize) -> Vec<String> {
        let mut set: BTreeSet<String> = keys.iter().map(|k| hex(k)[..len].to_string()).collect();
        let real = set.len();
        if self.pad_requests_to > 0 {
            let target = real.div_ceil(self.pad_requests_to).max(1) * self.pad_requests_to;
            let space = 16u64.pow(len as u32);
            while set.len() < target.min(space as usize) {
                set.insert(format!("{:0len$X}", random_u64() % space));
            }
        }
        let mut out: Vec<String> = set.into_iter().collect();
        // Fisher-Yates with the OS's randomness (the modulo bias of 64-bit draws is negligible).
        for i in (1..out.len()).rev() {
            out.swap(i, (random_u64() % (i as u64 + 1)) as usize);
        }
        out
    }

    /// Counts for password keys (SHA-1 of the password bytes): 0 when not found.
    pub async fn password_counts(&self, keys: &[Key]) -> Result<Vec<u64>, Error> {
        self.password_counts_in(Kind::Password, keys).await
    }

    /// Counts for password keys of `kind`: SHA-1 ([`Kind::Password`]) or NTLM ([`Kind::Ntlm`],
    /// asked with `?mode=ntlm`, keys from [`leakdex_core::ntlm_key`]).
    pub async fn password_counts_in(&self, kind: Kind, keys: &[Key]) -> Result<Vec<u64>, Error> {
        const ROUTE: &str = "/range/{prefix}";
        self.validate(kind).await?;
        let digits = kind.hex_len();
        let query = if kind == Kind::Ntlm { "?mode=ntlm" } else { "" };
        let prefixes = self.prefixes(keys, PASSWORD_PREFIX_LEN);
        let bodies = self.fetch_all(ROUTE, prefixes, |p| format!("{}/range/{p}{query}", self.base)).await?;
        let mut found: BTreeMap<String, u64> = BTreeMap::new();
        for (prefix, answer) in bodies {
            // Every password prefix exists (HIBP answers all 16^5 with 200): a 404 or any other
            // answer is a wrong URL, never "not found".
            if answer.status != 200 {
                return Err(self.not_range_api(
                    kind,
                    ROUTE,
                    format!("a password range answered {}, and every password range answers 200", answer.shown()),
                ));
            }
            for line in answer.body.split('\n') {
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
                    return Err(self.not_range_api(
                        kind,
                        ROUTE,
                        format!(
                            "a password range answered 200 ({}) with a line that is not SUFFIX:COUNT ({} hex digits)",
                            if answer.content_type.is_empty() { "no content type" } else { &answer.content_type },
                            digits - PASSWORD_PREFIX_LEN
                        ),
                    ));
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
        self.validate(Kind::Email).await?;
        let prefixes = self.prefixes(keys, EMAIL_PREFIX_LEN);
        let bodies = self.fetch_all(ROUTE, prefixes, |p| format!("{}/range/search/{p}", self.base)).await?;
        let mut found: BTreeMap<String, EmailHit> = BTreeMap::new();
        for (prefix, answer) in bodies {
            // 404 is "no results" (Monitor, nginx over an export): trusted only because the URL
            // was validated above.
            if answer.status == 404 {
                continue;
            }
            if answer.status != 200 {
                return Err(self.not_range_api(
                    Kind::Email,
                    ROUTE,
                    format!("an email range answered {}, not 200 or 404", answer.shown()),
                ));
            }
            let entries: Vec<EmailEntry> = serde_json::from_str(&answer.body).map_err(|e| {
                self.not_range_api(
                    Kind::Email,
                    ROUTE,
                    format!(
                        "an email range answered {} with a body that is not a JSON list of hashSuffix entries ({e})",
                        answer.shown()
                    ),
                )
            })?;
            for e in entries {
                if e.hash_suffix.len() != 40 - EMAIL_PREFIX_LEN || !e.hash_suffix.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(self.not_range_api(
                        Kind::Email,
                        ROUTE,
                        format!(
                            "an email range holds a hashSuffix of {} characters, not {} hex digits",
                            e.hash_suffix.len(),
                            40 - EMAIL_PREFIX_LEN
                        ),
                    ));
                }
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

/// `base` with the password of any `user:password@` replaced by `***`, for messages.
fn redact(base: &str) -> String {
    match reqwest::Url::parse(base) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string().trim_end_matches('/').to_string()
        }
        _ => base.to_string(),
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << attempt.min(8)))
}
