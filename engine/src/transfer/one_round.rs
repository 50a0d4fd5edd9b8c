//! A download's ranges fetched in one round where two would be needed.
//!
//! Ranges in flight share the link, so ranges sent together finish together: a download of
//! 31 ranges with 16 in flight sends 16, waits for them all to finish at about the same
//! moment, then sends the other 15, whose first bytes come a whole round trip later. Where
//! each answer waits tens of milliseconds, nothing moves during that round trip: a 256 MiB
//! download behind 60 ms took 0.41 s in two rounds of 8 MiB ranges, and 0.38 s in one round
//! of 16 MiB ranges (docs/benchmarks.md).
//!
//! So where the ranges left to fetch are more than the slots for them but at most twice as
//! many, neighbours are paired into one GET until one round holds them all. The slots are
//! the ranges in flight, less one while the early GET sent with the HEAD ([`super::first_range`],
//! the `lead` ranges) still holds its own. Ranges are paired only with a neighbour that is
//! fetched too (not one kept from an earlier run, not one of the lead), and never more than
//! two to a GET, so a GET is at most twice the part size. Past two rounds nothing is paired:
//! the rounds then fall out of step (ranges of different objects, hedges, growth of the
//! limit) and a GET of many parts would hold one connection to one request's pace.

use std::ops::Range;

/// The GETs of a download of `parts` ranges, in order, each a run of range indices: the
/// first `lead` ranges (0: none) as the one GET already asked for with the HEAD, then the
/// others one or two at a time. `fixed(index)` is true for a range fetched on its own or
/// not at all (kept from an earlier run); `in_flight` is how many ranges may be in flight
/// at once.
pub(super) fn spans(
    parts: usize,
    in_flight: usize,
    lead: usize,
    fixed: impl Fn(usize) -> bool,
) -> Vec<Range<usize>> {
    let lead = lead.min(parts);
    let free = (lead..parts).filter(|&index| !fixed(index)).count();
    let slots = in_flight.saturating_sub(usize::from(lead > 0)).max(1);
    let mut pairs = if free > slots && free <= 2 * slots {
        free - slots
    } else {
        0
    };
    let mut spans = Vec::with_capacity(parts);
    if lead > 0 {
        spans.push(0..lead);
    }
    let mut index = lead;
    while index < parts {
        let paired = pairs > 0 && !fixed(index) && index + 1 < parts && !fixed(index + 1);
        let end = if paired { index + 2 } else { index + 1 };
        if paired {
            pairs -= 1;
        }
        spans.push(index..end);
        index = end;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths(spans: &[Range<usize>]) -> Vec<usize> {
        spans.iter().map(|s| s.end - s.start).collect()
    }

    #[test]
    fn ranges_that_fit_one_round_are_left_alone() {
        let spans = spans(16, 16, 0, |_| false);
        assert_eq!(spans.len(), 16);
        assert!(widths(&spans).iter().all(|&w| w == 1));
        // 14 after a lead of two fit the 15 slots the early GET leaves.
        let spans = super::spans(16, 16, 2, |_| false);
        assert_eq!(spans[0], 0..2);
        assert_eq!(widths(&spans[1..]), vec![1; 14]);
    }

    #[test]
    fn ranges_of_two_rounds_are_paired_into_one_round() {
        let spans = spans(24, 16, 0, |_| false);
        assert_eq!(spans.len(), 16, "{spans:?}");
        assert_eq!(widths(&spans).iter().filter(|&&w| w == 2).count(), 8);
        let covered: Vec<usize> = spans.iter().flat_map(|s| s.clone()).collect();
        assert_eq!(covered, (0..24).collect::<Vec<_>>());
    }

    #[test]
    fn a_lead_of_two_leaves_one_round_of_pairs_for_the_other_slots() {
        // 256 MiB in 8 MiB ranges, the first two asked for with the HEAD, 16 in flight: 30
        // left for the 15 slots the early GET leaves, so 15 pairs, 16 GETs in all.
        let spans = spans(32, 16, 2, |_| false);
        assert_eq!(spans[0], 0..2);
        assert_eq!(spans.len(), 16, "{spans:?}");
        assert!(widths(&spans).iter().all(|&w| w == 2));
        let covered: Vec<usize> = spans.iter().flat_map(|s| s.clone()).collect();
        assert_eq!(covered, (0..32).collect::<Vec<_>>());
    }

    #[test]
    fn a_lead_longer_than_the_object_is_the_whole_object() {
        assert_eq!(spans(1, 16, 2, |_| false), vec![0..1]);
        assert_eq!(spans(2, 16, 2, |_| false), vec![0..2]);
    }

    #[test]
    fn ranges_of_more_than_two_rounds_are_left_alone() {
        let spans = spans(128, 16, 2, |_| false);
        assert_eq!(spans[0], 0..2);
        assert_eq!(spans.len(), 127);
        assert!(widths(&spans[1..]).iter().all(|&w| w == 1));
    }

    #[test]
    fn a_range_kept_from_an_earlier_run_is_never_paired() {
        let kept = [3, 4, 9];
        let spans = spans(24, 8, 0, |index| kept.contains(&index));
        for span in &spans {
            if span.end - span.start == 2 {
                assert!(!kept.contains(&span.start) && !kept.contains(&(span.start + 1)));
            }
        }
        // 21 to fetch, 8 in flight: more than two rounds, nothing paired.
        assert_eq!(spans.len(), 24);
        let spans = super::spans(12, 8, 0, |index| kept.contains(&index));
        // 9 to fetch, 8 in flight: one pair.
        assert_eq!(
            widths(&spans).iter().filter(|&&w| w == 2).count(),
            1,
            "{spans:?}"
        );
        let covered: Vec<usize> = spans.iter().flat_map(|s| s.clone()).collect();
        assert_eq!(covered, (0..12).collect::<Vec<_>>());
    }
}
