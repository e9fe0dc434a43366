//! `noot scrub`: redact secrets from files or stdin through the configured
//! scrubber plugins.
//!
//! Inputs (files, folders walked recursively as [`walk`] says: links in
//! them not followed unless asked, every file once, or stdin) are read and
//! scrubbed in parallel on the engine's scheduler, largest file first. All
//! of them are scrubbed before anything is written, so bad input (a missing
//! file, a binary file named explicitly, a failing plugin) stops the command
//! with nothing half-done. Then changed files are replaced atomically when
//! scrubbing in place (a link's target, not the link). A report never contains a secret: only the rule,
//! the scrubber and the line and column where it was.

mod walk;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use noot_plugin_api::{PluginError, ScrubberBox};
use serde::Serialize;

use crate::config::Config;
use crate::engine::events::Event;
use crate::engine::ports::Ports;
use crate::engine::scheduler::{self, JobGraph};
use crate::plugins::{Registry, RegistryError};

/// The version of `noot scrub --format json`.
pub const SCRUB_REPORT_SCHEMA_VERSION: u32 = 1;

/// How many leading bytes are checked for NUL to call a file binary.
const BINARY_SNIFF_BYTES: usize = 8000;

/// Why a file found in a folder was not scrubbed because of its content.
pub const BINARY_FILE: &str = "binary file";

/// The configured scrubbers, applied in order.
pub struct ScrubPipeline {
    stages: Vec<(String, ScrubberBox)>,
}

/// A secret found, as a report shows it (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretFound {
    /// The scrubber that found it.
    pub scrubber: String,
    /// Its rule.
    pub rule: String,
    /// Line, from 1, in the text the scrubber saw.
    pub line: usize,
    /// Column, from 1, in characters.
    pub column: usize,
}

/// Scrubbed text and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrubbed {
    /// The text with every secret replaced.
    pub text: String,
    /// The findings, stage by stage, in text order.
    pub findings: Vec<SecretFound>,
}

/// Why scrubbing stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScrubError {
    /// A scrubber could not be built.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A scrubber failed or panicked.
    #[error("scrubber `{scrubber}` failed on {what}: {error}")]
    Plugin {
        /// Which.
        scrubber: String,
        /// The input.
        what: String,
        /// What it said.
        error: PluginError,
    },
    /// An input cannot be scrubbed.
    #[error("{path}: {message}")]
    Input {
        /// The input.
        path: String,
        /// Why.
        message: String,
    },
}

impl ScrubPipeline {
    /// Builds every scrubber named in the configuration.
    pub fn from_config(
        registry: &Registry,
        config: &Config,
        ports: &Ports,
    ) -> Result<Self, RegistryError> {
        let stages = config
            .scrub
            .scrubbers
            .iter()
            .map(|name| {
                Ok((
                    name.clone(),
                    registry.new_scrubber(name, &config.scrubber_table(name), ports)?,
                ))
            })
            .collect::<Result<_, RegistryError>>()?;
        Ok(Self { stages })
    }

    /// Scrubs `text`, a `field` (`file`, `stdout`, `env:NAME`, …) of `what`.
    pub fn scrub(&self, text: &str, field: &str, what: &str) -> Result<Scrubbed, ScrubError> {
        let mut findings = Vec::new();
        let text = self.each_stage(text, field, what, |name, input, found| {
            // One index per stage: offsets increase, so it is one pass.
            let mut positions = LineIndex::new(input);
            for finding in found {
                let (line, column) = positions.locate(finding.start);
                findings.push(SecretFound {
                    scrubber: name.to_string(),
                    rule: finding.rule.clone(),
                    line,
                    column,
                });
            }
        })?;
        Ok(Scrubbed { text, findings })
    }

    /// The scrubbers, in order.
    pub fn names(&self) -> Vec<String> {
        self.stages.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Scrubs `text` (a `field`), returning each finding as (scrubber,
    /// rule, byte offset, length) in the text that scrubber saw.
    #[allow(clippy::type_complexity)]
    pub fn scrub_spans(
        &self,
        text: &str,
        field: &str,
    ) -> Result<(String, Vec<(String, String, usize, usize)>), ScrubError> {
        let mut found = Vec::new();
        let text = self.each_stage(text, field, field, |name, _, stage| {
            for f in stage {
                found.push((
                    name.to_string(),
                    f.rule.clone(),
                    f.start,
                    f.end.saturating_sub(f.start),
                ));
            }
        })?;
        Ok((text, found))
    }

    /// Runs every stage in order, showing `visit` each stage's findings with
    /// the text that stage saw; returns the text after the last stage.
    fn each_stage(
        &self,
        text: &str,
        field: &str,
        what: &str,
        mut visit: impl FnMut(&str, &str, &[StageFinding]),
    ) -> Result<String, ScrubError> {
        let mut current = text.to_string();
        for (name, scrubber) in &self.stages {
            let out = scrubber.scrub(current.as_str().into(), field.into()).into_result().map_err(
                |error| ScrubError::Plugin {
                    scrubber: name.clone(),
                    what: what.to_string(),
                    error,
                },
            )?;
            let found: Vec<StageFinding> = out
                .findings
                .iter()
                .map(|f| {
                    let start = usize::try_from(f.start).unwrap_or(usize::MAX);
                    let end = usize::try_from(f.end).unwrap_or(start);
                    StageFinding { rule: f.rule.to_string(), start, end }
                })
                .collect();
            visit(name, &current, &found);
            current = out.text.into_string();
        }
        Ok(current)
    }
}

/// One finding of one stage, in that stage's input.
struct StageFinding {
    rule: String,
    start: usize,
    end: usize,
}

/// Turns increasing byte offsets into (line, column) in one pass.
struct LineIndex<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, offset: 0, line: 1, line_start: 0 }
    }

    fn locate(&mut self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        if offset < self.offset {
            *self = Self::new(self.text);
        }
        let bytes = &self.text.as_bytes()[self.offset..offset];
        for newline in memchr::memchr_iter(b'\n', bytes) {
            self.line += 1;
            self.line_start = self.offset + newline + 1;
        }
        self.offset = offset;
        let column = self.text.get(self.line_start..offset).map_or(1, |s| s.chars().count() + 1);
        (self.line, column)
    }
}

/// One input as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input, already read.
    Stdin(Vec<u8>),
    /// A file or a folder.
    Path(PathBuf),
}

/// What to scrub and how.
#[derive(Debug, Clone)]
pub struct ScrubRequest {
    /// The inputs.
    pub inputs: Vec<Input>,
    /// Replace changed files instead of returning their text.
    pub in_place: bool,
    /// Follow symbolic links met while walking folders.
    pub follow_links: bool,
    /// How many files to scrub at once.
    pub jobs: usize,
}

/// One scrubbed input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileOutcome {
    /// Its path (`-` for stdin).
    pub path: String,
    /// When `path` is a symbolic link: the file it leads to, which is what
    /// scrubbing in place rewrites (the link is kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    /// Whether scrubbing changed it.
    pub changed: bool,
    /// What was found.
    pub findings: Vec<SecretFound>,
    /// The scrubbed text (not kept when scrubbing in place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrubbed: Option<String>,
}

/// A file or folder passed over while walking a folder: binary, a link
/// not followed, or one already scrubbed under another path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Its path.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// Totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScrubSummary {
    /// Inputs scrubbed.
    pub files: usize,
    /// Inputs with at least one finding.
    pub files_with_findings: usize,
    /// Findings in all.
    pub findings: usize,
    /// Files and folders passed over.
    pub skipped: usize,
}

/// What `noot scrub` found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScrubReport {
    /// Always [`SCRUB_REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Totals.
    pub summary: ScrubSummary,
    /// Every input, in the order given (folders in name order).
    pub files: Vec<FileOutcome>,
    /// Files passed over.
    pub skipped: Vec<Skipped>,
    /// Whether changed files were written back.
    pub in_place: bool,
}

enum Source {
    Stdin(Vec<u8>),
    File {
        path: PathBuf,
        /// Where an in-place scrub writes when `path` is a link.
        link_target: Option<PathBuf>,
    },
    /// Passed over while walking, for this reason.
    Passed(String),
}

struct Target {
    display: String,
    source: Source,
    /// Named on the command line (bad content is an error), or found in a folder (skipped).
    explicit: bool,
}

enum Outcome {
    Done(FileOutcome),
    Skip(Skipped),
}

/// Runs `noot scrub`.
pub fn run(
    request: &ScrubRequest,
    pipeline: &ScrubPipeline,
    ports: &Ports,
) -> Result<ScrubReport, ScrubError> {
    if request.in_place && request.inputs.iter().any(|i| matches!(i, Input::Stdin(_))) {
        return Err(ScrubError::Input {
            path: "-".into(),
            message: "stdin cannot be scrubbed in place; drop --in-place or name files".into(),
        });
    }
    let started = ports.clock.monotonic_ms();
    ports.events.emit(&Event::SessionStarted { command: "scrub".into() });
    let targets = expand(&request.inputs, request.follow_links, ports)?;

    let mut graph = JobGraph::new();
    for target in &targets {
        let cost = match &target.source {
            Source::Stdin(bytes) => bytes.len() as u64,
            Source::File { path, .. } => ports.fs.len(path).unwrap_or(0),
            Source::Passed(_) => 0,
        };
        graph.add_job(cost);
    }
    let done = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<(usize, ScrubError)>> = Mutex::new(None);
    let total = targets.len() as u64;
    let results = scheduler::run(&graph, request.jobs, &failed, |job| {
        let outcome = scrub_one(&targets[job], pipeline, ports, request.in_place);
        let finished = done.fetch_add(1, Ordering::SeqCst) + 1;
        ports.progress.progress(finished, total, &targets[job].display);
        match outcome {
            Ok(outcome) => Some(outcome),
            Err(error) => {
                let mut slot = first_error.lock().unwrap_or_else(|e| e.into_inner());
                // Report the error of the earliest input, whatever finished first.
                if slot.as_ref().is_none_or(|(index, _)| job < *index) {
                    *slot = Some((job, error));
                }
                failed.store(true, Ordering::SeqCst);
                None
            }
        }
    })
    .map_err(|e| ScrubError::Input { path: "-".into(), message: e.to_string() })?;
    ports.progress.finish();
    if let Some((_, error)) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(error);
    }

    let mut files = Vec::new();
    let mut skipped = Vec::new();
    // Every input was scrubbed without error, so writing may start.
    for (job, outcome) in results.into_iter().enumerate() {
        let Some(Some(outcome)) = outcome else { continue };
        match outcome {
            Outcome::Done(mut file) => {
                if request.in_place {
                    write_back(&targets[job], &mut file, ports)?;
                }
                ports.events.emit(&Event::FileScrubbed {
                    path: file.path.clone(),
                    findings: file.findings.len(),
                });
                files.push(file);
            }
            Outcome::Skip(skip) => {
                ports.events.emit(&Event::FileSkipped {
                    path: skip.path.clone(),
                    reason: skip.reason.clone(),
                });
                skipped.push(skip);
            }
        }
    }
    let summary = ScrubSummary {
        files: files.len(),
        files_with_findings: files.iter().filter(|f| !f.findings.is_empty()).count(),
        findings: files.iter().map(|f| f.findings.len()).sum(),
        skipped: skipped.len(),
    };
    ports.events.emit(&Event::SessionFinished {
        command: "scrub".into(),
        elapsed_ms: ports.clock.monotonic_ms().saturating_sub(started),
    });
    Ok(ScrubReport {
        schema_version: SCRUB_REPORT_SCHEMA_VERSION,
        summary,
        files,
        skipped,
        in_place: request.in_place,
    })
}

/// Writes a changed file back, atomically, with the text scrubbed in the
/// first pass (what the report describes). A link's target is written, not
/// the link: replacing the link would leave the secret in its target.
fn write_back(target: &Target, file: &mut FileOutcome, ports: &Ports) -> Result<(), ScrubError> {
    let (Source::File { path, link_target }, Some(text)) = (&target.source, file.scrubbed.take())
    else {
        return Ok(());
    };
    let path = link_target.as_ref().unwrap_or(path);
    ports.fs.replace_atomic(path, text.as_bytes()).map_err(|e| ScrubError::Input {
        path: file.path.clone(),
        message: format!("cannot write the scrubbed file: {e}"),
    })
}

/// Reads and scrubs one input. In place, the scrubbed text is kept only for
/// the files it changed (to be written back); otherwise it is the result.
fn scrub_one(
    target: &Target,
    pipeline: &ScrubPipeline,
    ports: &Ports,
    in_place: bool,
) -> Result<Outcome, ScrubError> {
    let text = match &target.source {
        Source::Stdin(bytes) => decode(bytes.clone()),
        Source::File { path, .. } => read_text(path, ports)?,
        Source::Passed(reason) => {
            return Ok(Outcome::Skip(Skipped {
                path: target.display.clone(),
                reason: reason.clone(),
            }));
        }
    };
    let Some(text) = text else {
        if target.explicit {
            return Err(ScrubError::Input {
                path: target.display.clone(),
                message: "binary file (a NUL byte or invalid UTF-8); noot scrubs text only".into(),
            });
        }
        return Ok(Outcome::Skip(Skipped {
            path: target.display.clone(),
            reason: BINARY_FILE.into(),
        }));
    };
    let field = if matches!(target.source, Source::Stdin(_)) { "stdin" } else { "file" };
    let scrubbed = pipeline.scrub(&text, field, &target.display)?;
    let changed = scrubbed.text != text;
    let link_target = match &target.source {
        Source::File { link_target: Some(to), .. } => Some(to.display().to_string()),
        _ => None,
    };
    Ok(Outcome::Done(FileOutcome {
        path: target.display.clone(),
        link_target,
        changed,
        findings: scrubbed.findings,
        scrubbed: (changed || !in_place).then_some(scrubbed.text),
    }))
}

fn read_text(path: &Path, ports: &Ports) -> Result<Option<String>, ScrubError> {
    let bytes = ports.fs.read(path).map_err(|e| ScrubError::Input {
        path: path.display().to_string(),
        message: format!("cannot read: {e}"),
    })?;
    Ok(decode(bytes))
}

/// The text of `bytes`, or `None` if they look binary.
fn decode(bytes: Vec<u8>) -> Option<String> {
    if memchr::memchr(0, &bytes[..bytes.len().min(BINARY_SNIFF_BYTES)]).is_some() {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// What to scrub, in order: stdin, explicit files as given, folders
/// walked (see [`walk`]), and what the walk passed over.
fn expand(inputs: &[Input], follow_links: bool, ports: &Ports) -> Result<Vec<Target>, ScrubError> {
    let mut targets = Vec::new();
    let mut walker = walk::Walker::new(ports, follow_links);
    for input in inputs {
        match input {
            Input::Stdin(bytes) => {
                // Keep stdin in its place among the files.
                targets.extend(walker.take().into_iter().map(Target::from));
                targets.push(Target {
                    display: "-".into(),
                    source: Source::Stdin(bytes.clone()),
                    explicit: true,
                });
            }
            Input::Path(path) => walker.input(path)?,
        }
    }
    targets.extend(walker.take().into_iter().map(Target::from));
    Ok(targets)
}

impl From<walk::Found> for Target {
    fn from(found: walk::Found) -> Self {
        match found {
            walk::Found::File { path, explicit, link_target } => Target {
                display: path.display().to_string(),
                source: Source::File { path, link_target },
                explicit,
            },
            walk::Found::Passed(skipped) => Target {
                display: skipped.path,
                source: Source::Passed(skipped.reason),
                explicit: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CliOverrides, load};
    use crate::engine::fakes::{FakeEnv, MemFs, RecordingEvents, fake_ports};
    use std::sync::Arc;

    const TOKEN: &str = "ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9";

    fn setup(files: &[(&str, &[u8])]) -> (Ports, Arc<MemFs>, ScrubPipeline) {
        let fs = Arc::new(MemFs::default());
        for (path, content) in files {
            fs.insert(*path, content.to_vec());
        }
        let mut ports = fake_ports();
        ports.fs = fs.clone();
        ports.env = Arc::new(FakeEnv { cwd: "/p".into(), ..FakeEnv::default() });
        let config =
            load(ports.fs.as_ref(), ports.env.as_ref(), &CliOverrides::default()).expect("config");
        let registry = Registry::with_builtins().expect("registry");
        let pipeline = ScrubPipeline::from_config(&registry, &config, &ports).expect("pipeline");
        (ports, fs, pipeline)
    }

    fn request(paths: &[&str], in_place: bool) -> ScrubRequest {
        ScrubRequest {
            inputs: paths.iter().map(|p| Input::Path(p.into())).collect(),
            in_place,
            follow_links: false,
            jobs: 2,
        }
    }

    #[test]
    fn findings_carry_line_and_column_but_never_the_secret() {
        let content = format!("one\ntwo {TOKEN}\n");
        let (ports, _, pipeline) = setup(&[("/p/a.txt", content.as_bytes())]);
        let report = run(&request(&["/p/a.txt"], false), &pipeline, &ports).expect("scrubs");
        let file = &report.files[0];
        assert_eq!(
            file.findings,
            [SecretFound {
                scrubber: "default".into(),
                rule: "github-token".into(),
                line: 2,
                column: 5
            }]
        );
        assert_eq!(file.scrubbed.as_deref(), Some("one\ntwo <REDACTED:github-token>\n"));
        let json = serde_json::to_string(&report).expect("json");
        assert!(!json.contains(TOKEN));
    }

    #[test]
    fn in_place_rewrites_only_changed_files_atomically() {
        let dirty = format!("t={TOKEN}\n");
        let (ports, fs, pipeline) =
            setup(&[("/p/d/dirty.txt", dirty.as_bytes()), ("/p/d/clean.txt", b"nothing\n")]);
        let report = run(&request(&["/p/d"], true), &pipeline, &ports).expect("scrubs");
        assert_eq!(
            report.summary,
            ScrubSummary { files: 2, files_with_findings: 1, findings: 1, skipped: 0 }
        );
        assert_eq!(fs.text("/p/d/dirty.txt").as_deref(), Some("t=<REDACTED:github-token>\n"));
        assert_eq!(fs.atomic_writes(), 1);
        assert!(report.files.iter().all(|f| f.scrubbed.is_none()));
    }

    #[test]
    fn folders_skip_binaries_and_hidden_entries_but_explicit_binaries_are_errors() {
        let (ports, fs, pipeline) = setup(&[
            ("/p/d/a.bin", b"\x00\x01"),
            ("/p/d/.git/config", b"x"),
            ("/p/d/b.txt", b"ok"),
        ]);
        let report = run(&request(&["/p/d"], false), &pipeline, &ports).expect("scrubs");
        assert_eq!(report.files.len(), 1);
        assert_eq!(
            report.skipped,
            [Skipped { path: "/p/d/a.bin".into(), reason: "binary file".into() }]
        );
        let err = run(&request(&["/p/d/b.txt", "/p/d/a.bin"], true), &pipeline, &ports)
            .expect_err("binary");
        assert_eq!(
            err.to_string(),
            "/p/d/a.bin: binary file (a NUL byte or invalid UTF-8); noot scrubs text only"
        );
        assert_eq!(fs.atomic_writes(), 0, "nothing is written when an input is bad");
    }

    #[test]
    fn missing_inputs_and_stdin_in_place_are_refused() {
        let (ports, _, pipeline) = setup(&[]);
        let err = run(&request(&["/p/nope"], false), &pipeline, &ports).expect_err("missing");
        assert_eq!(err.to_string(), "/p/nope: no such file or folder");
        let stdin = ScrubRequest {
            inputs: vec![Input::Stdin(b"x".to_vec())],
            in_place: true,
            follow_links: false,
            jobs: 1,
        };
        assert!(run(&stdin, &pipeline, &ports).is_err());
    }

    #[test]
    fn stdin_is_scrubbed_and_events_are_emitted() {
        let (mut ports, _, pipeline) = setup(&[]);
        let events = Arc::new(RecordingEvents::default());
        ports.events = events.clone();
        let input = format!("Authorization: Bearer {TOKEN}");
        let req = ScrubRequest {
            inputs: vec![Input::Stdin(input.into_bytes())],
            in_place: false,
            follow_links: false,
            jobs: 1,
        };
        let report = run(&req, &pipeline, &ports).expect("scrubs");
        assert_eq!(report.files[0].path, "-");
        assert_eq!(report.summary.findings, 1);
        assert_eq!(events.names(), ["session_started", "file_scrubbed", "session_finished"]);
    }

    #[test]
    fn line_index_handles_unordered_offsets() {
        let mut index = LineIndex::new("ab\ncd\né f");
        assert_eq!(index.locate(8), (3, 2));
        assert_eq!(index.locate(1), (1, 2));
        assert_eq!(index.locate(4), (2, 2));
    }
}
