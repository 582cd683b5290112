//! Writing output files safely: atomically (a temporary file beside the destination, written
//! through its handle, synced, renamed over it, the directory synced), with permission bits no
//! wider than the inputs', and cleaning up the temporary files of killed builds. Used by the
//! index build, the filter export and the range export.
//!
//! Limits: stale temporary files are only recognized on Linux (`/proc`); elsewhere they stay.
//! Permission bits are computed on Unix only; elsewhere the platform default applies.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Whether two paths are the same file: the same device and inode (links followed).
#[cfg(unix)]
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether two paths are the same file: the same real path (hard links are not seen).
#[cfg(not(unix))]
pub fn same_file(a: &Path, b: &Path) -> bool {
    matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

/// Checks that files can be created in `dir` (by creating and removing one).
pub fn check_writable_dir(dir: &Path, what: &str) -> Result<()> {
    tempfile::tempfile_in(dir).map(drop).map_err(|e| {
        Error::Config(format!("{what} {} does not take new files ({e}); nothing was read or written", dir.display()))
    })
}

/// Prefix of the temporary files of a build of `dest`.
pub fn temp_prefix(dest: &Path) -> String {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "index".into());
    format!(".{name}.leakdex-tmp-")
}

/// Removes temporary files left in `dir` by builds of `dest` whose process is gone (killed
/// builds). Linux only: elsewhere, liveness cannot be checked cheaply and files stay.
pub(crate) fn remove_stale_temps(dir: &Path, dest: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = temp_prefix(dest);
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The directory a destination file is in (`.` for a bare file name).
pub fn dir_of(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Owner bits of every file leakdex writes: read and write for the owner, whatever the inputs.
pub const OWNER_MODE: u32 = 0o600;
/// Group and other bits an output may share with its inputs: read and write, never execute.
const SHARED_MODE: u32 = 0o066;

/// Unix permission bits for a file made from `inputs`: [`OWNER_MODE`] plus the group and other
/// read/write bits that every input grants (the intersection: inputs `0640` and `0600` give
/// `0600`). An input grants group or other nothing when a directory above it denies them
/// search (`x`): a `0644` dump in a `0700` directory was readable by its owner alone, and so is
/// the index. Standard input (`-`) grants nothing, so it gives `0600`; so does a list in which
/// no file can be examined. Links are followed: what matters is the file read. The process's
/// umask is applied when the file is created, on top of this.
pub fn mode_of_inputs<'a>(inputs: impl IntoIterator<Item = &'a Path>) -> u32 {
    let mut shared = SHARED_MODE;
    let mut any = false;
    // Search bits of the directories above the inputs: a directory of many files is one
    // `stat` per directory, not per file.
    let mut dirs: HashMap<PathBuf, u32> = HashMap::new();
    for path in inputs {
        if path.as_os_str() == "-" {
            shared = 0;
            any = true;
            continue;
        }
        #[cfg(unix)]
        if let Ok(m) = std::fs::metadata(path) {
            use std::os::unix::fs::PermissionsExt;
            shared &= m.permissions().mode() & reachable_by(path, &mut dirs);
            any = true;
        }
    }
    if any {
        OWNER_MODE | (shared & SHARED_MODE)
    } else {
        OWNER_MODE
    }
}

/// The group and other bits ([`SHARED_MODE`]) of those who can reach `path`: who may search
/// (`x`) every directory above its real path. A path that cannot be resolved is judged by
/// its own bits alone. `dirs` caches the answer per directory as given, so that the many
/// files of one directory cost one resolution.
#[cfg(unix)]
fn reachable_by(path: &Path, dirs: &mut HashMap<PathBuf, u32>) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    let search_bits = |dir: &Path| match std::fs::metadata(dir) {
        Ok(m) => {
            let x = m.permissions().mode();
            (if x & 0o010 != 0 { 0o060 } else { 0 }) | (if x & 0o001 != 0 { 0o006 } else { 0 })
        }
        Err(_) => SHARED_MODE,
    };
    let above = |real: &Path| real.ancestors().skip(1).fold(SHARED_MODE, |bits, d| bits & search_bits(d));
    // A link leads elsewhere: the directories above its target count.
    if std::fs::symlink_metadata(path).map_or(true, |m| m.file_type().is_symlink()) {
        return std::fs::canonicalize(path).map_or(SHARED_MODE, |real| above(&real));
    }
    let parent = dir_of(path);
    if let Some(&bits) = dirs.get(&parent) {
        return bits;
    }
    let bits = std::fs::canonicalize(&parent).map_or(SHARED_MODE, |real| search_bits(&real) & above(&real));
    dirs.insert(parent, bits);
    bits
}

/// `mode` restricted by the file that `dest` replaces, when that is a regular file: an
/// existing destination can only take bits away (a `0600` index stays `0600` when rebuilt
/// from `0644` corpora), never add them. A symbolic link at `dest` is not followed: its
/// target, which the rename leaves alone, says nothing about the new file.
fn restrict_by_destination(dest: &Path, mode: u32) -> u32 {
    #[cfg(unix)]
    if let Ok(m) = std::fs::symlink_metadata(dest) {
        use std::os::unix::fs::PermissionsExt;
        if m.file_type().is_file() {
            return mode & (m.permissions().mode() | OWNER_MODE);
        }
    }
    let _ = dest;
    mode
}

/// Creates the temporary file that will be renamed to `dest`: beside it, with a random name
/// that starts with [`temp_prefix`] and this process's id, created exclusively (`O_EXCL`,
/// which also refuses a symbolic link planted at the name) with `mode` restricted by the file
/// it replaces ([`restrict_by_destination`]) and masked by the umask. Callers write through
/// the returned handle and never open the temporary path again: someone who can write the
/// directory could have put a link there by then.
pub(crate) fn named_temp(dest: &Path, mode: u32) -> Result<tempfile::NamedTempFile> {
    let dir = dir_of(dest);
    let mut builder = tempfile::Builder::new();
    let prefix = format!("{}{}-", temp_prefix(dest), std::process::id());
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(restrict_by_destination(dest, mode)));
    }
    let _ = mode;
    builder.tempfile_in(&dir).map_err(|e| Error::io(&dir, e))
}

/// Writes a file atomically: into a temporary file beside `dest`, created exclusively with
/// permission bits `mode` (see [`mode_of_inputs`]; an existing destination can only remove
/// bits) and written through its handle, synced, then renamed over `dest`, and the directory
/// synced. The rename replaces a symbolic link at `dest` rather than writing through it, so
/// the link's target is never touched.
pub fn write_atomically(
    dest: &Path,
    mode: u32,
    write: impl FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
) -> Result<()> {
    let dir = dir_of(dest);
    let tmp = named_temp(dest, mode)?;
    let mut w = BufWriter::new(tmp.as_file());
    write(&mut w).and_then(|_| w.flush()).map_err(|e| Error::io(dest, e))?;
    drop(w);
    tmp.as_file().sync_all().map_err(|e| Error::io(dest, e))?;
    persist(tmp, dest)?;
    sync_dir(&dir)
}

/// Renames the temporary file over `dest`, if its name still holds the file written through
/// the handle. Someone who can write the directory could have put a link or another file at
/// the temporary name: renaming that would put their file at `dest` and report success. (The
/// rename itself replaces a link at `dest`, never follows it.)
pub(crate) fn persist(tmp: tempfile::NamedTempFile, dest: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let ours = tmp.as_file().metadata().map_err(|e| Error::io(tmp.path(), e))?;
        let named = std::fs::symlink_metadata(tmp.path());
        if !named.is_ok_and(|m| m.dev() == ours.dev() && m.ino() == ours.ino()) {
            let why = format!(
                "the temporary file {} was replaced by another file or a link while it was written, so {} was not changed; someone else writes to that directory: write into one only you can write",
                tmp.path().display(),
                dest.display()
            );
            return Err(Error::io(dest, std::io::Error::other(why)));
        }
    }
    tmp.persist(dest).map_err(|e| Error::io(dest, e.error))?;
    Ok(())
}

/// Syncs a directory, so that a rename in it survives a crash (Unix; a no-op elsewhere).
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))?;
    Ok(())
}
