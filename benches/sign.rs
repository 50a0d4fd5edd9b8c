//! Signing throughput: ferry against the `aws-sigv4` crate, same requests, same run.
//!
//! Cases: a GetObject with a Range header, an UploadPart with `UNSIGNED-PAYLOAD`, a presigned
//! GET, and one 64 KiB streaming chunk. Run with `cargo bench -p ferry-benches --bench sign`.

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use criterion::{Criterion, criterion_group, criterion_main};
use ferry::credentials::Credentials;
use ferry::sign::{Payload, SignableRequest as FerryRequest, Signer, SigningTime, sha256_hex};
use ferry_benches::*;
use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

const RANGE: &str = "bytes=8388608-16777215";
const CHUNK: usize = 64 * 1024;

fn aws_identity() -> Identity {
    aws_credential_types::Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None, "bench")
        .into()
}

fn aws_settings(location: SignatureLocation) -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.signature_location = location;
    if location == SignatureLocation::QueryParams {
        settings.expires_in = Some(Duration::from_secs(3600));
    }
    settings
}

fn aws_sign(
    identity: &Identity,
    settings: &SigningSettings,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: SignableBody<'_>,
) -> usize {
    let time = UNIX_EPOCH + Duration::from_secs(UNIX_TIME);
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region(REGION)
        .name("s3")
        .time(time)
        .settings(settings.clone())
        .build()
        .expect("valid params")
        .into();
    let request =
        SignableRequest::new(method, uri, headers.iter().copied(), body).expect("valid request");
    let (instructions, _) = sign(request, &params).expect("signs").into_parts();
    instructions.headers().count() + instructions.params().len()
}

/// GetObjects of `paths` in turn, with `headers`, for both signers in one group.
fn bench_gets(c: &mut Criterion, group: &str, paths: &[String], headers: &[(&str, &str)]) {
    let mut group = c.benchmark_group(group);
    let creds = Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    let signer = Signer::s3(REGION);
    let mut next = 0;
    group.bench_function("ferry", |b| {
        b.iter(|| {
            next = (next + 1) % paths.len();
            let request = FerryRequest {
                method: "GET",
                path: &paths[next],
                query: &[],
                headers: black_box(headers),
                payload: Payload::Unsigned,
            };
            signer.sign_headers(&creds, &request, SigningTime::from_unix_seconds(UNIX_TIME))
        })
    });
    let identity = aws_identity();
    let settings = aws_settings(SignatureLocation::Headers);
    let uris: Vec<String> = paths.iter().map(|p| format!("https://{HOST}{p}")).collect();
    group.bench_function("aws-sigv4", |b| {
        b.iter(|| {
            next = (next + 1) % uris.len();
            aws_sign(
                &identity,
                &settings,
                "GET",
                black_box(&uris[next]),
                headers,
                SignableBody::UnsignedPayload,
            )
        })
    });
    group.finish();
}

/// A ranged GetObject of one key (the ranges of one download).
fn get_object(c: &mut Criterion) {
    let headers = [("host", HOST), ("range", RANGE)];
    bench_gets(c, "sign/get_object_range", &[KEY_PATH.to_owned()], &headers);
}

/// GetObject of a different key each time (small-object downloads): the canonical request's
/// first block differs every time, so nothing of it is remembered from the last signature.
fn get_object_distinct_keys(c: &mut Criterion) {
    let paths: Vec<String> = (0..1024)
        .map(|i| format!("/small/{i:04}{KEY_PATH}"))
        .collect();
    bench_gets(
        c,
        "sign/get_object_distinct_keys",
        &paths,
        &[("host", HOST)],
    );
}

fn upload_part(c: &mut Criterion) {
    let mut group = c.benchmark_group("sign/upload_part_unsigned");
    let creds = Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    let signer = Signer::s3(REGION);
    let headers = [("host", HOST), ("content-length", "8388608")];
    let query = [("partNumber", "7"), ("uploadId", UPLOAD_ID)];
    group.bench_function("ferry", |b| {
        b.iter(|| {
            let request = FerryRequest {
                method: "PUT",
                path: KEY_PATH,
                query: black_box(&query),
                headers: &headers,
                payload: Payload::Unsigned,
            };
            signer.sign_headers(&creds, &request, SigningTime::from_unix_seconds(UNIX_TIME))
        })
    });
    let identity = aws_identity();
    let settings = aws_settings(SignatureLocation::Headers);
    let uri = format!("https://{HOST}{KEY_PATH}?partNumber=7&uploadId={UPLOAD_ID}");
    group.bench_function("aws-sigv4", |b| {
        b.iter(|| {
            aws_sign(
                &identity,
                &settings,
                "PUT",
                black_box(&uri),
                &headers,
                SignableBody::UnsignedPayload,
            )
        })
    });
    group.finish();
}

fn presigned_get(c: &mut Criterion) {
    let mut group = c.benchmark_group("sign/presigned_get");
    let creds = Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    let signer = Signer::s3(REGION);
    let headers = [("host", HOST)];
    group.bench_function("ferry", |b| {
        b.iter(|| {
            let request = FerryRequest {
                method: "GET",
                path: black_box(KEY_PATH),
                query: &[],
                headers: &headers,
                payload: Payload::Unsigned,
            };
            signer.presign(
                &creds,
                &request,
                SigningTime::from_unix_seconds(UNIX_TIME),
                Duration::from_secs(3600),
            )
        })
    });
    let identity = aws_identity();
    let settings = aws_settings(SignatureLocation::QueryParams);
    let uri = format!("https://{HOST}{KEY_PATH}");
    group.bench_function("aws-sigv4", |b| {
        b.iter(|| {
            aws_sign(
                &identity,
                &settings,
                "GET",
                black_box(&uri),
                &headers,
                SignableBody::UnsignedPayload,
            )
        })
    });
    group.finish();
}

/// One 64 KiB chunk of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body. aws-sigv4 has no chunk
/// signer for S3, so its side is what a user of the crate writes: the signing key derived
/// once (cached, to be fair), then per chunk the string to sign and `calculate_signature`.
fn streaming_chunk(c: &mut Criterion) {
    let mut group = c.benchmark_group("sign/streaming_chunk_64k");
    let data = vec![b'a'; CHUNK];
    let creds = Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    let signer = Signer::s3(REGION);
    let time = SigningTime::from_unix_seconds(UNIX_TIME);
    let headers = [("host", HOST), ("content-encoding", "aws-chunked")];
    let seed = signer.sign_headers(
        &creds,
        &FerryRequest {
            method: "PUT",
            path: KEY_PATH,
            query: &[],
            headers: &headers,
            payload: Payload::StreamingSigned,
        },
        time,
    );
    let mut chunks = signer.chunk_signer(&creds, time, &seed);
    group.bench_function("ferry", |b| {
        b.iter(|| chunks.sign_chunk(black_box(&data)).len())
    });
    let system_time = UNIX_EPOCH + Duration::from_secs(UNIX_TIME);
    let key = v4::generate_signing_key(SECRET_ACCESS_KEY, system_time, REGION, "s3");
    let mut previous = seed.signature().to_owned();
    group.bench_function("aws-sigv4", |b| {
        b.iter(|| {
            let string_to_sign = format!(
                "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}/{REGION}/s3/aws4_request\n{previous}\n{}\n{}",
                time.amz_date(),
                time.date_stamp(),
                ferry::sign::EMPTY_SHA256,
                sha256_hex(black_box(&data)).as_str(),
            );
            previous = v4::calculate_signature(&key, string_to_sign.as_bytes());
            previous.len()
        })
    });
    group.finish();
}

/// The floor: the hashing one GetObject signature needs (SHA-256 of the canonical request,
/// HMAC of the string to sign with an already-keyed state), with nothing else.
fn hashing_floor(c: &mut Criterion) {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let canonical = format!(
        "GET\n{KEY_PATH}\n\nhost:{HOST}\nrange:{RANGE}\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:20261122T120000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD"
    );
    let keyed = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).expect("any key length");
    c.bench_function("sign/get_object_range/hashing-floor", |b| {
        b.iter(|| {
            let hashed = Sha256::digest(black_box(canonical.as_bytes()));
            let mut mac = keyed.clone();
            mac.update(b"AWS4-HMAC-SHA256\n20261122T120000Z\n20261122/us-east-1/s3/aws4_request\n");
            mac.update(&hashed);
            mac.update(&hashed);
            mac.finalize().into_bytes()
        })
    });
}

criterion_group!(
    benches,
    hashing_floor,
    get_object,
    get_object_distinct_keys,
    upload_part,
    presigned_get,
    streaming_chunk
);
criterion_main!(benches);
