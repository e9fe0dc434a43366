//! The functions of a Python module that noot mutates, and what the
//! schemata writer needs to know about each.
//!
//! Only functions at module level and methods of classes (nested to any
//! depth in class bodies) become units: a function nested in another
//! function is part of its outer function's body, as are lambdas. Each unit
//! gets a key, `module.Qualname`, that names it in mutant ids and in the
//! stats; a second definition of the same name in the same scope (a
//! property setter, say) becomes `Qualname~2`.

use std::collections::HashMap;
use std::ops::Range;

use tree_sitter::Node;

/// How the trampoline must hand the call on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// `def` returning a value.
    Plain,
    /// `def` containing `yield`: `return (yield from variant(...))`.
    Generator,
    /// `async def`: `return await variant(...)`.
    Coroutine,
    /// `async def` containing `yield`: re-yield from the variant.
    AsyncGenerator,
}

/// One mutable function.
#[derive(Debug, Clone)]
pub struct FunctionUnit {
    /// `module.Qualname` (with `~N` for the N-th definition of a name).
    pub key: String,
    /// `Class.method` or `function` (with `~N`).
    pub qualname: String,
    /// The identifier part of the variants' names: `_noot_{slug}__{n}`.
    pub slug: String,
    /// Whether it is defined in a class body.
    pub in_class: bool,
    /// 1-based line of the `def`.
    pub line: usize,
    /// Byte offset of the start of the line where the definition (with its
    /// decorators) begins: variants are inserted there.
    pub insert_at: usize,
    /// The definition's indentation.
    pub indent: String,
    /// The `function_definition` node's bytes (without decorators).
    pub span: Range<usize>,
    /// The function name's bytes.
    pub name: Range<usize>,
    /// The body block's bytes.
    pub body: Range<usize>,
    /// Where the prelude goes, and whether the body starts on the `def` line.
    pub prelude_at: usize,
    /// The body starts on the `def` line (`def f(): return 1`).
    pub inline_body: bool,
    /// The body's indentation.
    pub body_indent: String,
    /// How the trampoline forwards.
    pub flavour: Flavour,
    /// The argument list that forwards the parameters unchanged.
    pub forward: String,
    /// Why it is not mutated, if it is not.
    pub skipped: Option<String>,
}

/// Finds every unit of a parsed module.
pub fn find_units(root: Node<'_>, source: &str, module: &str) -> Vec<FunctionUnit> {
    let mut units = Vec::new();
    collect(root, source, module, "", false, &mut units);
    units
}

fn collect(
    scope: Node<'_>,
    source: &str,
    module: &str,
    prefix: &str,
    in_class: bool,
    units: &mut Vec<FunctionUnit>,
) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cursor = scope.walk();
    for child in scope.named_children(&mut cursor) {
        let (outer, definition) = match child.kind() {
            "decorated_definition" => match child.child_by_field_name("definition") {
                Some(def) => (child, def),
                None => continue,
            },
            "function_definition" | "class_definition" => (child, child),
            _ => continue,
        };
        let Some(name_node) = definition.child_by_field_name("name") else { continue };
        let name = &source[name_node.byte_range()];
        match definition.kind() {
            "class_definition" => {
                if let Some(body) = definition.child_by_field_name("body") {
                    let prefix = format!("{prefix}{name}.");
                    collect(body, source, module, &prefix, true, units);
                }
            }
            "function_definition" => {
                let count = seen.entry(name.to_owned()).or_insert(0);
                *count += 1;
                let (local, slug) = if *count == 1 {
                    (name.to_owned(), name.to_owned())
                } else {
                    (format!("{name}~{count}"), format!("{name}__d{count}"))
                };
                let qualname = format!("{prefix}{local}");
                if let Some(unit) =
                    describe(outer, definition, source, module, qualname, slug, in_class)
                {
                    units.push(unit);
                }
            }
            _ => {}
        }
    }
}

fn describe(
    outer: Node<'_>,
    def: Node<'_>,
    source: &str,
    module: &str,
    qualname: String,
    slug: String,
    in_class: bool,
) -> Option<FunctionUnit> {
    let name = def.child_by_field_name("name")?;
    let body = def.child_by_field_name("body")?;
    let parameters = def.child_by_field_name("parameters")?;
    let insert_at = line_start(source, outer.start_byte());
    let indent = source[insert_at..outer.start_byte()].to_owned();
    let is_async = def.child(0).is_some_and(|first| first.kind() == "async");
    let flavour = match (is_async, contains_yield(body)) {
        (false, false) => Flavour::Plain,
        (false, true) => Flavour::Generator,
        (true, false) => Flavour::Coroutine,
        (true, true) => Flavour::AsyncGenerator,
    };
    let (forward, unsupported) = forward_arguments(parameters, source);
    let mut cursor = body.walk();
    let statements: Vec<Node<'_>> = body.named_children(&mut cursor).collect();
    let first = statements.first().copied()?;
    let inline_body = first.start_position().row == def.start_position().row
        || first.start_position().row == parameters.end_position().row;
    let unit_indent = if indent.contains('\t') { "\t" } else { "    " };
    let (prelude_at, body_indent) = if inline_body {
        (first.start_byte(), format!("{indent}{unit_indent}"))
    } else {
        let body_indent =
            source[line_start(source, first.start_byte())..first.start_byte()].to_owned();
        let after_docstring = is_docstring(first)
            && statements
                .get(1)
                .is_none_or(|next| next.start_position().row > first.end_position().row);
        if after_docstring {
            (first.end_byte(), body_indent)
        } else {
            (line_start(source, first.start_byte()), body_indent)
        }
    };
    let skipped = unsupported.map(|why| format!("parameters: {why}"));
    Some(FunctionUnit {
        key: format!("{module}.{qualname}"),
        qualname,
        slug,
        in_class,
        line: def.start_position().row + 1,
        insert_at,
        indent,
        span: def.byte_range(),
        name: name.byte_range(),
        body: body.byte_range(),
        prelude_at,
        inline_body,
        body_indent,
        flavour,
        forward,
        skipped,
    })
}

/// Whether a statement is a bare string (a docstring when it comes first).
pub fn is_docstring(statement: Node<'_>) -> bool {
    statement.kind() == "expression_statement"
        && statement.named_child_count() == 1
        && statement
            .named_child(0)
            .is_some_and(|c| matches!(c.kind(), "string" | "concatenated_string"))
}

/// The byte offset where the line holding `at` begins.
pub fn line_start(source: &str, at: usize) -> usize {
    source[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// `yield` in this body, not counting nested functions, lambdas and classes.
/// (An explicit stack: a body may nest thousands of levels deep.)
fn contains_yield(node: Node<'_>) -> bool {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            match child.kind() {
                "yield" => return true,
                "function_definition" | "lambda" | "class_definition" | "decorated_definition" => {}
                _ => stack.push(child),
            }
        }
    }
    false
}

/// The call arguments that pass every parameter on as it came, and the
/// reason if the parameter list cannot be forwarded.
fn forward_arguments(parameters: Node<'_>, source: &str) -> (String, Option<String>) {
    let mut parts = Vec::new();
    let mut keyword_only = false;
    let mut cursor = parameters.walk();
    for param in parameters.named_children(&mut cursor) {
        let target = match param.kind() {
            "typed_parameter" => param.named_child(0),
            "default_parameter" | "typed_default_parameter" => param.child_by_field_name("name"),
            _ => Some(param),
        };
        let Some(target) = target else { continue };
        match target.kind() {
            "identifier" => {
                let name = &source[target.byte_range()];
                if keyword_only {
                    parts.push(format!("{name}={name}"));
                } else {
                    parts.push(name.to_owned());
                }
            }
            "list_splat_pattern" => {
                keyword_only = true;
                parts.push(source[target.byte_range()].to_owned());
            }
            "dictionary_splat_pattern" => parts.push(source[target.byte_range()].to_owned()),
            "keyword_separator" => keyword_only = true,
            "positional_separator" | "comment" => {}
            other => return (String::new(), Some(format!("unsupported parameter `{other}`"))),
        }
    }
    (parts.join(", "), None)
}
