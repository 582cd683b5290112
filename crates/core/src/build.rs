//! Building an index: read every input once, parse and hash on all cores into sorted runs that
//! fit the memory budget, merge the runs, and write the index atomically. This module holds the
//! options, their validation and the orchestration ([`build`], in named steps); the stages are
//! modules of their own, listed in dependency order (each uses only those above it, none of
//! them this one; `docs/INGEST.md` describes the pipeline):
//!
//! 1. [`crate::atomic`]: safe output files (atomic rename, permission bits, stale temporaries);
//! 2. [`crate::ingest`]'s formats: detection, decompression, parsing into keys, and
//!    `ingest::frame`, where a stream may be cut between records;
//! 3. [`crate::report`]: progress and per-file reports (holds the parsers' `FileStats`);
//! 4. [`crate::ingest::input`]: paths, tar members and streams into chunks for the threads;
//! 5. `runs`: the parsing threads, sorted runs on disk, and their k-way merge;
//! 6. `build` (this module), and [`crate::writer`] for the index file itself.
//!
//! Memory: the parsing threads share [`RUN_SHARE`] of `--memory` for their run buffers (32
//! bytes a record); chunks in flight take a few MiB; the merge reads each run through a buffer
//! sized so that all of them together stay within the budget; the fan-out table is capped at
//! a quarter of it. Runs are anonymous temporary files, gone even if the process is killed.
//!
//! Atomicity: the index is written to `.NAME.leakdex-tmp-PID-XXXX` in the destination's
//! directory, synced, then renamed over the destination, and the directory is synced. A crash
//! leaves the old index in place; the next build removes temporary files of dead processes.
//!
//! File safety: the temporary file is created exclusively (`O_EXCL`: a link planted at its
//! name is an error, not followed), written, read back and checked through its handle only,
//! never reopened by name, and renamed only if its name still holds it; the rename replaces a
//! link at the destination instead of writing through it. Its mode is [`mode_of_inputs`]
//! (what all inputs share; group bits only if the new file's group is the inputs' one group),
//! restricted by an existing destination file, never a link target's. A destination that is
//! not a regular file (a device, a FIFO, a socket, a link through `/proc`) is refused, and so
//! is an output that is an input, the sources manifest included.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver};

use crate::atomic::{
    check_destination, check_writable_dir, dir_of, mode_of_inputs, named_temp, persist, remove_stale_temps, same_file,
    sync_dir,
};
use crate::domains::{DomainCollector, Owned, OwnedTally, NO_DOMAIN};
use crate::error::{Error, Result};
use crate::format::{self, Kind};
use crate::ingest::input::{files_of, Chunk, ContainerLimits, InputOptions, InputSpec, Reader};
use crate::ingest::{self, FileStats, Format};
use crate::manifest::Manifest;
use crate::meta::{Meta, Source};
use crate::report::{BuildReport, FileReport, Phase, Progress};
pub use crate::runs::MAX_FAN_IN;
use crate::runs::{merge_runs, reduce_runs, worker, Rec, Run, WorkerId, WorkerResult, RUN_RECORD};
use crate::writer::IndexWriter;
use crate::Key;
use rustc_hash::FxHashMap;

/// Share of the memory budget given to the parsing threads' run buffers.
pub const RUN_SHARE: f64 = 0.5;
/// Smallest memory budget accepted.
pub const MIN_MEMORY: u64 = 32 << 20;
/// Largest memory budget accepted (64 TiB): a bound that no machine reaches, so that a typo
/// is an error rather than an overflow.
pub const MAX_MEMORY: u64 = 64 << 40;
/// Most parsing threads.
pub const MAX_THREADS: usize = 1024;
/// Smallest and largest Bloom filter false-positive rates accepted.
pub const FPR_RANGE: (f64, f64) = (1e-9, 0.5);

/// Build settings.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Email or password index.
    pub kind: Kind,
    /// Memory budget in bytes.
    pub memory: u64,
    /// Bloom filter false-positive rate.
    pub fpr: f64,
    /// Format for every file instead of detection.
    pub format: Option<Format>,
    /// CSV columns holding the identifiers, for every source that does not name its own in the
    /// manifest (`columns = [...]`); empty: found by header name and content.
    pub columns: Vec<String>,
    /// Stop at the first unreadable or corrupt input instead of reporting it and going on.
    pub strict: bool,
    /// Parsing threads (0: one per core).
    pub threads: usize,
    /// Where runs go (default: the destination's directory, so that a RAM-backed `/tmp`
    /// does not defeat the memory budget).
    pub temp_dir: Option<PathBuf>,
    /// Titles, dates and data classes of the sources.
    pub manifest: Option<Manifest>,
    /// Write the index even when no input gave a record (by default such a build is an
    /// error and leaves the destination alone).
    pub allow_empty: bool,
    /// Other files the caller writes after the build, with the flag that names them (the
    /// report: `("--report", path)`): checked like the destination before anything is read,
    /// so that none of them is an input.
    pub other_outputs: Vec<(String, PathBuf)>,
    /// Other files the build reads, with the flag that names them (the sources manifest:
    /// `("--sources", path)`): no output may be one of them (by device and inode, so also
    /// through links).
    pub other_inputs: Vec<(String, PathBuf)>,
    /// Bounds on containers and documents (depth, expanded size, compression ratio).
    pub limits: ContainerLimits,
    /// Make every file, archive member and document part that gives records a source of its
    /// own, named by its provenance (`share!projectweb.zip!案件/連絡先.xlsx!Sheet1`) and
    /// described as its input is in the manifest, so that a lookup says in which file each
    /// hit was found. The inputs themselves are then no sources.
    pub source_per_file: bool,
    /// Read obfuscated addresses in free text (`taro [at] example.jp`, `taro ＠ example.jp`,
    /// `taro at example dot jp` when unambiguous; see
    /// [`crate::ingest::text::extract_obfuscated`]), counted apart in each file's report. On by
    /// default: the bracketed forms are unambiguous, and an address skipped is a person
    /// reported clean.
    pub deobfuscate: bool,
    /// Domains whose addresses the index keeps in plaintext (`--own-domain`, added to the
    /// manifest's `own_domains`), subdomains included: the OWNED section
    /// ([`crate::domains::Owned`]). The index is then written with mode `0600`.
    pub own_domains: Vec<String>,
    /// `first_seen` of each source by name, from the previous index of a chain (`build
    /// --previous OLD.ldx`: [`Meta::first_seen_by_name`]): a source of one of these names keeps
    /// that date; any other source is first seen now (the new index's `built_at`).
    pub previous_first_seen: std::collections::BTreeMap<String, String>,
}

impl BuildOptions {
    /// Defaults: 1 GiB, FPR 0.001, formats detected, not strict, all cores.
    pub fn new(kind: Kind) -> BuildOptions {
        BuildOptions {
            kind,
            memory: 1 << 30,
            fpr: 0.001,
            format: None,
            columns: Vec::new(),
            strict: false,
            threads: 0,
            temp_dir: None,
            manifest: None,
            allow_empty: false,
            other_outputs: Vec::new(),
            other_inputs: Vec::new(),
            limits: ContainerLimits::default(),
            source_per_file: false,
            deobfuscate: true,
            own_domains: Vec::new(),
            previous_first_seen: std::collections::BTreeMap::new(),
        }
    }
}

/// The error for a build that found no record: says, per file, what happened.
fn nothing_indexed(
    inputs: &[InputSpec],
    dest: &Path,
    files: &[(u32, PathBuf)],
    reports: Vec<FileReport>,
    sources: Vec<Source>,
    started: Instant,
) -> Error {
    const SHOWN: usize = 3;
    let mut why: Vec<String> = inputs
        .iter()
        .enumerate()
        .filter(|(i, _)| !files.iter().any(|(s, _)| *s as usize == *i))
        .map(|(_, input)| format!("{}: a directory with no file in it", input.path.display()))
        .collect();
    // What each file said (a container's or document's own warnings included; its parts and
    // members say theirs).
    for r in reports.iter().filter(|r| !r.part && (r.skipped.is_none() || !r.warnings.is_empty())) {
        let what = match (&r.error, r.warnings.first()) {
            (Some(e), _) => e.clone(),
            (None, Some(w)) => w.clone(),
            (None, None) => continue,
        };
        why.push(format!("{}: {what}", r.path));
    }
    if why.is_empty() {
        why.push("no file gave a record".into());
    }
    let more = why.len().saturating_sub(SHOWN);
    why.truncate(SHOWN);
    if more > 0 {
        why.push(format!("and {more} more"));
    }
    let state = if dest.exists() { "was not changed" } else { "was not written" };
    Error::NothingIndexed {
        reason: format!(
            "no input gave a record, so {} {state} ({}); fix the inputs or options, or pass --allow-empty to write an empty index",
            dest.display(),
            why.join("; ")
        ),
        report: Box::new(BuildReport {
            files: reports,
            sources,
            entries: 0,
            records: 0,
            index_bytes: 0,
            elapsed: started.elapsed(),
            mode: mode_of_inputs(files.iter().map(|(_, p)| p.as_path())),
        }),
    }
}

/// Refuses an output path that is one of the inputs (the same file by device and inode, so also
/// through symbolic and hard links) or that lies inside an input directory: writing it would
/// destroy the corpus, or feed the index to the next build.
pub fn check_not_an_input(inputs: &[InputSpec], files: &[(u32, PathBuf)], out: &Path, flag: &str) -> Result<()> {
    let refuse = |input: &Path, how: &str| {
        Err(Error::Config(format!(
            "{flag} {} {how} {}; write the output elsewhere (nothing was read or written)",
            out.display(),
            input.display()
        )))
    };
    if out.exists() {
        for (_, f) in files {
            // Standard input redirected from a file (`-o in.txt - < in.txt`): that file.
            if f.as_os_str() == "-" {
                if same_file(Path::new("/dev/stdin"), out) {
                    return refuse(Path::new("-"), "is the file standard input reads, which it would overwrite:");
                }
            } else if same_file(f, out) {
                return refuse(f, "is the same file as the input, which it would overwrite:");
            }
        }
    }
    // A new file inside an input directory: compare real directories.
    let out_dir = std::fs::canonicalize(dir_of(out)).ok();
    for input in inputs.iter().filter(|i| !i.is_stdin() && i.path.is_dir()) {
        if let (Some(o), Ok(d)) = (&out_dir, std::fs::canonicalize(&input.path)) {
            if o.starts_with(&d) {
                return refuse(
                    &input.path,
                    "is inside the input directory (the next build would read it as a corpus):",
                );
            }
        }
    }
    Ok(())
}

/// Refuses an output path that is one of the other files the build reads (`read`: the sources
/// manifest), the same file by device and inode: writing it would destroy that file.
fn check_not_read(read: &[(String, PathBuf)], out: &Path, flag: &str) -> Result<()> {
    match read.iter().find(|(_, input)| same_file(input, out)) {
        Some((input_flag, input)) => Err(Error::Config(format!(
            "{flag} {} is the same file as {input_flag} {}, which it would overwrite; write the output elsewhere (nothing was read or written)",
            out.display(),
            input.display()
        ))),
        None => Ok(()),
    }
}

/// Whether two output paths name the same file, existing or not: the same file, or the same
/// name in the same real directory.
fn same_destination(a: &Path, b: &Path) -> bool {
    if same_file(a, b) {
        return true;
    }
    match (std::fs::canonicalize(dir_of(a)), std::fs::canonicalize(dir_of(b))) {
        (Ok(da), Ok(db)) => da == db && a.file_name() == b.file_name(),
        _ => false,
    }
}

/// Builds an index at `dest` from `inputs`. Returns what was read, per file. Fails without
/// touching `dest` when the inputs cannot be used, when an input fails in strict mode, or when
/// writing fails.
pub fn build(
    inputs: &[InputSpec],
    dest: &Path,
    opts: &BuildOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<BuildReport> {
    let started = Instant::now();
    check_options(inputs, opts)?;
    let own_domains = own_domains_of(opts)?;
    let mut sources = name_sources(inputs, opts)?;
    let columns = columns_of(&sources, opts);
    let (files, special) = list_files(inputs)?;
    let dest_dir = check_outputs(inputs, &files, dest, opts)?;
    remove_stale_temps(&dest_dir, dest);
    let temp_root = opts.temp_dir.clone().unwrap_or_else(|| dest_dir.clone());
    let plan = plan_threads(opts)?;

    let bytes_total = if files.iter().any(|(_, p)| p.as_os_str() == "-") {
        None
    } else {
        Some(files.iter().map(|(_, p)| std::fs::metadata(p).map_or(0, |m| m.len())).sum())
    };
    let records = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let (tx, rx) = bounded::<Chunk>(plan.in_flight);
    reserve_run_buffers(&plan, opts)?;
    let handles = spawn_workers(rx, opts.kind, &plan, &temp_root, &records, &failed, &own_domains)?;

    let mut reader = Reader {
        opts: InputOptions {
            kind: opts.kind,
            format: opts.format,
            limits: opts.limits,
            spool_dir: Some(temp_root.clone()),
            spool_memory: crate::ingest::input::SPOOL_MEMORY.min(opts.memory / 8),
            source_per_file: opts.source_per_file,
            deobfuscate: opts.deobfuscate,
        },
        tx,
        bytes_read: Arc::new(AtomicU64::new(0)),
        bytes_total,
        records: records.clone(),
        failed: failed.clone(),
        progress,
        last_progress: Instant::now(),
        reports: Vec::with_capacity(files.len()),
        stats: Vec::with_capacity(files.len()),
        columns,
        budget_left: Arc::new(AtomicU64::new(opts.limits.max_expanded)),
        file_sources: Vec::new(),
        input_sources: sources.len() as u32,
        labels: Vec::with_capacity(files.len()),
    };
    let strict_error = read_all(&mut reader, inputs, &files, special, &sources, opts.strict);
    let Reader { tx, bytes_read, progress, mut reports, stats: mut reader_stats, file_sources, labels, .. } = reader;
    drop(tx);
    let (runs, worker_error, domain_tables, owned_tallies) = join_workers(handles, &mut reader_stats)?;
    if let Some(e) = strict_error.or(worker_error) {
        return Err(e);
    }
    let source_map = add_file_sources(&mut sources, file_sources);
    settle_reports(&mut reports, reader_stats, &mut sources);
    let (sources, source_map) = match opts.source_per_file {
        true => drop_replaced_sources(sources, source_map),
        false => (sources, source_map),
    };

    if opts.strict {
        if let Some(r) = reports.iter().find(|r| !r.warnings.is_empty()) {
            return Err(Error::Input {
                path: r.path.clone().into(),
                reason: format!("{} (--strict stops at warnings)", r.warnings.join("; ")),
            });
        }
    }
    let extracted: u64 = reports.iter().map(|r| r.stats.records).sum();
    if extracted == 0 && !opts.allow_empty {
        return Err(nothing_indexed(inputs, dest, &files, reports, sources, started));
    }

    // Merge.
    let total_runs: u64 = runs.iter().map(|r| r.records).sum();
    let merge_budget = (opts.memory / 2) as usize;
    let runs = reduce_runs(runs, &temp_root, merge_budget)?;
    let upper: u64 = runs.iter().map(|r| r.records).sum();
    let max_fanout_bits = (63 - ((opts.memory / 4 / 8).max(2)).leading_zeros()) as u8;
    let fanout_bits = format::fanout_bits_for(upper).min(max_fanout_bits);
    // Plaintext addresses make the index as sensitive as the leak: readable by its owner only.
    let mode = match own_domains.is_empty() {
        true => mode_of_inputs(files.iter().map(|(_, p)| p.as_path())),
        false => crate::atomic::Mode::PRIVATE,
    };
    let tmp = named_temp(dest, mode)?;
    // A second descriptor of the same open file, not a new open of its name.
    let handle = tmp.as_file().try_clone().map_err(|e| Error::io(tmp.path(), e))?;
    let mut writer = IndexWriter::new(handle, tmp.path(), opts.kind, fanout_bits, sources.len() as u32, &temp_root)?;
    let buf = (merge_budget / runs.len().max(1)).clamp(64 << 10, 4 << 20);
    let bytes_read = bytes_read.load(Ordering::Relaxed);
    let total_records = records.load(Ordering::Relaxed);
    let figures = |phase, merged| Progress {
        phase,
        bytes_read,
        bytes_total,
        records: total_records,
        merged,
        to_merge: total_runs,
    };
    let mut domains = DomainCollector::new(domain_tables);
    let merged = merge_into(&mut writer, runs, buf, &temp_root, &source_map, &mut domains, &mut |merged| {
        progress(&figures(Phase::Merging, merged))
    })?;
    let keys_without_domain = match opts.kind {
        Kind::Email => domains.without_domain(),
        _ => 0,
    };
    let domains_section = match opts.kind {
        Kind::Email => crate::domains::encode_domains(&domains.entries()),
        _ => Vec::new(),
    };
    let owned_section = Owned::from_tallies(own_domains, owned_tallies, &labels, &source_map).encode();
    let built_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let sources = sources
        .into_iter()
        .map(|s| Source {
            first_seen: Some(opts.previous_first_seen.get(&s.name).cloned().unwrap_or_else(|| built_at.clone())),
            ..s
        })
        .collect();
    let meta = Meta {
        kind: opts.kind,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        built_at,
        normalization_policy: crate::normalize::POLICY_VERSION,
        fpr: opts.fpr,
        sources,
        keys_without_domain,
    };
    writer.finish(opts.fpr, meta, &domains_section, &owned_section)?;
    // Checked through the handle: the temporary name may by now be someone else's link.
    // SAFETY: the file was created exclusively by this process and is written only through
    // its handles, all of which are done; it is not modified while mapped.
    let map = unsafe { memmap2::Mmap::map(tmp.as_file()) }.map_err(|e| Error::io(tmp.path(), e))?;
    let index = crate::Index::new(map).map_err(|e| Error::Open { path: tmp.path().into(), source: Box::new(e) })?;
    let report = BuildReport {
        files: reports,
        sources: index.sources().to_vec(),
        entries: index.len(),
        records: total_records,
        index_bytes: index.stats().file_bytes,
        elapsed: started.elapsed(),
        mode,
    };
    drop(index);
    persist(tmp, dest)?;
    sync_dir(&dest_dir)?;
    progress(&figures(Phase::Done, merged));
    Ok(report)
}

/// The owned domains of `--own-domain` and the manifest's `own_domains`, normalized, sorted,
/// each once; an invalid one is an error naming it, and so is any in a password index.
fn own_domains_of(opts: &BuildOptions) -> Result<Vec<String>> {
    let from_manifest = opts.manifest.iter().flat_map(|m| m.own_domains.iter());
    let mut out = Vec::new();
    for d in opts.own_domains.iter().chain(from_manifest) {
        let n = crate::domains::normalize_domain(d)
            .map_err(|why| Error::Config(format!("--own-domain {d:?} is not a domain ({why})")))?;
        if crate::domains::is_public_suffix(&n) {
            return Err(Error::Config(format!(
                "--own-domain {d:?} is a public suffix ({n}), under which anyone registers: every organization's \
                 addresses under it would be kept in plaintext; give your organization's own domain (example.{n})"
            )));
        }
        out.push(n);
    }
    if !out.is_empty() && opts.kind != Kind::Email {
        return Err(Error::Config(format!(
            "--own-domain keeps addresses of an email index; a {} index has none (drop --own-domain)",
            opts.kind
        )));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Refuses settings out of range before anything is read.
fn check_options(inputs: &[InputSpec], opts: &BuildOptions) -> Result<()> {
    if inputs.is_empty() {
        return Err(Error::Config("no inputs given".into()));
    }
    if !(MIN_MEMORY..=MAX_MEMORY).contains(&opts.memory) {
        return Err(Error::Config(format!(
            "--memory must be between {} MiB and {} TiB (got {} bytes)",
            MIN_MEMORY >> 20,
            MAX_MEMORY >> 40,
            opts.memory
        )));
    }
    if !(opts.fpr >= FPR_RANGE.0 && opts.fpr <= FPR_RANGE.1) {
        return Err(Error::Config(format!(
            "--fpr must be between {} and {} (got {})",
            FPR_RANGE.0, FPR_RANGE.1, opts.fpr
        )));
    }
    if opts.threads > MAX_THREADS {
        return Err(Error::Config(format!(
            "--threads must be between 0 (one per core) and {MAX_THREADS} (got {})",
            opts.threads
        )));
    }
    if let Some(f) = opts.format {
        if !f.supports(opts.kind) {
            return Err(Error::Config(format!("format {f} cannot feed a {} index", opts.kind)));
        }
    }
    Ok(())
}

/// The sources, one per input, named and described from the manifest; refuses an empty or a
/// repeated name and a manifest entry that names no input.
fn name_sources(inputs: &[InputSpec], opts: &BuildOptions) -> Result<Vec<Source>> {
    let mut sources: Vec<Source> = Vec::new();
    for input in inputs {
        let name = input.source_name();
        if name.is_empty() {
            return Err(Error::Config(format!("input {} gives an empty source name", input.path.display())));
        }
        if sources.iter().any(|s| s.name == name) {
            return Err(Error::Config(format!(
                "two inputs are both named {name:?}; each input is one source, so rename one"
            )));
        }
        let info = opts.manifest.as_ref().and_then(|m| m.sources.get(&name)).cloned().unwrap_or_default();
        sources.push(Source {
            name,
            title: info.title,
            breach_date: info.breach_date,
            data_classes: info.data_classes,
            description: info.description,
            domain: info.domain,
            files: 0,
            lines: 0,
            records: 0,
            unique: 0,
            first_seen: None,
        });
    }
    if let Some(m) = &opts.manifest {
        if let Some(unknown) = m.sources.keys().find(|k| !sources.iter().any(|s| &s.name == *k)) {
            let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::Config(format!(
                "the manifest describes source {unknown:?}, which is not among the inputs ({})",
                names.join(", ")
            )));
        }
    }
    Ok(sources)
}

/// The CSV columns of each source: its own from the manifest, else --column's.
fn columns_of(sources: &[Source], opts: &BuildOptions) -> Vec<Vec<String>> {
    sources
        .iter()
        .map(|s| {
            let own = opts.manifest.as_ref().and_then(|m| m.sources.get(&s.name)).map(|i| i.columns.clone());
            own.filter(|c| !c.is_empty()).unwrap_or_else(|| opts.columns.clone())
        })
        .collect()
}

/// Files found below a directory that are neither files nor directories: source, path, why
/// not read.
type Special = Vec<(u32, PathBuf, String)>;

/// Every file of every input, with its source, and the special files found beside them.
fn list_files(inputs: &[InputSpec]) -> Result<(Vec<(u32, PathBuf)>, Special)> {
    let mut files: Vec<(u32, PathBuf)> = Vec::new();
    let mut special: Special = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let mut found = Vec::new();
        for f in files_of(input, &mut found)? {
            files.push((i as u32, f));
        }
        special.extend(found.into_iter().map(|(p, why)| (i as u32, p, why)));
    }
    if inputs.iter().filter(|i| i.is_stdin()).count() > 1 {
        return Err(Error::Config("standard input (-) can be given only once".into()));
    }
    Ok((files, special))
}

/// Checks the destination and the other outputs before anything is read: the directory exists
/// and takes files, no output is an input or inside one, the temporary directory is usable.
/// Returns the destination's directory.
fn check_outputs(inputs: &[InputSpec], files: &[(u32, PathBuf)], dest: &Path, opts: &BuildOptions) -> Result<PathBuf> {
    let dest_dir = dir_of(dest);
    if !dest_dir.is_dir() {
        return Err(Error::Config(format!("the destination directory {} does not exist", dest_dir.display())));
    }
    check_destination(dest, "-o")?;
    check_not_an_input(inputs, files, dest, "-o")?;
    check_not_read(&opts.other_inputs, dest, "-o")?;
    for (flag, path) in &opts.other_outputs {
        check_destination(path, flag)?;
        check_not_an_input(inputs, files, path, flag)?;
        check_not_read(&opts.other_inputs, path, flag)?;
        if same_destination(path, dest) {
            return Err(Error::Config(format!(
                "{flag} {} is the index file itself (-o); give it another path (nothing was read or written)",
                path.display()
            )));
        }
    }
    // Found now, not after an hour of parsing: the output and temporary directories must
    // take files.
    check_writable_dir(&dest_dir, "the output directory (-o)")?;
    if let Some(t) = &opts.temp_dir {
        if !t.is_dir() {
            return Err(Error::Config(format!("--temp-dir {} is not a directory", t.display())));
        }
        check_writable_dir(t, "--temp-dir")?;
    }
    Ok(dest_dir)
}

/// How the parsing side is sized from `--memory` and `--threads`.
struct Plan {
    /// Parsing threads.
    threads: usize,
    /// Chunks the channel holds.
    in_flight: usize,
    /// Run records each thread buffers before it spills a run.
    cap: usize,
}

/// Sizes the parsing side so that chunks in flight and run buffers stay within `--memory`.
fn plan_threads(opts: &BuildOptions) -> Result<Plan> {
    // Each thread has chunks in flight (about three of CHUNK each): as many threads as the
    // budget's half holds, so that --threads cannot push the build past --memory.
    let fit = ((opts.memory / 2 / ingest::CHUNK as u64).saturating_sub(4) / 3).max(1) as usize;
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()).min(fit),
        n if n > fit => {
            return Err(Error::Config(format!(
                "--threads {n} needs about {} MiB of buffers, more than half of --memory {} MiB allows ({fit} threads); give fewer threads or more memory",
                (3 * n + 4) * (ingest::CHUNK >> 20),
                opts.memory >> 20
            )))
        }
        n => n,
    };
    let in_flight = 2 * threads + 2;
    let chunk_memory = (in_flight + threads + 2) as u64 * ingest::CHUNK as u64;
    let run_memory = ((opts.memory as f64 * RUN_SHARE) as u64).saturating_sub(chunk_memory).max(4 << 20);
    let cap = (run_memory / RUN_RECORD as u64 / threads as u64).max(1024) as usize;
    Ok(Plan { threads, in_flight, cap })
}

/// Reserves the run buffers' total before anything is read, so that a budget the machine
/// cannot give is an error now, not an abort later; each thread then allocates its own buffer.
fn reserve_run_buffers(plan: &Plan, opts: &BuildOptions) -> Result<()> {
    let Plan { threads, cap, .. } = *plan;
    let mut probe: Vec<Rec> = Vec::new();
    probe.try_reserve_exact(cap * threads).map_err(|_| {
        Error::Config(format!(
            "cannot allocate {} MiB of run buffers for --memory {} MiB; give a smaller --memory",
            (cap * threads * RUN_RECORD) >> 20,
            opts.memory >> 20
        ))
    })?;
    drop(probe);
    Ok(())
}

/// Starts the parsing threads, each reading chunks from `rx`.
fn spawn_workers(
    rx: Receiver<Chunk>,
    kind: Kind,
    plan: &Plan,
    temp_root: &Path,
    records: &Arc<AtomicU64>,
    failed: &Arc<AtomicBool>,
    own_domains: &[String],
) -> Result<Vec<JoinHandle<WorkerResult>>> {
    let Plan { threads, cap, .. } = *plan;
    let owned = Arc::new(own_domains.to_vec());
    (0..threads)
        .map(|i| {
            let (rx, dir, records, failed) = (rx.clone(), temp_root.to_path_buf(), records.clone(), failed.clone());
            let id = WorkerId { thread: i as u64, owned: owned.clone() };
            std::thread::Builder::new()
                .name(format!("leakdex-parse-{i}"))
                .spawn(move || worker(rx, kind, cap, dir, records, failed, id))
                .map_err(|e| {
                    Error::Config(format!(
                        "cannot start parsing thread {} of {threads} ({e}); use fewer --threads",
                        i + 1
                    ))
                })
        })
        .collect()
}

/// Reads every file into chunks for the parsing threads, then reports the special files.
/// Returns the error that stops a `--strict` build (the first file that could not be read).
fn read_all(
    reader: &mut Reader<'_>,
    inputs: &[InputSpec],
    files: &[(u32, PathBuf)],
    special: Special,
    sources: &[Source],
    strict: bool,
) -> Option<Error> {
    let mut strict_error = None;
    for (source, path) in files {
        let first = reader.reports.len();
        let name = &sources[*source as usize].name;
        // A file's provenance relative to its input: the input's source name, then the path
        // inside a directory input (not the path given on the command line, which may say
        // where the dumps sit on this machine).
        let inside = path.strip_prefix(&inputs[*source as usize].path).ok().filter(|p| !p.as_os_str().is_empty());
        let label = match inside {
            Some(rel) => format!("{name}/{}", rel.to_string_lossy()),
            None => name.clone(),
        };
        reader.read_file(*source, name, path, &label);
        if strict {
            if let Some(r) = reader.reports[first..].iter().find(|r| r.error.is_some()) {
                let reason = r.error.clone().unwrap_or_default();
                strict_error = Some(Error::Input { path: r.path.clone().into(), reason });
            }
        }
        if strict_error.is_some() || reader.failed.load(Ordering::Relaxed) {
            break;
        }
    }
    for (source, path, why) in special {
        let id = reader.new_report(path.to_string_lossy().into_owned(), &sources[source as usize].name);
        reader.reports[id].skipped = Some(why);
    }
    reader.report(true);
    strict_error
}

/// What the parsing threads hand back: runs, the first error, each thread's domain table and
/// owned addresses.
type Joined = (Vec<Run>, Option<Error>, Vec<Vec<Box<str>>>, Vec<FxHashMap<String, OwnedTally>>);

/// Waits for the parsing threads (the channel must be closed); adds their per-file figures to
/// `stats`. Returns their runs, the first error one met, and their domains (in thread order:
/// a record's domain tag names its thread).
fn join_workers(handles: Vec<JoinHandle<WorkerResult>>, stats: &mut [FileStats]) -> Result<Joined> {
    let mut runs = Vec::new();
    let mut worker_error = None;
    let mut tables = Vec::with_capacity(handles.len());
    let mut owned = Vec::with_capacity(handles.len());
    for h in handles {
        let res =
            h.join().map_err(|_| Error::Config("a parsing thread panicked; please report this as a bug".into()))?;
        runs.extend(res.runs);
        tables.push(res.domains);
        owned.push(res.owned);
        for (file, s) in res.stats {
            stats[file].merge(s);
        }
        if worker_error.is_none() {
            worker_error = res.error;
        }
    }
    Ok((runs, worker_error, tables, owned))
}

/// Puts the figures into the reports, warns of every file that gave nothing, and adds the
/// files, lines and records to their sources.
fn settle_reports(reports: &mut [FileReport], stats: Vec<FileStats>, sources: &mut [Source]) {
    for (report, stats) in reports.iter_mut().zip(stats) {
        report.stats = stats;
    }
    // What each report and everything inside it gave; members come after their container.
    let mut total: Vec<u64> = reports.iter().map(|r| r.stats.records).collect();
    let mut holds_files = vec![false; reports.len()];
    let mut parts = vec![0u64; reports.len()];
    for i in (0..reports.len()).rev() {
        if let Some(p) = reports[i].parent {
            total[p] += total[i];
            if reports[i].part {
                parts[p] += 1;
            } else {
                holds_files[p] = true;
            }
        }
    }
    for (i, report) in reports.iter_mut().enumerate() {
        // A file that gave nothing is said, whatever the reason (a wrong format guess, a
        // header that names no column, an empty file): never a silent "clean". A container
        // is not: each file in it is. Nor is a document's part: the document is.
        if total[i] == 0
            && !report.part
            && !holds_files[i]
            && report.error.is_none()
            && report.skipped.is_none()
            && report.format.as_deref() != Some("unsupported")
        {
            let what = match parts[i] {
                0 => format!("{} line(s)", report.stats.lines),
                n => format!("its {n} part(s)"),
            };
            report.warnings.push(format!(
                "no record found in {what}{}",
                report.format.as_deref().map(|f| format!(" read as {f}")).unwrap_or_default()
            ));
        }
        let at = sources.iter().position(|s| s.name == report.source).expect("every report names a source");
        let s = &mut sources[at];
        s.files += u64::from(!holds_files[i] && !report.part && report.skipped.is_none());
        s.lines += report.stats.lines;
        s.records += report.stats.records;
    }
}

/// Adds the per-file sources (`--source-per-file`) after the inputs' ones, described as their
/// input is. Returns the identity map of source ids, for [`drop_replaced_sources`].
fn add_file_sources(sources: &mut Vec<Source>, file_sources: Vec<(u32, String)>) -> Vec<u32> {
    for (input, name) in file_sources {
        let parent = &sources[input as usize];
        sources.push(Source { name, files: 0, lines: 0, records: 0, unique: 0, ..parent.clone() });
    }
    (0..sources.len() as u32).collect()
}

/// With per-file sources, the inputs (whose records all went to their files' sources) and the
/// files that gave no record (their reports say so) are no sources: they are dropped, and the
/// ids after them move down (the map says where; the order is kept, so an entry's sources stay
/// sorted).
fn drop_replaced_sources(sources: Vec<Source>, mut map: Vec<u32>) -> (Vec<Source>, Vec<u32>) {
    let replaced: Vec<bool> = sources.iter().map(|s| s.records == 0).collect();
    let mut kept = Vec::with_capacity(sources.len());
    for (i, s) in sources.into_iter().enumerate() {
        map[i] = kept.len() as u32;
        if !replaced[i] {
            kept.push(s);
        }
    }
    (kept, map)
}

/// Merges the runs into the index writer: one entry per key, with its total count and its
/// sources, and adds each key to its domain's figures. Calls `tick` with the records merged
/// so far about every 100 ms. Returns how many run records were merged.
fn merge_into(
    writer: &mut IndexWriter,
    runs: Vec<Run>,
    buf: usize,
    temp_root: &Path,
    source_map: &[u32],
    domains: &mut DomainCollector,
    tick: &mut dyn FnMut(u64),
) -> Result<u64> {
    // The key being merged: its count, sources, per-source occurrences and domain.
    let mut cur: Option<(Key, u64, Vec<u32>)> = None;
    let mut per_source: Vec<(u32, u64)> = Vec::new();
    let mut tag = NO_DOMAIN;
    let mut merged = 0u64;
    let mut last_progress = Instant::now();
    merge_runs(runs, buf, temp_root, &mut |r| {
        merged += 1;
        if merged % 65536 == 0 && last_progress.elapsed() >= Duration::from_millis(100) {
            last_progress = Instant::now();
            tick(merged);
        }
        let source = source_map[r.source as usize];
        match &mut cur {
            Some((k, count, srcs)) if *k == r.key => {
                *count = count.saturating_add(r.count);
                srcs.push(source);
                per_source.push((source, r.count));
                tag = tag.min(r.domain);
                Ok(())
            }
            _ => {
                let first = vec![source];
                if let Some((k, count, srcs)) = cur.replace((r.key, r.count, first)) {
                    writer.push(&k, count, &srcs)?;
                    domains.add(tag, &per_source);
                }
                per_source.clear();
                per_source.push((source, r.count));
                tag = r.domain;
                Ok(())
            }
        }
    })?;
    if let Some((k, count, srcs)) = cur {
        writer.push(&k, count, &srcs)?;
        domains.add(tag, &per_source);
    }
    Ok(merged)
}
