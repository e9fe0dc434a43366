//! Target `config`: `noot.toml`, and `[tool.noot]` in `pyproject.toml`,
//! through [`noot::config::load`]. Arbitrary bytes, TOML made of noot's own
//! keys with values of any type, and edited valid files all give a
//! configuration or an error located in the file (file:line:column, on a
//! line the file has), never a panic.

use proptest::prelude::*;

use crate::{EmptyEnv, MemFs, any_bytes, edited, fuzz, located_in, tokens};
use noot::config::{CliOverrides, load};

/// TOML's own syntax, and values noot's keys take or refuse.
#[rustfmt::skip]
const SYNTAX: &[&str] = &[
    " = ", "=", "[", "]", "[[", "]]", "{", "}", ",", ".", "#", "\n", "\"", "'", "\"\"\"", "'''",
    "\\u0000", "\\U0010FFFF", "\\", "0", "-1", "9223372036854775807", "-9223372036854775808",
    "9223372036854775808", "0x7f", "0o7", "0b1", "1e400", "-0.0", "inf", "-inf", "nan", "true",
    "false", "1979-05-27T07:32:00Z", "07:32:00", "1979-05-27", "\"default\"", "\"../x\"",
    "\".noot\"", "\"{model}\"", "\"{{\"", "\"}\"", "\"http://h\"", "\"jsonl\"", "\"mlflow\"",
    "\"stdout\"", "[]", "[1, \"a\"]", "{}", "{a = 1}", "\"\"", "[tool.noot]", "[project]",
];

/// The tables of a configuration (`""`: the top level).
#[rustfmt::skip]
const SECTIONS: &[&str] = &[
    "", "plugins", "scrub", "scrub.plugin.default", "mutate", "mutate.runner_options.x",
    "experiment.e", "experiment.e.expand", "experiment.e.log", "experiment.e.log.mlflow",
    "experiment.\"b a d\"", "mox", "mox.record_prefixes", "mox.shim_backend_options.native",
    "tool.noot", "tool.noot.mutate", "nope",
];

/// The keys of every table.
#[rustfmt::skip]
pub const KEYS: &[&str] = &[
    "jobs", "paths", "scrubbers", "exclude", "tests", "pytest_args", "runner",
    "timeout_multiplier", "timeout_floor", "mutants_dir", "python", "command", "strategy",
    "strategy_config", "primary", "configs", "expand", "cwd", "timeout", "shadow_timeout",
    "detach_shadows", "compare", "tail_bytes", "backends", "tracking_uri", "experiment_name",
    "shim_backend", "max_journal_entries", "record_env", "log", "mlflow", "x", "a.b",
    "\"quoted key\"",
];

/// A TOML value of any type, written as TOML.
pub fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|f| {
            let text = toml::Value::Float(f).to_string();
            if text.is_empty() { "0.0".to_string() } else { text }
        }),
        any::<bool>().prop_map(|b| b.to_string()),
        "\\PC{0,12}".prop_map(|s| toml::Value::String(s).to_string()),
        prop::sample::select(
            &[
                "\"default\"",
                "\"\"",
                "\".noot/mutants\"",
                "\"/abs\"",
                "\"../up\"",
                "\"{model}\"",
                "\"{a.b}\"",
                "\"{\"",
                "\"}}\"",
                "\"jsonl\"",
                "\"mlflow\"",
                "\"stdout\"",
                "\"none\"",
                "\"http://127.0.0.1:5000\"",
                "\"ftp://x\"",
                "1979-05-27T07:32:00Z",
                "07:32:00",
                "inf",
                "nan",
                "-inf",
                "0",
                "-1",
                "1e400",
            ][..]
        )
        .prop_map(str::to_string),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..4).prop_map(|pairs| {
                let mut seen = std::collections::BTreeSet::new();
                let body: Vec<String> = pairs
                    .into_iter()
                    .filter(|(k, _)| seen.insert(*k))
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

/// Well-formed TOML with noot's sections and keys, holding values of any
/// type: structured, but wrong in every way a person can be wrong.
pub fn toml_document() -> impl Strategy<Value = Vec<u8>> {
    let section = (
        prop::sample::select(SECTIONS),
        prop::collection::vec((prop::sample::select(KEYS), toml_value()), 0..5),
    );
    prop::collection::vec(section, 0..5).prop_map(|sections| {
        let mut text = String::new();
        let mut headers = std::collections::BTreeSet::new();
        for (header, pairs) in sections {
            if !headers.insert(header) {
                continue;
            }
            if !header.is_empty() {
                text.push_str(&format!("[{header}]\n"));
            } else if !text.is_empty() {
                continue;
            }
            let mut keys = std::collections::BTreeSet::new();
            for (key, value) in pairs {
                if keys.insert(key) {
                    text.push_str(&format!("{key} = {value}\n"));
                }
            }
        }
        text.into_bytes()
    })
}

/// `[section]` lines for [`SECTIONS`].
fn headers() -> Vec<&'static str> {
    SECTIONS.iter().map(|s| &*Box::leak(format!("[{s}]").into_boxed_str())).collect()
}

fn inputs() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => any_bytes(256),
        3 => tokens([SYNTAX, KEYS, &headers()].concat(), 40),
        4 => toml_document(),
        3 => edited("config", &[]),
    ]
}

/// `bytes` as `noot.toml`, and as `pyproject.toml` (alone and under a
/// `[tool.noot]` header): a configuration, or an error located in the file.
fn loads_or_locates(bytes: &[u8]) -> Result<(), String> {
    let mut pyproject = b"[project]\nname = \"x\"\n[tool.noot]\n".to_vec();
    pyproject.extend_from_slice(bytes);
    for (path, text) in [
        ("/p/noot.toml", bytes),
        ("/p/pyproject.toml", bytes),
        ("/p/pyproject.toml", &pyproject[..]),
    ] {
        let fs = MemFs::with(&[(path, text)]);
        match load(&fs, &EmptyEnv, &CliOverrides::default()) {
            Ok(config) => {
                if config.jobs == 0 {
                    return Err(format!("{path} gave jobs = 0"));
                }
            }
            Err(error) => located_in(&error, path, text)?,
        }
    }
    Ok(())
}

#[test]
fn configuration_files_load_or_say_where_they_are_wrong() {
    fuzz("config", 600, inputs(), loads_or_locates);
}
