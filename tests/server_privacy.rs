//! The server's privacy surface, through the real binary over loopback: constant padding that
//! is constant to the byte (bodies and headers, whatever the bucket holds and whatever the
//! client asks), metrics and health checks that reveal no lookup result or size, CORS off by
//! default, `--allowed-host`, and an access log that never copies a client's method token.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::server::{http, raw_status, Server};
use crate::util::Dir;

/// One answer read off the wire: status, header fields (lowercase name, value) and body bytes.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    /// What an observer of a TLS stream (or a proxy's log) could tell apart: status, each
    /// header's name and value length, body length.
    fn shape(&self) -> Shape {
        let mut h: Vec<(String, usize)> = self.headers.iter().map(|(n, v)| (n.clone(), v.len())).collect();
        h.sort();
        (self.status, h, self.body.len())
    }
}

/// Status, (header name, value length) pairs, body length.
type Shape = (u16, Vec<(String, usize)>, usize);

/// Sends one HTTP/1.1 request on a fresh connection and reads the whole answer.
fn raw_request(base: &str, method: &str, target: &str, headers: &[(&str, &str)]) -> Raw {
    let addr = base.trim_start_matches("http://");
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes()).unwrap();
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8_lossy(&got[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    Raw { status, headers, body: got[end + 4..].to_vec() }
}

/// `(prefix, suffix)` of the uppercase SHA-1 of each item (lowercased first for addresses), by
/// Python's hashlib.
fn python_sha1(items: &[&str], prefix_len: usize, lower: bool) -> Vec<(String, String)> {
    let script = "import hashlib, sys\nfor a in sys.stdin.read().split('\\n'):\n    \
                  a = a.lower() if sys.argv[1] == 'lower' else a\n    \
                  print(hashlib.sha1(a.encode('utf-8')).hexdigest().upper())";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, if lower { "lower" } else { "as-is" }])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is needed for this test (it computes the expected hashes)");
    child.stdin.take().unwrap().write_all(items.join("\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|h| (h[..prefix_len].to_string(), h[prefix_len..].to_string()))
        .collect()
}

/// The hex prefix `delta` away from `prefix` (wrapping): a neighbour bucket.
fn neighbour(prefix: &str, delta: i64) -> String {
    let len = prefix.len();
    let n = i64::from_str_radix(prefix, 16).unwrap();
    let m = 16i64.pow(len as u32);
    format!("{:0len$X}", (n + delta).rem_euclid(m))
}

/// Every request variation a client or a middlebox might send: encodings, padding asked or
/// not, conditional requests.
fn variations() -> Vec<Vec<(&'static str, &'static str)>> {
    let encodings =
        [None, Some("gzip"), Some("br"), Some("deflate"), Some("zstd"), Some("*"), Some("gzip, deflate, br, zstd")];
    let paddings = [None, Some("true")];
    let conditionals = [None, Some("*"), Some("W/\"00000000-00000000\"")];
    let mut out = Vec::new();
    for e in encodings {
        for p in paddings {
            for c in conditionals {
                let mut h = Vec::new();
                if let Some(e) = e {
                    h.push(("Accept-Encoding", e));
                }
                if let Some(p) = p {
                    h.push(("Add-Padding", p));
                }
                if let Some(c) = c {
                    h.push(("If-None-Match", c));
                }
                out.push(h);
            }
        }
    }
    out
}

/// Requests every target with every variation and asserts one shape for all; returns the
/// plain answers (no extra headers) by target.
fn assert_one_shape(base: &str, targets: &[String]) -> BTreeMap<String, Raw> {
    let mut shapes: BTreeMap<Shape, Vec<String>> = BTreeMap::new();
    let mut plain = BTreeMap::new();
    let mut all = Vec::new();
    for t in targets {
        for v in variations() {
            let r = raw_request(base, "GET", t, &v);
            shapes.entry(r.shape()).or_default().push(format!("{t} {v:?}"));
            let sized = r.header("content-length").and_then(|l| l.parse::<usize>().ok()) == Some(r.body.len());
            all.push((format!("{t} {v:?}"), r.header("content-encoding").is_some(), r.header("etag").is_some(), sized));
            if v.is_empty() {
                plain.insert(t.clone(), r);
            }
        }
    }
    let lengths: BTreeSet<usize> = shapes.keys().map(|s| s.2).collect();
    assert_eq!(lengths.len(), 1, "body lengths differ: {lengths:?}");
    assert_eq!(shapes.len(), 1, "responses differ in status or headers:\n{shapes:#?}");
    for (what, compressed, tagged, sized) in all {
        assert!(!compressed, "{what}: compressed");
        assert!(sized, "{what}: no Content-Length of the body's length");
        assert!(!tagged, "{what}: an ETag can name the bucket");
    }
    plain
}

const TRIPLE: [&str; 3] = ["staff12106@example.com", "staff52063@example.com", "staff293231@example.com"];
const PAIR: [&str; 2] = ["staff3075@example.com", "staff3734@example.com"];
const LONG_NAME: &str = "enterprise-customer-portal-export-2019-q4-complete-with-archived-accounts";
const UMLAUT_NAME: &str = "forum-über-größe-2021";
const QUOTE_NAME: &str = "the-\"quoted\"-dump";

/// An email index with empty buckets, a bucket of one entry in one short-named source, a
/// bucket of two, and a bucket of three entries in three sources with long, non-ASCII and
/// quoted names and a five-digit count.
fn varied_email_index(dir: &Dir) -> Vec<&'static str> {
    dir.write("tiny.txt", "Lone.Person@Example.NET\n");
    dir.write("long.txt", format!("{}\njos\u{e9}@example.org\n{}\n", TRIPLE.join("\n"), PAIR[0]));
    let mut umlaut = format!("{}\n", TRIPLE.join("\n"));
    umlaut.push_str(&format!("{}\n", TRIPLE[2]).repeat(12_345));
    dir.write("umlaut.txt", umlaut);
    dir.write("quote.csv", format!("email,name\n{},a\n{},b\n{},c\n", TRIPLE[0], TRIPLE[1], PAIR[1]));
    let long = format!("{LONG_NAME}=long.txt");
    let umlaut = format!("{UMLAUT_NAME}=umlaut.txt");
    let quote = format!("{QUOTE_NAME}=quote.csv");
    dir.cmd(&["build", "-q", "-o", "em.ldx", "tiny=tiny.txt", &long, &umlaut, &quote]).expect(0);
    let mut all = vec!["Lone.Person@Example.NET", "jos\u{e9}@example.org"];
    all.extend(TRIPLE);
    all.extend(PAIR);
    all
}

#[test]
fn constant_email_padding_hides_the_bucket_in_length_headers_and_encoding() {
    let dir = Dir::new();
    let addresses = varied_email_index(&dir);
    let hashes = python_sha1(&addresses, 6, true);
    // The buckets the corpus was built to have: the triple shares one prefix, the pair another.
    let exposed: BTreeSet<String> = hashes.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(exposed.len(), 4, "{hashes:?}");
    let mut targets: Vec<String> = Vec::new();
    for p in &exposed {
        targets.push(format!("/range/search/{p}"));
        targets.push(format!("/range/search/{}", p.to_ascii_lowercase()));
        for d in [-1, 1] {
            let n = neighbour(p, d);
            assert!(!exposed.contains(&n));
            targets.push(format!("/range/search/{n}"));
        }
    }
    for empty in ["000000", "FFFFFF", "ABCDEF"] {
        assert!(!exposed.contains(empty));
        targets.push(format!("/range/search/{empty}"));
    }
    let s = Server::start(&dir, &["-i", "em.ldx"]);
    let plain = assert_one_shape(&s.url, &targets);
    // Not vacuous: the exposed buckets do hold their real entries, with sources and counts.
    let mut found = 0;
    for (address, (prefix, suffix)) in addresses.iter().zip(&hashes) {
        let body: serde_json::Value = serde_json::from_slice(&plain[&format!("/range/search/{prefix}")].body).unwrap();
        let hit = body.as_array().unwrap().iter().find(|e| e["hashSuffix"] == suffix.as_str());
        let hit = hit.unwrap_or_else(|| panic!("{address} missing from its bucket"));
        assert!(!hit["websites"].as_array().unwrap().is_empty(), "{address}");
        found += 1;
    }
    assert_eq!(found, addresses.len());
    let (p, suffix) = &hashes[addresses.iter().position(|a| *a == TRIPLE[2]).unwrap()];
    let body: serde_json::Value = serde_json::from_slice(&plain[&format!("/range/search/{p}")].body).unwrap();
    let hit = body.as_array().unwrap().iter().find(|e| e["hashSuffix"] == suffix.as_str()).unwrap();
    assert_eq!(hit["count"], 12_347);
    assert_eq!(hit["websites"], serde_json::json!([LONG_NAME, UMLAUT_NAME]));
    // Every bucket, exposed or empty, is a 200: an empty one answering 404 would be told apart.
    assert!(plain.values().all(|r| r.status == 200));
    // Our own client reads the padded answers as before.
    let r = dir.cmd(&["check", "--api", &s.url, "--format", "json", TRIPLE[2], "nobody@example.com"]).expect(1);
    let rows = crate::util::json_lines(&r.stdout);
    assert_eq!((rows[0]["exposed"].as_bool(), rows[0]["count"].as_u64()), (Some(true), Some(12_347)));
    assert_eq!(rows[1]["exposed"].as_bool(), Some(false));
}

/// A hash list whose buckets differ: two entries with big counts under 5BAA6 and 21BD1's
/// neighbours, three crafted entries under ABCDE, one with a one-digit count.
fn varied_password_index(dir: &Dir) -> Vec<(String, String)> {
    let real = python_sha1(&["password", "P@ssw0rd"], 5, false);
    let mut list = format!("{}{}:9545824\n{}{}:1\n", real[0].0, real[0].1, real[1].0, real[1].1);
    list.push_str(&format!(
        "ABCDE{}:123456789012\nABCDE{}:7\nABCDE{}:42\n",
        "1".repeat(35),
        "2".repeat(35),
        "F".repeat(35)
    ));
    dir.write("pw.txt", list);
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "pw.ldx", "pw.txt"]).expect(0);
    real
}

#[test]
fn constant_password_padding_is_byte_constant_and_clients_still_read_the_counts() {
    let dir = Dir::new();
    let real = varied_password_index(&dir);
    assert_eq!(real[0].0, "5BAA6");
    let mut targets = Vec::new();
    for p in ["5BAA6", "21BD1", "ABCDE", "5BAA5", "5BAA7", "ABCDF", "21BD0", "00000", "FFFFF"] {
        targets.push(format!("/range/{p}"));
        targets.push(format!("/range/{p}?mode=sha1"));
    }
    // NTLM beside it (MD4 of UTF-16LE "password" is 8846F7EA...; two more under AAAAA).
    dir.write(
        "nt.txt",
        format!(
            "8846F7EAEE8FB117AD06BDD830B7586C:3645804\nAAAAA{}:1\nAAAAA{}:98765432109\n",
            "0".repeat(27),
            "E".repeat(27)
        ),
    );
    dir.cmd(&["build", "-q", "--kind", "ntlm", "-o", "nt.ldx", "nt.txt"]).expect(0);
    let s = Server::start(&dir, &["-i", "pw.ldx", "-i", "nt.ldx", "--padding", "constant"]);
    let plain = assert_one_shape(&s.url, &targets);
    let ntlm: Vec<String> =
        ["8846F", "AAAAA", "8846E", "AAAAB", "00000"].iter().map(|p| format!("/range/{p}?mode=ntlm")).collect();
    let nt_plain = assert_one_shape(&s.url, &ntlm);
    let nt_body = String::from_utf8(nt_plain["/range/AAAAA?mode=ntlm"].body.clone()).unwrap();
    assert!(nt_body.split("\r\n").any(|l| l == format!("{}:98765432109", "E".repeat(27))), "{nt_body}");
    let body = String::from_utf8(plain["/range/ABCDE"].body.clone()).unwrap();
    let lines: Vec<&str> = body.split("\r\n").collect();
    for want in
        [format!("{}:123456789012", "1".repeat(35)), format!("{}:7", "2".repeat(35)), format!("{}:42", "F".repeat(35))]
    {
        assert!(lines.contains(&want.as_str()), "{want} missing");
    }
    // Every other line is padding: a 35-digit suffix and a count that reads as 0.
    let padding = lines.iter().filter(|l| l.split_once(':').unwrap().1.parse::<u64>().unwrap() == 0).count();
    assert_eq!(padding, lines.len() - 3);
    assert!(lines.iter().all(|l| l.split_once(':').unwrap().0.len() == 35));
    // Our client reads the counts, and ignores the zero-filled padding.
    let r = dir
        .cmd(&["check", "--api", &s.url, "--kind", "password", "--format", "json"])
        .stdin("password\nP@ssw0rd\nnot-leaked\n")
        .expect(1);
    let counts: Vec<u64> =
        crate::util::json_lines(&r.stdout).iter().map(|v| v["count"].as_u64().unwrap_or(0)).collect();
    assert_eq!(counts, [9_545_824, 1, 0]);
}

#[test]
fn metrics_reveal_no_lookup_result_and_healthz_no_sizes() {
    let dir = Dir::new();
    varied_email_index(&dir);
    let key = "0123456789abcdef0123456789abcdef";
    dir.write("keys.txt", format!("{key}\n"));
    let s = Server::start(&dir, &["-i", "em.ldx", "--padding", "on-request", "--api-keys", "keys.txt"]);
    let c = http();
    // Without --metrics-listen there are no metrics at all.
    assert_eq!(c.get(format!("{}/metrics", s.url)).send().unwrap().status(), 404);
    let health = c.get(format!("{}/healthz", s.url)).send().unwrap().text().unwrap();
    assert_eq!(health, "ok\nemail index: ok\n");
    drop(s);

    let s = Server::start(
        &dir,
        &["-i", "em.ldx", "--padding", "on-request", "--api-keys", "keys.txt", "--metrics-listen", "127.0.0.1:0"],
    );
    let metrics = s.metrics_url();
    assert_ne!(metrics, format!("{}/metrics", s.url));
    // The metrics listener answers nothing else.
    for other in ["/range/search/000000", "/healthz", "/api/v3/breaches"] {
        assert_eq!(c.get(metrics.replace("/metrics", other)).send().unwrap().status(), 404, "{other}");
    }
    assert_eq!(c.get(format!("{}/metrics", s.url)).send().unwrap().status(), 404, "metrics on the public listener");
    let lookup = |account: &str| {
        c.get(format!("{}/api/v3/breachedaccount/{account}", s.url))
            .header("hibp-api-key", key)
            .header("user-agent", "privacy-test")
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let before = c.get(&metrics).send().unwrap().text().unwrap();
    assert_eq!(lookup(TRIPLE[0]), 200);
    let after_hit = c.get(&metrics).send().unwrap().text().unwrap();
    assert_eq!(lookup("nobody@example.com"), 404);
    let after_miss = c.get(&metrics).send().unwrap().text().unwrap();
    // A hit and a miss move the metrics the same way: the difference is the same text.
    let diff = |a: &str, b: &str| -> Vec<String> {
        let a: BTreeSet<&str> = a.lines().collect();
        b.lines().filter(|l| !a.contains(l)).map(|l| l.rsplit_once(' ').unwrap().0.to_string()).collect()
    };
    assert_eq!(diff(&before, &after_hit), diff(&after_hit, &after_miss));
    assert_eq!(
        diff(&before, &after_hit),
        ["leakdex_requests_total{route=\"/api/v3/breachedaccount/{account}\",status=\"answered\"}"]
    );
    // Email ranges in on-request mode: an exposed bucket (200) and an empty one (404) alike.
    let exposed = &python_sha1(&[TRIPLE[0]], 6, true)[0].0;
    // (With --api-keys, email ranges need the key.)
    let range = |prefix: &str| {
        c.get(format!("{}/range/search/{prefix}", s.url)).header("hibp-api-key", key).send().unwrap().status()
    };
    let r1 = range(exposed);
    let m1 = c.get(&metrics).send().unwrap().text().unwrap();
    let r2 = range("000000");
    let m2 = c.get(&metrics).send().unwrap().text().unwrap();
    assert_eq!((r1.as_u16(), r2.as_u16()), (200, 404));
    assert_eq!(diff(&after_miss, &m1), diff(&m1, &m2));
    // Nor does the logged latency of a lookup (a hit takes microseconds longer than a miss):
    // whole milliseconds only.
    let answered: Vec<String> =
        s.log().lines().filter(|l| l.contains(" answered ") && l.ends_with("ms")).map(str::to_string).collect();
    assert!(answered.len() >= 4, "{}", s.log());
    for l in &answered {
        let ms = l.rsplit(" ").next().unwrap().strip_suffix("ms").unwrap();
        assert!(ms.parse::<u64>().is_ok(), "{l}");
    }
    // No sizes anywhere: not the entry count, not the bucket figures.
    let entries = {
        let info = dir.cmd(&["info", "-i", "em.ldx", "--json"]).expect(0);
        serde_json::from_str::<serde_json::Value>(&info.stdout).unwrap()["stats"]["entries"].as_u64().unwrap()
    };
    let health = c.get(format!("{}/healthz", s.url)).send().unwrap().text().unwrap();
    assert_eq!(health, "ok\nemail index: ok\n");
    assert!(!m2.contains("entries"), "{m2}");
    assert!(!health.contains(&entries.to_string()), "{health}");
    // The access log names no result either.
    let log = s.log();
    assert!(log.contains("GET /api/v3/breachedaccount/{account} answered"), "{log}");
    assert!(!log.contains("breachedaccount/{account} 200") && !log.contains("breachedaccount/{account} 404"), "{log}");
}

#[test]
fn cors_is_off_by_default_and_only_listed_origins_are_allowed() {
    let dir = Dir::new();
    varied_email_index(&dir);
    let c = http();
    let preflight = |base: &str, origin: &str| {
        c.request(reqwest::Method::OPTIONS, format!("{base}/range/search/567159"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "add-padding")
            .send()
            .unwrap()
    };
    let cors_headers = |r: &reqwest::blocking::Response| -> Vec<String> {
        r.headers().keys().map(|k| k.as_str().to_string()).filter(|k| k.starts_with("access-control-")).collect()
    };
    let s = Server::start(&dir, &["-i", "em.ldx"]);
    for path in ["/range/search/567159", "/api/v3/breaches", "/range/search/XYZ"] {
        let r = c.get(format!("{}{path}", s.url)).header("Origin", "https://evil.example").send().unwrap();
        assert_eq!(cors_headers(&r), Vec::<String>::new(), "{path}");
    }
    let r = preflight(&s.url, "https://evil.example");
    assert_eq!(cors_headers(&r), Vec::<String>::new());
    drop(s);

    let s = Server::start(
        &dir,
        &["-i", "em.ldx", "--cors-origin", "https://app.example", "--cors-origin", "https://intranet.test"],
    );
    for origin in ["https://app.example", "https://intranet.test"] {
        let r = preflight(&s.url, origin);
        assert!(r.status().is_success());
        assert_eq!(r.headers()["access-control-allow-origin"], origin);
        let r = c.get(format!("{}/range/search/567159", s.url)).header("Origin", origin).send().unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], origin);
        let vary: Vec<String> =
            r.headers().get_all("vary").iter().map(|v| v.to_str().unwrap().to_ascii_lowercase()).collect();
        assert!(
            vary.iter().any(|v| v.contains("origin")) && vary.iter().any(|v| v.contains("add-padding")),
            "{vary:?}"
        );
    }
    for other in ["https://evil.example", "https://app.example.evil.example", "null"] {
        let r = preflight(&s.url, other);
        assert_eq!(r.headers().get("access-control-allow-origin"), None, "{other}");
        let r = c.get(format!("{}/range/search/567159", s.url)).header("Origin", other).send().unwrap();
        assert_eq!(r.headers().get("access-control-allow-origin"), None, "{other}");
    }
}

#[test]
fn requests_for_an_unlisted_host_get_421_so_dns_rebinding_cannot_read_the_server() {
    let dir = Dir::new();
    varied_email_index(&dir);
    let s = Server::start(
        &dir,
        &["-i", "em.ldx", "--allowed-host", "leakdex.intranet.test", "--allowed-host", "127.0.0.1"],
    );
    let get = |host: &str| status_for_host(&s.url, host);
    let port = s.url.rsplit(':').next().unwrap().to_string();
    for ok in ["leakdex.intranet.test", "LEAKDEX.Intranet.test:8080", "127.0.0.1", &format!("127.0.0.1:{port}")] {
        assert_eq!(get(ok), "200", "{ok}");
    }
    for bad in [
        "attacker.example",
        "attacker.example:8080",
        "leakdex.intranet.test.attacker.example",
        "localhost",
        "127.0.0.2",
    ] {
        assert_eq!(get(bad), "421", "{bad}");
    }
    // An absolute-form target names the host the request is for: it is the one checked.
    let r = raw_request(&s.url, "GET", "http://attacker.example/range/search/567159", &[]);
    assert_eq!(r.status, 421);
    // Health checks probe by address and learn only ok or not.
    let r = raw_request(&s.url, "GET", "/healthz", &[("Host", "probe.test:8080")]);
    assert_eq!((r.status, String::from_utf8(r.body).unwrap()), (200, "ok\nemail index: ok\n".to_string()));
    // Values that are not origins or hosts are refused at start, not ignored.
    dir.cmd(&["serve", "-i", "em.ldx", "--cors-origin", "app.example/path"]).expect(2);
    dir.cmd(&["serve", "-i", "em.ldx", "--allowed-host", "https://leakdex.example/"]).expect(2);
    // The real client, with the URL an operator would give, still works.
    dir.cmd(&["check", "--api", &s.url, TRIPLE[0]]).expect(1);
    drop(s);
    // Values that are not hosts are refused at start; `*` is the explicit "any host".
    for bad in ["host:99999", "host:0", "[::1", ".", "leakdex.test..", "*.example", "host:"] {
        let r = dir.cmd(&["serve", "-i", "em.ldx", "--allowed-host", bad]).expect(2);
        assert!(r.stderr.contains("is not a host"), "{bad}: {}", r.stderr);
    }
    let s = Server::start(&dir, &["-i", "em.ldx", "--allowed-host", "leakdex.test."]);
    assert_eq!(status_for_host(&s.url, "leakdex.test"), "200");
    assert_eq!(status_for_host(&s.url, "leakdex.test.."), "421");
    drop(s);
    // Without --allowed-host, a page that rebinds its own name to the server's address gets
    // 421: only address literals, localhost names and the machine's own name are answered,
    // and the log says so at start.
    let s = Server::start(&dir, &["-i", "em.ldx"]);
    assert!(s.log().contains("without --allowed-host, requests naming a host other than"), "{}", s.log());
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_ascii_lowercase();
    for ok in ["localhost", "LOCALHOST:8080", "127.0.0.1", "127.0.0.2:9", "[::1]:8080", "app.localhost", "10.0.0.1"] {
        assert_eq!(status_for_host(&s.url, ok), "200", "{ok}");
    }
    if !machine.is_empty() && machine != "localhost" {
        assert_eq!(status_for_host(&s.url, &machine), "200", "{machine}");
        assert_eq!(status_for_host(&s.url, &format!("{machine}.attacker.example")), "421");
    }
    for bad in ["attacker.example", "rebind.attacker.example:8080", "localhost.attacker.example"] {
        assert_eq!(status_for_host(&s.url, bad), "421", "{bad}");
    }
    drop(s);
    let s = Server::start(&dir, &["-i", "em.ldx", "--allowed-host", "*"]);
    assert_eq!(status_for_host(&s.url, "attacker.example"), "200");
    drop(s);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_leakdex"))
        .current_dir(dir.root())
        .args(["serve", "-i", "em.ldx", "--listen", "0.0.0.0:0"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap())) {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("listening on") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(log.contains("without --allowed-host"), "{log}");
}

#[test]
fn the_access_log_writes_other_for_an_unknown_5000_byte_method() {
    let dir = Dir::new();
    varied_email_index(&dir);
    let s = Server::start(&dir, &["-i", "em.ldx"]);
    let token = "X".repeat(5_000);
    let r = raw_request(&s.url, &token, "/healthz", &[]);
    assert_eq!(r.status, 405);
    let r = raw_request(&s.url, "PATCH", "/healthz", &[]);
    assert_eq!(r.status, 405);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(s.log().contains("OTHER /healthz 405") && s.log().contains("PATCH /healthz 405")) {
        assert!(Instant::now() < deadline, "{}", s.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = s.log();
    assert!(!log.contains("XXXXXXXX"), "the method token was logged");
    assert!(log.lines().all(|l| l.len() < 400), "a long log line:\n{log}");
}

#[test]
fn an_unmodified_hibp_client_reads_constant_padded_password_ranges() {
    let dir = Dir::new();
    varied_password_index(&dir);
    let s = Server::start(&dir, &["-i", "pw.ldx", "--padding", "constant"]);
    let js = crate::server::hibp_js();
    let script = format!(
        r#"
import {{ pwnedPassword }} from "hibp";
const baseUrl = "{url}";
const out = [];
for (const p of ["password", "P@ssw0rd", "not in the index"]) {{
  out.push(await pwnedPassword(p, {{ baseUrl }}), await pwnedPassword(p, {{ baseUrl, addPadding: true }}));
}}
console.log(JSON.stringify(out));
"#,
        url = s.url
    );
    let path = js.join(format!("constant-{}.mjs", std::process::id()));
    std::fs::write(&path, script).unwrap();
    let out = std::process::Command::new("node").arg(&path).current_dir(&js).output().expect("run node");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "node failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!([9_545_824, 9_545_824, 1, 1, 0, 0]));
}

/// The status of `GET /range/search/567159` sent to the server at `url` with `Host: host`.
fn status_for_host(url: &str, host: &str) -> String {
    let head = format!("GET /range/search/567159 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    raw_status(url.trim_start_matches("http://"), head.as_bytes()).split(' ').nth(1).unwrap_or("").to_string()
}
