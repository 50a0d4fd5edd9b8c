//! `--include` / `--exclude` filters with `aws s3`'s matching, compiled once.
//!
//! The AWS CLI matches each pattern with Python's `fnmatch` against the whole path of a file,
//! the source directory (or `bucket/prefix/`) joined to the front of both the pattern and the
//! path. Matching the path relative to that root is the same thing, and that is what
//! [`Filters::allows`] takes. In a pattern:
//!
//! * `*` matches any run of characters, `/` included (`sub/*` takes `sub/deep/er/x.log`);
//! * `?` matches any one character, `/` included;
//! * `[seq]` matches one character in `seq`, `[!seq]` one not in it (an unclosed `[` is a
//!   literal `[`);
//! * everything else, `{`, `}` and `\` included, matches itself.
//!
//! A pattern matches the whole relative path, not its end: `*.log` takes `a.log` and
//! `logs/b.log` (the `*` crosses `/`), while `a.log` takes only `a.log` at the root. Filters
//! apply in order and the last one that matches decides; a path that none matches is
//! included.
//!
//! Source arguments such as `ferry cp 'logs/**/*.gz' s3://b/` use a different, shell-like
//! glob, where `*` stays within one path segment: [`crate::pattern`].

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// Whether a filter takes paths in or leaves them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    /// `--include`: matching paths are taken (again).
    Include,
    /// `--exclude`: matching paths are left out.
    Exclude,
}

/// A filter pattern that could not be compiled.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the filter pattern `{pattern}` is not valid: {reason}")]
pub struct FilterError {
    /// The pattern as given.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Include and exclude patterns in command-line order, compiled into one matcher.
#[derive(Debug, Clone)]
pub struct Filters {
    rules: Vec<(FilterKind, String)>,
    set: GlobSet,
}

impl Default for Filters {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            set: GlobSet::empty(),
        }
    }
}

impl PartialEq for Filters {
    fn eq(&self, other: &Self) -> bool {
        self.rules == other.rules
    }
}

impl Filters {
    /// No patterns: everything is included.
    pub fn new() -> Self {
        Self::default()
    }

    /// Compiles `rules`, in order (the last match wins).
    pub fn from_rules<I, S>(rules: I) -> Result<Self, FilterError>
    where
        I: IntoIterator<Item = (FilterKind, S)>,
        S: Into<String>,
    {
        let rules: Vec<(FilterKind, String)> =
            rules.into_iter().map(|(k, p)| (k, p.into())).collect();
        let mut builder = GlobSetBuilder::new();
        for (_, pattern) in &rules {
            let glob = GlobBuilder::new(&fnmatch_to_glob(pattern))
                .literal_separator(false)
                .backslash_escape(true)
                .build()
                .map_err(|e| FilterError {
                    pattern: pattern.clone(),
                    reason: e.kind().to_string(),
                })?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|e| FilterError {
            pattern: rules
                .iter()
                .map(|(_, p)| p.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            reason: e.to_string(),
        })?;
        Ok(Self { rules, set })
    }

    /// These filters and one more exclude pattern after them.
    pub fn exclude(self, pattern: impl Into<String>) -> Result<Self, FilterError> {
        self.with(FilterKind::Exclude, pattern.into())
    }

    /// These filters and one more include pattern after them.
    pub fn include(self, pattern: impl Into<String>) -> Result<Self, FilterError> {
        self.with(FilterKind::Include, pattern.into())
    }

    fn with(self, kind: FilterKind, pattern: String) -> Result<Self, FilterError> {
        let mut rules = self.rules;
        rules.push((kind, pattern));
        Self::from_rules(rules)
    }

    /// Whether there are no patterns (everything is included).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The patterns, in order.
    pub fn rules(&self) -> &[(FilterKind, String)] {
        &self.rules
    }

    /// Whether `relative` (the path below the source or destination root, with `/`
    /// separators) is taken.
    pub fn allows(&self, relative: &str) -> bool {
        if self.rules.is_empty() {
            return true;
        }
        match self.set.matches(relative).into_iter().max() {
            Some(last) => self.rules[last].0 == FilterKind::Include,
            None => true,
        }
    }
}

/// Python `fnmatch` syntax written as a globset pattern with `*` crossing `/`: runs of `*`
/// become one, an unclosed `[` and every other special character of globset become literals.
fn fnmatch_to_glob(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                while chars.get(i + 1) == Some(&'*') {
                    i += 1;
                }
                out.push('*');
            }
            '?' => out.push('?'),
            '[' => match class_end(&chars, i) {
                Some(end) => {
                    out.push('[');
                    let mut j = i + 1;
                    if chars[j] == '!' {
                        out.push('!');
                        j += 1;
                    }
                    // fnmatch takes a leading `^` as itself; globset would negate the class.
                    if chars.get(j) == Some(&'^') && j < end {
                        out.push_str("\\^");
                        j += 1;
                    }
                    for &c in &chars[j..end] {
                        if c == '\\' || c == '[' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push(']');
                    i = end;
                }
                None => out.push_str("\\["),
            },
            c @ ('{' | '}' | '\\' | ']' | ',') => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Where the class opened at `start` closes, by fnmatch's rule (a `]` first in the class,
/// after an optional `!`, is a member), or `None` when it never does.
fn class_end(chars: &[char], start: usize) -> Option<usize> {
    let mut j = start + 1;
    if chars.get(j) == Some(&'!') {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    while j < chars.len() && chars[j] != ']' {
        j += 1;
    }
    (j < chars.len()).then_some(j)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(rules: &[(FilterKind, &str)]) -> Filters {
        Filters::from_rules(rules.iter().map(|(k, p)| (*k, *p))).unwrap()
    }

    use FilterKind::{Exclude, Include};

    #[test]
    fn star_crosses_slashes_as_in_aws_s3() {
        let f = filters(&[(Exclude, "sub/*")]);
        assert!(!f.allows("sub/a"));
        assert!(!f.allows("sub/deep/er/x.log"));
        assert!(f.allows("other/sub/a"));
        assert!(f.allows("sub"));
        let f = filters(&[(Exclude, "*.log")]);
        assert!(!f.allows("a.log"));
        assert!(!f.allows("logs/2026/b.log"));
        assert!(f.allows("a.log.gz"));
    }

    #[test]
    fn a_pattern_matches_the_whole_relative_path_not_its_end() {
        let f = filters(&[(Exclude, "a.log")]);
        assert!(!f.allows("a.log"));
        assert!(f.allows("logs/a.log"));
    }

    #[test]
    fn the_last_matching_filter_decides() {
        let f = filters(&[(Exclude, "*"), (Include, "*.txt")]);
        assert!(f.allows("a.txt"));
        assert!(f.allows("d/b.txt"));
        assert!(!f.allows("c.bin"));
        let f = filters(&[(Include, "*.txt"), (Exclude, "secret/*")]);
        assert!(!f.allows("secret/a.txt"));
        assert!(f.allows("b.bin"));
        assert!(Filters::new().allows("anything"));
    }

    #[test]
    fn question_marks_and_classes_follow_fnmatch() {
        let f = filters(&[(Exclude, "a?c")]);
        assert!(!f.allows("abc"));
        assert!(!f.allows("a/c"), "? matches / too, as in fnmatch");
        let f = filters(&[(Exclude, "[!a]*")]);
        assert!(f.allows("apple"));
        assert!(!f.allows("banana"));
        let f = filters(&[(Exclude, "[^_]*")]);
        assert!(
            !f.allows("^x") && !f.allows("_x"),
            "[^_] is `^` or `_`, as in fnmatch"
        );
        assert!(f.allows("plain"));
        let f = filters(&[(Exclude, "log[0-9].txt")]);
        assert!(!f.allows("log7.txt"));
        assert!(f.allows("logx.txt"));
    }

    #[test]
    fn braces_backslashes_and_unclosed_brackets_are_literal() {
        let f = filters(&[(Exclude, "{a,b}")]);
        assert!(!f.allows("{a,b}"));
        assert!(f.allows("a"));
        let f = filters(&[(Exclude, "x[y")]);
        assert!(!f.allows("x[y"));
        let f = filters(&[(Exclude, "a\\b")]);
        assert!(!f.allows("a\\b"));
    }

    #[test]
    fn stars_match_awkward_characters_in_names() {
        let f = filters(&[(Exclude, "d/*")]);
        for name in [
            "d/new\nline",
            "d/tab\there",
            "d/ü ñ",
            "d/%2F+x",
            "d/.hidden",
        ] {
            assert!(!f.allows(name), "{name:?}");
        }
    }
}
