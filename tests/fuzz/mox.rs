//! Target `mox`: what noot-mox decodes from other processes and from disk.
//! Requests and replies of the shim protocol ([`noot_mox::protocol`])
//! decode or are refused; a live controller sent any bytes over its socket
//! answers with a reply or nothing and goes on answering; a shim reads any
//! answer as a reply or an error; doubles declared as data are applied or
//! refused; a fixture file ([`noot_mox::fixture::Fixture::parse`], noot's
//! format and cmd-mox's) is refused naming the file and the field, or read,
//! and then saved and read back to the same fixture.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::{any_bytes, edited, fuzz, json_scalar, tokens};
use noot_mox::double::DoubleSpec;
use noot_mox::fixture::{Fixture, FixtureError};
use noot_mox::protocol::{ReplyEnvelope, RequestEnvelope};
use noot_mox::spec::DoubleJson;
use noot_mox::{Backend, Mox};

/// JSON's syntax and the protocol's, fixtures' and doubles' keys. (Not
/// `record`: a declared double would then write a fixture where it says.)
#[rustfmt::skip]
const DICTIONARY: &[&str] = &[
    "{", "}", "[", "]", ":", ",", "\"", "\\u0000", "\\ud800", "null", "true", "1e400", "-1",
    "18446744073709551616", "\"protocol\"", "1", "2", "\"type\"", "\"invoke\"",
    "\"passthrough_result\"", "\"verify\"", "\"journal\"", "\"configure\"", "\"inspect\"",
    "\"index\"", "\"double\"", "\"command\"", "\"git\"", "\"args\"", "\"stdin\"", "\"env\"",
    "\"cwd\"", "\"pid\"", "\"id\"", "\"stdout\"", "\"stderr\"", "\"exit_code\"", "\"base64\"",
    "\"/w==\"", "\"!!\"", "\"kind\"", "\"stub\"", "\"mock\"", "\"spy\"", "\"regex\"", "\"(\"",
    "\"any\"", "\"is_a\"", "\"times\"", "\"at_least\"", "\"never\"", "\"ordered\"",
    "\"schema_version\"", "\"metadata\"", "\"recordings\"", "\"sequence\"", "\"scrubbing\"",
    "\"version\"", "\"1.0\"", "\"repeatable\"", "\"duration_ms\"", "\"replay_mode\"",
];

/// A request a shim or a harness might send, with values of any type.
fn message() -> impl Strategy<Value = Vec<u8>> {
    let scalar = prop_oneof![
        6 => json_scalar(),
        1 => Just(json!({"base64": "/w=="})),
        1 => Just(json!({"base64": "!!"})),
        1 => Just(json!({"regex": "a{1000}{1000}"})),
        1 => Just(json!(["push", {"any": true}])),
    ];
    let kind = prop::sample::select(
        &["invoke", "passthrough_result", "verify", "journal", "configure", "inspect", "nope"][..],
    );
    let keys = prop::sample::select(
        &[
            "command",
            "args",
            "stdin",
            "env",
            "cwd",
            "pid",
            "id",
            "stdout",
            "stderr",
            "exit_code",
            "index",
            "kind",
            "times",
            "at_least",
            "never",
            "ordered",
            "passthrough",
            "duration_ms",
            "truncated",
        ][..],
    );
    (
        prop::sample::select(&[1u64, 1, 1, 0, 2][..]),
        kind,
        prop::collection::btree_map(keys.clone(), scalar.clone(), 0..6),
        prop::collection::btree_map(keys, scalar, 0..6),
    )
        .prop_map(|(protocol, kind, fields, double)| {
            let mut message = json!({"protocol": protocol, "type": kind});
            for (key, value) in fields {
                message[key] = value;
            }
            if kind == "configure" {
                let mut double: serde_json::Map<String, Value> =
                    double.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                double.insert("kind".into(), json!("stub"));
                double.entry("command").or_insert(json!("git"));
                message["double"] = Value::Object(double);
            }
            serde_json::to_vec(&message).unwrap_or_default()
        })
}

/// A fixture of the right shape with values of any kind.
fn fixture_document() -> impl Strategy<Value = Vec<u8>> {
    let recording = (
        prop_oneof![
            Just(json!(0)),
            Just(json!(1)),
            Just(json!(2)),
            any::<u64>().prop_map(Value::from),
            Just(json!(-1))
        ],
        prop::sample::select(&["git", "", "a/b", "..", "x y", "é", "-rf"][..]),
        prop::collection::vec(
            prop_oneof!["\\PC{0,6}".prop_map(Value::from), Just(json!({"base64": "/w=="}))],
            0..3,
        ),
        any::<i32>(),
        any::<bool>(),
    )
        .prop_map(|(sequence, command, args, exit_code, repeatable)| {
            json!({"sequence": sequence, "command": command, "args": args, "stdout": "out",
                   "exit_code": exit_code, "repeatable": repeatable, "extra_key": [1, {"x": null}]})
        });
    (any::<bool>(), prop::collection::vec(recording, 0..4)).prop_map(|(cmd_mox, recordings)| {
        let document = if cmd_mox {
            json!({"version": "1.0", "metadata": {"created": "2024-01-01"}, "recordings": recordings})
        } else {
            json!({"schema_version": 1, "metadata": {"recorded_by": "t", "future": 1},
                   "recordings": recordings, "scrubbing": {"scrubbers": ["default"]}, "unknown": true})
        };
        serde_json::to_vec_pretty(&document).unwrap_or_default()
    })
}

fn inputs() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => any_bytes(256),
        3 => tokens(DICTIONARY, 40),
        3 => message(),
        2 => fixture_document(),
        3 => edited("mox", &[]),
    ]
}

fn fixture_reads_back_or_names_the_file(bytes: &[u8]) -> Result<(), String> {
    let path = Path::new("/fixtures/f.json");
    match Fixture::parse(path, bytes) {
        Ok((fixture, _)) => {
            let text =
                fixture.to_json().map_err(|e| format!("a read fixture does not save: {e}"))?;
            let (again, _) = Fixture::parse(path, text.as_bytes())
                .map_err(|e| format!("a saved fixture does not read back: {e}"))?;
            if again != fixture {
                return Err(format!("saved and read back, the fixture changed:\n{text}"));
            }
            Ok(())
        }
        Err(FixtureError::Invalid { path: at, field, .. }) => {
            if at != "/fixtures/f.json" || field.is_empty() {
                return Err(format!("an error names {at:?}, field {field:?}"));
            }
            Ok(())
        }
        Err(other) => Err(format!("reading from bytes gave {other}")),
    }
}

fn doubles_apply_or_refuse(bytes: &[u8]) {
    let Ok(json) = serde_json::from_slice::<DoubleJson>(bytes) else { return };
    let Ok(kind) = json.kind() else { return };
    let _ = json.mode();
    let mut spec = DoubleSpec::new(0, kind, &json.command);
    let _ = json.apply(&mut spec);
}

/// The controller the cases talk to, and how many cases it served.
type Controller = Mutex<Option<(Mox, u32)>>;

/// The test's controller, made afresh every so often so the doubles that
/// requests declare do not pile up.
fn controller(shared: &Controller) -> std::sync::MutexGuard<'_, Option<(Mox, u32)>> {
    let mut guard = shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if guard.as_ref().is_none_or(|(_, uses)| *uses >= 500) {
        retire(guard.take());
        let mox = Mox::builder()
            .backend(Backend::Native)
            .launcher("/bin/true")
            .max_journal_entries(50)
            .timeout(Duration::from_secs(2))
            .build();
        *guard = mox.ok().map(|m| (m, 0));
    }
    if let Some((_, uses)) = guard.as_mut() {
        *uses += 1;
    }
    guard
}

/// Ends a controller: verified (its verdict means nothing here), as a
/// controller dropped unverified panics.
fn retire(controller: Option<(Mox, u32)>) {
    if let Some((mox, _)) = controller {
        let _ = mox.verify();
    }
}

/// Sends `bytes` as one request; the answer, decoded, if there was one.
fn exchange(socket: &Path, bytes: &[u8]) -> Result<Option<ReplyEnvelope>, String> {
    let mut stream = UnixStream::connect(socket).map_err(|e| format!("cannot connect: {e}"))?;
    let limit = Some(Duration::from_secs(10));
    stream.set_read_timeout(limit).map_err(|e| e.to_string())?;
    stream.set_write_timeout(limit).map_err(|e| e.to_string())?;
    // The controller may answer before it has read everything (a bad
    // version): a write it cut short is not a failure.
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| format!("no answer: {e}"))?;
    if answer.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(&answer)
        .map(Some)
        .map_err(|e| format!("an answer that is no reply ({e}): {}", crate::shown(&answer)))
}

fn controller_answers_and_survives(shared: &Controller, bytes: &[u8]) -> Result<(), String> {
    let guard = controller(shared);
    let Some((mox, _)) = guard.as_ref() else { return Err("no controller".into()) };
    let socket = mox.socket_path().to_path_buf();
    let _ = exchange(&socket, bytes)?;
    match exchange(&socket, br#"{"protocol":1,"type":"journal"}"#)? {
        Some(ReplyEnvelope { reply: noot_mox::protocol::Reply::Journal { .. }, .. }) => Ok(()),
        other => Err(format!("after that request the controller answers {other:?}")),
    }
}

/// The shim's side: whatever a controller answers, [`client::exchange`]
/// gives a reply or an error.
///
/// [`client::exchange`]: noot_mox::client::exchange
fn shim_reads_any_answer(bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::net::UnixListener;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let socket = dir.path().join("controller.sock");
    let listener = UnixListener::bind(&socket).map_err(|e| e.to_string())?;
    let answer = bytes.to_vec();
    let controller = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = Vec::new();
            let _ = stream.read_to_end(&mut request);
            let _ = stream.write_all(&answer);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let _ = noot_mox::client::exchange(&socket, deadline, noot_mox::protocol::Request::Journal);
    controller.join().map_err(|_| "the fake controller panicked".to_string())
}

#[test]
fn mox_messages_and_fixtures_decode_or_are_refused() {
    let shared = Controller::default();
    fuzz("mox", 400, inputs(), |bytes| {
        let _ = serde_json::from_slice::<RequestEnvelope>(bytes);
        let _ = serde_json::from_slice::<ReplyEnvelope>(bytes);
        doubles_apply_or_refuse(bytes);
        if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(bytes) {
            for value in object.values() {
                let _ = noot_mox::spec::comparator(value);
            }
        }
        fixture_reads_back_or_names_the_file(bytes)?;
        shim_reads_any_answer(bytes)?;
        controller_answers_and_survives(&shared, bytes)
    });
    retire(shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take());
}
