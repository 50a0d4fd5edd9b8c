//! S3 ETags as checksums: what an object's ETag lets a download be checked against when the store holds no
//! full-object checksum (objects from other tools, composite checksums).
//!
//! S3 makes the ETag of an object stored in one piece the MD5 of its bytes, and that of a
//! multipart object `MD5(MD5(part 1) ‖ … ‖ MD5(part N))-N`, unless it is encrypted with
//! SSE-KMS or SSE-C. The second can be recomputed from the bytes only with the part layout:
//! HeadObject with `partNumber=1` gives the first part's size where the store supports it
//! (S3 does, with `x-amz-mp-parts-count`); otherwise the layout is guessed from the size and
//! the part count, as the part sizes tools use are whole MiB or whole MB.

use md5::{Digest, Md5};
use std::io::Read;
use std::path::Path;

/// What a download can be checked against from an object's ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtagCheck {
    /// The MD5 of the bytes, lower-case hex.
    Md5(String),
    /// The MD5 of the parts' MD5s (lower-case hex) and how many parts there are.
    Multipart {
        /// `MD5(MD5(part 1) ‖ … ‖ MD5(part N))`, lower-case hex.
        digest: String,
        /// N.
        parts: u64,
    },
}

impl EtagCheck {
    /// The check `etag` allows, if any: `None` for an encrypted object (SSE-KMS, SSE-C),
    /// whose ETag is no MD5, or an ETag of another shape.
    pub fn of(etag: Option<&str>, kms: bool, customer_key: bool) -> Option<Self> {
        if kms || customer_key {
            return None;
        }
        let etag = etag?.trim().trim_matches('"');
        let hex = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
        match etag.split_once('-') {
            None if hex(etag) => Some(Self::Md5(etag.to_ascii_lowercase())),
            Some((digest, parts)) if hex(digest) => {
                let parts = parts.parse().ok().filter(|n| (1..=10_000).contains(n))?;
                Some(Self::Multipart {
                    digest: digest.to_ascii_lowercase(),
                    parts,
                })
            }
            _ => None,
        }
    }
}

/// Whether `part_size` can be the part size of an object of `size` bytes in `parts` equal
/// parts (the last one shorter or equal).
pub fn fits(size: u64, parts: u64, part_size: u64) -> bool {
    part_size > 0 && parts > 0 && size.div_ceil(part_size) == parts
}

/// The part sizes common tools use by default, most common first: 8 MiB (the AWS CLI,
/// boto3, ferry), 5 MiB (the Go and Java SDKs, rclone), 16 MiB, 50 MiB (s5cmd), 64 MiB.
const COMMON_PART_SIZES: [u64; 5] = [8 << 20, 5 << 20, 16 << 20, 50 << 20, 64 << 20];

/// Part sizes worth trying for an object of `size` bytes in `parts` parts, at most `limit`:
/// the common tools' defaults that fit first ([`COMMON_PART_SIZES`]), then the other whole
/// MiB and whole MB sizes that fit, smallest first.
pub fn guessed_part_sizes(size: u64, parts: u64, limit: usize) -> Vec<u64> {
    if parts == 0 || size == 0 {
        return Vec::new();
    }
    if parts == 1 {
        return vec![size];
    }
    // Sizes P with (parts - 1) * P < size <= parts * P.
    let smallest = size.div_ceil(parts);
    let largest = (size - 1) / (parts - 1);
    let mut sizes: Vec<u64> = [1024 * 1024, 1_000_000]
        .iter()
        .flat_map(|&unit: &u64| {
            let first = smallest.div_ceil(unit);
            (first..)
                .map(move |n| n * unit)
                .take_while(move |&p| p <= largest)
                .take(limit)
        })
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let common = COMMON_PART_SIZES
        .into_iter()
        .filter(|&p| (smallest..=largest).contains(&p));
    let mut guesses: Vec<u64> = common.collect();
    guesses.extend(sizes.into_iter().filter(|p| !COMMON_PART_SIZES.contains(p)));
    guesses.truncate(limit);
    guesses
}

/// The multipart ETag (`hex-N`) the bytes of `path` have when cut into parts of each of
/// `part_sizes`, in one pass over the file.
pub fn multipart_etags_of_file(path: &Path, part_sizes: &[u64]) -> std::io::Result<Vec<String>> {
    multipart_etags_of(std::fs::File::open(path)?, part_sizes)
}

/// [`multipart_etags_of_file`] of the bytes `reader` gives.
pub fn multipart_etags_of(
    mut reader: impl Read,
    part_sizes: &[u64],
) -> std::io::Result<Vec<String>> {
    struct Layout {
        part_size: u64,
        in_part: u64,
        part: Md5,
        outer: Md5,
        parts: u64,
    }
    let mut layouts: Vec<Layout> = part_sizes
        .iter()
        .map(|&part_size| Layout {
            part_size,
            in_part: 0,
            part: Md5::new(),
            outer: Md5::new(),
            parts: 0,
        })
        .collect();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        for layout in &mut layouts {
            let mut chunk = &buffer[..read];
            while !chunk.is_empty() {
                let room = (layout.part_size - layout.in_part).min(chunk.len() as u64) as usize;
                layout.part.update(&chunk[..room]);
                layout.in_part += room as u64;
                chunk = &chunk[room..];
                if layout.in_part == layout.part_size {
                    let digest = std::mem::replace(&mut layout.part, Md5::new()).finalize();
                    layout.outer.update(digest);
                    layout.parts += 1;
                    layout.in_part = 0;
                }
            }
        }
    }
    Ok(layouts
        .into_iter()
        .map(|mut layout| {
            if layout.in_part > 0 {
                layout.outer.update(layout.part.finalize());
                layout.parts += 1;
            }
            format!("{}-{}", hex(&layout.outer.finalize()), layout.parts)
        })
        .collect())
}

/// The MD5 of a file's bytes, lower-case hex.
pub fn md5_of_file(path: &Path) -> std::io::Result<String> {
    md5_of(std::fs::File::open(path)?)
}

/// The hex MD5 of the bytes `reader` gives.
pub fn md5_of(mut reader: impl Read) -> std::io::Result<String> {
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}

/// The multipart ETag (`hex-N`) of parts whose ETags (quoted or not) are `part_md5s`;
/// `None` when one is no MD5 (SSE-KMS, SSE-C parts).
pub fn of_part_md5s<'a>(part_md5s: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut outer = Md5::new();
    let mut count = 0;
    for etag in part_md5s {
        let hex = etag.trim().trim_matches('"');
        if hex.len() != 32 {
            return None;
        }
        for pair in hex.as_bytes().chunks(2) {
            let text = std::str::from_utf8(pair).ok()?;
            outer.update([u8::from_str_radix(text, 16).ok()?]);
        }
        count += 1;
    }
    Some(format!("{}-{count}", hex(&outer.finalize())))
}

/// The MD5 of `bytes`, lower-case hex.
pub fn md5_of_bytes(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn etags_are_read_as_md5_multipart_or_nothing() {
        let md5 = "\"9B2CF535F27731C974343645A3985328\"";
        assert_eq!(
            EtagCheck::of(Some(md5), false, false),
            Some(EtagCheck::Md5("9b2cf535f27731c974343645a3985328".into()))
        );
        assert_eq!(
            EtagCheck::of(
                Some("\"9b2cf535f27731c974343645a3985328-12\""),
                false,
                false
            ),
            Some(EtagCheck::Multipart {
                digest: "9b2cf535f27731c974343645a3985328".into(),
                parts: 12
            })
        );
        assert_eq!(EtagCheck::of(Some(md5), true, false), None);
        assert_eq!(EtagCheck::of(Some(md5), false, true), None);
        assert_eq!(EtagCheck::of(Some("\"abc\""), false, false), None);
        assert_eq!(
            EtagCheck::of(Some("9b2cf535f27731c974343645a3985328-0"), false, false),
            None
        );
        assert_eq!(EtagCheck::of(None, false, false), None);
    }

    #[test]
    fn guessed_part_sizes_are_the_common_defaults_then_the_whole_mib_and_mb_sizes_that_fit() {
        // 16 MiB + 4321 bytes in 4 parts: parts of 4,195,385 to 5,593,845 bytes fit, so
        // 5 MB and 5 MiB (4 MiB would leave 4321 bytes for a fifth part).
        let size = 16 * MIB + 4321;
        assert_eq!(guessed_part_sizes(size, 4, 8), vec![5 * MIB, 5_000_000]);
        assert!(!fits(size, 4, 4 * MIB));
        assert_eq!(guessed_part_sizes(size, 4, 1), vec![5 * MIB]);
        // 5 MiB + 100 bytes in 2 parts: 2.6 to 5 MiB fit; 5 MiB (a common default) comes
        // before the six smaller whole MiB and MB sizes, which a limit of 4 used to keep.
        let size = 5 * MIB + 100;
        assert_eq!(
            guessed_part_sizes(size, 2, 4),
            vec![5 * MIB, 3_000_000, 3 * MIB, 4_000_000]
        );
        assert_eq!(guessed_part_sizes(100, 1, 8), vec![100]);
        assert!(guessed_part_sizes(0, 3, 8).is_empty());
    }

    #[test]
    fn the_multipart_etag_of_a_file_is_the_md5_of_its_parts_md5s() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..2_500_001u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut outer = Md5::new();
        for part in data.chunks(1_000_000) {
            outer.update(Md5::digest(part));
        }
        let expected = format!("{}-3", hex(&outer.finalize()));
        let whole = format!("{}-1", hex(&Md5::digest(Md5::digest(&data))));
        let got = multipart_etags_of_file(&path, &[1_000_000, data.len() as u64]).unwrap();
        assert_eq!(got, vec![expected, whole]);
        assert_eq!(md5_of_file(&path).unwrap(), hex(&Md5::digest(&data)));
    }
}
