//! Per-request overhead: build, sign and send a HeadObject to the embedded s3s-fs endpoint
//! over a warm pooled connection, and receive the answer. The server's own work is included,
//! so this is an upper bound on ferry's share; `sign/*` isolates the signing part.
//!
//! Run with `cargo bench -p ferry-benches --bench request`.

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use ferry::credentials::StaticProvider;
use ferry::endpoint::EndpointConfig;
use ferry::http::{HttpClient, HttpConfig, RequestBody, RetryConfig, RetryState};
use ferry::s3::{PutOptions, S3Client};
use ferry::serve::{LocalEndpoint, ServeConfig};
use std::sync::Arc;

fn head_object(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let root = tempfile::tempdir().expect("temporary directory");
    let (server, client) = runtime.block_on(async {
        let config =
            ServeConfig::with_random_keys(root.path(), "127.0.0.1:0".parse().expect("address"))
                .expect("keys");
        let server = LocalEndpoint::start(config).await.expect("endpoint");
        let endpoint = EndpointConfig::custom(server.url(), "us-east-1")
            .resolve()
            .expect("endpoint");
        let client = S3Client::new(
            HttpClient::new(&HttpConfig::default()).expect("http"),
            endpoint,
            Arc::new(StaticProvider::new(server.credentials().clone())),
            RetryState::new(RetryConfig::default()),
        );
        client.create_bucket("bench", None).await.expect("bucket");
        let body = RequestBody::bytes(Bytes::from_static(b"x"));
        client
            .put_object("bench", "key", body, &PutOptions::default())
            .await
            .expect("put");
        (server, client)
    });
    c.bench_function("request/head_object_warm_connection", |b| {
        b.to_async(&runtime)
            .iter(|| async { client.head_object("bench", "key").await.expect("head") })
    });
    drop(server);
}

criterion_group!(benches, head_object);
criterion_main!(benches);
