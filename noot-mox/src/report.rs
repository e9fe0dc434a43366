//! The verdict as people and programs read it.
//!
//! [`human`] is the report `verify` prints; [`document`] is the one JSON
//! document of `noot mox run --format json` and of a harness's verify
//! request: `schema_version`, `ok`, `failures`, `doubles` (each with its
//! expected and observed counts) and the `journal`. A journal entry shows
//! only the environment variables the caller set or changed relative to the
//! controller's own environment, with secret-looking values masked; the
//! values of secret-named variables are hidden in its arguments, stdin and
//! output too.

use serde_json::{Value, json};

use crate::double::masked;
use crate::state::State;
use crate::verify::VerifyError;

/// Variables every caller has, set by the controller or the shell, left
/// out of `env_changed`.
const NOISE: [&str; 7] =
    ["PATH", "NOOT_MOX_SOCKET", "NOOT_MOX_TIMEOUT", "PWD", "OLDPWD", "SHLVL", "_"];

/// The version of [`document`].
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// `ok` or the failures, as text.
pub fn human(outcome: &Result<(), VerifyError>) -> String {
    match outcome {
        Ok(()) => "command doubles: every expectation met".to_string(),
        Err(e) => e.to_string(),
    }
}

/// The journal and the verdict as JSON.
pub fn document(state: &State, outcome: &Result<(), VerifyError>) -> Value {
    let failures: Vec<Value> = match outcome {
        Ok(()) => Vec::new(),
        Err(e) => e
            .failures
            .iter()
            .map(|f| {
                let mut value = serde_json::to_value(f).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut value {
                    map.insert("title".into(), Value::String(f.title().into()));
                    map.insert("report".into(), Value::String(f.to_string()));
                }
                value
            })
            .collect(),
    };
    let doubles: Vec<Value> = state
        .doubles
        .iter()
        .map(|d| {
            json!({
                "label": d.spec.label(),
                "kind": d.spec.kind,
                "command": d.spec.command,
                "expected": d.spec.describe(),
                "times": d.spec.verified_times().map(|t| t.to_string()),
                "ordered": d.spec.ordered,
                "calls": d.calls,
            })
        })
        .collect();
    let journal: Vec<Value> = state
        .journal
        .entries()
        .map(|call| {
            let mut value = serde_json::to_value(call).unwrap_or(Value::Null);
            let changed: serde_json::Map<String, Value> = call
                .env
                .iter()
                .filter(|(k, v)| state.base_env.get(*k) != Some(*v) && !NOISE.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), Value::String(masked(k, v).to_string())))
                .collect();
            if let Value::Object(map) = &mut value {
                map.insert("env_changed".into(), Value::Object(changed));
                // Secrets passed on as arguments, stdin or output.
                let hide = |bytes: &crate::bytes::Bytes| {
                    serde_json::to_value(crate::bytes::Bytes(
                        state.secrets.hide_bytes(bytes.as_slice()),
                    ))
                    .unwrap_or(Value::Null)
                };
                map.insert("args".into(), Value::Array(call.args.iter().map(hide).collect()));
                if let Some(stdin) = &call.stdin {
                    map.insert("stdin".into(), hide(stdin));
                }
                map.insert("stdout".into(), hide(&call.stdout));
                map.insert("stderr".into(), hide(&call.stderr));
            }
            value
        })
        .collect();
    json!({
        "schema_version": REPORT_SCHEMA_VERSION,
        "ok": outcome.is_ok(),
        "failures": failures,
        "doubles": doubles,
        "journal": journal,
        "journal_dropped": state.journal.dropped(),
    })
}
