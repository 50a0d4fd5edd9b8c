//! Global flags → a client and a transfer engine.

use crate::args::GlobalArgs;
use crate::location::parse_size;
use crate::output::CliError;
use ferry::config::{ClientOptions, ClientSetup, build_client};
use ferry::credentials::Environment;
use ferry::transfer::checksum::ChecksumAlgorithm;
use ferry::transfer::{Progress, TransferConfig, Transfers};

/// Builds the client the global flags describe, printing warnings on stderr.
pub async fn connect(global: &GlobalArgs) -> Result<ClientSetup, CliError> {
    let options = ClientOptions {
        region: global.region.clone(),
        endpoint_url: global.endpoint_url.clone(),
        profile: global.profile.clone(),
        no_sign_request: global.no_sign_request,
        path_style: global.path_style,
        dualstack: global.dualstack,
        ca_bundle: global.ca_bundle.clone(),
        concurrency: global.concurrency,
        ..ClientOptions::default()
    };
    let setup = build_client(&options, &Environment::process()).await?;
    for warning in &setup.warnings {
        tracing::warn!("{warning}");
    }
    tracing::debug!(endpoint = %setup.client.endpoint(), "connected");
    Ok(setup)
}

/// The transfer engine for the global flags.
pub fn transfers(
    global: &GlobalArgs,
    setup: &ClientSetup,
    progress: Progress,
) -> Result<Transfers, CliError> {
    let mut config = TransferConfig {
        concurrency: global.concurrency.max(1),
        ..TransferConfig::default()
    };
    if let Some(size) = &global.part_size {
        let bytes = parse_size(size)
            .map_err(|e| CliError::usage(format!("--part-size: {e}"), "e.g. --part-size 16MiB"))?;
        config.part_size = bytes;
        config.multipart_threshold = bytes;
    }
    config.checksum = checksum_algorithm(global)?;
    if config.part_size < config.limits.min_part_size
        || config.part_size > config.limits.max_part_size
    {
        return Err(CliError::usage(
            format!("--part-size {} is outside 5 MiB..5 GiB", config.part_size),
            "S3 parts are 5 MiB to 5 GiB; e.g. --part-size 16MiB",
        ));
    }
    Ok(Transfers::new(setup.client.clone(), config, progress))
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
