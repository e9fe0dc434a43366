//! Configuration errors that say what, where (file:line:column) and what to do.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a configuration value came from, or where an error is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A position in a file (1-based line and column).
    File {
        /// The file.
        path: PathBuf,
        /// Line, from 1.
        line: usize,
        /// Column, from 1, in characters.
        column: usize,
    },
    /// An environment variable.
    Env(String),
    /// A command-line option.
    Cli(String),
}

impl Location {
    /// The position of byte `offset` in `text`, the content of `path`.
    pub fn in_file(path: &Path, text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = &text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        Self::File { path: path.to_path_buf(), line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path, line, column } => write!(f, "{}:{line}:{column}", path.display()),
            Self::Env(name) => write!(f, "environment variable {name}"),
            Self::Cli(option) => write!(f, "option {option}"),
        }
    }
}

/// A configuration error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where.
    pub location: Option<Location>,
    /// What.
    pub message: String,
    /// What to do.
    pub help: Option<String>,
}

impl ConfigError {
    /// An error at `location`.
    pub fn at(location: Location, message: impl Into<String>) -> Self {
        Self { location: Some(location), message: message.into(), help: None }
    }

    /// Adds advice.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// For serde's "unknown field `x`, expected one of `a`, `b`" messages: the
/// advice naming the closest known key, or listing them all.
pub fn unknown_field_help(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, expected) = rest.split_once('`')?;
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    if known.is_empty() {
        return Some("this table takes no keys".to_string());
    }
    Some(match closest(unknown, &known) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("known keys here: {}", known.join(", ")),
    })
}

/// The candidate closest to `word`, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\n[plugins]\npaths = [\"é\", 3]\n";
        let offset = text.find('3').expect("present");
        let loc = Location::in_file(Path::new("noot.toml"), text, offset);
        assert_eq!(loc.to_string(), "noot.toml:3:15");
    }

    #[test]
    fn unknown_fields_get_a_suggestion_or_the_list() {
        let m = "unknown field `jbos`, expected one of `jobs`, `plugins`, `scrub`";
        assert_eq!(unknown_field_help(m).as_deref(), Some("did you mean `jobs`?"));
        let m = "unknown field `zzz`, expected `paths`";
        assert_eq!(unknown_field_help(m).as_deref(), Some("known keys here: paths"));
        assert_eq!(unknown_field_help("invalid type: string"), None);
    }

    #[test]
    fn errors_render_location_message_and_help() {
        let e = ConfigError::at(Location::Env("NOOT_JOBS".into()), "`x` is not a number")
            .with_help("set a whole number above 0");
        assert_eq!(
            e.to_string(),
            "environment variable NOOT_JOBS: `x` is not a number\n  help: set a whole number above 0"
        );
    }
}
