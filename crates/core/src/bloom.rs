//! A blocked Bloom filter read in place from a byte slice (a memory map, usually).
//!
//! Written by hand because no maintained crate offers a filter that is probed directly inside a
//! memory map with its probe bits taken from an existing SHA-1: the `bloomfilter` crate copies
//! the whole bit array into the heap on load and rehashes every item with SipHash.
//!
//! Design: the filter is an array of 64-byte blocks (one cache line), each eight 64-bit words.
//! A key sets exactly one bit in each of the eight words of one block ("sectorized" or
//! split-block layout, k = 8). The block is chosen from the first eight bytes of the key by
//! multiply-shift (`(h * blocks) >> 64`), which is monotonic in the key: a sorted stream of keys
//! fills the blocks in order, so the builder streams the filter to disk with constant memory.
//! The eight 6-bit bit positions come from key bytes 8..14. Keys are SHA-1 digests, so these
//! bits are uniform and independent of each other.

/// Bytes in one block: one cache line.
pub const BLOCK_BYTES: usize = 64;
/// 64-bit words in one block; one bit is set in each.
pub const WORDS_PER_BLOCK: usize = BLOCK_BYTES / 8;
/// Bits set per key (one per word).
pub const PROBES: u32 = WORDS_PER_BLOCK as u32;
/// Bits of a block.
pub const BLOCK_BITS: u64 = (BLOCK_BYTES * 8) as u64;

/// The block a key falls in, for a filter of `blocks` blocks (`blocks > 0`).
#[inline]
pub fn block_of(key: &[u8; 20], blocks: u64) -> u64 {
    let h = u64::from_be_bytes(key[0..8].try_into().expect("8 bytes"));
    ((u128::from(h) * u128::from(blocks)) >> 64) as u64
}

/// The bit set in each word of the block for this key.
#[inline]
pub fn pattern(key: &[u8; 20]) -> [u64; WORDS_PER_BLOCK] {
    let bits = u64::from_le_bytes(key[8..16].try_into().expect("8 bytes"));
    let mut out = [0u64; WORDS_PER_BLOCK];
    for (i, w) in out.iter_mut().enumerate() {
        *w = 1u64 << ((bits >> (6 * i)) & 63);
    }
    out
}

/// Whether the filter (`blocks` × [`BLOCK_BYTES`] bytes) may contain `key`.
///
/// `filter.len()` must be `blocks * BLOCK_BYTES` and `blocks > 0`; the reader checks this when
/// the file is opened, and a short slice makes this return `true` (never panic).
#[inline]
pub fn may_contain(filter: &[u8], blocks: u64, key: &[u8; 20]) -> bool {
    let b = block_of(key, blocks) as usize;
    let Some(block) = filter.get(b * BLOCK_BYTES..(b + 1) * BLOCK_BYTES) else {
        return true;
    };
    let want = pattern(key);
    let mut ok = true;
    for (i, w) in want.iter().enumerate() {
        let word = u64::from_le_bytes(block[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        ok &= word & w == *w;
    }
    ok
}

/// False-positive rate of the filter with, on average, `load` keys per block (keys per block
/// follow a Poisson law).
pub fn false_positive_rate(load: f64) -> f64 {
    // P(query hits a block with j keys) * P(its 8 bits are all set | j keys).
    let word_bits = 64.0f64;
    let mut p_j = (-load).exp();
    let mut total = 0.0;
    let mut j = 0u32;
    loop {
        let all_set = (1.0 - (1.0 - 1.0 / word_bits).powi(j as i32)).powi(PROBES as i32);
        total += p_j * all_set;
        j += 1;
        p_j *= load / f64::from(j);
        if (f64::from(j) > load && p_j < 1e-18) || j > 10_000 {
            break;
        }
    }
    total
}

/// Bits per key needed for a false-positive rate of `fpr` (`0 < fpr < 1`).
pub fn bits_per_key(fpr: f64) -> f64 {
    // The rate grows with the load; bisect for the load that gives `fpr`.
    let (mut lo, mut hi) = (1e-3f64, BLOCK_BITS as f64);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if false_positive_rate(mid) > fpr {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    BLOCK_BITS as f64 / lo
}

/// Number of blocks for `keys` keys at false-positive rate `fpr`: at least one.
pub fn blocks_for(keys: u64, fpr: f64) -> u64 {
    let bits = (keys as f64 * bits_per_key(fpr)).ceil();
    ((bits / BLOCK_BITS as f64).ceil() as u64).max(1)
}

/// Builds a filter from keys given in ascending order, writing each block as soon as it is
/// complete: constant memory whatever the number of keys.
pub struct StreamBuilder {
    blocks: u64,
    next_to_write: u64,
    current: u64,
    words: [u64; WORDS_PER_BLOCK],
}

impl StreamBuilder {
    /// A builder for a filter of `blocks` blocks (at least one).
    pub fn new(blocks: u64) -> StreamBuilder {
        StreamBuilder { blocks: blocks.max(1), next_to_write: 0, current: 0, words: [0; WORDS_PER_BLOCK] }
    }

    /// Adds a key; keys must come in ascending order. Completed blocks are written to `out`.
    pub fn add<W: std::io::Write>(&mut self, key: &[u8; 20], out: &mut W) -> std::io::Result<()> {
        let b = block_of(key, self.blocks);
        if b < self.current {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "bloom keys out of order"));
        }
        if b != self.current {
            self.flush_through(b, out)?;
        }
        for (w, p) in self.words.iter_mut().zip(pattern(key)) {
            *w |= p;
        }
        Ok(())
    }

    /// Writes the current block and the empty ones up to (not including) block `b`.
    fn flush_through<W: std::io::Write>(&mut self, b: u64, out: &mut W) -> std::io::Result<()> {
        let mut buf = [0u8; BLOCK_BYTES];
        for (i, w) in self.words.iter().enumerate() {
            buf[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        out.write_all(&buf)?;
        self.next_to_write = self.current + 1;
        let zero = [0u8; BLOCK_BYTES];
        while self.next_to_write < b {
            out.write_all(&zero)?;
            self.next_to_write += 1;
        }
        self.current = b;
        self.words = [0; WORDS_PER_BLOCK];
        Ok(())
    }

    /// Writes the remaining blocks.
    pub fn finish<W: std::io::Write>(mut self, out: &mut W) -> std::io::Result<()> {
        let end = self.blocks;
        self.flush_through(end, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_matches_the_split_block_figures() {
        // A split-block filter needs about 16.9 bits per key at 0.1 %; ours is within 10 %.
        let b = bits_per_key(0.001);
        assert!(b > 12.0 && b < 16.9 * 1.1, "bits per key {b}");
        assert!(bits_per_key(0.0001) > b);
        assert!(bits_per_key(0.01) < b);
    }

    #[test]
    fn streamed_filter_has_every_key_and_the_right_length() {
        let mut keys: Vec<[u8; 20]> = (0u32..5000)
            .map(|i| {
                use sha1::Digest;
                sha1::Sha1::digest(i.to_le_bytes()).into()
            })
            .collect();
        keys.sort();
        let blocks = blocks_for(keys.len() as u64, 0.01);
        let mut b = StreamBuilder::new(blocks);
        let mut out = Vec::new();
        for k in &keys {
            b.add(k, &mut out).unwrap();
        }
        b.finish(&mut out).unwrap();
        assert_eq!(out.len() as u64, blocks * BLOCK_BYTES as u64);
        assert!(keys.iter().all(|k| may_contain(&out, blocks, k)));
    }
}
