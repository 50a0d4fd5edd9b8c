//! The S3 client against the embedded s3s-fs endpoint, which verifies every signature itself.
//! (s3s-fs ignores `If-Match`; conditional reads are proven against SeaweedFS in the interop
//! suite.)

use bytes::Bytes;
use ferry::Advice;
use ferry::credentials::Credentials;
use ferry::http::RequestBody;
use ferry::s3::{ListObjects, PutOptions, S3Client};
use ferry_tests::embedded::{Embedded, client_for, fast_retries};

const BUCKET: &str = "ferry-test";

async fn ready(address: &str) -> (Embedded, S3Client) {
    let embedded = Embedded::start(address).await;
    let client = embedded.client();
    client
        .create_bucket(BUCKET, None)
        .await
        .expect("create bucket");
    (embedded, client)
}

fn body(data: &[u8]) -> RequestBody {
    RequestBody::bytes(Bytes::copy_from_slice(data))
}

async fn all_keys(client: &S3Client, options: ListObjects) -> Vec<String> {
    let mut pages = client.list_objects(BUCKET, options);
    let mut keys = Vec::new();
    for _ in 0..10_000 {
        let Some(page) = pages.next_page().await.expect("list page") else {
            return keys;
        };
        keys.extend(page.contents.into_iter().map(|o| o.key));
    }
    panic!("listing did not end within 10,000 pages");
}

#[tokio::test]
async fn buckets_are_created_listed_checked_and_deleted() {
    let (_server, client) = ready("127.0.0.1:0").await;
    let names: Vec<String> = client
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, vec![BUCKET.to_string()]);
    client.head_bucket(BUCKET).await.expect("bucket exists");
    client.delete_bucket(BUCKET).await.unwrap();
    let err = client.head_bucket(BUCKET).await.unwrap_err();
    assert!(err.service().is_some_and(|e| e.is_not_found()), "{err}");
}

#[tokio::test]
async fn an_object_round_trips_with_its_content_type_and_metadata() {
    let (_server, client) = ready("127.0.0.1:0").await;
    let options = PutOptions {
        content_type: Some("text/plain".into()),
        metadata: vec![("origin".into(), "ferry".into())],
        ..PutOptions::default()
    };
    client
        .put_object(BUCKET, "dir/hello.txt", body(b"hello, ferry"), &options)
        .await
        .unwrap();
    let info = client.head_object(BUCKET, "dir/hello.txt").await.unwrap();
    assert_eq!(info.size, 12);
    assert_eq!(info.content_type.as_deref(), Some("text/plain"));
    assert!(
        info.metadata.contains(&("origin".into(), "ferry".into())),
        "{:?}",
        info.metadata
    );
    let data = client
        .get_object_bytes(BUCKET, "dir/hello.txt")
        .await
        .unwrap();
    assert_eq!(&data[..], b"hello, ferry");
    client.delete_object(BUCKET, "dir/hello.txt").await.unwrap();
    let err = client
        .head_object(BUCKET, "dir/hello.txt")
        .await
        .unwrap_err();
    assert!(err.service().is_some_and(|e| e.is_not_found()), "{err}");
}

#[tokio::test]
async fn a_ranged_get_returns_exactly_the_range_and_its_content_range() {
    let (_server, client) = ready("127.0.0.1:0").await;
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    client
        .put_object(BUCKET, "r", body(&data), &PutOptions::default())
        .await
        .unwrap();
    let mut out = client
        .get_object(BUCKET, "r", Some((1000, 1999)), None)
        .await
        .unwrap();
    assert_eq!(out.range, Some((1000, 1999, 10_000)));
    assert_eq!(out.info.size, 10_000);
    let mut got = Vec::new();
    while let Some(chunk) = out.body.chunk().await.unwrap() {
        got.extend_from_slice(&chunk);
    }
    assert_eq!(got, &data[1000..2000]);
}

#[tokio::test]
async fn awkward_keys_round_trip_and_list_back_byte_for_byte() {
    let (_server, client) = ready("127.0.0.1:0").await;
    // s3s-fs names a metadata file after base64(key) in one path component (255 bytes), so
    // keys beyond ~170 bytes fail there; the 1024-byte key is proven against SeaweedFS.
    let long: String = (0..3)
        .map(|i| format!("{}{}/", i, "x".repeat(45)))
        .collect::<String>()
        + "end";
    let keys = [
        "with space.txt",
        "unicode/naïve-日本語-🚀.bin",
        "plus+percent%equals=amp&tilde~",
        "bang!star*quote'paren(s)",
        "dots/../still-literal",
        "a//double-slash",
        long.as_str(),
    ];
    for key in keys {
        client
            .put_object(BUCKET, key, body(key.as_bytes()), &PutOptions::default())
            .await
            .unwrap_or_else(|e| panic!("put {key:?}: {e}"));
        let back = client
            .get_object_bytes(BUCKET, key)
            .await
            .unwrap_or_else(|e| panic!("get {key:?}: {e}"));
        assert_eq!(&back[..], key.as_bytes());
    }
    let mut listed = all_keys(&client, ListObjects::default()).await;
    // s3s-fs keeps objects as files, so `..` and `//` collapse in its listing (a real store
    // keeps them literal: proven against SeaweedFS in the interop suite).
    let mut expected: Vec<String> = keys
        .iter()
        .map(|k| k.replace("dots/../", "").replace("//", "/"))
        .collect();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn listing_paginates_over_every_key_exactly_once() {
    let (_server, client) = ready("127.0.0.1:0").await;
    let mut expected = Vec::new();
    for i in 0..23 {
        let key = format!("p/{i:03}");
        client
            .put_object(BUCKET, &key, body(b"x"), &PutOptions::default())
            .await
            .unwrap();
        expected.push(key);
    }
    client
        .put_object(BUCKET, "other", body(b"x"), &PutOptions::default())
        .await
        .unwrap();
    let options = ListObjects {
        prefix: Some("p/".into()),
        max_keys: Some(5),
        ..ListObjects::default()
    };
    let keys = all_keys(&client, options).await;
    assert_eq!(keys, expected);
}

#[tokio::test]
async fn listing_with_a_delimiter_groups_common_prefixes() {
    let (_server, client) = ready("127.0.0.1:0").await;
    for key in ["a/1", "a/2", "b/1", "top"] {
        client
            .put_object(BUCKET, key, body(b"x"), &PutOptions::default())
            .await
            .unwrap();
    }
    let options = ListObjects {
        delimiter: Some("/".into()),
        ..ListObjects::default()
    };
    let page = client
        .list_objects(BUCKET, options)
        .next_page()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        page.common_prefixes,
        vec!["a/".to_string(), "b/".to_string()]
    );
    assert_eq!(
        page.contents
            .iter()
            .map(|o| o.key.as_str())
            .collect::<Vec<_>>(),
        vec!["top"]
    );
}

#[tokio::test]
async fn a_multipart_upload_completes_from_its_parts_in_order() {
    let (_server, client) = ready("127.0.0.1:0").await;
    let part1 = vec![b'a'; 5 * 1024 * 1024];
    let part2 = b"the tail".to_vec();
    let id = client
        .create_multipart_upload(BUCKET, "big", &PutOptions::default())
        .await
        .unwrap();
    let e2 = client
        .upload_part(BUCKET, "big", &id, 2, body(&part2), &[])
        .await
        .unwrap();
    let e1 = client
        .upload_part(BUCKET, "big", &id, 1, body(&part1), &[])
        .await
        .unwrap();
    let listed = client.list_parts(BUCKET, "big", &id, None).await.unwrap();
    assert_eq!(
        listed
            .parts
            .iter()
            .map(|p| p.part_number)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    let parts = [
        ferry::s3::xml::CompletedPart::new(2, e2),
        ferry::s3::xml::CompletedPart::new(1, e1),
    ];
    client
        .complete_multipart_upload(BUCKET, "big", &id, &parts, &[])
        .await
        .unwrap();
    let data = client.get_object_bytes(BUCKET, "big").await.unwrap();
    assert_eq!(data.len(), part1.len() + part2.len());
    assert_eq!(&data[part1.len()..], &part2[..]);
    assert!(data[..part1.len()].iter().all(|b| *b == b'a'));
}

#[tokio::test]
async fn an_aborted_multipart_upload_leaves_nothing_behind() {
    let (_server, client) = ready("127.0.0.1:0").await;
    let id = client
        .create_multipart_upload(BUCKET, "gone", &PutOptions::default())
        .await
        .unwrap();
    client
        .upload_part(BUCKET, "gone", &id, 1, body(b"data"), &[])
        .await
        .unwrap();
    client
        .abort_multipart_upload(BUCKET, "gone", &id)
        .await
        .unwrap();
    let err = client
        .list_parts(BUCKET, "gone", &id, None)
        .await
        .unwrap_err();
    assert!(
        err.service()
            .is_some_and(|e| e.is_no_such_upload() || e.is_not_found()),
        "{err}"
    );
    let err = client.head_object(BUCKET, "gone").await.unwrap_err();
    assert!(err.service().is_some_and(|e| e.is_not_found()), "{err}");
}

#[tokio::test]
async fn copy_object_copies_server_side() {
    let (_server, client) = ready("127.0.0.1:0").await;
    client
        .put_object(
            BUCKET,
            "src key",
            body(b"copied bytes"),
            &PutOptions::default(),
        )
        .await
        .unwrap();
    client
        .copy_object(BUCKET, "src key", BUCKET, "dst/key")
        .await
        .unwrap();
    assert_eq!(
        &client.get_object_bytes(BUCKET, "dst/key").await.unwrap()[..],
        b"copied bytes"
    );
}

#[tokio::test]
async fn delete_objects_removes_a_batch_and_reports_no_errors() {
    let (_server, client) = ready("127.0.0.1:0").await;
    let keys: Vec<String> = (0..30).map(|i| format!("batch/{i}")).collect();
    for key in &keys {
        client
            .put_object(BUCKET, key, body(b"x"), &PutOptions::default())
            .await
            .unwrap();
    }
    let result = client.delete_objects(BUCKET, &keys).await.unwrap();
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert!(all_keys(&client, ListObjects::default()).await.is_empty());
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_server_and_not_retried() {
    let (server, _) = ready("127.0.0.1:0").await;
    let real = server.endpoint.credentials();
    let wrong = Credentials::new(
        real.access_key_id(),
        "not-the-secret-at-all-0000000000000000000",
    );
    let client = client_for(&server.endpoint.url(), wrong, fast_retries());
    let err = client.list_buckets().await.unwrap_err();
    let service = err.service().expect("an S3 error");
    assert_eq!(service.code(), "SignatureDoesNotMatch", "{err}");
    assert_eq!(err.advice(), Some(Advice::CheckSecretKey));
    assert_eq!(client.retries(), 0);
}

#[tokio::test]
async fn a_missing_key_names_the_object_and_says_what_to_do() {
    let (_server, client) = ready("127.0.0.1:0").await;
    let err = client
        .get_object_bytes(BUCKET, "no/such/key")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("s3://ferry-test/no/such/key"), "{text}");
    assert_eq!(
        err.advice(),
        Some(Advice::KeyMissing {
            bucket: Some("ferry-test".into()),
            parent_prefix: "no/such/".into(),
            ambiguous: false,
        })
    );
    assert_eq!(err.service().map(|e| e.code()), Some("NoSuchKey"));
}

#[tokio::test]
async fn the_ipv6_loopback_endpoint_round_trips_an_object() {
    let (server, client) = ready("[::1]:0").await;
    assert!(
        server.endpoint.url().starts_with("http://[::1]:"),
        "{}",
        server.endpoint.url()
    );
    client
        .put_object(BUCKET, "v6", body(b"over IPv6"), &PutOptions::default())
        .await
        .unwrap();
    assert_eq!(
        &client.get_object_bytes(BUCKET, "v6").await.unwrap()[..],
        b"over IPv6"
    );
}

#[tokio::test]
async fn an_open_multipart_upload_is_listed_until_aborted() {
    let (_server, client) = ready("127.0.0.1:0").await;
    let id = client
        .create_multipart_upload(BUCKET, "open", &PutOptions::default())
        .await
        .unwrap();
    let open = client
        .list_multipart_uploads(BUCKET, None, None)
        .await
        .unwrap();
    assert_eq!(
        open.uploads
            .iter()
            .map(|u| u.upload_id.as_str())
            .collect::<Vec<_>>(),
        vec![id.as_str()]
    );
    client
        .abort_multipart_upload(BUCKET, "open", &id)
        .await
        .unwrap();
    assert!(
        client
            .list_multipart_uploads(BUCKET, None, None)
            .await
            .unwrap()
            .uploads
            .is_empty()
    );
}

/// Keys the XML of a listing or a DeleteObjects body would mangle: a raw `\r` is read back
/// as `\n`, and control characters such as `\u{1}` cannot be written at all.
const CONTROL_KEYS: &[&str] = &[
    "cr\rkey",
    "crlf\r\nkey",
    "lf\nkey",
    "tab\tkey",
    "percent%41%zz",
    "plus+sign",
    "space key",
    "unicode/naïve-日本語-🚀",
    "ctl\u{1}key",
    "esc\u{1b}[31m",
];

#[tokio::test]
async fn keys_with_control_characters_list_back_exactly_and_download_by_the_listed_key() {
    let (_server, client) = ready("127.0.0.1:0").await;
    for key in CONTROL_KEYS {
        client
            .put_object(BUCKET, key, body(key.as_bytes()), &PutOptions::default())
            .await
            .unwrap_or_else(|e| panic!("put {key:?}: {e}"));
    }
    // One key per page, so that every continuation token crosses the XML too.
    let one_per_page = ListObjects {
        max_keys: Some(1),
        ..ListObjects::default()
    };
    let mut listed = all_keys(&client, one_per_page).await;
    listed.sort();
    let mut expected: Vec<String> = CONTROL_KEYS.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    for key in &listed {
        let back = client
            .get_object_bytes(BUCKET, key)
            .await
            .unwrap_or_else(|e| panic!("get {key:?}: {e}"));
        assert_eq!(&back[..], key.as_bytes(), "{key:?}");
    }
    // A prefix holding `\r` and start-after holding a control character are sent and read
    // back exactly as well.
    let under_cr = all_keys(
        &client,
        ListObjects {
            prefix: Some("cr\r".into()),
            ..ListObjects::default()
        },
    )
    .await;
    assert_eq!(under_cr, ["cr\rkey"]);
    let after = all_keys(
        &client,
        ListObjects {
            start_after: Some("esc\u{1b}[31m".into()),
            ..ListObjects::default()
        },
    )
    .await;
    assert!(
        after.iter().all(|k| k.as_str() > "esc\u{1b}[31m"),
        "{after:?}"
    );
    assert!(after.contains(&"lf\nkey".to_string()), "{after:?}");
}

#[tokio::test]
async fn delete_objects_deletes_keys_xml_cannot_carry_one_by_one_within_the_batch() {
    let (_server, client) = ready("127.0.0.1:0").await;
    let mut keys: Vec<String> = CONTROL_KEYS.iter().map(|k| k.to_string()).collect();
    keys.extend((0..5).map(|i| format!("plain/{i}")));
    for key in &keys {
        client
            .put_object(BUCKET, key, body(b"x"), &PutOptions::default())
            .await
            .unwrap_or_else(|e| panic!("put {key:?}: {e}"));
    }
    let result = client.delete_objects(BUCKET, &keys).await.unwrap();
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert_eq!(
        all_keys(&client, ListObjects::default()).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn an_open_upload_of_a_key_with_a_carriage_return_is_listed_with_its_exact_key() {
    let (_server, client) = ready("127.0.0.1:0").await;
    let key = "up\rload\u{1}key";
    let upload_id = client
        .create_multipart_upload(BUCKET, key, &PutOptions::default())
        .await
        .unwrap();
    let listed = client
        .list_multipart_uploads(BUCKET, None, None)
        .await
        .unwrap();
    let keys: Vec<_> = listed.uploads.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(keys, [key]);
    client
        .abort_multipart_upload(BUCKET, key, &upload_id)
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_uploads_of_the_same_part_all_succeed_and_complete_to_the_right_bytes() {
    let (_server, client) = ready("127.0.0.1:0").await;
    let key = "hedged/object.bin";
    let part1: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let part2: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 241) as u8).collect();
    let upload_id = client
        .create_multipart_upload(BUCKET, key, &PutOptions::default())
        .await
        .unwrap();
    // As a hedged part is sent: the same part number, the same bytes, at the same time.
    const COPIES: usize = 8;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..COPIES {
        let (client, upload_id, data) = (client.clone(), upload_id.clone(), part1.clone());
        tasks.spawn(async move {
            client
                .upload_part(BUCKET, key, &upload_id, 1, body(&data), &[])
                .await
        });
    }
    let mut etags = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        etags.push(
            joined
                .expect("task")
                .expect("every copy of the part is accepted"),
        );
    }
    assert_eq!(etags.len(), COPIES);
    assert!(etags.windows(2).all(|w| w[0] == w[1]), "{etags:?}");
    let etag2 = client
        .upload_part(BUCKET, key, &upload_id, 2, body(&part2), &[])
        .await
        .unwrap();
    let parts = [
        ferry::s3::xml::CompletedPart::new(1, etags[0].clone()),
        ferry::s3::xml::CompletedPart::new(2, etag2),
    ];
    client
        .complete_multipart_upload(BUCKET, key, &upload_id, &parts, &[])
        .await
        .unwrap();
    let back = client.get_object_bytes(BUCKET, key).await.unwrap();
    assert_eq!(back.len(), part1.len() + part2.len());
    assert!(back[..part1.len()] == part1[..] && back[part1.len()..] == part2[..]);
}

#[tokio::test]
async fn an_anonymous_request_refused_advises_signing_it_not_checking_iam_policies() {
    let (server, _) = ready("127.0.0.1:0").await;
    let anonymous = ferry_tests::embedded::client_with_provider(
        &server.endpoint.url(),
        std::sync::Arc::new(ferry::credentials::AnonymousProvider),
        fast_retries(),
        ferry::http::HttpConfig::default(),
    );
    let err = anonymous
        .get_object_bytes(BUCKET, "private.txt")
        .await
        .unwrap_err();
    let service = err.service().expect("an S3 error");
    assert_eq!(service.code(), "AccessDenied", "{err}");
    assert_eq!(err.advice(), Some(Advice::SendSignedRequests));
}

#[tokio::test]
async fn an_unknown_access_key_is_invalid_access_key_id_with_advice_to_check_the_key() {
    let (server, _) = ready("127.0.0.1:0").await;
    let stranger = Credentials::new(
        "FERRYUNKNOWNKEY00000",
        "not-the-secret-at-all-0000000000000000000",
    );
    let client = client_for(&server.endpoint.url(), stranger, fast_retries());
    let err = client.list_buckets().await.unwrap_err();
    let service = err.service().expect("an S3 error");
    assert_eq!(service.code(), "InvalidAccessKeyId", "{err}");
    assert_eq!(err.advice(), Some(Advice::CheckAccessKey));
}

#[tokio::test]
async fn creating_a_bucket_with_a_name_s3_refuses_fails_before_sending_and_names_the_rule() {
    let (server, client) = ready("127.0.0.1:0").await;
    for (name, rule) in [
        ("Upper-Case", "upper-case"),
        ("under_score", "only lower-case letters"),
        ("ab", "3 to 63"),
        ("10.0.0.1", "IP address"),
    ] {
        let err = client.create_bucket(name, None).await.unwrap_err();
        assert!(
            matches!(err, ferry::s3::Error::Endpoint(_)),
            "refused before sending: {err}"
        );
        assert!(err.to_string().contains(rule), "{name}: {err}");
        assert_eq!(err.advice(), Some(Advice::BucketNameRules), "{name}");
        assert!(!server.root.path().join(name).exists(), "{name}");
    }
}
