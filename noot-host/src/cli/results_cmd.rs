//! `noot results`, `noot show ID` and `noot report`: read what the last
//! `noot run` stored, without running anything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::builder::TypedValueParser as _;
use clap::{ArgGroup, Args};

use crate::cli::run_cmd::render_file_table;
use crate::cli::{CliError, Context, Format, Outcome};
use crate::config::Config;
use crate::engine::store::{Store, write_atomic};
use crate::mutate::report::{self, RunReport, SessionFile};
use crate::mutate::results::{ResultStore, Status};
use crate::mutate::session::STATE_DIR;
use crate::mutate::{diff, github, junit, stryker};

/// Arguments of `noot results`.
#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// Only mutants with this status (repeatable). Without it, a table of
    /// counts and score per file follows the list.
    #[arg(long, value_name = "STATUS", value_parser = status_parser())]
    status: Vec<Status>,
}

/// Arguments of `noot show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The mutant's id, as `noot results` lists it.
    #[arg(value_name = "ID")]
    id: String,

    /// Print the test output captured for it (survived, timeout, error)
    /// instead of the diff.
    #[arg(long)]
    output: bool,
}

/// Arguments of `noot report`.
#[derive(Debug, Args)]
#[command(
    after_long_help = REPORT_EXAMPLES,
    group(ArgGroup::new("output").required(true).multiple(true).args(["stryker", "junit", "github"]))
)]
pub struct ReportArgs {
    /// Write a Stryker mutation-testing-report-schema JSON file here, and next to it
    /// (FILE with .html) a single-file HTML view that works offline.
    #[arg(long, value_name = "FILE")]
    stryker: Option<PathBuf>,

    /// Write JUnit XML here: one test case per mutant, one suite per file;
    /// survived and no_tests mutants fail, errors are errors.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// Print GitHub Actions annotations (stdout) for survived and no_tests mutants.
    #[arg(long)]
    github: bool,

    /// With --github: only mutants on lines changed since the merge base of REF
    /// and HEAD (committed or not).
    #[arg(long, value_name = "REF", requires = "github")]
    changed_since: Option<String>,
}

const REPORT_EXAMPLES: &str = "\
Examples:
  noot report --stryker out/mutation.json    Stryker JSON + out/mutation.html (opens offline)
  noot report --junit out/mutation.xml       JUnit XML for GitHub, GitLab or Jenkins test reports
  noot report --github --changed-since origin/main
                                             annotate the survivors on the lines a PR changed

--github writes GitHub workflow commands to stdout (run it in a workflow
step); its paths are relative to the git repository's root. With
--changed-since, the base commit must be in the clone (actions/checkout
with fetch-depth: 0).";

/// `--status` takes the names the JSON uses, and `--help` lists them.
fn status_parser() -> impl clap::builder::TypedValueParser<Value = Status> {
    clap::builder::PossibleValuesParser::new(Status::NAMES).try_map(|name| name.parse::<Status>())
}

fn load(context: &Context) -> Result<(Config, RunReport), CliError> {
    let config = context.config()?;
    let state = config.root.join(STATE_DIR);
    let session: SessionFile = Store::new(context.ports.fs.as_ref())
        .load(&state.join("session.json"))
        .map_err(|e| CliError::Usage(e.to_string()))?
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no mutation results in {}: run `noot run` first",
                state.display()
            ))
        })?;
    let stored = ResultStore::new(context.ports.fs.as_ref(), &state)
        .load()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let report = report::build(
        &session.runner,
        &session.mutants,
        &stored.results,
        &BTreeSet::new(),
        session.skipped_functions,
    );
    Ok((config, report))
}

pub(crate) fn results(context: &Context, args: ResultsArgs) -> Result<Outcome, CliError> {
    let (_, mut report) = load(context)?;
    if !args.status.is_empty() {
        report.mutants.retain(|m| args.status.contains(&m.status));
    }
    match context.format {
        Format::Json => context.out_json(&report),
        Format::Human => {
            let mut out = String::new();
            for m in &report.mutants {
                out.push_str(&format!(
                    "{:<9} {}  {}:{}  {}\n",
                    m.status.name(),
                    m.id,
                    m.file,
                    m.line,
                    m.operator
                ));
            }
            if report.mutants.is_empty() {
                out.push_str("no mutants match\n");
            }
            // The whole run's table; a --status listing stays a plain list.
            if args.status.is_empty() && !report.files.is_empty() {
                out.push('\n');
                out.push_str(&render_file_table(&report.files));
            }
            context.out(&out);
        }
    }
    Ok(Outcome { code: 0 })
}

pub(crate) fn show(context: &Context, args: ShowArgs) -> Result<Outcome, CliError> {
    let (config, report) = load(context)?;
    let Some(mutant) = report.mutants.iter().find(|m| m.id == args.id) else {
        let ids: Vec<&str> = report.mutants.iter().map(|m| m.id.as_str()).collect();
        let hint = crate::config::error::closest(&args.id, &ids)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        return Err(CliError::Usage(format!(
            "no mutant `{}` in the last run{hint}; `noot results` lists them",
            args.id
        )));
    };
    if args.output {
        let state = config.root.join(STATE_DIR);
        let store = ResultStore::new(context.ports.fs.as_ref(), &state);
        let output = store.output(&mutant.id).ok_or_else(|| {
            CliError::Usage(format!(
                "no output kept for `{}` ({}): noot keeps the output of survived, timeout and error mutants",
                mutant.id,
                mutant.status.name()
            ))
        })?;
        match context.format {
            Format::Json => context.out_json(&serde_json::json!({
                "schema_version": report::REPORT_SCHEMA_VERSION,
                "id": mutant.id,
                "output": output,
            })),
            Format::Human => context.out(&output),
        }
        return Ok(Outcome { code: 0 });
    }
    let path = config.root.join(&mutant.file);
    let source = std::fs::read_to_string(&path)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let unified = diff::unified(&source, mutant).ok_or_else(|| {
        CliError::Usage(format!(
            "{} changed since the last `noot run`; run it again to see this mutant",
            mutant.file
        ))
    })?;
    match context.format {
        Format::Json => context.out_json(&serde_json::json!({
            "schema_version": report::REPORT_SCHEMA_VERSION,
            "mutant": mutant,
            "diff": unified,
        })),
        Format::Human => {
            context.out(&format!(
                "{}  {}  ({}: {})\n{unified}",
                mutant.id,
                mutant.operator,
                mutant.status.name(),
                mutant.detail
            ));
            if !mutant.tests_run.is_empty() {
                context.out(&format!("tests: {}\n", mutant.tests_run.join(" ")));
            }
            if mutant.whole_suite {
                context.out(
                    "then the whole suite, in a fresh import (the function runs at import time)\n",
                );
            }
            context.err(&format!("reproduce: noot run --debug {}", mutant.id));
        }
    }
    Ok(Outcome { code: 0 })
}

pub(crate) fn report_files(context: &Context, args: ReportArgs) -> Result<Outcome, CliError> {
    if args.github && context.format == Format::Json {
        return Err(CliError::Usage(
            "--github prints workflow commands on stdout and --format json one JSON document: \
             run `noot report` once for each"
                .to_owned(),
        ));
    }
    let (config, report) = load(context)?;
    let mut written = serde_json::Map::new();
    let mut said = String::new();
    if let Some(json_path) = &args.stryker {
        let document = stryker::document(&report, &config.root);
        let html_path = html_path_for(json_path);
        let text =
            serde_json::to_string_pretty(&document).map_err(|e| CliError::Usage(e.to_string()))?;
        write_file(json_path, text.as_bytes())?;
        write_file(&html_path, stryker::html(&document).as_bytes())?;
        said.push_str(&format!(
            "wrote {} ({} mutants) and {} (works offline)\n",
            json_path.display(),
            report.mutants.len(),
            html_path.display()
        ));
        written.insert("stryker".into(), json_path.display().to_string().into());
        written.insert("html".into(), html_path.display().to_string().into());
    }
    if let Some(path) = &args.junit {
        let xml =
            junit::document(&report, &|file| std::fs::read_to_string(config.root.join(file)).ok());
        write_file(path, xml.as_bytes())?;
        let failing = report
            .mutants
            .iter()
            .filter(|m| matches!(m.status, Status::Survived | Status::NoTests))
            .count();
        said.push_str(&format!(
            "wrote {} ({} test cases, {failing} failing)\n",
            path.display(),
            report.mutants.len()
        ));
        written.insert("junit".into(), path.display().to_string().into());
    }
    if args.github {
        let procs = context.ports.procs.as_ref();
        let prefix = match github::repo_prefix(procs, &config.root) {
            Ok(prefix) => prefix,
            Err(e) if args.changed_since.is_none() => {
                context.err(&format!(
                    "warning: {e}\n  annotation paths are relative to the project root instead"
                ));
                String::new()
            }
            Err(e) => return Err(CliError::Usage(e.to_string())),
        };
        let changed = args
            .changed_since
            .as_deref()
            .map(|rev| github::changed_lines(procs, &config.root, rev))
            .transpose()
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let found = github::annotations(&report, &prefix, changed.as_ref());
        context.out(&found.text);
        let scope = match &args.changed_since {
            Some(rev) => format!(
                " on lines changed since {rev} ({} more on unchanged lines)",
                found.unchanged
            ),
            None => String::new(),
        };
        said.push_str(&format!("{} annotations for undetected mutants{scope}\n", found.shown));
    }
    match context.format {
        Format::Json => {
            let mut value = serde_json::json!({
                "schema_version": report::REPORT_SCHEMA_VERSION,
                "mutants": report.mutants.len(),
            });
            if let Some(object) = value.as_object_mut() {
                object.extend(written);
            }
            context.out_json(&value);
        }
        // With --github, stdout carries only the workflow commands.
        Format::Human if args.github => context.err(said.trim_end()),
        Format::Human => context.out(&said),
    }
    Ok(Outcome { code: 0 })
}

/// Writes a report file atomically, creating its folder.
fn write_file(path: &Path, data: &[u8]) -> Result<(), CliError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", parent.display())))?;
    }
    write_atomic(path, data)
        .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))
}

fn html_path_for(json: &Path) -> PathBuf {
    if json.extension().is_some_and(|e| e == "html") {
        json.with_extension("report.html")
    } else {
        json.with_extension("html")
    }
}
