//! `ferry bench sign`: how many SigV4 signatures this machine makes per second, per thread.

use crate::args::BenchSignArgs;
use crate::exit::ExitCode;
use crate::output::CliError;
use ferry::credentials::Credentials;
use ferry::sign::{Payload, SignableRequest, Signer, SigningTime, key_derivations};
use std::time::{Duration, Instant};

/// Signatures between two looks at the clock.
const BATCH: u64 = 1024;
const MAX_THREADS: usize = 1024;

struct ThreadResult {
    signatures: u64,
    elapsed: Duration,
    derivations: u64,
}

impl ThreadResult {
    fn per_second(&self) -> f64 {
        self.signatures as f64 / self.elapsed.as_secs_f64()
    }
}

pub fn run(args: &BenchSignArgs, json: bool) -> Result<ExitCode, CliError> {
    let threads = args.threads.unwrap_or_else(default_threads);
    validate(threads, args.seconds)?;
    let duration = Duration::from_secs_f64(args.seconds);
    let results: Vec<ThreadResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| scope.spawn(move || sign_for(duration)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let total: f64 = results.iter().map(ThreadResult::per_second).sum();
    if json {
        print_json(threads, args.seconds, total, &results);
    } else {
        print_table(total, &results);
    }
    Ok(ExitCode::Success)
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn validate(threads: usize, seconds: f64) -> Result<(), CliError> {
    if threads == 0 || threads > MAX_THREADS {
        return Err(CliError::usage(
            format!("--threads {threads} is out of range"),
            format!("use 1 to {MAX_THREADS} threads (default: one per core)"),
        ));
    }
    if !(0.1..=600.0).contains(&seconds) {
        return Err(CliError::usage(
            format!("--seconds {seconds} is out of range"),
            "use 0.1 to 600 seconds",
        ));
    }
    Ok(())
}

/// Signs a typical ranged GetObject until `duration` has passed.
fn sign_for(duration: Duration) -> ThreadResult {
    let credentials = Credentials::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    let signer = Signer::s3("us-east-1");
    let headers = [
        ("host", "examplebucket.s3.us-east-1.amazonaws.com"),
        ("range", "bytes=8388608-16777215"),
    ];
    let request = SignableRequest {
        method: "GET",
        path: "/backups/2026/11/22/part-000123.bin",
        query: &[],
        headers: &headers,
        payload: Payload::Unsigned,
    };
    let derivations_before = key_derivations();
    let start = Instant::now();
    let mut signatures = 0u64;
    let mut sink = 0usize;
    loop {
        let time = SigningTime::now();
        for _ in 0..BATCH {
            let signature = signer.sign_headers(&credentials, &request, time);
            sink = sink.wrapping_add(signature.authorization().len());
        }
        signatures += BATCH;
        if start.elapsed() >= duration {
            break;
        }
    }
    std::hint::black_box(sink);
    ThreadResult {
        signatures,
        elapsed: start.elapsed(),
        derivations: key_derivations() - derivations_before,
    }
}

fn print_table(total: f64, results: &[ThreadResult]) {
    for (i, r) in results.iter().enumerate() {
        outln!(
            "thread {i:>3}: {:>12.0} signatures/s  ({:.0} ns each, {} key derivations)",
            r.per_second(),
            1e9 / r.per_second(),
            r.derivations
        );
    }
    outln!(
        "total     : {total:>12.0} signatures/s on {} threads",
        results.len()
    );
}

fn print_json(threads: usize, seconds: f64, total: f64, results: &[ThreadResult]) {
    let per_thread: Vec<f64> = results.iter().map(|r| r.per_second().round()).collect();
    let value = serde_json::json!({
        "threads": threads,
        "seconds": seconds,
        "signatures_per_second": total.round(),
        "per_thread": per_thread,
        "nanoseconds_per_signature": 1e9 * threads as f64 / total,
        "key_derivations": results.iter().map(|r| r.derivations).sum::<u64>(),
    });
    outln!("{value}");
}
