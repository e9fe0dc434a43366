//! The report in Stryker's mutation-testing-report-schema (version 2), and
//! an HTML page that shows it with the mutation-testing-elements viewer,
//! so noot's results open in the same UI as Stryker's and mutmut's
//! exports.
//!
//! The viewer is vendored (`noot-host/assets/mutation-testing-elements/`,
//! whose README says where it came from and how to update it) and inlined
//! into the page with the report: one file that works from `file://` with
//! no network, and whose Content-Security-Policy lets it load nothing.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::diff;
use super::report::{MutantReport, RunReport};
use super::results::Status;

/// The version of the vendored mutation-testing-elements viewer.
pub const VIEWER_VERSION: &str = "3.9.0";

/// The viewer's browser bundle (an IIFE that defines the custom elements).
const VIEWER_JS: &str =
    include_str!("../../assets/mutation-testing-elements/mutation-test-elements.js");

/// What the page may do: run its own inline script and styles, show inline
/// images, and fetch nothing (the report holds the project's source).
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
                   style-src 'unsafe-inline'; img-src data:";

fn stryker_status(status: Status) -> &'static str {
    match status {
        Status::Killed => "Killed",
        Status::Survived => "Survived",
        Status::NoTests => "NoCoverage",
        Status::Timeout => "Timeout",
        Status::Error => "RuntimeError",
        Status::Skipped => "Ignored",
        Status::Unviable => "CompileError",
    }
}

/// The viewer's language name for a file, by its extension.
fn language_of(file: &str) -> &'static str {
    if file.ends_with(".rs") { "rust" } else { "python" }
}

/// Builds the JSON document. Sources are read from `root`; a file that
/// cannot be read is reported with an empty source.
pub fn document(report: &RunReport, root: &Path) -> Value {
    let mut by_file: BTreeMap<&str, Vec<&MutantReport>> = BTreeMap::new();
    for mutant in &report.mutants {
        by_file.entry(&mutant.file).or_default().push(mutant);
    }
    let files: serde_json::Map<String, Value> = by_file
        .into_iter()
        .map(|(file, mutants)| {
            let source = std::fs::read_to_string(root.join(file)).unwrap_or_default();
            let mutants: Vec<Value> = mutants.into_iter().map(|m| entry(m, &source)).collect();
            let language = language_of(file);
            (file.to_owned(), json!({"language": language, "source": source, "mutants": mutants}))
        })
        .collect();
    json!({
        "$schema": "https://git.io/mutation-testing-schema",
        "schemaVersion": "2",
        "thresholds": {"high": 80, "low": 60},
        "projectRoot": root.display().to_string(),
        "files": files,
        "framework": {"name": "noot", "version": env!("CARGO_PKG_VERSION")},
    })
}

/// One mutant of the document, located in its file's current source (the
/// recorded position when the source no longer has it).
fn entry(mutant: &MutantReport, source: &str) -> Value {
    let (line, column) = diff::locate(source, mutant)
        .map_or((mutant.line, mutant.column), |start| line_column(source, start));
    let lines: Vec<&str> = mutant.original.split('\n').collect();
    let end_line = line + lines.len() - 1;
    let end_column = match lines.as_slice() {
        [only] => column + only.len(),
        [.., last] => last.len() + 1,
        [] => column,
    };
    let mut entry = json!({
        "id": mutant.id,
        "mutatorName": mutant.operator,
        "replacement": mutant.replacement,
        "location": {
            "start": {"line": line, "column": column},
            "end": {"line": end_line, "column": end_column},
        },
        "status": stryker_status(mutant.status),
        "statusReason": mutant.detail,
        "coveredBy": mutant.tests_run,
        "testsCompleted": mutant.tests_run.len(),
        "duration": mutant.duration_ms,
    });
    if mutant.status == Status::Killed {
        entry["killedBy"] = json!(mutant.tests_run.first().into_iter().collect::<Vec<_>>());
    }
    entry
}

/// 1-based line and (byte) column of a byte offset.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |i| offset - i - 1) + 1;
    (line, column)
}

/// A self-contained page: the viewer and the report inlined.
pub fn html(document: &Value) -> String {
    // Inside a script element, `</script` ends it and `<!--` followed by
    // `<script` changes how the parser looks for its end; `<` only occurs
    // inside JSON strings, where `\u003c` means the same character.
    let data = document.to_string().replace('<', "\\u003c");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>noot mutation report</title>\n\
         <!-- mutation-testing-elements {VIEWER_VERSION} (Apache-2.0), vendored in noot -->\n\
         <script>\n{VIEWER_JS}\n</script>\n</head>\n<body>\n\
         <noscript>This report needs JavaScript; the data is in the Stryker JSON file beside it.</noscript>\n\
         <mutation-test-report-app title-postfix=\"noot\"></mutation-test-report-app>\n\
         <script>\ndocument.querySelector('mutation-test-report-app').report = {data};\n</script>\n\
         </body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_strykers_names() {
        assert_eq!(stryker_status(Status::Unviable), "CompileError");
        assert_eq!(stryker_status(Status::NoTests), "NoCoverage");
        assert_eq!(stryker_status(Status::Error), "RuntimeError");
    }

    #[test]
    fn the_vendored_viewer_can_be_inlined_in_a_script_element() {
        // A `<script` or `</script` in the bundle would end or confuse the
        // inline element: an update of the viewer must be checked for it.
        let lower = VIEWER_JS.to_ascii_lowercase();
        assert!(!lower.contains("</script"), "the viewer contains </script");
        assert!(!lower.contains("<script"), "the viewer contains <script");
        assert!(VIEWER_JS.contains("mutation-test-report-app"), "not the viewer bundle");
    }

    #[test]
    fn the_page_inlines_the_viewer_and_escapes_the_report() {
        let document = json!({"files": {"a.py": {"source": "x = '</script><!--<script>'"}}});
        let page = html(&document);
        let own = page.replace(VIEWER_JS, "");
        assert!(!own.contains(" src=") && !own.contains("<link"), "loads nothing: {own}");
        assert_eq!(page.matches("</script>").count(), 2, "only the two elements end");
        assert!(page.contains(r"\u003c/script>\u003c!--\u003cscript>"), "{page}");
        let data_line = page.lines().find(|l| l.contains(".report = ")).expect("data line");
        let json_text = data_line
            .split_once(".report = ")
            .and_then(|(_, rest)| rest.strip_suffix(';'))
            .expect("assignment");
        let back: Value = serde_json::from_str(json_text).expect("still JSON");
        assert_eq!(back, document, "the escaped report reads back unchanged");
    }
}
