//! Deleting objects by prefix (`rm -r`, `rb --force`): listed page by page, filtered, removed
//! in DeleteObjects batches of 1,000, every deleted key reported as [`Event::Deleted`] and
//! every failure as [`Event::Failed`].

use super::events::Event;
use super::{TransferError, TransferSummary, Transfers};
use crate::s3::xml::DeleteError;
use crate::s3::{ListObjects, S3Error};
use std::time::Instant;

/// Keys per DeleteObjects request (S3's maximum).
const DELETE_BATCH: usize = 1000;

impl Transfers {
    /// Deletes every object under `prefix` in `bucket` whose key below the prefix `select`
    /// accepts. `prefix` is used as given: pass `logs/` (not `logs`) to spare `logs-archive/`.
    /// With `dry_run`, reports what would be deleted and deletes nothing. `objects` counts the
    /// keys deleted (or that would be); each appears once as [`Event::Deleted`].
    pub async fn delete_prefix_where(
        &self,
        bucket: &str,
        prefix: &str,
        select: impl Fn(&str) -> bool,
        dry_run: bool,
    ) -> TransferSummary {
        let started = Instant::now();
        let retries_before = self.client.retries();
        let options = ListObjects {
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
            ..ListObjects::default()
        };
        let mut pages = self.client.list_objects(bucket, options);
        let mut summary = TransferSummary::default();
        let mut batch: Vec<String> = Vec::with_capacity(DELETE_BATCH);
        loop {
            let page = match pages.next_page().await {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(error) => {
                    self.fail(
                        &mut summary,
                        format!("s3://{bucket}/{prefix}"),
                        error.into(),
                    );
                    break;
                }
            };
            for object in page.contents {
                let relative = object.key.strip_prefix(prefix).unwrap_or(&object.key);
                if !select(relative) {
                    continue;
                }
                batch.push(object.key);
                if batch.len() == DELETE_BATCH {
                    summary.objects += self
                        .delete_batch(bucket, &mut batch, dry_run, &mut summary)
                        .await;
                }
            }
        }
        summary.objects += self
            .delete_batch(bucket, &mut batch, dry_run, &mut summary)
            .await;
        summary.retries = self.client.retries() - retries_before;
        summary.seconds = started.elapsed().as_secs_f64();
        summary
    }

    /// Deletes `keys` of `bucket` in DeleteObjects batches of 1,000, each reported as
    /// [`Event::Deleted`] or [`Event::Failed`]; `objects` counts the keys deleted.
    pub async fn delete_keys(&self, bucket: &str, keys: Vec<String>) -> TransferSummary {
        let mut summary = TransferSummary::default();
        for chunk in keys.chunks(DELETE_BATCH) {
            let mut batch = chunk.to_vec();
            summary.objects += self
                .delete_batch(bucket, &mut batch, false, &mut summary)
                .await;
        }
        summary
    }

    /// Aborts every unfinished multipart upload under `prefix` (`rb --force`: parts left
    /// behind by other tools are billed until aborted). Returns how many were aborted; a
    /// failure is logged and the rest go on.
    pub async fn abort_uploads_under(&self, bucket: &str, prefix: &str) -> usize {
        let uploads = match self.open_uploads(bucket, prefix).await {
            Ok(uploads) => uploads,
            Err(error) => {
                tracing::debug!(bucket, %error, "could not list multipart uploads");
                return 0;
            }
        };
        let mut aborted = 0;
        for upload in &uploads {
            match self
                .client
                .abort_multipart_upload(bucket, &upload.key, &upload.upload_id)
                .await
            {
                Ok(()) => aborted += 1,
                Err(error) => {
                    tracing::warn!(bucket, key = upload.key, %error, "could not abort a multipart upload");
                }
            }
        }
        aborted
    }

    /// Deletes one object, reporting it. An empty key is refused: it would name the bucket.
    pub async fn delete_one(&self, bucket: &str, key: &str, dry_run: bool) -> TransferSummary {
        let mut summary = TransferSummary::default();
        let name = format!("s3://{bucket}/{key}");
        if key.is_empty() {
            let error = TransferError::Integrity {
                name: name.clone(),
                message: "no key given: this names the bucket, not an object".into(),
            };
            self.fail(&mut summary, name, error);
            return summary;
        }
        let result = if dry_run {
            Ok(())
        } else {
            self.client.delete_object(bucket, key).await
        };
        match result {
            Ok(()) => {
                summary.objects += 1;
                self.progress.emit(Event::Deleted { name });
            }
            Err(error) => self.fail(&mut summary, name, error.into()),
        }
        summary
    }

    /// Deletes `batch` (emptied) in one DeleteObjects request, reporting each key as deleted
    /// or failed (failures go into `summary`). Returns how many were deleted.
    pub(crate) async fn delete_batch(
        &self,
        bucket: &str,
        batch: &mut Vec<String>,
        dry_run: bool,
        summary: &mut TransferSummary,
    ) -> u64 {
        let keys = std::mem::take(batch);
        let mut deleted = 0;
        if keys.is_empty() {
            return 0;
        }
        if dry_run {
            for key in keys {
                deleted += 1;
                self.progress.emit(Event::Deleted {
                    name: format!("s3://{bucket}/{key}"),
                });
            }
            return deleted;
        }
        match self.client.delete_objects(bucket, &keys).await {
            Ok(result) => {
                let failed: std::collections::HashMap<&str, &DeleteError> =
                    result.errors.iter().map(|e| (e.key.as_str(), e)).collect();
                for key in &keys {
                    let name = format!("s3://{bucket}/{key}");
                    match failed.get(key.as_str()) {
                        Some(error) => {
                            let error = key_error(bucket, error);
                            summary.fail(self.progress.failed(name, error));
                        }
                        None => {
                            deleted += 1;
                            self.progress.emit(Event::Deleted { name });
                        }
                    }
                }
            }
            Err(error) => {
                let error = TransferError::from(error);
                for key in keys {
                    let name = format!("s3://{bucket}/{key}");
                    summary.fail(self.progress.failed(name, error.clone()));
                }
            }
        }
        deleted
    }

    fn fail(&self, summary: &mut TransferSummary, name: String, error: TransferError) {
        summary.fail(self.progress.failed(name, error));
    }
}

/// A key DeleteObjects refused, as the typed error a request for that key alone would give
/// (the batch itself answered 200).
fn key_error(bucket: &str, error: &DeleteError) -> TransferError {
    let answer = S3Error::new(http::StatusCode::OK, &error.code, error.message.trim())
        .with_operation("DeleteObjects")
        .with_resource(Some(bucket), Some(&error.key));
    TransferError::S3(crate::s3::Error::Service(Box::new(answer)))
}
