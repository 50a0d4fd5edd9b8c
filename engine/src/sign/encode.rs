//! Hex and percent-encoding as SigV4 defines them, into caller-provided buffers.

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Lower-case hex of a 32-byte digest, on the stack.
pub fn hex32(digest: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (i, byte) in digest.iter().take(32).enumerate() {
        out[2 * i] = HEX_LOWER[usize::from(byte >> 4)];
        out[2 * i + 1] = HEX_LOWER[usize::from(byte & 0x0f)];
    }
    out
}

/// Bytes SigV4 never encodes: `A-Z a-z 0-9 - _ . ~`.
pub fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

/// Percent-encodes `input` once, as S3 canonicalizes a query name or value: every byte
/// outside the unreserved set becomes `%XX` (upper-case), including `/`.
pub fn encode_query_component(input: &str, out: &mut String) {
    encode_into(input, out, false);
}

/// Percent-encodes an object key for the request path: like a query component, but `/`
/// is kept. No `.`/`..` normalization, and already-encoded text is encoded again (S3 keys
/// are literal).
pub fn encode_path(input: &str, out: &mut String) {
    encode_into(input, out, true);
}

fn encode_into(input: &str, out: &mut String, keep_slash: bool) {
    out.reserve(input.len());
    for &byte in input.as_bytes() {
        if is_unreserved(byte) || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(byte >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(byte & 0x0f)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding_escapes_everything_but_unreserved_bytes() {
        let mut out = String::new();
        encode_query_component("a b/c+d%e~f=g&h\u{1234}", &mut out);
        assert_eq!(out, "a%20b%2Fc%2Bd%25e~f%3Dg%26h%E1%88%B4");
    }

    #[test]
    fn path_encoding_keeps_slashes_and_dot_segments() {
        let mut out = String::new();
        encode_path("/dir/../a b//c%20", &mut out);
        assert_eq!(out, "/dir/../a%20b//c%2520");
    }

    #[test]
    fn hex_of_a_digest_is_lower_case() {
        let hex = hex32(&[0xab; 32]);
        assert!(hex.iter().all(|b| *b == b'a' || *b == b'b'));
    }
}
