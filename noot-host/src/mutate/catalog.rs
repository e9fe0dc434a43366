//! Every mutant of a project: sources are parsed in parallel, each
//! function's mutations numbered and named, and each mutated module's
//! trampolined text produced (written to disk by [`super::tree`]).

use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::project::{Excludes, SourceFile};
use super::python;
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

/// Analyses every source, on up to `jobs` threads.
pub fn build(root: &Path, sources: &[SourceFile], excludes: &Excludes, jobs: usize) -> Catalog {
    let chunk = sources.len().div_ceil(jobs.max(1)).max(1);
    let parts: Vec<Vec<FileOutcome>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sources
            .chunks(chunk)
            .map(|files| {
                scope.spawn(move || files.iter().map(|f| analyse_file(root, f, excludes)).collect())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let mut catalog = Catalog::default();
    for outcome in parts.into_iter().flatten() {
        match outcome {
            FileOutcome::Analysed { module, mutants, skipped } => {
                catalog.modules.push(module);
                catalog.mutants.extend(mutants);
                catalog.skipped.extend(skipped);
            }
            FileOutcome::Failed(file, message) => catalog.unparsable.push((file, message)),
        }
    }
    catalog
}

enum FileOutcome {
    Analysed { module: ModuleEntry, mutants: Vec<Mutant>, skipped: Vec<SkippedFunction> },
    Failed(String, String),
}

fn analyse_file(root: &Path, file: &SourceFile, excludes: &Excludes) -> FileOutcome {
    let path = root.join(&file.rel);
    let source = match std::fs::read(&path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => return FileOutcome::Failed(file.rel.clone(), "not UTF-8".into()),
        },
        Err(e) => return FileOutcome::Failed(file.rel.clone(), e.to_string()),
    };
    let mut analysed = match python::analyse(&source, &file.module, file.is_package) {
        Ok(analysed) => analysed,
        Err(e) => return FileOutcome::Failed(file.rel.clone(), e.to_string()),
    };
    let mut mutants = Vec::new();
    let mut skipped = Vec::new();
    for function in &mut analysed.functions {
        let unit = &function.unit;
        let reason = unit.skipped.clone().or_else(|| {
            excludes.matches(&unit.key).then(|| "excluded by [mutate] exclude".to_owned())
        });
        if let Some(reason) = reason {
            skipped.push(SkippedFunction {
                function: unit.key.clone(),
                file: file.rel.clone(),
                line: unit.line,
                reason,
            });
            function.mutations.clear();
            continue;
        }
        for (index, mutation) in function.mutations.iter().enumerate() {
            mutants.push(Mutant::of_function(
                &file.rel,
                &source,
                &unit.key,
                unit.insert_at..unit.span.end,
                index + 1,
                Site {
                    operator: mutation.operator,
                    span: mutation.start..mutation.end,
                    line: mutation.line,
                    column: mutation.column,
                    replacement: &mutation.replacement,
                },
            ));
        }
    }
    let mutated = python::mutated_source(&source, &analysed);
    FileOutcome::Analysed {
        module: ModuleEntry {
            source: file.clone(),
            digest: analysed.code_digest,
            lines: source.lines().count(),
            imports: analysed.imports,
            mutated,
        },
        mutants,
        skipped,
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn position(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1) + 1;
    (line, column)
}
