//! A shared bandwidth cap (`--max-bandwidth`): one token bucket that every request and
//! response body of a client draws from, so uploads and downloads share one budget.
//!
//! The bucket fills at `rate` bytes per second up to a bounded burst (a tenth of a second at
//! the rate, or one 64 KiB frame, whichever is larger). Taking bytes reserves them at once —
//! the bucket may go into debt — and the taker sleeps until the debt is paid off. Callers are
//! therefore served in the order they asked (fair across many tasks), a large request cannot
//! be starved by small ones, and nobody polls in a loop.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// The size of a paced frame: request bodies are sent, and tokens taken, this much at a time.
pub const FRAME: usize = 64 * 1024;

/// A shared token bucket. Cheap to clone; clones share the budget.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Bytes per second.
    rate: u64,
    /// The most tokens the bucket holds.
    burst: u64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Tokens in the bucket; negative while takers wait for the debt to be paid off.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
}

impl RateLimiter {
    /// A limiter allowing `bytes_per_second` (at least 1) on average, starting full.
    pub fn new(bytes_per_second: u64) -> Self {
        let rate = bytes_per_second.max(1);
        let burst = (rate / 10).max(FRAME as u64);
        Self {
            inner: Arc::new(Inner {
                rate,
                burst,
                state: Mutex::new(State {
                    tokens: burst as f64,
                    updated: Instant::now(),
                }),
            }),
        }
    }

    /// The rate, in bytes per second.
    pub fn rate(&self) -> u64 {
        self.inner.rate
    }

    /// The most bytes that may pass at once without waiting.
    pub fn burst(&self) -> u64 {
        self.inner.burst
    }

    /// Takes `bytes` tokens now and says how long to wait before using them (zero when the
    /// bucket held enough). The tokens stay taken even if the caller gives up waiting.
    pub fn reserve(&self, bytes: u64) -> Duration {
        if bytes == 0 {
            return Duration::ZERO;
        }
        let rate = self.inner.rate as f64;
        let now = Instant::now();
        let mut state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(state.updated).as_secs_f64();
        state.tokens = (state.tokens + elapsed * rate).min(self.inner.burst as f64);
        state.updated = now;
        state.tokens -= bytes as f64;
        if state.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-state.tokens / rate)
        }
    }

    /// Waits until `bytes` may pass.
    pub async fn acquire(&self, bytes: u64) {
        let wait = self.reserve(bytes);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn burst_is_a_tenth_of_a_second_or_one_frame() {
        assert_eq!(RateLimiter::new(50 * MIB).burst(), 5 * MIB);
        assert_eq!(RateLimiter::new(100_000).burst(), FRAME as u64);
        assert_eq!(RateLimiter::new(0).rate(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn one_taker_is_held_to_the_rate() {
        let rate = 2 * MIB;
        let limiter = RateLimiter::new(rate);
        let total = 10 * MIB;
        let start = Instant::now();
        let mut sent = 0;
        while sent < total {
            limiter.acquire(FRAME as u64).await;
            sent += FRAME as u64;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let floor = (total - limiter.burst()) as f64 / rate as f64;
        assert!(elapsed >= floor - 1e-3, "{elapsed}s < {floor}s");
        assert!(elapsed <= floor + 0.1, "{elapsed}s, far above {floor}s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_bucket_lets_a_burst_through_at_once() {
        let limiter = RateLimiter::new(MIB);
        let start = Instant::now();
        limiter.acquire(limiter.burst()).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire(MIB).await;
        assert!(start.elapsed() >= Duration::from_millis(999));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_refills_only_up_to_the_burst() {
        let limiter = RateLimiter::new(MIB);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        limiter.acquire(limiter.burst() + MIB).await;
        assert!(start.elapsed() >= Duration::from_millis(999));
    }

    #[tokio::test(start_paused = true)]
    async fn many_tasks_share_one_budget_fairly() {
        let rate = MIB;
        let limiter = RateLimiter::new(rate);
        let tasks = 16;
        let per_task = 32 * FRAME as u64;
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    for _ in 0..per_task / FRAME as u64 {
                        limiter.acquire(FRAME as u64).await;
                    }
                    start.elapsed()
                })
            })
            .collect();
        let mut finished = Vec::new();
        for handle in handles {
            finished.push(handle.await.unwrap().as_secs_f64());
        }
        let total = tasks * per_task;
        let floor = (total - limiter.burst()) as f64 / rate as f64;
        let last = finished.iter().copied().fold(0.0, f64::max);
        let first = finished.iter().copied().fold(f64::MAX, f64::min);
        assert!(last >= floor - 1e-3, "{last}s < {floor}s");
        assert!(last <= floor + 0.1, "{last}s, far above {floor}s");
        // Served in turn: every task finishes within the last few rounds of frames.
        let round = (tasks * FRAME as u64) as f64 / rate as f64;
        assert!(
            first >= floor - 3.0 * round,
            "one task finished at {first}s of {floor}s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_body_is_sent_in_zero_copy_frames_at_the_rate() {
        use http_body_util::BodyExt;
        let data = bytes::Bytes::from(vec![7u8; MIB as usize + 1000]);
        let rate = 256 * 1024;
        let limiter = RateLimiter::new(rate);
        let mut body = crate::http::RequestBody::bytes(data.clone()).paced(limiter.clone());
        let start = Instant::now();
        let mut offset = 0;
        while let Some(frame) = body.frame().await {
            let frame = frame.unwrap().into_data().unwrap();
            assert!(frame.len() <= FRAME);
            assert_eq!(
                frame.as_ptr(),
                data[offset..].as_ptr(),
                "a slice, not a copy"
            );
            offset += frame.len();
        }
        assert_eq!(offset, data.len());
        let floor = (data.len() as u64 - limiter.burst()) as f64 / rate as f64;
        let elapsed = start.elapsed().as_secs_f64();
        assert!(elapsed >= floor - 1e-3, "{elapsed}s < {floor}s");
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_to_take_never_waits() {
        let limiter = RateLimiter::new(1);
        limiter.acquire(10).await;
        let start = Instant::now();
        limiter.acquire(0).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
