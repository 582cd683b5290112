//! The sources manifest (`sources.toml`): titles, breach dates, data classes and descriptions
//! for the sources of a build.
//!
//! ```toml
//! [forum-2020]
//! title = "Example Forum"
//! domain = "forum.example"
//! breach_date = "2020-03-14"
//! data_classes = ["Email addresses", "Passwords"]
//! description = "Forum database posted on a paste site."
//! columns = ["Email", "E-mail 2 Address"]   # CSV columns to read (default: found)
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// What the manifest says about one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceInfo {
    /// Human title.
    pub title: Option<String>,
    /// Breach date, `YYYY-MM-DD`.
    #[serde(alias = "date")]
    pub breach_date: Option<String>,
    /// Data classes.
    #[serde(default)]
    pub data_classes: Vec<String>,
    /// Description.
    pub description: Option<String>,
    /// The breached site's domain.
    pub domain: Option<String>,
    /// CSV columns holding the identifiers in this source's files (overrides `--column`).
    #[serde(default)]
    pub columns: Vec<String>,
}

/// A parsed manifest: source name → information.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The sources described, by name.
    pub sources: BTreeMap<String, SourceInfo>,
}

impl Manifest {
    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Manifest::parse(&text).map_err(|reason| Error::Manifest { path: path.into(), reason })
    }

    /// Parses manifest text.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let sources: BTreeMap<String, SourceInfo> =
            toml::from_str(text).map_err(|e| e.to_string().trim().to_string())?;
        for (name, info) in &sources {
            if let Some(d) = &info.breach_date {
                if !is_date(d) {
                    return Err(format!("source {name}: breach_date {d:?} is not a YYYY-MM-DD date"));
                }
            }
        }
        Ok(Manifest { sources })
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        s[r].parse::<u32>().ok().filter(|_| b[0..4].iter().chain(&b[5..7]).chain(&b[8..10]).all(u8::is_ascii_digit))
    };
    matches!((num(0..4), num(5..7), num(8..10)), (Some(_), Some(m @ 1..=12), Some(d @ 1..=31)) if d <= days_in(m))
}

fn days_in(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources_and_rejects_bad_dates_and_fields() {
        let m = Manifest::parse(
            "[forum-2020]\ntitle = \"F\"\ndate = \"2020-03-14\"\ndata_classes = [\"Email addresses\"]\n",
        )
        .unwrap();
        assert_eq!(m.sources["forum-2020"].breach_date.as_deref(), Some("2020-03-14"));
        assert!(Manifest::parse("[x]\nbreach_date = \"2020-13-01\"\n").unwrap_err().contains("YYYY-MM-DD"));
        assert!(Manifest::parse("[x]\ntitel = \"typo\"\n").unwrap_err().contains("titel"));
    }
}
