//! Readers of containers and documents: what turns a zip archive, a spreadsheet, a PDF or a
//! mail into the files and text a person opening it would see, with provenance.
//!
//! Every reader has the same shape: it gets the bytes of one file (a [`Source`]: a stream, or
//! a seekable spool for formats that need random access) and hands what it finds to a
//! [`Sink`]:
//! - [`Sink::file`]: a file inside this one (an archive member, a mail attachment, a nested
//!   zip). It is read through the whole pipeline again, one level deeper (decompression,
//!   encoding, containers, format detection), with a report of its own named `parent!name`.
//! - [`Sink::text`]: text of a document part (a page, a slide, a mail body, the body of a
//!   docx), read as free text: every address in it is found.
//! - [`Sink::table`]: rows of cells (a sheet), read as free text in an email index (every
//!   cell) and as CSV through column detection in a password index.
//! - [`Sink::warn`]: what could not be read (an encrypted member, a scanned PDF without text,
//!   an Outlook `.msg` part), said in the file's report, never silent.
//!
//! Limits (depth, the expanded-size budget, the compression ratio per member) are enforced by
//! the sink, not by each reader: a reader only has to pass compressed sizes where it knows
//! them ([`MemberHint`]) and to stop when a sink call returns [`Stop`].
//!
//! Adding a format: one module here with a `read` function, and one line in [`REGISTRY`]
//! (or, for a kind of zip or OLE file, in the zip or OLE reader's dispatch).

// The readers land one by one (issue 11); until the input layer calls them all, some of this
// is not used yet.
#![allow(dead_code)]

use std::io::{Read, Seek};

pub(crate) mod doc;
pub(crate) mod mail;
pub(crate) mod markup;
pub(crate) mod office;
pub(crate) mod ole;
pub(crate) mod pdf;
mod pdf_work;
pub(crate) mod sevenzip;
pub(crate) mod tarfile;
pub(crate) mod zipfile;

/// A file inside a container, as the container describes it (for the ratio limit and for
/// messages).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MemberHint {
    /// Stored (compressed) size, when the container says it.
    pub compressed: Option<u64>,
    /// Expanded size the container declares (may lie: the sink counts what really comes).
    pub size: Option<u64>,
}

/// Why the whole container must stop: the expanded-size budget is spent, or the build is
/// failing. The reader returns it up unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stop(pub String);

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a reader puts what it finds. Implemented by the input layer
/// (`ingest::input::Reader`), and in tests by a collector.
pub(crate) trait Sink {
    /// A file inside this one, read through the whole pipeline one level deeper. `name` is
    /// its path inside the container, decoded for display (a CP932 zip name as Unicode).
    /// An error reading `data` is recorded in the member's own report; it returns `Err` only
    /// when the whole container must stop.
    fn file(&mut self, name: &str, data: &mut dyn Read, hint: MemberHint) -> Result<(), Stop>;
    /// Text of a part (`document`, `slide3`, `page 2`, `body`), read as free text.
    fn text(&mut self, part: &str, text: &str) -> Result<(), Stop>;
    /// Text of a part that its reader decoded from a legacy encoding (a mail body in
    /// ISO-2022-JP), which the part's report then names.
    fn text_decoded(&mut self, part: &str, text: &str, encoding: &str) -> Result<(), Stop> {
        let _ = encoding;
        self.text(part, text)
    }
    /// Rows of cells of a table part (`Sheet1`).
    fn table(&mut self, part: &str, rows: &mut dyn Iterator<Item = Vec<String>>) -> Result<(), Stop>;
    /// A member that is not read (a link, a device, an encrypted member): it gets a report
    /// of its own saying `why`. `loud` makes it a warning too (`--strict` stops): for what
    /// may hold addresses (an encrypted member), not for what cannot (a link whose target
    /// is read anyway).
    fn skipped(&mut self, name: &str, why: String, loud: bool);
    /// What could not be read, for the report of the file being read (`no text layer`).
    fn warn(&mut self, what: String);
    /// What the file turned out to be, when its reader knows better than its registry entry
    /// (the zip reader finding an `xlsx`).
    fn kind(&mut self, what: &str);
    /// Bytes that may still be expanded from this top-level input; a reader that must hold a
    /// part in memory (a shared-strings table, a PDF stream) refuses it beyond this.
    fn budget(&self) -> u64;
}

/// Something that is both `Read` and `Seek`, for readers that need random access (zip, OLE,
/// PDF). Nested members are spooled to memory or a temporary file first.
pub(crate) trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// The bytes of one file, as a reader asked for them.
pub(crate) enum Source<'a> {
    /// A stream, read once (tar, mbox, eml, text-like documents).
    Stream(&'a mut dyn Read),
    /// Random access (zip, OLE, PDF), positioned at the start; `len` bytes long.
    Seekable(&'a mut dyn ReadSeek, u64),
}

/// Whether a reader reads a stream or needs random access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read once, front to back.
    Stream,
    /// Needs `Seek` (the input layer spools a nested member first).
    Seekable,
}

/// A reader: how to recognize its files and how to read them.
pub(crate) struct Entry {
    /// What the file is, for the report's `format` (`zip`, `pdf`, `eml`).
    pub name: &'static str,
    /// Whether `head` (the first [`crate::ingest::SNIFF_BYTES`] decompressed bytes) and the
    /// file name are this format.
    pub recognize: fn(head: &[u8], name: &str) -> bool,
    /// Access it needs.
    pub access: Access,
    /// Reads the file into the sink. `Err` is what stopped the file (a corrupt archive); what
    /// was handed to the sink before still counts.
    pub read: fn(src: Source<'_>, sink: &mut dyn Sink) -> Result<(), String>,
}

thread_local! {
    /// Set while [`catch_quietly`] runs on this thread: the panic hook stays silent.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a call into a third-party parser that may panic on hostile input (the release profile
/// unwinds): a panic becomes an `Err`, and its message is not printed, because it can quote
/// bytes of the document (an address, a password). A panic hook that stays silent while this
/// runs on the same thread is installed once; panics elsewhere are printed as before.
pub(crate) fn catch_quietly<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    r
}

/// Every reader, in the order they are tried.
pub(crate) static REGISTRY: &[Entry] = &[
    Entry { name: "zip", recognize: zipfile::recognize, access: Access::Seekable, read: zipfile::read },
    Entry { name: "7z", recognize: sevenzip::recognize, access: Access::Seekable, read: sevenzip::read },
    Entry { name: "tar", recognize: tarfile::recognize, access: Access::Stream, read: tarfile::read },
    Entry { name: "pdf", recognize: pdf::recognize, access: Access::Seekable, read: pdf::read },
    Entry { name: "ole", recognize: ole::recognize, access: Access::Seekable, read: ole::read },
    Entry { name: "mbox", recognize: mail::recognize_mbox, access: Access::Stream, read: mail::read_mbox },
    Entry { name: "eml", recognize: mail::recognize_eml, access: Access::Stream, read: mail::read_eml },
    Entry { name: "html", recognize: markup::recognize_html, access: Access::Stream, read: markup::read_html },
    Entry { name: "ldif", recognize: markup::recognize_ldif, access: Access::Stream, read: markup::read_ldif },
    Entry { name: "vcard", recognize: markup::recognize_vcard, access: Access::Stream, read: markup::read_vcard },
    Entry { name: "rtf", recognize: markup::recognize_rtf, access: Access::Stream, read: markup::read_rtf },
    Entry { name: "zip", recognize: zipfile::recognize_behind_header, access: Access::Seekable, read: zipfile::read },
];

/// The reader for a file, if one recognizes it.
pub(crate) fn recognize(head: &[u8], name: &str) -> Option<&'static Entry> {
    REGISTRY.iter().find(|e| (e.recognize)(head, name))
}

#[cfg(test)]
pub(crate) mod testing {
    //! A sink that collects what readers hand it, for the readers' unit tests.
    use super::*;

    /// What a reader handed to the sink, in order.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum Got {
        File(String, Vec<u8>),
        Text(String, String),
        Table(String, Vec<Vec<String>>),
        Warn(String),
        Skipped(String, String),
        Kind(String),
    }

    /// Collects everything; files are read whole (tests only hold small ones).
    #[derive(Debug, Default)]
    pub(crate) struct Collect {
        pub got: Vec<Got>,
        /// Budget reported to readers.
        pub budget: u64,
    }

    impl Collect {
        pub(crate) fn new() -> Collect {
            Collect { got: Vec::new(), budget: 1 << 30 }
        }
        /// All text and table cells, joined by newlines (what an email index would read).
        pub(crate) fn all_text(&self) -> String {
            let mut s = String::new();
            for g in &self.got {
                match g {
                    Got::Text(_, t) => s.push_str(t),
                    Got::Table(_, rows) => rows.iter().for_each(|r| s.push_str(&r.join("\t"))),
                    _ => continue,
                }
                s.push('\n');
            }
            s
        }
        /// The text of part `part`; panics naming what there is when it is missing.
        pub(crate) fn text_of(&self, part: &str) -> &str {
            self.got
                .iter()
                .find_map(|g| match g {
                    Got::Text(p, t) if p == part => Some(t.as_str()),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("no text part {part} in {:?}", self.got))
        }
        pub(crate) fn warnings(&self) -> Vec<&str> {
            self.got.iter().filter_map(|g| if let Got::Warn(w) = g { Some(w.as_str()) } else { None }).collect()
        }
    }

    impl Sink for Collect {
        fn file(&mut self, name: &str, data: &mut dyn Read, _: MemberHint) -> Result<(), Stop> {
            let mut v = Vec::new();
            data.read_to_end(&mut v).map_err(|e| Stop(e.to_string()))?;
            self.got.push(Got::File(name.into(), v));
            Ok(())
        }
        fn text(&mut self, part: &str, text: &str) -> Result<(), Stop> {
            self.got.push(Got::Text(part.into(), text.into()));
            Ok(())
        }
        fn table(&mut self, part: &str, rows: &mut dyn Iterator<Item = Vec<String>>) -> Result<(), Stop> {
            self.got.push(Got::Table(part.into(), rows.collect()));
            Ok(())
        }
        fn skipped(&mut self, name: &str, why: String, _loud: bool) {
            self.got.push(Got::Skipped(name.into(), why));
        }
        fn warn(&mut self, what: String) {
            self.got.push(Got::Warn(what));
        }
        fn kind(&mut self, what: &str) {
            self.got.push(Got::Kind(what.into()));
        }
        fn budget(&self) -> u64 {
            self.budget
        }
    }
}
