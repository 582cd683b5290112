//! Text as people write it (issue 11): full-width addresses, obfuscations, internationalized
//! domains and staff lists with headers in the users' languages, through the real binary.
//! Expected keys are computed by Python (`unicodedata`, `hashlib`), never by leakdex.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::util::{json_lines, Dir};

/// SHA-1 (uppercase hex) of each address as Python computes it: NFKC, lowercase, NFC of the
/// whole string; UTF-8.
fn py_keys(addresses: &[&str]) -> Vec<String> {
    let script = "import sys, json, hashlib, unicodedata\n\
                  for a in json.loads(sys.argv[1]):\n\
                  \x20   n = unicodedata.normalize('NFC', unicodedata.normalize('NFKC', a).lower())\n\
                  \x20   print(hashlib.sha1(n.encode()).hexdigest().upper())\n";
    let out = Command::new("python3")
        .args(["-c", script, &serde_json::to_string(addresses).unwrap()])
        .output()
        .expect("python3 is needed by this test");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

/// Every key of an index, through `export-ranges` (prefix file name + each `hashSuffix`).
fn keys_of(dir: &Dir, index: &str) -> BTreeSet<String> {
    let out = format!("{index}.ranges");
    dir.cmd(&["export-ranges", "-i", index, "-o", &out]).expect(0);
    let mut keys = BTreeSet::new();
    for e in std::fs::read_dir(dir.path(&format!("{out}/range/search"))).unwrap() {
        let e = e.unwrap();
        let prefix = e.file_name().to_string_lossy().into_owned();
        let range: Value = serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
        for entry in range.as_array().unwrap() {
            keys.insert(format!("{prefix}{}", entry["hashSuffix"].as_str().unwrap()));
        }
    }
    keys
}

/// The build report's entry for the file whose path ends with `name`.
fn file_report<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["files"].as_array().unwrap().iter().find(|f| f["path"].as_str().unwrap().ends_with(name)).unwrap()
}

#[test]
fn full_width_addresses_in_text_csv_and_combolists_get_the_ascii_key_and_are_counted() {
    let dir = Dir::new();
    // Japanese minutes: a full-width address in a sentence, a half-width one with a full-width
    // at sign in brackets, and one with full-width dots.
    dir.write(
        "minutes.txt",
        "連絡先：ｙｏｓｈｉｄａ＠ｍｌｉｔ．ｇｏ．ｊｐ（国土交通省）。\n\
         担当「taro＠example.jp」、副担当『hanako@example.jp』\n\
         報告先【ｓｕｚｕｋｉ．ｋ＠ｅｘａｍｐｌｅ．ｏｒｇ】まで\n",
    );
    dir.write("list.csv", "氏名,メール\n吉田,ｉｔｏ＠ｅｘａｍｐｌｅ．ｃｏｍ\n山田,yamada@example.com\n");
    dir.write("combo.txt", "ｋａｔｏ＠ｅｘａｍｐｌｅ．ｎｅｔ:pw1\nsato@example.net:pw2\n");
    dir.cmd(&["build", "-q", "-o", "x.ldx", "--report", "r.json", "minutes.txt", "list.csv", "combo.txt"]).expect(0);
    let want = py_keys(&[
        "ｙｏｓｈｉｄａ＠ｍｌｉｔ．ｇｏ．ｊｐ",
        "taro＠example.jp",
        "hanako@example.jp",
        "ｓｕｚｕｋｉ．ｋ＠ｅｘａｍｐｌｅ．ｏｒｇ",
        "ｉｔｏ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "yamada@example.com",
        "ｋａｔｏ＠ｅｘａｍｐｌｅ．ｎｅｔ",
        "sato@example.net",
    ]);
    assert_eq!(keys_of(&dir, "x.ldx"), want.into_iter().collect::<BTreeSet<_>>());
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path("r.json")).unwrap()).unwrap();
    for (file, fullwidth) in [("minutes.txt", 3), ("list.csv", 1), ("combo.txt", 1)] {
        assert_eq!(file_report(&report, file)["fullwidth"], fullwidth, "{file}: {report}");
    }
    // The summary names the category.
    let r = dir.cmd(&["build", "-o", "y.ldx", "minutes.txt"]).expect(0);
    assert!(r.stderr.contains("full-width addresses (read as ASCII): 3"), "{}", r.stderr);
    // A staff list in ASCII finds them; so does one typed in full-width forms.
    let staff = dir.write("staff.txt", "yoshida@mlit.go.jp\nＴａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ\nnobody@example.jp\n");
    let rows =
        json_lines(&dir.cmd(&["bulk", "-i", "x.ldx", "--format", "json", staff.to_str().unwrap()]).expect(1).stdout);
    let exposed: Vec<bool> = rows.iter().map(|r| r["exposed"] == true).collect();
    assert_eq!(exposed, [true, true, false], "{rows:?}");
}

#[test]
fn obfuscated_addresses_are_read_by_default_counted_apart_and_not_with_deobfuscate_off() {
    let dir = Dir::new();
    dir.write(
        "page.txt",
        "Contact: taro [at] example [dot] jp or hanako(at)example.jp\n\
         問い合わせ：suzuki ＠ example.org\n\
         Write to kato at mail dot example dot net; we met at noon.\n\
         look at example dot com for details\n\
         plain ito@example.com here\n",
    );
    dir.cmd(&["build", "-q", "-o", "on.ldx", "--report", "on.json", "page.txt"]).expect(0);
    let want = py_keys(&[
        "taro@example.jp",
        "hanako@example.jp",
        "suzuki@example.org",
        "kato@mail.example.net",
        "ito@example.com",
    ]);
    assert_eq!(keys_of(&dir, "on.ldx"), want.iter().cloned().collect::<BTreeSet<_>>());
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path("on.json")).unwrap()).unwrap();
    assert_eq!(file_report(&report, "page.txt")["deobfuscated"], 4, "{report}");
    let r = dir.cmd(&["build", "-o", "on2.ldx", "page.txt"]).expect(0);
    assert!(r.stderr.contains("deobfuscated addresses"), "{}", r.stderr);

    dir.cmd(&["build", "-q", "-o", "off.ldx", "--deobfuscate", "off", "--report", "off.json", "page.txt"]).expect(0);
    assert_eq!(keys_of(&dir, "off.ldx"), want[4..].iter().cloned().collect::<BTreeSet<_>>());
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path("off.json")).unwrap()).unwrap();
    assert!(file_report(&report, "page.txt").get("deobfuscated").is_none(), "{report}");
    dir.cmd(&["build", "-q", "-o", "bad.ldx", "--deobfuscate", "maybe", "page.txt"]).expect(2);
}

#[test]
fn idn_addresses_are_indexed_under_punycode_and_unicode_keys_and_a_staff_row_counts_once() {
    let dir = Dir::new();
    dir.write("leak.txt", "Anna@München.example\nbob@xn--bcher-kva.example\nplain@example.com\n");
    dir.cmd(&["build", "-q", "-o", "x.ldx", "--report", "r.json", "leak.txt"]).expect(0);
    // Punycode computed by Python's own codec (RFC 3492), independently of leakdex.
    let puny = |label: &str| {
        let out = Command::new("python3")
            .args(["-c", "import sys; print('xn--' + sys.argv[1].encode('punycode').decode())", label])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(puny("münchen"), "xn--mnchen-3ya");
    let want = py_keys(&[
        &format!("anna@{}.example", puny("münchen")),
        "anna@münchen.example",
        &format!("bob@{}.example", puny("bücher")),
        "bob@bücher.example",
        "plain@example.com",
    ]);
    assert_eq!(keys_of(&dir, "x.ldx"), want.into_iter().collect::<BTreeSet<_>>());
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path("r.json")).unwrap()).unwrap();
    assert_eq!(file_report(&report, "leak.txt")["idn_keys"], 2, "{report}");
    let r = dir.cmd(&["build", "-o", "y.ldx", "leak.txt"]).expect(0);
    assert!(r.stderr.contains("2 extra key(s)"), "{}", r.stderr);
    // Each person once, whichever form the staff list has.
    let staff = dir
        .write("staff.txt", "anna@MÜNCHEN.example\nanna@xn--mnchen-3ya.example\nbob@bücher.example\nx@example.com\n");
    let r = dir.cmd(&["bulk", "-i", "x.ldx", "--format", "json", staff.to_str().unwrap()]).expect(1);
    let rows = json_lines(&r.stdout);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows.iter().filter(|r| r["exposed"] == true).count(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r["count"].as_u64().unwrap_or(0) <= 1), "{rows:?}");
}

#[test]
fn an_index_holding_only_unicode_form_keys_still_finds_an_idn_staff_row_once() {
    // What an HIBP-style export holds: SHA-1 of the lowercase Unicode form, no punycode key.
    let dir = Dir::new();
    let keys = py_keys(&["anna@münchen.example", "bob@example.com"]);
    dir.write("hibp.txt", keys.join("\n") + "\n");
    dir.cmd(&["build", "-q", "-o", "x.ldx", "--format", "hashes", "hibp.txt"]).expect(0);
    let staff = dir.write(
        "staff.txt",
        "Anna@xn--mnchen-3ya.example
anna@münchen.example
carl@münchen.example
",
    );
    let r = dir.cmd(&["bulk", "-i", "x.ldx", "--format", "json", staff.to_str().unwrap()]).expect(1);
    let rows = json_lines(&r.stdout);
    let exposed: Vec<bool> = rows.iter().map(|r| r["exposed"] == true).collect();
    assert_eq!(exposed, [true, true, false], "{rows:?}");
    assert!(r.stderr.contains("checked 3, exposed 2"), "{}", r.stderr);
    let r = dir.cmd(&["check", "-i", "x.ldx", "--format", "json", "anna@MÜNCHEN.example"]).expect(1);
    assert_eq!(json_lines(&r.stdout)[0]["exposed"], true, "{}", r.stdout);
}

/// `bulk` rows' exposure and the stderr note naming the column.
fn bulk_staff(dir: &Dir, index: &str, file: &str) -> (Vec<(String, bool)>, String) {
    let r = dir.cmd(&["bulk", "-i", index, "--format", "json", file]).expect(1);
    let rows = json_lines(&r.stdout)
        .into_iter()
        .map(|v| (v["email"].as_str().unwrap_or("").to_string(), v["exposed"] == true))
        .collect();
    (rows, r.stderr)
}

#[test]
fn staff_lists_with_japanese_german_and_unnamed_address_columns_are_read_by_bulk_and_build() {
    let dir = Dir::new();
    dir.write("leak.txt", "tanaka@example.jp\nmueller@example.de\nsato@example.jp\n");
    dir.cmd(&["build", "-q", "-o", "x.ldx", "leak.txt"]).expect(0);
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(
        "氏名,部署,メールアドレス\r\n田中,総務,Tanaka@Example.jp\r\n鈴木,経理,suzuki@example.jp\r\n".as_bytes(),
    );
    dir.write("staff-ja.csv", &bom);
    dir.write(
        "staff-de.csv",
        "Name;Abteilung;E-Mail-Adresse\nMüller;Einkauf;mueller@example.de\nSchmidt;IT;schmidt@example.de\n",
    );
    // The address column's header says nothing of e-mail: found by its content.
    dir.write("staff-content.csv", "氏名,連絡先,内線\n佐藤,sato@example.jp,1234\n伊藤,ito@example.jp,5678\n");
    for (file, column, exposed) in [
        ("staff-ja.csv", "メールアドレス", "tanaka@example.jp"),
        ("staff-de.csv", "E-Mail-Adresse", "mueller@example.de"),
        ("staff-content.csv", "連絡先", "sato@example.jp"),
    ] {
        let (rows, stderr) = bulk_staff(&dir, "x.ldx", file);
        assert_eq!(rows.len(), 2, "{file}: {rows:?}");
        let hit: Vec<&str> = rows.iter().filter(|(_, e)| *e).map(|(a, _)| a.as_str()).collect();
        assert_eq!(hit, [exposed], "{file}");
        assert!(stderr.contains(&format!("column \"{column}\" by")), "{file}: {stderr}");
        // `build` reads the same list the same way and says so.
        let out = format!("{file}.ldx");
        let r = dir.cmd(&["build", "-o", &out, file]).expect(0);
        assert!(r.stderr.contains(&format!("column \"{column}\" by")), "{file}: {}", r.stderr);
        assert!(r.stderr.contains("2 records"), "{file}: {}", r.stderr);
    }
    let (_, stderr) = bulk_staff(&dir, "x.ldx", "staff-content.csv");
    assert!(stderr.contains("by content"), "{stderr}");
}
