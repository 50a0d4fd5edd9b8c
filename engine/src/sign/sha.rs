//! SHA-256 and HMAC-SHA256 at the block level, for the signing hot path.
//!
//! A signature is a handful of SHA-256 compressions (four for a typical canonical request,
//! three for the HMAC of the string to sign), so the generic `digest` plumbing (block buffers,
//! state clones, finalization through several layers) and many small `memcpy` calls cost as
//! much as the hashing. Here the canonical request is written straight into a stack buffer
//! of whole blocks, padded in place and compressed with `sha2::compress256` (SHA-NI when the
//! CPU has it, detected once by `sha2`), and the HMAC works on raw states whose key pads were
//! absorbed once per signing key.

use sha2::digest::generic_array::GenericArray;

/// The SHA-256 initial state.
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Compresses one 64-byte block into `state`.
#[inline]
fn compress(state: &mut [u32; 8], block: &[u8]) {
    sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

/// Compresses the whole blocks of `blocks` (its length a multiple of 64) into `state`.
#[inline]
fn compress_blocks(state: &mut [u32; 8], blocks: &[u8]) {
    for block in blocks.chunks_exact(64) {
        compress(state, block);
    }
}

/// The digest bytes of a final state.
#[inline]
fn digest_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Copies `src` into `dst[at..at + src.len()]`. Short pieces (most of a canonical request:
/// separators, header names, dates) are copied as two overlapping fixed-size moves instead
/// of a `memcpy` call, which costs more than the copy at these sizes.
#[inline(always)]
pub(crate) fn put(dst: &mut [u8], at: usize, src: &[u8]) {
    let n = src.len();
    let dst = &mut dst[at..at + n];
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..].copy_from_slice(&src[n - 4..]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
        17..=32 => {
            dst[..16].copy_from_slice(&src[..16]);
            dst[n - 16..].copy_from_slice(&src[n - 16..]);
        }
        33..=64 => {
            dst[..32].copy_from_slice(&src[..32]);
            dst[n - 32..].copy_from_slice(&src[n - 32..]);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// Whether `a` and `b` hold the same bytes. Short ones (regions, service names, access key
/// ids) are compared as two overlapping fixed-size loads, like [`put`], instead of through
/// a `memcmp` call.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    fn word<const W: usize>(s: &[u8], at: usize) -> [u8; W] {
        let mut w = [0u8; W];
        w.copy_from_slice(&s[at..at + W]);
        w
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        17..=32 => {
            word::<16>(a, 0) == word::<16>(b, 0) && word::<16>(a, n - 16) == word::<16>(b, n - 16)
        }
        _ => a == b,
    }
}

/// How many bytes [`HashWriter`] buffers before compressing: eight blocks, more than most
/// canonical requests, so that one signature usually compresses everything once, at the end.
const BUF: usize = 8 * 64;

/// SHA-256 of a message written in pieces: the pieces are laid out in a stack buffer of whole
/// blocks, compressed when it fills and at [`HashWriter::finish`], where the padding is
/// written in place.
pub(crate) struct HashWriter {
    state: [u32; 8],
    buf: [u8; BUF],
    len: usize,
    /// Bytes already compressed (a multiple of 64).
    compressed: u64,
}

impl HashWriter {
    /// An empty message.
    #[inline]
    pub(crate) fn new() -> Self {
        Self {
            state: IV,
            buf: [0; BUF],
            len: 0,
            compressed: 0,
        }
    }

    /// Appends `bytes`.
    #[inline]
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        if bytes.len() <= BUF - self.len {
            put(&mut self.buf, self.len, bytes);
            self.len += bytes.len();
        } else {
            self.write_long(bytes);
        }
    }

    /// Appends one byte.
    #[inline]
    pub(crate) fn push(&mut self, byte: u8) {
        if self.len == BUF {
            self.drain();
        }
        self.buf[self.len] = byte;
        self.len += 1;
    }

    #[cold]
    fn write_long(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.len == BUF {
                self.drain();
            }
            let take = bytes.len().min(BUF - self.len);
            self.buf[self.len..self.len + take].copy_from_slice(&bytes[..take]);
            self.len += take;
            bytes = &bytes[take..];
        }
    }

    /// Compresses the whole blocks in the buffer and moves what is left to its start.
    fn drain(&mut self) {
        let whole = self.len / 64 * 64;
        self.compress_whole(whole);
        self.compressed += whole as u64;
        self.buf.copy_within(whole..self.len, 0);
        self.len -= whole;
    }

    /// The SHA-256 of everything written.
    #[inline]
    pub(crate) fn finish(mut self) -> [u8; 32] {
        if self.len + 9 > BUF {
            self.drain();
        }
        let bits = (self.compressed + self.len as u64) * 8;
        let end = (self.len + 9).div_ceil(64) * 64;
        self.buf[self.len] = 0x80;
        self.buf[self.len + 1..end - 8].fill(0);
        self.buf[end - 8..end].copy_from_slice(&bits.to_be_bytes());
        self.compress_whole(end);
        digest_bytes(&self.state)
    }

    /// Compresses `buf[..end]` (whole blocks): the message's first block through
    /// [`FIRST_BLOCK`], the rest directly.
    #[inline]
    fn compress_whole(&mut self, end: usize) {
        let mut from = 0;
        if self.compressed == 0
            && end >= 64
            && let Some(first) = self.buf.first_chunk::<64>()
        {
            self.state = first_block_state(first);
            from = 64;
        }
        compress_blocks(&mut self.state, &self.buf[from..end]);
    }
}

thread_local! {
    /// The last first block this thread hashed and the state it left. Requests for the same
    /// object (the ranges of one download, the parts of one upload) begin their canonical
    /// request with the same 64 bytes (`METHOD`, the path and often the host), so one of
    /// their four or so compressions is a lookup. A different block costs one 64-byte
    /// compare.
    static FIRST_BLOCK: std::cell::Cell<([u8; 64], [u32; 8])> =
        const { std::cell::Cell::new(([0; 64], [0; 8])) };
}

/// Whether two blocks are equal: eight word compares folded without a branch (no `memcmp`
/// call, which costs more than the compare at this size).
#[inline(always)]
fn same_block(a: &[u8; 64], b: &[u8; 64]) -> bool {
    let word = |s: &[u8; 64], i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i * 8..i * 8 + 8]);
        u64::from_ne_bytes(w)
    };
    (0..8).fold(0u64, |diff, i| diff | (word(a, i) ^ word(b, i))) == 0
}

/// The state after compressing `block` (64 bytes) into the initial state, from
/// [`FIRST_BLOCK`] when it holds this block. The all-zero block is never taken from it (that
/// is what an empty memo holds).
#[inline]
fn first_block_state(block: &[u8; 64]) -> [u32; 8] {
    FIRST_BLOCK.with(|memo| {
        let (memo_block, memo_state) = memo.get();
        if same_block(&memo_block, block) && memo_state != [0; 8] {
            return memo_state;
        }
        let mut state = IV;
        compress(&mut state, block);
        memo.set((*block, state));
        state
    })
}

/// HMAC-SHA256 under one key, as two states that have absorbed the inner and outer key pads.
#[derive(Clone)]
pub(crate) struct HmacKey {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl HmacKey {
    /// Keys the two states with a key of at most 64 bytes (a SigV4 signing key has 32).
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        let mut pad = [0x36u8; 64];
        for (p, k) in pad.iter_mut().zip(key) {
            *p ^= k;
        }
        let mut inner = IV;
        compress(&mut inner, &pad);
        for p in pad.iter_mut() {
            *p ^= 0x36 ^ 0x5c;
        }
        let mut outer = IV;
        compress(&mut outer, &pad);
        pad.fill(0);
        Self { inner, outer }
    }

    /// The inner state after `prefix`, ready for [`PrefixedMac::sign_hex`].
    pub(crate) fn prefixed(&self, prefix: &[&[u8]]) -> PrefixedMac {
        let mut mac = PrefixedMac {
            key: self.clone(),
            tail: [0; 64],
            tail_len: 0,
            absorbed: 64,
        };
        for part in prefix {
            for &byte in *part {
                mac.tail[mac.tail_len] = byte;
                mac.tail_len += 1;
                if mac.tail_len == 64 {
                    compress(&mut mac.key.inner, &mac.tail);
                    mac.absorbed += 64;
                    mac.tail_len = 0;
                }
            }
        }
        mac
    }
}

/// An HMAC that has absorbed a message's prefix (the string to sign's first lines); finishing
/// it with the last 64 bytes (a hex digest) costs two or three compressions.
#[derive(Clone)]
pub(crate) struct PrefixedMac {
    /// `inner` has absorbed the inner pad and the prefix's whole blocks.
    key: HmacKey,
    tail: [u8; 64],
    tail_len: usize,
    /// Bytes in `key.inner`, the pad included.
    absorbed: u64,
}

impl PrefixedMac {
    /// HMAC(key, prefix ‖ `hex`), as lower-case hex.
    #[inline]
    pub(crate) fn sign_hex(&self, hex: &[u8; 64]) -> [u8; 64] {
        let mut blocks = [0u8; 192];
        let n = self.tail_len;
        blocks[..64].copy_from_slice(&self.tail);
        blocks[n..n + 64].copy_from_slice(hex);
        let len = n + 64;
        let end = (len + 9).div_ceil(64) * 64;
        blocks[len] = 0x80;
        let bits = (self.absorbed + len as u64) * 8;
        blocks[end - 8..end].copy_from_slice(&bits.to_be_bytes());
        let mut inner = self.key.inner;
        compress_blocks(&mut inner, &blocks[..end]);

        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&digest_bytes(&inner));
        block[32] = 0x80;
        block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
        let mut outer = self.key.outer;
        compress(&mut outer, &block);
        super::encode::hex32(&digest_bytes(&outer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Mac;
    use sha2::{Digest, Sha256};

    #[test]
    fn hashes_like_sha2_at_every_length_and_split() {
        let data: Vec<u8> = (0..1500u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in (0..200).chain([447, 448, 503, 504, 511, 512, 513, 1024, 1500]) {
            let expected: [u8; 32] = Sha256::digest(&data[..len]).into();
            let mut whole = HashWriter::new();
            whole.write(&data[..len]);
            assert_eq!(whole.finish(), expected, "len {len}");
            let mut pieces = HashWriter::new();
            for (i, chunk) in data[..len].chunks(1 + len % 37).enumerate() {
                if i % 3 == 0 && chunk.len() == 1 {
                    pieces.push(chunk[0]);
                } else {
                    pieces.write(chunk);
                }
            }
            assert_eq!(pieces.finish(), expected, "len {len} in pieces");
        }
    }

    #[test]
    fn a_remembered_first_block_serves_only_messages_that_begin_with_it() {
        let base: Vec<u8> = (0..200u32).map(|i| (i * 13 + 1) as u8).collect();
        for round in 0..3 {
            for flip in [None, Some(0), Some(63), Some(64), Some(199)] {
                let mut data = base.clone();
                if let Some(i) = flip {
                    data[i] ^= 1 + round as u8;
                }
                let mut w = HashWriter::new();
                w.write(&data);
                let expected: [u8; 32] = Sha256::digest(&data).into();
                assert_eq!(w.finish(), expected, "round {round}, flip {flip:?}");
            }
        }
    }

    #[test]
    fn short_compares_see_every_byte() {
        let a: Vec<u8> = (1..=70).collect();
        for n in 0..=70 {
            assert!(same_bytes(&a[..n], &a.clone()[..n]), "n {n}");
            assert!(!same_bytes(&a[..n], &a[..n.saturating_sub(1)]) || n == 0);
            for i in 0..n {
                let mut b = a[..n].to_vec();
                b[i] ^= 0x20;
                assert!(!same_bytes(&a[..n], &b), "n {n}, byte {i}");
            }
        }
    }

    #[test]
    fn short_copies_copy_exactly() {
        let src: Vec<u8> = (1..=100).collect();
        for n in 0..=100 {
            let mut dst = [0u8; 110];
            put(&mut dst, 5, &src[..n]);
            assert_eq!(&dst[5..5 + n], &src[..n]);
            assert!(
                dst[..5].iter().chain(&dst[5 + n..]).all(|b| *b == 0),
                "n {n}"
            );
        }
    }

    #[test]
    fn prefixed_mac_signs_like_hmac() {
        let key = [0x5au8; 32];
        let hex = [b'c'; 64];
        for prefix_len in [0, 1, 55, 63, 64, 65, 67, 100, 128, 130] {
            let prefix: Vec<u8> = (0..prefix_len).map(|i| i as u8).collect();
            let (a, b) = prefix.split_at(prefix_len / 3);
            let ours = HmacKey::new(&key).prefixed(&[a, b]).sign_hex(&hex);
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(&prefix);
            mac.update(&hex);
            let expected = crate::sign::encode::hex32(&mac.finalize().into_bytes());
            assert_eq!(ours, expected, "prefix {prefix_len}");
        }
    }
}
