//! The library's error type.

use std::path::PathBuf;

/// Everything that can go wrong in leakdex-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A write failed because the file system is full (or the user's quota is used up).
    #[error("no space left on the device holding {}: free space there, or point -o (and --temp-dir for scratch runs) at a larger disk; the destination was not changed", path.display())]
    DiskFull {
        /// The file or directory being written.
        path: PathBuf,
    },
    /// The bytes do not start with the index magic number.
    #[error("not a leakdex index (bad magic number); build one with `leakdex build`")]
    NotAnIndex,
    /// The index was written by another format version.
    #[error("index format version {found} is not supported (this leakdex reads version {supported}); rebuild the index with this version's `leakdex build`, or use the leakdex that wrote it")]
    Version {
        /// Version in the file.
        found: u32,
        /// Version this code reads.
        supported: u32,
    },
    /// The file is shorter (or longer) than its header says.
    #[error("index is {actual} bytes but its header says {expected}: the file is truncated, was still being written, or was copied over in place (replace indexes by rename, `mv`, never `cp` onto a live one); rebuild it with `leakdex build`")]
    Truncated {
        /// Length the header records.
        expected: u64,
        /// Actual length.
        actual: u64,
    },
    /// A section's checksum does not match its bytes.
    #[error("checksum mismatch in the {section} section: the index is damaged; rebuild it with `leakdex build`")]
    Checksum {
        /// Which section.
        section: &'static str,
    },
    /// A structural inconsistency in a section.
    #[error("corrupt {section} section: {reason}; rebuild the index with `leakdex build`")]
    Corrupt {
        /// Which section.
        section: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Opening an index file failed.
    #[error("cannot open index {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// A lookup of one kind on an index of another.
    #[error("this is {found} index; it cannot answer {wanted} lookups")]
    WrongKind {
        /// Kind of the index (with article, e.g. "an email").
        found: &'static str,
        /// Kind of lookup asked for.
        wanted: &'static str,
    },
    /// An email address that the normalization policy rejects.
    #[error("invalid email address: {0}")]
    InvalidEmail(#[from] crate::normalize::Invalid),
    /// A range prefix that is not 1 to 40 hex digits.
    #[error("hash prefix {prefix:?} is not 1 to 40 hexadecimal digits")]
    BadPrefix {
        /// The prefix given.
        prefix: String,
    },
    /// A problem in a sources manifest.
    #[error("{}: {reason}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An input file cannot be used (unreadable, corrupt compression, bad header...).
    #[error("{}: {reason}", path.display())]
    Input {
        /// The input.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Bad build parameters.
    #[error("{0}")]
    Config(String),
    /// A build found no record in any input, and an empty index was not asked for.
    #[error("{reason}")]
    NothingIndexed {
        /// Which files, and what happened to each.
        reason: String,
        /// What was read, for the summary.
        report: Box<crate::report::BuildReport>,
    },
    /// Two indexes that cannot be compared (`leakdex diff`, `bulk --since`, `build
    /// --previous`): another kind, or another email normalization policy, under which the same
    /// address has another key.
    #[error("the indexes differ in {what}: {old} (older) against {new} (newer); compare indexes of one kind built with one normalization policy: rebuild the older one from its corpus with this leakdex")]
    Incomparable {
        /// What differs (`kind`, `normalization policy`).
        what: &'static str,
        /// The older index's value.
        old: String,
        /// The newer index's value.
        new: String,
    },
    /// The build was interrupted.
    #[error("interrupted; the destination was not changed")]
    Interrupted,
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        // ENOSPC and EDQUOT get their own error: the fix is on the user's side and specific.
        if source.kind() == std::io::ErrorKind::StorageFull || source.kind() == std::io::ErrorKind::QuotaExceeded {
            return Error::DiskFull { path: path.into() };
        }
        Error::Io { path: path.into(), source }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
