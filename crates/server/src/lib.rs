//! leakdex-server: a k-anonymity range API over a memory-mapped leakdex index, compatible with
//! the Have I Been Pwned Pwned Passwords range API and Mozilla Monitor's email range search.
//!
//! - Password indexes: `GET /range/{5 hex}` → `text/plain`, `SUFFIX:COUNT` lines (35 uppercase
//!   hex digits), CRLF between lines, no terminator after the last.
//! - Email indexes: `GET /range/search/{6 hex}` → JSON
//!   `[{"hashSuffix": "<34 hex>", "websites": ["Source", ...], "count": N}]`.
//! - Padding: `Add-Padding: true` adds random suffixes with count 0 (or no websites); with
//!   [`Padding::Constant`] every response of the index has the same number of lines, so its
//!   size reveals nothing about the bucket. Padding suffixes are never real suffixes.
//! - `ETag` (weak, from the real entries) and `If-None-Match` → 304; `Cache-Control`;
//!   gzip/br per `Accept-Encoding`; `/healthz`; Prometheus `/metrics` with aggregate counters.
//! - Logs carry method, route template, status and latency only: never a prefix.
//! - The index is reopened on SIGHUP, or when the file at its path is replaced by rename,
//!   without dropping requests: requests in flight keep the old map.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = leakdex_server::Config::new("pw.ldx".into(), "127.0.0.1:8080".parse()?);
//! leakdex_server::serve(config, std::future::pending()).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leakdex_core::{hex, Index, Kind};
use memmap2::Mmap;
use rand::Rng;

pub mod breach;
pub mod export;

/// The message HIBP returns for a malformed prefix.
pub const BAD_PREFIX: &str = "The hash prefix was not in a valid format";
/// Prefix length of password ranges (hex digits).
pub const PASSWORD_PREFIX_LEN: usize = 5;
/// Prefix length of email ranges (hex digits).
pub const EMAIL_PREFIX_LEN: usize = 6;
/// `Cache-Control` of range responses (as HIBP: 31 days).
pub const CACHE_CONTROL: &str = "public, max-age=2678400";

/// How responses are padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Only when the client sends `Add-Padding: true`: up to a random 800–1,000 lines, as HIBP.
    OnRequest,
    /// Every response to the same constant number of lines: the largest bucket rounded up.
    Constant,
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The index file.
    pub index: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Padding; default: constant for email indexes, on request for passwords.
    pub padding: Option<Padding>,
    /// Refuse to start if the smallest non-empty bucket is below this.
    pub min_k: u64,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Requests handled at once; more wait.
    pub max_concurrency: usize,
    /// How often to look for a replaced index file.
    pub reload_poll: Duration,
    /// Keys and rate limit of the breach API (`/api/v3/breachedaccount` needs a key).
    pub keys: breach::Keys,
    /// PEM certificate chain and private key: serve HTTPS (rustls) instead of HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl Config {
    /// Defaults for serving `index` on `listen`.
    pub fn new(index: PathBuf, listen: SocketAddr) -> Config {
        Config {
            index,
            listen,
            padding: None,
            min_k: 1,
            request_timeout: Duration::from_secs(10),
            max_concurrency: 1024,
            reload_poll: Duration::from_secs(2),
            keys: breach::Keys { keys: Default::default(), per_minute: 60 },
            tls: None,
        }
    }
}

/// Errors of the server.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The index could not be opened.
    Index(leakdex_core::Error),
    /// The smallest bucket is below the configured k.
    Anonymity {
        /// Prefix length served.
        prefix_len: usize,
        /// Smallest non-empty bucket.
        smallest: u64,
        /// Configured minimum.
        min_k: u64,
    },
    /// Binding or serving failed.
    Io(std::io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Index(_) => f.write_str("cannot serve the index"),
            Error::Anonymity { prefix_len, smallest, min_k } => write!(
                f,
                "the smallest non-empty bucket at prefix length {prefix_len} holds {smallest} entries, below --min-k {min_k}; \
                 serve a larger index or lower --min-k"
            ),
            Error::Io(_) => f.write_str("cannot serve"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Index(e) => Some(e),
            Error::Io(e) => Some(e),
            Error::Anonymity { .. } => None,
        }
    }
}

/// An open index with what the handlers derive from it.
struct Loaded {
    index: Index<Mmap>,
    padding: Padding,
    constant_lines: usize,
    /// Changes when the index is replaced: part of every ETag.
    generation: u32,
    file_id: Option<(u64, u64)>,
}

fn file_id(path: &std::path::Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path)
            .ok()
            .and_then(|m| m.modified().ok())
            .map(|t| (0, t.elapsed().map_or(0, |d| d.as_secs())))
    }
}

impl Loaded {
    fn open(config: &Config) -> Result<(Loaded, leakdex_core::BucketStats), Error> {
        let id = file_id(&config.index);
        let index = Index::open(&config.index).map_err(Error::Index)?;
        let prefix_len = match index.kind() {
            Kind::Password => PASSWORD_PREFIX_LEN,
            Kind::Email => EMAIL_PREFIX_LEN,
        };
        let stats = index.bucket_stats(prefix_len).map_err(Error::Index)?;
        if stats.min < config.min_k && !index.is_empty() {
            return Err(Error::Anonymity { prefix_len, smallest: stats.min, min_k: config.min_k });
        }
        let padding = config.padding.unwrap_or(match index.kind() {
            Kind::Email => Padding::Constant,
            Kind::Password => Padding::OnRequest,
        });
        let constant_lines = (stats.max as usize).max(1).div_ceil(64) * 64;
        let generation = crc32fast::hash(index.section_bytes(leakdex_core::format::SectionId::Meta));
        Ok((Loaded { index, padding, constant_lines, generation, file_id: id }, stats))
    }
}

/// Aggregate counters for `/metrics`: counts by route template and status, never by prefix.
#[derive(Default)]
struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
}

struct Shared {
    loaded: RwLock<Arc<Loaded>>,
    config: Config,
    metrics: Metrics,
    limiter: breach::RateLimiter,
}

impl Shared {
    fn current(&self) -> Arc<Loaded> {
        self.loaded.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reopens the index; on failure the old one keeps serving.
    fn reload(&self) {
        match Loaded::open(&self.config) {
            Ok((l, stats)) => {
                log(&format!(
                    "reloaded index: {} entries, smallest bucket {}, largest {}",
                    l.index.len(),
                    stats.min,
                    stats.max
                ));
                *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(l);
                self.metrics.reloads.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                log(&format!("reload failed, still serving the previous index: {}", chain(&e)));
                self.metrics.reload_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn log(msg: &str) {
    eprintln!("leakdex-server: {msg}");
}

/// Parses a hex prefix of exactly `len` digits, uppercased.
fn parse_prefix(p: &str, len: usize) -> Option<String> {
    (p.len() == len && p.bytes().all(|b| b.is_ascii_hexdigit())).then(|| p.to_ascii_uppercase())
}

fn bad_prefix() -> Response {
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/plain")], BAD_PREFIX).into_response()
}

fn wants_padding(headers: &HeaderMap) -> bool {
    headers.get("add-padding").and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// How many lines a response of `real` lines gets.
fn padded_len(l: &Loaded, real: usize, asked: bool) -> usize {
    match l.padding {
        Padding::Constant => real.max(l.constant_lines),
        Padding::OnRequest if asked => real.max(rand::thread_rng().gen_range(800..=1000)),
        Padding::OnRequest => real,
    }
}

/// Random hex suffixes of `digits` digits, none equal to a real one.
fn padding_suffixes(n: usize, digits: usize, real: &[String]) -> Vec<String> {
    let mut rng = rand::thread_rng();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let bytes: [u8; 20] = rng.gen();
        let s = hex(&bytes)[..digits].to_string();
        if real.binary_search(&s).is_err() {
            out.push(s);
        }
    }
    out
}

fn etag(l: &Loaded, prefix: &str, real_body: &str) -> String {
    let mut h = crc32fast::Hasher::new();
    h.update(prefix.as_bytes());
    h.update(real_body.as_bytes());
    format!("W/\"{:08x}-{:08x}\"", l.generation, h.finalize())
}

fn not_modified(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
}

fn range_response(tag: String, content_type: &'static str, body: String, headers: &HeaderMap) -> Response {
    let mut resp = if not_modified(headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
    h.insert(header::VARY, HeaderValue::from_static("Add-Padding"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    resp
}

pub(crate) fn internal(e: leakdex_core::Error) -> Response {
    log(&format!("index error: {}", chain(&e)));
    (StatusCode::INTERNAL_SERVER_ERROR, "index error").into_response()
}

async fn password_range(
    State(shared): State<Arc<Shared>>,
    Path(prefix): Path<String>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let l = shared.current();
    let Some(prefix) = parse_prefix(&prefix, PASSWORD_PREFIX_LEN) else { return bad_prefix() };
    if l.index.kind() != Kind::Password {
        return (StatusCode::NOT_FOUND, "this server holds email ranges: use /range/search/{6 hex digits}\n")
            .into_response();
    }
    if q.get("mode").is_some_and(|m| m != "sha1") {
        return (StatusCode::BAD_REQUEST, "this index holds SHA-1 hashes only; mode=ntlm is not available\n")
            .into_response();
    }
    let mut real: Vec<(String, u64)> = Vec::new();
    let range = match l.index.range(&prefix) {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    for e in range {
        match e {
            Ok(e) => real.push((hex(&e.key)[PASSWORD_PREFIX_LEN..].to_string(), e.count)),
            Err(e) => return internal(e),
        }
    }
    let mut body = password_body(&real);
    let tag = etag(&l, &prefix, &body);
    let total = padded_len(&l, real.len(), wants_padding(&headers));
    if total > real.len() {
        let suffixes: Vec<String> = real.iter().map(|(s, _)| s.clone()).collect();
        for s in padding_suffixes(total - real.len(), 40 - PASSWORD_PREFIX_LEN, &suffixes) {
            if !body.is_empty() {
                body.push_str("\r\n");
            }
            let _ = write!(body, "{s}:0");
        }
    }
    range_response(tag, "text/plain", body, &headers)
}

/// One entry of an email range response.
#[derive(serde::Serialize)]
pub(crate) struct EmailEntry<'a> {
    #[serde(rename = "hashSuffix")]
    pub(crate) hash_suffix: String,
    pub(crate) websites: Vec<&'a str>,
    pub(crate) count: u64,
}

/// The body of a password range: `SUFFIX:COUNT` lines joined by CRLF, no final terminator.
pub(crate) fn password_body(entries: &[(String, u64)]) -> String {
    let mut body = String::with_capacity(entries.len() * 42);
    for (i, (s, c)) in entries.iter().enumerate() {
        if i > 0 {
            body.push_str("\r\n");
        }
        let _ = write!(body, "{s}:{c}");
    }
    body
}

/// The body of an email range: a JSON array.
pub(crate) fn email_body(entries: &[EmailEntry<'_>]) -> String {
    serde_json::to_string(entries).expect("entries serialize")
}

async fn email_range(State(shared): State<Arc<Shared>>, Path(prefix): Path<String>, headers: HeaderMap) -> Response {
    let l = shared.current();
    let Some(prefix) = parse_prefix(&prefix, EMAIL_PREFIX_LEN) else { return bad_prefix() };
    if l.index.kind() != Kind::Email {
        return (StatusCode::NOT_FOUND, "this server holds password ranges: use /range/{5 hex digits}\n")
            .into_response();
    }
    let sources = l.index.sources();
    let mut entries: Vec<EmailEntry<'_>> = Vec::new();
    let range = match l.index.range(&prefix) {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    for e in range {
        match e {
            Ok(e) => entries.push(EmailEntry {
                hash_suffix: hex(&e.key)[EMAIL_PREFIX_LEN..].to_string(),
                websites: e.sources.iter().filter_map(|s| sources.get(s as usize)).map(|s| s.name.as_str()).collect(),
                count: e.count,
            }),
            Err(e) => return internal(e),
        }
    }
    let real_body = email_body(&entries);
    let tag = etag(&l, &prefix, &real_body);
    let total = padded_len(&l, entries.len(), wants_padding(&headers));
    if total == 0 {
        let mut resp = (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "application/json")], "[]").into_response();
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
        return resp;
    }
    if total > entries.len() {
        let suffixes: Vec<String> = entries.iter().map(|e| e.hash_suffix.clone()).collect();
        for s in padding_suffixes(total - entries.len(), 40 - EMAIL_PREFIX_LEN, &suffixes) {
            entries.push(EmailEntry { hash_suffix: s, websites: Vec::new(), count: 0 });
        }
        // Padding must not be told apart by position.
        use rand::seq::SliceRandom;
        entries.shuffle(&mut rand::thread_rng());
    }
    range_response(tag, "application/json", email_body(&entries), &headers)
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let l = shared.current();
    (StatusCode::OK, format!("ok {} {} entries\n", l.index.kind(), l.index.len())).into_response()
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP leakdex_requests_total Requests by route template and status.\n");
    out.push_str("# TYPE leakdex_requests_total counter\n");
    for ((route, status), n) in shared.metrics.requests.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(out, "leakdex_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
    }
    let l = shared.current();
    let _ = writeln!(out, "# TYPE leakdex_index_entries gauge\nleakdex_index_entries {}", l.index.len());
    let _ = writeln!(
        out,
        "# TYPE leakdex_reloads_total counter\nleakdex_reloads_total {}",
        shared.metrics.reloads.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# TYPE leakdex_reload_failures_total counter\nleakdex_reload_failures_total {}",
        shared.metrics.reload_failures.load(Ordering::Relaxed)
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// Access log and counters: method, route template, status and latency; never the path itself.
async fn observe(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route =
        req.extensions().get::<MatchedPath>().map_or_else(|| "(unmatched)".to_string(), |m| m.as_str().to_string());
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    *shared.metrics.requests.lock().unwrap_or_else(|e| e.into_inner()).entry((route.clone(), status)).or_default() += 1;
    log(&format!("{method} {route} {status} {:.3}ms", started.elapsed().as_secs_f64() * 1000.0));
    resp
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/range/{prefix}", get(password_range))
        .route("/range/search/{prefix}", get(email_range))
        .route("/api/v3/breachedaccount/{account}", get(breach::breached_account))
        .route("/api/v3/breaches", get(breach::breaches))
        .route("/api/v3/breach/{name}", get(breach::breach))
        .route("/api/v3/dataclasses", get(breach::data_classes))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), observe))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            shared.config.request_timeout,
        ))
        .layer(tower::limit::ConcurrencyLimitLayer::new(shared.config.max_concurrency))
        .with_state(shared)
}

/// Opens the index, checks k-anonymity, and serves until `shutdown` completes; then stops
/// accepting and finishes the requests in flight. Reloads the index on SIGHUP (Unix) and when
/// the file at the index path is replaced.
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let (loaded, stats) = Loaded::open(&config)?;
    log(&format!(
        "{} index, {} entries; prefix length {}: {} buckets, {} empty, smallest non-empty {}, median {}, largest {}; padding {:?} ({} lines when constant)",
        loaded.index.kind(),
        loaded.index.len(),
        stats.prefix_len,
        stats.buckets,
        stats.empty,
        stats.min,
        stats.median,
        stats.max,
        loaded.padding,
        loaded.constant_lines
    ));
    let listener = tokio::net::TcpListener::bind(config.listen).await.map_err(Error::Io)?;
    let addr = listener.local_addr().map_err(Error::Io)?;
    let tls = match &config.tls {
        Some((cert, key)) => {
            // One process-wide crypto provider; a second install (tests, embedders) is harmless.
            let _ = rustls::crypto::ring::default_provider().install_default();
            Some(axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await.map_err(Error::Io)?)
        }
        None => None,
    };
    if config.keys.keys.is_empty() {
        log("no API keys configured: /api/v3/breachedaccount answers 401 (see --api-keys)");
    }
    let shared = Arc::new(Shared {
        loaded: RwLock::new(Arc::new(loaded)),
        config,
        metrics: Metrics::default(),
        limiter: Default::default(),
    });
    spawn_reloaders(shared.clone());
    let app = router(shared);
    match tls {
        None => {
            log(&format!("listening on http://{addr}"));
            axum::serve(listener, app).with_graceful_shutdown(shutdown).await.map_err(Error::Io)
        }
        Some(tls) => {
            log(&format!("listening on https://{addr}"));
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                h.graceful_shutdown(Some(Duration::from_secs(30)));
            });
            let std_listener = listener.into_std().map_err(Error::Io)?;
            axum_server::from_tcp_rustls(std_listener, tls)
                .handle(handle)
                .serve(app.into_make_service())
                .await
                .map_err(Error::Io)
        }
    }
}

fn spawn_reloaders(shared: Arc<Shared>) {
    #[cfg(unix)]
    {
        let s = shared.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut hup) = signal(SignalKind::hangup()) else { return };
            while hup.recv().await.is_some() {
                let s2 = s.clone();
                let _ = tokio::task::spawn_blocking(move || s2.reload()).await;
            }
        });
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(shared.config.reload_poll);
        loop {
            tick.tick().await;
            let now = file_id(&shared.config.index);
            if now.is_some() && now != shared.current().file_id {
                let s2 = shared.clone();
                let _ = tokio::task::spawn_blocking(move || s2.reload()).await;
            }
        }
    });
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    log("shutting down: finishing requests in flight");
}
