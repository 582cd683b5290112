//! Arbitrary request lines and headers through the real router over a small real index: every
//! answer is a status, never a panic.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

fn app() -> &'static (tokio::runtime::Runtime, axum::Router) {
    static APP: OnceLock<(tokio::runtime::Runtime, axum::Router)> = OnceLock::new();
    APP.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        let corpus = dir.join("fuzz.txt");
        std::fs::write(&corpus, "a@example.com\nb@example.org:pw\n").expect("write corpus");
        let index = dir.join("fuzz.ldx");
        let opts = leakdex_core::BuildOptions::new(leakdex_core::Kind::Email);
        leakdex_core::build(&[leakdex_core::InputSpec::path(&corpus)], &index, &opts, &mut |_| {}).expect("build");
        let mut config = leakdex_server::Config::new(index, "127.0.0.1:0".parse().expect("addr"));
        config.keys.keys.insert("0123456789abcdef0123456789abcdef".into());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let router = rt.block_on(async { leakdex_server::app(config).expect("app") });
        (rt, router)
    })
}

fuzz_target!(|data: &[u8]| {
    let (rt, router) = app();
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let target = lines.next().unwrap_or("/");
    let (method, path) = target.split_once(' ').unwrap_or(("GET", target));
    let mut req = Request::builder().method(method).uri(path);
    for line in lines.take(16) {
        if let Some((k, v)) = line.split_once(':') {
            req = req.header(k.trim(), v.trim());
        }
    }
    let Ok(req) = req.body(Body::empty()) else { return };
    let resp = rt.block_on(router.clone().oneshot(req)).expect("infallible");
    assert!(resp.status().as_u16() >= 200);
});
