//! `leakdex build`: options, progress display, the summary and Ctrl-C handling.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use leakdex_core::atomic::{dir_of, temp_prefix};
use leakdex_core::ingest::input::ContainerLimits;
use leakdex_core::manifest::Manifest;
use leakdex_core::report::{BuildReport, Phase};
use leakdex_core::{BuildOptions, InputSpec, Kind, Progress};

use crate::args::{BuildArgs, KindArg};
use crate::show::printable;
use crate::Outcome;

/// Removes this process's temporary files beside `dest` and exits: the old index stays.
fn install_interrupt_handler(dest: &Path) {
    let dir = dir_of(dest);
    let prefix = format!("{}{}-", temp_prefix(dest), std::process::id());
    let shown = dest.display().to_string();
    let _ = ctrlc::set_handler(move || {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let _ = writeln!(std::io::stderr(), "\nleakdex: interrupted; {shown} was not changed");
        std::process::exit(130);
    });
}

/// Shows progress: a bar on a terminal, a line every few seconds otherwise.
struct Display {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    started: Instant,
    last_line: Instant,
    phase: Phase,
}

impl Display {
    fn new(quiet: bool) -> Display {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                )
                .expect("valid template"),
            );
            b
        });
        Display {
            bar,
            plain: !quiet && !tty,
            started: Instant::now(),
            last_line: Instant::now(),
            phase: Phase::Reading,
        }
    }

    fn update(&mut self, p: &Progress) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = p.records as f64 / secs;
        if let Some(bar) = &self.bar {
            match p.phase {
                Phase::Reading => {
                    bar.set_length(p.bytes_total.unwrap_or(p.bytes_read));
                    bar.set_position(p.bytes_read);
                    bar.set_message(format!("{} records, {}/s", human(p.records as f64), human(rate)));
                }
                Phase::Merging => {
                    if self.phase != Phase::Merging {
                        bar.set_style(
                            indicatif::ProgressStyle::with_template(
                                "{spinner} [{elapsed_precise}] {bar:30} merging {pos}/{len} {msg}",
                            )
                            .expect("valid template"),
                        );
                    }
                    bar.set_length(p.to_merge);
                    bar.set_position(p.merged);
                }
                Phase::Done => bar.finish_and_clear(),
            }
        } else if self.plain
            && (self.last_line.elapsed() >= Duration::from_secs(5) || (p.phase != self.phase && p.phase != Phase::Done))
        {
            self.last_line = Instant::now();
            let line = match p.phase {
                Phase::Reading => format!(
                    "leakdex: read {}{}, {} records ({} records/s)",
                    bytes(p.bytes_read),
                    p.bytes_total.map(|t| format!(" of {}", bytes(t))).unwrap_or_default(),
                    human(p.records as f64),
                    human(rate)
                ),
                Phase::Merging => {
                    format!("leakdex: merging {} of {} run records", human(p.merged as f64), human(p.to_merge as f64))
                }
                Phase::Done => String::new(),
            };
            if !line.is_empty() {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
        self.phase = p.phase;
    }
}

/// 1234567 → "1.2 M".
pub fn human(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.1} G", x / 1e9),
        x if x >= 1e6 => format!("{:.1} M", x / 1e6),
        x if x >= 1e4 => format!("{:.1} k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

/// Bytes with a binary unit.
pub fn bytes(n: u64) -> String {
    let n = n as f64;
    match n {
        n if n >= (1u64 << 30) as f64 => format!("{:.1} GiB", n / (1u64 << 30) as f64),
        n if n >= (1u64 << 20) as f64 => format!("{:.1} MiB", n / (1u64 << 20) as f64),
        n if n >= 1024.0 => format!("{:.1} KiB", n / 1024.0),
        n => format!("{n} B"),
    }
}

pub fn run(a: BuildArgs) -> Result<Outcome> {
    let kind = match a.kind {
        KindArg::Email => Kind::Email,
        KindArg::Password => Kind::Password,
        KindArg::Ntlm => Kind::Ntlm,
        KindArg::Auto => {
            anyhow::bail!("--kind auto is for check (an email and a password in one call); build one index per kind")
        }
    };
    let mut opts = BuildOptions::new(kind);
    opts.memory = a.memory;
    opts.fpr = a.fpr;
    opts.format = a.format;
    opts.columns = a.column.clone();
    opts.strict = a.strict;
    opts.threads = a.threads;
    opts.temp_dir = a.temp_dir.clone();
    opts.allow_empty = a.allow_empty;
    opts.source_per_file = a.source_per_file;
    opts.limits = ContainerLimits { max_depth: a.max_depth, max_expanded: a.max_expanded, max_ratio: a.max_ratio };
    opts.deobfuscate = a.deobfuscate == crate::args::OnOff::On;
    opts.own_domains = a.own_domain.clone();
    if let Some(m) = &a.sources {
        opts.manifest = Some(Manifest::load(m)?);
        opts.other_inputs.push(("--sources".into(), m.clone()));
    }
    // Read before anything is built: the previous index may be the destination itself.
    let previous = match &a.previous {
        Some(p) => {
            let (meta, dates) = crate::monitor::previous_first_seen(p, kind)?;
            opts.previous_first_seen = dates;
            Some((p, meta))
        }
        None => None,
    };
    let inputs = a.paths.iter().map(|p| input_spec(p)).collect::<Result<Vec<InputSpec>>>()?;
    if let Some(report) = a.report.as_deref().filter(|r| !is_stdout(r)) {
        check_report_path(report)?;
        opts.other_outputs.push(("--report".into(), report.to_path_buf()));
    }
    install_interrupt_handler(&a.output);
    let mut display = Display::new(a.quiet);
    let report = match leakdex_core::build(&inputs, &a.output, &opts, &mut |p| display.update(p)) {
        Ok(r) => r,
        Err(leakdex_core::Error::NothingIndexed { reason, report }) => {
            // What was read explains why nothing was found: show it before the error.
            if !a.quiet {
                print_files(&report)?;
            }
            write_report(a.report.as_deref(), &report)?;
            anyhow::bail!("building {}: {reason}", a.output.display());
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("building {}", a.output.display()))),
    };
    write_report(a.report.as_deref(), &report)?;
    if !a.quiet {
        print_summary(&report, &a.output)?;
        for line in previous.iter().flat_map(|(p, m)| crate::monitor::previous_summary(p, m, &report.sources)) {
            eprintln!("{line}");
        }
    } else if report.warned_files().next().is_some() {
        let n = report.warned_files().count();
        writeln!(
            std::io::stderr(),
            "leakdex: warning: {n} input file(s) gave a warning; run without --quiet or see --report"
        )?;
    }
    Ok(Outcome::Clean)
}

/// `--report -`: the report goes to standard output.
fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Writes the report like the index: to a new file renamed over `path` (a link there is
/// replaced, never written through), with the index's permission bits; `-` writes it to
/// standard output (the summary goes to standard error).
fn write_report(path: Option<&Path>, report: &BuildReport) -> Result<()> {
    if let Some(path) = path {
        let json = serde_json::to_vec_pretty(report)?;
        if is_stdout(path) {
            let mut out = std::io::stdout().lock();
            out.write_all(&json)
                .and_then(|_| out.write_all(b"\n"))
                .and_then(|_| out.flush())
                .context("writing the report to standard output")?;
            return Ok(());
        }
        leakdex_core::atomic::write_atomically(path, report.mode, |w| w.write_all(&json))
            .with_context(|| format!("writing the report {}", path.display()))?;
    }
    Ok(())
}

/// A command-line input: `PATH`, or `NAME=PATH` to name its source. An argument that is an
/// existing path (or `-`) is always a path, so a file whose name holds `=` is read as itself.
fn input_spec(arg: &std::ffi::OsStr) -> Result<InputSpec> {
    let as_path = Path::new(arg);
    if arg == "-" || std::fs::symlink_metadata(as_path).is_ok() {
        return Ok(InputSpec::path(as_path));
    }
    let Some((name, path)) = arg.to_str().and_then(|s| s.split_once('=')) else {
        return Ok(InputSpec::path(as_path));
    };
    if name.is_empty() || name.contains('/') || name.chars().any(char::is_control) || name.trim() != name {
        anyhow::bail!(
            "{arg:?}: in NAME=PATH the source name must be non-empty, without /, control characters or surrounding spaces",
            arg = arg.to_string_lossy()
        );
    }
    Ok(InputSpec { path: path.into(), name: Some(name.to_string()) })
}

/// Checks before the build that the report can be written (the build checks that it is not an
/// input): it is written to a new file in its directory and renamed over `path`, so that
/// directory must take files, and what is at `path` must be a regular file or nothing (a
/// device, a FIFO or `/dev/stdout` would be replaced, not written to); what is there is
/// replaced, not opened.
fn check_report_path(path: &Path) -> Result<()> {
    leakdex_core::atomic::check_destination(path, "--report")
        .map_err(|e| anyhow::anyhow!("{e}; use --report - to write the report to standard output"))?;
    leakdex_core::atomic::check_writable_dir(&dir_of(path), "the directory of --report")?;
    Ok(())
}

fn print_summary(r: &BuildReport, dest: &Path) -> Result<()> {
    print_files(r)?;
    let mut e = Printable(std::io::stderr().lock());
    let failed = r.failed_files().count();
    let warned = r.warned_files().count();
    writeln!(
        e,
        "built {}: {} entries from {} records in {} sources, {}, in {:.1} s",
        dest.display(),
        r.entries,
        r.records,
        r.sources.len(),
        bytes(r.index_bytes),
        r.elapsed.as_secs_f64()
    )?;
    if failed > 0 {
        writeln!(e, "warning: {failed} input file(s) could not be read to the end; see ERROR lines above (use --strict to fail instead)")?;
    }
    if warned > 0 {
        writeln!(e, "warning: {warned} input file(s) gave a WARNING above (use --strict to fail instead)")?;
    }
    Ok(())
}

/// One line per file (tar members too) with what was read, then its rejects, warnings and
/// errors.
fn print_files(r: &BuildReport) -> Result<()> {
    // File and member names, detections and warnings come from the data: every line goes
    // through `printable`, so a name holding escapes or a newline cannot forge a line.
    let mut e = Printable(std::io::stderr().lock());
    // A file share gives thousands of members and parts: past `LISTED`, only the input files
    // and what has something to say (a warning, an error, a skip) get lines; the rest are
    // counted per input file, and `--report` has them all.
    let brief = r.files.len() > LISTED;
    let mut quiet = 0u64;
    for f in &r.files {
        let says = f.skipped.is_some() || f.error.is_some() || !f.warnings.is_empty();
        if brief && f.parent.is_some() && !says {
            quiet += 1;
            continue;
        }
        if quiet > 0 && f.parent.is_none() {
            writeln!(e, "    ({quiet} more members and parts read without a warning: see --report)")?;
            quiet = 0;
        }
        print_file(&mut e, f)?;
    }
    if quiet > 0 {
        writeln!(e, "    ({quiet} more members and parts read without a warning: see --report)")?;
    }
    Ok(())
}

/// Reports past which the summary lists only input files and members with something to say.
const LISTED: usize = 200;

fn print_file(e: &mut Printable<std::io::StderrLock<'_>>, f: &leakdex_core::report::FileReport) -> Result<()> {
    if let Some(why) = &f.skipped {
        writeln!(e, "{}  SKIPPED: {why}", f.path)?;
        for w in &f.warnings {
            writeln!(e, "    WARNING: {}: {w}", f.path)?;
        }
        return Ok(());
    }
    writeln!(
        e,
        "{}  [{}, {}]  {}  {} lines  {} records  {} rejected",
        f.path,
        f.format.as_deref().unwrap_or("?"),
        f.compression.as_deref().unwrap_or("?"),
        bytes(f.bytes),
        f.stats.lines,
        f.stats.records,
        f.stats.rejected()
    )?;
    if let Some(d) = &f.detection {
        writeln!(e, "    detected: {d}")?;
    }
    if let Some(enc) = &f.encoding {
        writeln!(e, "    encoding: {enc} (detected from content)")?;
    }
    for (what, n) in &f.stats.skipped {
        writeln!(e, "    skipped, not indexed: {what}: {n}")?;
    }
    if f.stats.fullwidth > 0 {
        writeln!(e, "    full-width addresses (read as ASCII): {}", f.stats.fullwidth)?;
    }
    if f.stats.deobfuscated > 0 {
        writeln!(e, "    deobfuscated addresses ([at], (at), spaced @, at/dot words): {}", f.stats.deobfuscated)?;
    }
    if f.stats.idn_keys > 0 {
        writeln!(
            e,
            "    IDN addresses also indexed under their Unicode form: {} extra key(s), counted in records",
            f.stats.idn_keys
        )?;
    }
    for (reason, rej) in &f.stats.rejects {
        let examples: Vec<String> = rej
            .examples
            .iter()
            .map(|(line, ex)| if ex.is_empty() { format!("line {line}") } else { format!("line {line}: {ex}") })
            .collect();
        writeln!(e, "    {reason}: {} ({})", rej.count, examples.join("; "))?;
    }
    for w in &f.warnings {
        writeln!(e, "    WARNING: {}: {w}", f.path)?;
    }
    if let Some(err) = &f.error {
        writeln!(e, "    ERROR: {}: {err} (records before the error were kept)", f.path)?;
    }
    Ok(())
}

/// A writer of whole lines (`writeln!`) that shows each line through [`printable`]: control,
/// separator and bidirectional characters from data as visible escapes.
struct Printable<W: Write>(W);

impl<W: Write> Printable<W> {
    fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
        let text = args.to_string();
        let (line, end) = match text.strip_suffix('\n') {
            Some(line) => (line, "\n"),
            None => (text.as_str(), ""),
        };
        write!(self.0, "{}{end}", printable(line))
    }
}
