//! SQL dumps (both escape dialects, COPY blocks, one-line dumps), JSON documents and mbox files
//! read through the real binary: the right addresses found, no fragment indexed, and every
//! line, record and reject counted as the summary says. Expected counts are by construction.

use serde_json::Value;

use crate::util::{json_lines, Dir};

/// Builds `files` into `x.ldx` with a report; returns each file's report.
fn build(dir: &Dir, files: &[&str]) -> Vec<Value> {
    let mut args = vec!["build", "-o", "x.ldx", "--report", "r.json"];
    args.extend_from_slice(files);
    dir.cmd(&args).expect(0);
    let r: Value = serde_json::from_slice(&std::fs::read(dir.path("r.json")).unwrap()).unwrap();
    r["files"].as_array().unwrap().clone()
}

/// Occurrences of `addr` in `x.ldx` (0: clean).
fn count(dir: &Dir, addr: &str) -> u64 {
    let r = dir.cmd(&["check", "-i", "x.ldx", "--format", "json", addr]).run();
    let row = &json_lines(&r.stdout)[0];
    match (r.status, row["exposed"].as_bool()) {
        (Some(1), Some(true)) => row["count"].as_u64().unwrap(),
        (Some(0), Some(false)) => 0,
        // Not an address at all (a fragment such as `u0040example.net`): never in an index.
        (Some(2), Some(false)) if row["error"].is_string() => 0,
        other => panic!("check {addr}: {other:?}\n{}\n{}", r.stdout, r.stderr),
    }
}

/// (lines, records, rejected) of a file report.
fn counts(f: &Value) -> (u64, u64, u64) {
    let rejected = f["rejects"].as_object().map_or(0, |m| m.values().map(|r| r["count"].as_u64().unwrap()).sum());
    (f["lines"].as_u64().unwrap(), f["records"].as_u64().unwrap(), rejected)
}

fn reject(f: &Value, reason: &str) -> u64 {
    f["rejects"][reason]["count"].as_u64().unwrap_or(0)
}

#[test]
fn pg_dump_copy_blocks_give_records_and_rows_without_an_address_are_rejected() {
    let dir = Dir::new();
    let dump = "--\n-- PostgreSQL database dump\n--\n\nSET standard_conforming_strings = on;\n\
CREATE TABLE public.users (id integer NOT NULL, email text, note text);\n\
COPY public.users (id, email, note) FROM stdin;\n\
1\tAnna@Example.com\tC:\\\\temp\\\\\n\
2\tb\\x6fris@example.org\t\\N\n\
3\t\\N\tnothing here\n\
\\.\n\
\n\
COPY public.audit (id, who) FROM stdin;\n\
1\tlogin by Chen <chen@example.net>\n\
\\.\n";
    dir.write("shop.sql", dump);
    // A second dump without any header: the COPY line alone makes it SQL.
    dir.write("bare.dump", "COPY u (email) FROM stdin;\nd\\303\\251sir\\303\\251e@example.fr\n\\.\n");
    let files = build(&dir, &["shop.sql", "bare.dump"]);
    assert_eq!(files[0]["format"], "sql");
    let why = files[0]["detection"].as_str().unwrap();
    assert!(why.contains("PostgreSQL dialect") && why.contains("COPY"), "{why}");
    // 15 lines; row 3 of users holds no address.
    assert_eq!(counts(&files[0]), (15, 3, 1));
    assert_eq!(files[0]["rejects"]["COPY row without an address"]["examples"][0][0], 10);
    assert_eq!((files[1]["format"].as_str(), counts(&files[1])), (Some("sql"), (3, 1, 0)));
    for a in ["anna@example.com", "boris@example.org", "chen@example.net", "désirée@example.fr"] {
        assert_eq!(count(&dir, a), 1, "{a}");
    }
    assert_eq!(count(&dir, "ris@example.org"), 0);
    assert_eq!(count(&dir, "x6fris@example.org"), 0);
}

#[test]
fn postgres_strings_ending_in_a_backslash_keep_every_later_address() {
    let dir = Dir::new();
    dir.write(
        "pg.sql",
        "-- Dumped by pg_dump version 16.2\nINSERT INTO public.files VALUES (1, 'C:\\', 'first@example.com');\n\
INSERT INTO public.files VALUES (2, 'D:\\share\\', 'second@example.com'), (3, E'it\\'s', 'third@example.com');\n",
    );
    dir.write(
        "my.sql",
        "-- MySQL dump 10.13\nINSERT INTO `files` VALUES (1,'C:\\\\','fourth@example.com'),(2,'o\\'neil@example.com','x');\n",
    );
    let files = build(&dir, &["pg.sql", "my.sql"]);
    assert_eq!(counts(&files[0]), (3, 3, 0));
    assert!(files[0]["detection"].as_str().unwrap().starts_with("PostgreSQL dialect: pg_dump header"));
    assert_eq!(counts(&files[1]), (2, 2, 0));
    assert!(files[1]["detection"].as_str().unwrap().starts_with("MySQL dialect"));
    for a in
        ["first@example.com", "second@example.com", "third@example.com", "fourth@example.com", "o'neil@example.com"]
    {
        assert_eq!(count(&dir, a), 1, "{a}");
    }
}

#[test]
fn mixed_escape_dialects_report_the_rows_they_lose_instead_of_a_silent_clean() {
    let dir = Dir::new();
    // A pg_dump header, then a MySQL-escaped quote: the quotes fall out of step.
    dir.write(
        "mix.sql",
        "-- PostgreSQL database dump\nINSERT INTO t VALUES (1,'o\\'neil@example.com'),(2,'lost@example.com');\n\
INSERT INTO t VALUES (3,'after@example.com');\n",
    );
    let files = build(&dir, &["mix.sql"]);
    let out_of_step = reject(
        &files[0],
        "address-like text outside SQL quotes (quotes out of step: mixed escape dialects or a broken dump)",
    );
    let lost =
        reject(&files[0], "SQL rows lost to a string that never closed (mixed escape dialects or a broken dump)");
    assert_eq!((out_of_step, lost), (2, 1), "{:#}", files[0]);
    assert_eq!(files[0]["lines"], 3);
    assert_eq!(count(&dir, "after@example.com"), 1);
    // Summary text says it, without the address.
    let r = dir.cmd(&["build", "-o", "y.ldx", "mix.sql"]).expect(0);
    assert!(
        r.stderr.contains("SQL rows lost to a string that never closed (mixed escape dialects or a broken dump): 1"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("lost@example.com"), "{}", r.stderr);
}

#[test]
fn one_line_insert_dump_of_several_chunks_is_one_line_without_rejects() {
    let dir = Dir::new();
    // 45,000 tuples on one line, about 2.6 MiB: three chunks. The passwords hold the bytes the
    // old splitter cut at (`,` and `)`).
    let mut dump = String::from("INSERT INTO `users` (`id`,`email`,`pw`) VALUES ");
    for i in 0..45_000 {
        if i > 0 {
            dump.push(',');
        }
        dump.push_str(&format!("({i},'user{i}@example.com','pw,({i}),;x')"));
    }
    dump.push(';');
    assert!(dump.len() > 2 << 20);
    dir.write("one.sql", &dump);
    // The same with a final newline, and a COPY block of 100,000 rows (about 2.6 MiB).
    let mut copy = String::from("COPY public.u (id, email) FROM stdin;\n");
    for i in 0..100_000 {
        copy.push_str(&format!("{i}\trow{i}@example.org\n"));
    }
    copy.push_str("\\.\n");
    assert!(copy.len() > 2 << 20);
    dir.write("copy.sql", &copy);
    let files = build(&dir, &["one.sql", "copy.sql"]);
    assert_eq!(counts(&files[0]), (1, 45_000, 0));
    assert_eq!(counts(&files[1]), (100_002, 100_000, 0));
    for a in [
        "user0@example.com",
        "user14999@example.com",
        "user29999@example.com",
        "row0@example.org",
        "row99999@example.org",
    ] {
        assert_eq!(count(&dir, a), 1, "{a}");
    }
    assert_eq!(count(&dir, "user45000@example.com"), 0);
}

#[test]
fn pretty_printed_json_documents_decode_escapes_and_never_index_fragments() {
    let dir = Dir::new();
    dir.write(
        "users.json",
        "[\n  {\n    \"email\": \"ren\\u00e9@example.com\",\n    \"bio\": \"says \\\"hi\\\"\"\n  },\n  {\n    \"email\": \"o'hara@example.org\"\n  },\n  {\n    \"email\": \"zo\\u0040example.net\",\n    \"id\": 3\n  },\n  {\n    \"id\": 4\n  }\n]\n",
    );
    dir.write(
        "export.json",
        "{\n  \"exported\": \"2024-01-01\",\n  \"owner\": \"dpo@example.com\",\n  \"users\": [\n    {\"mail\": \"Jos\\u00e9@Example.com\"},\n    {\"mail\": \"kim@example.com\"}\n  ]\n}\n",
    );
    let files = build(&dir, &["users.json", "export.json"]);
    assert_eq!(files[0]["format"], "json");
    assert_eq!(files[0]["detection"], "json document (top-level array)");
    // 16 lines; the fourth element has no address.
    assert_eq!(counts(&files[0]), (16, 3, 1));
    assert_eq!(files[1]["detection"], "json document (top-level object)");
    assert_eq!(counts(&files[1]), (8, 3, 0));
    for a in [
        "rené@example.com",
        "o'hara@example.org",
        "zo@example.net",
        "dpo@example.com",
        "josé@example.com",
        "kim@example.com",
    ] {
        assert_eq!(count(&dir, a), 1, "{a}");
    }
    for fragment in ["u00e9@example.com", "hara@example.org", "u0040example.net", "ren@example.com"] {
        assert_eq!(count(&dir, fragment), 0, "{fragment}");
    }
}

#[test]
fn large_and_malformed_json_documents_are_read_in_chunks_and_loud() {
    let dir = Dir::new();
    // 40,000 elements over 3 MiB, pretty-printed: several chunks.
    let mut doc = String::from("[\n");
    for i in 0..40_000 {
        doc.push_str(&format!(
            "  {{\n    \"email\": \"p{i}\\u0040example.com\",\n    \"pad\": \"{}\"\n  }}",
            "x".repeat(40)
        ));
        doc.push_str(if i + 1 < 40_000 { ",\n" } else { "\n" });
    }
    doc.push_str("]\n");
    assert!(doc.len() > 3 << 20);
    dir.write("big.json", &doc);
    // Broken: an unquoted value on line 5, and the array never closed.
    dir.write("bad.json", "[\n  {\"email\": \"ok@example.com\"},\n  {\"email\": \"two@example.com\"},\n  {\n    \"email\": oops\n  },\n  {\"email\": \"tail@example.com\"\n");
    let files = build(&dir, &["big.json", "bad.json"]);
    assert_eq!(counts(&files[0]), (4 * 40_000 + 2, 40_000, 0));
    let (lines, records, rejected) = counts(&files[1]);
    assert_eq!((lines, records), (7, 2));
    assert_eq!(rejected, 2, "{:#}", files[1]);
    assert_eq!(files[1]["rejects"]["invalid JSON record"]["examples"][0][0], 4);
    assert_eq!(reject(&files[1], "JSON document truncated inside a record"), 1);
    for a in ["p0@example.com", "p39999@example.com", "ok@example.com", "two@example.com"] {
        assert_eq!(count(&dir, a), 1, "{a}");
    }
    assert_eq!(count(&dir, "tail@example.com"), 0);
}

#[test]
fn mbox_from_separator_lines_are_skipped_not_counted_as_occurrences() {
    let dir = Dir::new();
    dir.write(
        "inbox.mbox",
        "From alice@example.com Mon Jan  1 00:00:00 2024\nFrom: Alice <alice@example.com>\nTo: bob@example.org\n\nHi Bob\n\n\
From alice@example.com Tue Jan  2 09:30:00 2024\nFrom: alice@example.com\nTo: carol@example.net\n\n>From alice@example.com Mon Jan  1 00:00:00 2024\n",
    );
    dir.write("notes.txt", "notes\nFrom dave@example.com Mon Jan  1 00:00:00 2024\n");
    let files = build(&dir, &["inbox.mbox", "notes.txt"]);
    // The mailbox reader splits it into messages at the separators, each read as a mail.
    assert_eq!(files[0]["format"], "mbox");
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(
        paths.contains(&"inbox.mbox!message 1.eml!headers") && paths.contains(&"inbox.mbox!message 2.eml!part 1"),
        "{paths:?}"
    );
    // alice: two From headers and the escaped body line, not the two separators.
    assert_eq!(count(&dir, "alice@example.com"), 3);
    assert_eq!(count(&dir, "carol@example.net"), 1);
    // Not an mbox: such a line is text like any other.
    assert_eq!(count(&dir, "dave@example.com"), 1);
    let r = dir.cmd(&["build", "-o", "y.ldx", "inbox.mbox"]).expect(0);
    assert!(r.stderr.contains("inbox.mbox!message 2.eml"), "{}", r.stderr);
}
