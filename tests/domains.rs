//! Domain search: per-domain figures equal what the corpus generator counts itself
//! (tests/fixtures/domains/gen.py), `--own-domain` keeps exactly that domain's addresses and
//! nothing else in plaintext, and `bulk --unlisted` lists who the staff list misses.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::util::{json_lines, repo, Dir};

/// Writes the generator's corpus into `dir/corpus` and returns what it expects.
fn generate(dir: &Dir, seed: u32) -> Value {
    std::fs::create_dir_all(dir.path("corpus")).unwrap();
    let out = std::process::Command::new("python3")
        .arg(repo("tests/fixtures/domains/gen.py"))
        .arg(dir.path("corpus"))
        .arg(seed.to_string())
        .output()
        .expect("python3 runs the generator");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn build(dir: &Dir, out: &str, extra: &[&str]) {
    let mut args = vec!["build", "-q", "-o", out];
    args.extend_from_slice(extra);
    args.extend(["corpus/forum.txt", "corpus/shop.csv", "corpus/paste.txt"]);
    dir.cmd(&args).expect(0);
}

/// `leakdex domain --format json` rows, by domain.
fn domain_json(dir: &Dir, index: &str, domains: &[&str], subdomains: bool, code: i32) -> Vec<Value> {
    let mut args = vec!["domain", "-i", index, "--format", "json"];
    if subdomains {
        args.push("--subdomains");
    }
    args.extend_from_slice(domains);
    json_lines(&dir.cmd(&args).expect(code).stdout)
}

/// A row's figures in the generator's shape: (addresses, occurrences, {source: [distinct, occ]}).
fn figures(row: &Value) -> (u64, u64, BTreeMap<String, (u64, u64)>) {
    let sources = row["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                (s["addresses"].as_u64().unwrap(), s["occurrences"].as_u64().unwrap()),
            )
        })
        .collect();
    (row["addresses"].as_u64().unwrap(), row["occurrences"].as_u64().unwrap(), sources)
}

fn expected(f: &Value) -> (u64, u64, BTreeMap<String, (u64, u64)>) {
    let sources = f["sources"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), (v[0].as_u64().unwrap(), v[1].as_u64().unwrap())))
        .collect();
    (f["addresses"].as_u64().unwrap(), f["occurrences"].as_u64().unwrap(), sources)
}

#[test]
fn domain_figures_equal_the_generators_own_counts_with_and_without_subdomains() {
    for seed in [12, 99] {
        let dir = Dir::new();
        let want = generate(&dir, seed);
        build(&dir, "x.ldx", &[]);
        dir.cmd(&["verify", "-i", "x.ldx"]).expect(0);
        let domains: Vec<&str> = want["domains"].as_object().unwrap().keys().map(String::as_str).collect();
        assert!(domains.contains(&"dept.example.com"), "a parent with no address of its own is asked too");
        for (subdomains, which) in [(false, "own"), (true, "rolled")] {
            let rows = domain_json(&dir, "x.ldx", &domains, subdomains, 1);
            assert_eq!(rows.len(), domains.len());
            for (row, d) in rows.iter().zip(&domains) {
                assert_eq!(row["domain"], *d);
                assert_eq!(figures(row), expected(&want["domains"][d][which]), "seed {seed}, {d}, {which}");
                assert_eq!(row["exposed"], row["addresses"].as_u64().unwrap() > 0);
                assert_eq!(row["owned"], false);
            }
        }
        // A domain with no address is 0 and exit 0, not an error.
        let rows = domain_json(&dir, "x.ldx", &["absent.example.org"], true, 0);
        assert_eq!((rows[0]["addresses"].as_u64(), rows[0]["exposed"].as_bool()), (Some(0), Some(false)));
    }
}

#[test]
fn an_internationalized_domain_is_found_in_its_unicode_and_punycode_forms() {
    let dir = Dir::new();
    let want = generate(&dir, 12);
    build(&dir, "x.ldx", &[]);
    let (unicode, ascii) = (want["idn"][0].as_str().unwrap(), want["idn"][1].as_str().unwrap());
    assert_eq!(ascii, "xn--mnchen-3ya.example");
    let upper = unicode.to_uppercase();
    let rows = domain_json(&dir, "x.ldx", &[unicode, ascii, &upper], false, 1);
    for row in &rows {
        assert_eq!(row["domain"], ascii);
        // Each address counts once, not once more for the Unicode-form key it is also indexed under.
        assert_eq!(figures(row), expected(&want["domains"][ascii]["own"]));
    }
}

#[test]
fn own_domain_lists_exactly_that_domains_addresses_and_no_other_plaintext() {
    let dir = Dir::new();
    let want = generate(&dir, 12);
    build(&dir, "own.ldx", &["--own-domain", "Example.COM"]);
    dir.cmd(&["verify", "-i", "own.ldx"]).expect(0);
    let addrs = |d: &str| -> BTreeSet<String> {
        want["addresses"][d]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let list = |row: &Value| -> BTreeSet<String> {
        row["exposed_addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["address"].as_str().unwrap().to_string())
            .collect()
    };
    let rows = domain_json(&dir, "own.ldx", &["example.com", "hr.example.com"], false, 1);
    assert_eq!(rows[0]["owned"], true);
    assert_eq!(list(&rows[0]), addrs("example.com"));
    assert_eq!(list(&rows[1]), addrs("hr.example.com"));
    let rows = domain_json(&dir, "own.ldx", &["example.com"], true, 1);
    let mut all = addrs("example.com");
    all.extend(addrs("hr.example.com"));
    all.extend(addrs("it.dept.example.com"));
    assert_eq!(list(&rows[0]), all);
    // Each listed address says where it was found, by provenance, and with which sources.
    for a in rows[0]["exposed_addresses"].as_array().unwrap() {
        let found: Vec<&str> = a["found_in"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let names: Vec<&str> = a["sources"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert!(!found.is_empty() && found.iter().all(|f| names.contains(f)), "{a}");
        let occ: u64 = a["sources"].as_array().unwrap().iter().map(|s| s["occurrences"].as_u64().unwrap()).sum();
        assert_eq!(a["occurrences"].as_u64(), Some(occ));
    }
    // Another domain: figures, no list.
    let rows = domain_json(&dir, "own.ldx", &["example.org"], false, 1);
    assert_eq!((rows[0]["owned"].as_bool(), rows[0].get("exposed_addresses")), (Some(false), None));

    // No local part of a non-owned address is anywhere in the file; owned ones are.
    let bytes = std::fs::read(dir.path("own.ldx")).unwrap();
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    for d in ["example.org", "mail.example.net", "xn--mnchen-3ya.example", "shop.test"] {
        for a in addrs(d) {
            let local = a.split('@').next().unwrap();
            assert!(!contains(local), "{a} of non-owned {d} is in the index in plaintext");
        }
    }
    assert!(addrs("hr.example.com").iter().all(|a| contains(a)));
    // Without --own-domain, no address at all.
    build(&dir, "plain.ldx", &[]);
    let bytes = std::fs::read(dir.path("plain.ldx")).unwrap();
    assert!(!addrs("example.com").iter().any(|a| bytes.windows(a.len()).any(|w| w == a.as_bytes())));

    // info says what is stored in plaintext; the file is readable by its owner only.
    let r = dir.cmd(&["info", "-i", "own.ldx"]).expect(0);
    assert!(r.stdout.contains("PLAINTEXT addresses of example.com"), "{}", r.stdout);
    let v: Value = serde_json::from_str(&dir.cmd(&["info", "-i", "own.ldx", "--json"]).expect(0).stdout).unwrap();
    assert_eq!(v["owned_domains"], serde_json::json!(["example.com"]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path("own.ldx")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn own_domains_in_the_manifest_work_like_the_flag() {
    let dir = Dir::new();
    let want = generate(&dir, 99);
    dir.write(
        "sources.toml",
        "own_domains = [\"shop.test\"]\n\n[forum]\ntitle = \"Forum\"\nbreach_date = \"2020-01-02\"\n",
    );
    build(&dir, "m.ldx", &["--sources", "sources.toml"]);
    let rows = domain_json(&dir, "m.ldx", &["shop.test"], false, 1);
    let got: BTreeSet<&str> =
        rows[0]["exposed_addresses"].as_array().unwrap().iter().map(|a| a["address"].as_str().unwrap()).collect();
    let exp: BTreeSet<&str> =
        want["addresses"]["shop.test"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(got, exp);
    let forum = rows[0]["sources"].as_array().unwrap().iter().find(|s| s["name"] == "forum").unwrap();
    assert_eq!(forum["breach_date"], "2020-01-02");
    // An invalid owned domain stops the build, naming it.
    let r = dir.cmd(&["build", "-o", "bad.ldx", "--own-domain", "not a domain", "corpus/paste.txt"]).expect(2);
    assert!(r.stderr.contains("\"not a domain\""), "{}", r.stderr);
}

#[test]
fn invalid_domains_password_indexes_and_old_indexes_are_errors_that_say_why() {
    let dir = Dir::new();
    generate(&dir, 12);
    build(&dir, "x.ldx", &[]);
    let r = dir.cmd(&["domain", "-i", "x.ldx", "example.com", "localhost"]).expect(2);
    assert!(r.stderr.contains("\"localhost\" is not a domain"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "nothing printed before the error: {}", r.stdout);
    let r = dir.cmd(&["domain", "-i", &repo("tests/fixtures/v1-email.ldx"), "example.com"]).expect(2);
    assert!(r.stderr.contains("predates per-domain figures") && r.stderr.contains("rebuild"), "{}", r.stderr);
    dir.write("pw.txt", "hunter2\n");
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "pw.ldx", "pw.txt"]).expect(0);
    dir.cmd(&["verify", "-i", "pw.ldx"]).expect(0);
    let r = dir.cmd(&["domain", "-i", "pw.ldx", "example.com"]).expect(2);
    assert!(r.stderr.contains("password index has no domains"), "{}", r.stderr);
    // Table and CSV carry the same figures.
    let r = dir.cmd(&["domain", "-i", "x.ldx", "--format", "csv", "example.org"]).expect(1);
    let mut rdr = csv::Reader::from_reader(r.stdout.as_bytes());
    let recs: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let json = domain_json(&dir, "x.ldx", &["example.org"], false, 1);
    assert_eq!((&recs[0][1], &recs[0][5]), ("total", json[0]["addresses"].to_string().as_str()));
    let r = dir.cmd(&["domain", "-i", "x.ldx", "example.org", "absent.example.net"]).expect(1);
    assert!(r.stdout.contains("absent.example.net: not in the index (0 addresses)"), "{}", r.stdout);
}

#[test]
fn bulk_unlisted_lists_exposed_addresses_the_staff_list_misses() {
    let dir = Dir::new();
    let want = generate(&dir, 12);
    build(&dir, "own.ldx", &["--own-domain", "example.com"]);
    let all: Vec<String> = ["example.com", "hr.example.com", "it.dept.example.com"]
        .iter()
        .flat_map(|d| want["addresses"][*d].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()))
        .collect();
    // The staff list: half of them (one in upper case), and someone never exposed.
    let listed: Vec<String> = all.iter().step_by(2).cloned().collect();
    let mut staff = listed.iter().map(|a| format!("{a}\n")).collect::<String>();
    staff = staff.replacen(&listed[0], &listed[0].to_uppercase(), 1);
    staff.push_str("never.exposed@example.com\n");
    dir.write("staff.txt", &staff);
    let r = dir.cmd(&["bulk", "-i", "own.ldx", "--format", "json", "--unlisted", "example.com", "staff.txt"]).expect(1);
    let rows = json_lines(&r.stdout);
    let unlisted: BTreeSet<&str> =
        rows.iter().filter(|v| v["unlisted"] == true).map(|v| v["email"].as_str().unwrap()).collect();
    let want_unlisted: BTreeSet<&str> = all.iter().skip(1).step_by(2).map(String::as_str).collect();
    assert_eq!(unlisted, want_unlisted);
    assert_eq!(rows.iter().filter(|v| v.get("unlisted").is_none()).count(), listed.len() + 1);
    // Table: a section after the rows.
    let r = dir.cmd(&["bulk", "-i", "own.ldx", "--unlisted", "example.com", "staff.txt"]).expect(1);
    assert!(
        r.stdout.contains(&format!("unlisted: {} exposed address(es) of example.com", want_unlisted.len())),
        "{}",
        r.stdout
    );

    // A domain the index does not own: at least this many, and how to get the list.
    let org: Vec<&str> =
        want["addresses"]["example.org"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    dir.write("org.txt", format!("{}\n{}\n", org[0], org[1]));
    let r = dir.cmd(&["bulk", "-i", "own.ldx", "--unlisted", "example.org", "org.txt"]).expect(1);
    let n = want["domains"]["example.org"]["rolled"]["addresses"].as_u64().unwrap();
    assert!(
        r.stderr.contains(&format!("has {n} exposed address(es)"))
            && r.stderr.contains(&format!("at least {} unlisted", n - 2))
            && r.stderr.contains("--own-domain example.org"),
        "{}",
        r.stderr
    );
}

#[test]
fn domain_and_unlisted_warn_when_addresses_came_hashed_and_are_in_no_domains_figures() {
    let dir = Dir::new();
    // SHA-1 of ghost@example.com, kai@hr.example.org (hashed only) and amy@example.net (also
    // in plaintext below, so in the figures), computed with Python's hashlib.
    dir.write(
        "hashes.txt",
        "2fe65a9d1e133221bfe8944d74ccc99865a29b39\nC469B24ED7F060EE17CA2021976032AA79256EAD:3\n\
         42b82b007c43a9b910016e24312123b6b657abaf\n",
    );
    dir.write("plain.txt", "alice@example.com\namy@example.net\n");
    dir.cmd(&["build", "-q", "-o", "mix.ldx", "--own-domain", "example.org", "hashes.txt", "plain.txt"]).expect(0);
    // The hashed address of an owned domain is in neither the figures nor the listing: said.
    let r = dir.cmd(&["domain", "-i", "mix.ldx", "--subdomains", "example.org"]).expect(0);
    assert!(r.stdout.contains("example.org (with subdomains): not in the index"), "{}", r.stdout);
    assert!(
        r.stderr.contains("WARNING") && r.stderr.contains("2 address(es) of this index came hashed"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("lower bound"), "{}", r.stderr);
    let rows = domain_json(&dir, "mix.ldx", &["example.org"], true, 0);
    assert_eq!(rows[0]["index_addresses_without_domain"], 2);
    dir.write("staff.csv", "email\nnobody@example.org\n");
    let r = dir.cmd(&["bulk", "-i", "mix.ldx", "--unlisted", "example.org", "staff.csv"]).expect(0);
    assert!(r.stderr.contains("WARNING") && r.stderr.contains("2 address(es)"), "{}", r.stderr);
    // Plaintext only, an internationalized address among them (its Unicode-form key has no
    // domain either, but it did not come hashed): no warning.
    dir.write("idn.txt", "jos\u{e9}@b\u{fc}cher.example\nbob@example.com\n");
    dir.cmd(&["build", "-q", "-o", "plain.ldx", "idn.txt"]).expect(0);
    let r = dir.cmd(&["domain", "-i", "plain.ldx", "example.com", "b\u{fc}cher.example"]).expect(1);
    assert!(!r.stderr.contains("WARNING"), "{}", r.stderr);
}

#[test]
fn unlisted_count_does_not_subtract_staff_matches_that_came_hashed() {
    let dir = Dir::new();
    // ghost@example.com hashed (sha1 via hashlib), alice@example.com in plaintext: the
    // figures hold alice only; the staff list matches ghost, so alice may be unlisted.
    dir.write("hashes.txt", "2fe65a9d1e133221bfe8944d74ccc99865a29b39\n");
    dir.write("plain.txt", "alice@example.com\n");
    dir.cmd(&["build", "-q", "-o", "mix.ldx", "hashes.txt", "plain.txt"]).expect(0);
    dir.write("staff.csv", "email\nghost@example.com\n");
    let r = dir.cmd(&["bulk", "-i", "mix.ldx", "--unlisted", "example.com", "staff.csv"]).expect(1);
    assert!(r.stderr.contains("at least 0 and up to 1 unlisted"), "{}", r.stderr);
    assert!(r.stderr.contains("WARNING") && r.stderr.contains("1 address(es)"), "{}", r.stderr);
    // Without hash lines the count is exact as before: alice listed, nothing unlisted, exit 0.
    dir.write("plain2.txt", "alice@example.com\nbob@hr.example.com\n");
    dir.cmd(&["build", "-q", "-o", "plain.ldx", "plain2.txt"]).expect(0);
    dir.write("staff2.csv", "email\nalice@example.com\nbob@hr.example.com\n");
    let r = dir.cmd(&["bulk", "-i", "plain.ldx", "--unlisted", "example.com", "staff2.csv"]).expect(1);
    assert!(r.stderr.contains("matched 2: at least 0 unlisted"), "{}", r.stderr);
    assert!(!r.stderr.contains("WARNING"), "{}", r.stderr);
}

#[test]
fn own_domain_redacts_other_domains_addresses_in_file_names_before_storing_them() {
    let dir = Dir::new();
    dir.write("share/export-zed@partner.test-eve@other.example.txt", "x@example.com\n");
    dir.write("share/\u{30e6}\u{30fc}\u{30b6}@partner.test.csv", "email\ny@example.com\n");
    dir.write("share/amy@example.com list.txt", "z@example.com\n");
    dir.cmd(&["build", "-q", "-o", "idx.ldx", "--own-domain", "example.com", "share"]).expect(0);
    let bytes = std::fs::read(dir.path("idx.ldx")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    for secret in ["zed", "eve@", "partner.test-eve", "\u{30e6}\u{30fc}\u{30b6}"] {
        assert!(!text.contains(secret), "{secret:?} is stored in the index");
    }
    let rows = domain_json(&dir, "idx.ldx", &["example.com"], false, 1);
    let found: BTreeSet<String> = rows[0]["exposed_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["found_in"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()))
        .collect();
    let want: BTreeSet<String> = [
        "share/***@***@other.example.txt",
        "share/***@partner.test.csv",
        // An owned domain's address is kept, as the addresses themselves are.
        "share/amy@example.com list.txt",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(found, want);
}

#[test]
fn own_domain_refuses_a_public_suffix_or_a_single_label() {
    let dir = Dir::new();
    dir.write("dump.txt", "taro@example.co.jp\nhanako@other-company.co.jp\nana@example.com.br\n");
    for suffix in ["co.jp", "CO.JP.", "com.br", "github.io"] {
        let r = dir.cmd(&["build", "-q", "-o", "idx.ldx", "--own-domain", suffix, "dump.txt"]).expect(2);
        assert!(r.stderr.contains("is a public suffix") && r.stderr.contains("plaintext"), "{suffix}: {}", r.stderr);
        assert!(!dir.path("idx.ldx").exists(), "{suffix}: no index is written");
    }
    let r = dir.cmd(&["build", "-q", "-o", "idx.ldx", "--own-domain", "jp", "dump.txt"]).expect(2);
    assert!(r.stderr.contains("\"jp\""), "{}", r.stderr);
    // The organization's own domain under the suffix is accepted.
    dir.cmd(&["build", "-q", "-o", "idx.ldx", "--own-domain", "example.co.jp", "dump.txt"]).expect(0);
    let rows = domain_json(&dir, "idx.ldx", &["example.co.jp"], false, 1);
    assert_eq!(rows[0]["exposed_addresses"][0]["address"], "taro@example.co.jp");
    assert_eq!(rows[0]["exposed_addresses"].as_array().unwrap().len(), 1);
}

#[test]
fn mask_hides_unlisted_addresses_in_every_format_and_since_refuses_unlisted() {
    let dir = Dir::new();
    let want = generate(&dir, 5);
    build(&dir, "own.ldx", &["--own-domain", "example.com"]);
    let all: Vec<String> = ["example.com", "hr.example.com", "it.dept.example.com"]
        .iter()
        .flat_map(|d| want["addresses"][*d].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()))
        .collect();
    dir.write("staff.txt", format!("{}\n", all[0]));
    for format in ["table", "csv", "json"] {
        let args = [
            "bulk",
            "-i",
            "own.ldx",
            "--mask",
            "--format",
            format,
            "--unlisted",
            "example.com",
            "--unlisted",
            "EXAMPLE.com",
            "staff.txt",
        ];
        let r = dir.cmd(&args).expect(1);
        for a in &all {
            let local = a.split('@').next().unwrap();
            assert!(!r.stdout.contains(&format!("{local}@")), "{format}: {a} shown under --mask: {}", r.stdout);
        }
        // Every unlisted address is there, masked, once (the domain was asked twice).
        let unlisted_lines = r.stdout.lines().filter(|l| l.contains("***@")).count();
        assert!(unlisted_lines >= all.len() - 1, "{format}: {}", r.stdout);
        if format == "table" {
            assert_eq!(r.stdout.matches("unlisted:").count(), 1, "{}", r.stdout);
        }
        if format == "json" {
            let rolled = want["domains"]["example.com"]["rolled"]["addresses"].as_u64().unwrap() as usize;
            assert_eq!(json_lines(&r.stdout).iter().filter(|v| v["unlisted"] == true).count(), rolled - 1);
        }
    }
    // --since says only whether something is new; --unlisted would list the same every week.
    let r =
        dir.cmd(&["bulk", "-i", "own.ldx", "--since", "own.ldx", "--unlisted", "example.com", "staff.txt"]).expect(2);
    assert!(r.stderr.contains("--unlisted") && r.stderr.contains("--since"), "{}", r.stderr);
}
