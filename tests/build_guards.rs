//! Issue 9 §1–§3, build side: inputs read as nothing, never losing an index or an input,
//! bounded flags, one-line errors and source names. Through the real binary.

use serde_json::Value;

use crate::util::{self, json_lines, Dir};

/// A zip archive holding `members` (stored, not deflated), written by hand: the test crates
/// have no zip writer, and a stored zip is a few fixed headers.
fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in members {
        let crc = crc32(data);
        let offset = out.len() as u32;
        let mut local = b"PK\x03\x04".to_vec();
        local.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        local.extend_from_slice(&crc.to_le_bytes());
        local.extend_from_slice(&(data.len() as u32).to_le_bytes());
        local.extend_from_slice(&(data.len() as u32).to_le_bytes());
        local.extend_from_slice(&(name.len() as u16).to_le_bytes());
        local.extend_from_slice(&[0, 0]);
        local.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&local);
        out.extend_from_slice(data);
        let mut c = b"PK\x01\x02".to_vec();
        c.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        c.extend_from_slice(&crc.to_le_bytes());
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(&(name.len() as u16).to_le_bytes());
        c.extend_from_slice(&[0; 12]);
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(name.as_bytes());
        central.extend_from_slice(&c);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Pseudo-random bytes (a fixed linear congruential sequence).
fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

fn report_json(dir: &Dir, name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir.path(name)).unwrap()).unwrap()
}

#[test]
fn rar_png_and_elf_inputs_are_warned_not_read_as_nothing() {
    let dir = Dir::new();
    dir.write("leak.txt", "kept@example.com\n");
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(noise(300, 2));
    let mut elf = b"\x7FELF\x02\x01\x01\0".to_vec();
    elf.extend(noise(400, 3));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("pack.rar", [&b"Rar!\x1A\x07\x01\0"[..], &noise(100, 5)].concat(), "rar archive"),
        ("pic.png", png, "PNG image"),
        ("tool", elf, "ELF executable"),
    ];
    let mut args = vec!["build", "-o", "x.ldx", "--report", "r.json", "leak.txt"];
    for (name, bytes, _) in &cases {
        dir.write(name, bytes);
        args.push(name);
    }
    let r = dir.cmd(&args).expect(0);
    for (name, _, what) in &cases {
        let line = r.stderr.lines().find(|l| l.contains("WARNING") && l.contains(name));
        let line = line.unwrap_or_else(|| panic!("no WARNING for {name}:\n{}", r.stderr));
        assert!(line.contains(what) && line.contains("not read"), "{name}: {line}");
    }
    assert!(r.stderr.contains(&format!("{} input file(s) gave a WARNING", cases.len())), "{}", r.stderr);
    let report = report_json(&dir, "r.json");
    let warned = report["files"].as_array().unwrap().iter().filter(|f| f["warnings"].is_array()).count();
    assert_eq!(warned, cases.len());
    dir.cmd(&["check", "-i", "x.ldx", "kept@example.com"]).expect(1);

    // --strict stops at the first one and writes nothing.
    for (name, _, what) in &cases[..2] {
        let r = dir.cmd(&["build", "--strict", "-o", "strict.ldx", "leak.txt", name]).expect(2);
        assert!(r.stderr.contains(name) && r.stderr.contains(what), "{}", r.stderr);
        assert!(!dir.path("strict.ldx").exists());
    }
}

#[test]
fn a_file_that_yields_no_record_is_a_warning_and_strict_fails() {
    let dir = Dir::new();
    dir.write("good.txt", "good@example.com\n");
    dir.write("prose.txt", "Nothing to see here.\nNo addresses, just words.\n");
    dir.write("empty.txt", "");
    dir.write("numbers.csv.gz", util::gzip(b"id,amount\n1,20\n2,30\n"));
    dir.write("binary.dat", noise(3000, 9));
    let r = dir
        .cmd(&["build", "-o", "x.ldx", "good.txt", "prose.txt", "empty.txt", "numbers.csv.gz", "binary.dat"])
        .expect(0);
    for name in ["prose.txt", "empty.txt", "numbers.csv.gz", "binary.dat"] {
        assert!(
            r.stderr.lines().any(|l| l.contains("WARNING") && l.contains(name))
                || r.stderr.lines().any(|l| l.contains("ERROR") && r.stderr.contains(name)),
            "{name} not flagged:\n{}",
            r.stderr
        );
    }
    assert!(r.stderr.contains("prose.txt: no record found in 2 line(s)"), "{}", r.stderr);
    assert!(r.stderr.contains("binary data of an unknown format"), "{}", r.stderr);
    for name in ["prose.txt", "empty.txt", "binary.dat"] {
        let r = dir.cmd(&["build", "--strict", "-o", "y.ldx", "good.txt", name]).expect(2);
        assert!(r.stderr.contains(name), "{}", r.stderr);
        assert!(!dir.path("y.ldx").exists());
    }
}

#[test]
fn tar_symlink_hard_link_fifo_and_device_members_are_reported_as_skipped() {
    let dir = Dir::new();
    let mut b = tar::Builder::new(Vec::new());
    let data = b"member@example.com\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "d/real.txt", &data[..]).unwrap();
    for (name, kind, target) in [
        ("d/sym.txt", tar::EntryType::Symlink, Some("/etc/passwd")),
        ("d/up.txt", tar::EntryType::Symlink, Some("../../outside.txt")),
        ("d/hard.txt", tar::EntryType::Link, Some("d/real.txt")),
        ("d/fifo", tar::EntryType::Fifo, None),
        ("d/tty", tar::EntryType::Char, None),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(0);
        h.set_mode(0o644);
        if let Some(t) = target {
            h.set_link_name(t).unwrap();
        }
        h.set_cksum();
        b.append_data(&mut h, name, &[][..]).unwrap();
    }
    let tarball = b.into_inner().unwrap();
    dir.write("arch.tar", &tarball);
    dir.write("arch2.tar.zst", util::zstd(&tarball));
    for file in ["arch.tar", "arch2.tar.zst"] {
        let r = dir.cmd(&["build", "-o", "x.ldx", "--report", "r.json", file]).expect(0);
        for (member, why) in [
            ("d/sym.txt", "symbolic link to /etc/passwd"),
            ("d/up.txt", "symbolic link to ../../outside.txt"),
            ("d/hard.txt", "hard link to d/real.txt"),
            ("d/fifo", "named pipe"),
            ("d/tty", "device file"),
        ] {
            let line = format!("{file}!{member}  SKIPPED: {why}");
            assert!(r.stderr.contains(&line), "{line}:\n{}", r.stderr);
        }
        let report = report_json(&dir, "r.json");
        let skipped: Vec<&str> = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["skipped"].is_string())
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(skipped.len(), 5, "{skipped:?}");
        assert_eq!(report["sources"][0]["files"], 1, "skipped members are not files read");
        dir.cmd(&["check", "-i", "x.ldx", "member@example.com"]).expect(1);
    }
}

#[test]
fn fifos_and_sockets_in_an_input_directory_are_reported_as_skipped() {
    let dir = Dir::new();
    dir.write("dump/a.txt", "dir-member@example.com\n");
    dir.write("dump/sub/b.txt", "other@example.org\n");
    let status = std::process::Command::new("mkfifo").arg(dir.path("dump/pipe")).status().unwrap();
    assert!(status.success());
    let _socket = std::os::unix::net::UnixListener::bind(dir.path("dump/sub/sock")).unwrap();
    let r = dir.cmd(&["build", "-o", "x.ldx", "--report", "r.json", "dump"]).expect(0);
    assert!(r.stderr.contains("dump/pipe  SKIPPED: named pipe: not read"), "{}", r.stderr);
    assert!(r.stderr.contains("dump/sub/sock  SKIPPED: socket: not read"), "{}", r.stderr);
    let report = report_json(&dir, "r.json");
    let skipped = report["files"].as_array().unwrap().iter().filter(|f| f["skipped"].is_string()).count();
    assert_eq!(skipped, 2);
    dir.cmd(&["check", "-i", "x.ldx", "dir-member@example.com", "other@example.org"]).expect(1);
}

#[test]
fn build_refuses_an_output_that_is_one_of_its_inputs() {
    let dir = Dir::new();
    let corpus = "victim@example.com:pw\nother@example.org:pw2\n";
    dir.write("leak.txt", corpus);
    dir.write("more/part.csv", "email\nthird@example.net\n");
    std::os::unix::fs::symlink("leak.txt", dir.path("link.txt")).unwrap();
    std::fs::hard_link(dir.path("leak.txt"), dir.path("hard.txt")).unwrap();
    std::os::unix::fs::symlink(dir.path("more"), dir.path("more-link")).unwrap();
    std::fs::hard_link(dir.path("more/part.csv"), dir.path("part-hard.csv")).unwrap();
    let cases: &[&[&str]] = &[
        &["-o", "leak.txt", "leak.txt"],
        &["-o", "./leak.txt", "leak.txt"],
        &["-o", "link.txt", "leak.txt"],
        &["-o", "hard.txt", "leak.txt"],
        &["-o", "leak.txt", "link.txt"],
        &["-o", "more/part.csv", "more"],
        &["-o", "more/new.ldx", "more"],
        &["-o", "more-link/new.ldx", "more"],
        &["-o", "x.ldx", "--report", "leak.txt", "leak.txt"],
        &["-o", "x.ldx", "--report", "hard.txt", "link.txt"],
        &["-o", "part-hard.csv", "more"],
        &["-o", "x.ldx", "--report", "part-hard.csv", "more-link"],
    ];
    for args in cases {
        let mut all = vec!["build"];
        all.extend_from_slice(args);
        let r = dir.cmd(&all).expect(2);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("input"), "{args:?}: {}", r.stderr);
        assert_eq!(std::fs::read_to_string(dir.path("leak.txt")).unwrap(), corpus, "{args:?}");
        assert_eq!(std::fs::read_to_string(dir.path("more/part.csv")).unwrap(), "email\nthird@example.net\n");
        assert!(!dir.path("x.ldx").exists() && !dir.path("more/new.ldx").exists(), "{args:?}");
    }
    // Standard input redirected from the file that -o names.
    let stdin = std::fs::File::open(dir.path("leak.txt")).unwrap();
    let mut c = dir.cmd(&["build", "-o", "leak.txt", "-"]);
    let r = c.c.stdin(stdin).output().unwrap();
    assert_eq!(r.status.code(), Some(2), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stderr).contains("standard input"));
    assert_eq!(std::fs::read_to_string(dir.path("leak.txt")).unwrap(), corpus);
}

#[test]
fn a_report_path_that_is_the_index_itself_is_refused() {
    let dir = Dir::new();
    dir.write("in.txt", "a@example.com\n");
    dir.cmd(&["build", "-q", "-o", "x.ldx", "in.txt"]).expect(0);
    let before = std::fs::read(dir.path("x.ldx")).unwrap();
    std::os::unix::fs::symlink("x.ldx", dir.path("sym.ldx")).unwrap();
    for (out, report) in [("x.ldx", "x.ldx"), ("./x.ldx", "x.ldx"), ("x.ldx", "sym.ldx"), ("new.ldx", "./new.ldx")] {
        let r = dir.cmd(&["build", "-o", out, "--report", report, "in.txt"]).expect(2);
        assert!(r.stderr.contains("is the index file itself"), "{out} {report}: {}", r.stderr);
        assert_eq!(std::fs::read(dir.path("x.ldx")).unwrap(), before);
        assert!(!dir.path("new.ldx").exists());
    }
}

#[test]
fn export_filter_refuses_to_write_over_its_own_index() {
    let dir = Dir::new();
    dir.write("a.txt", "a@example.com\n");
    dir.cmd(&["build", "-q", "-o", "x.ldx", "a.txt"]).expect(0);
    let before = std::fs::read(dir.path("x.ldx")).unwrap();
    std::os::unix::fs::symlink("x.ldx", dir.path("sym.ldx")).unwrap();
    std::fs::hard_link(dir.path("x.ldx"), dir.path("hard.ldx")).unwrap();
    for out in ["x.ldx", "./x.ldx", "sym.ldx", "hard.ldx"] {
        let r = dir.cmd(&["export-filter", "-i", "x.ldx", "-o", out]).expect(2);
        assert!(r.stderr.contains("itself"), "{out}: {}", r.stderr);
        assert_eq!(std::fs::read(dir.path("x.ldx")).unwrap(), before, "{out}");
    }
    dir.cmd(&["check", "-i", "x.ldx", "a@example.com"]).expect(1);
}

#[test]
fn a_build_that_indexes_nothing_never_replaces_an_index() {
    let dir = Dir::new();
    dir.write("good.txt", "keep@example.com\n");
    dir.cmd(&["build", "-q", "-o", "x.ldx", "good.txt"]).expect(0);
    let before = std::fs::read(dir.path("x.ldx")).unwrap();
    dir.write("people.csv", "id,primary\n1,a@example.com\n");
    dir.write("unknown.csv", "id;who;when\n1;x;2020\n");
    std::fs::create_dir(dir.path("empty-dir")).unwrap();
    dir.write("words.txt", "no addresses here\n");
    dir.write("pic.png", [&b"\x89PNG\r\n\x1a\n"[..], &noise(100, 7)].concat());
    let cases: &[(&[&str], &str)] = &[
        (&["--column", "nope", "people.csv"], "none of the asked columns (\"nope\")"),
        (&["unknown.csv"], "unknown.csv"),
        (&["empty-dir"], "empty-dir: a directory with no file in it"),
        (&["words.txt", "pic.png"], "PNG image"),
        (&["--kind", "password", "--column", "secret", "people.csv"], "none of the asked columns (\"secret\")"),
    ];
    for (args, why) in cases {
        for out in ["x.ldx", "new.ldx"] {
            let mut all = vec!["build", "-o", out];
            all.extend_from_slice(args);
            let r = dir.cmd(&all).expect(2);
            let last = r.stderr.lines().last().unwrap();
            assert!(last.contains("no input gave a record") && last.contains(why), "{args:?}: {}", r.stderr);
            assert!(last.contains("--allow-empty"), "{last}");
        }
        assert_eq!(std::fs::read(dir.path("x.ldx")).unwrap(), before, "{args:?} replaced the index");
        assert!(!dir.path("new.ldx").exists(), "{args:?} created an empty index");
    }
    dir.cmd(&["check", "-i", "x.ldx", "keep@example.com"]).expect(1);
    // Asked for: an empty index is written.
    dir.cmd(&["build", "-q", "--allow-empty", "-o", "new.ldx", "empty-dir"]).expect(0);
    let info: Value = serde_json::from_str(&dir.cmd(&["info", "--json", "-i", "new.ldx"]).expect(0).stdout).unwrap();
    assert_eq!(info["stats"]["entries"], 0);
}

#[test]
fn unusable_report_temp_dir_and_output_paths_are_found_before_the_build() {
    let dir = Dir::new();
    dir.write("good.txt", "keep@example.com\n");
    dir.write("new.txt", "new@example.com\n");
    dir.write("a-file", "x");
    std::fs::create_dir(dir.path("a-dir")).unwrap();
    dir.cmd(&["build", "-q", "-o", "x.ldx", "good.txt"]).expect(0);
    let before = std::fs::read(dir.path("x.ldx")).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--report", "no-such-dir/r.json"], "--report"),
        (&["--report", "a-dir"], "--report a-dir is a directory"),
        (&["--report", "a-file/r.json"], "--report"),
        (&["--temp-dir", "no-such-dir"], "--temp-dir no-such-dir is not a directory"),
        (&["--temp-dir", "a-file"], "--temp-dir a-file is not a directory"),
    ];
    for (args, want) in cases {
        let mut all = vec!["build", "-o", "x.ldx"];
        all.extend_from_slice(args);
        all.push("new.txt");
        let r = dir.cmd(&all).expect(2);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert_eq!(std::fs::read(dir.path("x.ldx")).unwrap(), before, "{args:?}");
    }
    let r = dir.cmd(&["build", "-o", "a-dir", "new.txt"]).expect(2);
    assert!(r.stderr.contains("a-dir is a directory"), "{}", r.stderr);
    let r = dir.cmd(&["build", "-o", "no-such-dir/x.ldx", "new.txt"]).expect(2);
    assert!(r.stderr.contains("no-such-dir does not exist"), "{}", r.stderr);
}

#[test]
fn out_of_range_numbers_are_one_line_errors_naming_the_flag_and_range() {
    let dir = Dir::new();
    dir.write("good.txt", "keep@example.com\n");
    dir.cmd(&["build", "-q", "-o", "x.ldx", "good.txt"]).expect(0);
    // Values are given as --flag=VALUE, so that negative numbers reach the flag's parser.
    let build = |flag: &str, v: &str| {
        vec!["build".into(), "-o".into(), "y.ldx".into(), format!("{flag}={v}"), "good.txt".into()]
    };
    let serve = |flag: &str, v: &str| vec!["serve".into(), "-i".into(), "x.ldx".into(), format!("{flag}={v}")];
    let export = |v: &str| {
        vec!["export-ranges".into(), "-i".into(), "x.ldx".into(), "-o".into(), "r".into(), format!("--prefix-len={v}")]
    };
    let pad = |sub: &str, v: &str| {
        vec![
            sub.to_string(),
            "--api".into(),
            "http://127.0.0.1:9".into(),
            format!("--pad-requests={v}"),
            "a@example.com".into(),
        ]
    };
    let mut cases: Vec<(Vec<String>, &str, &str)> = Vec::new();
    for v in ["100000", "1025", "-1", "many"] {
        cases.push((build("--threads", v), "--threads", v));
    }
    for v in ["99999999999999T", "1K", "0", "65T", "-4G", "inf"] {
        cases.push((build("--memory", v), "--memory", v));
    }
    for v in ["0", "1.5", "nan", "-0.1", "1e-12"] {
        cases.push((build("--fpr", v), "--fpr", v));
    }
    for (flag, bad) in [
        ("--min-k", &["-3", "99999999999"][..]),
        ("--timeout", &["0", "99999999999999999999", "3601"]),
        ("--max-concurrency", &["0", "10000000"]),
        ("--max-connections", &["0", "100000000"]),
        ("--header-timeout", &["0", "86400"]),
        ("--max-header-bytes", &["10", "999999999999"]),
        ("--rate-limit", &["-5", "5000000000"]),
    ] {
        for v in bad {
            cases.push((serve(flag, v), flag, v));
        }
    }
    for v in ["0", "9", "41"] {
        cases.push((export(v), "--prefix-len", v));
    }
    for (sub, v) in [("check", "1000000000"), ("bulk", "x"), ("check", "-2")] {
        cases.push((pad(sub, v), "--pad-requests", v));
    }
    for (args, flag, given) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = dir.cmd(&args).expect(2);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        let line = r.stderr.trim_end();
        assert!(line.contains(flag) && line.contains(given) && line.contains("allowed"), "{args:?}: {line}");
        assert!(!line.contains("panicked"), "{line}");
    }
    assert!(!dir.path("y.ldx").exists() && !dir.path("r").exists());
    // Threads whose buffers would not fit the memory budget: an error, not a budget overrun.
    for (threads, memory) in [("1024", "1G"), ("8", "32M")] {
        let r = dir.cmd(&["build", "-o", "y.ldx", "--threads", threads, "--memory", memory, "good.txt"]).expect(2);
        assert!(r.stderr.contains("--threads") && r.stderr.contains("--memory"), "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
    // The largest budget is either allocated (overcommit) or a clear error: never an abort.
    let r = dir.cmd(&["build", "-o", "big.ldx", "--memory", "64T", "good.txt"]).run();
    assert!(r.status == Some(0) || r.status == Some(2), "{:?}: {}", r.status, r.stderr);
    if r.status == Some(2) {
        assert!(r.stderr.contains("--memory") && r.stderr.lines().count() == 1, "{}", r.stderr);
    }
    // The bounds themselves are accepted.
    dir.cmd(&["build", "-q", "--threads", "1", "--memory", "32M", "--fpr", "0.5", "-o", "y.ldx", "good.txt"]).expect(0);
}

#[test]
fn index_commands_given_a_directory_say_it_is_a_directory() {
    let dir = Dir::new();
    std::fs::create_dir(dir.path("idx")).unwrap();
    let cases: &[&[&str]] = &[
        &["check", "-i", "idx", "a@example.com"],
        &["bulk", "-i", "idx", "-"],
        &["info", "-i", "idx"],
        &["verify", "-i", "idx"],
        &["export-filter", "-i", "idx", "-o", "f.ldf"],
        &["export-ranges", "-i", "idx", "-o", "ranges"],
        &["serve", "-i", "idx", "--listen", "127.0.0.1:0"],
    ];
    for args in cases {
        let r = dir.cmd(args).stdin("a@example.com\n").expect(2);
        assert!(r.stderr.contains("is a directory"), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("No such device"), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
    }
}

#[test]
fn bad_toml_manifest_is_one_line_with_file_line_and_column() {
    let dir = Dir::new();
    dir.write("a.txt", "a@example.com\n");
    for (name, text, at) in [
        ("m1.toml", "[a]\ntitle = \"ok\"\n[b\n", "line 3, column 3"),
        ("m2.toml", "[a]\n\ndata_classes = \"Email addresses\"\n", "line 3, column 16"),
        ("m3.toml", "[a]\ntitle = 'x'\ntitle = 'y'\n", "line 3, column 1"),
    ] {
        dir.write(name, text);
        let r = dir.cmd(&["build", "-o", "x.ldx", "--sources", name, "a.txt"]).expect(2);
        assert_eq!(r.stderr.lines().count(), 1, "{name}: {}", r.stderr);
        assert!(r.stderr.contains(name) && r.stderr.contains(at), "{name}: {}", r.stderr);
    }
    assert!(!dir.path("x.ldx").exists());
}

#[test]
fn impossible_breach_dates_stop_the_build() {
    let dir = Dir::new();
    dir.write("a.txt", "a@example.com\n");
    for bad in ["2021-02-29", "2100-02-29", "2023-04-31", "2023-13-01", "2023-1-01"] {
        dir.write("m.toml", format!("[a]\nbreach_date = \"{bad}\"\n"));
        let r = dir.cmd(&["build", "-o", "x.ldx", "--sources", "m.toml", "a.txt"]).expect(2);
        assert!(r.stderr.contains(bad) && r.stderr.contains("YYYY-MM-DD"), "{bad}: {}", r.stderr);
    }
    for good in ["2024-02-29", "2000-02-29"] {
        dir.write("m.toml", format!("[a]\nbreach_date = \"{good}\"\n"));
        dir.cmd(&["build", "-q", "-o", "x.ldx", "--sources", "m.toml", "a.txt"]).expect(0);
    }
}

#[test]
fn dotted_file_names_keep_their_dots_and_name_equals_path_names_a_source() {
    let dir = Dir::new();
    dir.write("2023.10.05-linkedin.txt", "a@example.com\n");
    dir.write("acme.com.sql", "INSERT INTO u VALUES ('b@example.com');\n");
    dir.write("acme.org.sql.gz", util::gzip(b"INSERT INTO u VALUES ('c@example.com');\n"));
    dir.write("x=y.txt", "d@example.com\n");
    dir.write("data/export.csv", "email\ne@example.com\n");
    dir.write("m.toml", "[\"acme.com\"]\ntitle = \"Acme\"\n[shop-2021]\nbreach_date = \"2021-05-01\"\n");
    dir.cmd(&[
        "build",
        "-q",
        "-o",
        "x.ldx",
        "--sources",
        "m.toml",
        "2023.10.05-linkedin.txt",
        "acme.com.sql",
        "acme.org.sql.gz",
        "x=y.txt",
        "shop-2021=data/export.csv",
    ])
    .expect(0);
    let r = dir
        .cmd(&[
            "check",
            "-i",
            "x.ldx",
            "--format",
            "json",
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com",
            "e@example.com",
        ])
        .expect(1);
    let names: Vec<String> = json_lines(&r.stdout).iter().map(|v| v["sources"][0].as_str().unwrap().into()).collect();
    assert_eq!(names, ["2023.10.05-linkedin", "acme.com", "acme.org", "x=y", "shop-2021"]);
    let info: Value = serde_json::from_str(&dir.cmd(&["info", "--json", "-i", "x.ldx"]).expect(0).stdout).unwrap();
    let sources = info["meta"]["sources"].as_array().unwrap();
    assert_eq!(sources[1]["title"], "Acme");
    assert_eq!(sources[4]["breach_date"], "2021-05-01");
    // NAME=- names standard input; bad names are refused.
    dir.cmd(&["build", "-q", "-o", "s.ldx", "pasted=-"]).stdin("f@example.com\n").expect(0);
    let r = dir.cmd(&["check", "-i", "s.ldx", "--format", "json", "f@example.com"]).expect(1);
    assert_eq!(json_lines(&r.stdout)[0]["sources"][0], "pasted");
    for bad in ["=data/export.csv", "a/b=data/export.csv", " x=data/export.csv"] {
        let r = dir.cmd(&["build", "-o", "z.ldx", bad]).expect(2);
        assert!(r.stderr.contains("NAME=PATH"), "{bad}: {}", r.stderr);
    }
}

#[test]
fn index_copied_over_in_place_is_refused_at_open_and_names_rename() {
    let dir = Dir::new();
    dir.write("a.txt", "a@example.com\n");
    dir.write("b.txt", (0..500).map(|i| format!("u{i}@example.org\n")).collect::<String>());
    dir.cmd(&["build", "-q", "-o", "a.ldx", "a.txt"]).expect(0);
    dir.cmd(&["build", "-q", "-o", "b.ldx", "b.txt"]).expect(0);
    let (a, b) = (std::fs::read(dir.path("a.ldx")).unwrap(), std::fs::read(dir.path("b.ldx")).unwrap());
    // What a `cp` over a live file leaves at the moments a reader may open it: a prefix of the
    // new file, or the new file's start over the old file's tail.
    let mut mixed = b[..b.len() / 2].to_vec();
    mixed.extend_from_slice(&a[a.len().min(b.len() / 2)..]);
    for (name, bytes) in [("cut.ldx", b[..b.len() - 7].to_vec()), ("grown.ldx", [&a[..], b"junk"].concat())] {
        dir.write(name, &bytes);
        for cmd in [&["verify", "-i", name][..], &["check", "-i", name, "a@example.com"][..], &["info", "-i", name][..]]
        {
            let r = dir.cmd(cmd).expect(2);
            assert!(r.stderr.contains("header says") && r.stderr.contains("mv"), "{cmd:?}: {}", r.stderr);
        }
    }
    dir.write("mixed.ldx", &mixed);
    dir.cmd(&["verify", "-i", "mixed.ldx"]).expect(2);
    dir.cmd(&["verify", "-i", "b.ldx"]).expect(0);
}

#[test]
fn a_tar_inside_a_tar_is_opened_never_read_as_text() {
    let dir = Dir::new();
    let tar_of = |members: &[(&str, &[u8])]| {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    };
    let inner = tar_of(&[("a.txt", b"n4@example.com:pw\n")]);
    dir.write("dump.tar", tar_of(&[("part1.tar", &inner), ("b.txt", b"top@example.com\n")]));
    let r = dir.cmd(&["build", "-o", "x.ldx", "dump.tar"]).expect(0);
    assert!(r.stderr.contains("dump.tar!part1.tar!a.txt"), "{}", r.stderr);
    assert!(!r.stderr.contains("WARNING"), "{}", r.stderr);
    // Read as text, the member header glued onto the data gave `...ustar00n4@example.com`:
    // opened, the inner member gives exactly its own address.
    let info = dir.cmd(&["info", "-i", "x.ldx", "--json"]).expect(0);
    assert!(info.stdout.contains("\"entries\": 2"), "{}", info.stdout);
    dir.cmd(&["check", "-i", "x.ldx", "top@example.com", "n4@example.com"]).expect(1);
    dir.cmd(&["build", "--strict", "-o", "y.ldx", "dump.tar"]).expect(0);
}

#[test]
fn a_directory_given_as_dot_is_named_after_the_directory_not_stdin() {
    let dir = Dir::new();
    dir.write("forum-dump/a.txt", "a@example.com\n");
    let mut c = dir.cmd(&["build", "-q", "-o", "../x.ldx", "."]);
    c.c.current_dir(dir.path("forum-dump"));
    assert_eq!(c.run().status, Some(0));
    let r = dir.cmd(&["check", "-i", "x.ldx", "--format", "json", "a@example.com"]).expect(1);
    assert_eq!(json_lines(&r.stdout)[0]["sources"][0], "forum-dump");
}

#[test]
fn a_stored_zip_and_a_gzipped_zip_are_read_member_by_member() {
    let dir = Dir::new();
    let plain_zip =
        zip(&[("dump.txt", b"in-zip@example.net\n"), ("more/list.csv", b"id,email\n1,csv-in-zip@example.org\n")]);
    dir.write("dump.zip", &plain_zip);
    dir.write("dump2.zip.gz", util::gzip(&zip(&[("x.txt", b"in-gz-zip@example.com\n")])));
    let r = dir.cmd(&["build", "-o", "x.ldx", "--report", "r.json", "dump.zip", "dump2.zip.gz"]).expect(0);
    assert!(!r.stderr.contains("WARNING"), "{}", r.stderr);
    let report = report_json(&dir, "r.json");
    let paths: Vec<&str> = report["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        ["dump.zip", "dump.zip!dump.txt", "dump.zip!more/list.csv", "dump2.zip.gz", "dump2.zip.gz!x.txt"]
    );
    dir.cmd(&["check", "-i", "x.ldx", "in-zip@example.net", "csv-in-zip@example.org", "in-gz-zip@example.com"])
        .expect(1);
    let r =
        dir.cmd(&["check", "-i", "x.ldx", "--format", "json", "in-zip@example.net", "nobody@example.net"]).expect(1);
    let rows = json_lines(&r.stdout);
    assert_eq!(rows[0]["exposed"], true);
    assert_eq!(rows[1]["exposed"], false);
}
