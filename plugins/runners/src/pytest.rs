//! What a pytest exit means for a mutant, shared by both runners.
//!
//! pytest's exit codes: 0 all passed, 1 some failed, 2 interrupted (a
//! collection error, which a mutant that breaks an import causes), 3
//! internal error, 4 usage error, 5 no tests collected.
//!
//! A mutant runs only tests the baseline collected and passed, from the
//! same tree with the same arguments, so whatever makes pytest refuse them
//! under the mutant is the mutant's doing. Three usage errors (exit 4) are
//! therefore kills, because the suite noticed the mutant before any test
//! ran: a test module that no longer imports ("found no collectors"), a
//! `conftest.py` that no longer loads ("ImportError while loading
//! conftest"), and a selected test that no longer exists ("not found",
//! e.g. a parametrisation built at import from a mutated function). Any
//! other usage error is noot's or the environment's problem: `error`.

use noot_plugin_api::abi_stable::std_types::{RString, RVec};
use noot_plugin_api::{MutantJob, MutantStatus, MutantVerdict, PluginError};

/// How the detail of a timeout stopped by the test process's own CPU time
/// starts, in both runners.
pub const CPU_LIMIT_DETAIL: &str = "CPU-time limit reached";

/// How a test process ended, in runner-neutral terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It exited with this code.
    Exited(i32),
    /// This signal ended it.
    Signaled(i32),
    /// The supervisor killed it at the deadline.
    TimedOut,
}

impl Ending {
    /// Stopped by its own CPU-time budget: the test process's watchdog
    /// (or the rlimit behind it) raised SIGXCPU.
    pub fn cpu_limited(self) -> bool {
        self == Self::Signaled(libc::SIGXCPU)
    }
}

/// The status and a one-line reason.
pub fn classify(ending: Ending, output: &str) -> (MutantStatus, String) {
    match ending {
        Ending::TimedOut => (MutantStatus::Timeout, "deadline passed; process group killed".into()),
        Ending::Signaled(signal) if signal == libc::SIGXCPU => {
            (MutantStatus::Timeout, format!("{CPU_LIMIT_DETAIL} (SIGXCPU)"))
        }
        Ending::Signaled(signal) => {
            (MutantStatus::Killed, format!("the test process died of signal {signal}"))
        }
        Ending::Exited(0) => (MutantStatus::Survived, "every selected test passed".into()),
        Ending::Exited(1) => {
            (MutantStatus::Killed, first_failure(output).unwrap_or_else(|| "a test failed".into()))
        }
        Ending::Exited(2) => (
            MutantStatus::Killed,
            first_failure(output)
                .unwrap_or_else(|| "pytest was interrupted (collection error)".into()),
        ),
        Ending::Exited(3) => (MutantStatus::Error, "pytest internal error".into()),
        Ending::Exited(4) => usage_error(output),
        Ending::Exited(5) => (MutantStatus::Error, "pytest collected no tests".into()),
        Ending::Exited(code) => {
            (MutantStatus::Killed, format!("the test process exited with {code}"))
        }
    }
}

/// Exit 4, pytest's "usage error": a kill when the mutant made pytest
/// refuse tests the baseline ran (see the module documentation), else an
/// `error`.
fn usage_error(output: &str) -> (MutantStatus, String) {
    // Given node ids, a file that no longer imports makes pytest exit 4
    // ("found no collectors"), not 2.
    if collection_failed(output) {
        let reason = first_failure(output).unwrap_or_else(|| "a test module did not import".into());
        return (MutantStatus::Killed, format!("collection failed: {reason}"));
    }
    // A conftest.py that imports the package cannot load under a mutant
    // that breaks the import: the suite cannot even start.
    if let Some(reason) = conftest_failure(output) {
        return (MutantStatus::Killed, format!("conftest.py failed to load: {reason}"));
    }
    // The mutant changed which tests exist (a parametrisation computed at
    // import): the suite noticed, as a user expects of a kill.
    if let Some(missing) = output.lines().find_map(|l| l.strip_prefix("ERROR: not found: ")) {
        return (
            MutantStatus::Killed,
            format!("the mutant changed which tests exist: not found: {}", missing.trim()),
        );
    }
    (MutantStatus::Error, "pytest usage error".into())
}

/// pytest's "ImportError while loading conftest '…'." → the error it
/// shows below (its `E   ` line) and the conftest's path.
fn conftest_failure(output: &str) -> Option<String> {
    let mut lines =
        output.lines().skip_while(|l| !l.starts_with("ImportError while loading conftest"));
    let header = lines.next()?;
    let path = header.split('\'').nth(1).unwrap_or("conftest.py");
    let error = lines
        .take_while(|l| !l.starts_with("ImportError while loading conftest"))
        .filter_map(|l| l.strip_prefix("E   "))
        .last()
        .map_or_else(
            || "it raised while importing".to_owned(),
            |e| e.trim().chars().take(300).collect(),
        );
    Some(format!("{error} (in {path})"))
}

/// Whether pytest reported a test module it could not collect.
fn collection_failed(output: &str) -> bool {
    output.lines().any(|line| {
        line.trim_start_matches('_').trim_start().starts_with("ERROR collecting ")
            || line.starts_with("ERROR: found no collectors for ")
    })
}

/// `FAILED tests/test_x.py::test_y - AssertionError` → the test and reason.
pub fn first_failure(output: &str) -> Option<String> {
    output
        .lines()
        .find_map(|line| line.strip_prefix("FAILED ").or_else(|| line.strip_prefix("ERROR ")))
        .map(|rest| rest.chars().take(300).collect())
}

/// Keeps the last `cap` bytes of `text` (the end of a log is what explains it).
pub fn tail(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_owned();
    }
    let mut start = text.len() - cap;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[… {start} bytes dropped …]\n{}", &text[start..])
}

/// Quotes a word for a POSIX shell.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// When `timeout` stopped a job while it ran `job.tests[looped]`: the
/// tests after that one run once more through `run`, with the job's budget
/// (a loop among them too costs that, once), and again without the mutant
/// if one failed. The order of a job's tests follows measured times and
/// the tests that killed the mutants judged before it, so without this a
/// mutant that loops one test and fails another would be `timeout` or
/// `killed` by that order alone. Shared by both runners, which differ only
/// in how they know the test that was running.
pub fn run_on_after_a_limit(
    timeout: MutantVerdict,
    looped: Option<usize>,
    job: &MutantJob,
    mut run: impl FnMut(&MutantJob) -> Result<MutantVerdict, PluginError>,
) -> Result<MutantVerdict, PluginError> {
    let Some(looped) = looped.filter(|_| timeout.status == MutantStatus::Timeout) else {
        return Ok(timeout);
    };
    let rest: RVec<RString> = job.tests.iter().skip(looped + 1).cloned().collect();
    let Some(name) = job.tests.get(looped).filter(|_| !rest.is_empty()) else {
        return Ok(timeout);
    };
    let rest = MutantJob { tests: rest, ..job.clone() };
    let after = run(&rest)?;
    let clean = if after.status == MutantStatus::Killed {
        Some(run(&MutantJob { mutant_id: RString::new(), ..rest })?)
    } else {
        None
    };
    Ok(after_a_limit(timeout, after, clean.as_ref(), name))
}

/// The verdict of a job whose tests ran on after `looped` stopped at its
/// limit (`timeout`): `after`'s, when that found a failure and the same
/// tests pass without the mutant (`clean`: a test may need what the one
/// that was stopped would have left, and a timeout must not become a kill
/// for that), else the timeout's; the time of all of them either way.
fn after_a_limit(
    timeout: MutantVerdict,
    after: MutantVerdict,
    clean: Option<&MutantVerdict>,
    looped: &str,
) -> MutantVerdict {
    let duration_ms = timeout
        .duration_ms
        .saturating_add(after.duration_ms)
        .saturating_add(clean.map_or(0, |c| c.duration_ms));
    let confirmed = clean.is_some_and(|c| c.status == MutantStatus::Survived);
    if after.status != MutantStatus::Killed || !confirmed {
        return MutantVerdict { duration_ms, ..timeout };
    }
    let limit = if timeout.cpu_limited { "CPU-time limit" } else { "deadline" };
    MutantVerdict {
        detail: format!(
            "{} (after {looped} reached its {limit}; the tests after it ran on, and pass without the mutant)",
            after.detail
        )
        .into(),
        duration_ms,
        ..after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_map_to_statuses() {
        assert_eq!(classify(Ending::Exited(0), "").0, MutantStatus::Survived);
        let (status, detail) =
            classify(Ending::Exited(1), "...\nFAILED tests/t.py::test_a - assert 1 == 2\n");
        assert_eq!(status, MutantStatus::Killed);
        assert_eq!(detail, "tests/t.py::test_a - assert 1 == 2");
        assert_eq!(classify(Ending::Exited(5), "").0, MutantStatus::Error);
        assert_eq!(classify(Ending::Signaled(libc::SIGXCPU), "").0, MutantStatus::Timeout);
        assert_eq!(classify(Ending::Signaled(9), "").0, MutantStatus::Killed);
        assert_eq!(classify(Ending::TimedOut, "").0, MutantStatus::Timeout);
    }

    #[test]
    fn usage_errors_a_mutant_causes_are_kills() {
        let conftest = "ImportError while loading conftest '/p/mutants/tests/conftest.py'.\n\
tests/conftest.py:1: in <module>\n    import pkg\nE   ZeroDivisionError: division by zero\n";
        assert_eq!(
            classify(Ending::Exited(4), conftest),
            (
                MutantStatus::Killed,
                "conftest.py failed to load: ZeroDivisionError: division by zero \
                 (in /p/mutants/tests/conftest.py)"
                    .to_owned()
            )
        );
        let missing = "ERROR: not found: /p/mutants/tests/t.py::test_a\n(no match in any of [<Module t.py>])\n";
        let (status, detail) = classify(Ending::Exited(4), missing);
        assert_eq!(status, MutantStatus::Killed);
        assert!(detail.contains("changed which tests exist"), "{detail}");
        assert!(detail.contains("/p/mutants/tests/t.py::test_a"), "{detail}");
        let (status, _) = classify(Ending::Exited(4), "ERROR: file or directory not found: x\n");
        assert_eq!(status, MutantStatus::Error);
    }

    #[test]
    fn tails_keep_the_end_and_say_what_was_dropped() {
        assert_eq!(tail("abc", 10), "abc");
        assert_eq!(tail("abcdef", 2), "[… 4 bytes dropped …]\nef");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("tests/t.py::test_a"), "tests/t.py::test_a");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("t[1-2]"), "'t[1-2]'");
    }

    fn verdict(status: MutantStatus, detail: &str, ms: u64) -> MutantVerdict {
        MutantVerdict {
            status,
            duration_ms: ms,
            exit_code: noot_plugin_api::abi_stable::std_types::ROption::RNone,
            output: String::new().into(),
            detail: detail.into(),
            cpu_limited: status == MutantStatus::Timeout,
        }
    }

    #[test]
    fn a_failure_after_a_limit_kills_only_if_the_same_tests_pass_without_the_mutant() {
        let timeout = || verdict(MutantStatus::Timeout, "CPU-time limit reached", 300);
        let failed = || verdict(MutantStatus::Killed, "t::b - AssertionError", 20);
        let passes = verdict(MutantStatus::Survived, "every selected test passed", 10);
        let killed = after_a_limit(timeout(), failed(), Some(&passes), "t::a");
        assert_eq!(killed.status, MutantStatus::Killed);
        assert_eq!(killed.duration_ms, 330);
        assert!(!killed.cpu_limited);
        assert_eq!(
            killed.detail.as_str(),
            "t::b - AssertionError (after t::a reached its CPU-time limit; the tests after it ran on, and pass without the mutant)"
        );
        // They fail without the mutant too: they needed what t::a leaves.
        let fails_too = verdict(MutantStatus::Killed, "t::b - KeyError", 10);
        let kept = after_a_limit(timeout(), failed(), Some(&fails_too), "t::a");
        assert_eq!((kept.status, kept.duration_ms), (MutantStatus::Timeout, 330));
        let passed = verdict(MutantStatus::Survived, "every selected test passed", 20);
        let kept = after_a_limit(timeout(), passed, None, "t::a");
        assert_eq!(
            (kept.status, kept.detail.as_str()),
            (MutantStatus::Timeout, "CPU-time limit reached")
        );
    }
}
