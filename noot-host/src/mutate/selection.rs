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
}

impl Selected {
    /// The runner's hints for this selection, as `MutantJob::hints_json`.
    pub fn hints_json(&self) -> String {
        if self.import_check { r#"{"import_check":true}"#.into() } else { "{}".into() }
    }
}
