//! Command-line flags, parsed into plain structs; `commands` turns them into engine objects.

use clap::{Args, Parser, Subcommand};

/// ferry moves data to, from and between S3 buckets as fast as the network allows.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More logging on stderr (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure ferry on this machine.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// `ferry bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Signatures per second, per thread and in total (SigV4, a GetObject with a Range).
    #[command(after_help = "Examples:\n  ferry bench sign\n  ferry bench sign --threads 4 --seconds 5 --json")]
    Sign(BenchSignArgs),
}

/// `ferry bench sign` options.
#[derive(Debug, Args)]
pub struct BenchSignArgs {
    /// Signing threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// How long to sign for, in seconds (0.1 to 600).
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// One JSON object on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}
