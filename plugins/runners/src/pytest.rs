//! What a pytest exit means for a mutant, shared by both runners.
//!
//! pytest's exit codes: 0 all passed, 1 some failed, 2 interrupted (a
//! collection error, which a mutant that breaks an import causes), 3
//! internal error, 4 usage error, 5 no tests collected.

use noot_plugin_api::MutantStatus;

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

/// The status and a one-line reason.
pub fn classify(ending: Ending, output: &str) -> (MutantStatus, String) {
    match ending {
        Ending::TimedOut => (MutantStatus::Timeout, "deadline passed; process group killed".into()),
        Ending::Signaled(signal) if signal == libc::SIGXCPU => {
            (MutantStatus::Timeout, "CPU-time limit reached (SIGXCPU)".into())
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
        // Given node ids, a file that no longer imports makes pytest exit 4
        // ("found no collectors"), not 2. The baseline collected those ids,
        // so the mutant broke the import: a kill.
        Ending::Exited(4) if collection_failed(output) => (
            MutantStatus::Killed,
            format!(
                "collection failed: {}",
                first_failure(output).unwrap_or_else(|| "a test module did not import".into())
            ),
        ),
        Ending::Exited(4) => (MutantStatus::Error, "pytest usage error".into()),
        Ending::Exited(5) => (MutantStatus::Error, "pytest collected no tests".into()),
        Ending::Exited(code) => {
            (MutantStatus::Killed, format!("the test process exited with {code}"))
        }
    }
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
}
