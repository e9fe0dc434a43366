//! The `subprocess` runner: one fresh `python -m pytest -x …` per mutant.
//!
//! Slow to start (an interpreter and pytest per mutant, ~300 ms) but with
//! nothing shared between mutants, so it is the default and the fallback
//! the `inprocess` runner uses for mutants that act at import time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use noot_plugin_api::prelude::*;

use crate::pytest::{Ending, classify, run_on_after_a_limit, shell_quote, tail};

/// See the module documentation.
pub struct SubprocessRunner {
    ports: HostPorts,
    session: Mutex<Option<RunnerSession>>,
    running: Mutex<HashMap<u32, ProcId>>,
    cancelled: AtomicBool,
}

impl SubprocessRunner {
    /// A runner that starts processes through the host's ports.
    pub fn new(ports: HostPorts) -> Self {
        Self {
            ports,
            session: Mutex::new(None),
            running: Mutex::new(HashMap::new()),
            cancelled: AtomicBool::new(false),
        }
    }

    /// The session `prepare` stored.
    pub(crate) fn session(&self) -> Result<RunnerSession, PluginError> {
        self.session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| PluginError::Failed("run_mutant before prepare".into()))
    }

    /// The program and arguments that test `job`.
    fn command(
        session: &RunnerSession,
        job: &MutantJob,
    ) -> Result<(String, Vec<String>), PluginError> {
        let mut words = session.test_command.iter().map(|w| w.to_string());
        let program =
            words.next().ok_or_else(|| PluginError::InvalidConfig("empty test command".into()))?;
        let mut args: Vec<String> = words.collect();
        args.extend(Self::pytest_args(session, &job.tests));
        Ok((program, args))
    }

    /// pytest's own arguments for a run of `tests`.
    pub(crate) fn pytest_args(session: &RunnerSession, tests: &[RString]) -> Vec<String> {
        // The runtime doubles as a plugin that marks a normal session end.
        let mut args = vec!["-p".to_owned(), "_noot_runtime".to_owned()];
        args.extend(session.test_args.iter().map(|a| a.to_string()));
        args.push("--".into());
        args.extend(tests.iter().map(|t| t.to_string()));
        args
    }

    fn env(session: &RunnerSession, job: &MutantJob) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> =
            session.env.iter().map(|t| (t.0.to_string(), t.1.to_string())).collect();
        env.push(("MUTANT_UNDER_TEST".into(), job.mutant_id.to_string()));
        if job.cpu_limit_ms > 0 {
            // Process time counts from the interpreter's start: start-up and
            // collection are in it, twice over for a loaded machine.
            let budget_ms = job.cpu_limit_ms + job.startup_ms * 2;
            env.push(("NOOT_CPU_BUDGET_MS".into(), budget_ms.to_string()));
        }
        env.push(("NOOT_SESSION_MARK".into(), Self::mark_path(session, job.slot)));
        env.push(("NOOT_PROGRESS_FILE".into(), Self::progress_path(session, job.slot)));
        // Where the runtime plugin looks for mutated modules imported from
        // the project instead of the mutated tree.
        env.push(("NOOT_PROJECT_DIR".into(), session.project_dir.to_string()));
        env.push(("NOOT_MUTANTS_DIR".into(), session.mutants_dir.to_string()));
        env
    }

    /// The file the runtime plugin writes when the pytest session ends.
    fn mark_path(session: &RunnerSession, slot: u32) -> String {
        format!("{}/slot-{slot}.done", session.scratch_dir)
    }

    /// One pytest process over the job's tests.
    fn run_once(
        &self,
        session: &RunnerSession,
        job: &MutantJob,
    ) -> Result<MutantVerdict, PluginError> {
        if self.cancelled.load(Ordering::SeqCst) {
            return Err(PluginError::Failed("cancelled".into()));
        }
        let (program, args) = Self::command(session, job)?;
        let spec = SpawnSpec {
            program: program.into(),
            args: args.into_iter().map(RString::from).collect(),
            env: Self::env(session, job)
                .into_iter()
                .map(|(k, v)| Tuple2(k.into(), v.into()))
                .collect(),
            cwd: ROption::RSome(session.mutants_dir.clone()),
            output_cap_bytes: job.output_cap_bytes,
            // An rlimit reaches the processes the tests start too: the
            // job's tight budget would fail a test that runs a CPU-hungry
            // command. So the rlimit is only a generous last guard; the
            // tight budget is kept by the test process itself (the runtime
            // plugin's watchdog, NOOT_CPU_BUDGET_MS), on its own CPU time.
            cpu_limit_secs: if job.cpu_limit_ms > 0 {
                ROption::RSome(
                    job.cpu_limit_ms
                        .div_ceil(1000)
                        .max((job.deadline_ms + job.startup_ms * 2).div_ceil(1000) * 2 + 1),
                )
            } else {
                ROption::RNone
            },
            ..SpawnSpec::default()
        };
        let mark = Self::mark_path(session, job.slot);
        let _ = std::fs::remove_file(&mark);
        let _ = std::fs::remove_file(Self::progress_path(session, job.slot));
        let id = self.ports.procs.spawn(&spec).into_result()?;
        self.running.lock().unwrap_or_else(|e| e.into_inner()).insert(job.slot, id);
        let exit = self
            .ports
            .procs
            .wait(id, ROption::RSome(job.deadline_ms.saturating_add(job.startup_ms)))
            .into_result();
        self.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&job.slot);
        let exit = exit?;
        let ending = match exit.kind {
            ExitKind::Exited => Ending::Exited(exit.code),
            ExitKind::Signaled => Ending::Signaled(exit.code),
            ExitKind::TimedOut => Ending::TimedOut,
        };
        let mut output = String::from_utf8_lossy(&exit.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&exit.stderr);
        if !stderr.is_empty() {
            output.push_str("\n--- stderr ---\n");
            output.push_str(&stderr);
        }
        if exit.stdout_truncated || exit.stderr_truncated {
            output.push_str("\n[output capped]");
        }
        let (mut status, mut detail) = classify(ending, &output);
        let session_end = std::fs::read_to_string(&mark).ok().map(|text| SessionEnd::parse(&text));
        if status == MutantStatus::Survived && session_end.is_none() {
            // Exit 0 without pytest's session end: a test ended the process.
            status = MutantStatus::Error;
            detail = "the test process exited with 0 before the pytest session finished".into();
        }
        if let Some(message) = session_end.and_then(|end| end.escaped_message(session)) {
            // The tests ran the project's own copy of a mutated module, where
            // no mutant is ever active: whatever pytest said, no verdict.
            status = MutantStatus::Error;
            detail = message;
        }
        let cap = usize::try_from(job.output_cap_bytes).unwrap_or(usize::MAX);
        let output =
            if status == MutantStatus::Killed { String::new() } else { tail(&output, cap) };
        Ok(MutantVerdict {
            status,
            duration_ms: exit.elapsed_ms,
            exit_code: match exit.kind {
                ExitKind::Exited => ROption::RSome(exit.code),
                _ => ROption::RNone,
            },
            output: output.into(),
            detail: detail.into(),
            cpu_limited: status == MutantStatus::Timeout && ending.cpu_limited(),
        })
    }

    /// The file the runtime plugin appends each test's node id to as it
    /// starts.
    fn progress_path(session: &RunnerSession, slot: u32) -> String {
        format!("{}/slot-{slot}.progress", session.scratch_dir)
    }

    /// The index in `tests` of the test a stopped process was running: the
    /// last one its progress file names (`NODEID<TAB>ARG`, either form).
    fn running(session: &RunnerSession, slot: u32, tests: &[RString]) -> Option<usize> {
        let progress = std::fs::read_to_string(Self::progress_path(session, slot)).ok()?;
        let last = progress.lines().next_back()?;
        let names: Vec<&str> = last.split('\t').collect();
        tests.iter().position(|test| names.contains(&test.as_str()))
    }
}

/// What the runtime plugin wrote when the pytest session ended (see
/// `pytest_sessionfinish` in `_noot_runtime.py`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SessionEnd {
    /// Mutated modules the tests imported from outside the mutated tree:
    /// (name, file).
    pub escaped_modules: Vec<(String, String)>,
}

impl SessionEnd {
    /// Reads the mark: JSON, or the bare exit status older runtimes wrote.
    pub(crate) fn parse(text: &str) -> Self {
        let escaped_modules = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("escaped_modules").and_then(|m| m.as_object()).cloned())
            .map(|modules| {
                modules
                    .into_iter()
                    .map(|(name, path)| (name, path.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self { escaped_modules }
    }

    /// The detail of a mutant whose tests imported mutated modules from
    /// the project: which, from where, and the fix; `None` if none did.
    pub(crate) fn escaped_message(&self, session: &RunnerSession) -> Option<String> {
        if self.escaped_modules.is_empty() {
            return None;
        }
        let modules: Vec<String> =
            self.escaped_modules.iter().map(|(name, path)| format!("{name} from {path}")).collect();
        Some(format!(
            "the tests imported {}, outside the mutated tree {}, so the mutant was never active there; \
             remove the sys.path.insert/sys.path.append that puts the project's own folder first \
             (use pytest's `pythonpath` setting or paths built from `__file__`) and run again",
            modules.join(", "),
            session.mutants_dir
        ))
    }
}

impl RunnerPlugin for SubprocessRunner {
    fn prepare(&self, session: &RunnerSession) -> Result<(), PluginError> {
        if session.test_command.is_empty() {
            return Err(PluginError::InvalidConfig("empty test command".into()));
        }
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = Some(session.clone());
        Ok(())
    }

    /// One process; after a timeout, the tests after the one it was running
    /// (from the progress file) run on, see `run_on_after_a_limit`.
    fn run_mutant(&self, job: &MutantJob) -> Result<MutantVerdict, PluginError> {
        let session = self.session()?;
        let verdict = self.run_once(&session, job)?;
        // The progress file is read only for a timeout.
        let looped = (verdict.status == MutantStatus::Timeout)
            .then(|| Self::running(&session, job.slot, &job.tests))
            .flatten();
        run_on_after_a_limit(verdict, looped, job, |job| self.run_once(&session, job))
    }

    fn repro(&self, job: &MutantJob) -> String {
        let Ok(session) = self.session() else { return "(runner not prepared)".into() };
        let Ok((program, args)) = Self::command(&session, job) else { return String::new() };
        let mut words = vec![format!("cd {} &&", shell_quote(&session.mutants_dir))];
        words.push("env".into());
        for (key, value) in Self::env(&session, job) {
            words.push(shell_quote(&format!("{key}={value}")));
        }
        words.push(shell_quote(&program));
        words.extend(args.iter().map(|a| shell_quote(a)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_mark_names_escaped_modules() {
        let end = SessionEnd::parse(
            r#"{"exit_status": 0, "escaped_modules": {"pkg.mod": "/p/src/pkg/mod.py"}}"#,
        );
        assert_eq!(end.escaped_modules, [("pkg.mod".to_owned(), "/p/src/pkg/mod.py".to_owned())]);
        let session =
            RunnerSession { mutants_dir: "/p/mutants".into(), ..RunnerSession::default() };
        let message = end.escaped_message(&session).expect("a message");
        assert!(message.contains("pkg.mod from /p/src/pkg/mod.py"), "{message}");
        assert!(message.contains("/p/mutants"), "{message}");
        assert!(message.contains("sys.path"), "{message}");
        // A bare exit status (older runtimes) and no escape: nothing to say.
        assert_eq!(SessionEnd::parse("0"), SessionEnd::default());
        let clean = SessionEnd::parse(r#"{"exit_status": 1, "escaped_modules": {}}"#);
        assert_eq!(clean.escaped_message(&session), None);
    }
}
