//! The server cannot be held, mined or crashed: clients that never read, many connections from
//! one address, range routes without keys or with guessed keys, an index truncated under it.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::server::{email_index, http, password_index, self_signed, tls_client, wait_closed_by_server, Server};
use crate::util::Dir;

/// Pipelined requests for padded password ranges (800 to 1,000 lines, about 37 KB each): far
/// more answer bytes than any socket buffer holds.
fn padded_requests(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let _ = write!(
            out,
            "GET /range/{:05X} HTTP/1.1\r\nHost: localhost\r\nAdd-Padding: true\r\n\r\n",
            i * 997 % 0x100000
        );
    }
    out
}

/// A TCP connection to `addr` from `from` (any loopback address), with a small receive buffer
/// set before connecting, so that the window it offers stays small.
fn connect_from(addr: SocketAddr, from: Option<IpAddr>, rcvbuf: Option<usize>) -> std::net::TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    if let Some(n) = rcvbuf {
        s.set_recv_buffer_size(n).unwrap();
    }
    if let Some(ip) = from {
        s.bind(&SocketAddr::new(ip, 0).into()).unwrap();
    }
    s.connect(&addr.into()).unwrap();
    s.into()
}

fn socket_addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").trim_start_matches("https://").parse().unwrap()
}

/// Longest a normal client may wait behind five that never read, with `--write-timeout 1`:
/// the time to fill their buffers, then the write timeout. Without the timeout: forever.
const LIMIT: u64 = 20;

#[test]
fn clients_that_never_read_their_answers_cannot_hold_the_server() {
    let dir = Dir::new();
    let index = password_index(&dir);
    let s = Server::start(&dir, &["-i", &index, "--max-connections", "5", "--write-timeout", "1"]);
    let addr = socket_addr(&s.url);
    // Five connections, every slot: each sends hundreds of requests and reads nothing.
    let slow: Vec<_> = (0..5)
        .map(|_| {
            let mut c = connect_from(addr, None, Some(4096));
            c.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
            let _ = c.write_all(&padded_requests(400));
            c
        })
        .collect();
    // The server first fills their socket buffers (megabytes each, padded answers cost CPU
    // in a debug build); then each stalls, and is closed a write timeout later.
    let started = Instant::now();
    let c = reqwest::blocking::Client::builder().timeout(Duration::from_secs(LIMIT)).build().unwrap();
    let r = c.get(format!("{}/range/21BD1", s.url)).send();
    let r = r.unwrap_or_else(|e| panic!("a normal client was held out by five clients that never read: {e}"));
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("2DC183F740EE76F27B78EB39C8AD972A757:108219"));
    eprintln!("answered after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(LIMIT), "{:?}", started.elapsed());
    // The stalled connections were closed by the server.
    for mut c in slow {
        wait_closed_by_server(&mut c, Duration::from_secs(10));
    }
}

#[test]
fn clients_that_never_read_their_answers_cannot_hold_the_https_server() {
    use std::process::{Command, Stdio};
    let dir = Dir::new();
    let index = password_index(&dir);
    let cert = self_signed(&dir);
    let s = Server::start(
        &dir,
        &[
            "-i",
            &index,
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
            "--max-connections",
            "5",
            "--write-timeout",
            "1",
        ],
    );
    let port = s.url.rsplit(':').next().unwrap().to_string();
    // openssl s_client completes the handshake and sends the pipelined requests; nothing reads
    // its output, so it stops reading the socket once the pipe is full.
    let slow: Vec<_> = (0..5)
        .map(|_| {
            let mut child = Command::new("openssl")
                .args(["s_client", "-quiet", "-ign_eof", "-connect", &format!("127.0.0.1:{port}")])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl s_client");
            let mut sin = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = sin.write_all(&padded_requests(1000));
                // Keep stdin open: -ign_eof holds the connection.
                std::thread::sleep(Duration::from_secs(60));
            });
            KillOnDrop(child)
        })
        .collect();
    // Every slot taken (the processes connect and shake hands) before the normal client comes.
    std::thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    let c = tls_client(&cert, &port, Duration::from_secs(LIMIT));
    let r = c
        .get(format!("https://localhost:{port}/range/21BD1"))
        .send()
        .unwrap_or_else(|e| panic!("a normal HTTPS client was held out by five clients that never read: {e}"));
    assert_eq!(r.status(), 200);
    eprintln!("answered after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(LIMIT), "{:?}", started.elapsed());
    drop(slow);
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn one_address_cannot_take_every_connection() {
    use std::io::Read;
    let dir = Dir::new();
    let index = password_index(&dir);
    let s = Server::start(&dir, &["-i", &index, "--max-connections-per-ip", "3"]);
    let addr = socket_addr(&s.url);
    let ask = |c: &mut std::net::TcpStream| -> String {
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = c.write_all(b"GET /range/21BD1 HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let mut buf = [0u8; 64 * 1024];
        let n = c.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or("").to_string()
    };
    // Three kept-alive connections from 127.0.0.1, each answered.
    let local = IpAddr::from([127, 0, 0, 1]);
    let mut held: Vec<_> = (0..3).map(|_| connect_from(addr, Some(local), None)).collect();
    for c in &mut held {
        assert_eq!(ask(c), "HTTP/1.1 200 OK");
    }
    // A fourth from the same address is closed unanswered, twice over.
    for _ in 0..2 {
        let mut extra = connect_from(addr, Some(local), None);
        assert_eq!(ask(&mut extra), "", "a connection over the per-address cap was answered");
    }
    // Another loopback address is served, and the held ones still are.
    let mut other = connect_from(addr, Some(IpAddr::from([127, 0, 0, 2])), None);
    assert_eq!(ask(&mut other), "HTTP/1.1 200 OK");
    assert_eq!(ask(&mut held[0]), "HTTP/1.1 200 OK");
    // Once one closes, the address may open another.
    drop(held.pop());
    std::thread::sleep(Duration::from_millis(200));
    let mut again = connect_from(addr, Some(local), None);
    assert_eq!(ask(&mut again), "HTTP/1.1 200 OK");
    let log = s.log();
    assert!(log.contains("over --max-connections-per-ip"), "{log}");
    let refusals: Vec<&str> = log.lines().filter(|l| l.contains("max-connections-per-ip")).collect();
    assert!(refusals.iter().all(|l| !l.contains("127.0.0.")), "the log names a client address: {refusals:?}");
}

const KEY: &str = "7c0ffee7c0ffee7c0ffee7c0ffee7c0f";

/// A client from `from` (a loopback address), sending `key` if any.
fn get(url: &str, from: IpAddr, key: Option<&str>) -> reqwest::blocking::Response {
    let c = reqwest::blocking::Client::builder()
        .local_address(from)
        .timeout(Duration::from_secs(20))
        .user_agent("leakdex-test")
        .build()
        .unwrap();
    let mut r = c.get(url);
    if let Some(k) = key {
        r = r.header("hibp-api-key", k);
    }
    r.send().unwrap()
}

#[test]
fn email_ranges_need_a_key_when_keys_are_configured_and_password_ranges_do_not() {
    let dir = Dir::new();
    let email = email_index(&dir);
    let pw = password_index(&dir);
    dir.write("keys.txt", format!("{KEY}\n"));
    let s = Server::start(&dir, &["-i", &email, "-i", &pw, "--api-keys", "keys.txt", "--range-rate-limit", "5"]);
    let local = IpAddr::from([127, 0, 0, 1]);
    // sha1("ruth@agency.example") starts with FAF8E9 (Python hashlib).
    let prefix = "FAF8E9";
    let range = format!("{}/range/search/{prefix}", s.url);
    let r = get(&range, local, None);
    assert_eq!(r.status(), 401);
    let body = r.text().unwrap();
    assert!(body.contains("hibp-api-key") && body.contains("LEAKDEX_API_KEY"), "{body}");
    assert!(!body.contains(prefix));
    let r = get(&range, local, Some(KEY));
    assert_eq!(r.status(), 200);
    let body = r.text().unwrap();
    assert!(body.contains("chat-2023"), "{body}");
    // Password ranges answer without a key (as Pwned Passwords), and are not counted against
    // the key.
    for _ in 0..3 {
        assert_eq!(get(&format!("{}/range/21BD1", s.url), local, None).status(), 200);
    }
    // Five a minute per key: the sixth keyed request is refused with Retry-After.
    let mut limited = None;
    for _ in 0..6 {
        let r = get(&range, local, Some(KEY));
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
    }
    let limited = limited.expect("the 5-a-minute range limit per key was never hit");
    let wait: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let log = s.log();
    assert!(log.contains("email ranges need an API key"), "{log}");
    assert!(log.contains("password ranges need no API key"), "{log}");
    assert!(!log.contains(KEY) && !log.contains(prefix), "{log}");
    // Keys required and none configured: refused at start, never a server that answers
    // nothing but 401.
    let mut cmd = dir.cmd(&["serve", "-i", &email, "--listen", "127.0.0.1:0", "--range-keys", "required"]);
    cmd.c.env_remove("LEAKDEX_API_KEYS");
    let r = cmd.expect(2);
    assert!(r.stderr.contains("no keys are configured"), "{}", r.stderr);
}

#[test]
fn guessing_keys_is_throttled_per_address_long_before_the_hundredth_guess() {
    let dir = Dir::new();
    let email = email_index(&dir);
    dir.write("keys.txt", format!("{KEY}\n"));
    let s = Server::start(&dir, &["-i", &email, "--api-keys", "keys.txt"]);
    let local = IpAddr::from([127, 0, 0, 1]);
    for (route, n) in [("range/search/FAF8E9", 0), ("api/v3/breachedaccount/ruth@agency.example", 1)] {
        let url = format!("{}/{route}", s.url);
        // Each route from its own address: the budgets are per address, shared by routes.
        let from = IpAddr::from([127, 0, 0, 10 + n]);
        let mut first_429 = None;
        for i in 0..100 {
            let guess = format!("{:032x}", 0xabcdef00u64 + i);
            let r = get(&url, from, Some(&guess));
            match r.status().as_u16() {
                401 => {}
                429 => {
                    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                    assert!(wait >= 1);
                    first_429 = Some(i);
                    break;
                }
                other => panic!("guess {i} on {route} answered {other}"),
            }
        }
        let at = first_429.unwrap_or_else(|| panic!("100 wrong keys on {route}, never a 429"));
        assert!(at <= 20, "{route}: the first 429 came at guess {at}");
        // A right guess now is not told apart: still 429.
        assert_eq!(get(&url, from, Some(KEY)).status(), 429, "{route}");
        // Another address with the right key is served.
        let status = get(&url, local, Some(KEY)).status();
        assert_eq!(status, 200, "{route}");
    }
}

#[test]
fn the_client_sends_its_key_from_the_environment_or_a_file_never_an_argument() {
    let dir = Dir::new();
    let email = email_index(&dir);
    dir.write("keys.txt", format!("{KEY}\n"));
    let s = Server::start(&dir, &["-i", &email, "--api-keys", "keys.txt"]);
    // Without a key: an error that says what to do, never "clean".
    let mut cmd = dir.cmd(&["check", "--api", &s.url, "ruth@agency.example"]);
    cmd.c.env_remove("LEAKDEX_API_KEY");
    let r = cmd.run();
    assert_eq!(r.status, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("401") && r.stderr.contains("LEAKDEX_API_KEY"), "{}", r.stderr);
    let mut cmd = dir.cmd(&["check", "--api", &s.url, "ruth@agency.example", "ivan@agency.example"]);
    cmd.c.env("LEAKDEX_API_KEY", KEY);
    let r = cmd.expect(1);
    assert!(r.stdout.contains("chat-2023"), "{}", r.stdout);
    dir.write("my.key", format!("{KEY}\n"));
    let mut cmd = dir.cmd(&["check", "--api", &s.url, "--api-key-file", "my.key", "ruth@agency.example"]);
    cmd.c.env_remove("LEAKDEX_API_KEY");
    cmd.expect(1);
    assert!(!s.log().contains(KEY));
}

/// A password index big enough that its table spans many pages.
fn big_password_index(dir: &Dir, name: &str, count: u32) -> String {
    let mut lines = String::new();
    for i in 0..20_000u32 {
        lines.push_str(&format!("{}:{count}\n", leakdex_core::hex(&leakdex_core::password_key(&i.to_le_bytes()))));
    }
    dir.write(&format!("{name}.txt"), lines);
    let out = format!("{name}.ldx");
    dir.cmd(&["build", "-q", "--kind", "password", "-o", &out, &format!("{name}.txt")]).expect(0);
    out
}

#[test]
fn an_index_truncated_while_served_answers_503_and_never_kills_the_server() {
    let dir = Dir::new();
    let good = big_password_index(&dir, "good", 7);
    let full = std::fs::metadata(dir.path(&good)).unwrap().len();
    let c = http();
    for cut in [4096, full / 2, full - 1] {
        std::fs::copy(dir.path(&good), dir.path("live.ldx")).unwrap();
        let mut s = Server::start(&dir, &["-i", "live.ldx"]);
        let prefixes: Vec<String> = (0..256u32).map(|i| format!("{:05X}", i * 4099 % 0x100000)).collect();
        let ok = c.get(format!("{}/range/{}", s.url, prefixes[1])).send().unwrap();
        assert_eq!(ok.status(), 200);
        // Same inode, shorter: what `truncate -s` does.
        std::fs::OpenOptions::new().write(true).open(dir.path("live.ldx")).unwrap().set_len(cut).unwrap();
        for p in &prefixes {
            let r = c
                .get(format!("{}/range/{p}", s.url))
                .send()
                .unwrap_or_else(|e| panic!("cut at {cut} of {full}: the server died: {e}"));
            assert_eq!(r.status(), 503, "cut at {cut}");
        }
        assert!(s.child_alive(), "cut at {cut}: the server process died");
        assert_eq!(c.get(format!("{}/healthz", s.url)).send().unwrap().status(), 503);
        let log = s.log();
        assert!(log.contains("WARNING") && log.contains("live.ldx") && log.contains("mv new.ldx"), "{log}");
        // A complete file renamed over the path is served again.
        std::fs::copy(dir.path(&good), dir.path("new.ldx")).unwrap();
        std::fs::rename(dir.path("new.ldx"), dir.path("live.ldx")).unwrap();
        let started = Instant::now();
        loop {
            let r = c.get(format!("{}/range/{}", s.url, prefixes[1])).send().unwrap();
            if r.status() == 200 {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "the renamed index was not picked up");
            std::thread::sleep(Duration::from_millis(100));
        }
        // A truncated file renamed over it is refused at reload: the good map keeps serving.
        let bytes = std::fs::read(dir.path(&good)).unwrap();
        dir.write("cut.ldx", &bytes[..cut as usize]);
        std::fs::rename(dir.path("cut.ldx"), dir.path("live.ldx")).unwrap();
        let started = Instant::now();
        while !s.log().contains("reload failed") {
            assert!(started.elapsed() < Duration::from_secs(15), "{}", s.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        for p in &prefixes[..16] {
            assert_eq!(c.get(format!("{}/range/{p}", s.url)).send().unwrap().status(), 200);
        }
        assert!(s.child_alive());
    }
}

#[test]
fn requests_without_a_key_are_limited_per_client_address() {
    let dir = Dir::new();
    let pw = password_index(&dir);
    dir.write("keys.txt", format!("{KEY}\n"));
    let s = Server::start(
        &dir,
        &["-i", &pw, "--api-keys", "keys.txt", "--password-range-keys", "optional", "--address-rate-limit", "3"],
    );
    let url = format!("{}/range/21BD1", s.url);
    let (a, b) = (IpAddr::from([127, 0, 0, 1]), IpAddr::from([127, 0, 0, 2]));
    for _ in 0..3 {
        assert_eq!(get(&url, a, None).status(), 200);
    }
    let r = get(&url, a, None);
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    // 3 a minute: the next token in 20 s, rounded up.
    assert!((19..=20).contains(&wait), "{wait}");
    // Another address has its own budget; a key has its own limit; a wrong key is 401, not
    // a keyless request.
    assert_eq!(get(&url, b, None).status(), 200);
    assert_eq!(get(&url, a, Some(KEY)).status(), 200);
    assert_eq!(get(&url, b, Some("not-the-key")).status(), 401);
    assert!(s.log().contains("password ranges: API key optional"), "{}", s.log());
}

/// An email index of `n` generated addresses (one per line, varied local parts and reserved
/// domains), and the addresses.
fn big_email_index(dir: &Dir, name: &str, n: usize, seed: &str) -> (String, Vec<String>) {
    let domains = ["example.com", "example.org", "example.net", "mail.test", "corp.example"];
    let addrs: Vec<String> = (0..n)
        .map(|i| match i % 3 {
            0 => format!("{seed}.user{i}@{}", domains[i % domains.len()]),
            1 => format!("{seed}_{i}+tag@{}", domains[(i / 3) % domains.len()]),
            _ => format!("o'{seed}-{i}@{}", domains[(i / 7) % domains.len()]),
        })
        .collect();
    let mut text = addrs.join("\n");
    text.push('\n');
    dir.write(&format!("{name}.txt"), text);
    let out = format!("{name}.ldx");
    dir.cmd(&["build", "-q", "-o", &out, &format!("{name}.txt")]).expect(0);
    (out, addrs)
}

/// SHA-1 of an address, lower-cased, in upper-case hex: the email range key, computed here
/// with the `sha1` crate, not leakdex.
fn email_sha1(addr: &str) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(addr.to_lowercase().as_bytes()).iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn an_index_truncated_under_concurrent_load_never_kills_the_server_nor_answers_wrong() {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    let dir = Dir::new();
    let (good, addrs) = big_email_index(&dir, "good", 200_000, "ana");
    // Another index of about the same size with other addresses: bytes of it read through the
    // old map would give other answers.
    let (other, _) = big_email_index(&dir, "other", 200_000, "bo");
    let full = std::fs::metadata(dir.path(&good)).unwrap().len();
    assert!(full > 4 << 20, "{full} bytes: the map must span many pages");
    std::fs::copy(dir.path(&good), dir.path("live.ldx")).unwrap();
    // On-request padding: a range's body is the same at every request.
    let mut s = Server::start(&dir, &["-i", "live.ldx", "--padding", "on-request"]);
    // Expected answers: each prefix's body before any fault, which must hold the suffix of
    // the address it was taken from (computed independently).
    let c = http();
    let mut expected: HashMap<String, String> = HashMap::new();
    for a in addrs.iter().step_by(997) {
        let h = email_sha1(a);
        let r = c.get(format!("{}/range/search/{}", s.url, &h[..6])).send().unwrap();
        assert_eq!(r.status(), 200, "{a}");
        let body = r.text().unwrap();
        assert!(body.contains(&format!("\"hashSuffix\":\"{}\"", &h[6..])), "{a}: {body}");
        expected.insert(h[..6].to_string(), body);
    }
    let expected = Arc::new(expected.into_iter().collect::<Vec<_>>());
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, unavailable) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    // Four clients with keep-alive connections, each requesting ranges at random.
    let clients: Vec<_> = (0..4u64)
        .map(|t| {
            let (url, expected, stop) = (s.url.clone(), expected.clone(), stop.clone());
            let (ok, unavailable, failures) = (ok.clone(), unavailable.clone(), failures.clone());
            std::thread::spawn(move || {
                let c = http();
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (t + 1);
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let (prefix, body) = &expected[(x % expected.len() as u64) as usize];
                    match c.get(format!("{url}/range/search/{prefix}")).send() {
                        Ok(r) if r.status() == 503 => {
                            unavailable.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) if r.status() == 200 => {
                            let got = r.text();
                            if got.as_ref().ok() == Some(body) {
                                ok.fetch_add(1, Ordering::Relaxed);
                            } else {
                                failures.lock().unwrap().push(format!("{prefix}: a wrong 200 body: {got:?}"));
                            }
                        }
                        Ok(r) => failures.lock().unwrap().push(format!("{prefix}: status {}", r.status())),
                        Err(e) => failures.lock().unwrap().push(format!("{prefix}: {e}")),
                    }
                }
            })
        })
        .collect();
    // Renames a complete index over the path and reloads it (SIGHUP), then waits until the
    // server answers from it.
    let restore = |s: &mut Server, what: &str| {
        assert!(s.child_alive(), "{what}: the server process died\n{}", s.log());
        std::fs::copy(dir.path(&good), dir.path("new.ldx")).unwrap();
        std::fs::rename(dir.path("new.ldx"), dir.path("live.ldx")).unwrap();
        // SAFETY: `kill` has no memory preconditions; the pid is our child's.
        assert_eq!(unsafe { libc::kill(s.pid() as libc::pid_t, libc::SIGHUP) }, 0);
        let (prefix, body) = &expected[0];
        let started = Instant::now();
        loop {
            let r = c.get(format!("{}/range/search/{prefix}", s.url)).send();
            let r = r.unwrap_or_else(|e| panic!("{what}: {e}\n{}", s.log()));
            if r.status() == 200 {
                assert_eq!(&r.text().unwrap(), body, "{what}: after the rename");
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "{what}: the renamed index was not picked up");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let truncate = |len: u64| std::fs::OpenOptions::new().write(true).open(dir.path("live.ldx")).unwrap().set_len(len);
    let pause = |ms| std::thread::sleep(Duration::from_millis(ms));
    pause(300);
    // Each damage, many times over: each time, a request may be between its checks and its
    // reads (without the SIGBUS handler, some such request ends the process).
    let mut seen = Vec::new();
    for round in 0..6u64 {
        for cut in [4096, full / 2, full - 4096, 0] {
            let before = unavailable.load(Ordering::Relaxed);
            truncate(cut).unwrap();
            pause(30 + round * 7);
            restore(&mut s, &format!("cut at {cut} of {full}"));
            seen.push((cut, unavailable.load(Ordering::Relaxed) - before));
        }
        // `cp other.ldx live.ldx; cp good.ldx live.ldx`: truncated to nothing, then
        // rewritten, in place, while read.
        let before = unavailable.load(Ordering::Relaxed);
        for _ in 0..3 {
            std::fs::copy(dir.path(&other), dir.path("live.ldx")).unwrap();
            std::fs::copy(dir.path(&good), dir.path("live.ldx")).unwrap();
        }
        pause(30);
        restore(&mut s, "cp over it");
        seen.push((u64::MAX, unavailable.load(Ordering::Relaxed) - before));
    }
    pause(300);
    stop.store(true, Ordering::Relaxed);
    for t in clients {
        t.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} bad answers, first: {:?}\n{}",
        failures.len(),
        &failures[..failures.len().min(5)],
        s.log()
    );
    assert!(s.child_alive(), "{}", s.log());
    // Every damage was seen by the clients (503), and good answers came between.
    assert!(seen.iter().all(|(_, n)| *n > 0), "a damage with no 503 after it: {seen:?}");
    assert!(ok.load(Ordering::Relaxed) > 100, "{} good answers", ok.load(Ordering::Relaxed));
    eprintln!(
        "{} answers 200, {} answers 503 ({seen:?})",
        ok.load(Ordering::Relaxed),
        unavailable.load(Ordering::Relaxed)
    );
    let log = s.log();
    assert!(log.contains("WARNING") && log.contains("live.ldx") && log.contains("mv new.ldx"), "{log}");
}

#[test]
fn a_fifo_put_at_the_index_path_neither_stalls_reloads_nor_shutdown() {
    let dir = Dir::new();
    dir.write("a.txt", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:1\n");
    dir.write("b.txt", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:2\n");
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "live.ldx", "a.txt"]).expect(0);
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "b.ldx", "b.txt"]).expect(0);
    let mut s = Server::start(&dir, &["-i", "live.ldx"]);
    let c = http();
    let url = format!("{}/range/5BAA6", s.url);
    assert_eq!(c.get(&url).send().unwrap().text().unwrap(), "1E4C9B93F3F0682250B6CF8331B7EE68FD8:1");
    // A FIFO renamed over the path: the reloader must not block opening it (nobody writes).
    let status = std::process::Command::new("mkfifo").arg(dir.path("fifo")).status().unwrap();
    assert!(status.success());
    std::fs::rename(dir.path("fifo"), dir.path("live.ldx")).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    // The old map still answers, and a real index renamed over the path is then served.
    assert_eq!(c.get(&url).send().unwrap().text().unwrap(), "1E4C9B93F3F0682250B6CF8331B7EE68FD8:1");
    std::fs::rename(dir.path("b.ldx"), dir.path("live.ldx")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = c.get(&url).send().unwrap().text().unwrap();
        if body == "1E4C9B93F3F0682250B6CF8331B7EE68FD8:2" {
            break;
        }
        assert!(Instant::now() < deadline, "the renamed index was never loaded: {body}\n{}", s.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(s.log().contains("not a regular file"), "{}", s.log());
    // SIGTERM still ends the process (no thread is stuck in an open).
    let status = std::process::Command::new("kill").args(["-TERM", &s.pid().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.child_alive() {
        assert!(Instant::now() < deadline, "serve did not exit after SIGTERM\n{}", s.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}
