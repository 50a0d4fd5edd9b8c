//! A plan kept in S3 (`s3://BUCKET/PREFIX/`), so that workers without a shared file system
//! can read it. Workers stage the files they need in a local directory and run there:
//!
//! * `ferry plan … --out s3://…` writes the plan locally, then uploads every shard file and
//!   `plan.json` last (a prefix with a `plan.json` holds a complete plan);
//! * `ferry run s3://…` fetches `plan.json`, its shard and its journal (if any), runs, puts
//!   the journal back now and then and at the end, and the result last;
//! * `ferry report s3://…` fetches `plan.json` and the results.
//!
//! S3 has no appends and no locks: a journal put back replaces the one before, and two
//! workers on one shard are not turned away. Neither can corrupt anything: a journal line
//! lost costs one HEAD on the next run (the destination says what is in place), and the two
//! workers only repeat each other's copies, each of which lands whole.

use super::{ShardError, layout};
use crate::http::RequestBody;
use crate::s3::{ListObjects, PutOptions, S3Client};
use std::path::Path;

/// A plan below `s3://bucket/prefix`.
#[derive(Debug, Clone)]
pub struct RemotePlan {
    client: S3Client,
    bucket: String,
    prefix: String,
}

impl RemotePlan {
    /// The plan below `prefix` (a `/` is added to a non-empty prefix without one) in `bucket`.
    pub fn new(client: S3Client, bucket: &str, prefix: &str) -> Self {
        let prefix = if prefix.is_empty() || prefix.ends_with('/') {
            prefix.to_owned()
        } else {
            format!("{prefix}/")
        };
        Self {
            client,
            bucket: bucket.to_owned(),
            prefix,
        }
    }

    /// `s3://bucket/prefix`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Fetches object `name` into `dir` (under a temporary name, then renamed); `false` when
    /// there is no such object.
    async fn get(&self, name: &str, dir: &Path) -> Result<bool, ShardError> {
        match self
            .client
            .get_object_bytes(&self.bucket, &self.key(name))
            .await
        {
            Ok(bytes) => {
                layout::write_atomic(&dir.join(name), &bytes)?;
                Ok(true)
            }
            Err(e) if e.service().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Puts file `name` of `dir` (skipped when there is none).
    async fn put(&self, dir: &Path, name: &str) -> Result<(), ShardError> {
        let path = dir.join(name);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ShardError::io("reading", &path, e)),
        };
        let body = RequestBody::part(bytes::Bytes::from(bytes));
        self.client
            .put_object(&self.bucket, &self.key(name), body, &PutOptions::default())
            .await?;
        Ok(())
    }

    /// Whether the prefix holds a plan or files of one (shards, journals, results).
    pub async fn holds_a_plan(&self) -> Result<bool, ShardError> {
        for start in ["plan.json", "shard-", "result-"] {
            let mut pages = self.client.list_objects(
                &self.bucket,
                ListObjects {
                    prefix: Some(self.key(start)),
                    max_keys: Some(1),
                    ..ListObjects::default()
                },
            );
            if let Some(page) = pages.next_page().await?
                && !page.contents.is_empty()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Uploads the plan written in `dir`: the shard files, then `plan.json`.
    pub async fn upload_plan(&self, dir: &Path) -> Result<(), ShardError> {
        let header = layout::read_header(dir)?;
        for shard in &header.shards {
            let name = file_name(&layout::shard_path(dir, shard.index));
            self.put(dir, &name).await?;
        }
        self.put(dir, "plan.json").await
    }

    /// Fetches what shard `index` needs into `dir`: `plan.json`, its shard file and its
    /// journal (when there is one).
    pub async fn fetch_shard(&self, dir: &Path, index: usize) -> Result<(), ShardError> {
        if !self.get("plan.json", dir).await? {
            return Err(ShardError::NoPlan(self.url().into()));
        }
        let header = layout::read_header(dir)?;
        if index >= header.shards.len() {
            return Err(ShardError::NoSuchShard {
                index,
                shards: header.shards.len(),
            });
        }
        let shard = file_name(&layout::shard_path(dir, index));
        if !self.get(&shard, dir).await? {
            return Err(ShardError::Invalid(format!(
                "{}{shard} is missing: the plan was not uploaded whole",
                self.url()
            )));
        }
        self.get(&file_name(&layout::journal_path(dir, index)), dir)
            .await?;
        Ok(())
    }

    /// Puts shard `index`'s journal back.
    pub async fn push_journal(&self, dir: &Path, index: usize) -> Result<(), ShardError> {
        self.put(dir, &file_name(&layout::journal_path(dir, index)))
            .await
    }

    /// Puts shard `index`'s journal and then its result back.
    pub async fn push_shard(&self, dir: &Path, index: usize) -> Result<(), ShardError> {
        self.push_journal(dir, index).await?;
        self.put(dir, &file_name(&layout::result_path(dir, index)))
            .await
    }

    /// Fetches `plan.json` and every shard's result into `dir`.
    pub async fn fetch_results(&self, dir: &Path) -> Result<(), ShardError> {
        if !self.get("plan.json", dir).await? {
            return Err(ShardError::NoPlan(self.url().into()));
        }
        let header = layout::read_header(dir)?;
        for shard in &header.shards {
            self.get(&file_name(&layout::result_path(dir, shard.index)), dir)
                .await?;
        }
        Ok(())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
