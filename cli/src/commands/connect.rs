//! Global flags → a client and a transfer engine.

use crate::args::GlobalArgs;
use crate::location::parse_size;
use crate::output::CliError;
use ferry::checksum::ChecksumAlgorithm;
use ferry::config::{ClientBuilder, ClientOptions, ClientSetup, TemporaryOptions};
use ferry::credentials::Secret;
use ferry::credentials::sts::TokenCodeSource;
use ferry::env::Environment;
use ferry::transfer::{Progress, TransferConfig, Transfers};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

/// Builds the client the global flags describe, printing warnings on stderr.
pub async fn connect(global: &GlobalArgs) -> Result<ClientSetup, CliError> {
    transfer_config(global)?;
    let mfa_code = Arc::new(std::sync::Mutex::new(global.sts.mfa_code.clone()));
    let options = ClientOptions {
        region: global.region.clone(),
        endpoint_url: global.endpoint_url.clone(),
        profile: global.profile.clone(),
        no_sign_request: global.no_sign_request,
        path_style: global.path_style,
        dualstack: global.dualstack,
        ca_bundle: global.ca_bundle.clone(),
        concurrency: global.request_concurrency(),
        max_bandwidth: max_bandwidth(global)?,
        temporary: temporary_options(global, mfa_code.clone()),
        stall_timeout: global.stall_timeout,
        ..ClientOptions::default()
    };
    let setup = ClientBuilder::with_options(options)
        .from_environment()
        .build_setup()
        .await?;
    for warning in &setup.warnings {
        tracing::warn!("{warning}");
    }
    let unused = mfa_code.lock().unwrap_or_else(|e| e.into_inner()).is_some();
    if unused && global.source_endpoint_url.is_none() && global.source_profile.is_none() {
        // Credentials are resolved by now: nothing asked for a code.
        tracing::warn!(
            "--mfa-code was not used: no MFA device is named (give --mfa-serial, or mfa_serial \
             in the profile) and the credentials in use did not ask for one"
        );
    }
    tracing::debug!(endpoint = %setup.client.endpoint(), "connected");
    Ok(setup)
}

/// The client for the source side of a bucket-to-bucket copy, when `--source-endpoint-url` or
/// `--source-profile` is given (each falls back to `--endpoint-url` / `--profile`); `None`
/// when neither is, so the copy stays server-side on one client.
pub async fn connect_source(global: &GlobalArgs) -> Result<Option<ClientSetup>, CliError> {
    if global.source_endpoint_url.is_none() && global.source_profile.is_none() {
        return Ok(None);
    }
    let options = ClientOptions {
        region: global.region.clone(),
        endpoint_url: global
            .source_endpoint_url
            .clone()
            .or_else(|| global.endpoint_url.clone()),
        profile: global
            .source_profile
            .clone()
            .or_else(|| global.profile.clone()),
        no_sign_request: global.no_sign_request,
        path_style: global.path_style,
        dualstack: global.dualstack,
        ca_bundle: global.ca_bundle.clone(),
        concurrency: global.request_concurrency(),
        max_bandwidth: max_bandwidth(global)?,
        temporary: TemporaryOptions {
            token_codes: token_codes(
                global,
                Arc::new(std::sync::Mutex::new(global.sts.mfa_code.clone())),
            ),
            ..TemporaryOptions::default()
        },
        stall_timeout: global.stall_timeout,
        ..ClientOptions::default()
    };
    let setup = ClientBuilder::with_options(options)
        .from_environment()
        .build_setup()
        .await?;
    for warning in &setup.warnings {
        tracing::warn!("source: {warning}");
    }
    tracing::debug!(endpoint = %setup.client.endpoint(), "connected to the source");
    Ok(Some(setup))
}

/// The temporary-credential flags (`--assume-role`, `--mfa-serial`, …).
fn temporary_options(
    global: &GlobalArgs,
    mfa_code: Arc<std::sync::Mutex<Option<String>>>,
) -> TemporaryOptions {
    let sts = &global.sts;
    TemporaryOptions {
        assume_role: sts.assume_role.clone(),
        role_session_name: sts.role_session_name.clone(),
        session_duration: sts.session_duration,
        external_id: sts.external_id.clone(),
        mfa_serial: sts.mfa_serial.clone(),
        session_token: sts.session_token.clone().map(Secret::new),
        sts_endpoint_url: sts.sts_endpoint_url.clone(),
        token_codes: token_codes(global, mfa_code),
    }
}

/// Where MFA codes come from: `--mfa-code` (used once: codes are single-use, so a later
/// refresh asks the terminal; `given` holds it until then), else a prompt on the terminal,
/// else nowhere.
fn token_codes(
    global: &GlobalArgs,
    given: Arc<std::sync::Mutex<Option<String>>>,
) -> Option<TokenCodeSource> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive && global.sts.mfa_code.is_none() {
        return None;
    }
    Some(Arc::new(move |serial: &str| {
        let code = given.lock().unwrap_or_else(|e| e.into_inner()).take();
        match code {
            Some(code) => Ok(code),
            None if interactive => prompt_code(serial),
            None => Err(format!(
                "the code given with --mfa-code was used already and there is no terminal to ask for a new one for {serial}"
            )),
        }
    }))
}

/// Asks for the code of MFA device `serial` on the terminal.
fn prompt_code(serial: &str) -> Result<String, String> {
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "MFA code for {serial}: ");
    let _ = stderr.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("could not read the code from the terminal: {e}"))?;
    Ok(line.trim().to_owned())
}

/// The transfer engine for the global flags.
pub fn transfers(
    global: &GlobalArgs,
    setup: &ClientSetup,
    progress: Progress,
) -> Result<Transfers, CliError> {
    let config = transfer_config(global)?;
    Ok(Transfers::new(setup.client.clone(), config, progress))
}

/// The transfer settings the global flags ask for, validated (so that a bad flag is reported
/// before anything else, credentials included).
pub fn transfer_config(global: &GlobalArgs) -> Result<TransferConfig, CliError> {
    let mut config = TransferConfig {
        concurrency: global.concurrency(),
        max_concurrency: global
            .concurrency_flag
            .map_or(ferry::transfer::DEFAULT_MAX_CONCURRENCY, |n| n.max(1)),
        request_concurrency: global.request_concurrency(),
        sync_downloads: global.fsync,
        follow_symlinks: !global.no_follow_symlinks,
        content_md5: !global.no_verify,
        checksum_trailer: !global.checksum_in_header,
        ..TransferConfig::default()
    };
    if global.no_hedging {
        config.hedge = None;
    }
    if let Some(size) = &global.part_size {
        let bytes = parse_size(size)
            .map_err(|e| CliError::usage(format!("--part-size: {e}"), "e.g. --part-size 16MiB"))?;
        config.part_size = bytes;
        config.multipart_threshold = bytes;
    }
    if let Some(gbps) = global.target_gbps {
        let sizing = ferry::transfer::sizing::for_target(gbps, config.part_size)
            .map_err(|e| CliError::usage(format!("--target-gbps: {e}"), "e.g. --target-gbps 10"))?;
        config.memory_budget = sizing.memory_budget;
        if global.concurrency_flag.is_none() {
            // A cap: parts in flight start at the default and climb to it where that pays.
            config.max_concurrency = sizing.concurrency;
            config.concurrency = sizing.concurrency.min(crate::args::DEFAULT_CONCURRENCY);
        }
    }
    config.checksum = checksum_algorithm(global)?;
    config.put.content_type = global.content_type.clone();
    for pair in &global.metadata {
        let Some((key, value)) = pair.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(CliError::usage(
                format!("--metadata `{pair}` is not KEY=VALUE"),
                "e.g. --metadata origin=laptop",
            ));
        };
        config.put.metadata.push((key.to_owned(), value.to_owned()));
    }
    object_options(global, &mut config)?;
    if global.sorted_listings {
        config.sorted_listings = Some(true);
    }
    if config.part_size < config.limits.min_part_size
        || config.part_size > config.limits.max_part_size
    {
        return Err(CliError::usage(
            format!("--part-size {} is outside 5 MiB..5 GiB", config.part_size),
            "S3 parts are 5 MiB to 5 GiB; e.g. --part-size 16MiB",
        ));
    }
    Ok(config)
}

/// `--max-bandwidth RATE` in bytes per second: a size per second (`50MiB/s`, `10MB/s`; the
/// `/s` may be left out), never zero.
fn max_bandwidth(global: &GlobalArgs) -> Result<Option<u64>, CliError> {
    let Some(text) = &global.max_bandwidth else {
        return Ok(None);
    };
    let hint = "e.g. --max-bandwidth 50MiB/s (or 10MB/s, 800KiB/s)";
    let trimmed = text.trim();
    let size = trimmed
        .strip_suffix("/s")
        .or_else(|| trimmed.strip_suffix("/S"))
        .unwrap_or(trimmed);
    let rate =
        parse_size(size).map_err(|e| CliError::usage(format!("--max-bandwidth: {e}"), hint))?;
    if rate == 0 {
        return Err(CliError::usage(
            format!("--max-bandwidth {text} is zero: nothing could be transferred"),
            "give a positive rate, e.g. --max-bandwidth 50MiB/s, or leave the flag out for no cap",
        ));
    }
    Ok(Some(rate))
}

/// `--checksum-algorithm`, else `none` when `AWS_REQUEST_CHECKSUM_CALCULATION=when_required`
/// (the SDKs' setting for stores that reject checksum headers), else CRC64NVME.
fn checksum_algorithm(global: &GlobalArgs) -> Result<Option<ChecksumAlgorithm>, CliError> {
    if let Some(name) = &global.checksum_algorithm {
        return ChecksumAlgorithm::parse(name).map_err(|e| {
            CliError::usage(e.to_string(), "e.g. --checksum-algorithm crc32c, or none")
        });
    }
    let when_required = Environment::process()
        .get("AWS_REQUEST_CHECKSUM_CALCULATION")
        .is_some_and(|v| v.eq_ignore_ascii_case("when_required"));
    Ok((!when_required).then_some(ChecksumAlgorithm::Crc64Nvme))
}

/// Storage classes S3 knows.
const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_IR",
    "SNOW",
    "EXPRESS_ONEZONE",
];

/// Canned ACLs S3 knows.
const CANNED_ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
];

/// The per-object flags (storage class, encryption, tags, ACL, headers, metadata
/// directive) into the engine's upload options.
fn object_options(global: &GlobalArgs, config: &mut TransferConfig) -> Result<(), CliError> {
    use ferry::s3::ServerSideEncryption;
    let put = &mut config.put;
    if let Some(class) = &global.storage_class {
        let upper = class.to_ascii_uppercase();
        if !STORAGE_CLASSES.contains(&upper.as_str()) {
            return Err(CliError::usage(
                format!("--storage-class {class} is not a storage class S3 knows"),
                format!("use one of {}", STORAGE_CLASSES.join(", ")),
            ));
        }
        put.storage_class = Some(upper);
    }
    put.encryption = match (global.sse.as_deref(), &global.sse_kms_key_id) {
        (None, None) => None,
        (Some(s), key) if s.eq_ignore_ascii_case("aws:kms") => Some(ServerSideEncryption::Kms {
            key_id: key.clone(),
        }),
        (None, Some(key)) => Some(ServerSideEncryption::Kms {
            key_id: Some(key.clone()),
        }),
        (Some(s), None) if s.eq_ignore_ascii_case("AES256") => Some(ServerSideEncryption::S3),
        (Some(s), Some(_)) if s.eq_ignore_ascii_case("AES256") => {
            return Err(CliError::usage(
                "--sse-kms-key-id goes with --sse aws:kms, not AES256",
                "drop --sse AES256, or drop --sse-kms-key-id",
            ));
        }
        (Some(other), _) => {
            return Err(CliError::usage(
                format!("--sse {other} is not AES256 or aws:kms"),
                "use --sse AES256 (SSE-S3) or --sse aws:kms [--sse-kms-key-id KEY] (SSE-KMS)",
            ));
        }
    };
    if let Some(tagging) = &global.tagging {
        let well_formed = tagging
            .split('&')
            .all(|pair| pair.split_once('=').is_some_and(|(k, _)| !k.is_empty()));
        if !well_formed {
            return Err(CliError::usage(
                format!("--tagging `{tagging}` is not KEY=VALUE&KEY2=VALUE2"),
                "e.g. --tagging 'project=atlas&retention=7y' (URL-encode other characters)",
            ));
        }
        put.tagging = Some(tagging.clone());
    }
    if let Some(acl) = &global.acl {
        if !CANNED_ACLS.contains(&acl.as_str()) {
            return Err(CliError::usage(
                format!("--acl {acl} is not a canned ACL"),
                format!("use one of {}", CANNED_ACLS.join(", ")),
            ));
        }
        put.acl = Some(acl.clone());
    }
    put.headers = ferry::s3::ObjectHeaders {
        cache_control: global.cache_control.clone(),
        content_disposition: global.content_disposition.clone(),
        content_encoding: global.content_encoding.clone(),
        content_language: global.content_language.clone(),
    };
    config.replace_metadata_on_copy = match global.metadata_directive.as_deref() {
        None => !global.metadata.is_empty(),
        Some(d) if d.eq_ignore_ascii_case("COPY") => false,
        Some(d) if d.eq_ignore_ascii_case("REPLACE") => true,
        Some(other) => {
            return Err(CliError::usage(
                format!("--metadata-directive {other} is not COPY or REPLACE"),
                "COPY keeps the source's metadata on a copy; REPLACE sets it from the flags",
            ));
        }
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        global: GlobalArgs,
    }

    fn rate(flag: &[&str]) -> Result<Option<u64>, CliError> {
        let flags = Flags::try_parse_from(std::iter::once("ferry").chain(flag.iter().copied()))
            .expect("flags parse");
        max_bandwidth(&flags.global)
    }

    #[test]
    fn max_bandwidth_takes_a_size_per_second() {
        assert_eq!(rate(&[]).ok(), Some(None));
        let cases = [
            ("50MiB/s", 50 * 1024 * 1024),
            ("10MB/s", 10_000_000),
            ("800KiB/s", 800 * 1024),
            ("1.5GiB/s", 1_610_612_736),
            ("4096", 4096),
        ];
        for (text, bytes) in cases {
            assert_eq!(
                rate(&["--max-bandwidth", text]).ok(),
                Some(Some(bytes)),
                "{text}"
            );
        }
    }

    fn transfer(flag: &[&str]) -> Result<TransferConfig, CliError> {
        let flags = Flags::try_parse_from(std::iter::once("ferry").chain(flag.iter().copied()))
            .expect("flags parse");
        transfer_config(&flags.global)
    }

    #[test]
    fn target_gbps_caps_parts_in_flight_and_sizes_memory_unless_concurrency_fixes_them() {
        let sized = transfer(&["--target-gbps", "10"]).ok().unwrap();
        assert_eq!((sized.concurrency, sized.max_concurrency), (16, 25));
        assert_eq!(sized.memory_budget, 25 * 8 * 1024 * 1024);
        let small = transfer(&["--target-gbps", "1"]).ok().unwrap();
        assert_eq!((small.concurrency, small.max_concurrency), (4, 4));
        let pinned = transfer(&["--target-gbps", "10", "--concurrency", "8"])
            .ok()
            .unwrap();
        assert_eq!((pinned.concurrency, pinned.max_concurrency), (8, 8));
        let default = transfer(&[]).ok().unwrap();
        assert_eq!((default.concurrency, default.max_concurrency), (16, 32));
        for bad in ["0", "-0.5", "NaN", "inf"] {
            let err = transfer(&[&format!("--target-gbps={bad}")]).unwrap_err();
            assert!(err.message.contains("--target-gbps"), "{}", err.message);
        }
    }

    #[test]
    fn debug_output_of_the_flags_hides_the_session_token_and_mfa_code() {
        let flags = Flags::try_parse_from([
            "ferry",
            "--session-token",
            "IQoJb3JpZ2luSECRETTOKEN",
            "--mfa-code",
            "123456",
        ])
        .expect("flags parse");
        let shown = format!("{:?}", flags.global);
        assert!(!shown.contains("IQoJb3JpZ2luSECRETTOKEN"), "{shown}");
        assert!(!shown.contains("123456"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn max_bandwidth_refuses_zero_and_nonsense() {
        for text in ["0", "0MiB/s", "fast", "10 parsecs/s"] {
            assert!(rate(&["--max-bandwidth", text]).is_err(), "{text}");
        }
    }
}
