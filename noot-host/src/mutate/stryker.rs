//! The report in Stryker's mutation-testing-report-schema (version 2), and
//! an HTML page that shows it with the mutation-testing-elements viewer,
//! so noot's results open in the same UI as Stryker's and mutmut's
//! exports.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::report::RunReport;
use super::results::Status;

/// The mutation-testing-elements viewer, loaded by the HTML page.
pub const VIEWER_URL: &str = "https://www.unpkg.com/mutation-testing-elements@3";

fn stryker_status(status: Status) -> &'static str {
    match status {
        Status::Killed => "Killed",
        Status::Survived => "Survived",
        Status::NoTests => "NoCoverage",
        Status::Timeout => "Timeout",
        Status::Error => "RuntimeError",
        Status::Skipped => "Ignored",
    }
}

/// Builds the JSON document. Sources are read from `root`; a file that
/// cannot be read is reported with an empty source.
pub fn document(report: &RunReport, root: &Path) -> Value {
    let mut files: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for mutant in &report.mutants {
        let lines: Vec<&str> = mutant.original.split('\n').collect();
        let end_line = mutant.line + lines.len() - 1;
        let end_column = if lines.len() == 1 {
            mutant.column + mutant.original.len()
        } else {
            lines.last().map_or(1, |l| l.len() + 1)
        };
        let mut entry = json!({
            "id": mutant.id,
            "mutatorName": mutant.operator,
            "replacement": mutant.replacement,
            "location": {
                "start": {"line": mutant.line, "column": mutant.column},
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
        files.entry(mutant.file.clone()).or_default().push(entry);
    }
    let files: serde_json::Map<String, Value> = files
        .into_iter()
        .map(|(file, mutants)| {
            let source = std::fs::read_to_string(root.join(&file)).unwrap_or_default();
            (file, json!({"language": "python", "source": source, "mutants": mutants}))
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

/// A self-contained page: the report inlined, the viewer from [`VIEWER_URL`].
pub fn html(document: &Value) -> String {
    // `</` inside the inlined JSON would end the script element early.
    let data = document.to_string().replace("</", "<\\/");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>noot mutation report</title>\n\
         <script defer src=\"{VIEWER_URL}/dist/mutation-test-elements.js\"></script>\n</head>\n<body>\n\
         <mutation-test-report-app title-postfix=\"noot\"></mutation-test-report-app>\n\
         <script>\ndocument.querySelector('mutation-test-report-app').report = {data};\n</script>\n</body>\n</html>\n"
    )
}
