//! cargo-mutants' outcome lists (`--cargo-mutants-out DIR`): `caught.txt`,
//! `missed.txt`, `timeout.txt` and `unviable.txt`, one mutant per line in
//! its style (`src/lib.rs:26:17: replace + with * in Version::fmt`), so CI
//! scripts written against cargo-mutants' output folder keep working.
//!
//! cargo-mutants cannot tell a mutant no test reaches from a survivor: both
//! are "missed", so `missed.txt` holds noot's `no_tests` too. Mutants that
//! were skipped or ended in an error are in no list (cargo-mutants has no
//! such outcome); every file is written, empty or not, atomically.

use std::io;
use std::path::Path;

use super::report::{MutantReport, RunReport};
use super::results::Status;
use crate::engine::store::write_atomic;

/// The lists, in cargo-mutants' file names, and the statuses each holds.
const LISTS: [(&str, &[Status]); 4] = [
    ("caught.txt", &[Status::Killed]),
    ("missed.txt", &[Status::Survived, Status::NoTests]),
    ("timeout.txt", &[Status::Timeout]),
    ("unviable.txt", &[Status::Unviable]),
];

/// Writes the four lists of `report` into `dir` (made if missing).
pub fn write(dir: &Path, report: &RunReport) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, statuses) in LISTS {
        let mut text = String::new();
        for mutant in report.mutants.iter().filter(|m| statuses.contains(&m.status)) {
            text.push_str(&describe(mutant));
            text.push('\n');
        }
        write_atomic(&dir.join(name), text.as_bytes())?;
    }
    Ok(())
}

/// One line: `FILE:LINE:COLUMN: what the mutant does`.
pub fn describe(mutant: &MutantReport) -> String {
    let function = short_function(&mutant.function);
    let replacement = one_line(&mutant.replacement);
    let change = match mutant.operator.as_str() {
        "replace_body" => {
            let value = replacement.trim().trim_start_matches('{').trim_end_matches('}').trim();
            format!("replace {function} with {value}")
        }
        "delete_not" | "delete_negation" => {
            let operator = mutant.original.trim_start().chars().next().unwrap_or('!');
            format!("delete {operator} in {function}")
        }
        "delete_match_arm" => format!("delete match arm in {function}"),
        "match_guard" => format!("replace match guard with {replacement} in {function}"),
        "delete_field" => {
            let field = mutant.original.split(':').next().unwrap_or("").trim();
            format!("delete field {field} from struct expression in {function}")
        }
        _ => format!("replace {} with {replacement} in {function}", one_line(&mutant.original)),
    };
    format!("{}:{}:{}: {change}", mutant.file, mutant.line, mutant.column)
}

/// `Version::fmt` from `semver::display::Version::fmt`: the function with
/// its type, without the module path (cargo-mutants names it so).
fn short_function(function: &str) -> String {
    let parts: Vec<&str> = function.split("::").collect();
    let keep = parts
        .iter()
        .rposition(|p| p.chars().next().is_some_and(char::is_uppercase))
        .unwrap_or(parts.len().saturating_sub(1));
    parts[keep..].join("::")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutant(operator: &str, original: &str, replacement: &str, status: Status) -> MutantReport {
        MutantReport {
            id: "semver::display::Version::fmt__noot_5".into(),
            file: "src/display.rs".into(),
            line: 26,
            column: 17,
            function: "semver::display::Version::fmt".into(),
            operator: operator.into(),
            original: original.into(),
            replacement: replacement.into(),
            status,
            duration_ms: 0,
            tests_run: Vec::new(),
            whole_suite: false,
            detail: String::new(),
            reused: false,
        }
    }

    #[test]
    fn each_operator_reads_as_cargo_mutants_would_write_it() {
        let line = |m: &MutantReport| describe(m);
        assert_eq!(
            line(&mutant("binary_operator", "+", "*", Status::Killed)),
            "src/display.rs:26:17: replace + with * in Version::fmt"
        );
        assert_eq!(
            line(&mutant(
                "replace_body",
                "{\n  x\n}",
                "{ Ok(Default::default()) }",
                Status::Killed
            )),
            "src/display.rs:26:17: replace Version::fmt with Ok(Default::default())"
        );
        assert_eq!(
            line(&mutant(
                "delete_not",
                "!self.pre.is_empty()",
                "self.pre.is_empty()",
                Status::Killed
            )),
            "src/display.rs:26:17: delete ! in Version::fmt"
        );
        let mut free = mutant("binary_operator", "<", "<=", Status::Killed);
        free.function = "semver::display::digits".into();
        assert_eq!(line(&free), "src/display.rs:26:17: replace < with <= in digits");
    }

    #[test]
    fn the_four_lists_hold_their_statuses_and_no_tests_counts_as_missed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rows = vec![
            mutant("binary_operator", "+", "*", Status::Killed),
            mutant("binary_operator", "+", "-", Status::Survived),
            mutant("binary_operator", "+", "/", Status::NoTests),
            mutant("binary_operator", "+", "%", Status::Timeout),
            mutant("binary_operator", "+", "<<", Status::Unviable),
            mutant("binary_operator", "+", ">>", Status::Error),
        ];
        write(dir.path(), &RunReport::from_rows("libtest", rows)).expect("written");
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect("read");
        assert_eq!(read("caught.txt").lines().count(), 1);
        assert_eq!(read("missed.txt").lines().count(), 2);
        assert_eq!(read("timeout.txt"), "src/display.rs:26:17: replace + with % in Version::fmt\n");
        assert_eq!(read("unviable.txt").lines().count(), 1);
    }
}
