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

use crate::args::{BenchCommand, Cli, Command, GlobalArgs, UploadsCommand};
use crate::exit::ExitCode;
use crate::output::CliError;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let Cli { global, command } = cli;
    if let Command::Serve(args) = command {
        return serve::run(args);
    }
    // Kept for the life of the process, so that the command's task can borrow them.
    let global: &'static GlobalArgs = Box::leak(Box::new(global));
    match Box::leak(Box::new(command)) {
        Command::Bench(BenchCommand::Sign(args)) => bench_sign::run(args, global.json),
        // The command runs as a task on the runtime's threads, not on this one: a directory
        // transfer's loop is woken by every object that finishes, and each wake of a thread
        // parked outside the runtime was a futex call and a context switch (about half of
        // the context switches of a 2,000-file download).
        // `plan` stays here: its listing closures make futures that are not `Send` for every
        // lifetime, and it transfers nothing.
        Command::Plan(args) => runtime()?.block_on(plan::run(global, args)),
        command => runtime()?.block_on(spawned(async move {
            match command {
                Command::Cp(args) => cp::run(global, args).await,
                Command::Mv(args) => cp::transfer(global, args, true).await,
                Command::Ls(args) => ls::run(global, args).await,
                Command::Rm(args) => rm::run(global, args).await,
                Command::Mb(args) => bucket::make(global, args).await,
                Command::Rb(args) => bucket::remove(global, args).await,
                Command::Presign(args) => presign::run(global, args).await,
                Command::Demo(args) => demo::run(global, args).await,
                Command::Sync(args) => sync::run(global, args).await,
                Command::Uploads(UploadsCommand::Ls(args)) => uploads::list(global, args).await,
                Command::Uploads(UploadsCommand::Abort(args)) => uploads::abort(global, args).await,
                Command::Whoami => whoami::run(global).await,
                Command::Run(args) => run::run(global, args).await,
                Command::Report(args) => report::run(global, args).await,
                Command::Bench(BenchCommand::Transfer(args)) => {
                    bench_transfer::run(global, args).await
                }
                Command::Bench(_) | Command::Serve(_) | Command::Plan(_) => {
                    unreachable!("handled above")
                }
            }
        })),
    }
}

/// Runs `work` as a task of the runtime and waits for it; a panic in it goes on here.
async fn spawned<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    match tokio::spawn(work).await {
        Ok(value) => value,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
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
