//! Mutant filters (`noot run ID…`): an id, an id prefix (a module or a
//! function) or a glob; a filter that matches nothing is an error naming
//! the closest ids, so a CI gate never passes on zero mutants by a typo.

use crate::config::Location;
use crate::mutate::catalog::Mutant;
use crate::mutate::request::RunError;

/// A filter that matches no mutant, with the ids and functions closest
/// to what was typed.
pub fn no_match(filters: &[String], mutants: &[Mutant]) -> RunError {
    let mut names: Vec<&str> = mutants.iter().map(|m| m.function.as_str()).collect();
    names.dedup();
    names.extend(mutants.iter().map(|m| m.id.as_str()));
    let mut scored: Vec<(f64, &str)> = names
        .iter()
        .map(|name| {
            let best = filters
                .iter()
                .map(|f| strsim::jaro_winkler(f.trim_end_matches('*'), name))
                .fold(0.0, f64::max);
            (best, *name)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let closest: Vec<&str> = scored.iter().take(3).map(|(_, name)| *name).collect();
    let quoted: Vec<String> = filters.iter().map(|f| format!("`{f}`")).collect();
    RunError::Setup {
        location: Some(Location::Cli("MUTANT".into())),
        message: format!(
            "no mutant matches {} (of {} mutants)",
            quoted.join(" or "),
            mutants.len()
        ),
        help: Some(if closest.is_empty() {
            "this project has no mutants; see `noot run --list`".to_owned()
        } else {
            format!(
                "the closest: {}; a filter is an id, an id prefix (module or function) or a glob; `noot run --list` lists them all",
                closest.join(", ")
            )
        }),
    }
}

/// Compiles the filters: a plain string matches as a prefix.
pub fn compile_filters(filters: &[String]) -> Result<Vec<globset::GlobMatcher>, RunError> {
    filters
        .iter()
        .map(|f| {
            let pattern = if f.contains(['*', '?', '[']) { f.clone() } else { format!("{f}*") };
            globset::Glob::new(&pattern).map(|g| g.compile_matcher()).map_err(|e| {
                RunError::setup(
                    format!("mutant filter `{f}`: {e}"),
                    Some("use a mutant id, a prefix, or a glob such as 'pkg.mod.*'"),
                )
            })
        })
        .collect()
}

/// The mutants the filters select (every mutant without filters); an
/// error when filters were given and match none.
pub fn wanted<'m>(filters: &[String], mutants: &'m [Mutant]) -> Result<Vec<&'m Mutant>, RunError> {
    let compiled = compile_filters(filters)?;
    let wanted: Vec<&Mutant> = mutants
        .iter()
        .filter(|m| compiled.is_empty() || compiled.iter().any(|f| f.is_match(&m.id)))
        .collect();
    if wanted.is_empty() && !filters.is_empty() {
        // A gate such as `noot run FILTER --fail-under 90` must not pass
        // on zero mutants because of a typo.
        return Err(no_match(filters, mutants));
    }
    Ok(wanted)
}
