//! `ferry whoami`: which identity and which source of credentials ferry would use.

use super::connect::connect;
use crate::args::GlobalArgs;
use crate::exit::ExitCode;
use crate::output::CliError;
use ferry::time::format_utc;

pub async fn run(global: &GlobalArgs) -> Result<ExitCode, CliError> {
    let setup = connect(global).await?;
    let source = setup.credential_setup.source();
    let Some(credentials) = &setup.credentials else {
        if global.json {
            outln!(
                "{}",
                serde_json::json!({"anonymous": true, "source": source})
            );
        } else {
            outln!("anonymous (requests are not signed)");
        }
        return Ok(ExitCode::Success);
    };
    let identity = setup
        .credential_setup
        .sts
        .get_caller_identity(credentials)
        .await
        .map_err(|e| CliError {
            hint: Some(
                e.hint()
                    .unwrap_or(
                        "check the credentials and --sts-endpoint-url / AWS_ENDPOINT_URL_STS",
                    )
                    .to_owned(),
            ),
            message: format!("GetCallerIdentity: {e}"),
            code: ExitCode::Failure,
        })?;
    let kind = if credentials.session_token().is_some() {
        "temporary"
    } else {
        "long-term"
    };
    let expires = credentials.expiry().map(format_utc);
    if global.json {
        outln!(
            "{}",
            serde_json::json!({
                "arn": identity.arn,
                "account": identity.account,
                "user_id": identity.user_id,
                "access_key_id": credentials.masked_access_key_id(),
                "kind": kind,
                "expires": expires,
                "source": source,
                "sts_endpoint": setup.credential_setup.sts.endpoint().url(),
            })
        );
        return Ok(ExitCode::Success);
    }
    outln!("identity:   {}", identity.arn);
    outln!("account:    {}", identity.account);
    outln!("user id:    {}", identity.user_id);
    outln!(
        "access key: {} ({kind})",
        credentials.masked_access_key_id()
    );
    if let Some(expires) = expires {
        outln!("expires:    {expires}");
    }
    outln!("source:     {source}");
    Ok(ExitCode::Success)
}
