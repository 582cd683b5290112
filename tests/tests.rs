//! End-to-end tests through the real `leakdex` binary, real files and real memory maps.

mod build_guards;
mod check_api;
mod client_hostile;
mod containers;
mod domains;
mod dumps;
mod faults;
mod file_safety;
mod fileshare;
mod formats;
mod hostile_corpus;
mod html_report;
mod monitoring;
mod normalization;
mod ntlm_audit;
mod server;
mod server_abuse;
mod server_privacy;
mod signup_check;
mod staff_lists;
mod text_forms;
mod util;

use std::collections::BTreeMap;

use serde_json::Value;
use util::{json_lines, repo, Dir};

/// Builds the bundled demo index into `dir` and returns its path.
fn demo_index(dir: &Dir) -> String {
    let out = dir.path("demo.ldx").to_string_lossy().into_owned();
    let manifest = repo("data/sources.toml");
    let files: Vec<String> = ["forum-2020.sql", "shop-2021.csv.gz", "combo-2022.txt", "chat-2023.jsonl.zst"]
        .iter()
        .map(|f| repo(&format!("data/breaches/{f}")))
        .collect();
    let mut args = vec!["build", "-q", "-o", &out, "--sources", &manifest];
    args.extend(files.iter().map(String::as_str));
    dir.cmd(&args).expect(0);
    out
}

/// Bulk JSON rows keyed by input.
fn bulk_rows(dir: &Dir, index: &str, staff: &str) -> BTreeMap<String, Value> {
    let r = dir.cmd(&["bulk", "-i", index, "--format", "json", staff]).run();
    json_lines(&r.stdout).into_iter().map(|v| (v["input"].as_str().unwrap().to_string(), v)).collect()
}

fn sources(v: &Value) -> Vec<&str> {
    v["sources"].as_array().map(|a| a.iter().map(|s| s.as_str().unwrap()).collect()).unwrap_or_default()
}

#[test]
fn demo_staff_report_is_right_row_for_row() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    let r = dir.cmd(&["bulk", "-i", &index, "--format", "json", &repo("data/staff.csv")]).expect(1);
    let rows = json_lines(&r.stdout);
    let got: Vec<(String, bool, Vec<&str>, u64)> = rows
        .iter()
        .map(|v| {
            (
                v["input"].as_str().unwrap().to_string(),
                v["exposed"].as_bool().unwrap(),
                sources(v),
                v["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let want: Vec<(&str, bool, Vec<&str>, u64)> = vec![
        ("aiko.tanaka@agency.example", true, vec!["forum-2020", "combo-2022", "chat-2023"], 4),
        ("Kenji.Sato@agency.example", true, vec!["forum-2020", "shop-2021"], 2),
        ("ruth@agency.example", true, vec!["chat-2023"], 1),
        ("ivan@agency.example", false, vec![], 0),
        ("anna@münchen.example", true, vec!["shop-2021", "chat-2023"], 2),
        ("taro.yamada@agency.example", true, vec!["combo-2022"], 1),
        ("o'brien@agency.example", true, vec!["forum-2020"], 1),
        ("svc-backup@agency.example", true, vec!["combo-2022"], 1),
        ("ops@partner.test", true, vec!["chat-2023"], 1),
        ("mina.kobayashi@agency.example", false, vec![], 0),
        ("lars.holm@agency.example", false, vec![], 0),
        ("priya.rao@agency.example", false, vec![], 0),
        ("contractor at agency", false, vec![], 0),
        ("Grace Lee <grace.lee@agency.example>", false, vec![], 0),
    ];
    let got_cmp: Vec<(&str, bool, Vec<&str>, u64)> =
        got.iter().map(|(a, b, c, d)| (a.as_str(), *b, c.clone(), *d)).collect();
    assert_eq!(got_cmp, want);
    assert_eq!(rows[12]["error"], "no @");
    assert!(r.stderr.contains("checked 14, exposed 8"), "{}", r.stderr);
}

#[test]
fn messy_corpus_builds_and_reports_every_rejected_line() {
    let dir = Dir::new();
    // A directory source with several formats, encodings and compressions.
    let combo = "Alpha@Example.com:pa:ss\r\nbeta@example.org;x;y\r\nno separator line\r\n\r\nicon@2x.png:zz\r\n";
    let mut multi = util::gzip(combo.as_bytes());
    multi.extend(util::gzip(b"gamma@example.net|second member\n"));
    dir.write("dump/a-combo.txt.gz", multi);
    dir.write(
        "dump/b-users.csv.bz2",
        util::bzip2(
            b"id;Name;EMail\n1;\"Doe; Jane\";Delta@Example.com\n2;x;\"eps\nilon@example.com\"\n3;y;not-an-email\n",
        ),
    );
    dir.write("dump/c-utf16.txt", util::utf16le("zeta@example.com\r\neta@example.com\r\n"));
    dir.write("dump/d-bom.txt", b"\xEF\xBB\xBFtheta@example.com\nt\0h\0e\0t\0a\0@example.com\n\xe9lise@example.fr\n");
    let mut junk = vec![b'x'; 200 * 1024];
    junk.extend_from_slice(b"\niota@example.com\n");
    dir.write("dump/e-junk.txt", junk);
    dir.write(
        "dump/f-records.jsonl.zst",
        util::zstd(b"{\"a\":{\"b\":[{\"c\":\"kappa\\u0040example.com\"}]}}\n{\"d\":1}\n"),
    );
    dir.write(
        "dump/g-mail.log",
        "From: \"Lambda\" <lambda@example.com>\nsee https://user:secret@host.example.com/ now\nmailto:mu%2Btag@example.com.\n",
    );
    dir.write("dump/h-dump.sql", "INSERT INTO u VALUES (1,'nu@example.com','it''s'),(2,'o\\'xi@example.com');\n");
    let staff = dir.write(
        "staff.txt",
        "alpha@example.com\nbeta@example.org\ngamma@example.net\ndelta@example.com\nepsilon@example.com\nzeta@example.com\neta@example.com\ntheta@example.com\nélise@example.fr\niota@example.com\nkappa@example.com\nlambda@example.com\nmu+tag@example.com\nmu@example.com\nsecret@host.example.com\nnu@example.com\no'xi@example.com\nomega@example.com\n",
    );
    let r = dir.cmd(&["build", "-o", "x.ldx", "dump"]).expect(0);
    // The junk line is counted and skipped, never fatal.
    assert!(r.stderr.contains("line over 64 KiB: 1"), "{}", r.stderr);
    assert!(r.stderr.contains("no address: 1"), "{}", r.stderr);
    assert!(
        r.stderr.contains("[csv, bzip2]") && r.stderr.contains("[combo, gzip]") && r.stderr.contains("[json, zstd]"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("secret@"), "a rejected URL userinfo was echoed: {}", r.stderr);
    let rows = bulk_rows(&dir, "x.ldx", staff.to_str().unwrap());
    let exposed: Vec<&str> = rows.iter().filter(|(_, v)| v["exposed"] == true).map(|(k, _)| k.as_str()).collect();
    let mut want = vec![
        "alpha@example.com",
        "beta@example.org",
        "gamma@example.net",
        "delta@example.com",
        "zeta@example.com",
        "eta@example.com",
        "theta@example.com",
        "élise@example.fr",
        "iota@example.com",
        "kappa@example.com",
        "lambda@example.com",
        "mu+tag@example.com",
        "nu@example.com",
        "o'xi@example.com",
    ];
    want.sort();
    assert_eq!(exposed, want);
    // theta appears twice (BOM line and NUL-interleaved line) in one source.
    assert_eq!(rows["theta@example.com"]["count"], 2);
    assert_eq!(sources(&rows["alpha@example.com"]), ["dump"]);
}

#[test]
fn truncated_gzip_is_reported_and_keeps_earlier_records() {
    let dir = Dir::new();
    let mut body = String::new();
    for i in 0..20000 {
        body.push_str(&format!("user{i}@example.com:pw{i}\n"));
    }
    let gz = util::gzip(body.as_bytes());
    dir.write("cut.txt.gz", &gz[..gz.len() / 2]);
    dir.write("ok.txt", "whole@example.com:pw\n");
    let r = dir.cmd(&["build", "-o", "x.ldx", "cut.txt.gz", "ok.txt"]).expect(0);
    assert!(
        r.stderr.contains("cut.txt.gz") && r.stderr.contains("gzip stream is truncated or corrupt"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("warning: 1 input file(s)"), "{}", r.stderr);
    let r = dir
        .cmd(&[
            "check",
            "-i",
            "x.ldx",
            "--format",
            "json",
            "user0@example.com",
            "whole@example.com",
            "user19999@example.com",
        ])
        .expect(1);
    let rows = json_lines(&r.stdout);
    assert_eq!(rows[0]["exposed"], true);
    assert_eq!(rows[1]["exposed"], true);
    assert_eq!(rows[2]["exposed"], false);

    // A small damaged file (smaller than the format-detection window) keeps its records too.
    let small = util::gzip(b"early@example.com:pw\nlate@example.com:pw\n");
    dir.write("small.txt.gz", &small[..small.len() - 6]);
    let r = dir.cmd(&["build", "-o", "s.ldx", "small.txt.gz"]).expect(0);
    assert!(r.stderr.contains("small.txt.gz") && r.stderr.contains("ERROR"), "{}", r.stderr);
    dir.cmd(&["check", "-i", "s.ldx", "early@example.com"]).expect(1);

    // --strict: an error, and nothing written.
    let r = dir.cmd(&["build", "--strict", "-o", "strict.ldx", "cut.txt.gz", "ok.txt"]).expect(2);
    assert!(r.stderr.contains("cut.txt.gz"), "{}", r.stderr);
    assert!(!dir.path("strict.ldx").exists());
}

#[test]
fn password_hash_list_answers_counts_and_never_echoes_passwords() {
    let dir = Dir::new();
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "pw.ldx", &repo("data/passwords")]).expect(0);
    let r = dir
        .cmd(&["check", "-i", "pw.ldx", "--format", "json"])
        .stdin("password\nP@ssw0rd\nnot a leaked one\n")
        .expect(1);
    let rows = json_lines(&r.stdout);
    assert_eq!(rows[0]["sha1"], "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8");
    assert_eq!(rows[0]["count"], 9545824);
    assert_eq!(rows[1]["count"], 108219);
    assert_eq!(rows[2]["exposed"], false);
    assert!(rows.iter().all(|r| r.get("input").is_none()));
    assert!(!r.stdout.contains("P@ssw0rd") && !r.stdout.contains("not a leaked one"));
    let r = dir.cmd(&["check", "-i", "pw.ldx"]).stdin("hunter2\n").expect(1);
    assert!(
        !r.stdout.contains("hunter2") && r.stdout.contains("F3BBBD66A63D4BF1747940578EC3D0103530E21D"),
        "{}",
        r.stdout
    );
}

#[test]
fn passwords_from_combolists_keep_separators_inside_the_password() {
    let dir = Dir::new();
    dir.write("combo.txt", "carol@example.org:pa:ss:wd\ndan@example.org;semi;colon\n");
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "pw.ldx", "combo.txt"]).expect(0);
    let r = dir.cmd(&["check", "-i", "pw.ldx", "--format", "json"]).stdin("pa:ss:wd\npa\nsemi;colon\n").expect(1);
    let exposed: Vec<bool> = json_lines(&r.stdout).iter().map(|v| v["exposed"].as_bool().unwrap()).collect();
    assert_eq!(exposed, [true, false, true]);
}

#[test]
fn check_exit_status_is_0_clean_1_exposed_2_error() {
    let dir = Dir::new();
    dir.write("a.txt", "a@example.com\n");
    dir.cmd(&["build", "-q", "-o", "a.ldx", "a.txt"]).expect(0);
    dir.cmd(&["check", "-i", "a.ldx", "nobody@example.com"]).expect(0);
    dir.cmd(&["check", "-i", "a.ldx", "nobody@example.com", "A@EXAMPLE.COM"]).expect(1);
    let r = dir.cmd(&["check", "-i", "missing.ldx", "a@example.com"]).expect(2);
    assert!(r.stderr.starts_with("leakdex: error: cannot open index missing.ldx"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    // Prefix and substring matches are not matches.
    let r = dir.cmd(&["check", "-i", "a.ldx", "--format", "json", "a@example.com.au", "1a@example.com"]).expect(0);
    assert!(json_lines(&r.stdout).iter().all(|v| v["exposed"] == false));
    // stdin lines that are not UTF-8 are read as windows-1252, not refused.
    dir.write("latin.txt", b"\xe9lise@example.fr\n");
    dir.cmd(&["build", "-q", "-o", "latin.ldx", "latin.txt"]).expect(0);
    let r = dir.cmd(&["check", "-i", "latin.ldx", "--format", "json"]).stdin(b"\xe9lise@example.fr\r\n").expect(1);
    assert_eq!(json_lines(&r.stdout)[0]["email"], "élise@example.fr");
    // An invalid address is a row with an error; when nothing valid was asked, exit 2.
    let r = dir.cmd(&["check", "-i", "a.ldx", "--format", "json", "not an address"]).expect(2);
    assert_eq!(json_lines(&r.stdout)[0]["error"], "no @");
}

#[test]
fn bulk_keeps_input_order_and_reports_invalid_rows_in_every_format() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    let staff = repo("data/staff.csv");
    let r = dir.cmd(&["bulk", "-i", &index, "--format", "csv", &staff]).expect(1);
    let mut rdr = csv::Reader::from_reader(r.stdout.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        ["name", "department", "email", "normalized_email", "exposed", "count", "sources", "error"]
    );
    let recs: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(recs.len(), 14);
    assert_eq!(&recs[0][0], "Aiko Tanaka");
    assert_eq!(&recs[0][6], "forum-2020;combo-2022;chat-2023");
    assert_eq!(&recs[4][3], "anna@xn--mnchen-3ya.example");
    assert_eq!((&recs[12][4], &recs[12][7]), ("false", "no @"));

    let r = dir.cmd(&["bulk", "-i", &index, &staff]).expect(1);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].contains("IDENTIFIER") && lines[0].contains("STATUS"));
    assert_eq!(lines.len(), 15);
    assert!(lines[4].contains("ivan@agency.example") && lines[4].contains("clean"));

    // Plain lines from stdin, with the same answers.
    let r = dir
        .cmd(&["bulk", "-i", &index, "--format", "json", "-"])
        .stdin("ruth@agency.example\n\nbad@\nIVAN@agency.example\n")
        .expect(1);
    let rows = json_lines(&r.stdout);
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0]["line"].as_u64(), rows[0]["exposed"].as_bool()), (Some(1), Some(true)));
    assert_eq!(rows[1]["line"], 3);
    assert!(rows[1]["error"].is_string());
    assert_eq!(rows[2]["exposed"], false);
}

#[test]
fn bulk_with_an_unknown_column_names_the_columns() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    let r = dir.cmd(&["bulk", "-i", &index, "--column", "mailbox", &repo("data/staff.csv")]).expect(2);
    assert!(
        r.stderr.contains("\"mailbox\"") && r.stderr.contains("\"name\", \"department\", \"email\""),
        "{}",
        r.stderr
    );
}

#[test]
fn info_shows_sources_with_dates_and_counts() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    let r = dir.cmd(&["info", "-i", &index, "--json"]).expect(0);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["stats"]["kind"], "email");
    let srcs = v["meta"]["sources"].as_array().unwrap();
    assert_eq!(srcs.len(), 4);
    assert_eq!(srcs[0]["name"], "forum-2020");
    assert_eq!(srcs[0]["breach_date"], "2020-03-14");
    assert_eq!(srcs[0]["title"], "Example Forum");
    let entries = v["stats"]["entries"].as_u64().unwrap();
    assert!(srcs.iter().all(|s| s["unique"].as_u64().unwrap() <= entries && s["unique"].as_u64().unwrap() > 0));
    let r = dir.cmd(&["info", "-i", &index]).expect(0);
    assert!(r.stdout.contains("Example Shop") && r.stdout.contains("2021-07-02"), "{}", r.stdout);
}

#[test]
fn verify_catches_a_flipped_byte_in_every_section() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    dir.cmd(&["verify", "-i", &index]).expect(0);
    let good = std::fs::read(&index).unwrap();
    let len = good.len();
    // Header, section table, padding, table, fan-out, sets, filter, metadata.
    let mut positions = vec![0, 9, 20, 40, 130, 200, 1000, 4096, 4200, len / 2, len - 200, len - 2];
    positions.extend((4096..len).step_by(997));
    for pos in positions {
        let mut bad = good.clone();
        bad[pos] ^= 0x10;
        let p = dir.write("bad.ldx", &bad);
        let r = dir.cmd(&["verify", "-i", p.to_str().unwrap()]).expect(2);
        assert!(r.stderr.starts_with("leakdex: error:"), "byte {pos}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "byte {pos}: {}", r.stderr);
    }
}

#[test]
fn truncated_empty_foreign_and_future_files_are_clear_errors() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    let good = std::fs::read(&index).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "not a leakdex index"),
        ("text", b"a@example.com\n".to_vec(), "not a leakdex index"),
        ("truncated", good[..good.len() - 100].to_vec(), "truncated"),
        ("header-only", good[..100].to_vec(), "truncated"),
        (
            "future",
            {
                let mut f = good.clone();
                f[8] = 9;
                f
            },
            "index format version 9 is not supported",
        ),
    ];
    for (name, bytes, want) in cases {
        let p = dir.write(&format!("{name}.ldx"), bytes);
        for sub in
            [&["check", "-i", p.to_str().unwrap(), "a@example.com"][..], &["info", "-i", p.to_str().unwrap()][..]]
        {
            let r = dir.cmd(sub).expect(2);
            assert!(r.stderr.contains(want), "{name}: {}", r.stderr);
            assert_eq!(r.stderr.lines().count(), 1, "{name}: {}", r.stderr);
        }
    }
}

#[test]
fn exported_filter_answers_possibly_exposed_offline() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    dir.cmd(&["export-filter", "-i", &index, "-o", "demo.ldf"]).expect(0);
    let size = std::fs::metadata(dir.path("demo.ldf")).unwrap().len();
    assert!(size < std::fs::metadata(&index).unwrap().len() / 4, "filter of {size} bytes");
    dir.cmd(&["verify", "-i", "demo.ldf"]).expect(0);
    let r = dir.cmd(&["check", "-i", "demo.ldf", "--format", "json", "ruth@agency.example"]).expect(1);
    assert_eq!(json_lines(&r.stdout)[0]["possibly"], true);
    // Absent addresses are answered "clean" except at about the filter's rate.
    let absent: String = (0..2000).map(|i| format!("nobody{i}@agency.example\n")).collect();
    let r = dir.cmd(&["check", "-i", "demo.ldf", "--format", "json"]).stdin(absent).run();
    let hits = json_lines(&r.stdout).iter().filter(|v| v["exposed"] == true).count();
    assert!(hits <= 10, "{hits} false positives in 2000");
}

#[test]
fn manifest_problems_stop_the_build_with_the_file_named() {
    let dir = Dir::new();
    dir.write("a.txt", "a@example.com\n");
    dir.write("m1.toml", "[b]\ntitle = \"not an input\"\n");
    let r = dir.cmd(&["build", "-o", "x.ldx", "--sources", "m1.toml", "a.txt"]).expect(2);
    assert!(r.stderr.contains("manifest describes source \"b\""), "{}", r.stderr);
    dir.write("m2.toml", "[a]\nbreach_date = \"2020-02-31\"\n");
    let r = dir.cmd(&["build", "-o", "x.ldx", "--sources", "m2.toml", "a.txt"]).expect(2);
    assert!(r.stderr.contains("m2.toml") && r.stderr.contains("YYYY-MM-DD"), "{}", r.stderr);
    assert!(!dir.path("x.ldx").exists());
}

#[test]
fn small_memory_budget_spills_runs_and_gives_the_same_index() {
    let dir = Dir::new();
    let mut body = String::with_capacity(20 << 20);
    for i in 0..400_000u32 {
        // Every address twice, in two halves, so that duplicates meet only in the merge.
        body.push_str(&format!("user{}@example.com:x\n", i % 200_000));
    }
    dir.write("big.txt", &body);
    dir.write("small.txt", "user7@example.com\n");
    dir.cmd(&["build", "-q", "--memory", "32M", "-o", "low.ldx", "big.txt", "small.txt"]).expect(0);
    dir.cmd(&["build", "-q", "--memory", "1G", "-o", "high.ldx", "big.txt", "small.txt"]).expect(0);
    dir.cmd(&["verify", "-i", "low.ldx"]).expect(0);
    let info =
        |p: &str| -> Value { serde_json::from_str(&dir.cmd(&["info", "-i", p, "--json"]).expect(0).stdout).unwrap() };
    let (low, high) = (info("low.ldx"), info("high.ldx"));
    assert_eq!(low["stats"]["entries"], 200_000);
    assert_eq!(low["stats"]["entries"], high["stats"]["entries"]);
    assert_eq!(low["meta"]["sources"][0]["records"], 400_000);
    let r = dir
        .cmd(&["check", "-i", "low.ldx", "--format", "json", "user7@example.com", "user199999@example.com"])
        .expect(1);
    let rows = json_lines(&r.stdout);
    assert_eq!((rows[0]["count"].as_u64(), sources(&rows[0])), (Some(3), vec!["big", "small"]));
    assert_eq!(rows[1]["count"], 2);
}

#[cfg(unix)]
#[test]
fn killed_or_interrupted_build_leaves_the_old_index_intact() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = Dir::new();
    dir.write("old.txt", "old@example.com\n");
    dir.cmd(&["build", "-q", "-o", "x.ldx", "old.txt"]).expect(0);
    let before = std::fs::read(dir.path("x.ldx")).unwrap();
    for signal in [libc::SIGKILL, libc::SIGINT] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_leakdex"))
            .current_dir(dir.root())
            .args(["build", "-q", "-o", "x.ldx", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut sin = child.stdin.take().unwrap();
        // Feed part of a corpus and keep the pipe open: the build is mid-way.
        for i in 0..50_000 {
            writeln!(sin, "new{i}@example.com").unwrap();
        }
        sin.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert_eq!(std::fs::read(dir.path("x.ldx")).unwrap(), before, "index changed after signal {signal}");
        dir.cmd(&["verify", "-i", "x.ldx"]).expect(0);
        dir.cmd(&["check", "-i", "x.ldx", "old@example.com"]).expect(1);
        let temps: Vec<String> = std::fs::read_dir(dir.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("leakdex-tmp"))
            .collect();
        // Runs are anonymous files, gone with the process; the index is not named yet.
        assert!(temps.is_empty(), "signal {signal} left temporary files: {temps:?}");
    }
    // A build killed while writing leaves `.x.ldx.leakdex-tmp-PID-*`; the next build removes
    // the files of processes that are gone.
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    dir.write(&format!(".x.ldx.leakdex-tmp-{pid}-abcdef"), b"partial");
    dir.cmd(&["build", "-q", "-o", "x.ldx", "old.txt"]).expect(0);
    let left = std::fs::read_dir(dir.root())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains("leakdex-tmp"))
        .count();
    assert_eq!(left, 0);
}

#[test]
fn source_names_come_from_file_and_directory_names() {
    let dir = Dir::new();
    dir.write("forum-2020.sql.gz", util::gzip(b"INSERT INTO u VALUES ('a@example.com');\n"));
    dir.write("collection/part1.txt", "b@example.com\n");
    dir.write("collection/sub/part2.txt", "a@example.com\n");
    dir.cmd(&["build", "-q", "-o", "x.ldx", "forum-2020.sql.gz", "collection"]).expect(0);
    let r = dir.cmd(&["check", "-i", "x.ldx", "--format", "json", "a@example.com"]).expect(1);
    assert_eq!(sources(&json_lines(&r.stdout)[0]), ["forum-2020", "collection"]);
    let r = dir
        .cmd(&[
            "build",
            "-q",
            "-o",
            "y.ldx",
            "forum-2020.sql.gz",
            "collection/part1.txt",
            "collection/sub/../part1.txt",
        ])
        .expect(2);
    assert!(r.stderr.contains("both named \"part1\""), "{}", r.stderr);
}

#[test]
fn forced_formats_and_csv_columns() {
    let dir = Dir::new();
    dir.write("people.csv", "id,primary,backup\n1,a@example.com,b@example.com\n");
    dir.cmd(&["build", "-q", "--column", "backup", "-o", "x.ldx", "people.csv"]).expect(0);
    dir.cmd(&["check", "-i", "x.ldx", "b@example.com"]).expect(1);
    dir.cmd(&["check", "-i", "x.ldx", "a@example.com"]).expect(0);
    // Nothing indexed: an error, and no empty index (issue 9).
    let r = dir.cmd(&["build", "--column", "nope", "-o", "y.ldx", "people.csv"]).expect(2);
    assert!(r.stderr.contains("none of the asked columns (\"nope\")"), "{}", r.stderr);
    assert!(!dir.path("y.ldx").exists());
    let r = dir.cmd(&["build", "--strict", "--column", "nope", "-o", "y.ldx", "people.csv"]).expect(2);
    assert!(
        r.stderr.contains("people.csv") && r.stderr.contains("columns: \"id\", \"primary\", \"backup\""),
        "{}",
        r.stderr
    );
    // A list of addresses forced to free text still finds them.
    dir.write("list.txt", "c@example.com\n");
    dir.cmd(&["build", "-q", "--format", "text", "-o", "z.ldx", "list.txt"]).expect(0);
    dir.cmd(&["check", "-i", "z.ldx", "c@example.com"]).expect(1);
    let r = dir.cmd(&["build", "--kind", "password", "--format", "json", "-o", "w.ldx", "list.txt"]).expect(2);
    assert!(r.stderr.contains("format json cannot feed a password index"), "{}", r.stderr);
}

#[test]
fn tar_archives_are_read_member_by_member() {
    let dir = Dir::new();
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        builder.append_data(&mut h, name, data).unwrap();
    };
    add("dump/users.csv", b"id,email\n1,tar-one@example.com\n");
    add("dump/combo.txt.gz", &util::gzip(b"tar-two@example.com:pw\n"));
    add("dump/notes.txt", b"write to tar-three@example.org, please\n");
    let tarball = builder.into_inner().unwrap();
    dir.write("collection.tar.gz", util::gzip(&tarball));
    let r = dir.cmd(&["build", "-o", "x.ldx", "--report", "report.json", "collection.tar.gz"]).expect(0);
    assert!(r.stderr.contains("collection.tar.gz!dump/users.csv  [csv, none]"), "{}", r.stderr);
    assert!(r.stderr.contains("collection.tar.gz!dump/combo.txt.gz  [combo, gzip]"), "{}", r.stderr);
    let r = dir
        .cmd(&[
            "check",
            "-i",
            "x.ldx",
            "--format",
            "json",
            "tar-one@example.com",
            "tar-two@example.com",
            "tar-three@example.org",
        ])
        .expect(1);
    let rows = json_lines(&r.stdout);
    assert!(rows.iter().all(|v| v["exposed"] == true && sources(v) == ["collection"]), "{}", r.stdout);
    let report: Value = serde_json::from_slice(&std::fs::read(dir.path("report.json")).unwrap()).unwrap();
    assert_eq!(report["files"].as_array().unwrap().len(), 4);
    assert_eq!(report["sources"][0]["files"], 3);

    // A truncated archive keeps the members before the damage.
    let gz = util::gzip(&tarball);
    dir.write("cut.tar.gz", &gz[..gz.len() - 30]);
    let r = dir.cmd(&["build", "-o", "y.ldx", "cut.tar.gz"]).expect(0);
    assert!(r.stderr.contains("ERROR"), "{}", r.stderr);
    dir.cmd(&["check", "-i", "y.ldx", "tar-one@example.com"]).expect(1);
}
