//! Surviving `SIGBUS` on a served index truncated in place.
//!
//! A memory-mapped file that another process shortens (`truncate -s`, `cp other.ldx` onto it)
//! makes every read of a page past its new end raise `SIGBUS`, which kills the process. No
//! check before the read closes that race (the file may shrink between the check and the
//! read), so the server survives the fault itself: [`Watched`] registers each map in a fixed,
//! lock-free table, and a `SIGBUS` handler that finds the faulting address inside a
//! registered map marks that map poisoned, replaces the whole map in place with anonymous
//! zero pages and returns. The faulting load runs again and reads zeros; the request then
//! sees [`Watched::poisoned`] (or the shorter file) and answers 503, never a body computed
//! from those zeros. A fault anywhere else (a real bug) restores the previous disposition and
//! returns, so it faults again and ends the process as before.
//!
//! Written by hand, since no maintained crate offers "survive `SIGBUS` on a truncated mmap":
//! `signal-hook-registry` can call a handler, but chains to the standard library's own
//! `SIGBUS` handler after it, which resets the disposition to the default on any fault
//! outside a stack guard page, so a second truncation would kill the process. All unsafe
//! code of this file is in [`install`], [`on_sigbus`] and the map's creation in
//! [`Watched::map`].
//!
//! # Safety
//!
//! - The handler only loads and stores atomics, calls `mmap` and `sigaction` (both
//!   async-signal-safe system calls) and returns: no allocation, no lock, no formatting.
//! - The table is a static array of atomics: registering and unregistering never allocate
//!   or lock, so a handler running on any thread in the middle of either sees a consistent
//!   entry or skips it (each entry's state word carries a generation, read before and after
//!   the entry's bounds, as a sequence lock).
//! - The replacement mapping covers exactly the registered range (`MAP_FIXED` over our own
//!   map, page-rounded), so no other memory is touched. Code that reads the map holds a
//!   reference to it, so the map is never unmapped under the reads; it is unregistered before
//!   it is unmapped ([`Watched`]'s `Drop` runs before its `Mmap` field is dropped), and
//!   `munmap` of the anonymous replacement is what `memmap2` does anyway.
//! - `poisoned` is set before the replacement, so a reader that saw a zero page of it and then
//!   loads the flag (after a fence) sees it set.

use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

/// Maps registered at once: the served indexes plus maps replaced by a reload and still held
/// by requests in flight.
const SLOTS: usize = 256;

/// Low bits of an entry's state: free, being written, or registered.
const FREE: usize = 0;
const WRITING: usize = 1;
const ACTIVE: usize = 2;
/// The state's low bits hold the tag above; the rest is a generation.
const TAG_BITS: u32 = 2;
const TAG_MASK: usize = (1 << TAG_BITS) - 1;

struct Entry {
    /// `generation << TAG_BITS | tag`.
    state: AtomicUsize,
    start: AtomicUsize,
    /// Page-rounded.
    len: AtomicUsize,
    poisoned: AtomicBool,
}

static TABLE: [Entry; SLOTS] = [const {
    Entry {
        state: AtomicUsize::new(FREE),
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        poisoned: AtomicBool::new(false),
    }
}; SLOTS];

static INSTALL: Once = Once::new();
/// Whether the handler is installed (it may fail: then maps are unprotected, as before).
static INSTALLED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
mod imp {
    use super::*;
    use std::sync::OnceLock;

    /// The disposition found before ours, restored for faults that are not ours.
    static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

    pub(super) fn install() {
        // SAFETY: a zeroed `sigaction` is a valid value (no handler, empty mask); `on_sigbus`
        // has the three-argument signature `SA_SIGINFO` asks for and is async-signal-safe
        // (see the module's Safety section).
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old) != 0 {
                return;
            }
            let _ = PREVIOUS.set(old);
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_sigbus as *const () as usize;
            new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut new.sa_mask);
            if libc::sigaction(libc::SIGBUS, &new, std::ptr::null_mut()) == 0 {
                INSTALLED.store(true, Ordering::SeqCst);
            }
        }
    }

    extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid `siginfo_t` with `SA_SIGINFO`; `si_addr` is the
        // faulting address for SIGBUS.
        let addr = unsafe { (*info).si_addr() } as usize;
        for e in TABLE.iter() {
            let s1 = e.state.load(Ordering::SeqCst);
            if s1 & TAG_MASK != ACTIVE {
                continue;
            }
            let (start, len) = (e.start.load(Ordering::SeqCst), e.len.load(Ordering::SeqCst));
            if e.state.load(Ordering::SeqCst) != s1 || addr < start || addr - start >= len {
                continue;
            }
            e.poisoned.store(true, Ordering::SeqCst);
            // SAFETY: `start..start + len` is exactly a registered map of ours, alive (the
            // faulting thread is reading it); replacing it with private zero pages keeps it
            // mapped and readable at the same addresses.
            let r = unsafe {
                libc::mmap(
                    start as *mut libc::c_void,
                    len,
                    libc::PROT_READ,
                    libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if r != libc::MAP_FAILED {
                return;
            }
            break;
        }
        // Not ours (or the replacement failed): the previous disposition (the default, or the
        // standard library's stack-overflow handler), then return: the load faults again and
        // ends the process as it would have without this handler.
        // SAFETY: `sigaction` is async-signal-safe; the saved value came from `sigaction`.
        unsafe {
            match PREVIOUS.get() {
                Some(old) => libc::sigaction(libc::SIGBUS, old, std::ptr::null_mut()),
                None => libc::signal(libc::SIGBUS, libc::SIG_DFL) as libc::c_int,
            };
        }
    }
}

#[cfg(not(unix))]
mod imp {
    pub(super) fn install() {}
}

/// The page size, to round registered lengths (not known inside the handler).
fn page_size() -> usize {
    #[cfg(unix)]
    {
        // SAFETY: `sysconf` has no preconditions.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if n > 0 {
            return n as usize;
        }
    }
    4096
}

/// A read-only map of a whole file, registered so that a truncation of the file poisons it
/// instead of killing the process.
pub(crate) struct Watched {
    map: memmap2::Mmap,
    /// The table entry, or `None` (empty map, table full, no handler): then unprotected.
    slot: Option<usize>,
}

impl Watched {
    /// Maps `file` and registers the map.
    pub(crate) fn map(file: &std::fs::File) -> std::io::Result<Watched> {
        INSTALL.call_once(imp::install);
        // SAFETY: the hazard of mapping a file (another process truncating or rewriting it)
        // is what this module handles: a truncation poisons the map instead of killing the
        // process, and readers check `poisoned` and the file's size after reading.
        let map = unsafe { memmap2::Mmap::map(file) }?;
        let slot = if INSTALLED.load(Ordering::SeqCst) && !map.is_empty() { register(&map) } else { None };
        Ok(Watched { map, slot })
    }

    /// Whether the map was hit by a truncation (and now reads as zeros), or is not watched:
    /// an unwatched map is reported as never poisoned. Call after the reads it vouches for.
    pub(crate) fn poisoned(&self) -> bool {
        fence(Ordering::SeqCst);
        self.slot.is_some_and(|i| TABLE[i].poisoned.load(Ordering::SeqCst))
    }

    /// Whether a truncation is caught by the handler for this map.
    pub(crate) fn watched(&self) -> bool {
        self.slot.is_some()
    }

    /// The map, for `madvise`.
    pub(crate) fn inner(&self) -> &memmap2::Mmap {
        &self.map
    }
}

impl AsRef<[u8]> for Watched {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // Runs before the `map` field is unmapped.
        if let Some(i) = self.slot {
            let e = &TABLE[i];
            let s = e.state.load(Ordering::SeqCst);
            e.state.store(s & !TAG_MASK | FREE, Ordering::SeqCst);
        }
    }
}

fn register(map: &memmap2::Mmap) -> Option<usize> {
    let page = page_size();
    let start = map.as_ptr() as usize;
    let len = map.len().div_ceil(page) * page;
    for (i, e) in TABLE.iter().enumerate() {
        let s = e.state.load(Ordering::SeqCst);
        if s & TAG_MASK != FREE {
            continue;
        }
        let generation = (s >> TAG_BITS).wrapping_add(1);
        if e.state.compare_exchange(s, generation << TAG_BITS | WRITING, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            continue;
        }
        e.start.store(start, Ordering::SeqCst);
        e.len.store(len, Ordering::SeqCst);
        e.poisoned.store(false, Ordering::SeqCst);
        e.state.store(generation << TAG_BITS | ACTIVE, Ordering::SeqCst);
        return Some(i);
    }
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_read_past_the_end_of_a_file_truncated_under_its_map_reads_zeros_and_poisons_the_map() {
        let page = page_size();
        let mut f = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut f, &vec![0xA5u8; 16 * page]).unwrap();
        let map = Watched::map(&f).unwrap();
        assert!(map.watched());
        assert_eq!(map.as_ref()[10 * page], 0xA5);
        assert!(!map.poisoned());
        f.set_len(page as u64).unwrap();
        // Without the handler, this read past the new end ends the test process (SIGBUS).
        let past = unsafe { std::ptr::read_volatile(map.as_ref().as_ptr().add(10 * page)) };
        assert_eq!(past, 0);
        assert!(map.poisoned());
        // The whole map now reads as zeros, its first page too.
        assert!(map.as_ref().iter().all(|&b| b == 0));
        // Another map of another file is not affected, and a new map registers cleanly.
        let mut g = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut g, &vec![7u8; 4 * page]).unwrap();
        let other = Watched::map(&g).unwrap();
        assert_eq!(other.as_ref()[3 * page], 7);
        assert!(!other.poisoned());
        drop(map);
        let again = Watched::map(&g).unwrap();
        assert!(again.watched() && !again.poisoned());
    }
}
