//! Doc examples noot does not run. rustdoc compiles every example on each
//! `cargo test --doc` (no binary is kept to run again under each mutant),
//! so noot selects tests from the test binaries only; a crate with doc
//! examples is told so, with how many, since a mutant only an example
//! catches is reported survived (cargo-mutants, which runs `cargo test`,
//! catches it).

/// How many doc examples in `source` rustdoc would run: fenced blocks in
/// `///` or `//!` comments whose info string is empty, `rust` or an
/// attribute that still runs (`should_panic`, `edition2021`), not
/// `ignore`, `no_run`, `compile_fail` or another language.
pub fn runnable_examples(source: &str) -> usize {
    let mut count = 0;
    let mut open = false;
    for line in source.lines() {
        let line = line.trim_start();
        let Some(doc) = line.strip_prefix("///").or_else(|| line.strip_prefix("//!")) else {
            continue;
        };
        let doc = doc.trim();
        let Some(info) = doc.strip_prefix("```").or_else(|| doc.strip_prefix("~~~")) else {
            continue;
        };
        if open {
            open = false;
            continue;
        }
        open = true;
        if runs(info) {
            count += 1;
        }
    }
    count
}

fn runs(info: &str) -> bool {
    info.split([',', ' ', '\t']).map(str::trim).filter(|w| !w.is_empty()).all(|word| {
        matches!(word, "rust" | "should_panic" | "test_harness" | "allow_fail")
            || word.starts_with("edition")
            || word.starts_with('{')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_examples_rustdoc_runs_are_counted() {
        let source = "\
//! ```
//! assert!(true);
//! ```
/// ```rust,should_panic
/// panic!();
/// ```
/// ```no_run
/// loop {}
/// ```
/// ```text
/// not code
/// ```
/// ```ignore
/// ```
/// ```edition2021
/// ```
// ```
// a plain comment
// ```
fn f() {}
";
        assert_eq!(runnable_examples(source), 3);
        assert_eq!(runnable_examples("fn f() {}\n"), 0);
    }
}
