//! Tar archives (compressed or not: the input layer decompresses first): every regular member
//! is a file of its own; links, devices and FIFOs are reported as skipped, never followed.

use std::io::Read;

use super::{MemberHint, Sink, Source};

/// Whether `head` is a tar archive (the `ustar` magic of the first header).
pub(crate) fn recognize(head: &[u8], _name: &str) -> bool {
    crate::ingest::is_tar(head)
}

/// Reads every member into the sink. A damaged member leaves the stream at an unknown place,
/// so the archive stops there (the error names the member).
pub(crate) fn read(src: Source<'_>, sink: &mut dyn Sink) -> Result<(), String> {
    let r: &mut dyn Read = match src {
        Source::Stream(r) => r,
        Source::Seekable(r, _) => r,
    };
    let mut archive = tar::Archive::new(r);
    let entries = archive.entries().map_err(|e| format!("tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("tar archive: {e}"))?;
        let name = entry.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        if entry.header().entry_type().is_dir() {
            continue;
        }
        if let Some(why) = skipped_member(&entry) {
            sink.skipped(&name, why, false);
            continue;
        }
        let hint = MemberHint { compressed: None, size: Some(entry.size()) };
        sink.file(&name, &mut entry, hint).map_err(|s| s.0)?;
        // What the member's reader left unread (it stopped at an error) is skipped here, so
        // that the next header is found; an error here means the archive is damaged.
        std::io::copy(&mut entry, &mut std::io::sink()).map_err(|e| format!("stopped after member {name}: {e}"))?;
    }
    Ok(())
}

/// Why a tar member is not read, or `None` for a regular file.
fn skipped_member<R: Read>(entry: &tar::Entry<'_, R>) -> Option<String> {
    use tar::EntryType;
    let t = entry.header().entry_type();
    if t.is_file() {
        return None;
    }
    let target =
        || entry.link_name().ok().flatten().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|| "?".into());
    Some(match t {
        EntryType::Symlink => format!("symbolic link to {}: not followed", target()),
        EntryType::Link => format!("hard link to {}: not read again (its target member is read)", target()),
        EntryType::Char | EntryType::Block => "device file: not read".into(),
        EntryType::Fifo => "named pipe: not read".into(),
        other => format!("tar member of type {:?}: not read", other.as_byte() as char),
    })
}
