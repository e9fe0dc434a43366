//! An example third-party noot plugin: the `command` mutation runner, built
//! against `noot-plugin-api` alone.
//!
//! It runs a test command of the user's choosing once per mutant, in the
//! mutated tree, with `MUTANT_UNDER_TEST` naming the mutant: for suites
//! driven by a script, `make`, `tox` or `nox` rather than by pytest alone.
//! Exit 0 means the mutant survived, any other exit or a signal that the
//! tests killed it. The selected tests are appended to the command
//! (`pass_tests = true`, the default) and always listed, one per line, in
//! `NOOT_TESTS`, and the job's `env` hint is set (a Rust job's tests are
//! `BINARY<TAB>TEST` and its hint sets `NOOT_MUTANT`, so a script can run
//! `"$BINARY" --exact "$TEST"` for each). The job's `dirs` hint, the folder
//! each test binary runs in (its package's, as under `cargo test`), is in
//! `NOOT_TEST_DIRS`, one `BINARY<TAB>DIR` per line. The process is started and supervised through the host's
//! `Procs` port, so it gets the same process group, deadline, CPU limit and
//! output cap as noot's own runners.
//!
//! ```toml
//! [plugins]
//! paths = ["target/debug/libnoot_example_command_runner.so"]
//! [mutate]
//! runner = "command"
//! [mutate.runner_options.command]
//! argv = ["python3", "-m", "pytest", "-x", "-q"]
//! pass_tests = true
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use noot_plugin_api::prelude::*;
use noot_plugin_api::serde::Deserialize;
use noot_plugin_api::serde_json;

/// The signal an exceeded `RLIMIT_CPU` sends (Linux).
const SIGXCPU: i32 = 24;

#[derive(Debug, Deserialize)]
#[serde(crate = "noot_plugin_api::serde", deny_unknown_fields)]
struct Settings {
    /// The test command: program and arguments.
    argv: Vec<String>,
    /// Append the selected tests to `argv`.
    #[serde(default = "yes")]
    pass_tests: bool,
}

fn yes() -> bool {
    true
}

impl Settings {
    fn parse(config_json: &str) -> Result<Self, PluginError> {
        let settings: Self = parse_config("[mutate.runner_options.command]", config_json)?;
        if settings.argv.is_empty() {
            return Err(PluginError::invalid_config(
                "[mutate.runner_options.command]: `argv` is empty; give the test command, e.g. argv = [\"make\", \"test\"]",
            ));
        }
        Ok(settings)
    }
}

/// See the crate documentation.
pub struct CommandRunner {
    settings: Settings,
    ports: HostPorts,
    session: Mutex<Option<RunnerSession>>,
    running: Mutex<HashMap<u32, ProcId>>,
    cancelled: AtomicBool,
}

impl CommandRunner {
    /// A runner from its `[mutate.runner_options.command]` table (as JSON).
    pub fn new(config_json: &str, ports: HostPorts) -> Result<Self, PluginError> {
        Ok(Self {
            settings: Settings::parse(config_json)?,
            ports,
            session: Mutex::new(None),
            running: Mutex::new(HashMap::new()),
            cancelled: AtomicBool::new(false),
        })
    }

    fn session(&self) -> Result<RunnerSession, PluginError> {
        self.session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| PluginError::Failed("run_mutant before prepare".into()))
    }

    fn args(&self, job: &MutantJob) -> Vec<String> {
        let mut args: Vec<String> = self.settings.argv[1..].to_vec();
        if self.settings.pass_tests {
            args.extend(job.tests.iter().map(|t| t.to_string()));
        }
        args
    }

    fn env(session: &RunnerSession, job: &MutantJob) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> =
            session.env.iter().map(|t| (t.0.to_string(), t.1.to_string())).collect();
        env.push(("MUTANT_UNDER_TEST".into(), job.mutant_id.to_string()));
        // What the language says a test process needs for this mutant
        // (a Rust job's `NOOT_MUTANT`, its switch).
        if let Ok(hints) = serde_json::from_str::<serde_json::Value>(job.hints_json.as_str()) {
            if let Some(vars) = hints.get("env").and_then(|e| e.as_object()) {
                for (key, value) in vars {
                    env.push((key.clone(), value.as_str().unwrap_or_default().to_owned()));
                }
            }
            // Where each test binary runs (a workspace member's tests read
            // files beside their own manifest).
            if let Some(dirs) = hints.get("dirs").and_then(|d| d.as_object()) {
                let lines: Vec<String> = dirs
                    .iter()
                    .map(|(binary, dir)| format!("{binary}\t{}", dir.as_str().unwrap_or_default()))
                    .collect();
                env.push(("NOOT_TEST_DIRS".into(), lines.join("\n")));
            }
        }
        let tests: Vec<&str> = job.tests.iter().map(|t| t.as_str()).collect();
        env.push(("NOOT_TESTS".into(), tests.join("\n")));
        env
    }
}

/// Keeps the last `cap` bytes of `text`, on a character boundary.
fn tail(text: &str, cap: usize) -> String {
    let mut start = text.len().saturating_sub(cap);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}

impl RunnerPlugin for CommandRunner {
    fn prepare(&self, session: &RunnerSession) -> Result<(), PluginError> {
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = Some(session.clone());
        Ok(())
    }

    fn run_mutant(&self, job: &MutantJob) -> Result<MutantVerdict, PluginError> {
        if self.cancelled.load(Ordering::SeqCst) {
            return Err(PluginError::Failed("cancelled".into()));
        }
        let session = self.session()?;
        let spec = SpawnSpec {
            program: self.settings.argv[0].as_str().into(),
            args: self.args(job).into_iter().map(RString::from).collect(),
            env: Self::env(&session, job)
                .into_iter()
                .map(|(k, v)| Tuple2(k.into(), v.into()))
                .collect(),
            cwd: ROption::RSome(session.mutants_dir.clone()),
            output_cap_bytes: job.output_cap_bytes,
            // The tight budget as an rlimit, rounded up to whole seconds and
            // with the start-up a fresh process pays: the test command's own
            // children get it too, which a real runner would avoid.
            cpu_limit_secs: ROption::RSome((job.cpu_limit_ms + job.startup_ms * 2).div_ceil(1000))
                .filter(|_| job.cpu_limit_ms > 0),
            ..SpawnSpec::default()
        };
        let id = self.ports.procs.spawn(&spec).into_result()?;
        self.running.lock().unwrap_or_else(|e| e.into_inner()).insert(job.slot, id);
        // A fresh process per mutant: the budget includes its start-up.
        let budget = job.deadline_ms.saturating_add(job.startup_ms);
        let exit = self.ports.procs.wait(id, ROption::RSome(budget)).into_result();
        self.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&job.slot);
        let exit = exit?;
        let (status, detail, code) = match exit.kind {
            ExitKind::TimedOut => (MutantStatus::Timeout, "deadline passed".to_owned(), None),
            ExitKind::Signaled if exit.code == SIGXCPU => {
                (MutantStatus::Timeout, "CPU-time limit reached (SIGXCPU)".to_owned(), None)
            }
            ExitKind::Signaled => {
                (MutantStatus::Killed, format!("the tests died of signal {}", exit.code), None)
            }
            ExitKind::Exited if exit.code == 0 => {
                (MutantStatus::Survived, "the test command passed".to_owned(), Some(0))
            }
            ExitKind::Exited => (
                MutantStatus::Killed,
                format!("the test command exited with {}", exit.code),
                Some(exit.code),
            ),
        };
        let output = if status == MutantStatus::Killed {
            String::new()
        } else {
            let cap = usize::try_from(job.output_cap_bytes).unwrap_or(usize::MAX);
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&exit.stdout),
                String::from_utf8_lossy(&exit.stderr)
            );
            tail(&text, cap)
        };
        Ok(MutantVerdict {
            status,
            duration_ms: exit.elapsed_ms,
            exit_code: code.map_or(ROption::RNone, ROption::RSome),
            output: output.into(),
            detail: detail.into(),
            cpu_limited: exit.kind == ExitKind::Signaled && exit.code == SIGXCPU,
        })
    }

    fn repro(&self, job: &MutantJob) -> String {
        let Ok(session) = self.session() else { return "(runner not prepared)".into() };
        let mut words = vec![format!("cd '{}' &&", session.mutants_dir)];
        words.push("env".into());
        for (key, value) in Self::env(&session, job) {
            words.push(format!("{key}='{}'", value.replace('\'', "'\\''")));
        }
        words.push(self.settings.argv[0].clone());
        words.extend(self.args(job).into_iter().map(|a| format!("'{}'", a.replace('\'', "'\\''"))));
        words.join(" ")
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        for id in self.running.lock().unwrap_or_else(|e| e.into_inner()).values() {
            let _ = self.ports.procs.kill_group(*id);
        }
    }

    fn shutdown(&self) -> Result<(), PluginError> {
        self.cancel();
        Ok(())
    }
}

noot_plugin_api::plugin_library! {
    runners: {
        "command" => {
            version: env!("CARGO_PKG_VERSION"),
            summary: "runs a test command of your choosing per mutant (MUTANT_UNDER_TEST selects it)",
            new: |config: &str, ports: HostPorts| CommandRunner::new(config, ports),
        },
    },
}

noot_plugin_api::export_plugin_library!(root_module);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_need_a_command_and_know_their_keys() {
        let empty = Settings::parse(r#"{"argv": []}"#).map(|_| ()).expect_err("an error");
        assert!(empty.to_string().contains("argv = [\"make\", \"test\"]"), "{empty}");
        let missing = Settings::parse("").map(|_| ()).expect_err("an error");
        assert!(missing.to_string().contains("argv"), "{missing}");
        let unknown =
            Settings::parse(r#"{"argv": ["x"], "bogus": 1}"#).map(|_| ()).expect_err("an error");
        assert!(unknown.to_string().contains("bogus"), "{unknown}");
        let settings = Settings::parse(r#"{"argv": ["make", "test"]}"#).expect("valid");
        assert_eq!(settings.argv, ["make", "test"]);
        assert!(settings.pass_tests);
    }

    #[test]
    fn tails_stop_on_a_character_boundary() {
        assert_eq!(tail("héllo", 4), "llo");
        assert_eq!(tail("abc", 10), "abc");
    }
}
