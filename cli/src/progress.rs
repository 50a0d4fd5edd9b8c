//! Rendering engine events: indicatif bars on a terminal, plain periodic lines otherwise,
//! one JSON object per line with `--json`, only failures with `-q`.
//!
//! Every failure and every skip with a reason is printed exactly once: as it happens when the
//! engine reports it, and at the end for any the summary holds that no event named.
//! Deletions are listed on stdout (`delete: s3://b/k`), as `aws s3` lists them.

use crate::signals::Interrupted;
use ferry::transfer::{Event, Progress, TransferSummary, UploadRef};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bars on stderr (a terminal).
    Bars,
    /// A line on stderr every few seconds (not a terminal).
    Plain,
    /// JSON lines on stdout.
    Json,
    /// Failures only.
    Quiet,
}

impl Mode {
    /// The mode for these flags and this stderr.
    pub fn choose(json: bool, quiet: bool) -> Self {
        match (json, quiet) {
            (true, _) => Self::Json,
            (false, true) => Self::Quiet,
            _ if std::io::stderr().is_terminal() => Self::Bars,
            _ => Self::Plain,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    total: AtomicU64,
    moved: AtomicU64,
    done: AtomicU64,
    finished: AtomicU64,
    started: AtomicU64,
    /// Downloads checked by size only.
    unverified: AtomicU64,
}

/// Names of the failures and skips already printed, so the summary prints only the others.
type Reported = Arc<Mutex<HashSet<String>>>;

/// Shows progress until [`Reporter::finish`].
#[derive(Debug)]
pub struct Reporter {
    mode: Mode,
    dry_run: bool,
    counters: Arc<Counters>,
    reported: Reported,
    bar: Option<ProgressBar>,
    ticker: Option<Ticker>,
    started: Instant,
}

impl Reporter {
    /// Starts showing progress in `mode`.
    pub fn start(mode: Mode) -> Self {
        let counters = Arc::new(Counters::default());
        let bar = (mode == Mode::Bars).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{bar:30} {binary_bytes}/{binary_total_bytes} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let ticker = matches!(mode, Mode::Plain | Mode::Bars)
            .then(|| ticker(counters.clone(), bar.clone(), TICK));
        Self {
            mode,
            dry_run: false,
            counters,
            reported: Reported::default(),
            bar,
            ticker,
            started: Instant::now(),
        }
    }

    /// Deletions are shown as what a dry run would delete.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// The sink to give the engine.
    pub fn progress(&self) -> Progress {
        let (mode, dry_run) = (self.mode, self.dry_run);
        let (counters, bar, reported) = (
            self.counters.clone(),
            self.bar.clone(),
            self.reported.clone(),
        );
        Progress::new(move |event| {
            if let Event::Failed(failure) = &event
                && crate::output::reader_went_away(&failure.error)
            {
                return;
            }
            count(&counters, &event);
            if let Some(bar) = &bar {
                bar.set_length(counters.total.load(Ordering::Relaxed));
                bar.set_position(counters.moved.load(Ordering::Relaxed));
            }
            match &event {
                Event::Failed(failure) => {
                    lock(&reported).insert(failure.object.clone());
                }
                Event::Skipped { name, .. } => {
                    lock(&reported).insert(name.clone());
                }
                _ => {}
            }
            show(mode, bar.as_ref(), dry_run, &event);
        })
    }

    /// Stops the display and prints the summary (a JSON object last with `--json`).
    pub fn finish(mut self, summary: &TransferSummary) {
        let seconds = self.stop(summary);
        let unverified = self.counters.unverified.load(Ordering::Relaxed);
        match self.mode {
            Mode::Json => outln!(
                "{}",
                serde_json::json!({
                    "type": "summary",
                    "objects": summary.objects,
                    "bytes": summary.bytes,
                    "skipped": summary.skipped,
                    "failed": summary.failed,
                    "retries": summary.retries,
                    "unverified": unverified,
                    "seconds": seconds,
                })
            ),
            Mode::Quiet => {}
            // `ferry cp s3://b/k - | head`: the reader stopped the download, as it stops `cat`;
            // "0 objects" would say nothing came through.
            Mode::Bars | Mode::Plain if crate::output::stdout_closed() && summary.failed == 0 => {
                errln!(
                    "stopped: the reader of standard output closed it; the rest was not downloaded"
                );
            }
            Mode::Bars | Mode::Plain => errln!(
                "{} objects, {} in {:.2} s ({}/s); {} skipped, {} failed, {} retries",
                summary.objects,
                human_bytes(summary.bytes),
                seconds,
                human_bytes((summary.bytes as f64 / seconds.max(1e-9)) as u64),
                summary.skipped,
                summary.failed,
                summary.retries
            ),
        }
        if unverified > 0 && matches!(self.mode, Mode::Bars | Mode::Plain) {
            errln!(
                "note: {unverified} download(s) checked by size only: the store kept no checksum for them and their ETag is no MD5 (multipart objects on stores that keep no checksums, such as ferry serve; SSE-KMS)"
            );
        }
    }

    /// Stops the display and prints a deletion summary: `objects` counts the `what` deleted
    /// ("objects", "multipart uploads").
    pub fn finish_deletions(mut self, summary: &TransferSummary, dry_run: bool, what: &str) {
        self.stop(summary);
        match self.mode {
            Mode::Json => outln!(
                "{}",
                serde_json::json!({
                    "type": "summary",
                    "deleted": summary.objects,
                    "failed": summary.failed,
                    "dry_run": dry_run,
                })
            ),
            Mode::Quiet => {}
            Mode::Bars | Mode::Plain => {
                let verb = if dry_run { "would delete" } else { "deleted" };
                errln!(
                    "{verb} {} {what}, {} failed",
                    summary.objects,
                    summary.failed
                );
            }
        }
    }

    /// Stops the display after a signal and says what had been done by then: the objects
    /// finished and the bytes actually moved, counted from the engine's events.
    pub fn finish_interrupted(mut self, interrupted: &Interrupted) {
        let signal = interrupted.stop.name();
        let moved = self.counters.moved.load(Ordering::Relaxed);
        let finished = self.counters.finished.load(Ordering::Relaxed);
        let seconds = self.stop(&TransferSummary::default());
        let left = interrupted.left.clone().unwrap_or_default();
        let url = |u: &UploadRef| format!("s3://{}/{}", u.bucket, u.key);
        if self.mode == Mode::Json {
            let open: Vec<_> = left
                .open_uploads
                .iter()
                .map(|(u, why)| serde_json::json!({"object": url(u), "upload_id": u.upload_id, "reason": why}))
                .collect();
            outln!(
                "{}",
                serde_json::json!({
                    "type": "interrupted",
                    "signal": signal,
                    "objects": finished,
                    "bytes": moved,
                    "aborted_uploads": left.aborted_uploads.len(),
                    "open_uploads": open,
                    "partial_downloads": left.partial_downloads,
                    "removed_downloads": left.removed_downloads,
                    "seconds": seconds,
                })
            );
        }
        let mut line = format!(
            "interrupted by {signal} after {seconds:.2} s: {finished} objects done, {} moved",
            human_bytes(moved),
        );
        let aborted = left.aborted_uploads.len();
        if aborted > 0 {
            line.push_str(&format!("; aborted {aborted} open multipart upload(s)"));
        }
        if !left.partial_downloads.is_empty() {
            line.push_str(&format!(
                "; {} partial download(s) stay under their .ferry-part names for a rerun to resume",
                left.partial_downloads.len()
            ));
        }
        if !left.removed_downloads.is_empty() {
            line.push_str(&format!(
                "; removed {} unfinished download(s) with no journal to resume from (a rerun fetches them again)",
                left.removed_downloads.len()
            ));
        }
        errln!("{line}");
        for (upload, why) in &left.open_uploads {
            errln!(
                "left open: {} (upload {}): {why}",
                printable(&url(upload)),
                upload.upload_id
            );
        }
    }

    /// Ends the bar and the ticker, prints what the summary holds that no event named, and
    /// returns the wall time.
    fn stop(&mut self, summary: &TransferSummary) -> f64 {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        // Joined, so that no progress line comes after the summary.
        if let Some(ticker) = self.ticker.take() {
            ticker.stop();
        }
        let reported = lock(&self.reported);
        for failure in &summary.failures {
            if !reported.contains(&failure.object) {
                show(self.mode, None, false, &Event::Failed(failure.clone()));
            }
        }
        for (name, reason) in &summary.warnings {
            if !reported.contains(name) {
                let event = Event::Skipped {
                    name: name.clone(),
                    reason: reason.clone(),
                };
                show(self.mode, None, false, &event);
            }
        }
        if summary.seconds > 0.0 {
            summary.seconds
        } else {
            self.started.elapsed().as_secs_f64()
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.stop();
        }
    }
}

fn lock(reported: &Reported) -> std::sync::MutexGuard<'_, HashSet<String>> {
    match reported.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Prints one event as `mode` wants it.
fn show(mode: Mode, bar: Option<&ProgressBar>, dry_run: bool, event: &Event) {
    if mode == Mode::Json {
        crate::output::print_line(&event_json(event, dry_run).to_string());
        return;
    }
    let line = match event {
        Event::Failed(failure) => {
            format!("failed: {}: {}", printable(&failure.object), failure.error)
        }
        Event::Skipped { name, reason } if mode != Mode::Quiet => {
            format!("warning: skipped {}: {reason}", printable(name))
        }
        Event::Deleted { name } if mode != Mode::Quiet => {
            let prefix = if dry_run { "(dry run) " } else { "" };
            let line = format!("{prefix}delete: {}", printable(name));
            match bar {
                Some(bar) => bar.suspend(|| crate::output::print_line(&line)),
                None => crate::output::print_line(&line),
            }
            return;
        }
        _ => return,
    };
    match bar {
        Some(bar) => bar.println(line),
        None => {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }
}

/// A name as shown to a person: control characters (a newline or an escape sequence in a
/// key) written as escapes, so one object is one line and cannot drive the terminal.
pub fn printable(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn count(counters: &Counters, event: &Event) {
    match event {
        Event::Started { bytes, .. } => {
            counters.total.fetch_add(*bytes, Ordering::Relaxed);
            counters.started.fetch_add(1, Ordering::Relaxed);
        }
        Event::Bytes { bytes, .. } => {
            counters.moved.fetch_add(*bytes, Ordering::Relaxed);
        }
        Event::Finished { .. } => {
            counters.finished.fetch_add(1, Ordering::Relaxed);
            counters.done.fetch_add(1, Ordering::Relaxed);
        }
        Event::Failed(_) | Event::Skipped { .. } | Event::UpToDate { .. } => {
            counters.done.fetch_add(1, Ordering::Relaxed);
        }
        Event::Unverified { .. } => {
            counters.unverified.fetch_add(1, Ordering::Relaxed);
        }
        Event::PartDone { .. } | Event::Retried { .. } | Event::Deleted { .. } => {}
    }
}

/// The rate, smoothed over a few seconds (an exponentially weighted moving average of
/// 200 ms samples), so the ETA neither jumps nor starts at hours.
#[derive(Debug)]
struct Rate {
    bytes_per_second: f64,
    last_moved: u64,
    last_sample: Instant,
    samples: u32,
}

/// How quickly the smoothed rate follows the measured one (time constant of about 3 s).
const RATE_TIME_CONSTANT: f64 = 3.0;

impl Rate {
    fn new() -> Self {
        Self {
            bytes_per_second: 0.0,
            last_moved: 0,
            last_sample: Instant::now(),
            samples: 0,
        }
    }

    fn sample(&mut self, moved: u64) {
        let now = Instant::now();
        let dt = now.duration_since(self.last_sample).as_secs_f64();
        if dt <= 0.0 {
            return;
        }
        let instant = moved.saturating_sub(self.last_moved) as f64 / dt;
        let weight = if self.samples == 0 {
            1.0
        } else {
            1.0 - (-dt / RATE_TIME_CONSTANT).exp()
        };
        self.bytes_per_second += weight * (instant - self.bytes_per_second);
        self.last_moved = moved;
        self.last_sample = now;
        self.samples += 1;
    }

    /// Seconds left for `remaining` bytes, once the rate means something (a second of
    /// samples and some bytes moving).
    fn eta(&self, remaining: u64) -> Option<f64> {
        (self.samples >= 5 && self.bytes_per_second > 1.0)
            .then(|| remaining as f64 / self.bytes_per_second)
    }
}

/// The thread that updates the progress every [`TICK`], until [`Ticker::stop`].
#[derive(Debug)]
struct Ticker {
    /// Dropped to stop the thread: its wait for the next tick ends at once.
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Ticker {
    /// Stops the thread and waits for it: at once, not at its next tick (a sleep there
    /// made every command wait up to 200 ms before it exited).
    fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}

/// How often the progress is updated.
const TICK: Duration = Duration::from_millis(200);

/// Every `tick` ([`TICK`]): updates the bar's rate and ETA, or prints a plain line every 2 s.
fn ticker(counters: Arc<Counters>, bar: Option<ProgressBar>, tick: Duration) -> Ticker {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let mut rate = Rate::new();
        let mut last_print = Instant::now();
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
            let moved = counters.moved.load(Ordering::Relaxed);
            let total = counters.total.load(Ordering::Relaxed);
            rate.sample(moved);
            let eta = rate
                .eta(total.saturating_sub(moved))
                .map_or_else(|| "-".to_owned(), human_seconds);
            let speed = human_bytes(rate.bytes_per_second as u64);
            let done = counters.done.load(Ordering::Relaxed);
            let started = counters.started.load(Ordering::Relaxed);
            if let Some(bar) = &bar {
                bar.set_message(format!("{speed}/s eta {eta} files {done}/{started}"));
            } else if last_print.elapsed() >= Duration::from_secs(2) {
                last_print = Instant::now();
                let _ = writeln!(
                    std::io::stderr(),
                    "{} of {}, {done} objects done, {speed}/s, eta {eta}",
                    human_bytes(moved),
                    human_bytes(total),
                );
            }
        }
    });
    Ticker { stop, thread }
}

/// `42 s`, `3 min 5 s`, `2 h 10 min`.
fn human_seconds(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

fn event_json(event: &Event, dry_run: bool) -> serde_json::Value {
    use serde_json::json;
    match event {
        Event::Started { name, bytes } => {
            json!({"type": "started", "object": name, "bytes": bytes})
        }
        Event::Bytes { name, bytes } => {
            json!({"type": "bytes", "object": &**name, "bytes": bytes})
        }
        Event::PartDone { name, part } => {
            json!({"type": "part_done", "object": name, "part": part})
        }
        Event::Retried { name } => json!({"type": "retried", "object": name}),
        Event::Finished { name, bytes } => {
            json!({"type": "finished", "object": name, "bytes": bytes})
        }
        Event::UpToDate { name } => json!({"type": "up_to_date", "path": name}),
        Event::Skipped { name, reason } => {
            json!({"type": "skipped", "path": name, "reason": reason})
        }
        Event::Deleted { name } => json!({"type": "deleted", "path": name, "dry_run": dry_run}),
        Event::Unverified { name } => json!({"type": "unverified", "path": name}),
        Event::Failed(failure) => json!({
            "type": "failed",
            "path": failure.object,
            "kind": failure.kind().name(),
            "error": failure.error.to_string(),
        }),
    }
}

/// `1.5 MiB`-style sizes.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopping_the_ticker_does_not_wait_for_its_next_tick() {
        // A tick of an hour: a ticker that sleeps until its next tick would hold this test
        // for an hour; one that is woken stops at once.
        let ticker = ticker(
            Arc::new(Counters::default()),
            None,
            Duration::from_secs(3600),
        );
        let (done, stopped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            ticker.stop();
            let _ = done.send(());
        });
        assert!(
            stopped.recv_timeout(Duration::from_secs(30)).is_ok(),
            "the ticker was still waiting for its tick"
        );
    }
}
