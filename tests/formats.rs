//! Format detection through the real binary: login combolists, stealer logs, plain lists whose
//! first line looks like a header, CSV exports (Outlook, Excel `sep=;`, Google Contacts,
//! Thunderbird in Japanese and German), `--column` and the manifest's `columns`, and the
//! `detected:` line of the summary and report. Expected password hashes were computed with
//! Python's hashlib.

use serde_json::Value;

use crate::util::{json_lines, Dir};

/// `check --format json` of `queries` (one per line on stdin): the `exposed` flag of each.
fn exposed(dir: &Dir, index: &str, queries: &[&str]) -> Vec<bool> {
    let r = dir.cmd(&["check", "-i", index, "--format", "json"]).stdin(queries.join("\n") + "\n").run();
    assert!(r.status == Some(0) || r.status == Some(1), "{}", r.stderr);
    json_lines(&r.stdout).iter().map(|v| v["exposed"].as_bool().unwrap()).collect()
}

/// The summary line of `file` (`path  [format, compression]  size  N lines  N records  N rejected`)
/// and the `detected:` line after it.
fn summary_of<'a>(stderr: &'a str, file: &str) -> (&'a str, &'a str) {
    let mut lines = stderr.lines();
    let line = lines.find(|l| l.starts_with(file)).unwrap_or_else(|| panic!("no summary line for {file}:\n{stderr}"));
    let detected = lines.next().filter(|l| l.trim_start().starts_with("detected: ")).unwrap_or("");
    (line, detected)
}

#[test]
fn username_password_combolists_hash_the_password_not_the_line() {
    let dir = Dir::new();
    dir.write("colon.txt", "gamer01:hunter2\nxX_sniper_Xx:p@ss:x\nCORP\\jsmith:Winter2023!\n");
    dir.write("semi.txt", "+1 (555) 010-0199;semi;colon\nヤマダ;pw-jp\r\n");
    dir.write("pipe.txt", "0901234567|pipe-pw\nbob.smith|a|b\n");
    dir.write("tab.txt", "gamer02\tpass phrase with spaces\n");
    dir.write(
        "ulp.txt",
        "https://site.example:8443/login:ulp-user:ulp:pw\nandroid://Qx9@com.example.app/:+15550100:ulp-two\n",
    );
    let r = dir
        .cmd(&[
            "build",
            "--kind",
            "password",
            "-o",
            "pw.ldx",
            "colon.txt",
            "semi.txt",
            "pipe.txt",
            "tab.txt",
            "ulp.txt",
        ])
        .expect(0);
    for (file, sep, lines) in [
        ("colon.txt", "':'", 3),
        ("semi.txt", "';'", 2),
        ("pipe.txt", "'|'", 2),
        ("tab.txt", "tab", 1),
        ("ulp.txt", "':'", 2),
    ] {
        let (line, detected) = summary_of(&r.stderr, file);
        assert!(line.contains("[combo, none]"), "{line}");
        assert!(line.contains(&format!("{lines} lines  {lines} records  0 rejected")), "{line}");
        assert!(detected.contains(&format!("separator {sep}")) && detected.contains("100% of"), "{file}: {detected}");
    }
    let got = exposed(
        &dir,
        "pw.ldx",
        &[
            "hunter2",
            "p@ss:x",
            "Winter2023!",
            "semi;colon",
            "pw-jp",
            "pipe-pw",
            "a|b",
            "pass phrase with spaces",
            "ulp:pw",
            "ulp-two",
            "gamer01:hunter2",
            "gamer01",
            "CORP\\jsmith",
            "pw",
        ],
    );
    assert_eq!(got, [true, true, true, true, true, true, true, true, true, true, false, false, false, false]);
    // The hashes are the passwords' own SHA-1s.
    let r = dir.cmd(&["check", "-i", "pw.ldx", "--format", "json"]).stdin("hunter2\nWinter2023!\np@ss:x\n").expect(1);
    let sha1s: Vec<String> = json_lines(&r.stdout).iter().map(|v| v["sha1"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        sha1s,
        [
            "F3BBBD66A63D4BF1747940578EC3D0103530E21D",
            "8C16F71669B51628630F3EE0D57CC3922F1F1398",
            "38E80B7BC13CDE8626E9135B3427A5B53C199775"
        ]
    );
    // Built as an email index by mistake: nothing is silent, the summary says what to do, and
    // since nothing was indexed the build fails without writing an index.
    let r = dir.cmd(&["build", "-o", "e.ldx", "colon.txt"]).expect(2);
    let (line, detected) = summary_of(&r.stderr, "colon.txt");
    assert!(line.contains("0 records  3 rejected"), "{line}");
    assert!(
        detected.contains("login:password without an address") && detected.contains("--kind password"),
        "{detected}"
    );
}

#[test]
fn plain_password_list_with_some_colons_stays_plain_and_says_why() {
    let dir = Dir::new();
    dir.write(
        "list.txt",
        "pass:word\nhunter2\nletmein\nqwerty\ncorrect horse\nP@ssw0rd\nsummer\nwinter\nspring\nautumn\n",
    );
    let r = dir.cmd(&["build", "--kind", "password", "-o", "pw.ldx", "list.txt"]).expect(0);
    let (line, detected) = summary_of(&r.stderr, "list.txt");
    assert!(line.contains("[plain, none]") && line.contains("10 lines  10 records  0 rejected"), "{line}");
    assert!(detected.contains("only 10% of 10 sampled lines") && detected.contains("--format combo"), "{detected}");
    assert_eq!(exposed(&dir, "pw.ldx", &["pass:word", "word", "correct horse"]), [true, false, true]);
    // The user overrides the guess.
    dir.cmd(&["build", "-q", "--kind", "password", "--format", "combo", "-o", "c.ldx", "list.txt"]).expect(0);
    assert_eq!(exposed(&dir, "c.ldx", &["pass:word", "word"]), [false, true]);
}

const REDLINE: &str = "URL: https://login.example.org/\r\nUsername: Tina@Example.com\r\nPassword: Pa:ss w0rd\r\nApplication: Google_[Chrome]_Default\r\n===============\r\nURL: android://x@com.example.app/\r\nUsername: gamer01\r\nPassword: hunter2\r\nApplication: Edge\r\n===============\r\n";

#[test]
fn stealer_log_blocks_index_the_login_and_password_not_the_labels() {
    let dir = Dir::new();
    dir.write("redline.txt", REDLINE);
    dir.write(
        "raccoon.txt",
        "URL: https://a.example.net\nUSER: ann@example.net\nPASS: one\n\nHost: https://b.example.net\nLogin: bob@example.net\nPASS: two\n\n",
    );
    let r = dir.cmd(&["build", "-o", "e.ldx", "--report", "e.json", "redline.txt", "raccoon.txt"]).expect(0);
    let (line, detected) = summary_of(&r.stderr, "redline.txt");
    assert!(line.contains("[stealer, none]") && line.contains("10 lines  1 records  1 rejected"), "{line}");
    assert!(detected.starts_with("    detected: stealer log"), "{detected}");
    assert!(r.stderr.contains("stealer login is not an address: 1"), "{}", r.stderr);
    let (line, _) = summary_of(&r.stderr, "raccoon.txt");
    assert!(line.contains("8 lines  2 records  0 rejected"), "{line}");
    assert_eq!(
        exposed(&dir, "e.ldx", &["tina@example.com", "ann@example.net", "bob@example.net", "x@com.example.app"]),
        [true, true, true, false]
    );
    let report: Value = serde_json::from_slice(&std::fs::read(dir.path("e.json")).unwrap()).unwrap();
    assert!(report["files"][0]["detection"].as_str().unwrap().starts_with("stealer log"), "{report}");

    dir.cmd(&["build", "-q", "--kind", "password", "-o", "p.ldx", "redline.txt", "raccoon.txt"]).expect(0);
    assert_eq!(
        exposed(
            &dir,
            "p.ldx",
            &["Pa:ss w0rd", "hunter2", "one", "two", "Password: hunter2", "Pa:ss", "Username: gamer01"]
        ),
        [true, true, true, true, false, false, false]
    );
}

#[test]
fn stealer_blocks_cut_by_a_chunk_boundary_are_read_whole() {
    let dir = Dir::new();
    // About 3 MiB of blocks: several 1 MiB chunks, every block checked afterwards.
    let mut log = String::new();
    let n = 30_000;
    for i in 0..n {
        log.push_str(&format!(
            "URL: https://site{i}.example.com/login/with/a/long/path\nUsername: user{i}@example.org\nPassword: secret-{i}-pw\nSoft: Chrome\n\n"
        ));
    }
    assert!(log.len() > 3 << 20);
    dir.write("big.txt", &log);
    let r = dir.cmd(&["build", "-o", "e.ldx", "big.txt"]).expect(0);
    let (line, _) = summary_of(&r.stderr, "big.txt");
    assert!(line.contains(&format!("{} lines  {n} records  0 rejected", n * 5)), "{line}");
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "p.ldx", "big.txt"]).expect(0);
    let emails: Vec<String> = (0..n).step_by(97).map(|i| format!("user{i}@example.org")).collect();
    let pws: Vec<String> = (0..n).step_by(97).map(|i| format!("secret-{i}-pw")).collect();
    let e: Vec<&str> = emails.iter().map(String::as_str).collect();
    let p: Vec<&str> = pws.iter().map(String::as_str).collect();
    assert!(exposed(&dir, "e.ldx", &e).iter().all(|&x| x));
    assert!(exposed(&dir, "p.ldx", &p).iter().all(|&x| x));
}

#[test]
fn list_whose_first_line_is_password_keeps_that_password() {
    let dir = Dir::new();
    dir.write("pw.txt", "password\nhunter2\nletmein\n");
    dir.write("pw2.txt", "Password\r\nqwerty\r\n");
    let r = dir.cmd(&["build", "--kind", "password", "-o", "pw.ldx", "pw.txt", "pw2.txt"]).expect(0);
    let (line, _) = summary_of(&r.stderr, "pw.txt");
    assert!(line.contains("[plain, none]") && line.contains("3 lines  3 records  0 rejected"), "{line}");
    let (line, _) = summary_of(&r.stderr, "pw2.txt");
    assert!(line.contains("2 lines  2 records"), "{line}");
    assert_eq!(exposed(&dir, "pw.ldx", &["password", "Password", "hunter2", "qwerty"]), [true, true, true, true]);
    // Asked for CSV, the first line is a header, and the summary says it was skipped.
    let r = dir.cmd(&["build", "--kind", "password", "--format", "csv", "-o", "csv.ldx", "pw.txt"]).expect(0);
    let (line, detected) = summary_of(&r.stderr, "pw.txt");
    assert!(line.contains("[csv, none]") && line.contains("2 records"), "{line}");
    assert!(detected.contains("header line skipped"), "{detected}");
    // An email list whose first line is "email" or "E-mail": a header (it is no address).
    dir.write("emails.txt", "E-mail\nann@example.com\n");
    let r = dir.cmd(&["build", "-o", "e.ldx", "emails.txt"]).expect(0);
    let (line, _) = summary_of(&r.stderr, "emails.txt");
    assert!(line.contains("[csv, none]") && line.contains("2 lines  1 records  0 rejected"), "{line}");
}

#[test]
fn csv_exports_read_every_email_column_by_header_and_content() {
    let dir = Dir::new();
    // Outlook's export: three e-mail columns, a display-name column, a postal address.
    dir.write(
        "outlook.csv",
        "First Name,Last Name,Business Street,E-mail Address,E-mail Type,E-mail Display Name,E-mail 2 Address,E-mail 2 Type,E-mail 3 Address\r\n\
         Jo,Doe,1 Main St,jo@example.com,SMTP,Jo Doe (jo@example.com),jo.home@example.net,SMTP,\r\n\
         Al,Roe,\"2 High St, Apt 3\",al@example.org,SMTP,Al Roe (al@example.org),,,al.third@example.org\r\n",
    );
    // Excel with a sep=; line; a postal "address" column beside Email_Addr.
    dir.write(
        "excel.csv",
        "sep=;\r\nName;address;Email_Addr\r\nMüller;Hauptstraße 1, Berlin;mueller@example.de\r\nDupont;3 rue X;dupont@example.fr\r\n",
    );
    // Google Contacts: "E-mail 1 - Type" comes before the value; several values joined by " ::: ".
    dir.write(
        "google.csv",
        "Name,Given Name,E-mail 1 - Type,E-mail 1 - Value,E-mail 2 - Type,E-mail 2 - Value\n\
         Kim Lee,Kim,* Home,kim@example.com ::: kim.lee@example.net,Work,kim@work.example\n",
    );
    // Thunderbird address books with Japanese and German headers.
    dir.write(
        "tb-ja.csv",
        "名,姓,表示名,ニックネーム,メールアドレス,第 2 メールアドレス\n太郎,山田,山田 太郎,,taro@example.jp,taro2@example.jp\n",
    );
    dir.write(
        "tb-de.csv",
        "Vorname,Nachname,Anzeigename,Primäre E-Mail-Adresse,Sekundäre E-Mail-Adresse\nHans,Meier,Hans Meier,hans@example.de,\n",
    );
    // Cells holding several addresses, a newline inside a quoted cell.
    dir.write(
        "multi.csv",
        "id,Courriel\n1,a1@example.com; b1@example.com\n2,\"a2@example.com, b2@example.com\"\n3,\"a3@example.com\nb3@example.com\"\n",
    );
    let r = dir
        .cmd(&[
            "build",
            "-o",
            "x.ldx",
            "--report",
            "r.json",
            "outlook.csv",
            "excel.csv",
            "google.csv",
            "tb-ja.csv",
            "tb-de.csv",
            "multi.csv",
        ])
        .expect(0);
    let (line, detected) = summary_of(&r.stderr, "outlook.csv");
    assert!(line.contains("3 lines  4 records  0 rejected"), "{line}");
    assert!(
        detected
            .contains("csv, column \"E-mail Address\" by header and content (+2 e-mail columns: \"E-mail 2 Address\"")
            && detected.contains("delimiter ','"),
        "{detected}"
    );
    let (line, detected) = summary_of(&r.stderr, "excel.csv");
    assert!(line.contains("4 lines  2 records  0 rejected"), "{line}");
    assert!(
        detected.contains("column \"Email_Addr\"") && detected.contains("delimiter ';' from sep= line"),
        "{detected}"
    );
    let (line, _) = summary_of(&r.stderr, "google.csv");
    assert!(line.contains("2 lines  3 records  0 rejected"), "{line}");
    let (line, detected) = summary_of(&r.stderr, "tb-ja.csv");
    assert!(line.contains("2 records  0 rejected") && detected.contains("メールアドレス"), "{line} {detected}");
    let (line, _) = summary_of(&r.stderr, "tb-de.csv");
    assert!(line.contains("1 records  0 rejected"), "{line}");
    let (line, _) = summary_of(&r.stderr, "multi.csv");
    assert!(line.contains("6 records  0 rejected"), "{line}");
    let want = [
        "jo@example.com",
        "jo.home@example.net",
        "al@example.org",
        "al.third@example.org",
        "mueller@example.de",
        "dupont@example.fr",
        "kim@example.com",
        "kim.lee@example.net",
        "kim@work.example",
        "taro@example.jp",
        "taro2@example.jp",
        "hans@example.de",
        "a1@example.com",
        "b1@example.com",
        "a2@example.com",
        "b2@example.com",
        "a3@example.com",
        "b3@example.com",
    ];
    assert!(exposed(&dir, "x.ldx", &want).iter().all(|&x| x), "{:?}", exposed(&dir, "x.ldx", &want));
    assert_eq!(exposed(&dir, "x.ldx", &["1@main.st", "smtp@example.com", "home@example.com"]), [false, false, false]);
    let report: Value = serde_json::from_slice(&std::fs::read(dir.path("r.json")).unwrap()).unwrap();
    let d = report["files"][1]["detection"].as_str().unwrap();
    assert!(d.contains("from sep= line"), "{d}");
    // No address ever reaches the summary or the report.
    assert!(!r.stderr.contains("jo@example.com") && !report.to_string().contains("jo@example.com"));
}

#[test]
fn column_is_repeatable_and_per_source_and_a_missing_one_names_the_file() {
    let dir = Dir::new();
    let outlook = "Name,E-mail Address,E-mail 2 Address,Backup\nJo,jo@example.com,jo2@example.com,jo3@example.com\n";
    dir.write("a.csv", outlook);
    dir.write("shop.csv", "id;Mail;Other\n1;shop@example.com;other@example.com\n");
    dir.write("combo.txt", "combo@example.com:pw\n");
    dir.write("logins.txt", "gamer01;hunter2\nbob;pw\n");
    // Two asked columns for every CSV input; shop names its own in the manifest; the combolist
    // is not CSV and is read as one.
    dir.write("m.toml", "[shop]\ncolumns = [\"Other\"]\n");
    let r = dir
        .cmd(&[
            "build",
            "-o",
            "x.ldx",
            "--sources",
            "m.toml",
            "--column",
            "e-mail address",
            "--column",
            "Backup",
            "a.csv",
            "shop.csv",
            "combo.txt",
        ])
        .expect(0);
    let (_, detected) = summary_of(&r.stderr, "a.csv");
    assert!(detected.contains("columns \"E-mail Address\", \"Backup\" as asked"), "{detected}");
    assert_eq!(
        exposed(
            &dir,
            "x.ldx",
            &[
                "jo@example.com",
                "jo2@example.com",
                "jo3@example.com",
                "shop@example.com",
                "other@example.com",
                "combo@example.com"
            ]
        ),
        [true, false, true, false, true, true]
    );
    // A login combolist beside a CSV is not affected by --column either.
    let r = dir.cmd(&["build", "--kind", "password", "--column", "Backup", "-o", "p.ldx", "logins.txt"]).expect(0);
    assert!(summary_of(&r.stderr, "logins.txt").0.contains("[combo, none]"), "{}", r.stderr);
    assert_eq!(exposed(&dir, "p.ldx", &["hunter2", "pw"]), [true, true]);
    // A CSV input with none of the asked columns: an error that names it and its columns.
    let r = dir.cmd(&["build", "--strict", "--column", "Nope", "-o", "y.ldx", "a.csv"]).expect(2);
    assert!(
        r.stderr.contains("a.csv")
            && r.stderr.contains("(\"Nope\")")
            && r.stderr.contains("\"Name\", \"E-mail Address\", \"E-mail 2 Address\", \"Backup\""),
        "{}",
        r.stderr
    );
}

#[test]
fn csv_with_a_stray_quote_in_an_unquoted_field_loses_no_record() {
    let dir = Dir::new();
    // Over 2 MiB, so the framer must cut it; one unquoted field holds a lone quote.
    let mut csv = String::from("id,name,email\n1,Pat O\"Neil,pat@example.com\n");
    let n = 60_000;
    for i in 2..n {
        csv.push_str(&format!("{i},Person Number {i},person{i}@example.org\n"));
    }
    assert!(csv.len() > 2 << 20);
    dir.write("big.csv", &csv);
    let r = dir.cmd(&["build", "-o", "x.ldx", "big.csv"]).expect(0);
    let (line, _) = summary_of(&r.stderr, "big.csv");
    assert!(line.contains(&format!("{n} lines  {} records  0 rejected", n - 1)), "{line}");
    let last = format!("person{}@example.org", n - 1);
    assert_eq!(exposed(&dir, "x.ldx", &["pat@example.com", "person2@example.org", &last]), [true, true, true]);
}
