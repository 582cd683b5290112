//! `POST /api/v1/check` (issue 12): a sign-up form's email and password by full SHA-1, over
//! real loopback HTTP against `leakdex serve --enable-check-api`. Expected hashes come from
//! Python's hashlib, counts and sources from the test's own corpus.

use serde_json::{json, Value};

use crate::server::{http, Server};
use crate::util::Dir;

/// Uppercase hex SHA-1 of each string's UTF-8 bytes, computed by Python's hashlib.
pub(crate) fn py_sha1(texts: &[&str]) -> Vec<String> {
    let script = "import hashlib, json, sys\nfor t in json.load(sys.stdin): print(hashlib.sha1(t.encode('utf-8')).hexdigest().upper())";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(serde_json::to_string(texts).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

/// Two combolist sources, built into an email index and a password index:
/// - alice@example.com: shop twice, forum once (as `Alice@Example.com`): count 3, both sources;
/// - bob@example.org: shop once; carol@example.net: forum once;
/// - passwords: `correct horse battery` in shop and forum (2), `Tr0ub4dor&3` twice in shop,
///   `sommer2019` once in forum.
pub(crate) fn signup_indexes(dir: &Dir) -> (String, String) {
    dir.write(
        "shop.txt",
        "alice@example.com:Tr0ub4dor&3\nbob@example.org:correct horse battery\nalice@example.com:Tr0ub4dor&3\n",
    );
    dir.write("forum.txt", "Alice@Example.com:sommer2019\ncarol@example.net:correct horse battery\n");
    dir.cmd(&["build", "-q", "-o", "emails.ldx", "shop.txt", "forum.txt"]).expect(0);
    dir.cmd(&["build", "-q", "--kind", "password", "-o", "passwords.ldx", "shop.txt", "forum.txt"]).expect(0);
    ("emails.ldx".into(), "passwords.ldx".into())
}

fn post(server: &Server, body: &str) -> reqwest::blocking::Response {
    http()
        .post(format!("{}/api/v1/check", server.url))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap()
}

#[test]
fn check_api_is_404_unless_enabled() {
    let dir = Dir::new();
    let (emails, passwords) = signup_indexes(&dir);
    let server = Server::start(&dir, &["-i", &emails, "-i", &passwords]);
    let h = py_sha1(&["alice@example.com"]);
    let r = post(&server, &json!({ "email_sha1": h[0] }).to_string());
    assert_eq!(r.status(), 404);
    assert!(!server.log().contains("/api/v1/check enabled"), "{}", server.log());
}

#[test]
fn check_api_answers_email_and_password_by_full_hash() {
    let dir = Dir::new();
    let (emails, passwords) = signup_indexes(&dir);
    let server = Server::start(&dir, &["-i", &emails, "-i", &passwords, "--enable-check-api"]);
    assert!(server.log().contains("NOT k-anonymous"), "{}", server.log());
    let h = py_sha1(&[
        "alice@example.com",
        "correct horse battery",
        "bob@example.org",
        "Tr0ub4dor&3",
        "dave@example.com",
        "not leaked anywhere",
    ]);
    let ask = |email: &str, password: &str| -> Value {
        let r = post(&server, &json!({ "email_sha1": email, "password_sha1": password }).to_string());
        assert_eq!(r.status(), 200);
        r.json().unwrap()
    };
    let v = ask(&h[0], &h[1]);
    assert_eq!(v["email"], json!({"exposed": true, "count": 3, "sources": ["shop", "forum"]}));
    assert_eq!(v["password"], json!({"exposed": true, "count": 2, "sources": ["shop", "forum"]}));
    // Lowercase hex is the same hash.
    let v = ask(&h[2].to_lowercase(), &h[3].to_lowercase());
    assert_eq!(v["email"], json!({"exposed": true, "count": 1, "sources": ["shop"]}));
    assert_eq!(v["password"], json!({"exposed": true, "count": 2, "sources": ["shop"]}));
    let v = ask(&h[4], &h[5]);
    assert_eq!(v["email"], json!({"exposed": false, "count": 0, "sources": []}));
    assert_eq!(v["password"], json!({"exposed": false, "count": 0, "sources": []}));
    // Either field alone: the other is null.
    let v: Value = post(&server, &json!({ "password_sha1": h[1] }).to_string()).json().unwrap();
    assert_eq!((v["email"].clone(), v["password"]["count"].clone()), (Value::Null, json!(2)));
    let v: Value = post(&server, &json!({ "email_sha1": h[0] }).to_string()).json().unwrap();
    assert_eq!((v["email"]["count"].clone(), v["password"].clone()), (json!(3), Value::Null));
    // The access log names the route, in the lookup class; nothing of the requests is in it:
    // no hash, not even a prefix of one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !server.log().contains("POST /api/v1/check answered") {
        assert!(std::time::Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let log = server.log();
    for hash in &h {
        assert!(!log.contains(&hash[..6]) && !log.contains(&hash[..6].to_lowercase()), "{hash} in {log}");
    }
}

#[test]
fn check_api_answers_are_one_size_whatever_they_say() {
    let dir = Dir::new();
    let (emails, passwords) = signup_indexes(&dir);
    let server = Server::start(&dir, &["-i", &emails, "-i", &passwords, "--enable-check-api"]);
    let h = py_sha1(&["alice@example.com", "correct horse battery", "nobody@example.com", "unleaked pass phrase"]);
    let mut seen = Vec::new();
    for (e, p) in [(0, 1), (2, 3), (0, 3), (2, 1)] {
        for gzip in [false, true] {
            let mut req = http()
                .post(format!("{}/api/v1/check", server.url))
                .header("content-type", "application/json")
                .body(json!({ "email_sha1": h[e], "password_sha1": h[p] }).to_string());
            if gzip {
                req = req.header("accept-encoding", "gzip, br");
            }
            let r = req.send().unwrap();
            assert_eq!(r.status(), 200);
            let headers = r.headers().clone();
            assert!(headers.get("etag").is_none() && headers.get("content-encoding").is_none());
            assert_eq!(headers["cache-control"], "no-store");
            let mut names: Vec<String> = headers.keys().map(|k| k.to_string()).filter(|k| k != "date").collect();
            names.sort();
            let body = r.text().unwrap();
            seen.push((body.len(), names));
            // Still JSON, padding and all.
            let _: Value = serde_json::from_str(&body).unwrap();
        }
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

#[test]
fn check_api_refuses_bad_input_naming_the_field_and_never_echoes_it() {
    let dir = Dir::new();
    let (emails, _) = signup_indexes(&dir);
    // An email index only: a password hash is asked of an index the server does not hold.
    let server = Server::start(&dir, &["-i", &emails, "--enable-check-api"]);
    let h = py_sha1(&["alice@example.com", "hunter2"]);
    let cases: Vec<(String, u16, Value)> = vec![
        (json!({ "email_sha1": &h[0][..39] }).to_string(), 400, json!("email_sha1")),
        (json!({ "email_sha1": format!("{}Z", &h[0][..39]) }).to_string(), 400, json!("email_sha1")),
        (json!({ "email_sha1": 42 }).to_string(), 400, json!("email_sha1")),
        (json!({ "password": "hunter2" }).to_string(), 400, Value::Null),
        (json!({ "email_sha1": h[0], "hunter2 is my password": 1 }).to_string(), 400, Value::Null),
        (json!({}).to_string(), 400, Value::Null),
        ("[\"not an object\"]".to_string(), 400, Value::Null),
        ("{\"email_sha1\": ".to_string(), 400, Value::Null),
        (json!({ "password_sha1": h[1] }).to_string(), 404, json!("password_sha1")),
        (json!({ "email_sha1": "x".repeat(2000) }).to_string(), 413, Value::Null),
    ];
    for (body, status, field) in cases {
        let r = post(&server, &body);
        assert_eq!(r.status(), status, "{body}");
        let v: Value = r.json().unwrap();
        assert_eq!(v["field"], field, "{body}: {v}");
        let message = v["error"].as_str().unwrap();
        assert!(!message.contains("hunter2") && !message.contains(&h[0][..6]), "{message}");
    }
    // JSON only: a form post (which a page elsewhere could send without a preflight) is 415.
    let r = http()
        .post(format!("{}/api/v1/check", server.url))
        .header("content-type", "text/plain")
        .body(json!({ "email_sha1": h[0] }).to_string())
        .send()
        .unwrap();
    assert_eq!(r.status(), 415);
    // Only POST.
    assert_eq!(http().get(format!("{}/api/v1/check", server.url)).send().unwrap().status(), 405);
    let log = server.log();
    assert!(!log.contains("hunter2") && !log.contains(&h[0][..6]) && !log.contains(&h[1][..6]), "{log}");
}

#[test]
fn check_api_unknown_field_names_are_never_echoed_even_when_they_look_like_field_names() {
    let dir = Dir::new();
    let (emails, passwords) = signup_indexes(&dir);
    let server = Server::start(&dir, &["-i", &emails, "-i", &passwords, "--enable-check-api"]);
    let h = py_sha1(&["hunter2"]);
    // Secrets sent as keys, each a plausible field name (letters, digits, underscores).
    let secrets = ["Summer2024", "hunter2", "CorrectHorseBattery_1", "Tr0ub4dor_3"];
    let bodies = [
        json!({ "Summer2024": "x" }),
        json!({ "hunter2": true }),
        json!({ "password_sha1": h[0], "CorrectHorseBattery_1": 1 }),
        json!({ "Tr0ub4dor_3": null, "email_sha1": h[0] }),
    ];
    for body in bodies {
        let body = body.to_string();
        let r = post(&server, &body);
        assert_eq!(r.status(), 400, "{body}");
        let text = r.text().unwrap();
        for s in secrets {
            assert!(!text.contains(s), "{s} echoed: {text}");
        }
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["field"], Value::Null, "{text}");
        assert!(v["error"].as_str().unwrap().contains("unknown field"), "{text}");
    }
    let log = server.log();
    for s in secrets {
        assert!(!log.contains(s), "{s} logged: {log}");
    }
}

#[test]
fn check_api_takes_the_range_routes_keys() {
    let dir = Dir::new();
    let (emails, passwords) = signup_indexes(&dir);
    dir.write("keys.txt", "0123456789abcdef0123456789abcdef\n");
    // Email ranges need a key once keys are configured: so does the check API.
    let server =
        Server::start(&dir, &["-i", &emails, "-i", &passwords, "--enable-check-api", "--api-keys", "keys.txt"]);
    let h = py_sha1(&["correct horse battery"]);
    let body = json!({ "password_sha1": h[0] }).to_string();
    assert_eq!(post(&server, &body).status(), 401);
    let r = http()
        .post(format!("{}/api/v1/check", server.url))
        .header("content-type", "application/json")
        .header("hibp-api-key", "0123456789abcdef0123456789abcdef")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["password"]["count"], 2);
}
