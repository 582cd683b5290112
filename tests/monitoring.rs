//! Issue 12, monitoring: `build --previous`, `diff` and `bulk --since` on three weekly builds
//! of a growing corpus. A Python generator writes the corpus and computes, from its own sets
//! (never through leakdex), what each comparison must find.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::util::{json_lines, Dir};

/// Writes week1/, week2/, week3/ and staff.csv; prints the expected answers as JSON.
///
/// - week 1: `forum` (combolist, some addresses in mixed case) and `shop` (CSV);
/// - week 2: the same two files unchanged, and a new source `chat` (plain list) listed first
///   on the command line (so source ids move), holding new addresses and old ones;
/// - week 3: the same three, with addresses appended to `forum`.
///
/// Addresses are ASCII, so their normalized form is Python's `lower()`.
const GENERATOR: &str = r#"
import json, os, random
rng = random.Random(12)
domains = ['example.com', 'example.org', 'example.net', 'corp.example', 'mail.test']
def addr(i):
    local = rng.choice(['user{}', 'first.last{}', "o'neil{}", 'x_{}', 'dept-{}', 'tag+{}'])
    return local.format(i) + '@' + rng.choice(domains)
universe = [addr(i) for i in range(600)]
def shout(a):
    return a.upper() if rng.random() < 0.2 else a
forum1 = rng.sample(universe[:300], 120)
shop = rng.sample(universe[:300], 90)
chat = rng.sample(universe[:300], 40) + rng.sample(universe[300:450], 60)
forum3_extra = [a for a in rng.sample(universe[250:600], 80) if a not in forum1]
os.makedirs('week1'); os.makedirs('week2'); os.makedirs('week3')
forum1_lines = ['{}:pw{}!x'.format(shout(a), n) for n, a in enumerate(forum1)]
extra_lines = ['{}:secret{}'.format(shout(a), n) for n, a in enumerate(forum3_extra)]
shop_text = 'email,name\n' + ''.join('{},Name {}\n'.format(shout(a), n) for n, a in enumerate(shop))
chat_text = ''.join(shout(a) + '\n' for a in chat)
for w in ('week1', 'week2', 'week3'):
    lines = forum1_lines + (extra_lines if w == 'week3' else [])
    open(w + '/forum.txt', 'w').write('\n'.join(lines) + '\n')
    open(w + '/shop.csv', 'w').write(shop_text)
    if w != 'week1':
        open(w + '/chat.txt', 'w').write(chat_text)
low = lambda xs: set(a.lower() for a in xs)
weeks = {
    1: {'forum': low(forum1), 'shop': low(shop)},
    2: {'chat': low(chat), 'forum': low(forum1), 'shop': low(shop)},
    3: {'chat': low(chat), 'forum': low(forum1 + forum3_extra), 'shop': low(shop)},
}
def holders(w, a):
    return sorted(s for s, xs in weeks[w].items() if a in xs)
def keys(w):
    return set().union(*weeks[w].values())
# Staff: some of everything, in mixed case, and people never exposed.
staff = rng.sample(universe, 260) + ['nobody{}@example.com'.format(i) for i in range(5)]
open('staff.csv', 'w').write('name,email\n' + ''.join('P {},{}\n'.format(n, shout(a)) for n, a in enumerate(staff)))
out = {'diff': {}, 'since': {}, 'holders': {}}
for old, new in ((1, 2), (2, 3)):
    ko, kn = keys(old), keys(new)
    kept = ko & kn
    gained = [a for a in kept if set(holders(new, a)) - set(holders(old, a))]
    per_source = {s: len([a for a in xs if a not in weeks[old].get(s, set())]) for s, xs in weeks[new].items()}
    out['diff']['{}-{}'.format(old, new)] = {
        'added': len(kn - ko), 'removed': len(ko - kn), 'kept': len(kept), 'gained_source': len(gained),
        'old': len(ko), 'new': len(kn),
        'sources_added': sorted(set(weeks[new]) - set(weeks[old])),
        'per_source': per_source,
    }
    rows = {}
    for n, a in enumerate(staff):
        a = a.lower()
        hn, ho = holders(new, a), holders(old, a)
        if not hn:
            continue
        if not ho:
            rows[a] = {'why': 'new', 'new_sources': []}
        elif set(hn) - set(ho):
            rows[a] = {'why': 'new source', 'new_sources': sorted(set(hn) - set(ho))}
    out['since']['{}-{}'.format(old, new)] = rows
for w in (1, 2, 3):
    out['holders'][str(w)] = {a.lower(): holders(w, a.lower()) for a in staff if holders(w, a.lower())}
print(json.dumps(out))
"#;

fn generate(dir: &Dir) -> Value {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(GENERATOR)
        .current_dir(dir.root())
        .output()
        .expect("python3 is needed for this test (it writes the corpus)");
    assert!(out.status.success(), "the corpus generator failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the generator prints JSON")
}

/// Builds the three weeks, each with `--previous` the week before; returns each week's
/// `info --json` metadata. Builds are a second apart, so that their dates differ.
fn build_weeks(dir: &Dir) -> Vec<Value> {
    let mut metas = Vec::new();
    for w in 1..=3 {
        if w > 1 {
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        let out = format!("week{w}.ldx");
        let prev = format!("week{}.ldx", w - 1);
        let mut args = vec!["build".to_string(), "-o".into(), out.clone()];
        if w > 1 {
            args.extend(["--previous".into(), prev.clone()]);
            args.push(format!("week{w}/chat.txt"));
        }
        args.extend([format!("week{w}/forum.txt"), format!("week{w}/shop.csv")]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = dir.cmd(&args).expect(0);
        // The summary names the sources that are new since the previous index.
        match w {
            1 => assert!(!r.stderr.contains("new sources since"), "{}", r.stderr),
            2 => assert!(r.stderr.contains("new sources since week1.ldx: 1: chat"), "{}", r.stderr),
            _ => assert!(r.stderr.contains("new sources since week2.ldx: none"), "{}", r.stderr),
        }
        let info = dir.cmd(&["info", "--json", "-i", &out]).expect(0);
        metas.push(serde_json::from_str::<Value>(&info.stdout).unwrap()["meta"].clone());
    }
    metas
}

fn first_seen_by_source(meta: &Value) -> BTreeMap<String, String> {
    meta["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["first_seen"].as_str().unwrap().to_string()))
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

#[test]
fn weekly_builds_keep_first_seen_and_diff_counts_equal_the_generators_set_differences() {
    let dir = Dir::new();
    let want = generate(&dir);
    let metas = build_weeks(&dir);
    let built: Vec<&str> = metas.iter().map(|m| m["built_at"].as_str().unwrap()).collect();
    assert!(built[0] < built[1] && built[1] < built[2], "builds a second apart: {built:?}");
    // first_seen: forum and shop since week 1, chat since week 2, in every later week.
    for (w, meta) in metas.iter().enumerate() {
        let fs = first_seen_by_source(meta);
        assert_eq!(fs["forum"], built[0], "week {}", w + 1);
        assert_eq!(fs["shop"], built[0], "week {}", w + 1);
        if w > 0 {
            assert_eq!(fs["chat"], built[1], "week {}", w + 1);
        }
    }
    for (old, new) in [(1, 2), (2, 3)] {
        let w = &want["diff"][format!("{old}-{new}")];
        let r = dir.cmd(&["diff", "--format", "json", &format!("week{old}.ldx"), &format!("week{new}.ldx")]).expect(1);
        let got: Value = serde_json::from_str(&r.stdout).unwrap();
        for field in ["added", "removed", "kept", "gained_source", "old", "new"] {
            assert_eq!(got["entries"][field], w[field], "{old}-{new}: entries {field}");
        }
        let added: Vec<String> =
            got["sources"]["added"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().into()).collect();
        assert_eq!(added, strs(&w["sources_added"]), "{old}-{new}: sources added");
        assert_eq!(got["sources"]["removed"].as_array().unwrap().len(), 0);
        for s in got["entries"]["new_in_source"].as_array().unwrap() {
            let name = s["name"].as_str().unwrap();
            assert_eq!(s["entries"], w["per_source"][name], "{old}-{new}: new in {name}");
        }
        assert_eq!(got["has_additions"], true);
        // The table says the same numbers.
        let t = dir.cmd(&["diff", &format!("week{old}.ldx"), &format!("week{new}.ldx")]).expect(1);
        let line = format!(
            "entries: {} -> {}: {} added, {} removed, {} kept ({} of them",
            w["old"], w["new"], w["added"], w["removed"], w["kept"], w["gained_source"]
        );
        assert!(t.stdout.contains(&line), "{line}\n{}", t.stdout);
    }
    // Week 2 to 3 changed forum (grew), added no source; the table says so.
    let t = dir.cmd(&["diff", "week2.ldx", "week3.ldx"]).expect(1);
    assert!(t.stdout.contains("sources added: 0") && t.stdout.contains("~ forum  unique"), "{}", t.stdout);
    // Backwards: nothing added, everything that was added is removed: exit 0.
    let back = dir.cmd(&["diff", "--format", "json", "week3.ldx", "week2.ldx"]).expect(0);
    assert!(back.stderr.contains("are the two swapped?"), "{}", back.stderr);
    let got: Value = serde_json::from_str(&back.stdout).unwrap();
    assert_eq!(got["entries"]["removed"], want["diff"]["2-3"]["added"]);
    assert_eq!(got["entries"]["added"], 0);
}

/// `bulk --format json --since OLD` rows by normalized address.
fn since_rows(dir: &Dir, old: u32, new: u32) -> (BTreeMap<String, Value>, String) {
    let r = dir
        .cmd(&[
            "bulk",
            "--format",
            "json",
            "-i",
            &format!("week{new}.ldx"),
            "--since",
            &format!("week{old}.ldx"),
            "staff.csv",
        ])
        .expect(1);
    let rows = json_lines(&r.stdout).into_iter().map(|v| (v["email"].as_str().unwrap().to_string(), v)).collect();
    (rows, r.stderr)
}

#[test]
fn bulk_since_lists_exactly_the_newly_exposed_staff_and_why() {
    let dir = Dir::new();
    let want = generate(&dir);
    let metas = build_weeks(&dir);
    let built: Vec<&str> = metas.iter().map(|m| m["built_at"].as_str().unwrap()).collect();
    for (old, new) in [(1u32, 2u32), (2, 3)] {
        let expected = want["since"][format!("{old}-{new}")].as_object().unwrap();
        let (rows, stderr) = since_rows(&dir, old, new);
        assert_eq!(
            rows.keys().collect::<BTreeSet<_>>(),
            expected.keys().collect::<BTreeSet<_>>(),
            "week {old} to {new}: the rows reported"
        );
        let (mut first, mut source) = (0, 0);
        for (addr, row) in &rows {
            let e = &expected[addr];
            assert_eq!(row["exposed"], true);
            if e["why"] == "new" {
                first += 1;
                assert_eq!(row["why"], "new", "{addr}");
                assert!(row.get("new_sources").is_none());
            } else {
                source += 1;
                let mut got = strs(&row["new_sources"]);
                got.sort();
                assert_eq!(got, strs(&e["new_sources"]), "{addr}");
                assert_eq!(
                    row["why"].as_str().unwrap(),
                    format!("new source: {}", strs(&row["new_sources"]).join(", "))
                );
            }
            // first_seen: the earliest first_seen of the sources that held it (in the older
            // index when it was exposed there).
            let held_then = strs(&want["holders"][old.to_string()][addr]);
            let held = if held_then.is_empty() { strs(&want["holders"][new.to_string()][addr]) } else { held_then };
            let want_first = if held.iter().any(|s| s != "chat") { built[0] } else { built[1] };
            assert_eq!(row["first_seen"], want_first, "{addr}");
        }
        assert!(first > 0 && (old == 2 || source > 0), "the generator gives both kinds: {first} {source}");
        assert!(
            stderr.contains(&format!(
                "new since week{old}.ldx: {} ({first} newly exposed, {source} exposed in a new source)",
                first + source
            )),
            "{stderr}"
        );
    }
    // The table and CSV carry the reason too.
    let t = dir.cmd(&["bulk", "-i", "week2.ldx", "--since", "week1.ldx", "staff.csv"]).expect(1);
    assert!(t.stdout.contains("[new source: chat]") && t.stdout.contains("[new] "), "{}", t.stdout);
    let c = dir.cmd(&["bulk", "--format", "csv", "-i", "week2.ldx", "--since", "week1.ldx", "staff.csv"]).expect(1);
    assert!(c.stdout.lines().next().unwrap().ends_with(",first_seen,why"), "{}", c.stdout);
    assert_eq!(c.stdout.lines().count() - 1, want["since"]["1-2"].as_object().unwrap().len());
}

#[test]
fn bulk_since_exits_0_when_nothing_is_new_though_staff_are_exposed() {
    let dir = Dir::new();
    generate(&dir);
    dir.cmd(&["build", "-q", "-o", "a.ldx", "week3/chat.txt", "week3/forum.txt", "week3/shop.csv"]).expect(0);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // The same corpus again a second later, sources in another order: nothing is new.
    dir.cmd(&[
        "build",
        "-q",
        "-o",
        "b.ldx",
        "--previous",
        "a.ldx",
        "week3/shop.csv",
        "week3/forum.txt",
        "week3/chat.txt",
    ])
    .expect(0);
    let r = dir.cmd(&["bulk", "-i", "b.ldx", "--since", "a.ldx", "staff.csv"]).expect(0);
    assert!(r.stdout.lines().count() == 1, "only the header: {}", r.stdout);
    assert!(r.stderr.contains("new since a.ldx: 0 (0 newly exposed, 0 exposed in a new source)"), "{}", r.stderr);
    let exposed: u64 = r.stderr.split("exposed ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(exposed > 0, "{}", r.stderr);
    // A row that holds no address is never checked: under --since too it is said, not dropped.
    let first = r.stdout.lines().count(); // header only
    assert_eq!(first, 1);
    let chat = std::fs::read_to_string(dir.path("week3/chat.txt")).unwrap();
    dir.write("mixed.txt", format!("not an address\n{}", chat.lines().next().unwrap()));
    let r = dir.cmd(&["bulk", "-i", "b.ldx", "--since", "a.ldx", "mixed.txt"]).expect(0);
    assert!(
        r.stderr.contains("warning: 1 row(s) of mixed.txt hold no valid email and were not checked"),
        "{}",
        r.stderr
    );
    // Without --since the same run exits 1; diff exits 0 and says nothing was added.
    dir.cmd(&["bulk", "-i", "b.ldx", "staff.csv"]).expect(1);
    let d = dir.cmd(&["diff", "a.ldx", "b.ldx"]).expect(0);
    assert!(d.stdout.contains(" 0 added, 0 removed,") && d.stdout.contains("sources added: 0"), "{}", d.stdout);
    // first_seen of b's sources are a's (carried by name), though the ids moved.
    let info: Value = serde_json::from_str(&dir.cmd(&["info", "--json", "-i", "b.ldx"]).expect(0).stdout).unwrap();
    let a: Value = serde_json::from_str(&dir.cmd(&["info", "--json", "-i", "a.ldx"]).expect(0).stdout).unwrap();
    assert_ne!(info["meta"]["built_at"], a["meta"]["built_at"]);
    for (name, date) in first_seen_by_source(&info["meta"]) {
        assert_eq!(date, a["meta"]["built_at"].as_str().unwrap(), "{name}");
    }
}

#[test]
fn diff_and_since_refuse_indexes_of_another_kind_or_the_same_file() {
    let dir = Dir::new();
    dir.write("staff.txt", "ann@example.com\nbob@example.org\n");
    dir.write("emails.txt", "ann@example.com\n");
    dir.write("pw.txt", "hunter2\ncorrect horse\n");
    dir.cmd(&["build", "-q", "-o", "e.ldx", "emails.txt"]).expect(0);
    dir.cmd(&["build", "-q", "--kind", "password", "--format", "plain", "-o", "p.ldx", "pw.txt"]).expect(0);
    let r = dir.cmd(&["diff", "p.ldx", "e.ldx"]).expect(2);
    assert!(
        r.stderr.contains("comparing p.ldx (older) with e.ldx (newer)")
            && r.stderr.contains("kind: password (older) against email (newer)"),
        "{}",
        r.stderr
    );
    let r = dir.cmd(&["bulk", "-i", "e.ldx", "--since", "p.ldx", "staff.txt"]).expect(2);
    assert!(r.stderr.contains("--since p.ldx") && r.stderr.contains("kind"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no row before the error: {}", r.stdout);
    // The index itself as --since would make nothing ever new: an error, not a quiet 0.
    let r = dir.cmd(&["bulk", "-i", "e.ldx", "--since", "e.ldx", "staff.txt"]).expect(2);
    assert!(r.stderr.contains("is the index -i e.ldx itself"), "{}", r.stderr);
    // A previous index of another kind is refused before anything is built.
    let r = dir.cmd(&["build", "-q", "-o", "e2.ldx", "--previous", "p.ldx", "emails.txt"]).expect(2);
    assert!(r.stderr.contains("--previous p.ldx is a password (SHA-1) index"), "{}", r.stderr);
    assert!(!dir.path("e2.ldx").exists());
    // --since needs a local index, not a range API.
    let r = dir.cmd(&["bulk", "--api", "http://127.0.0.1:9/", "--since", "e.ldx", "staff.txt"]).run();
    assert_eq!(r.status, Some(2), "{}", r.stderr);
}

#[test]
fn json_rows_carry_first_seen_without_since_and_an_older_index_falls_back_to_its_build_date() {
    let dir = Dir::new();
    dir.write("a.txt", "ann@example.com\ncy@example.net\n");
    dir.write("b.txt", "bob@example.org\nann@example.com\n");
    dir.write("staff.txt", "Ann@Example.com\nbob@example.org\nzed@example.com\n");
    dir.cmd(&["build", "-q", "-o", "one.ldx", "a.txt"]).expect(0);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    dir.cmd(&["build", "-q", "-o", "two.ldx", "--previous", "one.ldx", "a.txt", "b.txt"]).expect(0);
    let info: Value = serde_json::from_str(&dir.cmd(&["info", "--json", "-i", "two.ldx"]).expect(0).stdout).unwrap();
    let fs = first_seen_by_source(&info["meta"]);
    let r = dir.cmd(&["bulk", "--format", "json", "-i", "two.ldx", "staff.txt"]).expect(1);
    let rows = json_lines(&r.stdout);
    assert_eq!(rows[0]["first_seen"].as_str(), Some(fs["a"].as_str()), "ann: in a and b, a first");
    assert_eq!(rows[1]["first_seen"].as_str(), Some(fs["b"].as_str()), "bob: in b only");
    assert!(rows[2].get("first_seen").is_none(), "zed is clean");
    assert!(fs["a"] < fs["b"]);
    // check's JSON rows too.
    let c = dir.cmd(&["check", "--format", "json", "-i", "two.ldx", "bob@example.org"]).expect(1);
    assert_eq!(json_lines(&c.stdout)[0]["first_seen"].as_str(), Some(fs["b"].as_str()));

    // An index written before first_seen (the version-1 fixture, built 2026-11-26T17:31:45Z):
    // its sources were first seen when it was built, in rows and in a build that follows it.
    let v1 = crate::util::repo("tests/fixtures/v1-email.ldx");
    let r = dir.cmd(&["check", "--format", "json", "-i", &v1, "bob@example.org"]).expect(1);
    assert_eq!(json_lines(&r.stdout)[0]["first_seen"], "2026-11-26T17:31:45Z");
    dir.cmd(&["build", "-q", "-o", "next.ldx", "--previous", &v1, "v1-email=a.txt", "b.txt"]).expect(0);
    let info: Value = serde_json::from_str(&dir.cmd(&["info", "--json", "-i", "next.ldx"]).expect(0).stdout).unwrap();
    let fs = first_seen_by_source(&info["meta"]);
    assert_eq!(fs["v1-email"], "2026-11-26T17:31:45Z");
    assert_eq!(fs["b"], info["meta"]["built_at"].as_str().unwrap());
    // But its keys were made under normalization policy 1: no comparison with a policy-3 index.
    let r = dir.cmd(&["bulk", "-i", "next.ldx", "--since", &v1, "staff.txt"]).expect(2);
    assert!(r.stderr.contains("normalization policy: 1 (older) against 3 (newer)"), "{}", r.stderr);
}
