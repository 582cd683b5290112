//! `leakdex build`: options, progress display, the summary and Ctrl-C handling.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use leakdex_core::build::{dir_of, temp_prefix, BuildReport, Phase};
use leakdex_core::manifest::Manifest;
use leakdex_core::{BuildOptions, InputSpec, Kind, Progress};

use crate::args::{BuildArgs, KindArg};
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
    };
    let mut opts = BuildOptions::new(kind);
    opts.memory = a.memory;
    opts.fpr = a.fpr;
    opts.format = a.format;
    opts.column = a.column.clone();
    opts.strict = a.strict;
    opts.threads = a.threads;
    opts.temp_dir = a.temp_dir.clone();
    if let Some(m) = &a.sources {
        opts.manifest = Some(Manifest::load(m)?);
    }
    let inputs: Vec<InputSpec> = a.paths.iter().map(InputSpec::path).collect();
    install_interrupt_handler(&a.output);
    let mut display = Display::new(a.quiet);
    let report = leakdex_core::build(&inputs, &a.output, &opts, &mut |p| display.update(p))
        .with_context(|| format!("building {}", a.output.display()))?;
    if let Some(path) = &a.report {
        let json = serde_json::to_vec_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("writing the report {}", path.display()))?;
    }
    if !a.quiet {
        print_summary(&report, &a.output)?;
    }
    Ok(Outcome::Clean)
}

fn print_summary(r: &BuildReport, dest: &Path) -> Result<()> {
    let mut e = std::io::stderr().lock();
    for f in &r.files {
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
        if let Some(why) = &f.detection {
            writeln!(e, "    format: {why}")?;
        }
        for (what, n) in &f.stats.skipped {
            writeln!(e, "    skipped, not indexed: {what}: {n}")?;
        }
        for (reason, rej) in &f.stats.rejects {
            let examples: Vec<String> = rej
                .examples
                .iter()
                .map(|(line, ex)| if ex.is_empty() { format!("line {line}") } else { format!("line {line}: {ex}") })
                .collect();
            writeln!(e, "    {reason}: {} ({})", rej.count, examples.join("; "))?;
        }
        if let Some(err) = &f.error {
            writeln!(e, "    ERROR: {err} (records before the error were kept)")?;
        }
    }
    let failed = r.failed_files().count();
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
    Ok(())
}
