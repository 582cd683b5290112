//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use leakdex_core::build::{FPR_RANGE, MAX_MEMORY, MAX_THREADS, MIN_MEMORY};
use leakdex_core::ingest::Format;

/// Find which of your people appear in leaked datasets, quickly and privately.
#[derive(Debug, Parser)]
#[command(name = "leakdex", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build an index from leak corpora. Each PATH is one source (dataset).
    Build(BuildArgs),
    /// Check identifiers given as arguments, or one per line on stdin.
    Check(CheckArgs),
    /// Check a staff list (plain lines, or CSV with a header): one output row per input row.
    Bulk(BulkArgs),
    /// Show what an index holds.
    Info(InfoArgs),
    /// Per-domain exposure: distinct addresses, occurrences and sources of each DOMAIN, and
    /// every exposed address of a domain the index was built to own (--own-domain).
    Domain(DomainArgs),
    /// Check every checksum and the structure of an index.
    Verify(IndexArg),
    /// Write the index's Bloom filter alone, for offline "possibly exposed" checks.
    ExportFilter(ExportFilterArgs),
    /// Serve the index as a k-anonymity range API (HIBP Pwned Passwords / Monitor compatible).
    Serve(ServeArgs),
    /// Write every non-empty range as a file, for serving the range API from a static server.
    ExportRanges(ExportRangesArgs),
    /// What changed from an older index to a newer one: sources added, removed or changed,
    /// entries added and removed. Exit 1 when the newer one exposes anything new.
    Diff(DiffArgs),
}

/// `leakdex diff OLD NEW`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The older index (last week's).
    #[arg(value_name = "OLD.ldx")]
    pub old: PathBuf,
    /// The newer index.
    #[arg(value_name = "NEW.ldx")]
    pub new: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: CheckFormat,
}

/// What check and bulk ask: a local index (or filter), or a range API.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The index, or a filter from export-filter. `check --email/--password-stdin` takes an
    /// email and a password index: repeat it.
    #[arg(short, long, value_name = "INDEX", required_unless_present = "api", conflicts_with = "api")]
    pub index: Vec<PathBuf>,
    /// Ask a k-anonymity range API instead (leakdex serve, an export-ranges directory behind a
    /// web server, or the Pwned Passwords API): only hash prefixes leave this machine.
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// What the range API holds (with --api); `auto`: check asks an email and a password in
    /// one call (--email, --password-stdin or --password-file; implied by them).
    #[arg(long, value_enum, default_value = "email")]
    pub kind: KindArg,
    /// With --api: add random dummy prefixes so that the number of requests is a multiple of
    /// N and does not reveal how many people were checked.
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = in_range(0usize, MAX_PAD_REQUESTS))]
    pub pad_requests: usize,
    /// With --api: accept a range API that has no manifest.json (an HIBP-compatible server
    /// other than leakdex serve, an export-ranges directory or the Pwned Passwords API). Without
    /// a manifest a wrong URL cannot be told from a range API whose ranges are all empty.
    #[arg(long, requires = "api")]
    pub api_unverified: bool,
    /// With --api: the longest one request may take, connecting to last byte, in seconds (a
    /// server that stalls or trickles ends the run, exit 2).
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = in_range(1u64, 3600))]
    pub api_timeout: u64,
    /// With --api: the longest the whole run may take, every request, retry and Retry-After
    /// wait, in seconds (exit 2 past it; no row is reported for a range never fetched).
    #[arg(long, default_value_t = 600, value_name = "SECS", value_parser = in_range(1u64, 86_400))]
    pub api_deadline: u64,
    /// With --api: a file whose first line is the range API's key, sent as hibp-api-key (also
    /// LEAKDEX_API_KEY). Never taken as an argument: arguments are visible to every local user.
    #[arg(long, value_name = "FILE", requires = "api")]
    pub api_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PaddingArg {
    /// Pad only when the client sends Add-Padding: true (HIBP behaviour).
    OnRequest,
    /// Pad every response to one constant size (default for email indexes).
    Constant,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Index to serve; repeat to serve an email, a password and an NTLM index side by side.
    #[arg(short, long = "index", value_name = "INDEX", required = true)]
    pub indexes: Vec<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// Padding of range responses (default: constant for email indexes, on request for passwords).
    #[arg(long, value_enum)]
    pub padding: Option<PaddingArg>,
    /// Refuse to start if the smallest non-empty range bucket holds fewer entries.
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = in_range(0u64, 1_000_000))]
    pub min_k: u64,
    /// Longest a request may take, in seconds.
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = in_range(1u64, 3600))]
    pub timeout: u64,
    /// Requests handled at once.
    #[arg(long, default_value_t = 1024, value_name = "N", value_parser = in_range(1usize, 65_536))]
    pub max_concurrency: usize,
    /// Client connections open at once (HTTP and HTTPS); more wait until one closes.
    #[arg(long, default_value_t = 4096, value_name = "N", value_parser = in_range(1usize, 1_000_000))]
    pub max_connections: usize,
    /// Seconds a client has to send a request head or finish a TLS handshake; idle keep-alive
    /// connections are closed after it too (slow clients cannot hold connections).
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = in_range(1u64, 3600))]
    pub header_timeout: u64,
    /// Largest request head in bytes (request line and header fields); larger get 431.
    #[arg(long, default_value_t = 16384, value_name = "BYTES", value_parser = in_range(1024usize, 1 << 20))]
    pub max_header_bytes: usize,
    /// File of breach-API keys, one per line (also LEAKDEX_API_KEYS, comma-separated); the
    /// /api/v3/breachedaccount route answers only requests with one of them.
    #[arg(long, value_name = "FILE")]
    pub api_keys: Option<PathBuf>,
    /// Breach-API requests per minute per key (0: unlimited).
    #[arg(long, default_value_t = 60, value_name = "N", value_parser = in_range(0u32, 1_000_000))]
    pub rate_limit: u32,
    /// Whether email ranges need an API key (default: required when keys are given, else off).
    #[arg(long, value_enum, value_name = "POLICY")]
    pub range_keys: Option<KeyPolicyArg>,
    /// Whether password and NTLM ranges need an API key.
    #[arg(long, value_enum, value_name = "POLICY", default_value = "off")]
    pub password_range_keys: KeyPolicyArg,
    /// Range requests per minute per API key (0: unlimited).
    #[arg(long, default_value_t = leakdex_server::access::DEFAULT_RANGE_PER_KEY, value_name = "N", value_parser = in_range(0u32, 1_000_000))]
    pub range_rate_limit: u32,
    /// Range requests per minute per client address without an API key (0: unlimited).
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = in_range(0u32, 1_000_000))]
    pub address_rate_limit: u32,
    /// Wrong API keys per minute per client address; past it every key-checked request from
    /// that address gets 429 (0: unlimited).
    #[arg(long, default_value_t = leakdex_server::access::DEFAULT_KEY_FAILURES, value_name = "N", value_parser = in_range(0u32, 1_000_000))]
    pub key_failure_limit: u32,
    /// Seconds a response may take to be written to a client that stopped reading; then the
    /// connection is closed (clients that never read cannot hold connections).
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = in_range(1u64, 3600))]
    pub write_timeout: u64,
    /// Client connections open at once from one address; more are closed when accepted.
    /// Behind a reverse proxy every connection comes from the proxy: raise it there.
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = in_range(1usize, 1_000_000))]
    pub max_connections_per_ip: usize,
    /// PEM certificate chain: serve HTTPS (with --tls-key) for deployments without a proxy.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve Prometheus /metrics on this address only (plain HTTP); without it, no metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Let web pages of this origin read the range routes and the breach catalogue (CORS);
    /// repeatable; `*` for any origin. Default: no CORS headers.
    #[arg(long = "cors-origin", value_name = "ORIGIN", value_parser = parse_origin)]
    pub cors_origins: Vec<String>,
    /// Answer only requests whose Host is this name (or name:port); repeatable; others get 421;
    /// `*` for any host. Default: on a loopback address, loopback names only (`localhost`,
    /// 127.0.0.1, [::1]); elsewhere any host (a note at start says so).
    #[arg(long = "allowed-host", value_name = "HOST[:PORT]", value_parser = parse_host)]
    pub allowed_hosts: Vec<String>,
    /// Serve POST /api/v1/check (an email's and a password's full SHA-1 in, exposure out), for
    /// internal tools. NOT k-anonymous: the server sees the full hashes. Off by default (404).
    #[arg(long)]
    pub enable_check_api: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyPolicyArg {
    /// A valid hibp-api-key is needed (401 without one).
    Required,
    /// Without a key within --address-rate-limit; a wrong key is 401.
    Optional,
    /// Keys are not looked at.
    Off,
}

#[derive(Debug, clap::Args)]
pub struct ExportRangesArgs {
    #[command(flatten)]
    pub index: IndexArg,
    /// Directory to create (it must not exist); files get the index file's read bits.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Prefix length in hex digits (default: 5 for passwords, 6 for emails, as the API).
    #[arg(long, value_name = "N", value_parser = in_range(1usize, 8))]
    pub prefix_len: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Email,
    /// SHA-1 of passwords.
    Password,
    /// NTLM hashes of passwords (Pwned Passwords NTLM lists).
    Ntlm,
    /// check only: an email (--email) and a password (--password-stdin or --password-file) in
    /// one call, each asked of the index (or range API) of its kind.
    Auto,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Where to write the index (replaced atomically).
    #[arg(short, long, value_name = "INDEX")]
    pub output: PathBuf,
    /// What to index.
    #[arg(long, value_enum, default_value = "email")]
    pub kind: KindArg,
    /// TOML file with each source's title, breach_date, data_classes and description.
    #[arg(long, value_name = "MANIFEST.toml")]
    pub sources: Option<PathBuf>,
    /// Memory budget, e.g. 512M, 1G, 4GiB.
    #[arg(long, default_value = "1G", value_name = "SIZE", value_parser = parse_memory)]
    pub memory: u64,
    /// Bloom filter false-positive rate.
    #[arg(long, default_value_t = 0.001, value_name = "P", value_parser = in_range(FPR_RANGE.0, FPR_RANGE.1))]
    pub fpr: f64,
    /// Input format for every file: combo, csv, json, sql, plain, text, hashes or stealer
    /// (default: detected per file; the summary says what was detected and why).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format: Option<Format>,
    /// CSV column that holds the identifiers, for every CSV input; repeat it to read several
    /// (default: found by header name and content). Per source: `columns = [...]` in the
    /// sources manifest.
    #[arg(long, value_name = "NAME")]
    pub column: Vec<String>,
    /// Fail on the first unreadable or corrupt input instead of reporting it and going on.
    #[arg(long)]
    pub strict: bool,
    /// Parsing threads (default: one per core).
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = in_range(0usize, MAX_THREADS))]
    pub threads: usize,
    /// Directory for temporary runs (default: the output's directory).
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
    /// Write the build report (per file: lines, records, rejects) as JSON to FILE (`-`: standard
    /// output).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// No progress and no summary; errors only.
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the index even if no input gives a record (otherwise such a build is an error and
    /// leaves an existing index alone).
    #[arg(long)]
    pub allow_empty: bool,
    /// Deepest nesting of containers read (a file in a zip is at depth 1, a zip in that zip
    /// holds depth 2); deeper members are reported, not read.
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = in_range(0u32, 64))]
    pub max_depth: u32,
    /// Bytes the containers and documents of one input file may expand to in total (against
    /// decompression bombs); past it, that input stops with a warning.
    #[arg(long, default_value = "64G", value_name = "SIZE", value_parser = parse_positive_size)]
    pub max_expanded: u64,
    /// Make every file, archive member and document part that gives records a source of its
    /// own, named by where it was found (`share/projectweb.zip!案件/連絡先.xlsx!Sheet1`), so that
    /// `check` and `bulk` say in which file each hit is. Source names are shown to whoever
    /// queries the index (and the range API): use it for indexes kept in house.
    #[arg(long)]
    pub source_per_file: bool,
    /// Largest ratio of a member's expanded size to its stored size (past 1 MiB); a member
    /// that expands more stops with a warning (a zip bomb).
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = in_range(1u64, 1 << 40))]
    pub max_ratio: u64,
    /// Read obfuscated addresses in free text: `taro [at] example.jp`, `taro(at)example.jp`,
    /// `taro ＠ example.jp`, `taro [at] example [dot] jp`, and the bare `taro at example dot jp`
    /// when unambiguous. Counted apart in the summary ("deobfuscated").
    #[arg(long, value_enum, default_value = "on", value_name = "on|off")]
    pub deobfuscate: OnOff,
    /// Keep the plaintext addresses of DOMAIN and its subdomains (repeatable; also
    /// `own_domains = [...]` at the top of the sources manifest), so that `leakdex domain`
    /// lists them. The index then holds those addresses: protect it like the leak (mode 0600).
    #[arg(long, value_name = "DOMAIN")]
    pub own_domain: Vec<String>,
    /// The previous index of this corpus (last week's): each source keeps the `first_seen`
    /// date of the source of the same name there, and the summary says which sources are new.
    #[arg(long, value_name = "OLD.ldx")]
    pub previous: Option<PathBuf>,
    /// Corpus files or directories; - is stdin. NAME=PATH names the source NAME instead of
    /// after the file (an argument that is an existing path is always a path).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<std::ffi::OsString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BulkFormat {
    Table,
    Csv,
    Json,
    /// One self-contained HTML report (needs `-o FILE`, or `-o -` for standard output).
    Html,
}

#[derive(Debug, clap::Args)]
pub struct IndexArg {
    /// The index.
    #[arg(short, long, value_name = "INDEX")]
    pub index: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: Target,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: CheckFormat,
    /// Email addresses or passwords; none: read one per line from stdin (keeps passwords out
    /// of shell history).
    #[arg(value_name = "IDENTIFIER", conflicts_with_all = ["email", "password_stdin", "password_file"])]
    pub identifiers: Vec<String>,
    /// Sign-up check: this email address, answered beside the password (--password-stdin or
    /// --password-file) in one call: one row each, exit 1 if either is exposed.
    #[arg(long, value_name = "ADDRESS")]
    pub email: Option<String>,
    /// Sign-up check: read the password from the first line of stdin (never an argument:
    /// arguments are visible to every local user in `ps`).
    #[arg(long, conflicts_with = "password_file")]
    pub password_stdin: bool,
    /// Sign-up check: read the password from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BulkArgs {
    #[command(flatten)]
    pub target: Target,
    /// CSV column holding the identifiers (default: found by header name; makes the input CSV).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: BulkFormat,
    /// After the rows, the exposed addresses of DOMAIN (and its subdomains) that the staff
    /// list does not hold (repeatable; needs a local index; listed when the index was built
    /// with --own-domain DOMAIN, else counted). Not with --since (whose exit status says only
    /// whether something is new).
    #[arg(long, value_name = "DOMAIN", conflicts_with = "since")]
    pub unlisted: Vec<String>,
    /// Report only what is new since this older index (last week's): rows exposed now and
    /// clean or absent there, or exposed now in a source that did not hold them there; each
    /// says why. Exit 1 only when something is new. Needs -i INDEX of the same kind.
    #[arg(long, value_name = "OLD.ldx", requires = "index")]
    pub since: Option<PathBuf>,
    /// Where `--format html` writes its report (replaced atomically); `-` is standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Mask addresses in every output format (`t***@example.com`: the local part's first
    /// character, the domain kept).
    #[arg(long)]
    pub mask: bool,
    /// Staff-list column to count exposure by in the HTML report (`department`).
    #[arg(long, value_name = "COLUMN")]
    pub group_by: Option<String>,
    /// Staff list; - or nothing is stdin.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// With an NTLM index: `hashes` audits account password-hash exports (secretsdump,
    /// pwdump, DSInternals, mimikatz dcsync) per account; `passwords` checks one password per
    /// line. Default: hashes when the file looks like an export, else passwords.
    #[arg(long = "input", value_enum, value_name = "hashes|passwords")]
    pub input_kind: Option<InputKind>,
    /// With --input hashes: print each account's NT hash (hidden by default).
    #[arg(long)]
    pub show_hashes: bool,
}

/// What `bulk`'s input holds (`--input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputKind {
    /// Account password-hash exports: a directory password audit.
    Hashes,
    /// One password per line.
    Passwords,
}

#[derive(Debug, clap::Args)]
pub struct DomainArgs {
    /// The email index.
    #[arg(short, long, value_name = "INDEX")]
    pub index: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: BulkFormat,
    /// Count each domain with all its subdomains (`example.com` includes `hr.example.com`).
    #[arg(long)]
    pub subdomains: bool,
    /// Domains, in Unicode or ASCII (punycode) form.
    #[arg(required = true, value_name = "DOMAIN")]
    pub domains: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub index: IndexArg,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExportFilterArgs {
    #[command(flatten)]
    pub index: IndexArg,
    /// Where to write the filter (replaced atomically).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

/// Parses a format name ([`Format::from_name`]), listing the names on error.
fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        format!("unknown format {s:?} (one of: {})", names.join(", "))
    })
}

/// Most dummy prefixes a request batch is padded to a multiple of (`--pad-requests`).
pub const MAX_PAD_REQUESTS: usize = 100_000;

/// A parser for a number between `lo` and `hi` inclusive; the error gives the range and what was
/// given (NaN and other values outside the range are refused).
fn in_range<T>(lo: T, hi: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy + Send + Sync + 'static,
{
    move |s: &str| {
        let v: T = s.trim().parse().map_err(|_| format!("{s:?} is not a number (allowed: {lo} to {hi})"))?;
        if v >= lo && v <= hi {
            Ok(v)
        } else {
            Err(format!("{s} is out of range (allowed: {lo} to {hi})"))
        }
    }
}

/// Parses `--cors-origin`: `*`, or `scheme://host[:port]` as browsers send it in `Origin`.
fn parse_origin(s: &str) -> Result<String, String> {
    let o = s.trim().trim_end_matches('/');
    let ok = o == "*"
        || o.split_once("://").is_some_and(|(scheme, rest)| {
            !scheme.is_empty()
                && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                && !rest.is_empty()
                && rest.bytes().all(|b| b.is_ascii_graphic() && !b"/?#@".contains(&b))
        });
    if ok {
        Ok(o.to_string())
    } else {
        Err(format!("{s:?} is not an origin: give scheme://host[:port] (e.g. https://app.example) or *"))
    }
}

/// Parses `--allowed-host` (the rules are the server's: [`leakdex_server::check_allowed_host`]).
fn parse_host(s: &str) -> Result<String, String> {
    leakdex_server::check_allowed_host(s.trim()).map(|()| s.trim().to_string())
}

/// Parses a size that must not be zero.
fn parse_positive_size(s: &str) -> Result<u64, String> {
    match parse_size(s)? {
        0 => Err("must be more than 0".into()),
        n => Ok(n),
    }
}

/// Parses `--memory`: a size between [`MIN_MEMORY`] and [`MAX_MEMORY`].
fn parse_memory(s: &str) -> Result<u64, String> {
    let allowed = format!("allowed: {}M to {}T", MIN_MEMORY >> 20, MAX_MEMORY >> 40);
    match parse_size(s) {
        Ok(n) if (MIN_MEMORY..=MAX_MEMORY).contains(&n) => Ok(n),
        Ok(_) => Err(format!("{s} is out of range ({allowed})")),
        Err(e) => Err(format!("{e} ({allowed})")),
    }
}

/// Parses a size such as `1G`, `512M`, `1.5GiB`, `800MB` or a plain number of bytes. Units are
/// binary (K = 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a size (try 512M or 2G)"))?;
    if !n.is_finite() {
        return Err(format!("{s:?} is not a size (try 512M or 2G)"));
    }
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => return Err(format!("unknown size unit {other:?} in {s:?} (use K, M, G or T)")),
    };
    let bytes = n * mult as f64;
    if bytes >= u64::MAX as f64 {
        return Err(format!("{s:?} is too large"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3X").is_err());
        assert!(parse_size("99999999999999T").is_err());
    }
}
