//! `leakdex serve` and `leakdex export-ranges`.

use anyhow::{Context, Result};
use leakdex_server::access::KeyPolicy;
use leakdex_server::{Config, Padding};

use crate::args::{ExportRangesArgs, KeyPolicyArg, PaddingArg, ServeArgs};
use crate::Outcome;

pub fn run(a: ServeArgs) -> Result<Outcome> {
    let mut config = Config::new(a.indexes[0].clone(), a.listen);
    config.indexes = a.indexes.clone();
    config.padding = a.padding.map(|p| match p {
        PaddingArg::OnRequest => Padding::OnRequest,
        PaddingArg::Constant => Padding::Constant,
    });
    config.min_k = a.min_k;
    config.request_timeout = std::time::Duration::from_secs(a.timeout.max(1));
    config.max_concurrency = a.max_concurrency.max(1);
    config.max_connections = a.max_connections.max(1);
    config.header_timeout = std::time::Duration::from_secs(a.header_timeout.max(1));
    config.max_header_bytes = a.max_header_bytes;
    if let Some(path) = &a.api_keys {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading API keys from {}", path.display()))?;
        config.keys.keys.extend(leakdex_server::breach::Keys::parse(&text));
    }
    if let Ok(env) = std::env::var("LEAKDEX_API_KEYS") {
        config.keys.keys.extend(env.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_string));
    }
    config.keys.per_minute = a.rate_limit;
    let policy = |p: KeyPolicyArg| match p {
        KeyPolicyArg::Required => KeyPolicy::Required,
        KeyPolicyArg::Optional => KeyPolicy::Optional,
        KeyPolicyArg::Off => KeyPolicy::Off,
    };
    config.range_access = leakdex_server::access::RangeAccess {
        email: a.range_keys.map(policy),
        password: policy(a.password_range_keys),
        per_key_per_minute: a.range_rate_limit,
        per_address_per_minute: a.address_rate_limit,
        key_failures_per_minute: a.key_failure_limit,
    };
    config.write_timeout = std::time::Duration::from_secs(a.write_timeout.max(1));
    config.max_connections_per_ip = a.max_connections_per_ip.max(1);
    config.tls = a.tls_cert.clone().zip(a.tls_key.clone());
    config.metrics_listen = a.metrics_listen;
    config.cors_origins = a.cors_origins.clone();
    config.allowed_hosts = a.allowed_hosts.clone();
    config.enable_check_api = a.enable_check_api;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(leakdex_server::serve(config, leakdex_server::shutdown_signal())).context("serving")?;
    Ok(Outcome::Clean)
}

pub fn export_ranges(a: ExportRangesArgs) -> Result<Outcome> {
    let index = leakdex_core::Index::open(&a.index.index)?;
    // The ranges hold the index's content: no more readable than the index file.
    let mode = leakdex_core::atomic::mode_of_inputs([a.index.index.as_path()]);
    let report = leakdex_core::export::export_ranges(&index, &a.output, a.prefix_len, mode)?;
    eprintln!(
        "wrote {}: {} range files of {} entries (prefix length {}); serve it with the nginx configuration in the README",
        a.output.display(),
        report.files,
        report.entries,
        report.prefix_len
    );
    Ok(Outcome::Clean)
}
