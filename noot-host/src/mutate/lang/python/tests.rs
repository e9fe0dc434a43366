use super::*;

fn ops(source: &str) -> Vec<(String, &'static str, String)> {
    let module = analyse(source, "pkg.mod", false).expect("parses");
    module
        .functions
        .iter()
        .flat_map(|f| {
            f.mutations.iter().map(|m| (f.unit.key.clone(), m.operator, m.replacement.clone()))
        })
        .collect()
}

#[test]
fn operators_cover_mutmuts_set() {
    let source = "\
def f(a, b):
    \"\"\"Docstring is never mutated.\"\"\"
    x = a + 1
    y = not a
    if a is None and b in (1, 2):
        return a < b
    s = 'Hi'.lower()
    x += 2
    return len(a + 1)
";
    let found = ops(source);
    let names: Vec<&str> = found.iter().map(|(_, op, _)| *op).collect();
    assert_eq!(
        names,
        [
            "assign_none",
            "arithmetic_swap",
            "number_increment",
            "assign_none",
            "remove_not",
            "boolean_swap",
            "is_swap",
            "in_swap",
            "number_increment",
            "number_increment",
            "comparison_swap",
            "assign_none",
            "string_method_swap",
            "string_wrap",
            "string_case",
            "string_case",
            "augmented_swap",
            "augmented_to_assign",
            "number_increment",
        ]
    );
    assert!(found.iter().all(|(key, _, _)| key == "pkg.mod.f"));
}

#[test]
fn annotations_pragmas_and_len_are_left_alone() {
    let source = "\
def f(a: int = 1) -> int:
    x: List[int] = []
    y = 2  # pragma: no mutate
    if a:  # pragma: no mutate
        z = 3
    # pragma: no mutate start
    w = 4
    # pragma: no mutate end
    return isinstance(a, int)
";
    let found = ops(source);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].2, "None");
}

#[test]
fn methods_get_qualified_keys_and_duplicates_a_suffix() {
    let source = "\
class A:
    @property
    def p(self):
        return 1
    @p.setter
    def p(self, v):
        self._p = v + 1
    class B:
        async def m(self):
            return 2
";
    let module = analyse(source, "m", false).expect("parses");
    let keys: Vec<&str> = module.functions.iter().map(|f| f.unit.key.as_str()).collect();
    assert_eq!(keys, ["m.A.p", "m.A.p~2", "m.A.B.m"]);
    assert_eq!(module.functions[1].unit.slug, "p__d2");
}

#[test]
fn the_mutated_module_keeps_the_original_and_adds_variants() {
    let source = "\
\"\"\"Module doc.\"\"\"
from __future__ import annotations

def add(a, b=1, *rest, k, **kw):
    \"\"\"Adds.\"\"\"
    return a + b

def gen(n): yield n + 1
";
    let module = analyse(source, "pkg.calc", false).expect("parses");
    let written = mutated_source(source, &module).expect("something to mutate");
    assert!(
        written
            .contains("from __future__ import annotations\n\nimport _noot_runtime as _noot_rt\n")
    );
    assert!(written.contains(
        "def _noot_add__1(a, b=1, *rest, k, **kw):\n    \"\"\"Adds.\"\"\"\n    return a - b\n"
    ));
    assert!(written.contains(
        "    \"\"\"Adds.\"\"\"\n    if _noot_rt.FUNC == 'pkg.calc.add': return globals()[_noot_rt.NAME](a, b, *rest, k=k, **kw)\n"
    ));
    assert!(written.contains("return (yield from globals()[_noot_rt.NAME](n))"));
    assert!(written.contains("def gen(n): \n    if _noot_rt.FUNC"), "{written}");
}

#[test]
fn numbers_increment_like_python() {
    use operators::increment_number;
    assert_eq!(increment_number("41").as_deref(), Some("42"));
    assert_eq!(increment_number("0x1F").as_deref(), Some("32"));
    assert_eq!(increment_number("1_000").as_deref(), Some("1001"));
    assert_eq!(increment_number("1.5").as_deref(), Some("2.5"));
    assert_eq!(increment_number("1e3").as_deref(), Some("1001.0"));
    assert_eq!(increment_number("2j").as_deref(), Some("3.0j"));
}

#[test]
fn relative_imports_resolve() {
    let module = analyse("from . import a\nfrom ..b import c\nimport x.y as z\n", "p.q.r", false)
        .expect("parses");
    assert_eq!(module.imports, ["p.b", "p.b.c", "p.q", "p.q.a", "x.y"]);
}

#[test]
fn syntax_errors_are_located() {
    let error = analyse("def f(:\n    pass\n", "m", false).expect_err("does not parse");
    assert_eq!(error.line, 1);
}

#[test]
fn the_code_digest_ignores_comments_and_layout_but_not_structure() {
    let digest = |source: &str| analyse(source, "m", false).expect("parses").code_digest;
    let base = digest("def f(a):\n    if a:\n        g()\n    h()\n");
    assert_eq!(base, digest("# a note\ndef f(a):  # why\n\n    if a:\n        g()\n    h()\n"));
    assert_eq!(base, digest("def f(a):\n  if a:\n    g()\n  h()\n"));
    // The same tokens, h() moved into the block: different behaviour.
    assert_ne!(base, digest("def f(a):\n    if a:\n        g()\n        h()\n"));
    assert_ne!(base, digest("def f(a):\n    if a:\n        g()\n    h(1)\n"));
    assert_ne!(base, digest("def f(a):\n    '''Doc.'''\n    if a:\n        g()\n    h()\n"));
    // Escapes live in nodes of their own; the text around them must count.
    assert_ne!(digest("x = 'abc\\n'\n"), digest("x = 'xyz\\n'\n"));
}

#[test]
fn deepcopy_is_swapped_where_it_is_read_and_break_only_where_return_compiles() {
    let source = "\
def f(items):
    deepcopy = copy.deepcopy
    def g():
        nonlocal deepcopy
        return deepcopy(items)
    for x in items:
        class Inner:
            for y in items:
                break
        break
    return g
";
    let found = ops(source);
    let swaps: Vec<&str> = found
        .iter()
        .filter(|(_, op, _)| *op == "deepcopy_to_copy" || *op == "break_to_return")
        .map(|(_, op, _)| *op)
        .collect();
    // `copy.deepcopy` and the call are reads; the binding, the `nonlocal`
    // and the class body's `break` are left alone.
    assert_eq!(swaps, ["deepcopy_to_copy", "deepcopy_to_copy", "break_to_return"], "{found:?}");
}

#[test]
fn a_line_continuation_in_a_call_is_no_argument() {
    let source = "def f(g):\n    return g(1, \\\n             2)\n";
    let found = ops(source);
    assert!(found.iter().all(|(_, _, replacement)| !replacement.contains('\\')), "{found:?}");
    let drops: Vec<&str> = found
        .iter()
        .filter(|(_, op, _)| *op == "argument_drop")
        .map(|(_, _, r)| r.as_str())
        .collect();
    assert_eq!(drops, ["(2)", "(1)"]);
}

#[test]
fn the_runtime_import_follows_a_docstring_after_comments_and_future_imports() {
    let source = "#!/usr/bin/env python3\n# c\n\n\"\"\"Doc.\"\"\"\n\nfrom __future__ import annotations\n\ndef f(x):\n    return x + 1\n";
    let module = analyse(source, "m", false).expect("parses");
    let written = mutated_source(source, &module).expect("mutants");
    assert!(
        written
            .contains("from __future__ import annotations\n\nimport _noot_runtime as _noot_rt\n"),
        "{written}"
    );
}

#[test]
fn no_return_in_except_star_and_the_runtime_import_after_a_future_import_s_semicolon() {
    let source = "def f(xs):\n    try:\n        pass\n    except* ValueError:\n        for x in xs:\n            break\n";
    assert!(ops(source).iter().all(|(_, op, _)| *op != "break_to_return"));
    let source = "from __future__ import annotations; import os\n\ndef f(x):\n    return x + 1\n";
    let module = analyse(source, "m", false).expect("parses");
    let written = mutated_source(source, &module).expect("mutants");
    assert!(
        written.starts_with(
            "from __future__ import annotations; import _noot_runtime as _noot_rt\nimport os\n"
        ),
        "{written}"
    );
}
