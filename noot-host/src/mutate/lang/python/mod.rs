//! Python: parse a module with tree-sitter, find its functions and their
//! mutations, and write the module back with every mutant behind the
//! runtime switch.

pub mod catalog;
pub mod functions;
pub mod hints;
pub mod interpreter;
pub mod keys;
pub mod operators;
pub mod project;
pub mod runner_choice;
pub mod schemata;
pub mod selection;
pub mod session;
pub mod stats;
pub mod tree;

use tree_sitter::{Node, Parser, Tree};

use crate::engine::digest::Digest;

use functions::FunctionUnit;
use operators::{Mutation, Pragmas};

/// The Python files noot writes into the mutated tree.
pub mod support {
    /// `_noot_runtime.py`: the switch the trampolines read.
    pub const RUNTIME: &str = include_str!("_noot_runtime.py");
    /// `_noot_stats.py`: the pytest plugin of the stats run.
    pub const STATS_PLUGIN: &str = include_str!("_noot_stats.py");
    /// The stats plugin's module name (for `-p`).
    pub const STATS_PLUGIN_MODULE: &str = "_noot_stats";
}

/// A function and its mutations.
#[derive(Debug, Clone)]
pub struct AnalysedFunction {
    /// The function.
    pub unit: FunctionUnit,
    /// Its mutations, numbered from 1 in this order.
    pub mutations: Vec<Mutation>,
}

/// A parsed module and everything mutable in it.
#[derive(Debug)]
pub struct AnalysedModule {
    /// The functions (all of them, mutated or not).
    pub functions: Vec<AnalysedFunction>,
    /// Where the runtime import goes.
    pub header_at: usize,
    /// The modules it imports (absolute names, relative ones resolved).
    pub imports: Vec<String>,
    /// Digest of its syntax tree without comments or layout: what the
    /// module's behaviour can depend on, so a comment or a blank line
    /// leaves stored results valid.
    pub code_digest: Digest,
}

pub use crate::mutate::catalog::SyntaxError;

/// Parses Python source.
pub fn parse(source: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_python::LANGUAGE.into()).ok()?;
    parser.parse(source, None)
}

/// Finds the functions and mutations of one module. `module` is its dotted
/// name; `is_package` says whether it is an `__init__.py` (for relative
/// imports).
pub fn analyse(
    source: &str,
    module: &str,
    is_package: bool,
) -> Result<AnalysedModule, SyntaxError> {
    let tree = parse(source).ok_or(SyntaxError { line: 1, column: 1 })?;
    let root = tree.root_node();
    if root.has_error() {
        let at = first_error(root).unwrap_or(root);
        let position = at.start_position();
        return Err(SyntaxError { line: position.row + 1, column: position.column + 1 });
    }
    let pragmas = Pragmas::scan(source);
    let units = functions::find_units(root, source, module);
    let mut analysed = Vec::with_capacity(units.len());
    for unit in units {
        let mutations =
            match (&unit.skipped, root.descendant_for_byte_range(unit.body.start, unit.body.end)) {
                (None, Some(body)) if !pragmas.covers(unit.line - 1) => {
                    let body = enclosing_block(body, unit.body.start, unit.body.end);
                    operators::mutations_in(body, source, &pragmas)
                }
                _ => Vec::new(),
            };
        analysed.push(AnalysedFunction { unit, mutations });
    }
    Ok(AnalysedModule {
        functions: analysed,
        header_at: schemata::header_offset(root, source),
        imports: imports(root, source, module, is_package),
        code_digest: code_digest(root, source),
    })
}

/// Digests the tree's structure and tokens, skipping comments: each node
/// is its kind with its children in brackets, so moving a statement into
/// or out of a block changes the digest even when the tokens do not.
fn code_digest(root: Node<'_>, source: &str) -> Digest {
    enum Step<'t> {
        Open(Node<'t>),
        Close,
    }
    let mut text: Vec<u8> = Vec::with_capacity(source.len());
    // An explicit stack: deeply nested input must not overflow the thread's.
    let mut stack = vec![Step::Open(root)];
    while let Some(step) = stack.pop() {
        let node = match step {
            Step::Close => {
                text.push(b')');
                continue;
            }
            Step::Open(node) => node,
        };
        if node.kind() == "comment" {
            continue;
        }
        text.extend_from_slice(node.kind().as_bytes());
        text.push(b'(');
        // A string's content is partly in hidden nodes the tree does not
        // list: take its whole text, length first, and go no deeper.
        if node.child_count() == 0 || node.kind() == "string" {
            let token = &source.as_bytes()[node.byte_range()];
            text.extend_from_slice(token.len().to_string().as_bytes());
            text.push(b':');
            text.extend_from_slice(token);
            text.push(b')');
            continue;
        }
        stack.push(Step::Close);
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev().map(Step::Open));
    }
    Digest::of(&text)
}

/// Writes the module with every mutation behind the switch; `None` if it
/// has nothing to mutate.
pub fn mutated_source(source: &str, module: &AnalysedModule) -> Option<String> {
    let trampolined: Vec<schemata::Trampolined<'_>> = module
        .functions
        .iter()
        .filter(|f| !f.mutations.is_empty())
        .map(|f| schemata::Trampolined { unit: &f.unit, mutations: &f.mutations })
        .collect();
    if trampolined.is_empty() {
        return None;
    }
    Some(schemata::write_module(source, module.header_at, &trampolined))
}

fn enclosing_block(node: Node<'_>, start: usize, end: usize) -> Node<'_> {
    let mut node = node;
    while node.kind() != "block" || node.start_byte() != start || node.end_byte() != end {
        match node.parent() {
            Some(parent) => node = parent,
            None => break,
        }
    }
    node
}

/// The first error or missing node, depth first (with an explicit stack:
/// broken input nests as deep as any).
fn first_error(node: Node<'_>) -> Option<Node<'_>> {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            return Some(node);
        }
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> =
            node.children(&mut cursor).filter(|c| c.has_error()).collect();
        stack.extend(children.into_iter().rev());
    }
    None
}

/// The modules a module imports, at module level or anywhere inside.
fn imports(root: Node<'_>, source: &str, module: &str, is_package: bool) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "import_statement" => {
                let mut cursor = node.walk();
                for name in node.named_children(&mut cursor) {
                    let dotted = match name.kind() {
                        "aliased_import" => name.child_by_field_name("name"),
                        _ => Some(name),
                    };
                    if let Some(dotted) = dotted {
                        found.push(source[dotted.byte_range()].to_owned());
                    }
                }
            }
            "import_from_statement" => {
                if let Some(from) = node.child_by_field_name("module_name") {
                    let text = &source[from.byte_range()];
                    let base = resolve_relative(text, module, is_package);
                    if let Some(base) = base {
                        // `from pkg import mod` may name a submodule.
                        let mut cursor = node.walk();
                        for (index, child) in node.children(&mut cursor).enumerate() {
                            let field = u32::try_from(index)
                                .ok()
                                .and_then(|i| node.field_name_for_child(i));
                            if field == Some("name") {
                                let name = match child.kind() {
                                    "aliased_import" => child.child_by_field_name("name"),
                                    _ => Some(child),
                                };
                                if let Some(name) = name {
                                    found.push(format!("{base}.{}", &source[name.byte_range()]));
                                }
                            }
                        }
                        found.push(base);
                    }
                }
            }
            _ => {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn resolve_relative(text: &str, module: &str, is_package: bool) -> Option<String> {
    let dots = text.chars().take_while(|c| *c == '.').count();
    if dots == 0 {
        return Some(text.to_owned());
    }
    let rest = &text[dots..];
    let mut parts: Vec<&str> = module.split('.').collect();
    if !is_package {
        parts.pop();
    }
    for _ in 1..dots {
        parts.pop()?;
    }
    if !rest.is_empty() {
        parts.push(rest);
    }
    (!parts.is_empty()).then(|| parts.join("."))
}

#[cfg(test)]
mod tests;
