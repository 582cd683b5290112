//! 7z archives, with `sevenz-rust2`: every file member through the whole pipeline again.
//! Encrypted archives (or members) are reported, never skipped in silence.

use std::io::Read;

use sevenz_rust2::{ArchiveReader, Password};

use super::{MemberHint, Sink, Source, Stop};

/// The 7z signature.
pub(crate) const MAGIC: &[u8] = b"7z\xBC\xAF\x27\x1C";

/// Whether `head` starts with the 7z signature.
pub(crate) fn recognize(head: &[u8], _name: &str) -> bool {
    head.starts_with(MAGIC)
}

/// Reads every member into the sink.
pub(crate) fn read(src: Source<'_>, sink: &mut dyn Sink) -> Result<(), String> {
    let Source::Seekable(r, _) = src else {
        return Err("7z archive: needs random access (internal error)".into());
    };
    let opened = super::catch_quietly(|| ArchiveReader::new(r, Password::empty()));
    let mut archive = match opened {
        Ok(Ok(a)) => a,
        Ok(Err(e)) if is_password_error(&e) => {
            sink.warn("encrypted 7z archive (its file list is encrypted): not read, no password".into());
            return Ok(());
        }
        Ok(Err(e)) => return Err(format!("7z archive: {e}")),
        Err(_) => return Err("7z archive: the 7z reader failed on this file (damaged?)".into()),
    };
    archive.set_thread_count(1);
    let mut stop: Option<Stop> = None;
    let mut member_error: Option<String> = None;
    let result = super::catch_quietly(|| {
        archive.for_each_entries(|entry, data| {
            if entry.is_directory() || !entry.has_stream() {
                return Ok(true);
            }
            let name = entry.name().to_string();
            let hint = MemberHint {
                compressed: (entry.compressed_size > 0).then_some(entry.compressed_size),
                size: Some(entry.size()),
            };
            let mut guarded = ErrorKeeper { inner: data, error: None };
            if let Err(s) = sink.file(&name, &mut guarded, hint) {
                stop = Some(s);
                return Ok(false);
            }
            if let Some(e) = guarded.error {
                if is_password_error(&e) {
                    member_error = Some(format!("encrypted 7z member {name}: not read, no password"));
                } else {
                    member_error = Some(format!("7z member {name}: {e}"));
                }
                return Ok(false);
            }
            // Solid blocks are decoded in order: what the member's reader left is read through.
            std::io::copy(data, &mut std::io::sink())?;
            Ok(true)
        })
    });
    if let Some(s) = stop {
        return Err(s.0);
    }
    match result {
        Err(_) => Err("7z archive: the 7z reader failed on this file (damaged?)".into()),
        Ok(Err(e)) if is_password_error(&e) => {
            sink.warn("encrypted 7z members: not read, no password".into());
            Ok(())
        }
        Ok(Err(e)) => Err(member_error.unwrap_or_else(|| format!("7z archive: {e}"))),
        Ok(Ok(())) => match member_error {
            Some(e) if e.starts_with("encrypted") => {
                sink.warn(e);
                Ok(())
            }
            Some(e) => Err(e),
            None => Ok(()),
        },
    }
}

/// Whether a 7z error is about a missing or wrong password.
fn is_password_error(e: &dyn std::fmt::Display) -> bool {
    let s = e.to_string().to_ascii_lowercase();
    s.contains("password")
}

/// A reader that keeps the first error it met, so that a decoding error of the archive (not
/// of the member's format) is told apart after the member's reader gave up.
struct ErrorKeeper<'a> {
    inner: &'a mut dyn Read,
    error: Option<std::io::Error>,
}

impl Read for ErrorKeeper<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if self.error.is_none() {
                self.error = Some(std::io::Error::new(e.kind(), e.to_string()));
            }
        })
    }
}
