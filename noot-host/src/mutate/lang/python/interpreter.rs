//! The interpreter a session runs the tests with: it must start and be
//! able to import pytest. Checked once, before anything is written, so a
//! first run on a machine without pytest ends with one line that names the
//! interpreter and the command that installs pytest into it, instead of a
//! failed stats run.
//!
//! The check asks Python where pytest *would* come from
//! (`importlib.util.find_spec`) rather than importing it: it costs one bare
//! interpreter start (about 20 ms), not pytest's own import.

use std::io::ErrorKind;
use std::path::Path;

use crate::config::mutate::PythonOrigin;
use crate::engine::ports::Procs;
use crate::engine::procs::{ProcStatus, SpawnRequest};

/// Prints the executable, then whether pytest and pip can be imported.
const PROBE: &str = "import sys, importlib.util as u\n\
print(sys.executable)\n\
print(int(u.find_spec('pytest') is not None))\n\
print(int(u.find_spec('pip') is not None))\n";

/// A cold start of a big interpreter on a slow disk still fits.
const PROBE_DEADLINE_MS: u64 = 60_000;

/// What the check found out about a working interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// The executable Python reports (`sys.executable`).
    pub executable: String,
}

/// Why the interpreter cannot run the tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpreterError {
    /// It does not start at all.
    #[error("cannot start the Python interpreter `{python}` (from {origin}): {reason}")]
    NotFound {
        /// As configured or found.
        python: String,
        /// Where it came from.
        origin: PythonOrigin,
        /// What the system said.
        reason: String,
    },
    /// It starts but pytest cannot be imported.
    #[error(
        "{} (from {origin}) cannot import pytest; install it: {install}",
        shown(python, executable)
    )]
    NoPytest {
        /// As configured or found.
        python: String,
        /// Its executable.
        executable: String,
        /// Where it came from.
        origin: PythonOrigin,
        /// The command that installs pytest into it.
        install: String,
    },
    /// It starts but cannot run a few lines of Python 3.
    #[error("the Python interpreter `{python}` (from {origin}) does not work: {reason}")]
    Broken {
        /// As configured or found.
        python: String,
        /// Where it came from.
        origin: PythonOrigin,
        /// The end of what it printed.
        reason: String,
    },
}

impl InterpreterError {
    /// What to do, when the message does not already say it.
    pub fn help(&self) -> Option<String> {
        match self {
            Self::NotFound { origin: PythonOrigin::Config(_), .. } => Some(
                "set [mutate] python to an interpreter that has pytest, such as \".venv/bin/python\", or remove the key to let noot find one".into(),
            ),
            Self::NotFound { origin: PythonOrigin::VirtualEnv, .. } => Some(
                "VIRTUAL_ENV names a virtual environment without bin/python: run `deactivate`, or activate a working one".into(),
            ),
            Self::NotFound { .. } => Some(
                "install Python 3, or name an interpreter with [mutate] python in noot.toml".into(),
            ),
            Self::Broken { .. } => Some(
                "noot needs Python 3.9 or newer; name one with [mutate] python in noot.toml".into(),
            ),
            Self::NoPytest { .. } => None,
        }
    }
}

/// `python3 (/usr/bin/python3)`, or the path alone when it is one.
fn shown(python: &str, executable: &str) -> String {
    if python == executable || executable.is_empty() {
        python.to_owned()
    } else {
        format!("{python} ({executable})")
    }
}

/// Checks that `python` starts and can import pytest, running it in `cwd`
/// with the environment noot itself has (a `PYTHONPATH` that provides
/// pytest counts, as it does for the test runs).
pub fn check(
    procs: &dyn Procs,
    python: &str,
    origin: &PythonOrigin,
    cwd: &Path,
) -> Result<Interpreter, InterpreterError> {
    let request = SpawnRequest {
        program: python.to_owned(),
        args: vec!["-c".into(), PROBE.into()],
        cwd: Some(cwd.to_path_buf()),
        output_cap_bytes: 16 * 1024,
        ..SpawnRequest::default()
    };
    let not_found = |reason: String| InterpreterError::NotFound {
        python: python.to_owned(),
        origin: origin.clone(),
        reason,
    };
    let handle = procs.spawn(&request).map_err(|e| {
        not_found(match e.kind() {
            ErrorKind::NotFound => "no such file or program on PATH".to_owned(),
            ErrorKind::PermissionDenied => "permission denied (not executable)".to_owned(),
            _ => e.to_string(),
        })
    })?;
    let result =
        procs.wait(handle, Some(PROBE_DEADLINE_MS)).map_err(|e| not_found(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&result.stdout);
    let lines: Vec<&str> = stdout.lines().map(str::trim).collect();
    let (executable, has_pytest, has_pip) = match (result.status, lines.as_slice()) {
        (ProcStatus::Exited(0), [executable, pytest, pip, ..]) => {
            (*executable, *pytest == "1", *pip == "1")
        }
        (status, _) => {
            let stderr = String::from_utf8_lossy(&result.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
            let reason = match status {
                ProcStatus::TimedOut => {
                    format!("it did not answer within {} s", PROBE_DEADLINE_MS / 1000)
                }
                ProcStatus::Signaled(signal) => format!("it was killed by signal {signal}"),
                ProcStatus::Exited(code) if last.is_empty() => format!("it exited with {code}"),
                ProcStatus::Exited(_) => last.trim().to_owned(),
            };
            return Err(InterpreterError::Broken {
                python: python.to_owned(),
                origin: origin.clone(),
                reason,
            });
        }
    };
    if has_pytest {
        return Ok(Interpreter { executable: executable.to_owned() });
    }
    Err(InterpreterError::NoPytest {
        python: python.to_owned(),
        executable: executable.to_owned(),
        origin: origin.clone(),
        install: install_command(executable, origin, has_pip),
    })
}

/// The command that puts pytest into `executable`'s environment.
fn install_command(executable: &str, origin: &PythonOrigin, has_pip: bool) -> String {
    let python = shell_word(executable);
    let pip = format!("{python} -m pip install pytest");
    let command = if has_pip { pip } else { format!("{python} -m ensurepip && {pip}") };
    match origin {
        // A system Python may refuse installs (PEP 668): a project venv is
        // the other way, and noot finds it without configuration.
        PythonOrigin::Default => format!(
            "{command} (or make a venv noot finds by itself: python3 -m venv .venv && .venv/bin/python -m pip install pytest)"
        ),
        _ => command,
    }
}

/// `word` as one shell word.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::Mutex;

    use super::*;
    use crate::config::Location;
    use crate::engine::procs::{ProcHandle, ProcResult};

    /// One scripted answer: a spawn error, or an exit with this output.
    enum Answer {
        SpawnFails(ErrorKind),
        Exits(i32, &'static str, &'static str),
    }

    struct Scripted {
        answer: Answer,
        requests: Mutex<Vec<SpawnRequest>>,
    }

    impl Scripted {
        fn new(answer: Answer) -> Self {
            Self { answer, requests: Mutex::new(Vec::new()) }
        }
    }

    impl Procs for Scripted {
        fn spawn(&self, request: &SpawnRequest) -> io::Result<ProcHandle> {
            self.requests.lock().unwrap_or_else(|e| e.into_inner()).push(request.clone());
            match self.answer {
                Answer::SpawnFails(kind) => Err(io::Error::from(kind)),
                Answer::Exits(..) => Ok(ProcHandle(0)),
            }
        }

        fn wait(&self, _: ProcHandle, _: Option<u64>) -> io::Result<ProcResult> {
            let Answer::Exits(code, stdout, stderr) = self.answer else {
                return Err(io::Error::other("not started"));
            };
            Ok(ProcResult {
                status: ProcStatus::Exited(code),
                stdout: stdout.as_bytes().to_vec(),
                stderr: stderr.as_bytes().to_vec(),
                stdout_truncated: false,
                stderr_truncated: false,
                elapsed_ms: 1,
                stdout_digest: [0; 32],
            })
        }

        fn kill_group(&self, _: ProcHandle) -> io::Result<()> {
            Ok(())
        }
    }

    fn venv() -> PythonOrigin {
        PythonOrigin::ProjectVenv(".venv")
    }

    #[test]
    fn an_interpreter_with_pytest_passes_and_is_asked_in_the_project() {
        let procs = Scripted::new(Answer::Exits(0, "/p/.venv/bin/python\n1\n1\n", ""));
        let found = check(&procs, "/p/.venv/bin/python", &venv(), Path::new("/p")).expect("ok");
        assert_eq!(found.executable, "/p/.venv/bin/python");
        let requests = procs.requests.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(requests[0].program, "/p/.venv/bin/python");
        assert_eq!(requests[0].cwd.as_deref(), Some(Path::new("/p")));
        assert_eq!(requests[0].args[0], "-c");
    }

    #[test]
    fn no_pytest_names_the_interpreter_its_origin_and_the_install_command() {
        let procs = Scripted::new(Answer::Exits(0, "/p/.venv/bin/python\n0\n1\n", ""));
        let err = check(&procs, "/p/.venv/bin/python", &venv(), Path::new("/p")).expect_err("no");
        assert_eq!(
            err.to_string(),
            "/p/.venv/bin/python (from the project's .venv/) cannot import pytest; \
             install it: /p/.venv/bin/python -m pip install pytest"
        );
        assert_eq!(err.help(), None, "one line: the message says what to do");
    }

    #[test]
    fn without_pip_the_command_bootstraps_it_and_odd_paths_are_quoted() {
        let procs = Scripted::new(Answer::Exits(0, "/my env/bin/python\n0\n0\n", ""));
        let err = check(&procs, "/my env/bin/python", &PythonOrigin::VirtualEnv, Path::new("/p"))
            .expect_err("no pytest");
        assert!(
            err.to_string().ends_with(
                "install it: '/my env/bin/python' -m ensurepip && '/my env/bin/python' -m pip install pytest"
            ),
            "{err}"
        );
    }

    #[test]
    fn the_default_python3_is_shown_with_its_path_and_a_venv_alternative() {
        let procs = Scripted::new(Answer::Exits(0, "/usr/bin/python3\n0\n1\n", ""));
        let err = check(&procs, "python3", &PythonOrigin::Default, Path::new("/p"))
            .expect_err("no pytest");
        let text = err.to_string();
        assert!(text.starts_with("python3 (/usr/bin/python3) (from the default:"), "{text}");
        assert!(text.contains("install it: /usr/bin/python3 -m pip install pytest (or make a venv noot finds by itself: python3 -m venv .venv"), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }

    #[test]
    fn a_missing_interpreter_says_where_it_was_named_and_what_to_do() {
        let origin = PythonOrigin::Config(Location::File {
            path: "/p/noot.toml".into(),
            line: 2,
            column: 10,
        });
        let procs = Scripted::new(Answer::SpawnFails(ErrorKind::NotFound));
        let err = check(&procs, "nope", &origin, Path::new("/p")).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "cannot start the Python interpreter `nope` (from [mutate] python at /p/noot.toml:2:10): \
             no such file or program on PATH"
        );
        assert!(err.help().is_some_and(|h| h.contains("[mutate] python")));
    }

    #[test]
    fn an_interpreter_that_cannot_run_the_probe_is_broken_with_its_last_words() {
        let procs = Scripted::new(Answer::Exits(
            1,
            "",
            "Traceback (most recent call last):\n  ...\nImportError: No module named importlib.util\n",
        ));
        let err =
            check(&procs, "python2", &PythonOrigin::Default, Path::new("/p")).expect_err("broken");
        assert!(
            err.to_string().ends_with("does not work: ImportError: No module named importlib.util"),
            "{err}"
        );
        assert!(err.help().is_some_and(|h| h.contains("Python 3.9")));
    }
}
