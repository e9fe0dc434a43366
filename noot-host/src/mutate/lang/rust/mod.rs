//! Rust: parse a source file with tree-sitter and find its functions and
//! their mutants, with at least cargo-mutants' operators, so a crate's
//! mutants are the ones its users know (and `#[mutants::skip]` keeps
//! working).
//!
//! This is the analysis ([`crates`] finds the files, [`catalog`] names the
//! mutants): `noot run --list` lists a crate's mutants; writing the
//! schemata, building once and running the mutants are the next steps of
//! Rust support.
//!
//! Operators, per function:
//! - the body replaced by values of its return type ([`values`]);
//! - binary operators swapped (cargo-mutants' table, compound assignments
//!   too, never `==` to `<=`), `!` and unary `-` deleted;
//! - a match arm deleted when the match has a wildcard arm, and a match
//!   guard replaced by `true` and by `false`;
//! - a field of a struct literal with `..base` deleted.
//!
//! Left alone, because a runtime switch cannot go there or the code is not
//! the crate's behaviour: `const fn`, `unsafe fn` and `unsafe` blocks,
//! const and static items, array lengths, patterns, types, attributes,
//! macro arguments, `#[cfg(test)]` modules and items, test functions, and
//! functions marked `#[mutants::skip]`, `#[noot::skip]` or preceded by a
//! `// noot: skip` comment (each skipped function says why).

pub mod build;
pub mod cap_lints;
pub mod cargo_config;
pub mod catalog;
pub mod crates;
pub mod dev_deps;
pub mod doctests;
pub mod keys;
pub mod module_tree;
pub mod optimise;
pub mod reach;
pub mod recording_runner;
pub mod runner;
pub mod schemata;
pub mod seed;
pub mod session;
pub mod stats;
pub mod test_files;
pub mod values;

use std::ops::Range;

use tree_sitter::{Node, Parser, Tree};

/// One mutation of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    /// The operator's name, as reports show it.
    pub operator: &'static str,
    /// The bytes replaced.
    pub span: Range<usize>,
    /// The new text.
    pub replacement: String,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column of the start (in bytes).
    pub column: usize,
}

/// A function and its mutations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// `module::Type::name` (with `~N` for the N-th function of one name).
    pub key: String,
    /// 1-based line of the `fn`.
    pub line: usize,
    /// The body block's bytes, braces included.
    pub body: Range<usize>,
    /// Its mutations; the mutant ids are `KEY__noot_N`, N from 1 in this
    /// order, so they stay put while the function does not change.
    pub mutations: Vec<Mutation>,
}

/// A function left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its key.
    pub key: String,
    /// 1-based line.
    pub line: usize,
    /// Why.
    pub reason: &'static str,
}

/// Everything mutable in one file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AnalysedFile {
    /// The functions with a body, in source order (nested ones after their
    /// parent), mutated or not.
    pub functions: Vec<Function>,
    /// The functions left alone.
    pub skipped: Vec<Skipped>,
    /// The modules this file declares as test code in files of their own
    /// (`#[cfg(test)] mod tests;`): rustdoc and a plain build never
    /// compile them, so [`catalog`] leaves their files alone.
    pub test_modules: Vec<TestModule>,
    /// Every other module this file declares in a file of its own
    /// (`mod NAME;`): below a test module they are test code too, and one
    /// with a `#[path]` has its own modules beside its file.
    pub modules: Vec<TestModule>,
    /// The file is test code as a whole (`#![cfg(test)]` at its top).
    pub test_only: bool,
}

/// `mod NAME;`: a module in a file of its own (of test code when
/// declared `#[cfg(test)]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestModule {
    /// The inline modules around the declaration, then its name
    /// (`["inner", "tests"]` for `mod inner { #[cfg(test)] mod tests; }`).
    pub path: Vec<String>,
    /// Its `#[path = "…"]`, when it has one.
    pub path_attribute: Option<String>,
    /// 1-based line of the declaration.
    pub line: usize,
}

pub use crate::mutate::catalog::SyntaxError;

/// Parses Rust source.
pub fn parse(source: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_rust::LANGUAGE.into()).ok()?;
    parser.parse(source, None)
}

/// Finds the functions and mutations of one file; `module` is its module
/// path in the crate (`shapes::circle`, or `` for the crate root).
pub fn analyse(source: &str, module: &str) -> Result<AnalysedFile, SyntaxError> {
    let tree = parse(source).ok_or(SyntaxError { line: 1, column: 1 })?;
    let root = tree.root_node();
    if root.has_error() {
        let at = first_error(root).unwrap_or(root).start_position();
        return Err(SyntaxError { line: at.row + 1, column: at.column + 1 });
    }
    let mut walk =
        Walk { source, out: AnalysedFile::default(), seen: Vec::new(), inline: Vec::new() };
    walk.out.test_only = has_inner_cfg_test(root, source);
    if !walk.out.test_only {
        walk.items(root, module);
    }
    Ok(walk.out)
}

fn first_error(node: Node<'_>) -> Option<Node<'_>> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
    children.into_iter().filter(|c| c.has_error()).find_map(first_error)
}

struct Walk<'s> {
    source: &'s str,
    out: AnalysedFile,
    /// Keys given so far, for `~N` on repeats (`impl A { fn new }`,
    /// `impl B { fn new }` in one module with the same type name under
    /// different generics).
    seen: Vec<String>,
    /// The inline modules the walk is in (for [`TestModule::path`]).
    inline: Vec<String>,
}

impl<'s> Walk<'s> {
    fn text(&self, node: Node<'_>) -> &'s str {
        self.source.get(node.byte_range()).unwrap_or("")
    }

    /// The items of a file, module, impl or trait body.
    fn items(&mut self, container: Node<'_>, path: &str) {
        let mut cursor = container.walk();
        let children: Vec<Node<'_>> = container.named_children(&mut cursor).collect();
        for item in children {
            if item.kind() == "attribute_item" || item.kind().ends_with("comment") {
                continue;
            }
            let attributes = self.attributes(item);
            if attributes.iter().any(|a| is_cfg_test(a)) {
                match item.kind() {
                    "function_item" => {
                        let key = self.key(path, item);
                        self.skip(key, item, "#[cfg(test)]");
                    }
                    "mod_item" if item.child_by_field_name("body").is_none() => {
                        self.test_module(item, &attributes);
                    }
                    _ => {}
                }
                continue;
            }
            match item.kind() {
                "function_item" => self.function(item, path, &attributes),
                "mod_item" if item.child_by_field_name("body").is_none() => {
                    let declared = self.declared_module(item, &attributes);
                    self.out.modules.extend(declared);
                }
                "mod_item" => {
                    if let (Some(name), Some(body)) =
                        (item.child_by_field_name("name"), item.child_by_field_name("body"))
                    {
                        if has_inner_cfg_test(body, self.source) {
                            continue;
                        }
                        let inner = join(path, self.text(name));
                        self.inline.push(self.text(name).to_owned());
                        self.items(body, &inner);
                        self.inline.pop();
                    }
                }
                "impl_item" | "trait_item" => {
                    let Some(body) = item.child_by_field_name("body") else { continue };
                    let name_node =
                        item.child_by_field_name("type").or(item.child_by_field_name("name"));
                    let type_name = name_node.map(|n| self.type_name(n)).unwrap_or_default();
                    if item_is_unsafe(item) {
                        continue;
                    }
                    self.items(body, &join(path, &type_name));
                }
                _ => {}
            }
        }
    }

    /// Records `#[cfg(test)] mod NAME;` (with its `#[path]`, if any).
    fn test_module(&mut self, item: Node<'_>, attributes: &[&str]) {
        let declared = self.declared_module(item, attributes);
        self.out.test_modules.extend(declared);
    }

    /// `mod NAME;` as declared here: the inline modules around it, its
    /// name and its `#[path]`.
    fn declared_module(&self, item: Node<'_>, attributes: &[&str]) -> Option<TestModule> {
        let name = item.child_by_field_name("name")?;
        let path_attribute = attributes.iter().find_map(|a| path_attribute(a));
        let mut path = self.inline.clone();
        path.push(self.text(name).to_owned());
        let line = item.start_position().row + 1;
        Some(TestModule { path, path_attribute, line })
    }

    /// The attributes written right before `item` (`#[...]` siblings).
    fn attributes(&self, item: Node<'_>) -> Vec<&'s str> {
        let mut attributes = Vec::new();
        let mut previous = item.prev_named_sibling();
        while let Some(node) = previous {
            match node.kind() {
                "attribute_item" => attributes.push(self.text(node)),
                kind if kind.ends_with("comment") => {}
                _ => break,
            }
            previous = node.prev_named_sibling();
        }
        attributes
    }

    /// `Circle` for `Circle<T>`, `crate::shapes::Circle`, `&Circle`.
    fn type_name(&self, node: Node<'_>) -> String {
        match node.kind() {
            "generic_type" => {
                node.child_by_field_name("type").map(|t| self.type_name(t)).unwrap_or_default()
            }
            "scoped_type_identifier" => node
                .child_by_field_name("name")
                .map(|n| self.text(n).to_owned())
                .unwrap_or_default(),
            "reference_type" => {
                node.child_by_field_name("type").map(|t| self.type_name(t)).unwrap_or_default()
            }
            _ => self.text(node).to_owned(),
        }
    }

    fn key(&mut self, path: &str, function: Node<'_>) -> String {
        let name = function.child_by_field_name("name").map_or("", |n| self.text(n));
        let base = join(path, name);
        let repeats = self.seen.iter().filter(|k| **k == base).count();
        self.seen.push(base.clone());
        if repeats == 0 { base } else { format!("{base}~{}", repeats + 1) }
    }

    fn skip(&mut self, key: String, function: Node<'_>, reason: &'static str) {
        let line = function.start_position().row + 1;
        self.out.skipped.push(Skipped { key, line, reason });
    }

    fn function(&mut self, function: Node<'_>, path: &str, attributes: &[&str]) {
        let key = self.key(path, function);
        let Some(body) = function.child_by_field_name("body") else { return };
        if let Some(reason) = self.skip_reason(function, attributes) {
            self.skip(key, function, reason);
            return;
        }
        let mut mutations = Vec::new();
        let return_type = function.child_by_field_name("return_type");
        if let Some(values) = values::replacements(return_type, self.source) {
            if !is_empty_unit(body, return_type, self.source) {
                let original = squeeze(self.text(body));
                for value in values {
                    let replacement = format!("{{ {value} }}");
                    // A body that already is the value would be no mutant.
                    if squeeze(&replacement) != original {
                        mutations.push(self.mutation("replace_body", body, replacement));
                    }
                }
            }
        }
        let mut nested = Vec::new();
        self.expressions(body, &mut mutations, &mut nested);
        self.out.functions.push(Function {
            key: key.clone(),
            line: function.start_position().row + 1,
            body: body.byte_range(),
            mutations,
        });
        // Functions declared inside this one are functions of their own.
        for inner in nested {
            let attributes = self.attributes(inner);
            if attributes.iter().any(|a| is_cfg_test(a)) {
                continue;
            }
            self.function(inner, &key, &attributes);
        }
    }

    fn skip_reason(&self, function: Node<'_>, attributes: &[&str]) -> Option<&'static str> {
        // After any visibility: `pub(crate) const fn`.
        let mut cursor = function.walk();
        let modifiers = function
            .children(&mut cursor)
            .take_while(|c| c.kind() != "fn")
            .find(|c| c.kind() == "function_modifiers")
            .map_or("", |m| self.text(m));
        if modifiers.split_whitespace().any(|m| m == "const") {
            return Some("const fn: evaluated at compile time");
        }
        if modifiers.split_whitespace().any(|m| m == "unsafe") {
            return Some("unsafe fn");
        }
        for attribute in attributes {
            let inner = attribute.trim_start_matches("#[").trim_end_matches(']').trim();
            let path = inner.split(['(', ' ']).next().unwrap_or("");
            if path == "test" || path.ends_with("::test") || path == "bench" {
                return Some("a test function");
            }
            if matches!(path, "mutants::skip" | "noot::skip") {
                return Some("#[mutants::skip]");
            }
        }
        if self.comment_skip(function) {
            return Some("// noot: skip");
        }
        None
    }

    /// `// noot: skip` on one of the lines right before the function (or
    /// its attributes).
    fn comment_skip(&self, function: Node<'_>) -> bool {
        let mut previous = function.prev_sibling();
        while let Some(node) = previous {
            match node.kind() {
                "line_comment" | "block_comment" => {
                    if self.text(node).trim_start_matches('/').trim() == "noot: skip" {
                        return true;
                    }
                }
                "attribute_item" => {}
                _ => return false,
            }
            previous = node.prev_sibling();
        }
        false
    }

    fn mutation(&self, operator: &'static str, node: Node<'_>, replacement: String) -> Mutation {
        self.mutation_at(operator, node.byte_range(), node.start_position(), replacement)
    }

    fn mutation_at(
        &self,
        operator: &'static str,
        span: Range<usize>,
        at: tree_sitter::Point,
        replacement: String,
    ) -> Mutation {
        Mutation { operator, span, replacement, line: at.row + 1, column: at.column + 1 }
    }

    /// The mutations inside `node`, a function body or part of one; nested
    /// function items are collected into `nested` instead.
    fn expressions<'t>(&self, node: Node<'t>, out: &mut Vec<Mutation>, nested: &mut Vec<Node<'t>>) {
        match node.kind() {
            "function_item" => {
                nested.push(node);
                return;
            }
            // No runtime switch can go in these, or they are not code.
            "unsafe_block" | "const_item" | "static_item" | "const_block" | "attribute_item"
            | "macro_invocation" | "macro_definition" => return,
            // A guard is code; the pattern around it is not.
            "match_pattern" => {
                if let Some(condition) = node.child_by_field_name("condition") {
                    self.expressions(condition, out, nested);
                }
                return;
            }
            kind if kind.ends_with("_pattern") || kind.ends_with("_type") => return,
            // As cargo-mutants: a capacity is a hint, not behaviour.
            "call_expression" if self.calls_with_capacity(node) => return,
            "binary_expression" => self.binary(node, out),
            "compound_assignment_expr" => self.compound(node, out),
            "unary_expression" => self.unary(node, out),
            "match_expression" => self.match_arms(node, out),
            "field_initializer_list" => self.struct_fields(node, out),
            _ => {}
        }
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.children(&mut cursor).collect();
        for (index, child) in children.iter().enumerate() {
            // Patterns, types and array lengths are compile-time.
            let field = node.field_name_for_child(u32::try_from(index).unwrap_or(u32::MAX));
            let guarded = child.kind() == "match_pattern";
            if !guarded
                && matches!(
                    field,
                    Some("pattern" | "type" | "length" | "return_type" | "parameters")
                )
            {
                continue;
            }
            self.expressions(*child, out, nested);
        }
    }

    fn calls_with_capacity(&self, call: Node<'_>) -> bool {
        call.child_by_field_name("function")
            .is_some_and(|f| self.text(f).rsplit("::").next() == Some("with_capacity"))
    }

    fn binary(&self, node: Node<'_>, out: &mut Vec<Mutation>) {
        // `if let Some(x) = a && b`: a let chain is no expression that a
        // switch could wrap.
        // (Not `let x = a - b;`: a `let_declaration` is no chain.)
        let in_let_chain = |n: Option<Node<'_>>| {
            n.is_some_and(|n| matches!(n.kind(), "let_condition" | "let_chain"))
        };
        if in_let_chain(node.parent())
            || in_let_chain(node.child_by_field_name("left"))
            || in_let_chain(node.child_by_field_name("right"))
        {
            return;
        }
        let Some(operator) = node.child_by_field_name("operator") else { return };
        for replacement in binary_swaps(self.text(operator)) {
            out.push(self.mutation("binary_operator", operator, (*replacement).to_owned()));
        }
    }

    fn compound(&self, node: Node<'_>, out: &mut Vec<Mutation>) {
        let Some(operator) = node.child_by_field_name("operator") else { return };
        for replacement in assignment_swaps(self.text(operator)) {
            out.push(self.mutation("assignment_operator", operator, (*replacement).to_owned()));
        }
    }

    fn unary(&self, node: Node<'_>, out: &mut Vec<Mutation>) {
        let Some(operator) = node.child(0) else { return };
        let Some(operand) = node.child(1) else { return };
        if matches!(self.text(operator), "!" | "-") {
            let operand = self.text(operand).to_owned();
            let name = if self.text(operator) == "!" { "delete_not" } else { "delete_negation" };
            out.push(self.mutation(name, node, operand));
        }
    }

    fn match_arms(&self, node: Node<'_>, out: &mut Vec<Mutation>) {
        let Some(block) = node.child_by_field_name("body") else { return };
        let mut cursor = block.walk();
        let arms: Vec<Node<'_>> =
            block.named_children(&mut cursor).filter(|n| n.kind() == "match_arm").collect();
        let wildcard = |arm: &Node<'_>| {
            arm.child_by_field_name("pattern").is_some_and(|p| {
                p.child_by_field_name("condition").is_none() && self.text(p).trim() == "_"
            })
        };
        let has_wildcard = arms.iter().any(wildcard);
        for arm in &arms {
            if let Some(condition) =
                arm.child_by_field_name("pattern").and_then(|p| p.child_by_field_name("condition"))
            {
                for value in ["true", "false"] {
                    out.push(self.mutation("match_guard", condition, value.to_owned()));
                }
            }
            // An arm with a guard is not deleted: its guard becoming
            // `false` is the same mutant.
            let guarded = arm
                .child_by_field_name("pattern")
                .is_some_and(|p| p.child_by_field_name("condition").is_some());
            if has_wildcard && !wildcard(arm) && !guarded {
                let span = self.with_trailing_comma(arm.byte_range());
                out.push(self.mutation_at(
                    "delete_match_arm",
                    span,
                    arm.start_position(),
                    String::new(),
                ));
            }
        }
    }

    fn struct_fields(&self, list: Node<'_>, out: &mut Vec<Mutation>) {
        let mut cursor = list.walk();
        let children: Vec<Node<'_>> = list.named_children(&mut cursor).collect();
        if !children.iter().any(|c| c.kind() == "base_field_initializer") {
            return;
        }
        for field in children
            .iter()
            .filter(|c| matches!(c.kind(), "field_initializer" | "shorthand_field_initializer"))
        {
            let span = self.with_trailing_comma(field.byte_range());
            out.push(self.mutation_at("delete_field", span, field.start_position(), String::new()));
        }
    }

    /// `span` and the comma after it, if one follows (spaces between).
    fn with_trailing_comma(&self, span: Range<usize>) -> Range<usize> {
        let rest = self.source.get(span.end..).unwrap_or("");
        let spaces = rest.len() - rest.trim_start().len();
        if rest.trim_start().starts_with(',') { span.start..span.end + spaces + 1 } else { span }
    }
}

/// cargo-mutants' binary operator table.
fn binary_swaps(operator: &str) -> &'static [&'static str] {
    match operator {
        "==" => &["!="],
        "!=" => &["=="],
        "&&" => &["||"],
        "||" => &["&&"],
        "<" => &["==", ">", "<="],
        ">" => &["==", "<", ">="],
        "<=" => &[">"],
        ">=" => &["<"],
        "+" => &["-", "*"],
        "-" => &["+", "/"],
        "*" => &["+", "/"],
        "/" => &["%", "*"],
        "%" => &["/", "+"],
        "<<" => &[">>"],
        ">>" => &["<<"],
        "&" => &["|", "^"],
        "|" => &["&", "^"],
        "^" => &["|", "&"],
        _ => &[],
    }
}

/// cargo-mutants' compound assignment table (`&=` and `|=` swap only with
/// each other).
fn assignment_swaps(operator: &str) -> &'static [&'static str] {
    match operator {
        "&=" => &["|="],
        "|=" => &["&="],
        "^=" => &["|=", "&="],
        "+=" => &["-=", "*="],
        "-=" | "*=" => &["+=", "/="],
        "/=" => &["%=", "*="],
        "%=" => &["/=", "+="],
        "<<=" => &[">>="],
        ">>=" => &["<<="],
        _ => &[],
    }
}

/// Text without whitespace, to compare code regardless of layout.
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn join(path: &str, name: &str) -> String {
    match (path.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (_, true) => path.to_owned(),
        _ => format!("{path}::{name}"),
    }
}

/// Whether `container` (a file or an inline module's body) starts with
/// `#![cfg(test)]`.
fn has_inner_cfg_test(container: Node<'_>, source: &str) -> bool {
    let mut cursor = container.walk();
    let children: Vec<Node<'_>> = container.named_children(&mut cursor).collect();
    children.into_iter().filter(|c| c.kind() == "inner_attribute_item").any(|c| {
        source.get(c.byte_range()).is_some_and(|text| is_cfg_test(&text.replacen("#!", "#", 1)))
    })
}

/// `x/y.rs` for `#[path = "x/y.rs"]`.
fn path_attribute(attribute: &str) -> Option<String> {
    let inside = attribute.trim().strip_prefix("#[")?.strip_suffix(']')?;
    let (key, value) = inside.split_once('=')?;
    let value = value.trim().strip_prefix('"')?.strip_suffix('"')?;
    (key.trim() == "path").then(|| value.to_owned())
}

pub(super) fn is_cfg_test(attribute: &str) -> bool {
    let compact: String = attribute.chars().filter(|c| !c.is_whitespace()).collect();
    // `#[cfg(test)]`, not `#[cfg(test_utils)]`.
    compact.starts_with("#[cfg(test)")
        || compact.contains("cfg(test)") && compact.starts_with("#[cfg(")
}

fn item_is_unsafe(item: Node<'_>) -> bool {
    let mut cursor = item.walk();
    item.children(&mut cursor).any(|c| c.kind() == "unsafe")
}

/// `fn f() {}`: nothing to replace with `()`.
fn is_empty_unit(body: Node<'_>, return_type: Option<Node<'_>>, source: &str) -> bool {
    let unit = return_type.is_none_or(|t| source.get(t.byte_range()) == Some("()"));
    unit && body.named_child_count() == 0
}

#[cfg(test)]
mod tests;
