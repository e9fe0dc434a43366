//! The schemata of a small program, compiled once with rustc, behave under
//! every `NOOT_MUTANT=N` exactly like that one mutant applied by hand and
//! compiled alone (the way cargo-mutants builds it), and like the original
//! under `NOOT_MUTANT=0`.

use std::path::Path;
use std::process::Command;

use super::*;

const PROGRAM: &str = r#"
struct S { a: i32, b: i32 }

fn double(x: i32) -> i32 { x * 2 }

fn is_big(x: i32) -> bool { x > 10 && !(x == 99) }

fn pick(x: u8) -> u8 {
    match x {
        1 => 10,
        2 if x > 1 => 20,
        _ => 0,
    }
}

fn build(base: S) -> S { S { a: 7, ..base } }

fn bump(mut t: i32) -> i32 {
    t += -3;
    t
}

fn label(n: u32) -> String {
    if n == 0 { "none".to_string() } else { format!("{n}") }
}

fn main() {
    let built = build(S { a: 1, b: 2 });
    println!(
        "{} {} {} {} {} {} {} {} {}",
        double(5), is_big(20), is_big(99), pick(1), pick(2), built.a, built.b, bump(10), label(3)
    );
}
"#;

fn rustc(source: &str, dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    let file = dir.join(format!("{name}.rs"));
    std::fs::write(&file, source).expect("write");
    let binary = dir.join(name);
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .args(["--edition", "2021", "-A", "warnings", "-o"])
        .arg(&binary)
        .arg(&file)
        .output()
        .expect("rustc runs");
    out.status.success().then_some(binary)
}

fn run(binary: &Path, mutant: u32) -> String {
    let out = Command::new(binary).env("NOOT_MUTANT", mutant.to_string()).output().expect("runs");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), out.status)
}

#[test]
fn every_switch_behaves_like_its_mutant_built_alone() {
    let file = super::super::analyse(PROGRAM, "").expect("parses");
    let mutations: Vec<&Mutation> = file.functions.iter().flat_map(|f| &f.mutations).collect();
    let operators: std::collections::BTreeSet<&str> =
        mutations.iter().map(|m| m.operator).collect();
    for wanted in [
        "replace_body",
        "binary_operator",
        "assignment_operator",
        "delete_not",
        "delete_negation",
        "delete_match_arm",
        "match_guard",
        "delete_field",
    ] {
        assert!(operators.contains(wanted), "the program has no {wanted} mutant");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // Each mutant built alone, as cargo-mutants builds it; one that does
    // not compile (`Default::default()` for a type without Default) is
    // unviable and stays out of the schemata, as the build loop will do.
    let alone: Vec<Option<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = mutations
            .iter()
            .enumerate()
            .map(|(index, mutation)| {
                let dir = dir.path();
                scope.spawn(move || {
                    let mut spliced = PROGRAM.to_owned();
                    spliced.replace_range(mutation.span.clone(), &mutation.replacement);
                    rustc(&spliced, dir, &format!("m{index}")).map(|b| run(&b, 0))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("joins")).collect()
    });
    let viable: Vec<(&Mutation, &String)> =
        mutations.iter().zip(&alone).filter_map(|(m, out)| Some((*m, out.as_ref()?))).collect();
    assert!(viable.len() + 3 >= mutations.len(), "{} of {} viable", viable.len(), mutations.len());
    let switched: Vec<Switched<'_>> = viable
        .iter()
        .enumerate()
        .map(|(index, (mutation, _))| Switched { number: index as u32 + 1, mutation })
        .collect();
    let runtime = runtime(switched.len() as u32 + 1, false);
    let schemata = format!("{}{runtime}", write(PROGRAM, &switched).expect("written"));
    let built = rustc(&schemata, dir.path(), "schemata")
        .unwrap_or_else(|| panic!("the schemata do not compile:\n{schemata}"));
    let original = rustc(PROGRAM, dir.path(), "original").expect("the original compiles");
    assert_eq!(run(&built, 0), run(&original, 0), "no mutant: the original's behaviour");
    let mut compared = 0;
    for (switch, (mutation, expected)) in switched.iter().zip(&viable) {
        assert_eq!(
            &run(&built, switch.number),
            *expected,
            "mutant {}: {} `{}` → `{}`",
            switch.number,
            mutation.operator,
            &PROGRAM[mutation.span.clone()],
            mutation.replacement
        );
        compared += 1;
    }
    assert_eq!(compared, viable.len());
}
