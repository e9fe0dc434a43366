//! Doubles declared as data: what a harness in another language sends over
//! the socket ([`crate::protocol::Request::Configure`]) to declare or change
//! a double at run time, as the pytest plugin does for each step of its
//! fluent API.
//!
//! ```json
//! {"kind": "mock", "command": "git", "args": ["push", {"regex": "^v\\d"}],
//!  "stdin": {"contains": "token"}, "env": {"GIT_DIR": ".git"},
//!  "stdout": "pushed\n", "stderr": "", "exit_code": 0,
//!  "times": 1, "ordered": true}
//! ```
//!
//! Instead of canned output a double may `"passthrough": true` (spies), or
//! name a `"callback"` socket: each call is then sent there as JSON (the
//! call's command, args, stdin, env and cwd, one request per connection,
//! half-closed) and the answer read back as `{"stdout", "stderr",
//! "exit_code"}` or `{"error": "…"}`; that is how `runs(python_callable)`
//! calls back into a test process. `"record": PATH` records its calls;
//! `"replay": PATH` (with `"replay_mode": "fuzzy"`) answers from a fixture.
//! Comparators: a string (exact), or `{"any": true}`, `{"is_a": "int"}`,
//! `{"regex": "…"}`, `{"contains": "…"}`, `{"starts_with": "…"}`,
//! `{"equals": "…"}`.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::bytes::Bytes;
use crate::double::{Behaviour, DoubleKind, DoubleSpec, Handler, Times};
use crate::journal::Call;
use crate::matchers::{Comparator, Kind};
use crate::protocol::Response;
use crate::replay::{Mode, ReplaySet};
use crate::state::{Shared, lock};

/// A double as data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoubleJson {
    /// `stub`, `mock` or `spy`.
    pub kind: String,
    /// The command.
    pub command: String,
    /// Expected arguments: strings or comparator objects.
    #[serde(default)]
    pub args: Option<Vec<Value>>,
    /// Expected stdin: a string or a comparator object.
    #[serde(default)]
    pub stdin: Option<Value>,
    /// Variables not to contradict; injected.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Canned stdout.
    #[serde(default)]
    pub stdout: Option<Bytes>,
    /// Canned stderr.
    #[serde(default)]
    pub stderr: Option<Bytes>,
    /// Canned exit code.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Run the real command (spies).
    #[serde(default)]
    pub passthrough: bool,
    /// A Unix socket that answers each call.
    #[serde(default)]
    pub callback: Option<PathBuf>,
    /// Exactly this many calls.
    #[serde(default)]
    pub times: Option<u64>,
    /// At least this many calls.
    #[serde(default)]
    pub at_least: Option<u64>,
    /// No call at all.
    #[serde(default)]
    pub never: bool,
    /// Takes part in the order check (in the order doubles were first declared ordered).
    #[serde(default)]
    pub ordered: bool,
    /// Record its calls to this fixture.
    #[serde(default)]
    pub record: Option<PathBuf>,
    /// Answer from this fixture.
    #[serde(default)]
    pub replay: Option<PathBuf>,
    /// `strict` (default) or `fuzzy`.
    #[serde(default)]
    pub replay_mode: Option<String>,
    /// The test that records (a pytest node id), for the fixtures' metadata.
    #[serde(default)]
    pub recorded_by: Option<String>,
}

/// A comparator from its JSON form.
pub fn comparator(value: &Value) -> Result<Comparator, String> {
    let object = match value {
        Value::String(text) => return Ok(Comparator::from(text.as_str())),
        Value::Object(object) => object,
        other => {
            return Err(format!(
                "{other} is not an argument: give a string or a comparator object"
            ));
        }
    };
    let mut entries = object.iter();
    let (Some((key, inner)), None) = (entries.next(), entries.next()) else {
        return Err("a comparator object has exactly one key".to_string());
    };
    let text =
        || inner.as_str().map(str::to_string).ok_or_else(|| format!("`{key}` takes a string"));
    match key.as_str() {
        "any" => Ok(Comparator::Any),
        "is_a" => {
            let name = text()?;
            Kind::parse(&name)
                .map(Comparator::IsA)
                .ok_or_else(|| format!("is_a: `{name}` is not int, float, bool or path"))
        }
        "regex" => Comparator::regex(&text()?).map_err(|e| format!("regex: {e}")),
        "contains" => Ok(Comparator::Contains(text()?)),
        "starts_with" => Ok(Comparator::StartsWith(text()?)),
        "equals" => Ok(Comparator::from(text()?)),
        other => Err(format!("unknown comparator `{other}`")),
    }
}

/// What a callback socket receives for each call.
#[derive(Debug, serde::Serialize)]
struct CallbackRequest<'a> {
    command: &'a str,
    args: &'a [Bytes],
    stdin: Option<&'a Bytes>,
    env: &'a BTreeMap<String, String>,
    cwd: &'a str,
}

/// What a callback socket answers.
#[derive(Debug, Deserialize)]
struct CallbackReply {
    #[serde(default)]
    stdout: Bytes,
    #[serde(default)]
    stderr: Bytes,
    #[serde(default)]
    exit_code: i32,
    #[serde(default)]
    error: Option<String>,
}

/// A handler that asks the callback socket at `path`.
pub fn callback_handler(path: PathBuf) -> Handler {
    std::sync::Arc::new(move |call: &Call| {
        let mut stream = UnixStream::connect(&path)
            .map_err(|e| format!("cannot reach the callback at {}: {e}", path.display()))?;
        let request = CallbackRequest {
            command: &call.command,
            args: &call.args,
            stdin: call.stdin.as_ref(),
            env: &call.env,
            cwd: &call.cwd,
        };
        let body = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
        stream.write_all(&body).map_err(|e| format!("callback: {e}"))?;
        stream.shutdown(std::net::Shutdown::Write).map_err(|e| format!("callback: {e}"))?;
        let reply: CallbackReply =
            crate::protocol::receive(&mut stream).map_err(|e| format!("callback: {e}"))?;
        match reply.error {
            Some(error) => Err(error),
            None => Ok(Response::new(reply.stdout, reply.stderr, reply.exit_code)),
        }
    })
}

impl DoubleJson {
    /// The kind.
    pub fn kind(&self) -> Result<DoubleKind, String> {
        match self.kind.as_str() {
            "stub" => Ok(DoubleKind::Stub),
            "mock" => Ok(DoubleKind::Mock),
            "spy" => Ok(DoubleKind::Spy),
            other => Err(format!("kind `{other}` is not stub, mock or spy")),
        }
    }

    /// The replay mode.
    pub fn mode(&self) -> Result<Mode, String> {
        match self.replay_mode.as_deref() {
            None | Some("strict") => Ok(Mode::Strict),
            Some("fuzzy") => Ok(Mode::Fuzzy),
            Some(other) => Err(format!("replay_mode `{other}` is not strict or fuzzy")),
        }
    }

    /// Fills `spec` (index, kind and command already set) from this description.
    pub fn apply(&self, spec: &mut DoubleSpec) -> Result<(), String> {
        spec.args = match &self.args {
            Some(args) => Some(args.iter().map(comparator).collect::<Result<_, _>>()?),
            None => None,
        };
        spec.stdin = self.stdin.as_ref().map(comparator).transpose()?;
        spec.env = self.env.clone();
        let canned = self.stdout.is_some() || self.stderr.is_some() || self.exit_code.is_some();
        if [canned, self.passthrough, self.callback.is_some()].iter().filter(|c| **c).count() > 1 {
            return Err("a double answers one way: canned output, passthrough, or callback".into());
        }
        if self.passthrough && spec.kind != DoubleKind::Spy {
            return Err("passthrough is for spies".into());
        }
        spec.behaviour = if self.passthrough {
            Behaviour::Passthrough
        } else if let Some(path) = &self.callback {
            Behaviour::Run(callback_handler(path.clone()))
        } else {
            Behaviour::Respond(Response::new(
                self.stdout.clone().unwrap_or_default(),
                self.stderr.clone().unwrap_or_default(),
                self.exit_code.unwrap_or(0),
            ))
        };
        spec.times = match (self.times, self.at_least, self.never) {
            (Some(n), None, false) => Some(Times::Exactly(n)),
            (None, Some(n), false) => Some(Times::AtLeast(n)),
            (None, None, true) => Some(Times::Exactly(0)),
            (None, None, false) => None,
            _ => return Err("give one of times, at_least and never".into()),
        };
        spec.record_to = self.record.clone();
        Ok(())
    }
}

/// Declares (`index: None`) or changes a double described as data, for a
/// harness talking over the socket.
pub(crate) fn configure(
    shared: &Shared,
    ensure_shim: &dyn Fn(&str) -> Result<(), String>,
    index: Option<usize>,
    double: serde_json::Value,
) -> Result<usize, String> {
    let json: crate::spec::DoubleJson =
        serde_json::from_value(double).map_err(|e| format!("bad double: {e}"))?;
    let kind = json.kind()?;
    ensure_shim(&json.command)?;
    let replay = match &json.replay {
        Some(path) => Some((
            crate::fixture::Fixture::load(path).map_err(|e| e.to_string())?.0,
            path.clone(),
            json.mode()?,
        )),
        None => None,
    };
    let mut state = lock(shared);
    if let Some(path) = &json.record {
        state.recorded.entry(path.clone()).or_default();
    }
    if let Some(who) = &json.recorded_by {
        state.recorded_by = Some(who.clone());
    }
    let index = match index {
        Some(index) => {
            let spec = &state.doubles.get(index).ok_or_else(|| format!("no double {index}"))?.spec;
            if spec.kind != kind || spec.command != json.command {
                return Err(format!(
                    "double {index} is a {} of {}, not a {} of {}",
                    spec.kind.as_str(),
                    spec.command,
                    kind.as_str(),
                    json.command
                ));
            }
            index
        }
        None => state.add(kind, &json.command),
    };
    let mut spec = state.doubles[index].spec.clone();
    json.apply(&mut spec)?;
    state.doubles[index].spec = spec;
    if json.ordered != state.ordered.contains(&index) {
        state.set_ordered(index, json.ordered);
    }
    if let Some((fixture, path, mode)) = replay {
        let name = path.display().to_string();
        if !state
            .replays
            .iter()
            .any(|r| r.name == name && r.only.as_deref() == Some(json.command.as_str()))
        {
            let scrubber = state.scrubber.clone();
            let only = Some(json.command.clone());
            state.replays.push(ReplaySet::new(name, fixture, mode, only, scrubber));
        }
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_described_double_becomes_a_spec() {
        let json: DoubleJson = serde_json::from_str(
            r#"{"kind":"mock","command":"git","args":["push",{"regex":"^v\\d"}],"stdout":"ok\n","times":2,"ordered":true}"#,
        )
        .expect("parses");
        let mut spec = DoubleSpec::new(0, json.kind().expect("kind"), &json.command);
        json.apply(&mut spec).expect("applies");
        assert_eq!(spec.describe(), "git('push', Regex(\"^v\\d\"))");
        assert_eq!(spec.times, Some(Times::Exactly(2)));
    }

    #[test]
    fn contradictions_are_refused() {
        let json: DoubleJson =
            serde_json::from_str(r#"{"kind":"mock","command":"git","passthrough":true}"#)
                .expect("parses");
        let mut spec = DoubleSpec::new(0, DoubleKind::Mock, "git");
        assert_eq!(json.apply(&mut spec), Err("passthrough is for spies".to_string()));
        let bad = serde_json::from_str::<DoubleJson>(r#"{"kind":"mock","command":"git","arg":[]}"#);
        assert!(bad.is_err());
    }
}
