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
    /// Serve a local directory as an S3 endpoint (for tests, demos and benchmarks).
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
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

const SERVE_EXAMPLES: &str = "\
Each sub-directory of --root is a bucket; the files below it are its objects. Requests must be
signed (SigV4) with the endpoint's key pair; unsigned ones are refused. Addressing is
path-style: http://127.0.0.1:9000/BUCKET/KEY. Runs until Ctrl-C.

Examples:
  mkdir -p /tmp/s3 && ferry serve --root /tmp/s3
  ferry serve --root /tmp/s3 --address '[::1]:9000'
  FERRY_SERVE_SECRET_KEY=wJalrXUtnFEMI ferry serve --root /tmp/s3 --access-key AKIAEXAMPLE";

/// `ferry serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The directory to serve; it must exist.
    #[arg(long, value_name = "DIR")]
    pub root: std::path::PathBuf,
    /// Where to listen (IP:PORT; [::1]:PORT for IPv6; port 0 picks a free one).
    #[arg(long, value_name = "IP:PORT", default_value_t = ferry::serve::DEFAULT_ADDRESS)]
    pub address: std::net::SocketAddr,
    /// The access key id clients must sign with (with --secret-key; default: a random pair,
    /// printed at start).
    #[arg(long, value_name = "KEY", env = "FERRY_SERVE_ACCESS_KEY")]
    pub access_key: Option<String>,
    /// Its secret (prefer the environment variable: flags show up in `ps`).
    #[arg(long, value_name = "SECRET", env = "FERRY_SERVE_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
}
