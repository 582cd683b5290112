//! Index metadata (the JSON `meta` section) and source descriptions.

use serde::{Deserialize, Serialize};

use crate::format::Kind;

/// One source (dataset) of an index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// Short name, from the file or directory name (`forum-2020.sql.gz` → `forum-2020`).
    pub name: String,
    /// Human title, from the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Breach date (`YYYY-MM-DD`), from the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach_date: Option<String>,
    /// Data classes (`Email addresses`, `Passwords`...), from the manifest.
    #[serde(default)]
    pub data_classes: Vec<String>,
    /// Description, from the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The breached site's domain, from the manifest (`forum.example`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Files read for this source.
    pub files: u64,
    /// Lines read.
    pub lines: u64,
    /// Records extracted (occurrences, duplicates included).
    pub records: u64,
    /// Distinct keys of this source in the index.
    pub unique: u64,
    /// When a source of this name was first indexed: the `built_at` of the first build in a
    /// chain of `leakdex build --previous OLD.ldx` that held it, copied forward from the
    /// previous index by name. Absent in indexes written before this field (read it through
    /// [`Meta::first_seen`], which falls back to the index's `built_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
}

/// What the `meta` section records about a build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Email or password.
    pub kind: Kind,
    /// Version of leakdex that built the index.
    pub tool_version: String,
    /// Build time, RFC 3339, UTC.
    pub built_at: String,
    /// Email normalization policy version ([`crate::normalize::POLICY_VERSION`]).
    pub normalization_policy: u32,
    /// Target false-positive rate of the Bloom filter.
    pub fpr: f64,
    /// Sources, by id.
    pub sources: Vec<Source>,
    /// Email keys that came from hash lines only (a SHA-1 list of addresses): their domain is
    /// unknown, so they are in no domain's figures (DOMAINS, OWNED), which are then a lower
    /// bound. 0 in indexes written before this field.
    #[serde(default)]
    pub keys_without_domain: u64,
}

impl Meta {
    /// When `source` was first indexed: its `first_seen`, or for an index written before that
    /// field existed, the index's own `built_at` (RFC 3339, UTC).
    pub fn first_seen<'a>(&'a self, source: &'a Source) -> &'a str {
        source.first_seen.as_deref().unwrap_or(&self.built_at)
    }

    /// Every source's [`Meta::first_seen`], by name: what `build --previous` carries forward
    /// ([`crate::BuildOptions::previous_first_seen`]).
    pub fn first_seen_by_name(&self) -> std::collections::BTreeMap<String, String> {
        self.sources.iter().map(|s| (s.name.clone(), self.first_seen(s).to_string())).collect()
    }

    /// For an email index built with another normalization policy than this version's
    /// ([`crate::normalize::POLICY_VERSION`]), a one-line warning saying so and what to do:
    /// queries are normalized with the current policy, so addresses whose normalized form
    /// changed between the two policies are not found until the index is rebuilt. `None` for
    /// a current index and for password and NTLM indexes (passwords are never normalized).
    pub fn policy_warning(&self) -> Option<String> {
        let current = crate::normalize::POLICY_VERSION;
        (self.kind == Kind::Email && self.normalization_policy != current).then(|| {
            format!(
                "this index was built with email normalization policy {}, this leakdex uses policy {current}: \
                 some addresses may not be found until you rebuild the index with `leakdex build`",
                self.normalization_policy
            )
        })
    }
}
