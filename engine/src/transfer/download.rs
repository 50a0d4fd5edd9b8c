//! S3 → local file: ranged GETs in parallel, written at their offsets into a temporary file
//! beside the target, renamed into place only when every byte has arrived.

use super::events::Event;
use super::plan::PartPlan;
use super::{TransferError, Transfers};
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::task::JoinSet;

/// Bytes gathered before one positioned write.
const WRITE_BUFFER: usize = 1024 * 1024;

/// The temporary name a download is written under: `.NAME.ferry-part` beside the target.
pub fn temporary_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());
    target.with_file_name(format!(".{name}.ferry-part"))
}

impl Transfers {
    /// Downloads `bucket`/`key` to `target`. Returns the bytes received. A failed download
    /// leaves nothing under `target` (and removes its temporary file).
    pub async fn download_file(
        &self,
        bucket: &str,
        key: &str,
        target: &Path,
    ) -> Result<u64, TransferError> {
        let name = format!("s3://{bucket}/{key}");
        let info = self.client.head_object(bucket, key).await?;
        self.progress.emit(Event::Started {
            name: name.clone(),
            bytes: info.size,
        });
        let temp = temporary_path(target);
        let result = self
            .fetch_into(bucket, key, &temp, info.size, info.etag.as_deref())
            .await;
        let result = result.and_then(|()| {
            std::fs::rename(&temp, target)
                .map_err(|e| TransferError::io("renaming into place", target, e))
        });
        match result {
            Ok(()) => {
                self.progress.emit(Event::Finished {
                    name,
                    bytes: info.size,
                });
                Ok(info.size)
            }
            Err(error) => {
                let _ = std::fs::remove_file(&temp);
                self.progress.emit(Event::Failed {
                    name,
                    error: error.to_string(),
                });
                Err(error)
            }
        }
    }

    async fn fetch_into(
        &self,
        bucket: &str,
        key: &str,
        temp: &Path,
        size: u64,
        etag: Option<&str>,
    ) -> Result<(), TransferError> {
        if let Some(parent) = temp.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| TransferError::io("creating", parent, e))?;
        }
        let file = File::create(temp).map_err(|e| TransferError::io("creating", temp, e))?;
        file.set_len(size)
            .map_err(|e| TransferError::io("sizing", temp, e))?;
        let file = Arc::new(file);
        if size > 0 {
            let plan = PartPlan::new(size, self.config.part_size, &self.config.limits)?;
            self.fetch_ranges(bucket, key, &file, temp, &plan, etag)
                .await?;
        }
        file.sync_data()
            .map_err(|e| TransferError::io("flushing", temp, e))
    }

    async fn fetch_ranges(
        &self,
        bucket: &str,
        key: &str,
        file: &Arc<File>,
        temp: &Path,
        plan: &PartPlan,
        etag: Option<&str>,
    ) -> Result<(), TransferError> {
        let mut tasks = JoinSet::new();
        for range in plan.ranges() {
            let permit = self.permit().await;
            if let Some(done) = tasks.try_join_next() {
                flatten(done)?;
            }
            let (this, bucket, key) = (self.clone(), bucket.to_owned(), key.to_owned());
            let (file, temp, etag) = (file.clone(), temp.to_owned(), etag.map(str::to_owned));
            tasks.spawn(async move {
                let _permit = permit;
                this.fetch_range(&bucket, &key, &file, &temp, range, etag.as_deref())
                    .await
            });
        }
        while let Some(done) = tasks.join_next().await {
            flatten(done)?;
        }
        Ok(())
    }

    /// One range, resumed from where it broke if the body fails mid-way.
    async fn fetch_range(
        &self,
        bucket: &str,
        key: &str,
        file: &Arc<File>,
        temp: &Path,
        range: Range<u64>,
        etag: Option<&str>,
    ) -> Result<(), TransferError> {
        let name = format!("s3://{bucket}/{key}");
        let mut next = range.start;
        let mut attempt = 1;
        while next < range.end {
            let asked = (next, range.end - 1);
            let mut output = self
                .client
                .get_object(bucket, key, Some(asked), etag)
                .await?;
            let total = output.info.size;
            if output.range != Some((asked.0, asked.1, total)) {
                return Err(TransferError::Integrity {
                    name,
                    message: format!(
                        "asked for bytes {}-{}, the store answered {:?}",
                        asked.0, asked.1, output.range
                    ),
                });
            }
            let mut buffer = Vec::with_capacity(WRITE_BUFFER.min((range.end - next) as usize));
            let failure = loop {
                match output.body.chunk().await {
                    Ok(Some(chunk)) => {
                        buffer.extend_from_slice(&chunk);
                        if buffer.len() >= WRITE_BUFFER {
                            next = write_at(file, temp, next, std::mem::take(&mut buffer)).await?;
                            self.progress.emit(Event::Bytes(WRITE_BUFFER as u64));
                        }
                    }
                    Ok(None) => break None,
                    Err(error) => break Some(error),
                }
            };
            let tail = buffer.len() as u64;
            next = write_at(file, temp, next, buffer).await?;
            self.progress.emit(Event::Bytes(tail));
            if next > range.end {
                return Err(TransferError::Integrity {
                    name,
                    message: "the store sent more bytes than asked for".into(),
                });
            }
            let Some(error) = failure else {
                if next < range.end {
                    return Err(TransferError::Integrity {
                        name,
                        message: "the answer ended before its Content-Length".into(),
                    });
                }
                break;
            };
            let reason = error
                .retry_reason()
                .unwrap_or(crate::http::RetryReason::Transient);
            self.progress.emit(Event::Retried { name: name.clone() });
            if !self.client.retry_state().backoff(attempt, reason).await {
                return Err(TransferError::S3(crate::s3::Error::Http {
                    operation: "GetObject",
                    resource: name,
                    source: error,
                }));
            }
            attempt += 1;
        }
        Ok(())
    }
}

fn flatten(
    done: Result<Result<(), TransferError>, tokio::task::JoinError>,
) -> Result<(), TransferError> {
    match done {
        Ok(result) => result,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

/// Writes `data` at `offset` on the blocking pool; returns the offset after it.
async fn write_at(
    file: &Arc<File>,
    path: &Path,
    offset: u64,
    data: Vec<u8>,
) -> Result<u64, TransferError> {
    if data.is_empty() {
        return Ok(offset);
    }
    let file = file.clone();
    let len = data.len() as u64;
    tokio::task::spawn_blocking(move || file.write_all_at(&data, offset))
        .await
        .map_err(|e| TransferError::io("writing", path, std::io::Error::other(e)))?
        .map_err(|e| TransferError::io("writing", path, e))?;
    Ok(offset + len)
}
