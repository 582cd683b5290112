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
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::format::Kind;
use crate::ingest::frame::Framer;
use crate::ingest::readers::{self, Access, MemberHint, Sink, Source, Stop};
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
#[derive(Debug, Clone)]
pub(crate) struct InputOptions {
    /// Email or password index.
    pub kind: Kind,
    /// Format for every file instead of detection.
    pub format: Option<Format>,
    /// Bounds on containers and documents.
    pub limits: ContainerLimits,
    /// Where nested members that need random access are spooled when they are larger than
    /// `spool_memory` (`None`: the system's temporary directory).
    pub spool_dir: Option<PathBuf>,
    /// Largest spool held in memory (at most [`SPOOL_MEMORY`]; the build gives an eighth of
    /// its `--memory`).
    pub spool_memory: u64,
    /// Every file, member and document part that gives records is a source of its own, named
    /// by its provenance (`share/projectweb.zip!案件/連絡先.xlsx!Sheet1`), instead of each input.
    pub source_per_file: bool,
    /// Read obfuscated addresses in free text (`FileFormat::deobfuscate`).
    pub deobfuscate: bool,
}

/// Bounds on what containers (zip, 7z, tar, mail) and documents may expand to, against
/// decompression bombs. Each one hit is reported on the member where it was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerLimits {
    /// Deepest nesting read: a member of a zip file is at depth 1, a member of a zip inside
    /// it at depth 2. Deeper members are reported, not read.
    pub max_depth: u32,
    /// Bytes that the containers and documents of one input file may expand to in total;
    /// when spent, that input stops (what was read before counts).
    pub max_expanded: u64,
    /// Largest ratio of a member's expanded size to its stored size, once it is past
    /// [`RATIO_FLOOR`] bytes (a zip bomb expands a thousandfold and more; text compresses
    /// about tenfold, a repetitive CSV rarely past two hundredfold).
    pub max_ratio: u64,
}

impl Default for ContainerLimits {
    fn default() -> ContainerLimits {
        ContainerLimits { max_depth: 4, max_expanded: 64 << 30, max_ratio: 1000 }
    }
}

/// Expanded bytes under which a member's compression ratio is not checked (a tiny stored
/// member of zeros is no bomb).
pub const RATIO_FLOOR: u64 = 1 << 20;

/// Largest nested member spooled to memory for a reader that needs random access; larger
/// ones go to an anonymous temporary file.
pub const SPOOL_MEMORY: u64 = 64 << 20;

/// Where a stream is in the tree of containers: its report, source and provenance name,
/// its depth, and whether it is a file or a document part.
pub(crate) struct Place<'a> {
    id: usize,
    source: u32,
    source_name: &'a str,
    name: &'a str,
    /// The provenance relative to the input, for per-file source names: the input's name,
    /// then the path inside a directory input, then `!member` for each container level.
    label: &'a str,
    depth: u32,
    part: Part,
}

/// What a stream is: a file (detected, containers opened) or a part of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// A file or a member: everything is detected.
    File,
    /// Text a document holds: read as free text.
    Text,
    /// A sheet's rows: free text in an email index, CSV in a password index.
    Table,
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
    /// What the input file being read may still expand to ([`ContainerLimits::max_expanded`]).
    pub(crate) budget_left: Arc<AtomicU64>,
    /// With [`InputOptions::source_per_file`]: the sources made so far, each with its input's
    /// source and its provenance name; their ids follow the inputs' ones.
    pub(crate) file_sources: Vec<(u32, String)>,
    /// How many sources the inputs have (the first file source's id).
    pub(crate) input_sources: u32,
    /// The provenance label of each file id (empty for what has none): where an owned
    /// address was found ([`crate::domains::OwnedAddress::found_in`]).
    pub(crate) labels: Vec<String>,
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
        self.labels.push(String::new());
        self.reports.len() - 1
    }

    /// Reads one input file (a container: each member, recursively) into chunks. Errors are
    /// recorded in the file's report; records before an error still count.
    pub(crate) fn read_file(&mut self, source: u32, source_name: &str, path: &Path, label: &str) {
        let name = path.to_string_lossy().into_owned();
        let id = self.new_report(name.clone(), source_name);
        self.labels[id] = label.to_string();
        self.budget_left.store(self.opts.limits.max_expanded, Ordering::Relaxed);
        let (raw, handle): (Box<dyn Read>, Option<File>) = if path.as_os_str() == "-" {
            (Box::new(std::io::stdin()), None)
        } else {
            match File::open(path) {
                Ok(f) => {
                    let handle = f.try_clone().ok();
                    (Box::new(f), handle)
                }
                Err(e) => {
                    self.reports[id].error = Some(e.to_string());
                    return;
                }
            }
        };
        let before = self.bytes_read.load(Ordering::Relaxed);
        let counter = self.bytes_read.clone();
        let at = Place { id, source, source_name, name: &name, label, depth: 0, part: Part::File };
        if let Err(e) = self.read_input(&at, raw, counter, handle.as_ref()) {
            self.reports[id].error = Some(e);
        }
        self.reports[id].bytes = self.bytes_read.load(Ordering::Relaxed) - before;
    }

    /// Reads one stream: decompresses it, and hands it to a container or document reader
    /// when one recognizes it (on its bytes, before any text decoding, which would corrupt
    /// them), or decodes its text, detects its format and sends it out in chunks. `file` is
    /// the top-level file's own handle, for readers that need random access (then not copied).
    fn read_input(
        &mut self,
        at: &Place<'_>,
        raw: Box<dyn Read + '_>,
        counter: Arc<AtomicU64>,
        file: Option<&File>,
    ) -> std::result::Result<(), String> {
        let id = at.id;
        let counted_before = counter.load(Ordering::Relaxed);
        let (mut d, compression) = ingest::decompress(raw, counter.clone()).map_err(|e| e.to_string())?;
        self.reports[id].compression = Some(compression.name().into());
        // A compressed member expands again (a gzip bomb in a zip, past the zip's ratio
        // check): what its decompression gives is charged to the input's budget. A top-level
        // file's own decompression is not (a 40 GB dump.gz is a corpus, not a bomb); only
        // what is spooled from it is.
        if at.depth > 0 && compression != ingest::Compression::None {
            d = Box::new(Charged { inner: d, budget: self.budget_left.clone() });
        }
        if at.part == Part::File {
            let mut head = Vec::with_capacity(ingest::SNIFF_BYTES);
            // A read error here (a small damaged file) still leaves what was read before it.
            let pending = fill(&mut d, &mut head, ingest::SNIFF_BYTES).err();
            let rest: Box<dyn Read + '_> = match pending {
                Some(e) => Box::new(FailingReader(Some(e))),
                None => d,
            };
            if let Some(entry) = readers::recognize(&head, at.name) {
                self.reports[id].format = Some(entry.name.into());
                let counted = counter.load(Ordering::Relaxed) - counted_before;
                let whole = Whole { head, rest, file, compression, counter, counted };
                return self.open_container(at, entry, whole).map_err(|e| with_compression(e, compression));
            }
            let sniffed = ingest::container::sniff(&head);
            let mut all = std::io::Cursor::new(head).chain(rest);
            if let Some(sniffed) = sniffed {
                if !sniffed.read_anyway {
                    self.reports[id].format = Some("unsupported".into());
                    let why = format!("{}: not read ({})", sniffed.what, ingest::container::READABLE);
                    self.reports[id].warnings.push(why);
                    // Account for its bytes: read them through, without parsing.
                    return std::io::copy(&mut all, &mut std::io::sink())
                        .map(|_| ())
                        .map_err(|e| describe(e, compression));
                }
                self.reports[id].warnings.push(format!("{}: read as text, check its records", sniffed.what));
            }
            d = Box::new(all);
        }
        let (mut r, encoding) = ingest::decode_text_stream(d).map_err(|e| e.to_string())?;
        self.reports[id].encoding = encoding.map(|e| e.name().to_string());
        let forced = match (at.part, self.opts.kind) {
            (Part::File, _) => self.opts.format,
            // Document text and sheets: every address in them, whatever the cells' layout.
            (Part::Text | Part::Table, Kind::Email) => Some(Format::Text),
            // A sheet feeds a password index only through a password column found by CSV
            // detection; whole rows are never hashed as passwords.
            (Part::Table, _) => Some(Format::Csv),
            (Part::Text, kind) => {
                self.reports[id].format = Some("document text".into());
                self.reports[id]
                    .warnings
                    .push(format!("document text (not a table of records) cannot feed a {kind} index: not read"));
                let rest = std::io::copy(&mut r, &mut std::io::sink());
                return rest.map(|_| ()).map_err(|e| describe(e, compression));
            }
        };
        let mut buf = Vec::with_capacity(ingest::CHUNK);
        // A read error here (a small damaged file) still leaves what was read before it.
        let (more, pending) = match fill(&mut r, &mut buf, ingest::SNIFF_BYTES) {
            Ok(m) => (m, None),
            Err(e) => (false, Some(e)),
        };
        let source = self.leaf_source(at);
        let mut stats = std::mem::take(&mut self.stats[id]);
        let mut report = std::mem::replace(&mut self.reports[id], FileReport::new(String::new(), ""));
        let mut result = self.read_stream(
            id,
            source,
            r,
            buf,
            more,
            compression,
            at.name,
            forced,
            at.part != Part::File,
            &mut report,
            &mut stats,
        );
        if let (Ok(()), Some(e)) = (&result, pending) {
            result = Err(describe(e, compression));
        }
        // Not `--format`: the reader said what this part is.
        match (at.part, self.opts.kind) {
            (Part::Text, _) => report.detection = Some("document text: every address in it".into()),
            (Part::Table, Kind::Email) => report.detection = Some("sheet: every address in every cell".into()),
            _ => {}
        }
        self.stats[id] = stats;
        self.reports[id] = report;
        result
    }

    /// The source of a stream's records: its input's, or with `source_per_file` a new one
    /// named by its provenance (its report then names that source).
    fn leaf_source(&mut self, at: &Place<'_>) -> u32 {
        // A top-level file input is its own source already.
        if !self.opts.source_per_file || at.depth == 0 && at.label == at.source_name {
            return at.source;
        }
        let id = self.input_sources + self.file_sources.len() as u32;
        self.file_sources.push((at.source, at.label.to_string()));
        self.columns.push(self.columns[at.source as usize].clone());
        self.reports[at.id].source = at.label.to_string();
        id
    }

    /// Hands a whole file to the reader that recognized it: as a stream, or with random
    /// access (the top-level file's own handle when it is not compressed, else a spool).
    fn open_container(
        &mut self,
        at: &Place<'_>,
        entry: &readers::Entry,
        w: Whole<'_, '_>,
    ) -> std::result::Result<(), String> {
        let Whole { head, rest, file, compression, counter, counted } = w;
        let spool_dir = self.opts.spool_dir.clone();
        let spool_memory = self.opts.spool_memory;
        // The top-level file's own decompression is charged to the budget here; a member's
        // bytes were charged as they were read out of its container.
        let budget = (at.depth == 0).then(|| self.budget_left.clone());
        let mut sink = Members { reader: self, at };
        if entry.access == Access::Stream {
            let mut stream = std::io::Cursor::new(head).chain(rest);
            let read = (entry.read)(Source::Stream(&mut stream), &mut sink);
            // What the reader left (it refused an over-large part, or stopped at damage) is
            // still read through, so that its bytes are counted and a member's container
            // finds its next member.
            let drained = std::io::copy(&mut stream, &mut std::io::sink()).map_err(|e| format!("read error: {e}"));
            return read.and(drained.map(|_| ()));
        }
        let mut spooled = match (file, compression) {
            (Some(f), ingest::Compression::None) => {
                let mut f = f.try_clone().map_err(|e| format!("read error: {e}"))?;
                let len = f
                    .seek(SeekFrom::Start(0))
                    .and_then(|_| f.metadata())
                    .map_err(|e| format!("read error: {e}"))?
                    .len();
                // Read through its own handle, not the counting stream: counted here.
                counter.fetch_add(len.saturating_sub(counted), Ordering::Relaxed);
                Spooled { data: Spool::File(f), len }
            }
            _ => spool(head, rest, spool_dir.as_deref(), spool_memory, budget)?,
        };
        let len = spooled.len;
        match &mut spooled.data {
            Spool::Memory(c) => (entry.read)(Source::Seekable(c, len), &mut sink),
            Spool::File(f) => (entry.read)(Source::Seekable(f, len), &mut sink),
        }
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
        forced: Option<Format>,
        part: bool,
        report: &mut FileReport,
        stats: &mut FileStats,
    ) -> std::result::Result<(), String> {
        let columns = &self.columns[source as usize];
        let (mut format, skip) = ingest::detect(&buf, name, self.opts.kind, forced, columns).map_err(|e| e.0)?;
        format.deobfuscate = self.opts.deobfuscate;
        report.format = Some(format.format.name().into());
        report.detection = (!format.detection.is_empty()).then(|| format.detection.clone());
        let mut line = 1 + memchr::memchr_iter(b'\n', &buf[..skip]).count() as u64;
        stats.lines += line - 1;
        buf.drain(..skip);
        let (mut mode, mut detection) = ingest::initial_mode(&buf, &format);
        // Document text is no mbox: a body line `From ...` (unquoted from `>From `) is text.
        if part && matches!(mode, ingest::Mode::Mbox) {
            (mode, detection) = (ingest::Mode::Records, None);
        }
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

/// The sink the input layer gives to container and document readers: each member or part
/// gets a report of its own (`parent!name`) and is read through [`Reader::read_input`] again,
/// one level deeper, within the limits.
struct Members<'r, 'a, 'p> {
    reader: &'r mut Reader<'a>,
    at: &'p Place<'p>,
}

impl Members<'_, '_, '_> {
    fn child(&mut self, name: &str) -> (usize, String) {
        let path = format!("{}!{}", self.at.name, name);
        let id = self.reader.new_report(path.clone(), self.at.source_name);
        self.reader.reports[id].parent = Some(self.at.id);
        (id, path)
    }

    fn stopping(&self) -> Result<(), Stop> {
        if self.reader.failed.load(Ordering::Relaxed) {
            return Err(Stop("stopped: the build is failing".into()));
        }
        Ok(())
    }

    /// Reads one member or part through the whole pipeline.
    fn read(&mut self, name: &str, data: &mut dyn Read, hint: MemberHint, part: Part) -> Result<(), Stop> {
        self.stopping()?;
        let (id, path) = self.child(name);
        let label = format!("{}!{}", self.at.label, name);
        self.reader.labels[id] = label.clone();
        self.reader.reports[id].part = part != Part::File;
        let depth = self.at.depth + 1;
        let limits = self.reader.opts.limits;
        if part == Part::File && depth > limits.max_depth {
            let why = format!("nested {depth} containers deep, beyond --max-depth {}: not read", limits.max_depth);
            self.reader.reports[id].skipped = Some(why.clone());
            self.reader.reports[id].warnings.push(why);
            return Ok(());
        }
        let ratio_cap = hint.compressed.map(|c| c.saturating_mul(limits.max_ratio).max(RATIO_FLOOR));
        let mut limited =
            Limited { inner: data, produced: 0, ratio_cap, budget: self.reader.budget_left.clone(), hit: None };
        let at = Place {
            id,
            source: self.at.source,
            source_name: self.at.source_name,
            name: &path,
            label: &label,
            depth,
            part,
        };
        let result = self.reader.read_input(&at, Box::new(&mut limited), Arc::new(AtomicU64::new(0)), None);
        self.reader.reports[id].bytes = limited.produced;
        if let Err(e) = result {
            self.reader.reports[id].error = Some(e);
        }
        match limited.hit {
            Some(Hit::Budget) => {
                let why = format!(
                    "stopped at {path}: this input expanded past --max-expanded {} (a decompression bomb?)",
                    limits.max_expanded
                );
                self.reader.reports[self.at.id].warnings.push(why.clone());
                Err(Stop(why))
            }
            Some(Hit::Ratio) => {
                self.reader.reports[self.at.id].warnings.push(format!(
                    "member {name}: expands more than {}x its stored size (--max-ratio; a zip bomb?): stopped",
                    limits.max_ratio
                ));
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl Sink for Members<'_, '_, '_> {
    fn file(&mut self, name: &str, data: &mut dyn Read, hint: MemberHint) -> Result<(), Stop> {
        self.read(name, data, hint, Part::File)
    }

    fn text(&mut self, part: &str, text: &str) -> Result<(), Stop> {
        self.read(part, &mut text.as_bytes(), MemberHint::default(), Part::Text)
    }

    fn text_decoded(&mut self, part: &str, text: &str, encoding: &str) -> Result<(), Stop> {
        let first = self.reader.reports.len();
        let read = self.read(part, &mut text.as_bytes(), MemberHint::default(), Part::Text);
        if let Some(r) = self.reader.reports.get_mut(first) {
            r.encoding = Some(encoding.to_string());
        }
        read
    }

    fn table(&mut self, part: &str, rows: &mut dyn Iterator<Item = Vec<String>>) -> Result<(), Stop> {
        let csv = self.reader.opts.kind != Kind::Email;
        let mut r = TableReader { rows, csv, pending: Vec::new(), at: 0 };
        self.read(part, &mut r, MemberHint::default(), Part::Table)
    }

    fn skipped(&mut self, name: &str, why: String, loud: bool) {
        let (id, _) = self.child(name);
        if loud {
            self.reader.reports[id].warnings.push(why.clone());
        }
        self.reader.reports[id].skipped = Some(why);
    }

    fn warn(&mut self, what: String) {
        self.reader.reports[self.at.id].warnings.push(what);
    }

    fn kind(&mut self, what: &str) {
        self.reader.reports[self.at.id].format = Some(what.into());
    }

    fn budget(&self) -> u64 {
        self.reader.budget_left.load(Ordering::Relaxed)
    }
}

/// Which limit a member hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hit {
    Ratio,
    Budget,
}

/// A member's bytes, counted against its ratio cap and the input's expanded-size budget.
struct Limited<'a> {
    inner: &'a mut dyn Read,
    produced: u64,
    ratio_cap: Option<u64>,
    budget: Arc<AtomicU64>,
    hit: Option<Hit>,
}

impl Read for Limited<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(hit) = self.hit {
            return Err(limit_error(hit));
        }
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        if self.ratio_cap.is_some_and(|cap| self.produced > cap) {
            self.hit = Some(Hit::Ratio);
            return Err(limit_error(Hit::Ratio));
        }
        if !charge(&self.budget, n) {
            self.hit = Some(Hit::Budget);
            return Err(limit_error(Hit::Budget));
        }
        Ok(n)
    }
}

/// Takes `n` bytes from the expanded-size budget; when they are not all there, the budget is
/// spent (zero) and the answer is false.
fn charge(budget: &AtomicU64, n: usize) -> bool {
    let taken = budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(n as u64));
    if taken.is_err() {
        budget.store(0, Ordering::Relaxed);
    }
    taken.is_ok()
}

fn limit_error(hit: Hit) -> std::io::Error {
    std::io::Error::other(match hit {
        Hit::Ratio => "expands more than --max-ratio times its stored size (a zip bomb?)",
        Hit::Budget => "the input's expanded-size budget (--max-expanded) is spent",
    })
}

/// A sheet's rows as a stream: cells joined by tabs (free text; tabs and line breaks inside
/// a cell become spaces, so that cells never glue together), or CSV.
struct TableReader<'a> {
    rows: &'a mut dyn Iterator<Item = Vec<String>>,
    csv: bool,
    pending: Vec<u8>,
    at: usize,
}

impl Read for TableReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.pending.len() {
            let Some(row) = self.rows.next() else { return Ok(0) };
            self.pending.clear();
            self.at = 0;
            if self.csv {
                let mut w = csv::WriterBuilder::new().from_writer(&mut self.pending);
                w.write_record(&row).map_err(std::io::Error::other)?;
                w.flush()?;
            } else {
                for (i, cell) in row.iter().enumerate() {
                    if i > 0 {
                        self.pending.push(b'\t');
                    }
                    self.pending
                        .extend(cell.bytes().map(|b| if matches!(b, b'\t' | b'\r' | b'\n') { b' ' } else { b }));
                }
                self.pending.push(b'\n');
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A whole file as read so far: its first bytes, the rest of its stream, and what is needed
/// to read it through its own handle instead.
struct Whole<'f, 'r> {
    head: Vec<u8>,
    rest: Box<dyn Read + 'r>,
    /// The top-level file's handle (`None` for members and standard input).
    file: Option<&'f File>,
    compression: ingest::Compression,
    /// The input's byte counter, and what it counted of this file so far.
    counter: Arc<AtomicU64>,
    counted: u64,
}

/// A stream copied for a reader that needs random access.
struct Spooled {
    data: Spool,
    len: u64,
}

enum Spool {
    Memory(std::io::Cursor<Vec<u8>>),
    File(File),
}

/// Copies `head` and the rest of a stream to memory, or past `in_memory` bytes to an anonymous
/// temporary file in `dir`. `budget`, when given, is charged with the bytes.
fn spool(
    head: Vec<u8>,
    mut rest: Box<dyn Read + '_>,
    dir: Option<&Path>,
    in_memory: u64,
    budget: Option<Arc<AtomicU64>>,
) -> std::result::Result<Spooled, String> {
    let mut mem = head;
    // Reserved once: growing by doubling would take twice the cap.
    mem.reserve_exact((in_memory as usize).saturating_sub(mem.len()));
    let mut r: Box<dyn Read + '_> = match budget {
        Some(budget) => Box::new(Charged { inner: rest, budget }),
        None => Box::new(&mut rest),
    };
    let more = (&mut r).take(in_memory.saturating_sub(mem.len() as u64)).read_to_end(&mut mem);
    more.map_err(|e| format!("read error: {e}"))?;
    let mut probe = [0u8; 1];
    let n = loop {
        match r.read(&mut probe) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => break other.map_err(|e| format!("read error: {e}"))?,
        }
    };
    if n == 0 {
        let len = mem.len() as u64;
        return Ok(Spooled { data: Spool::Memory(std::io::Cursor::new(mem)), len });
    }
    let made = match dir {
        Some(d) => tempfile::tempfile_in(d),
        None => tempfile::tempfile(),
    };
    let mut f = made.map_err(|e| format!("cannot spool a nested archive to a temporary file: {e}"))?;
    use std::io::Write;
    let copied = f
        .write_all(&mem)
        .and_then(|_| f.write_all(&probe[..1]))
        .and_then(|_| std::io::copy(&mut r, &mut f))
        .and_then(|_| f.seek(SeekFrom::Start(0)))
        .and_then(|_| f.metadata());
    let len = copied.map_err(|e| format!("spooling to a temporary file: {e}"))?.len();
    Ok(Spooled { data: Spool::File(f), len })
}

/// A stream whose bytes are charged to the expanded-size budget.
struct Charged<'a> {
    inner: Box<dyn Read + 'a>,
    budget: Arc<AtomicU64>,
}

impl Read for Charged<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !charge(&self.budget, n) {
            return Err(limit_error(Hit::Budget));
        }
        Ok(n)
    }
}

/// A reader's error, saying when the container's compression is to blame.
fn with_compression(e: String, c: ingest::Compression) -> String {
    match c {
        ingest::Compression::None => e,
        c => format!("{e} ({} compressed)", c.name()),
    }
}

fn describe(e: std::io::Error, c: ingest::Compression) -> String {
    match c {
        ingest::Compression::None => format!("read error: {e}"),
        c => format!("{} stream is truncated or corrupt: {e}", c.name()),
    }
}
