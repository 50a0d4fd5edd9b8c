//! A download's first range, asked for together with its HeadObject.
//!
//! A download needs the object's size, ETag and checksum (a HEAD) before it can plan its
//! ranges, so the first bytes used to arrive two answers after the start: where each answer
//! takes 30 ms, half the time of a small object's download was the HEAD's. The first range
//! is now sent at the same moment, without `If-Match` (no ETag is known yet); its answer is
//! used only when it is of the object the HEAD describes (the same ETag, size and range),
//! else it is dropped and the range is asked for again. A small object then takes one round
//! trip instead of two; a large one starts moving bytes one round trip sooner.
//!
//! The early GET asks for the first [`FIRST_RANGE_PARTS`] parts. In the round trip before
//! the other ranges' first bytes it is the only one moving, so the more it carries the less
//! is left for after; and an object of up to two parts comes whole in one GET. Two parts
//! make it the size of the pairs the next round is made of ([`super::one_round`]), so it
//! finishes with them where each connection has its own pace (S3 serves one request at
//! about 90 MB/s), a round trip ahead. A 256 MiB download behind 60 ms (median of 7, by
//! turns) took 0.42 s with a first range of one part (17 GETs), 0.40 s with two (16 GETs);
//! see docs/benchmarks.md.

use super::{Permit, Transfers};
use crate::s3::GetObjectOutput;
use std::ops::Range;
use tokio::task::JoinSet;

/// The parts the GET sent with the HEAD asks for.
pub(super) const FIRST_RANGE_PARTS: u64 = 2;

/// The first range's GET, in flight on its own task (dropped: aborted).
pub(super) struct FirstRange {
    task: JoinSet<(Permit, Result<GetObjectOutput, crate::s3::Error>)>,
}

impl Transfers {
    /// Sends the GET of the first [`FIRST_RANGE_PARTS`] parts of `bucket`/`key` (bytes
    /// `0..2 × part size`), in a range slot of its own.
    /// `None` when an earlier run's journal is there to resume from: its first range is
    /// likely on file already.
    pub(super) fn send_first_range(
        &self,
        bucket: &str,
        key: &str,
        journal: &std::path::Path,
    ) -> Option<FirstRange> {
        if journal.exists() || self.config.part_size == 0 {
            return None;
        }
        let last = FIRST_RANGE_PARTS.saturating_mul(self.config.part_size) - 1;
        let (this, bucket, key) = (self.clone(), bucket.to_owned(), key.to_owned());
        let mut task = JoinSet::new();
        task.spawn(async move {
            let permit = this.permit(super::download::range_memory(last + 1)).await;
            let output = this
                .client
                .get_object(&bucket, &key, Some((0, last)), None)
                .await;
            (permit, output)
        });
        Some(FirstRange { task })
    }
}

impl FirstRange {
    /// The answer, when it holds exactly `range` of the object of `size` bytes and `etag`
    /// (else it is dropped), with the range slot it was sent in (`None` if it never got
    /// one).
    pub(super) async fn answer(
        mut self,
        range: &Range<u64>,
        size: u64,
        etag: Option<&str>,
    ) -> (Option<Permit>, Option<GetObjectOutput>) {
        match self.task.join_next().await {
            Some(Ok((permit, Ok(output)))) => {
                let same = output.range == Some((range.start, range.end - 1, size))
                    && output.info.etag.as_deref() == etag;
                if !same {
                    tracing::debug!(
                        range = ?output.range,
                        etag = ?output.info.etag,
                        "the first range's early answer is of another object or range; asked again"
                    );
                }
                (Some(permit), same.then_some(output))
            }
            Some(Ok((permit, Err(error)))) => {
                tracing::debug!(%error, "the first range's early GET failed; asked again");
                (Some(permit), None)
            }
            Some(Err(join)) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Some(Err(_)) | None => (None, None),
        }
    }
}
