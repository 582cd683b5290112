//! Build faults through the real binary: SIGKILL at many points, a full disk.

use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util::Dir;

/// Names of leftover temporary files in `dir`.
fn temps(dir: &Dir) -> Vec<String> {
    std::fs::read_dir(dir.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("leakdex-tmp"))
        .collect()
}

fn entries(dir: &Dir, index: &str) -> u64 {
    let info: serde_json::Value =
        serde_json::from_str(&dir.cmd(&["info", "-i", index, "--json"]).expect(0).stdout).unwrap();
    info["stats"]["entries"].as_u64().unwrap()
}

#[cfg(unix)]
#[test]
fn build_killed_at_spread_points_leaves_old_or_complete_new_index() {
    const N: u64 = 150_000;
    let dir = Dir::new();
    dir.write("old.txt", "old@example.com\n");
    let corpus: String = (0..N).map(|i| format!("k{i}@example.com:pw{i}\n")).collect();
    dir.write("new.txt", corpus);
    dir.cmd(&["build", "-q", "-o", "x.ldx", "old.txt"]).expect(0);
    let old = std::fs::read(dir.path("x.ldx")).unwrap();
    // How long a whole build takes here, so the kill points spread over all its phases
    // (parse, spilled runs under the small budget, merge, write, fsync, rename).
    let started = Instant::now();
    dir.cmd(&["build", "-q", "--memory", "32M", "-o", "ref.ldx", "new.txt"]).expect(0);
    let whole = started.elapsed();
    let (mut kept_old, mut got_new) = (0, 0);
    let rounds = 16u32;
    for round in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_leakdex"))
            .current_dir(dir.root())
            .args(["build", "-q", "--memory", "32M", "-o", "x.ldx", "new.txt"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Round r kills at (r + 0.5) / rounds of a whole build, stretched by 10% so that the
        // last rounds land after the rename too.
        std::thread::sleep(whole.mul_f64((f64::from(round) + 0.5) / f64::from(rounds) * 1.1));
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        let now = std::fs::read(dir.path("x.ldx")).expect("the destination exists after every kill");
        if now == old {
            kept_old += 1;
        } else {
            // Not the old file: then it must be the whole new index.
            dir.cmd(&["verify", "-i", "x.ldx"]).expect(0);
            assert_eq!(entries(&dir, "x.ldx"), N, "round {round}: a partial index at the destination");
            dir.cmd(&["check", "-i", "x.ldx", "k7@example.com"]).expect(1);
            got_new += 1;
            std::fs::write(dir.path("x.ldx"), &old).unwrap();
        }
    }
    eprintln!("{rounds} kills: {kept_old} left the old index, {got_new} the complete new one");
    // A build killed while writing leaves its named temporary file; the next build removes it.
    dir.cmd(&["build", "-q", "-o", "x.ldx", "new.txt"]).expect(0);
    assert_eq!(temps(&dir), Vec::<String>::new());
    assert_eq!(entries(&dir, "x.ldx"), N);
}

/// Runs `script` with `sh` in a private mount namespace where `full` is a 1 MiB tmpfs (gone
/// when the script ends): as root directly, otherwise in a user namespace.
fn with_small_tmpfs(dir: &Dir, script: &str) -> std::process::Output {
    let mut c = Command::new("unshare");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        c.args(["--user", "--map-root-user"]);
    }
    c.args(["--mount", "sh", "-c"])
        .arg(format!("set -u; mount -t tmpfs -o size=1m tmpfs full || exit 99; {script}"))
        .current_dir(dir.root())
        .env("LEAKDEX", env!("CARGO_BIN_EXE_leakdex"));
    let out = c.output().expect("unshare (util-linux) runs");
    assert_ne!(out.status.code(), Some(99), "cannot mount a tmpfs: {}", String::from_utf8_lossy(&out.stderr));
    out
}

#[cfg(target_os = "linux")]
#[test]
fn full_disk_is_a_clear_error_and_keeps_the_old_index() {
    let dir = Dir::new();
    dir.write("old.txt", "old@example.com\n");
    dir.cmd(&["build", "-q", "-o", "old.ldx", "old.txt"]).expect(0);
    // About 5 MB of index: it cannot fit in 1 MiB.
    let corpus: String = (0..200_000).map(|i| format!("k{i}@example.com:pw\n")).collect();
    dir.write("new.txt", corpus);
    std::fs::create_dir(dir.path("full")).unwrap();
    let out = with_small_tmpfs(
        &dir,
        r#"cp old.ldx full/x.ldx
"$LEAKDEX" build -q -o full/x.ldx new.txt; echo "dest-status=$?"
cmp -s old.ldx full/x.ldx && echo dest-intact
"$LEAKDEX" verify -i full/x.ldx >/dev/null && echo dest-verifies
echo "dest-left=$(ls -A full | tr '\n' ' ')"
cat new.txt new.txt new.txt new.txt | "$LEAKDEX" build -q --memory 32M --temp-dir full -o elsewhere.ldx -; echo "temp-status=$?"
echo "temp-left=$(ls -A full | tr '\n' ' ')"
test -e elsewhere.ldx && echo elsewhere-exists"#,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for want in
        ["dest-status=2", "dest-intact", "dest-verifies", "dest-left=x.ldx ", "temp-status=2", "temp-left=x.ldx "]
    {
        assert!(stdout.lines().any(|l| l == want), "missing {want:?} in\n{stdout}\nstderr:\n{stderr}");
    }
    assert!(!stdout.contains("elsewhere-exists"), "{stdout}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("leakdex: error:")).collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    for e in errors {
        assert!(e.contains("no space left on the device holding full"), "{e}");
        assert!(e.contains("the destination was not changed"), "{e}");
    }
}

#[cfg(unix)]
#[test]
fn unreadable_inputs_are_reported_and_only_strict_stops_the_build() {
    let dir = Dir::new();
    dir.write("dump/a.txt", "a@example.com\n");
    dir.write("elsewhere/b.txt", "b@example.com\n");
    std::os::unix::fs::symlink(dir.path("elsewhere/b.txt"), dir.path("dump/linked.txt")).unwrap();
    std::os::unix::fs::symlink(dir.path("gone.txt"), dir.path("dump/dangling.txt")).unwrap();
    let fifo = std::ffi::CString::new(dir.path("dump/pipe").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let r = dir.cmd(&["build", "-o", "x.ldx", "dump"]).expect(0);
    assert!(
        r.stderr.lines().any(|l| l.contains("ERROR") && l.contains("No such file")),
        "the dangling link is not reported:\n{}",
        r.stderr
    );
    assert!(r.stderr.contains("dump/dangling.txt"), "{}", r.stderr);
    assert!(r.stderr.contains("could not be read"), "{}", r.stderr);
    // The readable files, the linked one included, are in the index; the FIFO was not opened.
    let rows = crate::util::json_lines(
        &dir.cmd(&["check", "-i", "x.ldx", "--format", "json", "a@example.com", "b@example.com"]).expect(1).stdout,
    );
    assert_eq!(rows.iter().filter(|r| r["exposed"] == true).count(), 2);
    let strict = dir.cmd(&["build", "--strict", "-o", "y.ldx", "dump"]).expect(2);
    assert!(strict.stderr.contains("dump/dangling.txt"), "{}", strict.stderr);
    assert!(!dir.path("y.ldx").exists());
}

#[cfg(target_os = "linux")]
#[test]
fn read_only_output_report_and_temp_dirs_are_found_before_the_build() {
    let dir = Dir::new();
    dir.write("old.txt", "old@example.com\n");
    dir.cmd(&["build", "-q", "-o", "old.ldx", "old.txt"]).expect(0);
    dir.write("new.txt", "new@example.com\n");
    std::fs::create_dir(dir.path("full")).unwrap();
    let out = with_small_tmpfs(
        &dir,
        r#"cp old.ldx full/x.ldx; echo '{}' > full/old.json
mount -o remount,ro full || exit 99
"$LEAKDEX" build -q -o full/x.ldx new.txt; echo "dest-status=$?"
cmp -s old.ldx full/x.ldx && echo dest-intact
"$LEAKDEX" build -q -o a.ldx --report full/r.json new.txt; echo "new-report-status=$?"
"$LEAKDEX" build -q -o b.ldx --report full/old.json new.txt; echo "old-report-status=$?"
"$LEAKDEX" build -q -o c.ldx --temp-dir full new.txt; echo "temp-status=$?"
ls a.ldx b.ldx c.ldx 2>/dev/null | sed 's/^/written=/'"#,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for want in ["dest-status=2", "dest-intact", "new-report-status=2", "old-report-status=2", "temp-status=2"] {
        assert!(stdout.lines().any(|l| l == want), "missing {want:?} in\n{stdout}\nstderr:\n{stderr}");
    }
    // Found before the build: no index was written for a report or temp-dir it could not use.
    assert!(!stdout.contains("written="), "{stdout}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("leakdex: error:")).collect();
    assert_eq!(errors.len(), 4, "{stderr}");
    for (e, flag) in errors.iter().zip(["output directory", "--report", "--report", "--temp-dir"]) {
        assert!(e.contains(flag) && e.contains("full"), "{e}");
    }
}
