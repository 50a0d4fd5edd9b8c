//! The canonical request, streamed straight into SHA-256 through a stack buffer.
//!
//! S3's rules: the path is used as sent (encoded once by the caller, never normalized); query
//! pairs are sorted by encoded name, then value; header names are lower-cased and sorted,
//! values trimmed with inner runs of white space collapsed to one space, and repeated headers
//! joined with `,` in the order they were given.

use sha2::{Digest, Sha256};

/// A header to sign: name (any case) and value.
pub type HeaderPair<'a> = (&'a str, &'a str);

/// How many items are sorted on the stack before falling back to the heap.
const INLINE: usize = 12;

/// Feeds SHA-256 in large blocks from a stack buffer (many tiny `update` calls cost more than
/// the copy).
pub(crate) struct HashWriter {
    hasher: Sha256,
    buf: [u8; 320],
    len: usize,
}

impl HashWriter {
    #[inline]
    pub(crate) fn new() -> Self {
        Self {
            hasher: Sha256::new(),
            buf: [0; 320],
            len: 0,
        }
    }

    #[inline]
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > self.buf.len() {
            self.flush();
            if bytes.len() > self.buf.len() {
                self.hasher.update(bytes);
                return;
            }
        }
        let end = self.len + bytes.len();
        if bytes.len() <= 16 {
            // Short pieces (separators, names): a plain loop beats a memmove call.
            for (slot, byte) in self.buf[self.len..end].iter_mut().zip(bytes) {
                *slot = *byte;
            }
        } else {
            self.buf[self.len..end].copy_from_slice(bytes);
        }
        self.len = end;
    }

    #[inline]
    fn push(&mut self, byte: u8) {
        if self.len == self.buf.len() {
            self.flush();
        }
        self.buf[self.len] = byte;
        self.len += 1;
    }

    fn flush(&mut self) {
        self.hasher.update(&self.buf[..self.len]);
        self.len = 0;
    }

    #[inline]
    pub(crate) fn finish(mut self) -> [u8; 32] {
        self.flush();
        self.hasher.finalize().into()
    }
}

/// Runs `f` over `items` sorted stably by `less`, on the stack when they are few.
pub(crate) fn with_sorted<T: Copy + Default, R>(
    items: &[T],
    less: impl Fn(&T, &T) -> bool,
    f: impl FnOnce(&[T]) -> R,
) -> R {
    if items.len() <= 1 {
        return f(items);
    }
    if items.len() <= INLINE {
        let mut buf = [T::default(); INLINE];
        let sorted = &mut buf[..items.len()];
        sorted.copy_from_slice(items);
        insertion_sort(sorted, &less);
        f(sorted)
    } else {
        let mut sorted = items.to_vec();
        sorted.sort_by(|a, b| {
            if less(a, b) {
                std::cmp::Ordering::Less
            } else if less(b, a) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        f(&sorted)
    }
}

/// Sorts a short slice stably in place (insertion sort: no allocation, fast for a handful).
pub(crate) fn insertion_sort<T: Copy>(items: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    for i in 1..items.len() {
        let item = items[i];
        let mut j = i;
        while j > 0 && less(&item, &items[j - 1]) {
            items[j] = items[j - 1];
            j -= 1;
        }
        items[j] = item;
    }
}

/// Header names compared as lower-case ASCII.
pub(crate) fn name_less(a: &HeaderPair<'_>, b: &HeaderPair<'_>) -> bool {
    // Fast path: the first differing byte decides when neither is an upper-case letter.
    let (x, y) = (a.0.as_bytes(), b.0.as_bytes());
    match x.iter().zip(y).position(|(p, q)| p != q) {
        None => return x.len() < y.len(),
        Some(i) if !x[i].is_ascii_uppercase() && !y[i].is_ascii_uppercase() => {
            return x[i] < y[i];
        }
        Some(_) => {}
    }
    let a = a.0.bytes().map(|c| c.to_ascii_lowercase());
    let b = b.0.bytes().map(|c| c.to_ascii_lowercase());
    a.lt(b)
}

fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Query pairs (already encoded) compared by name, then value.
pub(crate) fn query_less(a: &(&str, &str), b: &(&str, &str)) -> bool {
    (a.0.as_bytes(), a.1.as_bytes()) < (b.0.as_bytes(), b.1.as_bytes())
}

/// Writes `name=value&…` for sorted, encoded pairs.
pub(crate) fn write_query(out: &mut HashWriter, sorted: &[(&str, &str)]) {
    for (i, (name, value)) in sorted.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.write(name.as_bytes());
        out.push(b'=');
        out.write(value.as_bytes());
    }
}

/// Writes the canonical headers block (`name:value\n` per distinct name) of sorted headers.
pub(crate) fn write_headers(out: &mut HashWriter, sorted: &[HeaderPair<'_>]) {
    let mut i = 0;
    while i < sorted.len() {
        let name = sorted[i].0;
        write_lowercase(out, name);
        out.push(b':');
        write_trimmed(out, sorted[i].1);
        i += 1;
        while i < sorted.len() && same_name(sorted[i].0, name) {
            out.push(b',');
            write_trimmed(out, sorted[i].1);
            i += 1;
        }
        out.push(b'\n');
    }
}

/// Appends `a;b;c` (lower-case distinct names of sorted headers) to `out`.
pub(crate) fn push_signed_header_names(out: &mut String, sorted: &[HeaderPair<'_>]) {
    let mut previous: Option<&str> = None;
    for (name, _) in sorted {
        if previous.is_some_and(|p| same_name(p, name)) {
            continue;
        }
        if previous.is_some() {
            out.push(';');
        }
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            out.push_str(&name.to_ascii_lowercase());
        } else {
            out.push_str(name);
        }
        previous = Some(name);
    }
}

fn write_lowercase(out: &mut HashWriter, name: &str) {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        for byte in name.bytes() {
            out.push(byte.to_ascii_lowercase());
        }
    } else {
        out.write(name.as_bytes());
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// A header value trimmed, with inner runs of white space collapsed to one space.
fn write_trimmed(out: &mut HashWriter, value: &str) {
    // Fast path: most values (hosts, dates, hashes, ranges) hold no white space at all.
    if !value.bytes().any(|b| b <= b' ') {
        out.write(value.as_bytes());
        return;
    }
    let bytes = value.trim_matches(|c: char| c.is_ascii() && is_space(c as u8));
    let mut in_space = false;
    for byte in bytes.bytes() {
        if is_space(byte) {
            in_space = true;
            continue;
        }
        if in_space {
            out.push(b' ');
            in_space = false;
        }
        out.push(byte);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashed(f: impl FnOnce(&mut HashWriter)) -> [u8; 32] {
        let mut w = HashWriter::new();
        f(&mut w);
        w.finish()
    }

    #[test]
    fn header_values_are_trimmed_and_inner_spaces_collapsed() {
        let ours = hashed(|w| write_headers(w, &[("My-Header", "  a   b \t c  ")]));
        let expected: [u8; 32] = Sha256::digest(b"my-header:a b c\n").into();
        assert_eq!(ours, expected);
    }

    #[test]
    fn repeated_headers_join_in_order_given() {
        let headers = [("x-b", "2"), ("X-A", "1"), ("x-b", "1")];
        let ours = with_sorted(&headers, name_less, |sorted| {
            hashed(|w| write_headers(w, sorted))
        });
        let expected: [u8; 32] = Sha256::digest(b"x-a:1\nx-b:2,1\n").into();
        assert_eq!(ours, expected);
        let mut names = String::new();
        with_sorted(&headers, name_less, |s| {
            push_signed_header_names(&mut names, s)
        });
        assert_eq!(names, "x-a;x-b");
    }

    #[test]
    fn query_sorts_by_name_then_value_not_by_joined_string() {
        let pairs = [
            ("Param-3", "v3"),
            ("Param", "v2"),
            ("%E1%88%B4", "v1"),
            ("Param", "a"),
        ];
        let ours = with_sorted(&pairs, query_less, |s| hashed(|w| write_query(w, s)));
        let expected: [u8; 32] = Sha256::digest(b"%E1%88%B4=v1&Param=a&Param=v2&Param-3=v3").into();
        assert_eq!(ours, expected);
    }

    #[test]
    fn many_items_sort_on_the_heap_the_same_way() {
        let items: Vec<(&str, &str)> = (0..40).rev().map(|_| ("k", "v")).collect();
        with_sorted(&items, query_less, |s| assert_eq!(s.len(), 40));
    }

    #[test]
    fn long_input_hashes_like_one_update() {
        let long = vec![b'x'; 2000];
        let ours = hashed(|w| {
            w.write(&long[..100]);
            w.write(&long[100..]);
        });
        let expected: [u8; 32] = Sha256::digest(&long).into();
        assert_eq!(ours, expected);
    }
}
