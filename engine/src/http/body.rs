//! Request and response bodies. Requests send bytes (a part in memory is sent in frames, each
//! reported as sent when hyper takes it), a range read a chunk at a time from a
//! [`ChunkSource`] (a file part, never held whole), or a stream; responses are streamed
//! frame by frame with an idle-read timeout, never buffered whole unless the caller asks for
//! a bounded collect.

use super::HttpError;
use super::aws_chunked::{self, Framing, TrailingSum};
use super::bandwidth::{FRAME, RateLimiter};
use crate::checksum::{ChecksumAlgorithm, PartChecksum};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

/// A request body.
#[derive(Debug)]
pub struct RequestBody {
    kind: Kind,
    /// Set under a bandwidth cap: the body is sent in frames of at most [`FRAME`] bytes, each
    /// waiting for its tokens.
    pace: Option<Pace>,
    /// Where sent bytes are reported, and how far into the body this copy has sent.
    sent: Option<(Arc<SentBytes>, u64)>,
    /// When this copy last moved bytes, for stall detection.
    moved: Option<Arc<Moved>>,
}

/// When a request body last had a frame taken by the connection, and whether it is all
/// sent: what [`super::HttpClient::send`] watches to tell a stalled request.
#[derive(Debug)]
pub struct Moved {
    start: tokio::time::Instant,
    /// Milliseconds after `start` of the last movement.
    last: AtomicU64,
    done: std::sync::atomic::AtomicBool,
}

impl Moved {
    /// Movement starts now.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            start: tokio::time::Instant::now(),
            last: AtomicU64::new(0),
            done: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    fn finish(&self) {
        self.touch();
        self.done.store(true, Ordering::Relaxed);
    }

    /// How long since bytes last moved, and whether the whole body has been taken.
    pub fn idle(&self) -> (std::time::Duration, bool) {
        let now = self.start.elapsed().as_millis() as u64;
        let last = self.last.load(Ordering::Relaxed);
        (
            std::time::Duration::from_millis(now.saturating_sub(last)),
            self.done.load(Ordering::Relaxed),
        )
    }
}

/// Reports the bytes of a body as hyper takes its frames to write them out, once each: the
/// copies of one body (retries, a hedge) share one high-water mark, so a byte sent again is
/// not reported again.
pub struct SentBytes {
    high: AtomicU64,
    report: Box<dyn Fn(u64) + Send + Sync>,
}

impl std::fmt::Debug for SentBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentBytes")
            .field("high", &self.high.load(Ordering::Relaxed))
            .finish()
    }
}

impl SentBytes {
    /// Bytes newly sent go to `report`.
    pub fn new(report: impl Fn(u64) + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            high: AtomicU64::new(0),
            report: Box::new(report),
        })
    }

    /// The bytes reported so far (the furthest any copy of the body has reached).
    pub fn reported(&self) -> u64 {
        self.high.load(Ordering::Relaxed)
    }

    /// A copy of the body has sent everything before `end`: reports what no copy had.
    fn reached(&self, end: u64) {
        let before = self.high.fetch_max(end, Ordering::Relaxed);
        if end > before {
            (self.report)(end - before);
        }
    }
}

/// The pacing state of a capped request body.
struct Pace {
    limiter: RateLimiter,
    /// Bytes taken from the source but not yet cut into frames (a large stream chunk).
    rest: Option<Bytes>,
    /// A frame whose tokens are reserved, sent once `sleep` is over.
    held: Option<Bytes>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl std::fmt::Debug for Pace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pace")
            .field("rate", &self.limiter.rate())
            .field("rest", &self.rest.as_ref().map(Bytes::len))
            .field("held", &self.held.as_ref().map(Bytes::len))
            .field("waiting", &self.sleep.is_some())
            .finish()
    }
}

impl Pace {
    fn new(limiter: RateLimiter) -> Self {
        Self {
            limiter,
            rest: None,
            held: None,
            sleep: None,
        }
    }

    fn started(&self) -> bool {
        self.rest.is_some() || self.held.is_some()
    }

    fn pending_len(&self) -> u64 {
        let len = |b: &Option<Bytes>| b.as_ref().map_or(0, |b| b.len() as u64);
        len(&self.rest) + len(&self.held)
    }
}

/// Where a [`RequestBody::chunked`] body reads its bytes: something that can be read again
/// from any offset (a file), a chunk at a time, on the blocking pool.
pub trait ChunkSource: Send + Sync + std::fmt::Debug + 'static {
    /// Exactly `len` bytes from `offset` (blocking; fewer is an error).
    fn read_chunk(&self, offset: u64, len: usize) -> std::io::Result<Bytes>;
}

/// A [`ChunkSource`] failed while its body was being sent. It reaches the caller as
/// [`HttpError::Body`], which is not retried: a retry would read the same source.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceFailed(pub std::io::Error);

/// The message of a [`SourceFailed`] somewhere in `error`'s causes (as hyper wraps a body's
/// error), if there is one.
pub(crate) fn source_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(failed) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<SourceFailed>())
        {
            return Some(failed.to_string());
        }
        cause = error.source();
    }
    None
}

/// The chunk size of [`RequestBody::chunked`].
pub const CHUNK: usize = 512 * 1024;

/// Chunks of a [`RequestBody::chunked`] body read ahead of the one being sent: the body holds
/// at most this many plus the one hyper is writing.
const CHUNKS_AHEAD: usize = 1;

/// The most memory a [`RequestBody::chunked`] body holds at once.
pub const CHUNKED_MEMORY: u64 = ((CHUNKS_AHEAD + 1) * CHUNK) as u64;

/// A chunk being read, with its checksum when the body sends one as a trailer.
type ChunkRead = tokio::task::JoinHandle<std::io::Result<(Bytes, Option<PartChecksum>)>>;

#[derive(Debug)]
enum Kind {
    Full(Option<Bytes>),
    /// A file part in memory, sent in frames of [`PART_FRAME`] bytes (slices, not copies).
    Part {
        data: Bytes,
        sent: usize,
    },
    /// A range of a [`ChunkSource`], read [`CHUNK`] bytes at a time while being sent.
    Chunked {
        source: Arc<dyn ChunkSource>,
        /// Where the range starts.
        start: u64,
        /// Bytes before this were handed to hyper.
        sent: u64,
        /// Where the next read starts.
        next_read: u64,
        end: u64,
        reads: VecDeque<ChunkRead>,
        /// Sent aws-chunked with its checksum as a trailer (see [`aws_chunked`]).
        framing: Option<Box<Framing>>,
    },
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
            pace: None,
            sent: None,
            moved: None,
        }
    }

    /// Bytes in memory (cheaply cloneable, so retries resend without copying).
    pub fn bytes(bytes: Bytes) -> Self {
        Self {
            kind: Kind::Full(Some(bytes)),
            pace: None,
            sent: None,
            moved: None,
        }
    }

    /// A file part read into memory, sent in frames of [`PART_FRAME`] bytes (slices of
    /// `data`; a retry sends the same bytes again without copying them).
    pub fn part(data: Bytes) -> Self {
        Self {
            kind: Kind::Part { data, sent: 0 },
            pace: None,
            sent: None,
            moved: None,
        }
    }

    /// Bytes `range` of `source`, read [`CHUNK`] bytes at a time on the blocking pool while
    /// the body is sent (one chunk read ahead): a part is never held whole, so memory per
    /// request is [`CHUNKED_MEMORY`] however large the part. A retry reads the range again.
    pub fn chunked(source: Arc<dyn ChunkSource>, range: std::ops::Range<u64>) -> Self {
        Self {
            kind: Kind::Chunked {
                source,
                start: range.start,
                sent: range.start,
                next_read: range.start,
                end: range.end.max(range.start),
                reads: VecDeque::new(),
                framing: None,
            },
            pace: None,
            sent: None,
            moved: None,
        }
    }

    /// The same [`RequestBody::chunked`] body, sent aws-chunked with its `algorithm` checksum
    /// as a trailer (summed as it is read: the range is read once), the sum left in `sum`
    /// once sent. Send it with [`RequestBody::aws_chunked`]'s headers. Any other body, or an
    /// algorithm whose chunk sums do not combine ([`aws_chunked::can_trail`]), is returned
    /// unchanged.
    pub fn with_trailing_checksum(
        mut self,
        algorithm: ChecksumAlgorithm,
        sum: TrailingSum,
    ) -> Self {
        if let Kind::Chunked {
            start,
            end,
            framing,
            ..
        } = &mut self.kind
            && aws_chunked::can_trail(algorithm)
        {
            *framing = Some(Box::new(Framing::new(
                algorithm,
                *end - *start,
                CHUNK as u64,
                sum,
            )));
        }
        self
    }

    /// For a body sent aws-chunked: its checksum algorithm and decoded length (the bytes of
    /// the range, for `x-amz-decoded-content-length`).
    pub fn aws_chunked(&self) -> Option<(ChecksumAlgorithm, u64)> {
        match &self.kind {
            Kind::Chunked {
                start,
                end,
                framing: Some(framing),
                ..
            } => Some((framing.algorithm(), end - start)),
            _ => None,
        }
    }

    /// The same body, recording in `moved` when each frame is taken and when it is all sent.
    pub fn watched(mut self, moved: Arc<Moved>) -> Self {
        if self.is_end_stream() {
            moved.finish();
        }
        self.moved = Some(moved);
        self
    }

    /// The same body, reporting its bytes to `sent` as hyper takes each frame to send it
    /// (shared by every copy of the body: bytes sent again by a retry are not reported
    /// twice).
    pub fn reporting(mut self, sent: Arc<SentBytes>) -> Self {
        self.sent = Some((sent, 0));
        self
    }

    /// A stream of `length` bytes in total, fed through the returned sender.
    pub fn stream(
        length: u64,
        buffer: usize,
    ) -> (mpsc::Sender<Result<Bytes, std::io::Error>>, Self) {
        let (tx, rx) = mpsc::channel(buffer.max(1));
        let body = Self {
            kind: Kind::Stream { chunks: rx, length },
            pace: None,
            sent: None,
            moved: None,
        };
        (tx, body)
    }

    /// The same body, sent in frames of at most 64 KiB that each wait for their share of
    /// `limiter`'s budget. The frames are slices of the original bytes (no copies).
    pub fn paced(mut self, limiter: RateLimiter) -> Self {
        self.pace = Some(Pace::new(limiter));
        self
    }

    /// The body's length in bytes (for an in-memory body, what is left to send).
    pub fn len(&self) -> u64 {
        match &self.kind {
            Kind::Full(bytes) => {
                bytes.as_ref().map_or(0, |b| b.len() as u64)
                    + self.pace.as_ref().map_or(0, Pace::pending_len)
            }
            Kind::Part { data, sent } => {
                (data.len() - sent) as u64 + self.pace.as_ref().map_or(0, Pace::pending_len)
            }
            Kind::Chunked {
                framing: Some(framing),
                ..
            } => framing.left() + self.pace.as_ref().map_or(0, Pace::pending_len),
            Kind::Chunked { sent, end, .. } => {
                end - sent + self.pace.as_ref().map_or(0, Pace::pending_len)
            }
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
            Kind::Part { data, sent } => Some(&data[*sent..]),
            Kind::Chunked { .. } | Kind::Stream { .. } => None,
        }
    }

    /// A copy for a retry, when the body can be replayed (bytes and chunked ranges can, until
    /// paced sending has begun; a stream cannot).
    pub fn try_clone(&self) -> Option<Self> {
        let kind = match &self.kind {
            Kind::Full(bytes) => Kind::Full(bytes.clone()),
            Kind::Part { data, sent } => Kind::Part {
                data: data.clone(),
                sent: *sent,
            },
            Kind::Chunked {
                source,
                start,
                sent,
                end,
                framing,
                ..
            } => {
                // A framed body is sent again from its start: the framing and the sum cover
                // the whole range.
                let from = if framing.is_some() { *start } else { *sent };
                Kind::Chunked {
                    source: source.clone(),
                    start: *start,
                    sent: from,
                    next_read: from,
                    end: *end,
                    reads: VecDeque::new(),
                    framing: framing
                        .as_ref()
                        .map(|f| Box::new(f.restarted(*end - *start, CHUNK as u64))),
                }
            }
            Kind::Stream { .. } => return None,
        };
        let pace = match &self.pace {
            Some(pace) if pace.started() => return None,
            Some(pace) => Some(Pace::new(pace.limiter.clone())),
            None => None,
        };
        Some(Self {
            kind,
            pace,
            sent: self.sent.clone(),
            moved: None,
        })
    }

    /// The next piece of the source, unpaced.
    fn poll_source(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        match &mut self.kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(Ok)),
            Kind::Part { data, sent } => {
                let start = *sent;
                let end = data.len().min(start + PART_FRAME);
                if start == end {
                    return Poll::Ready(None);
                }
                *sent = end;
                Poll::Ready(Some(Ok(data.slice(start..end))))
            }
            Kind::Chunked {
                source,
                sent,
                next_read,
                end,
                reads,
                framing,
                ..
            } => {
                if let Some(frame) = framing.as_mut().and_then(|f| f.next_pending()) {
                    return Poll::Ready(Some(Ok(frame)));
                }
                let algorithm = framing.as_ref().map(|f| f.algorithm());
                let read_ahead = |reads: &mut VecDeque<ChunkRead>, next_read: &mut u64| {
                    while reads.len() <= CHUNKS_AHEAD && *next_read < *end {
                        let (source, offset) = (source.clone(), *next_read);
                        let len = (*end - offset).min(CHUNK as u64) as usize;
                        reads.push_back(tokio::task::spawn_blocking(move || {
                            let chunk = source.read_chunk(offset, len)?;
                            let sum = algorithm.map(|a| aws_chunked::chunk_sum(a, &chunk));
                            Ok((chunk, sum))
                        }));
                        *next_read += len as u64;
                    }
                };
                read_ahead(reads, next_read);
                let Some(front) = reads.front_mut() else {
                    return Poll::Ready(framing.as_mut().and_then(|f| f.finish()).map(Ok));
                };
                let chunk = match ready!(Pin::new(front).poll(cx)) {
                    Ok(chunk) => chunk,
                    Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
                    Err(join) => Err(std::io::Error::other(join)),
                };
                reads.pop_front();
                let (chunk, sum) = match chunk {
                    Ok(read) => read,
                    Err(e) => {
                        reads.clear();
                        *next_read = *end;
                        *sent = *end;
                        return Poll::Ready(Some(Err(std::io::Error::other(SourceFailed(e)))));
                    }
                };
                *sent += chunk.len() as u64;
                read_ahead(reads, next_read);
                match (framing, sum) {
                    (Some(framing), Some(sum)) => Poll::Ready(Some(Ok(framing.chunk(chunk, sum)))),
                    _ => Poll::Ready(Some(Ok(chunk))),
                }
            }
            Kind::Stream { chunks, .. } => chunks.poll_recv(cx),
        }
    }
}

/// The frame size of [`RequestBody::part`]: progress moves a frame at a time.
pub const PART_FRAME: usize = 1024 * 1024;

impl Body for RequestBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        let polled = match this.pace.take() {
            None => this
                .poll_source(cx)
                .map(|next| next.map(|chunk| chunk.map(Frame::data))),
            Some(mut pace) => {
                let polled = this.poll_paced(&mut pace, cx);
                this.pace = Some(pace);
                polled
            }
        };
        if let (Poll::Ready(Some(Ok(frame))), Some((sent, at))) = (&polled, &mut this.sent)
            && let Some(data) = frame.data_ref()
        {
            *at += data.len() as u64;
            // An aws-chunked body's framing is not the caller's bytes: never report past them.
            let payload = match &this.kind {
                Kind::Chunked {
                    start,
                    end,
                    framing: Some(_),
                    ..
                } => end - start,
                _ => u64::MAX,
            };
            sent.reached((*at).min(payload));
        }
        if let Some(moved) = &this.moved {
            match &polled {
                Poll::Ready(None) => moved.finish(),
                Poll::Ready(Some(_)) if this.is_end_stream() => moved.finish(),
                Poll::Ready(Some(_)) => moved.touch(),
                Poll::Pending => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let drained = match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Part { data, sent } => *sent == data.len(),
            Kind::Chunked {
                framing: Some(framing),
                ..
            } => framing.left() == 0,
            Kind::Chunked { sent, end, .. } => sent == end,
            Kind::Stream { .. } => false,
        };
        drained && !self.pace.as_ref().is_some_and(Pace::started)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len())
    }
}

impl RequestBody {
    /// One paced frame: the held frame once its wait is over, else the next slice of the
    /// source with its tokens reserved.
    fn poll_paced(
        &mut self,
        pace: &mut Pace,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        loop {
            if let Some(sleep) = &mut pace.sleep {
                ready!(sleep.as_mut().poll(cx));
                pace.sleep = None;
            }
            if let Some(frame) = pace.held.take() {
                return Poll::Ready(Some(Ok(Frame::data(frame))));
            }
            let mut piece = match pace.rest.take() {
                Some(rest) => rest,
                None => match ready!(self.poll_source(cx)) {
                    None => return Poll::Ready(None),
                    Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                    Some(Ok(piece)) => piece,
                },
            };
            if piece.len() > FRAME {
                pace.rest = Some(piece.split_off(FRAME));
            }
            let wait = pace.limiter.reserve(piece.len() as u64);
            if wait.is_zero() {
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
            pace.held = Some(piece);
            pace.sleep = Some(Box::pin(tokio::time::sleep(wait)));
        }
    }
}

/// A streamed response body with an idle-read timeout between frames, paced under a
/// bandwidth cap.
#[derive(Debug)]
pub struct ResponseBody {
    incoming: hyper::body::Incoming,
    idle_timeout: Duration,
    limiter: Option<RateLimiter>,
    /// A chunk received under a cap, handed out once its tokens are due (kept here so that a
    /// cancelled `chunk` loses nothing).
    held: Option<(Bytes, Instant)>,
}

impl ResponseBody {
    pub(crate) fn new(
        incoming: hyper::body::Incoming,
        idle_timeout: Duration,
        limiter: Option<RateLimiter>,
    ) -> Self {
        Self {
            incoming,
            idle_timeout,
            limiter,
            held: None,
        }
    }

    /// The next chunk of data, `None` at the end. Fails if the connection breaks or stays
    /// silent longer than the idle timeout. Under a bandwidth cap, waits for each chunk's
    /// share of the budget (that wait does not count as silence).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, HttpError> {
        if self.held.is_none() {
            let Some(data) = self.next_data().await? else {
                return Ok(None);
            };
            let Some(limiter) = &self.limiter else {
                return Ok(Some(data));
            };
            let due = Instant::now() + limiter.reserve(data.len() as u64);
            self.held = Some((data, due));
        }
        if let Some((_, due)) = &self.held {
            tokio::time::sleep_until(*due).await;
        }
        Ok(self.held.take().map(|(data, _)| data))
    }

    async fn next_data(&mut self) -> Result<Option<Bytes>, HttpError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::sync::Mutex;

    async fn drain(mut body: RequestBody) -> usize {
        let mut frames = 0;
        while let Some(frame) = body.frame().await {
            frame.expect("a part body does not fail");
            frames += 1;
        }
        frames
    }

    #[tokio::test]
    async fn a_part_reports_each_frame_as_taken_and_a_resend_reports_nothing_twice() {
        let len = 3 * PART_FRAME + 123;
        let reports = Arc::new(Mutex::new(Vec::new()));
        let sink = reports.clone();
        let sent = SentBytes::new(move |n| sink.lock().unwrap().push(n));
        let body = RequestBody::part(Bytes::from(vec![7u8; len])).reporting(sent.clone());
        let first = body.try_clone().expect("a part can be replayed");
        let again = body.try_clone().expect("a part can be replayed");
        assert_eq!(drain(first).await, 4);
        assert_eq!(
            *reports.lock().unwrap(),
            [PART_FRAME as u64, PART_FRAME as u64, PART_FRAME as u64, 123]
        );
        assert_eq!(drain(again).await, 4, "the resend sends every frame");
        assert_eq!(reports.lock().unwrap().len(), 4, "but reports none again");
        assert_eq!(sent.reported(), len as u64);
    }

    /// A source over bytes in memory that counts its reads and fails past `fail_from`.
    #[derive(Debug)]
    struct Counted {
        data: Vec<u8>,
        reads: std::sync::atomic::AtomicUsize,
        fail_from: u64,
    }

    impl ChunkSource for Counted {
        fn read_chunk(&self, offset: u64, len: usize) -> std::io::Result<Bytes> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            if offset + len as u64 > self.fail_from {
                return Err(std::io::Error::other("changed while being read"));
            }
            let at = offset as usize;
            Ok(Bytes::copy_from_slice(&self.data[at..at + len]))
        }
    }

    /// A source over `data` that fails its reads past `fail_from`.
    fn counted(data: Vec<u8>, fail_from: u64) -> Arc<Counted> {
        Arc::new(Counted {
            data,
            reads: Default::default(),
            fail_from,
        })
    }

    async fn collect(mut body: RequestBody) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                assert!(data.len() <= CHUNK, "a frame is at most one chunk");
                out.extend_from_slice(&data);
            }
        }
        Ok(out)
    }

    #[tokio::test]
    async fn a_chunked_body_sends_its_range_a_chunk_at_a_time_and_a_retry_reads_it_again() {
        let data: Vec<u8> = (0..3 * CHUNK + 777).map(|i| (i % 251) as u8).collect();
        let source = counted(data.clone(), u64::MAX);
        let range = 1000..(data.len() as u64 - 5);
        let body = RequestBody::chunked(source.clone(), range.clone());
        assert_eq!(body.len(), range.end - range.start);
        let retry = body.try_clone().expect("a chunked body can be replayed");
        let expected = &data[range.start as usize..range.end as usize];
        assert_eq!(collect(body).await.unwrap(), expected);
        let reads = source.reads.load(Ordering::Relaxed);
        assert_eq!(reads, expected.len().div_ceil(CHUNK));
        assert_eq!(
            collect(retry).await.unwrap(),
            expected,
            "the retry sends it all"
        );
        assert_eq!(source.reads.load(Ordering::Relaxed), 2 * reads);
    }

    /// Decodes an aws-chunked body: its data and its trailer lines.
    fn decode_aws_chunked(mut encoded: &[u8]) -> (Vec<u8>, Vec<String>) {
        let mut data = Vec::new();
        loop {
            let line_end = encoded
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("a size line");
            let size =
                usize::from_str_radix(std::str::from_utf8(&encoded[..line_end]).unwrap(), 16)
                    .expect("a hex size");
            encoded = &encoded[line_end + 2..];
            if size == 0 {
                break;
            }
            data.extend_from_slice(&encoded[..size]);
            assert_eq!(
                &encoded[size..size + 2],
                b"\r\n",
                "each chunk ends with CRLF"
            );
            encoded = &encoded[size + 2..];
        }
        let text = std::str::from_utf8(encoded).unwrap();
        assert!(
            text.ends_with("\r\n\r\n"),
            "the trailer ends with an empty line"
        );
        let trailers = text.trim_end().split("\r\n").map(str::to_owned).collect();
        (data, trailers)
    }

    #[tokio::test]
    async fn a_chunked_body_with_a_trailing_checksum_frames_its_range_and_sums_it_as_sent() {
        let data: Vec<u8> = (0..2 * CHUNK + 4321).map(|i| (i % 253) as u8).collect();
        let source = counted(data.clone(), u64::MAX);
        let range = 17..data.len() as u64;
        let expected = &data[17..];
        let algorithm = ChecksumAlgorithm::Crc64Nvme;
        let slot = TrailingSum::new();
        let body = RequestBody::chunked(source.clone(), range.clone())
            .with_trailing_checksum(algorithm, slot.clone());
        assert_eq!(body.aws_chunked(), Some((algorithm, expected.len() as u64)));
        let declared = body.len();
        assert_eq!(
            declared,
            aws_chunked::encoded_len(algorithm, expected.len() as u64, CHUNK as u64)
        );
        let retry = body.try_clone().expect("a framed body can be replayed");
        let mut encoded = Vec::new();
        let mut body = body;
        while let Some(frame) = body.frame().await {
            encoded.extend_from_slice(&frame.unwrap().into_data().unwrap());
            assert_eq!(
                body.len(),
                declared - encoded.len() as u64,
                "len() is what is left"
            );
        }
        assert!(body.is_end_stream());
        assert_eq!(encoded.len() as u64, declared, "Content-Length is exact");
        assert_eq!(
            source.reads.load(Ordering::Relaxed),
            expected.len().div_ceil(CHUNK),
            "read once"
        );
        let (decoded, trailers) = decode_aws_chunked(&encoded);
        assert_eq!(decoded, expected);
        let sum = crate::checksum::checksum_of(algorithm, expected);
        assert_eq!(
            trailers,
            [format!("x-amz-checksum-crc64nvme:{}", sum.base64())]
        );
        assert_eq!(slot.get(), Some(sum));
        let again = collect(retry).await.unwrap();
        assert_eq!(
            again, encoded,
            "a retry sends the same framing from the start"
        );
    }

    #[tokio::test]
    async fn a_chunked_body_whose_source_fails_ends_with_that_error() {
        let source = counted(vec![1; 4 * CHUNK], 2 * CHUNK as u64);
        let body = RequestBody::chunked(source, 0..4 * CHUNK as u64);
        let error = collect(body)
            .await
            .expect_err("the read error reaches hyper");
        assert!(error.to_string().contains("changed while being read"));
    }
}
