//! Request and response bodies. Requests send bytes, zero-copy slices of a memory-mapped file,
//! or a stream; responses are streamed frame by frame with an idle-read timeout, never
//! buffered whole unless the caller asks for a bounded collect.

use super::HttpError;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;

/// A request body.
#[derive(Debug)]
pub struct RequestBody {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Full(Option<Bytes>),
    Stream {
        chunks: mpsc::Receiver<Result<Bytes, std::io::Error>>,
        length: u64,
    },
}

impl RequestBody {
    /// No body.
    pub fn empty() -> Self {
        Self {
            kind: Kind::Full(None),
        }
    }

    /// Bytes in memory (cheaply cloneable, so retries resend without copying).
    pub fn bytes(bytes: Bytes) -> Self {
        Self {
            kind: Kind::Full(Some(bytes)),
        }
    }

    /// A slice of a memory-mapped file, sent without copying it.
    pub fn mapped(map: Arc<memmap2::Mmap>, range: std::ops::Range<usize>) -> Self {
        Self::bytes(Bytes::from_owner(MappedSlice { map, range }))
    }

    /// A stream of `length` bytes in total, fed through the returned sender.
    pub fn stream(
        length: u64,
        buffer: usize,
    ) -> (mpsc::Sender<Result<Bytes, std::io::Error>>, Self) {
        let (tx, rx) = mpsc::channel(buffer.max(1));
        let body = Self {
            kind: Kind::Stream { chunks: rx, length },
        };
        (tx, body)
    }

    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match &self.kind {
            Kind::Full(bytes) => bytes.as_ref().map_or(0, |b| b.len() as u64),
            Kind::Stream { length, .. } => *length,
        }
    }

    /// True when the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of an in-memory body (`None` for a stream).
    pub fn peek_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Full(bytes) => Some(bytes.as_deref().unwrap_or_default()),
            Kind::Stream { .. } => None,
        }
    }

    /// A copy for a retry, when the body can be replayed (bytes and mapped slices can; a
    /// stream cannot).
    pub fn try_clone(&self) -> Option<Self> {
        match &self.kind {
            Kind::Full(bytes) => Some(Self {
                kind: Kind::Full(bytes.clone()),
            }),
            Kind::Stream { .. } => None,
        }
    }
}

/// Keeps the map alive while hyper sends the slice.
struct MappedSlice {
    map: Arc<memmap2::Mmap>,
    range: std::ops::Range<usize>,
}

impl AsRef<[u8]> for MappedSlice {
    fn as_ref(&self) -> &[u8] {
        &self.map[self.range.clone()]
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match &mut self.kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream { chunks, .. } => chunks
                .poll_recv(cx)
                .map(|next| next.map(|chunk| chunk.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(&self.kind, Kind::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(match &self.kind {
            Kind::Full(bytes) => bytes.as_ref().map_or(0, |b| b.len() as u64),
            Kind::Stream { length, .. } => *length,
        })
    }
}

/// A streamed response body with an idle-read timeout between frames.
#[derive(Debug)]
pub struct ResponseBody {
    incoming: hyper::body::Incoming,
    idle_timeout: Duration,
}

impl ResponseBody {
    pub(crate) fn new(incoming: hyper::body::Incoming, idle_timeout: Duration) -> Self {
        Self {
            incoming,
            idle_timeout,
        }
    }

    /// The next chunk of data, `None` at the end. Fails if the connection breaks or stays
    /// silent longer than the idle timeout.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, HttpError> {
        use http_body_util::BodyExt;
        loop {
            let frame = tokio::time::timeout(self.idle_timeout, self.incoming.frame())
                .await
                .map_err(|_| HttpError::Timeout {
                    what: "reading the response body",
                    after: self.idle_timeout,
                })?;
            match frame {
                None => return Ok(None),
                Some(Err(e)) => return Err(HttpError::from_hyper(e)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// The whole body, refused past `limit` bytes (XML answers are small; object data is
    /// never collected this way).
    pub async fn collect(mut self, limit: usize) -> Result<Bytes, HttpError> {
        let mut out = bytes::BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            if out.len() + chunk.len() > limit {
                return Err(HttpError::BodyTooLarge { limit });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }
}
