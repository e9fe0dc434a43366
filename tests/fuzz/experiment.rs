//! Target `experiment`: what an experiment reads before it runs anything.
//! An `[experiment.NAME]` table (through [`noot::config::load`]) and a
//! config pool file in each format noot reads (TOML, YAML, JSON, through
//! [`noot::experiment::pool::load`]) give a pool of variants with unique
//! ids, or an error located in the file at fault; command templates,
//! variant selectors and stored timestamps parse or are refused, never
//! with a panic.

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

use crate::config::{KEYS, toml_value};
use crate::{EmptyEnv, MemFs, any_bytes, edited, fuzz, json_scalar, located_in, tokens};
use noot::config::{CliOverrides, ConfigError, load};
use noot::experiment::pool::{self, Pool};
use noot::experiment::template::Template;

const ROOT: &str = "/p";
const NOOT_TOML: &str = "/p/noot.toml";

/// The tokens of YAML, JSON and TOML, and the keys of an experiment table.
#[rustfmt::skip]
const DICTIONARY: &[&str] = &[
    "{", "}", "[", "]", ":", ": ", ",", "-", "- ", "\n", "  ", "\"", "'", "&a ", "*a", "<<: ",
    "!!binary ", "!!str ", "!!float ", "---", "...", "? ", "|", ">", "~", "null", "true", "1e400",
    "-0", "0x1f", ".inf", ".nan", "9223372036854775808", "model", "t", "a.b", "=", "#", "command",
    "strategy", "configs", "expand", "primary", "compare", "timeout", "tail_bytes",
    "[experiment.e.expand]", "\"{model}\"", "\"{{\"", "\"{a.b}\"", "\"c.json\"", "\"c/\"",
    "\"m=s\"", "\\u0000", "\u{feff}",
];

/// A config value: objects and lists of anything JSON holds.
fn json_value() -> impl Strategy<Value = Value> {
    json_scalar().prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop::sample::select(&["model", "t", "a", "b", "", "x.y", "é"][..])
                    .prop_map(str::to_string),
                inner,
                0..4,
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A pool file's text: valid data of any shape in one of the formats,
/// tagged with the extension it is read as.
fn pool_document() -> impl Strategy<Value = Vec<u8>> {
    (json_value(), 0..3usize).prop_map(|(value, format)| {
        let text = match format {
            0 => serde_json::to_string_pretty(&value).unwrap_or_default(),
            1 => serde_yaml_ng::to_string(&value).unwrap_or_default(),
            _ => match &value {
                Value::Object(_) => toml::to_string(&value).unwrap_or_default(),
                _ => format!("v = {value}"),
            },
        };
        text.into_bytes()
    })
}

/// An experiment table's body, of noot's keys with values of any type.
fn table_body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::btree_map(prop::sample::select(KEYS), toml_value(), 0..6).prop_map(|pairs| {
        pairs.into_iter().map(|(k, v)| format!("{k} = {v}\n")).collect::<String>().into_bytes()
    })
}

fn inputs() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => any_bytes(256),
        3 => tokens(DICTIONARY, 40),
        3 => pool_document(),
        2 => table_body(),
        3 => edited("experiment", &[]),
    ]
}

/// Checks a loaded pool: variants, each id once, the primary among them.
fn sound(pool: &Pool) -> Result<(), String> {
    let mut ids: Vec<&str> = pool.variants.iter().map(|v| v.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    if pool.variants.is_empty() || ids.len() != pool.variants.len() {
        return Err(format!("{} variants, {} ids", pool.variants.len(), ids.len()));
    }
    if let Some(primary) = &pool.primary {
        if pool.get(primary).is_none() {
            return Err(format!("primary {primary} is not in the pool"));
        }
    }
    Ok(())
}

/// An error from a pool: located in the pool file or in noot.toml.
fn located(error: &ConfigError, files: &[(&str, &[u8])]) -> Result<(), String> {
    let reasons: Vec<String> =
        files.iter().filter_map(|(path, text)| located_in(error, path, text).err()).collect();
    if reasons.len() < files.len() { Ok(()) } else { Err(reasons.join("; ")) }
}

fn pool_of(files: &[(&str, &[u8])]) -> Result<(), String> {
    let fs = MemFs::with(files);
    let noot_toml = files[0].1;
    let config = match load(&fs, &EmptyEnv, &CliOverrides::default()) {
        Ok(config) => config,
        Err(error) => return located_in(&error, NOOT_TOML, noot_toml),
    };
    let Some(settings) = config.experiments.get("e") else { return Ok(()) };
    match pool::load(&fs, Path::new(ROOT), "e", settings) {
        Ok(pool) => {
            sound(&pool)?;
            for variant in &pool.variants {
                if pool.select(&variant.id).map(|v| &v.id) != Ok(&variant.id) {
                    return Err(format!("variant {} is not selected by its own id", variant.id));
                }
            }
            Ok(())
        }
        Err(error) => located(&error, files),
    }
}

fn pools_load_or_locate(bytes: &[u8]) -> Result<(), String> {
    for extension in ["json", "yaml", "toml"] {
        let pool_path = format!("/p/c.{extension}");
        let table = format!(
            "[experiment.e]\ncommand = [\"run\", \"{{model}}\"]\nconfigs = [\"c.{extension}\"]\nprimary = \"model=s\"\n[experiment.e.expand]\nt = [1, 1.0, 2]\n"
        );
        pool_of(&[(NOOT_TOML, table.as_bytes()), (&pool_path, bytes)])?;
        let bare = format!("[experiment.e]\nconfigs = [\"c.{extension}\"]\n");
        pool_of(&[(NOOT_TOML, bare.as_bytes()), (&pool_path, bytes)])?;
    }
    // The bytes as the table itself, beside a pool file it may name.
    let mut table = b"[experiment.e]\n".to_vec();
    table.extend_from_slice(bytes);
    pool_of(&[(NOOT_TOML, &table), ("/p/c.json", b"[{\"model\": \"s\"}, {\"model\": \"l\"}]")])?;

    // Templates, selectors and timestamps from the same text.
    let text = String::from_utf8_lossy(bytes);
    if let Ok(template) = Template::parse(&text) {
        let _ = template.render(&serde_json::json!({"model": "s", "a": {"b": [1, 2]}}));
        let _ = template.fields().count();
    }
    let _ = noot::experiment::record::parse_rfc3339(&text);
    Ok(())
}

#[test]
fn experiment_tables_and_pools_load_or_say_where_they_are_wrong() {
    fuzz("experiment", 300, inputs(), pools_load_or_locate);
}
