//! `noot report --github`: GitHub Actions workflow commands that annotate
//! the undetected mutants (`survived` and `no_tests`) on their lines, as
//! `::warning file=PATH,line=N,title=…::message`, with paths relative to
//! the repository root and values escaped as GitHub's toolkit does.
//!
//! With `--changed-since REF` only mutants on lines changed since the merge
//! base of REF and `HEAD` (committed or not, `git diff -U0`) are annotated,
//! so a pull request sees the survivors on the lines it touched. Git runs
//! through the [`Procs`] port.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::report::{MutantReport, RunReport};
use super::results::Status;
use crate::engine::ports::Procs;
use crate::engine::procs::{ProcStatus, SpawnRequest};

/// Lines added or changed, per file (relative to the repository root), as
/// sorted inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedLines {
    files: BTreeMap<String, Vec<(usize, usize)>>,
}

impl ChangedLines {
    /// Reads the new-side ranges of a `git diff -U0` with `a/` and `b/`
    /// prefixes. Deleted files and pure deletions change no line.
    pub fn parse(diff: &str) -> Self {
        let mut files: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in diff.lines() {
            if let Some(path) = line.strip_prefix("+++ ") {
                current =
                    unquote(path.trim_end()).and_then(|p| p.strip_prefix("b/").map(str::to_owned));
            } else if let (Some(hunk), Some(file)) = (line.strip_prefix("@@ "), &current) {
                if let Some(range) = new_range(hunk) {
                    files.entry(file.clone()).or_default().push(range);
                }
            }
        }
        for ranges in files.values_mut() {
            ranges.sort_unstable();
        }
        Self { files }
    }

    /// Whether any line from `start` to `end` (inclusive) of `file` changed.
    pub fn touches(&self, file: &str, start: usize, end: usize) -> bool {
        self.files
            .get(file)
            .is_some_and(|ranges| ranges.iter().any(|&(from, to)| from <= end && start <= to))
    }
}

/// `-a,b +c,d @@ …` → the new side's lines `c..=c+d-1`; `None` when the
/// hunk only deletes (`d` is 0).
fn new_range(hunk: &str) -> Option<(usize, usize)> {
    let new = hunk.split(' ').find_map(|part| part.strip_prefix('+'))?;
    let (start, count) = match new.split_once(',') {
        Some((start, count)) => (start.parse::<usize>().ok()?, count.parse::<usize>().ok()?),
        None => (new.parse::<usize>().ok()?, 1),
    };
    (count > 0).then(|| (start, start + count - 1))
}

/// A path as git prints it: plain, or in double quotes with C escapes
/// (for names with control characters, quotes or backslashes); `None` for
/// `/dev/null`.
fn unquote(path: &str) -> Option<String> {
    if path == "/dev/null" {
        return None;
    }
    let Some(inner) = path.strip_prefix('"').and_then(|p| p.strip_suffix('"')) else {
        return Some(path.to_owned());
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.bytes();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next()? {
            b'n' => bytes.push(b'\n'),
            b't' => bytes.push(b'\t'),
            b'r' => bytes.push(b'\r'),
            b'a' => bytes.push(7),
            b'b' => bytes.push(8),
            b'f' => bytes.push(12),
            b'v' => bytes.push(11),
            d @ b'0'..=b'3' => {
                let (d2, d3) = (chars.next()?, chars.next()?);
                let digit = |d: u8| d.checked_sub(b'0').filter(|v| *v < 8);
                bytes.push(digit(d)? * 64 + digit(d2)? * 8 + digit(d3)?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

/// What [`annotations`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    /// The workflow commands, one a line.
    pub text: String,
    /// How many were written.
    pub shown: usize,
    /// Undetected mutants left out because their lines did not change.
    pub unchanged: usize,
}

/// One `::warning` per undetected mutant, its file prefixed with `prefix`
/// (the project's folder inside the repository, `""` or ending in `/`),
/// only on `changed` lines when given.
pub fn annotations(
    report: &RunReport,
    prefix: &str,
    changed: Option<&ChangedLines>,
) -> Annotations {
    let mut out = Annotations::default();
    for mutant in &report.mutants {
        let title = match mutant.status {
            Status::Survived => "Mutant survived",
            Status::NoTests => "Mutant not reached by any test",
            _ => continue,
        };
        let path = format!("{prefix}{}", mutant.file);
        let end_line = mutant.line + mutant.original.matches('\n').count();
        if changed.is_some_and(|c| !c.touches(&path, mutant.line, end_line)) {
            out.unchanged += 1;
            continue;
        }
        let mut properties = format!("file={},line={}", escape_property(&path), mutant.line);
        if end_line != mutant.line {
            let _ = write!(properties, ",endLine={end_line}");
        }
        let title = format!("{title}: {}", mutant.id);
        let _ = writeln!(
            out.text,
            "::warning {properties},title={}::{}",
            escape_property(&title),
            escape_data(&message(mutant))
        );
        out.shown += 1;
    }
    // GitHub shows 10 warnings of a step and drops the rest without a word;
    // a notice (a kind with its own 10) says how many there are.
    if out.shown > SHOWN_PER_STEP {
        let note = format!(
            "{} undetected mutants, and GitHub shows the first {SHOWN_PER_STEP} warnings of a step: \
             all of them are in this step's log and in `noot results --status survived --status no_tests`",
            out.shown
        );
        let _ = writeln!(out.text, "::notice title=noot::{}", escape_data(&note));
    }
    out
}

/// Warning annotations GitHub shows per step (10 of each kind; 50 a job).
const SHOWN_PER_STEP: usize = 10;

fn message(mutant: &MutantReport) -> String {
    let mut text = format!(
        "{} changed `{}` to `{}` in {}",
        mutant.operator,
        one_line(&mutant.original),
        one_line(&mutant.replacement),
        mutant.function
    );
    if mutant.status == Status::Survived {
        let _ = write!(text, ", and the tests still pass: {}", mutant.detail);
        const SHOWN: usize = 3;
        let tests = &mutant.tests_run;
        if !tests.is_empty() {
            let _ = write!(text, "\nTests run: {}", tests[..tests.len().min(SHOWN)].join(", "));
            if tests.len() > SHOWN {
                let _ = write!(text, " and {} more", tests.len() - SHOWN);
            }
        }
    } else {
        text.push_str(": no test runs this code");
    }
    let _ = write!(text, "\nSee it: noot show {}", mutant.id);
    text
}

fn one_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    if text.contains('\n') { format!("{first}…") } else { first.to_owned() }
}

/// A command's message, escaped as `@actions/core` does (`%`, CR, LF).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property value: as [`escape_data`], plus `:` and `,`, which would end
/// the value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Why git could not say what changed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// `git` did not start.
    #[error("cannot run git in {dir}: {source}; install git or leave out --changed-since")]
    Spawn {
        /// Where.
        dir: String,
        /// Why.
        source: std::io::Error,
    },
    /// A git command failed.
    #[error("`git {command}` in {dir} failed: {stderr}{help}")]
    Failed {
        /// The arguments.
        command: String,
        /// Where.
        dir: String,
        /// Git's own words.
        stderr: String,
        /// What to do.
        help: String,
    },
}

/// The project's folder inside its git repository (`""` at the top, else
/// ending in `/`).
pub fn repo_prefix(procs: &dyn Procs, root: &Path) -> Result<String, GitError> {
    git(procs, root, &["rev-parse", "--show-prefix"], "").map(|out| out.trim_end().to_owned())
}

/// The lines changed since the merge base of `rev` and `HEAD`, committed
/// or not.
pub fn changed_lines(procs: &dyn Procs, root: &Path, rev: &str) -> Result<ChangedLines, GitError> {
    let shallow_help = "; is it a branch, tag or commit of this repository? In GitHub Actions, \
                        check out with `fetch-depth: 0` (actions/checkout) so the base is there";
    let base = git(procs, root, &["merge-base", rev, "HEAD"], shallow_help)?;
    let diff = git(
        procs,
        root,
        &[
            "-c",
            "core.quotePath=false",
            "diff",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-relative",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            base.trim(),
            "--",
            ".",
        ],
        "",
    )?;
    Ok(ChangedLines::parse(&diff))
}

fn git(procs: &dyn Procs, root: &Path, args: &[&str], help: &str) -> Result<String, GitError> {
    const CAP: usize = 256 * 1024 * 1024;
    let dir = root.display().to_string();
    let request = SpawnRequest {
        program: "git".into(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        cwd: Some(root.to_path_buf()),
        // Git's messages in one language, and no pager or prompt.
        env: vec![
            ("LC_ALL".into(), "C".into()),
            ("GIT_PAGER".into(), "cat".into()),
            ("GIT_TERMINAL_PROMPT".into(), "0".into()),
        ],
        output_cap_bytes: CAP,
        ..SpawnRequest::default()
    };
    let spawn_error = |source| GitError::Spawn { dir: dir.clone(), source };
    let handle = procs.spawn(&request).map_err(spawn_error)?;
    let result = procs.wait(handle, Some(120_000)).map_err(spawn_error)?;
    let stderr = String::from_utf8_lossy(&result.stderr).trim().to_owned();
    if result.status != ProcStatus::Exited(0) || result.stdout_truncated {
        let stderr = if result.stdout_truncated {
            format!("its output is over {} MiB", CAP >> 20)
        } else if stderr.is_empty() {
            format!("{:?}", result.status)
        } else {
            stderr
        };
        return Err(GitError::Failed {
            command: args.join(" "),
            dir,
            stderr,
            help: help.to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&result.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutant(id: &str, line: usize, status: Status, original: &str) -> MutantReport {
        MutantReport {
            id: id.into(),
            file: "src/m.py".into(),
            line,
            column: 5,
            function: "m.f".into(),
            operator: "string_case".into(),
            original: original.into(),
            replacement: "b".into(),
            status,
            duration_ms: 0,
            tests_run: ["t1", "t2", "t3", "t4"].map(String::from).to_vec(),
            detail: "every selected test passed".into(),
            ..MutantReport::default()
        }
    }

    fn report(mutants: Vec<MutantReport>) -> RunReport {
        RunReport::from_rows("subprocess", mutants)
    }

    #[test]
    fn escapes_follow_the_actions_toolkit() {
        assert_eq!(escape_data("100%\r\nok: a,b"), "100%25%0D%0Aok: a,b");
        assert_eq!(escape_property("C:\\a,b%\n"), "C%3A\\a%2Cb%25%0A");
    }

    #[test]
    fn undetected_mutants_are_warnings_with_escaped_values() {
        let report = report(vec![
            mutant("m.f__noot_1", 3, Status::Survived, "a,b: 100%"),
            mutant("m.f__noot_2", 4, Status::Killed, "x"),
            mutant("m.f__noot_3", 5, Status::NoTests, "x\ny"),
        ]);
        let found = annotations(&report, "pkg/", None);
        assert_eq!((found.shown, found.unchanged), (2, 0));
        let lines: Vec<&str> = found.text.lines().collect();
        assert_eq!(
            lines[0],
            "::warning file=pkg/src/m.py,line=3,title=Mutant survived%3A m.f__noot_1::string_case \
             changed `a,b: 100%25` to `b` in m.f, and the tests still pass: every selected test \
             passed%0ATests run: t1, t2, t3 and 1 more%0ASee it: noot show m.f__noot_1"
        );
        assert!(
            lines[1].starts_with(
                "::warning file=pkg/src/m.py,line=5,endLine=6,title=Mutant not reached by any test%3A m.f__noot_3::"
            ),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn only_changed_lines_are_annotated_when_asked() {
        let diff = "diff --git a/pkg/src/m.py b/pkg/src/m.py\n--- a/pkg/src/m.py\n+++ b/pkg/src/m.py\n\
                    @@ -3 +3 @@ def f():\n-    x\n+    y\n@@ -9,2 +8,0 @@\n-a\n-b\n\
                    diff --git a/gone.py b/gone.py\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n";
        let changed = ChangedLines::parse(diff);
        assert!(changed.touches("pkg/src/m.py", 3, 3));
        assert!(!changed.touches("pkg/src/m.py", 8, 9), "a pure deletion changes no line");
        assert!(!changed.touches("gone.py", 1, 1));
        let report = report(vec![
            mutant("m.f__noot_1", 3, Status::Survived, "a"),
            mutant("m.f__noot_2", 4, Status::Survived, "a"),
            mutant("m.f__noot_3", 2, Status::NoTests, "a\nb"),
        ]);
        let found = annotations(&report, "pkg/", Some(&changed));
        assert_eq!((found.shown, found.unchanged), (2, 1), "{}", found.text);
        assert!(!found.text.contains("m.f__noot_2"));
    }

    #[test]
    fn past_what_github_shows_a_notice_counts_them() {
        let many = (1..=11).map(|i| mutant(&format!("m.f__noot_{i}"), i, Status::Survived, "a"));
        let found = annotations(&report(many.collect()), "", None);
        assert_eq!(found.shown, 11);
        let last = found.text.lines().last().unwrap_or_default();
        assert!(last.starts_with("::notice title=noot::11 undetected mutants"), "{last}");
        let ten = (1..=10).map(|i| mutant(&format!("m.f__noot_{i}"), i, Status::Survived, "a"));
        assert!(!annotations(&report(ten.collect()), "", None).text.contains("::notice"));
    }

    #[test]
    fn hunk_headers_and_quoted_paths_are_read() {
        assert_eq!(new_range("-1,2 +5,3 @@"), Some((5, 7)));
        assert_eq!(new_range("-1 +5 @@"), Some((5, 5)));
        assert_eq!(new_range("-4,2 +3,0 @@"), None);
        assert_eq!(unquote("\"b/t\\303\\251\\tx\\\"\""), Some("b/té\tx\"".to_owned()));
        assert_eq!(unquote("b/plain name.py"), Some("b/plain name.py".to_owned()));
    }
}
