//! What a build reports: the progress figures shown while it runs ([`Progress`], [`Phase`])
//! and the outcome, per file and in total ([`FileReport`], [`BuildReport`]). Plain data: no
//! I/O here; the CLI prints and serializes it (`--report`).

use std::time::Duration;

use crate::ingest::FileStats;
use crate::meta::Source;

/// What the build is doing, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading and parsing inputs.
    Reading,
    /// Merging runs into the index.
    Merging,
    /// Done.
    Done,
}

/// Progress figures, reported about every megabyte read and during the merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Phase.
    pub phase: Phase,
    /// Input bytes read (as stored, compressed or not).
    pub bytes_read: u64,
    /// Total input bytes, when known (not for stdin).
    pub bytes_total: Option<u64>,
    /// Records extracted so far.
    pub records: u64,
    /// Run records merged so far (merge phase).
    pub merged: u64,
    /// Run records to merge.
    pub to_merge: u64,
}

/// What the build did with one input file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileReport {
    /// The file (`-` for stdin).
    pub path: String,
    /// Its source.
    pub source: String,
    /// Format used, if one was settled.
    pub format: Option<String>,
    /// Compression found.
    pub compression: Option<String>,
    /// The encoding the text was decoded from, when it was detected as neither UTF-8 nor
    /// windows-1252 (`Shift_JIS`, `UTF-16LE` without a BOM, ...).
    pub encoding: Option<String>,
    /// How the format (and column, dialect or document shape) was detected and why (`csv,
    /// column "E-mail Address" (+2 e-mail columns) by header and content, delimiter ';' from
    /// sep= line`).
    pub detection: Option<String>,
    /// Bytes read from disk.
    pub bytes: u64,
    /// Lines, records and rejects.
    #[serde(flatten)]
    pub stats: FileStats,
    /// The error that stopped reading this file, if any. Records before it still count.
    pub error: Option<String>,
    /// What may be wrong although the file was read: not a format this version reads
    /// (`zip archive (xlsx spreadsheet?)`), no record found. `--strict` makes them errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why a tar member was not read (a link, a device): said, never silent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The report of the container or document this one is inside (its path is this one's
    /// up to the last `!`).
    #[serde(skip)]
    pub parent: Option<usize>,
    /// Whether this is a part of a document (a sheet, a page, a mail body) rather than a file.
    #[serde(skip)]
    pub part: bool,
}

impl FileReport {
    pub(crate) fn new(path: String, source: &str) -> FileReport {
        FileReport {
            path,
            source: source.to_string(),
            format: None,
            compression: None,
            encoding: None,
            detection: None,
            bytes: 0,
            stats: FileStats::default(),
            error: None,
            warnings: Vec::new(),
            skipped: None,
            parent: None,
            part: false,
        }
    }
}

/// The outcome of a build.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildReport {
    /// Every file read.
    pub files: Vec<FileReport>,
    /// The sources as stored in the index.
    pub sources: Vec<Source>,
    /// Distinct keys in the index.
    pub entries: u64,
    /// Records extracted.
    pub records: u64,
    /// Index file size.
    pub index_bytes: u64,
    /// Wall time.
    #[serde(skip)]
    pub elapsed: Duration,
    /// Who may read the outputs, from who could read the inputs
    /// ([`crate::atomic::mode_of_inputs`]): the index was written with it, and the build's other
    /// outputs (the report) are too, so that they are no more readable than the corpora.
    #[serde(skip)]
    pub mode: crate::atomic::Mode,
}

impl BuildReport {
    /// Files that could not be read to the end.
    pub fn failed_files(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| f.error.is_some())
    }

    /// Files with a warning (not a format this version reads, no record found).
    pub fn warned_files(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| !f.warnings.is_empty())
    }
}
