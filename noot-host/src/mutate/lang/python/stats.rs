//! The stats run: the whole suite once against the mutated tree with
//! `MUTANT_UNDER_TEST=stats` and noot's pytest plugin, which records per
//! test the mutated functions it reaches and its duration. It doubles as
//! the baseline: if it fails, mutation testing means nothing.

use std::collections::BTreeMap;
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Digest of everything the stats depend on; equal → reuse.
    pub inputs: String,
    /// Tests by node id.
    pub tests: BTreeMap<String, TestStats>,
    /// Functions reached at import time (while collecting).
    pub collection_hits: Vec<String>,
    /// Per function reached while collecting, the modules whose import
    /// called it (`""`: called from no module body, e.g. a pytest hook).
    #[serde(default)]
    pub collection_importers: BTreeMap<String, Vec<String>>,
    /// Modules of the mutated tree imported while collecting, in order.
    #[serde(default)]
    pub collection_modules: Vec<String>,
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
    #[serde(default)]
    collection_importers: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    collection_modules: Vec<String>,
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
    /// pytest could not collect the tests, with no mutant active: the
    /// user's own code does not import.
    #[error(
        "pytest could not collect the tests without any mutant: your code fails to import\n\n{errors}\n\
         help: `{python} -m pytest` in the project shows the same error; fix it and run noot again \
         (if pytest passes there, noot's copy in {mutants_dir} is missing something: please report it)"
    )]
    CollectionFailed {
        /// pytest's report of the collection errors, pointing at the
        /// user's files.
        errors: String,
        /// The interpreter.
        python: String,
        /// The mutated tree.
        mutants_dir: String,
    },
    /// Tests imported mutated modules from outside the mutated tree.
    #[error("{0}")]
    Escaped(String),
    /// Nothing in the project has anything to mutate.
    #[error("{0}")]
    NoMutants(String),
    /// The suite passed without reaching a mutated function.
    #[error("{0}")]
    NothingReached(String),
}

impl From<StatsError> for crate::mutate::request::RunError {
    fn from(error: StatsError) -> Self {
        Self::Baseline(Box::new(error))
    }
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
    /// What the catalog holds, to say why nothing was reached.
    pub catalog: CatalogCounts,
}

/// How much there is to test, as the catalog found it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatalogCounts {
    /// Mutants.
    pub mutants: usize,
    /// Functions with at least one mutant.
    pub functions: usize,
    /// Modules analysed.
    pub modules: usize,
    /// Functions left alone (pragmas, excludes, unsupported kinds).
    pub skipped_functions: usize,
}

/// Runs the suite once with the stats plugin.
pub fn run(procs: &dyn Procs, run: &StatsRun<'_>) -> Result<Stats, StatsError> {
    let _ = std::fs::remove_file(run.report_path);
    let mut args =
        vec!["-m".to_owned(), "pytest".to_owned(), "-p".to_owned(), "no:cacheprovider".to_owned()];
    args.extend(["-p".to_owned(), super::support::STATS_PLUGIN_MODULE.to_owned()]);
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
    let output = crate::engine::text::tail(&output, 6000).to_owned();
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
    if raw.tests.is_empty() {
        // Exit 5 is pytest's "no tests collected"; anything else with no
        // test means collection failed (a syntax error in a module the tests
        // import): show pytest's own report, not "no tests".
        if raw.exit_status == 5 && raw.failed.is_empty() {
            return Err(StatsError::NoTests(run.args.join(" ")));
        }
        // The failing file is a verbatim copy of the user's: name theirs.
        let errors = collection_errors(&output).replace(
            &format!("{}{}", run.mutants_dir.display(), std::path::MAIN_SEPARATOR),
            &format!("{}{}", run.root.display(), std::path::MAIN_SEPARATOR),
        );
        return Err(StatsError::CollectionFailed {
            errors,
            python: run.python.to_owned(),
            mutants_dir: run.mutants_dir.display().to_string(),
        });
    }
    if raw.exit_status != 0 || !raw.failed.is_empty() {
        return Err(StatsError::BaselineFailed { failed: raw.failed, output });
    }
    let reached = raw.tests.values().any(|t| !t.hits.is_empty()) || !raw.collection_hits.is_empty();
    // An escaped module's mutants would never be active: whatever else was
    // reached, every verdict on them would be a silent "survived".
    if !raw.escaped_modules.is_empty() {
        return Err(StatsError::Escaped(escaped_message(
            &raw.escaped_modules,
            reached,
            run.mutants_dir,
        )));
    }
    if !reached {
        return Err(nothing_to_test(&run.catalog));
    }
    Ok(Stats {
        inputs: run.inputs.clone(),
        tests: raw.tests,
        collection_hits: raw.collection_hits,
        collection_importers: raw.collection_importers,
        collection_modules: raw.collection_modules,
        wall_ms: result.elapsed_ms,
    })
}

/// The message for tests that imported mutated modules from outside the
/// mutated tree: which, from where, and how to fix the path setup.
fn escaped_message(
    escaped: &BTreeMap<String, String>,
    reached: bool,
    mutants_dir: &Path,
) -> String {
    let mut message = if reached {
        format!(
            "the tests imported {} mutated module{} from your project instead of noot's mutated copy, \
             so {} mutants would never be active",
            escaped.len(),
            if escaped.len() == 1 { "" } else { "s" },
            if escaped.len() == 1 { "its" } else { "their" },
        )
    } else {
        "no test reached any mutated function: the tests imported the original package instead of the mutated copy".to_owned()
    };
    message.push_str(":\n");
    for (name, path) in escaped {
        message.push_str(&format!("  {name} was imported from {path}\n"));
    }
    message.push_str(&format!(
        "help: noot runs the tests in {} with its copy first on PYTHONPATH; something put your project's \
         own folder before it: remove the sys.path.insert/sys.path.append in conftest.py or the tests, \
         and use pytest's `pythonpath = [\"src\"]` setting (it resolves inside the mutated copy), \
         paths built from `__file__`, or an install with `pip install -e .`",
        mutants_dir.display()
    ));
    message
}

/// The suite passed and reached no mutated function, and nothing escaped:
/// either there is nothing to mutate or no test calls what there is.
fn nothing_to_test(catalog: &CatalogCounts) -> StatsError {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    if catalog.mutants == 0 {
        let skipped = if catalog.skipped_functions > 0 {
            format!(" ({} left alone)", plural(catalog.skipped_functions, "function", "functions"))
        } else {
            String::new()
        };
        return StatsError::NoMutants(format!(
            "0 mutants: noot found nothing to mutate in the {} it analysed{skipped}\n\
             help: check [mutate] paths (the package to mutate), [mutate] exclude (globs that may match \
             every file) and `# pragma: no mutate` comments (a marked def or block loses all of it); \
             `noot run --list` lists what noot found",
            plural(catalog.modules, "module", "modules"),
        ));
    }
    StatsError::NothingReached(format!(
        "{} in {}, and no test reaches any of them: the suite passed without calling a mutated function\n\
         help: check that the tests exercise the package noot mutates ([mutate] paths; `noot run --list` \
         lists the mutants) and that [mutate] tests (or pytest's testpaths) selects the tests that do",
        plural(catalog.mutants, "mutant", "mutants"),
        plural(catalog.functions, "function", "functions"),
    ))
}

/// pytest's "ERRORS" section (what failed to collect, and why), or the
/// end of its output when there is none.
fn collection_errors(output: &str) -> String {
    const MAX_LINES: usize = 60;
    let lines: Vec<&str> = output.lines().collect();
    let is_rule = |line: &str, title: &str| {
        line.starts_with('=') && line.trim_matches(|c| c == '=' || c == ' ') == title
    };
    let Some(start) = lines.iter().position(|l| is_rule(l, "ERRORS")) else {
        return output.trim_end().to_owned();
    };
    let mut section: Vec<&str> = Vec::new();
    let mut in_pytest_frame = false;
    for line in lines[start + 1..].iter().take_while(|l| !is_rule(l, "short test summary info")) {
        // A frame is its `file:line: in func` line and the indented source
        // lines under it; pytest's and importlib's own frames explain
        // nothing about the user's code.
        if !line.starts_with(' ') {
            in_pytest_frame = ["/_pytest/", "<frozen importlib", "/importlib/__init__.py"]
                .iter()
                .any(|marker| line.contains(marker));
        }
        if in_pytest_frame {
            continue;
        }
        // `____ ERROR collecting tests/x.py ____`, as wide as COLUMNS.
        let title = line.trim_matches('_').trim();
        section.push(if line.starts_with('_') && !title.is_empty() { title } else { line });
    }
    let mut text = section.iter().take(MAX_LINES).copied().collect::<Vec<_>>().join("\n");
    if section.len() > MAX_LINES {
        text.push_str(&format!("\n[… {} more lines]", section.len() - MAX_LINES));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_errors_keep_the_users_frames_and_drop_pytests() {
        let output = "\
==================================== ERRORS ====================================
____________________ ERROR collecting tests/test_x.py ____________________
/usr/lib/python3/site-packages/_pytest/python.py:528: in importtestmodule
    mod = import_path(
<frozen importlib._bootstrap>:1204: in _gcd_import
    ???
tests/test_x.py:1: in <module>
    from pkg import helper
E     File \"/p/src/pkg/helper.py\", line 1
E   SyntaxError: invalid syntax
=========================== short test summary info ============================
ERROR tests/test_x.py
";
        assert_eq!(
            collection_errors(output),
            "ERROR collecting tests/test_x.py\n\
             tests/test_x.py:1: in <module>\n    from pkg import helper\n\
             E     File \"/p/src/pkg/helper.py\", line 1\n\
             E   SyntaxError: invalid syntax"
        );
        assert_eq!(collection_errors("no section\n"), "no section");
    }

    #[test]
    fn nothing_to_test_says_which_case_it_is() {
        let none = CatalogCounts { modules: 2, skipped_functions: 1, ..CatalogCounts::default() };
        let message = nothing_to_test(&none).to_string();
        assert!(message.starts_with("0 mutants: "), "{message}");
        assert!(message.contains("2 modules") && message.contains("1 function left alone"));
        let some = CatalogCounts { mutants: 1, functions: 1, modules: 1, skipped_functions: 0 };
        let message = nothing_to_test(&some).to_string();
        assert!(
            message.starts_with("1 mutant in 1 function, and no test reaches any of them"),
            "{message}"
        );
    }

    #[test]
    fn escaped_modules_are_named_with_their_path_and_the_fix() {
        let escaped = BTreeMap::from([("pkg.mod".to_owned(), "/p/src/pkg/mod.py".to_owned())]);
        let message = escaped_message(&escaped, true, Path::new("/p/mutants"));
        assert!(message.starts_with("the tests imported 1 mutated module from your project"));
        assert!(message.contains("  pkg.mod was imported from /p/src/pkg/mod.py\n"), "{message}");
        assert!(message.contains("help: ") && message.contains("sys.path.insert"), "{message}");
        let message = escaped_message(&escaped, false, Path::new("/p/mutants"));
        assert!(message.starts_with("no test reached any mutated function"), "{message}");
    }
}
