//! Backs up a directory to a dated prefix, stored in DEEP_ARCHIVE and encrypted with a KMS key:
//! `cargo run -p ferry-engine --example backup -- DIR BUCKET KMS_KEY`. Region and credentials
//! come from where the AWS CLI finds them (variables, `~/.aws`, the instance or the pod).
use ferry::s3::{PutOptions, ServerSideEncryption};
use ferry::transfer::{Event, Progress, TransferConfig};
use ferry::{Client, Transfers};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, bucket, kms_key] =
        <[String; 3]>::try_from(args).map_err(|_| "usage: backup DIR BUCKET KMS_KEY")?;
    let client = Client::builder().from_environment().build().await?;
    let put = PutOptions {
        storage_class: Some("DEEP_ARCHIVE".into()),
        encryption: Some(ServerSideEncryption::Kms {
            key_id: Some(kms_key),
        }),
        ..PutOptions::default()
    };
    let progress = Progress::new(|event| {
        if let Event::Finished { name, bytes } = event {
            eprintln!("{name}: {bytes} bytes");
        }
    });
    let backup = Transfers::for_client(
        client,
        TransferConfig {
            put,
            ..Default::default()
        },
        progress,
    );
    let prefix = format!(
        "backups/{}/",
        &ferry::time::format_utc(std::time::SystemTime::now())[..10]
    );
    let summary = backup.upload_dir(dir.as_ref(), &bucket, &prefix).await;
    for failure in &summary.failures {
        let later = if failure.kind().is_transient() {
            " (try again later)"
        } else {
            ""
        };
        eprintln!("failed: {failure}{later}");
    }
    println!(
        "{} objects, {} bytes in s3://{bucket}/{prefix}",
        summary.objects, summary.bytes
    );
    if summary.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
