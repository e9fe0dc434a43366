//! Fixtures: recorded calls of real commands, as versioned JSON files that
//! diff well in review.
//!
//! ```json
//! { "schema_version": 1,
//!   "metadata": { "created_at": "2026-12-02T06:00:00Z", "noot_version": "0.1.0",
//!                 "platform": "linux-x86_64", "recorded_by": "noot mox record -- ./release.sh" },
//!   "recordings": [ { "sequence": 1, "command": "git", "args": ["status"], "stdin": null,
//!                     "env": {"GIT_DIR": ".git"}, "stdout": "…", "stderr": "", "exit_code": 0,
//!                     "timestamp": "…", "duration_ms": 12 } ],
//!   "scrubbing": { "scrubbers": ["default"], "redactions": 1, "by_rule": {"github-token": 1} } }
//! ```
//!
//! Text is stored as text and anything else as `{"base64": "…"}`
//! ([`crate::bytes`]). Files are written atomically (temporary sibling,
//! fsync, rename, fsync of the folder), so a reader, or a `kill -9` during
//! recording, sees the old fixture or the new one, never a torn one.
//! Readers keep unknown keys, migrate older versions, refuse newer ones,
//! and also read cmd-mox's fixture format 1.0 ([`crate::cmdmox`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::bytes::Bytes;

/// The version of the fixtures this build writes.
pub const FIXTURE_SCHEMA_VERSION: u32 = 1;

/// A fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fixture {
    /// [`FIXTURE_SCHEMA_VERSION`] when written by this build.
    pub schema_version: u32,
    /// Who recorded it, when, where.
    pub metadata: Metadata,
    /// The calls, in the order they were made.
    pub recordings: Vec<Recording>,
    /// What the scrubbers changed.
    #[serde(default)]
    pub scrubbing: ScrubSummary,
    /// Keys this build does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Who recorded a fixture, when, where.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metadata {
    /// RFC 3339, UTC.
    #[serde(default)]
    pub created_at: String,
    /// The noot (or noot-mox) version that wrote it.
    #[serde(default)]
    pub noot_version: String,
    /// `os-arch`.
    #[serde(default)]
    pub platform: String,
    /// The test or command that recorded it.
    #[serde(default)]
    pub recorded_by: String,
    /// Keys this build does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    /// 1-based position in the fixture; unique.
    pub sequence: u64,
    /// The command.
    pub command: String,
    /// Its arguments.
    pub args: Vec<Bytes>,
    /// Its stdin, if it had one.
    #[serde(default)]
    pub stdin: Option<Bytes>,
    /// The environment subset kept (never `PATH`, `HOME` or secrets).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// What it wrote to stdout.
    #[serde(default)]
    pub stdout: Bytes,
    /// What it wrote to stderr.
    #[serde(default)]
    pub stderr: Bytes,
    /// Its exit code.
    pub exit_code: i32,
    /// When it ran (RFC 3339, UTC).
    #[serde(default)]
    pub timestamp: String,
    /// How long it ran.
    #[serde(default)]
    pub duration_ms: u64,
    /// Replayable any number of times (else once).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub repeatable: bool,
    /// Keys this build does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What scrubbing did to a fixture.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScrubSummary {
    /// The scrubbers applied, in order.
    #[serde(default)]
    pub scrubbers: Vec<String>,
    /// How many secrets were redacted.
    #[serde(default)]
    pub redactions: u64,
    /// Redactions per rule.
    #[serde(default)]
    pub by_rule: BTreeMap<String, u64>,
}

/// The formats a fixture file can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// noot's, with its schema version.
    Noot(u32),
    /// cmd-mox's fixture format 1.0.
    CmdMox1,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Noot(v) => write!(f, "noot fixture, schema version {v}"),
            Self::CmdMox1 => f.write_str("cmd-mox fixture, format 1.0"),
        }
    }
}

/// Why a fixture could not be read or written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FixtureError {
    /// The file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// The file is not a fixture, or a field is wrong.
    #[error("{path}: {field}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The field at fault (`recordings[3].exit_code`, `schema_version`, …).
        field: String,
        /// What is wrong, and what to do.
        message: String,
    },
}

impl FixtureError {
    fn invalid(path: &Path, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.display().to_string(),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Fixture {
    /// An empty fixture recorded by `recorded_by`, stamped now.
    pub fn new(recorded_by: impl Into<String>) -> Self {
        Self {
            schema_version: FIXTURE_SCHEMA_VERSION,
            metadata: Metadata {
                created_at: rfc3339_now(),
                noot_version: env!("CARGO_PKG_VERSION").to_string(),
                platform: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
                recorded_by: recorded_by.into(),
                extra: Map::new(),
            },
            recordings: Vec::new(),
            scrubbing: ScrubSummary::default(),
            extra: Map::new(),
        }
    }

    /// Reads and checks `path` (noot's format or cmd-mox's 1.0).
    pub fn load(path: &Path) -> Result<(Self, Format), FixtureError> {
        let bytes = std::fs::read(path).map_err(|e| FixtureError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(path, &bytes)
    }

    /// Parses and checks the contents of `path`.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<(Self, Format), FixtureError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            FixtureError::invalid(
                path,
                format!("line {} column {}", e.line(), e.column()),
                format!("not valid JSON ({e}); a torn or hand-edited file: restore it from version control or record it again"),
            )
        })?;
        let Value::Object(document) = value else {
            return Err(FixtureError::invalid(path, "(top level)", "a fixture is a JSON object"));
        };
        if document.get("version").and_then(Value::as_str) == Some("1.0")
            && !document.contains_key("schema_version")
        {
            let fixture = crate::cmdmox::from_cmd_mox(path, document)?;
            fixture.check(path)?;
            return Ok((fixture, Format::CmdMox1));
        }
        let version = match document.get("schema_version") {
            Some(v) => v.as_u64().and_then(|v| u32::try_from(v).ok()).ok_or_else(|| {
                FixtureError::invalid(path, "schema_version", "must be a whole number")
            })?,
            None => {
                return Err(FixtureError::invalid(
                    path,
                    "schema_version",
                    "missing: not a noot fixture (nor a cmd-mox 1.0 one, which has \"version\": \"1.0\")",
                ));
            }
        };
        if version > FIXTURE_SCHEMA_VERSION {
            return Err(FixtureError::invalid(
                path,
                "schema_version",
                format!(
                    "{version} is newer than this noot understands ({FIXTURE_SCHEMA_VERSION}); upgrade noot"
                ),
            ));
        }
        let document = migrate(path, version, document)?;
        let fixture: Fixture = serde_json::from_value(Value::Object(document)).map_err(|e| {
            let message = e.to_string();
            FixtureError::invalid(path, field_of(&message), message)
        })?;
        fixture.check(path)?;
        Ok((fixture, Format::Noot(version)))
    }

    /// Checks what the types cannot: unique, positive sequences; commands.
    pub fn check(&self, path: &Path) -> Result<(), FixtureError> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, recording) in self.recordings.iter().enumerate() {
            if recording.sequence == 0 {
                return Err(FixtureError::invalid(
                    path,
                    format!("recordings[{i}].sequence"),
                    "must be 1 or more",
                ));
            }
            if !seen.insert(recording.sequence) {
                return Err(FixtureError::invalid(
                    path,
                    format!("recordings[{i}].sequence"),
                    format!("{} appears twice; sequences are unique", recording.sequence),
                ));
            }
            crate::shims::valid_command(&recording.command).map_err(|why| {
                FixtureError::invalid(path, format!("recordings[{i}].command"), why)
            })?;
        }
        Ok(())
    }

    /// The JSON text of the fixture, pretty, with a final newline.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }

    /// Writes the fixture to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), FixtureError> {
        let text = self.to_json().map_err(|e| FixtureError::Io {
            path: path.display().to_string(),
            message: format!("cannot encode the fixture: {e}"),
        })?;
        write_atomic(path, text.as_bytes())
    }
}

/// Older documents, step by step, to the current version. Version 1 is the
/// first; a future version 2 adds its step here.
fn migrate(
    path: &Path,
    version: u32,
    document: Map<String, Value>,
) -> Result<Map<String, Value>, FixtureError> {
    match version {
        FIXTURE_SCHEMA_VERSION => Ok(document),
        other => Err(FixtureError::invalid(
            path,
            "schema_version",
            format!("{other} is not a version noot ever wrote"),
        )),
    }
}

/// The field serde's message names (`missing field `x``, `unknown variant`, …).
fn field_of(message: &str) -> String {
    message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"))
        .map_or_else(|| "(structure)".to_string(), str::to_string)
}

/// Writes `bytes` to `path` through a temporary sibling, fsynced, renamed
/// over it, with the folder fsynced: the old file or the new, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FixtureError> {
    let io = |e: std::io::Error| FixtureError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".noot-fixture-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    // A fixture is committed and read by others: keep the mode of the file
    // it replaces, else the usual 0644 (a temporary file starts at 0600).
    let mode = std::fs::metadata(path)
        .map_or(0o644, |m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()));
    std::fs::set_permissions(tmp.path(), std::os::unix::fs::PermissionsExt::from_mode(mode))
        .map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    if let Ok(folder) = std::fs::File::open(&dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}

/// Now as RFC 3339 in UTC, to the second.
pub fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// `secs` since the epoch as RFC 3339 in UTC.
pub fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rest = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording(sequence: u64) -> Recording {
        Recording {
            sequence,
            command: "git".into(),
            args: vec!["status".into()],
            stdin: None,
            env: BTreeMap::new(),
            stdout: Bytes(vec![0xff, 0, 1]),
            stderr: "".into(),
            exit_code: 0,
            timestamp: rfc3339(0),
            duration_ms: 3,
            repeatable: false,
            extra: Default::default(),
        }
    }

    #[test]
    fn a_fixture_round_trips_with_binary_output_and_unknown_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.json");
        let mut fixture = Fixture::new("a test");
        fixture.recordings.push(recording(1));
        fixture.extra.insert("x-team".into(), Value::from("infra"));
        fixture.save(&path).expect("saves");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("{\n  \"schema_version\": 1,"), "{text}");
        assert!(text.contains("\"stdout\": {\n        \"base64\": \"/wAB\"\n      }"), "{text}");
        let (back, format) = Fixture::load(&path).expect("loads");
        assert_eq!((back, format), (fixture, Format::Noot(1)));
    }

    #[test]
    fn bad_files_name_the_field() {
        let path = Path::new("f.json");
        let cases: [(&str, &str); 5] = [
            (
                "{\"schema_version\": 1, \"metadata\": {}, \"recordings\": [",
                "f.json: line 1 column",
            ),
            (
                "{\"schema_version\": 9, \"metadata\": {}, \"recordings\": []}",
                "schema_version: 9 is newer",
            ),
            ("{\"metadata\": {}, \"recordings\": []}", "schema_version: missing"),
            (
                "{\"schema_version\": 1, \"metadata\": {}}",
                "f.json: recordings: missing field `recordings`",
            ),
            (
                "{\"schema_version\": 1, \"metadata\": {}, \"recordings\": [{\"sequence\": 1, \"command\": \"a\", \"args\": [], \"exit_code\": 0}, {\"sequence\": 1, \"command\": \"b\", \"args\": [], \"exit_code\": 0}]}",
                "recordings[1].sequence: 1 appears twice",
            ),
        ];
        for (text, want) in cases {
            let err = Fixture::parse(path, text.as_bytes()).expect_err(want).to_string();
            assert!(err.contains(want), "{err}\nwant: {want}");
        }
    }

    #[test]
    fn rfc3339_dates_are_civil() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_169_600), "2026-12-02T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }
}
