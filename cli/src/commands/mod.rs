//! One module per command; each turns parsed flags into engine calls.

mod bench_sign;
mod bench_transfer;
mod bucket;
mod connect;
mod cp;
mod demo;
mod ls;
mod mv;
mod plan;
mod plan_store;
mod presign;
mod report;
mod rm;
mod run;
mod serve;
mod sync;
mod uploads;
mod whoami;

use crate::args::{BenchCommand, Cli, Command, UploadsCommand};
use crate::exit::ExitCode;
use crate::output::CliError;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let global = cli.global;
    match cli.command {
        Command::Bench(BenchCommand::Sign(args)) => bench_sign::run(&args, global.json),
        Command::Serve(args) => serve::run(args),
        command => runtime()?.block_on(async move {
            match command {
                Command::Cp(args) => cp::run(&global, &args).await,
                Command::Mv(args) => cp::transfer(&global, &args, true).await,
                Command::Ls(args) => ls::run(&global, &args).await,
                Command::Rm(args) => rm::run(&global, &args).await,
                Command::Mb(args) => bucket::make(&global, &args).await,
                Command::Rb(args) => bucket::remove(&global, &args).await,
                Command::Presign(args) => presign::run(&global, &args).await,
                Command::Demo(args) => demo::run(&global, &args).await,
                Command::Sync(args) => sync::run(&global, &args).await,
                Command::Uploads(UploadsCommand::Ls(args)) => uploads::list(&global, &args).await,
                Command::Uploads(UploadsCommand::Abort(args)) => {
                    uploads::abort(&global, &args).await
                }
                Command::Whoami => whoami::run(&global).await,
                Command::Plan(args) => plan::run(&global, &args).await,
                Command::Run(args) => run::run(&global, &args).await,
                Command::Report(args) => report::run(&global, &args).await,
                Command::Bench(BenchCommand::Transfer(args)) => {
                    bench_transfer::run(&global, &args).await
                }
                Command::Bench(_) | Command::Serve(_) => unreachable!("handled above"),
            }
        }),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError {
            message: format!("could not start the async runtime: {e}"),
            hint: None,
            code: ExitCode::Failure,
        })
}
