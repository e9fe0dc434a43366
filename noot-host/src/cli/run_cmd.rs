//! `noot run`: mutation testing of a Python project or a Rust crate.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use clap::Args;

use crate::cli::{CliError, Context, Format, Outcome, interrupt};
use crate::config::ConfigError;
use crate::engine::process_bound::{self, Bound};
use crate::mutate::cargo_mutants_lists;
use crate::mutate::report::{FileScore, RunReport};
use crate::mutate::results::Status;
use crate::mutate::session::{self, CargoOptions, RunError, RunRequest};

pub(crate) const EXAMPLES: &str = "\
Examples:
  noot run                          mutate the package, test each mutant with the tests that reach it
  noot run --runner inprocess       warm pytest workers, one fork per mutant (what auto picks when it can)
  noot run --runner subprocess      a fresh pytest process per mutant (slowest, shares nothing)
  noot run --fail-under 80          exit 1 if the score is below 80 %
  noot run calc.core.add            only the mutants of one function (id prefix or glob)
  noot run --debug calc.core.add__noot_3   print the command that reproduces a mutant
  noot run --force                  re-test everything, ignoring stored results
  noot run --list                   generate the mutants (and .noot/mutants/), list them, run nothing
  cargo noot run --cargo-mutants-out mutants.out   a crate, with cargo-mutants' caught/missed lists

Results are stored in .noot/mutate/ as they arrive: Ctrl-C and run again to
resume; after an edit only mutants whose function, module code (comments
and layout aside), imported project modules or tests changed run again
(in a crate: whose function, the functions their tests reach, or code
outside mutated function bodies changed).
In a Cargo project: -p NAME mutates one member; --features, --all-features
and --no-default-features go to cargo; doc examples run as tests.
Then: noot results --status survived, noot show ID, noot report.
Score = (killed + timeout) / (killed + timeout + survived + no_tests).
Exit 0 done (and score >= --fail-under), 1 score below --fail-under,
2 configuration or baseline problems, 130 after Ctrl-C, 143 after SIGTERM.";

/// Arguments of `noot run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Only these mutants: an id, an id prefix (a module or function), or a glob.
    #[arg(value_name = "MUTANT")]
    filters: Vec<String>,

    /// The runner: auto, inprocess, subprocess or a plugin's [default: [mutate] runner, else auto].
    ///
    /// auto runs the whole suite once in children forked from a warm worker:
    /// if it passes there, mutants run warm (inprocess), else each in a
    /// fresh process (subprocess); the summary says which and why.
    #[arg(long, value_name = "NAME")]
    runner: Option<String>,

    /// Re-test every mutant and re-run the stats, reusing nothing.
    #[arg(long)]
    force: bool,

    /// Exit 1 if the score (0-100) is below this.
    #[arg(long, value_name = "SCORE")]
    fail_under: Option<f64>,

    /// Print each mutant's reproduction command (stderr) before running it.
    #[arg(long)]
    debug: bool,

    /// Generate the mutants and write .noot/mutants/, list them, run nothing.
    #[arg(long)]
    list: bool,

    /// Also write cargo-mutants' lists into DIR: caught.txt, missed.txt
    /// (survivors and mutants no test reaches), timeout.txt, unviable.txt.
    #[arg(long, value_name = "DIR")]
    cargo_mutants_out: Option<std::path::PathBuf>,

    /// Rust: mutate only this workspace member (repeatable); the tests of
    /// every member still run against its mutants.
    #[arg(long = "package", short = 'p', value_name = "NAME")]
    packages: Vec<String>,

    /// Rust: build with these cargo features (comma-separated or repeated).
    #[arg(long, value_name = "FEATURES", value_delimiter = ',')]
    features: Vec<String>,

    /// Rust: build with every feature of every member.
    #[arg(long)]
    all_features: bool,

    /// Rust: build without the default features.
    #[arg(long)]
    no_default_features: bool,
}

/// `RunError` → the CLI's error, keeping location and help.
pub(crate) fn cli_error(error: RunError) -> CliError {
    match error {
        RunError::Setup { location, message, help } => {
            CliError::Config(ConfigError { location, message, help })
        }
        RunError::Registry(e) => CliError::Registry(e),
        other => CliError::Usage(other.to_string()),
    }
}

pub(crate) fn run(context: &Context, args: RunArgs) -> Result<Outcome, CliError> {
    if let Some(score) = args.fail_under {
        if !(0.0..=100.0).contains(&score) {
            return Err(CliError::Usage(format!(
                "--fail-under {score}: a score is between 0 and 100"
            )));
        }
    }
    let config = context.config()?;
    let registry = context.registry(&config)?;
    let jobs = if context.overrides.jobs.is_some() || context.ports.env.var("NOOT_JOBS").is_some() {
        config.jobs
    } else {
        config.mutate.jobs.unwrap_or(config.jobs)
    };
    let request = RunRequest {
        force: args.force,
        runner: args.runner.clone(),
        jobs,
        filters: args.filters.clone(),
        debug: args.debug,
        cargo: CargoOptions {
            packages: args.packages.clone(),
            features: args.features.clone(),
            all_features: args.all_features,
            no_default_features: args.no_default_features,
        },
    };
    if args.list {
        let listed = session::list(&config, &request, &context.ports).map_err(cli_error)?;
        match context.format {
            Format::Json => context.out_json(&listed),
            Format::Human => {
                let mut out = String::new();
                for m in &listed.mutants {
                    out.push_str(&format!(
                        "{}  {}:{}  {}  `{}` → `{}`\n",
                        m.id,
                        m.file,
                        m.line,
                        m.operator,
                        one_line(&m.original),
                        one_line(&m.replacement)
                    ));
                }
                for f in &listed.skipped_functions {
                    out.push_str(&format!(
                        "skipped {}  {}:{}  {}\n",
                        f.function, f.file, f.line, f.reason
                    ));
                }
                out.push_str(&format!(
                    "{} mutants in {} files ({} lines), generated in {} ms\n",
                    listed.mutants.len(),
                    listed.files,
                    listed.lines,
                    listed.elapsed_ms
                ));
                context.out(&out);
            }
        }
        return Ok(Outcome { code: 0 });
    }
    // Before the first test process: every process the run starts is born
    // under the bound.
    let _bound = (config.mutate.max_processes > 0).then(|| {
        let bound = process_bound::apply(config.mutate.max_processes);
        match &bound {
            Bound::Unbounded(why) => context.err(&format!(
                "warning: a fork bomb in a test or a mutant would not be bounded: {why} \
                 (`[mutate] max_processes = 0` turns the bound and this warning off)"
            )),
            bound if context.verbose => context.err(&bound.describe()),
            _ => {}
        }
        bound
    });
    let stop = interrupt::install();
    let report = match session::run(&config, &registry, &context.ports, &request, stop) {
        Ok(report) => report,
        Err(RunError::Interrupted) => {
            context.err("interrupted during the stats run: nothing was tested yet");
            return Ok(Outcome { code: interrupt::exit_code() });
        }
        Err(e) => return Err(cli_error(e)),
    };
    // An interrupted run's lists would lack the mutants not run yet, and
    // replace complete ones: they are written only for a finished run.
    if let Some(dir) = &args.cargo_mutants_out {
        if stop.load(Ordering::SeqCst) {
            context.err(&format!(
                "interrupted: {} left as it was (run again to finish, then the lists are written)",
                dir.display()
            ));
        } else {
            cargo_mutants_lists::write(dir, &report).map_err(|e| {
                CliError::Usage(format!("--cargo-mutants-out {}: {e}", dir.display()))
            })?;
        }
    }
    match context.format {
        Format::Json => context.out_json(&report),
        Format::Human => context.out(&render_summary(&report, "noot run")),
    }
    if stop.load(Ordering::SeqCst) {
        context.err("interrupted: finished results are saved; run `noot run` again to resume");
        return Ok(Outcome { code: interrupt::exit_code() });
    }
    let below = match (args.fail_under, report.summary.counts.score) {
        (Some(threshold), Some(score)) => score < threshold,
        (Some(_), None) => false,
        (None, _) => false,
    };
    if below {
        context.err(&format!(
            "score {:.1}% is below --fail-under {}",
            report.summary.counts.score.unwrap_or(0.0),
            args.fail_under.unwrap_or(0.0)
        ));
    }
    Ok(Outcome { code: u8::from(below) })
}

/// The human summary: counts, score, and the survivors by file.
pub(crate) fn render_summary(report: &RunReport, title: &str) -> String {
    let s = &report.summary;
    let c = &s.counts;
    let mut out = String::new();
    out.push_str(&format!(
        "{title} · runner {} · {} mutants ({} tested, {} reused) in {:.1} s\n\n",
        report.runner,
        c.total,
        s.tested,
        s.reused,
        s.duration_ms as f64 / 1000.0
    ));
    if !s.runner_reason.is_empty() {
        out.push_str(&format!("  runner: {} ({})\n", report.runner, s.runner_reason));
    }
    if !s.interpreter.is_empty() {
        out.push_str(&format!("  python: {}\n", s.interpreter));
    }
    if !s.runner_reason.is_empty() || !s.interpreter.is_empty() {
        out.push('\n');
    }
    for (label, count) in [
        ("killed", c.killed),
        ("survived", c.survived),
        ("no tests", c.no_tests),
        ("timeout", c.timeout),
        ("error", c.error),
        ("skipped", c.skipped),
        ("unviable", c.unviable),
    ] {
        // Only a compiled language's mutants can fail to build.
        if label == "unviable" && count == 0 {
            continue;
        }
        out.push_str(&format!("  {label:<9}{count:>6}\n"));
    }
    match c.score {
        Some(score) => out.push_str(&format!(
            "  score    {score:>5.1}%  (killed + timeout) / (killed + timeout + survived + no tests)\n"
        )),
        None => out.push_str("  score        -   (nothing to score)\n"),
    }
    if !report.files.is_empty() {
        out.push('\n');
        out.push_str(&render_file_table(&report.files));
    }
    for (status, heading) in [
        (Status::Survived, "Survived"),
        (Status::NoTests, "Not reached by any test"),
        (Status::Timeout, "Timed out"),
        (Status::Error, "Errors"),
    ] {
        let mut by_file: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for m in report.mutants.iter().filter(|m| m.status == status) {
            let mut line = format!(
                "    {}:{}  {}  {}  `{}` → `{}`",
                m.line,
                m.column,
                m.id,
                m.operator,
                one_line(&m.original),
                one_line(&m.replacement)
            );
            if status == Status::Error {
                line.push_str(&format!("  ({})", one_line(&m.detail)));
            }
            by_file.entry(&m.file).or_default().push(line);
        }
        if by_file.is_empty() {
            continue;
        }
        let count: usize = by_file.values().map(Vec::len).sum();
        out.push_str(&format!("\n{heading} ({count}):\n"));
        for (file, lines) in by_file {
            out.push_str(&format!("  {file}\n"));
            for line in lines {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    if c.survived + c.no_tests > 0 {
        out.push_str("\nSee a mutant: noot show ID · list them: noot results --status survived\n");
    }
    out
}

/// Per source file: mutants, each status and the score, worst score first,
/// in aligned columns (`error` and `skipped` only when some file has one).
pub(crate) fn render_file_table(files: &[FileScore]) -> String {
    let mut headers = vec!["file", "mutants", "killed", "survived", "timeout", "no tests"];
    let with_errors = files.iter().any(|f| f.counts.error > 0);
    let with_skipped = files.iter().any(|f| f.counts.skipped > 0);
    if with_errors {
        headers.push("error");
    }
    if with_skipped {
        headers.push("skipped");
    }
    headers.push("score");
    let rows: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            let c = &f.counts;
            let mut row = vec![
                f.file.clone(),
                c.total.to_string(),
                c.killed.to_string(),
                c.survived.to_string(),
                c.timeout.to_string(),
                c.no_tests.to_string(),
            ];
            if with_errors {
                row.push(c.error.to_string());
            }
            if with_skipped {
                row.push(c.skipped.to_string());
            }
            row.push(c.score.map_or_else(|| "-".to_owned(), |s| format!("{s:.1}%")));
            row
        })
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .chain([headers[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut text = String::from(" ");
        for (i, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[i].saturating_sub(cell.chars().count()));
            // The file name reads left to right; numbers line up on the right.
            if i == 0 {
                text.push_str(&format!(" {cell}{pad}"));
            } else {
                text.push_str(&format!("  {pad}{cell}"));
            }
        }
        text.trim_end().to_owned() + "\n"
    };
    let mut out = String::from("Per file, worst score first:\n");
    out.push_str(&line(&headers.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

/// The first line of a snippet, shortened.
fn one_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut shown: String = first.chars().take(60).collect();
    if shown.len() < first.len() || text.contains('\n') {
        shown.push('…');
    }
    shown
}
