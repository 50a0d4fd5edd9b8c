//! Shell-like globs for source arguments, such as `ferry cp 'logs/**/*.gz' s3://b/`: `*` and
//! `?` stay within one `/`-separated segment and `**` crosses segments. (`--include` and
//! `--exclude` follow `aws s3`'s `fnmatch` rules instead, where `*` crosses `/`: see
//! `transfer::Filters`.) This module uses nothing else of the crate.

/// Whether `pattern` matches the whole of `path`, shell-style: `*` and `?` stay within one
/// `/`-separated segment, `**` crosses segments (`logs/**/*.gz`). For source arguments, not
/// for `--include`/`--exclude` (see `transfer::Filters`).
pub fn glob_matches(pattern: &str, path: &str) -> bool {
    glob(pattern.as_bytes(), path.as_bytes())
}

/// Whether `text` holds a glob wildcard (`*` or `?`).
pub fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?'])
}

/// Glob matching with `*`, `**` and `?` over bytes (multi-byte characters match `?` only
/// byte by byte, which only matters for `?`), by dynamic programming over (pattern, text)
/// positions: linear in their product, whatever the pattern. `**/` also matches no segment
/// at all (`a/**/b` matches `a/b`).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let width = text.len() + 1;
    // matches[i * width + j]: pattern[i..] matches text[j..].
    let mut matches = vec![false; (pattern.len() + 1) * width];
    matches[pattern.len() * width + text.len()] = true;
    for i in (0..pattern.len()).rev() {
        for j in (0..=text.len()).rev() {
            let here = |i: usize, j: usize| matches[i * width + j];
            let next_byte = text.get(j).copied();
            let matched = if pattern[i] == b'*' && pattern.get(i + 1) == Some(&b'*') {
                let after = i + 2;
                here(after, j)
                    || (next_byte.is_some() && here(i, j + 1))
                    || (pattern.get(after) == Some(&b'/') && here(after + 1, j))
            } else if pattern[i] == b'*' {
                here(i + 1, j) || (next_byte.is_some_and(|b| b != b'/') && here(i, j + 1))
            } else if pattern[i] == b'?' {
                next_byte.is_some_and(|b| b != b'/') && here(i + 1, j + 1)
            } else {
                next_byte == Some(pattern[i]) && here(i + 1, j + 1)
            };
            matches[i * width + j] = matched;
        }
    }
    matches[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_globs_keep_star_within_a_segment() {
        assert!(glob_matches("*.gz", "a.gz"));
        assert!(!glob_matches("*.gz", "d/a.gz"));
        assert!(glob_matches("**/*.gz", "d/e/a.gz"));
        assert!(glob_matches("a/**/b", "a/b"));
        assert!(glob_matches("a/**/b", "a/x/y/b"));
        assert!(glob_matches("d/**", "d/e/f"));
        assert!(glob_matches("?.bin", "x.bin"));
        assert!(!glob_matches("?.bin", "xy.bin"));
        assert!(!glob_matches("a?b", "a/b"));
        assert!(!glob_matches("a*c", "a/c"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("logs/**/*.gz", "logs/2026/11/a.gz"));
        assert!(!glob_matches("*a*a*a*a*a*a*a*b", &"a".repeat(200)));
        assert!(has_wildcard("a*"));
        assert!(!has_wildcard("a"));
    }
}
