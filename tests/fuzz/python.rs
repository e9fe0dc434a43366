//! Target `python`: the Python analyser ([`noot::mutate::lang::python::analyse`])
//! and the writer of mutated modules. On any text it returns functions and
//! mutations or a syntax error on a line the text has, never a panic; every
//! mutation lies inside its function, on character boundaries (the catalog
//! slices there). On generated Python that CPython compiles, the mutated
//! module and every mutant spliced into the source compile too, checked by
//! one `python3` process that compiles each source it is sent.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;

use crate::{any_bytes, edited, fuzz, tokens};
use noot::mutate::lang::python::schemata::variant_text;
use noot::mutate::lang::python::{AnalysedModule, analyse, mutated_source};

/// Compiles sources in one long-lived `python3`: `compile()` of a source
/// costs microseconds, a process per source tens of milliseconds.
pub struct Compiler {
    // Held so the process lives as long as the compiler; it ends when its
    // stdin closes.
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

const COMPILE_LOOP: &str = r#"
import json, sys, warnings
warnings.simplefilter("ignore")
for line in sys.stdin:
    source = json.loads(line)
    try:
        compile(source, "<mutant>", "exec", dont_inherit=True)
        answer = ""
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as e:
        answer = "%s: %s (line %s)" % (type(e).__name__, getattr(e, "msg", e), getattr(e, "lineno", "?"))
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
"#;

impl Compiler {
    /// A `python3` ready to compile, or `None` when there is none.
    pub fn start() -> Option<Self> {
        let mut child = Command::new("python3")
            .args(["-c", COMPILE_LOOP])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        let stdout = BufReader::new(child.stdout.take()?);
        Some(Self { _child: child, stdin, stdout })
    }

    /// `Ok` if `source` compiles, else CPython's message.
    pub fn compile(&mut self, source: &str) -> Result<(), String> {
        let mut line = serde_json::to_string(source).map_err(|e| e.to_string())?;
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).map_err(|e| format!("python3 went away: {e}"))?;
        self.stdin.flush().map_err(|e| format!("python3 went away: {e}"))?;
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).map_err(|e| format!("python3 went away: {e}"))?;
        match serde_json::from_str::<String>(&answer) {
            Ok(message) if message.is_empty() => Ok(()),
            Ok(message) => Err(message),
            Err(_) => Err(format!("python3 answered {answer:?}")),
        }
    }
}

/// The compiler shared by the cases of this test binary (one python3).
pub fn compiler() -> Option<std::sync::MutexGuard<'static, Compiler>> {
    static SHARED: OnceLock<Option<Mutex<Compiler>>> = OnceLock::new();
    let shared = SHARED.get_or_init(|| Compiler::start().map(Mutex::new)).as_ref()?;
    Some(shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}

/// `source` with one mutation applied.
pub fn spliced(source: &str, start: usize, end: usize, replacement: &str) -> String {
    format!("{}{replacement}{}", &source[..start], &source[end..])
}

/// What must hold of any analysis: mutations inside their function and on
/// character boundaries, and a mutated module that can be written.
pub fn well_formed(source: &str, module: &AnalysedModule) -> Result<(), String> {
    for function in &module.functions {
        let unit = &function.unit;
        for (what, at) in [
            ("insert_at", unit.insert_at),
            ("span.start", unit.span.start),
            ("span.end", unit.span.end),
            ("prelude_at", unit.prelude_at),
            ("name.start", unit.name.start),
            ("name.end", unit.name.end),
        ] {
            if !source.is_char_boundary(at) {
                return Err(format!("{}: {what} {at} is not on a character boundary", unit.key));
            }
        }
        for m in &function.mutations {
            if !(unit.insert_at <= m.start && m.start <= m.end && m.end <= unit.span.end) {
                return Err(format!(
                    "{}: {} at {}..{} lies outside the function ({}..{})",
                    unit.key, m.operator, m.start, m.end, unit.insert_at, unit.span.end
                ));
            }
            if !(source.is_char_boundary(m.start) && source.is_char_boundary(m.end)) {
                return Err(format!(
                    "{}: {} at {}..{} splits a character",
                    unit.key, m.operator, m.start, m.end
                ));
            }
        }
    }
    let _ = mutated_source(source, module);
    Ok(())
}

/// How a module's mutants are compiled.
#[derive(Clone, Copy)]
pub struct Check {
    /// Each mutant within the whole module (else as the variant function
    /// noot writes, which is faster on big modules).
    pub whole_module: bool,
    /// At most this many mutants, spread evenly over the module.
    pub max_mutants: usize,
    /// The mutated module is compiled when it is no longer than this.
    pub max_module_bytes: usize,
}

/// Every mutant of `source` (which compiles) that `check` samples
/// compiles, and so does the mutated module with all of them; the number
/// of mutants compiled.
pub fn mutants_compile(
    compiler: &mut Compiler,
    source: &str,
    module: &AnalysedModule,
    check: Check,
) -> Result<usize, String> {
    let total: usize = module.functions.iter().map(|f| f.mutations.len()).sum();
    let every = total.div_ceil(check.max_mutants.max(1)).max(1);
    let mut failures = Vec::new();
    let mut compiled = 0;
    let numbered = module
        .functions
        .iter()
        .flat_map(|f| f.mutations.iter().enumerate().map(move |(index, m)| (f, index, m)));
    for (function, index, m) in numbered.step_by(every) {
        let mutant = if check.whole_module {
            spliced(source, m.start, m.end, &m.replacement)
        } else {
            let text = variant_text(source, &function.unit, m, index + 1);
            // A method's variant is indented: give it a block.
            if function.unit.indent.is_empty() { text } else { format!("if 1:\n{text}") }
        };
        compiled += 1;
        if let Err(why) = compiler.compile(&mutant) {
            failures.push(format!(
                "{} {} at line {} ({:?} → {:?}): {why}",
                function.unit.key,
                m.operator,
                m.line,
                &source[m.start..m.end],
                m.replacement
            ));
        }
    }
    if let Some(written) = mutated_source(source, module) {
        if written.len() <= check.max_module_bytes {
            if let Err(why) = compiler.compile(&written) {
                failures.push(format!("the mutated module: {why}"));
            }
        }
    }
    if failures.is_empty() { Ok(compiled) } else { Err(failures.join("\n  ")) }
}

/// Any text: an analysis or a located syntax error, and a well-formed one.
fn analyses_or_locates(bytes: &[u8]) -> Result<(), String> {
    let source = String::from_utf8_lossy(bytes);
    match analyse(&source, "pkg.mod", false) {
        Ok(module) => well_formed(&source, &module),
        Err(error) => {
            let lines = source.matches('\n').count() + 1;
            if error.line == 0 || error.line > lines || error.column == 0 {
                return Err(format!(
                    "syntax error at {}:{} of {lines} lines",
                    error.line, error.column
                ));
            }
            Ok(())
        }
    }
}

/// Generated Python: as above, and when CPython compiles it, its mutants
/// compile too.
fn mutants_of_valid_code_compile(bytes: &[u8]) -> Result<(), String> {
    analyses_or_locates(bytes)?;
    let Ok(source) = std::str::from_utf8(bytes) else { return Ok(()) };
    let Ok(module) = analyse(source, "pkg.mod", false) else { return Ok(()) };
    let Some(mut compiler) = compiler() else { return Ok(()) };
    if compiler.compile(source).is_err() {
        return Ok(());
    }
    let check = Check { whole_module: true, max_mutants: usize::MAX, max_module_bytes: usize::MAX };
    mutants_compile(&mut compiler, source, &module, check).map(|_| ())
}

// ----- generated Python -----

#[rustfmt::skip]
const NAMES: &[&str] = &[
    "a", "b", "x", "self", "deepcopy", "copy.deepcopy", "len", "dict", "isinstance", "print",
    "int", "s", "items", "None", "True", "False", "__class__", "super()", "match", "case", "_",
    "type",
];

#[rustfmt::skip]
const NUMBERS: &[&str] = &[
    "0", "1", "41", "0x1F", "0o17", "0b101", "1_000", "0_0", "1.5", "1e3", "1E-3", ".5", "5.",
    "1e400", "1_0.0_1", "2j", "1e400j", "1.5J", "0j", "340282366920938463463374607431768211455",
    "340282366920938463463374607431768211456", "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "1 .real",
];

#[rustfmt::skip]
const STRING_BODIES: &[&str] = &[
    "", "abc", "Hi", "ÉÀ", "ß", "İ", "ǅ", "\\n", "\\x4a", "\\u00e9", "\\U0001F600",
    "\\N{DIGIT ONE}", "\\\\", "\\'", "\\\"", "{x}", "{{", "%s", "\\0", "\\777", "ﬁ", "ΣΑΣ",
];

fn string_literal() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["", "", "r", "b", "rb", "Br", "u", "R", "f", "rf", "F"][..]),
        prop::sample::select(&["'", "\"", "'''", "\"\"\""][..]),
        prop::collection::vec(prop::sample::select(STRING_BODIES), 0..3),
    )
        .prop_map(|(prefix, quote, body)| {
            let mut body = body.concat();
            if prefix.contains(['b', 'B']) {
                body = body.chars().filter(char::is_ascii).collect();
            }
            if prefix.contains(['r', 'R']) && body.ends_with('\\') {
                body.push('x');
            }
            format!("{prefix}{quote}{body}{quote}")
        })
}

fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(NAMES).prop_map(str::to_string),
        prop::sample::select(NUMBERS).prop_map(str::to_string),
        string_literal(),
    ];
    leaf.prop_recursive(4, 32, 4, |e| {
        let op = |ops: &'static [&'static str]| prop::sample::select(ops);
        // Compound operands in brackets: the rest is Python more often.
        let e = e.prop_map(|x| if x.contains(' ') { format!("({x})") } else { x }).boxed();
        prop_oneof![
            (op(&["-", "+", "~", "not "]), e.clone()).prop_map(|(o, x)| format!("{o}{x}")),
            (
                e.clone(),
                op(&["+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "@"]),
                e.clone()
            )
                .prop_map(|(x, o, y)| format!("{x} {o} {y}")),
            (
                e.clone(),
                op(&["<", "<=", ">", ">=", "==", "!=", "is", "is not", "in", "not in"]),
                e.clone()
            )
                .prop_map(|(x, o, y)| format!("{x} {o} {y}")),
            (e.clone(), op(&["and", "or"]), e.clone()).prop_map(|(x, o, y)| format!("{x} {o} {y}")),
            (e.clone(), prop::collection::vec(argument(e.clone()), 0..4)).prop_map(
                |(f, mut args)| {
                    // Positional, `*`, keyword, `**`: the order Python takes.
                    args.sort_by_key(|a| match a.as_bytes() {
                        [b'*', b'*', ..] => 3,
                        [b'k', b'=', ..] => 2,
                        [b'*', ..] => 1,
                        _ => 0,
                    });
                    let args: Vec<String> = args
                        .into_iter()
                        .enumerate()
                        .map(|(i, a)| {
                            a.strip_prefix("k=").map_or(a.clone(), |v| format!("k{i}={v}"))
                        })
                        .collect();
                    format!("{f}({})", args.join(", "))
                }
            ),
            (
                e.clone(),
                op(&["lower", "upper", "split", "rsplit", "find", "removeprefix", "partition"]),
                prop::collection::vec(e.clone(), 0..3)
            )
                .prop_map(|(x, m, args)| format!("({x}).{m}({})", args.join(", "))),
            e.clone().prop_map(|x| format!("lambda: {x}")),
            e.clone().prop_map(|x| format!("lambda q, *r: {x}")),
            e.clone().prop_map(|x| format!("({x})")),
            (e.clone(), e.clone()).prop_map(|(x, y)| format!("{x}[{y}]")),
            (e.clone(), e.clone(), e.clone()).prop_map(|(x, y, z)| format!("{x} if {y} else {z}")),
            (e.clone(), e.clone()).prop_map(|(x, y)| format!("[{x} for q in {y} if q]")),
            (e.clone(), e.clone()).prop_map(|(x, y)| format!("{{{x}: {y}}}")),
            e.clone().prop_map(|x| format!("(w := {x})")),
            prop::sample::select(&["f'{a!r:>10} and {b}'", "f\"{d['k']:{w}}\"", "f'{x=}'"][..])
                .prop_map(str::to_string),
            e.clone().prop_map(|x| format!("dict(k={x}, j=1)")),
            e.clone().prop_map(|x| format!("len({x} + 1)")),
            e.clone().prop_map(|x| format!("print(sum(q for q in {x}))")),
        ]
    })
}

fn argument(e: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => e.clone(),
        1 => e.clone().prop_map(|x| format!("k={x}")),
        1 => e.clone().prop_map(|x| format!("*{x}")),
        1 => e.prop_map(|x| format!("**{x}")),
    ]
}

/// A statement: its lines, indented relative to itself.
#[derive(Debug, Clone)]
enum Stmt {
    Line(String),
    Block(String, Vec<Stmt>),
    /// Clauses of one statement (`try:` … `finally:`).
    Blocks(Vec<(String, Vec<Stmt>)>),
}

fn simple_statement() -> impl Strategy<Value = Stmt> {
    let e = expression().boxed();
    prop_oneof![
        e.clone().prop_map(|x| format!("x = {x}")),
        (
            e.clone(),
            prop::sample::select(
                &["+=", "-=", "*=", "/=", "//=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^=", "@="]
                    [..]
            )
        )
            .prop_map(|(x, o)| format!("x {o} {x}")),
        e.clone().prop_map(|x| format!("a, b = {x}, 1")),
        e.clone().prop_map(|x| format!("x: int = {x}")),
        e.clone().prop_map(|x| format!("x = y = {x}")),
        e.clone().prop_map(|x| format!("self.attr -= {x}")),
        e.clone().prop_map(|x| format!("return {x}")),
        e.clone().prop_map(|x| x.to_string()),
        e.clone().prop_map(|x| format!("assert {x}, 'why'")),
        e.clone().prop_map(|x| format!("x = yield {x}")),
        e.clone().prop_map(|x| format!("y = {x}  # pragma: no mutate")),
        e.clone().prop_map(|x| format!("x = {x}; return x")),
        Just("break".to_string()),
        Just("continue".to_string()),
        Just("pass".to_string()),
        Just("from copy import deepcopy".to_string()),
        Just("del x".to_string()),
        Just("global g".to_string()),
        Just("\"\"\"Docstring.\"\"\"".to_string()),
    ]
    .prop_map(Stmt::Line)
}

#[rustfmt::skip]
const PATTERNS: &[&str] = &[
    "1", "-1", "1 + 2j", "-1 - 2j", "'s'", "b'b'", "None", "True", "_", "q", "[q, *rest]",
    "{'k': q}", "int(q)", "str() | bytes()", "1 | 2", "(1 | -2) as q", "P(x=0)", "a.b",
];

fn statement() -> impl Strategy<Value = Stmt> {
    simple_statement().prop_recursive(3, 24, 4, |inner| {
        let body = prop::collection::vec(inner, 1..4);
        let e = expression().boxed();
        prop_oneof![
            (e.clone(), body.clone()).prop_map(|(x, b)| Stmt::Block(format!("if {x}:"), b)),
            (e.clone(), body.clone()).prop_map(|(x, b)| Stmt::Block(format!("for q in {x}:"), b)),
            (e.clone(), body.clone())
                .prop_map(|(x, b)| Stmt::Block(format!("while {x}:  # pragma: no mutate"), b)),
            (e.clone(), body.clone()).prop_map(|(x, b)| Stmt::Block(format!("with {x} as q:"), b)),
            (body.clone(), body.clone(), body.clone()).prop_map(|(t, x, f)| Stmt::Blocks(vec![
                ("try:".into(), t),
                ("except ValueError as err:".into(), x),
                ("finally:".into(), f),
            ])),
            (e.clone(), body.clone(), body.clone()).prop_map(|(c, t, f)| Stmt::Blocks(vec![
                (format!("if {c}:"), t),
                ("else:".into(), f),
            ])),
            body.clone()
                .prop_map(|b| Stmt::Block("def inner(q=1 + 1, *, k: int = 2) -> int:".into(), b)),
            body.clone().prop_map(|b| Stmt::Block("class Inner(Base, metaclass=M):".into(), b)),
            (e, prop::collection::vec((prop::sample::select(PATTERNS), body), 2..4)).prop_map(
                |(x, cases)| {
                    let cases = cases
                        .into_iter()
                        .map(|(pattern, b)| Stmt::Block(format!("case {pattern}:"), b))
                        .collect();
                    Stmt::Block(format!("match {x}:"), cases)
                }
            ),
        ]
    })
}

/// Where a statement stands, for those Python allows only in some places.
#[derive(Clone, Copy)]
struct Context {
    in_loop: bool,
    in_class: bool,
}

fn render(statements: &[Stmt], indent: &str, unit: &str, at: Context, out: &mut String) {
    let block = |header: &str, body: &[Stmt], out: &mut String| {
        out.push_str(indent);
        out.push_str(header);
        out.push('\n');
        let inner = match header.split_whitespace().next() {
            Some("for" | "while") => Context { in_loop: true, in_class: false },
            Some("def") => Context { in_loop: false, in_class: false },
            Some("class") => Context { in_loop: false, in_class: true },
            _ => at,
        };
        render(body, &format!("{indent}{unit}"), unit, inner, out);
    };
    for statement in statements {
        match statement {
            Stmt::Line(line) => {
                let first = line.split_whitespace().next().unwrap_or_default();
                let misplaced = (!at.in_loop && matches!(first, "break" | "continue"))
                    || (at.in_class && (first == "return" || line.contains("yield")));
                for part in line.lines() {
                    out.push_str(indent);
                    out.push_str(if misplaced { "pass" } else { part });
                    out.push('\n');
                }
            }
            Stmt::Block(header, body) => block(header, body, out),
            Stmt::Blocks(clauses) => {
                for (header, body) in clauses {
                    block(header, body, out);
                }
            }
        }
    }
}

#[rustfmt::skip]
const HEADERS: &[&str] = &[
    "def f(a, b=1, *rest, k, **kw):", "async def f(a, /, b):", "@decorator(1 + 1)\ndef f(self):",
    "def f(a: int = 2, *, b: 'T' = None) -> 'T':",
];

/// A module of functions, methods and top-level code, indented by spaces
/// or by tabs.
fn module() -> impl Strategy<Value = Vec<u8>> {
    let function = (prop::sample::select(HEADERS), prop::collection::vec(statement(), 1..5));
    (
        prop::sample::select(&["    ", "\t", "  "][..]),
        any::<bool>(),
        prop::collection::vec((function, any::<bool>()), 1..3),
        prop::sample::select(
            &["", "def g(): return 1 + 1\n", "def h(): \"doc\"; return 'x'\n"][..],
        ),
    )
        .prop_map(|(unit, future, functions, inline)| {
            let mut out = String::new();
            if future {
                out.push_str("\"\"\"Module.\"\"\"\nfrom __future__ import annotations\n");
            }
            for ((header, body), in_class) in functions {
                let indent = if in_class {
                    out.push_str("class C(Base):\n");
                    unit
                } else {
                    ""
                };
                for line in header.lines() {
                    out.push_str(indent);
                    out.push_str(line);
                    out.push('\n');
                }
                let at = Context { in_loop: false, in_class: false };
                render(&body, &format!("{indent}{unit}"), unit, at, &mut out);
            }
            out.push_str(inline);
            out.into_bytes()
        })
}

/// Python's tokens, for text that is almost Python.
#[rustfmt::skip]
const DICTIONARY: &[&str] = &[
    "def ", "async ", "class ", "lambda", ":", "(", ")", "[", "]", "{", "}", ",", ".", "=", "+=",
    "\n", "    ", "\t", "return ", "yield ", "await ", "if ", "else", "for ", " in ", "not ",
    "is ", "and ", "or ", "match ", "case ", "break", "continue", "1", "0x", "1e400", "j", "'",
    "\"", "'''", "f'", "b'", "r'", "\\", "\\N{", "# pragma: no mutate", "@", "*", "**", "-", "~",
    "x", "self", "deepcopy", "len(", "dict(", "import ", "from ", "__future__", "\r\n", "#",
    "try:", "except", "with ", "global ", "nonlocal ", "del ", "->", ";",
];

#[test]
fn any_source_gives_an_analysis_or_a_located_syntax_error() {
    let inputs = prop_oneof![
        1 => any_bytes(256),
        3 => tokens(DICTIONARY, 60),
        3 => edited("python", &["def f(a, b):\n    return a + b\n"]),
    ];
    fuzz("python", 1500, inputs, analyses_or_locates);
}

#[test]
fn mutants_of_generated_python_compile() {
    fuzz("python_compile", 200, module(), mutants_of_valid_code_compile);
}
