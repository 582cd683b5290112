//! Every corpus parser and the format sniffer on arbitrary bytes: the first byte picks the
//! kind and format; the parsers must count every line and never panic.
#![no_main]

use leakdex_core::ingest::{self, FileFormat, FileStats, Format};
use leakdex_core::Kind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let kind = [Kind::Email, Kind::Password, Kind::Ntlm][usize::from(sel >> 6) % 3];
    let _ = ingest::detect(rest, "fuzz.txt", kind, None, &[]);
    let format = Format::ALL[usize::from(sel & 7) % Format::ALL.len()];
    if !format.supports(kind) {
        return;
    }
    let fmt = match format {
        Format::Csv => match ingest::detect(rest, "fuzz.csv", kind, Some(Format::Csv), &[]) {
            Ok((f, _)) => f,
            Err(_) => FileFormat::simple(Format::Csv),
        },
        f => FileFormat::simple(f),
    };
    let mut keys: Vec<([u8; 20], u64)> = Vec::new();
    let mut stats = FileStats::default();
    ingest::parse_chunk(kind, &fmt, rest, 1, &mut keys, &mut stats);
    let newlines = rest.iter().filter(|&&b| b == b'\n').count() as u64;
    if format != Format::Csv {
        // Every line is read: the final line may lack its newline.
        assert!(stats.lines == newlines || stats.lines == newlines + 1, "{} lines of {newlines}", stats.lines);
    }
});
