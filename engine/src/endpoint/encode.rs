//! Percent-encoding for what goes in a request line: object keys in the path, query values.
//!
//! These are the encoders the signer canonicalizes with ([`crate::sign::encode`]), exposed
//! here under the names the HTTP layer looks for, so that what is sent and what is signed
//! can never differ.

use crate::sign::encode::{encode_path, encode_query_component};

/// Appends `key` percent-encoded once for the request path, as S3 wants it: every byte
/// outside `A-Z a-z 0-9 - _ . ~` becomes `%XX` (upper-case hex), `/` is kept, and nothing is
/// normalized (`..`, `//` and `%20` stay literal parts of the key).
pub fn encode_key_path(key: &str, out: &mut String) {
    encode_path(key, out);
}

/// Appends `value` percent-encoded once for a query string (a name or a value): like
/// [`encode_key_path`], but `/` is encoded too (`%2F`).
pub fn encode_query_value(value: &str, out: &mut String) {
    encode_query_component(value, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_path(key: &str) -> String {
        let mut out = String::new();
        encode_key_path(key, &mut out);
        out
    }

    fn query_value(value: &str) -> String {
        let mut out = String::new();
        encode_query_value(value, &mut out);
        out
    }

    #[test]
    fn key_paths_encode_each_reserved_byte_once_and_keep_slashes() {
        let table = [
            ("photos/2024/cat.jpg", "photos/2024/cat.jpg"),
            ("a b+c", "a%20b%2Bc"),
            ("100%", "100%25"),
            ("already%20encoded", "already%2520encoded"),
            ("dir/../x", "dir/../x"),
            ("a//b/", "a//b/"),
            ("~user_name-1.txt", "~user_name-1.txt"),
            ("é", "%C3%A9"),
            ("q?a=b&c#d", "q%3Fa%3Db%26c%23d"),
            ("*", "%2A"),
        ];
        for (key, encoded) in table {
            assert_eq!(key_path(key), encoded, "{key}");
        }
    }

    #[test]
    fn query_values_encode_slashes_too() {
        assert_eq!(query_value("a/b c"), "a%2Fb%20c");
        assert_eq!(query_value("prefix/"), "prefix%2F");
        assert_eq!(query_value("~-_."), "~-_.");
    }

    #[test]
    fn encoders_append_to_what_is_already_there() {
        let mut out = String::from("/bucket/");
        encode_key_path("k y", &mut out);
        assert_eq!(out, "/bucket/k%20y");
    }
}
