//! Writing output files safely: atomically (a temporary file beside the destination, written
//! through its handle, synced, renamed over it, the directory synced), with permission bits no
//! wider than the inputs', and cleaning up the temporary files of killed builds. Used by the
//! index build, the filter export and the range export.
//!
//! Limits: stale temporary files are only recognized on Linux (`/proc`); elsewhere they stay.
//! Permission bits are computed on Unix only; elsewhere the platform default applies. Group
//! bits are given to an output only where the umask can be read (`/proc/self/status`, Linux);
//! elsewhere its group gets what others get. A destination is checked to be a regular file
//! (or nothing) before the build and again when the temporary file is made; someone who can
//! write its directory can still swap it in between (the rename then replaces what they put).

use std::collections::{BTreeSet, HashMap};
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
/// Group and other bits an output may share with its inputs: read only. Never write (whoever
/// could write a corpus must not be able to rewrite the index under a server, which checks
/// its size and modification time but not every byte), never execute.
const SHARED_MODE: u32 = 0o044;
/// Group bits of a mode.
const GROUP_BITS: u32 = 0o070;

/// Who may read a file leakdex writes, from who could read its inputs: permission bits, and
/// the group the group bits are meant for. Group bits are for one group: a corpus readable by
/// group `staff` does not make the index readable by whatever group the new file happens to
/// get (the process's, or a setgid directory's); see [`Mode::bits_for_group`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mode {
    /// Permission bits: [`OWNER_MODE`] plus the group and other bits every input grants.
    pub bits: u32,
    /// The group every input belongs to (and every directory above them that grants search
    /// by group alone), when there is one; `None` when they differ or nothing was examined.
    pub group: Option<u32>,
}

impl Mode {
    /// A mode that grants no group or other access: [`OWNER_MODE`].
    pub const PRIVATE: Mode = Mode { bits: OWNER_MODE, group: None };

    /// The bits for a file owned by group `gid`: all of [`Mode::bits`] when `gid` is the
    /// inputs' group, otherwise the group gets only what everyone else gets ([`Mode::safe_bits`]).
    pub fn bits_for_group(&self, gid: u32) -> u32 {
        if self.group == Some(gid) {
            self.bits
        } else {
            self.safe_bits()
        }
    }

    /// The bits whatever the file's group: group bits no wider than the other bits (a `0640`
    /// corpus gives `0600`, a `0644` one still `0644`: whoever may read it may).
    pub fn safe_bits(&self) -> u32 {
        let group = self.bits & GROUP_BITS & ((self.bits & 0o007) << 3);
        (self.bits & !GROUP_BITS) | group
    }
}

/// Unix permission bits for a file made from `inputs`: [`OWNER_MODE`] plus the group and other
/// read/write bits that every input grants (the intersection: inputs `0640` and `0600` give
/// `0600`), and the group those group bits are for ([`Mode::group`]). An input grants group or
/// other nothing when a directory above it denies them search (`x`): a `0644` dump in a `0700`
/// directory was readable by its owner alone, and so is the index. Inputs of different groups
/// (or in a directory searchable by group alone whose group differs) share no group: the
/// output's group gets what others get. Standard input (`-`) grants nothing, so it gives
/// `0600`; so does a list in which no file can be examined. Links are followed: what matters
/// is the file read. The process's umask is applied when the file is created, on top of this.
pub fn mode_of_inputs<'a>(inputs: impl IntoIterator<Item = &'a Path>) -> Mode {
    let mut shared = SHARED_MODE;
    let mut any = false;
    let mut groups: BTreeSet<u32> = BTreeSet::new();
    // Search bits of the directories above the inputs: a directory of many files is one
    // `stat` per directory, not per file.
    let mut dirs: HashMap<PathBuf, (u32, BTreeSet<u32>)> = HashMap::new();
    for path in inputs {
        if path.as_os_str() == "-" {
            shared = 0;
            any = true;
            continue;
        }
        #[cfg(unix)]
        if let Ok(m) = std::fs::metadata(path) {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let (bits, dir_groups) = reachable_by(path, &mut dirs);
            shared &= m.permissions().mode() & bits;
            groups.insert(m.gid());
            groups.extend(dir_groups);
            any = true;
        }
    }
    if !any {
        return Mode::PRIVATE;
    }
    let bits = OWNER_MODE | (shared & SHARED_MODE);
    let group = if groups.len() == 1 { groups.first().copied() } else { None };
    let mode = Mode { bits, group };
    match group {
        Some(_) => mode,
        None => Mode { bits: mode.safe_bits(), group: None },
    }
}

/// The group and other bits ([`SHARED_MODE`]) of those who can reach `path`: who may search
/// (`x`) every directory above its real path; and the groups of the directories that grant
/// search to their group but not to others (their group decides who reaches `path`). A path
/// that cannot be resolved is judged by its own bits alone. `dirs` caches the answer per
/// directory as given, so that the many files of one directory cost one resolution.
#[cfg(unix)]
fn reachable_by(path: &Path, dirs: &mut HashMap<PathBuf, (u32, BTreeSet<u32>)>) -> (u32, BTreeSet<u32>) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let search_bits = |dir: &Path, groups: &mut BTreeSet<u32>| match std::fs::metadata(dir) {
        Ok(m) => {
            let x = m.permissions().mode();
            if x & 0o010 != 0 && x & 0o001 == 0 {
                groups.insert(m.gid());
            }
            (if x & 0o010 != 0 { 0o060 } else { 0 }) | (if x & 0o001 != 0 { 0o006 } else { 0 })
        }
        Err(_) => SHARED_MODE,
    };
    let above = |real: &Path, groups: &mut BTreeSet<u32>| {
        real.ancestors().skip(1).fold(SHARED_MODE, |bits, d| bits & search_bits(d, groups))
    };
    let mut groups = BTreeSet::new();
    // A link leads elsewhere: the directories above its target count.
    if std::fs::symlink_metadata(path).map_or(true, |m| m.file_type().is_symlink()) {
        let bits = std::fs::canonicalize(path).map_or(SHARED_MODE, |real| above(&real, &mut groups));
        return (bits, groups);
    }
    let parent = dir_of(path);
    if let Some(cached) = dirs.get(&parent) {
        return cached.clone();
    }
    let bits = std::fs::canonicalize(&parent)
        .map_or(SHARED_MODE, |real| search_bits(&real, &mut groups) & above(&real, &mut groups));
    dirs.insert(parent, (bits, groups.clone()));
    (bits, groups)
}

/// The process's file mode creation mask, from `/proc/self/status` (Linux); `None` where it
/// cannot be read without changing it (`umask(2)` sets it, process-wide).
pub fn umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

/// Gives the file just created (with [`Mode::safe_bits`]) the group bits of `mode` if its
/// group turned out to be the inputs' group, through its handle. Where the umask cannot be
/// read, the file keeps its safe bits.
pub(crate) fn widen_for_group(file: &File, path: &Path, mode: Mode, restrict: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if mode.bits == mode.safe_bits() {
            return Ok(());
        }
        let m = file.metadata().map_err(|e| Error::io(path, e))?;
        if mode.bits_for_group(m.gid()) == mode.safe_bits() {
            return Ok(());
        }
        let Some(mask) = umask() else { return Ok(()) };
        let bits = mode.bits & restrict & !mask;
        file.set_permissions(std::fs::Permissions::from_mode(bits)).map_err(|e| Error::io(path, e))?;
    }
    let _ = (file, path, mode, restrict);
    Ok(())
}

/// What the thing at `path` is, for a message: `None` for a regular file or nothing at all.
/// Links are followed; a link through `/proc` (`/dev/stdout` → `/proc/self/fd/1`) is a
/// process's open file, whatever it points to.
fn not_a_regular_file(path: &Path) -> Option<String> {
    let via = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => " (through a symbolic link)",
        Ok(_) => "",
        Err(_) => return None,
    };
    // A name in a directory under /proc (`/dev/fd/1`: /dev/fd is /proc/self/fd).
    if std::fs::canonicalize(dir_of(path)).is_ok_and(|d| d.starts_with("/proc")) {
        return Some(format!("a process's open file (in {})", dir_of(path).display()));
    }
    // Follow the chain by hand: a magic link under /proc resolves to the open file itself.
    let mut hop = path.to_path_buf();
    for _ in 0..40 {
        if hop.starts_with("/proc") {
            return Some(format!("a link to a process's open file ({})", hop.display()));
        }
        match std::fs::read_link(&hop) {
            Ok(target) => hop = dir_of(&hop).join(target),
            Err(_) => break,
        }
    }
    let m = std::fs::metadata(path).ok()?;
    let ft = m.file_type();
    let what = if ft.is_file() {
        return None;
    } else if ft.is_dir() {
        "a directory"
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if ft.is_char_device() {
                "a character device"
            } else if ft.is_block_device() {
                "a block device"
            } else if ft.is_fifo() {
                "a named pipe (FIFO)"
            } else if ft.is_socket() {
                "a socket"
            } else {
                "not a regular file"
            }
        }
        #[cfg(not(unix))]
        "not a regular file"
    };
    Some(format!("{what}{via}"))
}

/// Refuses an output path where something other than a regular file is (a device, a FIFO, a
/// socket, a directory, or a link to one of them or through `/proc`): the new file would be
/// renamed over it, so that `-o /dev/null` would replace the device with the index. Nothing
/// there, a regular file, or a link to one (replaced, its target untouched) is accepted.
pub fn check_destination(dest: &Path, flag: &str) -> Result<()> {
    match not_a_regular_file(dest) {
        None => Ok(()),
        Some(what) => Err(Error::Config(format!(
            "{flag} {} is {what}, not a regular file: leakdex writes a new file and renames it over the path, which would replace it; give the path of a regular file (nothing was read or written)",
            dest.display()
        ))),
    }
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
/// which also refuses a symbolic link planted at the name) with `mode`'s bits restricted by the
/// file it replaces ([`restrict_by_destination`]) and masked by the umask. It is created with
/// [`Mode::safe_bits`], and given the group bits through its handle only once its group is
/// known to be the inputs' ([`Mode::bits_for_group`]): no one of another group can open it in
/// between. Callers write through the returned handle and never open the temporary path
/// again: someone who can write the directory could have put a link there by then. A
/// destination that is not a regular file is refused ([`check_destination`]).
pub(crate) fn named_temp(dest: &Path, mode: Mode) -> Result<tempfile::NamedTempFile> {
    check_destination(dest, "the output")?;
    let dir = dir_of(dest);
    let mut builder = tempfile::Builder::new();
    let prefix = format!("{}{}-", temp_prefix(dest), std::process::id());
    builder.prefix(&prefix);
    let restrict = restrict_by_destination(dest, 0o777);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode.safe_bits() & restrict));
    }
    let tmp = builder.tempfile_in(&dir).map_err(|e| Error::io(&dir, e))?;
    widen_for_group(tmp.as_file(), tmp.path(), mode, restrict)?;
    Ok(tmp)
}

/// Writes a file atomically: into a temporary file beside `dest`, created exclusively with
/// permission bits from `mode` (see [`mode_of_inputs`]; group bits only if the file's group is
/// the inputs'; an existing destination can only remove bits) and written through its handle,
/// synced, then renamed over `dest`, and the directory synced. The rename replaces a symbolic
/// link at `dest` rather than writing through it, so the link's target is never touched. A
/// destination that is not a regular file (a device, a FIFO...) is refused.
pub fn write_atomically(
    dest: &Path,
    mode: Mode,
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
