//! `noot mox record | replay | scrub | validate`: fixtures of real commands.
//!
//! `record` runs a command with passthrough spies on the named commands and
//! saves every call, scrubbed by the `[scrub] scrubbers`, to one fixture;
//! `replay` runs a command with a fixture answering those commands (plus a
//! scenario's doubles, if given) and verifies like `run`; `scrub` re-scrubs
//! committed fixtures after rules change (exit 1 if that changed any, for
//! CI); `validate` checks fixture files (exit 1 on any bad one).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::cli::mox_cmd::{Recording, run_and_report, scenario, start, start_recording};
use crate::cli::{CliError, Context, Format, Outcome, interrupt};
use crate::mox::fixtures::{PipelineScrubber, expand, rescrub, validate};
use crate::mox::run::{Ended, run_command};
use crate::mox::scenario::Scenario;

#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// The fixture to write (replaced atomically at the end).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
    /// A command to record (repeatable): its calls pass through to the real one.
    #[arg(long = "cmd", value_name = "NAME", required = true)]
    commands: Vec<String>,
    /// Also write FILE.review.json: every redaction by rule, field, recording and offset.
    #[arg(long)]
    review: bool,
    /// An environment variable every recording keeps (repeatable; never a secret).
    #[arg(long = "env", value_name = "NAME")]
    env: Vec<String>,
    /// The command to run and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The fixture whose recordings answer.
    #[arg(long, value_name = "FILE")]
    fixture: PathBuf,
    /// Match on command and arguments only; the best fit of stdin and environment wins.
    #[arg(long, conflicts_with = "strict")]
    fuzzy: bool,
    /// Match command, arguments, stdin and the recorded environment (the default).
    #[arg(long)]
    strict: bool,
    /// Doubles besides the fixture (they answer first).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// The command to run and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct ScrubArgs {
    /// Fixtures to re-scrub in place.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Fixture files or globs (quote them: 'fixtures/**/*.json').
    #[arg(required = true, value_name = "PATTERN")]
    patterns: Vec<String>,
}

pub(crate) fn record(context: &Context, args: RecordArgs) -> Result<Outcome, CliError> {
    if let Some(secret) = args.env.iter().find(|name| noot_mox::secrets::is_secret_name(name)) {
        return Err(CliError::Usage(format!(
            "--env {secret}: the name looks like a secret's, and recordings never keep those"
        )));
    }
    let interrupted = interrupt::install();
    let mox = start_recording(
        context,
        &Scenario::default(),
        Recording { review: args.review, env: args.env },
    )?;
    // Who recorded: the command, without its arguments (they may hold a token).
    let program =
        args.command.first().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    mox.set_recorded_by(format!("noot mox record -- {program}"));
    for command in &args.commands {
        mox.try_double(noot_mox::DoubleKind::Spy, command)
            .map_err(|e| CliError::Usage(e.to_string()))?
            .passthrough()
            .record(&args.output);
    }
    let ended = run_command(&mox, &args.command, context.format == Format::Json, interrupted);
    context.ports.procs.kill_all();
    let ended = ended.map_err(CliError::Usage)?;
    if ended == Ended::Interrupted {
        // Nothing is written: the previous fixture, if any, stays whole.
        context.err("noot mox record: interrupted; the fixture was not written");
        mox.close();
        return Ok(Outcome { code: interrupt::exit_code() });
    }
    let calls = mox.journal().len();
    let outcome = mox.verify();
    let fixture = noot_mox::fixture::Fixture::load(&args.output).ok().map(|(f, _)| f);
    let (recordings, redactions) =
        fixture.as_ref().map_or((0, 0), |f| (f.recordings.len(), f.scrubbing.redactions));
    if let Err(e) = &outcome {
        context.err(&e.to_string());
    }
    if fixture.is_none() && calls == 0 {
        context.err(&format!(
            "noot mox record: no call of {} was made; nothing written to {}",
            args.commands.join(", "),
            args.output.display()
        ));
    }
    if context.format == Format::Json {
        context.out_json(&json!({
            "schema_version": noot_mox::report::REPORT_SCHEMA_VERSION,
            "fixture": args.output,
            "recordings": recordings,
            "redactions": redactions,
            "review": args.review.then(|| noot_mox::scrubbing::review_path(&args.output)),
            "ok": outcome.is_ok(),
        }));
    } else if fixture.is_some() {
        context.out(&format!(
            "recorded {recordings} call{} to {} ({redactions} secret{} redacted)\n",
            if recordings == 1 { "" } else { "s" },
            args.output.display(),
            if redactions == 1 { "" } else { "s" }
        ));
    }
    mox.close();
    let code = match (ended, outcome) {
        (_, Err(_)) => 1,
        (Ended::Exited(code), Ok(())) => code.clamp(0, 255) as u8,
        (Ended::Interrupted, _) => interrupt::exit_code(),
    };
    Ok(Outcome { code })
}

pub(crate) fn replay(context: &Context, args: ReplayArgs) -> Result<Outcome, CliError> {
    let scenario = scenario(context, args.scenario.as_deref())?;
    let interrupted = interrupt::install();
    let mox = start(context, &scenario)?;
    let mode = if args.fuzzy { noot_mox::Mode::Fuzzy } else { noot_mox::Mode::Strict };
    mox.replay(&args.fixture, mode).map_err(|e| CliError::Usage(e.to_string()))?;
    run_and_report(context, mox, &args.command, interrupted)
}

pub(crate) fn scrub(context: &Context, args: ScrubArgs) -> Result<Outcome, CliError> {
    let config = context.config()?;
    let registry = context.registry(&config)?;
    let scrubber = PipelineScrubber(crate::scrub::ScrubPipeline::from_config(
        &registry,
        &config,
        &context.ports,
    )?);
    let mut results = Vec::new();
    let mut errors = Vec::new();
    // A review file is a fixture's companion, not a fixture: `fixtures/*.json` names both.
    for file in args.files.iter().filter(|f| !noot_mox::scrubbing::is_review(f)) {
        match rescrub(file, &scrubber) {
            Ok(result) => results.push(result),
            Err(e) => errors.push(e.to_string()),
        }
    }
    for error in &errors {
        context.err(&format!("error: {error}"));
    }
    let changed = results.iter().filter(|r| r.redactions > 0).count();
    if context.format == Format::Json {
        context.out_json(&json!({
            "schema_version": noot_mox::report::REPORT_SCHEMA_VERSION,
            "changed": changed,
            "fixtures": results,
        }));
    } else {
        for r in &results {
            let line = if r.redactions == 0 {
                format!("{}: clean\n", r.path.display())
            } else {
                let rules: Vec<String> =
                    r.by_rule.iter().map(|(rule, n)| format!("{rule} ×{n}")).collect();
                format!(
                    "{}: {} secret(s) redacted ({})\n",
                    r.path.display(),
                    r.redactions,
                    rules.join(", ")
                )
            };
            context.out(&line);
        }
    }
    Ok(Outcome { code: if !errors.is_empty() { 2 } else { u8::from(changed > 0) } })
}

pub(crate) fn validate_files(context: &Context, args: ValidateArgs) -> Result<Outcome, CliError> {
    let cwd = context.ports.env.current_dir().map_err(|e| CliError::Usage(e.to_string()))?;
    let files = expand(&args.patterns, &cwd).map_err(CliError::Usage)?;
    let results = validate(&files);
    let bad = results.iter().filter(|r| r.error.is_some()).count();
    if context.format == Format::Json {
        context.out_json(&json!({
            "schema_version": noot_mox::report::REPORT_SCHEMA_VERSION,
            "bad": bad,
            "files": results,
        }));
    } else {
        for r in &results {
            match (&r.error, &r.format) {
                (Some(error), _) => context.out(&format!("{error}\n")),
                (None, Some(format)) => context.out(&format!(
                    "{}: ok ({format}, {} recordings)\n",
                    r.path.display(),
                    r.recordings
                )),
                (None, None) => {}
            }
        }
    }
    Ok(Outcome { code: u8::from(bad > 0) })
}

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Fixtures to generate a test module for.
    #[arg(required = true, value_name = "FIXTURE")]
    fixtures: Vec<PathBuf>,
    /// The language of the tests [default: rust with a Cargo.toml in the project root, else python].
    #[arg(long, value_enum)]
    lang: Option<GenerateLang>,
    /// The tests folder, relative to the project root; modules go to its __generated__ folder.
    #[arg(long, value_name = "DIR", default_value = "tests")]
    tests_dir: PathBuf,
    /// Regenerate every module, fresh or not.
    #[arg(long)]
    force: bool,
    /// Then run the generated tests by path and exit with their code.
    #[arg(long)]
    run: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum GenerateLang {
    /// pytest modules.
    Python,
    /// Cargo integration tests (the project needs noot-mox as a dev-dependency).
    Rust,
}

pub(crate) fn generate_tests(context: &Context, args: GenerateArgs) -> Result<Outcome, CliError> {
    use crate::mox::generate::{Lang, Request, Status, counts, generate, run_command};
    let config = context.config()?;
    let cwd = context.ports.env.current_dir().map_err(|e| CliError::Usage(e.to_string()))?;
    if args.tests_dir.is_absolute() || args.tests_dir.components().any(|c| c.as_os_str() == "..") {
        return Err(CliError::Usage(format!(
            "--tests-dir {}: give a folder inside the project, such as tests",
            args.tests_dir.display()
        )));
    }
    let lang = match args.lang {
        Some(GenerateLang::Python) => Lang::Python,
        Some(GenerateLang::Rust) => Lang::Rust,
        None => Lang::detect(&config.root, &context.ports),
    };
    let request = Request {
        root: config.root.clone(),
        tests_dir: args.tests_dir.clone(),
        fixtures: args
            .fixtures
            .iter()
            .filter(|f| !noot_mox::scrubbing::is_review(f))
            .map(|f| cwd.join(f))
            .collect(),
        lang,
        jobs: config.jobs,
        force: args.force,
        python: config.mutate.python.clone(),
        scrubber: {
            let registry = context.registry(&config)?;
            let pipeline =
                crate::scrub::ScrubPipeline::from_config(&registry, &config, &context.ports)?;
            Some(std::sync::Arc::new(PipelineScrubber(pipeline)))
        },
    };
    let modules = generate(&context.ports, &request).map_err(CliError::Usage)?;
    let bad = modules
        .iter()
        .filter(|m| matches!(m.status, Status::Invalid(_) | Status::BadFixture(_)))
        .count();
    if context.format == Format::Json {
        context.out_json(&json!({
            "schema_version": noot_mox::report::REPORT_SCHEMA_VERSION,
            "lang": lang,
            "counts": counts(&modules),
            "modules": modules,
        }));
    } else {
        for m in &modules {
            let relative =
                m.path.strip_prefix(&config.root).unwrap_or(&m.path).display().to_string();
            let line = match &m.status {
                Status::Written => format!("wrote {relative} ({})", m.test),
                Status::Fresh => format!("fresh {relative}"),
                Status::Invalid(why) => format!("invalid {relative}: {why} (not written)"),
                Status::BadFixture(why) => format!("skipped {}: {why}", m.fixture.display()),
            };
            context.out(&format!("{line}\n"));
        }
    }
    if bad > 0 {
        return Ok(Outcome { code: 1 });
    }
    if !args.run {
        return Ok(Outcome { code: 0 });
    }
    let (program, run_args) = run_command(lang, &modules, &request.python);
    context.err(&format!("noot mox generate-test: running {program} {}", run_args.join(" ")));
    let mut command = std::process::Command::new(&program);
    command.args(&run_args).current_dir(&config.root);
    // The generated Python tests find noot through NOOT_BIN, and the Rust
    // ones the shim launcher through NOOT_SHIM: this noot's.
    if std::env::var_os("NOOT_BIN").is_none() {
        if let Ok(exe) = std::env::current_exe() {
            command.env("NOOT_BIN", exe);
        }
    }
    if std::env::var_os(noot_mox::shims::LAUNCHER_ENV).is_none() {
        if let Ok(launcher) = crate::mox::backend::launcher() {
            command.env(noot_mox::shims::LAUNCHER_ENV, launcher);
        }
    }
    let status =
        command.status().map_err(|e| CliError::Usage(format!("cannot run {program}: {e}")))?;
    Ok(Outcome { code: status.code().map_or(1, |c| c.clamp(0, 255) as u8) })
}
