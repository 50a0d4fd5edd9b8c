//! Part planning: how long `PartPlan::new` takes to split an object, and walking all its part
//! ranges, for sizes from 1 KiB to 1 TiB (100 GiB and 1 TiB grow the part size past 8 MiB to
//! stay within 10,000 parts). Reported per plan and, for the walk, in parts per second.
//!
//! Run with `cargo bench -p ferry-benches --bench plan`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferry::transfer::limits::{GIB, Limits, MIB};
use ferry::transfer::plan::PartPlan;
use std::hint::black_box;

const KIB: u64 = 1024;
const TIB: u64 = 1024 * GIB;
/// ferry's default part size.
const PART: u64 = 8 * MIB;

const SIZES: [(&str, u64); 6] = [
    ("1KiB", KIB),
    ("8MiB", PART),
    ("100MiB", 100 * MIB),
    ("1GiB", GIB),
    ("100GiB", 100 * GIB),
    ("1TiB", TIB),
];

fn plan(c: &mut Criterion) {
    let limits = Limits::AWS;
    // Planning is O(1): bytes per second of object planned would be a meaningless number.
    let mut group = c.benchmark_group("plan/new");
    for (name, size) in SIZES {
        group.bench_with_input(BenchmarkId::from_parameter(name), &size, |b, &size| {
            b.iter(|| PartPlan::new(black_box(size), black_box(PART), &limits).expect("plans"))
        });
    }
    group.finish();

    // Counted in parts: walking the ranges is O(parts).
    let mut group = c.benchmark_group("plan/new_and_all_ranges");
    for (name, size) in SIZES {
        let parts = PartPlan::new(size, PART, &limits).expect("plans").parts;
        group.throughput(Throughput::Elements(parts));
        group.bench_with_input(BenchmarkId::from_parameter(name), &size, |b, &size| {
            b.iter(|| {
                let plan = PartPlan::new(black_box(size), PART, &limits).expect("plans");
                plan.ranges().fold(0u64, |acc, r| acc ^ r.start ^ r.end)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, plan);
criterion_main!(benches);
