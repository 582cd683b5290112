//! leakdex-server: a k-anonymity range API over a memory-mapped leakdex index, compatible with
//! the Have I Been Pwned Pwned Passwords range API and Mozilla Monitor's email range search.
//!
//! - Password indexes: `GET /range/{5 hex}` → `text/plain`, `SUFFIX:COUNT` lines (35 uppercase
//!   hex digits), CRLF between lines, no terminator after the last.
//! - Email indexes: `GET /range/search/{6 hex}` → JSON
//!   `[{"hashSuffix": "<34 hex>", "websites": ["Source", ...], "count": N}]`.
//! - Padding: `Add-Padding: true` adds random suffixes with count 0 (or no websites). With
//!   [`Padding::Constant`] every range response of an index is the same to the byte: the same
//!   number of entries (the largest bucket plus one, rounded up to 64) and the same body length,
//!   computed at load from the longest body any bucket would have (`constant_body_len`), then
//!   reached exactly by filling: JSON white space before the closing `]` of email ranges,
//!   leading zeros in the counts of password padding lines (`SUFFIX:000`, still count 0). An
//!   empty email bucket answers 200 like any other. The header set is the same too:
//!   constant-padded ranges are never compressed, whatever `Accept-Encoding` asks (a compressed
//!   size depends on the content), and carry no `ETag` and never answer 304 (an ETag derived from
//!   the bucket names it; one derived from the prefix alone would let a cache replay it, and a
//!   304 for some buckets but not others would tell them apart). Not hidden: the prefix itself
//!   (it is the request), timing, and the bodies themselves, which the client reads.
//! - On-request mode keeps HIBP's behaviour: `ETag` (weak, from the real entries) and
//!   `If-None-Match` → 304, gzip/br per `Accept-Encoding`, 404 for an empty email range.
//! - `/healthz` says ok or not per index kind, never a size. Prometheus `/metrics` (aggregate
//!   counters) is served only on [`Config::metrics_listen`], a listener of its own; counters
//!   and the access log put a lookup's 200, 304 and 404 (on the range and `breachedaccount`
//!   routes) in one class, `answered`, so polling them reveals no lookup's result.
//! - Logs carry method (`OTHER` unless a standard method), route template, status and
//!   latency only: never a prefix. They are
//!   written by their own thread: a closed or full stderr never blocks or stops serving.
//! - CORS is off unless [`Config::cors_origins`] lists origins (or `*`): then those origins may
//!   read the range routes and the public breach catalogue, and their preflights are answered.
//!   [`Config::allowed_hosts`] makes every other `Host` a 421 (DNS rebinding).
//! - The index is reopened on SIGHUP, or when the file at its path is replaced by rename,
//!   without dropping requests: requests in flight keep the old map. A file overwritten in
//!   place (same inode, new size or modification time) is never followed: the server logs a
//!   warning and answers that index's routes with 503 until a new file is renamed over it.
//! - A file truncated or rewritten in place never ends the process nor yields a wrong answer:
//!   every request that reads a map compares the held descriptor (`fstat`: size and
//!   modification time) with the map's before and after its reads, and a read past a new end
//!   (`SIGBUS`) is caught by `mapguard`, which replaces the map with zero pages and marks it
//!   poisoned; the request then answers 503 rather than what it read.
//! - Connections: a response must be written within [`Config::write_timeout`] once the client
//!   stops reading, and one client address holds at most [`Config::max_connections_per_ip`].
//! - Range routes take API keys and rate limits ([`access`]): email ranges need a key when
//!   keys are configured, and wrong keys are throttled per client address.
//! - `POST /api/v1/check` ([`check`], only with [`Config::enable_check_api`]): full hashes of
//!   an address and a password in, exposure out. **Not k-anonymous**: the server sees what is
//!   asked. Answers are padded to one length; nothing of the body is logged.
//! - A kind without an index answers 404 before the prefix is judged, so a client probing
//!   with a malformed prefix learns that this is not a range API of that kind.
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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leakdex_core::{Index, Kind};

pub mod access;
pub mod breach;
pub mod check;
mod conn;
mod log;
mod mapguard;

use log::log;

use leakdex_core::range::{self as protocol, EmailEntry};
pub use leakdex_core::range::{Padding, BAD_PREFIX, EMAIL_PREFIX_LEN, PASSWORD_PREFIX_LEN};
/// `Cache-Control` of range responses (as HIBP: 31 days).
pub const CACHE_CONTROL: &str = "public, max-age=2678400";

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The index files: at most one of each kind (email, password, NTLM), served side by side.
    pub indexes: Vec<PathBuf>,
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
    /// Open client connections at once (HTTP and HTTPS); more wait in the kernel's backlog
    /// until one closes.
    pub max_connections: usize,
    /// Longest wait for a TLS handshake or a request head, and longest an idle keep-alive
    /// connection stays open: slow clients (slowloris) are disconnected after it.
    pub header_timeout: Duration,
    /// Largest request head (request line and header fields) in bytes; larger heads get 431.
    /// Values below 1,024 are raised to it.
    pub max_header_bytes: usize,
    /// How often to look for a replaced index file.
    pub reload_poll: Duration,
    /// Keys and rate limit of the breach API (`/api/v3/breachedaccount` needs a key).
    pub keys: breach::Keys,
    /// Keys needed and rate limits on the range routes, and the throttle on wrong keys.
    pub range_access: access::RangeAccess,
    /// Longest a response may take to be written once the client stops reading: past it the
    /// connection is closed, so clients that never read cannot hold connections.
    pub write_timeout: Duration,
    /// Open connections per client address; more are closed as soon as they are accepted.
    pub max_connections_per_ip: usize,
    /// PEM certificate chain and private key: serve HTTPS (rustls) instead of HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Where Prometheus `/metrics` is served, on a listener of its own (plain HTTP). `None`:
    /// metrics are not served at all (the main listener answers `/metrics` with 404).
    pub metrics_listen: Option<SocketAddr>,
    /// Origins allowed to read the public routes from a browser (CORS); `*` for any. Empty
    /// (the default): no CORS headers at all, and preflights get no allow headers.
    pub cors_origins: Vec<String>,
    /// `Host` values (`host` or `host:port`, case-insensitive) the main listener answers;
    /// others get 421 Misdirected Request (DNS rebinding). Empty (the default): any host.
    pub allowed_hosts: Vec<String>,
    /// Serve `POST /api/v1/check` ([`check`]): full hashes in, not k-anonymous. Off (the
    /// default): the route answers 404.
    pub enable_check_api: bool,
}

impl Config {
    /// Defaults for serving `index` on `listen`.
    pub fn new(index: PathBuf, listen: SocketAddr) -> Config {
        Config {
            indexes: vec![index],
            listen,
            padding: None,
            min_k: 1,
            request_timeout: Duration::from_secs(10),
            max_concurrency: 1024,
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            reload_poll: Duration::from_secs(2),
            keys: breach::Keys { keys: Default::default(), per_minute: 60 },
            range_access: access::RangeAccess::default(),
            write_timeout: Duration::from_secs(10),
            max_connections_per_ip: 64,
            tls: None,
            metrics_listen: None,
            cors_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            enable_check_api: false,
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
    /// Two indexes of the same kind.
    SameKind(Kind),
    /// A range route needs keys and none are configured.
    KeysNeeded,
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
            Error::SameKind(k) => write!(f, "two {k} indexes given; serve at most one of each kind"),
            Error::KeysNeeded => f.write_str(
                "range routes need an API key (--range-keys or --password-range-keys required) but no keys are configured; give --api-keys FILE or LEAKDEX_API_KEYS, or choose optional or off",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Index(e) => Some(e),
            Error::Io(e) => Some(e),
            Error::Anonymity { .. } | Error::SameKind(_) | Error::KeysNeeded => None,
        }
    }
}

/// An open index with what the handlers derive from it.
struct Loaded {
    /// Over a [`mapguard::Watched`] map: a truncation poisons it instead of ending the process.
    index: Index<mapguard::Watched>,
    padding: Padding,
    /// With [`Padding::Constant`]: entries (real and padding) in every range response.
    constant_lines: usize,
    /// With [`Padding::Constant`]: the exact byte length of every range response body.
    constant_bytes: usize,
    /// Changes when the index is replaced: part of every ETag.
    generation: u32,
    file: Option<FileState>,
    /// A copy of the file's first bytes when it was opened: `cp -p` over it keeps size and
    /// modification time, not these (the header's section checksums).
    head: Vec<u8>,
    /// The mapped file's descriptor, for the size and modification-time check of every
    /// request, before and after its reads.
    handle: std::fs::File,
    /// Bytes mapped.
    mapped_len: u64,
}

/// Bytes of the file head kept to tell a rewrite that kept size and modification time.
const HEAD_BYTES: u64 = 4096;

/// The first [`HEAD_BYTES`] of the open `file`, read with positional reads (not through the
/// map, and not by path: a chmod that took the server's read permission away must not look
/// like a rewrite).
fn read_head(file: &std::fs::File) -> Option<Vec<u8>> {
    let mut head = vec![0u8; HEAD_BYTES as usize];
    let mut got = 0;
    while got < head.len() {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(file, &mut head[got..], got as u64).ok()?;
        #[cfg(not(unix))]
        let n = std::os::windows::fs::FileExt::seek_read(file, &mut head[got..], got as u64).ok()?;
        if n == 0 {
            break;
        }
        got += n;
    }
    head.truncate(got);
    Some(head)
}

/// What the reloader compares: which file is at the path, and whether it changed in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileState {
    /// Device and inode (Unix): the same file, even if rewritten.
    id: Option<(u64, u64)>,
    len: u64,
    modified: Option<std::time::SystemTime>,
    /// Status change time (Unix): any write, and also chmod or a new hard link.
    changed: Option<(i64, i64)>,
}

impl FileState {
    fn of(path: &std::path::Path) -> Option<FileState> {
        Some(FileState::from_metadata(&std::fs::metadata(path).ok()?))
    }

    fn from_metadata(m: &std::fs::Metadata) -> FileState {
        #[cfg(unix)]
        let (id, changed) = {
            use std::os::unix::fs::MetadataExt;
            (Some((m.dev(), m.ino())), Some((m.ctime(), m.ctime_nsec())))
        };
        #[cfg(not(unix))]
        let (id, changed) = (None, None);
        FileState { id, len: m.len(), modified: m.modified().ok(), changed }
    }

    /// The same file (device and inode), whatever its content.
    fn same_file(&self, other: &FileState) -> bool {
        self.id.is_some() && self.id == other.id
    }
}

impl Loaded {
    fn open(config: &Config, path: &std::path::Path) -> Result<(Loaded, leakdex_core::BucketStats), Error> {
        let open_err = |e: std::io::Error| {
            Error::Index(leakdex_core::Error::Open {
                path: path.into(),
                source: Box::new(leakdex_core::Error::Io { path: path.into(), source: e }),
            })
        };
        // The descriptor is kept: each request compares its size and modification time to
        // the map's (`fstat`) before and after reading, so a file truncated or rewritten in
        // place is answered 503.
        // Without blocking: a FIFO put at the path would otherwise hold the reloader (and
        // shutdown) until someone writes to it. Only a regular file is an index.
        let mut options = std::fs::File::options();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
        let handle = options.open(path).map_err(open_err)?;
        let meta = handle.metadata().map_err(open_err)?;
        if !meta.is_file() {
            let what = if meta.is_dir() { "a directory" } else { "not a regular file (a FIFO, socket or device)" };
            let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("is {what}, not an index file"));
            return Err(open_err(e));
        }
        let file = Some(FileState::from_metadata(&meta));
        // From the descriptor that is mapped, not the path (which may name another file by now).
        let head = read_head(&handle).unwrap_or_default();
        // A truncation while mapped (even during the scans below) poisons the map instead of
        // ending the process (`mapguard`); the map is checked after the scans.
        let map = mapguard::Watched::map(&handle).map_err(open_err)?;
        if !map.watched() {
            log(&format!(
                "WARNING: {}: no SIGBUS handler watches this map: truncating the file in place while it is served may end the process",
                path.display()
            ));
        }
        let mapped_len = map.as_ref().len() as u64;
        let index = Index::new(map)
            .map_err(|e| Error::Index(leakdex_core::Error::Open { path: path.into(), source: Box::new(e) }))?;
        let prefix_len = protocol::prefix_len(index.kind());
        // What `Index::scan_bucket_stats` does for a plain map: read ahead for the whole-table
        // scan, then random access for lookups.
        #[cfg(unix)]
        let _ = index.data().inner().advise(memmap2::Advice::Sequential);
        let stats = index.bucket_stats(prefix_len).map_err(Error::Index);
        #[cfg(unix)]
        let _ = index.data().inner().advise(memmap2::Advice::Random);
        // A truncation during the scan reads zeros: say so, not what the zeros look like.
        if !map_intact(index.data(), &handle, mapped_len, file) {
            return Err(open_err(changed_while_loading()));
        }
        let stats = stats?;
        if stats.min < config.min_k && !index.is_empty() {
            return Err(Error::Anonymity { prefix_len, smallest: stats.min, min_k: config.min_k });
        }
        let padding = config.padding.unwrap_or(Padding::default_for(index.kind()));
        // One more than the largest bucket, so that every response has at least one padding
        // line to absorb the remainder (see `constant_body_len`).
        let constant_lines = protocol::constant_lines(stats.max);
        let constant_bytes = match padding {
            Padding::Constant => protocol::constant_body_len(&index, constant_lines).map_err(Error::Index)?,
            Padding::OnRequest => 0,
        };
        let generation = crc32fast::hash(index.section_bytes(leakdex_core::format::SectionId::Meta));
        let loaded =
            Loaded { index, padding, constant_lines, constant_bytes, generation, file, head, handle, mapped_len };
        if !loaded.intact() {
            return Err(open_err(changed_while_loading()));
        }
        Ok((loaded, stats))
    }

    /// Whether the map can be trusted: not poisoned by a truncation (`mapguard`), and its file
    /// still at least as long as the map, with the modification time it had when opened (one
    /// `fstat` on the held descriptor). Called before and after a request's reads: a
    /// truncation or rewrite during them makes the request a 503, never an answer computed
    /// from zeros or from another file's bytes.
    fn intact(&self) -> bool {
        map_intact(self.index.data(), &self.handle, self.mapped_len, self.file)
    }
}

/// [`Loaded::intact`], for a map not yet wrapped in a [`Loaded`].
fn map_intact(map: &mapguard::Watched, handle: &std::fs::File, mapped_len: u64, file: Option<FileState>) -> bool {
    if map.poisoned() {
        return false;
    }
    let modified = file.and_then(|f| f.modified);
    handle.metadata().is_ok_and(|m| m.len() >= mapped_len && m.modified().ok() == modified)
}

fn changed_while_loading() -> std::io::Error {
    std::io::Error::other(
        "the file was truncated or rewritten in place while it was being loaded; write indexes beside it and rename them over it",
    )
}

/// Aggregate counters for `/metrics`: counts by route template and status, never by prefix.
#[derive(Default)]
struct Metrics {
    requests: Mutex<BTreeMap<(String, String), u64>>,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
}

/// One served index: its path, kind and the current map.
struct Slot {
    path: PathBuf,
    kind: Kind,
    loaded: RwLock<Arc<Loaded>>,
    /// The mapped file was truncated or overwritten in place: its map can no longer be trusted
    /// (it may show a mix of old and new bytes, or fault past a new end), so the index answers
    /// 503 until a complete file is renamed over the path.
    modified_in_place: AtomicBool,
}

struct Shared {
    slots: Vec<Slot>,
    config: Config,
    metrics: Metrics,
    limiter: breach::RateLimiter,
    /// Rate limits of the range routes and the wrong-key budgets ([`access`]).
    buckets: access::Buckets,
    /// Set by [`serve`] when no allowed hosts are given: this machine's own names. Then only
    /// address literals, `localhost` names and these are answered ([`default_host`]).
    own_names: std::sync::OnceLock<Vec<String>>,
}

impl Shared {
    /// The index of `kind`, if one is served.
    fn current(&self, kind: Kind) -> Option<Arc<Loaded>> {
        self.slots.iter().find(|s| s.kind == kind).map(|s| s.loaded.read().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// 503 when the index of `kind` was modified in place and is not served, or its file is
    /// now shorter than its map (truncated in place since the last look).
    fn refuse_modified(&self, kind: Kind) -> Option<Response> {
        let l = self.current(kind)?;
        self.refuse(kind, &l)
    }

    /// [`Shared::refuse_modified`] for the map `l` a handler is about to read, or has just
    /// read: [`Loaded::intact`]. Handlers call it before and after their reads, so that a
    /// truncation or rewrite during them (which poisons the map, see `mapguard`, or changes
    /// the file's size or modification time) answers 503 rather than what was read.
    fn refuse(&self, kind: Kind, l: &Arc<Loaded>) -> Option<Response> {
        let slot = self.slots.iter().find(|s| s.kind == kind)?;
        if !slot.modified_in_place.load(Ordering::Relaxed) {
            if l.intact() {
                return None;
            }
            let current = self.current(kind);
            // Only the map in service marks the slot: a request still holding a map replaced
            // by rename must not take the new, good one out of service.
            if current.is_some_and(|c| Arc::ptr_eq(&c, l)) && !slot.modified_in_place.swap(true, Ordering::Relaxed) {
                self.metrics.reload_failures.fetch_add(1, Ordering::Relaxed);
                log(&format!(
                    "WARNING: {} was overwritten in place (truncated or rewritten under its {} bytes mapped{}): not reading it, {} ranges answer 503; replace indexes by rename (build -o, or mv new.ldx {}), never truncate or cp onto a served index",
                    slot.path.display(),
                    l.mapped_len,
                    if l.index.data().poisoned() { "; a read hit the truncation and was answered 503" } else { "" },
                    slot.kind,
                    slot.path.display()
                ));
            }
        }
        // The path stays in the server's log: clients learn what happened, not where.
        let msg = format!(
            "the {kind} index file was overwritten in place; it is served again once a complete index is renamed over it\n"
        );
        Some((StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/plain")], msg).into_response())
    }

    /// Reopens one index; on failure the old one keeps serving.
    fn reload(&self, slot: &Slot) {
        match Loaded::open(&self.config, &slot.path) {
            Ok((l, _)) if l.index.kind() != slot.kind => {
                log(&format!("reload refused: the {} index was replaced by a {} index", slot.kind, l.index.kind()));
                self.metrics.reload_failures.fetch_add(1, Ordering::Relaxed);
            }
            Ok((l, stats)) => {
                log(&format!(
                    "reloaded {} index: {} entries, smallest bucket {}, largest {}",
                    slot.kind,
                    l.index.len(),
                    stats.min,
                    stats.max
                ));
                *slot.loaded.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(l);
                slot.modified_in_place.store(false, Ordering::Relaxed);
                self.metrics.reloads.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                log(&format!("reload failed, still serving the previous {} index: {}", slot.kind, chain(&e)));
                self.metrics.reload_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn no_index(kind: Kind) -> Response {
    let msg = match kind {
        Kind::Email => "this server holds no email index: /range/search is not available\n",
        Kind::Password => "this server holds no SHA-1 password index\n",
        Kind::Ntlm => "this server holds no NTLM index: mode=ntlm is not available\n",
    };
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain")], msg).into_response()
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

fn bad_prefix() -> Response {
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/plain")], BAD_PREFIX).into_response()
}

fn wants_padding(headers: &HeaderMap) -> bool {
    headers.get("add-padding").and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// How many lines a response of `real` lines gets.
fn padded_len(l: &Loaded, real: usize, asked: bool) -> usize {
    protocol::padded_len(l.padding, l.constant_lines, real, asked, &mut rand::thread_rng())
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

/// Marks a response that must be sent as it is, never compressed: a constant-padded range,
/// whose compressed size would again depend on what the bucket holds.
#[derive(Clone, Copy)]
pub(crate) struct Uncompressed;

/// A range response. `tag` is `None` for constant-padded indexes: no `ETag`, no 304.
fn range_response(tag: Option<String>, content_type: &'static str, body: String, headers: &HeaderMap) -> Response {
    let mut resp = match &tag {
        Some(tag) if not_modified(headers, tag) => StatusCode::NOT_MODIFIED.into_response(),
        _ => (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response(),
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
    h.insert(header::VARY, HeaderValue::from_static("Add-Padding"));
    match tag {
        Some(tag) => {
            if let Ok(v) = HeaderValue::from_str(&tag) {
                h.insert(header::ETAG, v);
            }
        }
        None => {
            resp.extensions_mut().insert(Uncompressed);
        }
    }
    resp
}

/// Logs (never panics) a constant-padded body longer than the constant, which
/// `constant_body_len` rules out.
fn overlong(target: usize, protocol::Overlong(len): protocol::Overlong) {
    log(&format!("BUG: a constant-padded body is {len} bytes, over the constant {target}"));
}

pub(crate) fn internal(e: leakdex_core::Error) -> Response {
    log(&format!("index error: {}", chain(&e)));
    (StatusCode::INTERNAL_SERVER_ERROR, "index error").into_response()
}

async fn password_range(
    State(shared): State<Arc<Shared>>,
    Path(prefix): Path<String>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
    peer: Option<axum::Extension<access::ClientAddr>>,
    headers: HeaderMap,
) -> Response {
    let kind = match q.get("mode").map(|m| m.to_ascii_lowercase()).as_deref() {
        None | Some("sha1") => Kind::Password,
        Some("ntlm") => Kind::Ntlm,
        Some(_) => return (StatusCode::BAD_REQUEST, "mode must be sha1 or ntlm\n").into_response(),
    };
    // A server without an index of this kind says so before judging the prefix: a client
    // probing with a malformed prefix must not mistake it for a range API of that kind.
    let Some(l) = shared.current(kind) else { return no_index(kind) };
    if let Err(r) = access::admit_range(&shared, &headers, peer.map(|p| p.0), shared.config.range_access.password) {
        return r.response();
    }
    if let Some(r) = shared.refuse(kind, &l) {
        return r;
    }
    let Some(prefix) = protocol::parse_prefix(&prefix, PASSWORD_PREFIX_LEN) else { return bad_prefix() };
    let read = protocol::password_range(&l.index, &prefix);
    // After the reads: a truncation during them poisoned the map (it then reads zeros), a
    // rewrite changed the file; either way what was read is not an answer.
    if let Some(r) = shared.refuse(kind, &l) {
        return r;
    }
    let real = match read {
        Ok(real) => real,
        Err(e) => return internal(e),
    };
    let mut body = protocol::password_body(&real);
    let constant = l.padding == Padding::Constant;
    let tag = (!constant).then(|| etag(&l, &prefix, &body));
    let total = padded_len(&l, real.len(), wants_padding(&headers));
    let mut padding = Vec::new();
    if total > real.len() {
        let suffixes: Vec<String> = real.iter().map(|(s, _)| s.clone()).collect();
        let digits = protocol::suffix_len(kind, PASSWORD_PREFIX_LEN);
        padding = protocol::padding_suffixes(total - real.len(), digits, &suffixes, &mut rand::thread_rng());
        protocol::pad_password_body(&mut body, &padding);
    }
    if constant {
        // Leading zeros in the padding lines' counts: `SUFFIX:000` is still count 0.
        match protocol::fill_password_body(&real, &padding, l.constant_bytes) {
            Ok(filled) => body = filled,
            Err(e) => overlong(l.constant_bytes, e),
        }
    }
    range_response(tag, "text/plain", body, &headers)
}

async fn email_range(
    State(shared): State<Arc<Shared>>,
    Path(prefix): Path<String>,
    peer: Option<axum::Extension<access::ClientAddr>>,
    headers: HeaderMap,
) -> Response {
    let Some(l) = shared.current(Kind::Email) else { return no_index(Kind::Email) };
    let policy = shared.config.range_access.email_policy(!shared.config.keys.keys.is_empty());
    if let Err(r) = access::admit_range(&shared, &headers, peer.map(|p| p.0), policy) {
        return r.response();
    }
    if let Some(r) = shared.refuse(Kind::Email, &l) {
        return r;
    }
    let Some(prefix) = protocol::parse_prefix(&prefix, EMAIL_PREFIX_LEN) else { return bad_prefix() };
    let read = protocol::email_range(&l.index, &prefix);
    // After the reads, as for password ranges.
    if let Some(r) = shared.refuse(Kind::Email, &l) {
        return r;
    }
    let mut entries: Vec<EmailEntry<'_>> = match read {
        Ok(entries) => entries,
        Err(e) => return internal(e),
    };
    let constant = l.padding == Padding::Constant;
    let tag = (!constant).then(|| etag(&l, &prefix, &protocol::email_body(&entries)));
    let total = padded_len(&l, entries.len(), wants_padding(&headers));
    if total == 0 {
        let mut resp = (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "application/json")], "[]").into_response();
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
        return resp;
    }
    if total > entries.len() {
        let suffixes: Vec<String> = entries.iter().map(|e| e.hash_suffix.clone()).collect();
        let digits = protocol::suffix_len(Kind::Email, EMAIL_PREFIX_LEN);
        for s in protocol::padding_suffixes(total - entries.len(), digits, &suffixes, &mut rand::thread_rng()) {
            entries.push(EmailEntry { hash_suffix: s, websites: Vec::new(), count: 0 });
        }
        // Padding must not be told apart by position.
        use rand::seq::SliceRandom;
        entries.shuffle(&mut rand::thread_rng());
    }
    let mut body = protocol::email_body(&entries);
    if constant {
        // JSON white space before the closing `]`: the same array to every JSON parser.
        if let Err(e) = protocol::fill_email_body(&mut body, l.constant_bytes) {
            overlong(l.constant_bytes, e);
        }
    }
    range_response(tag, "application/json", body, &headers)
}

/// What this server is and which range kinds it answers, with their prefix lengths: the same
/// fields as a static export's `manifest.json` (`kind`, `prefix_len`) for each kind, so that a
/// client can tell a range API of the asked kind from any other web server before it trusts an
/// empty range. Kinds only; no sizes or counts.
async fn manifest(State(shared): State<Arc<Shared>>) -> Response {
    let kinds: Vec<serde_json::Value> = shared
        .slots
        .iter()
        .map(|s| serde_json::json!({"kind": s.kind.as_str(), "prefix_len": protocol::prefix_len(s.kind)}))
        .collect();
    let body = serde_json::json!({"server": "leakdex", "ranges": kinds}).to_string();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let mut out = String::new();
    let mut healthy = true;
    for slot in &shared.slots {
        if shared.refuse_modified(slot.kind).is_some() {
            healthy = false;
            let _ = writeln!(out, "{} index: file overwritten in place, not served", slot.kind);
        } else {
            let _ = writeln!(out, "{} index: ok", slot.kind);
        }
    }
    if healthy {
        (StatusCode::OK, format!("ok\n{out}")).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy\n{out}")).into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let mut out = String::new();
    out.push_str(
        "# HELP leakdex_requests_total Requests by route template and status; lookups that were answered (found, not found, not modified) are one class, \"answered\".\n",
    );
    out.push_str("# TYPE leakdex_requests_total counter\n");
    for ((route, status), n) in shared.metrics.requests.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(out, "leakdex_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
    }
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

/// Routes whose answer is a lookup's result: found (200) and not found (404, or an email
/// range with no entry) must not be told apart in counters or logs.
const LOOKUP_ROUTES: [&str; 4] =
    ["/range/{prefix}", "/range/search/{prefix}", "/api/v3/breachedaccount/{account}", check::ROUTE];

/// The status class counted and logged: `answered` for a lookup's 200, 304 and 404 (which
/// mirror its result), the status code otherwise (bad input, keys, limits, errors).
fn status_class(route: &str, status: StatusCode) -> String {
    let answered = matches!(status, StatusCode::OK | StatusCode::NOT_MODIFIED | StatusCode::NOT_FOUND);
    if answered && LOOKUP_ROUTES.contains(&route) {
        "answered".to_string()
    } else {
        status.as_u16().to_string()
    }
}

/// The method as logged: a standard method by name, anything else `OTHER` (a custom method
/// token can be kilobytes long, and is the client's text).
fn logged_method(method: &axum::http::Method) -> &'static str {
    KNOWN_METHODS.iter().find(|m| **m == method.as_str()).copied().unwrap_or("OTHER")
}

/// The methods of RFC 9110 and PATCH: the only method names written to the log.
const KNOWN_METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

/// Access log and counters: method, route template, status class and latency; never the path
/// itself, and never whether a lookup found something.
async fn observe(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = logged_method(req.method());
    let route =
        req.extensions().get::<MatchedPath>().map_or_else(|| "(unmatched)".to_string(), |m| m.as_str().to_string());
    let resp = next.run(req).await;
    let status = status_class(&route, resp.status());
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status == "answered" {
        // A hit takes a few microseconds longer than a miss: in whole milliseconds, the
        // latency of an answered lookup says nothing about its result.
        log(&format!("{method} {route} {status} {}ms", ms.ceil() as u64));
    } else {
        log(&format!("{method} {route} {status} {ms:.3}ms"));
    }
    *shared.metrics.requests.lock().unwrap_or_else(|e| e.into_inner()).entry((route, status)).or_default() += 1;
    resp
}

/// How long browsers may cache a preflight answer, in seconds.
pub const CORS_MAX_AGE: u64 = 86_400;

/// CORS for the public routes (ranges and the breach catalogue), only for the origins the
/// operator allows (`--cors-origin`; `*` for any, as HIBP): `GET`, and preflights answered for
/// the request headers clients send. `None` without allowed origins: no CORS headers at all,
/// so a web page from elsewhere cannot read an intranet range server through a browser.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, Method};
    if origins.is_empty() {
        return None;
    }
    let layer = tower_http::cors::CorsLayer::new()
        .allow_methods([Method::GET])
        .allow_headers([
            HeaderName::from_static("add-padding"),
            HeaderName::from_static("hibp-api-key"),
            header::IF_NONE_MATCH,
        ])
        .max_age(Duration::from_secs(CORS_MAX_AGE));
    Some(if origins.iter().any(|o| o == "*") {
        // The origin is always `*`: nothing varies by origin. Keeps our `Vary: Add-Padding`.
        layer.allow_origin(tower_http::cors::Any).vary(Vec::<HeaderName>::new())
    } else {
        let list: Vec<HeaderValue> =
            origins.iter().filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()).collect();
        // The allow header depends on the request's Origin: caches must key on it.
        layer.allow_origin(list).vary([header::ORIGIN])
    })
}

/// Answers 421 Misdirected Request when the request's `Host` (or the authority of an
/// absolute-form target) is not one of `--allowed-host`: a DNS-rebinding page whose own
/// name now resolves to this server sends its own name as `Host`.
async fn check_host(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let allowed = &shared.config.allowed_hosts;
    let own_names = if allowed.is_empty() { shared.own_names.get() } else { None };
    // Health checks (load balancers and orchestrators probe by address) are answered for any
    // host: `/healthz` says only ok or not.
    if (allowed.is_empty() && own_names.is_none()) || req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string));
    let ok = |h: &str| match own_names {
        Some(names) => default_host(names, h),
        None => host_allowed(allowed, h),
    };
    match host {
        Some(h) if ok(&h) => next.run(req).await,
        _ => (
            StatusCode::MISDIRECTED_REQUEST,
            [(header::CONTENT_TYPE, "text/plain")],
            "this server does not answer for that host name (see --allowed-host)\n",
        )
            .into_response(),
    }
}

/// Splits `host[:port]` (`[v6]:port` too) into a lowercase host and an optional port.
fn split_host(s: &str) -> (String, Option<&str>) {
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => (s, None),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (s, None),
        }
    };
    // One trailing dot is the absolute form of the same name (`leakdex.example.`); more is not.
    (host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase(), port)
}

/// Whether `host` (a `Host` header) is one of `allowed`: same name, and the same port when
/// the allowed entry names one; `*` allows any.
fn host_allowed(allowed: &[String], host: &str) -> bool {
    let (h, p) = split_host(host);
    allowed.iter().any(|a| {
        let (ah, ap) = split_host(a);
        a == "*" || (ah == h && (ap.is_none() || ap == p))
    })
}

/// Whether `host` (a `Host` header) is one a server without [`Config::allowed_hosts`] answers:
/// an address literal (a DNS-rebinding page always sends its own domain name), `localhost` or
/// a name under `.localhost`, or one of `own_names` (this machine's name). Any other name gets
/// 421: a web page that rebinds its own name to this server's address sends that name.
fn default_host(own_names: &[String], host: &str) -> bool {
    let (h, _) = split_host(host);
    h == "localhost" || h.ends_with(".localhost") || h.parse::<std::net::IpAddr>().is_ok() || own_names.contains(&h)
}

/// This machine's name (Linux: `/proc/sys/kernel/hostname`), lowercase, for [`default_host`].
fn machine_names() -> Vec<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
        .into_iter()
        .filter(|n| !n.is_empty() && n != "localhost")
        .collect()
}

/// Checks a value of [`Config::allowed_hosts`]: a host name or address, optionally with
/// `:PORT` (1 to 65535; IPv6 in brackets), or `*` for any host. The error says what to give.
pub fn check_allowed_host(s: &str) -> Result<(), String> {
    if s == "*" {
        return Ok(());
    }
    let bad = || {
        format!(
            "{s:?} is not a host: give a name or address, optionally with :PORT (e.g. leakdex.intranet.example:8080), or * for any host"
        )
    };
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic() && !b"/?#@,*".contains(&b)) {
        return Err(bad());
    }
    // The HTTP crate's authority grammar: brackets around IPv6, a numeric port.
    let authority: axum::http::uri::Authority = s.parse().map_err(|_| bad())?;
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    // What follows the host is nothing or `:PORT`, a port from 1 to 65535 (the authority's
    // own port() is None for one out of range); IPv6 only in brackets, as in a Host header.
    let tail = match s.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or("", |(_, tail)| tail),
        None => s.split_once(':').map_or("", |(_, port)| port),
    };
    let port_ok = match tail.strip_prefix(':') {
        _ if tail.is_empty() => !s.ends_with(':'),
        Some(p) => p.parse::<u16>().is_ok_and(|p| p > 0),
        None if !s.starts_with('[') => tail.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    };
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.ends_with('.') || name.starts_with('.') || name.contains("..") || !port_ok {
        return Err(bad());
    }
    if s.starts_with('[') && host.parse::<std::net::Ipv6Addr>().is_err() {
        return Err(bad());
    }
    Ok(())
}

fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    let mut public = Router::new()
        .route("/range/{prefix}", get(password_range))
        .route("/range/search/{prefix}", get(email_range))
        .route("/api/v3/breaches", get(breach::breaches))
        .route("/api/v3/breach/{name}", get(breach::breach))
        .route("/api/v3/dataclasses", get(breach::data_classes));
    if let Some(cors) = cors(&shared.config.cors_origins) {
        public = public.layer(cors);
    }
    if shared.config.enable_check_api {
        let mut check = Router::new().route(check::ROUTE, axum::routing::post(check::check));
        if let Some(cors) = cors(&shared.config.cors_origins) {
            // The same origins; this route is a POST of JSON (a preflighted request).
            use axum::http::{HeaderName, Method};
            check = check.layer(
                cors.allow_methods([Method::POST])
                    .allow_headers([header::CONTENT_TYPE, HeaderName::from_static("hibp-api-key")]),
            );
        }
        public = public.merge(check);
    }
    // Constant-padded ranges are never compressed: a compressed size depends on the content.
    use tower_http::compression::Predicate as _;
    let compress = tower_http::compression::predicate::DefaultPredicate::new().and(
        |_: StatusCode, _: axum::http::Version, _: &HeaderMap, ext: &axum::http::Extensions| {
            ext.get::<Uncompressed>().is_none()
        },
    );
    Router::new()
        .merge(public)
        .route("/api/v3/breachedaccount/{account}", get(breach::breached_account))
        .route("/manifest.json", get(manifest))
        .route("/healthz", get(healthz))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), check_host))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), observe))
        .layer(tower_http::compression::CompressionLayer::new().compress_when(compress))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            shared.config.request_timeout,
        ))
        .layer(tower::limit::ConcurrencyLimitLayer::new(shared.config.max_concurrency))
}

/// The metrics listener's service: `/metrics` only.
fn metrics_router(shared: Arc<Shared>) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(shared)
}

/// Opens every index of `config` and checks k-anonymity: the shared state of a server.
fn open_shared(config: Config) -> Result<Arc<Shared>, Error> {
    let mut slots: Vec<Slot> = Vec::new();
    for path in &config.indexes {
        let (loaded, stats) = Loaded::open(&config, path)?;
        let kind = loaded.index.kind();
        if slots.iter().any(|s| s.kind == kind) {
            return Err(Error::SameKind(kind));
        }
        log(&format!(
            "{} index, {} entries; prefix length {}: {} buckets, {} empty, smallest non-empty {}, median {}, largest {}; padding {}",
            kind,
            loaded.index.len(),
            stats.prefix_len,
            stats.buckets,
            stats.empty,
            stats.min,
            stats.median,
            stats.max,
            match loaded.padding {
                Padding::Constant => format!(
                    "constant ({} lines, {} bytes in every response, never compressed, no ETag)",
                    loaded.constant_lines, loaded.constant_bytes
                ),
                Padding::OnRequest => "on request (800 to 1,000 lines when the client sends Add-Padding: true)".to_string(),
            }
        ));
        slots.push(Slot {
            path: path.clone(),
            kind,
            loaded: RwLock::new(Arc::new(loaded)),
            modified_in_place: AtomicBool::new(false),
        });
    }
    let have_keys = !config.keys.keys.is_empty();
    if !have_keys {
        log("no API keys configured: /api/v3/breachedaccount answers 401 (see --api-keys)");
    }
    let access = &config.range_access;
    for (what, kinds, policy) in [
        ("email ranges", &[Kind::Email][..], access.email_policy(have_keys)),
        ("password ranges", &[Kind::Password, Kind::Ntlm][..], access.password),
    ] {
        if !slots.iter().any(|s| kinds.contains(&s.kind)) {
            continue;
        }
        if policy == access::KeyPolicy::Required && !have_keys {
            return Err(Error::KeysNeeded);
        }
        let limit = |n: u32| if n == 0 { "no limit".to_string() } else { format!("{n} a minute") };
        log(&match policy {
            access::KeyPolicy::Required => {
                format!("{what} need an API key (hibp-api-key): {} per key", limit(access.per_key_per_minute))
            }
            access::KeyPolicy::Optional => format!(
                "{what}: API key optional: {} per key, {} per client address without one",
                limit(access.per_key_per_minute),
                limit(access.per_address_per_minute)
            ),
            access::KeyPolicy::Off => {
                format!("{what} need no API key: {} per client address", limit(access.per_address_per_minute))
            }
        });
    }
    if config.enable_check_api {
        log(&format!(
            "{} enabled: NOT k-anonymous, clients send full SHA-1 hashes (of addresses and passwords); expose it only to trusted internal tools",
            check::ROUTE
        ));
    }
    Ok(Arc::new(Shared {
        slots,
        config,
        metrics: Metrics::default(),
        limiter: Default::default(),
        buckets: Default::default(),
        own_names: std::sync::OnceLock::new(),
    }))
}

/// The service alone, without a listener or reloading: for embedding in another server, and
/// for driving the real router in tests and fuzzing.
pub fn app(config: Config) -> Result<Router, Error> {
    let shared = open_shared(config)?;
    Ok(router(shared.clone()).with_state(shared))
}

/// Opens the indexes, checks k-anonymity, and serves until `shutdown` completes; then stops
/// accepting and finishes the requests in flight (for at most 30 seconds). Reloads an index on
/// SIGHUP (Unix) and when the file at its path is replaced.
///
/// Connections are bounded the same way over HTTP and HTTPS: at most
/// [`Config::max_connections`] open at once (more wait in the kernel's backlog), a TLS
/// handshake and each request head must arrive within [`Config::header_timeout`] (which also
/// closes idle keep-alive connections), a request head larger than
/// [`Config::max_header_bytes`] is answered with 431 and the connection closed, a response the
/// client does not read within [`Config::write_timeout`] closes the connection, and one client
/// address holds at most [`Config::max_connections_per_ip`] (more are closed at accept).
/// Each request carries its client address ([`access::ClientAddr`]) for the per-address limits.
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let result = serve_until(config, shutdown).await;
    log::flush(Duration::from_secs(1));
    result
}

async fn serve_until(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let listen = config.listen;
    let shared = open_shared(config)?;
    let tls = match &shared.config.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(Error::Io)?;
    let addr = listener.local_addr().map_err(Error::Io)?;
    if shared.config.allowed_hosts.is_empty() {
        // A web page can rebind its own domain name to this server's address (loopback or
        // intranet) and read it from an employee's browser; it always sends its own name.
        let names = machine_names();
        log(&format!(
            "without --allowed-host, requests naming a host other than an address, localhost{} get 421 (DNS rebinding); name this server's host names with --allowed-host (repeatable), or '*' for any",
            names.iter().map(|n| format!(" or {n}")).collect::<String>()
        ));
        let _ = shared.own_names.set(names);
    }
    let metrics_task = match shared.config.metrics_listen {
        Some(at) => {
            let metrics = tokio::net::TcpListener::bind(at).await.map_err(Error::Io)?;
            log(&format!("metrics on http://{}/metrics", metrics.local_addr().map_err(Error::Io)?));
            let service = metrics_router(shared.clone());
            Some(tokio::spawn(serve_metrics(metrics, service, shared.config.header_timeout)))
        }
        None => None,
    };
    log(&format!("listening on {}://{addr}", if tls.is_some() { "https" } else { "http" }));
    let header_timeout = shared.config.header_timeout;
    let permits = Arc::new(tokio::sync::Semaphore::new(shared.config.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_header_size(shared.config.max_header_bytes.max(MIN_HEADER_BYTES))
        .max_headers(MAX_HEADERS);
    let write_timeout = shared.config.write_timeout;
    let max_per_ip = shared.config.max_connections_per_ip.max(1);
    let per_address = conn::PerAddress::default();
    let refused = conn::RefusedLog::default();
    spawn_reloaders(shared.clone());
    let app = router(shared.clone()).with_state(shared);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // The permit is taken before accepting, so connections over the cap wait in the
        // backlog instead of being accepted and starved.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // One address cannot take every connection: over its cap, closed at once (the
        // permit goes back with it).
        let ip = peer.ip().to_canonical();
        let Some(admitted) = per_address.admit(ip, max_per_ip) else {
            drop(stream);
            refused.note();
            continue;
        };
        let _ = stream.set_nodelay(true);
        // A client that stops reading cannot hold the connection: a response not written
        // within the write timeout closes it.
        let stream = conn::WriteDeadline::new(stream, write_timeout);
        let service = hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(access::ClientAddr(ip));
                req
            },
        ));
        match &tls {
            None => {
                let conn = graceful.watch(http.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop((permit, admitted));
                });
            }
            Some(acceptor) => {
                let (acceptor, http, watcher) = (acceptor.clone(), http.clone(), graceful.watcher());
                tokio::spawn(async move {
                    // A client that never finishes its handshake is dropped like a slow head.
                    if let Ok(Ok(stream)) = tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        let conn = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                        let _ = watcher.watch(conn).await;
                    }
                    drop((permit, admitted));
                });
            }
        }
    }
    drop(listener);
    if let Some(task) = metrics_task {
        task.abort();
    }
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(30)) => log("shutdown: gave up on connections still open after 30 s"),
    }
    Ok(())
}

/// Connections the metrics listener holds open at once; more wait in the backlog.
const METRICS_CONNECTIONS: usize = 16;
/// Longest a metrics connection stays open (a scraper reconnects).
const METRICS_CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// Serves `/metrics` on its own listener, bounded like the main one (a few connections, a
/// deadline for each request head, a lifetime for each connection), so that a client of
/// this listener can neither hold it nor reach the range routes.
async fn serve_metrics(listener: tokio::net::TcpListener, service: Router, header_timeout: Duration) {
    let permits = Arc::new(tokio::sync::Semaphore::new(METRICS_CONNECTIONS));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_header_size(MIN_HEADER_BYTES * 4)
        .max_headers(MAX_HEADERS);
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else { return };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let conn = http.serve_connection(
            hyper_util::rt::TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(service.clone()),
        );
        tokio::spawn(async move {
            let _ = tokio::time::timeout(METRICS_CONNECTION_LIFETIME, conn).await;
            drop(permit);
        });
    }
}

/// Smallest request-head limit allowed: one full request line of a range query with room for
/// ordinary headers.
const MIN_HEADER_BYTES: usize = 1024;
/// Most header fields in one request; browsers and HIBP clients send about a dozen.
const MAX_HEADERS: usize = 64;

/// A TLS acceptor for the PEM certificate chain and private key (HTTP/1.1 only).
fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<tokio_rustls::TlsAcceptor, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |path: &std::path::Path, e: &dyn std::fmt::Display| {
        Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad(cert, &e))?;
    if certs.is_empty() {
        return Err(bad(cert, &"no certificate in this PEM file"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(cert, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| bad(key, &e))?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(tls)))
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
                let _ = tokio::task::spawn_blocking(move || s2.slots.iter().for_each(|slot| s2.reload(slot))).await;
            }
        });
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(shared.config.reload_poll);
        loop {
            tick.tick().await;
            for i in 0..shared.slots.len() {
                let slot = &shared.slots[i];
                let Some(now) = FileState::of(&slot.path) else { continue };
                let loaded = slot.loaded.read().unwrap_or_else(|e| e.into_inner()).clone();
                match loaded.file {
                    Some(cur) if now == cur => {}
                    // The mapped file itself changed (`cp new.ldx live.ldx`, truncation): never
                    // follow it, since a writer may still be at work; stop serving it.
                    Some(cur) if now.same_file(&cur) => {
                        // Only the status change time moved (chmod, a hard link, or `cp -p`,
                        // which restores the modification time): the head tells.
                        let rewritten = now.len != cur.len
                            || now.modified != cur.modified
                            || read_head(&loaded.handle).is_none_or(|h| h != loaded.head);
                        if rewritten && !slot.modified_in_place.swap(true, Ordering::Relaxed) {
                            shared.metrics.reload_failures.fetch_add(1, Ordering::Relaxed);
                            log(&format!(
                                "WARNING: {} was overwritten in place ({} -> {} bytes): not following it, {} ranges answer 503; replace indexes by rename (build -o, or mv new.ldx {}), never cp onto a served index",
                                slot.path.display(),
                                cur.len,
                                now.len,
                                slot.kind,
                                slot.path.display()
                            ));
                        }
                    }
                    _ => {
                        let s2 = shared.clone();
                        let _ = tokio::task::spawn_blocking(move || s2.reload(&s2.slots[i])).await;
                    }
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_host_values_are_names_or_addresses_with_a_port_in_range() {
        for ok in ["*", "leakdex.test", "leakdex.test.", "LEAKDEX.test:8080", "127.0.0.1", "[::1]", "[::1]:65535"] {
            assert_eq!(check_allowed_host(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "host:",
            "host:0",
            "host:99999",
            "host:8080x",
            "::1",
            "[::1",
            "[zz]:80",
            "a..b",
            "*.example",
        ] {
            assert!(check_allowed_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn without_allowed_hosts_addresses_localhost_and_the_machine_name_are_answered() {
        let own = ["leakdex01".to_string()];
        for ok in
            ["localhost", "LocalHost:80", "app.localhost", "127.0.0.1:9", "10.1.2.3", "[::1]:8080", "LEAKDEX01:8080"]
        {
            assert!(default_host(&own, ok), "{ok}");
        }
        for bad in ["localhost.example", "attacker.example", "leakdex01.attacker.example", "rebind.example:8080"] {
            assert!(!default_host(&own, bad), "{bad}");
        }
    }

    #[test]
    fn allowed_hosts_match_name_case_insensitively_and_port_only_when_given() {
        let allowed = ["Leakdex.Intranet.example".to_string(), "[::1]:8080".to_string(), "127.0.0.1".to_string()];
        for ok in [
            "leakdex.intranet.example",
            "LEAKDEX.intranet.example:443",
            "leakdex.intranet.example.",
            "[::1]:8080",
            "127.0.0.1:9",
        ] {
            assert!(host_allowed(&allowed, ok), "{ok}");
        }
        for bad in
            ["[::1]:8081", "[::1]", "intranet.example", "leakdex.intranet.example.attacker.example", "127.0.0.10", ""]
        {
            assert!(!host_allowed(&allowed, bad), "{bad}");
        }
    }

    #[test]
    fn lookup_results_are_one_class_and_errors_keep_their_status() {
        for route in LOOKUP_ROUTES {
            for s in [StatusCode::OK, StatusCode::NOT_FOUND, StatusCode::NOT_MODIFIED] {
                assert_eq!(status_class(route, s), "answered", "{route} {s}");
            }
            assert_eq!(status_class(route, StatusCode::BAD_REQUEST), "400");
            assert_eq!(status_class(route, StatusCode::UNAUTHORIZED), "401");
        }
        assert_eq!(status_class("/healthz", StatusCode::OK), "200");
    }

    #[test]
    fn only_standard_methods_are_logged_by_name() {
        use axum::http::Method;
        assert_eq!(logged_method(&Method::GET), "GET");
        assert_eq!(logged_method(&Method::PATCH), "PATCH");
        assert_eq!(logged_method(&Method::from_bytes(b"get").unwrap()), "OTHER");
        assert_eq!(logged_method(&Method::from_bytes("X".repeat(5000).as_bytes()).unwrap()), "OTHER");
    }
}
