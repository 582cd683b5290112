//! `bulk --format html`: the report rendered by a real browser (headless Chromium from the
//! distribution's packages, installed by `.ci/test`), its numbers against `--format json`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::demo_index;
use crate::util::{json_lines, repo, Dir};

/// The Chromium binary: `$LEAKDEX_CHROMIUM`, else `chromium` or `chromium-browser` on the PATH.
/// Absent, the test fails: CI installs it, and a skipped browser test would pass unseen.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("LEAKDEX_CHROMIUM") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "$LEAKDEX_CHROMIUM {} is not a file: point it at Chromium, or unset it", p.display());
        return p;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "Chromium not found (nor $LEAKDEX_CHROMIUM): the HTML report is tested in a real browser; \
         install it with `apt-get install -y chromium` (as .ci/test does)"
    );
}

/// What headless Chromium made of a page: the DOM after scripts ran, and its console lines.
struct Rendered {
    dom: String,
    console: Vec<String>,
}

/// Loads `url` (a file:// URL) in headless Chromium with a profile of its own under `dir`;
/// `screenshot` also saves a PNG there.
fn render(dir: &Dir, url: &str, screenshot: Option<&Path>) -> Rendered {
    let profile = dir.path("chromium-profile");
    let mut c = Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=3000",
        "--window-size=1200,2400",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    match screenshot {
        Some(png) => c.arg(format!("--screenshot={}", png.display())),
        None => c.arg("--dump-dom"),
    };
    let out = c.arg(url).output().expect("run chromium");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    Rendered {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        // Console messages (errors, CSP violations, uncaught exceptions) are logged as
        // `INFO:CONSOLE(...)` or `INFO:CONSOLE:N]`.
        console: stderr.lines().filter(|l| l.contains(":CONSOLE")).map(String::from).collect(),
    }
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// Text of an element serialized by the DOM: the references the serializer writes undone.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

/// The text inside the first element with `id="ID"`.
fn by_id(dom: &str, id: &str) -> String {
    let at = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no element #{id} in the DOM"));
    let start = at + dom[at..].find('>').unwrap() + 1;
    let end = start + dom[start..].find('<').unwrap();
    unescape(&dom[start..end])
}

/// The text of the `<td class="CLASS...">` cell in a row's markup.
fn cell(row: &str, class: &str) -> String {
    let at = row.find(&format!("<td class=\"{class}")).unwrap_or_else(|| panic!("no {class} cell in {row}"));
    let start = at + row[at..].find('>').unwrap() + 1;
    let end = start + row[start..].find("</td>").unwrap();
    unescape(&row[start..end])
}

/// One row of the people table as the browser shows it.
#[derive(Debug, PartialEq)]
struct Shown {
    line: u64,
    id: String,
    status: String,
    count: u64,
    sources: String,
    hidden: bool,
}

fn people(dom: &str) -> Vec<Shown> {
    let table = &dom[dom.find("<table id=\"people\"").expect("the people table")..];
    let body = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
    body.split("<tr ")
        .skip(1)
        .map(|row| {
            let count = cell(row, "num count");
            Shown {
                line: cell(row, "num line").parse().unwrap(),
                id: cell(row, "id"),
                status: cell(row, "status"),
                count: if count.is_empty() { 0 } else { count.parse().unwrap() },
                sources: cell(row, "sources"),
                hidden: row[..row.find('>').unwrap()].contains("hidden"),
            }
        })
        .collect()
}

/// Where the screenshot is kept: target/test-artifacts/ (not committed).
fn artifact(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn html_report_renders_in_chromium_with_the_numbers_of_the_json_rows() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    let staff = repo("data/staff.csv");
    let json = json_lines(&dir.cmd(&["bulk", "-i", &index, "--format", "json", &staff]).expect(1).stdout);
    let r = dir
        .cmd(&["bulk", "-i", &index, "--format", "html", "-o", "report.html", "--group-by", "department", &staff])
        .expect(1);
    assert_eq!(r.stdout, "", "the report goes to the file, nothing to standard output");
    let report = dir.path("report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    for scheme in ["http:", "https:", "//cdn", "src=\"//"] {
        assert!(!html.contains(scheme), "the report references {scheme}: it must need no network");
    }
    assert!(html.contains("default-src 'none'"), "a CSP forbids network");

    let page = render(&dir, &file_url(&report), None);
    assert_eq!(page.console, Vec::<String>::new(), "console messages (errors, CSP violations)");
    assert!(page.dom.contains("data-script=\"ready\""), "the inline script ran to its end");

    let exposed = json.iter().filter(|v| v["exposed"] == Value::Bool(true)).count();
    let invalid = json.iter().filter(|v| v.get("error").is_some()).count();
    assert_eq!(by_id(&page.dom, "checked"), json.len().to_string());
    assert_eq!(by_id(&page.dom, "exposed"), exposed.to_string());
    assert_eq!(by_id(&page.dom, "invalid"), invalid.to_string());
    // 8 of the 14 demo rows, counted by hand from data/staff.csv and the demo breaches.
    assert_eq!((json.len(), exposed), (14, 8));

    let shown = people(&page.dom);
    assert_eq!(shown.len(), json.len());
    for (s, v) in shown.iter().zip(&json) {
        assert_eq!(s.line, v["line"].as_u64().unwrap());
        assert_eq!(s.id, v["input"].as_str().unwrap());
        let exposed = v["exposed"].as_bool().unwrap();
        assert_eq!(
            s.status,
            if exposed {
                "EXPOSED"
            } else if v.get("error").is_some() {
                "invalid"
            } else {
                "clean"
            }
        );
        assert_eq!(s.count, v["count"].as_u64().unwrap_or(0), "{s:?}");
        if exposed {
            let want: Vec<&str> = v["sources"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
            assert_eq!(s.sources, want.join(", "));
        }
        assert!(!s.hidden);
    }
    // The department column and its counts, from data/staff.csv: IT has 3 rows (Ivan Petrov,
    // Backup Service, Temp Contractor), of which svc-backup alone is exposed.
    let groups = &page.dom[page.dom.find("<table id=\"groups\"").unwrap()..];
    assert!(groups.contains("<td>IT</td><td class=\"num\">3</td><td class=\"num\">1</td>"), "{groups}");

    let png = artifact("html_report.png");
    let _ = std::fs::remove_file(&png);
    let shot = render(&dir, &file_url(&report), Some(&png));
    assert_eq!(shot.console, Vec::<String>::new());
    let bytes = std::fs::read(&png).expect("the screenshot");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "a real screenshot: {} bytes", bytes.len());
}

#[test]
fn html_report_filter_in_the_address_hides_the_other_rows() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    dir.cmd(&["bulk", "-i", &index, "--format", "html", "-o", "r.html", &repo("data/staff.csv")]).expect(1);
    let url = format!("{}#filter=combo-2022", file_url(&dir.path("r.html")));
    let page = render(&dir, &url, None);
    assert_eq!(page.console, Vec::<String>::new());
    let visible: Vec<String> = people(&page.dom).into_iter().filter(|r| !r.hidden).map(|r| r.id).collect();
    assert_eq!(visible, vec!["aiko.tanaka@agency.example", "taro.yamada@agency.example", "svc-backup@agency.example"]);
    assert_eq!(by_id(&page.dom, "shown"), "3");
}

#[test]
fn hostile_names_in_the_staff_list_stay_text_in_the_browser() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    dir.write(
        "staff.csv",
        "name,team,email\n\
         \"<img src=x onerror=\"\"document.title='pwned'\"\">\",<b>ops</b>,ruth@agency.example\n\
         \"</td></tr></table><script>document.title='pwned'</script>\",\"a\"\"b\",ivan@agency.example\n\
         Ōno 大野 \u{202e}gnp.exe,研究,taro.yamada@agency.example\n",
    );
    dir.cmd(&["bulk", "-i", &index, "--format", "html", "-o", "r.html", "--group-by", "team", "staff.csv"]).expect(1);
    let page = render(&dir, &file_url(&dir.path("r.html")), None);
    assert_eq!(page.console, Vec::<String>::new(), "no script of the data ran, nothing was fetched");
    assert!(page.dom.contains("<title>Exposure report: staff.csv</title>"), "the title was not rewritten");
    assert!(!page.dom.contains("<img"), "no element made of data");
    assert_eq!(page.dom.matches("<script>").count(), 1, "only the report's script");
    let names: Vec<String> = {
        let table = &page.dom[page.dom.find("<table id=\"people\"").unwrap()..];
        table.split("<tr ").skip(1).map(|r| cell(r, "name")).collect()
    };
    assert_eq!(
        names,
        vec![
            "<img src=x onerror=\"document.title='pwned'\">",
            "</td></tr></table><script>document.title='pwned'</script>",
            "Ōno 大野 \\u{202e}gnp.exe",
        ]
    );
}

#[test]
fn mask_hides_every_local_part_in_table_csv_json_and_html() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    let staff = repo("data/staff.csv");
    // Local parts of the staff list's addresses, read here without leakdex.
    let text = std::fs::read_to_string(&staff).unwrap();
    let locals: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit(',').next())
        .filter_map(|a| a.trim_matches('"').rsplit_once('@').map(|(l, _)| l.rsplit('<').next().unwrap().to_string()))
        .filter(|l| l.chars().count() > 1)
        .collect();
    assert_eq!(locals.len(), 13, "{locals:?}");
    let mut outputs = Vec::new();
    for format in ["table", "csv", "json"] {
        outputs.push((format, dir.cmd(&["bulk", "-i", &index, "--mask", "--format", format, &staff]).expect(1).stdout));
    }
    dir.cmd(&["bulk", "-i", &index, "--mask", "--format", "html", "-o", "m.html", &staff]).expect(1);
    outputs.push(("html", std::fs::read_to_string(dir.path("m.html")).unwrap()));
    for (format, out) in &outputs {
        for local in &locals {
            assert!(
                !out.to_lowercase().contains(&format!("{}@", local.to_lowercase())),
                "{format} shows the local part {local:?}:\n{out}"
            );
        }
    }
    let json = json_lines(&outputs[2].1);
    assert_eq!(json[0]["input"], "a***@agency.example");
    assert_eq!(json[0]["email"], "a***@agency.example");
    assert_eq!(json[4]["input"], "a***@münchen.example");
    // Masking hides, it does not change the answers.
    let plain = json_lines(&dir.cmd(&["bulk", "-i", &index, "--format", "json", &staff]).expect(1).stdout);
    for (m, p) in json.iter().zip(&plain) {
        assert_eq!((&m["exposed"], &m["count"], &m["sources"]), (&p["exposed"], &p["count"], &p["sources"]));
    }
    let page = render(&dir, &file_url(&dir.path("m.html")), None);
    assert_eq!(page.console, Vec::<String>::new());
    assert_eq!(people(&page.dom)[1].id, "K***@agency.example");
}

#[test]
fn html_output_flags_are_checked_before_anything_is_read() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    let staff = repo("data/staff.csv");
    let r = dir.cmd(&["bulk", "-i", &index, "--format", "html", &staff]).expect(2);
    assert!(r.stderr.contains("give -o report.html"), "{}", r.stderr);
    let r = dir.cmd(&["bulk", "-i", &index, "-o", "x.txt", &staff]).expect(2);
    assert!(r.stderr.contains("-o is where --format html writes"), "{}", r.stderr);
    let r = dir.cmd(&["bulk", "-i", &index, "--format", "html", "-o", &index, &staff]).expect(2);
    assert!(r.stderr.contains("is an input"), "{}", r.stderr);
    let r = dir.cmd(&["bulk", "-i", &index, "--format", "html", "-o", "/dev/null", &staff]).expect(2);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    let r =
        dir.cmd(&["bulk", "-i", &index, "--format", "html", "-o", "r.html", "--group-by", "dept", &staff]).expect(2);
    assert!(r.stderr.contains("no such column") && r.stderr.contains("name, department, email"), "{}", r.stderr);
    assert!(!dir.path("r.html").exists());
    // `-o -`: the page on standard output.
    let r = dir.cmd(&["bulk", "-i", &index, "--format", "html", "-o", "-", &staff]).expect(1);
    assert!(r.stdout.starts_with("<!DOCTYPE html>") && r.stdout.trim_end().ends_with("</html>"));
}

#[test]
fn html_report_of_a_list_where_nobody_is_valid_is_not_written() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    dir.write("staff.txt", "not an address\nnor this\n");
    let r = dir.cmd(&["bulk", "-i", &index, "--format", "html", "-o", "r.html", "staff.txt"]).expect(2);
    assert!(r.stderr.contains("nothing was checked"), "{}", r.stderr);
    assert!(!dir.path("r.html").exists(), "no report that reads as clean");
}

#[test]
fn html_report_of_passwords_shows_their_hashes_never_the_passwords() {
    let dir = Dir::new();
    dir.write("pw.txt", "hunter2\npassword1\nhunter2\n");
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "pw.ldx", "pw.txt"]).expect(0);
    dir.write("mine.csv", "owner,password\nAsha,hunter2\nBo,S3cret!<x>\n");
    dir.cmd(&["bulk", "-i", "pw.ldx", "--format", "html", "-o", "pw.html", "--column", "password", "mine.csv"])
        .expect(1);
    let html = std::fs::read_to_string(dir.path("pw.html")).unwrap();
    for secret in ["hunter2", "S3cret", "password1"] {
        assert!(!html.contains(secret), "the report shows a password");
    }
    let page = render(&dir, &file_url(&dir.path("pw.html")), None);
    assert_eq!(page.console, Vec::<String>::new());
    let rows = people(&page.dom);
    // python3 -c "import hashlib; print(hashlib.sha1(b'hunter2').hexdigest().upper())"
    assert_eq!(rows[0].id, "F3BBBD66A63D4BF1747940578EC3D0103530E21D");
    assert_eq!((rows[0].status.as_str(), rows[0].count), ("EXPOSED", 2));
    // python3 -c "import hashlib; print(hashlib.sha1(b'S3cret!<x>').hexdigest().upper())"
    assert_eq!(rows[1].id, "3E388F157027AD3E2A9B1B60C64B3D6CAAD3EEEF");
    assert_eq!(rows[1].status, "clean");
    assert_eq!(by_id(&page.dom, "checked"), "2");
}

#[cfg(unix)]
#[test]
fn html_report_is_as_private_as_the_staff_list() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    let index = demo_index(&dir);
    std::fs::set_permissions(&index, std::fs::Permissions::from_mode(0o644)).unwrap();
    let staff = dir.write("staff.csv", std::fs::read(repo("data/staff.csv")).unwrap());
    std::fs::set_permissions(&staff, std::fs::Permissions::from_mode(0o600)).unwrap();
    dir.cmd(&["bulk", "-i", &index, "--format", "html", "-o", "r.html", "staff.csv"]).expect(1);
    let mode = std::fs::metadata(dir.path("r.html")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o077, 0, "a 0600 staff list gives a report only its owner reads: {mode:o}");
}

/// The people table's rows as (line, identifier, status, count, sources), scripts aside.
fn table_of(html: &str) -> Vec<(u64, String, String, u64, String)> {
    people(html).into_iter().map(|r| (r.line, r.id, r.status, r.count, r.sources)).collect()
}

#[test]
fn html_report_over_the_range_api_has_the_rows_and_dates_of_the_local_one() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    let s = crate::server::Server::start(&dir, &["-i", &index]);
    let staff = repo("data/staff.csv");
    dir.cmd(&["bulk", "-i", &index, "--format", "html", "-o", "local.html", &staff]).expect(1);
    dir.cmd(&["bulk", "--api", &s.url, "--format", "html", "-o", "remote.html", &staff]).expect(1);
    let local = std::fs::read_to_string(dir.path("local.html")).unwrap();
    let remote = std::fs::read_to_string(dir.path("remote.html")).unwrap();
    assert_eq!(table_of(&remote), table_of(&local));
    assert_eq!(by_id(&remote, "exposed"), by_id(&local, "exposed"));
    // Breach dates come from the server's catalogue; the timeline shows every source.
    for dated in ["<td>forum-2020</td><td></td><td>2020-03-14</td>", "<td>chat-2023</td><td></td><td>2023-05-09</td>"] {
        assert!(remote.contains(dated), "{dated}");
    }
    assert!(remote.contains("titles and data classes are those of the server"));
    let page = render(&dir, &file_url(&dir.path("remote.html")), None);
    assert_eq!(page.console, Vec::<String>::new());
}

#[test]
fn html_report_from_a_filter_says_the_exposed_are_only_possibly_exposed() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    dir.cmd(&["export-filter", "-i", &index, "-o", "demo.ldf"]).expect(0);
    let staff = repo("data/staff.csv");
    let json = json_lines(&dir.cmd(&["bulk", "-i", "demo.ldf", "--format", "json", &staff]).expect(1).stdout);
    let possibly = json.iter().filter(|v| v["possibly"] == Value::Bool(true)).count();
    dir.cmd(&["bulk", "-i", "demo.ldf", "--format", "html", "-o", "f.html", &staff]).expect(1);
    let html = std::fs::read_to_string(dir.path("f.html")).unwrap();
    assert_eq!(by_id(&html, "possibly"), possibly.to_string());
    assert_eq!(by_id(&html, "exposed"), possibly.to_string());
    assert!(table_of(&html).iter().all(|r| r.2 != "EXPOSED"), "a filter never says EXPOSED");
}

#[test]
fn html_report_since_an_older_index_counts_every_row_and_marks_the_new_ones() {
    let dir = Dir::new();
    let new = demo_index(&dir);
    // Last week's index: one of the demo's dumps only.
    let old = dir.path("old.ldx").to_string_lossy().into_owned();
    dir.cmd(&["build", "-q", "-o", &old, &repo("data/breaches/combo-2022.txt")]).expect(0);
    let staff = repo("data/staff.csv");
    let all = json_lines(&dir.cmd(&["bulk", "-i", &new, "--format", "json", &staff]).expect(1).stdout);
    let fresh = json_lines(&dir.cmd(&["bulk", "-i", &new, "--since", &old, "--format", "json", &staff]).run().stdout);
    assert!(!fresh.is_empty() && fresh.len() < all.iter().filter(|r| r["exposed"] == true).count());
    let out = dir.path("new.html");
    let o = out.to_str().unwrap();
    dir.cmd(&["bulk", "-i", &new, "--since", &old, "--format", "html", "-o", o, &staff]).run();
    let page = std::fs::read_to_string(&out).unwrap();
    // The headline is the whole picture, not the new rows alone.
    assert_eq!(by_id(&page, "checked"), all.len().to_string());
    let exposed = all.iter().filter(|r| r["exposed"] == true).count();
    assert_eq!(by_id(&page, "exposed"), exposed.to_string());
    // Each new row is marked, and only those; the method says how to make it again.
    assert_eq!(page.matches("<strong class=\"new\">NEW (").count(), fresh.len(), "{page}");
    assert!(page.contains("--since"), "the reproduce command or the note lacks --since");
}

#[test]
fn mask_hides_addresses_in_every_column_and_inside_names() {
    let dir = Dir::new();
    let index = demo_index(&dir);
    dir.write(
        "staff.csv",
        "name,email,manager_email,notes\n\
         Bob Example <bob.person@example.com>,ruth@agency.example,carol.boss@example.com,alt: dave.alt@example.net; ok\n",
    );
    for format in ["csv", "json", "table"] {
        let r = dir.cmd(&["bulk", "-i", &index, "--column", "email", "--mask", "--format", format, "staff.csv"]).run();
        for local in ["bob.person@", "ruth@", "carol.boss@", "dave.alt@"] {
            assert!(!r.stdout.contains(local), "{format}: {local} shown under --mask: {}", r.stdout);
        }
    }
    let r = dir.cmd(&["bulk", "-i", &index, "--column", "email", "--mask", "--format", "csv", "staff.csv"]).run();
    assert!(
        r.stdout.contains("Bob Example <b***@example.com>") && r.stdout.contains("alt: d***@example.net; ok"),
        "{}",
        r.stdout
    );
}
