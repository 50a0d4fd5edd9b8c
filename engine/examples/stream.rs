//! Standard input to one S3 object, as a multipart upload whose size is not known in advance
//! (memory stays at a few parts): `tar c DIR | cargo run -p ferry-engine --example stream --
//! BUCKET KEY`. Region and credentials come from where the AWS CLI finds them.
use ferry::transfer::{Progress, TransferConfig};
use ferry::{Client, Transfers};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bucket, key] = <[String; 2]>::try_from(args).map_err(|_| "usage: stream BUCKET KEY")?;
    let client = Client::builder().from_environment().build().await?;
    let engine = Transfers::for_client(client, TransferConfig::default(), Progress::silent());
    let bytes = engine
        .upload_reader(tokio::io::stdin(), &bucket, &key)
        .await?;
    eprintln!("{bytes} bytes to s3://{bucket}/{key}");
    Ok(())
}
