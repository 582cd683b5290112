//! The input layer: paths to files (a directory is walked; FIFOs, sockets and devices are
//! reported, not read), each file decompressed and its encoding detected, a tar archive opened
//! one level deep, containers this version cannot read sniffed and reported, the format
//! detected, and the stream cut by a `Framer` into `Chunk`s of whole records, sent over a
//! bounded channel to the parsing threads. Every file, tar member and special file gets a
//! [`FileReport`]; an error stops that file (records before it still count), never silently.
//!
//! Limits: chunks of [`ingest::CHUNK`] bytes (a longer record is rejected and skipped); a tar
//! inside a tar is not opened; zip archives, office documents, PDF and mail containers are not
//! read (said as a warning, see issue 11). This module knows nothing of the build's options:
//! it takes `InputOptions`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::format::Kind;
use crate::ingest::frame::Framer;
use crate::ingest::{self, FileFormat, FileStats, Format};
use crate::report::{FileReport, Phase, Progress};

/// One input: a file, a directory (all files below it, recursively) or `-` for stdin. Each
/// input is one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// The path; `-` is standard input.
    pub path: PathBuf,
    /// The source name; by default the file or directory name without its extensions.
    pub name: Option<String>,
}

impl InputSpec {
    /// An input named after its path.
    pub fn path(p: impl Into<PathBuf>) -> InputSpec {
        InputSpec { path: p.into(), name: None }
    }
    pub(crate) fn is_stdin(&self) -> bool {
        self.path.as_os_str() == "-"
    }
    pub(crate) fn source_name(&self) -> String {
        match (&self.name, self.is_stdin()) {
            (Some(n), _) => n.clone(),
            (None, true) => "stdin".into(),
            (None, false) => ingest::source_name(&self.path),
        }
    }
}

/// What the reading side needs to know of the build's settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InputOptions {
    /// Email or password index.
    pub kind: Kind,
    /// Format for every file instead of detection.
    pub format: Option<Format>,
    /// Read obfuscated addresses in free text (`FileFormat::deobfuscate`).
    pub deobfuscate: bool,
}

/// A chunk of whole records for a parsing thread, with the framer's state at its first byte
/// (see [`ingest::stream`]: the parser resumes from exactly that state).
pub(crate) struct Chunk {
    pub(crate) file: usize,
    pub(crate) source: u32,
    pub(crate) format: Arc<FileFormat>,
    pub(crate) start: ingest::Start,
    pub(crate) first_line: u64,
    pub(crate) data: Vec<u8>,
}

/// Every file of an input, in a stable order. What a directory holds that is not a file or a
/// directory (a FIFO, a socket, a device) goes to `special`, with what it is, to be reported.
pub(crate) fn files_of(input: &InputSpec, special: &mut Vec<(PathBuf, String)>) -> Result<Vec<PathBuf>> {
    if input.is_stdin() {
        return Ok(vec![input.path.clone()]);
    }
    let meta = std::fs::metadata(&input.path).map_err(|e| Error::io(&input.path, e))?;
    if !meta.is_dir() {
        return Ok(vec![input.path.clone()]);
    }
    let mut out = Vec::new();
    // Links are followed (dumps are often linked in from elsewhere; walkdir stops loops).
    for entry in walkdir::WalkDir::new(&input.path).follow_links(true).sort_by_file_name() {
        match entry {
            // FIFOs, sockets and devices are not corpora (reading a FIFO could block the build
            // forever): said in the summary, not read. Directories are walked.
            Ok(entry) => {
                let t = entry.file_type();
                if t.is_file() {
                    out.push(entry.into_path());
                } else if !t.is_dir() {
                    special.push((entry.into_path(), format!("{}: not read", special_kind(t))));
                }
            }
            // A dangling link is listed like a file, so that the build reports it as unreadable
            // and goes on with the rest (or stops, with --strict).
            Err(e) if e.path().is_some_and(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_symlink())) => {
                out.push(e.path().expect("checked").to_path_buf());
            }
            Err(e) => return Err(Error::Input { path: input.path.clone(), reason: e.to_string() }),
        }
    }
    Ok(out)
}

/// What a directory entry that is neither a file nor a directory is.
fn special_kind(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "named pipe";
        }
        if t.is_socket() {
            return "socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "device file";
        }
    }
    let _ = t;
    "special file"
}

/// A reader that fails once with a stored error (the error met while sniffing, replayed where
/// the tar reader expects the rest of the stream).
struct FailingReader(Option<std::io::Error>);

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// Reads `r` to fill `buf` up to `want` bytes; returns false at end of input.
fn fill(r: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    while buf.len() < want {
        let start = buf.len();
        buf.resize(want, 0);
        match r.read(&mut buf[start..]) {
            Ok(0) => {
                buf.truncate(start);
                return Ok(false);
            }
            Ok(n) => buf.truncate(start + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(start),
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
    Ok(true)
}

/// Everything the reading side needs.
pub(crate) struct Reader<'a> {
    pub(crate) opts: InputOptions,
    pub(crate) tx: crossbeam_channel::Sender<Chunk>,
    pub(crate) bytes_read: Arc<AtomicU64>,
    pub(crate) bytes_total: Option<u64>,
    pub(crate) records: Arc<AtomicU64>,
    pub(crate) failed: Arc<AtomicBool>,
    pub(crate) progress: &'a mut dyn FnMut(&Progress),
    pub(crate) last_progress: Instant,
    /// One report per file read, tar members included; indexed by file id.
    pub(crate) reports: Vec<FileReport>,
    /// What the reading side counted per file (skipped over-long lines, header lines).
    pub(crate) stats: Vec<FileStats>,
    /// The CSV columns asked for each source (empty: found by header and content).
    pub(crate) columns: Vec<Vec<String>>,
}

impl Reader<'_> {
    pub(crate) fn report(&mut self, force: bool) {
        if force || self.last_progress.elapsed() >= Duration::from_millis(100) {
            self.last_progress = Instant::now();
            (self.progress)(&Progress {
                phase: Phase::Reading,
                bytes_read: self.bytes_read.load(Ordering::Relaxed),
                bytes_total: self.bytes_total,
                records: self.records.load(Ordering::Relaxed),
                merged: 0,
                to_merge: 0,
            });
        }
    }

    pub(crate) fn new_report(&mut self, path: String, source: &str) -> usize {
        self.reports.push(FileReport::new(path, source));
        self.stats.push(FileStats::default());
        self.reports.len() - 1
    }

    /// Reads one input file (a tar archive: each member) into chunks. Errors are recorded in
    /// the file's report; records before an error still count.
    pub(crate) fn read_file(&mut self, source: u32, source_name: &str, path: &Path) {
        let name = path.to_string_lossy().into_owned();
        let id = self.new_report(name.clone(), source_name);
        let raw: Box<dyn Read> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            match File::open(path) {
                Ok(f) => Box::new(f),
                Err(e) => {
                    self.reports[id].error = Some(e.to_string());
                    return;
                }
            }
        };
        let before = self.bytes_read.load(Ordering::Relaxed);
        let counter = self.bytes_read.clone();
        if let Err(e) = self.read_input(id, source, source_name, raw, &name, counter, true) {
            self.reports[id].error = Some(e);
        }
        self.reports[id].bytes = self.bytes_read.load(Ordering::Relaxed) - before;
    }

    /// Reads one stream: decompresses it, and either walks it as a tar archive (`allow_tar`,
    /// one level deep) or detects its format and sends it out in chunks.
    #[allow(clippy::too_many_arguments)]
    fn read_input(
        &mut self,
        id: usize,
        source: u32,
        source_name: &str,
        raw: Box<dyn Read + '_>,
        name: &str,
        counter: Arc<AtomicU64>,
        allow_tar: bool,
    ) -> std::result::Result<(), String> {
        let (mut r, compression, encoding) = ingest::decode_stream_detected(raw, counter).map_err(|e| e.to_string())?;
        self.reports[id].encoding = encoding.map(|e| e.name().to_string());
        self.reports[id].compression = Some(compression.name().into());
        let mut buf = Vec::with_capacity(ingest::CHUNK);
        // A read error here (a small damaged file) still leaves what was read before it.
        let (more, pending) = match fill(&mut r, &mut buf, ingest::SNIFF_BYTES) {
            Ok(m) => (m, None),
            Err(e) => (false, Some(e)),
        };
        // A tar inside a tar is not opened (one level, against bombs): said, never read as text.
        let nested_tar = (!allow_tar && ingest::is_tar(&buf)).then(|| ingest::container::Sniffed {
            what: "tar archive inside an archive (nested archives are not opened)".into(),
            read_anyway: false,
        });
        if let Some(sniffed) = nested_tar.or_else(|| ingest::container::sniff(&buf)) {
            if !sniffed.read_anyway {
                self.reports[id].format = Some("unsupported".into());
                self.reports[id].warnings.push(format!("{}: not read ({})", sniffed.what, ingest::container::READABLE));
                // Account for its bytes: read them through, without parsing.
                let rest = std::io::copy(&mut r, &mut std::io::sink());
                return match (pending, rest) {
                    (Some(e), _) | (None, Err(e)) => Err(describe(e, compression)),
                    (None, Ok(_)) => Ok(()),
                };
            }
            self.reports[id].warnings.push(format!("{}: read as text, check its records", sniffed.what));
        }
        if allow_tar && ingest::is_tar(&buf) {
            self.reports[id].format = Some("tar".into());
            let rest: Box<dyn Read + '_> = match pending {
                Some(e) => Box::new(FailingReader(Some(e))),
                None => r,
            };
            let mut archive = tar::Archive::new(std::io::Cursor::new(buf).chain(rest));
            let entries = archive.entries().map_err(|e| describe(e, compression))?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("tar archive: {}", describe(e, compression)))?;
                let member =
                    format!("{name}!{}", entry.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default());
                if let Some(why) = skipped_member(&entry) {
                    let mid = self.new_report(member, source_name);
                    self.reports[mid].skipped = Some(why);
                    continue;
                }
                let mid = self.new_report(member.clone(), source_name);
                let size = entry.size();
                let result = self.read_input(
                    mid,
                    source,
                    source_name,
                    Box::new(entry),
                    &member,
                    Arc::new(AtomicU64::new(0)),
                    false,
                );
                self.reports[mid].bytes = size;
                if let Err(e) = result {
                    self.reports[mid].error = Some(e.clone());
                    // A damaged member leaves the archive stream at an unknown place.
                    return Err(format!("stopped at member {member}: {e}"));
                }
            }
            return Ok(());
        }
        let mut stats = std::mem::take(&mut self.stats[id]);
        let mut report = std::mem::replace(&mut self.reports[id], FileReport::new(String::new(), ""));
        let mut result = self.read_stream(id, source, r, buf, more, compression, name, &mut report, &mut stats);
        if let (Ok(()), Some(e)) = (&result, pending) {
            result = Err(describe(e, compression));
        }
        self.stats[id] = stats;
        self.reports[id] = report;
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn read_stream(
        &mut self,
        file_id: usize,
        source: u32,
        mut r: Box<dyn Read + '_>,
        mut buf: Vec<u8>,
        mut more: bool,
        compression: ingest::Compression,
        name: &str,
        report: &mut FileReport,
        stats: &mut FileStats,
    ) -> std::result::Result<(), String> {
        let columns = &self.columns[source as usize];
        let (mut format, skip) =
            ingest::detect(&buf, name, self.opts.kind, self.opts.format, columns).map_err(|e| e.0)?;
        format.deobfuscate = self.opts.deobfuscate;
        report.format = Some(format.format.name().into());
        report.detection = (!format.detection.is_empty()).then(|| format.detection.clone());
        let mut line = 1 + memchr::memchr_iter(b'\n', &buf[..skip]).count() as u64;
        stats.lines += line - 1;
        buf.drain(..skip);
        let (mode, detection) = ingest::initial_mode(&buf, &format);
        if detection.is_some() {
            report.detection = detection;
        }
        let format = Arc::new(format);
        let mut framer = Framer::for_format(&format, mode);
        let mut skipping = false;
        // Whether the skipped bytes so far end with a newline (the stateful framers skip over
        // whole lines too).
        let mut skipped_ends_line = false;
        loop {
            if self.failed.load(Ordering::Relaxed) {
                return Ok(()); // a worker failed; the build reports its error
            }
            if more {
                match fill(&mut r, &mut buf, ingest::CHUNK) {
                    Ok(m) => more = m,
                    Err(e) => {
                        // Records before the damage still count.
                        if !skipping {
                            self.send_rest(file_id, source, &format, &framer, &mut buf, &mut line);
                        }
                        return Err(describe(e, compression));
                    }
                }
            }
            if skipping {
                match framer.resync(&buf) {
                    Some(p) => {
                        let n = memchr::memchr_iter(b'\n', &buf[..p]).count() as u64;
                        stats.lines += n;
                        line += n;
                        buf.drain(..p);
                        skipping = false;
                    }
                    None => {
                        let n = memchr::memchr_iter(b'\n', &buf).count() as u64;
                        stats.lines += n;
                        line += n;
                        if let Some(&b) = buf.last() {
                            skipped_ends_line = b == b'\n';
                        }
                        buf.clear();
                        if !more {
                            // An unterminated last line inside the skipped record counts.
                            stats.lines += u64::from(!skipped_ends_line);
                            return Ok(());
                        }
                        continue;
                    }
                }
            }
            if !more {
                self.send_rest(file_id, source, &format, &framer, &mut buf, &mut line);
                self.report(false);
                return Ok(());
            }
            let start = framer.start();
            match framer.cut(&buf) {
                Some(p) => {
                    let rest = buf[p..].to_vec();
                    buf.truncate(p);
                    let data = std::mem::replace(&mut buf, rest);
                    buf.reserve(ingest::CHUNK.saturating_sub(buf.len()));
                    let start = ingest::Start { mode: start, last: false };
                    self.send(file_id, source, &format, start, data, &mut line);
                }
                None if buf.len() >= ingest::CHUNK => {
                    stats.reject(framer.overlong_reason(), line, || format!("<over {} bytes>", buf.len()));
                    skipping = true;
                }
                None => {}
            }
            self.report(false);
        }
    }

    fn send(
        &mut self,
        file: usize,
        source: u32,
        format: &Arc<FileFormat>,
        start: ingest::Start,
        data: Vec<u8>,
        line: &mut u64,
    ) {
        let first_line = *line;
        *line += memchr::memchr_iter(b'\n', &data).count() as u64;
        let chunk = Chunk { file, source, format: format.clone(), start, first_line, data };
        // Workers only stop once the channel is closed, so this fails only if all of them
        // panicked; the join below reports that.
        let _ = self.tx.send(chunk);
    }

    fn send_rest(
        &mut self,
        file: usize,
        source: u32,
        format: &Arc<FileFormat>,
        framer: &Framer,
        buf: &mut Vec<u8>,
        line: &mut u64,
    ) {
        // Sent even when empty for the stateful formats: the last chunk reports what is left
        // open at the end of the file (a string, a bracket).
        let stateful = matches!(framer, Framer::Sql(_) | Framer::Json(_));
        if !buf.is_empty() || stateful {
            let start = ingest::Start { mode: framer.start(), last: true };
            self.send(file, source, format, start, std::mem::take(buf), line);
        }
    }
}

/// Why a tar member is not read, or `None` for a regular file (read) or a directory (walked).
fn skipped_member<R: Read>(entry: &tar::Entry<'_, R>) -> Option<String> {
    use tar::EntryType;
    let t = entry.header().entry_type();
    if t.is_file() || t.is_dir() {
        return None;
    }
    let target =
        || entry.link_name().ok().flatten().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|| "?".into());
    Some(match t {
        EntryType::Symlink => format!("symbolic link to {}: not followed", target()),
        EntryType::Link => format!("hard link to {}: not read again (its target member is read)", target()),
        EntryType::Char | EntryType::Block => "device file: not read".into(),
        EntryType::Fifo => "named pipe: not read".into(),
        other => format!("tar member of type {:?}: not read", other.as_byte() as char),
    })
}

fn describe(e: std::io::Error, c: ingest::Compression) -> String {
    match c {
        ingest::Compression::None => format!("read error: {e}"),
        c => format!("{} stream is truncated or corrupt: {e}", c.name()),
    }
}
