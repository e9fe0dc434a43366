//! The stats run: the whole suite once against the mutated tree with
//! `MUTANT_UNDER_TEST=stats` and noot's pytest plugin, which records per
//! test the mutated functions it reaches and its duration. It doubles as
//! the baseline: if it fails, mutation testing means nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::ports::Procs;
use crate::engine::procs::{ProcStatus, SpawnRequest};
use crate::engine::store::Versioned;

/// One test, as the stats run saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestStats {
    /// What to pass to pytest to select it, relative to the mutated tree.
    pub arg: String,
    /// Its file, relative to the mutated tree.
    pub file: String,
    /// Seconds it took (setup, call, teardown).
    pub duration_s: f64,
    /// Keys of the mutated functions it reached.
    pub hits: Vec<String>,
}

/// The stats of one suite, as stored in `.noot/mutate/stats.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Digest of everything the stats depend on; equal → reuse.
    pub inputs: String,
    /// Tests by node id.
    pub tests: BTreeMap<String, TestStats>,
    /// Functions reached at import time (while collecting).
    pub collection_hits: Vec<String>,
    /// Wall-clock time of the whole run, in ms.
    pub wall_ms: u64,
}

impl Versioned for Stats {
    const WHAT: &'static str = "mutation stats";
    const SCHEMA_VERSION: u32 = 1;
}

/// What the pytest plugin writes.
#[derive(Debug, Deserialize)]
struct RawStats {
    exit_status: i32,
    tests: BTreeMap<String, TestStats>,
    #[serde(default)]
    failed: Vec<String>,
    #[serde(default)]
    collection_hits: Vec<String>,
    #[serde(default)]
    escaped_modules: BTreeMap<String, String>,
}

/// Why the stats run cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// pytest could not be started.
    #[error("cannot start `{program}`: {message}")]
    Spawn {
        /// The interpreter.
        program: String,
        /// Why.
        message: String,
    },
    /// The baseline failed.
    #[error("the test suite fails without any mutant ({} failing):\n{}\n\n{output}", failed.len(), failed.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n"))]
    BaselineFailed {
        /// Failing tests.
        failed: Vec<String>,
        /// The end of pytest's output.
        output: String,
    },
    /// pytest ended without the plugin writing stats.
    #[error("pytest exited with {status} before noot's stats plugin reported:\n{output}")]
    NoReport {
        /// How it ended.
        status: String,
        /// The end of pytest's output.
        output: String,
    },
    /// No test was collected.
    #[error("pytest collected no tests (test paths: {0})")]
    NoTests(String),
    /// The tests never reached the mutated tree.
    #[error("{0}")]
    NothingReached(String),
}

/// How to run the stats pass.
#[derive(Debug, Clone)]
pub struct StatsRun<'a> {
    /// The interpreter.
    pub python: &'a str,
    /// The mutated tree (the working directory).
    pub mutants_dir: &'a Path,
    /// The project root.
    pub root: &'a Path,
    /// pytest arguments (user args and test paths).
    pub args: Vec<String>,
    /// Environment (PYTHONPATH, …).
    pub env: Vec<(String, String)>,
    /// Where the plugin writes its report.
    pub report_path: &'a Path,
    /// The inputs digest to stamp on the result.
    pub inputs: String,
    /// Mutated modules (to explain a tree the tests did not import).
    pub mutated_modules: BTreeSet<String>,
}

/// Runs the suite once with the stats plugin.
pub fn run(procs: &dyn Procs, run: &StatsRun<'_>) -> Result<Stats, StatsError> {
    let _ = std::fs::remove_file(run.report_path);
    let mut args =
        vec!["-m".to_owned(), "pytest".to_owned(), "-p".to_owned(), "no:cacheprovider".to_owned()];
    args.extend(["-p".to_owned(), super::python::support::STATS_PLUGIN_MODULE.to_owned()]);
    args.extend(run.args.iter().cloned());
    let mut env = run.env.clone();
    env.push(("MUTANT_UNDER_TEST".into(), "stats".into()));
    env.push(("NOOT_STATS_FILE".into(), run.report_path.display().to_string()));
    env.push(("NOOT_PROJECT_DIR".into(), run.root.display().to_string()));
    env.push(("NOOT_MUTANTS_DIR".into(), run.mutants_dir.display().to_string()));
    let request = SpawnRequest {
        program: run.python.to_owned(),
        args,
        env,
        cwd: Some(run.mutants_dir.to_path_buf()),
        output_cap_bytes: 256 * 1024,
        ..SpawnRequest::default()
    };
    let spawn_error = |e: std::io::Error| StatsError::Spawn {
        program: run.python.to_owned(),
        message: e.to_string(),
    };
    let handle = procs.spawn(&request).map_err(spawn_error)?;
    let result = procs.wait(handle, None).map_err(spawn_error)?;
    let mut output = String::from_utf8_lossy(&result.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&result.stderr));
    let output = tail(&output, 6000);
    let raw: RawStats =
        match std::fs::read(run.report_path).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
            Some(raw) => raw,
            None => {
                let status = match result.status {
                    ProcStatus::Exited(code) => format!("exit code {code}"),
                    ProcStatus::Signaled(signal) => format!("signal {signal}"),
                    ProcStatus::TimedOut => "a timeout".into(),
                };
                return Err(StatsError::NoReport { status, output });
            }
        };
    if raw.exit_status == 5 || raw.tests.is_empty() {
        return Err(StatsError::NoTests(run.args.join(" ")));
    }
    if raw.exit_status != 0 || !raw.failed.is_empty() {
        return Err(StatsError::BaselineFailed { failed: raw.failed, output });
    }
    let reached = raw.tests.values().any(|t| !t.hits.is_empty()) || !raw.collection_hits.is_empty();
    if !reached {
        let escaped: Vec<String> = raw
            .escaped_modules
            .iter()
            .filter(|(name, _)| run.mutated_modules.contains(*name))
            .map(|(name, path)| format!("  {name} was imported from {path}"))
            .collect();
        let mut message = String::from(
            "no test reached any mutated function: the tests imported the original package instead of the mutated copy",
        );
        if !escaped.is_empty() {
            message.push_str(":\n");
            message.push_str(&escaped.join("\n"));
        }
        message.push_str(&format!(
            "\nhelp: noot puts {} first on PYTHONPATH; do not insert the project folder into sys.path in conftest.py or tests, \
             use pytest's `pythonpath = src` setting (kept inside the mutated tree), or a src/ layout installed with `pip install -e .`",
            run.mutants_dir.display()
        ));
        return Err(StatsError::NothingReached(message));
    }
    Ok(Stats {
        inputs: run.inputs.clone(),
        tests: raw.tests,
        collection_hits: raw.collection_hits,
        wall_ms: result.elapsed_ms,
    })
}

fn tail(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_owned();
    }
    let mut start = text.len() - cap;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}
