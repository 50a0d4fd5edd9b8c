//! Command-line flags, parsed into plain structs; `commands` turns them into engine objects.

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use ferry::transfer::FilterKind;

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

impl Cli {
    /// Parses the command line (exiting with clap's message on a mistake), keeping
    /// `--include`/`--exclude` in the order they were given.
    pub fn parse_ordered() -> Self {
        let matches = Self::command().get_matches();
        let mut cli = Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        if let (Some((_, sub)), Some(filters)) = (matches.subcommand(), cli.command.filters_mut()) {
            filters.ordered = ordered_filters(sub);
        }
        cli
    }
}

impl Command {
    /// The filters of the commands that take them.
    fn filters_mut(&mut self) -> Option<&mut FilterArgs> {
        match self {
            Self::Cp(args) | Self::Mv(args) => Some(&mut args.filters),
            Self::Rm(args) => Some(&mut args.filters),
            Self::Sync(args) => Some(&mut args.filters),
            _ => None,
        }
    }
}

/// `--exclude` and `--include` values in command-line order.
fn ordered_filters(matches: &ArgMatches) -> Vec<(FilterKind, String)> {
    let mut found = Vec::new();
    for (id, kind) in [
        ("exclude", FilterKind::Exclude),
        ("include", FilterKind::Include),
    ] {
        if let (Some(indices), Some(values)) =
            (matches.indices_of(id), matches.get_many::<String>(id))
        {
            found.extend(indices.zip(values).map(|(i, v)| (i, kind, v.clone())));
        }
    }
    found.sort_by_key(|(index, _, _)| *index);
    found.into_iter().map(|(_, k, v)| (k, v)).collect()
}

impl FilterArgs {
    /// The filters, compiled; a bad pattern is a usage error naming it.
    pub fn compile(&self) -> Result<ferry::transfer::Filters, crate::output::CliError> {
        let rules = if self.ordered.is_empty() {
            self.exclude
                .iter()
                .map(|p| (FilterKind::Exclude, p.clone()))
                .chain(
                    self.include
                        .iter()
                        .map(|p| (FilterKind::Include, p.clone())),
                )
                .collect()
        } else {
            self.ordered.clone()
        };
        ferry::transfer::Filters::from_rules(rules).map_err(|e| {
            crate::output::CliError::usage(
                e.to_string(),
                "patterns use * (any characters, / included), ? and [seq] (see docs/usage.md)",
            )
        })
    }
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
    /// Machine-readable output: one JSON object per line on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// The S3 endpoint (S3-compatible stores: http://127.0.0.1:9000, http://[::1]:9000).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's, us-east-1).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// The profile of ~/.aws/credentials and ~/.aws/config to use.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Send anonymous requests (public buckets).
    #[arg(long, global = true)]
    pub no_sign_request: bool,
    /// Address buckets as https://host/BUCKET/KEY.
    #[arg(long, global = true)]
    pub path_style: bool,
    /// Use the dual-stack (IPv6) AWS endpoints.
    #[arg(long, global = true)]
    pub dualstack: bool,
    /// Trust only the certificates in this PEM file (else AWS_CA_BUNDLE, the system's).
    #[arg(long, global = true, value_name = "PEM")]
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Requests in flight at once, across all files (default: parts and ranges start at 16
    /// and grow up to 32, or to what --target-gbps asks for, where more in flight move more
    /// bytes a second; objects of one request each start at 512 and step down where fewer
    /// complete as many per second). Given, it is fixed.
    #[arg(long = "concurrency", global = true, value_name = "N")]
    pub concurrency_flag: Option<usize>,
    /// Size the memory budget, and the most parts and ranges in flight, for this throughput
    /// in gigabits per second (one request per 0.4 Gbps; e.g. --target-gbps 10 lets them
    /// grow to 25 in flight).
    #[arg(long, global = true, value_name = "GBPS")]
    pub target_gbps: Option<f64>,
    /// Never send a straggling part upload or ranged download a second time (by default a
    /// part or range slower than 95% of recent ones and twice their median, and overtaken by
    /// the others, is hedged with a duplicate request, one at a time per 32 of the most parts
    /// in flight).
    #[arg(long, global = true)]
    pub no_hedging: bool,
    /// Abandon and retry a request whose bytes stop moving, either way, for this many
    /// seconds (default 10).
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_stall_timeout)]
    pub stall_timeout: Option<std::time::Duration>,
    /// Cap on the bytes per second of all transfers together, uploads and downloads
    /// (e.g. 50MiB/s, 10MB/s, 800KiB/s).
    #[arg(long, global = true, value_name = "RATE")]
    pub max_bandwidth: Option<String>,
    /// Checksum sent with uploads and verified on downloads: crc64nvme (default), crc32,
    /// crc32c, sha256, or none (stores that reject x-amz-checksum-* headers).
    #[arg(long, global = true, value_name = "ALGORITHM")]
    pub checksum_algorithm: Option<String>,
    /// Send each part's checksum as a header, summed before the part is sent, instead of as
    /// an aws-chunked trailer summed while it is sent (one read of the file, as the AWS SDKs
    /// do): for stores that reject `Content-Encoding: aws-chunked` uploads.
    #[arg(long, global = true)]
    pub checksum_in_header: bool,
    /// Content-Type of uploaded objects (default: guessed from each file's extension).
    #[arg(long, global = true, value_name = "TYPE")]
    pub content_type: Option<String>,
    /// User metadata for uploaded objects, KEY=VALUE (repeatable): x-amz-meta-KEY.
    #[arg(long, global = true, value_name = "KEY=VALUE")]
    pub metadata: Vec<String>,
    /// The store lists keys in UTF-8 byte order, as Amazon S3 does (MinIO, Ceph and `ferry
    /// serve` do too): sync then merges listings as they stream in, in flat memory. By
    /// default only AWS endpoints are trusted to; on others a listing is read whole and
    /// sorted first.
    #[arg(long, global = true)]
    pub sorted_listings: bool,
    /// Storage class of uploaded and copied objects: STANDARD, STANDARD_IA, ONEZONE_IA,
    /// INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE, … (default: the bucket's).
    #[arg(long, global = true, value_name = "CLASS")]
    pub storage_class: Option<String>,
    /// Server-side encryption of uploaded and copied objects: AES256 (SSE-S3) or aws:kms
    /// (SSE-KMS).
    #[arg(long, global = true, value_name = "ALGORITHM")]
    pub sse: Option<String>,
    /// The KMS key for SSE-KMS (its ID, ARN or alias; implies --sse aws:kms).
    #[arg(long, global = true, value_name = "KEY")]
    pub sse_kms_key_id: Option<String>,
    /// Tags of uploaded and copied objects, as a URL query: KEY=VALUE&KEY2=VALUE2.
    #[arg(long, global = true, value_name = "TAGS")]
    pub tagging: Option<String>,
    /// Canned ACL of uploaded and copied objects (private, bucket-owner-full-control, …),
    /// for stores that need one.
    #[arg(long, global = true, value_name = "ACL")]
    pub acl: Option<String>,
    /// Cache-Control of uploaded objects.
    #[arg(long, global = true, value_name = "VALUE")]
    pub cache_control: Option<String>,
    /// Content-Disposition of uploaded objects.
    #[arg(long, global = true, value_name = "VALUE")]
    pub content_disposition: Option<String>,
    /// Content-Encoding of uploaded objects.
    #[arg(long, global = true, value_name = "VALUE")]
    pub content_encoding: Option<String>,
    /// Content-Language of uploaded objects.
    #[arg(long, global = true, value_name = "VALUE")]
    pub content_language: Option<String>,
    /// For S3-to-S3 copies: COPY keeps the source's content type, headers and metadata;
    /// REPLACE sets them from --content-type, --metadata, --cache-control, … (default: COPY,
    /// or REPLACE when --metadata is given, as aws s3 does).
    #[arg(long, global = true, value_name = "COPY|REPLACE")]
    pub metadata_directive: Option<String>,
    /// Part size for multipart transfers (5MiB to 5GiB; grown for huge objects).
    #[arg(long, global = true, value_name = "SIZE")]
    pub part_size: Option<String>,
    /// The source's S3 endpoint for bucket-to-bucket copies across endpoints (the
    /// destination uses --endpoint-url); the bytes then stream through ferry.
    #[arg(long, global = true, value_name = "URL")]
    pub source_endpoint_url: Option<String>,
    /// The profile to read the source with, for copies across accounts or credentials (the
    /// destination uses --profile).
    #[arg(long, global = true, value_name = "NAME")]
    pub source_profile: Option<String>,
    /// Flush every downloaded file to disk (fdatasync) before it takes its final name, so it
    /// survives a power loss; slower (about 0.4 s per GiB).
    #[arg(long, global = true)]
    pub fsync: bool,
    /// In directory uploads (cp -r, sync), skip symbolic links (each with a warning) instead
    /// of following them.
    #[arg(long, global = true)]
    pub no_follow_symlinks: bool,
    /// With --checksum-algorithm none, send uploads without Content-MD5 either, so the store
    /// verifies nothing of what arrives (for stores that reject Content-MD5; avoid otherwise).
    #[arg(long, global = true)]
    pub no_verify: bool,
    /// Temporary credentials from STS.
    #[command(flatten)]
    pub sts: StsArgs,
}

impl std::fmt::Debug for StsArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "** redacted **");
        f.debug_struct("StsArgs")
            .field("assume_role", &self.assume_role)
            .field("role_session_name", &self.role_session_name)
            .field("session_duration", &self.session_duration)
            .field("external_id", &self.external_id)
            .field("mfa_serial", &self.mfa_serial)
            .field("mfa_code", &hidden(&self.mfa_code))
            .field("session_token", &hidden(&self.session_token))
            .field("sts_endpoint_url", &self.sts_endpoint_url)
            .finish()
    }
}

/// Parts and ranges in flight to start with when neither --concurrency nor --target-gbps is
/// given (S3 serves a request at about 90 MB/s: 16 fill about 11 Gbps).
pub const DEFAULT_CONCURRENCY: usize = 16;

impl GlobalArgs {
    /// The most requests in flight for objects of one request each: `--concurrency` when
    /// given (fixed), else up to [`ferry::transfer::DEFAULT_REQUEST_CONCURRENCY`], within
    /// what the open-file limit leaves (see [`ferry::open_files`]).
    pub fn request_concurrency(&self) -> usize {
        match self.concurrency_flag {
            Some(n) => n.max(1),
            None => ferry::open_files::requests_within_limit(
                ferry::transfer::DEFAULT_REQUEST_CONCURRENCY.max(self.concurrency()),
                self.concurrency(),
            ),
        }
    }

    /// `--concurrency`, else what `--target-gbps` asks for, else [`DEFAULT_CONCURRENCY`].
    pub fn concurrency(&self) -> usize {
        if let Some(n) = self.concurrency_flag {
            return n.max(1);
        }
        self.target_gbps
            .and_then(|gbps| ferry::transfer::sizing::for_target(gbps, 8 * 1024 * 1024).ok())
            .map_or(DEFAULT_CONCURRENCY, |s| s.concurrency)
    }
}

/// Options for temporary credentials (STS AssumeRole and GetSessionToken). `Debug` hides
/// the session token and the MFA code.
#[derive(Args, Default)]
#[command(next_help_heading = "Temporary credentials")]
pub struct StsArgs {
    /// Assume this IAM role (arn:aws:iam::ACCOUNT:role/NAME) with the credentials found
    /// otherwise; refreshed before they expire.
    #[arg(long, global = true, value_name = "ARN")]
    pub assume_role: Option<String>,
    /// The role session's name (default ferry-TIMESTAMP), shown in CloudTrail.
    #[arg(long, global = true, value_name = "NAME")]
    pub role_session_name: Option<String>,
    /// How long temporary credentials last, in seconds (AssumeRole 900-43200,
    /// GetSessionToken 900-129600).
    #[arg(long, global = true, value_name = "SECONDS")]
    pub session_duration: Option<u32>,
    /// The external id the role's trust policy asks for.
    #[arg(long, global = true, value_name = "ID")]
    pub external_id: Option<String>,
    /// The MFA device (serial number or ARN); without --assume-role, ferry asks STS
    /// GetSessionToken for an MFA-authenticated session.
    #[arg(long, global = true, value_name = "ARN")]
    pub mfa_serial: Option<String>,
    /// The MFA device's current code (else ferry asks on the terminal).
    #[arg(long, global = true, value_name = "CODE")]
    pub mfa_code: Option<String>,
    /// The session token of temporary keys given in the environment or the profile.
    #[arg(long, global = true, value_name = "TOKEN", hide_env_values = true)]
    pub session_token: Option<String>,
    /// The STS endpoint (else AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the region's).
    #[arg(long, global = true, value_name = "URL")]
    pub sts_endpoint_url: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure ferry on this machine.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Show which identity and credentials ferry would use (STS GetCallerIdentity).
    #[command(
        after_help = "Examples:\n  ferry whoami\n  ferry whoami --profile prod --json\n  ferry whoami --assume-role arn:aws:iam::123456789012:role/reader"
    )]
    Whoami,
    /// Copy files and directories to, from and between buckets.
    #[command(after_help = CP_EXAMPLES)]
    Cp(CpArgs),
    /// List buckets, or the objects under a prefix.
    #[command(
        after_help = "Examples:\n  ferry ls\n  ferry ls s3://bucket/photos/\n  ferry ls -r s3://bucket --json"
    )]
    Ls(LsArgs),
    /// Move files or objects: copy, then delete each source once its copy is complete.
    #[command(after_help = MV_EXAMPLES)]
    Mv(CpArgs),
    /// Delete an object, or everything under a prefix with -r.
    #[command(after_help = RM_EXAMPLES)]
    Rm(RmArgs),
    /// Make a bucket.
    #[command(after_help = "Example:\n  ferry mb s3://new-bucket --region eu-west-1")]
    Mb(BucketArgs),
    /// Remove a bucket (it must be empty, or give --force to delete its objects first).
    #[command(
        after_help = "Examples:\n  ferry rb s3://old-bucket\n  ferry rb --force s3://old-bucket   # deletes every object, then the bucket"
    )]
    Rb(RbArgs),
    /// Print a presigned GET URL.
    #[command(after_help = "Example:\n  ferry presign s3://bucket/report.pdf --expires 3600")]
    Presign(PresignArgs),
    /// Upload, list, download and verify a generated data set against the embedded endpoint.
    #[command(after_help = "Examples:\n  ferry demo\n  ferry demo --size 1GiB --files 5000")]
    Demo(DemoArgs),
    /// Serve a local directory as an S3 endpoint (for tests, demos and benchmarks).
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Copy what is new or changed (size and time, or --checksum); --delete removes extras.
    #[command(after_help = SYNC_EXAMPLES)]
    Sync(SyncArgs),
    /// Multipart uploads left open (by a crash, a killed job, another tool): list or abort.
    #[command(subcommand)]
    Uploads(UploadsCommand),
    /// Split a migration into N shards, balanced by bytes and count (see docs/scale-out.md).
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),
    /// Run one shard of a plan: copy its objects, skipping those already done.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Merge the shards' results; exits 1 until every object is done.
    #[command(after_help = "Examples:\n  ferry report ./plan\n  ferry report ./plan --json")]
    Report(ReportArgs),
}

const PLAN_EXAMPLES: &str = "\
The source is read once (an S3 listing, a local tree, or --manifest) and its objects are
split into N shard files, the same split for the same input. PLAN is a local directory
every worker can read and write (a shared volume), where `ferry run` keeps each shard's
journal and result; or s3://BUCKET/PREFIX/, from which each worker fetches its shard and to
which it puts its journal and result back.

Examples:
  ferry plan s3://old/data/ s3://new/data/ --shards 64 --out /mnt/plans/data
  ferry plan ./archive s3://bucket/archive/ --shards 8 --out ./plan
  ferry plan s3://old/ s3://new/ --manifest keys.txt --shards 16 --out ./plan
  ferry plan s3://old/ s3://new/ --manifest inventory/manifest.json --shards 256 --out ./plan
  ferry plan s3://old/ s3://new/ --shards 256 --out s3://ops/plans/migration/";

const RUN_EXAMPLES: &str = "\
The shard index comes from --shard, else JOB_COMPLETION_INDEX (a Kubernetes Indexed Job),
else AWS_BATCH_JOB_ARRAY_INDEX (an AWS Batch array job). Objects the shard's journal lists,
or that the destination already holds (same size and MD5 where known), are skipped, so a
shard may be run again after a failure or a kill. Exits 0 when every object of the shard is
in place, 1 when some failed (listed, and in result-NNNNN.json).

Examples:
  ferry run ./plan --shard 3
  JOB_COMPLETION_INDEX=3 ferry run /mnt/plans/data
  AWS_BATCH_JOB_ARRAY_INDEX=3 ferry run s3://ops/plans/migration/";

/// `ferry plan` options.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// s3://BUCKET/PREFIX or a local directory.
    pub source: String,
    /// s3://BUCKET/PREFIX or a local directory.
    pub destination: String,
    /// How many shards (1 to 99999).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=99_999))]
    pub shards: u32,
    /// Where to write the plan: a local directory (made if missing) or s3://BUCKET/PREFIX/;
    /// it must hold no plan yet.
    #[arg(long, value_name = "PLAN")]
    pub out: String,
    /// Read the objects from this file instead of listing the source: a text file of keys
    /// (KEY, or KEY<TAB>SIZE[<TAB>ETAG], one per line), or an S3 Inventory manifest.json.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<std::path::PathBuf>,
}

/// `ferry run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The plan: a local directory or s3://BUCKET/PREFIX/.
    pub plan: String,
    /// The shard to run (else JOB_COMPLETION_INDEX, else AWS_BATCH_JOB_ARRAY_INDEX).
    #[arg(long)]
    pub shard: Option<usize>,
}

/// `ferry report` options.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The plan: a local directory or s3://BUCKET/PREFIX/.
    pub plan: String,
}

/// `ferry uploads …`.
#[derive(Debug, Subcommand)]
pub enum UploadsCommand {
    /// List the multipart uploads open under a prefix (start time, key, upload id).
    #[command(
        after_help = "Examples:\n  ferry uploads ls s3://bucket/\n  ferry uploads ls s3://bucket/backups/ --older-than 7d --json"
    )]
    Ls(UploadsArgs),
    /// Abort the multipart uploads open under a prefix (their parts are billed until then).
    #[command(
        after_help = "Each aborted upload is listed. Without --older-than, every open upload under the\nprefix is aborted, uploads other programs are running included.\n\nExamples:\n  ferry uploads abort s3://bucket/ --older-than 7d\n  ferry uploads abort s3://bucket/tmp/ --dry-run"
    )]
    Abort(UploadsArgs),
}

/// `ferry uploads ls|abort` options.
#[derive(Debug, Args)]
pub struct UploadsArgs {
    /// s3://BUCKET/PREFIX (the prefix is matched as given: s3://b/logs takes logs-archive too).
    pub target: String,
    /// Only uploads started at least this long ago (e.g. 7d, 12h, 30m, 90s).
    #[arg(long, value_name = "AGE")]
    pub older_than: Option<String>,
    /// With abort: list what would be aborted; abort nothing.
    #[arg(long, visible_alias = "dryrun")]
    pub dry_run: bool,
}

/// `ferry bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Signatures per second, per thread and in total (SigV4, a GetObject with a Range).
    #[command(
        after_help = "Examples:\n  ferry bench sign\n  ferry bench sign --threads 4 --seconds 5 --json"
    )]
    Sign(BenchSignArgs),
    /// Upload, download and delete generated objects; throughput, requests/s, latencies.
    #[command(after_help = BENCH_TRANSFER_EXAMPLES)]
    Transfer(BenchTransferArgs),
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
}

const CP_EXAMPLES: &str = "\
Examples:
  ferry cp photo.jpg s3://bucket/photos/
  ferry cp -r ./backup s3://bucket/2026-11-22/      # DIR's contents under the prefix
  ferry cp -r s3://bucket/2026-11-22/ ./restore     # recreated under ./restore
  ferry cp s3://bucket/a.bin s3://other/a.bin       # server-side copy
  ferry cp 'logs/**/*.gz' s3://bucket/logs/         # globs: * within a segment, ** across
  ferry cp 's3://bucket/logs/2026-*' ./logs/
  ferry cp -r s3://old/data/ s3://new/data/ --source-endpoint-url http://10.0.0.5:9000";

const MV_EXAMPLES: &str = "\
Each source is deleted only after its copy is complete and verified; a source whose copy
failed stays where it was.

Examples:
  ferry mv report.pdf s3://bucket/archive/
  ferry mv -r s3://bucket/incoming/ s3://bucket/processed/
  ferry mv -r s3://bucket/logs/ ./logs --exclude '*' --include '*.gz'";

/// `ferry cp` and `ferry mv` options.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// A local path or s3://BUCKET/KEY.
    pub source: String,
    /// A local path or s3://BUCKET/KEY (a trailing / means \"into this directory or prefix\").
    pub destination: String,
    /// Copy a directory or a prefix, recursively.
    #[arg(short, long)]
    pub recursive: bool,
    /// Include and exclude patterns.
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// `--include` / `--exclude`, as `aws s3` takes them.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Leave out paths matching PATTERN, relative to the source (`*` matches across `/`, `?`
    /// one character, [seq]; repeatable; with --include, the last match wins).
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Take paths matching PATTERN again after an --exclude (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub include: Vec<String>,
    /// Both, in command-line order (filled in after parsing).
    #[arg(skip)]
    pub ordered: Vec<(ferry::transfer::FilterKind, String)>,
}

const RM_EXAMPLES: &str = "\
With -r, s3://BUCKET/PREFIX means the \"directory\" PREFIX/: `ferry rm -r s3://b/logs` deletes
logs/... and spares logs-archive/... (as aws s3 rm --recursive does). Every deleted key is
listed. A bucket itself is removed with `ferry rb`.

Examples:
  ferry rm s3://bucket/old.log
  ferry rm -r s3://bucket/tmp/
  ferry rm -r s3://bucket/logs --exclude '*' --include '*.gz' --dry-run";

/// `ferry ls` options.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// s3://BUCKET/PREFIX (none: list buckets).
    pub target: Option<String>,
    /// Every key below the prefix, not grouped by `/`.
    #[arg(short, long)]
    pub recursive: bool,
}

/// `ferry rm` options.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// s3://BUCKET/KEY, or a prefix with -r.
    pub target: String,
    /// Delete every object under the prefix.
    #[arg(short, long)]
    pub recursive: bool,
    /// List what would be deleted; delete nothing.
    #[arg(long, visible_alias = "dryrun")]
    pub dry_run: bool,
    /// Include and exclude patterns (relative to the prefix).
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// `ferry rb` options.
#[derive(Debug, Args)]
pub struct RbArgs {
    /// s3://BUCKET.
    pub bucket: String,
    /// Delete every object in the bucket first (each one listed), then the bucket.
    #[arg(long)]
    pub force: bool,
}

/// `ferry mb` / `ferry rb` options.
#[derive(Debug, Args)]
pub struct BucketArgs {
    /// s3://BUCKET.
    pub bucket: String,
}

/// `ferry presign` options.
#[derive(Debug, Args)]
pub struct PresignArgs {
    /// s3://BUCKET/KEY.
    pub target: String,
    /// Seconds the URL stays valid (1 to 604800).
    #[arg(long, default_value_t = 3600)]
    pub expires: u64,
}

/// `ferry demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Size of the large file.
    #[arg(long, default_value = "256MiB")]
    pub size: String,
    /// How many small files.
    #[arg(long, default_value_t = 2000)]
    pub files: u64,
    /// Size of each small file.
    #[arg(long, default_value = "16KiB")]
    pub small_size: String,
}

const SYNC_EXAMPLES: &str = "\
A file is copied when the destination lacks it, when the sizes differ, or when the source is
newer (local mtime against the object's LastModified); with --checksum, same-size files are
compared by their CRC-64/NVME against the checksum the store holds. Downloads get the object's
time as their mtime, so a second sync moves nothing. Filters match the path relative to the
source and destination, as in aws s3: `*` matches any characters, `/` included (`sub/*` takes
all of sub/), `?` one character, [seq] one of seq; they apply in command-line order and the
last match wins.

Examples:
  ferry sync ./site s3://bucket/site/
  ferry sync s3://bucket/backup/ ./restore --delete
  ferry sync ./photos s3://bucket/photos --exclude '*' --include '*.jpg' --dry-run
  ferry sync ./data s3://bucket/data --checksum --exclude 'tmp/*'
  ferry sync s3://bucket/live/ s3://backup/live/ --delete   # server-side copies";

/// `ferry sync` options.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// A local directory or s3://BUCKET/PREFIX.
    pub source: String,
    /// A local directory or s3://BUCKET/PREFIX (prefix to prefix: on one endpoint).
    pub destination: String,
    /// Remove destination files or objects the source lacks (those the filters allow).
    #[arg(long)]
    pub delete: bool,
    /// Print what would be uploaded, downloaded or deleted; change nothing.
    #[arg(long, visible_alias = "dryrun")]
    pub dry_run: bool,
    /// Compare same-size files by checksum (CRC-64/NVME) instead of by modification time.
    #[arg(long)]
    pub checksum: bool,
    /// Include and exclude patterns.
    #[command(flatten)]
    pub filters: FilterArgs,
}

const SERVE_EXAMPLES: &str = "\
Each sub-directory of --root is a bucket; the files below it are its objects. Requests must be
signed (SigV4) with the endpoint's key pair; unsigned ones are refused. Addressing is
path-style: http://127.0.0.1:9000/BUCKET/KEY. Runs until Ctrl-C.

Examples:
  mkdir -p /tmp/s3 && ferry serve --root /tmp/s3
  ferry serve --root /tmp/s3 --address '[::1]:9000'
  FERRY_SERVE_SECRET_KEY=wJalrXUtnFEMI ferry serve --root /tmp/s3 --access-key AKIAEXAMPLE";

/// `ferry serve` options. `Debug` hides the secret key.
#[derive(Args)]
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
    #[arg(
        long,
        value_name = "SECRET",
        env = "FERRY_SERVE_SECRET_KEY",
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
}

impl std::fmt::Debug for ServeArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeArgs")
            .field("root", &self.root)
            .field("address", &self.address)
            .field("access_key", &self.access_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

const BENCH_TRANSFER_EXAMPLES: &str = "\
Objects are generated in memory (no local files) and each is one request: PutObject, then
GetObject, then DeleteObject. --concurrency requests are in flight; the bucket is made if
missing (and removed again if the bench made it and nothing failed).

Examples:
  ferry bench transfer --endpoint-url http://127.0.0.1:9000
  ferry bench transfer --endpoint-url http://10.0.0.5:9000 --size 16MiB --files 200 --concurrency 32
  ferry bench transfer --size 64KiB --files 1000 --duration 30 --json";

/// `ferry bench transfer` options.
#[derive(Debug, Args)]
pub struct BenchTransferArgs {
    /// The bucket to use (made if missing).
    #[arg(long, default_value = "ferry-bench")]
    pub bucket: String,
    /// Size of each object (1 B to 5 GiB; held in memory once, shared by all requests).
    #[arg(long, default_value = "1MiB")]
    pub size: String,
    /// How many objects.
    #[arg(long, visible_alias = "objects", default_value_t = 100)]
    pub files: u64,
    /// Keep uploading (overwriting) and downloading for this long, in seconds, after one
    /// pass over the objects (default: one pass).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Leave the objects in the bucket (no delete phase).
    #[arg(long)]
    pub keep: bool,
}

/// `--stall-timeout`: seconds, more than zero and at most a day.
fn parse_stall_timeout(text: &str) -> Result<std::time::Duration, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 86_400.0 => {
            Ok(std::time::Duration::from_secs_f64(seconds))
        }
        _ => Err(format!(
            "{text:?} is not a number of seconds between 0 and 86400 (e.g. 10 or 2.5)"
        )),
    }
}
