//! A mutant as a unified diff of its file, for `noot show` and the JUnit
//! report: where its original text is in the current source, and the
//! source with the replacement applied.

use super::report::MutantReport;

/// Byte offset of a 1-based line and (byte) column.
pub fn offset_of(source: &str, line: usize, column: usize) -> Option<usize> {
    let mut offset = 0;
    for _ in 1..line {
        offset += source[offset..].find('\n')? + 1;
    }
    let at = offset + column.checked_sub(1)?;
    (at <= source.len() && source.is_char_boundary(at)).then_some(at)
}

/// Where the mutant's original text starts in `source`, or `None` if the
/// source no longer has it there (the file changed since the run).
///
/// A string literal's mutants are positioned at the literal (its prefix
/// and opening quote) while their text is the literal's content, so the
/// original may start a few bytes after the recorded column.
pub fn locate(source: &str, mutant: &MutantReport) -> Option<usize> {
    const LITERAL_OPENER: usize = 5; // `rb"""` at most
    let at = offset_of(source, mutant.line, mutant.column)?;
    (at..=at + LITERAL_OPENER)
        .filter(|&start| source.is_char_boundary(start))
        .find(|&start| source.get(start..).is_some_and(|rest| rest.starts_with(&mutant.original)))
}

/// The unified diff (3 lines of context) of the mutant against `source`,
/// with `a/FILE` and `b/FILE` headers; `None` if the source changed.
pub fn unified(source: &str, mutant: &MutantReport) -> Option<String> {
    let start = locate(source, mutant)?;
    let mutated = format!(
        "{}{}{}",
        &source[..start],
        mutant.replacement,
        &source[start + mutant.original.len()..]
    );
    let diff = similar::TextDiff::from_lines(source, &mutated);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("a/{}", mutant.file), &format!("b/{}", mutant.file))
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutate::results::Status;

    fn mutant(line: usize, column: usize, original: &str, replacement: &str) -> MutantReport {
        MutantReport {
            id: "m.f__noot_1".into(),
            file: "src/m.py".into(),
            line,
            column,
            function: "m.f".into(),
            operator: "op".into(),
            original: original.into(),
            replacement: replacement.into(),
            status: Status::Survived,
            ..MutantReport::default()
        }
    }

    #[test]
    fn a_diff_replaces_the_original_at_its_position() {
        let source = "def f(a):\n    return a >= 18\n";
        let diff = unified(source, &mutant(2, 14, ">=", ">")).expect("located");
        assert_eq!(
            diff,
            "--- a/src/m.py\n+++ b/src/m.py\n@@ -1,2 +1,2 @@\n def f(a):\n\
             -    return a >= 18\n+    return a > 18\n"
        );
    }

    #[test]
    fn string_content_is_found_after_the_literal_opener() {
        let source = "x = rb\"ab\" + 'ab'\n";
        assert_eq!(locate(source, &mutant(1, 5, "ab", "XXabXX")), Some(7));
        assert_eq!(locate(source, &mutant(1, 14, "ab", "XXabXX")), Some(14));
    }

    #[test]
    fn a_changed_source_is_not_located() {
        let source = "x = 1\n";
        assert_eq!(locate(source, &mutant(1, 5, "2", "3")), None);
        assert_eq!(locate(source, &mutant(9, 1, "x", "y")), None);
        assert_eq!(unified(source, &mutant(1, 40, "x", "y")), None);
    }
}
