//! Staff lists as users export them (UTF-16 from Windows tools, windows-1252 from old Excel,
//! gzip from a mail gateway, password columns with spaces) are read as `build` reads corpora,
//! and a list that checks nobody is an error, never a clean report.

use serde_json::Value;

use crate::util::{gzip, json_lines, utf16le, Dir};

/// An email index holding a few non-ASCII and ASCII addresses, built from a UTF-8 plain list.
fn email_index(dir: &Dir) -> String {
    dir.write("leak.txt", "zoë.martin@example.com\nélodie@example.fr\n田中@example.jp\nruth@example.org\n");
    dir.cmd(&["build", "-q", "-o", "e.ldx", "leak.txt"]).expect(0);
    "e.ldx".into()
}

/// JSON rows of `bulk` keyed by normalized address, and the exit status.
fn bulk_json(dir: &Dir, index: &str, staff: &str, code: i32) -> Vec<Value> {
    json_lines(&dir.cmd(&["bulk", "-i", index, "--format", "json", staff]).expect(code).stdout)
}

fn exposed_emails(rows: &[Value]) -> Vec<&str> {
    rows.iter().filter(|r| r["exposed"] == true).map(|r| r["email"].as_str().unwrap()).collect()
}

/// UTF-16 big-endian with a BOM.
fn utf16be(s: &str) -> Vec<u8> {
    let mut v = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_be_bytes());
    }
    v
}

#[test]
fn utf16_staff_lists_with_a_bom_are_decoded_not_read_as_invalid_rows() {
    let dir = Dir::new();
    let index = email_index(&dir);
    let csv = "氏名,メールアドレス,email\r\n田中 太郎,tanaka,田中@example.jp\r\nZoë,zoe,Zoë.Martin@Example.com\r\nNobody,x,nobody@example.com\r\n";
    dir.write("staff-le.csv", utf16le(csv));
    dir.write("staff-be.csv", utf16be(csv));
    for staff in ["staff-le.csv", "staff-be.csv"] {
        let rows = bulk_json(&dir, &index, staff, 1);
        assert_eq!(rows.len(), 3, "{staff}: {rows:?}");
        assert_eq!(exposed_emails(&rows), ["田中@example.jp", "zoë.martin@example.com"], "{staff}");
        assert!(rows.iter().all(|r| r.get("error").is_none()), "{staff}: {rows:?}");
    }
    // A plain list (no header) in UTF-16, through stdin to `check` as well.
    let plain = "Ruth@Example.org\nélodie@example.fr\n";
    dir.write("plain16.txt", utf16le(plain));
    assert_eq!(exposed_emails(&bulk_json(&dir, &index, "plain16.txt", 1)), ["ruth@example.org", "élodie@example.fr"]);
    let r = dir.cmd(&["check", "-i", &index, "--format", "json"]).stdin(utf16le(plain)).expect(1);
    assert_eq!(exposed_emails(&json_lines(&r.stdout)), ["ruth@example.org", "élodie@example.fr"]);
}

#[test]
fn windows_1252_staff_lists_keep_the_first_lines_accents() {
    let dir = Dir::new();
    let index = email_index(&dir);
    // The accent is on the very first line, in a plain list and in a CSV header and row.
    dir.write("plain.txt", b"\xe9lodie@example.fr\r\nruth@example.org\r\n");
    assert_eq!(exposed_emails(&bulk_json(&dir, &index, "plain.txt", 1)), ["élodie@example.fr", "ruth@example.org"]);
    dir.write("staff.csv", b"Pr\xe9nom;email\r\nZo\xeb;zo\xeb.martin@example.com\r\n");
    let r = dir.cmd(&["bulk", "-i", &index, "--format", "csv", "staff.csv"]).expect(1);
    let mut lines = r.stdout.lines();
    assert_eq!(lines.next(), Some("Prénom,email,normalized_email,exposed,count,sources,error"));
    assert_eq!(lines.next(), Some("Zoë,zoë.martin@example.com,zoë.martin@example.com,true,1,leak,"));
}

#[test]
fn gzip_compressed_staff_lists_are_read_like_compressed_corpora() {
    let dir = Dir::new();
    let index = email_index(&dir);
    dir.write("staff.csv.gz", gzip(b"name,email\nRuth,ruth@example.org\nNobody,nobody@example.net\n"));
    let rows = bulk_json(&dir, &index, "staff.csv.gz", 1);
    assert_eq!(rows.len(), 2);
    assert_eq!(exposed_emails(&rows), ["ruth@example.org"]);
}

#[test]
fn password_cells_in_a_csv_staff_list_are_not_trimmed() {
    let dir = Dir::new();
    // `build` keeps the spaces of a plain password list; so must `bulk`.
    dir.write("pw.txt", "  spaced pass  \nhunter2\n");
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "pw.ldx", "pw.txt"]).expect(0);
    dir.write("staff.csv", "user,password\nann,  spaced pass  \nbob,spaced pass\ncid,hunter2\n");
    let rows = bulk_json(&dir, "pw.ldx", "staff.csv", 1);
    // SHA-1s computed with Python's hashlib.
    let want = [
        ("06328D928C37B4419323C465B94818B52FC7337E", true),
        ("645F94C9CAF34F54286A38A72F62EA59812A7479", false),
        ("F3BBBD66A63D4BF1747940578EC3D0103530E21D", true),
    ];
    let got: Vec<(&str, bool)> = rows.iter().map(|r| (r["sha1"].as_str().unwrap(), r["exposed"] == true)).collect();
    assert_eq!(got, want);
    assert!(!rows.iter().any(|r| r.to_string().contains("spaced")), "a password was echoed: {rows:?}");
}

#[test]
fn password_cells_of_a_csv_staff_list_are_never_written_back_in_any_format() {
    let dir = Dir::new();
    dir.write("pw.txt", "Tr0ub4dor&3\n");
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "pw.ldx", "pw.txt"]).expect(0);
    dir.write("staff.csv", "user,password,dept\nann,Tr0ub4dor&3,sales\nbob,correct horse,legal\n");
    // SHA-1 of "Tr0ub4dor&3", computed with Python's hashlib.
    let sha1 = "874572E7A5AE6A49466A6AC578B98ADBA78C6AA6";
    for format in ["csv", "json", "table"] {
        let r = dir.cmd(&["bulk", "-i", "pw.ldx", "--format", format, "staff.csv"]).expect(1);
        for secret in ["Tr0ub4dor", "correct horse"] {
            assert!(!r.stdout.contains(secret), "{format}: a password was written back: {}", r.stdout);
            assert!(!r.stderr.contains(secret), "{format}: a password on stderr: {}", r.stderr);
        }
    }
    // The staff list's other columns are kept, the password column is there but empty.
    let r = dir.cmd(&["bulk", "-i", "pw.ldx", "--format", "csv", "staff.csv"]).expect(1);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("user,password,dept,sha1,"), "{}", lines[0]);
    assert!(lines[1].starts_with(&format!("ann,,sales,{sha1},true,")), "{}", lines[1]);
    assert!(lines[2].starts_with("bob,,legal,"), "{}", lines[2]);
}

#[test]
fn a_staff_list_whose_every_row_is_invalid_is_an_error_not_clean() {
    let dir = Dir::new();
    let index = email_index(&dir);
    // The "email" column holds no address that can be checked.
    dir.write("obfuscated.csv", "name,email\nRuth,ruth(at)example.org\nAnn,ann.example.org\n");
    // A list of names, not addresses.
    dir.write("names.txt", "Ruth Example\nAnn Example\n");
    // Header only, and an empty file.
    dir.write("header-only.csv", "name,email\n");
    dir.write("empty.txt", "");
    for staff in ["obfuscated.csv", "names.txt", "header-only.csv", "empty.txt"] {
        let r = dir.cmd(&["bulk", "-i", &index, staff]).expect(2);
        let last = r.stderr.lines().last().unwrap_or_default();
        assert!(last.contains(staff) && (last.contains("none of the") || last.contains("no email")), "{staff}: {last}");
    }
    // Columns swapped in the export: the addresses are found by content, and the choice is said.
    dir.write("swapped.csv", "name,email\nruth@example.org,Ruth\nann@example.org,Ann\n");
    let r = dir.cmd(&["bulk", "-i", &index, "swapped.csv"]).expect(1);
    assert!(r.stderr.contains("column \"name\" by content"), "{}", r.stderr);
    // One valid row among invalid ones is a normal report.
    dir.write("mixed.txt", "Ruth Example\nnobody@example.net\n");
    dir.cmd(&["bulk", "-i", &index, "mixed.txt"]).expect(0);
    // `check` alike: a mistyped address alone is exit 2, with its row still shown.
    let r = dir.cmd(&["check", "-i", &index, "--format", "json", "ruth.example.org"]).expect(2);
    assert_eq!(json_lines(&r.stdout)[0]["error"], "no @");
    dir.cmd(&["check", "-i", &index]).stdin("").expect(2);
}

#[test]
fn bulk_line_numbers_are_the_files_lines_for_crlf_and_sep_lines() {
    let dir = Dir::new();
    let index = email_index(&dir);
    // Excel writes CRLF; a `sep=` line comes before the header. Rows are joined back to the
    // list by line number, so each must be the file's own line.
    dir.write(
        "crlf.csv",
        "name,email\r\nRuth,ruth@example.org\r\nNobody,nobody@example.net\r\n\r\nZoë,zoë.martin@example.com\r\n",
    );
    dir.write("sep.csv", "sep=;\r\nname;email\r\nRuth;ruth@example.org\r\nNobody;nobody@example.net\r\n");
    for (staff, want) in [("crlf.csv", vec![2, 3, 5]), ("sep.csv", vec![3, 4])] {
        let rows = bulk_json(&dir, &index, staff, 1);
        let lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
        assert_eq!(lines, want, "{staff}: {rows:?}");
    }
}

#[test]
fn a_cell_with_several_named_addresses_is_invalid_not_the_last_one_checked() {
    let dir = Dir::new();
    let index = email_index(&dir);
    // Zoë is exposed; checking only the last address (Nobody, clean) would hide her.
    let list = "Zoë <zoë.martin@example.com>; Nobody <nobody@example.com>\nruth@example.org\n";
    let rows = json_lines(&dir.cmd(&["bulk", "-i", &index, "--format", "json", "-"]).stdin(list).expect(1).stdout);
    assert_eq!(rows[0]["exposed"], false);
    assert_eq!(rows[0]["error"], "more than one @", "{rows:?}");
    assert!(rows[0].get("email").is_none(), "{rows:?}");
}

#[test]
fn utf16_without_a_bom_is_decoded_for_corpora_and_staff_lists() {
    let dir = Dir::new();
    let le = |s: &str| s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect::<Vec<u8>>();
    let be = |s: &str| s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect::<Vec<u8>>();
    // A password list: NULs kept inside the passwords made every one of them clean.
    dir.write("pw16.txt", le("hunter2\r\nletmein\r\n"));
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "pw.ldx", "pw16.txt"]).expect(0);
    // SHA-1 of "hunter2" from Python's hashlib.
    let r = dir.cmd(&["check", "-i", "pw.ldx", "--format", "json"]).stdin("hunter2\n").expect(1);
    assert_eq!(json_lines(&r.stdout)[0]["sha1"], "F3BBBD66A63D4BF1747940578EC3D0103530E21D");
    // An email corpus and a staff list, big-endian.
    dir.write("leak16.txt", be("zoë@example.com\nruth@example.org\n"));
    dir.cmd(&["build", "-q", "-o", "e.ldx", "leak16.txt"]).expect(0);
    dir.write("staff16.csv", be("name,email\nZoë,Zoë@example.com\nNobody,nobody@example.net\n"));
    assert_eq!(exposed_emails(&bulk_json(&dir, "e.ldx", "staff16.csv", 1)), ["zoë@example.com"]);
}

/// `text` encoded by Python's codecs (independent of the code under test).
fn python_encode(text: &str, codec: &str) -> Vec<u8> {
    let out = std::process::Command::new("python3")
        .args(["-c", &format!("import sys; sys.stdout.buffer.write(sys.argv[1].encode({codec:?}))"), text])
        .output()
        .expect("python3 is needed for this test");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn japanese_legacy_encodings_are_detected_for_corpora_and_staff_lists() {
    let dir = Dir::new();
    // Japanese prose: the address stands against full-width punctuation, and the local part is
    // in kanji. Read as windows-1252 it was mojibake glued onto the address.
    let text = "連絡先：田中@example.jp です。\r\nメール：鈴木@example.jp\r\n担当（佐藤@example.jp）\r\n";
    for (file, codec) in [("sjis.txt", "cp932"), ("euc.txt", "euc_jp"), ("jis.txt", "iso2022_jp")] {
        dir.write(file, python_encode(text, codec));
    }
    let r = dir.cmd(&["build", "-o", "jp.ldx", "sjis.txt", "euc.txt", "jis.txt"]).expect(0);
    for enc in ["Shift_JIS", "EUC-JP", "ISO-2022-JP"] {
        assert!(r.stderr.contains(&format!("encoding: {enc}")), "{enc}: {}", r.stderr);
    }
    for who in ["田中@example.jp", "鈴木@example.jp", "佐藤@example.jp"] {
        let r = dir.cmd(&["check", "-i", "jp.ldx", "--format", "json", who]).expect(1);
        assert_eq!(json_lines(&r.stdout)[0]["count"], 3, "{who}");
    }
    // A CP932 staff list as Excel on Japanese Windows saves it, header in Japanese.
    dir.write(
        "staff.csv",
        python_encode("氏名,メールアドレス\r\n田中,田中@example.jp\r\n山田,yamada@example.jp\r\n", "cp932"),
    );
    let r = dir.cmd(&["bulk", "-i", "jp.ldx", "--format", "csv", "staff.csv"]).expect(1);
    assert!(r.stderr.contains("decoded as Shift_JIS"), "{}", r.stderr);
    let mut lines = r.stdout.lines();
    assert_eq!(lines.next(), Some("氏名,メールアドレス,normalized_email,exposed,count,sources,error"));
    assert_eq!(lines.next(), Some("田中,田中@example.jp,田中@example.jp,true,3,sjis;euc;jis,"));
    assert_eq!(lines.next(), Some("山田,yamada@example.jp,yamada@example.jp,false,0,,"));
}
