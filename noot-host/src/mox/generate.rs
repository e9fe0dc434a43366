//! `noot mox generate-test`: one test module per fixture that replays it
//! strictly and checks every recorded output.
//!
//! Modules go only under a `__generated__` folder of the project's tests
//! folder: `tests/__generated__/test_<name>.py` for a Python project (with
//! an `__init__.py`), `tests/__generated__/<name>.rs` with a `main.rs` that
//! declares them for a Cargo project (cargo finds `tests/*/main.rs` as the
//! test target `__generated__`, so no manifest is touched). Each module
//! starts with a header naming the fixture, its BLAKE3 digest and the
//! generator version; a module whose header matches is fresh and not
//! rewritten (`--force` rewrites all). Modules are built on the engine's
//! scheduler (`--jobs`), checked before they are written (Python: `ast`
//! parses it and it defines the test; Rust: `syn` parses it and it has the
//! `#[test] fn`), and written atomically; an invalid one is reported and not
//! written.
//!
//! A Python module needs only the `noot` binary: its test runs `noot mox
//! replay --fixture F -- python3 THIS_FILE --replay`, and the file, run that
//! way, makes each recorded call and compares the outputs. A Rust module
//! uses the `noot-mox` crate (a dev-dependency of the project).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use noot_mox::fixture::{Fixture, Recording};
use serde::Serialize;

use crate::engine::digest::Digest;
use crate::engine::ports::{PathKind, Ports};
use crate::engine::procs::{ProcStatus, SpawnRequest};
use crate::engine::scheduler::{self, JobGraph};

/// Bumped whenever the generated code changes, so modules regenerate.
pub const GENERATOR_VERSION: u32 = 1;
/// The only folder generated modules are written to.
pub const GENERATED_DIR: &str = "__generated__";

/// The language of the generated tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// pytest modules.
    Python,
    /// Cargo integration tests.
    Rust,
}

impl Lang {
    /// Rust when the project root has a `Cargo.toml` with a `[package]`
    /// (a virtual workspace has no test target of its own), else Python.
    pub fn detect(root: &Path, ports: &Ports) -> Self {
        let manifest = root.join("Cargo.toml");
        let is_package = ports.fs.kind(&manifest) == Some(PathKind::File)
            && ports.fs.read(&manifest).is_ok_and(|t| {
                String::from_utf8_lossy(&t).lines().any(|l| l.trim() == "[package]")
            });
        if is_package { Self::Rust } else { Self::Python }
    }
}

/// What to generate.
#[derive(Clone)]
pub struct Request {
    /// The project root (paths in modules are relative to it).
    pub root: PathBuf,
    /// The tests folder (`tests`), relative to the root.
    pub tests_dir: PathBuf,
    /// The fixtures.
    pub fixtures: Vec<PathBuf>,
    /// Python or Rust.
    pub lang: Lang,
    /// Modules built at once.
    pub jobs: usize,
    /// Rewrite fresh modules too.
    pub force: bool,
    /// The Python interpreter that checks Python modules.
    pub python: String,
    /// The scrubbers: a fixture they would still change is refused.
    pub scrubber: Option<std::sync::Arc<dyn noot_mox::scrubbing::FixtureScrubber>>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("fixtures", &self.fixtures)
            .field("lang", &self.lang)
            .finish_non_exhaustive()
    }
}

/// What happened to one fixture's module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Status {
    /// Written (new or stale).
    Written,
    /// Its header matched: left alone.
    Fresh,
    /// It failed its check and was not written.
    Invalid(String),
    /// The fixture could not be read.
    BadFixture(String),
}

/// One module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Module {
    /// The fixture.
    pub fixture: PathBuf,
    /// The module file.
    pub path: PathBuf,
    /// The test it defines.
    pub test: String,
    /// What happened.
    #[serde(flatten)]
    pub status: Status,
}

/// Names a module may not take: `main` is the test target's, the others
/// are Rust or Python keywords.
const RESERVED: [&str; 24] = [
    "main", "mod", "type", "fn", "use", "crate", "self", "super", "struct", "enum", "impl",
    "trait", "match", "loop", "where", "async", "await", "dyn", "move", "ref", "static", "const",
    "import", "init",
];

/// The module name for a fixture: its file stem as an identifier, made
/// unique among `all` by a short digest of its path when two stems clash.
pub fn module_name(fixture: &Path, all: &[PathBuf]) -> String {
    let base = |path: &Path| {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let mut name: String = stem
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
            .collect();
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            name.insert(0, 'f');
        }
        if RESERVED.contains(&name.as_str()) {
            name.push_str("_fixture");
        }
        name
    };
    let name = base(fixture);
    if all.iter().filter(|other| base(other) == name).count() > 1 {
        let digest = Digest::of(fixture.to_string_lossy().as_bytes()).short();
        format!("{name}_{}", &digest[..8])
    } else {
        name
    }
}

fn header(comment: &str, fixture: &str, digest: &Digest) -> String {
    format!(
        "{comment} @generated by noot mox generate-test (generator {GENERATOR_VERSION}) from {fixture}; fixture blake3 {digest}\n{comment} Do not edit: change or re-record the fixture, then run `noot mox generate-test`.\n"
    )
}

/// Generates every module; the report lists each.
pub fn generate(ports: &Ports, request: &Request) -> Result<Vec<Module>, String> {
    let dir = request.root.join(&request.tests_dir).join(GENERATED_DIR);
    ports.fs.create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // A symlinked tests or __generated__ folder could point anywhere.
    let real = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
    let root =
        request.root.canonicalize().map_err(|e| format!("{}: {e}", request.root.display()))?;
    if real != root.join(&request.tests_dir).join(GENERATED_DIR) {
        return Err(format!(
            "{} resolves to {}, through a symlink: noot writes generated tests only into a real {GENERATED_DIR} folder inside the project",
            dir.display(),
            real.display()
        ));
    }
    let mut graph = JobGraph::new();
    for fixture in &request.fixtures {
        graph.add_job(ports.fs.len(fixture).unwrap_or(1));
    }
    let stop = AtomicBool::new(false);
    let results = scheduler::run(&graph, request.jobs, &stop, |job| {
        one(ports, request, &dir, &request.fixtures[job])
    })
    .map_err(|e| e.to_string())?;
    let modules: Vec<Module> = results.into_iter().flatten().collect();
    let extra = match request.lang {
        Lang::Python => (
            "__init__.py",
            "# @generated by noot mox generate-test: marks the generated tests as a package.\n"
                .to_string(),
        ),
        Lang::Rust => ("main.rs", rust_main(ports, &dir)?),
    };
    let extra_path = dir.join(extra.0);
    if ports.fs.read(&extra_path).ok().as_deref() != Some(extra.1.as_bytes()) {
        ports
            .fs
            .replace_atomic(&extra_path, extra.1.as_bytes())
            .map_err(|e| format!("{}: {e}", extra_path.display()))?;
    }
    Ok(modules)
}

fn one(ports: &Ports, request: &Request, dir: &Path, fixture_path: &Path) -> Module {
    let name = module_name(fixture_path, &request.fixtures);
    let (path, test) = match request.lang {
        Lang::Python => (dir.join(format!("test_{name}.py")), format!("test_replays_{name}")),
        Lang::Rust => (dir.join(format!("{name}.rs")), format!("replays_{name}")),
    };
    let module = |status| Module {
        fixture: fixture_path.to_path_buf(),
        path: path.clone(),
        test: test.clone(),
        status,
    };
    // Never anywhere but the generated folder.
    if path.parent() != Some(dir) {
        return module(Status::Invalid(format!("{} is outside {}", path.display(), dir.display())));
    }
    let bytes = match ports.fs.read(fixture_path) {
        Ok(bytes) => bytes,
        Err(e) => return module(Status::BadFixture(format!("{}: {e}", fixture_path.display()))),
    };
    let fixture = match Fixture::parse(fixture_path, &bytes) {
        Ok((fixture, _)) => fixture,
        Err(e) => return module(Status::BadFixture(e.to_string())),
    };
    // Whatever a module asserts ends up in the tests folder: a fixture
    // the scrubbers would still change is refused, not copied.
    if let Some(scrubber) = &request.scrubber {
        let mut scrubbed = fixture.clone();
        let found = noot_mox::scrubbing::scrub_fixture(
            scrubber.as_ref(),
            &noot_mox::secrets::KnownSecrets::default(),
            &mut scrubbed,
        );
        if found.map_or(true, |f| !f.is_empty()) {
            return module(Status::BadFixture(format!(
                "{}: holds secrets the scrubbers would redact; run `noot mox scrub {}` first",
                fixture_path.display(),
                fixture_path.display()
            )));
        }
    }
    let digest = Digest::of(&bytes);
    let relative: PathBuf = fixture_path
        .strip_prefix(&request.root)
        .unwrap_or(fixture_path)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    let relative = relative.to_string_lossy().into_owned();
    if relative.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
        return module(Status::BadFixture(format!(
            "{relative:?}: a fixture path with quotes, backslashes or control characters cannot be written into a test"
        )));
    }
    let depth = request.tests_dir.components().count() + 1;
    let text = match request.lang {
        Lang::Python => python_module(
            &header("#", &relative, &digest),
            &relative,
            depth,
            &name,
            &fixture.recordings,
        ),
        Lang::Rust => {
            rust_module(&header("//", &relative, &digest), &relative, &name, &fixture.recordings)
        }
    };
    if !request.force {
        if let Ok(existing) = ports.fs.read(&path) {
            let first = |t: &[u8]| t.split(|b| *b == b'\n').next().map(<[u8]>::to_vec);
            if first(&existing) == first(text.as_bytes()) {
                return module(Status::Fresh);
            }
        }
    }
    let checked = match request.lang {
        Lang::Python => check_python(ports, &request.python, &text, &test),
        Lang::Rust => check_rust(&text, &test),
    };
    if let Err(why) = checked {
        return module(Status::Invalid(why));
    }
    match ports.fs.replace_atomic(&path, text.as_bytes()) {
        Ok(()) => module(Status::Written),
        Err(e) => module(Status::Invalid(format!("cannot write {}: {e}", path.display()))),
    }
}

/// A byte-string literal, `b"…"`, written the same way in Python and Rust:
/// printable ASCII as itself, quotes, backslashes and `\n \t \r` escaped,
/// every other byte as `\xNN`.
fn byte_literal(bytes: &[u8]) -> String {
    let mut out = String::from("b\"");
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// A recording's stdin, stdout and stderr as byte literals (the same in
/// both languages).
fn io_literals(r: &Recording) -> [String; 3] {
    let stdin = r.stdin.as_ref().map_or(&[][..], |s| s.as_slice());
    [byte_literal(stdin), byte_literal(r.stdout.as_slice()), byte_literal(r.stderr.as_slice())]
}

/// A Python `str` literal (JSON's escapes are Python's).
fn py_str(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

fn python_module(
    header: &str,
    fixture: &str,
    depth: usize,
    name: &str,
    recordings: &[Recording],
) -> String {
    let mut calls = String::new();
    for r in recordings {
        let argv: Vec<String> = std::iter::once(byte_literal(r.command.as_bytes()))
            .chain(r.args.iter().map(|a| byte_literal(a.as_slice())))
            .collect();
        let env: Vec<String> =
            r.env.iter().map(|(k, v)| format!("{}: {}", py_str(k), py_str(v))).collect();
        let [stdin, stdout, stderr] = io_literals(r);
        calls.push_str(&format!(
            "    ({seq}, [{argv}], {stdin}, {{{env}}}, {stdout}, {stderr}, {code}),\n",
            seq = r.sequence,
            argv = argv.join(", "),
            env = env.join(", "),
            code = r.exit_code,
        ));
    }
    format!(
        r#"{header}"""Replays {fixture} strictly and checks every recorded output."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[{depth}] / {fixture_str}

# (sequence, argv, stdin, environment, stdout, stderr, exit code)
CALLS = [
{calls}]


def _replay_each_call():
    """Run under `noot mox replay`: make each recorded call, compare."""
    failed = 0
    for sequence, argv, stdin, env, stdout, stderr, code in CALLS:
        result = subprocess.run(argv, input=stdin, capture_output=True, env={{**os.environ, **env}})
        got = (result.stdout, result.stderr, result.returncode)
        if got != (stdout, stderr, code):
            failed += 1
            print(f"recording {{sequence}}: expected {{(stdout, stderr, code)!r}}, got {{got!r}}", file=sys.stderr)
    sys.exit(1 if failed else 0)


def test_replays_{name}():
    noot = os.environ.get("NOOT_BIN") or shutil.which("noot")
    assert noot, "noot is not on PATH: install it with `cargo install --path noot-host` or set NOOT_BIN"
    result = subprocess.run(
        [noot, "mox", "replay", "--fixture", str(FIXTURE), "--", sys.executable, __file__, "--replay"],
        capture_output=True,
    )
    assert result.returncode == 0, result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")


if __name__ == "__main__" and sys.argv[1:] == ["--replay"]:
    _replay_each_call()
"#,
        fixture_str = py_str(fixture),
    )
}

fn rust_module(header: &str, fixture: &str, name: &str, recordings: &[Recording]) -> String {
    let mut calls = String::new();
    for r in recordings {
        let args: Vec<String> =
            r.args.iter().map(|a| format!("&{}[..]", byte_literal(a.as_slice()))).collect();
        let env: Vec<String> = r.env.iter().map(|(k, v)| format!("({k:?}, {v:?})")).collect();
        let [stdin, stdout, stderr] = io_literals(r);
        calls.push_str(&format!(
            "    check(&mox, {seq}, {command:?}, &[{args}], {stdin}, &[{env}], {stdout}, {stderr}, {code})?;\n",
            seq = r.sequence,
            command = r.command,
            args = args.join(", "),
            env = env.join(", "),
            code = r.exit_code,
        ));
    }
    format!(
        r#"{header}//! Replays `{fixture}` strictly and checks every recorded output.

use std::io::Write;
use std::process::Stdio;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/{fixture}");

#[test]
fn replays_{name}() -> Result<(), Box<dyn std::error::Error>> {{
    let mox = noot_mox::Mox::new()?;
    mox.replay(FIXTURE, noot_mox::Mode::Strict)?;
{calls}    mox.verify()?;
    Ok(())
}}

/// Makes one recorded call through its shim and compares the outputs.
#[allow(clippy::too_many_arguments)]
fn check(
    mox: &noot_mox::Mox,
    sequence: u64,
    command: &str,
    args: &[&[u8]],
    stdin: &[u8],
    env: &[(&str, &str)],
    stdout: &[u8],
    stderr: &[u8],
    code: i32,
) -> Result<(), Box<dyn std::error::Error>> {{
    use std::os::unix::ffi::OsStrExt;
    let mut child = mox
        .command(command)
        .args(args.iter().map(|a| std::ffi::OsStr::from_bytes(a)))
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child.stdin.take().ok_or("no stdin")?.write_all(stdin)?;
    let out = child.wait_with_output()?;
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice(), out.status.code()),
        (stdout, stderr, Some(code)),
        "recording {{sequence}} of {{FIXTURE}}"
    );
    Ok(())
}}
"#
    )
}

/// `main.rs` of the generated test target: every module in the folder.
fn rust_main(ports: &Ports, dir: &Path) -> Result<String, String> {
    let mut names: Vec<String> = ports
        .fs
        .read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .into_iter()
        .filter(|p| {
            p.extension().is_some_and(|e| e == "rs")
                && p.file_name().is_some_and(|n| n != "main.rs")
        })
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    let mut text = String::from(
        "// @generated by noot mox generate-test: the test target `__generated__`, one module per fixture.\n",
    );
    for name in names {
        text.push_str(&format!("mod {name};\n"));
    }
    Ok(text)
}

fn check_rust(text: &str, test: &str) -> Result<(), String> {
    let file =
        syn::parse_file(text).map_err(|e| format!("the generated module does not parse: {e}"))?;
    let defines = file.items.iter().any(|item| {
        matches!(item, syn::Item::Fn(f) if f.sig.ident == test && f.attrs.iter().any(|a| a.path().is_ident("test")))
    });
    if defines {
        Ok(())
    } else {
        Err(format!("the generated module does not define #[test] fn {test}"))
    }
}

fn check_python(ports: &Ports, python: &str, text: &str, test: &str) -> Result<(), String> {
    let script = "import ast, sys\ntree = ast.parse(sys.stdin.read())\nprint('\\n'.join(n.name for n in tree.body if isinstance(n, ast.FunctionDef)))\n";
    let request = SpawnRequest {
        program: python.to_string(),
        args: vec!["-c".into(), script.into()],
        stdin: Some(text.as_bytes().to_vec()),
        output_cap_bytes: 1 << 20,
        ..SpawnRequest::default()
    };
    let result = ports
        .procs
        .spawn(&request)
        .and_then(|h| ports.procs.wait(h, Some(30_000)))
        .map_err(|e| format!("cannot run {python} to check the module: {e}"))?;
    if result.status != ProcStatus::Exited(0) {
        return Err(format!(
            "the generated module does not parse: {}",
            String::from_utf8_lossy(&result.stderr).trim()
        ));
    }
    let names = String::from_utf8_lossy(&result.stdout);
    if names.lines().any(|n| n == test) {
        Ok(())
    } else {
        Err(format!("the generated module does not define {test}"))
    }
}

/// The command that runs the generated tests by path, from the root.
pub fn run_command(lang: Lang, modules: &[Module], python: &str) -> (String, Vec<String>) {
    match lang {
        Lang::Python => {
            let mut args = vec!["-m".to_string(), "pytest".to_string(), "-q".to_string()];
            args.extend(modules.iter().map(|m| m.path.display().to_string()));
            (python.to_string(), args)
        }
        Lang::Rust => {
            ("cargo".to_string(), vec!["test".into(), "--test".into(), GENERATED_DIR.into()])
        }
    }
}

/// Counts per status, for the summary.
pub fn counts(modules: &[Module]) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for m in modules {
        let key = match m.status {
            Status::Written => "written",
            Status::Fresh => "fresh",
            Status::Invalid(_) => "invalid",
            Status::BadFixture(_) => "bad_fixture",
        };
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_are_identifiers() {
        assert_eq!(module_name(Path::new("fixtures/Release-v1.json"), &[]), "release_v1");
        assert_eq!(module_name(Path::new("9lives.json"), &[]), "f9lives");
        assert_eq!(module_name(Path::new("main.json"), &[]), "main_fixture");
        let clash = [PathBuf::from("a/x.json"), PathBuf::from("b/X.json")];
        let (a, b) = (module_name(&clash[0], &clash), module_name(&clash[1], &clash));
        assert!(a.starts_with("x_") && b.starts_with("x_") && a != b, "{a} {b}");
    }

    #[test]
    fn byte_literals_escape_what_they_must() {
        assert_eq!(byte_literal(b"a\"\\\n\xff"), "b\"a\\\"\\\\\\n\\xff\"");
    }

    #[test]
    fn a_rust_module_parses_and_defines_its_test() {
        let recording = Recording {
            sequence: 1,
            command: "git".into(),
            args: vec!["status".into(), noot_mox::Bytes(vec![0xff, b'"'])],
            stdin: None,
            env: BTreeMap::from([("GIT_DIR".to_string(), ".git".to_string())]),
            stdout: "M a\n".into(),
            stderr: "".into(),
            exit_code: 0,
            timestamp: String::new(),
            duration_ms: 0,
            repeatable: false,
            extra: Default::default(),
        };
        let text =
            rust_module(&header("//", "f.json", &Digest::of(b"x")), "f.json", "f", &[recording]);
        check_rust(&text, "replays_f").expect("valid");
        assert_eq!(
            check_rust(&text, "replays_g"),
            Err("the generated module does not define #[test] fn replays_g".into())
        );
    }
}
