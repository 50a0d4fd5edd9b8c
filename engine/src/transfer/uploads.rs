//! Multipart uploads left open on the store (by a crash, a killed job, another tool): listed,
//! and aborted by age, as a bucket lifecycle rule's `AbortIncompleteMultipartUpload` would
//! for stores that have none. `ferry uploads ls|abort` uses these.

use super::events::Event;
use super::{TransferSummary, Transfers};
use crate::s3::Error;
use crate::s3::xml::Upload;
use crate::time::parse_iso8601_time;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Pages of ListMultipartUploads read at most (1,000 uploads each).
const MAX_UPLOAD_PAGES: usize = 10_000;

impl Transfers {
    /// Every multipart upload open under `prefix` in `bucket`, in the store's order (key,
    /// then start time).
    pub async fn open_uploads(&self, bucket: &str, prefix: &str) -> Result<Vec<Upload>, Error> {
        let prefix = (!prefix.is_empty()).then_some(prefix);
        let mut markers: Option<(String, String)> = None;
        let mut found = Vec::new();
        for _ in 0..MAX_UPLOAD_PAGES {
            let marker_refs = markers.as_ref().map(|(k, u)| (k.as_str(), u.as_str()));
            let page = self
                .client
                .list_multipart_uploads(bucket, prefix, marker_refs)
                .await?;
            found.extend(page.uploads);
            match (
                page.is_truncated,
                page.next_key_marker,
                page.next_upload_id_marker,
            ) {
                (true, Some(key), Some(id)) => markers = Some((key, id)),
                _ => break,
            }
        }
        Ok(found)
    }

    /// Aborts the uploads under `prefix` started at least `older_than` ago (all of them when
    /// `None`; an upload whose start time the store did not give is kept when an age is
    /// asked for). Each aborted upload is reported as [`Event::Deleted`] (`s3://b/key
    /// (upload ID)`), each failure as [`Event::Failed`]; `objects` counts the aborted ones.
    /// With `dry_run`, nothing is aborted.
    pub async fn abort_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        older_than: Option<Duration>,
        dry_run: bool,
    ) -> TransferSummary {
        let mut summary = TransferSummary::default();
        let uploads = match self.open_uploads(bucket, prefix).await {
            Ok(uploads) => uploads,
            Err(error) => {
                let name = format!("s3://{bucket}/{prefix}");
                summary.fail(self.progress.failed(name, error));
                return summary;
            }
        };
        let now = SystemTime::now();
        for upload in uploads {
            if let Some(age) = older_than
                && upload_age(&upload, now).is_none_or(|started| started < age)
            {
                continue;
            }
            let name = format!("s3://{bucket}/{} (upload {})", upload.key, upload.upload_id);
            let result = if dry_run {
                Ok(())
            } else {
                self.client
                    .abort_multipart_upload(bucket, &upload.key, &upload.upload_id)
                    .await
            };
            match result {
                Ok(()) => {
                    summary.objects += 1;
                    self.progress.emit(Event::Deleted { name });
                }
                Err(error) if error.service().is_some_and(|s| s.is_no_such_upload()) => {}
                Err(error) => {
                    summary.fail(self.progress.failed(name, error));
                }
            }
        }
        summary
    }
}

/// How long before an upload was asked for a twin of it may have begun by the store's clock
/// (clocks differ; the twin began after the request was sent).
const TWIN_CLOCK_SLACK: Duration = Duration::from_secs(60);

/// Aborts the twins of `upload_id`: uploads of exactly `key` begun (by the store's clock) no
/// earlier than a minute before `asked`, which a lost answer to CreateMultipartUpload left
/// open. Each is logged; a failure to list or abort is logged and left for `ferry uploads`.
pub(super) async fn abort_twins(
    transfers: &Transfers,
    bucket: &str,
    key: &str,
    upload_id: &str,
    asked: SystemTime,
) {
    let uploads = match transfers.open_uploads(bucket, key).await {
        Ok(uploads) => uploads,
        Err(error) => {
            tracing::warn!(bucket, key, %error, "could not look for a multipart upload a lost answer may have left open; `ferry uploads ls` lists it");
            return;
        }
    };
    let since = asked.checked_sub(TWIN_CLOCK_SLACK).unwrap_or(UNIX_EPOCH);
    for twin in uploads {
        let began = twin.initiated.as_deref().and_then(parse_iso8601_time);
        let recent = began.is_some_and(|began| began >= since);
        if twin.key != key || twin.upload_id == upload_id || !recent {
            continue;
        }
        match transfers
            .client
            .abort_multipart_upload(bucket, key, &twin.upload_id)
            .await
        {
            Ok(()) => tracing::info!(
                bucket,
                key,
                upload_id = twin.upload_id,
                "aborted a multipart upload the store started while its answer was lost"
            ),
            Err(error) => {
                tracing::warn!(bucket, key, upload_id = twin.upload_id, %error, "could not abort a multipart upload a lost answer left open; `ferry uploads abort` removes it")
            }
        }
    }
}

/// How long ago `upload` was started, when the store said.
pub fn upload_age(upload: &Upload, now: SystemTime) -> Option<Duration> {
    let started = parse_iso8601_time(upload.initiated.as_deref()?)?;
    now.duration_since(started).ok()
}
