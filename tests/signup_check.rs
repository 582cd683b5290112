//! `check --email ADDRESS --password-stdin` (issue 12): a sign-up form's email and password
//! in one call, against two local indexes or one range API serving both kinds.

use crate::check_api::{py_sha1, signup_indexes};
use crate::server::Server;
use crate::util::{json_lines, Dir};

#[test]
fn one_check_answers_an_email_and_a_password_from_two_indexes() {
    let dir = Dir::new();
    let (emails, passwords) = signup_indexes(&dir);
    let h = py_sha1(&["correct horse battery", "unleaked pass phrase", "Tr0ub4dor&3"]);
    // Either order of -i; the password from stdin, never an argument.
    for order in [[&emails, &passwords], [&passwords, &emails]] {
        let r = dir
            .cmd(&[
                "check",
                "-i",
                order[0],
                "-i",
                order[1],
                "--format",
                "json",
                "--email",
                "Alice@Example.com",
                "--password-stdin",
            ])
            .stdin("correct horse battery\n")
            .expect(1);
        let rows = json_lines(&r.stdout);
        assert_eq!(rows.len(), 2, "{}", r.stdout);
        assert_eq!(rows[0]["email"], "alice@example.com");
        assert_eq!((rows[0]["exposed"].as_bool(), rows[0]["count"].as_u64()), (Some(true), Some(3)));
        assert_eq!(rows[1]["sha1"], h[0].as_str());
        assert_eq!((rows[1]["exposed"].as_bool(), rows[1]["count"].as_u64()), (Some(true), Some(2)));
        assert!(!r.stdout.contains("correct horse") && !r.stderr.contains("correct horse"));
    }
    // Exit 1 when only one of them is exposed, either one.
    let r = dir
        .cmd(&[
            "check",
            "-i",
            &emails,
            "-i",
            &passwords,
            "--format",
            "json",
            "--email",
            "nobody@example.com",
            "--password-stdin",
        ])
        .stdin("Tr0ub4dor&3\r\n")
        .expect(1);
    let rows = json_lines(&r.stdout);
    assert_eq!((rows[0]["exposed"].as_bool(), rows[1]["sha1"].as_str()), (Some(false), Some(h[2].as_str())));
    assert_eq!(rows[1]["count"], 2);
    dir.write("pw.txt", "unleaked pass phrase\n");
    let r = dir
        .cmd(&["check", "-i", &emails, "-i", &passwords, "--email", "carol@example.net", "--password-file", "pw.txt"])
        .expect(1);
    assert!(r.stdout.contains(&h[1]) && !r.stdout.contains("unleaked"), "{}", r.stdout);
    // Neither: exit 0, two clean rows.
    let r = dir
        .cmd(&[
            "check",
            "-i",
            &emails,
            "-i",
            &passwords,
            "--kind",
            "auto",
            "--email",
            "nobody@example.com",
            "--password-stdin",
        ])
        .stdin("unleaked pass phrase")
        .expect(0);
    assert_eq!(r.stdout.lines().filter(|l| l.contains("clean")).count(), 2, "{}", r.stdout);
}

#[test]
fn one_check_that_cannot_check_what_it_was_given_is_an_error_not_clean() {
    let dir = Dir::new();
    let (emails, passwords) = signup_indexes(&dir);
    // A password without a password index.
    let r = dir.cmd(&["check", "-i", &emails, "--email", "a@example.com", "--password-stdin"]).stdin("x\n").expect(2);
    assert!(r.stderr.contains("password index"), "{}", r.stderr);
    // Two indexes of one kind.
    let r = dir.cmd(&["check", "-i", &emails, "-i", &emails, "--email", "a@example.com"]).expect(2);
    assert!(r.stderr.contains("a second email index"), "{}", r.stderr);
    // An invalid address with a clean password: not checked, so exit 2, not 0.
    let r = dir
        .cmd(&["check", "-i", &emails, "-i", &passwords, "--email", "not an address", "--password-stdin"])
        .stdin("unleaked pass phrase\n")
        .expect(2);
    assert!(r.stderr.contains("not valid"), "{}", r.stderr);
    // An empty stdin, or a list where one password was expected.
    dir.cmd(&["check", "-i", &emails, "-i", &passwords, "--password-stdin"]).stdin("").expect(2);
    let r = dir.cmd(&["check", "-i", &emails, "-i", &passwords, "--password-stdin"]).stdin("one\ntwo\n").expect(2);
    assert!(r.stderr.contains("more than one line") && !r.stderr.contains("two"), "{}", r.stderr);
    // --kind auto with nothing to ask, and several indexes without the sign-up flags.
    dir.cmd(&["check", "-i", &emails, "--kind", "auto", "a@example.com"]).expect(2);
    let r = dir.cmd(&["check", "-i", &emails, "-i", &passwords, "a@example.com"]).expect(2);
    assert!(r.stderr.contains("several indexes"), "{}", r.stderr);
    // A password is never an argument value: --password takes none.
    dir.cmd(&["check", "-i", &passwords, "--password", "hunter2"]).expect(2);
    // Existing invocations keep working.
    dir.cmd(&["check", "-i", &emails, "alice@example.com"]).expect(1);
    dir.cmd(&["check", "-i", &passwords]).stdin("sommer2019\n").expect(1);
}

#[test]
fn one_check_asks_a_range_api_serving_both_kinds() {
    let dir = Dir::new();
    let (emails, passwords) = signup_indexes(&dir);
    let server = Server::start(&dir, &["-i", &emails, "-i", &passwords]);
    let h = py_sha1(&["sommer2019"]);
    let r = dir
        .cmd(&[
            "check",
            "--api",
            &server.url,
            "--kind",
            "auto",
            "--format",
            "json",
            "--email",
            "bob@example.org",
            "--password-stdin",
        ])
        .stdin("sommer2019\n")
        .expect(1);
    let rows = json_lines(&r.stdout);
    assert_eq!((rows[0]["email"].as_str(), rows[0]["count"].as_u64()), (Some("bob@example.org"), Some(1)));
    assert_eq!((rows[1]["sha1"].as_str(), rows[1]["count"].as_u64()), (Some(h[0].as_str()), Some(1)));
    // A server without a password index is an error for the password, never a clean row.
    let only_emails = Server::start(&dir, &["-i", &emails]);
    let r = dir
        .cmd(&["check", "--api", &only_emails.url, "--email", "bob@example.org", "--password-stdin"])
        .stdin("sommer2019\n")
        .expect(2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn one_check_with_an_invalid_email_and_an_exposed_password_exits_2_not_1() {
    let dir = Dir::new();
    let (emails, passwords) = signup_indexes(&dir);
    let h = py_sha1(&["correct horse battery"]);
    for address in ["ana@@example.com", "no-at-sign.example.org"] {
        for format in ["table", "json"] {
            let r = dir
                .cmd(&[
                    "check",
                    "-i",
                    &emails,
                    "-i",
                    &passwords,
                    "--format",
                    format,
                    "--email",
                    address,
                    "--password-stdin",
                ])
                .stdin("correct horse battery\n")
                .expect(2);
            // Both rows still printed: the invalid one saying why, the exposed password by hash.
            let why = if format == "json" { "\"error\"" } else { "invalid" };
            assert!(r.stdout.contains(address) && r.stdout.contains(why), "{}", r.stdout);
            assert!(r.stdout.contains(&h[0]) || r.stdout.contains(&h[0].to_lowercase()), "{}", r.stdout);
            assert!(r.stderr.contains("not valid") && r.stderr.contains("exposed"), "{}", r.stderr);
            assert!(!r.stdout.contains("correct horse") && !r.stderr.contains("correct horse"));
        }
    }
}

#[test]
fn one_check_password_ending_in_a_stray_carriage_return_is_refused_not_hashed_clean() {
    let dir = Dir::new();
    let (emails, passwords) = signup_indexes(&dir);
    for input in ["correct horse battery\r\r\n", "correct horse battery\r\r", "correct\rhorse battery\n"] {
        let r = dir
            .cmd(&["check", "-i", &emails, "-i", &passwords, "--email", "a@example.com", "--password-stdin"])
            .stdin(input)
            .expect(2);
        assert!(r.stderr.contains("carriage return") && !r.stderr.contains("horse"), "{}", r.stderr);
    }
    // One CRLF line ending is still taken off: the password is found.
    let r = dir
        .cmd(&["check", "-i", &emails, "-i", &passwords, "--email", "nobody@example.com", "--password-stdin"])
        .stdin("correct horse battery\r\n")
        .expect(1);
    assert!(r.stdout.contains(&py_sha1(&["correct horse battery"])[0]), "{}", r.stdout);
}
