//! `check --email ADDRESS --password-stdin` (or `--kind auto`): a sign-up form's email and
//! password answered in one call, each by the index (or range API) of its kind: one row
//! each, exit 1 if either is exposed, 2 if an asked one could not be checked. The password is
//! read from stdin or a file, never from an argument (visible in `ps`), and never printed:
//! its row carries the SHA-1 (or NTLM) hash, as `check` always does.

use std::io::{self, BufRead, BufWriter, Write};

use anyhow::{Context, Result};
use leakdex_core::Kind;

use super::{decode_line, open_staff_list, table_header, table_row, Status, Store, Tally};
use crate::args::{CheckArgs, CheckFormat, KindArg};
use crate::Outcome;

/// The password: the first line of stdin or of `--password-file`, decoded as `check` decodes
/// stdin (BOM, UTF-16, UTF-8 or windows-1252), without its line ending. More than one
/// non-empty line is refused: this reads one password, not a list.
fn read_password(a: &CheckArgs) -> Result<Option<String>> {
    let (reader, shown) = match &a.password_file {
        Some(path) => {
            let name = path.to_str().with_context(|| format!("{}: the path is not UTF-8", path.display()))?;
            (open_staff_list(Some(name))?, path.display().to_string())
        }
        None if a.password_stdin => (open_staff_list(None)?, "stdin".to_string()),
        None => return Ok(None),
    };
    let mut lines = Vec::new();
    for line in reader.split(b'\n') {
        let line = decode_line(&line.with_context(|| format!("reading the password from {shown}"))?);
        if !line.is_empty() {
            lines.push(line);
        }
        anyhow::ensure!(
            lines.len() <= 1,
            "{shown} holds more than one line; --password-stdin and --password-file read one password (check a list with check -i INDEX)"
        );
    }
    let password = lines.pop().with_context(|| format!("{shown} holds no password (it is empty)"))?;
    // One line ending is taken off; a carriage return left over (`\r\r\n`, or a lone `\r`)
    // would be hashed as part of the password and answer "clean" for the wrong value.
    anyhow::ensure!(
        !password.contains('\r'),
        "{shown}: the password holds a carriage return (a line ending such as \\r\\r\\n?), so it was not checked; give the password alone on one line"
    );
    Ok(Some(password))
}

pub fn check(a: CheckArgs) -> Result<Outcome> {
    let password = read_password(&a)?;
    anyhow::ensure!(
        a.email.is_some() || password.is_some(),
        "--kind auto checks a sign-up form's email and password: give --email ADDRESS and/or --password-stdin (or --password-file FILE)"
    );
    // The password's kind with --api: SHA-1, unless --kind ntlm.
    let password_kind = if a.target.kind == KindArg::Ntlm { Kind::Ntlm } else { Kind::Password };
    let (mut email_store, mut password_store) = (None, None);
    if a.target.api.is_some() {
        if a.email.is_some() {
            email_store = Some(Store::open_api(&a.target, Kind::Email)?);
        }
        if password.is_some() {
            password_store = Some(Store::open_api(&a.target, password_kind)?);
        }
    } else {
        for path in &a.target.index {
            let store = Store::open_path(path)?;
            let slot = if store.kind() == Kind::Email { &mut email_store } else { &mut password_store };
            anyhow::ensure!(
                slot.is_none(),
                "{}: a second {} index; give one email and one password index",
                path.display(),
                store.kind()
            );
            *slot = Some(store);
        }
    }
    let mut asked = Vec::new();
    if let Some(email) = &a.email {
        let store = email_store.context("--email needs an email index: add -i EMAILS.ldx")?;
        asked.push((store, email.clone()));
    }
    if let Some(password) = password {
        let store = password_store.context("a password needs a password index: add -i PASSWORDS.ldx")?;
        asked.push((store, password));
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let mut tally = Tally::default();
    if a.format == CheckFormat::Table {
        // IDENTIFIER holds the address of the email row and the hash of the password row.
        table_header(&mut out, Kind::Email, false)?;
    }
    let mut notes = Vec::new();
    for (store, input) in &asked {
        for row in store.answer_many(std::slice::from_ref(input))? {
            tally.add(&row);
            match a.format {
                CheckFormat::Table => table_row(&mut out, &row, None, None)?,
                CheckFormat::Json => writeln!(out, "{}", row.json(None, &crate::monitor::Note::default()))?,
            }
            if let Status::Invalid(_) = row.status {
                notes.push(store.kind());
            }
        }
        if let Some(note) = store.missing_dates().filter(|_| a.format == CheckFormat::Table) {
            eprintln!("note: {note}");
        }
    }
    out.flush()?;
    // An asked value that could not be checked makes the run exit 2, even when the other one
    // is exposed: exit 1 would read as "answered, exposed" for both.
    if let Some(kind) = notes.first() {
        let other = if tally.exposed > 0 { "; the other value was checked and is exposed (see its row)" } else { "" };
        anyhow::bail!("the {kind} is not valid, so it was not checked (see its row){other}");
    }
    Ok(tally.outcome())
}
