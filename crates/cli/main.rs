//! The `leakdex` binary: argument parsing and glue over leakdex-core.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

mod args;
mod build;
mod domain;
mod monitor;
mod query;
mod report_html;
mod serve;
mod show;

use args::{Cli, Command};

// Bulk checks and builds allocate many small strings from several threads at once; glibc's
// malloc spent a quarter of a 10^6-address bulk run in malloc/free, mimalloc a fraction of it.
// Built with `no_thp`: with transparent huge pages (the kernel's `madvise` mode) one byte
// touched in a fresh region committed 2 MiB, and a build at --memory 64M peaked anywhere from
// 60 to 81 MiB; without them 41 MiB, every run, at the same build and bulk speed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What a successful command found: decides the exit status.
pub enum Outcome {
    /// Nothing exposed (or nothing to say): exit 0.
    Clean,
    /// At least one identifier exposed: exit 1.
    Exposed,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return bad_arguments(e),
    };
    let result = match cli.command {
        Command::Build(a) => build::run(a),
        Command::Check(a) => query::check(a),
        Command::Bulk(a) => query::bulk(a),
        Command::Info(a) => query::info(a),
        Command::Domain(a) => domain::run(a),
        Command::Verify(a) => query::verify(a),
        Command::ExportFilter(a) => query::export_filter(a),
        Command::Serve(a) => serve::run(a),
        Command::ExportRanges(a) => serve::export_ranges(a),
        Command::Diff(a) => monitor::diff(a),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Exposed) => ExitCode::from(1),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let mut msg = e.to_string();
            for cause in e.chain().skip(1) {
                msg.push_str(": ");
                msg.push_str(&cause.to_string());
            }
            // Errors name files and sources, which come from data: never raw escapes.
            let _ = writeln!(io::stderr(), "leakdex: error: {}", show::printable(&msg));
            ExitCode::from(2)
        }
    }
}

/// A bad value for a flag is one line naming the flag, what was given and the allowed range
/// (clap's own rendering adds a usage block); help, version and other usage errors print as
/// clap renders them.
fn bad_arguments(e: clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if matches!(e.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue) {
        let flag = match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(s)) => s.split_whitespace().next().unwrap_or(s).to_string(),
            _ => String::new(),
        };
        let why = std::error::Error::source(&e).map(|s| s.to_string());
        if let (false, Some(why)) = (flag.is_empty(), why) {
            let _ = writeln!(io::stderr(), "leakdex: error: {flag}: {why}");
            return ExitCode::from(2);
        }
    }
    let code = if e.use_stderr() { 2 } else { 0 };
    let _ = e.print();
    ExitCode::from(code)
}

/// A closed pipe (`leakdex bulk ... | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe))
}
