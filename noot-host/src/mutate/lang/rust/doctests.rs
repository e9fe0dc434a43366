//! Doc examples as tests. rustdoc compiles every example again on each
//! `cargo test --doc` and keeps no binary to run under each mutant, so
//! noot turns the examples of each library into one more test target of
//! the mutated copy (`__noot_doc_examples`, one `#[test]` per example,
//! wrapped as rustdoc wraps them: hidden `# ` lines kept, the code put in
//! a `main` unless it has one, a trailing `Ok(())` making `main` return a
//! `Result`). They are then built once with the other tests, timed and
//! traced by the stats run, and selected like any test: a mutant only an
//! example catches is killed, as under `cargo test`.
//!
//! An example that does not build there (a crate attribute, a feature it
//! needs, a `#[macro_use]` only a crate root may hold) is dropped, and
//! the count of dropped examples is reported; `no_run`, `ignore`,
//! `compile_fail` and other languages are not examples that run.

use std::collections::BTreeSet;
use std::ops::Range;

use tree_sitter::Node;

/// One runnable doc example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The file it is in, relative to the project root.
    pub rel: String,
    /// 1-based line of its opening fence.
    pub line: usize,
    /// Its code, hidden lines included, `# ` taken off.
    pub code: String,
    /// `should_panic`.
    pub should_panic: bool,
}

impl Example {
    /// The test's name: `src_lib_rs_349` for `src/lib.rs` line 349.
    pub fn test_name(&self) -> String {
        let path: String =
            self.rel.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        format!("{path}_{}", self.line)
    }
}

/// The runnable examples in the doc comments (`///`, `//!`) of `source`:
/// comments as the parser sees them (a string literal holding Rust
/// source is no documentation), outside `#[cfg(test)]` code, which
/// rustdoc never compiles.
pub fn examples(rel: &str, source: &str) -> Vec<Example> {
    let rows = super::parse(source).map(|tree| doc_comment_rows(tree.root_node(), source));
    let docs = source.lines().enumerate().filter_map(|(index, line)| {
        if rows.as_ref().is_some_and(|rows| !rows.contains(&index)) {
            return None;
        }
        let trimmed = line.trim_start();
        let doc = trimmed.strip_prefix("///").or_else(|| trimmed.strip_prefix("//!"))?;
        // One space after the marker belongs to it.
        Some((index, doc.strip_prefix(' ').unwrap_or(doc)))
    });
    fenced(rel, docs)
}

/// The 0-based rows of the doc line comments under `node`, leaving out
/// items marked `#[cfg(test)]` (their outer `///` comments, before or
/// after the attribute, and everything inside them) and a whole file or
/// module marked `#![cfg(test)]`.
fn doc_comment_rows(node: Node<'_>, source: &str) -> BTreeSet<usize> {
    let mut rows = BTreeSet::new();
    // Outer doc comments and attributes belong to the next item: held
    // until it comes.
    let mut pending: Vec<usize> = Vec::new();
    let mut next_is_test = false;
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        let text = source.get(child.byte_range()).unwrap_or("");
        match child.kind() {
            "line_comment" if text.starts_with("//!") => {
                rows.insert(child.start_position().row);
            }
            "line_comment" if text.starts_with("///") && !text.starts_with("////") => {
                pending.push(child.start_position().row);
            }
            "line_comment" | "block_comment" => {}
            "inner_attribute_item" if super::is_cfg_test(&text.replacen("#!", "#", 1)) => {
                return BTreeSet::new();
            }
            "attribute_item" => next_is_test |= super::is_cfg_test(text),
            _ => {
                if std::mem::take(&mut next_is_test) {
                    pending.clear();
                } else {
                    rows.extend(pending.drain(..));
                    rows.extend(doc_comment_rows(child, source));
                }
            }
        }
    }
    rows.extend(pending);
    rows
}

/// The 1-based lines of code blocks rustdoc would find where noot does
/// not look: `#[doc = "…"]` attributes and `/** */` or `/*! */` comments
/// that hold a fence (whether rustdoc would run the block is not worked
/// out: they are counted as examples not used).
pub fn unread_examples(source: &str) -> Vec<usize> {
    let Some(tree) = super::parse(source) else { return Vec::new() };
    let mut lines = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let text = source.get(node.byte_range()).unwrap_or("");
        let unread = match node.kind() {
            "attribute_item" | "inner_attribute_item" => {
                let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                (compact.starts_with("#[doc=\"") || compact.starts_with("#![doc=\""))
                    && text.contains("```")
            }
            "block_comment" => {
                (text.starts_with("/**") && !text.starts_with("/***") || text.starts_with("/*!"))
                    && text.contains("```")
            }
            _ => false,
        };
        if unread {
            lines.push(node.start_position().row + 1);
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    lines.sort_unstable();
    lines
}

/// The runnable examples of a Markdown file a crate includes as its
/// documentation (`#![doc = include_str!("../README.md")]`).
pub fn markdown_examples(rel: &str, text: &str) -> Vec<Example> {
    fenced(rel, text.lines().enumerate())
}

/// The files `source` includes as documentation: the paths of its
/// `#![doc = include_str!("…")]` and `#[doc = include_str!("…")]`
/// attributes, relative to the file.
pub fn included_docs(source: &str) -> Vec<String> {
    source
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("#![doc") || l.starts_with("#[doc"))
        .filter_map(|l| {
            let rest = l.split_once("include_str!(")?.1.trim_start();
            let rest = rest.strip_prefix('"')?;
            Some(rest.split_once('"')?.0.to_owned())
        })
        .collect()
}

/// The runnable fenced blocks among documentation lines (line index, text).
fn fenced<'a>(rel: &str, docs: impl Iterator<Item = (usize, &'a str)>) -> Vec<Example> {
    let mut found = Vec::new();
    let mut open: Option<(usize, bool, bool, Vec<String>)> = None;
    for (index, doc) in docs {
        let fence = doc.trim_start();
        if let Some(info) = fence.strip_prefix("```").or_else(|| fence.strip_prefix("~~~")) {
            match open.take() {
                Some((line, runs, should_panic, lines)) => {
                    if runs {
                        found.push(Example {
                            rel: rel.to_owned(),
                            line,
                            code: lines.join("\n"),
                            should_panic,
                        });
                    }
                }
                None => {
                    let should_panic = info.split([',', ' ']).any(|w| w.trim() == "should_panic");
                    open = Some((index + 1, runs(info), should_panic, Vec::new()));
                }
            }
            continue;
        }
        if let Some((_, _, _, lines)) = open.as_mut() {
            lines.push(unhide(doc).to_owned());
        }
    }
    found
}

/// A hidden line's code (`# let x = 1;` → `let x = 1;`, `##` → `#`).
fn unhide(line: &str) -> &str {
    let trimmed = line.trim_start();
    if trimmed == "#" {
        return "";
    }
    if let Some(rest) = trimmed.strip_prefix("# ") {
        return rest;
    }
    if trimmed.starts_with("##") {
        return &trimmed[1..];
    }
    line
}

/// The test target's source: one module per example, and the byte range
/// each example's module takes, to trace a compile error to it.
/// `library` is the crate the examples use: rustdoc declares it as an
/// `extern crate`, which edition 2015's `use library::x;` inside a
/// function needs.
pub fn test_file(library: Option<&str>, examples: &[Example]) -> (String, Vec<Range<usize>>) {
    let mut text = String::from(
        "// Doc examples of this package, written by noot for its mutated copy.\n\
         #![allow(unused, clippy::all)]\n",
    );
    // `extern crate` lines go to the crate root, as rustdoc puts them
    // (`#[macro_use]` is only allowed there); one per crate, with
    // `#[macro_use]` if any example asked for it.
    let mut crates: std::collections::BTreeMap<String, bool> = std::collections::BTreeMap::new();
    if let Some(library) = library {
        crates.insert(library.to_owned(), false);
    }
    for example in examples {
        for line in example.code.lines() {
            if let Some((name, macros)) = extern_crate(line) {
                *crates.entry(name).or_default() |= macros;
            }
        }
    }
    for (name, macros) in &crates {
        let attribute = if *macros { "#[macro_use] " } else { "" };
        text.push_str(&format!("{attribute}extern crate {name};\n"));
    }
    let mut ranges = Vec::new();
    for example in examples {
        let start = text.len();
        let body = wrap(&example.code);
        // An own `main` may return a `Result`: the test returns what it
        // returns, and an `Err` fails it, as under rustdoc. A
        // `should_panic` test must return `()`.
        let (panics, returns, body) = match (example.should_panic, has_main(&example.code)) {
            (true, _) => ("#[should_panic]\n", "", format!("{body};")),
            (false, true) => ("", " -> impl std::process::Termination", body),
            (false, false) => ("", "", format!("{body};")),
        };
        text.push_str(&format!(
            "\n// {}:{}\n#[test]\n{panics}fn {}(){returns} {{\n{body}\n}}\n",
            example.rel,
            example.line,
            example.test_name()
        ));
        ranges.push(start..text.len());
    }
    (text, ranges)
}

/// The example's code as the body of a test function, as rustdoc wraps
/// it: crate attributes dropped, kept whole with its own `main` called,
/// else inside a `main` (returning a `Result` when it ends in `Ok(..)`).
fn wrap(code: &str) -> String {
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("#![") && extern_crate(l).is_none())
        .collect::<Vec<_>>()
        .join("\n");
    if has_main(&code) {
        return format!("{code}\nmain()");
    }
    let last = code.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if last.starts_with("Ok(") || last.starts_with("Ok::") {
        return format!(
            "fn __noot_main() -> Result<(), impl core::fmt::Debug> {{\n{code}\n}}\n__noot_main().unwrap()"
        );
    }
    format!("fn __noot_main() {{\n{code}\n}}\n__noot_main()")
}

/// `extern crate NAME;` (with `#[macro_use]` or not): the name, and
/// whether it loads macros. An `as` alias is left where it is.
fn extern_crate(line: &str) -> Option<(String, bool)> {
    let line = line.trim();
    let (macros, rest) = match line.strip_prefix("#[macro_use]") {
        Some(rest) => (true, rest.trim_start()),
        None => (false, line),
    };
    let name = rest.strip_prefix("extern crate ")?.strip_suffix(';')?.trim();
    let valid = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    valid.then(|| (name.to_owned(), macros))
}

fn has_main(code: &str) -> bool {
    code.contains("fn main()")
}

/// Whether rustdoc runs a block with this info string: empty, `rust`,
/// or attributes that still run (`should_panic`, `edition2021`); not
/// `ignore`, `no_run`, `compile_fail` or another language.
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
        assert!(examples("src/lib.rs", "fn f() {}\n").is_empty());
        let found = examples("src/lib.rs", source);
        assert_eq!(found.len(), 3);
        assert_eq!((found[0].line, found[0].code.as_str()), (1, "assert!(true);"));
        assert!(found[1].should_panic);
        assert_eq!(found[2].code, "");
    }

    #[test]
    fn a_readme_included_as_documentation_gives_its_examples() {
        let lib = "#![doc = include_str!(\"../README.md\")]\n#[doc = include_str!(\"x.md\")]\nfn f() {}\n";
        assert_eq!(included_docs(lib), ["../README.md", "x.md"]);
        let readme = "# tool\n\n```rust\nassert!(true);\n```\n\n```sh\ncargo add tool\n```\n";
        let found = markdown_examples("README.md", readme);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].line, found[0].code.as_str()), (3, "assert!(true);"));
    }

    #[test]
    fn extern_crate_lines_go_to_the_root_once_with_macro_use_if_asked() {
        let example = |code: &str| Example {
            rel: "src/lib.rs".into(),
            line: 1,
            code: code.into(),
            should_panic: false,
        };
        let (text, _) = test_file(
            Some("once"),
            &[
                example("#[macro_use] extern crate once;\nf!();"),
                example("extern crate log;\nlog::x();"),
            ],
        );
        assert!(text.contains("extern crate log;\n#[macro_use] extern crate once;\n"), "{text}");
        assert_eq!(text.matches("extern crate once;").count(), 1, "{text}");
        assert!(!text.contains("{\n#[macro_use]"), "{text}");
    }

    #[test]
    fn examples_where_noot_does_not_look_are_found_to_be_reported() {
        let source = "#[doc = \"```\\nassert!(true);\\n```\"]\npub fn a() {}\n\n/**\n```\nassert!(true);\n```\n*/\npub fn b() {}\n\n/// ```\n/// assert!(true);\n/// ```\n#[doc = \"plain words\"]\npub fn c() {}\n";
        assert_eq!(unread_examples(source), [1, 4]);
        assert_eq!(examples("src/lib.rs", source).len(), 1, "the /// one is read");
    }

    #[test]
    fn examples_are_wrapped_as_rustdoc_wraps_them() {
        let source = "\
/// ```
/// # use std::io;
/// let x = 1;
/// ## not hidden
/// assert_eq!(x, 1);
/// Ok::<(), io::Error>(())
/// ```
fn f() {}
";
        let found = examples("src/a-b.rs", source);
        assert_eq!(
            found[0].code,
            "use std::io;\nlet x = 1;\n# not hidden\nassert_eq!(x, 1);\nOk::<(), io::Error>(())"
        );
        assert_eq!(found[0].test_name(), "src_a_b_rs_1");
        let (text, ranges) = test_file(Some("a_b"), &found);
        assert!(text.contains("\nextern crate a_b;\n"), "{text}");
        assert!(
            text.contains(
                "fn src_a_b_rs_1() {\nfn __noot_main() -> Result<(), impl core::fmt::Debug> {"
            ),
            "{text}"
        );
        assert!(text[ranges[0].clone()].contains("// src/a-b.rs:1"));
        assert_eq!(wrap("#![allow(x)]\nfn main() { }"), "fn main() { }\nmain()");
        assert_eq!(wrap("f();"), "fn __noot_main() {\nf();\n}\n__noot_main()");
        // An own main's Result is the test's.
        let own = Example {
            rel: "src/lib.rs".into(),
            line: 3,
            code: "fn main() -> Result<(), String> { Err(\"no\".into()) }".into(),
            should_panic: false,
        };
        let (text, _) = test_file(None, &[own]);
        assert!(text.contains("fn src_lib_rs_3() -> impl std::process::Termination {"), "{text}");
    }
}
