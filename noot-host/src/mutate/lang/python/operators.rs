//! The mutation operators for Python: each finds, in one function body,
//! the places it applies to and the text that replaces them.
//!
//! The set is mutmut 3's, so verdicts compare one to one: numbers, strings,
//! names (`True`/`False`, `deepcopy`), assignments, augmented assignments,
//! unary operators, call arguments, `dict(...)` keywords, string-method
//! swaps, lambdas, keywords (`is`, `in`, `break`, `continue`), operator
//! swaps and `match` cases. A mutation is a byte range of the module and
//! its replacement, so a variant is the function's text with one splice.
//!
//! Never mutated: type annotations, docstrings, the arguments of `len` and
//! `isinstance`, and lines marked `# pragma: no mutate` (a marked compound
//! statement loses its whole block; `start`/`end` pragmas fence a region).

use std::collections::HashSet;

use tree_sitter::Node;

use super::functions::is_docstring;

/// One mutation: replace `start..end` of the module with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    /// The operator's name, as reports show it.
    pub operator: &'static str,
    /// First byte replaced.
    pub start: usize,
    /// One past the last byte replaced.
    pub end: usize,
    /// The new text.
    pub replacement: String,
    /// 1-based line of `start`.
    pub line: usize,
    /// 1-based column of `start`.
    pub column: usize,
}

/// Lines (0-based rows) excluded by pragmas.
#[derive(Debug, Default)]
pub struct Pragmas {
    rows: HashSet<usize>,
}

impl Pragmas {
    /// Reads `# pragma: no mutate` (and its `start`/`end` form) from source.
    pub fn scan(source: &str) -> Self {
        let mut rows = HashSet::new();
        let mut fenced = false;
        for (row, line) in source.lines().enumerate() {
            let pragma = line
                .split_once("# pragma:")
                .map(|(_, rest)| rest.trim())
                .filter(|rest| rest.starts_with("no mutate"));
            match pragma.map(|p| p["no mutate".len()..].trim()) {
                Some("start") => {
                    fenced = true;
                    rows.insert(row);
                }
                Some("end") => {
                    fenced = false;
                    rows.insert(row);
                }
                Some(_) => {
                    rows.insert(row);
                }
                None if fenced => {
                    rows.insert(row);
                }
                None => {}
            }
        }
        Self { rows }
    }

    /// Whether this 0-based row is excluded.
    pub fn covers(&self, row: usize) -> bool {
        self.rows.contains(&row)
    }
}

/// Calls whose arguments are never mutated.
const NEVER_MUTATE_CALLS: &[&str] = &["len", "isinstance"];

/// Compound statements: a pragma on their first line covers their block.
const COMPOUND: &[&str] = &[
    "function_definition",
    "class_definition",
    "decorated_definition",
    "if_statement",
    "for_statement",
    "while_statement",
    "try_statement",
    "with_statement",
    "match_statement",
];

/// Finds every mutation in a function body, in source order.
pub fn mutations_in(body: Node<'_>, source: &str, pragmas: &Pragmas) -> Vec<Mutation> {
    let mut found = Vec::new();
    let mut walker = Walker { source, pragmas, found: &mut found };
    walker.visit_block(body);
    found
}

struct Walker<'a> {
    source: &'a str,
    pragmas: &'a Pragmas,
    found: &'a mut Vec<Mutation>,
}

impl Walker<'_> {
    fn text(&self, node: Node<'_>) -> &str {
        &self.source[node.byte_range()]
    }

    fn push(&mut self, operator: &'static str, node: Node<'_>, replacement: String) {
        self.push_range(operator, node.start_byte(), node.end_byte(), node, replacement);
    }

    fn push_range(
        &mut self,
        operator: &'static str,
        start: usize,
        end: usize,
        at: Node<'_>,
        replacement: String,
    ) {
        if self.source[start..end] == replacement {
            return;
        }
        let position = at.start_position();
        self.found.push(Mutation {
            operator,
            start,
            end,
            replacement,
            line: position.row + 1,
            column: position.column + 1,
        });
    }

    /// Visits a function body (a block whose first statement may be a
    /// docstring) and everything in it, in source order. An explicit
    /// stack, not recursion: a sum of thousands of terms or deeply
    /// bracketed input nests the tree that deep, and must not overflow the
    /// thread's stack.
    fn visit_block(&mut self, block: Node<'_>) {
        let mut stack = vec![Step::Block(block)];
        while let Some(step) = stack.pop() {
            let mut next = Vec::new();
            match step {
                Step::Block(block) => statements(block, &mut next),
                Step::Visit(node) => self.visit(node, &mut next),
            }
            // Pushed in reverse, so the first is visited first, with all
            // its descendants before its next sibling: recursion's order.
            stack.extend(next.into_iter().rev());
        }
    }

    /// Mutates one node; `next` gets what to visit inside it, in order.
    fn visit<'t>(&mut self, node: Node<'t>, next: &mut Vec<Step<'t>>) {
        let row = node.start_position().row;
        let marked = self.pragmas.covers(row);
        match node.kind() {
            "type" | "comment" => return,
            kind if marked && COMPOUND.contains(&kind) => return,
            "call" if self.is_never_mutated_call(node) => return,
            "function_definition" => {
                // A nested function: its body (defaults and decorators run
                // with the outer function, so they are mutable too, but its
                // annotations are not).
                children_except(node, &["name", "parameters", "return_type", "body"], next);
                if let Some(parameters) = node.child_by_field_name("parameters") {
                    defaults(parameters, next);
                }
                if let Some(body) = node.child_by_field_name("body") {
                    next.push(Step::Block(body));
                }
                return;
            }
            "class_definition" => {
                if let Some(arguments) = node.child_by_field_name("superclasses") {
                    next.push(Step::Visit(arguments));
                }
                if let Some(body) = node.child_by_field_name("body") {
                    next.push(Step::Block(body));
                }
                return;
            }
            _ => {}
        }
        if !marked {
            self.mutate(node);
        }
        let mut cursor = node.walk();
        next.extend(node.named_children(&mut cursor).map(Step::Visit));
    }

    fn is_never_mutated_call(&self, call: Node<'_>) -> bool {
        call.child_by_field_name("function")
            .is_some_and(|f| f.kind() == "identifier" && NEVER_MUTATE_CALLS.contains(&self.text(f)))
    }

    /// Every operator that applies to this node itself.
    fn mutate(&mut self, node: Node<'_>) {
        match node.kind() {
            "integer" | "float" => self.number(node),
            "string" => self.string(node),
            "true" => self.push("bool_swap", node, "False".into()),
            "false" => self.push("bool_swap", node, "True".into()),
            "identifier" if self.text(node) == "deepcopy" && is_read(node) => {
                self.push("deepcopy_to_copy", node, "copy".into());
            }
            "assignment" => self.assignment(node),
            "augmented_assignment" => self.augmented(node),
            "not_operator" => {
                if let Some(argument) = node.child_by_field_name("argument") {
                    let text = self.text(argument).to_owned();
                    self.push("remove_not", node, text);
                }
            }
            "unary_operator" => self.unary(node),
            "binary_operator" => self.binary(node),
            "boolean_operator" => {
                if let Some(op) = node.child_by_field_name("operator") {
                    let swapped = if self.text(op) == "and" { "or" } else { "and" };
                    self.push("boolean_swap", op, swapped.into());
                }
            }
            "comparison_operator" => self.comparison(node),
            "call" => self.call(node),
            "lambda" => {
                if let Some(body) = node.child_by_field_name("body") {
                    let replacement = if body.kind() == "none" { "0" } else { "None" };
                    self.push("lambda_to_none", body, replacement.into());
                }
            }
            "break_statement" if return_compiles_at(node) => {
                self.push("break_to_return", node, "return".into());
            }
            "continue_statement" => self.push("continue_to_break", node, "break".into()),
            "match_statement" => self.match_cases(node),
            _ => {}
        }
    }

    fn number(&mut self, node: Node<'_>) {
        if let Some(next) = increment_number(self.text(node)) {
            self.push("number_increment", node, next);
        }
    }

    fn string(&mut self, node: Node<'_>) {
        let (Some(start), Some(end)) =
            (node.child(0), node.child(node.child_count().saturating_sub(1)))
        else {
            return;
        };
        if start.kind() != "string_start" || end.kind() != "string_end" {
            return;
        }
        let opener = self.text(start);
        let prefix = opener.trim_end_matches(['"', '\'']);
        if prefix.contains(['f', 'F', 't', 'T'])
            || opener.ends_with("\"\"\"")
            || opener.ends_with("'''")
        {
            return;
        }
        let content = &self.source[start.end_byte()..end.start_byte()];
        let raw = prefix.contains(['r', 'R']);
        let lower = change_case(content, raw, false);
        let upper = change_case(content, raw, true);
        let (from, to) = (start.end_byte(), end.start_byte());
        self.push_range("string_wrap", from, to, node, format!("XX{content}XX"));
        if lower != content {
            self.push_range("string_case", from, to, node, lower);
        }
        if upper != content {
            self.push_range("string_case", from, to, node, upper);
        }
    }

    fn assignment(&mut self, node: Node<'_>) {
        let Some(right) = node.child_by_field_name("right") else { return };
        if right.kind() == "assignment" {
            // `a = b = c`: the innermost assignment carries the value.
            return;
        }
        let replacement = if right.kind() == "none" { "\"\"" } else { "None" };
        self.push("assign_none", right, replacement.into());
    }

    fn augmented(&mut self, node: Node<'_>) {
        let Some(op) = node.child_by_field_name("operator") else { return };
        let text = self.text(op).to_owned();
        if let Some(swapped) = text.strip_suffix('=').and_then(swap_binary) {
            self.push("augmented_swap", op, format!("{swapped}="));
        }
        self.push("augmented_to_assign", op, "=".into());
    }

    fn unary(&mut self, node: Node<'_>) {
        let (Some(op), Some(argument)) =
            (node.child_by_field_name("operator"), node.child_by_field_name("argument"))
        else {
            return;
        };
        match self.text(op) {
            "~" => {
                let text = self.text(argument).to_owned();
                self.push("remove_invert", node, text);
            }
            "-" => self.push("unary_sign_swap", op, "+".into()),
            "+" => self.push("unary_sign_swap", op, "-".into()),
            _ => {}
        }
    }

    fn binary(&mut self, node: Node<'_>) {
        let Some(op) = node.child_by_field_name("operator") else { return };
        let text = self.text(op);
        if let Some(swapped) = swap_binary(text) {
            let name = match text {
                "<<" | ">>" => "shift_swap",
                "&" | "|" | "^" => "bitwise_swap",
                _ => "arithmetic_swap",
            };
            self.push(name, op, swapped.into());
        }
    }

    fn comparison(&mut self, node: Node<'_>) {
        let mut cursor = node.walk();
        let operators: Vec<Node<'_>> =
            node.children(&mut cursor).filter(|c| !c.is_named()).collect();
        for op in operators {
            let (name, swapped) = match self.text(op).split_whitespace().collect::<Vec<_>>()[..] {
                ["<"] => ("comparison_swap", "<="),
                ["<="] => ("comparison_swap", "<"),
                [">"] => ("comparison_swap", ">="),
                [">="] => ("comparison_swap", ">"),
                ["=="] => ("comparison_swap", "!="),
                ["!="] => ("comparison_swap", "=="),
                ["<>"] => ("comparison_swap", "=="),
                ["is"] => ("is_swap", "is not"),
                ["is", "not"] => ("is_swap", "is"),
                ["in"] => ("in_swap", "not in"),
                ["not", "in"] => ("in_swap", "in"),
                _ => continue,
            };
            self.push(name, op, swapped.into());
        }
    }

    fn call(&mut self, node: Node<'_>) {
        let Some(function) = node.child_by_field_name("function") else { return };
        let Some(arguments) = node.child_by_field_name("arguments") else { return };
        if arguments.kind() != "argument_list" {
            return;
        }
        let mut cursor = arguments.walk();
        // A `\` line continuation is a named node of its own, not an argument.
        let args: Vec<Node<'_>> = arguments
            .named_children(&mut cursor)
            .filter(|a| !matches!(a.kind(), "comment" | "line_continuation"))
            .collect();
        let method = (function.kind() == "attribute")
            .then(|| function.child_by_field_name("attribute"))
            .flatten();

        // dict(a=b) → dict(aXX=b)
        if function.kind() == "identifier"
            && self.text(function) == "dict"
            && !args.is_empty()
            && args.iter().all(|a| a.kind() == "keyword_argument")
        {
            for arg in &args {
                if let Some(name) = arg.child_by_field_name("name") {
                    let text = format!("{}XX", self.text(name));
                    self.push("dict_keyword", name, text);
                }
            }
        }
        // Each argument → None.
        for arg in &args {
            let value = match arg.kind() {
                "list_splat" | "dictionary_splat" | "parenthesized_list_splat" => continue,
                "keyword_argument" => arg.child_by_field_name("value"),
                _ => Some(*arg),
            };
            if let Some(value) = value.filter(|v| v.kind() != "none") {
                self.push("argument_to_none", value, "None".into());
            }
        }
        // Each argument dropped, when there are two or more.
        if args.len() > 1 {
            for skip in 0..args.len() {
                let kept: Vec<&str> = args
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, a)| self.text(*a))
                    .collect();
                let replacement = format!("({})", kept.join(", "));
                self.push_range(
                    "argument_drop",
                    arguments.start_byte(),
                    arguments.end_byte(),
                    args[skip],
                    replacement,
                );
            }
        }
        // String-method swaps.
        if let Some(method) = method {
            let name = self.text(method);
            if let Some(swapped) = swap_string_method(name) {
                self.push("string_method_swap", method, swapped.into());
            } else if matches!(name, "split" | "rsplit") {
                let has_maxsplit = args.len() == 2
                    || args.iter().any(|a| {
                        a.kind() == "keyword_argument"
                            && a.child_by_field_name("name")
                                .is_some_and(|n| self.text(n) == "maxsplit")
                    });
                if has_maxsplit {
                    let swapped = if name == "split" { "rsplit" } else { "split" };
                    self.push("string_method_swap", method, swapped.into());
                }
            }
        }
    }

    fn match_cases(&mut self, node: Node<'_>) {
        let Some(body) = node.child_by_field_name("body") else { return };
        let mut cursor = body.walk();
        let cases: Vec<Node<'_>> =
            body.named_children(&mut cursor).filter(|c| c.kind() == "case_clause").collect();
        if cases.len() < 2 {
            return;
        }
        for case in cases {
            // Keep the line's indentation so the remaining cases still parse.
            self.push("match_case_drop", case, String::new());
        }
    }
}

/// What is left to walk in a function body.
enum Step<'t> {
    /// A node, and what is inside it.
    Visit(Node<'t>),
    /// A block's statements (its docstring left out).
    Block(Node<'t>),
}

/// The statements of a block, its docstring left out.
fn statements<'t>(block: Node<'t>, next: &mut Vec<Step<'t>>) {
    let mut cursor = block.walk();
    for (index, statement) in block.named_children(&mut cursor).enumerate() {
        if index == 0 && is_docstring(statement) {
            continue;
        }
        next.push(Step::Visit(statement));
    }
}

/// The named children of `node` outside the `fields` given.
fn children_except<'t>(node: Node<'t>, fields: &[&str], next: &mut Vec<Step<'t>>) {
    let mut cursor = node.walk();
    for (index, child) in node.children(&mut cursor).enumerate() {
        let field = u32::try_from(index).ok().and_then(|i| node.field_name_for_child(i));
        if child.is_named() && !field.is_some_and(|f| fields.contains(&f)) {
            next.push(Step::Visit(child));
        }
    }
}

/// The default values of a parameter list.
fn defaults<'t>(parameters: Node<'t>, next: &mut Vec<Step<'t>>) {
    let mut cursor = parameters.walk();
    for parameter in parameters.named_children(&mut cursor) {
        if let Some(value) = parameter.child_by_field_name("value") {
            next.push(Step::Visit(value));
        }
    }
}

/// Whether a name is read here, not bound or declared: renaming a binding
/// (`deepcopy = …`, `for deepcopy in …`, an import, `global`/`nonlocal`)
/// is no `copy` for `deepcopy` swap, and breaks the `nonlocal` of a nested
/// function, which then does not compile. Keyword names are not reads
/// either.
fn is_read(node: Node<'_>) -> bool {
    let Some(parent) = node.parent() else { return true };
    let is_field =
        |field: &str| parent.child_by_field_name(field).is_some_and(|n| n.id() == node.id());
    match parent.kind() {
        "keyword_argument" => !is_field("name"),
        "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
            !is_field("left")
        }
        "named_expression" => !is_field("name"),
        "global_statement" | "nonlocal_statement" | "dotted_name" | "aliased_import"
        | "pattern_list" | "tuple_pattern" | "list_pattern" | "as_pattern_target" => false,
        _ => true,
    }
}

/// Whether `return` compiles in place of `node`: not in a class body (a
/// loop there, inside a function) nor anywhere in an `except*` block.
fn return_compiles_at(node: Node<'_>) -> bool {
    let mut at = node.parent();
    while let Some(scope) = at {
        match scope.kind() {
            "function_definition" | "lambda" => return true,
            "class_definition" => return false,
            "except_clause" if scope.child(1).is_some_and(|c| c.kind() == "*") => return false,
            _ => at = scope.parent(),
        }
    }
    false
}

fn swap_binary(op: &str) -> Option<&'static str> {
    Some(match op {
        "+" => "-",
        "-" => "+",
        "*" => "/",
        "/" => "*",
        "//" => "/",
        "%" => "/",
        "**" => "*",
        "<<" => ">>",
        ">>" => "<<",
        "&" => "|",
        "|" => "&",
        "^" => "&",
        _ => return None,
    })
}

fn swap_string_method(name: &str) -> Option<&'static str> {
    Some(match name {
        "lower" => "upper",
        "upper" => "lower",
        "lstrip" => "rstrip",
        "rstrip" => "lstrip",
        "find" => "rfind",
        "rfind" => "find",
        "ljust" => "rjust",
        "rjust" => "ljust",
        "index" => "rindex",
        "rindex" => "index",
        "removeprefix" => "removesuffix",
        "removesuffix" => "removeprefix",
        "partition" => "rpartition",
        "rpartition" => "partition",
        _ => return None,
    })
}

/// Changes the case of a string literal's content, leaving escape
/// sequences alone (`\N{DIGIT ONE}` lowered would not parse, `\x4A`
/// raised would not change the value).
fn change_case(content: &str, raw: bool, upper: bool) -> String {
    let mut out = String::with_capacity(content.len());
    let mut chars = content.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && !raw {
            out.push(c);
            match chars.next() {
                Some('N') if chars.peek() == Some(&'{') => {
                    out.push('N');
                    for n in chars.by_ref() {
                        out.push(n);
                        if n == '}' {
                            break;
                        }
                    }
                }
                Some(next @ ('x' | 'u' | 'U')) => {
                    out.push(next);
                    let digits = match next {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    for _ in 0..digits {
                        if let Some(d) = chars.next_if(char::is_ascii_hexdigit) {
                            out.push(d);
                        }
                    }
                }
                Some(next) => out.push(next),
                None => {}
            }
        } else if upper {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// `n + 1` written as Python would write it; `None` when the literal is
/// out of range.
pub fn increment_number(literal: &str) -> Option<String> {
    let clean: String = literal.chars().filter(|c| *c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    if let Some(imaginary) = lower.strip_suffix('j') {
        let value: f64 = imaginary.parse().ok()?;
        return Some(format!("{}j", python_float(value + 1.0)));
    }
    let radix = |prefix: &str, radix: u32| {
        lower.strip_prefix(prefix).and_then(|digits| u128::from_str_radix(digits, radix).ok())
    };
    let integer = radix("0x", 16)
        .or_else(|| radix("0o", 8))
        .or_else(|| radix("0b", 2))
        .or_else(|| lower.parse::<u128>().ok());
    if let Some(value) = integer {
        return value.checked_add(1).map(|v| v.to_string());
    }
    let value: f64 = lower.parse().ok()?;
    let next = value + 1.0;
    next.is_finite().then(|| python_float(next))
}

/// A float literal that reads back as the same value.
fn python_float(value: f64) -> String {
    let text = format!("{value:?}");
    if text.contains(['.', 'e', 'E']) || text.contains("inf") || text.contains("NaN") {
        text
    } else {
        format!("{text}.0")
    }
}
