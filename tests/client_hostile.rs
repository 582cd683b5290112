//! A hostile range API cannot turn the client against its user: bodies are bounded (plain,
//! chunked, gzip bombs), no redirect is followed and no Referer sent, a stalling or
//! rate-limiting server ends the run in bounded time, errors name the server but never a
//! prefix, and breach names from an index or a range API cannot forge terminal output or
//! spreadsheet formulas.
//!
//! The hostile servers are std `TcpListener`s in threads, one thread per connection, written
//! here because a static file server cannot trickle, stall or answer 429 forever.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{json_lines, Dir};

/// What the malformed-prefix probe must get (HIBP's answer).
const BAD_PREFIX: &str = "The hash prefix was not in a valid format";
/// Peak resident memory any client run may reach against a hostile server.
const MAX_RSS_KIB: i64 = 200 * 1024;
/// How long a run may go on before the test kills it and fails: a guard against a hang, not a
/// speed limit (the tests that pin a deadline assert their own, much shorter, `within`). The
/// 8 MiB-body runs of a debug build took 12 s alone and over 40 s beside other builds.
const KILL_AFTER: Duration = Duration::from_secs(180);

fn sha1_hex(s: &str) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(s.as_bytes()).iter().map(|b| format!("{b:02X}")).collect()
}

/// The request head read from `conn` (up to the blank line, or what came before EOF).
fn read_head(conn: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn respond(conn: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body);
}

#[derive(Clone, Copy, PartialEq)]
enum Ranges {
    Password,
    Email,
}

/// Every request head the server got, in arrival order.
type Log = Arc<Mutex<Vec<String>>>;

/// A range API that passes the client's checks (a manifest naming `kind`, HIBP's 400 for the
/// malformed prefix, no breach catalogue) and hands every other request to `hostile`, each
/// connection on its own thread. Returns its URL and the log of request heads.
fn hostile_api(kind: Ranges, hostile: impl Fn(&mut TcpStream, &str) + Send + Sync + 'static) -> (String, Log) {
    hostile_api_with_catalogue(kind, None, hostile)
}

/// [`hostile_api`] answering `GET /api/v3/breaches` with `catalogue` (404 when `None`).
fn hostile_api_with_catalogue(
    kind: Ranges,
    catalogue: Option<Vec<u8>>,
    hostile: impl Fn(&mut TcpStream, &str) + Send + Sync + 'static,
) -> (String, Log) {
    let catalogue = Arc::new(catalogue);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let seen = log.clone();
    let hostile = Arc::new(hostile);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let (seen, hostile, catalogue) = (seen.clone(), hostile.clone(), catalogue.clone());
            std::thread::spawn(move || {
                let head = read_head(&mut conn);
                seen.lock().unwrap().push(head.clone());
                let path = head.split(' ').nth(1).unwrap_or("").to_string();
                if path == "/manifest.json" {
                    let m = match kind {
                        Ranges::Password => r#"{"ranges":[{"kind":"password","prefix_len":5}]}"#,
                        Ranges::Email => r#"{"ranges":[{"kind":"email","prefix_len":6}]}"#,
                    };
                    respond(&mut conn, "200 OK", "application/json", m.as_bytes());
                } else if path.contains("ZZZZZ") {
                    respond(&mut conn, "400 Bad Request", "text/plain", BAD_PREFIX.as_bytes());
                } else if path.starts_with("/range/") {
                    hostile(&mut conn, &head);
                } else if let (true, Some(c)) = (path == "/api/v3/breaches", catalogue.as_ref()) {
                    respond(&mut conn, "200 OK", "application/json", c);
                } else {
                    respond(&mut conn, "404 Not Found", "text/plain", b"");
                }
            });
        }
    });
    (url, log)
}

/// How a client run ended.
struct Ended {
    code: Option<i32>,
    elapsed: Duration,
    stdout: String,
    stderr: String,
    /// Peak resident set, KiB (`getrusage` of the reaped child).
    peak_kib: i64,
}

/// Runs `c` with `stdin`, measuring wall time and peak memory; kills it (and reports no exit
/// code) after [`KILL_AFTER`]. The child is reaped by `wait4` (for its resource usage), not by
/// `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run_measured(mut c: Command, stdin: &str) -> Ended {
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = c.spawn().expect("spawn leakdex");
    let pid = child.id() as libc::pid_t;
    let mut sin = child.stdin.take().unwrap();
    let data = stdin.as_bytes().to_vec();
    std::thread::spawn(move || {
        let _ = sin.write_all(&data);
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut killed = false;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: plain system call on our own child; `usage` is written by the kernel.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if killed { 0 } else { libc::WNOHANG };
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if r == pid {
            break (status, usage);
        }
        assert!(r == 0, "wait4 failed");
        if start.elapsed() > KILL_AFTER {
            // Our own child, by its id.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let status = std::process::ExitStatus::from_raw(status);
    Ended {
        code: if killed { None } else { status.code() },
        elapsed,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        peak_kib: usage.ru_maxrss,
    }
}

/// Runs `check --api URL` (with `ident` on stdin) and `bulk --api URL` over a staff list
/// holding it, with `flags`, and checks both end with exit 2, in less than `within`, in
/// bounded memory, with nothing on stdout saying clean, an error naming the server and no
/// prefix. Returns both runs' stderr.
fn both_end_with_a_clear_error(dir: &Dir, url: &str, kind: Ranges, flags: &[&str], within: Duration) -> Vec<String> {
    let (ident, kind_flag, prefix_len) = match kind {
        Ranges::Password => ("hunter2", "password", 5),
        Ranges::Email => ("ruth@agency.example", "email", 6),
    };
    let prefix = &sha1_hex(ident)[..prefix_len];
    let staff = dir.write("staff.txt", format!("{ident}\n"));
    let staff = staff.to_str().unwrap();
    let mut errors = Vec::new();
    for (sub, input, stdin) in [("check", None, format!("{ident}\n")), ("bulk", Some(staff), String::new())] {
        let mut args = vec![sub, "--api", url, "--kind", kind_flag];
        args.extend(flags);
        args.extend(input);
        let r = run_measured(dir.cmd(&args).c, &stdin);
        let shown = format!(
            "{sub} {flags:?}: exit {:?} after {:?}, stdout {:?}, stderr {:?}",
            r.code, r.elapsed, r.stdout, r.stderr
        );
        assert_eq!(r.code, Some(2), "{shown}");
        assert!(r.elapsed < within, "not ended within {within:?}: {shown}");
        assert!(r.peak_kib < MAX_RSS_KIB, "peak RSS {} KiB: {shown}", r.peak_kib);
        assert!(!r.stdout.to_lowercase().contains("clean") && !r.stdout.contains("false"), "{shown}");
        assert!(r.stderr.contains(url), "the error does not name the server: {shown}");
        assert!(!r.stderr.to_uppercase().contains(prefix), "the error holds the prefix: {shown}");
        assert_eq!(r.stderr.trim_end().lines().filter(|l| l.contains("error")).count(), 1, "{shown}");
        errors.push(r.stderr);
    }
    errors
}

/// 100 MB of `0`s after a 200 head, written until the client hangs up.
fn write_huge(conn: &mut TcpStream, chunked: bool) {
    const TOTAL: usize = 100 << 20;
    const PIECE: usize = 64 << 10;
    let head = if chunked {
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n".to_string()
    } else {
        format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {TOTAL}\r\n\r\n")
    };
    if conn.write_all(head.as_bytes()).is_err() {
        return;
    }
    let piece = vec![b'0'; PIECE];
    for _ in 0..TOTAL / PIECE {
        let ok = if chunked {
            conn.write_all(format!("{PIECE:x}\r\n").as_bytes())
                .and_then(|_| conn.write_all(&piece))
                .and_then(|_| conn.write_all(b"\r\n"))
        } else {
            conn.write_all(&piece)
        };
        if ok.is_err() {
            return;
        }
    }
    if chunked {
        let _ = conn.write_all(b"0\r\n\r\n");
    }
}

#[test]
fn a_100_mb_range_body_is_refused_at_the_cap_not_buffered_whole() {
    let dir = Dir::new();
    for chunked in [false, true] {
        for kind in [Ranges::Password, Ranges::Email] {
            let (url, _) = hostile_api(kind, move |c, _| write_huge(c, chunked));
            let errors = both_end_with_a_clear_error(&dir, &url, kind, &[], Duration::from_secs(20));
            for e in errors {
                assert!(e.contains("sent more than 8388608 bytes"), "chunked {chunked}: {e}");
            }
        }
    }
}

#[test]
fn a_gzip_bomb_is_cut_off_at_the_decompressed_cap() {
    let dir = Dir::new();
    // Content-Encoding: gzip over zeros, compressed as it is sent (about 1,000:1): 10 GB
    // decompressed if the client read it all. The server stops when the client hangs up.
    let (url, _) = hostile_api(Ranges::Password, |c, _| {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n";
        if c.write_all(head.as_bytes()).is_err() {
            return;
        }
        let mut gz = flate2::write::GzEncoder::new(c, flate2::Compression::best());
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..10_000 {
            if gz.write_all(&zeros).is_err() {
                return;
            }
        }
        let _ = gz.finish();
    });
    let errors = both_end_with_a_clear_error(&dir, &url, Ranges::Password, &[], Duration::from_secs(20));
    for e in errors {
        assert!(e.contains("sent more than 8388608 bytes on /range/{prefix} once decompressed"), "{e}");
    }
}

#[test]
fn a_range_body_trickled_at_one_byte_a_second_ends_at_the_api_timeout() {
    let dir = Dir::new();
    for kind in [Ranges::Password, Ranges::Email] {
        let (url, _) = hostile_api(kind, |c, _| {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n");
            for _ in 0..1000 {
                if c.write_all(b"0").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        // --api-timeout 2: each run must end within 3 × 2 s.
        let errors = both_end_with_a_clear_error(&dir, &url, kind, &["--api-timeout", "2"], Duration::from_secs(6));
        for e in errors {
            assert!(e.contains("did not answer /range/") && e.contains("within 2 s (--api-timeout)"), "{e}");
        }
    }
}

#[test]
fn a_server_that_never_sends_headers_ends_at_the_api_timeout() {
    let dir = Dir::new();
    let (url, _) = hostile_api(Ranges::Password, |_, _| std::thread::sleep(Duration::from_secs(120)));
    let errors =
        both_end_with_a_clear_error(&dir, &url, Ranges::Password, &["--api-timeout", "2"], Duration::from_secs(6));
    assert!(errors[0].contains("within 2 s (--api-timeout)"), "{}", errors[0]);
}

fn too_many_requests(retry_after: &'static str) -> impl Fn(&mut TcpStream, &str) + Send + Sync + 'static {
    move |c, _| {
        let _ = c.write_all(
            format!("HTTP/1.1 429 Too Many Requests\r\nRetry-After: {retry_after}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
    }
}

#[test]
fn endless_429_with_retry_after_ends_the_run_in_bounded_time() {
    let dir = Dir::new();
    // Retry-After: 1 forever: the retries run out (4 waits of at least 1 s each).
    let (url, log) = hostile_api(Ranges::Password, too_many_requests("1"));
    let errors = both_end_with_a_clear_error(&dir, &url, Ranges::Password, &[], Duration::from_secs(15));
    assert!(errors[0].contains("answered 429"), "{}", errors[0]);
    let ranges = log.lock().unwrap().iter().filter(|h| h.starts_with("GET /range/") && !h.contains("ZZZZZ")).count();
    assert_eq!(ranges, 10, "5 attempts per run, two runs");
}

#[test]
fn a_retry_after_beyond_the_deadline_ends_the_run_at_once_instead_of_waiting() {
    let dir = Dir::new();
    // Retry-After: 3600 (or a date an hour ahead) with a 5 s run deadline: waiting is
    // pointless, so the run ends at once, saying how long the server asked for.
    let (url, _) = hostile_api(Ranges::Password, too_many_requests("3600"));
    // With the default deadline, the Retry-After budget (120 s in all) refuses it.
    let errors = both_end_with_a_clear_error(&dir, &url, Ranges::Password, &[], Duration::from_secs(3));
    assert!(errors[0].contains("asking to wait 3600 s (Retry-After)"), "{}", errors[0]);
    // A date an hour ahead, and a run deadline lower than the budget.
    let (url, _) = hostile_api(Ranges::Password, |c, _| {
        let at = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
        let _ = c.write_all(
            format!("HTTP/1.1 503 Service Unavailable\r\nRetry-After: {at}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
    });
    let errors =
        both_end_with_a_clear_error(&dir, &url, Ranges::Password, &["--api-deadline", "5"], Duration::from_secs(3));
    for e in errors {
        assert!(e.contains("answered 503") && e.contains("s left for waiting"), "{e}");
    }
}

#[test]
fn a_slow_server_cannot_hold_bulk_past_the_api_deadline() {
    let dir = Dir::new();
    // Each range answers (empty) after 1.5 s, within --api-timeout 2; many prefixes at 8 at
    // once would take minutes: --api-deadline 3 ends the run.
    let (url, _) = hostile_api(Ranges::Password, |c, _| {
        std::thread::sleep(Duration::from_millis(1500));
        respond(c, "200 OK", "text/plain", b"");
    });
    let errors = both_end_with_a_clear_error(
        &dir,
        &url,
        Ranges::Password,
        &["--api-timeout", "2", "--api-deadline", "3", "--pad-requests", "200"],
        Duration::from_secs(9),
    );
    for e in errors {
        assert!(e.contains("did not finish within 3 s (--api-deadline)"), "{e}");
    }
}

#[test]
fn a_retry_after_http_date_is_waited_for_in_full_not_rounded_down() {
    let dir = Dir::new();
    // The first range request gets 429 with Retry-After as an HTTP date 2 s ahead (whole
    // seconds, so at least 1 s away); the retry must not come before that date.
    let asked: Arc<Mutex<Vec<(Instant, std::time::SystemTime)>>> = Arc::default();
    let times = asked.clone();
    let (url, _) = hostile_api(Ranges::Password, move |c, _| {
        let mut times = times.lock().unwrap();
        let now = std::time::SystemTime::now();
        times.push((Instant::now(), now));
        if times.len() == 1 {
            let at = httpdate::fmt_http_date(now + Duration::from_secs(2));
            let _ = c.write_all(
                format!("HTTP/1.1 429 Too Many Requests\r\nRetry-After: {at}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        } else {
            respond(c, "200 OK", "text/plain", b"");
        }
    });
    let r = dir.cmd(&["check", "--api", &url, "--kind", "password", "--format", "json"]).stdin("hunter2\n").expect(0);
    assert_eq!(json_lines(&r.stdout)[0]["exposed"], false);
    let t = asked.lock().unwrap().clone();
    assert_eq!(t.len(), 2);
    // The date sent, truncated to whole seconds as HTTP dates are: the retry came after it.
    let date = httpdate::parse_http_date(&httpdate::fmt_http_date(t[0].1 + Duration::from_secs(2))).unwrap();
    assert!(t[1].1 >= date, "retried {:?} before the Retry-After date", date.duration_since(t[1].1).unwrap());
    assert!(t[1].0 - t[0].0 >= Duration::from_millis(950), "retried after {:?}", t[1].0 - t[0].0);
}

#[test]
fn a_redirect_to_another_port_is_not_followed_and_sends_no_referer() {
    let dir = Dir::new();
    // A second server that must never be asked anything.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = elsewhere.local_addr().unwrap();
    let asked_elsewhere: Log = Arc::default();
    let rec = asked_elsewhere.clone();
    std::thread::spawn(move || {
        for conn in elsewhere.incoming() {
            let Ok(mut conn) = conn else { break };
            rec.lock().unwrap().push(read_head(&mut conn));
            respond(&mut conn, "200 OK", "text/plain", b"");
        }
    });
    for (status, target) in [
        ("302 Found", format!("http://{other}")),
        ("307 Temporary Redirect", format!("http://{other}")),
        ("301 Moved Permanently", format!("http://localhost:{}", other.port())),
    ] {
        for kind in [Ranges::Password, Ranges::Email] {
            let t = target.clone();
            let (url, log) = hostile_api(kind, move |c, head| {
                let path = head.split(' ').nth(1).unwrap_or("");
                let _ = c.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\nLocation: {t}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                );
            });
            let errors = both_end_with_a_clear_error(&dir, &url, kind, &[], Duration::from_secs(10));
            let origin = target.clone();
            for e in errors {
                assert!(e.contains("redirected /range/") && e.contains(&format!("to {origin};")), "{e}");
            }
            assert!(log.lock().unwrap().iter().all(|h| !h.to_ascii_lowercase().contains("\nreferer:")));
        }
    }
    assert_eq!(asked_elsewhere.lock().unwrap().clone(), Vec::<String>::new(), "a redirect was followed");
}

/// Breach names that try to forge output: an OSC 8 hyperlink, a newline and CR that forge a
/// row, a formula, a right-to-left override, a clear-screen CSI and a C1 control.
const FORGED_LINK: &str = "\u{1b}]8;;http://evil.example\u{7}click\u{1b}]8;;\u{7}";
const FORGED_ROW: &str = "a\nnobody@agency.example              clean\r";
const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"x\")";
const BIDI: &str = "\u{202e}txt.exe\u{9b}2J\u{1b}[2J";

/// Terminal-dangerous characters a table must never hold raw.
fn assert_no_raw_controls(out: &str) {
    for (i, c) in out.chars().enumerate() {
        let bad = (c.is_control() && c != '\n') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "raw {c:?} at char {i} of {out:?}");
    }
}

#[test]
fn breach_names_from_a_range_api_cannot_forge_rows_links_or_formulas() {
    let dir = Dir::new();
    let email = "ruth@agency.example";
    let suffix = sha1_hex(email)[6..].to_string();
    let names = [FORMULA, FORGED_LINK, FORGED_ROW, BIDI];
    let body = serde_json::to_vec(&serde_json::json!([
        {"hashSuffix": suffix, "websites": names, "count": 4},
    ]))
    .unwrap();
    // The breach catalogue's dates are shown beside the names: hostile too.
    let catalogue = serde_json::to_vec(&serde_json::json!([
        {"Name": FORMULA, "BreachDate": "2020-01-01\u{1b}[2J\u{7}"},
        {"Name": FORGED_LINK, "BreachDate": "\u{202e}1202"},
    ]))
    .unwrap();
    let (url, _) = hostile_api_with_catalogue(Ranges::Email, Some(catalogue), move |c, _| {
        respond(c, "200 OK", "application/json", &body)
    });

    // Table: one header and one row; every control visible as an escape.
    let r = dir.cmd(&["check", "--api", &url, email]).expect(1);
    assert_no_raw_controls(&r.stdout);
    assert_eq!(r.stdout.lines().count(), 2, "{:?}", r.stdout);
    for shown in [
        r"\x1b]8;;http://evil.example\x07click\x1b]8;;\x07",
        r"a\x0anobody@agency.example              clean\x0d",
        r"\u{202e}txt.exe\u{9b}2J\x1b[2J",
        FORMULA,
        r"(2020-01-01\x1b[2J\x07)",
        r"(\u{202e}1202)",
    ] {
        assert!(r.stdout.contains(shown), "{shown:?} not in {:?}", r.stdout);
    }

    let staff = dir.write("staff.csv", format!("name,email\nRuth,{email}\n"));
    let r = dir.cmd(&["bulk", "--api", &url, staff.to_str().unwrap()]).expect(1);
    assert_no_raw_controls(&r.stdout);
    assert_no_raw_controls(&r.stderr);
    assert_eq!(r.stdout.lines().count(), 2, "{:?}", r.stdout);

    // CSV: each name escaped as in tables and neutralized, no raw control on stdout.
    let r = dir.cmd(&["bulk", "--api", &url, "--format", "csv", staff.to_str().unwrap()]).expect(1);
    assert_no_raw_controls(&r.stdout);
    let rows: Vec<csv::StringRecord> =
        csv::ReaderBuilder::new().from_reader(r.stdout.as_bytes()).records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{:?}", r.stdout);
    let want = [
        "'=HYPERLINK(\"http://evil.example\",\"x\")",
        r"\x1b]8;;http://evil.example\x07click\x1b]8;;\x07",
        r"a\x0anobody@agency.example              clean\x0d",
        r"\u{202e}txt.exe\u{9b}2J\x1b[2J",
    ]
    .join(";");
    assert_eq!(&rows[0][5], want.as_str());

    // JSON: every control, C1 and override escaped (\u001b, \u009b, \u202e); the names read
    // back unchanged.
    let r = dir.cmd(&["bulk", "--api", &url, "--format", "json", staff.to_str().unwrap()]).expect(1);
    assert_no_raw_controls(&r.stdout);
    assert!(r.stdout.contains(r"\u202e") && r.stdout.contains(r"\u009b"), "{:?}", r.stdout);
    assert_eq!(json_lines(&r.stdout)[0]["sources"], serde_json::json!(names));
}

#[test]
fn breach_names_and_titles_from_an_index_cannot_forge_rows_links_or_formulas() {
    let dir = Dir::new();
    let email = "ruth@agency.example";
    // Source names come from file names (no `/` possible there) and NAME=PATH; titles from
    // the sources manifest.
    let link_name = "a\u{1b}]8;;evil.example\u{7}click\u{1b}]8;;\u{7}";
    let row_name = "b\nnobody@agency.example  clean";
    let formula_name = "=HYPERLINK(\"evil.example\",\"x\")";
    for name in [link_name, row_name, formula_name] {
        dir.write(&format!("corpus/{name}.txt"), format!("{email}\n"));
    }
    let manifest = format!(
        "[\"{}\"]\ntitle = \"{}\"\n",
        formula_name.replace('"', "\\\""),
        FORGED_LINK.replace('\u{1b}', "\\u001b").replace('\u{7}', "\\u0007")
    );
    dir.write("sources.toml", manifest);
    let mut args = vec!["build", "-q", "-o", "i.ldx", "--sources", "sources.toml"];
    // The formula's source first, so that the sources cell starts with it.
    let paths: Vec<String> = [formula_name, link_name, row_name].iter().map(|n| format!("corpus/{n}.txt")).collect();
    args.extend(paths.iter().map(String::as_str));
    dir.cmd(&args).expect(0);

    let r = dir.cmd(&["check", "-i", "i.ldx", email]).expect(1);
    assert_no_raw_controls(&r.stdout);
    assert_eq!(r.stdout.lines().count(), 2, "{:?}", r.stdout);
    assert!(r.stdout.contains(r"a\x1b]8;;evil.example\x07click\x1b]8;;\x07"), "{:?}", r.stdout);
    assert!(r.stdout.contains(r"b\x0anobody@agency.example  clean"), "{:?}", r.stdout);

    let staff = dir.write("staff.txt", format!("{email}\n"));
    let r = dir.cmd(&["bulk", "-i", "i.ldx", staff.to_str().unwrap()]).expect(1);
    assert_no_raw_controls(&r.stdout);
    assert_no_raw_controls(&r.stderr);

    let r = dir.cmd(&["bulk", "-i", "i.ldx", "--format", "csv", staff.to_str().unwrap()]).expect(1);
    let rows: Vec<csv::StringRecord> =
        csv::ReaderBuilder::new().from_reader(r.stdout.as_bytes()).records().map(Result::unwrap).collect();
    // In the index's order, escaped as in tables, the formula behind a `'`.
    assert_no_raw_controls(&r.stdout);
    assert_eq!(
        &rows[0][4],
        r#"'=HYPERLINK("evil.example","x");a\x1b]8;;evil.example\x07click\x1b]8;;\x07;b\x0anobody@agency.example  clean"#
    );

    let r = dir.cmd(&["info", "-i", "i.ldx"]).expect(0);
    assert_no_raw_controls(&r.stdout);
    assert!(r.stdout.contains(r"\x1b]8;;http://evil.example\x07click\x1b]8;;\x07"), "{:?}", r.stdout);
    let r = dir.cmd(&["info", "-i", "i.ldx", "--json"]).expect(0);
    assert_no_raw_controls(&r.stdout);
    let info: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let titles: Vec<&str> =
        info["meta"]["sources"].as_array().unwrap().iter().filter_map(|s| s["title"].as_str()).collect();
    assert_eq!(titles, [FORGED_LINK]);
}

#[test]
fn file_names_in_the_build_summary_and_errors_cannot_forge_lines_or_escapes() {
    let dir = Dir::new();
    // A file whose name holds a hyperlink escape, and one whose name holds a newline and a
    // forged summary line; an unreadable name in an error.
    let link_name = "a\u{1b}]8;;evil.example\u{7}click\u{1b}]8;;\u{7}\u{202e}txt.exe";
    let row_name = "b\nbuilt nothing.ldx: 0 entries";
    dir.write(&format!("corpus/{link_name}.txt"), "ruth@agency.example\n");
    dir.write(&format!("corpus/{row_name}.txt"), "no address here\n");
    let r = dir.cmd(&["build", "-o", "i.ldx", "corpus"]).expect(0);
    assert_no_raw_controls(&r.stderr);
    assert!(r.stderr.contains(r"a\x1b]8;;evil.example\x07click\x1b]8;;\x07\u{202e}txt.exe.txt"), "{}", r.stderr);
    assert!(r.stderr.contains(r"b\x0abuilt nothing.ldx"), "{}", r.stderr);
    // The WARNING for the file that gave nothing names it escaped, on one line.
    assert!(r.stderr.lines().any(|l| l.contains("WARNING") && l.contains(r"b\x0abuilt")), "{}", r.stderr);
    let missing = format!("corpus/{link_name}-missing.txt");
    let r = dir.cmd(&["build", "-o", "j.ldx", &missing]).expect(2);
    assert_no_raw_controls(&r.stderr);
    assert!(r.stderr.contains(r"\x1b]8;;"), "{}", r.stderr);
}

#[test]
fn csv_cells_from_data_starting_like_a_formula_are_neutralized_and_numbers_are_not() {
    let dir = Dir::new();
    // Sources named +, -, @ and = each alone; the counts and flags leakdex writes stay numbers.
    for (i, name) in ["+cmd", "-2+3", "@SUM(A1)", "=1+1"].iter().enumerate() {
        dir.write(&format!("c/{name}.txt"), format!("user{i}@agency.example\n"));
    }
    let mut args = vec!["build".to_string(), "-q".into(), "-o".into(), "i.ldx".into()];
    for name in ["+cmd", "-2+3", "@SUM(A1)", "=1+1"] {
        args.push(format!("c/{name}.txt"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    dir.cmd(&args).expect(0);
    let staff = dir.write(
        "staff.txt",
        "user0@agency.example\nuser1@agency.example\nuser2@agency.example\nuser3@agency.example\n=bad\n",
    );
    let r = dir.cmd(&["bulk", "-i", "i.ldx", "--format", "csv", staff.to_str().unwrap()]).expect(1);
    let rows: Vec<csv::StringRecord> =
        csv::ReaderBuilder::new().from_reader(r.stdout.as_bytes()).records().map(Result::unwrap).collect();
    let sources: Vec<&str> = rows.iter().map(|r| &r[4]).collect();
    assert_eq!(sources, ["'+cmd", "'-2+3", "'@SUM(A1)", "'=1+1", ""]);
    let counts: Vec<&str> = rows.iter().map(|r| &r[3]).collect();
    assert_eq!(counts, ["1", "1", "1", "1", "0"]);
    // The echoed input of an invalid row is data too.
    assert_eq!(&rows[4][0], "'=bad");
}

#[test]
fn a_retry_after_too_large_for_a_clock_ends_the_run_with_an_error_not_a_panic() {
    let dir = Dir::new();
    // u64::MAX seconds, and a float far past it: `now + wait` overflowed and panicked (exit
    // 101 with a backtrace).
    for (asked, shown) in [("18446744073709551615", "18446744073709551615"), ("1e300", "18446744073709551615")] {
        let (url, _) = hostile_api(Ranges::Password, too_many_requests(asked));
        let errors = both_end_with_a_clear_error(&dir, &url, Ranges::Password, &[], Duration::from_secs(5));
        for e in errors {
            assert!(!e.contains("panicked") && !e.contains("overflow"), "{asked}: {e}");
            assert!(e.contains(&format!("asking to wait {shown} s (Retry-After)")), "{asked}: {e}");
        }
    }
}

#[test]
fn an_api_url_with_a_query_or_fragment_is_refused_and_its_secret_never_shown() {
    let dir = Dir::new();
    let (url, log) = hostile_api(Ranges::Password, |c, _| respond(c, "200 OK", "text/plain", b""));
    for given in [
        format!("{url}/?tok=SECRET"),
        format!("{url}?tok=SECRET"),
        format!("{url}/api#SECRET"),
        format!("http://user:SECRET@{}/?SECRET", url.trim_start_matches("http://")),
    ] {
        for args in [
            vec!["check", "--api", &given, "--kind", "password"],
            vec!["check", "--api", &given, "ruth@agency.example"],
        ] {
            let r = dir.cmd(&args).stdin("hunter2\n").expect(2);
            assert!(r.stdout.is_empty(), "{given}: {:?}", r.stdout);
            assert!(!r.stderr.contains("SECRET"), "{given}: {}", r.stderr);
            assert!(r.stderr.contains("query (?...) or fragment (#...)"), "{given}: {}", r.stderr);
            assert!(r.stderr.contains(url.trim_start_matches("http://")), "{given}: {}", r.stderr);
            assert_eq!(r.stderr.trim_end().lines().count(), 1, "{given}: {}", r.stderr);
        }
    }
    assert!(log.lock().unwrap().is_empty(), "a request was sent: {:?}", log.lock().unwrap());
}

/// Entries of no asked address (each with a 4 KiB source name, so that a client keeping every
/// entry would keep them all, and a debug build parses 8 MiB of them in reasonable time), each
/// followed by a comma, `bytes` at most in all.
fn padding_entries(bytes: usize) -> String {
    let name = "Pad".repeat(4096 / 3);
    let entry = |i: usize| format!(r#"{{"hashSuffix":"{i:034X}","websites":["{name}"]}},"#);
    (0..bytes / entry(0).len()).map(entry).collect()
}

#[test]
fn a_run_against_ranges_of_8_mib_each_stays_in_bounded_memory_and_reports_right() {
    let dir = Dir::new();
    // Every email range answers a valid list just under the 8 MiB cap; one address in three is
    // in it, under its own prefix, among the padding. Keeping every body until the last one
    // arrived took bulk of 120 addresses to 1 GB, 400 to 3.3 GB; 36 (288 MiB of bodies) are
    // enough to pass the bound, and few enough for a debug build on a busy machine.
    const ADDRESSES: usize = 36;
    let emails: Vec<String> = (0..ADDRESSES).map(|i| format!("person{i}.{}@agency.example", i * 7919)).collect();
    let exposed: std::collections::BTreeMap<String, String> = emails
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(_, e)| {
            let h = sha1_hex(e);
            (h[..6].to_string(), h[6..].to_string())
        })
        .collect();
    let exposed = Arc::new(exposed);
    // Up to 1 KiB under the cap, built (and compressed) once: the head of a body holds the
    // hit, if any, and the tail the padding; gzip bodies are two members, as `cat a.gz b.gz`.
    let tail = format!("{}]", padding_entries((8 << 20) - 1024).trim_end_matches(','));
    let tail = Arc::new((tail.clone().into_bytes(), crate::util::gzip(tail.as_bytes())));
    for gzip in [false, true] {
        let (exposed, tail) = (exposed.clone(), tail.clone());
        let (url, log) = hostile_api(Ranges::Email, move |c, head| {
            let prefix = head.split(' ').nth(1).unwrap_or("").trim_start_matches("/range/search/").to_string();
            let hit = exposed
                .get(&prefix)
                .map(|s| format!(r#"{{"hashSuffix":"{s}","websites":["Found"],"count":2}},"#))
                .unwrap_or_default();
            let front = format!("[{hit}");
            assert!(front.len() + tail.0.len() < 8 << 20);
            let (encoding, front, tail) = if gzip {
                ("Content-Encoding: gzip\r\n", crate::util::gzip(front.as_bytes()), &tail.1)
            } else {
                ("", front.into_bytes(), &tail.0)
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{encoding}Content-Length: {}\r\nConnection: close\r\n\r\n",
                front.len() + tail.len()
            );
            let _ = c.write_all(head.as_bytes());
            let _ = c.write_all(&front);
            let _ = c.write_all(tail);
        });
        let staff = dir.write("staff.txt", emails.join("\n") + "\n");
        let args = ["bulk", "--api", &url, "--format", "json", staff.to_str().unwrap()];
        let r = run_measured(dir.cmd(&args).c, "");
        let shown = format!("gzip {gzip}: exit {:?} after {:?}, stderr {:?}", r.code, r.elapsed, r.stderr);
        eprintln!("{shown}: peak RSS {} KiB", r.peak_kib);
        assert_eq!(r.code, Some(1), "{shown}");
        assert!(r.peak_kib < MAX_RSS_KIB, "peak RSS {} KiB: {shown}", r.peak_kib);
        let ranges = log.lock().unwrap().iter().filter(|h| h.starts_with("GET /range/") && !h.contains("ZZZ")).count();
        assert!(ranges >= ADDRESSES, "{ranges} ranges asked: {shown}");
        let rows = json_lines(&r.stdout);
        assert_eq!(rows.len(), ADDRESSES, "{shown}");
        for (i, row) in rows.iter().enumerate() {
            let want = if i % 3 == 0 { serde_json::json!(["Found"]) } else { serde_json::json!([]) };
            assert_eq!(row["sources"], want, "row {i}: {row}");
        }
    }
}

#[test]
fn every_breach_name_in_a_csv_sources_cell_is_neutralized_not_only_the_first() {
    let dir = Dir::new();
    // `safe;=HYPERLINK(...)`: a spreadsheet whose list separator is `;` splits the cell there,
    // and the second name became a formula cell. Each name, in any place, gets its `'`.
    let email = "ruth@agency.example";
    let names = ["Safe Breach", "=HYPERLINK(\"http://evil.example\",\"x\")", "+SUM(1)", "ok-2020", "@cmd", "-1+2"];
    let suffix = sha1_hex(email)[6..].to_string();
    let body = serde_json::to_vec(&serde_json::json!([{"hashSuffix": suffix, "websites": names, "count": 6}])).unwrap();
    let (url, _) = hostile_api(Ranges::Email, move |c, _| respond(c, "200 OK", "application/json", &body));
    let staff = dir.write("staff.csv", format!("name,email\nRuth,{email}\n"));
    let r = dir.cmd(&["bulk", "--api", &url, "--format", "csv", staff.to_str().unwrap()]).expect(1);
    let rows: Vec<csv::StringRecord> =
        csv::ReaderBuilder::new().from_reader(r.stdout.as_bytes()).records().map(Result::unwrap).collect();
    assert_eq!(
        &rows[0][5], "Safe Breach;'=HYPERLINK(\"http://evil.example\",\"x\");'+SUM(1);ok-2020;'@cmd;'-1+2",
        "{:?}",
        r.stdout
    );
    // Split as such a spreadsheet does: no piece starts a formula.
    for piece in rows[0][5].split(';') {
        assert!(!piece.starts_with(['=', '+', '-', '@']), "{piece:?}");
    }
}

#[test]
fn control_bidi_and_zero_width_characters_in_csv_and_tables_are_escaped_and_ordinary_text_is_not() {
    let dir = Dir::new();
    let email = "ruth@agency.example";
    // Raw in CSV on stdout, ESC, CSI (C1 0x9b), U+202E and a newline were run by the terminal;
    // zero-width characters made two names print alike in tables too.
    let names = [
        "Clear\u{1b}[2JBreach",
        "C1\u{9b}31m",
        "\u{202e}gpj.exe",
        "Two\nLines",
        "Breach\u{200b}A",
        "Z\u{200c}W\u{200d}J\u{2060}\u{feff}",
        // Other default-ignorable characters: soft hyphen, Hangul filler, a variation
        // selector, a tag character (beyond the BMP).
        "Link\u{ad}edIn",
        "Linked\u{3164}In",
        "Heart\u{fe0f}",
        "Tag\u{e0041}",
        "Ünïcode Bréach 数据 😀",
        r"Back\slash",
        "Esc\u{1b}And\\x1b",
    ];
    let shown = [
        r"Clear\x1b[2JBreach",
        r"C1\u{9b}31m",
        r"\u{202e}gpj.exe",
        r"Two\x0aLines",
        r"Breach\u{200b}A",
        r"Z\u{200c}W\u{200d}J\u{2060}\u{feff}",
        r"Link\u{ad}edIn",
        r"Linked\u{3164}In",
        r"Heart\u{fe0f}",
        r"Tag\u{e0041}",
        "Ünïcode Bréach 数据 😀",
        // Nothing else to escape: shown as it is.
        r"Back\slash",
        // Something else escaped: the literal backslash doubled, so `\x1b` (ESC) and
        // `\\x1b` (the four characters) differ.
        r"Esc\x1bAnd\\x1b",
    ];
    let suffix = sha1_hex(email)[6..].to_string();
    let body = serde_json::to_vec(&serde_json::json!([{"hashSuffix": suffix, "websites": names, "count": 9}])).unwrap();
    let (url, _) = hostile_api(Ranges::Email, move |c, _| respond(c, "200 OK", "application/json", &body));
    let staff = dir.write("staff.txt", format!("{email}\n"));

    let r = dir.cmd(&["bulk", "--api", &url, "--format", "csv", staff.to_str().unwrap()]).expect(1);
    assert_no_raw_controls(&r.stdout);
    for c in ['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}'] {
        assert!(!r.stdout.contains(c), "raw {c:?} in {:?}", r.stdout);
    }
    let rows: Vec<csv::StringRecord> =
        csv::ReaderBuilder::new().from_reader(r.stdout.as_bytes()).records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{:?}", r.stdout);
    assert_eq!(&rows[0][4], shown.join(";").as_str());

    let r = dir.cmd(&["check", "--api", &url, email]).expect(1);
    assert_no_raw_controls(&r.stdout);
    assert_eq!(r.stdout.lines().count(), 2, "{:?}", r.stdout);
    // A table escapes its sources cell as one string: that cell needed escaping, so every
    // literal backslash in it is doubled.
    for want in shown.iter().map(|s| if s.starts_with("Back") { r"Back\\slash" } else { s }) {
        assert!(r.stdout.contains(want), "{want:?} not in {:?}", r.stdout);
    }
    for c in ['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{ad}', '\u{3164}', '\u{e0041}'] {
        assert!(!r.stdout.contains(c), "raw {c:?} in {:?}", r.stdout);
    }
    // JSON escapes them too, and reads back as the names the server sent.
    let r = dir.cmd(&["check", "--api", &url, "--format", "json", email]).expect(1);
    assert_no_raw_controls(&r.stdout);
    assert!(!r.stdout.contains('\u{e0041}') && !r.stdout.contains('\u{ad}'), "{:?}", r.stdout);
    let row: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let got: Vec<&str> = row["sources"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let mut want: Vec<&str> = names.to_vec();
    want.sort();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    assert_eq!(got_sorted, want);
}

#[test]
fn password_ranges_of_8_mib_of_counted_suffixes_keep_only_the_asked_counts() {
    let dir = Dir::new();
    // Every range answers valid SUFFIX:COUNT lines just under the cap, all counted: a client
    // keeping every line kept 200,000 entries per range. One password in three is among them.
    const PASSWORDS: usize = 24;
    let passwords: Vec<String> = (0..PASSWORDS).map(|i| format!("Tr0ub4dor&{i}-{}", i * 104_729)).collect();
    let exposed: std::collections::BTreeMap<String, String> = passwords
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(i, p)| {
            let h = sha1_hex(p);
            (h[..5].to_string(), format!("{}:{}\r\n", &h[5..], 1000 + i))
        })
        .collect();
    let line = |i: usize| format!("{i:035X}:7\r\n");
    let tail: String = (0..((8 << 20) - 1024) / line(0).len()).map(line).collect();
    let (exposed, tail) = (Arc::new(exposed), Arc::new(tail.into_bytes()));
    let (url, _) = hostile_api(Ranges::Password, move |c, head| {
        let prefix = head.split(' ').nth(1).unwrap_or("").trim_start_matches("/range/").to_string();
        let front = exposed.get(&prefix).cloned().unwrap_or_default();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            front.len() + tail.len()
        );
        let _ = c.write_all(head.as_bytes());
        let _ = c.write_all(front.as_bytes());
        let _ = c.write_all(&tail);
    });
    let args = ["check", "--api", &url, "--kind", "password", "--format", "json"];
    let r = run_measured(dir.cmd(&args).c, &(passwords.join("\n") + "\n"));
    let shown = format!("exit {:?} after {:?}, stderr {:?}", r.code, r.elapsed, r.stderr);
    eprintln!("{shown}: peak RSS {} KiB", r.peak_kib);
    assert_eq!(r.code, Some(1), "{shown}");
    assert!(r.peak_kib < MAX_RSS_KIB, "peak RSS {} KiB: {shown}", r.peak_kib);
    let rows = json_lines(&r.stdout);
    assert_eq!(rows.len(), PASSWORDS, "{shown}");
    for (i, row) in rows.iter().enumerate() {
        let want = if i % 3 == 0 { 1000 + i as u64 } else { 0 };
        assert_eq!(row["count"], serde_json::json!(want), "row {i}: {row}");
    }
}

#[test]
fn megabytes_of_sources_for_every_asked_address_end_the_run_instead_of_filling_memory() {
    let dir = Dir::new();
    // Each asked address is "found" in 6 MiB of source names: kept for every address of the
    // run, that was 6 MiB times the staff list.
    const ADDRESSES: usize = 24;
    let emails: Vec<String> = (0..ADDRESSES).map(|i| format!("staff{i}@agency.example")).collect();
    let suffixes: std::collections::BTreeMap<String, String> = emails
        .iter()
        .map(|e| {
            let h = sha1_hex(e);
            (h[..6].to_string(), h[6..].to_string())
        })
        .collect();
    let names: Vec<String> = (0..1536).map(|i| format!("{i:04}{}", "B".repeat(4092))).collect();
    let names = Arc::new(serde_json::to_string(&names).unwrap());
    let suffixes = Arc::new(suffixes);
    let (url, _) = hostile_api(Ranges::Email, move |c, head| {
        let prefix = head.split(' ').nth(1).unwrap_or("").trim_start_matches("/range/search/").to_string();
        let body = match suffixes.get(&prefix) {
            Some(s) => format!(r#"[{{"hashSuffix":"{s}","websites":{names},"count":1}}]"#),
            None => "[]".into(),
        };
        respond(c, "200 OK", "application/json", body.as_bytes());
    });
    let staff = dir.write("staff.txt", emails.join("\n") + "\n");
    let r = run_measured(dir.cmd(&["bulk", "--api", &url, staff.to_str().unwrap()]).c, "");
    let shown = format!("exit {:?} after {:?}, stderr {:?}", r.code, r.elapsed, r.stderr);
    eprintln!("{shown}: peak RSS {} KiB", r.peak_kib);
    assert_eq!(r.code, Some(2), "{shown}");
    assert!(r.peak_kib < MAX_RSS_KIB, "peak RSS {} KiB: {shown}", r.peak_kib);
    assert!(r.stderr.contains("bytes of sources for the asked addresses"), "{shown}");
    assert!(r.stderr.contains(&url), "{shown}");
    assert!(!r.stdout.to_lowercase().contains("clean"), "{shown}");
}
