//! A deliberately hostile corpus directory, written by `tests/hostile/gen.py` (Python, which
//! also computes every expected answer with its own hashlib and unicodedata), built and checked
//! through the real binary. Mixed formats and encodings, binary files, and the traps of issue 9:
//! wrongly guessed formats, addresses that a careless extractor truncates into someone else's,
//! decomposed accents, a PostgreSQL string ending in a backslash, a staff list whose address
//! column has a Japanese name.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::util::{json_lines, repo, Dir};

/// Runs the generator into `dir` and returns its expectations.
fn generate(dir: &Dir) -> Value {
    let out = Command::new("python3")
        .arg(repo("tests/hostile/gen.py"))
        .arg(dir.root())
        .output()
        .expect("python3 is needed for this test (it computes the expected answers)");
    assert!(out.status.success(), "gen.py failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&std::fs::read(dir.path("expected.json")).unwrap()).unwrap()
}

/// Every top-level entry of `root` (relative to the test directory), in name order.
fn entries(dir: &Dir, root: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.path(root))
        .unwrap()
        .map(|e| format!("{root}/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    v.sort();
    v
}

#[test]
fn hostile_corpus_directory_gives_exactly_the_answers_computed_by_the_generator() {
    let dir = Dir::new();
    let want = generate(&dir);
    let inputs = entries(&dir, "corpus");
    let mut args = vec!["build", "-o", "leak.ldx", "--report", "report.json"];
    args.extend(inputs.iter().map(String::as_str));
    let build = dir.cmd(&args).expect(0);

    // Files that cannot be read, or that hold nothing, are named in a WARNING line, or have
    // an ERROR (a damaged PDF) under their own line, and say so in the report.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path("report.json")).unwrap()).unwrap();
    for path in want["warned"].as_array().unwrap() {
        let path = path.as_str().unwrap();
        let warned = build.stderr.lines().any(|l| l.contains("WARNING") && l.contains(path));
        let failed = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"].as_str().unwrap().ends_with(path) && f["error"].is_string());
        assert!(warned || failed, "no WARNING or ERROR for {path}:\n{}", build.stderr);
    }
    // Every source the generator wrote to is in the index, and no other.
    let info = dir.cmd(&["info", "-i", "leak.ldx", "--json"]).expect(0);
    let info: Value = serde_json::from_str(&info.stdout).unwrap();
    let mut names: Vec<&str> =
        info["meta"]["sources"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    names.sort();
    let wanted: Vec<&str> = want["sources"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(names, wanted);

    // The staff list: one row per person, each exactly as computed by the generator.
    let r = dir.cmd(&["bulk", "-i", "leak.ldx", "--format", "json", "staff.csv"]).expect(1);
    let rows = json_lines(&r.stdout);
    let expected = want["rows"].as_object().unwrap();
    assert_eq!(rows.len(), expected.len(), "{}", r.stderr);
    let mut wrong = BTreeMap::new();
    for row in &rows {
        let email = row["email"].as_str().unwrap_or_else(|| panic!("row without an address: {row}"));
        let e = &expected[email];
        let mut sources: Vec<&str> =
            row["sources"].as_array().map(|a| a.iter().map(|s| s.as_str().unwrap()).collect()).unwrap_or_default();
        sources.sort();
        let got = (row["exposed"].as_bool().unwrap(), sources.clone(), row["count"].as_u64().unwrap_or(0));
        let exp_sources: Vec<&str> = e["sources"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        let exp = (e["exposed"].as_bool().unwrap(), exp_sources, e["count"].as_u64().unwrap());
        if got != exp {
            wrong.insert(email.to_string(), format!("got {got:?}, expected {exp:?}"));
        }
    }
    assert!(wrong.is_empty(), "wrong answers:\n{wrong:#?}\nbuild stderr:\n{}", build.stderr);

    // The report names every file, member and warning, and never a password or a whole address.
    let report = std::fs::read_to_string(dir.path("report.json")).unwrap();
    for secret in ["hunter2", "pa;ss;wd", "Pa:ss", "s3cret"] {
        assert!(!report.contains(secret) && !build.stderr.contains(secret), "{secret} printed");
    }
    for addr in expected.keys() {
        assert!(!report.contains(addr.as_str()), "{addr} printed in the report");
    }
}

#[test]
fn hostile_password_corpus_hashes_the_password_never_the_line() {
    let dir = Dir::new();
    let want = generate(&dir);
    let inputs = entries(&dir, "pw-corpus");
    let mut args = vec!["build", "-q", "--kind", "password", "-o", "pw.ldx"];
    args.extend(inputs.iter().map(String::as_str));
    dir.cmd(&args).expect(0);
    let check: Vec<&str> = want["passwords"]["check"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    let r = dir.cmd(&["check", "-i", "pw.ldx", "--format", "json"]).stdin(check.join("\n") + "\n").expect(1);
    let counts = want["passwords"]["counts"].as_object().unwrap();
    let rows = json_lines(&r.stdout);
    assert_eq!(rows.len(), check.len());
    let mut wrong = Vec::new();
    for (row, password) in rows.iter().zip(&check) {
        let sha1 = row["sha1"].as_str().unwrap();
        let exp = counts[sha1].as_u64().unwrap();
        let got = row["count"].as_u64().unwrap_or(0);
        if got != exp {
            wrong.push(format!("{password:?}: got count {got}, expected {exp}"));
        }
        let hex_only = password.bytes().all(|b| b.is_ascii_hexdigit());
        assert!(hex_only || !r.stdout.contains(password), "{password:?} was echoed");
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
