//! Comparators: how an expected argument, stdin or environment value is
//! compared with what the code under test really passed.
//!
//! [`Comparator::Equals`] compares bytes exactly; the others look at the
//! value as text (invalid UTF-8 replaced). Each prints the way a test
//! author wrote it (`Regex("^v\d")`), so a mismatch reads
//! `arg[0] 'x' failed Regex("^v\d")`.

use std::fmt;
use std::sync::Arc;

use crate::bytes::{Bytes, quote};

/// The types [`Comparator::IsA`] can check a value against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number, optionally signed (`-3`, `42`).
    Int,
    /// A number Rust's `f64` parses (`1.5`, `-2e3`, `7`).
    Float,
    /// `true`/`false` (any case), `1`/`0`, `yes`/`no`.
    Bool,
    /// A non-empty path without NUL bytes.
    Path,
}

impl Kind {
    /// Parses `int`, `float`, `bool` or `path`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "int" => Some(Self::Int),
            "float" => Some(Self::Float),
            "bool" => Some(Self::Bool),
            "path" => Some(Self::Path),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Int => "int",
            Self::Float => "float",
            Self::Bool => "bool",
            Self::Path => "path",
        }
    }

    fn accepts(self, text: &str) -> bool {
        match self {
            Self::Int => text.parse::<i128>().is_ok(),
            Self::Float => text.trim().parse::<f64>().is_ok(),
            Self::Bool => {
                matches!(
                    text.to_ascii_lowercase().as_str(),
                    "true" | "false" | "1" | "0" | "yes" | "no"
                )
            }
            Self::Path => !text.is_empty() && !text.contains('\0'),
        }
    }
}

/// A test of one value.
#[derive(Clone)]
pub enum Comparator {
    /// Exactly these bytes.
    Equals(Bytes),
    /// Anything.
    Any,
    /// A value that parses as this kind.
    IsA(Kind),
    /// A value the regular expression finds a match in (use `^…$` to anchor).
    Regex(regex::Regex),
    /// A value containing this text.
    Contains(String),
    /// A value starting with this text.
    StartsWith(String),
    /// A value the closure accepts; the name is what reports show.
    Predicate(String, Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl Comparator {
    /// [`Comparator::Regex`], or the regex crate's message.
    pub fn regex(pattern: &str) -> Result<Self, regex::Error> {
        regex::Regex::new(pattern).map(Self::Regex)
    }

    /// [`Comparator::Predicate`] named `name`.
    pub fn predicate(
        name: impl Into<String>,
        f: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self::Predicate(name.into(), Arc::new(f))
    }

    /// Whether `value` passes.
    pub fn matches(&self, value: &[u8]) -> bool {
        let text = || String::from_utf8_lossy(value);
        match self {
            Self::Equals(expected) => expected.as_slice() == value,
            Self::Any => true,
            Self::IsA(kind) => kind.accepts(&text()),
            Self::Regex(re) => re.is_match(&text()),
            Self::Contains(part) => text().contains(part.as_str()),
            Self::StartsWith(prefix) => text().starts_with(prefix.as_str()),
            Self::Predicate(_, f) => f(&text()),
        }
    }

    /// Why `value` fails, phrased after its label (`arg[1]`, `stdin`,
    /// `env['K']`): `'push' != 'pull'` or `'x' failed Regex("^v\d")`.
    pub fn mismatch(&self, value: &[u8]) -> String {
        match self {
            Self::Equals(expected) => format!("{} != {}", quote(value), quote(expected.as_slice())),
            other => format!("{} failed {other}", quote(value)),
        }
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Equals(bytes) => f.write_str(&quote(bytes.as_slice())),
            Self::Any => f.write_str("Any()"),
            Self::IsA(kind) => write!(f, "IsA({})", kind.name()),
            // The pattern as the test author wrote it: `Regex("^v\d")`.
            Self::Regex(re) => write!(f, "Regex(\"{}\")", re.as_str()),
            Self::Contains(part) => write!(f, "Contains(\"{part}\")"),
            Self::StartsWith(prefix) => write!(f, "StartsWith(\"{prefix}\")"),
            Self::Predicate(name, _) => write!(f, "Predicate({name})"),
        }
    }
}

impl fmt::Debug for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

macro_rules! equals_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Comparator {
            fn from(value: $t) -> Self {
                Self::Equals(value.into())
            }
        }
    )*};
}

equals_from!(&str, String, &String, &[u8], Vec<u8>, Bytes);

/// Matches anything.
pub fn any() -> Comparator {
    Comparator::Any
}

/// Matches a value of `kind`.
pub fn is_a(kind: Kind) -> Comparator {
    Comparator::IsA(kind)
}

/// Matches where `pattern` finds a match.
///
/// # Panics
/// On an invalid pattern: a bug in the test, reported at once with the
/// regex crate's message. Use [`Comparator::regex`] to handle it instead.
pub fn regex(pattern: &str) -> Comparator {
    match Comparator::regex(pattern) {
        Ok(comparator) => comparator,
        Err(e) => panic!("noot-mox: invalid regex {pattern:?}: {e}"),
    }
}

/// Matches a value containing `part`.
pub fn contains(part: impl Into<String>) -> Comparator {
    Comparator::Contains(part.into())
}

/// Matches a value starting with `prefix`.
pub fn starts_with(prefix: impl Into<String>) -> Comparator {
    Comparator::StartsWith(prefix.into())
}

/// Matches a value `f` accepts; `name` appears in reports.
pub fn predicate(
    name: impl Into<String>,
    f: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> Comparator {
    Comparator::predicate(name, f)
}

/// The first argument that fails, or a count mismatch, as a report line.
pub fn args_mismatch(expected: &[Comparator], actual: &[Bytes]) -> Option<String> {
    for (i, (want, got)) in expected.iter().zip(actual).enumerate() {
        if !want.matches(got.as_slice()) {
            return Some(format!("arg[{i}] {}", want.mismatch(got.as_slice())));
        }
    }
    if expected.len() != actual.len() {
        let extra = if actual.len() > expected.len() {
            format!(
                "; first extra: arg[{}] {}",
                expected.len(),
                quote(actual[expected.len()].as_slice())
            )
        } else {
            format!("; first missing: arg[{}] {}", actual.len(), expected[actual.len()])
        };
        return Some(format!("expected {} args, got {}{extra}", expected.len(), actual.len()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter().map(|a| Bytes::from(*a)).collect()
    }

    #[test]
    fn each_comparator_accepts_and_refuses() {
        assert!(any().matches(b"whatever"));
        assert!(is_a(Kind::Int).matches(b"-42") && !is_a(Kind::Int).matches(b"4.2"));
        assert!(is_a(Kind::Float).matches(b"4.2") && !is_a(Kind::Float).matches(b"x"));
        assert!(is_a(Kind::Bool).matches(b"TRUE") && !is_a(Kind::Bool).matches(b"maybe"));
        assert!(is_a(Kind::Path).matches(b"a/b") && !is_a(Kind::Path).matches(b""));
        assert!(regex(r"^v\d").matches(b"v1.2") && !regex(r"^v\d").matches(b"x"));
        assert!(contains("ll").matches(b"hello") && !contains("z").matches(b"hello"));
        assert!(starts_with("he").matches(b"hello") && !starts_with("lo").matches(b"hello"));
        let even = predicate("even", |s| s.parse::<u32>().is_ok_and(|n| n % 2 == 0));
        assert!(even.matches(b"4") && !even.matches(b"5"));
        assert!(Comparator::from(&[0xffu8][..]).matches(&[0xff]));
    }

    #[test]
    fn mismatches_name_the_first_failing_argument_as_issue_reports_do() {
        let want = vec!["push".into(), "origin".into()];
        assert_eq!(
            args_mismatch(&want, &args(&["pull", "origin"])).as_deref(),
            Some("arg[0] 'pull' != 'push'")
        );
        assert_eq!(
            args_mismatch(&[regex(r"^v\d")], &args(&["x"])).as_deref(),
            Some(r#"arg[0] 'x' failed Regex("^v\d")"#)
        );
        assert_eq!(
            args_mismatch(&want, &args(&["push"])).as_deref(),
            Some("expected 2 args, got 1; first missing: arg[1] 'origin'")
        );
        assert_eq!(
            args_mismatch(&want, &args(&["push", "origin", "-f"])).as_deref(),
            Some("expected 2 args, got 3; first extra: arg[2] '-f'")
        );
        assert_eq!(args_mismatch(&want, &args(&["push", "origin"])), None);
    }
}
