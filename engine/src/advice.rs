//! What to do about a failure, in typed form.
//!
//! The engine knows *what* would help (use the bucket's region, sign the requests, free disk
//! space); it does not know the words of the program embedding it. A command-line front end
//! says "use --region eu-west-1", a backup program may set the region itself or show it in a
//! dialog. So errors answer [`Advice`] (`S3Error::advice`, `s3::Error::advice`,
//! `TransferError::advice`, `ConfigError::advice`) and the front end renders it in its own
//! vocabulary: no variant names a flag, a command or a setting of any front end.
//!
//! Names (buckets, keys, endpoints, the store's time) are carried as the store or the caller
//! gave them: they may hold control characters, which a front end escapes before showing.

/// What the user (or the program embedding the engine) can do about a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Advice {
    // The endpoint.
    /// The endpoint answered, but not like S3: check the endpoint's scheme, host and port,
    /// and any proxy in between (`HTTPS_PROXY`, a corporate gateway, a captive portal).
    CheckEndpoint,
    /// The endpoint answered 404 without an S3 error (every S3 answer but HEAD's carries
    /// one): it may not be an S3 endpoint (a plain web server), or its URL holds a path where
    /// the bucket belongs in the object's address.
    CheckEndpointIsS3,
    /// Nothing answered at the endpoint: check it, and that the store is running and
    /// reachable.
    CheckEndpointReachable,
    /// The TLS handshake failed or the CA bundle could not be used: the trusted certificates
    /// must include the CA that signed the store's certificate.
    CheckCaBundle,
    /// The bucket lives in another region: use that region (named when the store said it), or
    /// the endpoint the store named.
    UseRegion {
        /// The bucket's region, when the answer named it.
        region: Option<String>,
        /// The endpoint the store redirected to, when it named no region.
        endpoint: Option<String>,
    },

    // Credentials and permissions.
    /// An unsigned (anonymous) request was refused: sign the requests (give credentials).
    SendSignedRequests,
    /// The identity may not do this: check its policy and the bucket policy, or ask the
    /// bucket owner.
    CheckPermission {
        /// The IAM action needed (`s3:PutObject`, …), when the operation is known.
        action: Option<&'static str>,
        /// `s3://bucket/key` or `s3://bucket`, when known.
        resource: Option<String>,
        /// Whether the store said the identity lacks permission; without a reason (a HEAD
        /// answer has no body) the credentials may as well be wrong or expired.
        reason_given: bool,
    },
    /// The access key id is not known to this endpoint: check which keys are used, and that
    /// the endpoint is the one that issued them (not another store, nor another partition
    /// such as aws-cn or aws-us-gov).
    CheckAccessKey,
    /// The signature does not match: check that the secret key is the one paired with the
    /// access key id, and that the local clock is right.
    CheckSecretKey,
    /// The session token is not valid: use the token issued with the access key, or none for
    /// long-term keys.
    CheckSessionToken,
    /// Temporary credentials have expired: get fresh ones (log in again, or assume the role
    /// again).
    RefreshCredentials,
    /// The local clock is too far from the store's: fix it (enable NTP time sync), then run
    /// again.
    FixClock {
        /// The store's time, when its answer said it.
        server_time: Option<String>,
    },

    // What was asked for is missing.
    /// The bucket does not exist at this endpoint: check its name and region.
    BucketMissing {
        /// The bucket, when known.
        bucket: Option<String>,
    },
    /// The key does not exist: list the keys beside it.
    KeyMissing {
        /// The bucket, when known.
        bucket: Option<String>,
        /// The key's parent prefix (up to and with its last `/`; empty at the top).
        parent_prefix: String,
        /// The answer had no body, so it cannot tell a missing key from a missing bucket.
        ambiguous: bool,
    },
    /// Something does not exist, but the answer does not say what: check the bucket name and
    /// the key.
    CheckBucketAndKey,
    /// The multipart upload is gone (completed, aborted, or removed by a lifecycle rule):
    /// start the transfer again.
    UploadGone,

    // Load and failures of the store.
    /// The store is throttling requests (the engine retried with backoff): send fewer
    /// requests at once, or spread the keys over more prefixes.
    ReduceRequestRate,
    /// The store timed out waiting for the request (the engine retried with backoff): check
    /// the network between here and the store, or send fewer requests at once.
    CheckNetworkOrReduceConcurrency,
    /// The store is not answering in time: check the endpoint, or send fewer requests at
    /// once.
    StoreNotAnswering,
    /// The store kept failing with a server error: check its logs or status page, and run
    /// again once it is healthy.
    RetryWhenStoreHealthy {
        /// The HTTP status of the last answer.
        status: u16,
        /// How many times the request was sent (0 or 1: not retried, or not told).
        attempts: u32,
    },

    // Data and checksums.
    /// The store does not support the `x-amz-checksum-*` headers: send requests without
    /// them ([`crate::transfer::TransferConfig::checksum`] set to `None`).
    DisableRequestChecksums,
    /// The data did not match its checksum: if the source is still being written, wait until
    /// it is complete; otherwise run again (a proxy may be altering bodies).
    ChecksumMismatch,
    /// The object changed while the engine was working on it: run again.
    RerunSourceChanged,
    /// What arrived was not what was asked for, and was not kept: run the transfer again.
    RerunTransfer,

    // Names and sizes the store refused.
    /// The bucket name breaks the naming rules (3-63 characters of lower-case letters,
    /// digits, `.` and `-`, …).
    BucketNameRules,
    /// Bucket names are shared by all accounts of the store: choose another name.
    ChooseOtherBucketName,
    /// The bucket exists and belongs to the caller already: use it as it is.
    BucketAlreadyYours,
    /// The key is longer than S3 allows (1024 bytes of UTF-8): shorten it, or the
    /// destination prefix.
    ShortenKey,
    /// One request carries at most 5 GiB: a larger object must be uploaded in parts (the
    /// engine does so above its multipart threshold).
    ObjectTooLargeForOneRequest,
    /// Every part but the last must be at least 5 MiB: use larger parts.
    RaisePartSize,
    /// The part size must lie between the store's smallest and largest part (5 MiB and
    /// 5 GiB on S3).
    PartSizeOutOfRange,
    /// The store refused the value of an argument (a header or parameter it names).
    CheckArgument {
        /// The argument, as the store named it (`x-amz-storage-class`, …).
        name: String,
    },

    // Local files.
    /// A local path does not exist: check it.
    CheckPathExists,
    /// A local path may not be read or written: check its permissions and its directory's.
    CheckPathPermissions,
    /// The local disk is full: free space and run again.
    FreeDiskSpace,

    // Setting up a client.
    /// The endpoint settings (region, endpoint URL, addressing) are not usable.
    ReviewEndpointSettings,
    /// No usable credentials were found: review where credentials are looked for.
    ReviewCredentialSources,
    /// No credentials were found anywhere: give some, or, for a public bucket, send the
    /// requests unsigned (anonymous).
    GiveCredentialsOrGoAnonymous,
    /// The named profile does not exist: name another one.
    PickAnotherProfile,
    /// The session duration is out of range: 900 (15 minutes) to 43200 (12 hours) seconds
    /// when assuming a role (up to the role's maximum session duration), 900 to 129600 for
    /// an MFA session alone.
    SessionDurationRange,
    /// The MFA device is named by its ARN (`arn:aws:iam::ACCOUNT:mfa/NAME`) or hardware
    /// serial, and the code is the 6 digits it shows now.
    MfaDeviceAndCode,
    /// A role is named by its ARN: `arn:aws:iam::ACCOUNT:role/NAME`.
    RoleArnFormat,
    /// A role session name is 2-64 characters of `A-Za-z0-9_+=,.@-`.
    RoleSessionNameFormat,
    /// The temporary-credential settings (role, MFA device, session duration) are not
    /// usable: review them.
    ReviewTemporaryCredentials,
}
