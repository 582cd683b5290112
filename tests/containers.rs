//! Issue 11, containers: zip (CP932 names, nesting, bombs, encryption, truncation), tar and
//! 7z, through the real binary. The archives are written by Python's `zipfile`, `tarfile`
//! and `py7zr` (independent of leakdex); what each must yield is known by construction.

use serde_json::Value;

use crate::util::{json_lines, Dir};

/// Runs a Python script with the test directory as its working directory.
fn python(dir: &Dir, script: &str) {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(dir.root())
        .output()
        .expect("python3 is needed for this test (it writes the archives)");
    assert!(
        out.status.success(),
        "the archive generator failed (install python3 and `pip install py7zr`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Python helpers: a zip writer that stores names as CP932 without the UTF-8 flag (what
/// Japanese Windows tools write; `zipfile` itself would set the flag).
const ZIP_HELPERS: &str = r#"
import io, os, tarfile, zipfile
class CP932(zipfile.ZipInfo):
    def _encodeFilenameFlags(self):
        return self.filename.encode('cp932'), self.flag_bits & ~0x800
def add(z, name, data, method=zipfile.ZIP_DEFLATED):
    zi = CP932(name)
    zi.compress_type = method
    z.writestr(zi, data)
def zipbytes(members, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, 'w') as z:
        for name, data in members:
            add(z, name, data, method)
    return b.getvalue()
def targz(members):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode='w:gz') as t:
        for name, data in members:
            data = data.encode() if isinstance(data, str) else data
            ti = tarfile.TarInfo(name); ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()
"#;

fn report(dir: &Dir, name: &str) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(dir.path(name)).unwrap()).unwrap();
    v["files"].as_array().unwrap().clone()
}

fn file<'a>(files: &'a [Value], path: &str) -> &'a Value {
    files.iter().find(|f| f["path"].as_str() == Some(path)).unwrap_or_else(|| {
        panic!("no report for {path}; reports: {:?}", files.iter().map(|f| &f["path"]).collect::<Vec<_>>())
    })
}

/// Exposed (true) or clean per address, through `bulk`.
fn exposed(dir: &Dir, index: &str, addresses: &[&str]) -> Vec<(String, bool)> {
    let list = dir.write("staff.txt", addresses.join("\n") + "\n");
    let r = dir.cmd(&["bulk", "-i", index, "--format", "json", list.to_str().unwrap()]).run();
    json_lines(&r.stdout)
        .into_iter()
        .map(|v| (v["input"].as_str().unwrap().to_string(), v["exposed"] == true))
        .collect()
}

#[test]
fn zip_members_with_cp932_names_are_read_and_named_in_the_report() {
    let dir = Dir::new();
    python(
        &dir,
        &format!(
            "{ZIP_HELPERS}\nopen('share.zip','wb').write(zipbytes([('案件/連絡先.txt', 'tanaka@mlit.example\\nsato@mlit.example\\n'), ('議事録/第3回.txt', '出席: 鈴木 suzuki@mlit.example\\n'), ('readme.txt', 'contact admin@share.example\\n')]))"
        ),
    );
    let r = dir.cmd(&["build", "-o", "x.ldx", "--report", "r.json", "share.zip"]).expect(0);
    let files = report(&dir, "r.json");
    assert_eq!(file(&files, "share.zip")["format"], "zip");
    assert_eq!(file(&files, "share.zip!案件/連絡先.txt")["records"], 2);
    assert_eq!(file(&files, "share.zip!議事録/第3回.txt")["records"], 1);
    assert!(r.stderr.contains("share.zip!案件/連絡先.txt"), "{}", r.stderr);
    assert!(!r.stderr.contains("WARNING"), "{}", r.stderr);
    let got = exposed(
        &dir,
        "x.ldx",
        &[
            "tanaka@mlit.example",
            "SATO@mlit.example",
            "suzuki@mlit.example",
            "admin@share.example",
            "nobody@mlit.example",
        ],
    );
    assert_eq!(got.iter().filter(|(_, e)| *e).count(), 4, "{got:?}");
    assert!(!got.iter().find(|(a, _)| a == "nobody@mlit.example").unwrap().1);
}

#[test]
fn nesting_beyond_max_depth_is_reported_and_shallower_members_are_read() {
    let dir = Dir::new();
    // level1.zip holds d1@ and level2.zip, which holds d2@ and level3.zip, ... down to 6.
    python(
        &dir,
        &format!(
            "{ZIP_HELPERS}
inner = zipbytes([('d6.txt', 'd6@deep.example\\n')])
for n in range(5, 0, -1):
    inner = zipbytes([('d%d.txt' % n, 'd%d@deep.example\\n' % n), ('level%d.zip' % (n + 1), inner)])
open('nest.zip', 'wb').write(inner)
"
        ),
    );
    let r = dir.cmd(&["build", "-o", "x.ldx", "--report", "r.json", "nest.zip"]).expect(0);
    assert!(r.stderr.contains("beyond --max-depth 4"), "{}", r.stderr);
    let all = [
        "d1@deep.example",
        "d2@deep.example",
        "d3@deep.example",
        "d4@deep.example",
        "d5@deep.example",
        "d6@deep.example",
    ];
    let got = exposed(&dir, "x.ldx", &all);
    let found: Vec<&str> = got.iter().filter(|(_, e)| *e).map(|(a, _)| a.as_str()).collect();
    // d4.txt is a member at depth 4 (inside 3 nested zips); level5.zip is at depth 4 too and
    // is opened, but its members are at depth 5.
    assert_eq!(found, ["d1@deep.example", "d2@deep.example", "d3@deep.example", "d4@deep.example"]);
    let files = report(&dir, "r.json");
    let deep = files.iter().find(|f| f["path"].as_str().unwrap().ends_with("level5.zip!d5.txt")).expect("d5 reported");
    assert!(deep["skipped"].as_str().unwrap().contains("--max-depth"), "{deep}");
    // --strict makes it an error; a deeper limit reads everything.
    dir.cmd(&["build", "--strict", "-o", "s.ldx", "nest.zip"]).expect(2);
    dir.cmd(&["build", "--max-depth", "6", "-o", "y.ldx", "nest.zip"]).expect(0);
    assert!(exposed(&dir, "y.ldx", &all).iter().all(|(_, e)| *e));
}

#[test]
fn a_zip_bomb_member_stops_at_the_ratio_limit_and_the_other_members_are_read() {
    let dir = Dir::new();
    python(
        &dir,
        &format!(
            "{ZIP_HELPERS}\nopen('b.zip','wb').write(zipbytes([('a.txt', 'before@bomb.example\\n'), ('zeros.bin', b'\\0' * (64 << 20)), ('z.txt', 'after@bomb.example\\n')]))"
        ),
    );
    let r = dir.cmd(&["build", "-o", "x.ldx", "--report", "r.json", "b.zip"]).expect(0);
    assert!(r.stderr.contains("zeros.bin") && r.stderr.contains("--max-ratio"), "{}", r.stderr);
    let got = exposed(&dir, "x.ldx", &["before@bomb.example", "after@bomb.example"]);
    assert!(got.iter().all(|(_, e)| *e), "{got:?}");
    let files = report(&dir, "r.json");
    let bomb = file(&files, "b.zip!zeros.bin");
    assert!(bomb["error"].as_str().unwrap().contains("max-ratio"), "{bomb}");
    assert!(bomb["bytes"].as_u64().unwrap() < 64 << 20, "read past the ratio limit: {bomb}");
    // A higher ratio limit reads it (it is only zeros: no record, a warning).
    dir.cmd(&["build", "--max-ratio", "100000", "-o", "y.ldx", "b.zip"]).expect(0);
}

#[test]
fn the_expanded_size_budget_stops_an_input_loudly() {
    let dir = Dir::new();
    python(
        &dir,
        &format!(
            "{ZIP_HELPERS}\nopen('big.zip','wb').write(zipbytes([('a.txt', 'first@budget.example\\n' + 'x' * 3000000 + '\\n'), ('b.txt', 'second@budget.example\\n')], zipfile.ZIP_STORED))"
        ),
    );
    let r = dir.cmd(&["build", "--max-expanded", "1M", "-o", "x.ldx", "big.zip"]).expect(0);
    assert!(r.stderr.contains("--max-expanded"), "{}", r.stderr);
    let got = exposed(&dir, "x.ldx", &["first@budget.example", "second@budget.example"]);
    assert_eq!(got, [("first@budget.example".to_string(), true), ("second@budget.example".to_string(), false)]);
    dir.cmd(&["build", "--strict", "--max-expanded", "1M", "-o", "s.ldx", "big.zip"]).expect(2);
    dir.cmd(&["build", "--max-expanded", "0", "-o", "s.ldx", "big.zip"]).expect(2);
}

#[test]
fn encrypted_and_unsupported_zip_members_are_warnings_naming_the_member() {
    let dir = Dir::new();
    // The encryption flag (bit 0) is set by hand in both headers: zipfile cannot encrypt,
    // and a reader must refuse the member on the flag alone.
    python(
        &dir,
        &format!(
            "{ZIP_HELPERS}
b = bytearray(zipbytes([('名簿.txt', 'secret@enc.example\\n'), ('open.txt', 'open@enc.example\\n')], zipfile.ZIP_STORED))
b[6] |= 1
cd = b.index(b'PK\\x01\\x02')
b[cd + 8] |= 1
open('enc.zip','wb').write(bytes(b))
open('lzma.zip','wb').write(zipbytes([('l.txt', 'lzma@enc.example\\n')], zipfile.ZIP_LZMA))
"
        ),
    );
    let r = dir.cmd(&["build", "-o", "x.ldx", "--report", "r.json", "enc.zip", "lzma.zip"]).expect(0);
    let line = r
        .stderr
        .lines()
        .find(|l| l.contains("WARNING") && l.contains("名簿.txt"))
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert!(line.contains("encrypted"), "{line}");
    assert!(r.stderr.lines().any(|l| l.contains("WARNING") && l.contains("l.txt")), "{}", r.stderr);
    assert!(!r.stderr.contains("secret@"), "{}", r.stderr);
    let got = exposed(&dir, "x.ldx", &["open@enc.example", "secret@enc.example"]);
    assert_eq!(got, [("open@enc.example".to_string(), true), ("secret@enc.example".to_string(), false)]);
    dir.cmd(&["build", "--strict", "-o", "s.ldx", "enc.zip"]).expect(2);
}

#[test]
fn a_truncated_zip_is_read_from_its_local_headers_with_a_warning() {
    let dir = Dir::new();
    python(
        &dir,
        &format!(
            "{ZIP_HELPERS}\nb = zipbytes([('一覧.txt', 'one@trunc.example\\n'), ('two.txt', 'two@trunc.example\\n')])\nopen('t.zip','wb').write(b[:b.index(b'PK\\x01\\x02')])"
        ),
    );
    let r = dir.cmd(&["build", "-o", "x.ldx", "--report", "r.json", "t.zip"]).expect(0);
    assert!(r.stderr.contains("central directory"), "{}", r.stderr);
    assert!(r.stderr.contains("t.zip!一覧.txt"), "{}", r.stderr);
    assert!(exposed(&dir, "x.ldx", &["one@trunc.example", "two@trunc.example"]).iter().all(|(_, e)| *e));
}

#[test]
fn tar_gz_in_zip_and_zip_in_tar_are_both_opened() {
    let dir = Dir::new();
    python(
        &dir,
        &format!(
            "{ZIP_HELPERS}
open('outer.zip','wb').write(zipbytes([('backup.tar.gz', targz([('home/list.txt', 'intar@mix.example\\n')]))]))
open('outer.tar.gz','wb').write(targz([('files/inner.zip', zipbytes([('z.txt', 'inzip@mix.example\\n')]))]))
"
        ),
    );
    dir.cmd(&["build", "-o", "x.ldx", "--report", "r.json", "outer.zip", "outer.tar.gz"]).expect(0);
    let files = report(&dir, "r.json");
    file(&files, "outer.zip!backup.tar.gz!home/list.txt");
    file(&files, "outer.tar.gz!files/inner.zip!z.txt");
    assert!(exposed(&dir, "x.ldx", &["intar@mix.example", "inzip@mix.example"]).iter().all(|(_, e)| *e));
}

#[test]
fn seven_zip_archives_are_read_member_by_member() {
    let dir = Dir::new();
    python(
        &dir,
        "import py7zr\nwith py7zr.SevenZipFile('a.7z', 'w') as z:\n    z.writestr('one@seven.example\\n', '名簿/一.txt')\n    z.writestr('two@seven.example\\n', 'two.txt')\nwith py7zr.SevenZipFile('enc.7z', 'w', password='pw', header_encryption=True) as z:\n    z.writestr('hidden@seven.example\\n', 'h.txt')\n",
    );
    let r = dir.cmd(&["build", "-o", "x.ldx", "--report", "r.json", "a.7z", "enc.7z"]).expect(0);
    let files = report(&dir, "r.json");
    assert_eq!(file(&files, "a.7z!名簿/一.txt")["records"], 1);
    assert!(
        r.stderr.lines().any(|l| l.contains("WARNING") && l.contains("enc.7z") && l.contains("encrypted")),
        "{}",
        r.stderr
    );
    let got = exposed(&dir, "x.ldx", &["one@seven.example", "two@seven.example", "hidden@seven.example"]);
    assert_eq!(got.iter().filter(|(_, e)| *e).count(), 2, "{got:?}");
}

#[test]
fn source_per_file_says_in_which_file_and_member_each_hit_was_found() {
    let dir = Dir::new();
    std::fs::create_dir_all(dir.path("share/sub")).unwrap();
    python(
        &dir,
        &format!(
            "{ZIP_HELPERS}
open('share/sub/pw.zip','wb').write(zipbytes([('案件/連絡先.txt', 'tanaka@mlit.example\\nboth@mlit.example\\n'), ('in.zip', zipbytes([('deep.txt', 'deep@mlit.example\\n')])), ('empty.txt', 'no address here\\n')]))
open('share/top.txt','w').write('both@mlit.example\\ntop@mlit.example\\n')
open('other.txt','w').write('tanaka@mlit.example\\n')
"
        ),
    );
    dir.write("m.toml", "[share]\ntitle = \"ProjectWEB share\"\nbreach_date = \"2021-05-25\"\n");
    dir.cmd(&["build", "--source-per-file", "--sources", "m.toml", "-o", "x.ldx", "share", "other.txt"]).expect(0);
    let list =
        dir.write("staff.txt", "tanaka@mlit.example\nboth@mlit.example\ndeep@mlit.example\nnobody@mlit.example\n");
    let r = dir.cmd(&["bulk", "-i", "x.ldx", "--format", "json", list.to_str().unwrap()]).expect(1);
    let rows = json_lines(&r.stdout);
    let sources = |i: usize| -> Vec<&str> {
        let mut v: Vec<&str> = rows[i]["sources"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        v.sort();
        v
    };
    assert_eq!(sources(0), ["other", "share/sub/pw.zip!案件/連絡先.txt"]);
    assert_eq!(sources(1), ["share/sub/pw.zip!案件/連絡先.txt", "share/top.txt"]);
    assert_eq!(sources(2), ["share/sub/pw.zip!in.zip!deep.txt"]);
    assert_eq!(rows[3]["exposed"], false);
    // The files' sources carry their input's description; the inputs and the file without
    // records are no sources.
    let info: Value = serde_json::from_str(&dir.cmd(&["info", "-i", "x.ldx", "--json"]).expect(0).stdout).unwrap();
    let meta = info["meta"]["sources"].as_array().unwrap();
    let names: Vec<&str> = meta.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["other", "share/sub/pw.zip!案件/連絡先.txt", "share/sub/pw.zip!in.zip!deep.txt", "share/top.txt"]
    );
    let top = meta.iter().find(|s| s["name"] == "share/top.txt").unwrap();
    assert_eq!(top["title"], "ProjectWEB share");
    assert_eq!(top["breach_date"], "2021-05-25");
    // Without the flag, the inputs are the sources.
    dir.cmd(&["build", "-o", "y.ldx", "share", "other.txt"]).expect(0);
    let r = dir.cmd(&["bulk", "-i", "y.ldx", "--format", "json", list.to_str().unwrap()]).expect(1);
    assert_eq!(json_lines(&r.stdout)[0]["sources"], serde_json::json!(["share", "other"]));
}

#[test]
fn a_share_of_hundreds_of_members_lists_only_what_has_something_to_say() {
    let dir = Dir::new();
    python(
        &dir,
        &format!(
            "{ZIP_HELPERS}\nm = [('f%03d.txt' % i, 'user%d@many.example\\n' % i) for i in range(300)] + [('空.txt', 'no address\\n')]\nopen('many.zip','wb').write(zipbytes(m))"
        ),
    );
    let r = dir.cmd(&["build", "-o", "x.ldx", "--report", "r.json", "many.zip"]).expect(0);
    assert!(r.stderr.contains("many.zip!空.txt") && r.stderr.contains("WARNING"), "{}", r.stderr);
    assert!(r.stderr.contains("(300 more members and parts read without a warning: see --report)"), "{}", r.stderr);
    assert!(!r.stderr.contains("many.zip!f000.txt"), "{}", r.stderr);
    assert_eq!(report(&dir, "r.json").len(), 302);
    assert!(r.stderr.contains("300 entries from 300 records"), "{}", r.stderr);
}

#[test]
fn zip_members_of_the_same_name_are_each_read() {
    let dir = Dir::new();
    // An appended update: two members named 名簿.csv (zipfile warns, writes both).
    python(
        &dir,
        &format!(
            "{ZIP_HELPERS}\nimport warnings\nwarnings.simplefilter('ignore')\nopen('dup.zip','wb').write(zipbytes([('名簿.csv', 'email\\ndup.first@example.com\\n'), ('名簿.csv', 'email\\ndup.second@example.com\\n')]))"
        ),
    );
    dir.cmd(&["build", "--strict", "-o", "x.ldx", "--report", "r.json", "dup.zip"]).expect(0);
    let files = report(&dir, "r.json");
    assert_eq!(files.iter().filter(|f| f["path"] == "dup.zip!名簿.csv").count(), 2, "{files:?}");
    let got = exposed(&dir, "x.ldx", &["dup.first@example.com", "dup.second@example.com"]);
    assert!(got.iter().all(|(_, e)| *e), "{got:?}");
}

#[test]
fn a_zip_behind_a_binary_header_or_an_executable_stub_is_read() {
    let dir = Dir::new();
    python(
        &dir,
        &format!(
            "{ZIP_HELPERS}
import struct
z = zipbytes([('list.txt', 'carved.member@example.com\\n'), ('b.txt', 'second.member@example.org\\n')], zipfile.ZIP_STORED)
open('carved.bin', 'wb').write(b'BACKUPHDR' + b'\\0' * 503 + z)
stub = b'MZ' + b'\\0' * 0x3A + struct.pack('<I', 0x80) + b'\\0' * 0x40 + b'PE\\0\\0' + b'\\0' * 4000
open('setup.exe', 'wb').write(stub + zipbytes([('名簿.csv', 'email\\nsfx.member@example.com\\n')]))
open('plain.exe', 'wb').write(stub + b'\\x01\\x02' * 3000)
"
        ),
    );
    let r = dir.cmd(&["build", "-o", "x.ldx", "--report", "r.json", "carved.bin", "setup.exe", "plain.exe"]).expect(0);
    let got =
        exposed(&dir, "x.ldx", &["carved.member@example.com", "second.member@example.org", "sfx.member@example.com"]);
    assert!(got.iter().all(|(_, e)| *e), "{got:?}\n{}", r.stderr);
    // The file name in the local header is never glued to the member's text.
    let r = dir.cmd(&["check", "-i", "x.ldx", "--format", "json", "list.txtcarved.member@example.com"]).run();
    assert!(r.stdout.contains("\"exposed\":false"), "{}", r.stdout);
    // An executable that holds no archive is said, not read.
    let line = r#"plain.exe  [binary"#;
    let build = dir.cmd(&["build", "-o", "y.ldx", "plain.exe", "carved.bin"]).expect(0);
    assert!(build.stderr.contains(line), "{}", build.stderr);
    assert!(build.stderr.lines().any(|l| l.contains("WARNING") && l.contains("plain.exe")), "{}", build.stderr);
}
