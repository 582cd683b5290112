//! Arbitrary request lines and headers through the real router over a small real index: every
//! answer is a status, never a panic. Two servers with keys configured take turns (the input's
//! first byte picks one, and the client address), so the key checks, the per-key and
//! per-address limits and the wrong-key throttle are all driven: one with tight limits (email
//! ranges need a key, password ranges take one optionally), one unlimited (email ranges take a
//! key optionally, password ranges need one).
#![no_main]

use std::net::IpAddr;
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use leakdex_server::access::{ClientAddr, KeyPolicy, RangeAccess};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

/// The key configured on both servers; seeds use it in `hibp-api-key`.
const KEY: &str = "0123456789abcdef0123456789abcdef";

fn apps() -> &'static (tokio::runtime::Runtime, [axum::Router; 2]) {
    static APPS: OnceLock<(tokio::runtime::Runtime, [axum::Router; 2])> = OnceLock::new();
    APPS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        let corpus = dir.join("fuzz.txt");
        std::fs::write(&corpus, "a@example.com\nb@example.org:pw\n").expect("write corpus");
        let email = dir.join("fuzz.ldx");
        let opts = leakdex_core::BuildOptions::new(leakdex_core::Kind::Email);
        leakdex_core::build(&[leakdex_core::InputSpec::path(&corpus)], &email, &opts, &mut |_| {}).expect("build");
        let hashes = dir.join("pw.txt");
        std::fs::write(&hashes, "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\n").expect("write hashes");
        let pw = dir.join("pw.ldx");
        let opts = leakdex_core::BuildOptions::new(leakdex_core::Kind::Password);
        leakdex_core::build(&[leakdex_core::InputSpec::path(&hashes)], &pw, &opts, &mut |_| {}).expect("build");
        let config = |access: RangeAccess, per_minute: u32| {
            let mut config = leakdex_server::Config::new(email.clone(), "127.0.0.1:0".parse().expect("addr"));
            config.indexes.push(pw.clone());
            config.keys.keys.insert(KEY.into());
            config.keys.per_minute = per_minute;
            config.range_access = access;
            // POST /api/v1/check on both, so that its body parsing is driven too.
            config.enable_check_api = true;
            config
        };
        let tight = RangeAccess {
            email: Some(KeyPolicy::Required),
            password: KeyPolicy::Optional,
            per_key_per_minute: 20,
            per_address_per_minute: 20,
            key_failures_per_minute: 5,
        };
        let open = RangeAccess {
            email: Some(KeyPolicy::Optional),
            password: KeyPolicy::Required,
            per_key_per_minute: 0,
            per_address_per_minute: 0,
            key_failures_per_minute: 0,
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let routers = rt.block_on(async {
            [
                leakdex_server::app(config(tight, 20)).expect("app"),
                leakdex_server::app(config(open, 0)).expect("app"),
            ]
        });
        (rt, routers)
    })
}

fuzz_target!(|data: &[u8]| {
    let (rt, routers) = apps();
    let (pick, data) = data.split_first().map_or((0, data), |(b, rest)| (*b, rest));
    let router = &routers[usize::from(pick & 1)];
    let text = String::from_utf8_lossy(data);
    // A blank line ends the head; what follows is the request body (POST /api/v1/check).
    let (head, body) = text.split_once("\n\n").unwrap_or((&*text, ""));
    let mut lines = head.split('\n');
    let target = lines.next().unwrap_or("/");
    let (method, path) = target.split_once(' ').unwrap_or(("GET", target));
    let mut req = Request::builder().method(method).uri(path);
    for line in lines.take(16) {
        if let Some((k, v)) = line.split_once(':') {
            req = req.header(k.trim(), v.trim());
        }
    }
    let Ok(mut req) = req.body(Body::from(body.to_string())) else { return };
    // One of eight client addresses, or none (embedded without one).
    if pick & 0x10 == 0 {
        req.extensions_mut().insert(ClientAddr(IpAddr::from([192, 0, 2, (pick >> 1) & 7])));
    }
    let resp = rt.block_on(router.clone().oneshot(req)).expect("infallible");
    assert!(resp.status().as_u16() >= 200);
});
