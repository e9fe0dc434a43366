//! The Rust analyser on small sources: what is mutated, how, and what is
//! left alone.

use super::*;

/// `(operator, original, replacement)` of every mutation of `key`.
fn mutations(source: &str, key: &str) -> Vec<(&'static str, String, String)> {
    let file = analyse(source, "m").expect("parses");
    let function = file
        .functions
        .iter()
        .find(|f| f.key == key)
        .unwrap_or_else(|| panic!("no {key} in {:?}", file.functions));
    function
        .mutations
        .iter()
        .map(|m| (m.operator, source[m.span.clone()].to_owned(), m.replacement.clone()))
        .collect()
}

fn replacements(source: &str, key: &str) -> Vec<String> {
    mutations(source, key).into_iter().map(|(_, _, r)| r).collect()
}

#[test]
fn a_body_is_replaced_by_values_of_its_return_type() {
    let source = "fn answer() -> u32 {\n    42\n}\n";
    assert_eq!(replacements(source, "m::answer"), ["{ 0 }", "{ 1 }"]);
    let file = analyse(source, "m").expect("parses");
    assert_eq!(file.functions[0].mutations[0].line, 1);
    assert_eq!(file.functions[0].body, 19..29);
}

#[test]
fn a_body_that_already_is_a_value_is_not_replaced_by_it() {
    assert_eq!(replacements("fn yes() -> bool { true }", "m::yes"), ["{ false }"]);
    assert!(
        replacements("fn v() -> Vec<u8> { Vec::with_capacity(n + 1) }", "m::v")
            .iter()
            .all(|r| r.starts_with("{ vec!")),
        "nothing inside with_capacity's arguments"
    );
}

#[test]
fn a_unit_function_is_emptied_unless_it_is_empty_already() {
    assert_eq!(replacements("fn log(x: u8) { println!(\"{x}\"); }", "m::log"), ["{ () }"]);
    assert!(replacements("fn nothing() {}", "m::nothing").is_empty());
}

#[test]
fn binary_operators_follow_cargo_mutants_table() {
    let source = "fn f(a: i32, b: i32) -> bool { a + b == 3 && a < b }";
    let ops: Vec<(String, String)> = mutations(source, "m::f")
        .into_iter()
        .filter(|(op, _, _)| *op == "binary_operator")
        .map(|(_, original, replacement)| (original, replacement))
        .collect();
    let expected =
        [("&&", "||"), ("==", "!="), ("+", "-"), ("+", "*"), ("<", "=="), ("<", ">"), ("<", "<=")];
    assert_eq!(
        ops,
        expected.map(|(a, b)| (a.to_owned(), b.to_owned())).to_vec(),
        "outermost first, never == to <="
    );
}

#[test]
fn compound_assignments_and_unary_operators() {
    let source =
        "fn f(mut t: i32, x: i32, done: bool) -> i32 { t += -x; if !done { t *= 2; t &= 1; } t }";
    let found = mutations(source, "m::f");
    let has = |op: &str, original: &str, replacement: &str| {
        found.iter().any(|(o, a, b)| *o == op && a == original && b == replacement)
    };
    assert!(has("assignment_operator", "+=", "-="), "{found:?}");
    assert!(has("assignment_operator", "+=", "*="), "{found:?}");
    assert!(has("assignment_operator", "*=", "/="), "{found:?}");
    assert!(has("assignment_operator", "&=", "|="), "{found:?}");
    assert!(!has("assignment_operator", "&=", "^="), "as cargo-mutants: {found:?}");
    assert!(has("delete_negation", "-x", "x"), "{found:?}");
    assert!(has("delete_not", "!done", "done"), "{found:?}");
}

#[test]
fn match_arms_go_only_beside_a_wildcard_and_guards_become_constants() {
    let source = "fn f(x: u8) -> u8 {\n    match x {\n        1 if x > 0 => 2,\n        3 => 4,\n        _ => 5,\n    }\n}\n";
    let found = mutations(source, "m::f");
    let deleted: Vec<&str> = found
        .iter()
        .filter(|(op, _, _)| *op == "delete_match_arm")
        .map(|(_, original, _)| original.as_str())
        .collect();
    assert_eq!(deleted, ["3 => 4,"], "a guarded arm gets its guard mutated instead");
    let guards: Vec<&str> = found
        .iter()
        .filter(|(op, _, _)| *op == "match_guard")
        .map(|(_, _, replacement)| replacement.as_str())
        .collect();
    assert_eq!(guards, ["true", "false"]);
    assert!(
        found.iter().any(|(op, a, _)| *op == "binary_operator" && a == ">"),
        "the guard's code"
    );
    let without_wildcard = "fn g(x: bool) -> u8 { match x { true => 1, false => 0 } }";
    assert!(
        !mutations(without_wildcard, "m::g").iter().any(|(op, _, _)| *op == "delete_match_arm")
    );
}

#[test]
fn struct_fields_are_deleted_only_with_a_base() {
    let source = "fn f(base: S) -> S { S { a: 1, b, ..base } }";
    let deleted: Vec<String> = mutations(source, "m::f")
        .into_iter()
        .filter(|(op, _, _)| *op == "delete_field")
        .map(|(_, original, _)| original)
        .collect();
    assert_eq!(deleted, ["a: 1,", "b,"]);
    let plain = "fn g() -> S { S { a: 1, b: 2 } }";
    assert!(!mutations(plain, "m::g").iter().any(|(op, _, _)| *op == "delete_field"));
}

#[test]
fn compile_time_code_macros_and_unsafe_blocks_are_left_alone() {
    let source = "fn f(x: usize) -> usize {\n    const N: usize = 2 + 2;\n    let a = [0u8; 3 + 1];\n    let (p, q) = (1, 2);\n    let v: [u8; 1 + 1] = [0, 1];\n    assert!(x == 1);\n    let y = unsafe { x + 1 };\n    x * 2\n}\n";
    let binary: Vec<String> = mutations(source, "m::f")
        .into_iter()
        .filter(|(op, _, _)| *op == "binary_operator")
        .map(|(_, original, _)| original)
        .collect();
    assert_eq!(binary, ["*", "*"], "only `x * 2` (twice: + and /)");
}

#[test]
fn skipped_functions_say_why() {
    let source = "\
const fn c() -> u8 { 1 + 1 }
unsafe fn u() -> u8 { 1 }
#[mutants::skip]
fn marked() -> u8 { 1 }
// noot: skip
#[inline]
fn commented() -> u8 { 1 }
#[test]
fn a_test() { assert_eq!(1 + 1, 2); }
#[tokio::test]
async fn async_test() {}
#[cfg(test)]
fn helper() -> u8 { 1 }
#[cfg(test)]
mod tests { fn inside() -> u8 { 1 } }
fn kept() -> u8 { 1 }
";
    let file = analyse(source, "").expect("parses");
    let keys: Vec<&str> = file.functions.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["kept"]);
    let reasons: Vec<(&str, &str)> =
        file.skipped.iter().map(|s| (s.key.as_str(), s.reason)).collect();
    assert_eq!(
        reasons,
        [
            ("c", "const fn: evaluated at compile time"),
            ("u", "unsafe fn"),
            ("marked", "#[mutants::skip]"),
            ("commented", "// noot: skip"),
            ("a_test", "a test function"),
            ("async_test", "a test function"),
            ("helper", "#[cfg(test)]"),
        ]
    );
}

#[test]
fn keys_follow_modules_impls_and_traits_and_repeats_are_numbered() {
    let source = "\
mod shapes {
    pub struct Circle<T>(T);
    impl<T> Circle<T> { pub fn area(&self) -> f64 { 1.0 } }
    impl<T> std::fmt::Display for Circle<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { Ok(()) }
    }
    trait Named { fn name(&self) -> String { String::new() } }
    fn outer() -> u8 { fn inner() -> bool { true } if inner() { 1 } else { 2 } }
    fn area() -> u8 { 0 }
}
fn dup() -> u8 { 1 }
";
    let file = analyse(source, "geo").expect("parses");
    let keys: Vec<&str> = file.functions.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "geo::shapes::Circle::area",
            "geo::shapes::Circle::fmt",
            "geo::shapes::Named::name",
            "geo::shapes::outer",
            "geo::shapes::outer::inner",
            "geo::shapes::area",
            "geo::dup",
        ]
    );
    let fmt = &file.functions[1];
    assert_eq!(fmt.mutations.len(), 1, "fmt::Result, as cargo-mutants: Ok(Default::default())");
    assert_eq!(fmt.mutations[0].replacement, "{ Ok(Default::default()) }");
}

#[test]
fn a_file_that_does_not_parse_names_the_place() {
    let error = analyse("fn f() -> u8 {\n    let = ;\n}\n", "m").expect_err("syntax error");
    assert_eq!(error.line, 2);
}

/// Part of noot's own sources, real code: every file parses, and the
/// mutants found splice back into source text that still parses (the
/// replacement and the span it takes agree on the syntax).
#[test]
fn every_file_of_this_workspace_parses_and_its_mutants_splice_cleanly() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let mut stack =
        vec![root.join("noot-host/src"), root.join("plugin-api/src"), root.join("plugins")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() && !path.ends_with("target") {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 30, "{}", files.len());
    let (mut functions, mut mutants) = (0, 0);
    for path in &files {
        let source = std::fs::read_to_string(path).expect("read");
        let file = analyse(&source, "m").unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        functions += file.functions.len();
        for function in &file.functions {
            // A sample: each splice parses the whole file again.
            let pick = functions % function.mutations.len().max(1);
            for mutation in function.mutations.iter().skip(pick).take(usize::from(mutants < 150)) {
                mutants += 1;
                let mut spliced = source.clone();
                spliced.replace_range(mutation.span.clone(), &mutation.replacement);
                let tree = parse(&spliced).expect("parses");
                assert!(
                    !tree.root_node().has_error(),
                    "{}:{}: {} `{}` → `{}`",
                    path.display(),
                    mutation.line,
                    mutation.operator,
                    &source[mutation.span.clone()],
                    mutation.replacement
                );
            }
        }
    }
    assert!(functions > 300 && mutants >= 150, "{functions} functions, {mutants} mutants sampled");
}
