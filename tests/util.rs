//! Test harness: a fresh directory per test and a command builder around the real binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary directory that lives as long as the test.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir { tmp: tempfile::Builder::new().prefix("leakdex-test-").tempdir().expect("temp dir") }
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }
    /// Writes a file (creating parent directories) and returns its path.
    pub fn write(&self, rel: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        p
    }
    /// Builds `leakdex` with arguments; paths are relative to this directory.
    pub fn cmd(&self, args: &[&str]) -> Cmd {
        let mut c = Command::new(env!("CARGO_BIN_EXE_leakdex"));
        c.current_dir(self.root()).args(args);
        Cmd { c, stdin: None }
    }
}

/// The repository root (for the bundled demo data).
pub fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel).to_string_lossy().into_owned()
}

pub struct Cmd {
    pub c: Command,
    stdin: Option<Vec<u8>>,
}

/// What a command did.
pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Cmd {
    pub fn stdin(mut self, data: impl AsRef<[u8]>) -> Cmd {
        self.stdin = Some(data.as_ref().to_vec());
        self
    }
    pub fn run(mut self) -> Run {
        self.c.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        self.c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self.c.spawn().expect("spawn leakdex");
        if let Some(data) = self.stdin.take() {
            let mut sin = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = sin.write_all(&data);
            });
        }
        let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
        Run {
            status: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
    /// Runs and asserts the exit status, printing both streams readably when it differs.
    pub fn expect(self, code: i32) -> Run {
        let shown = format!("{:?}", self.c);
        let r = self.run();
        assert_eq!(
            r.status,
            Some(code),
            "\ncommand: {shown}\n--- expected exit {code}, got {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            r.status,
            r.stdout,
            r.stderr
        );
        r
    }
}

/// Parses JSON-lines output.
pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}"))).collect()
}

/// gzip of `data` as one member.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

/// UTF-16LE with a BOM.
pub fn utf16le(s: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}
