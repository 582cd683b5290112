//! Normalization policy 2 and free-text extraction through the real binary (issue 9:
//! "Normalization holes" and "Truncated to someone else").

use std::collections::BTreeMap;

use crate::util::{json_lines, repo, Dir};

/// `bulk --format json` rows keyed by input, exposed or not.
fn exposure(dir: &Dir, index: &str, staff: &[&str]) -> BTreeMap<String, bool> {
    let list = dir.write("staff.txt", staff.join("\n") + "\n");
    let r = dir.cmd(&["bulk", "-i", index, "--format", "json", list.to_str().unwrap()]).run();
    json_lines(&r.stdout)
        .into_iter()
        .map(|v| (v["input"].as_str().unwrap().to_string(), v["exposed"].as_bool().unwrap_or(false)))
        .collect()
}

fn exposed(rows: &BTreeMap<String, bool>) -> Vec<&str> {
    rows.iter().filter(|(_, &e)| e).map(|(k, _)| k.as_str()).collect()
}

#[test]
fn decomposed_nfd_addresses_in_a_leak_match_composed_staff_entries() {
    let dir = Dir::new();
    // NFD forms written out by hand (python3: unicodedata.normalize("NFD", s)).
    dir.write(
        "leak.txt",
        "Jose\u{301}@example.com\n\
         Nguye\u{302}\u{303}n.Thi\u{323}@example.vn\n\
         \u{1112}\u{1161}\u{11ab}\u{1100}\u{1173}\u{11af}@example.kr\n\
         \u{304b}\u{3099}\u{3044}\u{3053}@example.jp\n\
         Zoe\u{308}@example.org\n",
    );
    dir.cmd(&["build", "-q", "-o", "x.ldx", "leak.txt"]).expect(0);
    let staff = [
        "jos\u{e9}@example.com",
        "nguy\u{1ec5}n.th\u{1ecb}@example.vn",
        "\u{d55c}\u{ae00}@example.kr",
        "\u{304c}\u{3044}\u{3053}@example.jp",
        "zo\u{eb}@example.org",
        "jose@example.com",
        "zoe@example.org",
    ];
    let rows = exposure(&dir, "x.ldx", &staff);
    assert_eq!(rows.len(), staff.len());
    let mut want = staff[..5].to_vec();
    want.sort();
    assert_eq!(exposed(&rows), want);

    // And the other way round: a composed leak, a decomposed staff list.
    dir.write("leak2.txt", "jos\u{e9}@example.com\n\u{d55c}\u{ae00}@example.kr\n");
    dir.cmd(&["build", "-q", "-o", "y.ldx", "leak2.txt"]).expect(0);
    let rows = exposure(
        &dir,
        "y.ldx",
        &["Jose\u{301}@example.com", "\u{1112}\u{1161}\u{11ab}\u{1100}\u{1173}\u{11af}@example.kr"],
    );
    assert_eq!(rows.values().filter(|&&e| e).count(), 2, "{rows:?}");
}

#[test]
fn zero_width_and_bom_characters_are_stripped_at_the_ends_and_counted_inside() {
    let dir = Dir::new();
    // `cat a.txt b.txt` of two files that each start with a BOM, then invisible characters
    // around and inside addresses.
    let mut leak = b"\xEF\xBB\xBFalice@example.com\n\xEF\xBB\xBFbob@example.org\n".to_vec();
    leak.extend_from_slice(
        "carol@example.net\u{200b}\n\u{2060}dave@example.com\u{ad}\n\u{200e}erin@example.org\u{200f}\n\
         ann\u{200b}marie@example.org\nfr\u{ad}ank@example.com\ngus\u{feff}@example.net\n"
            .as_bytes(),
    );
    dir.write("leak.txt", leak);
    let r = dir.cmd(&["build", "-o", "x.ldx", "leak.txt"]).expect(0);
    assert!(r.stderr.contains("invisible format character inside the address: 3"), "{}", r.stderr);
    assert!(!r.stderr.contains("marie@"), "a rejected address was echoed: {}", r.stderr);
    let staff = [
        "alice@example.com",
        "bob@example.org",
        "carol@example.net",
        "dave@example.com",
        "erin@example.org",
        "annmarie@example.org",
        "marie@example.org",
        "frank@example.com",
        "gus@example.net",
    ];
    let rows = exposure(&dir, "x.ldx", &staff);
    assert_eq!(rows.len(), staff.len());
    let mut want = staff[..5].to_vec();
    want.sort();
    assert_eq!(exposed(&rows), want);

    // In free text, they end a candidate at its edge and make a glued one unreadable.
    dir.write("notes.log", "hi \u{200b}henry@example.com\u{200b} and ir\u{200b}ene@example.org\n");
    dir.cmd(&["build", "-q", "-o", "t.ldx", "--format", "text", "notes.log"]).expect(0);
    let rows = exposure(&dir, "t.ldx", &["henry@example.com", "ene@example.org", "irene@example.org"]);
    assert_eq!(exposed(&rows), ["henry@example.com"]);
}

#[test]
fn a_trailing_ideographic_full_stop_and_a_leading_vertical_tab_are_accepted() {
    let dir = Dir::new();
    dir.write(
        "leak.txt",
        "ivan@example.com\u{3002}\njun@example.jp\u{ff0e}\n\x0bkim@example.org\n\x0c\x0blee@example.net \n",
    );
    let r = dir.cmd(&["build", "-o", "x.ldx", "leak.txt"]).expect(0);
    assert!(r.stderr.contains("4 lines  4 records  0 rejected"), "{}", r.stderr);
    let staff = ["ivan@example.com", "jun@example.jp", "kim@example.org", "lee@example.net"];
    let rows = exposure(&dir, "x.ldx", &staff);
    assert_eq!(exposed(&rows), staff.to_vec());
}

#[test]
fn free_text_never_indexes_a_shortened_address_of_someone_else() {
    let dir = Dir::new();
    dir.write(
        "mail.log",
        "From: <o'brien@example.com>\n\
         routing sales=eu@example.com to the team\n\
         home dir first/last@example.com\n\
         profile https://host.example.com/u/tina@example.com\n\
         link https://host.example.com/profile/uma@example.org?x=1\n\
         login user=victor@example.net ok\n\
         quoted 'wendy@example.com' and \u{2018}xena@example.org\u{2019}\n",
    );
    dir.cmd(&["build", "-q", "-o", "x.ldx", "--format", "text", "mail.log"]).expect(0);
    let real = [
        "o'brien@example.com",
        "sales=eu@example.com",
        "first/last@example.com",
        "tina@example.com",
        "uma@example.org",
        "victor@example.net",
        "wendy@example.com",
        "xena@example.org",
    ];
    let others =
        ["brien@example.com", "eu@example.com", "last@example.com", "user=victor@example.net", "'wendy@example.com"];
    let staff: Vec<&str> = real.iter().chain(others.iter()).copied().collect();
    let rows = exposure(&dir, "x.ldx", &staff);
    assert_eq!(rows.len(), staff.len());
    let mut want = real.to_vec();
    want.sort();
    assert_eq!(exposed(&rows), want);
}

#[test]
fn an_index_built_with_policy_1_still_opens_and_says_to_rebuild() {
    let dir = Dir::new();
    let old = repo("tests/fixtures/v1-email.ldx");
    let r = dir.cmd(&["info", "-i", &old]).expect(0);
    assert!(r.stdout.contains("(normalization policy 1)"), "{}", r.stdout);
    let r = dir.cmd(&["check", "-i", &old, "alice@example.com"]).expect(1);
    let warnings: Vec<&str> = r.stderr.lines().filter(|l| l.contains("normalization policy 1")).collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(warnings[0].starts_with("warning:") && warnings[0].contains("rebuild"), "{}", r.stderr);
    let staff = dir.write("staff.txt", "bob@example.org\nnobody@example.com\n");
    let r = dir.cmd(&["bulk", "-i", &old, staff.to_str().unwrap()]).run();
    assert_eq!(r.stderr.lines().filter(|l| l.contains("normalization policy 1")).count(), 1, "{}", r.stderr);

    // A fresh index records policy 3 and gives no warning.
    dir.write("leak.txt", "alice@example.com\n");
    dir.cmd(&["build", "-q", "-o", "new.ldx", "leak.txt"]).expect(0);
    let r = dir.cmd(&["info", "-i", "new.ldx"]).expect(0);
    assert!(r.stdout.contains("(normalization policy 3)"), "{}", r.stdout);
    let r = dir.cmd(&["check", "-i", "new.ldx", "alice@example.com"]).expect(1);
    assert!(!r.stderr.contains("policy"), "{}", r.stderr);
}
