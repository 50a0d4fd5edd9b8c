//! One module per command; each turns parsed flags into engine calls.

mod bench_sign;
mod serve;

use crate::args::{BenchCommand, Cli, Command};
use crate::exit::ExitCode;
use crate::output::CliError;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Bench(BenchCommand::Sign(args)) => bench_sign::run(&args),
        Command::Serve(args) => serve::run(args),
    }
}
