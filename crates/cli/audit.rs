//! `bulk --input hashes`: a directory password audit. Reads account password-hash exports
//! (`ingest::hashdump`: secretsdump, pwdump, DSInternals, mimikatz), looks every NT hash up in
//! an NTLM index, filter or range API, and reports each exposed account, accounts with no
//! password, and groups of accounts sharing one password. Hashes are printed only with
//! `--show-hashes`.
//!
//! A child of `query` so that it answers through the same `Store` (index, filter or range
//! API) as `bulk`.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, BufWriter, Write};

use anyhow::{Context, Result};
use leakdex_core::ingest::hashdump::{self, Account, Layout, Line, Skip};
use leakdex_core::{hex, Key, Kind};

use super::{csv_sources, csv_text, decode_line, json_safe, Store, BATCH};
use crate::args::{BulkArgs, BulkFormat, InputKind, KindArg};
use crate::show::printable;
use crate::Outcome;

/// Rejected line numbers listed in the warning; the rest are counted.
const SHOWN_REJECTS: usize = 20;

/// Decides, from the start of the staff list and before any row is answered, whether `bulk`
/// audits an account hash export. A file that looks like one is never hashed as passwords:
/// every account would look clean.
pub(super) fn wants_audit(a: &BulkArgs, kind: Kind, head: &[u8], shown: &str) -> Result<bool> {
    let looks = kind.is_password() && hashdump::looks_like_export_text(&String::from_utf8_lossy(head));
    let need_ntlm = |why: &str| {
        anyhow::anyhow!(
            "{shown}: {why}: an audit of NT hashes needs an NTLM index (this one holds {kind} hashes): \
             build one with `leakdex build --kind ntlm`, or ask a range API with --api URL --kind ntlm"
        )
    };
    match a.input_kind {
        Some(InputKind::Hashes) => {
            if kind != Kind::Ntlm {
                return Err(need_ntlm("--input hashes"));
            }
            if a.column.is_some() {
                anyhow::bail!("--column is for staff lists; --input hashes reads each line as an account hash export");
            }
            Ok(true)
        }
        Some(InputKind::Passwords) if looks => anyhow::bail!(
            "{shown} looks like an account hash export (user:rid:lm:nt::: or user:nthash lines), not passwords: \
             hashing its lines as passwords would report every account clean; audit it with --input hashes"
        ),
        None if looks && kind == Kind::Ntlm => {
            eprintln!("{shown}: read as an account hash export (detected from content; --input passwords to refuse)");
            Ok(true)
        }
        None if looks => Err(need_ntlm("this looks like an account hash export")),
        _ => Ok(false),
    }
}

/// `--input hashes` with `--api` asks the NTLM ranges: said before any request, since the
/// default `--kind email` would validate the URL as an email range API.
pub(super) fn refuse_wrong_api_kind(a: &BulkArgs) -> Result<()> {
    if a.input_kind == Some(InputKind::Hashes) && a.target.api.is_some() && a.target.kind != KindArg::Ntlm {
        anyhow::bail!("--input hashes with --api audits NT hashes: add --kind ntlm (the range API's NTLM mode)");
    }
    Ok(())
}

/// In a password list checked against a password or NTLM index, a line that is an account hash
/// export line (`user:rid:lm:nt:::`, `user:nthash`, a bare NT hash) is an error, never a password.
pub(super) fn refuse_export_line(kind: Kind, value: &str, line: u64, shown: &str) -> Result<()> {
    if kind.is_password() && hashdump::looks_like_export(value) {
        anyhow::bail!(
            "{shown}: line {line} is an account hash export line (user:rid:lm:nt:::, user:nthash or an NT hash), \
             not a password: hashing it would report the account clean; audit the export with `leakdex bulk --input hashes` \
             against an NTLM index"
        );
    }
    Ok(())
}

/// What the store says of one NT hash.
#[derive(Clone)]
enum Found {
    Exposed { count: u64, sources: Vec<String>, dates: Vec<Option<String>> },
    Possibly,
    Clean,
}

/// An NT hash as an NTLM index key (four zero bytes after the 16).
fn key_of(nt: &[u8; 16]) -> Key {
    let mut k = [0u8; 20];
    k[..16].copy_from_slice(nt);
    k
}

/// Looks up distinct keys, in order.
fn lookup(store: &Store, keys: &[Key]) -> Result<Vec<Found>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(BATCH) {
        match store {
            Store::Index(index) => {
                for key in chunk {
                    out.push(match index.lookup_hash(key)? {
                        Some(hit) => {
                            let srcs: Vec<&leakdex_core::Source> =
                                hit.sources.iter().filter_map(|s| index.sources().get(s as usize)).collect();
                            Found::Exposed {
                                count: hit.count,
                                sources: srcs.iter().map(|s| s.name.clone()).collect(),
                                dates: srcs.iter().map(|s| s.breach_date.clone()).collect(),
                            }
                        }
                        None => Found::Clean,
                    });
                }
            }
            Store::Filter(f) => {
                out.extend(chunk.iter().map(|k| if f.may_contain(k) { Found::Possibly } else { Found::Clean }))
            }
            Store::Api { client, rt, .. } => {
                let counts = rt.block_on(client.password_counts_in(Kind::Ntlm, chunk))?;
                out.extend(counts.into_iter().map(|c| {
                    if c > 0 {
                        Found::Exposed { count: c, sources: Vec::new(), dates: Vec::new() }
                    } else {
                        Found::Clean
                    }
                }));
            }
        }
    }
    Ok(out)
}

/// One account line and what was found.
struct Row {
    line: u64,
    account: Account,
    found: Found,
    /// The sharing group (numbered from 1) and its size, for current hashes shared by several
    /// accounts.
    group: Option<(usize, usize)>,
}

impl Row {
    fn shown_name(&self) -> String {
        if self.account.name.is_empty() {
            format!("(line {})", self.line)
        } else {
            self.account.name.clone()
        }
    }
    fn exposed(&self) -> bool {
        matches!(self.found, Found::Exposed { .. } | Found::Possibly)
    }
    fn count(&self) -> u64 {
        match self.found {
            Found::Exposed { count, .. } => count,
            _ => 0,
        }
    }
    fn sources(&self) -> Vec<&str> {
        match &self.found {
            Found::Exposed { sources, .. } => sources.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
    /// A finding that sets exit status 1: a current hash in the index, or a current empty
    /// password, on an account not known to be disabled for the empty password (a disabled
    /// `Guest` without a password is the Windows default, and the empty password's hash is in
    /// most leak lists).
    fn finding(&self) -> bool {
        if self.account.history.is_some() {
            return false;
        }
        if self.account.empty_password() {
            return self.account.disabled != Some(true);
        }
        self.exposed()
    }
    fn status(&self) -> &'static str {
        if self.account.nt.is_none() {
            "no hash"
        } else if self.account.empty_password() {
            "empty password"
        } else {
            match self.found {
                Found::Exposed { .. } => "exposed",
                Found::Possibly => "possibly",
                Found::Clean => "clean",
            }
        }
    }
    fn detail(&self) -> String {
        match &self.found {
            Found::Exposed { sources, dates, .. } => super::sources_with_dates(sources, dates),
            Found::Possibly => super::POSSIBLY_DETAIL.into(),
            Found::Clean => String::new(),
        }
    }
}

/// What was read, for the summary.
#[derive(Default)]
struct Reading {
    lines: u64,
    layouts: BTreeMap<Layout, u64>,
    skipped: BTreeMap<Skip, u64>,
    rejected: Vec<u64>,
}

/// Runs the audit over the whole export (`input`, decoded as staff lists are).
pub(super) fn run(a: &BulkArgs, store: &Store, input: Box<dyn BufRead>, shown: &str) -> Result<Outcome> {
    let (accounts, reading) = read(input, shown)?;
    describe_reading(&reading, shown);
    if accounts.is_empty() {
        anyhow::bail!(
            "{shown}: no account hash line in {} lines: nothing was checked (is it an account hash export?)",
            reading.lines
        );
    }
    check_accounts(&accounts, shown)?;
    // Each distinct hash is asked once.
    let mut distinct: HashMap<[u8; 16], usize> = HashMap::new();
    let mut keys = Vec::new();
    for (_, acc) in &accounts {
        if let Some(nt) = acc.nt {
            distinct.entry(nt).or_insert_with(|| {
                keys.push(key_of(&nt));
                keys.len() - 1
            });
        }
    }
    let answers = lookup(store, &keys)?;
    // Groups: current, non-empty hashes held by two accounts or more; largest first, then by
    // first line.
    let mut holders: HashMap<[u8; 16], Vec<usize>> = HashMap::new();
    for (i, (_, acc)) in accounts.iter().enumerate() {
        if let (None, Some(nt)) = (acc.history, acc.nt) {
            if nt != hashdump::EMPTY_NT_HASH {
                holders.entry(nt).or_default().push(i);
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = holders.into_values().filter(|v| v.len() > 1).collect();
    groups.sort_by(|x, y| y.len().cmp(&x.len()).then(x[0].cmp(&y[0])));
    let mut group_of: HashMap<usize, (usize, usize)> = HashMap::new();
    for (g, members) in groups.iter().enumerate() {
        for &m in members {
            group_of.insert(m, (g + 1, members.len()));
        }
    }
    let rows: Vec<Row> = accounts
        .into_iter()
        .enumerate()
        .map(|(i, (line, account))| {
            let found = account.nt.map_or(Found::Clean, |nt| answers[distinct[&nt]].clone());
            Row { line, account, found, group: group_of.get(&i).copied() }
        })
        .collect();
    let mut out = BufWriter::new(io::stdout().lock());
    match a.format {
        BulkFormat::Table => write_table(&mut out, &rows, &groups, a.show_hashes)?,
        BulkFormat::Csv => write_csv(&mut out, &rows, a.show_hashes)?,
        BulkFormat::Json => {
            for r in &rows {
                writeln!(out, "{}", json_row(r, a.show_hashes))?;
            }
        }
        BulkFormat::Html => anyhow::bail!("the directory password audit writes --format table, csv or json"),
    }
    out.flush()?;
    eprintln!("{}", summary(&rows, &groups));
    Ok(if rows.iter().any(Row::finding) { Outcome::Exposed } else { Outcome::Clean })
}

/// Parses every line; a line that is no export line is counted by number, never echoed.
fn read(mut input: Box<dyn BufRead>, shown: &str) -> Result<(Vec<(u64, Account)>, Reading)> {
    let mut r = Reading::default();
    let mut accounts = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf).with_context(|| format!("reading {shown}"))? == 0 {
            break;
        }
        r.lines += 1;
        match hashdump::parse_line(&decode_line(&buf)) {
            Line::Account(acc) => {
                *r.layouts.entry(acc.layout).or_default() += 1;
                accounts.push((r.lines, acc));
            }
            Line::Skipped(why) => *r.skipped.entry(why).or_default() += 1,
            Line::NotAnExport => r.rejected.push(r.lines),
        }
    }
    Ok((accounts, r))
}

/// Accounts named in one WARNING; the rest are counted.
const SHOWN_ACCOUNTS: usize = 20;

/// One account's lines in the export, by [`Account::identity`].
struct Lines<'a> {
    name: &'a str,
    /// Line numbers and hashes of its current-password lines.
    current: Vec<(u64, Option<[u8; 16]>)>,
    history: usize,
}

/// Checks that the export has what an audit needs, before any lookup: an export holding only
/// password-history lines audited nobody (an error, exit 2, never a clean run); an account with
/// history lines and no current line, or with two current lines, gets a WARNING naming it
/// (names only, never hashes), since its current password was not audited or is ambiguous.
fn check_accounts(accounts: &[(u64, Account)], shown: &str) -> Result<()> {
    let history = accounts.iter().filter(|(_, a)| a.history.is_some()).count();
    if history == accounts.len() {
        anyhow::bail!(
            "{shown}: {history} password-history line{} (user_historyN: old passwords) and no current account line: \
             nothing was audited; export the accounts' current hashes too (the lines without _history)",
            if history == 1 { "" } else { "s" }
        );
    }
    let mut order: Vec<String> = Vec::new();
    let mut by_id: HashMap<String, Lines> = HashMap::new();
    for (line, acc) in accounts {
        let Some(id) = acc.identity() else { continue };
        let entry = by_id.entry(id.clone()).or_insert_with(|| {
            order.push(id);
            Lines { name: &acc.name, current: Vec::new(), history: 0 }
        });
        match acc.history {
            Some(_) => entry.history += 1,
            None => entry.current.push((*line, acc.nt)),
        }
    }
    let listed = |names: &[String]| {
        let more = names.len().saturating_sub(SHOWN_ACCOUNTS);
        let mut s = names.iter().take(SHOWN_ACCOUNTS).cloned().collect::<Vec<_>>().join(", ");
        if more > 0 {
            s.push_str(&format!(" and {more} more"));
        }
        s
    };
    let orphans: Vec<String> = order
        .iter()
        .map(|id| &by_id[id])
        .filter(|l| l.history > 0 && l.current.is_empty())
        .map(|l| printable(l.name).into_owned())
        .collect();
    if !orphans.is_empty() {
        eprintln!(
            "WARNING: {shown}: {} account{} only password-history lines and no current line, so {} current password was not audited: {}",
            orphans.len(),
            if orphans.len() == 1 { " has" } else { "s have" },
            if orphans.len() == 1 { "its" } else { "their" },
            listed(&orphans)
        );
    }
    let twice: Vec<String> = order
        .iter()
        .map(|id| &by_id[id])
        .filter(|l| l.current.len() > 1)
        .map(|l| {
            let lines: Vec<String> = l.current.iter().map(|(n, _)| n.to_string()).collect();
            let differ = l.current.iter().any(|(_, nt)| *nt != l.current[0].1);
            format!(
                "{} (lines {}{})",
                printable(l.name),
                lines.join(", "),
                if differ { ", different hashes" } else { ", the same hash" }
            )
        })
        .collect();
    if !twice.is_empty() {
        eprintln!(
            "WARNING: {shown}: {} account{} more than one current-password line (exports concatenated?); \
             each line is audited, but which one is the current password is unknown: {}",
            twice.len(),
            if twice.len() == 1 { " has" } else { "s have" },
            listed(&twice)
        );
    }
    Ok(())
}

/// Says on stderr how the export was read: each layout's line count, what was skipped, and the
/// numbers of the lines that are none of the layouts (a WARNING: they were not audited).
fn describe_reading(r: &Reading, shown: &str) {
    let layouts: Vec<String> = r.layouts.iter().map(|(l, n)| format!("{n} {}", l.describe())).collect();
    let mut s = format!(
        "{shown}: {} lines: {}",
        r.lines,
        if layouts.is_empty() { "no account hash".into() } else { layouts.join(", ") }
    );
    let skipped: Vec<String> = r.skipped.iter().map(|(k, n)| format!("{n} {}", k.describe())).collect();
    if !skipped.is_empty() {
        s.push_str(&format!("; skipped: {}", skipped.join(", ")));
    }
    eprintln!("{s}");
    if !r.rejected.is_empty() {
        let listed: Vec<String> = r.rejected.iter().take(SHOWN_REJECTS).map(u64::to_string).collect();
        let more = r.rejected.len().saturating_sub(SHOWN_REJECTS);
        eprintln!(
            "WARNING: {shown}: {} not an account hash line and not audited (line{} {}{})",
            if r.rejected.len() == 1 { "1 line is".to_string() } else { format!("{} lines are", r.rejected.len()) },
            if r.rejected.len() == 1 { "" } else { "s" },
            listed.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        );
    }
}

fn summary(rows: &[Row], groups: &[Vec<usize>]) -> String {
    let current: Vec<&Row> = rows.iter().filter(|r| r.account.history.is_none()).collect();
    let history: Vec<&Row> = rows.iter().filter(|r| r.account.history.is_some()).collect();
    let exposed = current.iter().filter(|r| r.exposed()).count();
    let empty = current.iter().filter(|r| r.account.empty_password()).count();
    let no_hash = current.iter().filter(|r| r.account.nt.is_none()).count();
    let machine = current.iter().filter(|r| r.account.is_machine()).count();
    let pct = if current.is_empty() { 0.0 } else { 100.0 * exposed as f64 / current.len() as f64 };
    let mut s = format!(
        "audited {} accounts ({machine} machine), exposed {exposed} ({pct:.1}%), empty password {empty}, \
         sharing a password: {} groups ({} accounts)",
        current.len(),
        groups.len(),
        groups.iter().map(Vec::len).sum::<usize>()
    );
    if no_hash > 0 {
        s.push_str(&format!(", no NT hash {no_hash} (not checked)"));
    }
    if !history.is_empty() {
        let old = history.iter().filter(|r| r.exposed()).count();
        s.push_str(&format!("; history: {} old hashes, {old} exposed", history.len()));
    }
    s
}

fn write_table(out: &mut impl Write, rows: &[Row], groups: &[Vec<usize>], show_hashes: bool) -> io::Result<()> {
    let current: Vec<&Row> = rows.iter().filter(|r| r.account.history.is_none()).collect();
    let width = |rs: &[&Row]| rs.iter().map(|r| printable(&r.shown_name()).chars().count()).max().unwrap_or(0).max(7);
    let w = width(&current);
    let hash_col = |r: &Row| match (show_hashes, r.account.nt) {
        (true, Some(nt)) => format!("{}  ", hex(&nt)),
        (true, None) => format!("{:<32}  ", "-"),
        (false, _) => String::new(),
    };
    let hash_head = if show_hashes { format!("{:<32}  ", "NTLM") } else { String::new() };
    writeln!(
        out,
        "{:>6}  {:<w$}  {hash_head}{:<14}  {:>8}  {:>6}  SOURCES",
        "LINE", "ACCOUNT", "STATUS", "COUNT", "SHARED"
    )?;
    for r in &current {
        let count = if matches!(r.found, Found::Exposed { .. }) { r.count().to_string() } else { String::new() };
        let shared = r.group.map(|(g, n)| format!("{n} #{g}")).unwrap_or_default();
        let status = r.status();
        writeln!(
            out,
            "{:>6}  {:<w$}  {}{:<14}  {count:>8}  {shared:>6}  {}",
            r.line,
            printable(&r.shown_name()),
            hash_col(r),
            status,
            printable(&r.detail())
        )?;
    }
    let old: Vec<&Row> = rows.iter().filter(|r| r.account.history.is_some() && r.exposed()).collect();
    if !old.is_empty() {
        let w = width(&old);
        writeln!(out)?;
        writeln!(out, "Old passwords (history) found in the index; the current password matters most:")?;
        writeln!(out, "{:>6}  {:<w$}  {hash_head}{:>7}  {:>8}  SOURCES", "LINE", "ACCOUNT", "HISTORY", "COUNT")?;
        for r in old {
            writeln!(
                out,
                "{:>6}  {:<w$}  {}{:>7}  {:>8}  {}",
                r.line,
                printable(&r.shown_name()),
                hash_col(r),
                r.account.history.unwrap_or(0),
                r.count(),
                printable(&r.detail())
            )?;
        }
    }
    if !groups.is_empty() {
        writeln!(out)?;
        writeln!(out, "Accounts sharing one password (the hash is not shown):")?;
        let by_index: Vec<&Row> = rows.iter().collect();
        for (g, members) in groups.iter().enumerate() {
            // `members` index the account list, which `rows` keeps in order.
            let first = by_index[members[0]];
            let state = match first.found {
                Found::Exposed { count, .. } => format!(", exposed, count {count}"),
                Found::Possibly => ", possibly exposed".into(),
                Found::Clean => String::new(),
            };
            let names: Vec<String> =
                members.iter().map(|&m| printable(&by_index[m].shown_name()).into_owned()).collect();
            writeln!(out, "  #{}: {} accounts share one password{state}: {}", g + 1, members.len(), names.join(", "))?;
        }
    }
    Ok(())
}

const CSV_COLUMNS: &[&str] = &[
    "line",
    "account",
    "rid",
    "history",
    "status",
    "exposed",
    "empty_password",
    "count",
    "sources",
    "shared",
    "group",
    "machine",
    "disabled",
];

fn write_csv(out: &mut impl Write, rows: &[Row], show_hashes: bool) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut head: Vec<&str> = CSV_COLUMNS.to_vec();
    if show_hashes {
        head.push("ntlm");
    }
    w.write_record(&head)?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for r in rows {
        let mut rec = vec![
            r.line.to_string(),
            csv_text(&r.shown_name()),
            opt(r.account.rid.map(|x| x.to_string())),
            opt(r.account.history.map(|x| x.to_string())),
            r.status().to_string(),
            r.exposed().to_string(),
            r.account.empty_password().to_string(),
            r.count().to_string(),
            csv_sources(&r.sources()),
            opt(r.group.map(|(_, n)| n.to_string())),
            opt(r.group.map(|(g, _)| g.to_string())),
            r.account.is_machine().to_string(),
            opt(r.account.disabled.map(|d| d.to_string())),
        ];
        if show_hashes {
            rec.push(opt(r.account.nt.map(|nt| hex(&nt))));
        }
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// One JSON row; fields in this order, absent ones left out.
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    line: u64,
    account: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<u32>,
    status: &'static str,
    exposed: bool,
    empty_password: bool,
    count: u64,
    sources: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shared: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<usize>,
    machine: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ntlm: Option<String>,
}

fn json_row(r: &Row, show_hashes: bool) -> String {
    let name = r.shown_name();
    let row = JsonRow {
        line: r.line,
        account: &name,
        rid: r.account.rid,
        history: r.account.history,
        status: r.status(),
        exposed: r.exposed(),
        empty_password: r.account.empty_password(),
        count: r.count(),
        sources: r.sources(),
        shared: r.group.map(|(_, n)| n),
        group: r.group.map(|(g, _)| g),
        machine: r.account.is_machine(),
        disabled: r.account.disabled,
        ntlm: if show_hashes { r.account.nt.map(|nt| hex(&nt)) } else { None },
    };
    json_safe(serde_json::to_string(&row).expect("rows serialize"))
}
