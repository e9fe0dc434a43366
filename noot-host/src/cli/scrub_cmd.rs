//! `noot scrub`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::Args;

use crate::cli::{CliError, Context, Format, Outcome};
use crate::scrub::{self, Input, ScrubError, ScrubPipeline, ScrubReport, ScrubRequest};

pub(crate) const EXAMPLES: &str = "\
Examples:
  noot scrub app.log                      print app.log with secrets redacted
  noot scrub --in-place fixtures/         rewrite changed files (atomically)
  noot scrub -L --in-place fixtures/      also what symbolic links in fixtures/ lead to
  cat dump.txt | noot scrub -             scrub stdin
  noot scrub --format json app.log        report (and scrubbed text) as JSON
  noot scrub --scrubber default --scrubber my-extra app.log

Each secret becomes <REDACTED:rule-id>; for URLs only the password goes.
Findings (rule, path, line, column; never the secret) go to stderr, or to
stdout with --in-place. Exit 1 if anything was found, 0 if clean, 2 on bad
input (a missing file, a broken link or a binary file named explicitly).

Symbolic links: a link named on the command line is followed, and
--in-place rewrites the file it leads to, keeping the link. Links met
while walking a folder are not followed (they may lead out of the tree or
back into it) and are listed as passed over; with -L/--follow they are,
each folder and file is scrubbed once, and a link back to a folder above
it (a loop) is passed over.";

/// Arguments of `noot scrub`.
#[derive(Debug, Args)]
pub struct ScrubArgs {
    /// Files or folders to scrub; `-` (or nothing, with piped input) reads stdin.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Rewrite changed files in place, atomically, instead of printing them.
    #[arg(long)]
    in_place: bool,

    /// Follow symbolic links met while walking folders (each folder and file once).
    #[arg(short = 'L', long)]
    follow: bool,

    /// Use this scrubber plugin (repeatable, applied in order) instead of [scrub] scrubbers.
    #[arg(long = "scrubber", value_name = "NAME")]
    scrubbers: Vec<String>,
}

pub(crate) fn run(context: &Context, args: ScrubArgs) -> Result<Outcome, CliError> {
    let mut overrides = context.overrides.clone();
    overrides.scrubbers = args.scrubbers.clone();
    let config =
        crate::config::load(context.ports.fs.as_ref(), context.ports.env.as_ref(), &overrides)?;
    let registry = context.registry(&config)?;
    let pipeline = ScrubPipeline::from_config(&registry, &config, &context.ports)?;
    let inputs = inputs(&args.paths)?;
    let request = ScrubRequest {
        inputs,
        in_place: args.in_place,
        follow_links: args.follow,
        jobs: config.jobs,
    };
    let report = scrub::run(&request, &pipeline, &context.ports).map_err(|e| match e {
        ScrubError::Registry(e) => CliError::Registry(e),
        other => CliError::Usage(other.to_string()),
    })?;
    render(context, &report);
    Ok(Outcome { code: if report.summary.findings > 0 { 1 } else { 0 } })
}

fn inputs(paths: &[PathBuf]) -> Result<Vec<Input>, CliError> {
    let read_stdin = || -> Result<Input, CliError> {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::Usage(format!("cannot read stdin: {e}")))?;
        Ok(Input::Stdin(bytes))
    };
    if paths.is_empty() {
        if std::io::stdin().is_terminal() {
            return Err(CliError::Usage(
                "nothing to scrub: name files or folders, or pipe text into `noot scrub -`".into(),
            ));
        }
        return Ok(vec![read_stdin()?]);
    }
    let mut inputs = Vec::new();
    let mut stdin_used = false;
    for path in paths {
        if path.as_os_str() == "-" {
            if stdin_used {
                return Err(CliError::Usage("`-` (stdin) can be named once".into()));
            }
            stdin_used = true;
            inputs.push(read_stdin()?);
        } else {
            inputs.push(Input::Path(path.clone()));
        }
    }
    Ok(inputs)
}

fn render(context: &Context, report: &ScrubReport) {
    if context.format == Format::Json {
        context.out_json(report);
        return;
    }
    let mut lines = Vec::new();
    for file in &report.files {
        for f in &file.findings {
            lines.push(format!(
                "{}:{}:{}: {} ({})",
                file.path, f.line, f.column, f.rule, f.scrubber
            ));
        }
    }
    let s = &report.summary;
    let summary = if s.findings == 0 {
        format!("noot scrub: no secrets found in {} file(s)", s.files)
    } else {
        let verb = if report.in_place { "redacted in place" } else { "redacted" };
        format!(
            "noot scrub: {} secret(s) {verb} in {} of {} file(s)",
            s.findings, s.files_with_findings, s.files
        )
    };
    let binaries = report.skipped.iter().filter(|skip| skip.reason == scrub::BINARY_FILE).count();
    let mut notes: Vec<String> = report
        .skipped
        .iter()
        .filter(|skip| skip.reason != scrub::BINARY_FILE)
        .map(|skip| format!("noot scrub: passed over {}: {}", skip.path, skip.reason))
        .collect();
    if binaries > 0 {
        notes.push(format!("noot scrub: {binaries} binary file(s) skipped"));
    }
    if report.in_place {
        // Say which file was written when it is not the one named.
        for file in report.files.iter().filter(|f| f.changed) {
            if let Some(target) = &file.link_target {
                lines.push(format!(
                    "noot scrub: {} is a symbolic link: wrote {target}, the link kept",
                    file.path
                ));
            }
        }
        // No text to print: the findings are the result.
        let mut out = lines.join("\n");
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&summary);
        out.push('\n');
        context.out(&out);
    } else {
        for file in &report.files {
            if let Some(text) = &file.scrubbed {
                context.out(text);
            }
        }
        for line in &lines {
            context.err(line);
        }
        context.err(&summary);
    }
    for note in &notes {
        context.err(note);
    }
}
