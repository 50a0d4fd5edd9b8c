//! How an object is split: one request, or parts of a size that keeps within the limits.

use super::limits::Limits;
use std::ops::Range;

/// Why an object cannot be transferred as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Larger than the store accepts.
    #[error("{size} bytes is larger than the largest object the store accepts ({max} bytes)")]
    TooLarge {
        /// The object's size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The part size asked for is outside the limits.
    #[error(
        "a part size of {asked} bytes is outside {min}..={max}; pick a part size within that range"
    )]
    PartSize {
        /// What was asked.
        asked: u64,
        /// The smallest part.
        min: u64,
        /// The largest part.
        max: u64,
    },
}

/// The parts of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    /// The object's size.
    pub size: u64,
    /// Every part's size but the last's.
    pub part_size: u64,
    /// How many parts (at least 1, even for an empty object).
    pub parts: u64,
}

impl PartPlan {
    /// Plans `size` bytes in parts of `preferred` bytes, grown (in whole MiB) so that no more
    /// than `limits.max_parts` are needed.
    pub fn new(size: u64, preferred: u64, limits: &Limits) -> Result<Self, PlanError> {
        if preferred < limits.min_part_size || preferred > limits.max_part_size {
            return Err(PlanError::PartSize {
                asked: preferred,
                min: limits.min_part_size,
                max: limits.max_part_size,
            });
        }
        if size > limits.max_object_size {
            return Err(PlanError::TooLarge {
                size,
                max: limits.max_object_size,
            });
        }
        let needed = size.div_ceil(limits.max_parts);
        let mib = super::limits::MIB;
        // Grown only where the preferred size would need too many parts (a store whose
        // smallest part is under 1 MiB keeps its small parts).
        let part_size = if needed > preferred {
            (needed.div_ceil(mib) * mib).min(limits.max_part_size)
        } else {
            preferred
        };
        let parts = size.div_ceil(part_size).max(1);
        Ok(Self {
            size,
            part_size,
            parts,
        })
    }

    /// The byte range of part `index` (0-based).
    pub fn range(&self, index: u64) -> Range<u64> {
        let start = index * self.part_size;
        start..(start + self.part_size).min(self.size)
    }

    /// All parts' ranges, in order.
    pub fn ranges(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        (0..self.parts).map(|i| self.range(i))
    }
}

#[cfg(test)]
mod tests {
    use super::super::limits::{GIB, MIB};
    use super::*;

    #[test]
    fn parts_cover_the_object_exactly_with_a_shorter_last_part() {
        let plan = PartPlan::new(20 * MIB + 1, 8 * MIB, &Limits::AWS).unwrap();
        assert_eq!(plan.parts, 3);
        let ranges: Vec<_> = plan.ranges().collect();
        assert_eq!(
            ranges,
            vec![0..8 * MIB, 8 * MIB..16 * MIB, 16 * MIB..20 * MIB + 1]
        );
    }

    #[test]
    fn an_empty_object_is_one_empty_part() {
        let plan = PartPlan::new(0, 8 * MIB, &Limits::AWS).unwrap();
        assert_eq!((plan.parts, plan.range(0)), (1, 0..0));
    }

    #[test]
    fn part_size_grows_so_no_object_needs_more_than_ten_thousand_parts() {
        for size in [80_000 * MIB, 1024 * GIB, Limits::AWS.max_object_size] {
            let plan = PartPlan::new(size, 8 * MIB, &Limits::AWS).unwrap();
            assert!(plan.parts <= 10_000, "{size}: {plan:?}");
            assert!(plan.part_size <= 5 * GIB);
            assert_eq!(plan.part_size % MIB, 0);
        }
    }

    #[test]
    fn out_of_range_part_sizes_and_objects_are_refused() {
        assert!(matches!(
            PartPlan::new(1, MIB, &Limits::AWS),
            Err(PlanError::PartSize { .. })
        ));
        let too_big = Limits::AWS.max_object_size + 1;
        assert!(matches!(
            PartPlan::new(too_big, 8 * MIB, &Limits::AWS),
            Err(PlanError::TooLarge { .. })
        ));
    }
}
