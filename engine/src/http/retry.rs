//! Retries that help instead of hurting: bounded attempts, exponential backoff with full
//! jitter, and a retry budget shared by every request of a client, so a dead endpoint fails
//! fast instead of multiplying load.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Why a failed attempt may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    /// 503 SlowDown, 429, Throttling: the store asks us to slow down.
    Throttled,
    /// 500/502/503/504, InternalError, a reset connection, a truncated body.
    Transient,
    /// A connect or read timeout.
    Timeout,
    /// RequestTimeTooSkewed: the clock offset was corrected; retry at once.
    ClockSkew,
}

impl RetryReason {
    /// Budget tokens one retry for this reason costs (timeouts cost more: they tie up a
    /// connection for the whole timeout).
    fn cost(self) -> u64 {
        match self {
            Self::Timeout => 10,
            Self::Throttled | Self::Transient => 5,
            Self::ClockSkew => 1,
        }
    }
}

/// How many attempts, and how long to wait between them.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The backoff before the first retry is drawn from `[0, base_delay]`, then doubles.
    pub base_delay: Duration,
    /// Backoff never exceeds this.
    pub max_delay: Duration,
    /// Budget tokens shared by all requests of a client.
    pub budget: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(20),
            budget: 500,
        }
    }
}

/// The retry state shared by every request of a client: the budget and the counter.
#[derive(Debug)]
pub struct RetryState {
    config: RetryConfig,
    tokens: AtomicU64,
    retries: AtomicU64,
}

impl RetryState {
    /// A full budget.
    pub fn new(config: RetryConfig) -> Self {
        Self {
            tokens: AtomicU64::new(config.budget),
            retries: AtomicU64::new(0),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    /// How many retries this client has made.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Decides whether attempt number `attempt` (1-based) that failed for `reason` is retried,
    /// and after how long. `None`: give up (attempts used up, or the shared budget is empty).
    pub fn next_delay(&self, attempt: u32, reason: RetryReason) -> Option<Duration> {
        if attempt >= self.config.max_attempts || !self.take(reason.cost()) {
            return None;
        }
        self.retries.fetch_add(1, Ordering::Relaxed);
        if reason == RetryReason::ClockSkew {
            return Some(Duration::ZERO);
        }
        Some(full_jitter(&self.config, attempt))
    }

    /// Waits out the backoff before retrying attempt `attempt` that failed for `reason`, and
    /// says whether to retry at all (see [`RetryState::next_delay`]).
    pub async fn backoff(&self, attempt: u32, reason: RetryReason) -> bool {
        match self.next_delay(attempt, reason) {
            Some(delay) => {
                tokio::time::sleep(delay).await;
                true
            }
            None => false,
        }
    }

    /// A request succeeded: give a token back, up to the full budget.
    pub fn on_success(&self) {
        let _ = self
            .tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                (t < self.config.budget).then_some(t + 1)
            });
    }

    fn take(&self, cost: u64) -> bool {
        self.tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                t.checked_sub(cost)
            })
            .is_ok()
    }
}

/// A delay drawn uniformly from `[0, min(max_delay, base_delay × 2^(attempt-1))]`.
fn full_jitter(config: &RetryConfig, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let ceiling = config
        .base_delay
        .saturating_mul(1 << exponent)
        .min(config.max_delay);
    ceiling.mul_f64(random_unit())
}

/// A random number in `[0, 1)` (std's randomly seeded hasher; no extra dependency).
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_attempts: u32, budget: u64) -> RetryConfig {
        RetryConfig {
            max_attempts,
            budget,
            ..RetryConfig::default()
        }
    }

    #[test]
    fn attempts_are_bounded() {
        let state = RetryState::new(config(3, 500));
        assert!(state.next_delay(1, RetryReason::Transient).is_some());
        assert!(state.next_delay(2, RetryReason::Transient).is_some());
        assert!(state.next_delay(3, RetryReason::Transient).is_none());
        assert_eq!(state.retries(), 2);
    }

    #[test]
    fn backoff_is_jittered_below_an_exponential_ceiling() {
        let cfg = RetryConfig::default();
        for attempt in 1..=10 {
            let ceiling = cfg
                .base_delay
                .saturating_mul(1 << (attempt - 1))
                .min(cfg.max_delay);
            for _ in 0..50 {
                assert!(full_jitter(&cfg, attempt) <= ceiling);
            }
        }
        let draws: Vec<Duration> = (0..20).map(|_| full_jitter(&cfg, 5)).collect();
        assert!(draws.iter().any(|d| *d != draws[0]), "jitter varies");
    }

    #[test]
    fn an_empty_budget_stops_retries_for_everyone() {
        let state = RetryState::new(config(100, 30));
        let retried = (1..100)
            .take_while(|&a| state.next_delay(a, RetryReason::Timeout).is_some())
            .count();
        assert_eq!(retried, 3);
        assert!(state.next_delay(1, RetryReason::Throttled).is_none());
    }

    #[test]
    fn successes_refill_the_budget_up_to_its_size() {
        let state = RetryState::new(config(5, 10));
        assert!(state.next_delay(1, RetryReason::Timeout).is_some());
        assert!(state.next_delay(1, RetryReason::Throttled).is_none());
        for _ in 0..100 {
            state.on_success();
        }
        assert!(state.next_delay(1, RetryReason::Timeout).is_some());
        assert!(state.next_delay(1, RetryReason::Timeout).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_waits_within_the_jittered_ceiling_on_the_paused_clock() {
        let cfg = RetryConfig {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(3),
            budget: 500,
        };
        let state = RetryState::new(cfg);
        let start = tokio::time::Instant::now();
        let mut ceiling = Duration::ZERO;
        let mut attempt = 1;
        while state.backoff(attempt, RetryReason::Throttled).await {
            ceiling += Duration::from_secs(1 << (attempt - 1)).min(Duration::from_secs(3));
            assert!(
                start.elapsed() <= ceiling,
                "waited {:?} > {ceiling:?}",
                start.elapsed()
            );
            attempt += 1;
        }
        assert_eq!(attempt, 4, "three retries, then give up");
        assert_eq!(state.retries(), 3);
    }

    #[test]
    fn clock_skew_retries_at_once() {
        let state = RetryState::new(RetryConfig::default());
        assert_eq!(
            state.next_delay(1, RetryReason::ClockSkew),
            Some(Duration::ZERO)
        );
    }
}
