//! Rendering engine events: indicatif bars on a terminal, plain periodic lines otherwise,
//! one JSON object per line with `--json`, nothing with `-q`.

use ferry::transfer::{Event, Progress, TransferSummary};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    /// Nothing.
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
    started: AtomicU64,
}

/// Shows progress until [`Reporter::finish`].
#[derive(Debug)]
pub struct Reporter {
    mode: Mode,
    counters: Arc<Counters>,
    bar: Option<ProgressBar>,
    ticker: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
    started: Instant,
}

impl Reporter {
    /// Starts showing progress in `mode`.
    pub fn start(mode: Mode) -> Self {
        let counters = Arc::new(Counters::default());
        let bar = (mode == Mode::Bars).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let ticker = (mode == Mode::Plain).then(|| plain_ticker(counters.clone()));
        Self {
            mode,
            counters,
            bar,
            ticker,
            started: Instant::now(),
        }
    }

    /// The sink to give the engine.
    pub fn progress(&self) -> Progress {
        let (mode, counters, bar) = (self.mode, self.counters.clone(), self.bar.clone());
        Progress::new(move |event| {
            count(&counters, &event);
            if let Some(bar) = &bar {
                bar.set_length(counters.total.load(Ordering::Relaxed));
                bar.set_position(counters.moved.load(Ordering::Relaxed));
                let done = counters.done.load(Ordering::Relaxed);
                let started = counters.started.load(Ordering::Relaxed);
                bar.set_message(format!("files {done}/{started}"));
                if let Some(line) = outcome_line(&event) {
                    bar.println(line);
                }
            } else if mode == Mode::Json {
                println!("{}", event_json(&event));
            } else if let Some(line) = outcome_line(&event) {
                eprintln!("{line}");
            }
        })
    }

    /// Stops the display and prints the summary (a JSON object last with `--json`).
    pub fn finish(mut self, summary: &TransferSummary) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Some((stop, handle)) = self.ticker.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = handle.join();
        }
        let seconds = if summary.seconds > 0.0 {
            summary.seconds
        } else {
            self.started.elapsed().as_secs_f64()
        };
        match self.mode {
            Mode::Json => println!(
                "{}",
                serde_json::json!({
                    "type": "summary",
                    "objects": summary.objects,
                    "bytes": summary.bytes,
                    "skipped": summary.skipped,
                    "failed": summary.failed,
                    "retries": summary.retries,
                    "seconds": seconds,
                })
            ),
            Mode::Quiet => {}
            Mode::Bars | Mode::Plain => eprintln!(
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
    }
}

fn count(counters: &Counters, event: &Event) {
    match event {
        Event::Started { bytes, .. } => {
            counters.total.fetch_add(*bytes, Ordering::Relaxed);
            counters.started.fetch_add(1, Ordering::Relaxed);
        }
        Event::Bytes(n) => {
            counters.moved.fetch_add(*n, Ordering::Relaxed);
        }
        Event::Finished { .. }
        | Event::Failed { .. }
        | Event::Skipped { .. }
        | Event::UpToDate { .. } => {
            counters.done.fetch_add(1, Ordering::Relaxed);
        }
        Event::PartDone { .. } | Event::Retried { .. } | Event::Deleted { .. } => {}
    }
}

fn plain_ticker(counters: Arc<Counters>) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        let start = Instant::now();
        let mut last_print = Instant::now();
        while !flag.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            if last_print.elapsed() >= Duration::from_secs(2) {
                last_print = Instant::now();
                let moved = counters.moved.load(Ordering::Relaxed);
                eprintln!(
                    "{} of {}, {} objects done, {}/s",
                    human_bytes(moved),
                    human_bytes(counters.total.load(Ordering::Relaxed)),
                    counters.done.load(Ordering::Relaxed),
                    human_bytes((moved as f64 / start.elapsed().as_secs_f64()) as u64)
                );
            }
        }
    });
    (stop, handle)
}

/// The stderr line for an outcome the user must see: a failure, a skip with its reason, a
/// deletion. `None` for progress.
fn outcome_line(event: &Event) -> Option<String> {
    match event {
        Event::Failed { name, error } => Some(format!("failed: {name}: {error}")),
        Event::Skipped { name, reason } => Some(format!("warning: skipped {name}: {reason}")),
        Event::Deleted { name } => Some(format!("delete: {name}")),
        _ => None,
    }
}

fn event_json(event: &Event) -> serde_json::Value {
    use serde_json::json;
    match event {
        Event::Started { name, bytes } => {
            json!({"type": "started", "object": name, "bytes": bytes})
        }
        Event::Bytes(n) => json!({"type": "bytes", "bytes": n}),
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
        Event::Deleted { name } => json!({"type": "deleted", "path": name}),
        Event::Failed { name, error } => json!({"type": "failed", "path": name, "error": error}),
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
