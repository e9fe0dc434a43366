//! Reading cmd-mox's fixture format 1.0, so its users can switch without
//! recording again.
//!
//! cmd-mox writes `{"version": "1.0", "metadata": {created_at,
//! cmdmox_version, platform, python_version, test_module?, test_function?},
//! "recordings": [{sequence (from 0), command, args, stdin, env_subset,
//! stdout, stderr, exit_code, timestamp, duration_ms}], "scrubbing_rules":
//! […]}`, all text. Sequences become 1-based; `env_subset` becomes `env`;
//! an empty `stdin` (cmd-mox's "none") becomes none; the keys noot has no
//! field for (`python_version`, `scrubbing_rules`, …) are kept as extra keys.

use std::path::Path;

use serde_json::{Map, Value};

use crate::bytes::Bytes;
use crate::fixture::{
    FIXTURE_SCHEMA_VERSION, Fixture, FixtureError, Metadata, Recording, ScrubSummary,
};

fn text(value: Option<&Value>) -> String {
    value.and_then(Value::as_str).unwrap_or_default().to_string()
}

/// A cmd-mox 1.0 document as a noot fixture.
pub fn from_cmd_mox(
    path: &Path,
    mut document: Map<String, Value>,
) -> Result<Fixture, FixtureError> {
    let invalid = |field: String, message: &str| FixtureError::Invalid {
        path: path.display().to_string(),
        field,
        message: message.to_string(),
    };
    let Some(Value::Object(mut meta)) = document.remove("metadata") else {
        return Err(invalid(
            "metadata".into(),
            "missing: a cmd-mox 1.0 fixture has a metadata object",
        ));
    };
    let recorded_by = match (
        meta.get("test_module").and_then(Value::as_str),
        meta.get("test_function").and_then(Value::as_str),
    ) {
        (Some(module), Some(function)) => format!("{module}::{function}"),
        _ => "cmd-mox".to_string(),
    };
    let metadata = Metadata {
        created_at: text(meta.remove("created_at").as_ref()),
        noot_version: format!("cmd-mox {}", text(meta.remove("cmdmox_version").as_ref())),
        platform: text(meta.remove("platform").as_ref()),
        recorded_by,
        extra: meta,
    };
    let recordings = match document.remove("recordings") {
        None => Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(invalid("recordings".into(), "must be a list")),
    };
    let mut out = Vec::with_capacity(recordings.len());
    for (i, item) in recordings.into_iter().enumerate() {
        let field = |name: &str| format!("recordings[{i}].{name}");
        let Value::Object(r) = item else {
            return Err(invalid(format!("recordings[{i}]"), "must be an object"));
        };
        let sequence = r
            .get("sequence")
            .and_then(Value::as_u64)
            .ok_or_else(|| invalid(field("sequence"), "missing or not a whole number"))?;
        let command = r
            .get("command")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(field("command"), "missing or not a string"))?
            .to_string();
        let args = match r.get("args") {
            Some(Value::Array(args)) => args
                .iter()
                .map(|a| {
                    a.as_str()
                        .map(Bytes::from)
                        .ok_or_else(|| invalid(field("args"), "arguments are strings"))
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(invalid(field("args"), "missing or not a list")),
        };
        let env = match r.get("env_subset") {
            None => Default::default(),
            Some(Value::Object(env)) => {
                env.iter().map(|(k, v)| (k.clone(), text(Some(v)))).collect()
            }
            Some(_) => return Err(invalid(field("env_subset"), "must be an object")),
        };
        let stdin = text(r.get("stdin"));
        out.push(Recording {
            sequence: sequence.saturating_add(1),
            command,
            args,
            stdin: (!stdin.is_empty()).then(|| Bytes::from(stdin)),
            env,
            stdout: Bytes::from(text(r.get("stdout"))),
            stderr: Bytes::from(text(r.get("stderr"))),
            exit_code: r
                .get("exit_code")
                .and_then(Value::as_i64)
                .and_then(|c| i32::try_from(c).ok())
                .unwrap_or(0),
            timestamp: text(r.get("timestamp")),
            duration_ms: r.get("duration_ms").and_then(Value::as_u64).unwrap_or(0),
            repeatable: false,
            extra: Map::new(),
        });
    }
    document.remove("version");
    let mut extra = document;
    extra.insert("cmd_mox_version".into(), Value::from("1.0"));
    Ok(Fixture {
        schema_version: FIXTURE_SCHEMA_VERSION,
        metadata,
        recordings: out,
        scrubbing: ScrubSummary {
            scrubbers: vec!["cmd-mox scrubbing_rules".into()],
            ..ScrubSummary::default()
        },
        extra,
    })
}

#[cfg(test)]
mod tests {
    use crate::fixture::{Fixture, Format};

    /// cmd-mox's own example, from its usage guide.
    const EXAMPLE: &str = r#"{
  "version": "1.0",
  "metadata": {
    "created_at": "2025-01-15T10:30:00+00:00",
    "cmdmox_version": "0.2.0",
    "platform": "linux",
    "python_version": "3.12.0"
  },
  "recordings": [
    {
      "sequence": 0,
      "command": "git",
      "args": ["status"],
      "stdin": "",
      "env_subset": {"GIT_AUTHOR_NAME": "Test User"},
      "stdout": "M file.py\n",
      "stderr": "",
      "exit_code": 0,
      "timestamp": "2025-01-15T10:30:01+00:00",
      "duration_ms": 42
    }
  ],
  "scrubbing_rules": []
}"#;

    #[test]
    fn cmd_mox_s_example_reads_as_a_fixture() {
        let (fixture, format) =
            Fixture::parse(std::path::Path::new("git.json"), EXAMPLE.as_bytes()).expect("reads");
        assert_eq!(format, Format::CmdMox1);
        let r = &fixture.recordings[0];
        assert_eq!(
            (r.sequence, r.command.as_str(), r.stdout.lossy().as_ref()),
            (1, "git", "M file.py\n")
        );
        assert_eq!(r.env.get("GIT_AUTHOR_NAME").map(String::as_str), Some("Test User"));
        assert_eq!(r.stdin, None);
        assert_eq!(fixture.metadata.noot_version, "cmd-mox 0.2.0");
        assert!(fixture.extra.contains_key("scrubbing_rules"));
    }

    #[test]
    fn a_broken_cmd_mox_fixture_names_the_field() {
        let text = EXAMPLE.replace("\"args\": [\"status\"],", "");
        let err =
            Fixture::parse(std::path::Path::new("git.json"), text.as_bytes()).expect_err("no args");
        assert_eq!(err.to_string(), "git.json: recordings[0].args: missing or not a list");
    }
}
