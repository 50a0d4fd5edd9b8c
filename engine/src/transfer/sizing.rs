//! Self-sizing from a target throughput: how many requests to keep in flight, and how much
//! part data may be in flight with them, to move `--target-gbps` gigabits a second.
//!
//! The rule is aws-c-s3's: one connection per 0.4 Gbps (S3 serves a single request at about
//! 85–90 MB/s, 0.7 Gbps, so 0.4 leaves room for slow ones), clamped to a sane range. Each
//! request in flight holds up to one part, so the memory budget grows with it.

use super::limits::MIB;

/// Gigabits a second one request in flight is counted on for.
pub const GBPS_PER_REQUEST: f64 = 0.4;
/// The fewest requests a target is sized to.
pub const MIN_REQUESTS: usize = 4;
/// The most requests a target is sized to.
pub const MAX_REQUESTS: usize = 10_000;
/// The memory budget is never sized below this.
pub const MIN_MEMORY_BUDGET: u64 = 64 * MIB;

/// What a target throughput asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    /// Requests in flight.
    pub concurrency: usize,
    /// Bytes of part data in flight.
    pub memory_budget: u64,
}

/// The sizing for `target_gbps` with parts of `part_size` bytes, or an error for a target
/// that is not a positive, finite number.
pub fn for_target(target_gbps: f64, part_size: u64) -> Result<Sizing, String> {
    if !(target_gbps.is_finite() && target_gbps > 0.0) {
        return Err(format!(
            "the target throughput must be a positive number of gigabits per second, not {target_gbps}"
        ));
    }
    let wanted = (target_gbps / GBPS_PER_REQUEST).ceil();
    let concurrency = if wanted >= MAX_REQUESTS as f64 {
        MAX_REQUESTS
    } else {
        (wanted as usize).max(MIN_REQUESTS)
    };
    let memory_budget = (concurrency as u64)
        .saturating_mul(part_size)
        .max(MIN_MEMORY_BUDGET);
    Ok(Sizing {
        concurrency,
        memory_budget,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_per_four_tenths_of_a_gigabit_within_bounds() {
        let part = 8 * MIB;
        let cases = [
            (0.1, 4),
            (1.0, 4),
            (2.0, 5),
            (10.0, 25),
            (25.0, 63),
            (100.0, 250),
            (1e9, MAX_REQUESTS),
        ];
        for (gbps, requests) in cases {
            assert_eq!(
                for_target(gbps, part).unwrap().concurrency,
                requests,
                "{gbps}"
            );
        }
    }

    #[test]
    fn the_memory_budget_holds_one_part_per_request_and_never_less_than_the_default() {
        assert_eq!(for_target(1.0, 8 * MIB).unwrap().memory_budget, 64 * MIB);
        assert_eq!(
            for_target(100.0, 8 * MIB).unwrap().memory_budget,
            250 * 8 * MIB
        );
    }

    #[test]
    fn nonsense_targets_are_refused() {
        for gbps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(for_target(gbps, 8 * MIB).is_err(), "{gbps}");
        }
    }
}
