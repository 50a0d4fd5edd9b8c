//! Hex and percent-encoding as SigV4 defines them, into caller-provided buffers.

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Lower-case hex of a 32-byte digest (a shorter input leaves the rest `0`), on the stack.
///
/// Written as byte-wise operations on whole arrays (nibble split, a compare and an add per
/// nibble, then an interleave), which the compiler turns into a few SIMD instructions.
#[inline]
pub fn hex32(digest: &[u8]) -> [u8; 64] {
    let mut bytes = [0u8; 32];
    let n = digest.len().min(32);
    bytes[..n].copy_from_slice(&digest[..n]);
    let mut high = [0u8; 32];
    let mut low = [0u8; 32];
    for i in 0..32 {
        high[i] = hex_digit(bytes[i] >> 4);
        low[i] = hex_digit(bytes[i] & 0x0f);
    }
    let mut out = [0u8; 64];
    for i in 0..32 {
        out[2 * i] = high[i];
        out[2 * i + 1] = low[i];
    }
    out
}

/// The lower-case hex digit of a nibble, without a branch.
#[inline(always)]
fn hex_digit(nibble: u8) -> u8 {
    nibble + b'0' + (u8::from(nibble > 9) * (b'a' - b'0' - 10))
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

    #[test]
    fn hex_matches_formatting_for_every_byte() {
        for start in 0..=255u8 {
            let digest: Vec<u8> = (0..32).map(|i| start.wrapping_add(i * 8)).collect();
            let expected: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(std::str::from_utf8(&hex32(&digest)).unwrap(), expected);
        }
    }
}
