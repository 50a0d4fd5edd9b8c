//! Listed objects no larger than one part: one GET and nothing else. The listing already gave
//! the size, so there is no HEAD; a single request has nothing to resume, so there is no
//! journal; the answer carries the object's checksum, which is verified before the rename.
//! Anything other than an answer from the store (a broken body, a checksum mismatch) falls
//! back to the full path ([`Transfers::download_file`]: HEAD, ranges, resume, refetch).

use super::download::{Batch, Sink, WRITE_BUFFER, md5_mismatch, temporary_path, verify, write_at};
use super::events::Event;
use super::{TransferError, Transfers};
use crate::checksum::Hasher;
use crate::s3::etag::EtagCheck;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

impl Transfers {
    /// Downloads `bucket`/`key`, which a listing said is `listed_size` bytes, to `target`.
    /// Objects that fit one part take one GET; larger ones take [`Transfers::download_file`].
    pub async fn download_listed(
        &self,
        bucket: &str,
        key: &str,
        target: &Path,
        listed_size: u64,
    ) -> Result<u64, TransferError> {
        if super::pass_through::is_pass_through(target) {
            return self.download_through(bucket, key, target).await;
        }
        self.download_listed_file(bucket, key, target, listed_size)
            .await
    }

    /// [`Self::download_listed`] into a target already known to be no FIFO, socket or device
    /// (a directory download or a sync has looked: [`super::pass_through::not_overwritten`]),
    /// so that it is not looked at again.
    pub(crate) async fn download_listed_file(
        &self,
        bucket: &str,
        key: &str,
        target: &Path,
        listed_size: u64,
    ) -> Result<u64, TransferError> {
        if listed_size > self.config.part_size {
            return self.download_regular_file(bucket, key, target).await;
        }
        let name = format!("s3://{bucket}/{key}");
        self.progress.emit(Event::Started {
            name: name.clone(),
            bytes: listed_size,
        });
        let temp = temporary_path(target);
        let result = match self
            .fetch_whole(bucket, key, target, &temp, listed_size)
            .await
        {
            Ok((size, None)) => self.rename_into_place(&temp, target).await.map(|()| size),
            Ok((size, Some(unnamed))) => {
                (self.link_into_place(&unnamed, &temp, target).await).map(|()| size)
            }
            Err(error) => Err(error),
        };
        match result {
            Ok(size) => {
                self.progress.emit(Event::Finished { name, bytes: size });
                Ok(size)
            }
            Err(TransferError::S3(error)) if error.service().is_some() => {
                let _ = std::fs::remove_file(&temp);
                let error = TransferError::S3(error);
                self.progress.failed(name, error.clone());
                Err(error)
            }
            Err(error) => {
                let _ = std::fs::remove_file(&temp);
                tracing::debug!(%name, %error, "single-request download failed; taking the full path");
                self.progress.emit(Event::Retried { name });
                self.download_regular_file(bucket, key, target).await
            }
        }
    }

    /// One GET of the whole object for `target`, verified against the answer's checksum when
    /// it carries one, else against its length. Returns the size, and the file written when
    /// it is unnamed ([`super::unnamed`]); `None`: the bytes are in the temporary file `temp`.
    async fn fetch_whole(
        &self,
        bucket: &str,
        key: &str,
        target: &Path,
        temp: &Path,
        listed_size: u64,
    ) -> Result<(u64, Option<Arc<File>>), TransferError> {
        let name = format!("s3://{bucket}/{key}");
        let _permit = self
            .request_permit(listed_size.min(WRITE_BUFFER as u64))
            .await;
        let mut output = self.client.get_object(bucket, key, None, None).await?;
        let size = output.content_length;
        let expected = self.expected_checksum(&output.info);
        let (file, unnamed) = self.create_whole_file(target, temp).await?;
        // An unnamed file's errors name the file it becomes.
        let written = if unnamed { target } else { temp };
        let sink = Sink::new(file, written, expected.as_ref().map(|(a, _)| *a));
        // Without a stored checksum, a small object's single-part ETag is checked as its bytes
        // go by (hashed on this thread, as they are written): reading the file back cost an
        // open, a read and a hand-over to the blocking pool per object.
        let mut md5 = match (&expected, output.info.etag_check()) {
            (None, Some(EtagCheck::Md5(etag))) if size <= super::INLINE_FILE_IO => {
                Some((md5::Md5::default(), etag))
            }
            _ => None,
        };
        let outcome = async {
            let mut hasher = sink.algorithm.map(Hasher::new);
            let mut next = 0;
            let mut batch = Batch::default();
            while let Some(chunk) = output.body.chunk().await.map_err(|source| {
                TransferError::from(crate::s3::Error::Http {
                    operation: "GetObject",
                    resource: name.clone(),
                    source,
                })
            })? {
                if let Some((md5, _)) = &mut md5 {
                    md5::Digest::update(md5, &chunk);
                }
                if batch.push(chunk) {
                    let len = batch.len as u64;
                    (next, hasher) = write_at(&sink, next, batch.take(), hasher, None).await?;
                    self.progress.bytes(&name, len);
                }
            }
            let tail = batch.len as u64;
            (next, hasher) = write_at(&sink, next, batch.take(), hasher, None).await?;
            self.progress.bytes(&name, tail);
            if next != size {
                let message = format!("received {next} bytes of an answer of {size}");
                return Err(TransferError::Integrity { name, message });
            }
            if let (Some((algorithm, value)), Some(hasher)) = (&expected, hasher) {
                verify(&name, *algorithm, value, &[hasher.finish()])?;
            } else if let Some((md5, etag)) = md5.take() {
                let actual = crate::s3::etag::hex(&md5::Digest::finalize(md5));
                if actual != etag {
                    return Err(md5_mismatch(&name, &etag, &actual));
                }
            } else {
                let file = unnamed.then_some(&sink.file);
                self.verify_etag(&name, written, file, &output.info, (bucket, key), false)
                    .await?;
            }
            // On the handle already open: reopening the file by name only to set its time
            // cost an open and a close per object.
            if let Some(time) =
                (output.info.last_modified.as_deref()).and_then(crate::time::parse_http_date)
            {
                sink.file.set_modified(time).map_err(|e| {
                    TransferError::io("setting the modification time of", written, e)
                })?;
            }
            self.sync_if_asked(&sink)
        }
        .await;
        if outcome.is_err() && !unnamed {
            self.track_download(temp, false);
        }
        outcome.map(|()| (size, unnamed.then_some(sink.file)))
    }

    /// The file a download of one GET writes: unnamed in `target`'s directory where the
    /// system makes such files (true), else the temporary file `temp`, tracked for a cancel
    /// to remove. The directory is made when the file cannot be (no stat of it per file).
    async fn create_whole_file(
        &self,
        target: &Path,
        temp: &Path,
    ) -> Result<(File, bool), TransferError> {
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let made_dir =
            || std::fs::create_dir_all(dir).map_err(|e| TransferError::io("creating", dir, e));
        // No lock on the directory's entries: an unnamed file adds none.
        let unnamed = match self.unnamed.create(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                made_dir()?;
                self.unnamed.create(dir)
            }
            created => created,
        };
        match unnamed {
            Ok(Some(file)) => return Ok((file, true)),
            Ok(None) => {}
            Err(e) => return Err(TransferError::io("creating a file in", dir, e)),
        }
        // Tracked before it exists, so that a cancel meanwhile removes it; untracked again
        // if it cannot be made.
        self.track_download(temp, true);
        let _entries = self.directories.entry(temp).await;
        let created = match File::create(temp) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => made_dir().and_then(|()| {
                File::create(temp).map_err(|e| TransferError::io("creating", temp, e))
            }),
            created => created.map_err(|e| TransferError::io("creating", temp, e)),
        };
        match created {
            Ok(file) => Ok((file, false)),
            Err(error) => {
                self.track_download(temp, false);
                Err(error)
            }
        }
    }
}
