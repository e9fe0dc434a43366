//! What a project's mutants are, in any language: each mutant with its
//! id, site and diff, the functions left alone and why, the analysed
//! source files. Each language builds its catalog (`lang::python::catalog`,
//! `lang::rust::catalog`); everything after analysis reads only this.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::engine::digest::Digest;

/// A source file that does not parse, in any language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: syntax error")]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A source file to mutate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path relative to the project root, with `/`.
    pub rel: String,
    /// Its module path in the language's own spelling (`pkg.mod`,
    /// `krate::a::b`).
    pub module: String,
    /// The folder module paths start from, relative to the project root
    /// (`""` for the root): a Python import root, a Rust package's folder.
    pub root: String,
}

/// One mutant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutant {
    /// `module.Qualname__noot_N`.
    pub id: String,
    /// The function's key, `module.Qualname`.
    pub function: String,
    /// The file, relative to the project root.
    pub file: String,
    /// 1-based start line and column.
    pub line: usize,
    /// 1-based start column.
    pub column: usize,
    /// 1-based end line.
    pub end_line: usize,
    /// 1-based end column (exclusive).
    pub end_column: usize,
    /// The operator's name.
    pub operator: String,
    /// The text replaced.
    pub original: String,
    /// The text that replaces it.
    pub replacement: String,
    /// Digest of the function's text and of this mutation.
    pub digest: String,
}

/// Where one mutation goes, in terms every language shares.
pub(crate) struct Site<'a> {
    /// The operator's name.
    pub operator: &'a str,
    /// The bytes replaced.
    pub span: Range<usize>,
    /// 1-based line and column of the start.
    pub line: usize,
    /// 1-based column of the start.
    pub column: usize,
    /// The new text.
    pub replacement: &'a str,
}

impl Mutant {
    /// The `number`-th (from 1) mutant of the function `key`, whose text is
    /// `source[function]`, in `file`. Its digest covers the function's
    /// text and the mutation, placed relative to the function, so it
    /// stays put while the function does not change.
    pub(crate) fn of_function(
        file: &str,
        source: &str,
        key: &str,
        function: Range<usize>,
        number: usize,
        site: Site<'_>,
    ) -> Self {
        let (end_line, end_column) = position(source, site.span.end);
        let digest = Digest::of(
            format!(
                "{}\0{}\0{}\0{}\0{}",
                &source[function.clone()],
                site.operator,
                site.span.start.saturating_sub(function.start),
                site.span.end.saturating_sub(function.start),
                site.replacement
            )
            .as_bytes(),
        );
        Self {
            id: format!("{key}__noot_{number}"),
            function: key.to_owned(),
            file: file.to_owned(),
            line: site.line,
            column: site.column,
            end_line,
            end_column,
            operator: site.operator.to_owned(),
            original: source[site.span].to_owned(),
            replacement: site.replacement.to_owned(),
            digest: digest.to_string(),
        }
    }
}

/// A function left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFunction {
    /// `module.Qualname`.
    pub function: String,
    /// Its file.
    pub file: String,
    /// Its line.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// One analysed source module.
#[derive(Debug, Clone)]
pub struct ModuleEntry {
    /// The file.
    pub source: SourceFile,
    /// Digest of its code, comments and layout left out.
    pub digest: Digest,
    /// How many lines it has.
    pub lines: usize,
    /// Modules it imports.
    pub imports: Vec<String>,
    /// Its trampolined text, if anything in it is mutated.
    pub mutated: Option<String>,
}

/// Everything found.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Mutants, by file then position.
    pub mutants: Vec<Mutant>,
    /// Modules.
    pub modules: Vec<ModuleEntry>,
    /// Functions not mutated, with the reason.
    pub skipped: Vec<SkippedFunction>,
    /// Files that do not parse: (file, message).
    pub unparsable: Vec<(String, String)>,
}

/// 1-based line and column of a byte offset.
pub(crate) fn position(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1) + 1;
    (line, column)
}
