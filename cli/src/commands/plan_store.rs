//! Where a plan is kept: a local directory, or an S3 prefix staged in a local temporary
//! directory (see `ferry::shard::remote`).

use crate::exit::ExitCode;
use crate::location::Location;
use crate::output::CliError;
use ferry::s3::S3Client;
use ferry::shard::remote::RemotePlan;
use std::path::{Path, PathBuf};

/// A plan's local directory, and the S3 plan it stages when there is one.
#[derive(Debug)]
pub struct PlanStore {
    dir: PathBuf,
    /// The S3 plan and the temporary directory staging it (removed on drop).
    remote: Option<(RemotePlan, tempfile::TempDir)>,
}

impl PlanStore {
    /// Whether `text` names an S3 plan (which needs a client).
    pub fn is_remote(text: &str) -> bool {
        text.starts_with("s3://")
    }

    /// The plan at `text`; `client` must be given for an S3 plan.
    pub fn open(text: &str, client: Option<&S3Client>) -> Result<Self, CliError> {
        match (Location::parse(text)?, client) {
            (Location::Local(dir), _) => Ok(Self { dir, remote: None }),
            (Location::S3 { bucket, key }, Some(client)) => {
                let staging = tempfile::Builder::new()
                    .prefix("ferry-plan-")
                    .tempdir()
                    .map_err(|e| CliError {
                        message: format!("could not make a temporary directory for the plan: {e}"),
                        hint: Some("check TMPDIR: it must exist and be writable".into()),
                        code: ExitCode::Failure,
                    })?;
                Ok(Self {
                    dir: staging.path().to_path_buf(),
                    remote: Some((RemotePlan::new(client.clone(), &bucket, &key), staging)),
                })
            }
            (Location::S3 { .. }, None) => Err(CliError::usage(
                "an S3 plan needs a connection",
                "this is a bug in ferry: please report it",
            )),
        }
    }

    /// The local directory the plan is read and written in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The S3 plan, if the plan is kept in S3.
    pub fn remote(&self) -> Option<&RemotePlan> {
        self.remote.as_ref().map(|(remote, _)| remote)
    }
}
