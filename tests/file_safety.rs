//! Files leakdex writes cannot be redirected or made more readable than their inputs: a link
//! planted at an output path (or at a temporary file's name) is replaced, never written
//! through; indexes, reports, filters and exports get the group and other bits that all their
//! inputs share (masked by the umask), never a planted file's.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::util::Dir;

const SECRET: &str = "secret\n";

/// Permission bits of `path` itself (a link is not followed).
fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// This process's umask (inherited by leakdex), from /proc.
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).expect("Umask in /proc/self/status");
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
}

/// What a file created with `mode` gets.
fn masked(mode: u32) -> u32 {
    mode & !umask()
}

/// A file only its owner may read (as root in CI: a root-only file), outside the output
/// directory's names, holding `SECRET`.
fn secret(dir: &Dir, file_mode: u32) -> PathBuf {
    let p = dir.write("private/secret", SECRET);
    chmod(&p, file_mode);
    p
}

fn assert_untouched(secret: &Path, file_mode: u32) {
    assert_eq!(std::fs::read_to_string(secret).unwrap(), SECRET, "the link's target was written");
    assert_eq!(mode(secret), file_mode, "the link's target changed mode");
}

fn assert_regular(path: &Path) {
    let t = std::fs::symlink_metadata(path).unwrap().file_type();
    assert!(t.is_file() && !t.is_symlink(), "{} is not a regular file: {t:?}", path.display());
}

/// A corpus of two addresses with permission bits `file_mode`.
fn corpus(dir: &Dir, name: &str, file_mode: u32) -> PathBuf {
    let local = name.replace('/', "-");
    let p = dir.write(name, format!("{local}-a@example.com\n{local}-b@example.org\n"));
    chmod(&p, file_mode);
    p
}

#[test]
fn build_over_a_planted_symlink_replaces_the_link_and_never_takes_its_targets_mode() {
    let dir = Dir::new();
    let target = secret(&dir, 0o777);
    corpus(&dir, "c.txt", 0o644);
    symlink(&target, dir.path("out.ldx")).unwrap();
    dir.cmd(&["build", "-q", "-o", "out.ldx", "c.txt"]).expect(0);
    assert_untouched(&target, 0o777);
    assert_regular(&dir.path("out.ldx"));
    assert_eq!(mode(&dir.path("out.ldx")), masked(0o644), "the index took the planted target's mode");
    dir.cmd(&["check", "-i", "out.ldx", "c.txt-a@example.com"]).expect(1);
}

#[test]
fn report_over_a_planted_symlink_replaces_the_link_and_leaves_its_target_alone() {
    let dir = Dir::new();
    let target = secret(&dir, 0o600);
    corpus(&dir, "c.txt", 0o644);
    symlink(&target, dir.path("report.json")).unwrap();
    // A dangling link too: writing through it would create a file wherever it points.
    symlink(dir.path("private/created-through-link"), dir.path("dangling.json")).unwrap();
    dir.cmd(&["build", "-q", "-o", "out.ldx", "--report", "report.json", "c.txt"]).expect(0);
    dir.cmd(&["build", "-q", "-o", "out2.ldx", "--report", "dangling.json", "c.txt"]).expect(0);
    // The report of a build that found nothing is written too: the same way.
    dir.write("empty.txt", "no address here\n");
    symlink(&target, dir.path("nothing.json")).unwrap();
    dir.cmd(&["build", "-q", "-o", "none.ldx", "--report", "nothing.json", "empty.txt"]).expect(2);
    assert_regular(&dir.path("nothing.json"));
    assert_untouched(&target, 0o600);
    assert!(!dir.path("private/created-through-link").exists(), "the report was written through a dangling link");
    for report in ["report.json", "dangling.json"] {
        let p = dir.path(report);
        assert_regular(&p);
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(json["entries"], 2, "{report}: {json}");
        assert_eq!(mode(&p), masked(0o644));
    }
}

#[test]
fn export_filter_over_a_planted_symlink_replaces_the_link_and_never_takes_its_targets_mode() {
    let dir = Dir::new();
    let target = secret(&dir, 0o777);
    corpus(&dir, "c.txt", 0o600);
    dir.cmd(&["build", "-q", "-o", "out.ldx", "c.txt"]).expect(0);
    symlink(&target, dir.path("out.filter")).unwrap();
    dir.cmd(&["export-filter", "-i", "out.ldx", "-o", "out.filter"]).expect(0);
    assert_untouched(&target, 0o777);
    assert_regular(&dir.path("out.filter"));
    // The filter tells who may be exposed: as private as the 0600 index it comes from.
    assert_eq!(mode(&dir.path("out.filter")), masked(0o600));
    dir.cmd(&["check", "-i", "out.filter", "c.txt-a@example.com"]).expect(1);
}

#[test]
fn export_ranges_refuses_a_planted_symlink_even_a_dangling_one() {
    let dir = Dir::new();
    let target = secret(&dir, 0o600);
    corpus(&dir, "c.txt", 0o644);
    dir.cmd(&["build", "-q", "-o", "out.ldx", "c.txt"]).expect(0);
    symlink(&target, dir.path("to-file")).unwrap();
    std::fs::create_dir(dir.path("private/d")).unwrap();
    symlink(dir.path("private/d"), dir.path("to-dir")).unwrap();
    symlink(dir.path("private/nothing"), dir.path("dangling")).unwrap();
    for link in ["to-file", "to-dir", "dangling"] {
        let r = dir.cmd(&["export-ranges", "-i", "out.ldx", "-o", link]).expect(2);
        assert!(r.stderr.contains("exists"), "{link}: {}", r.stderr);
        assert!(std::fs::symlink_metadata(dir.path(link)).unwrap().file_type().is_symlink(), "{link}");
    }
    assert_untouched(&target, 0o600);
    assert_eq!(std::fs::read_dir(dir.path("private/d")).unwrap().count(), 0, "written into the linked directory");
    assert!(!dir.path("private/nothing").exists());
}

#[test]
fn index_and_report_are_as_private_as_the_most_private_corpus() {
    // (corpus modes, expected mode before the umask)
    let cases: &[(&[u32], u32)] = &[
        (&[0o600], 0o600),
        (&[0o640, 0o600], 0o600),
        (&[0o644, 0o640], 0o640),
        (&[0o664, 0o644], 0o644),
        // Write bits are never passed on: whoever could write a corpus cannot rewrite the
        // index (a server notices a new size or modification time, not every byte).
        (&[0o666, 0o666], 0o644),
        (&[0o660], 0o640),
        // Execute bits are never passed on; owner bits are always read-write.
        (&[0o755, 0o444], 0o644),
        (&[0o400], 0o600),
    ];
    for (i, (modes, want)) in cases.iter().enumerate() {
        let dir = Dir::new();
        let mut args = vec!["build".to_string(), "-q".into(), "-o".into(), "out.ldx".into()];
        args.extend(["--report".into(), "report.json".into()]);
        for (j, m) in modes.iter().enumerate() {
            let name = format!("c{j}.txt");
            corpus(&dir, &name, *m);
            args.push(name);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        dir.cmd(&args).expect(0);
        assert_eq!(mode(&dir.path("out.ldx")), masked(*want), "case {i}: index from {modes:?}");
        assert_eq!(mode(&dir.path("report.json")), masked(*want), "case {i}: report from {modes:?}");
    }
}

#[test]
fn an_index_from_a_directory_is_as_private_as_its_most_private_file() {
    let dir = Dir::new();
    corpus(&dir, "dump/a.txt", 0o644);
    corpus(&dir, "dump/deep/b.csv", 0o640);
    dir.cmd(&["build", "-q", "-o", "out.ldx", "dump"]).expect(0);
    assert_eq!(mode(&dir.path("out.ldx")), masked(0o640));
}

#[test]
fn a_corpus_in_a_directory_others_cannot_enter_gives_an_index_they_cannot_read() {
    let dir = Dir::new();
    // (directory mode, corpus mode, expected mode before the umask)
    for (dmode, cmode, want) in
        [(0o700, 0o644, 0o600), (0o750, 0o644, 0o640), (0o711, 0o644, 0o644), (0o701, 0o664, 0o604)]
    {
        let sub = format!("d{dmode:o}");
        corpus(&dir, &format!("{sub}/deep/c.txt"), cmode);
        chmod(&dir.path(&sub), dmode);
        // The file named, and the directory above it given as the input.
        for input in [format!("{sub}/deep/c.txt"), sub.clone()] {
            dir.cmd(&["build", "-q", "-o", "out.ldx", "--report", "out.json", &input]).expect(0);
            assert_eq!(mode(&dir.path("out.ldx")), masked(want), "{input} in a {dmode:o} directory");
            assert_eq!(mode(&dir.path("out.json")), masked(want), "{input} in a {dmode:o} directory");
            std::fs::remove_file(dir.path("out.ldx")).unwrap();
            std::fs::remove_file(dir.path("out.json")).unwrap();
        }
    }
    // A link in an open directory to a dump in a closed one: the dump's directory counts.
    corpus(&dir, "closed/dump.txt", 0o644);
    chmod(&dir.path("closed"), 0o700);
    symlink(dir.path("closed/dump.txt"), dir.path("link.txt")).unwrap();
    dir.cmd(&["build", "-q", "-o", "out.ldx", "link.txt"]).expect(0);
    assert_eq!(mode(&dir.path("out.ldx")), masked(0o600));
    // The test directory itself made private: everything in it is too.
    let private = Dir::new();
    corpus(&private, "c.txt", 0o644);
    chmod(private.root(), 0o700);
    private.cmd(&["build", "-q", "-o", "out.ldx", "c.txt"]).expect(0);
    assert_eq!(mode(&private.path("out.ldx")), masked(0o600));
}

#[test]
fn an_index_and_report_built_from_stdin_are_private_to_their_owner() {
    let dir = Dir::new();
    corpus(&dir, "c.txt", 0o644);
    dir.cmd(&["build", "-q", "-o", "out.ldx", "--report", "report.json", "-"]).stdin("stdin-a@example.com\n").expect(0);
    assert_eq!(mode(&dir.path("out.ldx")), masked(0o600));
    assert_eq!(mode(&dir.path("report.json")), masked(0o600));
    // Standard input beside a readable file: still private.
    dir.cmd(&["build", "-q", "-o", "mixed.ldx", "c.txt", "-"]).stdin("stdin-b@example.com\n").expect(0);
    assert_eq!(mode(&dir.path("mixed.ldx")), masked(0o600));
}

#[test]
fn an_existing_destination_can_make_the_index_more_private_never_less() {
    let dir = Dir::new();
    corpus(&dir, "c.txt", 0o644);
    // Kept private by its owner: rebuilding from readable corpora keeps it private.
    dir.write("private.ldx", "old");
    chmod(&dir.path("private.ldx"), 0o600);
    dir.write("private.json", "old");
    chmod(&dir.path("private.json"), 0o640);
    dir.cmd(&["build", "-q", "-o", "private.ldx", "--report", "private.json", "c.txt"]).expect(0);
    assert_eq!(mode(&dir.path("private.ldx")), masked(0o600));
    assert_eq!(mode(&dir.path("private.json")), masked(0o640));
    // A world-writable file planted at the path gives nothing away.
    dir.write("planted.ldx", "old");
    chmod(&dir.path("planted.ldx"), 0o777);
    dir.write("planted.json", "old");
    chmod(&dir.path("planted.json"), 0o777);
    dir.cmd(&["build", "-q", "-o", "planted.ldx", "--report", "planted.json", "c.txt"]).expect(0);
    assert_eq!(mode(&dir.path("planted.ldx")), masked(0o644));
    assert_eq!(mode(&dir.path("planted.json")), masked(0o644));
}

/// Every file and directory below `root`, with its mode.
fn modes_below(root: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let t = std::fs::symlink_metadata(&p).unwrap().file_type();
            assert!(!t.is_symlink(), "{}", p.display());
            if t.is_dir() {
                stack.push(p.clone());
            }
            out.push((p.clone(), t.is_dir(), mode(&p)));
        }
    }
    out
}

#[test]
fn export_ranges_files_are_as_private_as_the_index() {
    for (kind, index_mode, file_mode, dir_mode) in [
        ("email", 0o600, 0o600, 0o700),
        ("email", 0o640, 0o640, 0o750),
        ("password", 0o644, 0o644, 0o755),
        ("password", 0o600, 0o600, 0o700),
    ] {
        let dir = Dir::new();
        let c = dir.write("c.txt", "x-a@example.com:Winter2024\nx-b@example.org:hunter2\n");
        chmod(&c, 0o644);
        dir.cmd(&["build", "-q", "--kind", kind, "-o", "out.ldx", "c.txt"]).expect(0);
        chmod(&dir.path("out.ldx"), index_mode);
        dir.cmd(&["export-ranges", "-i", "out.ldx", "-o", "ranges"]).expect(0);
        assert_eq!(mode(&dir.path("ranges")), masked(dir_mode), "{kind} {index_mode:o}");
        let all = modes_below(&dir.path("ranges"));
        assert!(all.iter().filter(|(_, d, _)| !d).count() >= 3, "{all:?}");
        assert!(all.iter().any(|(p, _, _)| p.ends_with("manifest.json")), "{all:?}");
        for (p, is_dir, m) in all {
            let want = if is_dir { dir_mode } else { file_mode };
            assert_eq!(m, masked(want), "{kind} {index_mode:o}: {}", p.display());
        }
    }
}

#[test]
fn symlinks_planted_at_temporary_file_names_never_redirect_a_write() {
    let dir = Dir::new();
    let target = secret(&dir, 0o600);
    corpus(&dir, "c.txt", 0o644);
    // The temporary names are `.NAME.leakdex-tmp-PID-RANDOM`: links at names of a live process
    // (pid 1) and of a dead one (removed as stale by the next build), for the index, the report
    // and the filter.
    let names = [".out.ldx.leakdex-tmp-", ".report.json.leakdex-tmp-", ".out.filter.leakdex-tmp-"];
    for prefix in names {
        for pid in ["1", "4000000"] {
            for rest in ["abcdef", "000000", "x"] {
                symlink(&target, dir.path(&format!("{prefix}{pid}-{rest}"))).unwrap();
            }
        }
    }
    for _ in 0..2 {
        dir.cmd(&["build", "-q", "-o", "out.ldx", "--report", "report.json", "c.txt"]).expect(0);
        dir.cmd(&["export-filter", "-i", "out.ldx", "-o", "out.filter"]).expect(0);
    }
    assert_untouched(&target, 0o600);
    for out in ["out.ldx", "report.json", "out.filter"] {
        assert_regular(&dir.path(out));
    }
    dir.cmd(&["check", "-i", "out.ldx", "c.txt-b@example.org"]).expect(1);
}

#[test]
fn a_build_racing_a_symlink_swapper_never_writes_the_root_only_file() {
    let dir = Dir::new();
    let target = secret(&dir, 0o600);
    let lines: String = (0..20_000).map(|i| format!("user{i}@example.com:pw{i}\n")).collect();
    let c = dir.write("c.txt", lines);
    chmod(&c, 0o644);
    let stop = Arc::new(AtomicBool::new(false));
    let swap_temps = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, swap_temps, root, target) =
            (stop.clone(), swap_temps.clone(), dir.root().to_path_buf(), target.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                // The outputs: a file one moment, a link to the secret the next (out of phase,
                // so that they are seldom both links to one file, which the build refuses).
                for (i, out) in ["out.ldx", "report.json"].into_iter().enumerate() {
                    let p = root.join(out);
                    let _ = std::fs::remove_file(&p);
                    if (n + i as u64) % 2 == 0 {
                        let _ = symlink(&target, &p);
                    } else {
                        let _ = std::fs::write(&p, "planted");
                    }
                }
                // Any temporary file: replaced by a link to the secret.
                if swap_temps.load(Ordering::Relaxed) {
                    if let Ok(entries) = std::fs::read_dir(&root) {
                        for e in entries.flatten() {
                            let name = e.file_name().to_string_lossy().into_owned();
                            if name.contains(".leakdex-tmp-") && e.file_type().is_ok_and(|t| t.is_file()) {
                                let _ = std::fs::remove_file(e.path());
                                let _ = symlink(&target, e.path());
                            }
                        }
                    }
                }
                std::thread::yield_now();
            }
            n
        })
    };
    let mut refused_temp = 0;
    for i in 0..12 {
        swap_temps.store(i >= 6, Ordering::Relaxed);
        let r = dir.cmd(&["build", "-q", "-o", "out.ldx", "--report", "report.json", "c.txt"]).run();
        // Succeeded, or refused with a message; never crashed.
        assert!(matches!(r.status, Some(0) | Some(2)), "{:?}: {}", r.status, r.stderr);
        if r.stderr.contains("was replaced by another file or a link while it was written") {
            refused_temp += 1;
        }
        assert_untouched(&target, 0o600);
    }
    stop.store(true, Ordering::Relaxed);
    assert!(swapper.join().unwrap() > 12);
    // The swapper did reach temporary files (the build noticed rather than renaming a link).
    assert!(refused_temp > 0);
    assert_untouched(&target, 0o600);
}

// --- Outputs over things that are not regular files ---------------------------------------

/// What `path` is, links not followed, for comparing before and after.
fn file_type(path: &Path) -> std::fs::FileType {
    std::fs::symlink_metadata(path).unwrap().file_type()
}

/// Makes, in `dir`, a character device (`null`, like /dev/null: skipped with a message where
/// `mknod` is not allowed), a FIFO, a Unix socket and a directory, and a symbolic link to each
/// (`link-NAME`). Returns (name, what the error calls it) and the socket's listener, which
/// must outlive the test.
fn specials(dir: &Dir) -> (Vec<(String, &'static str)>, std::os::unix::net::UnixListener) {
    let mut made = Vec::new();
    let dev = std::process::Command::new("mknod").arg(dir.path("null")).args(["c", "1", "3"]).status();
    if dev.is_ok_and(|s| s.success()) {
        made.push(("null".to_string(), "a character device"));
    } else {
        eprintln!("mknod is not allowed here: the character-device case is skipped");
    }
    let fifo = std::process::Command::new("mkfifo").arg(dir.path("fifo")).status().unwrap();
    assert!(fifo.success(), "mkfifo failed");
    made.push(("fifo".to_string(), "a named pipe (FIFO)"));
    let listener = std::os::unix::net::UnixListener::bind(dir.path("sock")).unwrap();
    made.push(("sock".to_string(), "a socket"));
    std::fs::create_dir(dir.path("d")).unwrap();
    made.push(("d".to_string(), "a directory"));
    for (name, what) in made.clone() {
        symlink(dir.path(&name), dir.path(&format!("link-{name}"))).unwrap();
        made.push((format!("link-{name}"), what));
    }
    (made, listener)
}

#[test]
fn outputs_over_devices_fifos_sockets_directories_and_links_to_them_are_refused_before_reading() {
    let dir = Dir::new();
    corpus(&dir, "c.txt", 0o644);
    let (specials, _listener) = specials(&dir);
    let before: Vec<_> = specials.iter().map(|(n, _)| file_type(&dir.path(n))).collect();
    for (name, what) in &specials {
        for args in
            [vec!["build", "-q", "-o", name, "c.txt"], vec!["build", "-q", "-o", "new.ldx", "--report", name, "c.txt"]]
        {
            let r = dir.cmd(&args).expect(2);
            assert!(r.stderr.contains(name.as_str()) && r.stderr.contains(what), "{args:?}: {}", r.stderr);
            assert!(r.stderr.contains("nothing was read or written"), "{args:?}: {}", r.stderr);
            assert!(!dir.path("new.ldx").exists(), "{args:?}: the index was written");
        }
    }
    dir.cmd(&["build", "-q", "-o", "index.ldx", "c.txt"]).expect(0);
    for (name, what) in &specials {
        let r = dir.cmd(&["export-filter", "-i", "index.ldx", "-o", name]).expect(2);
        assert!(r.stderr.contains(name.as_str()) && r.stderr.contains(what), "export-filter {name}: {}", r.stderr);
    }
    let after: Vec<_> = specials.iter().map(|(n, _)| file_type(&dir.path(n))).collect();
    assert_eq!(before, after, "a device, FIFO, socket, directory or link was replaced");
    let temps: Vec<_> = std::fs::read_dir(dir.root())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("leakdex-tmp"))
        .map(|e| e.file_name())
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
}

#[test]
fn report_to_a_link_to_standard_output_is_refused_and_report_dash_writes_to_stdout() {
    let dir = Dir::new();
    corpus(&dir, "c.txt", 0o644);
    // What /dev/stdout is, made here so that the real one is never at stake.
    for (name, target) in [("stdout", "/proc/self/fd/1"), ("fd-link", "/proc/self/fd/2")] {
        symlink(target, dir.path(name)).unwrap();
        let r = dir.cmd(&["build", "-q", "-o", "out.ldx", "--report", name, "c.txt"]).expect(2);
        assert!(r.stderr.contains("--report -"), "{name}: {}", r.stderr);
        assert!(r.stderr.contains(name), "{name}: {}", r.stderr);
        let r = dir.cmd(&["build", "-q", "-o", name, "c.txt"]).expect(2);
        assert!(r.stderr.contains("open file"), "{name}: {}", r.stderr);
        assert!(file_type(&dir.path(name)).is_symlink(), "{name} was replaced");
        assert_eq!(std::fs::read_link(dir.path(name)).unwrap(), Path::new(target));
        assert!(!dir.path("out.ldx").exists());
    }
    // A name in a directory that is /proc/self/fd, as /dev/fd/1 is, with standard output a
    // regular file.
    symlink("/proc/self/fd", dir.path("fd")).unwrap();
    let stdout_file = std::fs::File::create(dir.path("stdout.txt")).unwrap();
    let mut cmd = dir.cmd(&["build", "-q", "-o", "out.ldx", "--report", "fd/1", "c.txt"]);
    cmd.c.stdout(stdout_file).stderr(std::process::Stdio::null());
    let status = cmd.c.status().unwrap();
    assert_eq!(status.code(), Some(2), "--report fd/1 with stdout a file");
    let r = dir.cmd(&["build", "-q", "-o", "fd/1", "c.txt"]).expect(2);
    assert!(r.stderr.contains("open file"), "fd/1: {}", r.stderr);
    assert!(!dir.path("out.ldx").exists());
    let r = dir.cmd(&["build", "-o", "out.ldx", "--report", "-", "c.txt"]).expect(0);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("the report on stdout");
    assert_eq!(report["entries"], 2, "{}", r.stdout);
    assert_eq!(report["files"][0]["path"], "c.txt", "{}", r.stdout);
    assert!(r.stderr.contains("built out.ldx"), "the summary goes to stderr: {}", r.stderr);
    assert!(!dir.path("-").exists(), "--report - wrote a file named -");
}

// --- Group ownership ----------------------------------------------------------------------

const GROUP_A: u32 = 4242;
const GROUP_B: u32 = 4343;

fn chgrp(path: &Path, gid: u32) {
    std::os::unix::fs::chown(path, None, Some(gid)).unwrap();
}

fn gid(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).unwrap().gid()
}

/// An output directory `rel` whose new files get group `gid`: setgid when `gid` is not ours.
fn group_dir(dir: &Dir, rel: &str, gid: Option<u32>) {
    std::fs::create_dir(dir.path(rel)).unwrap();
    if let Some(g) = gid {
        chgrp(&dir.path(rel), g);
        chmod(&dir.path(rel), 0o2755);
    }
}

/// Corpora (mode, group), the output directory's group (setgid) or the process's, the mode
/// expected before the umask.
type GroupCase = (&'static [(u32, u32)], Option<u32>, u32);

#[test]
fn group_bits_of_the_corpus_reach_the_index_only_when_the_index_has_the_corpus_group() {
    // (corpora: mode and group; output directory's group (setgid) or the process's; expected
    // mode before the umask). The process runs as group 0.
    let cases: &[GroupCase] = &[
        (&[(0o640, GROUP_A)], None, 0o600),
        (&[(0o640, GROUP_A)], Some(GROUP_B), 0o600),
        (&[(0o660, GROUP_A)], Some(GROUP_B), 0o600),
        (&[(0o640, GROUP_A)], Some(GROUP_A), 0o640),
        (&[(0o640, GROUP_A), (0o640, GROUP_A)], Some(GROUP_A), 0o640),
        (&[(0o640, GROUP_A), (0o640, GROUP_B)], Some(GROUP_A), 0o600),
        (&[(0o640, 0)], None, 0o640),
        // Readable by everyone: the group gets what everyone gets.
        (&[(0o644, GROUP_A)], Some(GROUP_B), 0o644),
        (&[(0o664, GROUP_A)], Some(GROUP_B), 0o644),
    ];
    for (i, (corpora, out_group, want)) in cases.iter().enumerate() {
        let dir = Dir::new();
        group_dir(&dir, "out", *out_group);
        let mut args = vec!["build".to_string(), "-q".into(), "-o".into(), "out/i.ldx".into()];
        args.extend(["--report".into(), "out/r.json".into()]);
        for (j, (m, g)) in corpora.iter().enumerate() {
            let p = corpus(&dir, &format!("c{j}.txt"), *m);
            chgrp(&p, *g);
            args.push(format!("c{j}.txt"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        dir.cmd(&args).expect(0);
        for out in ["out/i.ldx", "out/r.json"] {
            let p = dir.path(out);
            assert_eq!(mode(&p), masked(*want), "case {i}: {out} (group {}) from {corpora:?}", gid(&p));
        }
    }
}

#[test]
fn a_directory_searchable_by_another_group_alone_keeps_group_bits_off_the_index() {
    // (input directory: mode and group; expected index mode before the umask). The corpus is
    // 0640 group A, the index gets group A (setgid output directory).
    for (dir_mode, dir_group, want) in [
        (0o750, GROUP_B, 0o600),
        (0o750, GROUP_A, 0o640),
        // Searchable by everyone: its group does not decide who reaches the corpus.
        (0o751, GROUP_B, 0o640),
    ] {
        let dir = Dir::new();
        group_dir(&dir, "out", Some(GROUP_A));
        let c = corpus(&dir, "in/c.txt", 0o640);
        chgrp(&c, GROUP_A);
        chgrp(&dir.path("in"), dir_group);
        chmod(&dir.path("in"), dir_mode);
        dir.cmd(&["build", "-q", "-o", "out/i.ldx", "in/c.txt"]).expect(0);
        assert_eq!(mode(&dir.path("out/i.ldx")), masked(want), "in/ {dir_mode:o} group {dir_group}");
        assert_eq!(gid(&dir.path("out/i.ldx")), GROUP_A);
    }
}

#[test]
fn filter_and_range_exports_keep_group_bits_only_in_the_index_group() {
    for (kind, out_group, file_mode, dir_mode) in [
        ("email", GROUP_B, 0o600, 0o700),
        ("email", GROUP_A, 0o640, 0o750),
        ("password", GROUP_B, 0o600, 0o700),
        ("password", GROUP_A, 0o640, 0o750),
    ] {
        let dir = Dir::new();
        let c = dir.write("c.txt", "x-a@example.com:Winter2024\nx-b@example.org:hunter2\n");
        chmod(&c, 0o644);
        dir.cmd(&["build", "-q", "--kind", kind, "-o", "index.ldx", "c.txt"]).expect(0);
        chmod(&dir.path("index.ldx"), 0o640);
        chgrp(&dir.path("index.ldx"), GROUP_A);
        group_dir(&dir, "out", Some(out_group));
        dir.cmd(&["export-filter", "-i", "index.ldx", "-o", "out/f.ldf"]).expect(0);
        assert_eq!(mode(&dir.path("out/f.ldf")), masked(file_mode), "{kind} filter in group {out_group}");
        dir.cmd(&["export-ranges", "-i", "index.ldx", "-o", "out/ranges"]).expect(0);
        let all = modes_below(&dir.path("out/ranges"));
        assert!(all.iter().filter(|(_, d, _)| !d).count() >= 3, "{all:?}");
        assert_eq!(mode(&dir.path("out/ranges")) & 0o777, masked(dir_mode), "{kind} in group {out_group}");
        for (p, is_dir, m) in all {
            let want = if is_dir { dir_mode } else { file_mode };
            assert_eq!(m & 0o777, masked(want), "{kind} in group {out_group}: {}", p.display());
            assert_eq!(gid(&p), out_group, "{kind}: {}", p.display());
        }
    }
}

// --- The sources manifest is an input -----------------------------------------------------

#[test]
fn the_sources_manifest_is_never_overwritten_by_the_index_or_the_report() {
    let dir = Dir::new();
    corpus(&dir, "c.txt", 0o644);
    let manifest = "[c]\ntitle = \"Example corpus\"\nbreach_date = \"2020-01-02\"\n";
    let m = dir.write("m.toml", manifest);
    std::fs::hard_link(&m, dir.path("hard.toml")).unwrap();
    symlink("m.toml", dir.path("soft.toml")).unwrap();
    for name in ["m.toml", "hard.toml", "soft.toml", "./m.toml"] {
        for args in [
            vec!["build", "-q", "--sources", "m.toml", "-o", name, "c=c.txt"],
            vec!["build", "-q", "--sources", "m.toml", "-o", "out.ldx", "--report", name, "c=c.txt"],
            vec!["build", "-q", "--sources", name, "-o", "m.toml", "c=c.txt"],
        ] {
            let r = dir.cmd(&args).expect(2);
            assert!(r.stderr.contains("--sources"), "{args:?}: {}", r.stderr);
            assert_eq!(std::fs::read_to_string(&m).unwrap(), manifest, "{args:?} overwrote the manifest");
            assert!(file_type(&dir.path("soft.toml")).is_symlink(), "{args:?}");
            assert!(!dir.path("out.ldx").exists(), "{args:?}: the index was written");
        }
    }
    dir.cmd(&["build", "-q", "--sources", "soft.toml", "-o", "out.ldx", "c=c.txt"]).expect(0);
}
