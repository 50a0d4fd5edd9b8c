//! S3 checksums: computed per part in parallel, then combined without reading the data again.
//!
//! S3 (and the AWS SDKs since 2025) protect every upload with a checksum. Two kinds exist for
//! multipart uploads ([`ChecksumType`]):
//!
//! * **Full object** (CRC-64/NVME, CRC-32, CRC-32C): the CRC of the whole object, exactly as if
//!   it had been sent in one request. CRCs are linear, so the CRC of `A ‖ B` follows from
//!   `crc(A)`, `crc(B)` and `len(B)` alone: [`combine`] merges part CRCs in order, so parts can
//!   be hashed on many threads ([`parallel_checksum`]) and still give the whole-object value
//!   that a download verifies against.
//! * **Composite** (CRC-32, CRC-32C, SHA-256): the checksum of the concatenated raw part
//!   checksums, written `base64-N` for `N` parts ([`composite`]). It depends on the part size.
//!
//! Values travel base64-encoded, big-endian ([`PartChecksum::base64`]), in the
//! `x-amz-checksum-*` headers ([`ChecksumAlgorithm::header_name`]) and the `Checksum*` XML
//! elements. CRCs are computed by `crc_fast` (SIMD); combining multiplies by `x^(8·len)`
//! modulo the CRC polynomial (zlib's method, see [`combine`]), proven in the tests against
//! hashing the concatenation and against `crc_fast::checksum_combine`.
//!
//! The algorithms and values are typed here, below the S3 client (which sends them as
//! `ChecksumHeader`s) and the transfer scheduler (which computes them); this module uses
//! nothing else of the crate.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rayon::prelude::*;
use sha2::Digest as _;
use std::fmt;

/// The checksum algorithms ferry sends to S3.
///
/// SHA-1 (composite only in S3) is not offered: it is slower than SHA-256 and weaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChecksumAlgorithm {
    /// CRC-64/NVME: S3's default, full-object only. The fastest and the strongest CRC here.
    #[default]
    Crc64Nvme,
    /// CRC-32 (ISO-HDLC, the zlib/Ethernet CRC): full object or composite.
    Crc32,
    /// CRC-32C (Castagnoli, iSCSI): full object or composite.
    Crc32c,
    /// SHA-256: composite only for multipart uploads, since hashes cannot be combined.
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm, in the order [`parse`](Self::parse) lists them.
    pub const ALL: [Self; 4] = [Self::Crc64Nvme, Self::Crc32, Self::Crc32c, Self::Sha256];

    /// Parses a user's choice (`--checksum-algorithm`, a profile setting), case-insensitively:
    /// `crc64nvme`, `crc32`, `crc32c`, `sha256`, or `none` for no checksum (`Ok(None)`).
    /// Dashes and underscores are ignored, so `CRC-64-NVME` and `crc_32c` are accepted too.
    pub fn parse(s: &str) -> Result<Option<Self>, ChecksumError> {
        let normalized: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match normalized.as_str() {
            "crc64nvme" => Ok(Some(Self::Crc64Nvme)),
            "crc32" => Ok(Some(Self::Crc32)),
            "crc32c" => Ok(Some(Self::Crc32c)),
            "sha256" => Ok(Some(Self::Sha256)),
            "none" => Ok(None),
            _ => Err(ChecksumError::UnknownAlgorithm {
                given: s.to_owned(),
            }),
        }
    }

    /// The request/response header carrying this checksum, e.g. `x-amz-checksum-crc64nvme`.
    pub fn header_name(self) -> &'static str {
        match self {
            Self::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Self::Crc32 => "x-amz-checksum-crc32",
            Self::Crc32c => "x-amz-checksum-crc32c",
            Self::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The name S3 uses in `x-amz-checksum-algorithm`, `x-amz-sdk-checksum-algorithm` and the
    /// `ChecksumAlgorithm` XML element, e.g. `CRC64NVME`.
    pub fn s3_name(self) -> &'static str {
        match self {
            Self::Crc64Nvme => "CRC64NVME",
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Sha256 => "SHA256",
        }
    }

    /// Whether S3 accepts a full-object checksum ([`combine`]) with this algorithm: the CRCs.
    pub fn supports_full_object(self) -> bool {
        !matches!(self, Self::Sha256)
    }

    /// Whether S3 accepts a composite checksum ([`composite`]) with this algorithm: CRC-32,
    /// CRC-32C and SHA-256, not CRC-64/NVME.
    pub fn supports_composite(self) -> bool {
        !matches!(self, Self::Crc64Nvme)
    }

    /// The checksum type a multipart upload with this algorithm should ask for: full object
    /// where possible (it verifies against the object's bytes whatever the part size),
    /// composite for SHA-256.
    pub fn preferred_type(self) -> ChecksumType {
        if self.supports_full_object() {
            ChecksumType::FullObject
        } else {
            ChecksumType::Composite
        }
    }

    /// How many bytes the raw checksum has (4 for the CRC-32s, 8 for CRC-64, 32 for SHA-256).
    pub fn digest_len(self) -> usize {
        match self {
            Self::Crc64Nvme => 8,
            Self::Crc32 | Self::Crc32c => 4,
            Self::Sha256 => 32,
        }
    }

    /// The `crc_fast` algorithm, `None` for SHA-256.
    fn crc(self) -> Option<crc_fast::CrcAlgorithm> {
        match self {
            Self::Crc64Nvme => Some(crc_fast::CrcAlgorithm::Crc64Nvme),
            Self::Crc32 => Some(crc_fast::CrcAlgorithm::Crc32IsoHdlc),
            Self::Crc32c => Some(crc_fast::CrcAlgorithm::Crc32Iscsi),
            Self::Sha256 => None,
        }
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.s3_name())
    }
}

/// How a multipart upload's object checksum is formed (`x-amz-checksum-type`,
/// `ChecksumType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumType {
    /// The checksum of the whole object's bytes ([`combine`]); CRCs only.
    FullObject,
    /// The checksum of the part checksums, `base64-N` ([`composite`]).
    Composite,
}

impl ChecksumType {
    /// The value of `x-amz-checksum-type`: `FULL_OBJECT` or `COMPOSITE`.
    pub fn s3_name(self) -> &'static str {
        match self {
            Self::FullObject => "FULL_OBJECT",
            Self::Composite => "COMPOSITE",
        }
    }

    /// The header that carries it when a multipart upload is created.
    pub const HEADER: &'static str = "x-amz-checksum-type";
}

impl fmt::Display for ChecksumType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.s3_name())
    }
}

/// Why a checksum could not be parsed, combined or formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChecksumError {
    /// The algorithm name is not one ferry knows.
    #[error(
        "unknown checksum algorithm `{given}`: use one of crc64nvme (the default), crc32, crc32c, sha256, or none to send no checksum"
    )]
    UnknownAlgorithm {
        /// What was given.
        given: String,
    },
    /// A full-object checksum was asked of an algorithm that cannot be combined (SHA-256).
    #[error(
        "{algorithm} part checksums cannot be combined into a full-object checksum (only CRCs can): use crc64nvme, crc32 or crc32c for a full-object checksum, or the composite checksum type with {algorithm}"
    )]
    NotCombinable {
        /// The algorithm.
        algorithm: ChecksumAlgorithm,
    },
    /// A composite checksum was asked of an algorithm S3 allows only as full object.
    #[error(
        "S3 has no composite checksum for {algorithm} (it is full-object only): use the full-object checksum type, or crc32, crc32c or sha256 for a composite one"
    )]
    NoComposite {
        /// The algorithm.
        algorithm: ChecksumAlgorithm,
    },
    /// There were no part checksums.
    #[error("no part checksums were given: a multipart checksum needs at least one part")]
    NoParts,
    /// The parts were hashed with different algorithms.
    #[error(
        "part {index} has a {found} checksum but the first part has {expected}: hash every part of one upload with the same algorithm"
    )]
    MixedAlgorithms {
        /// The 1-based position of the first part that differs.
        index: usize,
        /// The first part's algorithm.
        expected: ChecksumAlgorithm,
        /// That part's algorithm.
        found: ChecksumAlgorithm,
    },
    /// A base64 checksum (from S3 or a resume journal) does not decode to the right length.
    #[error(
        "`{value}` is not a {algorithm} checksum: expected {expected_len} bytes in standard base64; the value is damaged or belongs to another algorithm"
    )]
    InvalidValue {
        /// The algorithm it was read as.
        algorithm: ChecksumAlgorithm,
        /// The text given.
        value: String,
        /// How many raw bytes the algorithm has.
        expected_len: usize,
    },
}

/// The raw checksum value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Value {
    /// A CRC in the low bits (32 or 64 of them).
    Crc(u64),
    /// A SHA-256 digest.
    Sha256([u8; 32]),
}

/// The checksum of one part (or of a whole object) and the number of bytes it covers — what
/// [`combine`] needs to merge part CRCs without the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartChecksum {
    algorithm: ChecksumAlgorithm,
    value: Value,
    len: u64,
}

impl PartChecksum {
    /// Reads a base64 value as S3 sends it (or as a resume journal kept it) for `data_len`
    /// bytes hashed with `algorithm`.
    pub fn from_base64(
        algorithm: ChecksumAlgorithm,
        value: &str,
        data_len: u64,
    ) -> Result<Self, ChecksumError> {
        let invalid = || ChecksumError::InvalidValue {
            algorithm,
            value: value.to_owned(),
            expected_len: algorithm.digest_len(),
        };
        let bytes = BASE64.decode(value.trim()).map_err(|_| invalid())?;
        if bytes.len() != algorithm.digest_len() {
            return Err(invalid());
        }
        let value = match algorithm {
            ChecksumAlgorithm::Sha256 => {
                let mut digest = [0u8; 32];
                digest.copy_from_slice(&bytes);
                Value::Sha256(digest)
            }
            _ => Value::Crc(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))),
        };
        Ok(Self {
            algorithm,
            value,
            len: data_len,
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    /// How many bytes of data it covers.
    pub fn data_len(&self) -> u64 {
        self.len
    }

    /// The CRC as a number (CRC-32s in the low 32 bits); `None` for SHA-256.
    pub fn crc(&self) -> Option<u64> {
        match self.value {
            Value::Crc(crc) => Some(crc),
            Value::Sha256(_) => None,
        }
    }

    /// The raw checksum bytes, big-endian as S3 encodes them (4, 8 or 32 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = [0u8; 32];
        self.raw(&mut buf).to_vec()
    }

    /// The value as S3 writes it: base64 of the big-endian bytes (`x-amz-checksum-*`
    /// headers, `Checksum*` elements). CRC-32 of `123456789` is `y/Q5Jg==`.
    pub fn base64(&self) -> String {
        let mut buf = [0u8; 32];
        BASE64.encode(self.raw(&mut buf))
    }

    /// Writes the big-endian bytes into `buf` and returns them.
    fn raw<'a>(&self, buf: &'a mut [u8; 32]) -> &'a [u8] {
        let n = self.algorithm.digest_len();
        match self.value {
            Value::Crc(crc) => buf[..n].copy_from_slice(&crc.to_be_bytes()[8 - n..]),
            Value::Sha256(digest) => buf.copy_from_slice(&digest),
        }
        &buf[..n]
    }
}

impl fmt::Display for PartChecksum {
    /// `CRC64NVME:<base64>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.base64())
    }
}

/// The hashing state for one algorithm.
#[derive(Clone)]
enum State {
    Crc(crc_fast::Digest),
    Sha256(sha2::Sha256),
}

/// A streaming checksum over one part or a whole object: [`update`](Self::update) with the
/// bytes in order, then [`finish`](Self::finish). CRCs use `crc_fast`'s SIMD kernels
/// (PCLMULQDQ/VPCLMULQDQ, ARM PMULL), many GB/s per core.
///
/// Hashing is CPU work: run it on rayon or the blocking pool, never on the async reactor.
#[derive(Clone)]
pub struct Hasher {
    algorithm: ChecksumAlgorithm,
    state: State,
    len: u64,
}

impl Hasher {
    /// A hasher with nothing hashed yet.
    pub fn new(algorithm: ChecksumAlgorithm) -> Self {
        let state = match algorithm.crc() {
            Some(crc) => State::Crc(crc_fast::Digest::new(crc)),
            None => State::Sha256(sha2::Sha256::new()),
        };
        Self {
            algorithm,
            state,
            len: 0,
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    /// Hashes the next bytes.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Crc(digest) => digest.update(data),
            State::Sha256(digest) => digest.update(data),
        }
        self.len += data.len() as u64;
    }

    /// The checksum of everything hashed.
    pub fn finish(self) -> PartChecksum {
        let value = match self.state {
            State::Crc(digest) => Value::Crc(digest.finalize()),
            State::Sha256(digest) => Value::Sha256(digest.finalize().into()),
        };
        PartChecksum {
            algorithm: self.algorithm,
            value,
            len: self.len,
        }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("algorithm", &self.algorithm)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The checksum of `data` in one go.
pub fn checksum_of(algorithm: ChecksumAlgorithm, data: &[u8]) -> PartChecksum {
    let mut hasher = Hasher::new(algorithm);
    hasher.update(data);
    hasher.finish()
}

/// The algorithm every part shares, or why there is none.
fn common_algorithm(parts: &[PartChecksum]) -> Result<ChecksumAlgorithm, ChecksumError> {
    let first = parts.first().ok_or(ChecksumError::NoParts)?.algorithm;
    match parts.iter().position(|part| part.algorithm != first) {
        Some(i) => Err(ChecksumError::MixedAlgorithms {
            index: i + 1,
            expected: first,
            found: parts[i].algorithm,
        }),
        None => Ok(first),
    }
}

/// The full-object checksum: the CRC of the parts' data concatenated in order, computed from
/// the part CRCs and lengths alone (no data is read). Covers `sum(len)` bytes.
///
/// Refused for SHA-256 ([`ChecksumError::NotCombinable`]), for an empty list and for parts
/// with different algorithms. Each merge is one carry-less multiplication modulo the CRC
/// polynomial by `x^(8·len)`, which is computed once per distinct part length (uploads have
/// at most two: the part size and the last part), so 10,000 parts merge in about 2 ms.
pub fn combine(parts: &[PartChecksum]) -> Result<PartChecksum, ChecksumError> {
    let algorithm = common_algorithm(parts)?;
    let Some(poly) = CrcPoly::of(algorithm) else {
        return Err(ChecksumError::NotCombinable { algorithm });
    };
    let (mut crc, mut len) = (0u64, 0u64);
    // (length, x^(8·length) mod P) of the last part merged.
    let mut shift: Option<(u64, u64)> = None;
    for (i, part) in parts.iter().enumerate() {
        let Value::Crc(part_crc) = part.value else {
            return Err(ChecksumError::NotCombinable { algorithm });
        };
        crc = if i == 0 {
            part_crc
        } else {
            let op = match shift {
                Some((shift_len, op)) if shift_len == part.len => op,
                _ => {
                    let op = poly.x_pow_8n(part.len);
                    shift = Some((part.len, op));
                    op
                }
            };
            poly.multiply(op, crc) ^ part_crc
        };
        // 2^64 bytes cannot be stored anywhere; saturate rather than panic.
        len = len.saturating_add(part.len);
    }
    Ok(PartChecksum {
        algorithm,
        value: Value::Crc(crc),
        len,
    })
}

/// A reflected CRC polynomial and the powers `x^(2^k) mod P`, for combining CRCs.
///
/// The method is zlib's `crc32_combine` (Mark Adler, zlib 1.2.12), generalised to 64-bit
/// CRCs: for CRCs whose initial value equals their final XOR (all three here: all ones),
/// `crc(A ‖ B) = crc(A) · x^(8·|B|) ⊕ crc(B)` in GF(2)[x] / P. Values are bit-reflected, as
/// the CRCs are: the top bit of the `width`-bit word is `x^0`.
struct CrcPoly {
    /// The reflected polynomial, without its `x^width` term.
    reflected: u64,
    /// The CRC's width in bits (32 or 64).
    width: u32,
    /// `x^(2^k) mod P` for k = 0..67 (lengths up to 2^64 bytes are 2^67 bits).
    powers: [u64; 67],
}

impl CrcPoly {
    const CRC32: Self = Self::new(0xEDB8_8320, 32);
    const CRC32C: Self = Self::new(0x82F6_3B78, 32);
    const CRC64_NVME: Self = Self::new(0x9A6C_9329_AC4B_C9B5, 64);

    /// The polynomial for a CRC algorithm; `None` for SHA-256.
    fn of(algorithm: ChecksumAlgorithm) -> Option<&'static Self> {
        match algorithm {
            ChecksumAlgorithm::Crc64Nvme => Some(&Self::CRC64_NVME),
            ChecksumAlgorithm::Crc32 => Some(&Self::CRC32),
            ChecksumAlgorithm::Crc32c => Some(&Self::CRC32C),
            ChecksumAlgorithm::Sha256 => None,
        }
    }

    /// Builds the table of `x^(2^k) mod P` at compile time.
    const fn new(reflected: u64, width: u32) -> Self {
        let mut poly = Self {
            reflected,
            width,
            powers: [0; 67],
        };
        // x^1 is the bit just below x^0's.
        let mut power = 1u64 << (width - 2);
        let mut k = 0;
        while k < poly.powers.len() {
            poly.powers[k] = power;
            power = poly.multiply(power, power);
            k += 1;
        }
        poly
    }

    /// `a · b mod P`, both reflected.
    const fn multiply(&self, a: u64, mut b: u64) -> u64 {
        let mut product = 0;
        let mut bit = 1u64 << (self.width - 1); // x^0
        while bit != 0 {
            if a & bit != 0 {
                product ^= b;
            }
            // b · x mod P
            b = if b & 1 != 0 {
                (b >> 1) ^ self.reflected
            } else {
                b >> 1
            };
            bit >>= 1;
        }
        product
    }

    /// `x^(8·n) mod P`: the operator that appends `n` zero bytes.
    fn x_pow_8n(&self, mut n: u64) -> u64 {
        let mut result = 1u64 << (self.width - 1); // x^0
        let mut k = 3; // 8·n = n · 2^3
        while n != 0 {
            if n & 1 != 0 {
                result = self.multiply(self.powers[k], result);
            }
            n >>= 1;
            k += 1;
        }
        result
    }
}

/// S3's composite checksum of a multipart upload: the checksum of the parts' raw (big-endian)
/// checksums concatenated in part order, base64-encoded, followed by `-N` for `N` parts —
/// what S3 reports for a `COMPOSITE` upload.
///
/// Refused for CRC-64/NVME (S3 allows it only as a full-object checksum), for an empty list
/// and for parts with different algorithms.
pub fn composite(parts: &[PartChecksum]) -> Result<String, ChecksumError> {
    let algorithm = common_algorithm(parts)?;
    if !algorithm.supports_composite() {
        return Err(ChecksumError::NoComposite { algorithm });
    }
    let mut hasher = Hasher::new(algorithm);
    let mut buf = [0u8; 32];
    for part in parts {
        hasher.update(part.raw(&mut buf));
    }
    Ok(format!("{}-{}", hasher.finish().base64(), parts.len()))
}

/// The checksum of `data`, hashed as `part_size` pieces on rayon's pool and combined — the
/// pattern the uploader uses for its parts. Equals [`checksum_of`]`(algorithm, data)`.
///
/// SHA-256 cannot be combined, so it is hashed in one pass on the calling thread. A
/// `part_size` of 0 means one piece.
pub fn parallel_checksum(
    algorithm: ChecksumAlgorithm,
    data: &[u8],
    part_size: usize,
) -> PartChecksum {
    if !algorithm.supports_full_object() || part_size == 0 || data.len() <= part_size {
        return checksum_of(algorithm, data);
    }
    let parts: Vec<PartChecksum> = data
        .par_chunks(part_size)
        .map(|chunk| checksum_of(algorithm, chunk))
        .collect();
    match combine(&parts) {
        Ok(whole) => whole,
        // Unreachable: the parts are non-empty, share one algorithm and that algorithm is a
        // CRC. Hash in one pass rather than panic.
        Err(_) => checksum_of(algorithm, data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRCS: [ChecksumAlgorithm; 3] = [
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
    ];

    /// Deterministic pseudo-random bytes (xorshift64*), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    fn crc(algorithm: ChecksumAlgorithm, data: &[u8]) -> u64 {
        checksum_of(algorithm, data).crc().unwrap()
    }

    #[test]
    fn known_check_values_match_the_crc_catalogue() {
        let check = b"123456789";
        assert_eq!(
            crc(ChecksumAlgorithm::Crc64Nvme, check),
            0xAE8B_1486_0A79_9888
        );
        assert_eq!(crc(ChecksumAlgorithm::Crc32, check), 0xCBF4_3926);
        assert_eq!(crc(ChecksumAlgorithm::Crc32c, check), 0xE306_9283);
    }

    #[test]
    fn known_vectors_from_aws_libraries_match() {
        // aws-crt (Swift) checksum tests.
        assert_eq!(crc(ChecksumAlgorithm::Crc32, b"Hello"), 4_157_704_578);
        assert_eq!(crc(ChecksumAlgorithm::Crc32c, b"Hello"), 2_178_485_787);
        assert_eq!(
            crc(ChecksumAlgorithm::Crc64Nvme, &[0u8; 32]),
            0xCF34_7343_4D4E_CF3B
        );
        let counting: Vec<u8> = (0..32).collect();
        assert_eq!(
            crc(ChecksumAlgorithm::Crc64Nvme, &counting),
            0xB9D9_D4A8_492C_BD7F
        );
        // aws-c-s3 checksum tests.
        assert_eq!(
            crc(ChecksumAlgorithm::Crc64Nvme, b"aaaaaaaaaa"),
            0x0C1A_8003_6D65_C555
        );
        // aws-wasm-checksums tests: the base64 form sent in x-amz-checksum-crc64nvme.
        assert_eq!(
            checksum_of(ChecksumAlgorithm::Crc64Nvme, b"Hello, World!").base64(),
            "1Km+Qyat0k0="
        );
        assert_eq!(
            checksum_of(ChecksumAlgorithm::Crc64Nvme, b"").base64(),
            "AAAAAAAAAAA="
        );
    }

    #[test]
    fn base64_encodes_the_big_endian_bytes_s3_expects() {
        let check = b"123456789";
        let crc32 = checksum_of(ChecksumAlgorithm::Crc32, check);
        assert_eq!(crc32.to_bytes(), [0xCB, 0xF4, 0x39, 0x26]);
        assert_eq!(crc32.base64(), "y/Q5Jg==");
        let crc32c = checksum_of(ChecksumAlgorithm::Crc32c, check);
        assert_eq!(crc32c.base64(), BASE64.encode([0xE3, 0x06, 0x92, 0x83]));
        let crc64 = checksum_of(ChecksumAlgorithm::Crc64Nvme, check);
        assert_eq!(crc64.base64(), "rosUhgp5mIg=");
        assert_eq!(crc64.to_string(), "CRC64NVME:rosUhgp5mIg=");
        // SHA-256 of the empty string, base64 as in S3's examples.
        let sha = checksum_of(ChecksumAlgorithm::Sha256, b"");
        assert_eq!(sha.base64(), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(sha.crc(), None);
    }

    #[test]
    fn from_base64_round_trips_and_rejects_wrong_lengths() {
        for algorithm in ChecksumAlgorithm::ALL {
            let original = checksum_of(algorithm, b"some part data");
            let read = PartChecksum::from_base64(algorithm, &original.base64(), 14).unwrap();
            assert_eq!(read, original, "{algorithm}");
        }
        // A CRC-32 value read as CRC-64/NVME: wrong length.
        let err =
            PartChecksum::from_base64(ChecksumAlgorithm::Crc64Nvme, "y/Q5Jg==", 9).unwrap_err();
        assert!(err.to_string().contains("expected 8 bytes"), "{err}");
        let err =
            PartChecksum::from_base64(ChecksumAlgorithm::Crc32, "not base64!", 9).unwrap_err();
        assert!(matches!(err, ChecksumError::InvalidValue { .. }));
    }

    #[test]
    fn streaming_updates_equal_one_shot() {
        let mut rng = Rng(7);
        let data = rng.bytes(100_000);
        for algorithm in ChecksumAlgorithm::ALL {
            let mut hasher = Hasher::new(algorithm);
            let mut rest = &data[..];
            while !rest.is_empty() {
                let n = rng.below(5000).min(rest.len());
                hasher.update(&rest[..n]);
                rest = &rest[n..];
            }
            assert_eq!(
                hasher.finish(),
                checksum_of(algorithm, &data),
                "{algorithm}"
            );
        }
    }

    #[test]
    fn combine_equals_checksum_of_concatenation_for_random_splits() {
        let mut rng = Rng(0x5EED);
        for &total in &[0usize, 1, 2, 7, 64, 255, 1000, 4096, 65_537, 300_000] {
            let data = rng.bytes(total);
            for round in 0..8 {
                // Random cut points, with duplicates (0-length parts) and ends allowed.
                let cuts = rng.below(12);
                let mut points: Vec<usize> = (0..cuts).map(|_| rng.below(total + 1)).collect();
                if round == 0 {
                    points.extend([0, 0, total, total]); // empty parts at both ends
                }
                points.push(0);
                points.push(total);
                points.sort_unstable();
                for algorithm in CRCS {
                    let parts: Vec<PartChecksum> = points
                        .windows(2)
                        .map(|w| checksum_of(algorithm, &data[w[0]..w[1]]))
                        .collect();
                    let combined = combine(&parts).unwrap();
                    let whole = checksum_of(algorithm, &data);
                    assert_eq!(
                        combined, whole,
                        "{algorithm}, {total} bytes cut at {points:?}"
                    );
                    assert_eq!(combined.data_len(), total as u64);
                }
            }
        }
    }

    #[test]
    fn combine_handles_single_byte_parts_and_one_part() {
        let data = b"The quick brown fox jumps over the lazy dog";
        for algorithm in CRCS {
            let bytes: Vec<PartChecksum> =
                data.iter().map(|b| checksum_of(algorithm, &[*b])).collect();
            assert_eq!(
                combine(&bytes).unwrap(),
                checksum_of(algorithm, data),
                "{algorithm}"
            );
            let one = checksum_of(algorithm, data);
            assert_eq!(combine(&[one]).unwrap(), one);
        }
    }

    #[test]
    fn combine_works_from_values_read_back_from_s3() {
        // A resumed upload has only the base64 part checksums S3 returned and the part sizes.
        let mut rng = Rng(42);
        let data = rng.bytes(50_000);
        for algorithm in CRCS {
            let parts: Vec<PartChecksum> = data
                .chunks(12_345)
                .map(|chunk| {
                    let b64 = checksum_of(algorithm, chunk).base64();
                    PartChecksum::from_base64(algorithm, &b64, chunk.len() as u64).unwrap()
                })
                .collect();
            assert_eq!(
                combine(&parts).unwrap().base64(),
                checksum_of(algorithm, &data).base64()
            );
        }
    }

    #[test]
    fn combine_agrees_with_crc_fast_for_any_length() {
        // Lengths far beyond what can be hashed in a test: 5 GiB parts, 48.8 TiB objects,
        // and the extremes of u64.
        let mut rng = Rng(11);
        let mut lengths = vec![
            0u64,
            1,
            2,
            3,
            8,
            1 << 20,
            5 << 30,
            10_000 * (5 << 30),
            u64::MAX,
        ];
        lengths.extend((0..200).map(|_| rng.next() >> rng.below(64)));
        for (algorithm, crc_algorithm) in [
            (
                ChecksumAlgorithm::Crc64Nvme,
                crc_fast::CrcAlgorithm::Crc64Nvme,
            ),
            (
                ChecksumAlgorithm::Crc32,
                crc_fast::CrcAlgorithm::Crc32IsoHdlc,
            ),
            (
                ChecksumAlgorithm::Crc32c,
                crc_fast::CrcAlgorithm::Crc32Iscsi,
            ),
        ] {
            let mask = u64::MAX >> (64 - 8 * algorithm.digest_len());
            for &len in &lengths {
                let (a, b) = (rng.next() & mask, rng.next() & mask);
                let first = PartChecksum {
                    algorithm,
                    value: Value::Crc(a),
                    len: 0,
                };
                let second = PartChecksum {
                    algorithm,
                    value: Value::Crc(b),
                    len,
                };
                let ours = combine(&[first, second]).unwrap().crc().unwrap();
                let theirs = crc_fast::checksum_combine(crc_algorithm, a, b, len);
                assert_eq!(ours, theirs, "{algorithm}, len {len}");
            }
        }
    }

    #[test]
    fn combine_many_equal_parts_is_fast_and_correct() {
        // 10,000 parts (S3's maximum) of 4 KiB stand in for 10,000 × 5 GiB: the cost of a
        // merge grows with log(len) only.
        let mut rng = Rng(3);
        let data = rng.bytes(10_000 * 4096);
        let parts: Vec<PartChecksum> = data
            .chunks(4096)
            .map(|c| checksum_of(ChecksumAlgorithm::Crc64Nvme, c))
            .collect();
        let start = std::time::Instant::now();
        let combined = combine(&parts).unwrap();
        let elapsed = start.elapsed();
        assert_eq!(combined, checksum_of(ChecksumAlgorithm::Crc64Nvme, &data));
        // Large parts: 10,000 merges of 5 GiB each (lengths only matter, not data).
        let huge: Vec<PartChecksum> = parts
            .iter()
            .map(|p| PartChecksum { len: 5 << 30, ..*p })
            .collect();
        let start_huge = std::time::Instant::now();
        combine(&huge).unwrap();
        let elapsed_huge = start_huge.elapsed();
        eprintln!("combine 10,000 parts: 4 KiB {elapsed:?}, 5 GiB {elapsed_huge:?}");
        // Generous for debug builds; in release it takes about 2 ms.
        assert!(
            elapsed < std::time::Duration::from_millis(500),
            "{elapsed:?}"
        );
        assert!(
            elapsed_huge < std::time::Duration::from_millis(500),
            "{elapsed_huge:?}"
        );
    }

    #[test]
    fn parallel_checksum_equals_one_shot_for_several_part_sizes() {
        let mut rng = Rng(99);
        let data = rng.bytes(1 << 20 | 12_345);
        for algorithm in ChecksumAlgorithm::ALL {
            let whole = checksum_of(algorithm, &data);
            for part_size in [0usize, 1 << 10, 4096 + 1, 64 << 10, 1 << 20, 8 << 20] {
                assert_eq!(
                    parallel_checksum(algorithm, &data, part_size),
                    whole,
                    "{algorithm}, part size {part_size}"
                );
            }
            assert_eq!(
                parallel_checksum(algorithm, &[], 1024),
                checksum_of(algorithm, &[])
            );
        }
    }

    #[test]
    fn sha256_combine_is_refused_with_a_clear_error() {
        let parts = [
            checksum_of(ChecksumAlgorithm::Sha256, b"a"),
            checksum_of(ChecksumAlgorithm::Sha256, b"b"),
        ];
        let err = combine(&parts).unwrap_err();
        assert_eq!(
            err,
            ChecksumError::NotCombinable {
                algorithm: ChecksumAlgorithm::Sha256
            }
        );
        let message = err.to_string();
        assert!(message.contains("cannot be combined"), "{message}");
        assert!(message.contains("crc64nvme"), "{message}");
    }

    #[test]
    fn combine_and_composite_refuse_empty_and_mixed_parts() {
        assert_eq!(combine(&[]).unwrap_err(), ChecksumError::NoParts);
        assert_eq!(composite(&[]).unwrap_err(), ChecksumError::NoParts);
        let mixed = [
            checksum_of(ChecksumAlgorithm::Crc32, b"a"),
            checksum_of(ChecksumAlgorithm::Crc32, b"b"),
            checksum_of(ChecksumAlgorithm::Crc32c, b"c"),
        ];
        let err = combine(&mixed).unwrap_err();
        assert_eq!(
            err,
            ChecksumError::MixedAlgorithms {
                index: 3,
                expected: ChecksumAlgorithm::Crc32,
                found: ChecksumAlgorithm::Crc32c
            }
        );
        assert!(
            err.to_string().contains("part 3 has a CRC32C checksum"),
            "{err}"
        );
        assert!(composite(&mixed).is_err());
    }

    #[test]
    fn composite_is_checksum_of_part_checksums_with_part_count() {
        // CRC-32 of the 4-byte big-endian part CRCs, base64, "-2".
        let parts = [
            checksum_of(ChecksumAlgorithm::Crc32, b"1234"),
            checksum_of(ChecksumAlgorithm::Crc32, b"56789"),
        ];
        let mut joined = parts[0].to_bytes();
        joined.extend(parts[1].to_bytes());
        let expected = format!(
            "{}-2",
            checksum_of(ChecksumAlgorithm::Crc32, &joined).base64()
        );
        assert_eq!(composite(&parts).unwrap(), expected);
        // It is not the full-object value.
        assert_ne!(
            combine(&parts).unwrap().base64(),
            composite(&parts).unwrap()
        );

        // SHA-256: sha256(sha256(a) ‖ sha256(b) ‖ sha256(c)), 44 base64 characters, "-3".
        let sha_parts: Vec<PartChecksum> = [&b"a"[..], b"b", b"c"]
            .iter()
            .map(|d| checksum_of(ChecksumAlgorithm::Sha256, d))
            .collect();
        let joined: Vec<u8> = sha_parts.iter().flat_map(|p| p.to_bytes()).collect();
        let sha = composite(&sha_parts).unwrap();
        let (b64, count) = sha.rsplit_once('-').unwrap();
        assert_eq!(count, "3");
        assert_eq!(b64.len(), 44);
        assert_eq!(
            b64,
            checksum_of(ChecksumAlgorithm::Sha256, &joined).base64()
        );
    }

    #[test]
    fn composite_crc64nvme_is_refused() {
        let parts = [checksum_of(ChecksumAlgorithm::Crc64Nvme, b"x")];
        let err = composite(&parts).unwrap_err();
        assert!(err.to_string().contains("full-object only"), "{err}");
    }

    #[test]
    fn parse_accepts_names_case_insensitively_and_lists_valid_values() {
        assert_eq!(
            ChecksumAlgorithm::parse("crc64nvme").unwrap(),
            Some(ChecksumAlgorithm::Crc64Nvme)
        );
        assert_eq!(
            ChecksumAlgorithm::parse("CRC64NVME").unwrap(),
            Some(ChecksumAlgorithm::Crc64Nvme)
        );
        assert_eq!(
            ChecksumAlgorithm::parse("CRC-64-NVME").unwrap(),
            Some(ChecksumAlgorithm::Crc64Nvme)
        );
        assert_eq!(
            ChecksumAlgorithm::parse("Crc32").unwrap(),
            Some(ChecksumAlgorithm::Crc32)
        );
        assert_eq!(
            ChecksumAlgorithm::parse("crc32C").unwrap(),
            Some(ChecksumAlgorithm::Crc32c)
        );
        assert_eq!(
            ChecksumAlgorithm::parse("SHA256").unwrap(),
            Some(ChecksumAlgorithm::Sha256)
        );
        assert_eq!(ChecksumAlgorithm::parse("None").unwrap(), None);
        for algorithm in ChecksumAlgorithm::ALL {
            assert_eq!(
                ChecksumAlgorithm::parse(algorithm.s3_name()).unwrap(),
                Some(algorithm)
            );
        }
        let err = ChecksumAlgorithm::parse("md5").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`md5`"), "{message}");
        for valid in ["crc64nvme", "crc32", "crc32c", "sha256", "none"] {
            assert!(message.contains(valid), "{message}");
        }
    }

    #[test]
    fn names_match_s3() {
        assert_eq!(ChecksumAlgorithm::default(), ChecksumAlgorithm::Crc64Nvme);
        let names: Vec<_> = ChecksumAlgorithm::ALL
            .iter()
            .map(|a| {
                (
                    a.s3_name(),
                    a.header_name(),
                    a.supports_full_object(),
                    a.supports_composite(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("CRC64NVME", "x-amz-checksum-crc64nvme", true, false),
                ("CRC32", "x-amz-checksum-crc32", true, true),
                ("CRC32C", "x-amz-checksum-crc32c", true, true),
                ("SHA256", "x-amz-checksum-sha256", false, true),
            ]
        );
        assert_eq!(
            ChecksumAlgorithm::Sha256.preferred_type().s3_name(),
            "COMPOSITE"
        );
        assert_eq!(
            ChecksumAlgorithm::Crc32c.preferred_type(),
            ChecksumType::FullObject
        );
        assert_eq!(ChecksumType::FullObject.to_string(), "FULL_OBJECT");
    }
}
