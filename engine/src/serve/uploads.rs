//! Open multipart uploads, from the records `s3s-fs` keeps in the root: what
//! ListMultipartUploads and ListParts need and `s3s-fs` does not give.

use super::MAX_LIST;
use super::listing::{encoded, wants_url};
use s3s::dto;
use std::io;
use std::path::Path;

/// Upload ids are UUIDs; anything else cannot name an upload (nor a path).
pub(super) fn is_upload_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

pub(super) fn no_such_upload() -> s3s::S3Error {
    s3s::S3Error::with_message(
        s3s::S3ErrorCode::NoSuchUpload,
        "The specified multipart upload does not exist",
    )
}

/// One open multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OpenUpload {
    key: String,
    upload_id: String,
    initiated: std::time::SystemTime,
}

/// The open uploads of `bucket`, from `s3s-fs`'s records in `root`, in no particular order.
pub(super) fn open_uploads(root: &Path, bucket: &str) -> io::Result<Vec<OpenUpload>> {
    let prefix = format!(".bucket-{}.object-", base64_url_encode(bucket.as_bytes()));
    let mut uploads = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".metadata.json"))
        else {
            continue;
        };
        let Some((encoded_key, upload_id)) = rest.rsplit_once(".upload-") else {
            continue;
        };
        if !is_upload_id(upload_id) || !root.join(format!(".upload-{upload_id}.json")).is_file() {
            continue;
        }
        let Some(key) = base64_url_decode(encoded_key).and_then(|k| String::from_utf8(k).ok())
        else {
            continue;
        };
        let initiated = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        uploads.push(OpenUpload {
            key,
            upload_id: upload_id.to_owned(),
            initiated,
        });
    }
    Ok(uploads)
}

/// One page of ListMultipartUploads: prefix, delimiter, key and upload-id markers and
/// `max-uploads` as S3 applies them. Uploads are ordered by key, then upload id.
pub(super) fn list_uploads_page(
    input: dto::ListMultipartUploadsInput,
    mut uploads: Vec<OpenUpload>,
) -> dto::ListMultipartUploadsOutput {
    let prefix = input.prefix.clone().unwrap_or_default();
    let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
    let key_marker = input.key_marker.clone().unwrap_or_default();
    let id_marker = input.upload_id_marker.clone().unwrap_or_default();
    let max = input.max_uploads.unwrap_or(MAX_LIST).clamp(0, MAX_LIST) as usize;
    let url = wants_url(input.encoding_type.as_ref());

    uploads.retain(|u| u.key.starts_with(&prefix));
    uploads.retain(|u| {
        key_marker.is_empty()
            || u.key > key_marker
            || (u.key == key_marker && !id_marker.is_empty() && u.upload_id > id_marker)
    });
    uploads.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));

    let mut page = Vec::new();
    let mut common_prefixes: Vec<String> = Vec::new();
    let mut last: Option<(String, String)> = None;
    let mut truncated = false;
    for upload in uploads {
        let grouped = delimiter.as_deref().and_then(|d| {
            upload.key[prefix.len()..]
                .find(d)
                .map(|at| upload.key[..prefix.len() + at + d.len()].to_owned())
        });
        if let Some(common) = &grouped
            && common_prefixes.last() == Some(common)
        {
            continue;
        }
        if page.len() + common_prefixes.len() == max {
            truncated = true;
            break;
        }
        match grouped {
            Some(common) => {
                last = Some((common.clone(), String::new()));
                common_prefixes.push(common);
            }
            None => {
                last = Some((upload.key.clone(), upload.upload_id.clone()));
                page.push(dto::MultipartUpload {
                    key: Some(encoded(&upload.key, url)),
                    upload_id: Some(upload.upload_id),
                    initiated: Some(dto::Timestamp::from(upload.initiated)),
                    storage_class: Some(dto::StorageClass::from_static(
                        dto::StorageClass::STANDARD,
                    )),
                    ..Default::default()
                });
            }
        }
    }
    let (next_key_marker, next_upload_id_marker) = match (truncated, last) {
        (true, Some((key, id))) => (
            Some(encoded(&key, url)),
            Some(id).filter(|id| !id.is_empty()),
        ),
        _ => (None, None),
    };
    dto::ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix.map(|p| encoded(&p, url)),
        delimiter: input.delimiter.map(|d| encoded(&d, url)),
        encoding_type: input.encoding_type,
        key_marker: input.key_marker.map(|m| encoded(&m, url)),
        upload_id_marker: input.upload_id_marker,
        max_uploads: Some(max as i32),
        is_truncated: Some(truncated),
        next_key_marker,
        next_upload_id_marker,
        uploads: Some(page),
        common_prefixes: (!common_prefixes.is_empty()).then(|| {
            common_prefixes
                .into_iter()
                .map(|p| dto::CommonPrefix {
                    prefix: Some(encoded(&p, url)),
                })
                .collect()
        }),
        ..Default::default()
    }
}

const BASE64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// URL-safe base64 without padding, as `s3s-fs` names its record files.
fn base64_url_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(BASE64_URL[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// The inverse of [`base64_url_encode`]; `None` for text it could not have produced.
fn base64_url_decode(input: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in input.bytes() {
        let v = BASE64_URL.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero padding, and a lone 6-bit group is not valid.
    (acc == 0 && input.len() % 4 != 1).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_url_round_trips_and_matches_the_standard_alphabet() {
        assert_eq!(base64_url_encode(b"photos"), "cGhvdG9z");
        assert_eq!(base64_url_encode(b"a"), "YQ");
        assert_eq!(base64_url_encode(b"ab"), "YWI");
        assert_eq!(base64_url_encode(&[0xfb, 0xff]), "-_8");
        for text in ["", "a", "ab", "abc", "dir/ça va?.jpg", "\u{1F600} emoji"] {
            let encoded = base64_url_encode(text.as_bytes());
            assert_eq!(
                base64_url_decode(&encoded).as_deref(),
                Some(text.as_bytes())
            );
        }
        assert_eq!(base64_url_decode("Y"), None);
        assert_eq!(base64_url_decode("a+b"), None);
    }

    fn upload(key: &str, id: &str) -> OpenUpload {
        OpenUpload {
            key: key.into(),
            upload_id: id.into(),
            initiated: std::time::UNIX_EPOCH,
        }
    }

    fn page_of(
        uploads: &[OpenUpload],
        edit: impl FnOnce(&mut dto::ListMultipartUploadsInput),
    ) -> dto::ListMultipartUploadsOutput {
        let mut input = dto::ListMultipartUploadsInput::builder()
            .bucket("b".to_owned())
            .build()
            .unwrap();
        edit(&mut input);
        list_uploads_page(input, uploads.to_vec())
    }

    #[test]
    fn upload_pages_follow_key_then_upload_id_markers() {
        let uploads = [
            upload("b", "2"),
            upload("a", "1"),
            upload("b", "1"),
            upload("c", "9"),
        ];
        let first = page_of(&uploads, |i| i.max_uploads = Some(2));
        let keys: Vec<_> = first
            .uploads
            .as_ref()
            .unwrap()
            .iter()
            .map(|u| (u.key.clone().unwrap(), u.upload_id.clone().unwrap()))
            .collect();
        assert_eq!(keys, [("a".into(), "1".into()), ("b".into(), "1".into())]);
        assert_eq!(first.is_truncated, Some(true));
        assert_eq!(first.next_key_marker.as_deref(), Some("b"));
        assert_eq!(first.next_upload_id_marker.as_deref(), Some("1"));
        let second = page_of(&uploads, |i| {
            i.max_uploads = Some(2);
            i.key_marker = Some("b".into());
            i.upload_id_marker = Some("1".into());
        });
        let keys: Vec<_> = second
            .uploads
            .as_ref()
            .unwrap()
            .iter()
            .map(|u| (u.key.clone().unwrap(), u.upload_id.clone().unwrap()))
            .collect();
        assert_eq!(keys, [("b".into(), "2".into()), ("c".into(), "9".into())]);
        assert_eq!(second.is_truncated, Some(false));
        assert_eq!(second.next_key_marker, None);
        // A key marker alone skips every upload of that key.
        let after_b = page_of(&uploads, |i| i.key_marker = Some("b".into()));
        assert_eq!(after_b.uploads.unwrap().len(), 1);
    }

    #[test]
    fn a_delimiter_groups_upload_keys_into_common_prefixes() {
        let uploads = [
            upload("logs/1", "1"),
            upload("logs/2", "2"),
            upload("top", "3"),
            upload("x/y/z", "4"),
        ];
        let page = page_of(&uploads, |i| i.delimiter = Some("/".into()));
        let prefixes: Vec<_> = page
            .common_prefixes
            .unwrap()
            .into_iter()
            .map(|p| p.prefix.unwrap())
            .collect();
        assert_eq!(prefixes, ["logs/", "x/"]);
        assert_eq!(page.uploads.unwrap().len(), 1);
        let under = page_of(&uploads, |i| {
            i.delimiter = Some("/".into());
            i.prefix = Some("x/".into());
        });
        let prefixes: Vec<_> = under
            .common_prefixes
            .unwrap()
            .into_iter()
            .map(|p| p.prefix.unwrap())
            .collect();
        assert_eq!(prefixes, ["x/y/"]);
    }

    #[test]
    fn url_encoding_type_percent_encodes_upload_keys_prefixes_and_markers() {
        let uploads = [upload("a\rb", "1"), upload("d c/x", "2"), upload("z", "3")];
        let page = page_of(&uploads, |i| {
            i.encoding_type = Some(dto::EncodingType::from_static(dto::EncodingType::URL));
            i.delimiter = Some("/".into());
            i.max_uploads = Some(2);
        });
        let keys: Vec<_> = page
            .uploads
            .unwrap()
            .into_iter()
            .filter_map(|u| u.key)
            .collect();
        assert_eq!(keys, ["a%0Db"]);
        let prefixes: Vec<_> = page
            .common_prefixes
            .unwrap()
            .into_iter()
            .filter_map(|p| p.prefix)
            .collect();
        assert_eq!(prefixes, ["d%20c/"]);
        assert_eq!(page.next_key_marker.as_deref(), Some("d%20c/"));
    }
}
