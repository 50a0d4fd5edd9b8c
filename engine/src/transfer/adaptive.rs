//! Concurrency that sizes itself for request-bound work (small objects, one request each):
//! where each answer takes tens of milliseconds, 16 requests in flight leave the link idle,
//! and the right number depends on a latency nobody should have to know.
//!
//! [`AdaptiveLimit`] is a semaphore whose size a controller moves between a floor and a cap.
//! The engine starts it at the cap, so that the first round trip carries as many requests
//! as it may (each doubling costs a round trip where answers take 60 ms). A limit started
//! lower is in slow start, as TCP is: while requests wait for a permit, each completion
//! adds one, so the limit doubles every round trip whatever the store's latency. Slow start
//! ends at the first window that does not call for growth. From then on, each window (at
//! least [`WINDOW`] and [`MIN_SAMPLES`] completions) compares the rate of completions with
//! the previous window's:
//! - while a larger limit brings more completions per second (by more than [`GAIN`]), it
//!   doubles;
//! - when the last growth made the rate fall (by more than [`GAIN`]), it gives back a quarter;
//! - after [`PROBE_AFTER`] steady windows (requests waiting, the rate unchanged) it tries a
//!   quarter less, keeps that step if the rate holds (more in flight had stopped helping) and
//!   takes it back if the rate fell;
//! - otherwise it holds, probing upwards again while requests wait, unless its last step
//!   down cost nothing or was taken back (until the rate changes).
//!
//! The limit only grows when requests actually waited for a permit, so a job that never
//! fills the window does not inflate it. Throttling is handled below this, by the client's
//! adaptive send rate: fewer completions per second then also stop the growth here.
//!
//! Byte-bound work (parts and ranges, [`AdaptiveLimit::for_parts`]) climbs more carefully,
//! since every part in flight holds memory: it starts at its floor, without slow start, and
//! judges a window only after a full round of completions (as many as the limit). From
//! its [`FIRST_TRIAL`]th window on, a window run wholly at one limit with parts waiting
//! tries half as many more.
//! Each growth is a trial: kept only if the next window's rate is better (by more than
//! [`GAIN`]), and then tried again at once, else taken back, and the next trial then waits
//! [`PATIENCE`] windows, twice as many after each further failure (at most
//! [`MAX_PATIENCE`]). Where the link gives each connection
//! a share (S3 serves one request at about 90 MB/s), parts in flight grow until the link is
//! full; where one core or the disk is the limit (loopback), one failed trial now and then
//! is all it costs. After [`PROBE_AFTER`] windows at one limit above the floor it tries a
//! quarter less, judged on a window run wholly at the lower limit: kept unless the rate
//! fell (by more than [`GAIN`]), so parts that stopped helping are given back; growth
//! trials go on counting through these steps.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The shortest window the controller measures.
pub const WINDOW: Duration = Duration::from_millis(50);
/// Completions a window needs before it is judged.
pub const MIN_SAMPLES: u64 = 16;
/// The relative change of rate that counts as better or worse.
pub const GAIN: f64 = 0.10;
/// Steady windows (requests waiting, the rate unchanged) before the limit tries a quarter
/// less: with [`WINDOW`] at 50 ms, at most one window in ten runs a step lower. Byte-bound
/// work counts windows at one limit, whatever their rate.
pub const PROBE_AFTER: u32 = 8;
/// Byte-bound work: settled windows with parts waiting before the first growth is tried.
pub const FIRST_TRIAL: u32 = 2;
/// Byte-bound work: windows held after a growth that did not pay before the next is tried
/// (doubling with every further trial that fails). A trial costs a round of parts on more
/// connections: on loopback, where one core is the limit, trying every other window cost
/// a 1 GiB download a seventh more CPU.
pub const PATIENCE: u32 = 8;
/// The most windows byte-bound work holds before trying to grow again.
pub const MAX_PATIENCE: u32 = 64;

/// What the limit bounds, which sets how it climbs (see the module's doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Objects of one request: starts at its cap, slow start, growth kept while it holds.
    Requests,
    /// Parts and ranges: starts at its floor, each growth a trial kept only if it pays.
    Parts,
}

/// A self-sizing limit on requests in flight.
#[derive(Debug)]
pub struct AdaptiveLimit {
    semaphore: Arc<Semaphore>,
    floor: usize,
    cap: usize,
    /// The current limit (permits in circulation).
    limit: AtomicUsize,
    /// Completions since the window began.
    completions: AtomicU64,
    /// Whether a request waited for a permit during this window.
    contended: AtomicBool,
    /// Requests waiting for a permit now.
    waiting: AtomicUsize,
    /// Growing by one per completion while requests wait (see the module's doc).
    slow_start: AtomicBool,
    policy: Policy,
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    /// The previous window's rate (completions per second) and the limit it ran with.
    previous: Option<(f64, usize)>,
    probe: Probe,
    climb: Climb,
}

/// A permit from an [`AdaptiveLimit`]; dropping it counts a completion.
#[derive(Debug)]
pub struct AdaptivePermit {
    limit: Arc<AdaptiveLimit>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for AdaptivePermit {
    fn drop(&mut self) {
        self.limit.completed();
    }
}

impl AdaptiveLimit {
    /// A limit starting at `floor` that may grow up to `cap` (both at least 1).
    pub fn new(floor: usize, cap: usize) -> Arc<Self> {
        Self::starting_at(floor, floor, cap)
    }

    /// A limit starting at `start`, never below `floor` nor above `cap`.
    pub fn starting_at(start: usize, floor: usize, cap: usize) -> Arc<Self> {
        Self::build(start, floor, cap, Policy::Requests)
    }

    /// A limit on parts and ranges in flight: it starts at `floor` and grows towards `cap`
    /// only where more in flight bring more completions per second.
    pub fn for_parts(floor: usize, cap: usize) -> Arc<Self> {
        Self::build(floor, floor, cap, Policy::Parts)
    }

    fn build(start: usize, floor: usize, cap: usize, policy: Policy) -> Arc<Self> {
        let floor = floor.max(1);
        let cap = cap.max(floor);
        let start = start.clamp(floor, cap);
        Arc::new(Self {
            semaphore: Arc::new(Semaphore::new(start)),
            floor,
            cap,
            limit: AtomicUsize::new(start),
            completions: AtomicU64::new(0),
            contended: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            slow_start: AtomicBool::new(policy == Policy::Requests),
            policy,
            window: Mutex::new(Window {
                started: Instant::now(),
                previous: None,
                probe: Probe::default(),
                climb: Climb::default(),
            }),
        })
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// The most it may grow to.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Waits for a permit.
    pub async fn acquire(self: &Arc<Self>) -> AdaptivePermit {
        let permit = match self.semaphore.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                self.contended.store(true, Ordering::Relaxed);
                let _waiting = Waiting::new(&self.waiting);
                match self.semaphore.clone().acquire_owned().await {
                    Ok(permit) => permit,
                    Err(_) => unreachable!("the adaptive semaphore is never closed"),
                }
            }
        };
        AdaptivePermit {
            limit: self.clone(),
            _permit: permit,
        }
    }

    fn completed(self: &Arc<Self>) {
        if self.slow_start.load(Ordering::Relaxed) && self.waiting.load(Ordering::Relaxed) > 0 {
            let window = self.window.lock().unwrap_or_else(|e| e.into_inner());
            let limit = self.limit();
            if limit < self.cap {
                self.resize(limit, limit + 1);
            }
            drop(window);
        }
        let done = self.completions.fetch_add(1, Ordering::Relaxed) + 1;
        let samples = match self.policy {
            Policy::Requests => MIN_SAMPLES,
            // A full round: every part in flight at the window's start has come back.
            Policy::Parts => MIN_SAMPLES.max(self.limit() as u64),
        };
        if done < samples {
            return;
        }
        let Ok(mut window) = self.window.try_lock() else {
            return; // another completion is judging this window
        };
        let elapsed = window.started.elapsed();
        if elapsed < WINDOW {
            return;
        }
        let done = self.completions.swap(0, Ordering::Relaxed);
        let contended = self.contended.swap(false, Ordering::Relaxed);
        let rate = done as f64 / elapsed.as_secs_f64();
        let limit = self.limit();
        let previous = window.previous;
        let next = match self.policy {
            Policy::Requests => decide(
                previous,
                rate,
                limit,
                contended,
                &mut window.probe,
                self.floor,
                self.cap,
            ),
            Policy::Parts => climb(
                previous,
                rate,
                limit,
                contended,
                &mut window.climb,
                self.floor,
                self.cap,
            ),
        };
        if next <= limit {
            self.slow_start.store(false, Ordering::Relaxed);
        }
        window.previous = Some((rate, limit));
        window.started = Instant::now();
        drop(window);
        self.resize(limit, next);
    }

    fn resize(self: &Arc<Self>, from: usize, to: usize) {
        if to == from {
            return;
        }
        self.limit.store(to, Ordering::Relaxed);
        let work = match self.policy {
            Policy::Requests => "objects of one request",
            Policy::Parts => "parts and ranges",
        };
        tracing::debug!(from, to, work, "requests in flight resized");
        if to > from {
            self.semaphore.add_permits(to - from);
        } else {
            // Permits are taken out of circulation as they come back (outside a runtime,
            // at shutdown, there is nothing left to limit).
            let semaphore = self.semaphore.clone();
            let surplus = (from - to) as u32;
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Ok(permits) = semaphore.acquire_many(surplus).await {
                        permits.forget();
                    }
                });
            }
        }
    }
}

/// Counts a request waiting for a permit for as long as it waits (also when its wait is
/// dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the controller remembers of its probes between windows.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Probe {
    /// Windows in a row that held the limit with requests waiting and the rate unchanged.
    steady: u32,
    /// The last change was a step down that cost nothing, or took back one that did: no
    /// upward probe until the rate changes (else the probes would undo each other).
    lowered: bool,
    /// The last change took a step down back: the next window's higher rate is that, not a
    /// reason to grow.
    restored: bool,
}

/// The next limit, from the previous window (rate, limit) and this one. `probe` carries the
/// steady windows and the last step down from one window to the next.
fn decide(
    previous: Option<(f64, usize)>,
    rate: f64,
    limit: usize,
    contended: bool,
    probe: &mut Probe,
    floor: usize,
    cap: usize,
) -> usize {
    let grow = (limit * 2).min(cap);
    let shrink = (limit - limit / 4).max(floor);
    let Some((before, before_limit)) = previous else {
        // The first judged window: grow if requests had to wait.
        return if contended { grow } else { limit };
    };
    if std::mem::take(&mut probe.restored) {
        probe.steady = 0;
        return limit;
    }
    let better = rate > before * (1.0 + GAIN);
    let worse = rate < before * (1.0 - GAIN);
    if better || worse {
        probe.lowered = false;
    }
    let steady = contended && !better && !worse && limit == before_limit;
    probe.steady = if steady { probe.steady + 1 } else { 0 };
    if better {
        return if contended { grow } else { limit };
    }
    if worse && limit > before_limit {
        return shrink; // the last growth made things worse: undo part of it
    }
    if worse && limit < before_limit {
        // Where it was is what the store needs: no upward probe until the rate changes.
        (probe.restored, probe.lowered) = (true, true);
        return before_limit; // the last step down cost completions: take it back
    }
    if limit < before_limit {
        probe.lowered = true; // a step down that cost nothing: keep it
        return limit;
    }
    if !steady {
        return limit;
    }
    if probe.steady >= PROBE_AFTER && limit > floor {
        // Long at one limit: try a quarter less, kept if the rate holds ("stops helping").
        probe.steady = 0;
        return shrink;
    }
    if probe.lowered {
        limit
    } else {
        grow // holding steady while requests wait: probe upwards once more
    }
}

/// What the byte-bound controller remembers between windows.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Climb {
    /// A growth on trial: the rate and limit before it.
    growth: Option<(f64, usize)>,
    /// A step down on trial: the rate and limit before it.
    step_down: Option<(f64, usize)>,
    /// Windows since the last growth was judged (what [`Climb::patience`] counts).
    since_growth: u32,
    /// Windows since the limit last changed (what [`PROBE_AFTER`] counts).
    steady: u32,
    /// Windows to wait before the next growth is tried.
    patience: u32,
}

impl Default for Climb {
    fn default() -> Self {
        Self {
            growth: None,
            step_down: None,
            since_growth: 0,
            steady: 0,
            patience: FIRST_TRIAL,
        }
    }
}

/// Half as many more parts in flight (at least one more), within `cap`.
fn grown(limit: usize, cap: usize) -> usize {
    (limit + (limit / 2).max(1)).min(cap)
}

/// The next limit of byte-bound work, from the previous window (rate, limit) and this one
/// (see the module's doc): growths and steps down are trials, judged by the next window.
fn climb(
    previous: Option<(f64, usize)>,
    rate: f64,
    limit: usize,
    contended: bool,
    climb: &mut Climb,
    floor: usize,
    cap: usize,
) -> usize {
    // A window right after a change still carries parts sent under the old limit.
    let settled = previous.is_some_and(|(_, before_limit)| before_limit == limit);
    if let Some((before, from)) = climb.growth.take() {
        (climb.since_growth, climb.steady) = (0, 0);
        if rate > before * (1.0 + GAIN) {
            // It paid: keep it, and try again at once while parts wait.
            climb.patience = FIRST_TRIAL;
            if contended && limit < cap {
                climb.growth = Some((rate, limit));
                return grown(limit, cap);
            }
            return limit;
        }
        // More in flight did not bring more: take it back, and wait longer next time.
        climb.patience = (climb.patience * 2).clamp(PATIENCE, MAX_PATIENCE);
        return from;
    }
    climb.since_growth += 1;
    if let Some((before, from)) = climb.step_down {
        if !settled {
            return limit; // judged on a window run wholly at the lower limit
        }
        climb.step_down = None;
        climb.steady = 0;
        // A step down that cost completions is taken back; one that cost nothing is kept.
        return if rate < before * (1.0 - GAIN) {
            from
        } else {
            limit
        };
    }
    climb.steady += 1;
    if contended && limit < cap && settled && climb.since_growth >= climb.patience {
        climb.growth = Some((rate, limit));
        return grown(limit, cap);
    }
    if settled && limit > floor && climb.steady >= PROBE_AFTER {
        // Long at one limit above the floor: try a quarter less (memory given back).
        climb.step_down = Some((rate, limit));
        return (limit - limit / 4).max(floor);
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One window's decision, with no probe history, a floor of 16 and a cap of 256.
    fn once(previous: Option<(f64, usize)>, rate: f64, limit: usize, contended: bool) -> usize {
        decide(
            previous,
            rate,
            limit,
            contended,
            &mut Probe::default(),
            16,
            256,
        )
    }

    #[test]
    fn the_first_contended_window_doubles_the_limit() {
        assert_eq!(once(None, 100.0, 16, true), 32);
        assert_eq!(once(None, 100.0, 16, false), 16);
    }

    #[test]
    fn growth_continues_while_the_rate_follows_and_stops_at_the_cap() {
        assert_eq!(once(Some((100.0, 16)), 150.0, 32, true), 64);
        assert_eq!(once(Some((100.0, 200)), 150.0, 250, true), 256);
    }

    #[test]
    fn a_growth_that_made_things_worse_is_partly_undone() {
        assert_eq!(once(Some((150.0, 25)), 100.0, 38, true), 29);
        assert_eq!(once(Some((150.0, 16)), 100.0, 17, true), 16);
    }

    #[test]
    fn a_rate_that_no_longer_follows_holds_the_limit() {
        assert_eq!(once(Some((100.0, 25)), 104.0, 38, true), 38);
        assert_eq!(once(Some((100.0, 25)), 104.0, 38, false), 38);
    }

    /// The limits `decide` sets over `windows` windows, each window's rate given by `rate_of`
    /// the limit it ran with, requests always waiting.
    fn limits_over(
        windows: usize,
        start: usize,
        cap: usize,
        rate_of: fn(usize) -> f64,
    ) -> Vec<usize> {
        let (mut probe, mut previous, mut limit) = (Probe::default(), None, start);
        let mut limits = Vec::new();
        for _ in 0..windows {
            let rate = rate_of(limit);
            let next = decide(previous, rate, limit, true, &mut probe, 16, cap);
            previous = Some((rate, limit));
            limit = next;
            limits.push(limit);
        }
        limits
    }

    #[test]
    fn a_limit_that_stops_helping_steps_down_a_quarter_at_a_time() {
        // A store that completes 1,000 requests a second whatever the number in flight.
        let limits = limits_over(40, 512, 512, |_| 1000.0);
        let steady = PROBE_AFTER as usize;
        assert_eq!(limits[..steady], [512; PROBE_AFTER as usize]);
        assert_eq!(limits[steady], 384, "a quarter less once steady");
        assert!(
            limits.windows(2).all(|w| w[1] <= w[0]),
            "never back up: {limits:?}"
        );
        assert_eq!(
            *limits.last().unwrap(),
            162,
            "four steps down in 40 windows: {limits:?}"
        );
    }

    #[test]
    fn a_step_down_that_costs_completions_is_taken_back() {
        // Latency-bound: completions per second follow the limit.
        let limits = limits_over(40, 512, 512, |limit| limit as f64 * 16.0);
        assert_eq!(limits[PROBE_AFTER as usize], 384, "tried");
        assert_eq!(limits[PROBE_AFTER as usize + 1], 512, "taken back");
        let lower = limits.iter().filter(|&&l| l < 512).count();
        assert!(
            lower <= 40 / PROBE_AFTER as usize,
            "one window in {PROBE_AFTER}+: {limits:?}"
        );
    }

    #[test]
    fn after_a_step_down_was_taken_back_growth_resumes_below_the_cap() {
        // Latency-bound below 300 in flight, flat above: the limit settles between.
        let limits = limits_over(60, 64, 1024, |limit| limit.min(300) as f64 * 16.0);
        let last = *limits.last().unwrap();
        assert!(
            (300..=600).contains(&last),
            "settles above what helps: {limits:?}"
        );
        let settled = &limits[45..];
        assert!(
            settled.iter().all(|l| (243..=324).contains(l)),
            "and stays: {limits:?}"
        );
        assert!(
            limits[45..].iter().all(|&l| (243..=324).contains(&l)),
            "and stays: {limits:?}"
        );
    }

    /// The limits `climb` sets over `windows` windows from `start` (floor 16), each window's
    /// rate given by `rate_of` the window's number and the limit it ran with, parts always
    /// waiting.
    fn climb_over(
        windows: usize,
        start: usize,
        cap: usize,
        mut state: Climb,
        rate_of: impl Fn(usize, usize) -> f64,
    ) -> Vec<usize> {
        let (mut previous, mut limit) = (None, start);
        let mut limits = Vec::new();
        for window in 0..windows {
            let rate = rate_of(window, limit);
            let next = climb(previous, rate, limit, true, &mut state, 16, cap);
            previous = Some((rate, limit));
            limit = next;
            limits.push(limit);
        }
        limits
    }

    /// [`climb_over`] from the floor, with a rate that depends on the limit alone.
    fn parts_over(windows: usize, cap: usize, rate_of: impl Fn(usize) -> f64) -> Vec<usize> {
        climb_over(windows, 16, cap, Climb::default(), |_, limit| {
            rate_of(limit)
        })
    }

    #[test]
    fn parts_in_flight_grow_by_half_while_each_growth_brings_more_and_stop_where_it_does_not() {
        // A link that gives each connection a share, full at 30 in flight: after two
        // settled windows, 24 and 36 pay, 54 does not and is taken back.
        let limits = parts_over(16, 256, |limit| limit.min(30) as f64 * 10.0);
        assert_eq!(limits[..5], [16, 24, 36, 54, 36], "{limits:?}");
        assert!(
            limits[5..12].iter().all(|&l| l == 36),
            "the next trial waits {PATIENCE} windows: {limits:?}"
        );
        // And never past the cap.
        let capped = parts_over(6, 48, |limit| limit as f64 * 10.0);
        assert_eq!(capped, [16, 24, 36, 48, 48, 48]);
    }

    #[test]
    fn where_more_parts_in_flight_do_not_help_trials_grow_rarer_and_the_floor_holds() {
        // One core or the disk is the limit: the rate is the same whatever is in flight.
        let limits = parts_over(400, 64, |_| 1000.0);
        let trials: Vec<usize> = (0..limits.len()).filter(|&w| limits[w] > 16).collect();
        assert!(
            trials.windows(2).all(|w| w[1] - w[0] >= PATIENCE as usize),
            "{trials:?}"
        );
        let gaps: Vec<usize> = trials.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[1] >= g[0]), "rarer: {gaps:?}");
        assert!(trials.len() <= 12, "{} trials in 400 windows", trials.len());
        assert!(
            trials
                .iter()
                .all(|&w| limits[w] == 24 && limits[w + 1] == 16),
            "each trial is taken back in the next window"
        );
    }

    #[test]
    fn parts_in_flight_that_stopped_helping_are_given_back_a_quarter_at_a_time() {
        // Full at 40, from 64 with no growth to try: each step down is judged on a window run
        // wholly at the lower limit, kept while the rate holds (48, 36), taken back where it
        // costs completions (27).
        let patient = Climb {
            patience: MAX_PATIENCE,
            ..Climb::default()
        };
        let limits = climb_over(40, 64, 64, patient, |_, limit| limit.min(40) as f64 * 10.0);
        let steps: Vec<usize> = limits
            .windows(2)
            .filter(|w| w[0] != w[1])
            .map(|w| w[1])
            .collect();
        assert_eq!(steps[..4], [48, 36, 27, 36], "{limits:?}");
        assert!(limits.iter().all(|&l| l >= 27), "{limits:?}");
    }

    #[test]
    fn parts_in_flight_grow_again_when_the_link_widens() {
        // Full at 30 for 100 windows, then at 100: the steps down in between do not keep
        // the limit from trying, and keeping, more.
        let limits = climb_over(300, 16, 256, Climb::default(), |window, limit| {
            let full = if window < 100 { 30 } else { 100 };
            limit.min(full) as f64 * 10.0
        });
        let trials = limits[..100].iter().filter(|&&l| l > 40).count();
        assert!(trials <= 10, "mostly within what pays: {limits:?}");
        let widened = &limits[200..];
        assert!(
            widened.iter().filter(|&&l| l >= 75).count() > widened.len() * 9 / 10,
            "then at what the wider link pays for: {limits:?}"
        );
    }

    #[test]
    fn parts_in_flight_grow_only_while_parts_wait_and_once_a_window_has_settled() {
        let ready = Climb {
            since_growth: FIRST_TRIAL,
            ..Climb::default()
        };
        let mut state = ready;
        assert_eq!(
            climb(Some((100.0, 16)), 100.0, 16, false, &mut state, 16, 64),
            16
        );
        // The window after a change still carries parts sent under the old limit.
        let mut state = ready;
        assert_eq!(
            climb(Some((100.0, 24)), 100.0, 16, true, &mut state, 16, 64),
            16
        );
        assert_eq!(
            climb(Some((100.0, 16)), 100.0, 16, true, &mut state, 16, 64),
            24
        );
        // The first window has nothing to settle against.
        let mut state = ready;
        assert_eq!(climb(None, 100.0, 16, true, &mut state, 16, 64), 16);
    }

    #[tokio::test]
    async fn resizing_puts_permits_into_circulation_and_takes_them_back() {
        let limit = AdaptiveLimit::new(2, 8);
        assert_eq!(limit.limit(), 2);
        limit.resize(2, 8);
        let held: Vec<AdaptivePermit> =
            futures_util::future::join_all((0..8).map(|_| limit.acquire())).await;
        assert!(
            limit.semaphore.try_acquire().is_err(),
            "eight in circulation"
        );
        drop(held);
        limit.resize(8, 2);
        // The surplus is withdrawn by a task as permits come back.
        for _ in 0..100 {
            if limit.semaphore.available_permits() == 2 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(limit.semaphore.available_permits(), 2);
        assert_eq!(limit.limit(), 2);
    }

    #[test]
    fn a_limit_starts_where_asked_within_its_floor_and_cap() {
        assert_eq!(AdaptiveLimit::starting_at(64, 16, 256).limit(), 64);
        assert_eq!(AdaptiveLimit::starting_at(64, 16, 32).limit(), 32);
        assert_eq!(AdaptiveLimit::starting_at(4, 16, 256).limit(), 16);
        let limit = AdaptiveLimit::starting_at(64, 16, 256);
        assert_eq!(limit.semaphore.available_permits(), 64);
        // Backing off goes down to the floor, not to the start.
        assert_eq!(once(Some((150.0, 32)), 100.0, 64, true), 48);
    }

    #[tokio::test]
    async fn a_window_of_waiting_requests_grows_the_limit() {
        let limit = AdaptiveLimit::new(2, 64);
        limit.slow_start.store(false, Ordering::Relaxed);
        // Two permits held, a third request waits: the window is contended.
        let held = (limit.acquire().await, limit.acquire().await);
        let waiting = tokio::spawn({
            let limit = limit.clone();
            async move { drop(limit.acquire().await) }
        });
        tokio::task::yield_now().await;
        drop(held);
        waiting.await.unwrap();
        std::thread::sleep(WINDOW);
        for _ in 0..MIN_SAMPLES {
            drop(limit.acquire().await);
        }
        assert_eq!(limit.limit(), 4, "doubled");
    }

    #[tokio::test]
    async fn in_slow_start_each_completion_adds_one_while_requests_wait() {
        let limit = AdaptiveLimit::new(2, 64);
        let held = (limit.acquire().await, limit.acquire().await);
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let limit = limit.clone();
                tokio::spawn(async move { limit.acquire().await })
            })
            .collect();
        for _ in 0..100 {
            if limit.waiting.load(Ordering::Relaxed) == 3 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(limit.waiting.load(Ordering::Relaxed), 3);
        drop(held.0);
        assert_eq!(
            limit.limit(),
            3,
            "one completion with requests waiting adds one"
        );
        drop(held.1);
        assert_eq!(limit.limit(), 4);
        let permits = futures_util::future::join_all(waiters).await;
        assert_eq!(limit.waiting.load(Ordering::Relaxed), 0);
        drop(permits);
        assert_eq!(
            limit.limit(),
            4,
            "completions with nobody waiting add nothing"
        );
    }

    #[test]
    fn slow_start_ends_at_the_first_window_that_does_not_grow() {
        let limit = AdaptiveLimit::new(2, 64);
        limit.window.lock().unwrap().started = Instant::now() - 2 * WINDOW;
        for _ in 0..MIN_SAMPLES {
            limit.completed(); // nobody waited: the window holds the limit
        }
        assert!(!limit.slow_start.load(Ordering::Relaxed));
        assert_eq!(limit.limit(), 2);
    }
}
