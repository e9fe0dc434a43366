//! What a mutant is tested with: its tests, fastest first, and what the
//! runner needs to know about them. Each language's stats run chooses
//! them (`lang::python::selection`, `lang::rust::stats`); execution,
//! keys and results only read them.

/// The tests chosen for one mutant.
#[derive(Debug, Clone, Default)]
pub struct Selected {
    /// pytest arguments, fastest first.
    pub tests: Vec<String>,
    /// Their node ids, same order.
    pub node_ids: Vec<String>,
    /// Sum of their baseline durations, in ms.
    pub baseline_ms: u64,
    /// Reached at import time: needs a fresh process.
    pub fresh: bool,
    /// How many leading tests call the function while they run.
    pub call_time_tests: u32,
    /// A fresh import under the mutant may be compared with one without
    /// it (see `lang::python::hints`).
    pub import_check: bool,
    /// Variables a test process needs to run this mutant, for runners
    /// that do not know the language (Rust: `NOOT_MUTANT`, its switch).
    pub env: Vec<(String, String)>,
    /// Per test binary, the folder its tests run in (Rust: the binary's
    /// package, as under `cargo test`).
    pub dirs: Vec<(String, String)>,
}

impl Selected {
    /// The runner's hints for this selection, as `MutantJob::hints_json`:
    /// `import_check` (Python), `env` and `dirs` (objects of strings).
    pub fn hints_json(&self) -> String {
        let mut hints = serde_json::Map::new();
        if self.import_check {
            hints.insert("import_check".into(), true.into());
        }
        let object = |pairs: &[(String, String)]| {
            serde_json::Value::Object(
                pairs.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect(),
            )
        };
        if !self.env.is_empty() {
            hints.insert("env".into(), object(&self.env));
        }
        if !self.dirs.is_empty() {
            hints.insert("dirs".into(), object(&self.dirs));
        }
        serde_json::Value::Object(hints).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_one_json_object_and_empty_without_any() {
        assert_eq!(Selected::default().hints_json(), "{}");
        let python = Selected { import_check: true, ..Selected::default() };
        assert_eq!(python.hints_json(), r#"{"import_check":true}"#);
        let rust = Selected {
            env: vec![("NOOT_MUTANT".into(), "17".into())],
            dirs: vec![("/t/deps/app-1".into(), "/m/app".into())],
            ..Selected::default()
        };
        assert_eq!(
            rust.hints_json(),
            r#"{"env":{"NOOT_MUTANT":"17"},"dirs":{"/t/deps/app-1":"/m/app"}}"#
        );
    }
}
