//! The engine's layers, enforced: each module may use only the modules listed for it in
//! [`USES`] (see "Layers" in docs/architecture.md), read from the source files' `crate::` and
//! `super::` paths (comments and doc comments aside).
//!
//! From the bottom, each using only what is below it:
//!
//! 0. `time`, `env`, `checksum`, `pattern` and `open_files` use nothing else of the crate;
//!    `http` only `checksum` (an aws-chunked body carries its checksum as a trailer);
//! 1. `credentials`: the foundation and `http` (IMDS, containers, SSO and STS are asked over
//!    HTTP);
//! 2. `sign`: `credentials` and the foundation;
//! 3. `endpoint`: the foundation and `sign::encode` (the percent-encoder the signer
//!    canonicalizes with), nothing of keys;
//! 4. `s3`: all of the above;
//! 5. `transfer`: `s3` and all below it;
//! 6. `shard`, `serve` and `config` assemble the rest (`serve` stops at `s3`); none uses another.
//!
//! The one exception points from `credentials` up to `sign`: STS requests are signed, so
//! `credentials/sts/` may use `sign`; any other credential source may use only `sign::encode`,
//! the RFC 3986 percent-encoder (which knows nothing of keys).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Modules that use nothing else of the crate.
const FOUNDATION: &[&str] = &[
    "time",
    "env",
    "checksum",
    "pattern",
    "http",
    "advice",
    "open_files",
];

/// Each top-level module and the modules it may use besides [`FOUNDATION`] (which the
/// foundation itself may not).
const USES: &[(&str, &[&str])] = &[
    ("time", &[]),
    ("env", &[]),
    ("checksum", &[]),
    ("pattern", &[]),
    ("http", &["checksum"]),
    ("advice", &[]),
    ("open_files", &[]),
    ("credentials", &[]),
    ("sign", &["credentials"]),
    ("endpoint", &[]),
    ("s3", &["credentials", "sign", "endpoint"]),
    ("transfer", &["credentials", "sign", "endpoint", "s3"]),
    (
        "shard",
        &["credentials", "sign", "endpoint", "s3", "transfer"],
    ),
    ("serve", &["credentials", "sign", "endpoint", "s3"]),
    (
        "config",
        &["credentials", "sign", "endpoint", "s3", "transfer"],
    ),
];

fn rule(module: &str) -> Option<&'static [&'static str]> {
    USES.iter()
        .find(|(name, _)| *name == module)
        .map(|(_, uses)| *uses)
}

/// Whether the file at `path` (relative to `src/`, `/`-separated) of module `from` may use
/// `crate::<to>`, given the path after `to` (`encode::encode_path`, …).
fn allowed(path: &str, from: &str, to: &str, rest: &str) -> bool {
    if from == to {
        return true;
    }
    if to == "sign" && rest.starts_with("encode") && (from == "credentials" || from == "endpoint") {
        return true;
    }
    if from == "credentials" && to == "sign" {
        return path.starts_with("credentials/sts/");
    }
    if FOUNDATION.contains(&from) {
        return rule(from).is_some_and(|uses| uses.contains(&to));
    }
    FOUNDATION.contains(&to) || rule(from).is_some_and(|uses| uses.contains(&to))
}

/// The module path of a source file (`s3/xml/bucket.rs` → `s3::xml::bucket`, `s3/mod.rs`
/// → `s3`).
fn module_path(path: &str) -> Vec<String> {
    let path = path.strip_suffix(".rs").unwrap_or(path);
    let mut parts: Vec<String> = path.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The code of a line: nothing of a `//` comment (a doc comment included) counts.
fn code(line: &str) -> &str {
    let trimmed = line.trim_start();
    if trimmed.starts_with("//") {
        return "";
    }
    match line.find(" // ") {
        Some(index) => &line[..index],
        None => line,
    }
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The top-level modules `text` (the file at `path`) names, each with the path after it:
/// `crate::x::rest`, `crate::{x::rest, …}` (over several lines too), and `super::…::x::rest`
/// chains that climb to the crate root (read as if written at the file's top level).
fn references(path: &str, text: &str) -> Vec<(String, String)> {
    let depth = module_path(path).len();
    let text: String = text.lines().map(code).collect::<Vec<_>>().join("\n");
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let preceded = at > 0 && (is_ident(bytes[at - 1]) || b"$:".contains(&bytes[at - 1]));
        if !text.is_char_boundary(at) || preceded {
            at += 1;
            continue;
        }
        let rest = &text[at..];
        if let Some(after) = rest.strip_prefix("crate::") {
            found.extend(first_segments(after));
            at += "crate::".len();
        } else if rest.starts_with("super::") {
            let mut after = rest;
            let mut ups = 0;
            while let Some(next) = after.strip_prefix("super::") {
                after = next;
                ups += 1;
            }
            if ups >= depth {
                found.extend(first_segments(after));
            }
            at += rest.len() - after.len();
        } else {
            at += 1;
        }
    }
    found
}

/// `x::rest` → [(x, rest)]; `{x::a, y}` → [(x, a), (y, "")].
fn first_segments(after: &str) -> Vec<(String, String)> {
    if let Some(group) = after.strip_prefix('{') {
        let mut depth = 1;
        let mut end = group.len();
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let mut items = Vec::new();
        let mut level = 0;
        let mut item_start = 0;
        let group = &group[..end];
        for (i, c) in group
            .char_indices()
            .chain(std::iter::once((group.len(), ',')))
        {
            match c {
                '{' => level += 1,
                '}' => level -= 1,
                ',' if level == 0 => {
                    items.extend(first_segments(group[item_start..i].trim()));
                    item_start = i + 1;
                }
                _ => {}
            }
        }
        return items;
    }
    let name_len = after.bytes().take_while(|b| is_ident(*b)).count();
    let name = &after[..name_len];
    let rest = after[name_len..].strip_prefix("::").unwrap_or("");
    let path_len = rest
        .bytes()
        .take_while(|b| is_ident(*b) || *b == b':')
        .count();
    let rest = &rest[..path_len];
    if name.is_empty() {
        Vec::new()
    } else {
        vec![(name.to_owned(), rest.to_owned())]
    }
}

/// Every use of a module the layers forbid, as `file: module uses crate::target`.
fn violations(files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in files {
        let Some(from) = module_path(path).first().cloned() else {
            continue;
        };
        if rule(&from).is_none() {
            found.push(format!(
                "{path}: module `{from}` has no rule; add it to USES"
            ));
            continue;
        }
        for (to, rest) in references(path, text) {
            if rule(&to).is_some() && !allowed(path, &from, &to, &rest) {
                found.push(format!("{path}: `{from}` uses crate::{to}::{rest}"));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn read_tree(root: &Path, dir: &Path, into: &mut Vec<(String, String)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(root, &path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("under src");
            let relative = relative.to_string_lossy().replace('\\', "/");
            if relative == "lib.rs" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable source");
            into.push((relative, text));
        }
    }
}

#[test]
fn no_module_uses_a_module_of_its_own_or_a_higher_layer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_tree(&root, &root, &mut files);
    assert!(files.len() > 50, "read only {} files", files.len());
    let found = violations(&files);
    assert!(found.is_empty(), "layer violations:\n{}", found.join("\n"));
}

#[test]
fn every_top_level_module_has_a_rule() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("pub mod ")
                .or(l.trim().strip_prefix("mod "))
        })
        .filter_map(|l| l.strip_suffix(';'))
        .collect();
    assert!(declared.len() >= 10, "{declared:?}");
    for module in declared {
        assert!(rule(module).is_some(), "`{module}` has no rule in USES");
    }
}

fn file(path: &str, text: &str) -> (String, String) {
    (path.to_owned(), text.to_owned())
}

#[test]
fn a_use_of_a_higher_layer_is_reported() {
    let found = violations(&[
        file(
            "credentials/provider.rs",
            "use crate::transfer::parse_iso8601;",
        ),
        file("s3/ops.rs", "let x = crate::config::CA_BUNDLE_HINT;"),
        file(
            "sign/time.rs",
            "use crate::{time::civil_from_days, endpoint::Resolved};",
        ),
        file("http/body.rs", "use crate::time::format_utc;"),
        file(
            "endpoint/sources.rs",
            "use crate::credentials::Environment;",
        ),
        file("endpoint/url.rs", "use crate::sign::Signer;"),
        file("config/mod.rs", "use crate::shard::Plan;"),
        file("serve/store.rs", "use crate::transfer::Transfers;"),
    ]);
    assert_eq!(
        found,
        [
            "config/mod.rs: `config` uses crate::shard::Plan",
            "credentials/provider.rs: `credentials` uses crate::transfer::parse_iso8601",
            "endpoint/sources.rs: `endpoint` uses crate::credentials::Environment",
            "endpoint/url.rs: `endpoint` uses crate::sign::Signer",
            "http/body.rs: `http` uses crate::time::format_utc",
            "s3/ops.rs: `s3` uses crate::config::CA_BUNDLE_HINT",
            "serve/store.rs: `serve` uses crate::transfer::Transfers",
            "sign/time.rs: `sign` uses crate::endpoint::Resolved",
        ]
    );
}

#[test]
fn super_chains_that_climb_to_the_crate_root_count() {
    let found = violations(&[
        file(
            "s3/xml/list.rs",
            "use super::super::super::transfer::Filters;",
        ),
        file("s3/xml/delete.rs", "use super::super::tree::parse;"),
        file("s3/ops.rs", "use super::super::transfer::Transfers;"),
        file("s3/client.rs", "use super::request::S3Request;"),
    ]);
    assert_eq!(
        found,
        [
            "s3/ops.rs: `s3` uses crate::transfer::Transfers",
            "s3/xml/list.rs: `s3` uses crate::transfer::Filters",
        ]
    );
}

#[test]
fn downward_uses_comments_and_the_sts_exception_pass() {
    let found = violations(&[
        file(
            "transfer/upload.rs",
            "use crate::s3::{ChecksumHeader, PutOptions};",
        ),
        file(
            "s3/client.rs",
            "/// See [`crate::transfer::Transfers`].\nuse crate::http::HttpClient;",
        ),
        file(
            "credentials/sts/client.rs",
            "use crate::sign::{Signer, SigningTime};",
        ),
        file(
            "credentials/sso.rs",
            "use crate::sign::encode::encode_query_component;",
        ),
        file(
            "credentials/imds.rs",
            "use crate::http::HttpClient; // crate::transfer is above",
        ),
        file(
            "config/mod.rs",
            "let c = crate::transfer::DEFAULT_REQUEST_CONCURRENCY;",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
    let found = violations(&[file("credentials/sso.rs", "use crate::sign::Signer;")]);
    assert_eq!(
        found,
        ["credentials/sso.rs: `credentials` uses crate::sign::Signer"]
    );
}

#[test]
fn the_real_tree_is_read_as_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_tree(&root, &root, &mut files);
    let by_module: BTreeMap<String, usize> =
        files.iter().fold(BTreeMap::new(), |mut counts, (path, _)| {
            *counts.entry(module_path(path)[0].clone()).or_default() += 1;
            counts
        });
    for (module, _) in USES {
        assert!(
            by_module.contains_key(*module),
            "no source file of `{module}` was read: {by_module:?}"
        );
    }
}
