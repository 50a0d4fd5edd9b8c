//! Readers for the SigV4 conformance vectors under `fixtures/sign/` (see its `SOURCES.md`),
//! and the small helpers a caller of ferry's signer needs to turn a raw HTTP request from a
//! vector into a [`ferry::sign::SignableRequest`]: percent-decoding, re-encoding with
//! ferry's own encoders, and parsing the vectors' timestamps.

use ferry::sign::encode::{encode_path, encode_query_component};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `tests/fixtures/sign`, resolved at compile time so that tests run from any directory.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("sign")
}

/// Reads a fixture file as UTF-8, naming the file on failure.
pub fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// Reads and parses a JSON fixture.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    serde_json::from_str(&read_text(path))
        .unwrap_or_else(|e| panic!("cannot parse fixture {}: {e}", path.display()))
}

/// Decodes `%XX` sequences (either hex case); everything else, `+` included, is kept as is.
/// Panics on a malformed escape, which no vector contains.
pub fn percent_decode(input: &str) -> Vec<u8> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = input
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or_else(|| panic!("malformed percent escape in {input:?}"));
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// [`percent_decode`], as UTF-8.
pub fn percent_decode_str(input: &str) -> String {
    String::from_utf8(percent_decode(input))
        .unwrap_or_else(|_| panic!("{input:?} does not decode to UTF-8"))
}

/// The path as ferry's caller puts it on the wire: the raw request-line path decoded, then
/// encoded once with [`encode_path`].
pub fn wire_path(raw_path: &str) -> String {
    let mut out = String::new();
    encode_path(&percent_decode_str(raw_path), &mut out);
    out
}

/// One query parameter as ferry's caller passes it: name and value decoded from the raw query,
/// then encoded once with [`encode_query_component`].
pub fn wire_query(raw_query: &str) -> Vec<(String, String)> {
    split_query(raw_query)
        .into_iter()
        .map(|(name, value)| {
            let mut n = String::new();
            encode_query_component(&percent_decode_str(&name), &mut n);
            let mut v = String::new();
            encode_query_component(&percent_decode_str(&value), &mut v);
            (n, v)
        })
        .collect()
}

/// Splits `a=1&b&c=` into raw (still encoded) pairs; a parameter without `=` has an empty
/// value. Empty pieces (`&&`) are dropped.
pub fn split_query(raw_query: &str) -> Vec<(String, String)> {
    raw_query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| match piece.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => (piece.to_owned(), String::new()),
        })
        .collect()
}

/// Days from 1970-01-01 to the given civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn number(text: &str, what: &str) -> u32 {
    text.parse()
        .unwrap_or_else(|_| panic!("bad {what} {text:?} in a vector timestamp"))
}

fn unix_seconds(y: &str, mo: &str, d: &str, h: &str, mi: &str, s: &str) -> u64 {
    let days = days_from_civil(
        i64::from(number(y, "year")),
        number(mo, "month"),
        number(d, "day"),
    );
    let secs = days * 86_400
        + i64::from(number(h, "hour")) * 3600
        + i64::from(number(mi, "minute")) * 60
        + i64::from(number(s, "second"));
    u64::try_from(secs).expect("vector timestamps are after 1970")
}

/// `2015-08-30T12:36:00Z` (the current suite's `context.json`) as Unix seconds.
pub fn parse_iso8601(text: &str) -> u64 {
    let t = text.as_bytes();
    assert!(
        t.len() == 20 && t[4] == b'-' && t[7] == b'-' && t[10] == b'T' && t[19] == b'Z',
        "unexpected timestamp {text:?}"
    );
    unix_seconds(
        &text[0..4],
        &text[5..7],
        &text[8..10],
        &text[11..13],
        &text[14..16],
        &text[17..19],
    )
}

/// `20150830T123600Z` (an `x-amz-date`) as Unix seconds.
pub fn parse_amz_date(text: &str) -> u64 {
    let t = text.as_bytes();
    assert!(
        t.len() == 16 && t[8] == b'T' && t[15] == b'Z',
        "unexpected x-amz-date {text:?}"
    );
    unix_seconds(
        &text[0..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13],
        &text[13..15],
    )
}

/// A raw HTTP/1.1 request as the suites write it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request-line path, as written (it may hold raw spaces and UTF-8).
    pub path: String,
    /// The request-line query after `?`, as written; empty when there is none.
    pub query: String,
    /// Headers in order, names as written, values as written after the first `:` (leading
    /// white space kept). Folded continuation lines are unfolded into the value.
    pub headers: Vec<(String, String)>,
    /// Everything after the blank line.
    pub body: Vec<u8>,
}

impl RawRequest {
    /// Parses `METHOD PATH[?QUERY] HTTP/1.1`, `Name:value` lines, a blank line and the body.
    ///
    /// A line that starts with a space or a tab continues the previous header (obsolete line
    /// folding). RFC 7230 §3.2.4 lets a recipient replace each fold with one or more spaces;
    /// this keeps the continuation line's own leading white space and puts one space in place
    /// of the line break, so `value1\n  value2` becomes `value1   value2` and the signer's
    /// collapsing of inner runs of spaces is what yields the canonical `value1 value2`.
    pub fn parse(text: &str) -> Self {
        let (head, body) = match text.split_once("\n\n") {
            Some((head, body)) => (head, body.as_bytes().to_vec()),
            None => (text.trim_end_matches('\n'), Vec::new()),
        };
        let mut lines = head.split('\n');
        let request_line = lines.next().unwrap_or_default();
        let (method, rest) = request_line
            .split_once(' ')
            .unwrap_or_else(|| panic!("bad request line {request_line:?}"));
        // The path may contain spaces (`GET /example space/ HTTP/1.1`): the version is the
        // last word.
        let (target, version) = rest
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad request line {request_line:?}"));
        assert_eq!(version, "HTTP/1.1", "bad request line {request_line:?}");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                let last = headers
                    .last_mut()
                    .unwrap_or_else(|| panic!("continuation line {line:?} before any header"));
                last.1.push(' ');
                last.1.push_str(line);
            } else {
                let (name, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("bad header line {line:?}"));
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body,
        }
    }

    /// Removes every header named `name` (any case) and returns the last value.
    pub fn take_header(&mut self, name: &str) -> Option<String> {
        let mut taken = None;
        self.headers.retain(|(n, v)| {
            if n.eq_ignore_ascii_case(name) {
                taken = Some(v.clone());
                false
            } else {
                true
            }
        });
        taken
    }

    /// The value of the first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `credentials` in a `context.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct SuiteCredentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token, for temporary credentials.
    #[serde(default)]
    pub token: Option<String>,
}

/// A current-suite `context.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct SuiteContext {
    /// The signing credentials.
    pub credentials: SuiteCredentials,
    /// `X-Amz-Expires` for the query (presigned) variant.
    pub expiration_in_seconds: u64,
    /// Whether the signer is expected to normalize the path (`false` is S3's behaviour).
    pub normalize: bool,
    /// The signing region.
    pub region: String,
    /// The signing service.
    pub service: String,
    /// Whether the body is hashed into `x-amz-content-sha256` (and signed).
    pub sign_body: bool,
    /// The signing time, `YYYY-MM-DDTHH:MM:SSZ`.
    pub timestamp: String,
    /// `true`: the session token is added after signing, not signed.
    #[serde(default)]
    pub omit_session_token: bool,
}

/// One case of the current suite (`v4/<name>/`), with its expected outputs.
#[derive(Clone, Debug)]
pub struct SuiteCase {
    /// The folder name, e.g. `get-vanilla`.
    pub name: String,
    /// `context.json`.
    pub context: SuiteContext,
    /// `request.txt`.
    pub request: RawRequest,
    /// `header-canonical-request.txt`.
    pub header_canonical_request: String,
    /// `header-string-to-sign.txt`.
    pub header_string_to_sign: String,
    /// `header-signature.txt`, trimmed.
    pub header_signature: String,
    /// The `Authorization` value in `header-signed-request.txt`.
    pub header_authorization: String,
    /// `query-canonical-request.txt`.
    pub query_canonical_request: String,
    /// `query-string-to-sign.txt`.
    pub query_string_to_sign: String,
    /// `query-signature.txt`, trimmed.
    pub query_signature: String,
    /// The query of `query-signed-request.txt`'s request line, split into pairs, each name and
    /// value decoded and encoded once again (the file writes some raw, e.g. UTF-8 names).
    pub query_signed_pairs: Vec<(String, String)>,
}

/// All cases of the current suite, sorted by name.
pub fn load_current_suite() -> Vec<SuiteCase> {
    let root = fixtures_dir().join("aws-signing-test-suite").join("v4");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .map(|entry| entry.expect("readable dir entry"))
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let dir = root.join(&name);
            let file = |f: &str| read_text(&dir.join(f));
            let header_signed = RawRequest::parse(&file("header-signed-request.txt"));
            let header_authorization = header_signed
                .header("authorization")
                .unwrap_or_else(|| panic!("{name}: no Authorization in header-signed-request.txt"))
                .trim()
                .to_owned();
            let query_signed = RawRequest::parse(&file("query-signed-request.txt"));
            SuiteCase {
                context: read_json(&dir.join("context.json")),
                request: RawRequest::parse(&file("request.txt")),
                header_canonical_request: file("header-canonical-request.txt"),
                header_string_to_sign: file("header-string-to-sign.txt"),
                header_signature: file("header-signature.txt").trim().to_owned(),
                header_authorization,
                query_canonical_request: file("query-canonical-request.txt"),
                query_string_to_sign: file("query-string-to-sign.txt"),
                query_signature: file("query-signature.txt").trim().to_owned(),
                query_signed_pairs: wire_query(&query_signed.query),
                name,
            }
        })
        .collect()
}

/// One case of the legacy suite (`<dir>/<name>.req` and friends).
#[derive(Clone, Debug)]
pub struct LegacyCase {
    /// The file stem, e.g. `get-vanilla`.
    pub name: String,
    /// The folder relative to the suite root, e.g. `normalize-path/get-space`.
    pub relative_dir: String,
    /// `.req`.
    pub request: RawRequest,
    /// `.creq`.
    pub canonical_request: String,
    /// `.sts`.
    pub string_to_sign: String,
    /// `.authz`, trimmed.
    pub authorization: String,
}

/// The legacy suite's fixed inputs (it has no context files): these are the suite's
/// documented credentials, region and service; the time is each request's `X-Amz-Date`.
pub const LEGACY_ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
/// See [`LEGACY_ACCESS_KEY_ID`].
pub const LEGACY_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// See [`LEGACY_ACCESS_KEY_ID`].
pub const LEGACY_REGION: &str = "us-east-1";
/// See [`LEGACY_ACCESS_KEY_ID`].
pub const LEGACY_SERVICE: &str = "service";

/// All cases of the legacy suite (every folder holding a `<folder>.req`), sorted by path.
pub fn load_legacy_suite() -> Vec<LegacyCase> {
    let root = fixtures_dir().join("aws-sig-v4-test-suite-legacy");
    let mut cases = Vec::new();
    collect_legacy(&root, &root, &mut cases);
    cases.sort_by(|a, b| a.relative_dir.cmp(&b.relative_dir));
    cases
}

fn collect_legacy(root: &Path, dir: &Path, out: &mut Vec<LegacyCase>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable dir entry").path());
    for path in entries {
        if !path.is_dir() {
            continue;
        }
        let name = path
            .file_name()
            .expect("a folder has a name")
            .to_string_lossy()
            .into_owned();
        let req = path.join(format!("{name}.req"));
        if req.is_file() {
            let file = |ext: &str| read_text(&path.join(format!("{name}.{ext}")));
            out.push(LegacyCase {
                relative_dir: path
                    .strip_prefix(root)
                    .expect("under the root")
                    .to_string_lossy()
                    .into_owned(),
                request: RawRequest::parse(&file("req")),
                canonical_request: file("creq"),
                string_to_sign: file("sts"),
                authorization: file("authz").trim().to_owned(),
                name,
            });
        }
        collect_legacy(root, &path, out);
    }
}

/// The last line of a string to sign: the hex SHA-256 of the canonical request.
pub fn hashed_canonical_request(string_to_sign: &str) -> &str {
    string_to_sign
        .trim_end()
        .rsplit('\n')
        .next()
        .unwrap_or_default()
}

/// Lower-case hex to bytes (for `signing_key_hex`). Panics on malformed input.
pub fn hex_decode(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd-length hex {hex:?}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parser_unfolds_continuation_lines_and_keeps_raw_paths() {
        let req = RawRequest::parse("GET /a b/?x=%20 HTTP/1.1\nHost:h\nMy: v1\n  v2\n\nbody");
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, "/a b/");
        assert_eq!(req.query, "x=%20");
        assert_eq!(
            req.headers,
            vec![
                ("Host".into(), "h".into()),
                ("My".into(), " v1   v2".into())
            ]
        );
        assert_eq!(req.body, b"body");
    }

    #[test]
    fn timestamps_parse_to_unix_seconds() {
        assert_eq!(parse_iso8601("2015-08-30T12:36:00Z"), 1_440_938_160);
        assert_eq!(parse_amz_date("20150830T123600Z"), 1_440_938_160);
        assert_eq!(parse_amz_date("20130524T000000Z"), 1_369_353_600);
        assert_eq!(parse_amz_date("20090213T233130Z"), 1_234_567_890);
        assert_eq!(parse_amz_date("20000229T235959Z"), 951_868_799);
    }

    #[test]
    fn wire_forms_decode_then_encode_once() {
        assert_eq!(wire_path("/example space/"), "/example%20space/");
        assert_eq!(wire_path("/\u{1234}"), "/%E1%88%B4");
        assert_eq!(wire_path("/%E1%88%B4"), "/%E1%88%B4");
        assert_eq!(
            wire_query("%E1%88%B4=a+b&k"),
            vec![
                ("%E1%88%B4".to_owned(), "a%2Bb".to_owned()),
                ("k".to_owned(), String::new())
            ]
        );
    }
}
