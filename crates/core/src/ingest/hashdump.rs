//! Account password-hash exports, as directory administrators make them, read line by line for
//! a directory password audit (`bulk --input hashes`).
//!
//! Every layout is recognized per line, by content:
//!
//! - pwdump and impacket `secretsdump` (NTDS and SAM): `[DOMAIN\]user:rid:lm:nt:::`, with
//!   optional ` (pwdLastSet=...)` and ` (status=Enabled|Disabled)` suffixes, history lines
//!   `user_history0:rid:lm:nt:::`, and DSInternals' `-View PWDump` / `PWDumpHistory`
//!   placeholders (`NO LM-HASH***...`, `NO NT-HASH***...`) and old pwdump's `NO PASSWORD***...`;
//! - DSInternals `-View HashcatNT` / `HashcatNTHistory` (`user:nt`), `JohnNT` / `JohnNTHistory`
//!   (`user:$NT$nt`), `Ophcrack` (`user::lm:nt:sid::`) and `NTHash` (the hash alone);
//! - mimikatz `lsadump::dcsync /all /csv` (`rid<TAB>user<TAB>nt<TAB>userAccountControl`);
//! - secretsdump's reversible-encryption lines `user:CLEARTEXT:password` (audited by the NT hash
//!   of the password, which is never kept).
//!
//! Lines that belong to such exports but hold no NT hash (secretsdump's `[*] ...` messages and
//! banner, Kerberos key lines `user:aes256-cts-hmac-sha1-96:...`, cached domain credentials
//! `$DCC2$`) are [`Line::Skipped`] with the reason; anything else is [`Line::NotAnExport`], which
//! the caller reports by line number without echoing the line.

use std::fmt;

/// The NT hash of the empty password (MD4 of no bytes): an account with it has no password.
pub const EMPTY_NT_HASH: [u8; 16] =
    [0x31, 0xd6, 0xcf, 0xe0, 0xd1, 0x6a, 0xe9, 0x31, 0xb7, 0x3c, 0x59, 0xd7, 0xe0, 0xc0, 0x89, 0xc0];

/// Hex digits of an NT (or LM) hash.
pub const NT_HEX_LEN: usize = 32;

/// The user-name suffix of a password-history line (`user_history0`), as secretsdump and
/// DSInternals write it.
const HISTORY_SUFFIX: &str = "_history";

/// secretsdump's field for a reversible-encryption password (`user:CLEARTEXT:password`).
const CLEARTEXT_FIELD: &str = "CLEARTEXT";

/// John the Ripper's NT-hash tag (`user:$NT$hash`).
const JOHN_NT_TAG: &str = "$NT$";

/// `userAccountControl` bit of a disabled account (ACCOUNTDISABLE).
const UAC_ACCOUNT_DISABLE: u32 = 0x2;

/// Which export layout a line was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layout {
    /// `user:rid:lm:nt:::` (pwdump, secretsdump, DSInternals PWDump).
    Pwdump,
    /// `user::lm:nt:sid::` (DSInternals Ophcrack).
    Ophcrack,
    /// `user:nt` (DSInternals HashcatNT).
    HashcatNt,
    /// `user:$NT$nt` (DSInternals JohnNT).
    JohnNt,
    /// The NT hash alone (DSInternals NTHash): no account name.
    BareNt,
    /// `rid<TAB>user<TAB>nt<TAB>uac` (mimikatz dcsync /csv).
    Mimikatz,
    /// `user:CLEARTEXT:password` (secretsdump, reversible encryption).
    Cleartext,
}

impl Layout {
    /// How the layout is named in summaries.
    pub fn describe(self) -> &'static str {
        match self {
            Layout::Pwdump => "pwdump/secretsdump (user:rid:lm:nt:::)",
            Layout::Ophcrack => "Ophcrack (user::lm:nt:sid::)",
            Layout::HashcatNt => "hashcat (user:nthash)",
            Layout::JohnNt => "John (user:$NT$nthash)",
            Layout::BareNt => "bare NT hashes (no account names)",
            Layout::Mimikatz => "mimikatz dcsync /csv (rid, user, nthash, uac)",
            Layout::Cleartext => "secretsdump CLEARTEXT (reversible encryption)",
        }
    }
}

/// One account's hash, as read from one line.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// The account as written, domain prefix and all (`CORP\alice`), without any history
    /// suffix; empty for a bare hash line.
    pub name: String,
    /// The RID, when the layout carries it.
    pub rid: Option<u32>,
    /// `Some(n)` for the n-th old password (`user_history{n}`); `None` for the current one.
    pub history: Option<u32>,
    /// The NT hash; `None` when the account has none (`NO NT-HASH`, an empty field).
    pub nt: Option<[u8; 16]>,
    /// `Some(true)` when the line says the account is disabled (secretsdump `(status=...)`,
    /// mimikatz `userAccountControl`); `None` when it does not say.
    pub disabled: Option<bool>,
    /// How the line was read.
    pub layout: Layout,
}

// Not derived: the hash stays out of debug output (and so out of panics and logs).
impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("rid", &self.rid)
            .field("history", &self.history)
            .field("nt", &self.nt.map(|_| "<hidden>"))
            .field("disabled", &self.disabled)
            .field("layout", &self.layout)
            .finish()
    }
}

impl Account {
    /// A machine (computer) account: its name ends in `$`. Machine passwords are random and
    /// changed every 30 days; they are audited like any other account.
    pub fn is_machine(&self) -> bool {
        self.name.ends_with('$')
    }
    /// Whether the hash is the empty password's.
    pub fn empty_password(&self) -> bool {
        self.nt == Some(EMPTY_NT_HASH)
    }
    /// What two lines of one account share, to match an account's history lines with its
    /// current line and to find an account listed twice: the name (domain prefix and all)
    /// lowercased, as Active Directory compares account names without case. `None` for a bare
    /// hash line, which names no account.
    pub fn identity(&self) -> Option<String> {
        (!self.name.is_empty()).then(|| self.name.to_lowercase())
    }
}

/// Why a line of an export gave no account, though it belongs to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Skip {
    /// A blank line.
    Blank,
    /// A tool's own message (`[*] Dumping Domain Credentials ...`, the impacket banner).
    ToolMessage,
    /// A Kerberos key (`user:aes256-cts-hmac-sha1-96:...`): no NT hash in it.
    KerberosKey,
    /// Another kind of hash (`$DCC2$` cached credentials, an LM-only line): not an NT hash.
    OtherHash,
}

impl Skip {
    /// How the reason is named in summaries.
    pub fn describe(self) -> &'static str {
        match self {
            Skip::Blank => "blank",
            Skip::ToolMessage => "tool messages",
            Skip::KerberosKey => "Kerberos keys (no NT hash)",
            Skip::OtherHash => "other hash kinds (not NT)",
        }
    }
}

/// What one line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// An account's NT hash.
    Account(Account),
    /// Part of an export, but no NT hash to audit.
    Skipped(Skip),
    /// None of the layouts: reported by line number, never echoed (it may hold a password).
    NotAnExport,
}

/// Reads one line (without its line end; a trailing `\r` is ignored).
///
/// ```
/// use leakdex_core::ingest::hashdump::{parse_line, Line, Layout};
/// let Line::Account(a) = parse_line(r"CORP\alice:1104:aad3b435b51404eeaad3b435b51404ee:8846f7eaee8fb117ad06bdd830b7586c::: (status=Enabled)") else { panic!() };
/// assert_eq!((a.name.as_str(), a.rid, a.history, a.disabled, a.layout), (r"CORP\alice", Some(1104), None, Some(false), Layout::Pwdump));
/// ```
pub fn parse_line(line: &str) -> Line {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Line::Skipped(Skip::Blank);
    }
    if is_tool_message(trimmed) {
        return Line::Skipped(Skip::ToolMessage);
    }
    if let Some(a) = mimikatz(trimmed) {
        return Line::Account(a);
    }
    if let Some(nt) = parse_hex16(trimmed) {
        return Line::Account(Account {
            name: String::new(),
            rid: None,
            history: None,
            nt: Some(nt),
            disabled: None,
            layout: Layout::BareNt,
        });
    }
    let (body, disabled) = strip_suffixes(trimmed);
    let fields: Vec<&str> = body.split(':').collect();
    if fields.len() < 2 || fields[0].is_empty() {
        return Line::NotAnExport;
    }
    let user = fields[0];
    // Cleartext: everything after `CLEARTEXT:` is the password, colons and all (and any
    // trailing " (status=...)" look-alike belongs to it: the untrimmed line is used).
    if fields.len() >= 3 && fields[1] == CLEARTEXT_FIELD {
        let start = line.find(':').map_or(0, |i| i + 1) + CLEARTEXT_FIELD.len() + 1;
        let password = line.get(start..).unwrap_or("");
        let mut nt = [0u8; 16];
        nt.copy_from_slice(&crate::ntlm_key(password)[..16]);
        return account(user, None, Some(nt), None, Layout::Cleartext);
    }
    if fields.len() == 3 && is_kerberos_type(fields[1]) {
        return Line::Skipped(Skip::KerberosKey);
    }
    if fields[1..].iter().any(|f| f.starts_with("$DCC") || f.starts_with("$NETNT") || f.starts_with("$krb5")) {
        return Line::Skipped(Skip::OtherHash);
    }
    // pwdump / secretsdump: user:rid:lm:nt[:comment:homedir:...]
    if fields.len() >= 4 && is_rid(fields[1]) && lm_field(fields[2]) {
        if let Some(nt) = nt_field(fields[3]) {
            return account(user, fields[1].parse().ok(), nt, disabled, Layout::Pwdump);
        }
    }
    // Ophcrack: user::lm:nt:sid::
    if fields.len() >= 5
        && fields[1].is_empty()
        && lm_field(fields[2])
        && (fields[4].is_empty() || fields[4].starts_with("S-1-"))
    {
        if let Some(nt) = nt_field(fields[3]) {
            let rid = fields[4].rsplit('-').next().and_then(|r| r.parse().ok()).filter(|_| !fields[4].is_empty());
            return account(user, rid, nt, disabled, Layout::Ophcrack);
        }
    }
    if fields.len() == 2 {
        if let Some(hash) = fields[1].strip_prefix(JOHN_NT_TAG) {
            if let Some(nt) = parse_hex16(hash) {
                return account(user, None, Some(nt), disabled, Layout::JohnNt);
            }
        }
        if let Some(nt) = parse_hex16(fields[1]) {
            return account(user, None, Some(nt), disabled, Layout::HashcatNt);
        }
    }
    Line::NotAnExport
}

/// Whether a line of a staff list would be read as an account hash export: with an NTLM (or
/// SHA-1 password) index such a line must never be hashed as if it were a password.
pub fn looks_like_export(line: &str) -> bool {
    matches!(parse_line(line), Line::Account(_))
}

/// Whether the start of a file is an account hash export: most of its first lines that are
/// neither blank nor a tool message hold an account's NT hash.
pub fn looks_like_export_text(head: &str) -> bool {
    let mut accounts = 0u32;
    let mut others = 0u32;
    // The last line of a sniffed head may be cut short.
    let lines: Vec<&str> = head.split('\n').collect();
    let whole = if lines.len() > 1 { &lines[..lines.len() - 1] } else { &lines[..] };
    for l in whole.iter().take(200) {
        match parse_line(l) {
            Line::Account(_) => accounts += 1,
            // Kerberos keys and other hash kinds go with an export but prove nothing alone.
            Line::Skipped(_) => {}
            Line::NotAnExport => others += 1,
        }
    }
    accounts > 0 && accounts >= others
}

fn account(user: &str, rid: Option<u32>, nt: Option<[u8; 16]>, disabled: Option<bool>, layout: Layout) -> Line {
    let (name, history) = split_history(user);
    Line::Account(Account { name: name.to_string(), rid, history, nt, disabled, layout })
}

/// `alice_history3` → (`alice`, Some(3)).
fn split_history(user: &str) -> (&str, Option<u32>) {
    if let Some(at) = user.rfind(HISTORY_SUFFIX) {
        let digits = &user[at + HISTORY_SUFFIX.len()..];
        if at > 0 && !digits.is_empty() && digits.len() <= 4 && digits.bytes().all(|b| b.is_ascii_digit()) {
            return (&user[..at], digits.parse().ok());
        }
    }
    (user, None)
}

/// secretsdump's `[*] ...` status lines and its banner.
fn is_tool_message(line: &str) -> bool {
    ["[*]", "[+]", "[-]", "[!]"].iter().any(|p| line.starts_with(p)) || line.starts_with("Impacket v")
}

/// The Kerberos key types secretsdump writes (`user:aes256-cts-hmac-sha1-96:key`).
fn is_kerberos_type(f: &str) -> bool {
    f.starts_with("aes256-cts")
        || f.starts_with("aes128-cts")
        || f.starts_with("des-cbc")
        || f.starts_with("rc4_hmac")
        // Key types secretsdump has no name for are written as their number.
        || is_rid(f)
}

fn is_rid(f: &str) -> bool {
    !f.is_empty() && f.len() <= 10 && f.bytes().all(|b| b.is_ascii_digit())
}

/// An LM field: a hash, empty, or a placeholder for "none" (`*` runs, `NO LM-HASH***`,
/// `NO PASSWORD***`).
fn lm_field(f: &str) -> bool {
    f.is_empty() || parse_hex16(f).is_some() || is_placeholder(f)
}

/// `*****`, `NO LM-HASH*****`, `NO NT-HASH*****`, `NO PASSWORD*****`.
fn is_placeholder(f: &str) -> bool {
    let rest = f
        .strip_prefix("NO PASSWORD")
        .or_else(|| f.strip_prefix("NO LM-HASH"))
        .or_else(|| f.strip_prefix("NO NT-HASH"))
        .unwrap_or(f);
    !f.is_empty() && rest.bytes().all(|b| b == b'*')
}

/// An NT field: `Some(Some(hash))`; `Some(None)` for an account without one (empty field,
/// `NO NT-HASH***`, `*` runs); `NO PASSWORD***` is old pwdump's empty password. `None`: not an
/// NT field.
fn nt_field(f: &str) -> Option<Option<[u8; 16]>> {
    if let Some(h) = parse_hex16(f) {
        return Some(Some(h));
    }
    if f.starts_with("NO PASSWORD") && is_placeholder(f) {
        return Some(Some(EMPTY_NT_HASH));
    }
    if f.is_empty() || is_placeholder(f) {
        return Some(None);
    }
    None
}

/// Strips secretsdump's ` (pwdLastSet=...)` and ` (status=...)` suffixes; returns the rest and
/// whether the status says disabled.
fn strip_suffixes(line: &str) -> (&str, Option<bool>) {
    let mut rest = line.trim_end();
    let mut disabled = None;
    while let Some(open) = rest.rfind(" (") {
        let Some(inner) = rest[open + 2..].strip_suffix(')') else { break };
        let Some((key, value)) = inner.split_once('=') else { break };
        if !key.bytes().all(|b| b.is_ascii_alphabetic()) || key.is_empty() {
            break;
        }
        if key.eq_ignore_ascii_case("status") {
            disabled = Some(value.trim().eq_ignore_ascii_case("disabled"));
        }
        rest = rest[..open].trim_end();
    }
    (rest, disabled)
}

/// mimikatz `lsadump::dcsync /all /csv`: `rid<TAB>user<TAB>nthash<TAB>uac`.
fn mimikatz(line: &str) -> Option<Account> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() != 4 || !is_rid(f[0]) || f[1].is_empty() {
        return None;
    }
    let nt = if f[2].is_empty() { None } else { Some(parse_hex16(f[2])?) };
    let uac: u32 = f[3].trim().parse().ok()?;
    let (name, history) = split_history(f[1]);
    Some(Account {
        name: name.to_string(),
        rid: f[0].parse().ok(),
        history,
        nt,
        disabled: Some(uac & UAC_ACCOUNT_DISABLE != 0),
        layout: Layout::Mimikatz,
    })
}

/// 32 hex digits, any case.
fn parse_hex16(s: &str) -> Option<[u8; 16]> {
    if s.len() != NT_HEX_LEN {
        return None;
    }
    let key = crate::parse_key(s)?;
    let mut out = [0u8; 16];
    out.copy_from_slice(&key[..16]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // NT hashes computed with Python (own MD4 of UTF-16LE): "password", "Summer2024!".
    const PASSWORD_NT: &str = "8846f7eaee8fb117ad06bdd830b7586c";
    const LM_NONE: &str = "aad3b435b51404eeaad3b435b51404ee";

    fn acct(line: &str) -> Account {
        match parse_line(line) {
            Line::Account(a) => a,
            other => panic!("{line:?} read as {other:?}"),
        }
    }

    fn nt(hex: &str) -> [u8; 16] {
        parse_hex16(hex).unwrap()
    }

    #[test]
    fn secretsdump_lines_give_domain_user_rid_and_nt_hash() {
        let a = acct(&format!(r"CORP.EXAMPLE\alice:1104:{LM_NONE}:{PASSWORD_NT}:::"));
        assert_eq!(a.name, r"CORP.EXAMPLE\alice");
        assert_eq!(a.rid, Some(1104));
        assert_eq!(a.nt, Some(nt(PASSWORD_NT)));
        assert_eq!((a.history, a.disabled, a.layout), (None, None, Layout::Pwdump));
        let b = acct(&format!("bob:1105:{LM_NONE}:{}:::\r", PASSWORD_NT.to_uppercase()));
        assert_eq!((b.name.as_str(), b.nt), ("bob", Some(nt(PASSWORD_NT))));
    }

    #[test]
    fn secretsdump_status_and_pwdlastset_suffixes_are_read() {
        let a = acct(&format!(
            r"CORP\carol:1106:{LM_NONE}:{PASSWORD_NT}::: (pwdLastSet=2023-01-02 10:11) (status=Disabled)"
        ));
        assert_eq!((a.name.as_str(), a.disabled), (r"CORP\carol", Some(true)));
        let b = acct(&format!("dave:1107:{LM_NONE}:{PASSWORD_NT}::: (status=Enabled)"));
        assert_eq!(b.disabled, Some(false));
    }

    #[test]
    fn an_accounts_lines_share_one_identity_whatever_the_case_and_layout() {
        let current = acct(&format!(r"CORP\Erin:1108:{LM_NONE}:{PASSWORD_NT}:::"));
        let old = acct(&format!(r"corp\erin_history0:1108:{LM_NONE}:{PASSWORD_NT}:::"));
        let hashcat = acct(&format!(r"CORP\ERIN:{PASSWORD_NT}"));
        assert_eq!(current.identity().as_deref(), Some(r"corp\erin"));
        assert_eq!(current.identity(), old.identity());
        assert_eq!(current.identity(), hashcat.identity());
        assert_ne!(current.identity(), acct(&format!(r"CORP\erin2:1109:{LM_NONE}:{PASSWORD_NT}:::")).identity());
        // A bare hash names no account.
        assert_eq!(acct(PASSWORD_NT).identity(), None);
    }

    #[test]
    fn history_lines_name_the_account_and_the_generation() {
        let a = acct(&format!(r"CORP\erin_history2:1108:{LM_NONE}:{PASSWORD_NT}:::"));
        assert_eq!((a.name.as_str(), a.history), (r"CORP\erin", Some(2)));
        let b = acct(&format!("frank_history0:{PASSWORD_NT}"));
        assert_eq!((b.name.as_str(), b.history, b.layout), ("frank", Some(0), Layout::HashcatNt));
    }

    #[test]
    fn machine_accounts_are_accounts() {
        let a = acct(&format!(r"CORP\WS-0042$:2201:{LM_NONE}:{PASSWORD_NT}:::"));
        assert!(a.is_machine());
        assert_eq!(a.name, r"CORP\WS-0042$");
    }

    #[test]
    fn disabled_and_placeholder_lm_fields_are_fine() {
        for lm in ["*", "********************************", "NO LM-HASH**********************", "", LM_NONE] {
            let a = acct(&format!("gina:1110:{lm}:{PASSWORD_NT}:::"));
            assert_eq!(a.nt, Some(nt(PASSWORD_NT)), "LM field {lm:?}");
        }
    }

    #[test]
    fn pwdump_no_password_is_the_empty_password_and_no_nt_hash_is_none() {
        let a = acct("guest:501:NO PASSWORD*********************:NO PASSWORD*********************:::");
        assert!(a.empty_password());
        let b = acct("svc:1111:NO LM-HASH**********************:NO NT-HASH**********************:::");
        assert_eq!(b.nt, None);
        let c = acct(&format!("Guest:501:{LM_NONE}:31d6cfe0d16ae931b73c59d7e0c089c0:::"));
        assert!(c.empty_password());
    }

    #[test]
    fn pwdump_comment_and_homedir_fields_are_allowed() {
        let a = acct(&format!("hank:1112:{LM_NONE}:{PASSWORD_NT}:Built-in account:C\\Users\\hank:"));
        assert_eq!((a.name.as_str(), a.rid), ("hank", Some(1112)));
    }

    #[test]
    fn dsinternals_views_are_read() {
        let a = acct(&format!("ivan:$NT${PASSWORD_NT}"));
        assert_eq!(a.layout, Layout::JohnNt);
        let b = acct(&format!("jane::{LM_NONE}:{PASSWORD_NT}:S-1-5-21-1-2-3-1113::"));
        assert_eq!((b.layout, b.rid), (Layout::Ophcrack, Some(1113)));
        let c = acct(&PASSWORD_NT.to_uppercase());
        assert_eq!((c.layout, c.name.as_str()), (Layout::BareNt, ""));
        let d = acct(&format!("Jürgen.Müller:{PASSWORD_NT}"));
        assert_eq!((d.layout, d.name.as_str()), (Layout::HashcatNt, "Jürgen.Müller"));
        // HashcatNT of an account without an NT hash is `user:` — not an account hash.
        assert_eq!(parse_line("kate:"), Line::NotAnExport);
    }

    #[test]
    fn mimikatz_dcsync_csv_lines_carry_the_disabled_bit() {
        let a = acct(&format!("502\tkrbtgt\t{PASSWORD_NT}\t514"));
        assert_eq!((a.name.as_str(), a.rid, a.disabled, a.layout), ("krbtgt", Some(502), Some(true), Layout::Mimikatz));
        let b = acct(&format!("1114\tlena\t{PASSWORD_NT}\t512"));
        assert_eq!(b.disabled, Some(false));
    }

    #[test]
    fn cleartext_lines_are_audited_by_the_nt_hash_of_the_password() {
        let a = acct("CORP\\mike:CLEARTEXT:password");
        assert_eq!((a.name.as_str(), a.nt, a.layout), (r"CORP\mike", Some(nt(PASSWORD_NT)), Layout::Cleartext));
        // A password with colons and a status-like tail is taken whole.
        let b = acct("nora:CLEARTEXT:pass:word (status=x)");
        assert_ne!(b.nt, Some(nt(PASSWORD_NT)));
    }

    #[test]
    fn tool_messages_kerberos_keys_and_cached_credentials_are_skipped_not_rejected() {
        assert_eq!(
            parse_line("[*] Dumping Domain Credentials (domain\\uid:rid:lmhash:nthash)"),
            Line::Skipped(Skip::ToolMessage)
        );
        assert_eq!(
            parse_line("Impacket v0.12.0 - Copyright Fortra, LLC and its affiliated companies"),
            Line::Skipped(Skip::ToolMessage)
        );
        assert_eq!(
            parse_line(
                "CORP\\alice:aes256-cts-hmac-sha1-96:0011223344556677889900112233445566778899001122334455667788990011"
            ),
            Line::Skipped(Skip::KerberosKey)
        );
        assert_eq!(parse_line("alice:des-cbc-md5:0011223344556677"), Line::Skipped(Skip::KerberosKey));
        assert_eq!(
            parse_line("CORP/alice:$DCC2$10240#alice#00112233445566778899aabbccddeeff"),
            Line::Skipped(Skip::OtherHash)
        );
        assert_eq!(parse_line("   "), Line::Skipped(Skip::Blank));
    }

    #[test]
    fn lines_of_other_files_are_not_exports() {
        for l in [
            "alice@example.com:hunter2",
            "password",
            "name,email",
            "alice:1104:notahash:8846f7eaee8fb117ad06bdd830b7586:::",
            "alice:abc:aad3b435b51404eeaad3b435b51404ee:8846f7eaee8fb117ad06bdd830b7586c:::",
            ":1104:aad3b435b51404eeaad3b435b51404ee:8846f7eaee8fb117ad06bdd830b7586c:::",
        ] {
            assert_eq!(parse_line(l), Line::NotAnExport, "{l:?}");
            assert!(!looks_like_export(l));
        }
    }

    #[test]
    fn a_file_of_secretsdump_output_looks_like_an_export_and_a_password_list_does_not() {
        let dump = format!(
            "Impacket v0.12.0\n[*] Dumping Domain Credentials\nCORP\\a:1:{LM_NONE}:{PASSWORD_NT}:::\nCORP\\b:2:{LM_NONE}:{PASSWORD_NT}:::\n[*] Cleaning up\n"
        );
        assert!(looks_like_export_text(&dump));
        assert!(!looks_like_export_text("password\nhunter2\nletmein\n"));
        assert!(!looks_like_export_text("[*] only messages\n"));
        assert!(!looks_like_export_text("a:1:b\nc:22:d\nhunter2\n"), "password lines with digits between colons");
    }

    #[test]
    fn debug_output_hides_the_hash() {
        let a = acct(&format!("ivan:{PASSWORD_NT}"));
        let shown = format!("{a:?}").to_lowercase();
        assert!(!shown.contains("8846"), "{shown}");
    }
}
