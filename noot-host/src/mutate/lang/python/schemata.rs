//! Writes a mutated module: every mutated function becomes a trampoline
//! that runs its original body unless the runtime switch names one of its
//! variants, and each variant is a full copy of the function with one
//! mutation, defined just before it.
//!
//! Unlike mutmut, the trampoline *is* the original function, with a
//! two-line prelude after its docstring: its signature, decorators,
//! docstring and kind (generator, coroutine) stay what they were, so
//! decorated functions, properties, classmethods and `super()` keep
//! working, and the original path costs two attribute reads. Variants are
//! undecorated and are reached through the module globals or, for methods,
//! through the defining class (`__class__`), so a subclass never picks up
//! its parent's variant by accident.

use super::functions::{Flavour, FunctionUnit};
use super::operators::Mutation;

/// The runtime module every mutated module imports.
pub const RUNTIME_MODULE: &str = "_noot_runtime";

/// One function and the mutations that become its variants, numbered
/// from 1 in order.
#[derive(Debug)]
pub struct Trampolined<'a> {
    /// The function.
    pub unit: &'a FunctionUnit,
    /// Its mutations.
    pub mutations: &'a [Mutation],
}

/// The variant's function name for mutant `number` of `unit`.
pub fn variant_name(unit: &FunctionUnit, number: usize) -> String {
    format!("_noot_{}__{number}", unit.slug)
}

/// The text of one variant: the function (without decorators) renamed, with
/// one mutation applied, indented as the original.
pub fn variant_text(
    source: &str,
    unit: &FunctionUnit,
    mutation: &Mutation,
    number: usize,
) -> String {
    let mut text = String::with_capacity(unit.span.len() + 64);
    text.push_str(&unit.indent);
    text.push_str(&source[unit.span.start..unit.name.start]);
    text.push_str(&variant_name(unit, number));
    text.push_str(&source[unit.name.end..mutation.start]);
    text.push_str(&mutation.replacement);
    text.push_str(&source[mutation.end..unit.span.end]);
    text.push('\n');
    text
}

/// The two statements the trampoline starts with.
fn prelude_lines(unit: &FunctionUnit) -> Vec<String> {
    let key = python_str(&unit.key);
    let lookup = if unit.in_class {
        "__class__.__dict__[_noot_rt.NAME]"
    } else {
        "globals()[_noot_rt.NAME]"
    };
    let call = format!("{lookup}({})", unit.forward);
    let test = format!("if _noot_rt.FUNC == {key}:");
    let step = if unit.body_indent.contains('\t') { "\t" } else { "    " };
    let mut lines = match unit.flavour {
        Flavour::Plain => vec![format!("{test} return {call}")],
        Flavour::Generator => vec![format!("{test} return (yield from {call})")],
        Flavour::Coroutine => vec![format!("{test} return await {call}")],
        Flavour::AsyncGenerator => vec![
            test,
            format!("{step}async for _noot_item in {call}:"),
            format!("{step}{step}yield _noot_item"),
            format!("{step}return"),
        ],
    };
    lines.push(format!("if _noot_rt.STATS: _noot_rt.hit({key})"));
    lines
}

/// A Python string literal for `text` (keys are identifiers, dots and `~`).
fn python_str(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Where the `import _noot_runtime` line goes: after the module docstring
/// and `from __future__` imports.
pub fn header_offset(root: tree_sitter::Node<'_>, source: &str) -> usize {
    let mut cursor = root.walk();
    // The docstring is the first statement; comments before it do not count.
    let mut first = true;
    for statement in root.named_children(&mut cursor) {
        let skip = statement.kind() == "comment"
            || statement.kind() == "future_import_statement"
            || (first && super::functions::is_docstring(statement));
        if !skip {
            // After a `;` that ends a future import, on the same line.
            let line = super::functions::line_start(source, statement.start_byte());
            let shares_its_line = !source[line..statement.start_byte()].trim().is_empty();
            return if shares_its_line { statement.start_byte() } else { line };
        }
        first &= statement.kind() == "comment";
    }
    source.len()
}

/// The whole mutated module.
pub fn write_module(source: &str, header_at: usize, functions: &[Trampolined<'_>]) -> String {
    // Insertions as (offset, order, text); applied back to front.
    let mut inserts: Vec<(usize, usize, String)> = Vec::new();
    let mut header = format!("import {RUNTIME_MODULE} as _noot_rt\n");
    if header_at == source.len() && !source.is_empty() && !source.ends_with('\n') {
        header.insert(0, '\n');
    }
    inserts.push((header_at, 0, header));
    for (order, f) in functions.iter().enumerate() {
        let unit = f.unit;
        let mut variants = String::new();
        for (index, mutation) in f.mutations.iter().enumerate() {
            variants.push_str(&variant_text(source, unit, mutation, index + 1));
        }
        inserts.push((unit.insert_at, order * 2 + 1, variants));
        let indent = &unit.body_indent;
        let lines: Vec<String> =
            prelude_lines(unit).into_iter().map(|line| format!("{indent}{line}")).collect();
        let joined = lines.join("\n");
        let prelude = if unit.inline_body {
            format!("\n{joined}\n{indent}")
        } else if source[..unit.prelude_at].ends_with('\n') || unit.prelude_at == 0 {
            format!("{joined}\n")
        } else {
            format!("\n{joined}")
        };
        inserts.push((unit.prelude_at, order * 2 + 2, prelude));
    }
    inserts.sort_by_key(|(at, order, _)| (*at, *order));
    let extra: usize = inserts.iter().map(|(_, _, t)| t.len()).sum();
    let mut out = String::with_capacity(source.len() + extra);
    let mut cursor = 0;
    for (at, _, text) in &inserts {
        out.push_str(&source[cursor..*at]);
        out.push_str(text);
        cursor = *at;
    }
    out.push_str(&source[cursor..]);
    out
}
