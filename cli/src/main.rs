//! `ferry`: a high-throughput parallel transfer tool for S3 and S3-compatible stores.

#[macro_use]
mod output;
mod args;
mod commands;
mod exit;
mod hints;
mod location;
mod progress;
mod signals;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse_ordered();
    output::init_logging(cli.global.verbose, cli.global.quiet);
    ferry::open_files::raise_limit();
    let result = commands::run(cli);
    tracing::debug!(
        signing_keys_derived = ferry::sign::key_derivations_in_process(),
        profile_file_reads = ferry::credentials::profile::profile_file_reads(),
        "done"
    );
    match result {
        Ok(code) => code.into(),
        Err(err) => output::report_error(&err).into(),
    }
}
