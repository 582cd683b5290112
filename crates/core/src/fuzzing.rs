//! Entry points for the fuzz targets in `fuzz/` (not part of the API; hidden from the docs).
//!
//! [`read_as`] runs one reader of the registry (`zip`, `pdf`, `eml`, ...) over bytes, and
//! [`read_office`] the office reader over a zip; both with a [`Bounded`] sink that recurses
//! into members through the registry, as the input layer does, with a small budget, and that
//! asserts what every reader must hold whatever the bytes:
//! - no sink call after a sink call returned [`Stop`] (a reader stops when told to);
//! - what readers hand over (members' bytes, text, cells) never exceeds the budget by more
//!   than [`SLACK`] (one read buffer): a reader that holds a part in memory checks
//!   [`Sink::budget`] before it builds it;
//! - text parts are UTF-8 (by type: `&str`).
//!
//! The sink is deliberately smaller than the input layer's `Members` (no reports, no text
//! framing, no spooling to disk): only the limits (depth, ratio, budget) and the recursion,
//! with the same constants ([`ContainerLimits`], [`RATIO_FLOOR`]).

use std::cell::Cell;
use std::io::{Cursor, Read};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::ingest::input::{ContainerLimits, RATIO_FLOOR};
use crate::ingest::readers::{self, Access, Entry, MemberHint, Sink, Source, Stop};
use crate::ingest::{self, Compression};

/// The expanded-size budget of one fuzz input (the build's default is 64 GiB; small here so
/// that a bomb is stopped fast and its memory stays small).
pub const BUDGET: u64 = 32 << 20;

/// How far one read may go past the budget before the limit sees it: the input layer's
/// largest read buffer (the decompressor's, 256 KiB).
pub const SLACK: u64 = 256 << 10;

/// What one run gave, for targets that check more.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Members handed over (at any depth).
    pub files: usize,
    /// Text parts.
    pub texts: usize,
    /// Table parts.
    pub tables: usize,
    /// Warnings and skipped members.
    pub warnings: usize,
    /// Bytes charged to the budget.
    pub expanded: u64,
    /// Whether the budget was spent.
    pub budget_hit: bool,
    /// The top-level reader's error.
    pub error: Option<String>,
}

/// Whether the registry has a reader named `name` (a target checks it before it runs).
pub fn has_reader(name: &str) -> bool {
    readers::REGISTRY.iter().any(|e| e.name == name)
}

/// Runs the registry's reader named `name` over `data`, members recursed into. Panics if no
/// reader has that name (a target's mistake, not an input's).
pub fn read_as(name: &str, data: &[u8]) -> Outcome {
    let entry = readers::REGISTRY.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no reader named {name}"));
    let shared = Shared::default();
    let mut sink = Bounded { shared: &shared, depth: 0, stopped: false };
    let error = run(entry, data, &mut sink).err();
    shared.outcome(error)
}

/// Runs the office reader over a zip archive that the zip reader would hand it (xlsx, docx,
/// pptx, ODF); anything else is not read.
pub fn read_office(data: &[u8]) -> Outcome {
    let shared = Shared::default();
    let mut sink = Bounded { shared: &shared, depth: 0, stopped: false };
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(data)) else { return shared.outcome(None) };
    let Some(kind) = readers::office::office_kind(&mut archive) else { return shared.outcome(None) };
    drop(archive);
    let mut src = Cursor::new(data);
    let error = readers::office::read_office(kind, &mut src, data.len() as u64, &mut sink).err();
    shared.outcome(error)
}

/// Installs a panic hook for a fuzz target: a panic in this project's code (a reader, this
/// sink's assertions) aborts, so that the fuzzer records it even inside a reader's
/// `catch_unwind`; a panic in a third-party parser goes to the build's own hook
/// (`readers::catch_quietly`: silent while a reader guards the call) and unwinds to the
/// reader that wrapped the call, which turns it into an error naming the file, as in a build;
/// one that no reader catches reaches libFuzzer, which aborts. Call once, from the target's
/// `init` (after libFuzzer installed its own hook).
pub fn install_panic_hook() {
    let fuzzer = std::panic::take_hook();
    // The build's quiet hook wraps the default one; ours goes around both.
    let _ = readers::catch_quietly(|| ());
    let build = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let ours = info.location().is_some_and(|l| {
            let f = l.file().replace('\\', "/");
            f.contains("crates/core/src/") || f.contains("fuzz_targets/")
        });
        if ours {
            fuzzer(info);
        } else {
            build(info);
        }
    }));
}

/// Budget and counts shared by the sinks of one run.
#[derive(Default)]
struct Shared {
    spent: Cell<u64>,
    budget_hit: Cell<bool>,
    files: Cell<usize>,
    texts: Cell<usize>,
    tables: Cell<usize>,
    warnings: Cell<usize>,
}

impl Shared {
    fn left(&self) -> u64 {
        BUDGET.saturating_sub(self.spent.get())
    }

    /// Charges `n` bytes; false once the budget is spent.
    fn charge(&self, n: u64) -> bool {
        self.spent.set(self.spent.get() + n);
        assert!(
            self.spent.get() <= BUDGET + SLACK,
            "{} bytes expanded, over the budget {BUDGET} + {SLACK}",
            self.spent.get()
        );
        if self.spent.get() > BUDGET {
            self.budget_hit.set(true);
        }
        !self.budget_hit.get()
    }

    fn outcome(&self, error: Option<String>) -> Outcome {
        Outcome {
            files: self.files.get(),
            texts: self.texts.get(),
            tables: self.tables.get(),
            warnings: self.warnings.get(),
            expanded: self.spent.get(),
            budget_hit: self.budget_hit.get(),
            error,
        }
    }
}

/// Runs one reader over bytes in memory.
fn run(entry: &Entry, data: &[u8], sink: &mut Bounded<'_>) -> Result<(), String> {
    let mut c = Cursor::new(data);
    match entry.access {
        Access::Stream => (entry.read)(Source::Stream(&mut c), sink),
        Access::Seekable => (entry.read)(Source::Seekable(&mut c, data.len() as u64), sink),
    }
}

/// The sink: members are read whole (within the budget and ratio), decompressed, and handed
/// to the reader that recognizes them, one level deeper, up to the default `--max-depth`.
struct Bounded<'s> {
    shared: &'s Shared,
    depth: u32,
    /// A call returned `Stop`.
    stopped: bool,
}

impl Bounded<'_> {
    fn enter(&self, what: &str) {
        assert!(!self.stopped, "the reader handed {what} after the sink returned Stop");
    }

    fn stop(&mut self) -> Result<(), Stop> {
        self.stopped = true;
        Err(Stop("budget spent".into()))
    }
}

/// A member's bytes, charged to the budget, within its ratio cap.
struct Meter<'a> {
    inner: &'a mut dyn Read,
    shared: &'a Shared,
    produced: u64,
    cap: Option<u64>,
}

impl Read for Meter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.shared.budget_hit.get() {
            return Err(std::io::Error::other("budget spent"));
        }
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        if self.cap.is_some_and(|cap| self.produced > cap) {
            return Err(std::io::Error::other("over the ratio limit"));
        }
        if !self.shared.charge(n as u64) {
            return Err(std::io::Error::other("budget spent"));
        }
        Ok(n)
    }
}

impl Sink for Bounded<'_> {
    fn file(&mut self, name: &str, data: &mut dyn Read, hint: MemberHint) -> Result<(), Stop> {
        self.enter("a file");
        self.shared.files.set(self.shared.files.get() + 1);
        let limits = ContainerLimits::default();
        if self.depth + 1 > limits.max_depth {
            return Ok(());
        }
        let cap = hint.compressed.map(|c| c.saturating_mul(limits.max_ratio).max(RATIO_FLOOR));
        let mut raw = Meter { inner: data, shared: self.shared, produced: 0, cap };
        let mut bytes = Vec::new();
        // As the input layer does: decompressed by content; a compressed member's expansion
        // is charged too.
        let shared = self.shared;
        let read = ingest::decompress(&mut raw, Arc::new(AtomicU64::new(0))).and_then(|(mut d, c)| match c {
            Compression::None => d.read_to_end(&mut bytes),
            _ => Meter { inner: &mut d, shared, produced: 0, cap: None }.read_to_end(&mut bytes),
        });
        if self.shared.budget_hit.get() {
            return self.stop();
        }
        if read.is_err() {
            return Ok(()); // that member's error; the container goes on
        }
        let head = &bytes[..bytes.len().min(ingest::SNIFF_BYTES)];
        if let Some(entry) = readers::recognize(head, name) {
            let mut child = Bounded { shared: self.shared, depth: self.depth + 1, stopped: false };
            let _ = run(entry, &bytes, &mut child);
        }
        if self.shared.budget_hit.get() {
            return self.stop();
        }
        Ok(())
    }

    fn text(&mut self, part: &str, text: &str) -> Result<(), Stop> {
        self.enter("text");
        self.shared.texts.set(self.shared.texts.get() + 1);
        let left = self.shared.left();
        assert!(
            text.len() as u64 <= left + SLACK,
            "text part {part:?} of {} bytes built with {left} bytes left in the budget",
            text.len()
        );
        if !self.shared.charge(text.len() as u64) {
            return self.stop();
        }
        Ok(())
    }

    fn table(&mut self, part: &str, rows: &mut dyn Iterator<Item = Vec<String>>) -> Result<(), Stop> {
        self.enter("a table");
        self.shared.tables.set(self.shared.tables.get() + 1);
        for row in rows {
            // Cells and their separators, as the input layer streams them.
            let n: u64 = row.iter().map(|c| c.len() as u64 + 1).sum();
            let left = self.shared.left();
            assert!(
                n <= left + SLACK,
                "a row of table {part:?} of {n} bytes built with {left} bytes left in the budget"
            );
            if !self.shared.charge(n) {
                return self.stop();
            }
        }
        Ok(())
    }

    fn skipped(&mut self, _name: &str, _why: String, _loud: bool) {
        self.shared.warnings.set(self.shared.warnings.get() + 1);
    }

    fn warn(&mut self, _what: String) {
        self.shared.warnings.set(self.shared.warnings.get() + 1);
    }

    fn kind(&mut self, _what: &str) {}

    fn budget(&self) -> u64 {
        self.shared.left()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes a Python script writes to standard output (archives made by `zipfile`,
    /// independent of leakdex).
    fn python(script: &str) -> Vec<u8> {
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(format!("import io, sys, zipfile\n{script}"))
            .output()
            .expect("python3 is needed for this test (it writes the archives)");
        assert!(out.status.success(), "generator failed: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    const ZIP: &str = "
def zipbytes(members, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, 'w', method) as z:
        for name, data in members:
            z.writestr(name, data)
    return b.getvalue()
";

    #[test]
    fn nested_zips_are_read_through_the_registry_down_to_the_default_depth() {
        // z1 holds t1 and z2, z2 holds t2 and z3, ... z6 holds t6: z1 is read at depth 0, its
        // members at depth 1, z5's members at depth 5 are handed over but not read (beyond
        // --max-depth 4), so z6's members never are: 5 zips of 2 members each.
        let data = python(&format!(
            "{ZIP}\nz = zipbytes([('t6.txt', b'six@example.com')])\n\
             for i in range(5, 0, -1):\n    z = zipbytes([(f't{{i}}.txt', b'x@example.com'), (f'z{{i+1}}.zip', z)])\n\
             sys.stdout.buffer.write(z)"
        ));
        let out = read_as("zip", &data);
        assert_eq!(out.files, 10, "{out:?}");
        assert!(!out.budget_hit && out.error.is_none(), "{out:?}");
    }

    #[test]
    fn members_past_the_budget_stop_the_archive_within_one_read_buffer() {
        // Five members of 12 MiB of numbered lines (about 40:1, under the ratio limit): the
        // third one spends the 32 MiB budget.
        let data = python(&format!(
            "{ZIP}\nbody = b''.join(b'user%d@example.com\\n' % i for i in range(600000))[:12 << 20]\n\
             sys.stdout.buffer.write(zipbytes([(f'm{{i}}.txt', body) for i in range(5)]))"
        ));
        let out = read_as("zip", &data);
        assert!(out.budget_hit, "{out:?}");
        assert_eq!(out.files, 3, "no member after the one that spent the budget: {out:?}");
        assert!(out.expanded > BUDGET && out.expanded <= BUDGET + SLACK, "{out:?}");
    }

    #[test]
    fn a_damaged_bzip2_zip_member_is_an_error_not_an_abort() {
        // Found by the zip fuzz target: with libbz2-rs-sys 0.2.6 this member panicked inside an
        // `extern "C"` function (a panic that cannot unwind), which aborted the whole build.
        let data = include_bytes!("../tests/fixtures/fuzz/zip-bzip2-member-resume-panic.zip");
        let out = read_as("zip", data);
        assert!(out.files >= 1, "{out:?}");
    }

    #[test]
    fn a_member_past_the_ratio_limit_is_cut_and_the_next_member_is_read() {
        // 16 MiB of zeros deflate about 1000:1: cut at 1000 times its stored size.
        let data = python(&format!(
            "{ZIP}\nsys.stdout.buffer.write(zipbytes([('zeros.bin', bytes(16 << 20)), ('after.txt', b'a@example.com')]))"
        ));
        let out = read_as("zip", &data);
        assert_eq!(out.files, 2, "{out:?}");
        assert!(!out.budget_hit, "{out:?}");
        assert!(out.expanded < 16 << 20, "the bomb member was cut: {out:?}");
    }
}
