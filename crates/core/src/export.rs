//! The static export of `leakdex export-ranges` (no HTTP): every non-empty range as a file holding the API's exact body, so
//! that a static web server, an object store or a CDN serves the same range API.
//!
//! Layout: `DIR/range/{PREFIX}` (passwords, `text/plain`) or `DIR/range/search/{PREFIX}`
//! (emails, JSON), uppercase prefixes, plus `DIR/manifest.json` and, for email indexes, the
//! breach catalogue `DIR/api/v3/breaches` (as `GET /api/v3/breaches` answers it). Empty ranges have no file:
//! the web server answers those (see the README's nginx configuration).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic::Mode;
use crate::range::{self, email_body, password_body, EmailEntry};
use crate::{Index, Kind};

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExportReport {
    /// Email or password.
    pub kind: Kind,
    /// Prefix length in hex digits.
    pub prefix_len: usize,
    /// Range files written.
    pub files: u64,
    /// Entries written.
    pub entries: u64,
}

/// Errors of an export.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExportError {
    /// The destination exists.
    Exists(PathBuf),
    /// A prefix length outside 1..=8.
    PrefixLen(usize),
    /// Reading the index failed.
    Index(crate::Error),
    /// Writing failed.
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Exists(p) => write!(
                f,
                "{} exists; export to a new directory and switch a symlink (or the server's root) to it, so that clients never see a half-replaced export",
                p.display()
            ),
            ExportError::PrefixLen(n) => write!(f, "prefix length {n} is not between 1 and 8"),
            ExportError::Index(_) => f.write_str("cannot read the index"),
            ExportError::Io(p, _) => write!(f, "cannot write {}", p.display()),
        }
    }
}

impl std::error::Error for ExportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExportError::Index(e) => Some(e),
            ExportError::Io(_, e) => Some(e),
            _ => None,
        }
    }
}

/// Permission bits of the directories of an export whose files get `mode`: searchable by whom
/// may read the files, writable by the owner alone (no one else can plant a file or a link
/// in them).
fn dir_mode(mode: u32) -> u32 {
    let read = mode & 0o044;
    0o700 | read | (read >> 2)
}

/// Writes the export into a temporary directory beside `dest` and renames it to `dest`, so a
/// half-written export is never served. Files get permission bits `mode` (give the index
/// file's: [`crate::atomic::mode_of_inputs`]), directories the matching search bits
/// ([`dir_mode`]), both masked by the umask and set as they are created, never by name
/// afterwards. Group bits are kept only if the export's directory got the index's group
/// ([`Mode::bits_for_group`]); the directory is created without them and given them through
/// its handle. Anything at `dest` (a symbolic link too, even a dangling one) is refused.
pub fn export_ranges<D: AsRef<[u8]>>(
    index: &Index<D>,
    dest: &Path,
    prefix_len: Option<usize>,
    access: Mode,
) -> Result<ExportReport, ExportError> {
    let kind = index.kind();
    let len = prefix_len.unwrap_or(range::prefix_len(kind));
    if !(1..=8).contains(&len) {
        return Err(ExportError::PrefixLen(len));
    }
    if fs::symlink_metadata(dest).is_ok() {
        return Err(ExportError::Exists(dest.to_path_buf()));
    }
    let parent = crate::atomic::dir_of(dest);
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "ranges".into());
    let mut builder = tempfile::Builder::new();
    let prefix = format!(".{name}.leakdex-tmp-{}-", std::process::id());
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(dir_mode(access.safe_bits())));
    }
    let tmp = builder.tempdir_in(&parent).map_err(|e| ExportError::Io(parent.clone(), e))?;
    let mode = group_mode(tmp.path(), access)?;
    let sub = match kind {
        Kind::Password | Kind::Ntlm => tmp.path().join("range"),
        Kind::Email => tmp.path().join("range").join("search"),
    };
    create_dirs(&sub, mode)?;
    let mut report = ExportReport { kind, prefix_len: len, files: 0, entries: 0 };
    let sources = index.sources();
    let mut current: Option<String> = None;
    let mut pw: Vec<(String, u64)> = Vec::new();
    let mut em: Vec<EmailEntry<'_>> = Vec::new();
    let flush = |prefix: &str, pw: &mut Vec<(String, u64)>, em: &mut Vec<EmailEntry<'_>>, report: &mut ExportReport| {
        let body = match kind {
            Kind::Password | Kind::Ntlm => password_body(pw),
            Kind::Email => email_body(em),
        };
        report.entries += (pw.len() + em.len()) as u64;
        report.files += 1;
        pw.clear();
        em.clear();
        write_new(&sub.join(prefix), body.as_bytes(), mode)
    };
    for e in range::all_entries(index) {
        let e = e.map_err(ExportError::Index)?;
        let h = crate::hex(&e.key[..4]);
        let prefix = &h[..len];
        if current.as_deref() != Some(prefix) {
            if let Some(p) = current.take() {
                flush(&p, &mut pw, &mut em, &mut report)?;
            }
            current = Some(prefix.to_string());
        }
        match kind {
            Kind::Password | Kind::Ntlm => pw.push(range::password_line(&e, kind, len)),
            Kind::Email => em.push(range::email_entry(&e, sources, len)),
        }
    }
    if let Some(p) = current.take() {
        flush(&p, &mut pw, &mut em, &mut report)?;
    }
    if kind == Kind::Email {
        // The breach catalogue, as `leakdex serve` answers `/api/v3/breaches`: clients take
        // breach dates from it.
        let dir = tmp.path().join("api").join("v3");
        create_dirs(&dir, mode)?;
        write_new(&dir.join("breaches"), range::catalogue(index).as_bytes(), mode)?;
    }
    let manifest = serde_json::json!({
        "kind": kind,
        "prefix_len": len,
        "files": report.files,
        "entries": report.entries,
        "built_at": index.meta().built_at,
        "tool_version": env!("CARGO_PKG_VERSION"),
    });
    let manifest = serde_json::to_string_pretty(&manifest).expect("manifest serializes");
    write_new(&tmp.path().join("manifest.json"), manifest.as_bytes(), mode)?;
    let kept = tmp.keep();
    fs::rename(&kept, dest).map_err(|e| ExportError::Io(dest.to_path_buf(), e))?;
    Ok(report)
}

/// The file bits of an export in the new directory `dir`: [`Mode::safe_bits`], or all of the
/// bits when `dir`'s group (which the files in it get) is the index's; then `dir` is given the
/// matching group search bits through a handle. Where the umask cannot be read, the safe bits.
fn group_mode(dir: &Path, access: Mode) -> Result<u32, ExportError> {
    let safe = access.safe_bits();
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let io = |e| ExportError::Io(dir.to_path_buf(), e);
        let handle = fs::File::open(dir).map_err(io)?;
        let meta = handle.metadata().map_err(io)?;
        if access.bits_for_group(meta.gid()) != safe {
            if let Some(mask) = crate::atomic::umask() {
                // The setgid bit (inherited in a setgid directory) stays: the files get the group.
                let keep = meta.permissions().mode() & 0o7000;
                let bits = keep | (dir_mode(access.bits) & !mask);
                handle.set_permissions(fs::Permissions::from_mode(bits)).map_err(io)?;
                return Ok(access.bits);
            }
        }
    }
    Ok(safe)
}

/// Creates `dir` and its missing parents with the directory bits for `mode`.
fn create_dirs(dir: &Path, mode: u32) -> Result<(), ExportError> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(dir_mode(mode));
    }
    let _ = mode;
    b.create(dir).map_err(|e| ExportError::Io(dir.to_path_buf(), e))
}

/// Writes a new file (created exclusively: an existing file or link is an error, never
/// followed) with permission bits `mode`, and syncs it.
fn write_new(path: &Path, body: &[u8], mode: u32) -> Result<(), ExportError> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode);
    }
    let _ = mode;
    let mut f = o.open(path).map_err(|e| ExportError::Io(path.to_path_buf(), e))?;
    f.write_all(body).and_then(|_| f.sync_all()).map_err(|e| ExportError::Io(path.to_path_buf(), e))
}
