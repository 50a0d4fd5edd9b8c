//! Retries that outlast a store's hiccups without making them worse.
//!
//! Two mechanisms, one per concern:
//!
//! 1. **Each request** may be sent up to [`RetryConfig::max_attempts`] times (10 by
//!    default). Between attempts it waits a backoff drawn uniformly from
//!    `[0, min(max_delay, base_delay × 2^(n-1))]` after its `n`th failure ("full jitter"). With
//!    the defaults (500 ms doubling up to 20 s) the nine waits may add up to 91.5 s and add up
//!    to about 46 s on average, so a store that restarts for 15 s, or sheds load for a while,
//!    is ridden out instead of failing the transfer. A `Retry-After` the store sends raises a
//!    wait to what it asks, capped at `max_delay`. `RequestTimeTooSkewed` retries at once (the
//!    client corrected its clock).
//! 2. **The client as a whole** slows down when the store throttles it ([`SendRate`], the
//!    AWS SDKs' "adaptive" retry mode): every request takes a token from a bucket shared by
//!    all requests of the client before it is sent. The bucket does nothing until the first
//!    throttling answer (503 SlowDown, 429, `Throttling`, …); then its fill rate drops to 70%
//!    of the rate the client was sending at, and recovers along a CUBIC curve as answers come
//!    back without throttling. This is what stops a retry storm: retries wait for tokens like
//!    everything else, so a throttled client sends less, not more. Once the rate has recovered
//!    and nothing was throttled for [`CALM`], the bucket steps aside again.
//!
//! What cannot succeed (403, 404, any other 4xx) is decided by the caller
//! (`s3::client`), which never asks for a retry then.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Why a failed attempt may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    /// 503 SlowDown, 429, Throttling: the store asks us to slow down.
    Throttled,
    /// 500/502/503/504, InternalError, a refused or reset connection, a truncated body.
    Transient,
    /// A connect or read timeout.
    Timeout,
    /// RequestTimeTooSkewed: the clock offset was corrected; retry at once.
    ClockSkew,
    /// The store received a body that does not match its checksum (`BadDigest`, …): it was
    /// corrupted in flight. The body is sent again, at most [`MAX_CORRUPTED_RETRIES`] times.
    Corrupted,
}

/// How many times one request is sent again because the store saw its body corrupted.
pub const MAX_CORRUPTED_RETRIES: u32 = 2;

/// How many attempts, and how long to wait between them.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// Attempts per request in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The backoff before the first retry is drawn from `[0, base_delay]`, then doubles.
    pub base_delay: Duration,
    /// No single backoff exceeds this (a `Retry-After` included).
    pub max_delay: Duration,
    /// Slow the client's send rate down when the store throttles it ([`SendRate`]).
    pub adaptive: bool,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            adaptive: true,
        }
    }
}

impl RetryConfig {
    /// The longest a request can spend in backoff before it gives up: the sum of the
    /// ceilings of its waits (the average is half of it).
    pub fn horizon(&self) -> Duration {
        (1..self.max_attempts.max(1))
            .map(|attempt| ceiling(self, attempt))
            .sum()
    }
}

/// The retry state shared by every request of a client: the adaptive send rate and the
/// counters.
#[derive(Debug)]
pub struct RetryState {
    config: RetryConfig,
    rate: Mutex<SendRate>,
    /// The rate's clock starts here.
    origin: Instant,
    retries: AtomicU64,
    backoff_micros: AtomicU64,
}

impl RetryState {
    /// The state of a new client: no retries yet, the send rate unlimited.
    pub fn new(config: RetryConfig) -> Self {
        Self {
            config,
            rate: Mutex::new(SendRate::new(0.0)),
            origin: Instant::now(),
            retries: AtomicU64::new(0),
            backoff_micros: AtomicU64::new(0),
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

    /// The backoff waits decided so far, added up (what the requests were told to wait, not
    /// a measurement).
    pub fn backoff_total(&self) -> Duration {
        Duration::from_micros(self.backoff_micros.load(Ordering::Relaxed))
    }

    /// The send rate the client holds itself to, in requests per second; `None` while it is
    /// not limited (never throttled, or recovered).
    pub fn send_rate(&self) -> Option<f64> {
        self.lock_rate().limit()
    }

    /// Decides whether attempt number `attempt` (1-based) that failed for `reason` is retried,
    /// and after how long. `None`: give up (the attempts are used up).
    pub fn next_delay(&self, attempt: u32, reason: RetryReason) -> Option<Duration> {
        self.next_delay_after(attempt, reason, None)
    }

    /// Like [`RetryState::next_delay`], for an answer that asked to wait `retry_after`
    /// (`Retry-After`): the wait is at least that, capped at `max_delay`.
    pub fn next_delay_after(
        &self,
        attempt: u32,
        reason: RetryReason,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.config.max_attempts {
            return None;
        }
        let delay = delay(&self.config, attempt, reason, retry_after, random_unit());
        self.retries.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.backoff_micros.fetch_add(micros, Ordering::Relaxed);
        Some(delay)
    }

    /// Waits out the backoff before retrying attempt `attempt` that failed for `reason`, and
    /// says whether to retry at all (see [`RetryState::next_delay`]).
    pub async fn backoff(&self, attempt: u32, reason: RetryReason) -> bool {
        self.backoff_after(attempt, reason, None).await
    }

    /// Like [`RetryState::backoff`], honouring a `Retry-After`.
    pub async fn backoff_after(
        &self,
        attempt: u32,
        reason: RetryReason,
        retry_after: Option<Duration>,
    ) -> bool {
        match self.next_delay_after(attempt, reason, retry_after) {
            Some(delay) => {
                tokio::time::sleep(delay).await;
                true
            }
            None => false,
        }
    }

    /// Waits for a send token: at once while the client is not being throttled, at the
    /// adapted rate after. Every request calls this before it is sent.
    pub async fn acquire(&self) {
        if !self.config.adaptive {
            return;
        }
        loop {
            let now = self.now();
            let wait = match self.lock_rate().try_take(now) {
                Ok(()) => return,
                Err(wait) => wait,
            };
            // Look again at least once a second: the rate may have recovered meanwhile.
            tokio::time::sleep(Duration::from_secs_f64(wait.clamp(0.001, 1.0))).await;
        }
    }

    /// The store answered a request (`throttled`: with a throttling error). Feeds the
    /// adaptive send rate; connection failures, which are not answers, do not.
    pub fn on_answer(&self, throttled: bool) {
        if !self.config.adaptive {
            return;
        }
        let now = self.now();
        self.lock_rate().on_answer(now, throttled);
    }

    fn now(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    fn lock_rate(&self) -> std::sync::MutexGuard<'_, SendRate> {
        self.rate.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The wait before retrying attempt `attempt` that failed for `reason`: full jitter (`unit`
/// is a random number in `[0, 1)`), at least the `Retry-After` capped at `max_delay`; none
/// for a corrected clock.
fn delay(
    config: &RetryConfig,
    attempt: u32,
    reason: RetryReason,
    retry_after: Option<Duration>,
    unit: f64,
) -> Duration {
    if reason == RetryReason::ClockSkew {
        return Duration::ZERO;
    }
    let jitter = ceiling(config, attempt).mul_f64(unit.clamp(0.0, 1.0));
    let asked = retry_after.map_or(Duration::ZERO, |d| d.min(config.max_delay));
    jitter.max(asked)
}

/// `min(max_delay, base_delay × 2^(attempt-1))`.
fn ceiling(config: &RetryConfig, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    config
        .base_delay
        .saturating_mul(1 << exponent)
        .min(config.max_delay)
}

/// A random number in `[0, 1)` (std's randomly seeded hasher; no extra dependency).
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// CUBIC's multiplicative decrease: the rate after a throttle is this share of the rate the
/// client was sending at.
const BETA: f64 = 0.7;
/// CUBIC's scale constant: how fast the rate climbs back.
const SCALE: f64 = 0.4;
/// The slowest the client is ever held to, in requests per second.
const MIN_RATE: f64 = 0.5;
/// The send rate is measured over intervals this long, in seconds.
const INTERVAL: f64 = 0.5;
/// The weight of the newest interval in the smoothed send rate.
const SMOOTHING: f64 = 0.8;
/// How long, in seconds, the rate must have been back to where it was throttled, with no
/// throttle since, before the bucket steps aside.
pub const CALM: f64 = 10.0;

/// The client's adaptive send rate: a token bucket whose fill rate follows CUBIC congestion
/// control, as in the AWS SDKs' adaptive retry mode.
///
/// - Until the first throttling answer the bucket is off: requests go out at once.
/// - A throttling answer sets the fill rate to [`BETA`] × the rate the client was sending
///   at (measured over [`INTERVAL`]s, smoothed), at least [`MIN_RATE`]. Throttled answers
///   to requests sent together are one signal: the rate is cut at most once per interval.
/// - Every other answer lets the rate climb back along
///   `SCALE × (t − K)³ + r_max` (`t`: seconds since the last throttle, `r_max`: the rate then,
///   `K`: when the curve gets back to `r_max`), never beyond twice the measured rate.
/// - [`CALM`] seconds after the curve got back to `r_max` with no throttle since, the bucket
///   is off again.
///
/// The clock is a number of seconds passed in by the caller, so the behaviour is tested
/// deterministically.
#[derive(Debug, Clone)]
pub struct SendRate {
    limiting: bool,
    /// Tokens per second while limiting.
    fill_rate: f64,
    tokens: f64,
    /// The most tokens the bucket holds (a second's worth, at least one).
    max_tokens: f64,
    refilled_at: f64,
    /// The rate when last throttled, and when.
    last_max_rate: f64,
    last_throttle: f64,
    /// The smoothed rate of answers per second, and the interval being counted.
    measured: f64,
    counted: u64,
    interval_start: f64,
}

impl SendRate {
    /// An unlimited bucket whose clock reads `now` (seconds).
    pub fn new(now: f64) -> Self {
        Self {
            limiting: false,
            fill_rate: 0.0,
            tokens: 0.0,
            max_tokens: 1.0,
            refilled_at: now,
            last_max_rate: 0.0,
            last_throttle: f64::NEG_INFINITY,
            measured: 0.0,
            counted: 0,
            interval_start: (now / INTERVAL).floor() * INTERVAL,
        }
    }

    /// The fill rate (requests per second) while the bucket is limiting the client.
    pub fn limit(&self) -> Option<f64> {
        self.limiting.then_some(self.fill_rate)
    }

    /// Takes a token at `now` if one is there; otherwise says how many seconds until one
    /// is due.
    pub fn try_take(&mut self, now: f64) -> Result<(), f64> {
        if !self.limiting {
            return Ok(());
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - self.tokens) / self.fill_rate)
        }
    }

    /// An answer came back at `now`; `throttled`: it was a throttling error.
    pub fn on_answer(&mut self, now: f64, throttled: bool) {
        self.measure(now);
        let sending = self.sending_rate(now);
        if throttled {
            if self.limiting && now - self.last_throttle < INTERVAL {
                return;
            }
            let rate = if self.limiting {
                sending.min(self.fill_rate)
            } else {
                sending
            };
            self.last_max_rate = rate;
            self.last_throttle = now;
            self.limiting = true;
            self.set_fill_rate(now, rate * BETA);
            return;
        }
        if !self.limiting {
            return;
        }
        let since = now - self.last_throttle;
        let k = self.recovery_time();
        if since > k + CALM {
            self.limiting = false;
            return;
        }
        let cubic = SCALE * (since - k).powi(3) + self.last_max_rate;
        self.set_fill_rate(now, cubic.min(2.0 * sending));
    }

    /// `K`: seconds after a throttle when the cubic curve is back at the rate cut.
    fn recovery_time(&self) -> f64 {
        (self.last_max_rate * (1.0 - BETA) / SCALE).cbrt()
    }

    fn set_fill_rate(&mut self, now: f64, rate: f64) {
        self.refill(now);
        self.fill_rate = rate.max(MIN_RATE);
        self.max_tokens = self.fill_rate.max(1.0);
        self.tokens = self.tokens.min(self.max_tokens);
    }

    fn refill(&mut self, now: f64) {
        let elapsed = (now - self.refilled_at).max(0.0);
        self.tokens = (self.tokens + elapsed * self.fill_rate).min(self.max_tokens);
        self.refilled_at = now;
    }

    /// Counts an answer; at the end of an interval, folds its rate into the smoothed one.
    fn measure(&mut self, now: f64) {
        self.counted += 1;
        let interval = (now / INTERVAL).floor() * INTERVAL;
        if interval > self.interval_start {
            let current = self.counted as f64 / (interval - self.interval_start);
            self.measured = current * SMOOTHING + self.measured * (1.0 - SMOOTHING);
            self.counted = 0;
            self.interval_start = interval;
        }
    }

    /// The client's send rate: the smoothed measure, or, before a whole interval has passed,
    /// what was counted so far.
    fn sending_rate(&self, now: f64) -> f64 {
        if self.measured > 0.0 {
            self.measured
        } else {
            self.counted as f64 / (now - self.interval_start).max(INTERVAL)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_attempts: u32) -> RetryConfig {
        RetryConfig {
            max_attempts,
            ..RetryConfig::default()
        }
    }

    #[test]
    fn attempts_are_bounded_per_request() {
        let state = RetryState::new(config(3));
        assert!(state.next_delay(1, RetryReason::Transient).is_some());
        assert!(state.next_delay(2, RetryReason::Transient).is_some());
        assert!(state.next_delay(3, RetryReason::Transient).is_none());
        assert_eq!(state.retries(), 2);
        // Another request starts afresh: nothing is shared that could run out.
        for _ in 0..1000 {
            assert!(state.next_delay(1, RetryReason::Timeout).is_some());
        }
    }

    #[test]
    fn the_default_horizon_is_well_over_a_minute() {
        let cfg = RetryConfig::default();
        assert_eq!(cfg.max_attempts, 10);
        // 0.5 + 1 + 2 + 4 + 8 + 16 + 20 + 20 + 20 seconds.
        assert_eq!(cfg.horizon(), Duration::from_millis(91_500));
    }

    #[test]
    fn backoff_is_full_jitter_below_an_exponential_ceiling_capped_at_max_delay() {
        let cfg = RetryConfig::default();
        let at = |attempt, unit| delay(&cfg, attempt, RetryReason::Transient, None, unit);
        assert_eq!(at(1, 0.0), Duration::ZERO);
        assert_eq!(at(1, 0.5), Duration::from_millis(250));
        assert_eq!(at(3, 0.5), Duration::from_secs(1));
        assert_eq!(at(6, 0.999_999), Duration::from_secs(16).mul_f64(0.999_999));
        assert_eq!(at(7, 0.5), Duration::from_secs(10), "capped at 20 s");
        assert_eq!(at(40, 0.5), Duration::from_secs(10), "no overflow");
    }

    #[test]
    fn drawn_backoffs_vary_and_stay_below_the_ceiling() {
        let cfg = RetryConfig::default();
        let state = RetryState::new(cfg.clone());
        let draws: Vec<Duration> = (0..20)
            .map(|_| state.next_delay(5, RetryReason::Throttled).unwrap())
            .collect();
        assert!(draws.iter().all(|d| *d <= ceiling(&cfg, 5)));
        assert!(draws.iter().any(|d| *d != draws[0]), "jitter varies");
        let total: Duration = draws.iter().sum();
        assert!(state.backoff_total().abs_diff(total) < Duration::from_millis(1));
    }

    #[test]
    fn retry_after_raises_the_wait_but_never_past_the_cap() {
        let cfg = RetryConfig::default();
        let wait = |after: u64, unit| {
            delay(
                &cfg,
                1,
                RetryReason::Throttled,
                Some(Duration::from_secs(after)),
                unit,
            )
        };
        assert_eq!(wait(3, 0.0), Duration::from_secs(3));
        assert_eq!(
            wait(0, 0.5),
            Duration::from_millis(250),
            "jitter when longer"
        );
        assert_eq!(wait(3600, 0.0), Duration::from_secs(20));
    }

    #[test]
    fn clock_skew_retries_at_once() {
        let state = RetryState::new(RetryConfig::default());
        assert_eq!(
            state.next_delay(1, RetryReason::ClockSkew),
            Some(Duration::ZERO)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_waits_within_the_jittered_ceiling_on_the_paused_clock() {
        let cfg = RetryConfig {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(3),
            adaptive: true,
        };
        let state = RetryState::new(cfg);
        let start = Instant::now();
        let mut ceiling = Duration::ZERO;
        let mut attempt = 1;
        while state.backoff(attempt, RetryReason::Throttled).await {
            ceiling += Duration::from_secs(1 << (attempt - 1)).min(Duration::from_secs(3));
            assert!(start.elapsed() <= ceiling);
            attempt += 1;
        }
        assert_eq!(attempt, 4, "three retries, then give up");
        assert_eq!(state.retries(), 3);
    }

    /// Sends as fast as the bucket lets it from millisecond `from` for `ms` milliseconds of
    /// simulated time, at most one request per millisecond, each answered at once;
    /// `throttled(n)` says whether answer `n` is a throttle. Returns how many went out.
    fn simulate(rate: &mut SendRate, from: u64, ms: u64, throttled: impl Fn(u64) -> bool) -> u64 {
        let mut tick = from;
        let mut sent = 0;
        while tick < from + ms {
            let now = tick as f64 / 1000.0;
            match rate.try_take(now) {
                Ok(()) => {
                    rate.on_answer(now, throttled(sent));
                    sent += 1;
                    tick += 1;
                }
                Err(wait) => tick += ((wait * 1000.0).ceil() as u64).max(1),
            }
        }
        sent
    }

    #[test]
    fn the_bucket_is_off_until_the_store_throttles() {
        let mut rate = SendRate::new(0.0);
        let sent = simulate(&mut rate, 0, 2000, |_| false);
        assert_eq!(sent, 2000, "one per simulated millisecond, unlimited");
        assert_eq!(rate.limit(), None);
    }

    #[test]
    fn throttling_slows_the_send_rate_and_success_brings_it_back() {
        let mut rate = SendRate::new(0.0);
        // 2 s unthrottled at 1000 requests/s, the rate measured.
        assert_eq!(simulate(&mut rate, 0, 2000, |_| false), 2000);
        // 5 s during which half the answers are SlowDown: the last second of it goes out
        // at a fraction of the unthrottled rate.
        let halved = |n: u64| n.is_multiple_of(2);
        simulate(&mut rate, 2000, 4000, halved);
        let last_second = simulate(&mut rate, 6000, 1000, halved);
        let limit = rate.limit().expect("limiting after throttles");
        assert!(
            last_second < 1000 / 4,
            "{last_second} requests in the last second"
        );
        assert!((MIN_RATE..250.0).contains(&limit), "fill rate {limit}");
        // The throttling stops: the rate climbs back (slowly near where it was cut, faster
        // after, as CUBIC does), then the bucket steps aside.
        let first_calm_second = simulate(&mut rate, 7000, 1000, |_| false);
        simulate(&mut rate, 8000, 10_000, |_| false);
        let twelfth_calm_second = simulate(&mut rate, 18_000, 1000, |_| false);
        assert!(
            twelfth_calm_second > 3 * first_calm_second.max(last_second),
            "{last_second} throttled, then {first_calm_second} and {twelfth_calm_second}"
        );
        simulate(&mut rate, 19_000, 30_000, |_| false);
        assert_eq!(rate.limit(), None, "recovered and calm: unlimited again");
    }

    #[test]
    fn a_burst_of_throttles_at_once_cuts_the_rate_once() {
        let mut rate = SendRate::new(0.0);
        simulate(&mut rate, 0, 2000, |_| false);
        rate.on_answer(2.0, true);
        let after_one = rate.limit().unwrap();
        for _ in 0..50 {
            rate.on_answer(2.0, true);
        }
        assert_eq!(rate.limit(), Some(after_one));
        assert!((after_one - 1000.0 * BETA).abs() < 50.0, "{after_one}");
        rate.on_answer(2.0 + INTERVAL, true);
        assert!(
            rate.limit().unwrap() < after_one,
            "a later throttle cuts again"
        );
    }

    #[test]
    fn the_rate_never_drops_below_the_floor() {
        let mut rate = SendRate::new(0.0);
        for i in 0..100 {
            rate.on_answer(f64::from(i) * INTERVAL, true);
        }
        assert_eq!(rate.limit(), Some(MIN_RATE));
        assert!(rate.try_take(100.0).is_ok());
        let wait = rate.try_take(100.0).unwrap_err();
        assert!((wait - 1.0 / MIN_RATE).abs() < 1e-9, "{wait}");
    }

    #[tokio::test(start_paused = true)]
    async fn every_send_waits_for_a_token_once_throttled() {
        let state = RetryState::new(RetryConfig::default());
        state.acquire().await;
        state.on_answer(true);
        let rate = state.send_rate().expect("limiting after a throttle");
        let start = Instant::now();
        for _ in 0..4 {
            state.acquire().await;
        }
        // The bucket was empty: each token came at the fill rate.
        assert!(start.elapsed() >= Duration::from_secs_f64(3.0 / rate));
    }

    #[tokio::test(start_paused = true)]
    async fn without_adaptation_sends_never_wait() {
        let state = RetryState::new(RetryConfig {
            adaptive: false,
            ..RetryConfig::default()
        });
        for _ in 0..10 {
            state.on_answer(true);
        }
        let start = Instant::now();
        for _ in 0..100 {
            state.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(state.send_rate(), None);
    }
}
