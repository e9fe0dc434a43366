//! What a recording keeps, and the secrets taken out of it before it
//! touches disk.
//!
//! [`env_subset`] picks the environment a recording keeps: the variables a
//! double asked for, the command's own prefix (`GIT_*` for `git`, `AWS_*`
//! for `aws`, …) and an allowlist; never `PATH`, `HOME`, noot's own or a
//! secret-named one. [`FixtureScrubber`] is what redacts: noot passes its
//! configured scrubber plugins; a Rust test gets noot's `default` scrubber
//! (the `default-scrubber` feature). Every text field of a recording passes
//! through it (arguments, stdin, stdout, stderr, environment values); each
//! redaction is listed for a review file by rule, field, recording and
//! offset, never with the secret.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bytes::Bytes;
use crate::fixture::{Fixture, Recording};
use crate::secrets::KnownSecrets;

/// The command-specific prefixes a recording keeps by default.
pub const DEFAULT_PREFIXES: [(&str, &str); 16] = [
    ("git", "GIT_"),
    ("gh", "GH_"),
    ("aws", "AWS_"),
    ("docker", "DOCKER_"),
    ("kubectl", "KUBE"),
    ("helm", "HELM_"),
    ("terraform", "TF_"),
    ("gcloud", "CLOUDSDK_"),
    ("az", "AZURE_"),
    ("npm", "NPM_"),
    ("pip", "PIP_"),
    ("cargo", "CARGO_"),
    ("rustc", "RUSTC_"),
    ("go", "GO"),
    ("make", "MAKE"),
    ("ssh", "SSH_"),
];

/// Never recorded, whatever asks for them.
const EXCLUDED: [&str; 8] =
    ["PATH", "HOME", "USER", "SHELL", "PWD", "OLDPWD", "SSH_AUTH_SOCK", "GPG_AGENT_INFO"];

/// The environment a recording of `command` keeps: `explicit` names (a
/// double's `with_env`), the `allowlist`, and the command's prefix from
/// `prefixes`, this last only where the caller set or changed the variable
/// relative to `inherited` (the controller's own environment): a
/// machine-wide `GIT_SSL_CAINFO` would make the fixture replay strictly
/// only on that machine. Never the excluded names, noot's own (`NOOT_*`)
/// or secret-named ones.
pub fn env_subset(
    env: &BTreeMap<String, String>,
    inherited: &BTreeMap<String, String>,
    command: &str,
    explicit: &[String],
    allowlist: &[String],
    prefixes: &[(String, String)],
) -> BTreeMap<String, String> {
    let prefix = prefixes.iter().find(|(c, _)| c == command).map(|(_, p)| p.as_str());
    env.iter()
        .filter(|(name, value)| {
            !EXCLUDED.contains(&name.as_str())
                && !name.starts_with("NOOT_")
                && !crate::secrets::is_secret_name(name)
                && (explicit.contains(name)
                    || allowlist.contains(name)
                    || (prefix.is_some_and(|p| name.starts_with(p))
                        && inherited.get(*name) != Some(*value)))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// What recordings keep of the environment besides a double's `with_env`.
#[derive(Debug, Clone)]
pub struct RecordEnv {
    /// Names every recording keeps.
    pub allowlist: Vec<String>,
    /// Per command, the prefix of the names its recordings keep.
    pub prefixes: Vec<(String, String)>,
}

impl Default for RecordEnv {
    fn default() -> Self {
        Self { allowlist: Vec::new(), prefixes: default_prefixes() }
    }
}

/// [`DEFAULT_PREFIXES`] as owned pairs.
pub fn default_prefixes() -> Vec<(String, String)> {
    DEFAULT_PREFIXES.iter().map(|(c, p)| ((*c).to_string(), (*p).to_string())).collect()
}

/// One secret taken out of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    /// The scrubber that found it.
    pub scrubber: String,
    /// Its rule.
    pub rule: String,
    /// Byte offset in the text that scrubber saw.
    pub offset: usize,
    /// Length in bytes of what was replaced.
    pub length: usize,
}

/// Redacts secrets from text.
pub trait FixtureScrubber: Send + Sync {
    /// The scrubbers applied, in order (for the fixture's summary).
    fn names(&self) -> Vec<String>;
    /// `text` (a `field` such as `stdout` or `env:GIT_DIR`) with secrets
    /// replaced, and what was replaced.
    fn scrub(&self, text: &str, field: &str) -> Result<(String, Vec<Redaction>), String>;
}

/// One line of a review file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewEntry {
    /// The recording's sequence (0: the fixture's metadata).
    pub recording: u64,
    /// `args[1]`, `stdin`, `stdout`, `stderr` or `env.NAME`.
    pub field: String,
    /// The scrubber.
    pub scrubber: String,
    /// Its rule.
    pub rule: String,
    /// Byte offset in the field.
    pub offset: usize,
    /// Bytes replaced.
    pub length: usize,
}

/// The companion `F.review.json` of a fixture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    /// 1.
    pub schema_version: u32,
    /// The fixture's file name.
    pub fixture: String,
    /// Every redaction, never the secret.
    pub redactions: Vec<ReviewEntry>,
}

fn scrub_bytes(
    scrubber: &dyn FixtureScrubber,
    known: &KnownSecrets,
    bytes: &mut Bytes,
    field: String,
    recording: u64,
    review: &mut Vec<ReviewEntry>,
) -> Result<(), String> {
    // Each valid UTF-8 run is scrubbed as text; bytes that are not UTF-8
    // are kept as they are. So one stray byte in a long output does not
    // turn scrubbing off for the rest of it.
    let mut out = Vec::with_capacity(bytes.len());
    let mut offset = 0;
    for chunk in bytes.as_slice().utf8_chunks() {
        let text = chunk.valid();
        let (clean, found) = scrubber.scrub(text, &field)?;
        for r in found {
            review.push(ReviewEntry {
                recording,
                field: field.clone(),
                scrubber: r.scrubber,
                rule: r.rule,
                offset: offset + r.offset,
                length: r.length,
            });
        }
        // Values the controller saw in secret-named variables, wherever
        // they appear (`docker login -p "$PASSWORD"`).
        let (clean, hidden) = known.hide_counted(&clean);
        for _ in 0..hidden {
            review.push(ReviewEntry {
                recording,
                field: field.clone(),
                scrubber: "noot".into(),
                rule: KNOWN_SECRET_RULE.into(),
                offset,
                length: 0,
            });
        }
        out.extend_from_slice(clean.as_bytes());
        out.extend_from_slice(chunk.invalid());
        offset += text.len() + chunk.invalid().len();
    }
    if out != bytes.as_slice() {
        *bytes = Bytes(out);
    }
    Ok(())
}

/// The rule named for values hidden because a secret-named variable held them.
pub const KNOWN_SECRET_RULE: &str = "known-secret";

/// Scrubs every text field of `recording`, adding what it found to `review`.
pub fn scrub_recording(
    scrubber: &dyn FixtureScrubber,
    known: &KnownSecrets,
    recording: &mut Recording,
    review: &mut Vec<ReviewEntry>,
) -> Result<(), String> {
    let seq = recording.sequence;
    for (i, arg) in recording.args.iter_mut().enumerate() {
        scrub_bytes(scrubber, known, arg, format!("args[{i}]"), seq, review)?;
    }
    if let Some(stdin) = recording.stdin.as_mut() {
        scrub_bytes(scrubber, known, stdin, "stdin".into(), seq, review)?;
    }
    scrub_bytes(scrubber, known, &mut recording.stdout, "stdout".into(), seq, review)?;
    scrub_bytes(scrubber, known, &mut recording.stderr, "stderr".into(), seq, review)?;
    // A fixture from elsewhere (cmd-mox, or edited by hand) may keep
    // variables noot never records: they go, and the review says so.
    let dropped: Vec<String> = recording
        .env
        .keys()
        .filter(|name| EXCLUDED.contains(&name.as_str()) || crate::secrets::is_secret_name(name))
        .cloned()
        .collect();
    for name in dropped {
        recording.env.remove(&name);
        review.push(ReviewEntry {
            recording: seq,
            field: format!("env.{name}"),
            scrubber: "noot".into(),
            rule: "secret-or-system-variable".into(),
            offset: 0,
            length: 0,
        });
    }
    for (name, value) in recording.env.iter_mut() {
        let mut bytes = Bytes::from(value.as_str());
        scrub_bytes(scrubber, known, &mut bytes, format!("env.{name}"), seq, review)?;
        *value = bytes.lossy().into_owned();
    }
    Ok(())
}

/// Scrubs every string inside `value` (keys this build does not know are
/// kept, so whatever they hold is scrubbed too).
fn scrub_value(
    scrubber: &dyn FixtureScrubber,
    known: &KnownSecrets,
    value: &mut serde_json::Value,
    field: &str,
    recording: u64,
    review: &mut Vec<ReviewEntry>,
) -> Result<(), String> {
    match value {
        serde_json::Value::String(text) => {
            let mut bytes = Bytes::from(text.as_str());
            scrub_bytes(scrubber, known, &mut bytes, field.to_string(), recording, review)?;
            *text = bytes.lossy().into_owned();
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                scrub_value(scrubber, known, item, &format!("{field}[{i}]"), recording, review)?;
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                scrub_value(scrubber, known, item, &format!("{field}.{key}"), recording, review)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Scrubs a whole fixture and updates its summary; returns the review.
pub fn scrub_fixture(
    scrubber: &dyn FixtureScrubber,
    known: &KnownSecrets,
    fixture: &mut Fixture,
) -> Result<Vec<ReviewEntry>, String> {
    let mut review = Vec::new();
    for recording in &mut fixture.recordings {
        scrub_recording(scrubber, known, recording, &mut review)?;
        let seq = recording.sequence;
        for (key, value) in recording.extra.iter_mut() {
            scrub_value(scrubber, known, value, key, seq, &mut review)?;
        }
    }
    for (key, value) in fixture.metadata.extra.iter_mut() {
        scrub_value(scrubber, known, value, &format!("metadata.{key}"), 0, &mut review)?;
    }
    for (key, value) in fixture.extra.iter_mut() {
        scrub_value(scrubber, known, value, key, 0, &mut review)?;
    }
    // The recording command line may carry a token too (`--token=…`).
    let mut recorded_by = Bytes::from(fixture.metadata.recorded_by.as_str());
    scrub_bytes(scrubber, known, &mut recorded_by, "metadata.recorded_by".into(), 0, &mut review)?;
    fixture.metadata.recorded_by = recorded_by.lossy().into_owned();
    let summary = &mut fixture.scrubbing;
    for name in scrubber.names() {
        if !summary.scrubbers.contains(&name) {
            summary.scrubbers.push(name);
        }
    }
    summary.redactions += review.len() as u64;
    for entry in &review {
        *summary.by_rule.entry(entry.rule.clone()).or_default() += 1;
    }
    Ok(review)
}

/// The review file's path for `fixture`: `F.json` → `F.review.json`.
pub fn review_path(fixture: &std::path::Path) -> std::path::PathBuf {
    let stem = fixture.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    fixture.with_file_name(format!("{stem}.review.json"))
}

/// Whether `path` is a review file (`F.review.json`), not a fixture.
pub fn is_review(path: &std::path::Path) -> bool {
    path.to_string_lossy().ends_with(".review.json")
}

/// Writes the review of `fixture` atomically.
pub fn save_review(
    fixture: &std::path::Path,
    redactions: Vec<ReviewEntry>,
) -> Result<(), crate::fixture::FixtureError> {
    let review = Review {
        schema_version: 1,
        fixture: fixture.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        redactions,
    };
    let mut text =
        serde_json::to_string_pretty(&review).map_err(|e| crate::fixture::FixtureError::Io {
            path: review_path(fixture).display().to_string(),
            message: format!("cannot encode the review: {e}"),
        })?;
    text.push('\n');
    crate::fixture::write_atomic(&review_path(fixture), text.as_bytes())
}

/// noot's `default` scrubber, for Rust tests that record.
#[cfg(feature = "default-scrubber")]
pub struct DefaultScrubber(noot_plugin_scrubbers::DefaultScrubber);

#[cfg(feature = "default-scrubber")]
impl DefaultScrubber {
    /// The scrubber with its default rules.
    pub fn new() -> Result<Self, String> {
        noot_plugin_scrubbers::DefaultScrubber::from_json("{}").map(Self).map_err(|e| e.to_string())
    }
}

/// [`DefaultScrubber`], built the first time something is scrubbed: its
/// rules take a compile that a controller which never records or replays
/// should not pay for.
#[cfg(feature = "default-scrubber")]
#[derive(Default)]
pub struct LazyDefaultScrubber(std::sync::OnceLock<Result<DefaultScrubber, String>>);

#[cfg(feature = "default-scrubber")]
impl FixtureScrubber for LazyDefaultScrubber {
    fn names(&self) -> Vec<String> {
        vec!["default".to_string()]
    }

    fn scrub(&self, text: &str, field: &str) -> Result<(String, Vec<Redaction>), String> {
        match self.0.get_or_init(DefaultScrubber::new) {
            Ok(scrubber) => scrubber.scrub(text, field),
            Err(e) => Err(e.clone()),
        }
    }
}

#[cfg(feature = "default-scrubber")]
impl FixtureScrubber for DefaultScrubber {
    fn names(&self) -> Vec<String> {
        vec!["default".to_string()]
    }

    fn scrub(&self, text: &str, field: &str) -> Result<(String, Vec<Redaction>), String> {
        use noot_plugin_api::ScrubberPlugin;
        let out = self.0.scrub(text, field).map_err(|e| e.to_string())?;
        let found = out
            .findings
            .iter()
            .map(|f| Redaction {
                scrubber: "default".to_string(),
                rule: f.rule.to_string(),
                offset: usize::try_from(f.start).unwrap_or(0),
                length: usize::try_from(f.end.saturating_sub(f.start)).unwrap_or(0),
            })
            .collect();
        Ok((out.text.into_string(), found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_env_subset_keeps_what_was_asked_and_never_a_secret() {
        let env: BTreeMap<String, String> = [
            ("GIT_AUTHOR_NAME", "me"),
            ("GIT_TOKEN", "x"),
            ("PATH", "/bin"),
            ("HOME", "/root"),
            ("LANG", "C"),
            ("NOOT_MOX_SOCKET", "/s"),
            ("AWS_REGION", "eu"),
            ("DEPLOY_ENV", "prod"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let inherited = BTreeMap::from([
            ("AWS_REGION".to_string(), "eu".to_string()),
            ("GIT_SSL_CAINFO".to_string(), "/ca".to_string()),
        ]);
        let mut env = env;
        env.insert("GIT_SSL_CAINFO".into(), "/ca".into());
        let kept = env_subset(
            &env,
            &inherited,
            "git",
            &["DEPLOY_ENV".into(), "PATH".into()],
            &["LANG".into()],
            &default_prefixes(),
        );
        let names: Vec<&str> = kept.keys().map(String::as_str).collect();
        assert_eq!(names, vec!["DEPLOY_ENV", "GIT_AUTHOR_NAME", "LANG"]);
    }

    #[cfg(feature = "default-scrubber")]
    #[test]
    fn a_recording_is_scrubbed_field_by_field_and_reviewed_without_the_secret() {
        let token = "ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9";
        let mut recording = Recording {
            sequence: 3,
            command: "gh".into(),
            args: vec!["auth".into(), format!("--with-token={token}").into()],
            stdin: None,
            env: BTreeMap::new(),
            stdout: format!("{{\"token\": \"{token}\"}}\n").into(),
            stderr: Bytes::default(),
            exit_code: 0,
            timestamp: String::new(),
            duration_ms: 0,
            repeatable: false,
            extra: Default::default(),
        };
        let scrubber = DefaultScrubber::new().expect("builds");
        let mut review = Vec::new();
        scrub_recording(&scrubber, &KnownSecrets::default(), &mut recording, &mut review)
            .expect("scrubs");
        assert!(!recording.stdout.lossy().contains(token));
        assert!(!recording.args[1].lossy().contains(token));
        let fields: Vec<&str> = review.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(fields, vec!["args[1]", "stdout"]);
        assert!(review.iter().all(|r| r.recording == 3 && r.length > 0));
    }
}
