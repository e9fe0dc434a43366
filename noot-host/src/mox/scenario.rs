//! Scenario files: the doubles of `noot mox run` and `noot mox serve`,
//! declared in TOML, validated with the file:line:column of every mistake.
//!
//! ```toml
//! [[mock]]
//! command = "git"
//! args = ["push", { regex = "^v\\d" }]   # values, or comparators
//! stdin = { contains = "token" }           # a value or a comparator
//! env = { GIT_DIR = "/repo" }              # must not be contradicted; injected
//! stdout = "pushed\n"                      # or stdout_file = "out.bin"
//! exit_code = 0
//! times = 1                                # or at_least = 1, or never = true
//! ordered = true                           # take part in the order check
//!
//! [[stub]]
//! command = "date"
//! run = ["sh", "-c", "echo now"]           # a handler: its output is the answer
//!
//! [[spy]]
//! command = "printf"
//! passthrough = true
//! ```
//!
//! Comparator tables: `{ any = true }`, `{ is_a = "int" | "float" | "bool" |
//! "path" }`, `{ regex = "…" }`, `{ contains = "…" }`, `{ starts_with = "…" }`,
//! `{ equals = "…" }`. Ordered doubles are checked in the order they appear
//! in the file, across `[[mock]]` and `[[spy]]` tables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use noot_mox::{Comparator, DoubleKind, Kind, Times};
use serde::Deserialize;
use toml::Spanned;

use crate::config::error::unknown_field_help;
use crate::config::{ConfigError, Location};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    #[serde(default)]
    stub: Vec<Spanned<DoubleTable>>,
    #[serde(default)]
    mock: Vec<Spanned<DoubleTable>>,
    #[serde(default)]
    spy: Vec<Spanned<DoubleTable>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DoubleTable {
    command: Spanned<String>,
    args: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    stdin: Option<Spanned<toml::Value>>,
    env: Option<Spanned<BTreeMap<String, String>>>,
    stdout: Option<Spanned<String>>,
    stderr: Option<Spanned<String>>,
    stdout_file: Option<Spanned<String>>,
    stderr_file: Option<Spanned<String>>,
    exit_code: Option<Spanned<i64>>,
    run: Option<Spanned<Vec<String>>>,
    run_timeout: Option<Spanned<f64>>,
    passthrough: Option<Spanned<bool>>,
    times: Option<Spanned<i64>>,
    at_least: Option<Spanned<i64>>,
    never: Option<Spanned<bool>>,
    ordered: Option<Spanned<bool>>,
}

/// How a declared double answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Canned output.
    Respond {
        /// Stdout bytes.
        stdout: Vec<u8>,
        /// Stderr bytes.
        stderr: Vec<u8>,
        /// Exit code.
        exit_code: i32,
    },
    /// Run this command (the call's arguments appended) and answer with its result.
    Run {
        /// The program and its first arguments.
        argv: Vec<String>,
        /// Seconds it may take.
        timeout_secs: f64,
        /// Where relative programs are found (the scenario's folder).
        base: PathBuf,
    },
    /// The real command.
    Passthrough,
}

/// One double, validated.
#[derive(Debug, Clone)]
pub struct DoubleDecl {
    /// Its kind.
    pub kind: DoubleKind,
    /// The command.
    pub command: String,
    /// Expected arguments.
    pub args: Option<Vec<Comparator>>,
    /// Expected stdin.
    pub stdin: Option<Comparator>,
    /// Variables not to contradict, injected.
    pub env: BTreeMap<String, String>,
    /// How it answers.
    pub answer: Answer,
    /// Its count, if one was given.
    pub times: Option<Times>,
    /// Whether it takes part in the order check.
    pub ordered: bool,
    /// Where it was declared.
    pub location: Location,
    offset: usize,
}

/// A validated scenario.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    /// The file.
    pub path: PathBuf,
    /// Every double, in file order.
    pub doubles: Vec<DoubleDecl>,
}

/// The default of `run_timeout`, in seconds.
pub const DEFAULT_RUN_TIMEOUT_SECS: f64 = 60.0;

struct Reader<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Reader<'_> {
    fn at(&self, offset: usize) -> Location {
        Location::in_file(self.path, self.text, offset)
    }

    fn error(&self, offset: usize, message: impl Into<String>, help: &str) -> ConfigError {
        ConfigError::at(self.at(offset), message).with_help(help)
    }
}

/// Parses and validates scenario `text` read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ConfigError> {
    let file: ScenarioFile = toml::from_str(text).map_err(|e| {
        let location = match e.span() {
            Some(span) => Location::in_file(path, text, span.start),
            None => Location::File { path: path.to_path_buf(), line: 1, column: 1 },
        };
        let message = e.message().trim().to_string();
        let help = unknown_field_help(&message).unwrap_or_else(|| {
            "see \"Command doubles\" in the README for the scenario format".into()
        });
        ConfigError::at(location, message).with_help(help)
    })?;
    let reader = Reader { path, text };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut doubles = Vec::new();
    for (kind, tables) in [
        (DoubleKind::Stub, &file.stub),
        (DoubleKind::Mock, &file.mock),
        (DoubleKind::Spy, &file.spy),
    ] {
        for table in tables {
            doubles.push(double(&reader, kind, table, &base)?);
        }
    }
    if doubles.is_empty() {
        return Err(ConfigError::at(
            Location::File { path: path.to_path_buf(), line: 1, column: 1 },
            "the scenario declares no doubles",
        )
        .with_help("add a [[mock]], [[stub]] or [[spy]] table with a `command`"));
    }
    doubles.sort_by_key(|d| d.offset);
    Ok(Scenario { path: path.to_path_buf(), doubles })
}

fn double(
    reader: &Reader<'_>,
    kind: DoubleKind,
    table: &Spanned<DoubleTable>,
    base: &Path,
) -> Result<DoubleDecl, ConfigError> {
    let offset = table.span().start;
    let t = table.get_ref();
    let command = t.command.get_ref().clone();
    noot_mox::shims::valid_command(&command).map_err(|why| {
        reader.error(
            t.command.span().start,
            why,
            "name the command as code calls it, such as \"git\"",
        )
    })?;
    let args = match &t.args {
        Some(list) => Some(
            list.get_ref()
                .iter()
                .enumerate()
                .map(|(i, value)| comparator(reader, value, &format!("args[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let stdin = t.stdin.as_ref().map(|v| comparator(reader, v, "stdin")).transpose()?;
    let env = t.env.as_ref().map(|e| e.get_ref().clone()).unwrap_or_default();
    let answer = answer(reader, kind, t, base)?;
    let times = times(reader, kind, t)?;
    let ordered = match &t.ordered {
        Some(v) if *v.get_ref() && kind == DoubleKind::Stub => {
            return Err(reader.error(
                v.span().start,
                "a stub cannot be ordered: stubs are never verified",
                "use [[mock]] for a call whose order matters",
            ));
        }
        Some(v) => *v.get_ref(),
        None => false,
    };
    Ok(DoubleDecl {
        kind,
        command,
        args,
        stdin,
        env,
        answer,
        times,
        ordered,
        location: reader.at(offset),
        offset,
    })
}

fn read_file(
    reader: &Reader<'_>,
    base: &Path,
    value: &Spanned<String>,
) -> Result<Vec<u8>, ConfigError> {
    let path = base.join(value.get_ref());
    std::fs::read(&path).map_err(|e| {
        reader.error(
            value.span().start,
            format!("cannot read {}: {e}", path.display()),
            "paths are relative to the scenario file's folder",
        )
    })
}

fn answer(
    reader: &Reader<'_>,
    kind: DoubleKind,
    t: &DoubleTable,
    base: &Path,
) -> Result<Answer, ConfigError> {
    let canned_key = [
        t.stdout.as_ref().map(|v| ("stdout", v.span().start)),
        t.stderr.as_ref().map(|v| ("stderr", v.span().start)),
        t.stdout_file.as_ref().map(|v| ("stdout_file", v.span().start)),
        t.stderr_file.as_ref().map(|v| ("stderr_file", v.span().start)),
        t.exit_code.as_ref().map(|v| ("exit_code", v.span().start)),
    ]
    .into_iter()
    .flatten()
    .next();
    let passthrough = t.passthrough.as_ref().filter(|p| *p.get_ref());
    if let Some(p) = passthrough {
        if kind != DoubleKind::Spy {
            return Err(reader.error(
                p.span().start,
                format!("passthrough is for spies, not a {}", kind.as_str()),
                "declare it as [[spy]] to run the real command and record it",
            ));
        }
    }
    let choices = [canned_key.is_some(), t.run.is_some(), passthrough.is_some()];
    if choices.iter().filter(|c| **c).count() > 1 {
        let offset = t.run.as_ref().map_or(t.command.span().start, |r| r.span().start);
        return Err(reader.error(
            offset,
            "a double answers one way: canned output (stdout/stderr/exit_code), `run`, or `passthrough`",
            "keep one of them",
        ));
    }
    if let (Some(timeout), None) = (&t.run_timeout, &t.run) {
        return Err(reader.error(
            timeout.span().start,
            "run_timeout without run: only a `run` handler has a timeout",
            "add run = [\"program\", \"args…\"] or remove run_timeout",
        ));
    }
    if let Some(run) = &t.run {
        if run.get_ref().is_empty() {
            return Err(reader.error(
                run.span().start,
                "run = []: needs a program",
                "such as run = [\"sh\", \"-c\", \"echo hi\"]",
            ));
        }
        let timeout_secs = match &t.run_timeout {
            Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) => {
                return Err(reader.error(
                    v.span().start,
                    format!("run_timeout = {}: must be a positive number of seconds", v.get_ref()),
                    "such as 30",
                ));
            }
            Some(v) => *v.get_ref(),
            None => DEFAULT_RUN_TIMEOUT_SECS,
        };
        return Ok(Answer::Run {
            argv: run.get_ref().clone(),
            timeout_secs,
            base: base.to_path_buf(),
        });
    }
    if passthrough.is_some() {
        return Ok(Answer::Passthrough);
    }
    if let (Some(a), Some(_)) = (&t.stdout, &t.stdout_file) {
        return Err(reader.error(a.span().start, "stdout and stdout_file both given", "keep one"));
    }
    if let (Some(a), Some(_)) = (&t.stderr, &t.stderr_file) {
        return Err(reader.error(a.span().start, "stderr and stderr_file both given", "keep one"));
    }
    let stdout = match (&t.stdout, &t.stdout_file) {
        (Some(text), _) => text.get_ref().as_bytes().to_vec(),
        (None, Some(file)) => read_file(reader, base, file)?,
        (None, None) => Vec::new(),
    };
    let stderr = match (&t.stderr, &t.stderr_file) {
        (Some(text), _) => text.get_ref().as_bytes().to_vec(),
        (None, Some(file)) => read_file(reader, base, file)?,
        (None, None) => Vec::new(),
    };
    let exit_code = match &t.exit_code {
        Some(v) => u8::try_from(*v.get_ref()).map(i32::from).map_err(|_| {
            reader.error(
                v.span().start,
                format!("exit_code = {}: must be 0 to 255", v.get_ref()),
                "an exit code is one byte",
            )
        })?,
        None => 0,
    };
    Ok(Answer::Respond { stdout, stderr, exit_code })
}

fn times(
    reader: &Reader<'_>,
    kind: DoubleKind,
    t: &DoubleTable,
) -> Result<Option<Times>, ConfigError> {
    let given: Vec<(usize, Times)> = [
        t.times
            .as_ref()
            .map(|v| count(reader, v, "times").map(|n| (v.span().start, Times::Exactly(n)))),
        t.at_least
            .as_ref()
            .map(|v| count(reader, v, "at_least").map(|n| (v.span().start, Times::AtLeast(n)))),
        t.never.as_ref().filter(|v| *v.get_ref()).map(|v| Ok((v.span().start, Times::Exactly(0)))),
    ]
    .into_iter()
    .flatten()
    .collect::<Result<_, _>>()?;
    match given.as_slice() {
        [] => Ok(None),
        [(offset, _)] if kind == DoubleKind::Stub => Err(reader.error(
            *offset,
            "a stub has no count: stubs are never verified",
            "use [[mock]] (or [[spy]]) for a call count that is checked",
        )),
        [(_, times)] => Ok(Some(*times)),
        [_, (offset, _), ..] => Err(reader.error(
            *offset,
            "give one of times, at_least and never",
            "times = N for exactly N calls, at_least = N for N or more, never = true for none",
        )),
    }
}

fn count(reader: &Reader<'_>, value: &Spanned<i64>, key: &str) -> Result<u64, ConfigError> {
    u64::try_from(*value.get_ref()).map_err(|_| {
        reader.error(
            value.span().start,
            format!("{key} = {}: must be 0 or more", value.get_ref()),
            "a number of calls",
        )
    })
}

const COMPARATOR_HELP: &str = "give a string, or one of { any = true }, { is_a = \"int\" }, { regex = \"…\" }, { contains = \"…\" }, { starts_with = \"…\" }, { equals = \"…\" }";

fn comparator(
    reader: &Reader<'_>,
    value: &Spanned<toml::Value>,
    what: &str,
) -> Result<Comparator, ConfigError> {
    let offset = value.span().start;
    let table = match value.get_ref() {
        toml::Value::String(text) => return Ok(Comparator::from(text.as_str())),
        toml::Value::Integer(n) => return Ok(Comparator::from(n.to_string())),
        toml::Value::Table(table) => table,
        other => {
            return Err(reader.error(
                offset,
                format!("{what}: a {} is not an argument", other.type_str()),
                COMPARATOR_HELP,
            ));
        }
    };
    let mut entries = table.iter();
    let (Some((key, inner)), None) = (entries.next(), entries.next()) else {
        return Err(reader.error(
            offset,
            format!("{what}: a comparator table has exactly one key"),
            COMPARATOR_HELP,
        ));
    };
    let text = || {
        inner.as_str().map(str::to_string).ok_or_else(|| {
            reader.error(offset, format!("{what}: `{key}` takes a string"), COMPARATOR_HELP)
        })
    };
    match key.as_str() {
        "any" if inner.as_bool() == Some(true) => Ok(Comparator::Any),
        "any" => Err(reader.error(offset, format!("{what}: write any = true"), COMPARATOR_HELP)),
        "is_a" => {
            let name = text()?;
            Kind::parse(&name).map(Comparator::IsA).ok_or_else(|| {
                reader.error(
                    offset,
                    format!("{what}: is_a = \"{name}\" is not a kind"),
                    "use \"int\", \"float\", \"bool\" or \"path\"",
                )
            })
        }
        "regex" => {
            let pattern = text()?;
            Comparator::regex(&pattern).map_err(|e| {
                let first = e.to_string().lines().last().unwrap_or_default().trim().to_string();
                reader.error(offset, format!("{what}: regex {pattern:?} is invalid: {first}"), "write a Rust regex (regex crate syntax); in TOML, '…' strings need no escaping of backslashes")
            })
        }
        "contains" => Ok(Comparator::Contains(text()?)),
        "starts_with" => Ok(Comparator::StartsWith(text()?)),
        "equals" => Ok(Comparator::from(text()?)),
        other => Err(reader.error(
            offset,
            format!("{what}: unknown comparator `{other}`"),
            COMPARATOR_HELP,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Scenario, ConfigError> {
        parse(Path::new("s.toml"), text)
    }

    #[test]
    fn the_issue_s_example_parses_as_written() {
        let scenario = parse_text(
            "[[mock]]\ncommand = \"git\"\nargs = [\"push\", \"origin\", \"main\"]\nstdout = \"pushed\\n\"\nexit_code = 0\ntimes = 1\n\n[[stub]]\ncommand = \"date\"\nstdout = \"2026-01-01\\n\"\n\n[[spy]]\ncommand = \"printf\"\npassthrough = true\n",
        )
        .expect("parses");
        let kinds: Vec<_> = scenario.doubles.iter().map(|d| (d.kind, d.command.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (DoubleKind::Mock, "git"),
                (DoubleKind::Stub, "date"),
                (DoubleKind::Spy, "printf")
            ]
        );
        assert_eq!(scenario.doubles[0].times, Some(Times::Exactly(1)));
        assert_eq!(scenario.doubles[2].answer, Answer::Passthrough);
    }

    #[test]
    fn comparators_come_from_tables() {
        let scenario = parse_text(
            "[[mock]]\ncommand = \"x\"\nargs = [{ any = true }, { is_a = \"int\" }, { regex = '^v\\d' }, { contains = \"a\" }, { starts_with = \"-\" }, 7]\nstdin = { contains = \"tok\" }\n",
        )
        .expect("parses");
        let shown: Vec<String> = scenario.doubles[0]
            .args
            .as_ref()
            .expect("args")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            vec![
                "Any()",
                "IsA(int)",
                "Regex(\"^v\\d\")",
                "Contains(\"a\")",
                "StartsWith(\"-\")",
                "'7'"
            ]
        );
    }

    #[test]
    fn mistakes_name_their_line_and_the_fix() {
        let cases = [
            (
                "[[mock]]\ncommand = \"git\"\ntimes = -1\n",
                "s.toml:3:9: times = -1: must be 0 or more",
            ),
            ("[[stub]]\ncommand = \"git\"\ntimes = 2\n", "s.toml:3:9: a stub has no count"),
            (
                "[[mock]]\ncommand = \"git\"\npassthrough = true\n",
                "s.toml:3:15: passthrough is for spies, not a mock",
            ),
            ("[[mock]]\ncommand = \"a/git\"\n", "s.toml:2:11: `a/git` is not a command name"),
            (
                "[[mock]]\ncommand = \"git\"\nargs = [{ regex = \"(\" }]\n",
                "s.toml:3:9: args[0]: regex \"(\" is invalid",
            ),
            (
                "[[mock]]\ncommand = \"git\"\nargs = [{ nope = 1 }]\n",
                "s.toml:3:9: args[0]: unknown comparator `nope`",
            ),
            (
                "[[mock]]\ncommand = \"git\"\nexit_code = 300\n",
                "s.toml:3:13: exit_code = 300: must be 0 to 255",
            ),
            ("[[mock]]\ncomand = \"git\"\n", "s.toml:2:1: unknown field `comand`"),
            (
                "[[mock]]\ncommand = \"git\"\nstdout = \"x\"\nrun = [\"true\"]\n",
                "a double answers one way",
            ),
            ("", "s.toml:1:1: the scenario declares no doubles"),
            (
                "[[stub]]\ncommand = \"git\"\nrun_timeout = 5\n",
                "s.toml:3:15: run_timeout without run",
            ),
        ];
        for (text, want) in cases {
            let err = parse_text(text).expect_err(want).to_string();
            assert!(err.contains(want), "{text:?}\n got: {err}\nwant: {want}");
            assert!(err.contains("help: "), "{err}");
        }
        let err = parse_text("[[mock]]\ncomand = \"git\"\n").expect_err("typo").to_string();
        assert!(err.contains("did you mean `command`?"), "{err}");
    }

    /// Mistakes in how a double answers or counts, each at its line with
    /// the fix.
    #[test]
    fn answer_and_count_mistakes_name_their_line_and_the_fix() {
        let cases = [
            (
                "[[stub]]\ncommand = \"git\"\nordered = true\n",
                "s.toml:3:11: a stub cannot be ordered: stubs are never verified",
            ),
            ("[[stub]]\ncommand = \"git\"\nrun = []\n", "s.toml:3:7: run = []: needs a program"),
            (
                "[[stub]]\ncommand = \"git\"\nrun = [\"true\"]\nrun_timeout = 0.0\n",
                "s.toml:4:15: run_timeout = 0: must be a positive number of seconds",
            ),
            (
                "[[mock]]\ncommand = \"git\"\nstdout = \"x\"\nstdout_file = \"out.txt\"\n",
                "s.toml:3:10: stdout and stdout_file both given",
            ),
            (
                "[[mock]]\ncommand = \"git\"\nstderr = \"x\"\nstderr_file = \"err.txt\"\n",
                "s.toml:3:10: stderr and stderr_file both given",
            ),
            (
                "[[mock]]\ncommand = \"git\"\ntimes = 1\nat_least = 2\n",
                "s.toml:4:12: give one of times, at_least and never",
            ),
        ];
        for (text, want) in cases {
            let err = parse_text(text).expect_err(want).to_string();
            assert!(err.starts_with(want), "{text:?}\n got: {err}\nwant: {want}");
            assert!(err.contains("help: "), "{err}");
        }
    }

    /// Comparator tables that cannot be read, each at its line with the
    /// forms that can.
    #[test]
    fn comparator_mistakes_name_their_line_and_the_fix() {
        let cases = [
            ("args = [true]", "s.toml:3:9: args[0]: a boolean is not an argument"),
            (
                "args = [{ contains = \"a\", regex = \"b\" }]",
                "s.toml:3:9: args[0]: a comparator table has exactly one key",
            ),
            ("args = [\"x\", { contains = 1 }]", "s.toml:3:14: args[1]: `contains` takes a string"),
            ("args = [{ any = false }]", "s.toml:3:9: args[0]: write any = true"),
            ("stdin = { is_a = \"str\" }", "s.toml:3:9: stdin: is_a = \"str\" is not a kind"),
        ];
        for (line, want) in cases {
            let text = format!("[[mock]]\ncommand = \"git\"\n{line}\n");
            let err = parse_text(&text).expect_err(want).to_string();
            assert!(err.starts_with(want), "{line}\n got: {err}\nwant: {want}");
            assert!(err.contains("help: "), "{err}");
        }
        let scenario = parse_text("[[mock]]\ncommand = \"git\"\nargs = [{ equals = \"{x}\" }]\n")
            .expect("parses");
        let args: Vec<String> =
            scenario.doubles[0].args.iter().flatten().map(ToString::to_string).collect();
        assert_eq!(args, ["'{x}'"], "equals matches the text as written");
    }

    /// `stdout_file` and `stderr_file` are read relative to the scenario's
    /// folder; a missing one is an error at its line.
    #[test]
    fn output_files_are_read_beside_the_scenario() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("out.bin"), b"\x00\xffbytes").expect("write");
        std::fs::write(dir.path().join("err.txt"), "warned\n").expect("write");
        let path = dir.path().join("s.toml");
        let scenario = parse(
            &path,
            "[[mock]]\ncommand = \"git\"\nstdout_file = \"out.bin\"\nstderr_file = \"err.txt\"\nexit_code = 3\n",
        )
        .expect("parses");
        assert_eq!(
            scenario.doubles[0].answer,
            Answer::Respond {
                stdout: b"\x00\xffbytes".to_vec(),
                stderr: b"warned\n".to_vec(),
                exit_code: 3
            }
        );
        for key in ["stdout_file", "stderr_file"] {
            let text = format!("[[mock]]\ncommand = \"git\"\n{key} = \"gone.txt\"\n");
            let err = parse(&path, &text).expect_err("missing").to_string();
            let want = format!(
                "{}:3:{}: cannot read {}: ",
                path.display(),
                key.len() + 4,
                dir.path().join("gone.txt").display()
            );
            assert!(err.starts_with(&want), "{err}");
            assert!(
                err.contains("help: paths are relative to the scenario file's folder"),
                "{err}"
            );
        }
    }

    /// A `run` handler keeps its program, its timeout (60 s unless given)
    /// and the scenario's folder to find relative programs in.
    #[test]
    fn a_run_handler_keeps_its_timeout_and_folder() {
        let path = Path::new("/project/doubles/s.toml");
        let scenario = parse(
            path,
            "[[stub]]\ncommand = \"date\"\nrun = [\"./now.sh\", \"-u\"]\nrun_timeout = 2.5\n[[stub]]\ncommand = \"uname\"\nrun = [\"echo\", \"Linux\"]\n",
        )
        .expect("parses");
        assert_eq!(
            scenario.doubles[0].answer,
            Answer::Run {
                argv: vec!["./now.sh".into(), "-u".into()],
                timeout_secs: 2.5,
                base: PathBuf::from("/project/doubles")
            }
        );
        assert!(matches!(
            &scenario.doubles[1].answer,
            Answer::Run { timeout_secs, .. } if *timeout_secs == DEFAULT_RUN_TIMEOUT_SECS
        ));
    }

    #[test]
    fn ordered_doubles_keep_file_order_across_kinds() {
        let scenario = parse_text(
            "[[spy]]\ncommand = \"b\"\nordered = true\n[[mock]]\ncommand = \"a\"\nordered = true\n",
        )
        .expect("parses");
        let order: Vec<&str> = scenario.doubles.iter().map(|d| d.command.as_str()).collect();
        assert_eq!(order, vec!["b", "a"]);
    }
}
