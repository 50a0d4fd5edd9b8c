//! Part checksum throughput: CRC-64/NVME (the default), CRC-32C, CRC-32 and SHA-256 over one
//! 8 MiB part (the default part size), as the uploader computes them; the rayon-parallel
//! whole-buffer checksum; and the CRC combine that turns 10,000 part CRCs into the full-object
//! checksum without reading the data.
//!
//! Run with `cargo bench -p ferry-benches --bench checksum`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferry::checksum::{ChecksumAlgorithm, checksum_of, combine, parallel_checksum};
use std::hint::black_box;

const PART: usize = 8 * 1024 * 1024;

/// Pseudo-random bytes (xorshift64), so no algorithm sees a degenerate input.
fn data(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = vec![0u8; len];
    for chunk in out.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    out
}

fn part_checksums(c: &mut Criterion) {
    let part = data(PART);
    let mut group = c.benchmark_group("checksum/8MiB_part");
    group.throughput(Throughput::Bytes(PART as u64));
    for algorithm in ChecksumAlgorithm::ALL {
        group.bench_with_input(
            BenchmarkId::from_parameter(algorithm.s3_name()),
            &part,
            |b, part| b.iter(|| checksum_of(algorithm, black_box(part))),
        );
    }
    group.finish();

    // 64 MiB hashed as 8 MiB pieces on rayon's pool and combined, as the uploader does.
    let whole = data(8 * PART);
    let mut group = c.benchmark_group("checksum/64MiB_parallel");
    group.throughput(Throughput::Bytes(whole.len() as u64));
    group.sample_size(20);
    for algorithm in [ChecksumAlgorithm::Crc64Nvme, ChecksumAlgorithm::Crc32c] {
        group.bench_with_input(
            BenchmarkId::from_parameter(algorithm.s3_name()),
            &whole,
            |b, whole| b.iter(|| parallel_checksum(algorithm, black_box(whole), PART)),
        );
    }
    group.finish();
}

fn crc_combine(c: &mut Criterion) {
    // 10,000 parts (S3's most) of 8 MiB, and a shorter last one: 78 GiB of object data whose
    // full-object CRC comes from the part CRCs alone.
    let part = data(PART);
    let tail = &part[..PART / 3];
    let mut group = c.benchmark_group("checksum/combine_10000_parts");
    // Counted in parts merged: the data is never read, so bytes per second would mislead.
    group.throughput(Throughput::Elements(10_000));
    for algorithm in [
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc32,
    ] {
        let full = checksum_of(algorithm, &part);
        let mut parts = vec![full; 9_999];
        parts.push(checksum_of(algorithm, tail));
        group.bench_with_input(
            BenchmarkId::from_parameter(algorithm.s3_name()),
            &parts,
            |b, parts| b.iter(|| combine(black_box(parts)).expect("combines")),
        );
    }
    group.finish();
}

criterion_group!(benches, part_checksums, crc_combine);
criterion_main!(benches);
