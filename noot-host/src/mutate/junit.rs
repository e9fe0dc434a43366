//! `noot report --junit FILE`: the results as JUnit XML, the format CI
//! systems (GitHub test reporters, GitLab's `artifacts:reports:junit`,
//! Jenkins' `junit` step) read. One test suite per source file, one test
//! case per mutant:
//!
//! - `killed` and `timeout` pass (a timeout is detected: the tests noticed
//!   that something was wrong; it says so in `system-out`);
//! - `survived` fails (type `survived`) with the reason, the tests that
//!   ran and the mutant as a diff;
//! - `no_tests` fails too (type `no_tests`): nothing tested that code;
//! - `error` is an `<error>` (the harness, not the tests, failed);
//! - `skipped` is `<skipped>`.
//!
//! Only elements and attributes of the JUnit schema that Jenkins ships
//! (`junit-10.xsd`) are used, so strict validators accept the file; where
//! a mutant is (file and line) is in the suite's `file` attribute and in
//! the case's name.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::diff;
use super::report::{MutantReport, RunReport};
use super::results::Status;

/// The JUnit document. `source_of` gives a file's current text (relative
/// path as in the report), for the diffs; a file it cannot give is
/// reported without diffs.
pub fn document(report: &RunReport, source_of: &dyn Fn(&str) -> Option<String>) -> String {
    let mut by_file: BTreeMap<&str, Vec<&MutantReport>> = BTreeMap::new();
    for mutant in &report.mutants {
        by_file.entry(&mutant.file).or_default().push(mutant);
    }
    let scores: BTreeMap<&str, Option<f64>> =
        report.files.iter().map(|f| (f.file.as_str(), f.counts.score)).collect();
    let mut suites = String::new();
    let mut totals = Counts::default();
    for (file, mutants) in by_file {
        let source = source_of(file);
        let mut counts = Counts::default();
        let mut cases = String::new();
        for mutant in mutants {
            counts.add(mutant);
            cases.push_str(&case(mutant, source.as_deref()));
        }
        totals.merge(&counts);
        let score = scores
            .get(file)
            .copied()
            .flatten()
            .map_or_else(|| "-".to_owned(), |s| format!("{s:.1}"));
        let _ = write!(
            suites,
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" \
             time=\"{}\" file=\"{name}\">\n    <properties>\n      \
             <property name=\"mutation_score\" value=\"{score}\"/>\n    </properties>\n{cases}  \
             </testsuite>\n",
            counts.tests,
            counts.failures,
            counts.errors,
            counts.skipped,
            seconds(counts.time_ms),
            name = attribute(file),
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"noot mutation testing\" \
         tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">\n{suites}</testsuites>\n",
        totals.tests,
        totals.failures,
        totals.errors,
        seconds(totals.time_ms),
    )
}

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    time_ms: u64,
}

impl Counts {
    fn add(&mut self, mutant: &MutantReport) {
        self.tests += 1;
        match mutant.status {
            Status::Survived | Status::NoTests => self.failures += 1,
            Status::Error => self.errors += 1,
            Status::Skipped | Status::Unviable => self.skipped += 1,
            Status::Killed | Status::Timeout => {}
        }
        self.time_ms = self.time_ms.saturating_add(mutant.duration_ms);
    }

    fn merge(&mut self, other: &Self) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
        self.time_ms = self.time_ms.saturating_add(other.time_ms);
    }
}

fn case(mutant: &MutantReport, source: Option<&str>) -> String {
    let name = format!(
        "{} (line {}, {}: {} → {})",
        mutant.id,
        mutant.line,
        mutant.operator,
        short(&mutant.original),
        short(&mutant.replacement)
    );
    let open = format!(
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
        attribute(&name),
        attribute(&mutant.function),
        seconds(mutant.duration_ms)
    );
    let (element, kind, message) = match mutant.status {
        Status::Killed => return format!("{open}/>\n"),
        Status::Timeout => {
            let note = format!("timed out: counted as detected ({})", mutant.detail);
            return format!(
                "{open}>\n      <system-out>{}</system-out>\n    </testcase>\n",
                text(&note)
            );
        }
        Status::Skipped => {
            return format!(
                "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                attribute(&mutant.detail)
            );
        }
        Status::Unviable => {
            // It does not build: nothing for the tests to catch.
            let note = format!("unviable: {}", mutant.detail);
            return format!(
                "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                attribute(&note)
            );
        }
        Status::Survived => ("failure", "survived", format!("survived: {}", mutant.detail)),
        Status::NoTests => (
            "failure",
            "no_tests",
            "no_tests: no test reaches this mutant, so nothing checks this code".to_owned(),
        ),
        Status::Error => ("error", "error", format!("error: {}", mutant.detail)),
    };
    let body = explanation(mutant, source);
    format!(
        "{open}>\n      <{element} type=\"{kind}\" message=\"{}\">{}</{element}>\n    </testcase>\n",
        attribute(&message),
        text(&body)
    )
}

/// What a reader of a failed case needs: what happened, where, the tests,
/// the change, and how to reproduce it.
fn explanation(mutant: &MutantReport, source: Option<&str>) -> String {
    let what = match mutant.status {
        Status::Survived => {
            "The mutant survived: every test that reaches this code passed with it."
        }
        Status::NoTests => "No test reaches this code: the mutant was never tested.",
        _ => "The mutant could not be judged: the test run itself failed.",
    };
    let mut out = format!(
        "{what}\nWhere: {}:{}:{} in {}\nOperator: {}\nReason: {}\n",
        mutant.file, mutant.line, mutant.column, mutant.function, mutant.operator, mutant.detail
    );
    if !mutant.tests_run.is_empty() {
        let _ = writeln!(out, "Tests run: {}", mutant.tests_run.join(" "));
    }
    match source.and_then(|s| diff::unified(s, mutant)) {
        Some(unified) => {
            out.push('\n');
            out.push_str(&unified);
        }
        None => {
            let _ = writeln!(
                out,
                "\n{} changed since the run: `{}` → `{}`",
                mutant.file, mutant.original, mutant.replacement
            );
        }
    }
    let _ = write!(
        out,
        "\nSee it: noot show {}\nReproduce: noot run --debug {}\n",
        mutant.id, mutant.id
    );
    out
}

/// Milliseconds as seconds with 3 decimals (the schema's time pattern).
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The first line of a snippet, shortened, for a case's name.
fn short(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut shown: String = first.chars().take(40).collect();
    if shown.len() < first.len() || text.contains('\n') {
        shown.push('…');
    }
    shown
}

/// Text content: markup escaped; characters XML 1.0 cannot carry at all
/// (terminal escapes in test output, say) written as `\u{…}`.
fn text(raw: &str) -> String {
    escape(raw, false)
}

/// An attribute value: as [`text`], plus quotes, and line breaks and tabs
/// as character references (a parser would fold them into spaces).
fn attribute(raw: &str) -> String {
    escape(raw, true)
}

fn escape(raw: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\r' if in_attribute => out.push_str("&#13;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if allowed_in_xml(c) => out.push(c),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    out
}

/// XML 1.0's `Char` production.
fn allowed_in_xml(c: char) -> bool {
    matches!(u32::from(c), 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutant(id: &str, file: &str, status: Status, detail: &str) -> MutantReport {
        MutantReport {
            id: id.into(),
            file: file.into(),
            line: 2,
            column: 14,
            function: "m.f".into(),
            operator: "comparison_swap".into(),
            original: ">=".into(),
            replacement: ">".into(),
            status,
            duration_ms: 1500,
            tests_run: vec!["tests/test_m.py::test_f".into()],
            detail: detail.into(),
            ..MutantReport::default()
        }
    }

    fn report(mutants: Vec<MutantReport>) -> RunReport {
        RunReport::from_rows("subprocess", mutants)
    }

    #[test]
    fn each_status_becomes_the_right_element_and_counts_add_up() {
        let report = report(vec![
            mutant("m.f__noot_1", "m.py", Status::Killed, "t failed"),
            mutant("m.f__noot_2", "m.py", Status::Survived, "every selected test passed"),
            mutant("m.f__noot_3", "m.py", Status::NoTests, "no test reaches it"),
            mutant("m.f__noot_4", "m.py", Status::Timeout, "deadline 5 s"),
            mutant("m.f__noot_5", "n.py", Status::Error, "the worker died"),
            mutant("m.f__noot_6", "n.py", Status::Skipped, "filtered out"),
        ]);
        let source = "def f(a):\n    return a >= 18\n".to_owned();
        let xml = document(&report, &|_| Some(source.clone()));
        assert!(xml.contains(
            "<testsuites name=\"noot mutation testing\" tests=\"6\" failures=\"2\" errors=\"1\" time=\"9.000\">"
        ), "{xml}");
        assert!(xml.contains(
            "<testsuite name=\"m.py\" tests=\"4\" failures=\"2\" errors=\"0\" skipped=\"0\" time=\"6.000\" file=\"m.py\">"
        ), "{xml}");
        assert!(xml.contains(
            "<failure type=\"survived\" message=\"survived: every selected test passed\">"
        ));
        assert!(xml.contains("<failure type=\"no_tests\" message=\"no_tests: no test reaches"));
        assert!(
            xml.contains("<system-out>timed out: counted as detected (deadline 5 s)</system-out>")
        );
        assert!(xml.contains("<error type=\"error\" message=\"error: the worker died\">"));
        assert!(xml.contains("<skipped message=\"filtered out\"/>"));
        assert!(xml.contains("-    return a &gt;= 18\n+    return a &gt; 18\n"), "the diff: {xml}");
        assert!(xml.contains("name=\"m.f__noot_1 (line 2, comparison_swap: &gt;= → &gt;)\""));
    }

    #[test]
    fn markup_quotes_line_breaks_and_control_characters_are_escaped() {
        assert_eq!(attribute("a<b>&\"c\"\nd\te"), "a&lt;b&gt;&amp;&quot;c&quot;&#10;d&#9;e");
        assert_eq!(text("x\u{1b}[31my\r\n"), "x\\u{1b}[31my&#13;\n");
        assert_eq!(text("\u{fffe}\u{1F600}"), "\\u{fffe}\u{1F600}");
    }

    #[test]
    fn a_missing_source_still_explains_the_mutant() {
        let report = report(vec![mutant("m.f__noot_1", "m.py", Status::Survived, "passed")]);
        let xml = document(&report, &|_| None);
        assert!(xml.contains("m.py changed since the run: `&gt;=` → `&gt;`"), "{xml}");
    }
}
