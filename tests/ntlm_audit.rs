//! Issue 12, directory password audit: `bulk --input hashes` over account hash exports in every
//! layout (secretsdump with banner, status, history and Kerberos lines; CRLF and BOM; pwdump
//! with DSInternals placeholders; HashcatNT history in UTF-16; JohnNT; Ophcrack; mimikatz
//! dcsync /csv; bare NT hashes), against an NTLM index built from hash lists. The NT hashes and
//! every expected answer come from `ntlm_audit_gen.py`, with its own MD4.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::util::{json_lines, Dir};

const GENERATOR: &str = include_str!("ntlm_audit_gen.py");

/// Generates the corpus and exports, builds the NTLM index `pw.ldx`; returns the expectations.
fn setup(dir: &Dir) -> Value {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(GENERATOR)
        .current_dir(dir.root())
        .output()
        .expect("python3 is needed for this test (it computes the NT hashes)");
    assert!(out.status.success(), "the generator failed:\n{}", String::from_utf8_lossy(&out.stderr));
    dir.cmd(&["build", "-q", "--kind", "ntlm", "-o", "pw.ldx", "leak-a.txt", "leak-b.txt"]).expect(0);
    serde_json::from_slice(&std::fs::read(dir.path("expected.json")).unwrap()).unwrap()
}

fn exports(expected: &Value) -> Vec<String> {
    expected.as_object().unwrap().keys().filter(|k| !k.starts_with('_')).cloned().collect()
}

#[test]
fn every_export_layout_reports_each_account_whose_nt_hash_leaked() {
    let dir = Dir::new();
    let expected = setup(&dir);
    for name in exports(&expected) {
        let exp = &expected[&name];
        let path = format!("exports/{name}");
        let run = dir.cmd(&["bulk", "-i", "pw.ldx", "--input", "hashes", "--format", "json", &path]).expect(1);
        let rows = json_lines(&run.stdout);
        let want = exp["rows"].as_array().unwrap();
        assert_eq!(rows.len(), want.len(), "{name}: one row per account hash line\n{}", run.stderr);
        for (got, want) in rows.iter().zip(want) {
            let line = want["line"].as_u64().unwrap();
            assert_eq!(got["line"].as_u64(), Some(line), "{name}");
            let account = match want["account"].as_str() {
                Some(a) => a.to_string(),
                None => format!("(line {line})"),
            };
            assert_eq!(got["account"].as_str(), Some(account.as_str()), "{name} line {line}");
            assert_eq!(got.get("history").and_then(Value::as_u64), want["history"].as_u64(), "{name} line {line}");
            for field in ["exposed", "empty_password", "count", "sources"] {
                assert_eq!(got[field], want[field], "{name} line {line}: {field}");
            }
            assert!(got.get("ntlm").is_none(), "{name}: a hash was printed without --show-hashes");
        }
        // Sharing groups, as line numbers.
        let mut groups: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        for r in &rows {
            if let Some(g) = r.get("group").and_then(Value::as_u64) {
                groups.entry(g).or_default().insert(r["line"].as_u64().unwrap());
                assert!(r.get("history").is_none(), "{name}: history hashes form no group");
            }
        }
        let got: BTreeSet<Vec<u64>> = groups.into_values().map(|s| s.into_iter().collect()).collect();
        let want: BTreeSet<Vec<u64>> = exp["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_array().unwrap().iter().map(|l| l.as_u64().unwrap()).collect())
            .collect();
        assert_eq!(got, want, "{name}: accounts sharing one password");
        let summary = format!("audited {} accounts", exp["accounts"]);
        assert!(run.stderr.contains(&summary), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(&format!("exposed {} (", exp["exposed"])), "{name}: {}", run.stderr);
    }
}

#[test]
fn shared_passwords_are_listed_by_account_name_and_no_hash_is_printed_unless_asked() {
    let dir = Dir::new();
    let expected = setup(&dir);
    let hashes: Vec<String> =
        expected["_all_hashes"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_uppercase()).collect();
    let run = dir.cmd(&["bulk", "-i", "pw.ldx", "exports/secretsdump.ntds"]).expect(1);
    // bob, carol and dave share Welcome1 (leaked); erin and frank share a password no leak holds.
    let welcome = run.stdout.lines().find(|l| l.contains(r"CORP.EXAMPLE\bob, ")).expect(&run.stdout);
    assert!(welcome.contains("3 accounts share one password, exposed"), "{welcome}");
    assert!(welcome.contains(r"CORP.EXAMPLE\carol") && welcome.contains(r"CORP.EXAMPLE\dave"), "{welcome}");
    let fresh = run.stdout.lines().find(|l| l.contains(r"CORP.EXAMPLE\erin, ")).expect(&run.stdout);
    assert!(fresh.contains("2 accounts share one password:"), "{fresh}");
    assert!(run.stdout.contains("Jürgen.Müller") && run.stdout.contains("山田太郎"), "{}", run.stdout);
    for out in [&run.stdout, &run.stderr] {
        let upper = out.to_uppercase();
        for h in &hashes {
            assert!(!upper.contains(h), "hash {h} printed:\n{out}");
        }
    }
    let csv = dir.cmd(&["bulk", "-i", "pw.ldx", "--format", "csv", "exports/pwdump-history.txt"]).expect(1);
    assert!(csv.stdout.starts_with("line,account,rid,history,status,exposed,empty_password,count,sources,"));
    assert!(!hashes.iter().any(|h| csv.stdout.to_uppercase().contains(h)), "{}", csv.stdout);
    let shown =
        dir.cmd(&["bulk", "-i", "pw.ldx", "--show-hashes", "--format", "json", "exports/secretsdump.ntds"]).expect(1);
    assert!(hashes.iter().all(|h| shown.stdout.contains(h)), "--show-hashes shows every hash");
    let table = dir.cmd(&["bulk", "-i", "pw.ldx", "--show-hashes", "exports/secretsdump.ntds"]).expect(1);
    assert!(table.stdout.contains("8846F7EAEE8FB117AD06BDD830B7586C"), "{}", table.stdout);
}

#[test]
fn lines_that_are_no_account_hash_are_reported_by_number_and_never_echoed() {
    let dir = Dir::new();
    let expected = setup(&dir);
    for name in ["secretsdump.ntds", "hashcat-nt-history.txt", "dcsync.csv"] {
        let line = expected[name]["garbage_lines"][0].as_u64().unwrap();
        let run = dir.cmd(&["bulk", "-i", "pw.ldx", "--input", "hashes", &format!("exports/{name}")]).expect(1);
        assert!(
            run.stderr.contains(&format!("1 line is not an account hash line and not audited (line {line})")),
            "{name}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("vpn") && !run.stdout.contains("vpn"), "{name}: the line was echoed");
    }
    // Banner, [*] messages and Kerberos keys are part of a secretsdump run: counted, not rejected.
    let run = dir.cmd(&["bulk", "-i", "pw.ldx", "exports/secretsdump.ntds"]).expect(1);
    assert!(run.stderr.contains("skipped: 1 blank, 5 tool messages, 6 Kerberos keys"), "{}", run.stderr);
}

#[test]
fn secretsdump_lines_are_never_hashed_as_passwords() {
    let dir = Dir::new();
    setup(&dir);
    // Detected by content without --input: audited per account.
    let auto = dir.cmd(&["bulk", "-i", "pw.ldx", "--format", "json", "exports/secretsdump-crlf-bom.txt"]).expect(1);
    assert!(auto.stderr.contains("read as an account hash export (detected from content"), "{}", auto.stderr);
    assert_eq!(json_lines(&auto.stdout)[0]["account"], r"CORP.EXAMPLE\alice");
    // Asked to read it as passwords: refused, never a column of "clean".
    let run = dir.cmd(&["bulk", "-i", "pw.ldx", "--input", "passwords", "exports/secretsdump.ntds"]).expect(2);
    assert!(run.stderr.contains("looks like an account hash export"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    // One export line inside a password list: an error naming its line.
    let list = "letmein\nhunter2\nCORP\\x:1104:aad3b435b51404eeaad3b435b51404ee:8846f7eaee8fb117ad06bdd830b7586c:::\n";
    dir.write("mixed.txt", list);
    let run = dir.cmd(&["bulk", "-i", "pw.ldx", "mixed.txt"]).expect(2);
    assert!(run.stderr.contains("mixed.txt: line 3 is an account hash export line"), "{}", run.stderr);
    dir.write("hashcat-line.txt", "letmein\nhunter2\nqwerty\nalice:8846F7EAEE8FB117AD06BDD830B7586C\n");
    let run = dir.cmd(&["bulk", "-i", "pw.ldx", "--input", "passwords", "hashcat-line.txt"]).expect(2);
    assert!(run.stderr.contains("line 4 is an account hash export line"), "{}", run.stderr);
    let run = dir.cmd(&["check", "-i", "pw.ldx"]).stdin("alice:8846f7eaee8fb117ad06bdd830b7586c\n").expect(2);
    assert!(run.stderr.contains("line 1 is an account hash export line"), "{}", run.stderr);
    // A SHA-1 password index cannot audit NT hashes: said, not answered.
    dir.write("plain.txt", "letmein\npassword\n");
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "sha1.ldx", "plain.txt"]).expect(0);
    let run = dir.cmd(&["bulk", "-i", "sha1.ldx", "exports/pwdump-history.txt"]).expect(2);
    assert!(run.stderr.contains("needs an NTLM index"), "{}", run.stderr);
    let run = dir.cmd(&["bulk", "-i", "sha1.ldx", "--input", "hashes", "exports/john-nt.txt"]).expect(2);
    assert!(run.stderr.contains("needs an NTLM index"), "{}", run.stderr);
    // An email index either.
    dir.write("emails.txt", "ruth@example.com\n");
    dir.cmd(&["build", "-q", "-o", "emails.ldx", "emails.txt"]).expect(0);
    let run = dir.cmd(&["bulk", "-i", "emails.ldx", "--input", "hashes", "exports/john-nt.txt"]).expect(2);
    assert!(run.stderr.contains("needs an NTLM index"), "{}", run.stderr);
}

#[test]
fn an_audit_where_nothing_leaked_exits_0_but_an_enabled_account_without_password_exits_1() {
    let dir = Dir::new();
    setup(&dir);
    // A disabled Guest without a password is the Windows default: shown, not a finding.
    let run = dir.cmd(&["bulk", "-i", "pw.ldx", "--format", "json", "clean.txt"]).expect(0);
    let rows = json_lines(&run.stdout);
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[0]["status"], "empty password");
    assert!(rows[1..].iter().all(|r| r["exposed"] == false && r["status"] == "clean"), "{}", run.stdout);
    let mut text = std::fs::read_to_string(dir.path("clean.txt")).unwrap();
    text.push_str("CORP.EXAMPLE\\temp:1400:aad3b435b51404eeaad3b435b51404ee:31d6cfe0d16ae931b73c59d7e0c089c0::: (status=Enabled)\n");
    dir.write("clean.txt", text);
    let run = dir.cmd(&["bulk", "-i", "pw.ldx", "clean.txt"]).expect(1);
    assert!(run.stderr.contains("empty password 2"), "{}", run.stderr);
    // A file of no account hash at all checks nobody: exit 2, never a clean 0.
    dir.write("empty-export.txt", "[*] Dumping Domain Credentials\n[*] Cleaning up...\n");
    let run = dir.cmd(&["bulk", "-i", "pw.ldx", "--input", "hashes", "empty-export.txt"]).expect(2);
    assert!(run.stderr.contains("no account hash line"), "{}", run.stderr);
}

#[test]
fn an_audit_over_the_ntlm_range_api_or_a_filter_gives_the_local_rows() {
    let dir = Dir::new();
    setup(&dir);
    let export = "exports/secretsdump.ntds";
    let local = dir.cmd(&["bulk", "-i", "pw.ldx", "--format", "json", export]).expect(1);
    let local = json_lines(&local.stdout);
    let s = crate::server::Server::start(&dir, &["-i", "pw.ldx"]);
    let remote = dir.cmd(&["bulk", "--api", &s.url, "--kind", "ntlm", "--input", "hashes", "--format", "json", export]);
    let remote = json_lines(&remote.expect(1).stdout);
    assert_eq!(remote.len(), local.len());
    let run = dir.cmd(&["bulk", "--api", &s.url, "--input", "hashes", export]).expect(2);
    assert!(run.stderr.contains("add --kind ntlm"), "{}", run.stderr);
    for (r, l) in remote.iter().zip(&local) {
        // A range API answers counts only, no source names.
        for field in ["line", "account", "history", "exposed", "empty_password", "count", "group", "shared"] {
            assert_eq!(r.get(field), l.get(field), "line {}: {field}", l["line"]);
        }
    }
    // A filter says "possibly" for each leaked hash, never "clean".
    dir.cmd(&["export-filter", "-i", "pw.ldx", "-o", "pw.ldf"]).expect(0);
    let filtered = dir.cmd(&["bulk", "-i", "pw.ldf", "--input", "hashes", "--format", "json", export]).expect(1);
    for (f, l) in json_lines(&filtered.stdout).iter().zip(&local) {
        if l["exposed"] == true {
            assert_eq!(f["exposed"], true, "line {}", l["line"]);
        }
    }
}

/// NT hashes (MD4 of UTF-16LE), computed with Python's own MD4 (as `ntlm_audit_gen.py` does).
const NT_SUMMER: &str = "72f0eefcc213ea8f350773b831cf2c9c"; // Summer2024!
const NT_PASSWORD1: &str = "64f12cddaa88057e06a81b54e73b949b"; // Password1
const NT_WINTER: &str = "96ea9d1c424b16927b3db5e06d263996"; // Winter#2023
const NT_UNIQUE: &str = "47c35f8d933c73b17461827ac3583d10"; // Another$Unique99 (not leaked)
const NT_KEVAT: &str = "c41de3b1752cba27e171bedd7976ed6c"; // Kevät-2021
const LM_NONE: &str = "aad3b435b51404eeaad3b435b51404ee";

/// An NTLM index `nt.ldx` of the leaked hashes above (HASH:COUNT lines).
fn small_ntlm_index(dir: &Dir) {
    dir.write("leak.txt", format!("{NT_SUMMER}:3\n{NT_PASSWORD1}:7\n{NT_WINTER}:1\n{NT_KEVAT}:2\n"));
    dir.cmd(&["build", "-q", "--kind", "ntlm", "-o", "nt.ldx", "leak.txt"]).expect(0);
}

#[test]
fn an_export_of_history_lines_only_audits_nobody_and_exits_2_not_0() {
    let dir = Dir::new();
    small_ntlm_index(&dir);
    let exports = [
        // secretsdump -history, the current lines cut off.
        format!("CORP\\alice_history0:1101:{LM_NONE}:{NT_SUMMER}:::\nCORP\\bob_history0:1102:{LM_NONE}:{NT_SUMMER}:::\n"),
        // DSInternals HashcatNTHistory, CRLF, one history line.
        format!("carol_history1:{NT_WINTER}\r\n"),
        // pwdump history with a banner line.
        format!("[*] Dumping Domain Credentials\nEXAMPLE\\dave_history0:1104:{LM_NONE}:{NT_KEVAT}:::\nEXAMPLE\\dave_history1:1104:{LM_NONE}:{NT_UNIQUE}:::\n"),
    ];
    for (i, text) in exports.iter().enumerate() {
        let name = format!("hist{i}.txt");
        dir.write(&name, text);
        for format in ["table", "json", "csv"] {
            let run = dir.cmd(&["bulk", "-i", "nt.ldx", "--input", "hashes", "--format", format, &name]).expect(2);
            assert!(
                run.stderr.contains("password-history line") && run.stderr.contains("no current account line"),
                "{name}: {}",
                run.stderr
            );
            assert!(run.stdout.is_empty(), "{name}: rows were printed for an audit of nobody: {}", run.stdout);
            for h in [NT_SUMMER, NT_WINTER, NT_KEVAT, NT_UNIQUE] {
                assert!(!run.stderr.contains(h), "{name}: a hash in the error: {}", run.stderr);
            }
        }
    }
}

#[test]
fn an_account_with_history_lines_and_no_current_line_is_named_in_a_warning() {
    let dir = Dir::new();
    small_ntlm_index(&dir);
    // carol has a current line; bob and Émile only history (bob twice, in another case).
    dir.write(
        "orphan.txt",
        format!(
            "CORP\\carol:1103:{LM_NONE}:{NT_UNIQUE}:::\nCORP\\carol_history0:1103:{LM_NONE}:{NT_SUMMER}:::\n\
             CORP\\bob_history0:1102:{LM_NONE}:{NT_SUMMER}:::\ncorp\\BOB_history1:1102:{LM_NONE}:{NT_WINTER}:::\n\
             CORP\\Émile_history0:1105:{LM_NONE}:{NT_KEVAT}:::\n"
        ),
    );
    // History hits alone exit 0, as before: the warning says what was not audited.
    let run = dir.cmd(&["bulk", "-i", "nt.ldx", "--input", "hashes", "orphan.txt"]).expect(0);
    let warning = run.stderr.lines().find(|l| l.contains("only password-history lines")).unwrap_or_else(|| {
        panic!("no warning for accounts without a current line:\n{}", run.stderr);
    });
    assert!(warning.starts_with("WARNING") && warning.contains("2 accounts"), "{warning}");
    assert!(warning.contains("CORP\\bob") && warning.contains("CORP\\Émile"), "{warning}");
    assert!(!warning.contains("carol"), "carol has a current line: {warning}");
    for h in [NT_SUMMER, NT_WINTER, NT_KEVAT, NT_UNIQUE] {
        assert!(!run.stderr.contains(h), "a hash on stderr: {}", run.stderr);
    }
    // Every account with a current line: no such warning.
    dir.write("whole.txt", format!("alice:{NT_UNIQUE}\nalice_history0:{NT_SUMMER}\n"));
    let run = dir.cmd(&["bulk", "-i", "nt.ldx", "--input", "hashes", "whole.txt"]).expect(0);
    assert!(!run.stderr.contains("WARNING"), "{}", run.stderr);
}

#[test]
fn the_same_account_twice_with_different_current_hashes_is_named_with_its_lines_in_a_warning() {
    let dir = Dir::new();
    small_ntlm_index(&dir);
    // Two exports concatenated (CRLF), the name's case differing; and a pwdump-style pair.
    dir.write(
        "dup.txt",
        format!(
            "CORP\\dup:1105:{LM_NONE}:{NT_UNIQUE}:::\r\nCORP\\other:1106:{LM_NONE}:{NT_UNIQUE}:::\r\n\
             corp\\DUP:1105:{LM_NONE}:{NT_PASSWORD1}:::\r\n"
        ),
    );
    let run = dir.cmd(&["bulk", "-i", "nt.ldx", "--input", "hashes", "--format", "json", "dup.txt"]).expect(1);
    // Both lines are still audited.
    assert_eq!(json_lines(&run.stdout).len(), 3, "{}", run.stdout);
    let warning = run.stderr.lines().find(|l| l.contains("more than one current-password line")).unwrap_or_else(|| {
        panic!("no warning for an account listed twice:\n{}", run.stderr);
    });
    assert!(warning.starts_with("WARNING") && warning.contains("1 account"), "{warning}");
    assert!(warning.contains("CORP\\dup (lines 1, 3, different hashes)"), "{warning}");
    assert!(!warning.contains("other"), "{warning}");
    for h in [NT_UNIQUE, NT_PASSWORD1] {
        assert!(!run.stderr.contains(h), "a hash on stderr: {}", run.stderr);
    }
    dir.write("dup2.txt", format!("erin:{NT_WINTER}\nfrank:{NT_UNIQUE}\nerin:{NT_SUMMER}\nfrank:{NT_UNIQUE}\n"));
    let run = dir.cmd(&["bulk", "-i", "nt.ldx", "--input", "hashes", "dup2.txt"]).expect(1);
    assert!(run.stderr.contains("2 accounts have more than one current-password line"), "{}", run.stderr);
    assert!(run.stderr.contains("erin (lines 1, 3, different hashes)"), "{}", run.stderr);
    assert!(run.stderr.contains("frank (lines 2, 4, the same hash)"), "{}", run.stderr);
}
