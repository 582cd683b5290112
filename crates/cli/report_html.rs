//! `bulk --format html`: one self-contained HTML report for people who read, not parse.
//!
//! The page needs nothing but itself: inline CSS, inline SVG charts drawn here, a small inline
//! script that sorts and filters the per-person table (the table is plain HTML and reads the
//! same with scripts off), and a Content-Security-Policy that forbids every network request, so
//! that it can be opened from a USB stick on an air-gapped laptop and fetches nothing. Every
//! value from data (addresses, names, groups, source names and titles) is escaped for HTML text
//! and quoted attributes ([`esc`]) after control and bidirectional characters are made visible
//! ([`printable`]). Passwords never reach the model: password and NTLM rows show their hashes,
//! as the table does.
//!
//! Charts are a few rectangles and circles: SVG written by hand, since a plotting crate
//! (plotters) would bring fonts, a layout engine and many dependencies for three bar charts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use leakdex_core::{Kind, Meta, Source};

use crate::show::printable;

/// The Content-Security-Policy of the report: nothing may be fetched, only the inline style and
/// script run, images only from `data:` URLs.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// Header names of a staff list's name column, compared case-insensitively after trimming.
const NAME_HEADERS: &[&str] =
    &["name", "full name", "fullname", "full_name", "display name", "displayname", "display_name", "氏名", "名前"];

/// Characters of a chart label before it is cut with an ellipsis (the full text is its tooltip).
const LABEL_CHARS: usize = 28;

/// What the report says about a run of `bulk`.
pub struct HtmlReport {
    /// The page's title (names the staff list).
    pub title: String,
    /// When the report was made, RFC 3339 UTC.
    pub generated_at: String,
    /// What was looked up in.
    pub index: IndexInfo,
    /// Rows checked (invalid ones included), exposed (possibly exposed included), invalid.
    pub checked: u64,
    /// Rows exposed (or possibly exposed, with a filter).
    pub exposed: u64,
    /// Rows that hold no valid identifier.
    pub invalid: u64,
    /// Every source of the index (or every source named by a range API), most exposed first.
    pub sources: Vec<SourceInfo>,
    /// Exposure by a staff-list column (`--group-by`).
    pub groups: Option<Groups>,
    /// One row per staff-list row, in the list's order.
    pub rows: Vec<PersonRow>,
    /// How to reproduce the report.
    pub method: Method,
}

/// The index, filter or range API the report was answered from.
pub struct IndexInfo {
    /// As given on the command line (`-i` path or the API's shown address).
    pub name: String,
    /// `local index`, `filter` or `range API`.
    pub backend: String,
    /// `email`, `password` or `ntlm`.
    pub kind: Kind,
    /// Build date of a local index.
    pub built_at: Option<String>,
    /// Email normalization policy of a local index.
    pub policy: Option<u32>,
    /// Version of leakdex that built a local index.
    pub tool_version: Option<String>,
    /// Entries of a local index or filter.
    pub entries: Option<u64>,
}

impl IndexInfo {
    /// A local index, from its meta section.
    pub fn local(name: String, meta: &Meta, entries: u64) -> IndexInfo {
        IndexInfo {
            name,
            backend: "local index".into(),
            kind: meta.kind,
            built_at: Some(meta.built_at.clone()),
            policy: Some(meta.normalization_policy),
            tool_version: Some(meta.tool_version.clone()),
            entries: Some(entries),
        }
    }
    /// A filter or a range API: no meta section.
    pub fn other(name: String, backend: &str, kind: Kind, entries: Option<u64>) -> IndexInfo {
        IndexInfo { name, backend: backend.into(), kind, built_at: None, policy: None, tool_version: None, entries }
    }
}

/// One source (dataset) and how many of the checked people it holds.
#[derive(Clone)]
pub struct SourceInfo {
    /// Short name (`forum-2020`).
    pub name: String,
    /// Human title from the manifest.
    pub title: Option<String>,
    /// Breach date (`YYYY-MM-DD`).
    pub breach_date: Option<String>,
    /// Data classes (`Passwords`, `Names`...).
    pub data_classes: Vec<String>,
    /// Checked people found in it.
    pub exposed_people: u64,
}

impl SourceInfo {
    /// A source of an index's meta section, before counting.
    pub fn from_meta(s: &Source) -> SourceInfo {
        SourceInfo {
            name: s.name.clone(),
            title: s.title.clone(),
            breach_date: s.breach_date.clone(),
            data_classes: s.data_classes.clone(),
            exposed_people: 0,
        }
    }
    /// Whether the source leaked passwords (or their hashes): a reset is due.
    pub fn leaked_passwords(&self) -> bool {
        self.data_classes.iter().any(|c| c.to_lowercase().contains("password"))
    }
}

/// Exposure by the values of one staff-list column.
pub struct Groups {
    /// The column's header.
    pub column: String,
    /// One row per value, in order of value.
    pub rows: Vec<GroupRow>,
}

/// One value of the grouping column.
pub struct GroupRow {
    /// The value (empty cells count as `(none)`).
    pub group: String,
    /// Rows with that value.
    pub checked: u64,
    /// Exposed rows with that value.
    pub exposed: u64,
}

/// The answer for one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Found in the index or the API.
    Exposed,
    /// In a filter: may be a false positive.
    Possibly,
    /// Not found.
    Clean,
    /// No valid identifier (why).
    Invalid(String),
}

/// One staff-list row.
pub struct PersonRow {
    /// Line of the staff list.
    pub line: u64,
    /// The staff list's name column, when it has one.
    pub name: Option<String>,
    /// The `--group-by` column's value.
    pub group: Option<String>,
    /// The address (masked with `--mask`) or, for passwords, the hash.
    pub shown: String,
    /// The answer.
    pub verdict: Verdict,
    /// Occurrences across all sources.
    pub count: u64,
    /// Sources holding it.
    pub sources: Vec<String>,
    /// Under `bulk --since OLD`: why the row is new (`new`, `new source: X`); `None` for a row
    /// exposed in OLD already, or clean.
    pub why: Option<String>,
}

/// How the report was made.
pub struct Method {
    /// A command line that makes the same report (paths as given; no key, no credentials).
    pub command: String,
    /// This leakdex's version.
    pub leakdex_version: String,
    /// Notes on what the answers lack (no breach dates from an API, a filter's false
    /// positives).
    pub notes: Vec<String>,
}

/// Gathers rows as `bulk` answers them; [`Collector::finish`] makes the report.
pub struct Collector {
    name_col: Option<usize>,
    group: Option<(usize, String)>,
    rows: Vec<PersonRow>,
    /// Breach dates of sources seen in answers (for a range API, which has no meta section).
    seen: BTreeMap<String, Option<String>>,
}

impl Collector {
    /// For a staff list with `header` (empty for a plain list) whose identifiers are in column
    /// `checked` (never shown as a name or a group: it holds the addresses or the passwords).
    /// `group_by` must name a header column, compared case-insensitively.
    pub fn new(header: &[String], checked: Option<usize>, group_by: Option<&str>) -> Result<Collector, String> {
        let find = |want: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(want.trim()));
        let group = match group_by {
            None => None,
            Some(g) if header.is_empty() => {
                return Err(format!(
                "--group-by {}: the staff list has no header row; group by a column of a CSV staff list with a header",
                printable(g)
            ))
            }
            Some(g) => match find(g) {
                Some(i) if Some(i) == checked => {
                    return Err(format!(
                        "--group-by {}: that is the column being checked; name another column",
                        printable(g)
                    ))
                }
                Some(i) => Some((i, header[i].trim().to_string())),
                None => {
                    return Err(format!(
                        "--group-by {}: no such column; the staff list's columns are: {}",
                        printable(g),
                        header.iter().map(|h| printable(h).into_owned()).collect::<Vec<_>>().join(", ")
                    ))
                }
            },
        };
        let name_col = NAME_HEADERS.iter().find_map(|n| find(n)).filter(|&i| Some(i) != checked);
        Ok(Collector { name_col, group, rows: Vec::new(), seen: BTreeMap::new() })
    }

    /// `Some(self)` when `keep` (the format is HTML): checking the flags costs nothing, keeping
    /// every row of a large list for nothing would.
    pub fn into_option(self, keep: bool) -> Option<Collector> {
        keep.then_some(self)
    }

    /// Adds one answered row; `fields` are the staff list's cells (CSV lists).
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        line: u64,
        fields: Option<&[String]>,
        shown: &str,
        verdict: Verdict,
        count: u64,
        sources: &[String],
        dates: &[Option<String>],
    ) {
        let cell = |i: usize| fields.and_then(|f| f.get(i)).map(|s| s.trim().to_string());
        for (s, d) in sources.iter().zip(dates.iter().chain(std::iter::repeat(&None))) {
            self.seen.entry(s.clone()).or_insert_with(|| d.clone());
        }
        self.rows.push(PersonRow {
            line,
            name: self.name_col.and_then(cell),
            group: self.group.as_ref().map(|(i, _)| cell(*i).unwrap_or_default()),
            shown: shown.to_string(),
            verdict,
            count,
            sources: sources.to_vec(),
            why: None,
        });
    }

    /// Marks the row pushed last as new since the older index (`bulk --since`), with why.
    pub fn mark_new(&mut self, why: String) {
        if let Some(r) = self.rows.last_mut() {
            r.why = Some(why);
        }
    }

    /// The report: counts, sources (`catalogue`: an index's sources; `None` for a range API,
    /// whose sources are those its answers named) and groups computed from the rows.
    pub fn finish(
        self,
        title: String,
        index: IndexInfo,
        catalogue: Option<Vec<SourceInfo>>,
        method: Method,
    ) -> HtmlReport {
        let exposed_row = |r: &PersonRow| matches!(r.verdict, Verdict::Exposed | Verdict::Possibly);
        let checked = self.rows.len() as u64;
        let exposed = self.rows.iter().filter(|r| exposed_row(r)).count() as u64;
        let invalid = self.rows.iter().filter(|r| matches!(r.verdict, Verdict::Invalid(_))).count() as u64;
        let mut sources = catalogue.unwrap_or_else(|| {
            self.seen
                .iter()
                .map(|(name, date)| SourceInfo {
                    name: name.clone(),
                    title: None,
                    breach_date: date.clone(),
                    data_classes: Vec::new(),
                    exposed_people: 0,
                })
                .collect()
        });
        let mut per_source: BTreeMap<&str, u64> = BTreeMap::new();
        for r in &self.rows {
            for s in &r.sources {
                *per_source.entry(s).or_default() += 1;
            }
        }
        for s in &mut sources {
            s.exposed_people = per_source.get(s.name.as_str()).copied().unwrap_or(0);
        }
        sources.sort_by(|a, b| b.exposed_people.cmp(&a.exposed_people).then_with(|| a.name.cmp(&b.name)));
        let groups = self.group.as_ref().map(|(_, column)| {
            let mut by: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            for r in &self.rows {
                let g = r.group.clone().filter(|g| !g.is_empty()).unwrap_or_else(|| "(none)".into());
                let e = by.entry(g).or_default();
                e.0 += 1;
                e.1 += exposed_row(r) as u64;
            }
            Groups {
                column: column.clone(),
                rows: by.into_iter().map(|(group, (checked, exposed))| GroupRow { group, checked, exposed }).collect(),
            }
        });
        HtmlReport {
            title,
            generated_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            index,
            checked,
            exposed,
            invalid,
            sources,
            groups,
            rows: self.rows,
            method,
        }
    }
}

/// An address with its local part hidden but for the first character, the domain kept
/// (`t***@example.com`); text without `@` keeps its first character only (`c***`).
pub fn mask_address(s: &str) -> String {
    let (local, domain) = match s.rfind('@') {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let first: String = local.chars().next().map(String::from).unwrap_or_default();
    match domain {
        Some(d) => format!("{first}***@{d}"),
        None if s.is_empty() => String::new(),
        None => format!("{first}***"),
    }
}

/// `text` with every address in it masked ([`mask_address`]): a token holding `@` between
/// other characters, tokens ending at white space, quotes, brackets and the separators that
/// staff lists put between addresses (`Bob <bob@example.com>; carol@example.com`).
pub fn mask_text(text: &str) -> String {
    let ends = |c: char| c.is_whitespace() || "<>()[]{}\"',;:‹›«»".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        let at = token.rfind('@');
        match at {
            Some(i) if i > 0 && i + 1 < token.len() => out.push_str(&mask_address(token)),
            _ => out.push_str(token),
        }
        token.clear();
    };
    for c in text.chars() {
        if ends(c) {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// Text from data, safe in HTML text and in a double- or single-quoted attribute: control and
/// bidirectional characters made visible ([`printable`]), then `& < > " '` as references.
pub fn esc(s: &str) -> String {
    let s = printable(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to [`LABEL_CHARS`] characters with an ellipsis (chart labels keep their place).
fn short(s: &str) -> String {
    if s.chars().count() <= LABEL_CHARS {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(LABEL_CHARS - 1).collect();
        t.push('…');
        t
    }
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0.0".into()
    } else {
        format!("{:.1}", 100.0 * part as f64 / whole as f64)
    }
}

const STYLE: &str = r#"
:root{--fg:#1b1f24;--muted:#5b6570;--line:#d5dbe1;--exp:#b3261e;--ok:#2e7d32;--bar:#c0392b;--bar2:#d9dee4;--bg:#fff}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK JP",sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1100px;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.muted{color:var(--muted)}
.headline{font-size:1.35em;margin:16px 0}.headline strong{color:var(--exp)}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f3f5f7;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.id{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
tr.exposed td.status,tr.possibly td.status{color:var(--exp);font-weight:600}
tr.clean td.status{color:var(--ok)}
tr.invalid td.status{color:var(--muted)}
.flag{color:var(--exp);font-weight:600}
svg{max-width:100%;height:auto;display:block;margin:8px 0}
svg text{font:12px system-ui,sans-serif;fill:var(--fg)}
.controls{margin:8px 0}.controls input{font:inherit;padding:4px 8px;width:22em}
th[data-sort]{cursor:pointer}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
pre{background:#f3f5f7;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px}dt{color:var(--muted)}dd{margin:0}
@media print{.controls{display:none}body{max-width:none}}
"#;

/// Sorting (click a header) and filtering (type in the box, or `#filter=TEXT` in the address)
/// of the people table. Reads and writes the DOM only; no data is in the script.
const SCRIPT: &str = r#"
(function(){
  var table=document.getElementById('people');
  var body=table.tBodies[0];
  var box=document.getElementById('filter');
  var shown=document.getElementById('shown');
  document.getElementById('controls').hidden=false;
  function filter(){
    var q=box.value.trim().toLowerCase(),n=0;
    for(var i=0;i<body.rows.length;i++){
      var r=body.rows[i],hit=!q||r.textContent.toLowerCase().indexOf(q)>=0;
      r.hidden=!hit;if(hit)n++;
    }
    shown.textContent=String(n);
  }
  box.addEventListener('input',filter);
  var heads=table.tHead.rows[0].cells;
  for(var c=0;c<heads.length;c++){(function(th,col){
    th.addEventListener('click',function(){
      var asc=th.getAttribute('aria-sort')!=='ascending';
      for(var k=0;k<heads.length;k++)heads[k].removeAttribute('aria-sort');
      th.setAttribute('aria-sort',asc?'ascending':'descending');
      var num=th.getAttribute('data-sort')==='num',rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[col].getAttribute('data-v')||a.cells[col].textContent,y=b.cells[col].getAttribute('data-v')||b.cells[col].textContent;
        var d=num?(Number(x)-Number(y)):x.localeCompare(y);
        return asc?d:-d;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  })(heads[c],c);}
  var m=/^#filter=(.*)$/.exec(location.hash);
  if(m){box.value=decodeURIComponent(m[1]);}
  filter();
  document.documentElement.setAttribute('data-script','ready');
})();
"#;

impl HtmlReport {
    /// The whole page.
    pub fn render(&self) -> String {
        let mut h = String::with_capacity(16 * 1024 + self.rows.len() * 256);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
             <meta name=\"referrer\" content=\"no-referrer\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
            esc(&self.title)
        );
        let _ = writeln!(
            h,
            "<header><h1>{}</h1><p class=\"muted\">Generated {} by leakdex {} from {} ({}).</p></header>",
            esc(&self.title),
            esc(&self.generated_at),
            esc(&self.method.leakdex_version),
            esc(&self.index.name),
            esc(&self.index.backend)
        );
        self.headline(&mut h);
        self.sources_section(&mut h);
        self.groups_section(&mut h);
        self.timeline_section(&mut h);
        self.people_section(&mut h);
        self.method_section(&mut h);
        let _ = write!(h, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
        h
    }

    fn who(&self) -> &'static str {
        match self.index.kind {
            Kind::Email => "people",
            Kind::Password | Kind::Ntlm => "passwords",
        }
    }

    fn headline(&self, h: &mut String) {
        let passworded: u64 = {
            let leaky: Vec<&str> =
                self.sources.iter().filter(|s| s.leaked_passwords()).map(|s| s.name.as_str()).collect();
            self.rows.iter().filter(|r| r.sources.iter().any(|s| leaky.contains(&s.as_str()))).count() as u64
        };
        let _ = writeln!(
            h,
            "<section id=\"summary\"><p class=\"headline\"><strong id=\"exposed\">{}</strong> of \
             <span id=\"checked\">{}</span> {} checked are exposed (<span id=\"percent\">{}</span>%).</p>",
            self.exposed,
            self.checked,
            self.who(),
            pct(self.exposed, self.checked)
        );
        let _ = write!(
            h,
            "<p>Rows with no valid identifier: <span id=\"invalid\">{}</span>; \
             <span id=\"exposed-sources\">{}</span> of {} sources hold someone checked.",
            self.invalid,
            self.sources.iter().filter(|s| s.exposed_people > 0).count(),
            self.sources.len()
        );
        let possibly = self.rows.iter().filter(|r| r.verdict == Verdict::Possibly).count();
        if possibly > 0 {
            let _ = write!(
                h,
                " <span id=\"possibly\">{possibly}</span> of the exposed are only possibly exposed: a filter \
                 answered, which has false positives; check them against the index."
            );
        }
        if passworded > 0 {
            let _ = write!(
                h,
                " <span class=\"flag\"><span id=\"password-exposed\">{passworded}</span> are in a source that \
                 leaked passwords: reset those passwords now.</span>"
            );
        }
        h.push_str("</p></section>\n");
    }

    fn sources_section(&self, h: &mut String) {
        h.push_str("<section id=\"by-source\"><h2>Exposure by source</h2>\n");
        let bars: Vec<(String, u64, u64)> = self
            .sources
            .iter()
            .filter(|s| s.exposed_people > 0)
            .map(|s| (s.name.clone(), s.exposed_people, 0))
            .collect();
        if bars.is_empty() {
            h.push_str("<p>No checked identifier is in any source.</p>\n");
        } else {
            bar_chart(h, "Exposed per source", &bars, false);
        }
        h.push_str(
            "<table id=\"sources\"><thead><tr><th>Source</th><th>Title</th><th>Breach date</th>\
             <th>Data classes</th><th class=\"num\">Exposed</th></tr></thead><tbody>\n",
        );
        for s in &self.sources {
            let classes = s.data_classes.iter().map(|c| esc(c)).collect::<Vec<_>>().join(", ");
            let flag = if s.leaked_passwords() && s.exposed_people > 0 {
                " <span class=\"flag\">passwords leaked: reset now</span>"
            } else {
                ""
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{classes}{flag}</td><td class=\"num\">{}</td></tr>",
                esc(&s.name),
                esc(s.title.as_deref().unwrap_or("")),
                esc(s.breach_date.as_deref().unwrap_or("unknown")),
                s.exposed_people
            );
        }
        h.push_str("</tbody></table></section>\n");
    }

    fn groups_section(&self, h: &mut String) {
        let Some(g) = &self.groups else { return };
        let _ = writeln!(h, "<section id=\"by-group\"><h2>Exposure by {}</h2>", esc(&g.column));
        let bars: Vec<(String, u64, u64)> = g.rows.iter().map(|r| (r.group.clone(), r.exposed, r.checked)).collect();
        bar_chart(h, &format!("Exposed of checked by {}", g.column), &bars, true);
        let _ = writeln!(
            h,
            "<table id=\"groups\"><thead><tr><th>{}</th><th class=\"num\">Checked</th><th class=\"num\">Exposed</th>\
             <th class=\"num\">%</th></tr></thead><tbody>",
            esc(&g.column)
        );
        for r in &g.rows {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&r.group),
                r.checked,
                r.exposed,
                pct(r.exposed, r.checked)
            );
        }
        h.push_str("</tbody></table></section>\n");
    }

    fn timeline_section(&self, h: &mut String) {
        let dated: Vec<(&SourceInfo, f64)> = self
            .sources
            .iter()
            .filter(|s| s.exposed_people > 0)
            .filter_map(|s| s.breach_date.as_deref().and_then(year_fraction).map(|y| (s, y)))
            .collect();
        let undated: Vec<&SourceInfo> = self
            .sources
            .iter()
            .filter(|s| s.exposed_people > 0 && s.breach_date.as_deref().and_then(year_fraction).is_none())
            .collect();
        if dated.is_empty() && undated.is_empty() {
            return;
        }
        h.push_str("<section id=\"timeline\"><h2>Timeline by breach date</h2>\n");
        if !dated.is_empty() {
            timeline(h, &dated);
        }
        if !undated.is_empty() {
            let names = undated.iter().map(|s| esc(&s.name)).collect::<Vec<_>>().join(", ");
            let _ = writeln!(h, "<p class=\"muted\">No breach date known for: {names}.</p>");
        }
        h.push_str("</section>\n");
    }

    fn people_section(&self, h: &mut String) {
        let id_head = match self.index.kind {
            Kind::Email => "Address",
            Kind::Password => "SHA-1",
            Kind::Ntlm => "NTLM",
        };
        let has_name = self.rows.iter().any(|r| r.name.is_some());
        let _ = writeln!(
            h,
            "<section id=\"people-section\"><h2>Per person</h2>\
             <p id=\"controls\" class=\"controls\" hidden><label>Filter: <input id=\"filter\" type=\"search\" \
             placeholder=\"name, address, source, status\"></label> \
             <span class=\"muted\"><span id=\"shown\">{}</span> rows shown</span></p>",
            self.rows.len()
        );
        h.push_str("<table id=\"people\"><thead><tr><th data-sort=\"num\" class=\"num\">Line</th>");
        if has_name {
            h.push_str("<th data-sort=\"text\">Name</th>");
        }
        if let Some(g) = &self.groups {
            let _ = write!(h, "<th data-sort=\"text\">{}</th>", esc(&g.column));
        }
        let _ = writeln!(
            h,
            "<th data-sort=\"text\">{id_head}</th><th data-sort=\"text\">Status</th>\
             <th data-sort=\"num\" class=\"num\">Count</th><th data-sort=\"text\">Sources</th></tr></thead><tbody>"
        );
        for r in &self.rows {
            let (class, word, detail) = match &r.verdict {
                Verdict::Exposed => ("exposed", "EXPOSED", String::new()),
                Verdict::Possibly => ("possibly", "POSSIBLY", crate::query::POSSIBLY_DETAIL.into()),
                Verdict::Clean => ("clean", "clean", String::new()),
                Verdict::Invalid(e) => ("invalid", "invalid", e.clone()),
            };
            let _ = write!(h, "<tr class=\"{class}\"><td class=\"num line\">{}</td>", r.line);
            if has_name {
                let _ = write!(h, "<td class=\"name\">{}</td>", esc(r.name.as_deref().unwrap_or("")));
            }
            if self.groups.is_some() {
                let _ = write!(h, "<td class=\"group\">{}</td>", esc(r.group.as_deref().unwrap_or("")));
            }
            let sources = if detail.is_empty() { r.sources.join(", ") } else { detail };
            let count = if r.verdict == Verdict::Exposed { r.count.to_string() } else { String::new() };
            let _ = writeln!(
                h,
                "<td class=\"id\">{}</td><td class=\"status\">{word}{}</td><td class=\"num count\" data-v=\"{}\">{count}</td>\
                 <td class=\"sources\">{}</td></tr>",
                esc(&r.shown),
                r.why.as_deref().map(|w| format!(" <strong class=\"new\">NEW ({})</strong>", esc(w))).unwrap_or_default(),
                r.count,
                esc(&sources)
            );
        }
        h.push_str(
            "</tbody></table>\n<p class=\"muted\">COUNT is the number of occurrences across all sources \
             (one address listed twice in one dump counts twice), not the number of sources.</p></section>\n",
        );
    }

    fn method_section(&self, h: &mut String) {
        let i = &self.index;
        h.push_str("<section id=\"method\"><h2>Method</h2><dl>\n");
        let mut item = |k: &str, v: &str| {
            let _ = writeln!(h, "<dt>{k}</dt><dd>{}</dd>", esc(v));
        };
        item("Looked up in", &format!("{} ({})", i.name, i.backend));
        item("Kind", &i.kind.to_string());
        if let Some(b) = &i.built_at {
            item("Index built", b);
        }
        if let Some(v) = &i.tool_version {
            item("Built by leakdex", v);
        }
        if let Some(p) = i.policy {
            item("Normalization policy", &p.to_string());
        }
        if let Some(e) = i.entries {
            item("Entries", &e.to_string());
        }
        item("Report by leakdex", &self.method.leakdex_version);
        item("Generated", &self.generated_at);
        h.push_str("</dl>\n<p>To reproduce (same index, same staff list):</p>\n");
        let _ = writeln!(h, "<pre><code id=\"command\">{}</code></pre>", esc(&self.method.command));
        for n in &self.method.notes {
            let _ = writeln!(h, "<p class=\"muted\">{}</p>", esc(n));
        }
        h.push_str(
            "<p class=\"muted\">Lookups are exact matches of normalized identifiers against the index; \
             passwords never appear in this report (password rows show their hashes).</p></section>\n",
        );
    }
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` as a fractional year; `None` for anything else.
fn year_fraction(date: &str) -> Option<f64> {
    let mut parts = date.trim().splitn(3, '-');
    let year: u32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next().map_or(Some(1), |m| m.parse().ok())?;
    let day: u32 = parts.next().map_or(Some(1), |d| d.parse().ok())?;
    if !(1000..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(year as f64 + (month - 1) as f64 / 12.0 + (day - 1) as f64 / 372.0)
}

/// A horizontal bar chart: one bar per `(label, value, total)`; with `stacked`, each bar is
/// `value` drawn over a lighter `total`.
fn bar_chart(h: &mut String, title: &str, bars: &[(String, u64, u64)], stacked: bool) {
    const LABEL_W: f64 = 200.0;
    const BAR_W: f64 = 420.0;
    const ROW_H: f64 = 24.0;
    let width = LABEL_W + BAR_W + 80.0;
    let height = ROW_H * bars.len() as f64 + 8.0;
    let max = bars.iter().map(|b| if stacked { b.2.max(b.1) } else { b.1 }).max().unwrap_or(1).max(1) as f64;
    let _ = writeln!(
        h,
        "<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" \
         aria-label=\"{}\">",
        esc(title)
    );
    for (i, (label, value, total)) in bars.iter().enumerate() {
        let y = i as f64 * ROW_H + 4.0;
        let _ = write!(
            h,
            "<g><title>{}</title><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            esc(&format!("{label}: {value}{}", if stacked { format!(" of {total}") } else { String::new() })),
            LABEL_W - 8.0,
            y + 15.0,
            esc(&short(label))
        );
        let mut right = 0.0;
        if stacked {
            let w = BAR_W * *total as f64 / max;
            let _ = write!(h, "<rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w:.1}\" height=\"18\" fill=\"#d9dee4\"/>");
            right = w;
        }
        let w = BAR_W * *value as f64 / max;
        let _ = write!(h, "<rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w:.1}\" height=\"18\" fill=\"#c0392b\"/>");
        let shown = if stacked { format!("{value} / {total}") } else { value.to_string() };
        let _ =
            writeln!(h, "<text x=\"{:.1}\" y=\"{}\">{shown}</text></g>", LABEL_W + f64::max(w, right) + 6.0, y + 15.0);
    }
    h.push_str("</svg>\n");
}

/// Sources on a time axis: a circle per source at its breach date, its area by the people it
/// holds, labels above it on two alternating lines, years below the axis.
fn timeline(h: &mut String, dated: &[(&SourceInfo, f64)]) {
    const W: f64 = 700.0;
    const H: f64 = 116.0;
    const PAD: f64 = 60.0;
    const AXIS: f64 = 76.0;
    let lo = dated.iter().map(|d| d.1).fold(f64::INFINITY, f64::min).floor();
    let hi = dated.iter().map(|d| d.1).fold(f64::NEG_INFINITY, f64::max).floor() + 1.0;
    let x = |t: f64| PAD + (W - 2.0 * PAD) * (t - lo) / (hi - lo);
    let most = dated.iter().map(|d| d.0.exposed_people).max().unwrap_or(1).max(1) as f64;
    let _ = writeln!(
        h,
        "<svg viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"Sources by breach date\" \
        ><line x1=\"{PAD}\" y1=\"{AXIS}\" x2=\"{}\" y2=\"{AXIS}\" stroke=\"#5b6570\"/>",
        W - PAD
    );
    let mut year = lo as i64;
    let step = (((hi - lo) / 8.0).ceil() as i64).max(1);
    while year as f64 <= hi {
        let _ = write!(
            h,
            "<line x1=\"{0:.1}\" y1=\"{1}\" x2=\"{0:.1}\" y2=\"{2}\" stroke=\"#5b6570\"/><text x=\"{0:.1}\" y=\"{3}\" \
             text-anchor=\"middle\" fill=\"#5b6570\">{year}</text>",
            x(year as f64),
            AXIS - 4.0,
            AXIS + 4.0,
            AXIS + 32.0
        );
        year += step;
    }
    let mut sorted: Vec<&(&SourceInfo, f64)> = dated.iter().collect();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (i, (s, t)) in sorted.iter().enumerate() {
        let r = 4.0 + 14.0 * (s.exposed_people as f64 / most).sqrt();
        let cx = x(*t);
        let ly = if i % 2 == 0 { AXIS - 26.0 } else { AXIS - 46.0 };
        let _ = writeln!(
            h,
            "<g><title>{}</title><circle cx=\"{cx:.1}\" cy=\"{AXIS}\" r=\"{r:.1}\" fill=\"#c0392b\" fill-opacity=\"0.75\"/>\
             <text x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\">{} ({})</text></g>",
            esc(&format!(
                "{}: {} exposed, breached {}",
                s.name,
                s.exposed_people,
                s.breach_date.as_deref().unwrap_or("")
            )),
            esc(&short(&s.name)),
            s.exposed_people
        );
    }
    h.push_str("</svg>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line, name, address, verdict, count, sources.
    type TestRow<'a> = (u64, Option<&'a str>, &'a str, Verdict, u64, Vec<&'a str>);

    fn report(rows: Vec<TestRow<'_>>) -> HtmlReport {
        let header: Vec<String> = ["name", "department", "email"].iter().map(|s| s.to_string()).collect();
        let mut c = Collector::new(&header, Some(2), Some("Department")).unwrap();
        for (line, name, shown, verdict, count, sources) in rows {
            let fields: Vec<String> = vec![name.unwrap_or("").into(), "IT".into(), shown.into()];
            let sources: Vec<String> = sources.into_iter().map(String::from).collect();
            c.push(line, Some(&fields), shown, verdict, count, &sources, &[]);
        }
        let meta_sources = vec![
            SourceInfo {
                name: "forum-2020".into(),
                title: Some("Forum <b>".into()),
                breach_date: Some("2020-03-14".into()),
                data_classes: vec!["Passwords".into()],
                exposed_people: 0,
            },
            SourceInfo {
                name: "other".into(),
                title: None,
                breach_date: None,
                data_classes: vec![],
                exposed_people: 0,
            },
        ];
        c.finish(
            "Exposure report".into(),
            IndexInfo::other("demo.ldx".into(), "local index", Kind::Email, Some(3)),
            Some(meta_sources),
            Method { command: "leakdex bulk".into(), leakdex_version: "0".into(), notes: vec![] },
        )
    }

    #[test]
    fn masking_keeps_the_first_character_and_the_domain() {
        assert_eq!(mask_address("taro.yamada@agency.example"), "t***@agency.example");
        assert_eq!(mask_address("ö.x@münchen.example"), "ö***@münchen.example");
        assert_eq!(mask_address("contractor at agency"), "c***");
        assert_eq!(mask_address("@example.com"), "***@example.com");
        assert_eq!(mask_address(""), "");
    }

    #[test]
    fn data_is_escaped_for_text_and_attributes() {
        assert_eq!(esc(r#"<img src=x onerror="a">&'"#), "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;");
        // A bidirectional override is shown, not obeyed.
        assert_eq!(esc("a\u{202e}b"), "a\\u{202e}b");
    }

    #[test]
    fn hostile_names_and_addresses_never_make_markup() {
        let r = report(vec![
            (
                2,
                Some("<script>alert(1)</script>"),
                "x\"><img src=x>@example.com",
                Verdict::Exposed,
                2,
                vec!["forum-2020"],
            ),
            (3, Some("Ann"), "ann@example.org", Verdict::Clean, 0, vec![]),
        ]);
        let page = r.render();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img src=x>"));
        assert!(!page.contains("Forum <b>"));
        assert!(page.contains("Forum &lt;b&gt;"));
        assert_eq!(page.matches("<script>").count(), 1, "only the report's own script");
    }

    #[test]
    fn counts_by_source_and_group_come_from_the_rows() {
        let r = report(vec![
            (2, Some("A"), "a@example.com", Verdict::Exposed, 3, vec!["forum-2020"]),
            (3, Some("B"), "b@example.com", Verdict::Exposed, 1, vec!["forum-2020", "other"]),
            (4, Some("C"), "c@example.com", Verdict::Clean, 0, vec![]),
            (5, Some("D"), "bad", Verdict::Invalid("no @".into()), 0, vec![]),
        ]);
        assert_eq!((r.checked, r.exposed, r.invalid), (4, 2, 1));
        let by: Vec<(&str, u64)> = r.sources.iter().map(|s| (s.name.as_str(), s.exposed_people)).collect();
        assert_eq!(by, vec![("forum-2020", 2), ("other", 1)]);
        let g = r.groups.as_ref().unwrap();
        assert_eq!(g.column, "department");
        assert_eq!(g.rows.len(), 1);
        assert_eq!((g.rows[0].checked, g.rows[0].exposed), (4, 2));
        let page = r.render();
        assert!(page.contains("<strong id=\"exposed\">2</strong>"));
        assert!(page.contains("passwords leaked: reset now"));
    }

    #[test]
    fn group_by_an_unknown_column_lists_the_header() {
        let header: Vec<String> = ["name", "email"].iter().map(|s| s.to_string()).collect();
        let e = Collector::new(&header, Some(1), Some("dept")).err().unwrap();
        assert!(e.contains("no such column") && e.contains("name, email"), "{e}");
        let e = Collector::new(&header, Some(1), Some("EMAIL")).err().unwrap();
        assert!(e.contains("being checked"), "{e}");
        let e = Collector::new(&[], None, Some("dept")).err().unwrap();
        assert!(e.contains("no header"), "{e}");
    }

    #[test]
    fn breach_dates_of_every_precision_place_on_the_timeline() {
        assert_eq!(year_fraction("2020"), Some(2020.0));
        assert!(year_fraction("2020-07-01").unwrap() > 2020.49);
        assert_eq!(year_fraction("soon"), None);
        assert_eq!(year_fraction("2020-13-01"), None);
    }
}
