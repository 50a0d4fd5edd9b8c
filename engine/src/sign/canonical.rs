//! The canonical request, written straight into SHA-256 blocks ([`HashWriter`]).
//!
//! S3's rules: the path is used as sent (encoded once by the caller, never normalized); query
//! pairs are sorted by encoded name, then value; header names are lower-cased and sorted,
//! values trimmed with inner runs of white space collapsed to one space, and repeated headers
//! joined with `,` in the order they were given.

pub(crate) use super::sha::HashWriter;

/// A header to sign: name (any case) and value.
pub type HeaderPair<'a> = (&'a str, &'a str);

/// How many items are sorted on the stack before falling back to the heap.
const INLINE: usize = 12;

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
    match bytes_order(a.0.as_bytes(), b.0.as_bytes()) {
        std::cmp::Ordering::Equal => bytes_order(a.1.as_bytes(), b.1.as_bytes()).is_lt(),
        order => order.is_lt(),
    }
}

/// Byte-wise order of two short strings, decided at their first difference (query names
/// differ within a few bytes; a loop here is cheaper than a `memcmp` call).
#[inline]
fn bytes_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => a[i].cmp(&b[i]),
        None => a.len().cmp(&b.len()),
    }
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

/// Writes the canonical headers block (`name:value\n` per distinct name) of sorted headers,
/// and their distinct lower-case names, `;`-separated, to `names`.
pub(crate) fn write_headers(out: &mut HashWriter, sorted: &[HeaderPair<'_>], names: &mut Names) {
    let mut i = 0;
    while i < sorted.len() {
        let name = sorted[i].0;
        if i > 0 {
            names.push(b';');
        }
        if has_upper(name) {
            for byte in name.bytes() {
                let lower = byte.to_ascii_lowercase();
                out.push(lower);
                names.push(lower);
            }
        } else {
            out.write(name.as_bytes());
            names.write(name.as_bytes());
        }
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

/// The signed header names (`host;range;x-amz-date`), on the stack unless there are many.
pub(crate) struct Names {
    buf: [u8; 192],
    len: usize,
    heap: Vec<u8>,
}

impl Names {
    pub(crate) fn new() -> Self {
        Self {
            buf: [0; 192],
            len: 0,
            heap: Vec::new(),
        }
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        if self.heap.is_empty() && bytes.len() <= self.buf.len() - self.len {
            super::sha::put(&mut self.buf, self.len, bytes);
            self.len += bytes.len();
        } else {
            self.spill(bytes);
        }
    }

    #[inline]
    fn push(&mut self, byte: u8) {
        self.write(std::slice::from_ref(&byte));
    }

    #[cold]
    fn spill(&mut self, bytes: &[u8]) {
        if self.heap.is_empty() {
            self.heap.extend_from_slice(&self.buf[..self.len]);
        }
        self.heap.extend_from_slice(bytes);
    }

    /// The names written so far.
    pub(crate) fn as_str(&self) -> &str {
        let bytes = if self.heap.is_empty() {
            &self.buf[..self.len]
        } else {
            &self.heap[..]
        };
        // Header names are `str`s, only their ASCII letters lower-cased, joined by `;`.
        std::str::from_utf8(bytes).unwrap_or_default()
    }
}

/// Whether `text` holds an upper-case ASCII letter (a branch-free scan the compiler
/// vectorizes).
#[inline]
fn has_upper(text: &str) -> bool {
    text.bytes()
        .fold(false, |any, b| any | b.is_ascii_uppercase())
}

/// Writes the distinct lower-case names of sorted headers, `;`-separated, to `names`.
pub(crate) fn push_names(names: &mut Names, sorted: &[HeaderPair<'_>]) {
    let mut previous: Option<&str> = None;
    for (name, _) in sorted {
        if previous.is_some_and(|p| same_name(p, name)) {
            continue;
        }
        if previous.is_some() {
            names.push(b';');
        }
        if has_upper(name) {
            for byte in name.bytes() {
                names.push(byte.to_ascii_lowercase());
            }
        } else {
            names.write(name.as_bytes());
        }
        previous = Some(name);
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// A header value trimmed, with inner runs of white space collapsed to one space.
fn write_trimmed(out: &mut HashWriter, value: &str) {
    // Fast path: most values (hosts, dates, hashes, ranges) hold no white space at all.
    if !value.bytes().fold(false, |any, b| any | (b <= b' ')) {
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
    use sha2::{Digest, Sha256};

    fn hashed(f: impl FnOnce(&mut HashWriter)) -> [u8; 32] {
        let mut w = HashWriter::new();
        f(&mut w);
        w.finish()
    }

    #[test]
    fn header_values_are_trimmed_and_inner_spaces_collapsed() {
        let mut names = Names::new();
        let ours = hashed(|w| write_headers(w, &[("My-Header", "  a   b \t c  ")], &mut names));
        assert_eq!(names.as_str(), "my-header");
        let expected: [u8; 32] = Sha256::digest(b"my-header:a b c\n").into();
        assert_eq!(ours, expected);
    }

    #[test]
    fn repeated_headers_join_in_order_given() {
        let headers = [("x-b", "2"), ("X-A", "1"), ("x-b", "1")];
        let mut names = Names::new();
        let ours = with_sorted(&headers, name_less, |sorted| {
            hashed(|w| write_headers(w, sorted, &mut names))
        });
        assert_eq!(names.as_str(), "x-a;x-b");
        let expected: [u8; 32] = Sha256::digest(b"x-a:1\nx-b:2,1\n").into();
        assert_eq!(ours, expected);
        let mut names = Names::new();
        with_sorted(&headers, name_less, |s| push_names(&mut names, s));
        assert_eq!(names.as_str(), "x-a;x-b");
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
