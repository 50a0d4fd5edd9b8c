//! Downloads into what is not a regular file: `/dev/null`, a terminal, a FIFO, a socket
//! bound to a path, `/dev/stdout`. The object is written straight into it, in order (one
//! GET, resumed by a ranged GET if the body breaks): no temporary file, no rename, no
//! `set_len`, no mtime, so `ferry cp s3://b/k /dev/null` leaves `/dev/null` the device it
//! was.

use super::download::{Batch, verify};
use super::events::Event;
use super::{TransferError, Transfers};
use crate::checksum::Hasher;
use crate::s3::etag::EtagCheck;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// True when `target` exists and is neither a regular file nor a directory (links followed):
/// a download writes through into it.
pub(crate) fn is_pass_through(target: &Path) -> bool {
    std::fs::metadata(target).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Why a directory download leaves `target` alone: it exists and is a FIFO, socket or device
/// (only a single-object download, whose target is named, writes through into one; in a
/// tree, a FIFO with no reader would wait forever).
pub(crate) fn not_overwritten(target: &Path) -> Option<String> {
    let metadata = std::fs::metadata(target).ok()?;
    let what = super::walk::special_kind(metadata.file_type())?;
    Some(format!(
        "the target is not a regular file ({what}); not written"
    ))
}

/// The name a download to standard output reports in its errors (`TransferError::Io`'s path).
pub const STANDARD_OUTPUT: &str = "standard output";

impl Transfers {
    /// Downloads `bucket`/`key` into the existing non-regular file `target`, sequentially.
    pub(super) async fn download_through(
        &self,
        bucket: &str,
        key: &str,
        target: &Path,
    ) -> Result<u64, TransferError> {
        let name = format!("s3://{bucket}/{key}");
        let path = target.to_owned();
        // Opened for writing only: no O_CREAT, no O_TRUNC.
        let open = move || std::fs::OpenOptions::new().write(true).open(&path);
        let result = self
            .write_through(&name, bucket, key, target, open_file(target, open))
            .await;
        self.report(name, result)
    }

    /// Downloads `bucket`/`key` into `writer`, in order: one GET, resumed by a ranged GET if
    /// the body breaks, verified against the object's full-object checksum when the store
    /// holds one; `writer` is flushed at the end. Memory stays at one batch of the body
    /// (about 1 MiB) however large the object. Returns the bytes written.
    pub async fn download_to_writer<W>(
        &self,
        bucket: &str,
        key: &str,
        writer: &mut W,
    ) -> Result<u64, TransferError>
    where
        W: tokio::io::AsyncWrite + Unpin + Send,
    {
        let name = format!("s3://{bucket}/{key}");
        let target = Path::new("the writer");
        let sink = async { Ok(WriterSink(writer)) };
        let result = self.write_through(&name, bucket, key, target, sink).await;
        self.report(name, result)
    }

    /// Downloads `bucket`/`key` to this process's standard output, sequentially (`ferry cp
    /// s3://b/k -`): a pipe, a terminal or a file it was redirected to, written in order
    /// from where it stands.
    pub async fn download_to_stdout(&self, bucket: &str, key: &str) -> Result<u64, TransferError> {
        let name = format!("s3://{bucket}/{key}");
        let open = || {
            use std::os::fd::AsFd;
            let fd = std::io::stdout().as_fd().try_clone_to_owned()?;
            Ok(std::fs::File::from(fd))
        };
        let target = Path::new(STANDARD_OUTPUT);
        let result = self
            .write_through(&name, bucket, key, target, open_file(target, open))
            .await;
        self.report(name, result)
    }

    /// The object written in order into the sink `open` gives (opened once the object is
    /// known to exist).
    async fn write_through<S: InOrder>(
        &self,
        name: &str,
        bucket: &str,
        key: &str,
        target: &Path,
        open: impl Future<Output = Result<S, TransferError>>,
    ) -> Result<u64, TransferError> {
        let _permit = self.permit(super::download::WRITE_BUFFER as u64).await;
        let mut output = self.client.get_object(bucket, key, None, None).await?;
        let size = output.content_length;
        self.progress.emit(Event::Started {
            name: name.to_owned(),
            bytes: size,
        });
        let expected = self.expected_checksum(&output.info);
        let etag = output.info.etag.clone();
        // Without a stored checksum, the ETag is checked as the bytes go by (in order, so
        // nothing is read back): their MD5, or for a multipart object the MD5 of its parts'
        // MD5s under the part size the store confirms; anything else is reported unverified.
        // The ETag to match, and the part size for a multipart one.
        let etag_md5 = match (&expected, output.info.etag_check()) {
            (None, Some(EtagCheck::Md5(md5))) => Some((md5, None)),
            (None, Some(EtagCheck::Multipart { digest, parts })) => self
                .confirmed_part_size(bucket, key, size, parts)
                .await
                .map(|part_size| (format!("{digest}-{parts}"), Some(part_size))),
            _ => None,
        };
        let mut sink = open.await?;
        let mut hasher = match (&expected, &etag_md5) {
            (Some((algorithm, _)), _) => Some(Check::Checksum(Box::new(Hasher::new(*algorithm)))),
            (None, Some((_, None))) => Some(Check::Md5(md5::Md5::default())),
            (None, Some((_, Some(part_size)))) => {
                Some(Check::Multipart(Box::new(PartMd5s::new(*part_size))))
            }
            (None, None) => None,
        };
        let mut next = 0u64;
        let mut attempt = 1;
        loop {
            let mut batch = Batch::default();
            let failure = loop {
                match output.body.chunk().await {
                    Ok(Some(chunk)) => {
                        if batch.push(chunk) {
                            let len = batch.len as u64;
                            hasher = sink.write(target, batch.take(), hasher).await?;
                            next += len;
                            self.progress.bytes(name, len);
                        }
                    }
                    Ok(None) => break None,
                    Err(error) => break Some(error),
                }
            };
            let tail = batch.len as u64;
            hasher = sink.write(target, batch.take(), hasher).await?;
            next += tail;
            self.progress.bytes(name, tail);
            if next > size {
                let message = "the store sent more bytes than asked for".into();
                return Err(integrity(name, message));
            }
            let Some(error) = failure else {
                if next < size {
                    let message = "the answer ended before its Content-Length".into();
                    return Err(integrity(name, message));
                }
                break;
            };
            let reason = error
                .retry_reason()
                .unwrap_or(crate::http::RetryReason::Transient);
            if next == size || !self.client.retry_state().backoff(attempt, reason).await {
                return Err(crate::s3::Error::Http {
                    operation: "GetObject",
                    resource: name.to_owned(),
                    source: error,
                }
                .into());
            }
            self.progress.emit(Event::Retried {
                name: name.to_owned(),
            });
            attempt += 1;
            let asked = (next, size - 1);
            output = self
                .client
                .get_object(bucket, key, Some(asked), etag.as_deref())
                .await?;
            if output.range != Some((asked.0, asked.1, size)) {
                let message = format!(
                    "asked for bytes {}-{}, the store answered {:?}",
                    asked.0, asked.1, output.range
                );
                return Err(integrity(name, message));
            }
        }
        sink.finish(target).await?;
        match (hasher, &expected, etag_md5) {
            (Some(Check::Checksum(hasher)), Some((algorithm, value)), _) => {
                verify(name, *algorithm, value, &[hasher.finish()])?;
            }
            (Some(check @ (Check::Md5(_) | Check::Multipart(_))), _, Some((etag, _))) => {
                let actual = check.etag();
                if actual != etag {
                    let message = format!(
                        "MD5 mismatch: the store's ETag says {etag}, the bytes received hash to {actual}"
                    );
                    return Err(integrity(name, message));
                }
            }
            _ => {
                tracing::debug!(
                    object = name,
                    "no checksum and no single-part ETag to check against: verified by size only"
                );
                self.progress.emit(Event::Unverified {
                    name: name.to_owned(),
                });
            }
        }
        Ok(size)
    }
}

/// What the bytes of a download written in order are checked with as they go by.
enum Check {
    /// The store's full-object checksum.
    Checksum(Box<Hasher>),
    /// The MD5 a single-part ETag is.
    Md5(md5::Md5),
    /// The parts' MD5s a multipart ETag is made of.
    Multipart(Box<PartMd5s>),
}

impl Check {
    fn update(&mut self, data: &[u8]) {
        use md5::Digest;
        match self {
            Self::Checksum(hasher) => hasher.update(data),
            Self::Md5(md5) => md5.update(data),
            Self::Multipart(parts) => parts.update(data),
        }
    }

    /// The ETag the bytes seen make (`md5`, or `md5-of-md5s-N`); empty for a checksum.
    fn etag(self) -> String {
        use md5::Digest;
        match self {
            Self::Checksum(_) => String::new(),
            Self::Md5(md5) => crate::s3::etag::hex(&md5.finalize()),
            Self::Multipart(parts) => parts.etag(),
        }
    }
}

/// The MD5 of each `part_size` bytes, in order, as a multipart ETag is computed.
struct PartMd5s {
    part_size: u64,
    current: md5::Md5,
    in_part: u64,
    digests: Vec<u8>,
    parts: u64,
}

impl PartMd5s {
    fn new(part_size: u64) -> Self {
        Self {
            part_size,
            current: md5::Md5::default(),
            in_part: 0,
            digests: Vec::new(),
            parts: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        use md5::Digest;
        while !data.is_empty() {
            let room = (self.part_size - self.in_part) as usize;
            let (now, rest) = data.split_at(room.min(data.len()));
            self.current.update(now);
            self.in_part += now.len() as u64;
            if self.in_part == self.part_size {
                self.close_part();
            }
            data = rest;
        }
    }

    fn close_part(&mut self) {
        use md5::Digest;
        let part = std::mem::take(&mut self.current);
        self.digests.extend_from_slice(&part.finalize());
        self.in_part = 0;
        self.parts += 1;
    }

    fn etag(mut self) -> String {
        use md5::Digest;
        if self.in_part > 0 {
            self.close_part();
        }
        let digest = md5::Md5::digest(&self.digests);
        format!("{}-{}", crate::s3::etag::hex(&digest), self.parts)
    }
}

/// Where a download is written in order: chunks one after another, feeding the checksum.
trait InOrder: Send {
    /// Writes `chunks` after what was written before.
    fn write(
        &mut self,
        target: &Path,
        chunks: Vec<bytes::Bytes>,
        hasher: Option<Check>,
    ) -> impl Future<Output = Result<Option<Check>, TransferError>> + Send;

    /// Everything written has reached the sink.
    fn finish(&mut self, target: &Path) -> impl Future<Output = Result<(), TransferError>> + Send;
}

/// A file, FIFO, device or standard output, written on the blocking pool.
struct FileSink(Arc<std::fs::File>);

impl InOrder for FileSink {
    async fn write(
        &mut self,
        target: &Path,
        chunks: Vec<bytes::Bytes>,
        hasher: Option<Check>,
    ) -> Result<Option<Check>, TransferError> {
        write_in_order(&self.0, target, chunks, hasher).await
    }

    async fn finish(&mut self, _target: &Path) -> Result<(), TransferError> {
        Ok(())
    }
}

/// Any `AsyncWrite`.
struct WriterSink<'a, W>(&'a mut W);

impl<W: tokio::io::AsyncWrite + Unpin + Send> InOrder for WriterSink<'_, W> {
    async fn write(
        &mut self,
        target: &Path,
        chunks: Vec<bytes::Bytes>,
        mut hasher: Option<Check>,
    ) -> Result<Option<Check>, TransferError> {
        use tokio::io::AsyncWriteExt;
        for chunk in &chunks {
            if let Some(hasher) = &mut hasher {
                hasher.update(chunk);
            }
            self.0
                .write_all(chunk)
                .await
                .map_err(|e| TransferError::io("writing", target, e))?;
        }
        Ok(hasher)
    }

    async fn finish(&mut self, target: &Path) -> Result<(), TransferError> {
        use tokio::io::AsyncWriteExt;
        self.0
            .flush()
            .await
            .map_err(|e| TransferError::io("flushing", target, e))
    }
}

/// Opens a file with `open` on the blocking pool (a FIFO's open waits for its reader).
async fn open_file(
    target: &Path,
    open: impl FnOnce() -> std::io::Result<std::fs::File> + Send + 'static,
) -> Result<FileSink, TransferError> {
    let opened = tokio::task::spawn_blocking(open)
        .await
        .map_err(|e| TransferError::io("opening", target, std::io::Error::other(e)))?;
    let file = opened.map_err(|e| TransferError::io("opening", target, e))?;
    Ok(FileSink(Arc::new(file)))
}

fn integrity(name: &str, message: String) -> TransferError {
    TransferError::Integrity {
        name: name.to_owned(),
        message,
    }
}

/// Writes `chunks` one after another at the file's position (no offsets: FIFOs and devices
/// have none), feeding the checksum, on the blocking pool.
async fn write_in_order(
    file: &Arc<std::fs::File>,
    target: &Path,
    chunks: Vec<bytes::Bytes>,
    mut hasher: Option<Check>,
) -> Result<Option<Check>, TransferError> {
    if chunks.is_empty() {
        return Ok(hasher);
    }
    let file = file.clone();
    tokio::task::spawn_blocking(move || {
        for chunk in &chunks {
            if let Some(hasher) = &mut hasher {
                hasher.update(chunk);
            }
            (&*file).write_all(chunk)?;
        }
        Ok::<_, std::io::Error>(hasher)
    })
    .await
    .map_err(|e| TransferError::io("writing", target, std::io::Error::other(e)))?
    .map_err(|e| TransferError::io("writing", target, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_md5s_fed_in_any_pieces_make_the_multipart_etag_of_the_file() {
        let part_size = 1000;
        let data: Vec<u8> = (0..2_345u32).map(|i| (i * 7 % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("object");
        std::fs::write(&path, &data).unwrap();
        let expected = crate::s3::etag::multipart_etags_of_file(&path, &[part_size]).unwrap();
        // Pieces that straddle the part boundaries, one that ends exactly on one.
        for cuts in [vec![1, 999, 1000, 345], vec![1500, 845], vec![2345]] {
            let mut parts = PartMd5s::new(part_size);
            let mut at = 0;
            for len in cuts {
                parts.update(&data[at..at + len]);
                at += len;
            }
            assert_eq!(vec![parts.etag()], expected);
        }
    }
}
