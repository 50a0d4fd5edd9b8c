//! The aws-chunked framing of an upload whose checksum follows its bytes as a trailer
//! (`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`), as the AWS SDKs send
//! uploads by default: the checksum is computed while the bytes go out, so a file part is
//! read once, not once to sum it and again to send it.
//!
//! ```text
//! 80000\r\n <512 KiB> \r\n  …  1f3\r\n <499 bytes> \r\n  0\r\n x-amz-checksum-crc64nvme:<base64>\r\n \r\n
//! ```
//!
//! Each chunk is summed on the blocking pool beside its read ([`chunk_sum`]); the part's
//! checksum is the chunks' CRCs combined in order ([`checksum::combine`]), so only the
//! CRC algorithms (which combine) are sent this way.

use crate::checksum::{self, ChecksumAlgorithm, PartChecksum};
use bytes::Bytes;
use std::sync::{Arc, Mutex};

/// Where a trailing checksum is left once its body has sent it, for the caller to record
/// (CompleteMultipartUpload lists each part's checksum). Shared by every copy of a body: the
/// copy sent last leaves its sum.
#[derive(Debug, Default, Clone)]
pub struct TrailingSum(Arc<Mutex<Option<PartChecksum>>>);

impl TrailingSum {
    /// An empty slot.
    pub fn new() -> Self {
        Self::default()
    }

    /// The checksum the last body that finished sent, if one did.
    pub fn get(&self) -> Option<PartChecksum> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, sum: PartChecksum) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sum);
    }
}

/// Whether `algorithm` can be sent as a trailer here: its chunk checksums must combine.
pub fn can_trail(algorithm: ChecksumAlgorithm) -> bool {
    algorithm.supports_full_object()
}

/// The checksum of one chunk, computed where it was read.
pub(super) fn chunk_sum(algorithm: ChecksumAlgorithm, chunk: &[u8]) -> PartChecksum {
    checksum::checksum_of(algorithm, chunk)
}

/// The framing state of one body.
#[derive(Debug)]
pub(super) struct Framing {
    algorithm: ChecksumAlgorithm,
    /// The chunks' checksums so far, in order.
    sums: Vec<PartChecksum>,
    /// Frames due before the next chunk (its data and the CRLF after it).
    pending: std::collections::VecDeque<Bytes>,
    /// Encoded bytes not yet handed out.
    left: u64,
    finished: bool,
    result: TrailingSum,
}

impl Framing {
    /// The framing of `len` bytes sent in chunks of `chunk` bytes.
    pub(super) fn new(
        algorithm: ChecksumAlgorithm,
        len: u64,
        chunk: u64,
        result: TrailingSum,
    ) -> Self {
        Self {
            algorithm,
            sums: Vec::new(),
            pending: Default::default(),
            left: encoded_len(algorithm, len, chunk),
            finished: false,
            result,
        }
    }

    /// The same framing from its start, for a body sent again.
    pub(super) fn restarted(&self, len: u64, chunk: u64) -> Self {
        Self::new(self.algorithm, len, chunk, self.result.clone())
    }

    /// The algorithm the trailer carries.
    pub(super) fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    /// Encoded bytes not yet handed out.
    pub(super) fn left(&self) -> u64 {
        self.left
    }

    /// A frame queued after the last chunk's header, if any.
    pub(super) fn next_pending(&mut self) -> Option<Bytes> {
        let frame = self.pending.pop_front()?;
        self.left -= frame.len() as u64;
        Some(frame)
    }

    /// Frames `chunk` (summed as `sum`): returns its header and queues its data and CRLF.
    pub(super) fn chunk(&mut self, chunk: Bytes, sum: PartChecksum) -> Bytes {
        self.sums.push(sum);
        let header = Bytes::from(format!("{:x}\r\n", chunk.len()));
        self.pending.push_back(chunk);
        self.pending.push_back(Bytes::from_static(b"\r\n"));
        self.left -= header.len() as u64;
        header
    }

    /// The last chunk and the trailer, once; `None` after it. Leaves the sum in the slot.
    pub(super) fn finish(&mut self) -> Option<Bytes> {
        if self.finished {
            return None;
        }
        self.finished = true;
        let sum = if self.sums.is_empty() {
            checksum::checksum_of(self.algorithm, &[])
        } else {
            // Every chunk sum has this algorithm, which combines: this cannot fail.
            checksum::combine(&self.sums).unwrap_or_else(|_| self.sums[0])
        };
        self.result.set(sum);
        let frame = Bytes::from(trailer(self.algorithm, &sum.base64()));
        self.left = self.left.saturating_sub(frame.len() as u64);
        Some(frame)
    }
}

/// The last chunk and the trailer: `0\r\n<name>:<value>\r\n\r\n`.
fn trailer(algorithm: ChecksumAlgorithm, value: &str) -> String {
    format!("0\r\n{}:{value}\r\n\r\n", algorithm.header_name())
}

/// The aws-chunked length of `len` bytes sent in chunks of `chunk` bytes with `algorithm`'s
/// trailer (the request's `Content-Length`; `x-amz-decoded-content-length` is `len`).
pub fn encoded_len(algorithm: ChecksumAlgorithm, len: u64, chunk: u64) -> u64 {
    let chunk = chunk.max(1);
    let framed = |n: u64| format!("{n:x}").len() as u64 + 2 + n + 2;
    let whole = len / chunk;
    let rest = len % chunk;
    let value_len = (algorithm.digest_len() as u64).div_ceil(3) * 4;
    let trailer_len = 3 + algorithm.header_name().len() as u64 + 1 + value_len + 4;
    whole * framed(chunk) + if rest > 0 { framed(rest) } else { 0 } + trailer_len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoded_length_counts_every_header_crlf_and_the_trailer() {
        let algorithm = ChecksumAlgorithm::Crc64Nvme;
        let sum = checksum::checksum_of(algorithm, b"");
        for (len, chunk) in [
            (0u64, 16u64),
            (5, 16),
            (16, 16),
            (17, 16),
            (40, 16),
            (300, 256),
        ] {
            let mut framing = Framing::new(algorithm, len, chunk, TrailingSum::new());
            let mut out = 0u64;
            let mut at = 0;
            while at < len {
                let n = (len - at).min(chunk);
                out += framing.chunk(Bytes::from(vec![0; n as usize]), sum).len() as u64;
                while let Some(frame) = framing.next_pending() {
                    out += frame.len() as u64;
                }
                at += n;
            }
            out += framing.finish().expect("a trailer").len() as u64;
            assert_eq!(out, encoded_len(algorithm, len, chunk), "len {len}");
            assert_eq!(framing.left(), 0, "len {len}");
            assert!(framing.finish().is_none(), "the trailer goes once");
        }
    }

    #[test]
    fn the_trailer_carries_the_whole_ranges_checksum_combined_from_its_chunks() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        for algorithm in [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Crc64Nvme,
        ] {
            let slot = TrailingSum::new();
            let mut framing = Framing::new(algorithm, data.len() as u64, 300, slot.clone());
            for chunk in data.chunks(300) {
                framing.chunk(Bytes::copy_from_slice(chunk), chunk_sum(algorithm, chunk));
            }
            let trailer = framing.finish().expect("a trailer");
            let whole = checksum::checksum_of(algorithm, &data);
            assert_eq!(slot.get(), Some(whole));
            let text = String::from_utf8(trailer.to_vec()).unwrap();
            assert_eq!(
                text,
                format!(
                    "0\r\n{}:{}\r\n\r\n",
                    algorithm.header_name(),
                    whole.base64()
                )
            );
        }
    }
}
