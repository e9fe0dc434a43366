//! The rule table of the `default` scrubber.
//!
//! Every rule names the literal keywords that must occur where a secret
//! starts (or in the name just before it), a regex searched anchored at
//! keyword hits, and optionally a validator. Keywords are matched
//! case-sensitively, because a case-insensitive automaton scans at a third
//! of the speed (measured: 502 against 1428 MiB/s on the same 61 keywords):
//! token prefixes are listed in the one case they have, and words such as
//! `secret` are expanded to `secret`, `Secret` and `SECRET` (see
//! [`KeywordCase`]). The part of a match that is
//! redacted is the capture group named `s` if the regex has one (so a URL
//! keeps everything but its password), else the whole match.

/// How much text around a keyword hit a rule's regex looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The line holding the hit.
    Line,
    /// From the start of the hit's line to at most this many bytes past the
    /// hit (for secrets that span lines, such as PEM blocks).
    Forward(usize),
}

/// Where, relative to a keyword hit, a rule's match starts. The regex is
/// searched anchored there, so the cost of a hit is the length of the match
/// attempt, not of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// At the keyword itself (token prefixes such as `ghp_`).
    Keyword,
    /// At the start of the run of `[A-Za-z0-9_.+-]` bytes that ends at the
    /// keyword: the start of `aws_secret_access_key` when `secret` hit, or
    /// of `postgres` when `://` hit.
    NameBefore,
}

/// How a rule's keywords are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeywordCase {
    /// Exactly as written (`ghp_`, `AKIA`).
    Exact,
    /// An all-lower-case keyword also as Capitalised and UPPER-CASE
    /// (`secret`, `Secret`, `SECRET`); any other keyword exactly as written
    /// (`apiKey`).
    Words,
}

/// An extra check a regex match must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// Every match counts.
    None,
    /// The redacted part must pass [`crate::entropy::looks_random`].
    LooksRandom,
}

/// One rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable id, used in `<REDACTED:id>` and in reports.
    pub id: &'static str,
    /// What it finds.
    pub description: &'static str,
    /// Literals (ASCII) that gate the regex.
    pub keywords: &'static [&'static str],
    /// How the keywords are matched.
    pub case: KeywordCase,
    /// At least one of these bytes must occur within [`NEEDS_WINDOW`] bytes
    /// after the keyword, or the regex is not tried (an `@` for a URL
    /// password, `=` or `:` for an assignment). Empty: no pre-check.
    pub needs: &'static [u8],
    /// The regex.
    pub pattern: &'static str,
    /// Where the match starts.
    pub anchor: Anchor,
    /// How far it may reach.
    pub window: Window,
    /// The extra check.
    pub validator: Validator,
}

// An assignment operator with optional quotes and spaces: `=`, `:`, `:=`, `=>`.
macro_rules! assign {
    () => {
        r#"["']?\s*(?:=>|:=|=|:)\s*["']?"#
    };
}

/// Every rule, in priority order: when two matches overlap, the one that
/// starts first wins, then the longer, then the earlier rule.
pub const BUILTIN_RULES: &[Rule] = &[
    Rule {
        id: "pem-private-key",
        description: "the body of a PEM private key block",
        keywords: &["-----BEGIN"],
        case: KeywordCase::Exact,
        needs: b"",
        pattern: r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:\r?\n|(?:\\r)?\\n)(?P<s>(?s:.*?))(?:\r?\n|(?:\\r)?\\n)-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
        anchor: Anchor::Keyword,
        window: Window::Forward(64 * 1024),
        validator: Validator::None,
    },
    Rule {
        id: "github-token",
        description: "GitHub personal, OAuth, user, server and refresh tokens",
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        case: KeywordCase::Exact,
        needs: b"",
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255})\b",
        anchor: Anchor::Keyword,
        window: Window::Line,
        validator: Validator::None,
    },
    Rule {
        id: "gitlab-token",
        description: "GitLab personal access tokens",
        keywords: &["glpat-"],
        case: KeywordCase::Exact,
        needs: b"",
        pattern: r"\bglpat-[A-Za-z0-9_\-]{20,64}",
        anchor: Anchor::Keyword,
        window: Window::Line,
        validator: Validator::None,
    },
    Rule {
        id: "slack-token",
        description: "Slack bot, user, app and config tokens",
        keywords: &["xox", "xapp-"],
        case: KeywordCase::Exact,
        needs: b"",
        pattern: r"\b(?:xox[abeprs]-[A-Za-z0-9-]{10,250}|xapp-\d-[A-Za-z0-9-]{10,250})",
        anchor: Anchor::Keyword,
        window: Window::Line,
        validator: Validator::None,
    },
    Rule {
        id: "slack-webhook",
        description: "Slack incoming-webhook and workflow URLs",
        keywords: &["hooks.slack.com"],
        case: KeywordCase::Exact,
        needs: b"",
        pattern: r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9+/_\-]{20,250})",
        anchor: Anchor::Keyword,
        window: Window::Line,
        validator: Validator::None,
    },
    Rule {
        id: "stripe-key",
        description: "Stripe secret and restricted keys",
        keywords: &["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
        case: KeywordCase::Exact,
        needs: b"",
        pattern: r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,247}\b",
        anchor: Anchor::Keyword,
        window: Window::Line,
        validator: Validator::None,
    },
    Rule {
        id: "npm-token",
        description: "npm access tokens",
        keywords: &["npm_"],
        case: KeywordCase::Exact,
        needs: b"",
        pattern: r"\bnpm_[A-Za-z0-9]{36}\b",
        anchor: Anchor::Keyword,
        window: Window::Line,
        validator: Validator::None,
    },
    Rule {
        id: "aws-access-key-id",
        description: "AWS access key ids",
        keywords: &["AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "A3T"],
        case: KeywordCase::Exact,
        needs: b"",
        pattern: r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b",
        anchor: Anchor::Keyword,
        window: Window::Line,
        validator: Validator::None,
    },
    Rule {
        id: "aws-secret-access-key",
        description: "AWS secret access keys in `aws_secret_access_key = …` style assignments",
        keywords: &["secret"],
        case: KeywordCase::Words,
        needs: b"=:",
        pattern: concat!(
            r"[A-Za-z0-9_.\-]*?(?i:aws[_\-]?secret[_\-]?(?:access[_\-]?)?key|secret[_\-]?access[_\-]?key)",
            assign!(),
            r#"(?P<s>[A-Za-z0-9/+]{40})(?:[\s"',;]|$)"#
        ),
        anchor: Anchor::NameBefore,
        window: Window::Line,
        validator: Validator::None,
    },
    Rule {
        id: "google-api-key",
        description: "Google API keys",
        keywords: &["AIza"],
        case: KeywordCase::Exact,
        needs: b"",
        pattern: r"(?P<s>\bAIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)",
        anchor: Anchor::Keyword,
        window: Window::Line,
        validator: Validator::None,
    },
    Rule {
        id: "jwt",
        description: "JSON Web Tokens",
        keywords: &["eyJ"],
        case: KeywordCase::Exact,
        needs: b"",
        pattern: r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",
        anchor: Anchor::Keyword,
        window: Window::Line,
        validator: Validator::None,
    },
    Rule {
        id: "auth-bearer",
        description: "the credential of a Bearer authorization",
        keywords: &["bearer"],
        case: KeywordCase::Words,
        needs: b"",
        pattern: r"(?i)\bbearer\s+(?P<s>[A-Za-z0-9\-._~+/]{16,}=*)",
        anchor: Anchor::Keyword,
        window: Window::Line,
        validator: Validator::LooksRandom,
    },
    Rule {
        id: "auth-basic",
        description: "the credential of a Basic `Authorization` header",
        keywords: &["authorization"],
        case: KeywordCase::Words,
        needs: b"",
        pattern: r#"(?i)\bauthorization["']?\s*[:=]\s*["']?basic\s+(?P<s>[A-Za-z0-9+/]{6,}={0,2})"#,
        anchor: Anchor::Keyword,
        window: Window::Line,
        validator: Validator::None,
    },
    Rule {
        id: "url-password",
        description: "the password in `scheme://user:password@host` URLs",
        keywords: &["://"],
        case: KeywordCase::Exact,
        needs: b"@",
        // Unbounded user and password parts: bounded repeats of these
        // Unicode classes cost 5 ms to compile (every noot invocation pays
        // it), and the line window already bounds the search. A longer
        // password is still a password.
        pattern: r#"\b[A-Za-z][A-Za-z0-9+.\-]{1,30}://[^\s:/?#@"'<>]*:(?P<s>[^\s/?#@"'<>]+)@[^\s/?#@"'<>]"#,
        anchor: Anchor::NameBefore,
        window: Window::Line,
        validator: Validator::None,
    },
    Rule {
        id: "generic-secret",
        description: "values of `secret`, `token`, `password`, `api_key`… assignments that look random",
        keywords: &[
            "secret",
            "token",
            "passw",
            "api_key",
            "apikey",
            "access_key",
            "private_key",
            "credential",
            "apiKey",
            "ApiKey",
            "accessKey",
            "privateKey",
        ],
        case: KeywordCase::Words,
        needs: b"=:",
        pattern: concat!(
            // Case folds only the name's keywords: `(?i)` over the classes
            // would add the Kelvin sign and the long s and double the
            // compile time, for nothing a secret is made of.
            r"[A-Za-z0-9_.\-]*(?i:secret|token|passw(?:or)?d|pwd|api[_\-]?key|access[_\-]?key|auth[_\-]?key|private[_\-]?key|credentials?)[A-Za-z0-9_.\-]*",
            assign!(),
            r"(?P<s>[A-Za-z0-9+/=_\-.~!@#$%^&*]{8,256})"
        ),
        anchor: Anchor::NameBefore,
        window: Window::Line,
        validator: Validator::LooksRandom,
    },
];

/// How far after a keyword a rule's `needs` bytes are looked for.
pub const NEEDS_WINDOW: usize = 128;

/// The longest a `Window::Line` match may reach past its anchor.
pub const MAX_LINE_MATCH: usize = 4096;

/// The most keyword spellings the prefilter may have: past 64 patterns
/// Aho-Corasick cannot use its SIMD (Teddy) searcher and scans at under a
/// third of the speed.
pub const MAX_PREFILTER_KEYWORDS: usize = 64;

/// Variable-name fragments that mark an environment variable's whole value
/// as secret (field `env:NAME`).
pub const SECRET_ENV_NAME_PARTS: &[&str] =
    &["TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "PRIVATE_KEY", "CREDENTIAL"];

/// The id used for a secret environment variable's value.
pub const SECRET_ENV_RULE: &str = "secret-env-var";
