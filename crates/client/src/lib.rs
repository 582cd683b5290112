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
use std::time::{Duration, Instant, SystemTime};

use futures::stream::{self, StreamExt};
use leakdex_core::range::{self as protocol, EmailBodyError};
pub use leakdex_core::range::{BAD_PREFIX, EMAIL_PREFIX_LEN, PASSWORD_PREFIX_LEN};
use leakdex_core::{hex, Key, Kind};

/// The malformed password prefix sent to check that a URL is a range API: right length, not hex.
const PROBE_PASSWORD: &str = "ZZZZZ";
/// The malformed email prefix of the same check.
const PROBE_EMAIL: &str = "ZZZZZZ";
/// What every "not a range API" message ends with.
const HINT: &str = "check the --api URL and --kind";

/// Most bytes read from one response body, counted on the wire and again after
/// decompression (and a declared `Content-Length` above it is refused before reading). A
/// range answer is small: Pwned Passwords
/// answers about 1,000 lines of 40 bytes, 800-1,000 more with padding, and an email bucket of a
/// billion-address index holds about 60 entries; 8 MiB is a hundred times that. A hostile or
/// broken server sending more (a 2 GiB body, a gzip bomb) ends the run instead of filling memory.
pub const MAX_BODY_BYTES: usize = 8 << 20;
/// Most bytes of source (breach) names kept for the asked email addresses over a whole run
/// (each name counted with 16 bytes of overhead). A real answer keeps a few dozen bytes per
/// exposed address (a person is in a handful of breaches; HIBP lists under a thousand in all),
/// so 10,000 exposed staff in 20 breaches each stay under 8 MiB; a hostile server naming
/// megabytes of sources for every address ends the run instead of filling memory.
pub const MAX_KEPT_SOURCE_BYTES: usize = 32 << 20;
/// Default limit on one request, from connecting to the last byte of the body (`--api-timeout`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default limit on a whole run: every request, retry and wait (`--api-deadline`).
pub const DEFAULT_RUN_DEADLINE: Duration = Duration::from_secs(600);
/// Most time one client spends waiting on `Retry-After` in all. A server that keeps asking for
/// more (an endless 429) ends the run instead of stalling it for hours.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(120);

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
    /// The base URL has a query (`?...`) or a fragment (`#...`): a range API has none, and the
    /// range path would be appended inside it. Only what comes before is shown (a query often
    /// holds a token).
    #[error("the --api URL {url} has a query (?...) or fragment (#...), which a range API has none of (the range path would be appended inside it); give the base URL only, e.g. https://host/path, and an API key in LEAKDEX_API_KEY or --api-key-file")]
    QueryInUrl {
        /// What was given, its query, fragment and password left out.
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
    /// A response body was larger than [`MAX_BODY_BYTES`] (declared, read, or decompressed):
    /// not a range answer.
    #[error("the range API at {base} sent more than {limit} bytes on {route}{} (a range answer is a few hundred KiB at most); the answer was refused: check the --api URL", if *.decompressed { " once decompressed" } else { "" })]
    TooLarge {
        /// Base URL.
        base: String,
        /// Route template.
        route: &'static str,
        /// The limit, in bytes.
        limit: usize,
        /// The limit was passed in decompressing (a compression bomb).
        decompressed: bool,
    },
    /// The answers named more source (breach) names for the asked addresses than
    /// [`MAX_KEPT_SOURCE_BYTES`] in all: not a real range API.
    #[error("the range API at {base} named more than {limit} bytes of sources for the asked addresses on {route} (real answers name a few dozen bytes per address); the run was stopped: check the --api URL")]
    TooManySources {
        /// Base URL.
        base: String,
        /// Route template.
        route: &'static str,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body was compressed in a way that was not asked for, or does not decompress.
    #[error("the range API at {base} answered {route} with a body {reason}; check the --api URL")]
    Encoding {
        /// Base URL.
        base: String,
        /// Route template.
        route: &'static str,
        /// What is wrong with it (the `Content-Encoding` named, or the decoder's error).
        reason: String,
    },
    /// The server answered with a redirect. None is followed: the request, with its prefix,
    /// would go to whatever the server names.
    #[error("the range API at {base} redirected {route} to {to}; leakdex follows no redirects (the hash prefix would go wherever the server says): if you trust the new address, give it as --api")]
    Redirected {
        /// Base URL.
        base: String,
        /// Route template.
        route: &'static str,
        /// Where it pointed: the scheme, host and port only (the path may hold the prefix).
        to: String,
    },
    /// One request (connecting, headers and the whole body) took longer than the request
    /// timeout.
    #[error("the range API at {base} did not answer {route} within {secs} s (--api-timeout); nothing was reported for the rows it holds")]
    Timeout {
        /// Base URL.
        base: String,
        /// Route template.
        route: &'static str,
        /// The timeout, in seconds.
        secs: u64,
    },
    /// The whole run took longer than its deadline.
    #[error("the run against the range API at {base} did not finish within {secs} s (--api-deadline) at {route}; nothing was reported for the rows not answered")]
    Deadline {
        /// Base URL.
        base: String,
        /// Route template of the request that was due.
        route: &'static str,
        /// The deadline, in seconds from the start of the run.
        secs: u64,
    },
    /// The server asked to wait (`Retry-After`) longer than the time left for waiting.
    #[error("the range API at {base} answered {status} on {route} asking to wait {asked} s (Retry-After), more than the {left} s left for waiting in this run; try again later")]
    RetryAfter {
        /// Base URL.
        base: String,
        /// Route template.
        route: &'static str,
        /// HTTP status (429 or 5xx).
        status: u16,
        /// Seconds asked for, rounded up.
        asked: u64,
        /// Seconds left (the run's deadline, or [`MAX_RETRY_WAIT`] in all).
        left: u64,
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
    request_timeout: Duration,
    /// When the run must be over, and its length (for messages).
    deadline: (Instant, Duration),
    /// Waiting on `Retry-After` so far, shared by the requests in flight.
    retry_waited: Arc<Mutex<Waits>>,
    /// Sent as `hibp-api-key` with every range request; never shown.
    api_key: Option<String>,
}

/// Time spent waiting on `Retry-After`: the wall time during which at least one request
/// waited (8 requests waiting the same second count one second), and when the latest wait ends.
#[derive(Debug, Default)]
struct Waits {
    total: Duration,
    until: Option<Instant>,
}

/// How one attempt at a request ended.
enum Attempt {
    /// A final answer (any status but 429 and 5xx), its body read whole.
    Answer(Answer),
    /// 429 or 5xx: retry, after `Retry-After` when given.
    Retry { status: u16, retry_after: Option<Duration> },
    /// A transport error (connection refused or reset, a broken body): retry.
    Transport(reqwest::Error),
}

impl RangeClient {
    /// A client for the API at `base` (e.g. `http://127.0.0.1:8080`), with 8 requests at once,
    /// 4 retries, padding requested, a [`DEFAULT_REQUEST_TIMEOUT`] per request and a
    /// [`DEFAULT_RUN_DEADLINE`] from now for the whole run.
    ///
    /// It follows no redirects and sends no `Referer`: only the request for a prefix, to the
    /// server named, ever leaves the machine.
    pub fn new(base: &str) -> Result<RangeClient, Error> {
        let base = base.trim_end_matches('/').to_string();
        let shown = redact(&base);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::BadUrl { url: shown });
        }
        // A range API has no query or fragment: `/range/{prefix}` appended to `http://h/?t=x`
        // would land inside the query, and the query (often a token) would be shown in errors.
        if let Ok(u) = reqwest::Url::parse(&base) {
            if u.query().is_some() || u.fragment().is_some() {
                return Err(Error::QueryInUrl { url: shown });
            }
        } else if base.contains(['?', '#']) {
            return Err(Error::QueryInUrl { url: shown });
        }
        // No redirects at all (not even to the same origin): a range API has no reason to
        // redirect (leakdex serve, nginx over an export and Pwned Passwords answer directly),
        // and a redirect elsewhere would carry the prefix to a server the user never named. The
        // error names where it pointed, so a moved API is one --api change away.
        //
        // Bodies are decompressed here, not by reqwest, so that both the bytes on the wire and
        // the bytes they decompress to are counted against MAX_BODY_BYTES.
        let http = reqwest::Client::builder()
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .no_zstd()
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
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
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            deadline: (later(Instant::now(), DEFAULT_RUN_DEADLINE), DEFAULT_RUN_DEADLINE),
            retry_waited: Arc::default(),
            api_key: None,
        })
    }

    /// The longest one request may take, from connecting to the body's last byte (at least
    /// 1 ms). A request that takes longer ends the run with [`Error::Timeout`]; it is not
    /// retried, so a server trickling bytes costs one timeout, not one per retry.
    pub fn request_timeout(mut self, d: Duration) -> RangeClient {
        self.request_timeout = d.max(Duration::from_millis(1));
        self
    }

    /// The longest the whole run may take from now: every request, retry and wait. Past it,
    /// the request due ends with [`Error::Deadline`].
    pub fn run_deadline(mut self, d: Duration) -> RangeClient {
        self.deadline = (later(Instant::now(), d), d);
        self
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

    /// GET with retries of 429, 5xx and transport errors; any other answer is returned. Each
    /// attempt is bounded by the request timeout and the run's deadline, each wait by the
    /// deadline and the Retry-After budget ([`MAX_RETRY_WAIT`]).
    async fn get(&self, route: &'static str, url: String) -> Result<Answer, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let wait = match self.attempt(route, &url).await? {
                Attempt::Answer(a) => return Ok(a),
                Attempt::Transport(e) if attempt > self.retries => {
                    // reqwest's message names the URL, which holds the prefix: never shown.
                    return Err(Error::Transport {
                        base: self.shown.clone(),
                        route,
                        attempts: attempt,
                        source: e.without_url(),
                    });
                }
                Attempt::Transport(_) => backoff(attempt),
                Attempt::Retry { status, .. } if attempt > self.retries => {
                    return Err(Error::Status { base: self.shown.clone(), route, status });
                }
                Attempt::Retry { status, retry_after: Some(asked) } => self.reserve_wait(route, status, asked)?,
                Attempt::Retry { retry_after: None, .. } => backoff(attempt),
            };
            if Instant::now().checked_add(wait).is_none_or(|end| end > self.deadline.0) {
                return Err(self.deadline_passed(route));
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt at a GET, bounded by the request timeout and the run's deadline, its body
    /// by [`MAX_BODY_BYTES`]. Errors are final (no retry): a redirect, a body too large, a
    /// timeout, the deadline.
    async fn attempt(&self, route: &'static str, url: &str) -> Result<Attempt, Error> {
        let left = self.deadline.0.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.deadline_passed(route));
        }
        let limit = self.request_timeout.min(left);
        match tokio::time::timeout(limit, self.attempt_unbounded(route, url)).await {
            Ok(r) => r,
            Err(_) if limit < self.request_timeout => Err(self.deadline_passed(route)),
            Err(_) => Err(Error::Timeout {
                base: self.shown.clone(),
                route,
                secs: self.request_timeout.as_secs_f64().ceil() as u64,
            }),
        }
    }

    async fn attempt_unbounded(&self, route: &'static str, url: &str) -> Result<Attempt, Error> {
        let mut req = self.http.get(url).header(reqwest::header::ACCEPT_ENCODING, ACCEPT_ENCODING);
        if self.padding {
            req = req.header("Add-Padding", "true");
        }
        if let Some(key) = &self.api_key {
            req = req.header("hibp-api-key", key);
        }
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Ok(Attempt::Transport(e)),
        };
        let status = resp.status();
        if status.as_u16() == 401 {
            return Err(Error::KeyNeeded { base: self.shown.clone(), route, sent: self.api_key.is_some() });
        }
        if status.is_redirection() {
            // Only the origin: the target's path may repeat the prefix.
            let to = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| resp.url().join(l).ok())
                .map(|u| origin(&u))
                .unwrap_or_else(|| "an address it did not give".into());
            return Err(Error::Redirected { base: self.shown.clone(), route, to });
        }
        if status.as_u16() == 429 || status.is_server_error() {
            let retry_after =
                resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(retry_after);
            return Ok(Attempt::Retry { status: status.as_u16(), retry_after });
        }
        let too_large =
            |decompressed| Error::TooLarge { base: self.shown.clone(), route, limit: MAX_BODY_BYTES, decompressed };
        if resp.content_length().is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(too_large(false));
        }
        let header = |name| resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").trim().to_string();
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let encoding = header(reqwest::header::CONTENT_ENCODING).to_ascii_lowercase();
        let encoding_error = |e: Decompress| match e {
            Decompress::TooLarge => too_large(true),
            Decompress::Unasked => Error::Encoding {
                base: self.shown.clone(),
                route,
                // `to_str` above admits visible ASCII only; Debug quotes it.
                reason: format!("in Content-Encoding {encoding:?}, which was not asked for"),
            },
            Decompress::Broken(e) => Error::Encoding {
                base: self.shown.clone(),
                route,
                reason: format!("that does not decompress as its Content-Encoding {encoding} says ({e})"),
            },
        };
        // Read as a stream, stopping at the limit: never the whole body in memory first. A
        // compressed body is also decompressed as it comes, into a counter only, so that a bomb
        // stops after the few KiB that inflate to the limit, not after 8 MiB of it.
        let mut meter = Meter::new(&encoding).map_err(encoding_error)?;
        // The declared length (within the cap, checked above) is reserved at once: no copies
        // in growing, and no more than the body needs.
        let mut body = Vec::with_capacity(resp.content_length().unwrap_or(0) as usize);
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(too_large(false));
                    }
                    meter.feed(&chunk).map_err(encoding_error)?;
                    push_bounded(&mut body, &chunk);
                }
                Ok(None) => break,
                Err(e) => return Ok(Attempt::Transport(e)),
            }
        }
        // Decompressed for real by a reader, which also refuses a truncated stream.
        let body = decompress(&encoding, body).map_err(encoding_error)?;
        let body = match String::from_utf8(body) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Ok(Attempt::Answer(Answer { status: status.as_u16(), content_type, body }))
    }

    /// Takes `asked` from the Retry-After budget, or says why the run cannot wait that long.
    /// The wait is never shorter than asked.
    fn reserve_wait(&self, route: &'static str, status: u16, asked: Duration) -> Result<Duration, Error> {
        let now = Instant::now();
        let mut waits = self.retry_waited.lock().unwrap_or_else(|e| e.into_inner());
        // The part of this wait that no other request's wait already covers.
        let from = waits.until.map_or(now, |u| u.max(now));
        let budget = MAX_RETRY_WAIT.saturating_sub(waits.total);
        let before_deadline = self.deadline.0.saturating_duration_since(now);
        // A wait past what an Instant can hold (`Retry-After: 18446744073709551615`, `1e300`)
        // is past the deadline too: checked, never `now + asked`, which would panic.
        let end = now.checked_add(asked).filter(|_| asked <= before_deadline);
        let extra = end.map(|end| end.saturating_duration_since(from));
        let (Some(end), Some(extra)) = (end, extra.filter(|x| *x <= budget)) else {
            return Err(Error::RetryAfter {
                base: self.shown.clone(),
                route,
                status,
                asked: asked.as_secs_f64().ceil() as u64,
                left: budget.min(before_deadline).as_secs(),
            });
        };
        waits.total += extra;
        waits.until = Some(from.max(end));
        Ok(asked)
    }

    fn deadline_passed(&self, route: &'static str) -> Error {
        Error::Deadline { base: self.shown.clone(), route, secs: self.deadline.1.as_secs_f64().ceil() as u64 }
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
        let want = protocol::prefix_len(kind) as u64;
        let manifest = match self.attempt(ROUTE, &format!("{}{ROUTE}", self.base)).await? {
            // Unreachable: the probe that follows says so.
            Attempt::Transport(_) => return Ok(()),
            Attempt::Answer(a) if (200..300).contains(&a.status) => {
                serde_json::from_str::<serde_json::Value>(&a.body).ok()
            }
            Attempt::Answer(_) | Attempt::Retry { .. } => None,
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

    /// Fetches every prefix's range, `concurrency` at a time, handing each answer to `handle`
    /// as it arrives and dropping it there: `handle` keeps only what the asked keys need, so
    /// at most `concurrency` bodies ([`MAX_BODY_BYTES`] each) are in memory at once, whatever
    /// the number of prefixes (keeping every body until the last one arrived took a run of 400
    /// addresses against a hostile server to 3 GB). The first prefix that fails after its
    /// retries, or that `handle` refuses, ends the batch (the requests in flight are dropped):
    /// a dead or hostile server costs one prefix's retries, not every prefix's.
    async fn fetch_all(
        &self,
        route: &'static str,
        prefixes: Vec<String>,
        url: impl Fn(&str) -> String,
        mut handle: impl FnMut(&str, Answer) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut answers = stream::iter(prefixes)
            .map(|p| {
                let u = url(&p);
                async move { Ok::<_, Error>((p, self.get(route, u).await?)) }
            })
            .buffer_unordered(self.concurrency);
        while let Some(answer) = answers.next().await {
            let (prefix, answer) = answer?;
            handle(&prefix, answer)?;
        }
        Ok(())
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
        // Only the asked keys' counts are kept: one number per key, whatever the server sends.
        let asked: BTreeSet<String> = keys.iter().map(|k| hex(k)[..digits].to_string()).collect();
        let mut found: BTreeMap<String, u64> = BTreeMap::new();
        let mut full = String::with_capacity(digits);
        let url = |p: &str| format!("{}/range/{p}{query}", self.base);
        self.fetch_all(ROUTE, prefixes, url, |prefix, answer| {
            // Every password prefix exists (HIBP answers all 16^5 with 200): a 404 or any other
            // answer is a wrong URL, never "not found".
            if answer.status != 200 {
                return Err(self.not_range_api(
                    kind,
                    ROUTE,
                    format!("a password range answered {}, and every password range answers 200", answer.shown()),
                ));
            }
            for line in protocol::password_lines(&answer.body, digits - PASSWORD_PREFIX_LEN) {
                let Ok((suffix, count)) = line else {
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
                    full.clear();
                    full.push_str(prefix);
                    full.extend(suffix.chars().map(|c| c.to_ascii_uppercase()));
                    if asked.contains(&full) {
                        found.insert(full.clone(), count);
                    }
                }
            }
            Ok(())
        })
        .await?;
        Ok(keys.iter().map(|k| found.get(&hex(k)[..digits]).copied().unwrap_or(0)).collect())
    }

    /// Sources of email keys (SHA-1 of the normalized address): `None` when not found.
    pub async fn email_hits(&self, keys: &[Key]) -> Result<Vec<Option<EmailHit>>, Error> {
        const ROUTE: &str = "/range/search/{prefix}";
        self.validate(Kind::Email).await?;
        let prefixes = self.prefixes(keys, EMAIL_PREFIX_LEN);
        // Only the asked keys' entries are kept, and their source names within
        // MAX_KEPT_SOURCE_BYTES over the run.
        let asked: BTreeSet<String> = keys.iter().map(|k| hex(k)).collect();
        let mut found: BTreeMap<String, EmailHit> = BTreeMap::new();
        let mut kept = 0usize;
        let mut full = String::with_capacity(40);
        let url = |p: &str| format!("{}/range/search/{p}", self.base);
        self.fetch_all(ROUTE, prefixes, url, |prefix, answer| {
            // 404 is "no results" (Monitor, nginx over an export): trusted only because the URL
            // was validated above.
            if answer.status == 404 {
                return Ok(());
            }
            if answer.status != 200 {
                return Err(self.not_range_api(
                    Kind::Email,
                    ROUTE,
                    format!("an email range answered {}, not 200 or 404", answer.shown()),
                ));
            }
            let suffix_len = protocol::suffix_len(Kind::Email, EMAIL_PREFIX_LEN);
            let each = |e: protocol::EmailEntryIn<'_>| {
                if e.is_padding() {
                    return Ok(());
                }
                full.clear();
                full.push_str(prefix);
                full.extend(e.hash_suffix.chars().map(|c| c.to_ascii_uppercase()));
                if !asked.contains(&full) {
                    return Ok(());
                }
                let size = |h: &EmailHit| h.sources.iter().map(|s| s.len() + 16).sum::<usize>();
                let count = e.count.unwrap_or(e.websites.len() as u64);
                let hit = EmailHit { sources: e.websites, count };
                kept += size(&hit);
                if let Some(old) = found.insert(full.clone(), hit) {
                    kept -= size(&old);
                }
                if kept > MAX_KEPT_SOURCE_BYTES {
                    return Err(Error::TooManySources {
                        base: self.shown.clone(),
                        route: ROUTE,
                        limit: MAX_KEPT_SOURCE_BYTES,
                    });
                }
                Ok(())
            };
            protocol::for_each_email_entry(&answer.body, suffix_len, each).map_err(|e| match e {
                EmailBodyError::Stopped(e) => e,
                EmailBodyError::BadSuffix(len) => self.not_range_api(
                    Kind::Email,
                    ROUTE,
                    format!("an email range holds a hashSuffix of {len} characters, not {suffix_len} hex digits"),
                ),
                EmailBodyError::NotJson(e) => self.not_range_api(
                    Kind::Email,
                    ROUTE,
                    format!(
                        "an email range answered {} with a body that is not a JSON list of hashSuffix entries ({e})",
                        answer.shown()
                    ),
                ),
            })
        })
        .await?;
        Ok(keys.iter().map(|k| found.get(&hex(k)).cloned()).collect())
    }
}

/// `base` with the password of any `user:password@` replaced by `***`, for messages.
/// Its query and fragment are left out too (such a URL is refused, and the query may hold a
/// token).
fn redact(base: &str) -> String {
    match reqwest::Url::parse(base) {
        Ok(mut u)
            if u.password().is_some() || !u.username().is_empty() || u.query().is_some() || u.fragment().is_some() =>
        {
            // A user name alone may be a token (`https://TOKEN@host`): hidden like a password.
            if !u.username().is_empty() {
                let _ = u.set_username("***");
            }
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.set_query(None);
            u.set_fragment(None);
            u.to_string().trim_end_matches('/').to_string()
        }
        Ok(_) => base.to_string(),
        // Unparsable: cut at the first `?` or `#` all the same, and hide whatever precedes an
        // `@` in the authority (a user name or password).
        Err(_) => {
            let cut = base.split(['?', '#']).next().unwrap_or("");
            let (scheme, rest) = cut.split_once("://").unwrap_or(("", cut));
            let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
            let authority = match authority.rsplit_once('@') {
                Some((_, host)) => format!("***@{host}"),
                None => authority.to_string(),
            };
            let scheme = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
            format!("{scheme}{authority}{}", path.map(|p| format!("/{p}")).unwrap_or_default())
        }
    }
}

/// The encodings the client asks for (and decompresses itself, within [`MAX_BODY_BYTES`]).
const ACCEPT_ENCODING: &str = "gzip, br";

/// Why a body could not be decompressed.
enum Decompress {
    /// It decompresses to more than [`MAX_BODY_BYTES`].
    TooLarge,
    /// A `Content-Encoding` other than those of [`ACCEPT_ENCODING`].
    Unasked,
    /// The decoder failed.
    Broken(std::io::Error),
}

/// Bytes a decoder writes, counted and dropped; an error past [`MAX_BODY_BYTES`].
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len();
        if self.0 > MAX_BODY_BYTES {
            return Err(std::io::Error::other("past the limit"));
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Decompresses a body as it arrives, only to count what it inflates to.
enum Meter {
    Plain,
    Gzip(Box<flate2::write::MultiGzDecoder<Counter>>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<Counter>>),
}

impl Meter {
    fn new(encoding: &str) -> Result<Meter, Decompress> {
        Ok(match encoding {
            "" | "identity" => Meter::Plain,
            "gzip" | "x-gzip" => Meter::Gzip(Box::new(flate2::write::MultiGzDecoder::new(Counter(0)))),
            "br" => Meter::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(Counter(0), 64 << 10))),
            _ => return Err(Decompress::Unasked),
        })
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), Decompress> {
        use std::io::Write;
        let (result, counted) = match self {
            Meter::Plain => return Ok(()),
            Meter::Gzip(d) => (d.write_all(chunk), d.get_ref().0),
            Meter::Brotli(d) => (d.write_all(chunk), d.get_ref().0),
        };
        match result {
            Ok(()) => Ok(()),
            Err(_) if counted > MAX_BODY_BYTES => Err(Decompress::TooLarge),
            Err(e) => Err(Decompress::Broken(e)),
        }
    }
}

/// `body` decompressed as `encoding` (lowercase) says, stopping one byte past
/// [`MAX_BODY_BYTES`]: a 10 MB gzip bomb costs 8 MiB, not 10 GB.
fn decompress(encoding: &str, body: Vec<u8>) -> Result<Vec<u8>, Decompress> {
    use std::io::Read;
    let reader: Box<dyn Read + '_> = match encoding {
        "" | "identity" => return Ok(body),
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
        "br" => Box::new(brotli_decompressor::Decompressor::new(&body[..], 64 << 10)),
        _ => return Err(Decompress::Unasked),
    };
    let mut reader = reader;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Decompress::Broken(e)),
        };
        if out.len() + n > MAX_BODY_BYTES {
            return Err(Decompress::TooLarge);
        }
        push_bounded(&mut out, &buf[..n]);
    }
}

/// Appends `data` to `v` (which the caller keeps within [`MAX_BODY_BYTES`]), doubling its
/// capacity as `Vec` does but never past [`MAX_BODY_BYTES`]: a body just under the cap costs
/// 8 MiB, not the 16 MiB that plain doubling would reserve (times the requests in flight).
fn push_bounded(v: &mut Vec<u8>, data: &[u8]) {
    let need = v.len() + data.len();
    if need > v.capacity() {
        let target = v.capacity().saturating_mul(2).max(need).max(64 << 10).min(MAX_BODY_BYTES.max(need));
        v.reserve_exact(target - v.len());
    }
    v.extend_from_slice(data);
}

/// `scheme://host:port` of `u`: how a redirect's target is named in errors.
fn origin(u: &reqwest::Url) -> String {
    let host = u.host_str().unwrap_or("");
    match u.port_or_known_default() {
        Some(port) => format!("{}://{host}:{port}", u.scheme()),
        None => format!("{}://{host}", u.scheme()),
    }
}

/// A `Retry-After` value as a wait: seconds (fractions rounded up, never down) or an HTTP date
/// (the time until then; a date already past is no wait). `None` when it is neither.
fn retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs(secs.ceil().min(u64::MAX as f64) as u64));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    // HTTP dates have whole seconds: waiting until the date itself is at least what was asked.
    Some(at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// `now + d`, or a century from now when `d` is past what an [`Instant`] can hold (an
/// `--api-deadline` of 10^19 s): never the panic of `Instant + Duration` on overflow.
fn later(now: Instant, d: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    now.checked_add(d).or_else(|| now.checked_add(CENTURY)).unwrap_or(now)
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << attempt.min(8)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_show_no_user_name_password_query_or_fragment() {
        for (url, shown) in [
            ("http://s3cret@127.0.0.1:1/", "http://***@127.0.0.1:1"),
            ("http://user:s3cret@127.0.0.1:1/api", "http://***:***@127.0.0.1:1/api"),
            ("https://h.example/api?tok=s3cret#frag", "https://h.example/api"),
            ("http://user:s3cret@[::1", "http://***@[::1"),
            ("http://s3cret@bad host/x?y", "http://***@bad host/x"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
            assert!(!redact(url).contains("s3cret"), "{url}");
        }
    }

    #[test]
    fn retry_after_seconds_are_never_rounded_down() {
        assert_eq!(retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(" 120 "), Some(Duration::from_secs(120)));
        // Not the RFC's form, but seen: a fraction waits the whole next second.
        assert_eq!(retry_after("1.2"), Some(Duration::from_secs(2)));
        assert_eq!(retry_after("0.001"), Some(Duration::from_secs(1)));
        assert_eq!(retry_after("soon"), None);
        assert_eq!(retry_after("-3"), None);
        assert_eq!(retry_after("NaN"), None);
    }

    #[test]
    fn retry_after_http_dates_wait_until_the_date() {
        // "Wed, 21 Oct 2015 07:28:00 GMT" is long past: no wait.
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let ahead = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(90));
        let wait = retry_after(&ahead).unwrap();
        // Whole seconds in the date: between 89 and 90 s from now.
        assert!(wait > Duration::from_secs(88) && wait <= Duration::from_secs(90), "{wait:?}");
    }

    #[test]
    fn concurrent_retry_after_waits_count_once_against_the_budget() {
        let c = RangeClient::new("http://127.0.0.1:9").unwrap().run_deadline(Duration::from_secs(1000));
        // Eight requests in flight, each told to wait 100 s: 100 s of wall time, not 800.
        for _ in 0..8 {
            assert_eq!(c.reserve_wait("/r", 429, Duration::from_secs(100)).ok(), Some(Duration::from_secs(100)));
        }
        assert!(c.retry_waited.lock().unwrap().total < Duration::from_secs(101));
        // 20 s of the budget are left: a wait ending 30 s after the others is refused.
        assert!(matches!(
            c.reserve_wait("/r", 429, Duration::from_secs(130)),
            Err(Error::RetryAfter { asked: 130, left: 19..=20, .. })
        ));
        // Past the run's deadline too.
        let c = RangeClient::new("http://127.0.0.1:9").unwrap().run_deadline(Duration::from_secs(5));
        assert!(matches!(c.reserve_wait("/r", 503, Duration::from_secs(6)), Err(Error::RetryAfter { asked: 6, .. })));
    }

    #[test]
    fn redirect_targets_are_named_by_origin_only() {
        let u = reqwest::Url::parse("http://127.0.0.1:9/range/FAF8E9?x=1").unwrap();
        assert_eq!(origin(&u), "http://127.0.0.1:9");
        let u = reqwest::Url::parse("https://api.example/range/search/FAF8E9").unwrap();
        assert_eq!(origin(&u), "https://api.example:443");
    }
}

#[cfg(test)]
mod decompression {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).unwrap();
        drop(w);
        out
    }

    /// Feeds `body` to a meter in 1 KiB pieces, as chunks arrive.
    fn metered(encoding: &str, body: &[u8]) -> Result<(), Decompress> {
        let mut m = Meter::new(encoding)?;
        body.chunks(1024).try_for_each(|c| m.feed(c))
    }

    #[test]
    fn gzip_and_brotli_bodies_decompress_whole() {
        let text = b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:5\r\n".repeat(1000);
        for (enc, body) in [("gzip", gzip(&text)), ("br", brotli(&text)), ("", text.clone())] {
            assert!(metered(enc, &body).is_ok(), "{enc}");
            assert_eq!(decompress(enc, body).ok().unwrap(), text, "{enc}");
        }
        // Two gzip members are one body (as `cat a.gz b.gz`).
        let two = [gzip(b"a\n"), gzip(b"b\n")].concat();
        assert_eq!(decompress("gzip", two).ok().unwrap(), b"a\nb\n");
    }

    #[test]
    fn a_compression_bomb_stops_at_the_limit() {
        // The meter, fed as chunks arrive, may hold back a decoder's last buffer: it stops a
        // bomb early; the final decompression holds the exact limit.
        let zeros = vec![0u8; 2 * MAX_BODY_BYTES];
        for (enc, bomb) in [("gzip", gzip(&zeros)), ("br", brotli(&zeros))] {
            assert!(bomb.len() < 64 << 10, "{enc}: {} bytes", bomb.len());
            assert!(matches!(metered(enc, &bomb), Err(Decompress::TooLarge)), "{enc}");
        }
        let zeros = vec![0u8; MAX_BODY_BYTES + 1];
        for (enc, bomb) in [("gzip", gzip(&zeros)), ("br", brotli(&zeros))] {
            assert!(matches!(decompress(enc, bomb), Err(Decompress::TooLarge)), "{enc}");
        }
        // Exactly at the limit is allowed.
        let full = vec![0u8; MAX_BODY_BYTES];
        assert_eq!(decompress("gzip", gzip(&full)).ok().unwrap().len(), MAX_BODY_BYTES);
    }

    #[test]
    fn truncated_or_unasked_compression_is_an_error_not_a_shorter_range() {
        let text = b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:5\r\n".repeat(1000);
        for (enc, body) in [("gzip", gzip(&text)), ("br", brotli(&text))] {
            let cut = body[..body.len() / 2].to_vec();
            assert!(matches!(decompress(enc, cut), Err(Decompress::Broken(_))), "{enc}");
        }
        assert!(matches!(decompress("gzip", b"not gzip".to_vec()), Err(Decompress::Broken(_))));
        assert!(matches!(decompress("deflate", text.clone()), Err(Decompress::Unasked)));
        assert!(matches!(Meter::new("zstd"), Err(Decompress::Unasked)));
    }
}
