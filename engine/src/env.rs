//! The process environment as the engine reads it: credentials, region, endpoint and
//! profile settings all come through an [`Environment`], so that a program (or a test) can
//! hand the engine a fixed set of variables instead of its own. This module uses nothing else
//! of the crate.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A view of environment variables: the process's own, or a fixed set (for tests and for
/// callers that must not depend on the process environment).
#[derive(Clone, Default)]
pub struct Environment {
    fixed: Option<Arc<HashMap<String, String>>>,
}

impl Environment {
    /// The process environment.
    pub fn process() -> Self {
        Self { fixed: None }
    }

    /// A fixed set of variables; nothing else is visible.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let map = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self {
            fixed: Some(Arc::new(map)),
        }
    }

    /// The variable's value, treating an empty value as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.fixed {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.filter(|v| !v.is_empty())
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fixed {
            None => f.write_str("Environment(process)"),
            Some(map) => {
                let mut names: Vec<&String> = map.keys().collect();
                names.sort();
                f.debug_tuple("Environment").field(&names).finish()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn environment_debug_shows_names_not_values() {
        let env = Environment::from_pairs([("AWS_SECRET_ACCESS_KEY", SECRET)]);
        let text = format!("{env:?}");
        assert!(text.contains("AWS_SECRET_ACCESS_KEY"));
        assert!(!text.contains(SECRET));
    }

    #[test]
    fn a_fixed_environment_hides_the_process_one_and_empty_values_are_unset() {
        let env =
            Environment::from_pairs([("FERRY_ENV_TEST_EMPTY", ""), ("FERRY_ENV_TEST_SET", "x")]);
        assert_eq!(env.get("FERRY_ENV_TEST_SET").as_deref(), Some("x"));
        assert_eq!(env.get("FERRY_ENV_TEST_EMPTY"), None);
        assert_eq!(env.get("PATH"), None);
        assert_eq!(
            format!("{:?}", Environment::process()),
            "Environment(process)"
        );
    }
}
