//! The config pool of an experiment: its variants, each with a canonical id.
//!
//! Variants come from the `configs` files (TOML, YAML or JSON; a folder
//! gives each such file in it, sorted; a JSON or YAML list gives one
//! variant per item), multiplied by the `expand` lists. With no files the
//! pool starts from one empty config, so `expand` alone is enough.
//!
//! A variant's id is the first 12 hex digits of the BLAKE3 of its canonical
//! JSON: keys sorted at every level and numbers normalised (`1.0` from TOML
//! and `1` from YAML are the same value), so the id is the same whichever
//! file format or key order wrote it. Two variants with one id are one
//! variant: the later is dropped with a warning naming both sources. The
//! label is for people: the fields whose values differ across the pool,
//! as `key=value`, else the file's name.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::experiment::{ExperimentSettings, toml_to_json};
use crate::config::{ConfigError, Location};
use crate::engine::ports::{Fs, PathKind};
use crate::experiment::record::Role;
use crate::experiment::template::{Template, leaves, lookup, scalar_text};
use noot_plugin_api::CallPlan;

/// The most config variants one experiment may have: each is a config in
/// memory, an id and a label, and a strategy weighs them all per call.
pub const MAX_VARIANTS: usize = 100_000;

/// Hex digits in a config id.
pub const ID_LEN: usize = 12;
/// File extensions read as configs.
pub const CONFIG_EXTENSIONS: &[&str] = &["toml", "yaml", "yml", "json"];
/// Characters of a label before it is shortened.
const LABEL_MAX: usize = 60;

/// One config variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Canonical id: short hex digest of the canonical JSON.
    pub id: String,
    /// Readable name.
    pub label: String,
    /// The config, keys sorted, values as written.
    pub config: Value,
    /// Where it came from: a file (and item), and the expanded fields.
    pub source: String,
}

/// The variants of an experiment, in pool order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pool {
    /// Variants, deduplicated, in file order then expansion order.
    pub variants: Vec<Variant>,
    /// Things worth saying that did not stop the load (duplicates).
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// The id `primary` selects, if the experiment names one.
    pub primary: Option<String>,
}

impl Pool {
    /// The variants a plan names, returned ones first, each once, in plan
    /// order; ids not in the pool are left out (the state already refused
    /// a plan naming one).
    pub fn planned<'a>(&'a self, plan: &CallPlan) -> Vec<(&'a Variant, Role)> {
        let mut planned: Vec<(&Variant, Role)> = Vec::new();
        for (ids, role) in [(&plan.primary, Role::Primary), (&plan.background, Role::Background)] {
            for variant in ids.iter().filter_map(|id| self.get(id.as_str())) {
                if !planned.iter().any(|(v, _)| v.id == variant.id) {
                    planned.push((variant, role));
                }
            }
        }
        planned
    }

    /// The ids, in pool order.
    pub fn ids(&self) -> Vec<String> {
        self.variants.iter().map(|v| v.id.clone()).collect()
    }

    /// The variant with this id.
    pub fn get(&self, id: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.id == id)
    }

    /// The one variant a selector names: an id (or a prefix of 4 or more
    /// digits), a label, or `key=value[,key=value…]`.
    pub fn select(&self, selector: &str) -> Result<&Variant, String> {
        let selector = selector.trim();
        let matches: Vec<&Variant> = if let Some(v) = self.get(selector) {
            vec![v]
        } else if let Some(v) = self.variants.iter().find(|v| v.label == selector) {
            vec![v]
        } else if selector.contains('=') {
            let pairs: Vec<(&str, &str)> = selector
                .split(',')
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (k.trim(), v.trim())
                })
                .collect();
            self.variants
                .iter()
                .filter(|variant| pairs.iter().all(|(k, v)| field_equals(&variant.config, k, v)))
                .collect()
        } else if selector.len() >= 4 && selector.chars().all(|c| c.is_ascii_hexdigit()) {
            self.variants.iter().filter(|v| v.id.starts_with(selector)).collect()
        } else {
            Vec::new()
        };
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(format!("`{selector}` selects no variant")),
            many => Err(format!(
                "`{selector}` selects {} variants ({}); it must select one",
                many.len(),
                many.iter().map(|v| v.label.as_str()).collect::<Vec<_>>().join("; ")
            )),
        }
    }
}

fn field_equals(config: &Value, path: &str, wanted: &str) -> bool {
    let Some(value) = lookup(config, path) else { return false };
    if scalar_text(value) == wanted {
        return true;
    }
    // `temperature=0.70` selects 0.7: compare as canonical values.
    serde_json::from_str::<Value>(wanted).is_ok_and(|parsed| canonical(&parsed) == canonical(value))
}

/// Sorted keys at every level; integral floats become integers.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        Value::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                // Exact below 2^53; above, f64 is integral anyway but not exact.
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    return Value::from(f as i64);
                }
            }
            value.clone()
        }
        other => other.clone(),
    }
}

/// Keys sorted at every level, values as written.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let ordered: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The id of a canonical config.
pub fn config_id(config: &Value) -> String {
    let text = serde_json::to_string(config).unwrap_or_default();
    blake3::hash(text.as_bytes()).to_hex()[..ID_LEN].to_string()
}

/// A file's configs, located errors for what cannot be parsed.
fn parse_file(path: &Path, text: &str) -> Result<Vec<Value>, ConfigError> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
    let parsed: Value = match extension {
        "toml" => {
            let table: toml::Table = toml::from_str(text).map_err(|e| {
                let offset = e.span().map_or(0, |s| s.start);
                ConfigError::at(Location::in_file(path, text, offset), e.message().trim())
            })?;
            toml_to_json(&toml::Value::Table(table))
        }
        "yaml" | "yml" => serde_yaml_ng::from_str(text).map_err(|e| {
            // From the byte offset, as for TOML: YAML's own line count also
            // breaks at `\r` and U+2028, and past the end at end of input.
            let offset = e.location().map_or(0, |l| l.index());
            let location = Location::in_file(path, text, offset);
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            ConfigError::at(location, message)
        })?,
        "json" => serde_json::from_str(text).map_err(|e| {
            let location = Location::File {
                path: path.to_path_buf(),
                line: e.line().max(1),
                column: e.column().max(1),
            };
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            ConfigError::at(location, message)
        })?,
        other => {
            return Err(ConfigError::at(
                Location::File { path: path.to_path_buf(), line: 1, column: 1 },
                format!("`.{other}` is not a config format noot reads"),
            )
            .with_help("use a .toml, .yaml, .yml or .json file"));
        }
    };
    let configs = match parsed {
        Value::Object(_) => vec![parsed],
        Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => items,
        Value::Null => vec![Value::Object(Map::new())],
        _ => {
            return Err(ConfigError::at(
                Location::File { path: path.to_path_buf(), line: 1, column: 1 },
                "a config file must hold a table of fields, or a list of them",
            )
            .with_help("write fields at the top level, such as `model = \"small\"`"));
        }
    };
    Ok(configs)
}

/// Sets a dotted path, creating tables on the way.
fn set_path(config: &mut Value, path: &str, value: Value) {
    let mut current = config;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let Value::Object(map) = current else { return };
        if keys.peek().is_none() {
            map.insert(key.to_string(), value);
            return;
        }
        current = map.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
}

fn labels(variants: &mut [Variant], stems: &[String]) {
    let flat: Vec<BTreeMap<String, String>> =
        variants.iter().map(|v| leaves(&v.config).into_iter().collect()).collect();
    // A field varies if its canonical value does: `1.0` and `1` are one value.
    let canon: Vec<BTreeMap<String, String>> =
        variants.iter().map(|v| leaves(&canonical(&v.config)).into_iter().collect()).collect();
    let keys: BTreeSet<&String> = canon.iter().flat_map(BTreeMap::keys).collect();
    let varying: Vec<&String> = keys
        .into_iter()
        .filter(|k| {
            let first = canon.first().and_then(|f| f.get(*k));
            canon.iter().any(|f| f.get(*k) != first)
        })
        .collect();
    for ((variant, fields), stem) in variants.iter_mut().zip(&flat).zip(stems) {
        let parts: Vec<String> =
            varying.iter().filter_map(|k| fields.get(*k).map(|v| format!("{k}={v}"))).collect();
        let label = if parts.is_empty() { stem.clone() } else { parts.join(" ") };
        variant.label = if label.chars().count() > LABEL_MAX {
            let cut: String = label.chars().take(LABEL_MAX - 1).collect();
            format!("{cut}…")
        } else {
            label
        };
    }
}

/// Loads the pool of experiment `name` and checks its command against it.
pub fn load(
    fs: &dyn Fs,
    root: &Path,
    name: &str,
    settings: &ExperimentSettings,
) -> Result<Pool, ConfigError> {
    let configs_at = || settings.location("configs").cloned();
    let located = |message: String, help: &str| ConfigError {
        location: configs_at(),
        message,
        help: Some(help.to_string()),
    };

    // (config, source, stem) in file order.
    let mut bases: Vec<(Value, String, String)> = Vec::new();
    for entry in &settings.configs {
        let path = root.join(entry);
        let files: Vec<PathBuf> = match fs.kind(&path) {
            Some(PathKind::Dir) => fs
                .read_dir(&path)
                .map_err(|e| {
                    located(
                        format!("cannot read {}: {e}", path.display()),
                        "fix the path in `configs`",
                    )
                })?
                .into_iter()
                .filter(|p| {
                    let hidden =
                        p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
                    let known = p
                        .extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| CONFIG_EXTENSIONS.contains(&e));
                    !hidden && known && fs.kind(p) == Some(PathKind::File)
                })
                .collect(),
            Some(_) => vec![path.clone()],
            None => {
                return Err(located(
                    format!("config file {} does not exist", path.display()),
                    "fix the path in `configs`; it is relative to the folder of noot.toml",
                ));
            }
        };
        if files.is_empty() {
            return Err(located(
                format!("{} holds no .toml, .yaml, .yml or .json config", path.display()),
                "add config files to the folder or remove it from `configs`",
            ));
        }
        for file in files {
            let bytes = fs.read(&file).map_err(|e| {
                located(
                    format!("cannot read config file {}: {e}", file.display()),
                    "fix the path or the file's permissions",
                )
            })?;
            let text = String::from_utf8(bytes).map_err(|_| {
                located(
                    format!("config file {} is not UTF-8 text", file.display()),
                    "save it as UTF-8",
                )
            })?;
            let parsed = parse_file(&file, &text)?;
            let relative = file.strip_prefix(root).unwrap_or(&file).display().to_string();
            let stem = file
                .file_stem()
                .map_or_else(|| relative.clone(), |s| s.to_string_lossy().into_owned());
            let several = parsed.len() > 1;
            for (index, config) in parsed.into_iter().enumerate() {
                let (source, stem) = if several {
                    (format!("{relative}#{}", index + 1), format!("{stem}#{}", index + 1))
                } else {
                    (relative.clone(), stem.clone())
                };
                bases.push((config, source, stem));
            }
        }
    }
    if bases.is_empty() {
        bases.push((Value::Object(Map::new()), "noot.toml".into(), "default".into()));
    }

    // Cartesian product with `expand`, first key outermost, bounded before
    // anything is built: ten lists of ten values are ten billion configs.
    let count = settings
        .expand
        .iter()
        .try_fold(bases.len(), |count, (_, values)| count.checked_mul(values.len()))
        .filter(|count| *count <= MAX_VARIANTS);
    if count.is_none() {
        let sizes: Vec<String> = settings
            .expand
            .iter()
            .map(|(key, values)| format!("{key}: {}", values.len()))
            .collect();
        return Err(ConfigError {
            location: settings.location("expand").or(settings.location("table")).cloned(),
            message: format!(
                "experiment `{name}` would have more than {MAX_VARIANTS} config variants \
                 ({} config(s) × {})",
                bases.len(),
                sizes.join(" × ")
            ),
            help: Some(
                "shorten the [experiment.NAME.expand] lists, or split them over several experiments"
                    .into(),
            ),
        });
    }
    let mut expanded = bases;
    for (key, values) in &settings.expand {
        let mut next = Vec::with_capacity(expanded.len() * values.len());
        for (config, source, stem) in &expanded {
            for value in values {
                let mut config = config.clone();
                set_path(&mut config, key, value.clone());
                let shown = scalar_text(value);
                next.push((config, format!("{source} {key}={shown}"), stem.clone()));
            }
        }
        expanded = next;
    }

    let mut variants: Vec<Variant> = Vec::new();
    let mut stems = Vec::new();
    let mut warnings = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (config, source, stem) in expanded {
        // The branch gets the values as written (`0.0` stays `0.0` in its
        // command line); only the id sees the canonical form.
        let config = sorted(&config);
        let id = config_id(&canonical(&config));
        if let Some(&first) = seen.get(&id) {
            warnings.push(format!(
                "experiment `{name}`: {source} is the same config as {} (id {id}); it runs once",
                variants[first].source
            ));
            continue;
        }
        seen.insert(id.clone(), variants.len());
        variants.push(Variant { id, label: String::new(), config, source });
        stems.push(stem);
    }
    labels(&mut variants, &stems);

    if variants.is_empty() {
        return Err(ConfigError {
            location: settings.location("table").cloned(),
            message: format!("experiment `{name}` has no config variants"),
            help: Some(
                "name config files in `configs` or lists in [experiment.NAME.expand]".into(),
            ),
        });
    }

    check_command(name, settings, &variants)?;
    let mut pool = Pool { variants, warnings, primary: None };
    if let Some(selector) = &settings.primary {
        let chosen = pool.select(selector).map_err(|message| ConfigError {
            location: settings.location("primary").cloned(),
            message: format!("primary: {message}"),
            help: Some(format!(
                "use a config id, a label, or key=value; the variants are: {}",
                pool.variants
                    .iter()
                    .map(|v| format!("{} ({})", v.label, v.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        })?;
        pool.primary = Some(chosen.id.clone());
    }
    Ok(pool)
}

/// Parses the command (checked when the configuration was read).
pub fn command_templates(settings: &ExperimentSettings) -> Vec<Template> {
    settings.command.iter().filter_map(|word| Template::parse(word).ok()).collect()
}

fn check_command(
    name: &str,
    settings: &ExperimentSettings,
    variants: &[Variant],
) -> Result<(), ConfigError> {
    let templates = command_templates(settings);
    for variant in variants {
        for field in templates.iter().flat_map(Template::fields) {
            if lookup(&variant.config, field).is_none() {
                let fields = leaves(&variant.config);
                let known: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
                return Err(ConfigError {
                    location: settings.location("command").cloned(),
                    message: format!(
                        "experiment `{name}`: the command reads `{{{field}}}`, but variant `{}` ({}) has no field `{field}`",
                        variant.label, variant.source
                    ),
                    help: Some(if known.is_empty() {
                        "the variant has no fields; add config files to `configs` or lists to `expand`".to_string()
                    } else {
                        format!(
                            "its fields are: {}; add `{field}` to it or to `expand`",
                            known.join(", ")
                        )
                    }),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CliOverrides;
    use crate::engine::fakes::{FakeEnv, MemFs};
    use serde_json::json;

    fn load_pool(toml: &str, files: &[(&str, &str)]) -> Result<Pool, ConfigError> {
        let fs = MemFs::default();
        fs.insert("/p/noot.toml", toml.as_bytes());
        for (path, text) in files {
            fs.insert(format!("/p/{path}"), text.as_bytes());
        }
        let env = FakeEnv { vars: Default::default(), cwd: "/p".into() };
        let config = crate::config::load(&fs, &env, &CliOverrides::default())?;
        load(&fs, Path::new("/p"), "e", &config.experiments["e"])
    }

    #[test]
    fn ids_ignore_key_order_number_spelling_and_file_format() {
        let a = canonical(&json!({"b": 1.0, "a": {"y": 2, "x": [1.0, "s"]}}));
        let b = canonical(&json!({"a": {"x": [1, "s"], "y": 2.0}, "b": 1}));
        assert_eq!(config_id(&a), config_id(&b));
        assert_eq!(config_id(&a).len(), ID_LEN);
        assert_ne!(
            config_id(&canonical(&json!({"b": 1.5}))),
            config_id(&canonical(&json!({"b": 1})))
        );
        let pool = load_pool(
            "[experiment.e]\nconfigs = [\"c/\"]\n",
            &[
                ("c/a.toml", "n = 1.0\nm = \"x\"\n"),
                ("c/b.yaml", "m: x\nn: 1\n"),
                ("c/c.json", r#"{"m": "y", "n": 1}"#),
            ],
        )
        .expect("loads");
        assert_eq!(pool.variants.len(), 2, "{pool:?}");
        assert_eq!(pool.warnings.len(), 1);
        assert!(
            pool.warnings[0].contains("c/b.yaml is the same config as c/a.toml"),
            "{:?}",
            pool.warnings
        );
        assert_eq!(pool.variants[0].config, json!({"m": "x", "n": 1.0}), "values as written");
        assert_eq!(
            pool.variants.iter().map(|v| v.label.as_str()).collect::<Vec<_>>(),
            ["m=x", "m=y"]
        );
    }

    #[test]
    fn expand_multiplies_every_file_and_lists_in_files_give_several_variants() {
        let pool = load_pool(
            "[experiment.e]\nconfigs = [\"many.json\"]\n[experiment.e.expand]\nt = [0.0, 0.5]\n\"opt.depth\" = [1, 2]\n",
            &[("many.json", r#"[{"model": "s"}, {"model": "l"}]"#)],
        )
        .expect("loads");
        assert_eq!(pool.variants.len(), 8);
        assert_eq!(pool.variants[0].source, "many.json#1 opt.depth=1 t=0.0");
        assert_eq!(pool.variants[0].config, json!({"model": "s", "opt": {"depth": 1}, "t": 0.0}));
        assert_eq!(pool.variants[0].label, "model=s opt.depth=1 t=0.0");
    }

    #[test]
    fn selectors_take_ids_prefixes_labels_and_key_values() {
        let pool = load_pool(
            "[experiment.e]\n[experiment.e.expand]\nm = [\"a\", \"b\"]\nt = [0.5, 1]\n",
            &[],
        )
        .expect("loads");
        let target = pool.variants[3].clone();
        assert_eq!(pool.select(&target.id).map(|v| v.id.clone()), Ok(target.id.clone()));
        assert_eq!(pool.select(&target.id[..6]).map(|v| v.id.clone()), Ok(target.id.clone()));
        assert_eq!(pool.select(&target.label).map(|v| v.id.clone()), Ok(target.id.clone()));
        assert_eq!(pool.select("m=b, t=1.0").map(|v| v.id.clone()), Ok(target.id.clone()));
        assert!(pool.select("m=b").expect_err("two").contains("selects 2 variants"));
        assert!(pool.select("m=z").expect_err("none").contains("selects no variant"));
    }

    #[test]
    fn an_empty_folder_and_a_list_of_scalars_are_refused() {
        let err = load_pool("[experiment.e]\nconfigs = [\"c/\"]\n", &[("c/readme.md", "x")])
            .expect_err("empty");
        assert!(err.to_string().contains("holds no .toml, .yaml, .yml or .json config"), "{err}");
        let err = load_pool("[experiment.e]\nconfigs = [\"x.json\"]\n", &[("x.json", "[1, 2]")])
            .expect_err("scalars");
        assert!(
            err.to_string().starts_with("/p/x.json:1:1: a config file must hold a table"),
            "{err}"
        );
        let err = load_pool(
            "[experiment.e]\nconfigs = [\"x.json\"]\n",
            &[("x.json", "{\n  \"a\": ,\n}")],
        )
        .expect_err("bad");
        assert!(err.to_string().starts_with("/p/x.json:2:8: "), "{err}");
        let err =
            load_pool("[experiment.e]\nconfigs = [\"x.yaml\"]\n", &[("x.yaml", "é: 1\nb: c: d\n")])
                .expect_err("bad");
        assert!(err.to_string().starts_with("/p/x.yaml:2:5: "), "{err}");
    }
}
