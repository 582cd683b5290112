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
    /// `own_domains = [...]` at the top (before any `[source]` table): domains whose addresses
    /// the index keeps in plaintext, as `--own-domain` does.
    pub own_domains: Vec<String>,
}

/// A manifest that has `own_domains` at the top, read in one go.
#[derive(Deserialize)]
struct WithOwnDomains {
    own_domains: Vec<String>,
    #[serde(flatten)]
    sources: BTreeMap<String, SourceInfo>,
}

impl Manifest {
    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Manifest::parse(&text).map_err(|reason| Error::Manifest { path: path.into(), reason })
    }

    /// Parses manifest text. Errors are one line: `line L, column C: what is wrong`.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        // Without `own_domains`, the sources alone, so that an error points at its line.
        let has_own = toml::from_str::<toml::Table>(text).map_err(|e| one_line(text, &e))?.contains_key("own_domains");
        let (sources, own_domains) = if has_own {
            let w: WithOwnDomains = toml::from_str(text).map_err(|e| one_line(text, &e))?;
            (w.sources, w.own_domains)
        } else {
            (toml::from_str::<BTreeMap<String, SourceInfo>>(text).map_err(|e| one_line(text, &e))?, Vec::new())
        };
        for (name, info) in &sources {
            if let Some(d) = &info.breach_date {
                if !is_date(d) {
                    return Err(format!("source {name}: breach_date {d:?} is not a calendar date written YYYY-MM-DD"));
                }
            }
        }
        Ok(Manifest { sources, own_domains })
    }
}

/// A TOML error as one line with its position: toml's own message is several lines (the
/// source line and a caret under it).
fn one_line(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// Whether `s` is a real calendar date written `YYYY-MM-DD` (`2021-02-29` is not: leap years
/// come from the date crate, not from hand-written rules).
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (s[0..4].parse::<i16>(), s[5..7].parse::<i8>(), s[8..10].parse::<i8>()) else {
        return false;
    };
    jiff::civil::Date::new(y, m, d).is_ok()
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

    #[test]
    fn breach_dates_that_are_not_on_the_calendar_are_rejected() {
        for bad in ["2021-02-29", "2100-02-29", "2023-04-31", "2020-00-10", "2020-1-05", "20200105", "2020-01-0a"] {
            let err = Manifest::parse(&format!("[x]\nbreach_date = \"{bad}\"\n")).unwrap_err();
            assert!(err.contains("YYYY-MM-DD"), "{bad}: {err}");
        }
        for good in ["2020-02-29", "2000-02-29", "2023-12-31", "1999-01-01"] {
            assert!(Manifest::parse(&format!("[x]\nbreach_date = \"{good}\"\n")).is_ok(), "{good}");
        }
    }

    #[test]
    fn toml_errors_are_one_line_with_line_and_column() {
        for (text, line, col) in
            [("[a]\ntitle = \"x\"\n[b\n", 3, 3), ("[a]\ntitle = \"unterminated\n", 2, 22), ("[a]\n\ntitle = 5\n", 3, 9)]
        {
            let err = Manifest::parse(text).unwrap_err();
            assert!(!err.contains('\n'), "{err:?}");
            assert!(err.starts_with(&format!("line {line}, column {col}: ")), "{text:?}: {err}");
        }
    }
}
