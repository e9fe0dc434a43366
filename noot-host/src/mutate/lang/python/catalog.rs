//! The catalog of a Python project: sources are parsed in parallel, each
//! function's mutations numbered and named, and each mutated module's
//! trampolined text produced (written to disk by [`super::tree`]).

use std::path::Path;

use crate::mutate::catalog::{Catalog, ModuleEntry, Mutant, Site, SkippedFunction, SourceFile};
use crate::mutate::excludes::Excludes;

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

/// Whether `rel` is a package's `__init__.py` (relative imports in it
/// start from the package itself).
fn is_package(rel: &str) -> bool {
    rel == "__init__.py" || rel.ends_with("/__init__.py")
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
    let mut analysed = match super::analyse(&source, &file.module, is_package(&file.rel)) {
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
    let mutated = super::mutated_source(&source, &analysed);
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
