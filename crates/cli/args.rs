//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Find which of your people appear in leaked datasets, quickly and privately.
#[derive(Debug, Parser)]
#[command(name = "leakdex", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build an index from leak corpora. Each PATH is one source (dataset).
    Build(BuildArgs),
    /// Check identifiers given as arguments, or one per line on stdin.
    Check(CheckArgs),
    /// Check a staff list (plain lines, or CSV with a header): one output row per input row.
    Bulk(BulkArgs),
    /// Show what an index holds.
    Info(InfoArgs),
    /// Check every checksum and the structure of an index.
    Verify(IndexArg),
    /// Write the index's Bloom filter alone, for offline "possibly exposed" checks.
    ExportFilter(ExportFilterArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Email,
    Password,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Combo,
    Csv,
    Json,
    Sql,
    Plain,
    Text,
    Hashes,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Where to write the index (replaced atomically).
    #[arg(short, long, value_name = "INDEX")]
    pub output: PathBuf,
    /// What to index.
    #[arg(long, value_enum, default_value = "email")]
    pub kind: KindArg,
    /// TOML file with each source's title, breach_date, data_classes and description.
    #[arg(long, value_name = "MANIFEST.toml")]
    pub sources: Option<PathBuf>,
    /// Memory budget, e.g. 512M, 1G, 4GiB.
    #[arg(long, default_value = "1G", value_name = "SIZE", value_parser = parse_size)]
    pub memory: u64,
    /// Bloom filter false-positive rate.
    #[arg(long, default_value_t = 0.001, value_name = "P")]
    pub fpr: f64,
    /// Input format for every file (default: detected per file).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// CSV column that holds the identifiers (default: found by header name).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Fail on the first unreadable or corrupt input instead of reporting it and going on.
    #[arg(long)]
    pub strict: bool,
    /// Parsing threads (default: one per core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
    /// Directory for temporary runs (default: the output's directory).
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
    /// Write the build report (per file: lines, records, rejects) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// No progress and no summary; errors only.
    #[arg(short, long)]
    pub quiet: bool,
    /// Corpus files or directories; - is stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BulkFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct IndexArg {
    /// The index (or, for check and bulk, a filter from export-filter).
    #[arg(short, long, value_name = "INDEX")]
    pub index: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub index: IndexArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: CheckFormat,
    /// Email addresses or passwords; none: read one per line from stdin (keeps passwords out
    /// of shell history).
    #[arg(value_name = "IDENTIFIER")]
    pub identifiers: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct BulkArgs {
    #[command(flatten)]
    pub index: IndexArg,
    /// CSV column holding the identifiers (default: found by header name; makes the input CSV).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: BulkFormat,
    /// Staff list; - or nothing is stdin.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub index: IndexArg,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExportFilterArgs {
    #[command(flatten)]
    pub index: IndexArg,
    /// Where to write the filter (replaced atomically).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

/// Parses a size such as `1G`, `512M`, `1.5GiB`, `800MB` or a plain number of bytes. Units are
/// binary (K = 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a size (try 512M or 2G)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => return Err(format!("unknown size unit {other:?} in {s:?} (use K, M, G or T)")),
    };
    Ok((n * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3X").is_err());
    }
}
