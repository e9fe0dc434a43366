//! `[mutate] exclude`: files and functions left alone, by glob over the
//! relative path or the function's name, or by `re:` regular expression.
//! The same rules in every language.

use globset::{Glob, GlobMatcher};

/// A bad exclude pattern.
#[derive(Debug, thiserror::Error)]
#[error("exclude pattern `{0}`: {1}")]
pub struct ExcludeError(String, String);

/// Exclusions by file path or function name.
#[derive(Debug, Default)]
pub struct Excludes {
    globs: Vec<GlobMatcher>,
    regexes: Vec<regex::Regex>,
}

impl Excludes {
    /// Compiles `[mutate] exclude`.
    pub fn new(patterns: &[String]) -> Result<Self, ExcludeError> {
        let mut excludes = Self::default();
        for pattern in patterns {
            let bad = |e: String| ExcludeError(pattern.clone(), e);
            match pattern.strip_prefix("re:") {
                Some(re) => {
                    excludes.regexes.push(regex::Regex::new(re).map_err(|e| bad(e.to_string()))?)
                }
                None => excludes
                    .globs
                    .push(Glob::new(pattern).map_err(|e| bad(e.to_string()))?.compile_matcher()),
            }
        }
        Ok(excludes)
    }

    /// Whether a relative path or a function key is excluded.
    pub fn matches(&self, subject: &str) -> bool {
        self.globs.iter().any(|g| g.is_match(subject))
            || self.regexes.iter().any(|r| r.is_match(subject))
    }
}
