//! `leakdex domain`: per-domain figures from the index's DOMAINS section, the exposed addresses
//! of owned domains from its OWNED section, and `bulk --unlisted`.

use std::collections::HashSet;
use std::io::{self, BufWriter, Write};

use anyhow::{bail, Context, Result};
use leakdex_core::domains::{self, DomainEntry, Figures, Owned, OwnedAddress};
use leakdex_core::{Index, Kind, Source};
use memmap2::Mmap;
use serde_json::json;

use crate::args::{BulkFormat, DomainArgs};
use crate::query::{csv_text, json_safe};
use crate::show::printable;
use crate::Outcome;

/// One asked domain: as given, normalized, and what the index holds for it.
struct Answer {
    asked: String,
    domain: String,
    figures: Figures,
    /// The exposed addresses when the domain is owned (`--own-domain`); `None` otherwise.
    addresses: Option<Vec<OwnedAddress>>,
}

/// Opens an index for domain questions: an email index that has the DOMAINS section.
fn open(path: &std::path::Path) -> Result<Index<Mmap>> {
    let index = Index::open_random(path)?;
    if index.kind() != Kind::Email {
        bail!("{}: a {} index has no domains; give an email index", path.display(), index.kind());
    }
    if !index.header().has_domains() {
        bail!(
            "{}: this index predates per-domain figures (built by leakdex {}); rebuild it with `leakdex build` to search by domain",
            path.display(),
            index.meta().tool_version
        );
    }
    Ok(index)
}

/// The figures of `domain` (normalized) and, if owned, its exposed addresses.
fn answer(index: &Index<Mmap>, owned: &Owned, asked: &str, subdomains: bool) -> Result<Answer> {
    let domain =
        domains::normalize_domain(asked).map_err(|why| anyhow::anyhow!("{asked:?} is not a domain ({why})"))?;
    let key = domains::domain_key(&domain).expect("a normalized domain normalizes");
    let view = index.domains()?.context("the index has no DOMAINS section")?;
    let entry: DomainEntry = view.lookup(&key)?.unwrap_or_default();
    let figures = if subdomains { entry.rolled } else { entry.own };
    let addresses = owned
        .addresses_under(&domain)
        .map(|all| all.filter(|a| subdomains || domains_of(&a.address) == domain).cloned().collect::<Vec<_>>());
    Ok(Answer { asked: asked.to_string(), domain, figures, addresses })
}

/// Says on stderr, loudly, when some addresses of the index came hashed (SHA-1 lines): their
/// domain is unknown, so no domain's figures or owned listing hold them. Returns their number.
fn warn_hashed(index: &Index<Mmap>, what: &str) -> u64 {
    let n = index.meta().keys_without_domain;
    if n > 0 {
        eprintln!(
            "WARNING: {what}: {n} address(es) of this index came hashed (SHA-1 lines), so their domain is unknown and they are \
             in no domain's figures: the figures below are a lower bound (`leakdex check ADDRESS` finds each of them)"
        );
    }
    n
}

fn domains_of(address: &str) -> &str {
    &address[address.rfind('@').map_or(0, |a| a + 1)..]
}

pub fn run(a: DomainArgs) -> Result<Outcome> {
    let index = open(&a.index)?;
    if let Some(w) = index.meta().policy_warning() {
        eprintln!("warning: {}: {w}", a.index.display());
    }
    let hashed = warn_hashed(&index, &a.index.display().to_string());
    let owned = index.owned()?;
    // Every domain is checked before anything is printed: an invalid one is an error naming it.
    let answers = a.domains.iter().map(|d| answer(&index, &owned, d, a.subdomains)).collect::<Result<Vec<_>>>()?;
    let sources = index.sources();
    let mut out = BufWriter::new(io::stdout().lock());
    match a.format {
        BulkFormat::Table => write_table(&mut out, &answers, sources, a.subdomains)?,
        BulkFormat::Json => {
            for ans in &answers {
                writeln!(out, "{}", json_safe(answer_json(ans, sources, a.subdomains, hashed).to_string()))?;
            }
        }
        BulkFormat::Csv => write_csv(&mut out, &answers, sources)?,
        BulkFormat::Html => anyhow::bail!("leakdex domain writes --format table, csv or json"),
    }
    out.flush()?;
    let exposed = answers.iter().filter(|a| a.figures.distinct > 0).count();
    eprintln!("domains asked {}, with exposed addresses {exposed}", answers.len());
    Ok(if exposed > 0 { Outcome::Exposed } else { Outcome::Clean })
}

fn source_json(sources: &[Source], id: u32) -> serde_json::Value {
    let s = sources.get(id as usize);
    json!({
        "name": s.map(|s| s.name.as_str()),
        "title": s.and_then(|s| s.title.as_deref()),
        "breach_date": s.and_then(|s| s.breach_date.as_deref()),
        "data_classes": s.map(|s| s.data_classes.clone()).unwrap_or_default(),
    })
}

/// One domain's JSON row; `hashed` is the index's count of addresses in no domain's figures
/// (a consumer of the rows alone sees that the figures are a lower bound).
fn answer_json(ans: &Answer, sources: &[Source], subdomains: bool, hashed: u64) -> serde_json::Value {
    let per_source: Vec<serde_json::Value> = ans
        .figures
        .sources
        .iter()
        .map(|f| {
            let mut v = source_json(sources, f.source);
            v["addresses"] = json!(f.distinct);
            v["occurrences"] = json!(f.occurrences);
            v
        })
        .collect();
    let mut v = json!({
        "domain": ans.domain,
        "input": ans.asked,
        "subdomains": subdomains,
        "exposed": ans.figures.distinct > 0,
        "addresses": ans.figures.distinct,
        "occurrences": ans.figures.occurrences,
        "sources": per_source,
        "owned": ans.addresses.is_some(),
        "index_addresses_without_domain": hashed,
    });
    if let Some(list) = &ans.addresses {
        v["exposed_addresses"] = list
            .iter()
            .map(|a| {
                json!({
                    "address": a.address,
                    "occurrences": a.occurrences,
                    "sources": a.sources.iter().map(|s| json!({
                        "name": sources.get(s.source as usize).map(|x| x.name.as_str()),
                        "occurrences": s.occurrences,
                    })).collect::<Vec<_>>(),
                    "found_in": a.found_in,
                    "found_in_more": a.found_in_more,
                })
            })
            .collect();
    }
    v
}

fn source_name(sources: &[Source], id: u32) -> &str {
    sources.get(id as usize).map_or("?", |s| s.name.as_str())
}

fn write_table(out: &mut impl Write, answers: &[Answer], sources: &[Source], subdomains: bool) -> io::Result<()> {
    let with = if subdomains { " (with subdomains)" } else { "" };
    for (i, ans) in answers.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        if ans.figures.distinct == 0 {
            writeln!(out, "{}{with}: not in the index (0 addresses)", ans.domain)?;
        } else {
            writeln!(
                out,
                "{}{with}: {} addresses exposed, {} occurrences",
                ans.domain, ans.figures.distinct, ans.figures.occurrences
            )?;
            let w = ans.figures.sources.iter().map(|f| printable(source_name(sources, f.source)).chars().count());
            let w = w.max().unwrap_or(6).max(6);
            writeln!(
                out,
                "  {:<w$}  {:<10}  {:>9}  {:>11}  DATA CLASSES",
                "SOURCE", "DATE", "ADDRESSES", "OCCURRENCES"
            )?;
            for f in &ans.figures.sources {
                let s = sources.get(f.source as usize);
                writeln!(
                    out,
                    "  {:<w$}  {:<10}  {:>9}  {:>11}  {}",
                    printable(source_name(sources, f.source)),
                    printable(s.and_then(|s| s.breach_date.as_deref()).unwrap_or("-")),
                    f.distinct,
                    f.occurrences,
                    printable(&s.map(|s| s.data_classes.join(", ")).unwrap_or_default())
                )?;
            }
        }
        match &ans.addresses {
            Some(list) if !list.is_empty() => {
                writeln!(out, "  exposed addresses (owned domain, kept in plaintext):")?;
                let w = list.iter().map(|a| printable(&a.address).chars().count()).max().unwrap_or(7).max(7);
                writeln!(out, "  {:<w$}  {:>8}  {:<24}  FOUND IN", "ADDRESS", "COUNT", "SOURCES")?;
                for a in list {
                    let names: Vec<&str> = a.sources.iter().map(|s| source_name(sources, s.source)).collect();
                    let mut found = a.found_in.join(", ");
                    if a.found_in_more > 0 {
                        found.push_str(&format!(" (+{} more)", a.found_in_more));
                    }
                    writeln!(
                        out,
                        "  {:<w$}  {:>8}  {:<24}  {}",
                        printable(&a.address),
                        a.occurrences,
                        printable(&names.join(", ")),
                        printable(&found)
                    )?;
                }
            }
            Some(_) => {}
            None if ans.figures.distinct > 0 => writeln!(
                out,
                "  (addresses are not kept for this domain: build with --own-domain {} to list them)",
                ans.domain
            )?,
            None => {}
        }
    }
    Ok(())
}

fn write_csv(out: &mut impl Write, answers: &[Answer], sources: &[Source]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["domain", "row", "name", "breach_date", "data_classes", "addresses", "occurrences", "found_in"])?;
    for ans in answers {
        let (d, n, o) = (ans.domain.clone(), ans.figures.distinct.to_string(), ans.figures.occurrences.to_string());
        w.write_record([d.as_str(), "total", "", "", "", &n, &o, ""])?;
        for f in &ans.figures.sources {
            let s = sources.get(f.source as usize);
            w.write_record([
                d.as_str(),
                "source",
                &csv_text(source_name(sources, f.source)),
                &csv_text(s.and_then(|s| s.breach_date.as_deref()).unwrap_or("")),
                &csv_text(&s.map(|s| s.data_classes.join(";")).unwrap_or_default()),
                &f.distinct.to_string(),
                &f.occurrences.to_string(),
                "",
            ])?;
        }
        for a in ans.addresses.iter().flatten() {
            let names: Vec<&str> = a.sources.iter().map(|s| source_name(sources, s.source)).collect();
            w.write_record([
                d.as_str(),
                "address",
                &csv_text(&a.address),
                "",
                &csv_text(&names.join(";")),
                "1",
                &a.occurrences.to_string(),
                &csv_text(&a.found_in.join(";")),
            ])?;
        }
    }
    out.write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
    Ok(())
}

/// `bulk --unlisted DOMAIN`: after the staff-list rows, the exposed addresses of each domain
/// (subdomains included) that the list does not hold (`listed`: the normalized addresses of
/// its exposed rows). Needs a local index; lists the addresses when the domain is owned,
/// otherwise says how many there are at least. Returns whether any unlisted address is exposed.
pub fn unlisted(
    out: &mut impl Write,
    index: Option<&Index<Mmap>>,
    asked: &[String],
    listed: &HashSet<String>,
    format: BulkFormat,
    mask: bool,
) -> Result<bool> {
    let Some(index) = index else {
        bail!("--unlisted reads the index's domain figures: give a local index with -i (not --api or a filter)");
    };
    if index.kind() != Kind::Email || !index.header().has_domains() {
        bail!(
            "--unlisted needs an email index with per-domain figures (this one is a {} index{}); rebuild it with `leakdex build`",
            index.kind(),
            if index.header().has_domains() { "" } else { " that predates them" }
        );
    }
    let hashed = warn_hashed(index, "--unlisted");
    let owned = index.owned()?;
    let sources = index.sources();
    let mut any = false;
    let mut csv_header = false;
    let mut seen = HashSet::new();
    for d in asked {
        let ans = answer(index, &owned, d, true)?;
        if !seen.insert(ans.domain.clone()) {
            continue; // `--unlisted D` given twice: one section
        }
        let matched = listed.iter().filter(|a| domains::is_under(domains_of(a), &ans.domain)).count() as u64;
        match &ans.addresses {
            Some(list) => {
                // `--mask` hides these as it hides the staff rows: the address and any address
                // in the names of the files it was found in.
                let missing: Vec<OwnedAddress> = list
                    .iter()
                    .filter(|a| !listed.contains(&a.address))
                    .map(|a| match mask {
                        false => a.clone(),
                        true => OwnedAddress {
                            address: crate::report_html::mask_address(&a.address),
                            found_in: a.found_in.iter().map(|f| crate::report_html::mask_text(f)).collect(),
                            ..a.clone()
                        },
                    })
                    .collect();
                any |= !missing.is_empty();
                match format {
                    BulkFormat::Table => {
                        writeln!(
                            out,
                            "\nunlisted: {} exposed address(es) of {} (with subdomains) not in the staff list (it matched {matched})",
                            missing.len(),
                            ans.domain
                        )?;
                        for a in &missing {
                            let names: Vec<&str> = a.sources.iter().map(|s| source_name(sources, s.source)).collect();
                            writeln!(
                                out,
                                "  {:<34}  {:>8}  {}",
                                printable(&a.address),
                                a.occurrences,
                                printable(&names.join(", "))
                            )?;
                        }
                    }
                    BulkFormat::Json => {
                        for a in &missing {
                            let names: Vec<&str> = a.sources.iter().map(|s| source_name(sources, s.source)).collect();
                            let v = json!({"unlisted": true, "domain": ans.domain, "email": a.address, "exposed": true,
                                "count": a.occurrences, "sources": names, "found_in": a.found_in});
                            writeln!(out, "{}", json_safe(v.to_string()))?;
                        }
                    }
                    BulkFormat::Csv => {
                        let mut w = csv::Writer::from_writer(Vec::new());
                        if !csv_header {
                            out.write_all(b"\n")?;
                            w.write_record(["unlisted_email", "domain", "count", "sources"])?;
                            csv_header = true;
                        }
                        for a in &missing {
                            let names: Vec<&str> = a.sources.iter().map(|s| source_name(sources, s.source)).collect();
                            w.write_record([
                                csv_text(&a.address),
                                ans.domain.clone(),
                                a.occurrences.to_string(),
                                csv_text(&names.join(";")),
                            ])?;
                        }
                        out.write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
                    }
                    BulkFormat::Html => bail!("--unlisted is listed with --format table, csv or json"),
                }
            }
            None => {
                // The figures hold only addresses read in plaintext; up to `hashed` of the staff
                // list's matches may be addresses that came only hashed, which the figures do
                // not hold: subtracting them could hide unlisted ones, so the count is a range.
                let n = ans.figures.distinct;
                let at_least = n.saturating_sub(matched);
                let at_most = n.saturating_sub(matched - matched.min(hashed));
                // Exposed unless every figure is known to be listed.
                any |= at_most > 0;
                let bound = if at_most > at_least {
                    format!(
                        "at least {at_least} and up to {at_most} unlisted (up to {} of the matches may be addresses that came hashed, \
                         which no domain's figures hold)",
                        matched.min(hashed)
                    )
                } else {
                    format!("at least {at_least} unlisted")
                };
                // A count, not a list: said on stderr in every format, so that CSV and JSON
                // output stay rows.
                eprintln!(
                    "unlisted: {} has {n} exposed address(es) (with subdomains), the staff list matched {matched}: {bound}; \
                     the index keeps no addresses of it: rebuild with `leakdex build --own-domain {}` to list them",
                    ans.domain, ans.domain
                );
            }
        }
    }
    Ok(any)
}
