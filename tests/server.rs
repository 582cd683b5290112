//! The range API for real: `leakdex serve` on loopback, real HTTP, the real client, and nginx
//! serving an `export-ranges` directory.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leakdex_core::{hex, password_key, Index};

use crate::util::{json_lines, repo, Dir};

/// A running `leakdex serve`, killed on drop; its stderr is collected.
pub struct Server {
    child: Child,
    pub url: String,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(dir: &Dir, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_leakdex"))
            .current_dir(dir.root())
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start leakdex serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listening on ").nth(1) {
                    let _ = tx.send(addr.trim().to_string());
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("server did not start: {}", log.lock().unwrap()));
        Server { child, url, log }
    }
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
    /// The `/metrics` URL the server printed (it was started with `--metrics-listen`).
    pub fn metrics_url(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(url) =
                self.log().lines().find_map(|l| l.split("metrics on ").nth(1).map(|u| u.trim().to_string()))
            {
                return url;
            }
            assert!(Instant::now() < deadline, "no metrics address in the log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    /// The server's process id (to send it signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    /// Whether the server process is still running.
    pub fn child_alive(&mut self) -> bool {
        self.child.try_wait().is_ok_and(|s| s.is_none())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(20)).build().unwrap()
}

/// An index whose password hashes share prefixes: the demo hashes plus 5BAA6 neighbours.
pub(crate) fn password_index(dir: &Dir) -> String {
    let mut lines = std::fs::read_to_string(repo("data/passwords/pwned-sample.txt")).unwrap();
    lines.push_str("5BAA6000000000000000000000000000000000AA:12\n5BAA6FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:3\n");
    dir.write("pw.txt", lines);
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "pw.ldx", "pw.txt"]).expect(0);
    "pw.ldx".into()
}

#[test]
fn password_ranges_match_the_pwned_passwords_format_byte_for_byte() {
    let dir = Dir::new();
    let index = password_index(&dir);
    let s = Server::start(&dir, &["-i", &index, "--metrics-listen", "127.0.0.1:0"]);
    let c = http();
    let r = c.get(format!("{}/range/5BAA6", s.url)).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain");
    assert_eq!(r.headers()["cache-control"], "public, max-age=2678400");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let body = r.text().unwrap();
    let want =
        format!("{}AA:12\r\n1E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824\r\n{}:3", "0".repeat(33), "F".repeat(35));
    assert_eq!(body, want);
    // Case-insensitive prefix; an empty range is 200 with an empty body (never 404).
    assert_eq!(c.get(format!("{}/range/5baa6", s.url)).send().unwrap().text().unwrap(), body);
    let empty = c.get(format!("{}/range/00000", s.url)).send().unwrap();
    assert_eq!((empty.status().as_u16(), empty.text().unwrap()), (200, String::new()));
    // Bad prefixes: 400 with HIBP's message. Other methods: 405.
    for bad in ["5BAA", "5BAA61", "5BAAZ", "%20%20%20%20%20"] {
        let r = c.get(format!("{}/range/{bad}", s.url)).send().unwrap();
        assert_eq!(
            (r.status().as_u16(), r.text().unwrap()),
            (400, "The hash prefix was not in a valid format".to_string()),
            "{bad}"
        );
    }
    assert_eq!(c.post(format!("{}/range/5BAA6", s.url)).send().unwrap().status(), 405);
    assert_eq!(c.delete(format!("{}/range/5BAA6", s.url)).send().unwrap().status(), 405);
    // Conditional requests.
    let r = c.get(format!("{}/range/5BAA6", s.url)).header("If-None-Match", &etag).send().unwrap();
    assert_eq!(r.status(), 304);
    let r = c.get(format!("{}/range/5BAA6", s.url)).header("If-None-Match", "W/\"other\"").send().unwrap();
    assert_eq!(r.status(), 200);
    // gzip when asked.
    let raw = reqwest::blocking::Client::builder().gzip(false).build().unwrap();
    let r = raw
        .get(format!("{}/range/5BAA6", s.url))
        .header("Accept-Encoding", "gzip")
        .header("Add-Padding", "true")
        .send()
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(c.get(format!("{}/healthz", s.url)).send().unwrap().status(), 200);
    let metrics = c.get(s.metrics_url()).send().unwrap().text().unwrap();
    assert!(metrics.contains("leakdex_requests_total{route=\"/range/{prefix}\",status=\"400\"} 4"), "{metrics}");
    // Logs and metrics name route templates, never a prefix.
    let log = s.log();
    assert!(log.contains("GET /range/{prefix} answered"), "{log}");
    for p in ["5BAA6", "5baa6", "00000", "5BAAZ"] {
        assert!(!log.contains(p) && !metrics.contains(p), "{p} leaked into logs or metrics:\n{log}");
    }
}

#[test]
fn padded_lines_never_match_anything_real() {
    let dir = Dir::new();
    let index = password_index(&dir);
    let s = Server::start(&dir, &["-i", &index]);
    let c = http();
    let idx = Index::open(dir.path(&index)).unwrap();
    let mut padded = 0;
    for i in 0..120u32 {
        let prefix = &hex(&password_key(&i.to_le_bytes()))[..5];
        let body =
            c.get(format!("{}/range/{prefix}", s.url)).header("Add-Padding", "true").send().unwrap().text().unwrap();
        let lines: Vec<&str> = body.split("\r\n").collect();
        assert!((800..=1000).contains(&lines.len()), "{} lines", lines.len());
        for l in lines {
            let (suffix, count) = l.split_once(':').unwrap();
            assert_eq!(suffix.len(), 35);
            if count == "0" {
                padded += 1;
                let key = leakdex_core::parse_key(&format!("{prefix}{suffix}")).unwrap();
                assert!(idx.lookup_hash(&key).unwrap().is_none(), "padding line {prefix}{suffix} is a real entry");
            }
        }
    }
    assert!(padded >= 100_000 - 20_000, "only {padded} padded lines checked");
    // The client ignores padding: only real passwords are exposed.
    let r = dir
        .cmd(&["check", "--api", &s.url, "--kind", "password", "--format", "json"])
        .stdin("password\nnot-leaked-1\nnot-leaked-2\n")
        .expect(1);
    let exposed: Vec<bool> = json_lines(&r.stdout).iter().map(|v| v["exposed"].as_bool().unwrap()).collect();
    assert_eq!(exposed, [true, false, false]);
}

/// The demo email index.
pub(crate) fn email_index(dir: &Dir) -> String {
    crate::demo_index(dir)
}

#[test]
fn email_ranges_are_padded_to_one_constant_size() {
    let dir = Dir::new();
    let index = email_index(&dir);
    let s = Server::start(&dir, &["-i", &index]);
    let c = http();
    let key = leakdex_core::email_key("ruth@agency.example").unwrap();
    let h = hex(&key);
    let r = c.get(format!("{}/range/search/{}", s.url, &h[..6])).send().unwrap();
    assert_eq!(r.status(), 200);
    let entries: Vec<serde_json::Value> = r.json().unwrap();
    let real: Vec<&serde_json::Value> = entries.iter().filter(|e| e["hashSuffix"] == h[6..]).collect();
    assert_eq!(real.len(), 1);
    assert_eq!(real[0]["websites"], serde_json::json!(["chat-2023"]));
    let size = entries.len();
    // Every prefix, empty or not, answers the same number of entries.
    for i in 0..30u32 {
        let p = &hex(&password_key(&i.to_le_bytes()))[..6];
        let e: Vec<serde_json::Value> = c.get(format!("{}/range/search/{p}", s.url)).send().unwrap().json().unwrap();
        assert_eq!(e.len(), size, "prefix {p}");
        assert!(e.iter().all(|x| x["hashSuffix"].as_str().unwrap().len() == 34));
    }
    assert_eq!(c.get(format!("{}/range/search/ABCDE", s.url)).send().unwrap().status(), 400);
    drop(s);
    // Without constant padding an empty range is 404, as Monitor expects.
    let s = Server::start(&dir, &["-i", &index, "--padding", "on-request"]);
    let mut found_404 = false;
    for i in 0..30u32 {
        let p = &hex(&password_key(&i.to_le_bytes()))[..6];
        found_404 |= c.get(format!("{}/range/search/{p}", s.url)).send().unwrap().status() == 404;
    }
    assert!(found_404);
}

#[test]
fn min_k_refuses_to_serve_small_buckets_and_says_why() {
    let dir = Dir::new();
    let index = password_index(&dir);
    let r = dir.cmd(&["serve", "-i", &index, "--listen", "127.0.0.1:0", "--min-k", "5"]).expect(2);
    assert!(
        r.stderr.contains("smallest non-empty bucket at prefix length 5 holds 1 entries, below --min-k 5"),
        "{}",
        r.stderr
    );
}

/// JSON rows of a local index without `first_seen`, which comes from the index's metadata: a
/// range API gives no such date (see "Weekly monitoring" in the README).
fn without_first_seen(stdout: &str) -> Vec<serde_json::Value> {
    let mut rows = json_lines(stdout);
    for r in &mut rows {
        r.as_object_mut().unwrap().remove("first_seen");
    }
    rows
}

#[test]
fn bulk_over_the_api_matches_bulk_on_the_index_row_for_row() {
    let dir = Dir::new();
    let index = email_index(&dir);
    let s = Server::start(&dir, &["-i", &index]);
    let staff = repo("data/staff.csv");
    let local = dir.cmd(&["bulk", "-i", &index, "--format", "json", &staff]).expect(1);
    let remote = dir.cmd(&["bulk", "--api", &s.url, "--format", "json", &staff]).expect(1);
    assert_eq!(json_lines(&remote.stdout), without_first_seen(&local.stdout));
    let local = dir.cmd(&["bulk", "-i", &index, "--format", "csv", &staff]).expect(1);
    let remote = dir.cmd(&["bulk", "--api", &s.url, "--format", "csv", &staff]).expect(1);
    assert_eq!(remote.stdout, local.stdout);
    // The table shows breach dates (from the server's /api/v3/breaches), as locally.
    let local = dir.cmd(&["bulk", "-i", &index, &staff]).expect(1);
    let remote = dir.cmd(&["bulk", "--api", &s.url, &staff]).expect(1);
    for dated in ["forum-2020 (2020-03-14)", "shop-2021 (2021-07-02)", "chat-2023 (2023-05-09)"] {
        assert!(local.stdout.contains(dated), "{dated}: {}", local.stdout);
    }
    assert_eq!(remote.stdout, local.stdout);
    assert_eq!(remote.stderr, local.stderr, "the summaries differ");
    let local = dir.cmd(&["check", "-i", &index, "ruth@agency.example", "ivan@agency.example"]).expect(1);
    let remote = dir.cmd(&["check", "--api", &s.url, "ruth@agency.example", "ivan@agency.example"]).expect(1);
    assert_eq!(remote.stdout, local.stdout);
    // Nothing listening: a clear error naming the server.
    let r = dir.cmd(&["check", "--api", "http://127.0.0.1:1", "ruth@agency.example"]).expect(2);
    assert!(r.stderr.contains("cannot reach the range API at http://127.0.0.1:1"), "{}", r.stderr);
}

#[test]
fn index_replaced_under_traffic_switches_without_failed_requests() {
    let dir = Dir::new();
    dir.write("a.txt", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:1\n");
    dir.write("b.txt", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:2\n");
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "live.ldx", "a.txt"]).expect(0);
    let s = Server::start(&dir, &["-i", "live.ldx"]);
    let url = format!("{}/range/5BAA6", s.url);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (url, stop) = (url.clone(), stop.clone());
            std::thread::spawn(move || {
                let c = http();
                let (mut ok, mut failed, mut seen) = (0u32, 0u32, std::collections::BTreeSet::new());
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match c.get(&url).send() {
                        Ok(r) if r.status() == 200 => {
                            ok += 1;
                            seen.insert(r.text().unwrap());
                        }
                        _ => failed += 1,
                    }
                }
                (ok, failed, seen)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "live.ldx", "b.txt"]).expect(0);
    let started = Instant::now();
    let c = http();
    while c.get(&url).send().unwrap().text().unwrap() != "1E4C9B93F3F0682250B6CF8331B7EE68FD8:2" {
        assert!(started.elapsed() < Duration::from_secs(15), "the new index was not picked up");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for w in workers {
        let (ok, failed, seen) = w.join().unwrap();
        assert_eq!(failed, 0);
        total += ok;
        // Every answer is one index or the other, never a mix.
        for body in seen {
            assert!(body.ends_with(":1") || body.ends_with(":2"), "{body}");
        }
    }
    assert!(total > 20, "only {total} requests");
    assert!(s.log().contains("reloaded password index"), "{}", s.log());
}

/// nginx serving a directory on a free loopback port, as one process (`master_process off`:
/// no worker to orphan), stopped on drop with SIGQUIT (graceful) and waited for; SIGKILL only
/// if it is still there after 10 s. A test run leaves no nginx behind.
struct Nginx {
    child: Child,
    url: String,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SAFETY: signalling our own child process, which has not been waited for yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGQUIT) };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> String {
    for p in ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"] {
        if std::path::Path::new(p).exists() {
            return p.to_string();
        }
    }
    panic!("nginx is needed for this test: install it (apt-get install nginx-light); .ci/run does");
}

fn start_nginx(dir: &Dir, root: &std::path::Path) -> Nginx {
    shipped_nginx(dir, "nginx", root)
}

/// nginx with the shipped `docs/nginx-ranges.conf` over `root`, its prefix under `dir/name`.
fn shipped_nginx(dir: &Dir, name: &str, root: &std::path::Path) -> Nginx {
    let conf = include_str!("../docs/nginx-ranges.conf").replace("/srv/leakdex/ranges", &root.to_string_lossy());
    start_nginx_with(dir, name, &conf)
}

/// nginx with one `server` block (its `listen 8080;` is replaced by a free loopback port), its
/// prefix, configuration and logs under `dir/name`.
fn start_nginx_with(dir: &Dir, name: &str, server_block: &str) -> Nginx {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let prefix = dir.path(name);
    std::fs::create_dir_all(prefix.join("logs")).unwrap();
    let conf = server_block.replace("listen 8080;", &format!("listen 127.0.0.1:{port};"));
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/logs/error.log;\nevents {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {p}/tmp;\n  proxy_temp_path {p}/tmp;\n  fastcgi_temp_path {p}/tmp;\n  uwsgi_temp_path {p}/tmp;\n  scgi_temp_path {p}/tmp;\n{conf}\n}}\n",
        p = prefix.display()
    );
    let conf_path = dir.write(&format!("{name}/nginx.conf"), conf);
    let child = Command::new(nginx_binary())
        .args(["-p", &prefix.to_string_lossy(), "-c", &conf_path.to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "nginx did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Nginx { child, url }
}

/// Processes whose command line mentions `path` (Linux /proc): what a test left running.
fn processes_mentioning(path: &std::path::Path) -> Vec<String> {
    let needle = path.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(&needle) {
                found.push(format!("{}: {cmd}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

#[test]
fn nginx_serving_the_export_gives_the_same_answers_as_leakdex_serve() {
    let dir = Dir::new();
    let pw = password_index(&dir);
    let em = email_index(&dir);
    dir.cmd(&["export-ranges", "-i", &pw, "-o", "pw-ranges"]).expect(0);
    dir.cmd(&["export-ranges", "-i", &em, "-o", "em-ranges"]).expect(0);
    // Exporting over an existing directory is refused: a half-replaced export is never served.
    let r = dir.cmd(&["export-ranges", "-i", &pw, "-o", "pw-ranges"]).expect(2);
    assert!(r.stderr.contains("exists"), "{}", r.stderr);
    let c = http();

    let server = Server::start(&dir, &["-i", &pw, "--cors-origin", "*"]);
    let nginx = start_nginx(&dir, &dir.path("pw-ranges"));
    for prefix in ["5BAA6", "21BD1", "00000"] {
        let a = c.get(format!("{}/range/{prefix}", server.url)).send().unwrap();
        let b = c.get(format!("{}/range/{prefix}", nginx.url)).send().unwrap();
        assert_eq!((a.status(), b.status()), (reqwest::StatusCode::OK, reqwest::StatusCode::OK), "{prefix}");
        assert_eq!(a.text().unwrap(), b.text().unwrap(), "{prefix}");
    }
    // CORS is off in the shipped configuration, as in `leakdex serve` without --cors-origin.
    let r = c.get(format!("{}/range/5BAA6", nginx.url)).header("Origin", "https://app.example").send().unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none(), "{:?}", r.headers());
    // With its `#cors:` lines uncommented, a browser's preflight is answered as by
    // `leakdex serve --cors-origin '*'`.
    let conf = include_str!("../docs/nginx-ranges.conf")
        .replace("/srv/leakdex/ranges", &dir.path("pw-ranges").to_string_lossy())
        .replace("#cors: ", "");
    let cors_nginx = start_nginx_with(&dir, "nginx-cors", &conf);
    for url in [&server.url, &cors_nginx.url] {
        let r = c
            .request(reqwest::Method::OPTIONS, format!("{url}/range/5BAA6"))
            .header("Origin", "https://app.example")
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "add-padding")
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        assert!(r.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase().contains("add-padding"));
    }
    drop(cors_nginx);
    let input = "password\nP@ssw0rd\nhunter2\nnot-leaked\n";
    let from_server =
        dir.cmd(&["check", "--api", &server.url, "--kind", "password", "--format", "json"]).stdin(input).expect(1);
    let from_nginx =
        dir.cmd(&["check", "--api", &nginx.url, "--kind", "password", "--format", "json"]).stdin(input).expect(1);
    assert_eq!(from_nginx.stdout, from_server.stdout);
    // A URL that serves something else is named as not a range API.
    // (Without a query: a URL with one is refused before any request, see
    // an_api_url_with_a_query_or_fragment_is_refused_and_its_secret_never_shown.)
    let wrong = format!("{}/manifest.json", nginx.url);
    let r = dir.cmd(&["check", "--api", &wrong, "--kind", "password"]).stdin("password\n").expect(2);
    assert!(r.stderr.contains("does not look like") && r.stderr.contains("range API"), "{}", r.stderr);
    let r = dir.cmd(&["check", "--api", &wrong, "ruth@agency.example"]).expect(2);
    assert!(r.stderr.contains("does not look like") && r.stderr.contains("range API"), "{}", r.stderr);
    drop(nginx);
    drop(server);

    let server = Server::start(&dir, &["-i", &em]);
    let nginx = start_nginx(&dir, &dir.path("em-ranges"));
    let staff = repo("data/staff.csv");
    let local = dir.cmd(&["bulk", "-i", &em, "--format", "json", &staff]).expect(1);
    let via_server = dir.cmd(&["bulk", "--api", &server.url, "--format", "json", &staff]).expect(1);
    let via_nginx = dir.cmd(&["bulk", "--api", &nginx.url, "--format", "json", &staff]).expect(1);
    assert_eq!(json_lines(&via_nginx.stdout), json_lines(&via_server.stdout));
    assert_eq!(json_lines(&via_nginx.stdout), without_first_seen(&local.stdout));
    // The export carries the breach catalogue: the table shows the same breach dates.
    let local = dir.cmd(&["bulk", "-i", &em, &staff]).expect(1);
    let via_nginx = dir.cmd(&["bulk", "--api", &nginx.url, &staff]).expect(1);
    assert!(local.stdout.contains("forum-2020 (2020-03-14)"), "{}", local.stdout);
    assert_eq!(via_nginx.stdout, local.stdout);
    assert_eq!(via_nginx.stderr, local.stderr);
    // Without it, the dates are missing and the summary says so, naming the server.
    std::fs::remove_file(dir.path("em-ranges/api/v3/breaches")).unwrap();
    let bare = dir.cmd(&["bulk", "--api", &nginx.url, &staff]).expect(1);
    assert!(bare.stdout.contains("forum-2020") && !bare.stdout.contains("2020-03-14"), "{}", bare.stdout);
    assert!(
        bare.stderr.contains(&format!("breach dates unavailable: {} offers no breach catalogue", nginx.url)),
        "{}",
        bare.stderr
    );
    drop(nginx);
    // Stopped with SIGQUIT and waited for: no nginx process (master or worker) is left.
    assert_eq!(processes_mentioning(&dir.path("nginx")), Vec::<String>::new());
}

#[test]
fn bounded_load_of_20000_requests_at_concurrency_64_has_no_errors() {
    let dir = Dir::new();
    let index = password_index(&dir);
    let s = Server::start(&dir, &["-i", &index, "--metrics-listen", "127.0.0.1:0"]);
    let per_thread = 20_000 / 64;
    let threads: Vec<_> = (0..64u32)
        .map(|t| {
            let url = s.url.clone();
            std::thread::spawn(move || {
                let c = http();
                let mut errors = 0;
                for i in 0..per_thread {
                    let prefix = &hex(&password_key(&(t * 100_000 + i as u32).to_le_bytes()))[..5];
                    match c.get(format!("{url}/range/{prefix}")).send() {
                        Ok(r) if r.status() == 200 => {}
                        _ => errors += 1,
                    }
                }
                errors
            })
        })
        .collect();
    let errors: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(errors, 0);
    let metrics = http().get(s.metrics_url()).send().unwrap().text().unwrap();
    assert!(metrics.contains(&format!("status=\"answered\"}} {}", per_thread * 64)), "{metrics}");
}

#[test]
fn breach_api_v3_answers_with_keys_user_agent_and_rate_limit() {
    let dir = Dir::new();
    let index = email_index(&dir);
    let key = "0123456789abcdef0123456789abcdef";
    dir.write("keys.txt", format!("# operator keys\n{key}\n"));
    let s = Server::start(&dir, &["-i", &index, "--api-keys", "keys.txt", "--rate-limit", "5"]);
    let c = http();
    let get = |path: &str, key: Option<&str>, ua: bool| {
        let mut r = reqwest::blocking::Client::builder()
            .user_agent("")
            .build()
            .unwrap()
            .get(format!("{}/api/v3/{path}", s.url));
        if let Some(k) = key {
            r = r.header("hibp-api-key", k);
        }
        if ua {
            r = r.header("user-agent", "leakdex-test");
        }
        r.send().unwrap()
    };
    let r = get("breachedaccount/Ruth%40Agency.Example", Some(key), true);
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().unwrap(), serde_json::json!([{"Name": "chat-2023"}]));
    let r =
        get("breachedaccount/aiko.tanaka@agency.example?truncateResponse=false&domain=forum.example", Some(key), true);
    let full: serde_json::Value = r.json().unwrap();
    assert_eq!(full.as_array().unwrap().len(), 1);
    assert_eq!(full[0]["Name"], "forum-2020");
    assert_eq!(full[0]["Title"], "Example Forum");
    assert_eq!(full[0]["BreachDate"], "2020-03-14");
    assert_eq!(full[0]["Domain"], "forum.example");
    assert_eq!(full[0]["IsVerified"], true);
    assert!(full[0]["PwnCount"].as_u64().unwrap() > 100);
    assert_eq!(get("breachedaccount/nobody@agency.example", Some(key), true).status(), 404);
    // Missing or wrong key: 401. No user agent: 403. Over the limit: 429 with retry-after.
    assert_eq!(get("breachedaccount/ruth@agency.example", None, true).status(), 401);
    assert_eq!(
        get("breachedaccount/ruth@agency.example", Some("ffffffffffffffffffffffffffffffff"), true).status(),
        401
    );
    assert_eq!(get("breachedaccount/ruth@agency.example", Some(key), false).status(), 403);
    let mut limited = None;
    for _ in 0..10 {
        let r = get("breachedaccount/ruth@agency.example", Some(key), true);
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let limited = limited.expect("the 5-per-minute limit was never hit");
    assert!(limited.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    // Public routes need no key.
    let all: Vec<serde_json::Value> = c.get(format!("{}/api/v3/breaches", s.url)).send().unwrap().json().unwrap();
    assert_eq!(all.len(), 4);
    let one: serde_json::Value = c.get(format!("{}/api/v3/breach/shop-2021", s.url)).send().unwrap().json().unwrap();
    assert_eq!(one["DataClasses"], serde_json::json!(["Email addresses", "Names", "Physical addresses"]));
    assert_eq!(c.get(format!("{}/api/v3/breach/nope", s.url)).send().unwrap().status(), 404);
    let classes: Vec<String> = c.get(format!("{}/api/v3/dataclasses", s.url)).send().unwrap().json().unwrap();
    assert!(classes.contains(&"Passwords".to_string()));
    let log = s.log();
    assert!(
        log.contains("/api/v3/breachedaccount/{account}") && !log.to_lowercase().contains("ruth") && !log.contains(key),
        "{log}"
    );
}

/// Installs the unmodified `hibp` npm package (the most used JavaScript HIBP client) once
/// into target/, and returns its directory.
pub(crate) fn hibp_js() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/third-party/hibp-js");
    let lock = dir.join("node_modules/hibp/package.json");
    if !lock.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("hibp@15.2.1")
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok && lock.exists(), "could not install the hibp npm package (needs node, npm and the npm registry)");
    }
    dir
}

#[test]
fn an_unmodified_third_party_hibp_client_gets_correct_answers() {
    let dir = Dir::new();
    let pw = password_index(&dir);
    let em = email_index(&dir);
    let key = "0123456789abcdef0123456789abcdef";
    dir.write("keys.txt", key);
    let pws = Server::start(&dir, &["-i", &pw]);
    let ems = Server::start(&dir, &["-i", &em, "--api-keys", "keys.txt"]);
    dir.cmd(&["export-ranges", "-i", &pw, "-o", "pw-ranges"]).expect(0);
    let nginx = start_nginx(&dir, &dir.path("pw-ranges"));
    let js = hibp_js();
    let script = format!(
        r#"
import {{ pwnedPassword, breachedAccount, breach, dataClasses }} from "hibp";
const pw = "{pw}", api = "{api}/api/v3", apiKey = "{key}";
const out = {{
  password: await pwnedPassword("password", {{ baseUrl: pw }}),
  static: [await pwnedPassword("password", {{ baseUrl: "{nginx}" }}), await pwnedPassword("P@ssw0rd", {{ baseUrl: "{nginx}" }}),
           await pwnedPassword("not in the index", {{ baseUrl: "{nginx}" }})],
  padded: await pwnedPassword("P@ssw0rd", {{ baseUrl: pw, addPadding: true }}),
  absent: await pwnedPassword("not in the index", {{ baseUrl: pw, addPadding: true }}),
  truncated: await breachedAccount("Kenji.Sato@agency.example", {{ baseUrl: api, apiKey }}),
  full: await breachedAccount("aiko.tanaka@agency.example", {{ baseUrl: api, apiKey, truncate: false, domain: "forum.example" }}),
  none: await breachedAccount("nobody@agency.example", {{ baseUrl: api, apiKey }}),
  breach: (await breach("shop-2021", {{ baseUrl: api }})).Title,
  classes: (await dataClasses({{ baseUrl: api }})).length,
}};
console.log(JSON.stringify(out));
"#,
        pw = pws.url,
        api = ems.url,
        nginx = nginx.url
    );
    let path = js.join(format!("check-{}.mjs", std::process::id()));
    std::fs::write(&path, script).unwrap();
    let out = Command::new("node").arg(&path).current_dir(&js).output().expect("run node");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "node failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["password"], 9545824);
    // The same client against nginx serving the static export: the same range answers.
    assert_eq!(v["static"], serde_json::json!([9545824, 108219, 0]));
    assert_eq!(v["padded"], 108219);
    assert_eq!(v["absent"], 0);
    assert_eq!(v["truncated"], serde_json::json!([{"Name": "forum-2020"}, {"Name": "shop-2021"}]));
    assert_eq!(v["full"][0]["Name"], "forum-2020");
    assert_eq!(v["full"][0]["BreachDate"], "2020-03-14");
    assert_eq!(v["none"], serde_json::Value::Null);
    assert_eq!(v["breach"], "Example Shop");
    assert!(v["classes"].as_u64().unwrap() >= 5);
}

/// Writes a self-signed certificate for `localhost` to cert.pem and key.pem in `dir`; returns
/// the certificate's PEM.
pub(crate) fn self_signed(dir: &Dir) -> String {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    dir.write("cert.pem", cert.cert.pem());
    dir.write("key.pem", cert.key_pair.serialize_pem());
    cert.cert.pem()
}

/// An HTTPS client that trusts `cert_pem` and sends `localhost` to 127.0.0.1:`port`; no
/// pooled connections, so every request opens one.
pub(crate) fn tls_client(cert_pem: &str, port: &str, timeout: Duration) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .resolve("localhost", format!("127.0.0.1:{port}").parse().unwrap())
        .timeout(timeout)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[test]
fn serves_https_with_the_given_certificate() {
    let dir = Dir::new();
    let index = password_index(&dir);
    let cert = self_signed(&dir);
    let s = Server::start(&dir, &["-i", &index, "--tls-cert", "cert.pem", "--tls-key", "key.pem"]);
    assert!(s.url.starts_with("https://127.0.0.1:"), "{}", s.url);
    let port = s.url.rsplit(':').next().unwrap();
    let c = tls_client(&cert, port, Duration::from_secs(20));
    let body = c.get(format!("https://localhost:{port}/range/21BD1")).send().unwrap().text().unwrap();
    assert!(body.contains("2DC183F740EE76F27B78EB39C8AD972A757:108219"), "{body}");
    // Plain HTTP to the TLS port is not answered as a range.
    assert!(http()
        .get(format!("http://127.0.0.1:{port}/range/21BD1"))
        .send()
        .map(|r| r.status() != 200)
        .unwrap_or(true));
}

/// Email range requests answered (the client's one malformed-prefix probe, a 400, aside).
fn range_requests(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("leakdex_requests_total{route=\"/range/search/{prefix}\""))
        .filter(|l| !l.contains("status=\"400\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn dummy_prefixes_hide_how_many_people_were_checked() {
    let dir = Dir::new();
    let index = email_index(&dir);
    let s = Server::start(&dir, &["-i", &index, "--metrics-listen", "127.0.0.1:0"]);
    let c = http();
    let staff = repo("data/staff.csv");
    let plain = dir.cmd(&["bulk", "--api", &s.url, "--format", "json", &staff]).expect(1);
    let after_plain = range_requests(&c.get(s.metrics_url()).send().unwrap().text().unwrap());
    assert_eq!(after_plain, 13, "one request per distinct prefix of the 13 valid addresses");
    let padded = dir.cmd(&["bulk", "--api", &s.url, "--pad-requests", "50", "--format", "json", &staff]).expect(1);
    let after_padded = range_requests(&c.get(s.metrics_url()).send().unwrap().text().unwrap());
    assert_eq!(after_padded - after_plain, 50);
    assert_eq!(json_lines(&padded.stdout), json_lines(&plain.stdout));
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_gracefully() {
    let dir = Dir::new();
    let index = password_index(&dir);
    let mut s = Server::start(&dir, &["-i", &index]);
    assert_eq!(http().get(format!("{}/range/5BAA6", s.url)).send().unwrap().status(), 200);
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) };
    let started = Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(s.log().contains("shutting down"), "{}", s.log());
}

#[test]
fn ntlm_ranges_are_served_beside_sha1_with_mode_ntlm() {
    let dir = Dir::new();
    let sha1 = password_index(&dir);
    // An NTLM index from a Pwned Passwords NTLM list (32 hex digits) and from plain passwords.
    dir.write("ntlm-list.txt", "8846F7EAEE8FB117AD06BDD830B7586C:9545824\n");
    dir.write("more.txt", "hunter2\nhunter2\n");
    dir.cmd(&["build", "-q", "--kind", "ntlm", "--format", "hashes", "-o", "ntlm.ldx", "ntlm-list.txt"]).expect(0);
    dir.cmd(&["build", "-q", "--kind", "ntlm", "-o", "ntlm2.ldx", "ntlm-list.txt", "more.txt"]).expect(0);
    let r = dir.cmd(&["check", "-i", "ntlm2.ldx", "--format", "json"]).stdin("password\nhunter2\nnope\n").expect(1);
    let rows = json_lines(&r.stdout);
    assert_eq!(rows[0]["ntlm"], "8846F7EAEE8FB117AD06BDD830B7586C");
    assert_eq!(rows[0]["count"], 9545824);
    assert_eq!(rows[1]["count"], 2);
    assert_eq!(rows[2]["exposed"], false);
    assert!(rows.iter().all(|r| r.get("sha1").is_none() && r.get("input").is_none()));

    let s = Server::start(&dir, &["-i", &sha1, "-i", "ntlm2.ldx"]);
    let c = http();
    let body = c.get(format!("{}/range/8846F?mode=ntlm", s.url)).send().unwrap().text().unwrap();
    assert_eq!(body, "7EAEE8FB117AD06BDD830B7586C:9545824");
    let body = c.get(format!("{}/range/5BAA6?mode=sha1", s.url)).send().unwrap().text().unwrap();
    assert!(body.contains("1E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824"));
    let padded =
        c.get(format!("{}/range/8846F?mode=ntlm", s.url)).header("Add-Padding", "true").send().unwrap().text().unwrap();
    assert!(padded.split("\r\n").all(|l| l.split(':').next().unwrap().len() == 27));
    assert_eq!(c.get(format!("{}/range/8846F?mode=md5", s.url)).send().unwrap().status(), 400);
    let r = dir
        .cmd(&["check", "--api", &s.url, "--kind", "ntlm", "--format", "json"])
        .stdin("password\nhunter2\nnope\n")
        .expect(1);
    // The range API carries counts, not source names.
    let strip = |mut v: Vec<serde_json::Value>| {
        v.iter_mut().for_each(|r| {
            r.as_object_mut().unwrap().remove("sources");
            r.as_object_mut().unwrap().remove("first_seen");
        });
        v
    };
    assert_eq!(strip(json_lines(&r.stdout)), strip(rows));
    drop(s);
    // Two indexes of one kind cannot be served together.
    let r = dir.cmd(&["serve", "-i", "ntlm.ldx", "-i", "ntlm2.ldx", "--listen", "127.0.0.1:0"]).expect(2);
    assert!(r.stderr.contains("two ntlm indexes"), "{}", r.stderr);
    // Without an NTLM index, mode=ntlm says so.
    let s = Server::start(&dir, &["-i", &sha1]);
    let r = c.get(format!("{}/range/8846F?mode=ntlm", s.url)).send().unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("no NTLM index"));
}

#[test]
fn connections_beyond_the_limit_wait_for_one_to_close() {
    let dir = Dir::new();
    let index = password_index(&dir);
    let s = Server::start(&dir, &["-i", &index, "--max-connections", "2"]);
    let addr = s.url.trim_start_matches("http://").to_string();
    let idle1 = std::net::TcpStream::connect(&addr).unwrap();
    let idle2 = std::net::TcpStream::connect(&addr).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let quick = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(800))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(quick.get(format!("{}/healthz", s.url)).send().is_err(), "a third connection was served");
    drop(idle1);
    let r = http().get(format!("{}/healthz", s.url)).send().unwrap();
    assert_eq!(r.status(), 200);
    drop(idle2);
}

/// A stand-in for a third-party range API that is overloaded at first: answers range requests
/// with 429 and `Retry-After: 1`, then 503, then the real body; a malformed prefix gets HIBP's
/// 400, anything else 404. Returns its URL and the times of the range requests.
/// The path of the request read from `conn` (one read: the stand-ins' requests are small).
fn request_path(conn: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut buf = [0u8; 4096];
    let n = conn.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).split(' ').nth(1).unwrap_or("").to_string()
}

/// Answers `conn` with `status` and a plain body, closing the connection.
fn reply(conn: &mut std::net::TcpStream, status: &str, text: &str) {
    use std::io::Write;
    let _ = conn.write_all(
        format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}", text.len()).as_bytes(),
    );
}

fn flaky_range_api(body: &'static str) -> (String, Arc<Mutex<Vec<Instant>>>) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let mut i = 0;
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            let path = request_path(&mut conn);
            let prefix = path.strip_prefix("/range/").unwrap_or("");
            if prefix.is_empty() {
                reply(&mut conn, "404 Not Found", "");
                continue;
            }
            if !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
                reply(&mut conn, "400 Bad Request", "The hash prefix was not in a valid format");
                continue;
            }
            log.lock().unwrap().push(Instant::now());
            i += 1;
            let resp = match i - 1 {
                0 => "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
                1 => "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
                _ => format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
            };
            let _ = conn.write_all(resp.as_bytes());
            if i == 3 {
                break;
            }
        }
    });
    (url, seen)
}

#[test]
fn the_client_retries_429_and_5xx_honouring_retry_after() {
    let dir = Dir::new();
    let (url, seen) = flaky_range_api("1E4C9B93F3F0682250B6CF8331B7EE68FD8:5\r\n0000000000000000000000000000000000A:0");
    // A stand-in with no manifest: --api-unverified trusts its malformed-prefix answer.
    let r = dir
        .cmd(&["check", "--api-unverified", "--api", &url, "--kind", "password", "--format", "json"])
        .stdin("password\n")
        .expect(1);
    assert_eq!(json_lines(&r.stdout)[0]["count"], 5);
    let t = seen.lock().unwrap().clone();
    assert_eq!(t.len(), 3);
    assert!(t[1] - t[0] >= Duration::from_millis(900), "Retry-After: 1 was not honoured: {:?}", t[1] - t[0]);
}

/// Sends `head` on a fresh connection and returns the status line of the answer ("" when the
/// server closed without one).
pub(crate) fn raw_status(addr: &str, head: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = c.write_all(head);
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    String::from_utf8_lossy(&got).lines().next().unwrap_or("").to_string()
}

/// Reads until the server closes the connection; panics if it is still open after `limit`.
pub(crate) fn wait_closed_by_server(c: &mut std::net::TcpStream, limit: Duration) {
    use std::io::Read;
    c.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("the server kept a slow connection open past {limit:?}: {e}"),
        }
    }
}

#[test]
fn slow_and_idle_clients_are_disconnected_and_others_still_served() {
    use std::io::Write;
    let dir = Dir::new();
    let index = password_index(&dir);
    let s = Server::start(&dir, &["-i", &index, "--max-connections", "6", "--header-timeout", "1"]);
    let addr = s.url.trim_start_matches("http://").to_string();
    // Six connections take every slot: three idle, three dribbling a head one byte at a time
    // (slowloris), each byte well inside the timeout so only a whole-head deadline stops them.
    let mut idle: Vec<_> = (0..3).map(|_| std::net::TcpStream::connect(&addr).unwrap()).collect();
    let slow: Vec<_> = (0..3)
        .map(|_| {
            let c = std::net::TcpStream::connect(&addr).unwrap();
            let mut probe = c.try_clone().unwrap();
            std::thread::spawn(move || {
                for b in b"GET /range/21BD1 HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".iter().chain([b'a'; 200].iter()) {
                    if probe.write_all(&[*b]).is_err() {
                        return true;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                false
            });
            c.set_nodelay(true).unwrap();
            c
        })
        .collect();
    // A real client queued behind them is served once the server drops the slow ones.
    let r = http().get(format!("{}/range/21BD1", s.url)).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("2DC183F740EE76F27B78EB39C8AD972A757:108219"));
    for c in idle.iter_mut() {
        wait_closed_by_server(c, Duration::from_secs(10));
    }
    for mut c in slow {
        wait_closed_by_server(&mut c, Duration::from_secs(10));
    }
    // A keep-alive connection that goes quiet after a request is closed too.
    let mut kept = std::net::TcpStream::connect(&addr).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    wait_closed_by_server(&mut kept, Duration::from_secs(10));
    assert_eq!(http().get(format!("{}/healthz", s.url)).send().unwrap().status(), 200);
}

#[test]
fn oversized_and_malformed_requests_get_errors_and_the_server_keeps_answering() {
    let dir = Dir::new();
    let index = password_index(&dir);
    let s = Server::start(&dir, &["-i", &index, "--max-header-bytes", "4096"]);
    let addr = s.url.trim_start_matches("http://").to_string();
    let long_url = format!("GET /range/21BD1?{} HTTP/1.1\r\nHost: localhost\r\n\r\n", "a".repeat(100_000));
    assert!(raw_status(&addr, long_url.as_bytes()).contains(" 431 "), "a 100 KB request line");
    let big_header = format!("GET /range/21BD1 HTTP/1.1\r\nHost: localhost\r\nCookie: {}\r\n\r\n", "c".repeat(8000));
    assert!(raw_status(&addr, big_header.as_bytes()).contains(" 431 "), "an 8 KB header field");
    let many: String = (0..200).map(|i| format!("X-{i}: v\r\n")).collect();
    let many_headers = format!("GET /range/21BD1 HTTP/1.1\r\nHost: localhost\r\n{many}\r\n");
    assert!(raw_status(&addr, many_headers.as_bytes()).contains(" 431 "), "200 header fields");
    for junk in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n"[..],
        b"GET /range/21BD1 HTTP/9.9\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /range/21BD1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"GET /range/21BD1 HTTP/1.1\r\nHo st: x\r\n\r\n",
        b"\0\0\0\0\0\0\0\0\r\n\r\n",
    ] {
        let status = raw_status(&addr, junk);
        assert!(status.is_empty() || status.contains(" 400 "), "{:?} got {status:?}", String::from_utf8_lossy(junk));
    }
    let ok = raw_status(&addr, b"GET /range/21BD1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(ok, "HTTP/1.1 200 OK");
    assert!(!s.log().contains("panicked"), "{}", s.log());
}

#[test]
fn https_connections_are_capped_and_stalled_handshakes_dropped() {
    let dir = Dir::new();
    let index = password_index(&dir);
    let cert = self_signed(&dir);
    let args = ["-i", &index, "--tls-cert", "cert.pem", "--tls-key", "key.pem"];
    let s = Server::start(&dir, &[&args[..], &["--max-connections", "2", "--header-timeout", "2"]].concat());
    let port = s.url.rsplit(':').next().unwrap().to_string();
    let addr = format!("127.0.0.1:{port}");
    let client = |timeout: Duration| tls_client(&cert, &port, timeout);
    let url = format!("https://localhost:{port}/range/21BD1");
    // Two connections that never start a handshake take both slots: a third client waits...
    let mut stalled: Vec<_> = (0..2).map(|_| std::net::TcpStream::connect(&addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    assert!(client(Duration::from_millis(800)).get(&url).send().is_err(), "a third connection was served");
    // ...until the server gives up on the stalled handshakes and serves it.
    let r = client(Duration::from_secs(20)).get(&url).send().unwrap();
    assert_eq!(r.status(), 200);
    for c in stalled.iter_mut() {
        wait_closed_by_server(c, Duration::from_secs(10));
    }
}

/// A one-thread HTTP server on loopback answering every request with `status`, `content_type`
/// and `body`: a stand-in for whatever web server a wrong URL reaches.
fn canned_http(status: &'static str, content_type: &'static str, body: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 8192];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    url
}

/// SHA-1 prefix (uppercase hex) of `s`, computed here with the `sha1` crate.
fn sha1_prefix(s: &str, len: usize) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(s.as_bytes()).iter().map(|b| format!("{b:02X}")).collect::<String>()[..len].to_string()
}

#[test]
fn a_wrong_api_url_is_an_error_never_a_column_of_clean() {
    let dir = Dir::new();
    let pw = password_index(&dir);
    let em = email_index(&dir);
    dir.cmd(&["export-ranges", "-i", &pw, "-o", "pw-ranges"]).expect(0);
    dir.cmd(&["export-ranges", "-i", &em, "-o", "em-ranges"]).expect(0);
    let pws = Server::start(&dir, &["-i", &pw]);
    let ems = Server::start(&dir, &["-i", &em]);
    let pw_nginx = shipped_nginx(&dir, "nginx-pw", &dir.path("pw-ranges"));
    let em_nginx = shipped_nginx(&dir, "nginx-em", &dir.path("em-ranges"));
    // The shipped configuration over a wrong (empty) export root: its own 400 for malformed
    // prefixes passes the probe, and every range would read as empty.
    std::fs::create_dir_all(dir.path("no-export")).unwrap();
    let empty_nginx = shipped_nginx(&dir, "nginx-empty", &dir.path("no-export"));
    std::fs::create_dir_all(dir.path("www")).unwrap();
    let plain_nginx = start_nginx_with(
        &dir,
        "nginx-plain",
        &format!("server {{\n listen 8080;\n root {};\n location / {{ }}\n}}\n", dir.path("www").display()),
    );
    let all_404 = canned_http("404 Not Found", "text/plain", "Not Found");
    let all_html =
        canned_http("200 OK", "text/html; charset=utf-8", "<!doctype html><html><body>Welcome</body></html>");
    let all_json = canned_http("200 OK", "application/json", "[]");

    let staff = repo("data/staff.csv");
    dir.write("passwords.txt", "password\nP@ssw0rd\nhunter2\n");
    let secrets = [
        sha1_prefix("ruth@agency.example", 6),
        sha1_prefix("aiko.tanaka@agency.example", 6),
        sha1_prefix("password", 5),
        sha1_prefix("P@ssw0rd", 5),
    ];
    let email_urls = [
        format!("{}/rnage", ems.url),  // a typo in the path
        format!("{}/api/v3", ems.url), // a trailing path
        pws.url.clone(),               // a password-only leakdex serve
        pw_nginx.url.clone(),          // nginx serving a password export
        plain_nginx.url.clone(),       // nginx answering 404 for everything
        all_404.clone(),               // any server answering 404
        all_html.clone(),              // a page for everything
        all_json.clone(),              // an empty JSON list for everything
        empty_nginx.url.clone(),       // the shipped nginx config over a wrong root
    ];
    let password_urls = [
        format!("{}/rnage", pws.url),
        format!("{}/api/v3", pws.url),
        format!("{}/range", pws.url),
        ems.url.clone(), // an email-only leakdex serve
        em_nginx.url.clone(),
        plain_nginx.url.clone(),
        all_404.clone(),
        all_html.clone(),
        empty_nginx.url.clone(),
    ];
    let check_one = |r: crate::util::Run, url: &str| {
        let err = r.stderr.trim_end();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(url) && err.contains("check the --api URL and --kind"), "{url}: {err}");
        assert!(r.stdout.is_empty(), "{url}: rows were printed: {}", r.stdout);
        for p in &secrets {
            assert!(!err.contains(p.as_str()), "{url}: a hash prefix in the message: {err}");
        }
    };
    for url in &email_urls {
        check_one(dir.cmd(&["check", "--api", url, "ruth@agency.example"]).expect(2), url);
        check_one(dir.cmd(&["bulk", "--api", url, &staff]).expect(2), url);
        check_one(dir.cmd(&["bulk", "--api", url, "--format", "json", &staff]).expect(2), url);
    }
    for url in &password_urls {
        check_one(dir.cmd(&["check", "--api", url, "--kind", "password"]).stdin("password\nP@ssw0rd\n").expect(2), url);
        check_one(dir.cmd(&["bulk", "--api", url, "--kind", "password", "passwords.txt"]).expect(2), url);
    }
    // NTLM asked of servers holding SHA-1 ranges only.
    for url in [&pws.url, &pw_nginx.url] {
        check_one(dir.cmd(&["check", "--api", url, "--kind", "ntlm"]).stdin("password\n").expect(2), url);
    }
    // What the messages say about what was answered: no manifest, and with --api-unverified
    // (which trusts the malformed-prefix probe alone) what the probe got.
    let r = dir.cmd(&["check", "--api", &empty_nginx.url, "ruth@agency.example"]).expect(2);
    assert!(r.stderr.contains("no manifest.json") && r.stderr.contains("--api-unverified"), "{}", r.stderr);
    let r = dir.cmd(&["check", "--api-unverified", "--api", &all_html, "ruth@agency.example"]).expect(2);
    assert!(r.stderr.contains("200 (text/html; charset=utf-8)"), "{}", r.stderr);
    let r = dir
        .cmd(&["check", "--api-unverified", "--api", &format!("{}/rnage", pws.url), "--kind", "password"])
        .stdin("x\n")
        .expect(2);
    assert!(r.stderr.contains("answered 404"), "{}", r.stderr);
    let r = dir.cmd(&["check", "--api", &em_nginx.url, "--kind", "password"]).stdin("x\n").expect(2);
    assert!(r.stderr.contains("manifest.json describes email ranges"), "{}", r.stderr);
    // A password in the URL is never shown.
    let with_secret = pws.url.replace("http://", "http://user:hunter2secret@");
    let r = dir.cmd(&["check", "--api", &format!("{with_secret}/rnage"), "--kind", "password"]).stdin("x\n").expect(2);
    assert!(!r.stderr.contains("hunter2secret") && r.stderr.contains("***:***@"), "{}", r.stderr);
    // The right URLs still answer, through the same servers.
    dir.cmd(&["check", "--api", &ems.url, "ruth@agency.example"]).expect(1);
    dir.cmd(&["check", "--api", &em_nginx.url, "ruth@agency.example"]).expect(1);
    dir.cmd(&["check", "--api", &em_nginx.url, "nobody@agency.example"]).expect(0);
    dir.cmd(&["check", "--api", &pw_nginx.url, "--kind", "password"]).stdin("password\n").expect(1);
    dir.cmd(&["check", "--api", &format!("{}/", pws.url), "--kind", "password"]).stdin("not-leaked\n").expect(0);
}

#[test]
fn cors_preflights_with_add_padding_are_answered() {
    let dir = Dir::new();
    let pw = password_index(&dir);
    let em = email_index(&dir);
    let s = Server::start(&dir, &["-i", &pw, "-i", &em, "--cors-origin", "*"]);
    let c = http();
    for path in ["/range/5BAA6", "/range/search/567159", "/api/v3/breaches", "/api/v3/breach/shop-2021"] {
        // What a browser sends before a GET with Add-Padding from another origin.
        let r = c
            .request(reqwest::Method::OPTIONS, format!("{}{path}", s.url))
            .header("Origin", "https://app.example")
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "add-padding")
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        let h =
            |name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_ascii_lowercase()).unwrap_or_default();
        assert_eq!(h("access-control-allow-origin"), "*", "{path}");
        assert!(h("access-control-allow-methods").contains("get"), "{path}");
        for want in ["add-padding", "hibp-api-key"] {
            assert!(h("access-control-allow-headers").contains(want), "{path}: {}", h("access-control-allow-headers"));
        }
        assert_eq!(h("access-control-max-age"), "86400", "{path}");
    }
    // The GET that follows: one Access-Control-Allow-Origin, and Vary still names Add-Padding.
    let r = c
        .get(format!("{}/range/5BAA6", s.url))
        .header("Origin", "https://app.example")
        .header("Add-Padding", "true")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let acao: Vec<_> = r.headers().get_all("access-control-allow-origin").iter().collect();
    assert_eq!(acao, ["*"]);
    assert_eq!(r.headers()["vary"], "Add-Padding");
    // Errors of those routes carry it too, so a browser can read them.
    let r = c.get(format!("{}/range/XYZ", s.url)).header("Origin", "https://app.example").send().unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["access-control-allow-origin"].to_str().unwrap()), (400, "*"));
    // Other methods are still refused.
    assert_eq!(c.post(format!("{}/range/5BAA6", s.url)).send().unwrap().status(), 405);
}

#[test]
fn serve_logs_padding_in_words_not_rust_enum_names() {
    let dir = Dir::new();
    let pw = password_index(&dir);
    let em = email_index(&dir);
    let s = Server::start(&dir, &["-i", &pw, "-i", &em]);
    let log = s.log();
    assert!(log.contains("padding on request (800 to 1,000 lines when the client sends Add-Padding: true)"), "{log}");
    assert!(log.contains("padding constant ("), "{log}");
    for debug in ["Constant", "OnRequest", "Some(", "None", "{", "\""] {
        assert!(!log.contains(debug), "{debug:?} in the log:\n{log}");
    }
}

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `leakdex serve` with stderr the write end of a pipe; `read_end_open` keeps the read
/// end (never read: the pipe fills) or closes it (writes fail with EPIPE).
#[cfg(unix)]
fn serve_with_stderr_pipe(dir: &Dir, index: &str, read_end_open: bool) -> (Killed, String, Option<std::fs::File>) {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: pipe2(2) fills two fresh descriptors, each owned by one File below. Close-on-exec,
    // so that no child (this server included) inherits the read end and keeps the pipe open.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (read, write) = unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) };
    let read = if read_end_open { Some(read) } else { None };
    let port = free_port();
    let child = Killed(
        Command::new(env!("CARGO_BIN_EXE_leakdex"))
            .current_dir(dir.root())
            .args(["serve", "-i", index, "--listen", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(write))
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, url, read)
}

/// A child process killed (SIGKILL) and reaped on drop, also when the test fails.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
#[test]
fn serve_keeps_answering_when_stderr_is_a_closed_or_full_pipe() {
    let dir = Dir::new();
    let index = password_index(&dir);
    for read_end_open in [false, true] {
        let (mut child, url, read) = serve_with_stderr_pipe(&dir, &index, read_end_open);
        let c = http();
        // Each request logs a line: 3,000 lines are far more than a pipe holds (64 KiB).
        for i in 0..3000u32 {
            let prefix = &hex(&password_key(&i.to_le_bytes()))[..5];
            let r = c.get(format!("{url}/range/{prefix}")).send();
            assert!(
                r.as_ref().is_ok_and(|r| r.status() == 200),
                "request {i} failed with stderr {}: {r:?}",
                if read_end_open { "full" } else { "closed" }
            );
        }
        assert!(child.0.try_wait().unwrap().is_none(), "serve exited");
        drop(child);
        drop(read);
    }
}

#[cfg(unix)]
#[test]
fn an_index_overwritten_in_place_is_not_followed_and_the_log_says_use_mv() {
    let dir = Dir::new();
    dir.write("a.txt", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:1\n");
    dir.write("b.txt", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:2\n");
    let mut more = String::from("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\n");
    for i in 0..2000u32 {
        more.push_str(&format!("{}:1\n", hex(&password_key(&i.to_le_bytes()))));
    }
    dir.write("c.txt", more);
    for (src, out) in [("a.txt", "a.ldx"), ("b.txt", "b.ldx"), ("c.txt", "c.ldx")] {
        dir.cmd(&["build", "-q", "--kind", "password", "-o", out, src]).expect(0);
    }
    let size = |p: &str| std::fs::metadata(dir.path(p)).unwrap().len();
    assert_eq!(size("a.ldx"), size("b.ldx"));
    assert_ne!(size("a.ldx"), size("c.ldx"));
    let c = http();
    // Overwritten with a file of another size, with one of the same size, and as `cp -p`
    // does (same size, the old modification time put back).
    for (replacement, keep_mtime) in [("c.ldx", false), ("b.ldx", false), ("b.ldx", true)] {
        let _ = std::fs::remove_file(dir.path("live.ldx"));
        std::fs::copy(dir.path("a.ldx"), dir.path("live.ldx")).unwrap();
        let s = Server::start(&dir, &["-i", "live.ldx"]);
        let url = format!("{}/range/5BAA6", s.url);
        assert_eq!(c.get(&url).send().unwrap().text().unwrap(), "1E4C9B93F3F0682250B6CF8331B7EE68FD8:1");
        let before = std::fs::metadata(dir.path("live.ldx")).unwrap();
        if !keep_mtime {
            // chmod and a new hard link change only the status time: not a rewrite.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path("live.ldx"), std::fs::Permissions::from_mode(0o600)).unwrap();
            let _ = std::fs::remove_file(dir.path("link.ldx"));
            std::fs::hard_link(dir.path("live.ldx"), dir.path("link.ldx")).unwrap();
            std::thread::sleep(Duration::from_millis(2500));
            assert_eq!(c.get(&url).send().unwrap().status(), 200, "{}", s.log());
            assert!(!s.log().contains("overwritten in place"), "{}", s.log());
        }
        std::thread::sleep(Duration::from_millis(20));
        // `cp new.ldx live.ldx`: same inode, new content.
        std::fs::copy(dir.path(replacement), dir.path("live.ldx")).unwrap();
        if keep_mtime {
            let f = std::fs::OpenOptions::new().write(true).open(dir.path("live.ldx")).unwrap();
            f.set_modified(before.modified().unwrap()).unwrap();
        }
        {
            use std::os::unix::fs::MetadataExt;
            let after = std::fs::metadata(dir.path("live.ldx")).unwrap();
            assert_eq!(after.ino(), before.ino());
            if keep_mtime {
                assert_eq!((after.len(), after.modified().unwrap()), (before.len(), before.modified().unwrap()));
            }
        }
        let started = Instant::now();
        while !s.log().contains("overwritten in place") {
            assert!(started.elapsed() < Duration::from_secs(15), "not noticed: {}", s.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = s.log();
        let warning: Vec<&str> = log.lines().filter(|l| l.contains("overwritten in place")).collect();
        assert_eq!(warning.len(), 1, "{warning:?}");
        assert!(warning[0].contains("live.ldx"), "{}", warning[0]);
        assert!(warning[0].contains("WARNING") && warning[0].contains("mv new.ldx"), "{}", warning[0]);
        // Never the half-followed file: 503 for its ranges, not an answer, and the process lives.
        for _ in 0..5 {
            let r = c.get(&url).send().unwrap();
            assert_eq!(r.status(), 503, "{replacement}");
        }
        assert_eq!(c.get(format!("{}/healthz", s.url)).send().unwrap().status(), 503);
        // The client does not read that as clean.
        let r = dir.cmd(&["check", "--api", &s.url, "--kind", "password"]).stdin("password\n").run();
        assert_eq!(r.status, Some(2), "{}", r.stderr);
        // Replaced by rename: followed again.
        dir.cmd(&["build", "-q", "--kind", "password", "-o", "live.ldx", "b.txt"]).expect(0);
        let started = Instant::now();
        loop {
            let r = c.get(&url).send().unwrap();
            if r.status() == 200 {
                assert_eq!(r.text().unwrap(), "1E4C9B93F3F0682250B6CF8331B7EE68FD8:2");
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "the renamed index was not picked up");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(c.get(format!("{}/healthz", s.url)).send().unwrap().status(), 200);
    }
}

/// A range API that answers the client's checks (HIBP's 400 for a malformed prefix, 404 for
/// anything else) and then drops every range request without an answer: a server dying mid-run.
fn dying_range_api() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let path = head.split(' ').nth(1).unwrap_or("");
            let resp = if path.contains("ZZZZZ") {
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 41\r\nConnection: close\r\n\r\nThe hash prefix was not in a valid format"
            } else if path.contains("/range/") {
                continue; // dropped: the connection closes with no answer
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            };
            let _ = conn.write_all(resp.as_bytes());
        }
    });
    url
}

#[test]
fn a_server_failing_mid_run_is_an_error_that_names_no_prefix() {
    let dir = Dir::new();
    let url = dying_range_api();
    // A stand-in without a manifest: accepted with --api-unverified, to reach the failure.
    let r = dir.cmd(&["check", "--api-unverified", "--api", &url, "--kind", "password"]).stdin("password\n").expect(2);
    assert!(r.stderr.contains(&format!("cannot reach the range API at {url}")), "{}", r.stderr);
    assert!(!r.stderr.contains(&sha1_prefix("password", 5)), "a prefix in the error: {}", r.stderr);
    assert!(!r.stdout.contains("clean"), "{}", r.stdout);
    let r = dir.cmd(&["check", "--api-unverified", "--api", &url, "ruth@agency.example"]).expect(2);
    assert!(!r.stderr.contains(&sha1_prefix("ruth@agency.example", 6)), "a prefix in the error: {}", r.stderr);
}

#[test]
fn a_dead_range_api_ends_the_run_after_one_prefixs_retries_not_all_of_them() {
    let dir = Dir::new();
    let url = dying_range_api();
    // 4,000 prefixes against a server that drops every range request: each prefix's retries
    // take seconds, so trying them all took hours; the first hard failure must end the run.
    let mut c = dir.cmd(&["check", "--api-unverified", "--api", &url, "--kind", "password", "--pad-requests", "4000"]);
    c.c.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = c.c.spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"password\n").unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still retrying after 120 s: the batch did not stop at the first failed prefix");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status.code(), Some(2));
}

/// A password range stand-in on loopback that records every prefix asked, in arrival order,
/// and answers each with an empty range (malformed prefixes get the API's 400).
fn recording_range_api() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let path = request_path(&mut conn);
            let prefix = path.strip_prefix("/range/").unwrap_or("");
            if prefix.len() == 5 && prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
                log.lock().unwrap().push(prefix.to_string());
                reply(&mut conn, "200 OK", "");
            } else if prefix.is_empty() {
                reply(&mut conn, "404 Not Found", "");
            } else {
                reply(&mut conn, "400 Bad Request", "The hash prefix was not in a valid format");
            }
        }
    });
    (url, seen)
}

#[test]
fn dummy_prefixes_are_unpredictable_and_mixed_in_random_order() {
    let dir = Dir::new();
    let passwords = ["password", "P@ssw0rd", "hunter2"];
    let real: Vec<String> = passwords.iter().map(|p| sha1_prefix(p, 5)).collect();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (url, seen) = recording_range_api();
        dir.cmd(&["check", "--api-unverified", "--api", &url, "--kind", "password", "--pad-requests", "64"])
            .stdin(passwords.join("\n") + "\n")
            .expect(0);
        let asked = seen.lock().unwrap().clone();
        assert_eq!(asked.len(), 64, "{asked:?}");
        assert!(real.iter().all(|p| asked.contains(p)), "a real prefix was not asked");
        runs.push(asked);
    }
    let dummies = |asked: &[String]| -> std::collections::BTreeSet<String> {
        asked.iter().filter(|p| !real.contains(p)).cloned().collect()
    };
    // Drawn from the OS's CSPRNG: two runs share (almost) no dummy.
    assert!(dummies(&runs[0]).intersection(&dummies(&runs[1])).count() < 8, "{runs:?}");
    // Not in hex order (where real prefixes sit at predictable places among dummies): requests
    // go 8 at a time, so a sorted sequence arrives with each prefix within 8 places of its
    // sorted rank; a shuffled one moves some far away.
    let displaced = |r: &Vec<String>| {
        let mut sorted = r.clone();
        sorted.sort();
        r.iter().enumerate().map(|(i, p)| sorted.iter().position(|q| q == p).unwrap().abs_diff(i)).max().unwrap()
    };
    assert!(runs.iter().all(|r| displaced(r) >= 16), "{runs:?}");
}
