//! What looks like a secret, and how it is hidden.
//!
//! Environment variables whose names say they hold a secret (`*_TOKEN`,
//! `*_KEY`, `*SECRET*`, `*PASSWORD*`, `*_PASS`, credentials, auth, cookies,
//! sessions, private keys, JWTs, DSNs) are shown as `***` in every report,
//! journal, JSON document and `Debug` output; in any other value, the
//! password of a URL (`scheme://user:password@host`) is. Arguments and
//! stdin are shown as they are: they are what a test asserts on (noot's
//! scrubber plugins redact what is *stored*, such as recorded fixtures).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use crate::bytes::quote;

/// Words that make a variable name a secret's when they stand alone
/// between `_`, `-` or digits (`DB_PASS`, but not `PASSAGE`).
const WORDS: [&str; 17] = [
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "CREDENTIAL",
    "CREDENTIALS",
    "AUTH",
    "PASSPHRASE",
    "COOKIE",
    "SESSION",
    "PRIVATE",
    "JWT",
    "DSN",
    "APIKEY",
];

/// Parts that make a name a secret's wherever they appear (`GITHUBTOKEN`).
const PARTS: [&str; 6] = ["SECRET", "TOKEN", "PASSWORD", "API_KEY", "APIKEY", "PASSPHRASE"];

/// Whether an environment variable's name says it holds a secret
/// (`API_KEY`, `GITHUB_TOKEN`, `DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`, …).
/// `PWD` and `OLDPWD`, the shell's working directories, are not.
pub fn is_secret_name(name: &str) -> bool {
    if name == "PWD" || name == "OLDPWD" {
        return false;
    }
    let upper = name.to_ascii_uppercase();
    upper
        .split(|c: char| c == '_' || c == '-' || c.is_ascii_digit())
        .any(|word| WORDS.contains(&word))
        || PARTS.iter().any(|part| upper.contains(part))
}

/// `value` with the password of every `scheme://user:password@` hidden.
pub fn without_url_passwords(value: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut rest = value;
    let mut changed = false;
    while let Some(scheme_end) = rest.find("://") {
        let (head, tail) = rest.split_at(scheme_end + 3);
        out.push_str(head);
        let authority_end =
            tail.find(|c: char| c == '/' || c.is_whitespace()).unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
                changed = true;
            }
            _ => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    if !changed {
        return Cow::Borrowed(value);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `value`, or `***` when `name` looks like a secret's (URL passwords
/// hidden either way).
pub fn masked<'v>(name: &str, value: &'v str) -> Cow<'v, str> {
    if is_secret_name(name) { Cow::Borrowed("***") } else { without_url_passwords(value) }
}

/// `'value'` quoted for reports, masked as [`masked`].
pub fn mask(name: &str, value: &str) -> String {
    quote(masked(name, value).as_bytes())
}

/// Known secrets: the values of secret-named variables seen so far (in the
/// controller's environment and each caller's), so that a token passed on
/// as an argument (`curl -H "Authorization: Bearer $GITHUB_TOKEN"`) or
/// echoed on stdout is hidden in reports and JSON too, not only where it is
/// a variable's value.
#[derive(Debug, Clone, Default)]
pub struct KnownSecrets {
    values: Vec<String>,
}

impl KnownSecrets {
    /// Values shorter than this are not hidden: they would hide ordinary
    /// words (`PASS=1`).
    pub const MIN_LEN: usize = 6;
    /// At most this many values are kept (each report replaces each one).
    pub const MAX_VALUES: usize = 256;

    /// Learns the secret-named values of `env`.
    pub fn learn(&mut self, env: &BTreeMap<String, String>) {
        for (name, value) in env {
            if value.len() >= Self::MIN_LEN
                && is_secret_name(name)
                && self.values.len() < Self::MAX_VALUES
                && !self.values.contains(value)
            {
                self.values.push(value.clone());
            }
        }
        // Longest first, so a secret that contains another is hidden whole.
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// `text` with every known secret replaced by `***`.
    pub fn hide<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), "***"));
            }
        }
        out
    }

    /// `text` with every known secret replaced by `***`, and how many were.
    pub fn hide_counted(&self, text: &str) -> (String, usize) {
        let mut out = text.to_string();
        let mut count = 0;
        for value in &self.values {
            let n = out.matches(value.as_str()).count();
            if n > 0 {
                count += n;
                out = out.replace(value.as_str(), "***");
            }
        }
        (out, count)
    }

    /// `bytes` with every known secret replaced by `***`.
    pub fn hide_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for value in &self.values {
            let needle = value.as_bytes();
            let mut i = 0;
            let mut replaced = Vec::with_capacity(out.len());
            let mut changed = false;
            while i < out.len() {
                if out[i..].starts_with(needle) {
                    replaced.extend_from_slice(b"***");
                    i += needle.len();
                    changed = true;
                } else {
                    replaced.push(out[i]);
                    i += 1;
                }
            }
            if changed {
                out = replaced;
            }
        }
        out
    }
}

/// An environment for `Debug` output, with secrets masked.
pub struct MaskedEnv<'a>(pub &'a BTreeMap<String, String>);

impl fmt::Debug for MaskedEnv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter().map(|(k, v)| (k, masked(k, v)))).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_names_are_masked() {
        for name in [
            "GITHUB_TOKEN",
            "api_key",
            "DB_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "KEY",
            "X_PASS",
            "HTTP_AUTH",
            "GPG_PASSPHRASE",
            "SESSION_ID",
            "SENTRY_DSN",
            "SSH_PRIVATE_KEY",
            "GITHUBTOKEN",
        ] {
            assert_eq!(mask(name, "hunter2"), "'***'", "{name}");
        }
        for name in ["PATH", "HOME", "KEYBOARD", "MONKEY", "PWD", "OLDPWD", "GIT_DIR", "PASSAGE"] {
            assert_eq!(mask(name, "v"), "'v'", "{name}");
        }
    }

    #[test]
    fn known_secret_values_are_hidden_wherever_they_appear() {
        let mut known = KnownSecrets::default();
        let env = BTreeMap::from([
            ("GITHUB_TOKEN".to_string(), "ghp_SUPERSECRET123".to_string()),
            ("PASS".to_string(), "1".to_string()),
            ("HOME".to_string(), "/home/me".to_string()),
        ]);
        known.learn(&env);
        assert_eq!(
            known.hide("-H Authorization: Bearer ghp_SUPERSECRET123"),
            "-H Authorization: Bearer ***"
        );
        assert_eq!(known.hide("/home/me 1"), "/home/me 1", "short and ordinary values stay");
        assert_eq!(known.hide_bytes(b"x ghp_SUPERSECRET123\n"), b"x ***\n");
    }

    #[test]
    fn url_passwords_are_hidden_in_any_value() {
        assert_eq!(
            masked("DATABASE_URL", "postgres://app:s3cret@db:5432/app"),
            "postgres://app:***@db:5432/app"
        );
        assert_eq!(
            without_url_passwords("a https://u:p@x/y and ftp://v:q@z"),
            "a https://u:***@x/y and ftp://v:***@z"
        );
        assert!(matches!(without_url_passwords("https://host/path:x@y"), Cow::Borrowed(_)));
        assert!(matches!(without_url_passwords("no urls"), Cow::Borrowed(_)));
    }
}
