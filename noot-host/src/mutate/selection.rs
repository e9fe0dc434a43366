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
    /// What only one language's runners need, set by that language and
    /// handed on as `MutantJob::hints_json`: Python's `import_check` (see
    /// `lang::python::hints`), Rust's `env` (`NOOT_MUTANT`, its switch)
    /// and `dirs` (per test binary, the folder its tests run in).
    pub hints: serde_json::Map<String, serde_json::Value>,
}

impl Selected {
    /// The runner's hints for this selection, as `MutantJob::hints_json`:
    /// one JSON object, `{}` without any.
    pub fn hints_json(&self) -> String {
        serde_json::Value::Object(self.hints.clone()).to_string()
    }
}

/// `{"k": "v", …}` for a hint whose value is an object of strings.
pub fn string_object<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> serde_json::Value {
    serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v.into())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_one_json_object_and_empty_without_any() {
        assert_eq!(Selected::default().hints_json(), "{}");
        let mut rust = Selected::default();
        rust.hints.insert("env".into(), string_object([("NOOT_MUTANT", "17")]));
        rust.hints.insert("dirs".into(), string_object([("/t/deps/app-1", "/m/app")]));
        assert_eq!(
            rust.hints_json(),
            r#"{"env":{"NOOT_MUTANT":"17"},"dirs":{"/t/deps/app-1":"/m/app"}}"#
        );
    }
}
