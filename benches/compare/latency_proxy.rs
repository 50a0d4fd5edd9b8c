//! A TCP proxy that makes a loopback S3 endpoint answer like S3: each HTTP response starts
//! only after a delay (time to first byte), as S3's 10-100 ms per request.
//!
//! ```text
//! latency-proxy --listen 127.0.0.1:PORT --upstream 127.0.0.1:PORT --delay-ms 30 --jitter-ms 5 \
//!     [--conn-mbps 25]
//! ```
//!
//! For every connection, bytes from the client go upstream at once; the first bytes of each
//! answer are held until DELAY +- JITTER milliseconds (uniform) after the request began, then
//! everything streams at full speed, or at `--conn-mbps` megabytes a second per connection
//! and direction (S3 serves one request at about 85-90 MB/s: a link where more connections
//! bring more throughput). A request begins when the client sends bytes while no answer is
//! pending (HTTP/1.1 keep-alive without pipelining, which every client here uses).
//! Loopback addresses only; runs until killed. Used by `benches/compare/run.sh --latency-ms`
//! and `--conn-mbps`.
//!
//! It replaces a Python asyncio proxy that, on two cores, capped a 256 MiB upload at about
//! 250 MiB/s and spent more CPU per small request than the clients under test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// The copy buffer a direction of a connection starts with: enough for a small request or
/// answer. Hundreds of connections each carrying a few KiB must not cost the machine the
/// clients run on: with 256 KiB zeroed up front per direction, the proxy reached 290 MiB
/// resident and spent its time clearing memory while a client opened 600 connections.
const FIRST_BUFFER: usize = 16 * 1024;
/// The most a copy buffer grows to, doubling whenever a read fills it (large bodies).
const BUFFER: usize = 256 * 1024;

/// Reads what `from` has into `buffer` (cleared first; no bytes zeroed) and grows the
/// buffer for next time when the read filled it. Returns the bytes read, 0 at the end.
async fn read_some(from: &mut OwnedReadHalf, buffer: &mut Vec<u8>) -> std::io::Result<usize> {
    buffer.clear();
    let n = from.read_buf(buffer).await?;
    if n == buffer.capacity() && n < BUFFER {
        buffer.reserve_exact((2 * n).min(BUFFER) - n);
    }
    Ok(n)
}

/// The delay every answer waits for, counted from its request's first byte.
#[derive(Debug, Clone, Copy)]
struct Delay {
    base: Duration,
    jitter: Duration,
}

impl Delay {
    /// `base` +- up to `jitter`, uniform, from a seed that changes with every call.
    fn sample(&self, seed: u64) -> Duration {
        if self.jitter.is_zero() {
            return self.base;
        }
        let unit = (splitmix(seed) >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        let offset = (unit * 2.0 - 1.0) * self.jitter.as_secs_f64();
        Duration::from_secs_f64((self.base.as_secs_f64() + offset).max(0.0))
    }
}

/// Paces one direction of one connection to a rate (no pacing without one).
#[derive(Debug, Clone, Copy)]
struct Pace {
    /// Bytes a second; `None`: as fast as they come.
    rate: Option<f64>,
    /// When the bytes sent so far are due to have been sent.
    due: Option<Instant>,
}

impl Pace {
    fn new(mbps: f64) -> Self {
        let rate = (mbps > 0.0).then_some(mbps * 1e6);
        Self { rate, due: None }
    }

    /// Waits until `n` more bytes may go.
    async fn before(&mut self, n: usize) {
        if let Some(start) = self.schedule(Instant::now(), n) {
            tokio::time::sleep_until(start.into()).await;
        }
    }

    /// When `n` more bytes asked for at `now` may go (`None`: unpaced), and books them.
    fn schedule(&mut self, now: Instant, n: usize) -> Option<Instant> {
        let rate = self.rate?;
        // Idle time earns no credit: a connection that waited starts from now.
        let start = self.due.filter(|due| *due > now).unwrap_or(now);
        self.due = Some(start + Duration::from_secs_f64(n as f64 / rate));
        Some(start)
    }
}

/// SplitMix64: a fast, well-mixed hash of a counter (jitter needs no better).
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// When the request now waiting for its answer began, in microseconds after `epoch` plus
/// one (0: no request pending), shared by a connection's two directions.
#[derive(Debug)]
struct Pending {
    epoch: Instant,
    since: AtomicU64,
}

impl Pending {
    fn mark_if_idle(&self) {
        let now = self.epoch.elapsed().as_micros() as u64 + 1;
        let _ = self
            .since
            .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire);
    }

    fn take(&self) -> Option<Instant> {
        match self.since.swap(0, Ordering::AcqRel) {
            0 => None,
            at => Some(self.epoch + Duration::from_micros(at - 1)),
        }
    }
}

/// Client to upstream: marks when a new request starts.
async fn pump_up(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    pending: Arc<Pending>,
    mut pace: Pace,
) {
    let mut buffer = Vec::with_capacity(FIRST_BUFFER);
    loop {
        let n = match read_some(&mut from, &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.mark_if_idle();
        pace.before(n).await;
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Upstream to client: holds the first bytes of each answer until its delay is over.
async fn pump_down(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    pending: Arc<Pending>,
    delay: Delay,
    seed: u64,
    mut pace: Pace,
) {
    let mut buffer = Vec::with_capacity(FIRST_BUFFER);
    let mut answers = 0u64;
    loop {
        let n = match read_some(&mut from, &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(started) = pending.take() {
            answers += 1;
            tokio::time::sleep_until((started + delay.sample(seed ^ answers)).into()).await;
        }
        pace.before(n).await;
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

async fn handle(client: TcpStream, upstream: SocketAddr, delay: Delay, seed: u64, mbps: f64) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let pending = Arc::new(Pending {
        epoch: Instant::now(),
        since: AtomicU64::new(0),
    });
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        pump_up(client_read, server_write, pending.clone(), Pace::new(mbps)),
        pump_down(
            server_read,
            client_write,
            pending,
            delay,
            seed,
            Pace::new(mbps)
        ),
    );
}

/// `--name value` from the command line, parsed; the usage on anything wrong.
fn option<T: std::str::FromStr>(args: &[String], name: &str, default: Option<T>) -> T {
    let given = args
        .iter()
        .position(|a| a == name)
        .and_then(|at| args.get(at + 1));
    match (given.map(|v| v.parse::<T>()), default) {
        (Some(Ok(value)), _) => value,
        (None, Some(default)) => default,
        _ => usage(&format!("{name} is missing or not valid")),
    }
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "latency-proxy: {problem}\nusage: latency-proxy --listen 127.0.0.1:PORT \
         --upstream 127.0.0.1:PORT [--delay-ms 30] [--jitter-ms 0] [--conn-mbps 0]"
    );
    std::process::exit(2)
}

fn loopback(address: SocketAddr, name: &str) -> SocketAddr {
    if !address.ip().is_loopback() {
        usage(&format!("{name} must be a loopback address"));
    }
    address
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let listen = loopback(option(&args, "--listen", None), "--listen");
    let upstream = loopback(option(&args, "--upstream", None), "--upstream");
    let delay = Delay {
        base: Duration::from_secs_f64(option(&args, "--delay-ms", Some(30.0f64)) / 1000.0),
        jitter: Duration::from_secs_f64(option(&args, "--jitter-ms", Some(0.0f64)) / 1000.0),
    };
    let mbps = option(&args, "--conn-mbps", Some(0.0f64));
    if !(mbps.is_finite() && mbps >= 0.0) {
        usage("--conn-mbps must be a number of megabytes a second (0: no limit)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| usage(&format!("cannot start the runtime: {e}")));
    runtime.block_on(async move {
        // A deep accept queue: clients open hundreds of connections at once, and a handshake
        // dropped from a full queue (128 by default) costs its request a second.
        let listener = (|| {
            let socket = match listen {
                std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
                std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
            };
            socket.set_reuseaddr(true)?;
            socket.bind(listen)?;
            socket.listen(4096)
        })()
        .unwrap_or_else(|e: std::io::Error| usage(&format!("cannot listen on {listen}: {e}")));
        let mut connections = 0u64;
        loop {
            let Ok((client, _)) = listener.accept().await else {
                continue;
            };
            connections += 1;
            let seed = splitmix(connections ^ u64::from(std::process::id()));
            tokio::spawn(handle(client, upstream, delay, seed, mbps));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_bounds_and_spreads_over_them() {
        let delay = Delay {
            base: Duration::from_millis(30),
            jitter: Duration::from_millis(5),
        };
        let samples: Vec<f64> = (0..10_000u64)
            .map(|i| delay.sample(i).as_secs_f64() * 1000.0)
            .collect();
        assert!(samples.iter().all(|ms| (25.0..=35.0).contains(ms)));
        assert!(samples.iter().any(|ms| *ms < 26.0) && samples.iter().any(|ms| *ms > 34.0));
    }

    /// A client connected through a proxy (answers `delay_ms` late, no jitter, no pacing) to
    /// an upstream that serves its one connection with `serve`.
    async fn through_proxy<F>(delay_ms: u64, serve: impl FnOnce(TcpStream) -> F) -> TcpStream
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_address = upstream.local_addr().unwrap();
        let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_address = proxy.local_addr().unwrap();
        let delay = Delay {
            base: Duration::from_millis(delay_ms),
            jitter: Duration::ZERO,
        };
        tokio::spawn(async move {
            let (client, _) = proxy.accept().await.unwrap();
            handle(client, upstream_address, delay, 1, 0.0).await;
        });
        let client = TcpStream::connect(proxy_address).await.unwrap();
        let (socket, _) = upstream.accept().await.unwrap();
        tokio::spawn(serve(socket));
        client
    }

    #[tokio::test]
    async fn an_answer_waits_for_its_delay_after_the_request_began_and_then_streams() {
        let mut client = through_proxy(40, |mut socket| async move {
            let mut request = [0u8; 4];
            for _ in 0..2 {
                socket.read_exact(&mut request).await.unwrap();
                socket.write_all(b"pong").await.unwrap();
            }
        })
        .await;
        for _ in 0..2 {
            let started = Instant::now();
            client.write_all(b"ping").await.unwrap();
            let mut answer = [0u8; 4];
            client.read_exact(&mut answer).await.unwrap();
            assert_eq!(&answer, b"pong");
            assert!(started.elapsed() >= Duration::from_millis(40));
        }
    }

    #[tokio::test]
    async fn a_large_body_crosses_the_proxy_intact_both_ways() {
        // 9 MiB of varied bytes up, the same back: more than the copy buffer holds, so many
        // reads each way, and a request still arriving while the buffer grows.
        let body: Vec<u8> = (0..9 * 1024 * 1024u64).map(|i| splitmix(i) as u8).collect();
        let len = body.len();
        let client = through_proxy(5, move |mut socket| async move {
            let mut echoed = vec![0u8; len];
            socket.read_exact(&mut echoed).await.unwrap();
            socket.write_all(&echoed).await.unwrap();
        })
        .await;
        let (mut reader, mut writer) = client.into_split();
        let sent = body.clone();
        let send = tokio::spawn(async move { writer.write_all(&sent).await.unwrap() });
        let mut answer = vec![0u8; len];
        reader.read_exact(&mut answer).await.unwrap();
        send.await.unwrap();
        assert!(answer == body, "the answer differs from what was sent");
    }

    #[test]
    fn a_paced_connection_moves_no_faster_than_its_rate() {
        // Four 250 kB writes asked for at once at 10 MB/s: each waits for the one before it
        // to have taken its 25 ms; after a pause, the next starts when asked.
        let mut pace = Pace::new(10.0);
        let t0 = Instant::now();
        let starts: Vec<Duration> = (0..4)
            .map(|_| pace.schedule(t0, 250_000).unwrap() - t0)
            .collect();
        let ms = Duration::from_millis;
        assert_eq!(starts, [ms(0), ms(25), ms(50), ms(75)]);
        let later = t0 + ms(500);
        assert_eq!(pace.schedule(later, 1), Some(later));
        assert_eq!(Pace::new(0.0).schedule(t0, usize::MAX), None);
    }
}
