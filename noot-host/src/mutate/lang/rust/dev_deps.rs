//! Dev-dependencies no test can use, left out of the mutated copy's
//! manifests. `cargo test` builds every dev-dependency before any test
//! target, also those only benchmarks use: criterion, the usual one, is
//! about forty crates (on semver 1.0.28, 15 s of a 19 s cold build), and
//! no test, example or doc example of the package names it. So noot's
//! copy leaves out each dev-dependency that nothing but the package's
//! benchmarks names as code names a crate: `NAME::` in a path, `use NAME`
//! or `extern crate NAME`, searched as text over its `.rs` and `.md` files
//! outside `benches/`, comments and doc examples included (a link to
//! `docs.rs/rand/…` does not count; `use rand::Rng` in a README example
//! does). In Rust 2018 and later a crate is used through such a path, and
//! 2015 code names it in `extern crate`. Cargo does
//! not build benchmarks for `cargo test`, and features cannot name
//! dev-dependencies, so nothing else can miss it. Should a build still
//! fail naming one (a macro that writes a path to a crate the code never
//! names), the build puts them all back and goes again
//! ([`names_any`]).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// The tables of a manifest that hold dev-dependencies (also inside
/// `[target.'cfg(…)']`).
const TABLES: [&str; 2] = ["dev-dependencies", "dev_dependencies"];

/// Per package folder (relative to `root`, `""` for the root package),
/// the dev-dependencies only its benchmarks name, or none of its files.
pub fn unused_by_tests(root: &Path, dirs: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut unused = BTreeMap::new();
    for dir in dirs {
        let base = root.join(dir);
        let Ok(text) = std::fs::read_to_string(base.join("Cargo.toml")) else { continue };
        let Ok(manifest) = text.parse::<toml::Table>() else { continue };
        let names = dev_dependencies(&manifest);
        if names.is_empty() {
            continue;
        }
        let mut texts = Vec::new();
        read_texts(&base, true, &mut texts);
        let left_out: Vec<String> = names
            .into_iter()
            .filter(|name| {
                let ident = name.replace('-', "_");
                !texts.iter().any(|t| names_crate(t, &ident))
            })
            .collect();
        if !left_out.is_empty() {
            unused.insert(dir.clone(), left_out);
        }
    }
    unused
}

/// The manifest of the package in `dir` without the dev-dependencies
/// `left_out` names (the original text when it names none).
pub fn manifest(root: &Path, dir: &str, left_out: &[String]) -> io::Result<String> {
    let text = std::fs::read_to_string(root.join(dir).join("Cargo.toml"))?;
    if left_out.is_empty() {
        return Ok(text);
    }
    let mut manifest = text.parse::<toml::Table>().map_err(io::Error::other)?;
    let strip = |table: &mut toml::Table| {
        for key in TABLES {
            if let Some(toml::Value::Table(deps)) = table.get_mut(key) {
                deps.retain(|name, _| !left_out.iter().any(|gone| gone == name));
            }
        }
    };
    strip(&mut manifest);
    if let Some(toml::Value::Table(targets)) = manifest.get_mut("target") {
        for (_, target) in targets.iter_mut() {
            if let toml::Value::Table(target) = target {
                strip(target);
            }
        }
    }
    let stripped = toml::to_string(&manifest).map_err(io::Error::other)?;
    Ok(format!(
        "# Written by noot in its mutated copy: left out, dev-dependencies no test names: {}\n{stripped}",
        left_out.join(", ")
    ))
}

/// Whether a compiler message names one of the dev-dependencies left out
/// (`` `criterion` ``, as rustc quotes a crate it cannot find).
pub fn names_any(message: &str, left_out: &BTreeMap<String, Vec<String>>) -> bool {
    left_out
        .values()
        .flatten()
        .any(|name| message.contains(&format!("`{}`", name.replace('-', "_"))))
}

/// Whether `text` names the crate `ident` as code does: `ident::`, `use
/// ident` or `extern crate ident`, the name standing alone (`rand` in
/// `operand::` or `rand_core::` does not count).
fn names_crate(text: &str, ident: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(ident).any(|(at, _)| {
        let before = &text[..at];
        let after = &text[at + ident.len()..];
        if before.chars().next_back().is_some_and(is_ident)
            || after.chars().next().is_some_and(is_ident)
        {
            return false;
        }
        let before = before.trim_end_matches([' ', '\t', '{', ':']);
        after.starts_with("::") || before.ends_with("use") || before.ends_with("extern crate")
    })
}

/// The dev-dependencies a manifest declares, by the name code uses them
/// under (the key; `package = …` renames only the package).
fn dev_dependencies(manifest: &toml::Table) -> Vec<String> {
    let tables = |table: &toml::Table| -> Vec<String> {
        TABLES
            .iter()
            .filter_map(|key| table.get(*key)?.as_table())
            .flat_map(|deps| deps.keys().cloned())
            .collect()
    };
    let mut names = tables(manifest);
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        for target in targets.values().filter_map(toml::Value::as_table) {
            names.extend(tables(target));
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The `.rs` and `.md` files under `dir`, read: not `benches/` (at the
/// package's top), nor `target/` or hidden folders.
fn read_texts(dir: &Path, top: bool, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            let skipped = name.starts_with('.') || name == "target" || (top && name == "benches");
            if !skipped {
                read_texts(&path, false, out);
            }
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "rs" || e == "md") {
            out.extend(std::fs::read_to_string(&path).ok());
        }
    }
}

#[cfg(test)]
mod tests;
