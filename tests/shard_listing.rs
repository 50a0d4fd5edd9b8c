//! The plan's S3 listing: parallel whatever the keys look like (a flat key space without a
//! single `/` included), every key exactly once.

use ferry::http::RequestBody;
use ferry::s3::PutOptions;
use ferry::shard::source::list_s3;
use ferry_tests::embedded::{Embedded, client_for, fast_retries};
use ferry_tests::fault_proxy::FaultProxy;
use std::collections::BTreeSet;

async fn put_all(server: &Embedded, keys: &[String]) {
    let client = server.client();
    client.create_bucket("flat", None).await.unwrap();
    let puts = keys.iter().map(|key| {
        let client = client.clone();
        async move {
            let body = RequestBody::bytes(bytes::Bytes::from(key.clone().into_bytes()));
            client
                .put_object("flat", key, body, &PutOptions::default())
                .await
                .unwrap();
        }
    });
    futures_util::future::join_all(puts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_below_a_long_common_part_are_split_past_it() {
    let server = Embedded::start("127.0.0.1:0").await;
    // Every key shares `backups/2026/12/`: the split goes past it, to the day.
    let keys: Vec<String> = (0..1500)
        .map(|i| format!("backups/2026/12/{:02}/file-{i}", i % 20 + 1))
        .collect();
    put_all(&server, &keys).await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let entries = list_s3(&client, "flat", "").await.unwrap();
    let listed: BTreeSet<String> = entries.iter().map(|e| e.key.clone()).collect();
    assert_eq!(listed.len(), entries.len(), "a key listed twice");
    assert_eq!(listed, keys.iter().cloned().collect::<BTreeSet<_>>());
    let whole_listings: BTreeSet<String> = proxy
        .log()
        .iter()
        .filter(|(_, uri, _)| {
            !uri.contains("start-after=")
                && !uri.contains("max-keys=1&")
                && !uri.ends_with("max-keys=1")
        })
        .map(|(_, uri, _)| uri.clone())
        .collect();
    assert!(
        whole_listings
            .iter()
            .any(|u| u.contains("prefix=backups%2F2026%2F12%2F0")),
        "ranges below the common part were listed: {whole_listings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flat_key_space_is_split_by_sampling_and_listed_in_parallel_each_key_once() {
    let server = Embedded::start("127.0.0.1:0").await;
    // 2,500 keys under `p`, none with a `/`: hex-like names, a key equal to the prefix, keys
    // that differ only in a character past the split, and non-ASCII ones.
    let mut keys: Vec<String> = (0..2400).map(|i| format!("p{:x}{i:05}", i % 16)).collect();
    keys.extend((0..97).map(|i| format!("p\u{e9}t\u{e9}-{i}")));
    keys.extend(["p".to_owned(), "pz".to_owned(), "pzz".to_owned()]);
    put_all(&server, &keys).await;

    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let entries = list_s3(&client, "flat", "p").await.unwrap();

    let listed: Vec<String> = entries.iter().map(|e| format!("p{}", e.key)).collect();
    let unique: BTreeSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "a key listed twice");
    let expected: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique, expected, "every key, and nothing else");
    let sizes_right = entries
        .iter()
        .all(|e| e.size == format!("p{}", e.key).len() as u64);
    assert!(sizes_right, "each entry carries its object's size");

    let log = proxy.log();
    let sampled = log
        .iter()
        .filter(|(_, uri, _)| uri.contains("start-after="))
        .count();
    let listings = log.iter().filter(|(m, _, _)| m == "GET").count();
    assert!(
        sampled >= 16,
        "the key space was sampled with StartAfter: {sampled} of {listings} listings"
    );
}
