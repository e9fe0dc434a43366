//! Fixtures from the command line: the configured scrubber plugins as the
//! library's scrubber, re-scrubbing committed fixtures, and validating them.

use std::path::{Path, PathBuf};

use noot_mox::fixture::{Fixture, FixtureError, Format};
use noot_mox::scrubbing::{FixtureScrubber, Redaction, scrub_fixture};
use serde::Serialize;

use crate::scrub::ScrubPipeline;

/// The scrubber plugins of `[scrub] scrubbers`, as the library scrubs.
pub struct PipelineScrubber(pub ScrubPipeline);

impl FixtureScrubber for PipelineScrubber {
    fn names(&self) -> Vec<String> {
        self.0.names()
    }

    fn scrub(&self, text: &str, field: &str) -> Result<(String, Vec<Redaction>), String> {
        let (clean, found) = self.0.scrub_spans(text, field).map_err(|e| e.to_string())?;
        let found = found
            .into_iter()
            .map(|(scrubber, rule, offset, length)| Redaction { scrubber, rule, offset, length })
            .collect();
        Ok((clean, found))
    }
}

/// What re-scrubbing one fixture did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rescrubbed {
    /// The file.
    pub path: PathBuf,
    /// Secrets redacted now (none: the fixture was clean).
    pub redactions: u64,
    /// Per rule.
    pub by_rule: std::collections::BTreeMap<String, u64>,
    /// The format it was read in (a cmd-mox fixture is written back in
    /// noot's format when it changes).
    pub format: String,
}

/// Scrubs `path` again and rewrites it atomically if that changed it.
pub fn rescrub(path: &Path, scrubber: &dyn FixtureScrubber) -> Result<Rescrubbed, FixtureError> {
    let (mut fixture, format) = Fixture::load(path)?;
    let before = fixture.clone();
    let review = scrub_fixture(scrubber, &known_here(), &mut fixture).map_err(|message| {
        FixtureError::Invalid {
            path: path.display().to_string(),
            field: "(scrubbing)".into(),
            message,
        }
    })?;
    let mut by_rule = std::collections::BTreeMap::new();
    for entry in &review {
        *by_rule.entry(entry.rule.clone()).or_insert(0) += 1;
    }
    // Saved whenever anything changed, so a second run finds it clean.
    if fixture != before {
        fixture.save(path)?;
    }
    Ok(Rescrubbed {
        path: path.to_path_buf(),
        redactions: review.len() as u64,
        by_rule,
        format: format.to_string(),
    })
}

/// The values of this process's secret-named variables (CI tokens), hidden
/// wherever they appear in a fixture.
fn known_here() -> noot_mox::secrets::KnownSecrets {
    let env = std::env::vars_os()
        .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
        .collect();
    let mut known = noot_mox::secrets::KnownSecrets::default();
    known.learn(&env);
    known
}

/// What validating one file found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validated {
    /// The file.
    pub path: PathBuf,
    /// `null` when it is bad.
    pub format: Option<String>,
    /// Recordings in it.
    pub recordings: usize,
    /// What is wrong: field and message.
    pub error: Option<String>,
}

/// Validates each file.
pub fn validate(paths: &[PathBuf]) -> Vec<Validated> {
    paths
        .iter()
        .map(|path| match Fixture::load(path) {
            Ok((fixture, format)) => Validated {
                path: path.clone(),
                format: Some(match format {
                    Format::Noot(v) => format!("noot {v}"),
                    Format::CmdMox1 => "cmd-mox 1.0".to_string(),
                }),
                recordings: fixture.recordings.len(),
                error: None,
            },
            Err(e) => Validated {
                path: path.clone(),
                format: None,
                recordings: 0,
                error: Some(e.to_string()),
            },
        })
        .collect()
}

/// The files `patterns` name: a plain path as is, a glob (`fixtures/**/*.json`)
/// expanded under its literal leading folders, sorted. Errors name a
/// pattern that is not a glob or matches nothing.
pub fn expand(patterns: &[String], cwd: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for pattern in patterns {
        // A path that exists is itself, even with `[` in it (pytest's
        // parametrized fixture names: `test_x[1].json`).
        if !pattern.contains(['*', '?', '[', '{']) || cwd.join(pattern).is_file() {
            out.push(cwd.join(pattern));
            continue;
        }
        let glob = globset::Glob::new(pattern)
            .map_err(|e| format!("`{pattern}` is not a glob: {e}"))?
            .compile_matcher();
        let base: PathBuf = Path::new(pattern)
            .components()
            .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[', '{']))
            .collect();
        let mut found = Vec::new();
        walk(&cwd.join(&base), &mut |path| {
            let relative = path.strip_prefix(cwd).unwrap_or(path);
            // A glob means fixtures, not their review files.
            if glob.is_match(relative) && !noot_mox::scrubbing::is_review(path) {
                found.push(path.to_path_buf());
            }
        });
        if found.is_empty() {
            return Err(format!("`{pattern}` matches no file"));
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

fn walk(dir: &Path, visit: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, visit);
        } else {
            visit(&path);
        }
    }
}
