//! Hedging of stragglers: a part request that has taken longer than nearly all the part
//! requests before it, and that the requests beside it have overtaken, is sent a second
//! time, and whichever answer comes first wins (the other request is dropped, closing its
//! connection).
//!
//! Parts are idempotent (an UploadPart of the same number and bytes, a ranged GET), so a
//! duplicate is harmless; what it buys is the tail: one slow connection no longer holds up
//! a whole multipart transfer. As in AWS's Rust transfer manager, the threshold is a high
//! quantile of the recent latencies of the same kind of request, and none is hedged until
//! enough have finished to know what slow means. Unlike it, the threshold is also at least
//! twice the median ([`HedgeConfig::median_factor`]): a quantile alone marks its share of
//! requests slow however alike they are, and where the client's own CPU or disk sets the
//! pace (every request a little slower than the last) that hedged up to a fifth of a
//! 1 GiB download's ranges, each hedge a duplicate GET held in memory, for nothing.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// When and how much to hedge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HedgeConfig {
    /// A request slower than this quantile of the recent ones is hedged (0.95: the slowest
    /// 5%).
    pub quantile: f64,
    /// No hedging until this many requests have finished.
    pub min_samples: usize,
    /// A request is never hedged sooner than this.
    pub min_delay: Duration,
    /// Nor sooner than this many times the median of the recent latencies (2.0: a request
    /// is a straggler once it has taken twice as long as a typical one).
    pub median_factor: f64,
    /// Hedges in flight at once (at least 1); a request that passes its threshold while
    /// they are all taken runs on, and is looked at again a few times a threshold (a slot
    /// may be free by then). When every request in flight slows down at
    /// once, the cause is shared (the link, the store, the client's own CPU or disk) and a
    /// duplicate of each only adds to it: without this bound, one such stall of a 1 GiB
    /// download on loopback sent 15 duplicate GETs together, 8 MiB each held in memory.
    /// The engine allows one per 16 parts in flight where that is more.
    pub max_in_flight: usize,
}

impl Default for HedgeConfig {
    fn default() -> Self {
        Self {
            quantile: 0.95,
            min_samples: 16,
            min_delay: Duration::from_millis(50),
            median_factor: 2.0,
            max_in_flight: 1,
        }
    }
}

/// How many recent latencies the quantile is taken over.
const WINDOW: usize = 256;

/// Latencies of one kind of request, and the hedges sent.
#[derive(Debug)]
pub struct Hedger {
    config: HedgeConfig,
    recent: Mutex<Recent>,
    hedged: AtomicU64,
    /// One permit per hedge that may be in flight ([`HedgeConfig::max_in_flight`]).
    slots: Semaphore,
    /// Requests running now (hedged or not).
    running: AtomicU64,
    /// Requests finished so far, successful or not.
    finished: AtomicU64,
}

#[derive(Debug, Default)]
struct Recent {
    latencies: Vec<Duration>,
    next: usize,
}

impl Hedger {
    /// A hedger with `config`.
    pub fn new(config: HedgeConfig) -> Self {
        Self {
            config,
            recent: Mutex::new(Recent::default()),
            hedged: AtomicU64::new(0),
            slots: Semaphore::new(config.max_in_flight.clamp(1, Semaphore::MAX_PERMITS)),
            running: AtomicU64::new(0),
            finished: AtomicU64::new(0),
        }
    }

    /// Second requests sent so far.
    pub fn hedged(&self) -> u64 {
        self.hedged.load(Ordering::Relaxed)
    }

    /// How long a request may run before it is hedged; `None` while too few have finished.
    pub fn threshold(&self) -> Option<Duration> {
        let sorted = self.sorted_latencies();
        if sorted.len() < self.config.min_samples.max(1) {
            return None;
        }
        let rank = ((sorted.len() as f64) * self.config.quantile).ceil() as usize;
        let at = sorted[rank.clamp(1, sorted.len()) - 1];
        let typical = median_of(&sorted).mul_f64(self.config.median_factor.max(0.0));
        Some(at.max(typical).max(self.config.min_delay))
    }

    /// The median of the recent latencies (zero before any).
    fn median(&self) -> Duration {
        median_of(&self.sorted_latencies())
    }

    /// The recent latencies, shortest first.
    fn sorted_latencies(&self) -> Vec<Duration> {
        let mut sorted = {
            let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            recent.latencies.clone()
        };
        sorted.sort_unstable();
        sorted
    }

    fn record(&self, latency: Duration) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.latencies.len() < WINDOW {
            recent.latencies.push(latency);
        } else {
            let at = recent.next;
            recent.latencies[at] = latency;
        }
        recent.next = (recent.next + 1) % WINDOW;
    }

    /// Runs the request `send` makes; if it has not answered by the threshold, sends it
    /// again and takes whichever succeeds first (if the first to finish fails, the other is
    /// still awaited). Successful latencies feed the threshold.
    pub async fn run<T, E, F, Fut>(&self, send: F) -> Result<T, E>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.race(send(), &send).await
    }

    /// Runs `first`; if it has not finished by the threshold, and the other requests have
    /// overtaken it ([`Self::overtaken`]), starts `second()` beside it and takes whichever
    /// succeeds first (if the first to finish fails, the other is still awaited). The loser
    /// is dropped. The two may differ in how they deliver (a download's hedge buffers its
    /// range instead of writing it), not in what they fetch.
    pub async fn race<T, E, A, B>(&self, first: A, second: impl FnOnce() -> B) -> Result<T, E>
    where
        A: Future<Output = Result<T, E>>,
        B: Future<Output = Result<T, E>>,
    {
        self.race_when(first, second, |_| true).await
    }

    /// Like [`Self::race`], hedging only when `worth` says so, given how long the first
    /// request has run and the median of the recent latencies ([`Progress`]): a request
    /// that can tell how far it got hedges only where a new one would likely finish first.
    pub async fn race_when<T, E, A, B>(
        &self,
        first: A,
        second: impl FnOnce() -> B,
        worth: impl Fn(Progress) -> bool,
    ) -> Result<T, E>
    where
        A: Future<Output = Result<T, E>>,
        B: Future<Output = Result<T, E>>,
    {
        let started = Instant::now();
        let running = Running::start(self);
        let result = match self.threshold() {
            None => first.await,
            Some(threshold) => {
                tokio::pin!(first);
                let mut wait = threshold;
                // Bounded by `first`: each turn waits for it, and ends the loop when it ends.
                loop {
                    tokio::select! {
                        // The request first: one answering just at the threshold is not hedged.
                        biased;
                        result = &mut first => break result,
                        () = tokio::time::sleep(wait) => {}
                    }
                    // Looked at again a few times a threshold: a shared slowdown may pass and
                    // leave this request behind the others.
                    wait = (threshold / 4).max(self.config.min_delay);
                    if !self.overtaken(&running) {
                        continue;
                    }
                    let progress = Progress {
                        elapsed: started.elapsed(),
                        median: self.median(),
                    };
                    if !worth(progress) {
                        continue;
                    }
                    // Every hedge slot taken: the slowness is likely shared.
                    let Ok(_slot) = self.slots.try_acquire() else {
                        continue;
                    };
                    self.hedged.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(?threshold, "part request is slow; sending it again");
                    let second = second();
                    tokio::pin!(second);
                    break tokio::select! {
                        result = &mut first => match result {
                            Ok(value) => Ok(value),
                            Err(_) => second.await,
                        },
                        result = &mut second => match result {
                            Ok(value) => Ok(value),
                            Err(_) => first.await,
                        },
                    };
                }
            }
        };
        drop(running);
        if result.is_ok() {
            self.record(started.elapsed());
        }
        result
    }

    /// Whether the requests running beside `this` one have overtaken it: at least as many
    /// requests finished since it started as run beside it now. A straggler (a slow
    /// connection, a slow server) is passed by the others; where every request slowed down
    /// together (the link, the store, the client's own CPU or disk), few finish, and a
    /// duplicate would only add to the load and hold its range in memory: after a large
    /// process's exit on a VM, every range slowed by degrees and a 1 GiB download sent
    /// 11–18 hedges of 8 MiB each.
    fn overtaken(&self, this: &Running<'_>) -> bool {
        let finished = self.finished.load(Ordering::Relaxed) - this.finished_before;
        let beside = self.running.load(Ordering::Relaxed).saturating_sub(1);
        finished >= beside
    }
}

/// The median of `sorted` latencies (zero when there are none).
fn median_of(sorted: &[Duration]) -> Duration {
    sorted
        .get(sorted.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default()
}

/// Where a request stands when it is looked at for a hedge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// How long it has run.
    pub elapsed: Duration,
    /// The median of the recent latencies of its kind.
    pub median: Duration,
}

impl Progress {
    /// Whether a request that has moved `done` of its `len` bytes in [`Self::elapsed`]
    /// would, at that rate, still take longer than a new request typically takes (the
    /// median): only then is a hedge likely to finish first. After a large process's exit
    /// on a VM, ranges slowed down unevenly and those that had moved most of their bytes
    /// were hedged all the same (6–20 hedges of 8 MiB in a 1 GiB download, none of use).
    pub fn behind(&self, done: u64, len: u64) -> bool {
        if done == 0 {
            return true;
        }
        let left = len.saturating_sub(done) as f64;
        let rest = self.elapsed.as_secs_f64() * left / done as f64;
        rest > self.median.as_secs_f64()
    }
}

/// One request counted as running from its start, and as finished when dropped.
struct Running<'a> {
    hedger: &'a Hedger,
    finished_before: u64,
}

impl<'a> Running<'a> {
    fn start(hedger: &'a Hedger) -> Self {
        hedger.running.fetch_add(1, Ordering::Relaxed);
        Self {
            hedger,
            finished_before: hedger.finished.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.hedger.finished.fetch_add(1, Ordering::Relaxed);
        self.hedger.running.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn hedger(min_samples: usize) -> Hedger {
        Hedger::new(HedgeConfig {
            quantile: 0.95,
            min_samples,
            min_delay: Duration::from_millis(1),
            median_factor: 0.0,
            max_in_flight: usize::MAX,
        })
    }

    #[test]
    fn the_threshold_is_the_quantile_of_recent_latencies_once_there_are_enough() {
        let h = hedger(10);
        for ms in 1..=9 {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.threshold(), None);
        h.record(Duration::from_millis(10));
        for ms in 11..=100 {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.threshold(), Some(Duration::from_millis(95)));
    }

    #[test]
    fn the_threshold_is_never_below_twice_the_median() {
        let h = Hedger::new(HedgeConfig {
            min_delay: Duration::from_millis(1),
            ..HedgeConfig::default()
        });
        // Requests alike (the client's own pace): the quantile alone would hedge the
        // slowest 5% of them at 105 ms.
        for ms in 90..=110 {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.threshold(), Some(Duration::from_millis(200)));
        // A long tail: the quantile is past twice the median and decides.
        for _ in 0..5 {
            h.record(Duration::from_secs(5));
        }
        assert_eq!(h.threshold(), Some(Duration::from_secs(5)));
    }

    #[tokio::test(start_paused = true)]
    async fn requests_that_slow_down_together_are_not_hedged() {
        let h = Hedger::new(HedgeConfig {
            min_samples: 1,
            min_delay: Duration::from_millis(1),
            max_in_flight: 8,
            ..HedgeConfig::default()
        });
        h.record(Duration::from_millis(10));
        let calls = AtomicUsize::new(0);
        // Eight requests at once, each taking a second, a hundred times the usual: a shared
        // stall, in which none overtakes another.
        let requests = (0..8).map(|_| {
            h.run(|| {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Ok::<_, ()>(())
                }
            })
        });
        let results = futures_util::future::join_all(requests).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(h.hedged(), 0);
        assert_eq!(calls.load(Ordering::SeqCst), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_hedges_are_in_flight_than_allowed() {
        let h = Hedger::new(HedgeConfig {
            min_samples: 1,
            min_delay: Duration::from_millis(1),
            max_in_flight: 2,
            ..HedgeConfig::default()
        });
        h.record(Duration::from_millis(10));
        let (hedges, most_hedges) = (AtomicUsize::new(0), AtomicUsize::new(0));
        // Four stragglers (and their hedges) take a second; sixteen requests beside them
        // finish in 10 ms and overtake them.
        let stragglers = (0..4).map(|_| {
            h.race(
                async {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Ok::<_, ()>(())
                },
                || async {
                    let now = hedges.fetch_add(1, Ordering::SeqCst) + 1;
                    most_hedges.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    hedges.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                },
            )
        });
        let quick = (0..16).map(|_| {
            h.run(|| async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok::<_, ()>(())
            })
        });
        let (stragglers, quick) = futures_util::future::join(
            futures_util::future::join_all(stragglers),
            futures_util::future::join_all(quick),
        )
        .await;
        assert!(stragglers.iter().chain(&quick).all(Result::is_ok));
        assert_eq!(most_hedges.load(Ordering::SeqCst), 2, "two hedge slots");
        assert!(h.hedged() >= 2);
        assert_eq!(h.slots.available_permits(), 2, "the slots are given back");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_left_behind_once_a_shared_stall_passes_is_hedged() {
        let h = Hedger::new(HedgeConfig {
            min_samples: 1,
            min_delay: Duration::from_millis(1),
            max_in_flight: 4,
            ..HedgeConfig::default()
        });
        h.record(Duration::from_millis(10));
        let calls = AtomicUsize::new(0);
        // Four requests stall together for 100 ms; one of them then hangs for an hour
        // (its hedge answers in 10 ms), while the others finish.
        let requests = (0..4).map(|i| {
            let calls = &calls;
            h.run(move || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    let wait = match (i, n < 4) {
                        (0, true) => 3_600_000,
                        (_, true) => 100,
                        (_, false) => 10,
                    };
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    Ok::<_, ()>(i)
                }
            })
        });
        let results = futures_util::future::join_all(requests).await;
        assert_eq!(results, vec![Ok(0), Ok(1), Ok(2), Ok(3)]);
        assert_eq!(h.hedged(), 1, "only the one left behind");
        assert_eq!(calls.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn a_request_is_behind_when_its_rest_at_its_rate_outlasts_a_new_one() {
        let progress = Progress {
            elapsed: Duration::from_millis(300),
            median: Duration::from_millis(150),
        };
        assert!(
            progress.behind(0, 100),
            "nothing moved: a new request is the better bet"
        );
        assert!(
            progress.behind(50, 100),
            "half in 300 ms: 300 ms more, against 150"
        );
        assert!(
            !progress.behind(70, 100),
            "70% in 300 ms: about 130 ms more"
        );
        assert!(!progress.behind(100, 100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_is_not_hedged_where_it_is_not_worth_it() {
        let h = hedger(1);
        h.record(Duration::from_millis(10));
        let seen = std::sync::Mutex::new(Vec::new());
        let result: Result<&str, &str> = h
            .race_when(
                async {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    Ok("first")
                },
                || async { Ok("hedge") },
                |progress| {
                    seen.lock().unwrap().push(progress);
                    false
                },
            )
            .await;
        assert_eq!(result, Ok("first"));
        assert_eq!(h.hedged(), 0);
        let seen = seen.into_inner().unwrap();
        assert!(seen.len() > 1, "asked again while the request ran");
        assert_eq!(seen[0].median, Duration::from_millis(10));
        assert!(seen.windows(2).all(|w| w[0].elapsed < w[1].elapsed));
    }

    #[test]
    fn the_window_forgets_old_latencies() {
        let h = hedger(1);
        for _ in 0..WINDOW {
            h.record(Duration::from_secs(10));
        }
        for _ in 0..WINDOW {
            h.record(Duration::from_millis(5));
        }
        assert_eq!(h.threshold(), Some(Duration::from_millis(5)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_straggler_is_sent_again_and_the_faster_answer_wins() {
        let h = hedger(4);
        for _ in 0..4 {
            h.record(Duration::from_millis(100));
        }
        let calls = AtomicUsize::new(0);
        let result: Result<usize, ()> = h
            .run(|| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    // The first request hangs for an hour; the hedge answers in 100 ms.
                    let wait = if n == 0 { 3_600_000 } else { 100 };
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    Ok(n)
                }
            })
            .await;
        assert_eq!(result, Ok(1));
        assert_eq!(h.hedged(), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_are_not_hedged_before_enough_samples_or_when_fast() {
        let h = hedger(4);
        let calls = AtomicUsize::new(0);
        for _ in 0..6 {
            let result: Result<(), ()> = h
                .run(|| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok(())
                    }
                })
                .await;
            assert!(result.is_ok());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 6);
        assert_eq!(h.hedged(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_hedge_leaves_the_first_request_to_finish() {
        let h = hedger(1);
        h.record(Duration::from_millis(10));
        let calls = AtomicUsize::new(0);
        let result: Result<&str, &str> = h
            .run(|| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        Ok("first")
                    } else {
                        Err("hedge failed")
                    }
                }
            })
            .await;
        assert_eq!(result, Ok("first"));
    }
}
