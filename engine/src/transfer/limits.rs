//! S3's size limits, in one place (other stores differ: pass other limits).

/// One MiB.
pub const MIB: u64 = 1024 * 1024;
/// One GiB.
pub const GIB: u64 = 1024 * MIB;

/// The limits a store puts on parts and objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The smallest part (all but the last).
    pub min_part_size: u64,
    /// The largest part.
    pub max_part_size: u64,
    /// The most parts in one upload.
    pub max_parts: u64,
    /// The largest object one PutObject may write.
    pub max_single_put: u64,
    /// The largest object.
    pub max_object_size: u64,
}

impl Limits {
    /// Amazon S3's: parts 5 MiB to 5 GiB, 10,000 parts, PutObject up to 5 GiB, objects up to
    /// 10,000 × 5 GiB (48.8 TiB, since December 2025).
    pub const AWS: Self = Self {
        min_part_size: 5 * MIB,
        max_part_size: 5 * GIB,
        max_parts: 10_000,
        max_single_put: 5 * GIB,
        max_object_size: 10_000 * 5 * GIB,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::AWS
    }
}
