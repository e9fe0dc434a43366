//! `noot plugins list` and `noot plugins check`.

use std::path::PathBuf;

use clap::Subcommand;
use serde::Serialize;

use crate::cli::{CliError, Context, Format, Outcome};
use crate::plugins::PluginEntry;
use crate::plugins::check::check_library;

/// The version of `noot plugins list --format json`.
pub const LIST_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Subcommand)]
pub(crate) enum PluginsCommand {
    /// Every plugin: kind, name, version and where it came from.
    #[command(
        after_long_help = "Examples:\n  noot plugins list\n  noot plugins list --format json | jq '.plugins[] | select(.kind == \"scrubber\")'"
    )]
    List,
    /// Load one plugin library on its own, list it, and exercise each plugin once.
    #[command(
        after_long_help = "Examples:\n  cargo build -p my-plugin && noot plugins check target/debug/libmy_plugin.so\n\nExit 0 if the library loads and every plugin passes, 1 otherwise."
    )]
    Check {
        /// The library (a .so built as a cdylib against noot-plugin-api).
        path: PathBuf,
    },
}

#[derive(Serialize)]
struct ListReport<'a> {
    schema_version: u32,
    api_version: &'static str,
    plugins: &'a [PluginEntry],
}

pub(crate) fn run(context: &Context, command: PluginsCommand) -> Result<Outcome, CliError> {
    match command {
        PluginsCommand::List => {
            let config = context.config()?;
            let registry = context.registry(&config)?;
            let entries = registry.entries();
            if context.format == Format::Json {
                context.out_json(&ListReport {
                    schema_version: LIST_SCHEMA_VERSION,
                    api_version: noot_plugin_api::API_VERSION,
                    plugins: entries,
                });
            } else {
                context.out(&table(entries));
            }
            Ok(Outcome { code: 0 })
        }
        PluginsCommand::Check { path } => {
            // The project's options for the library's plugins, if it has
            // any; a configuration that does not load is no reason to
            // refuse checking a library.
            let config = context.config().ok();
            let report = check_library(&path, &context.ports, config.as_ref());
            if context.format == Format::Json {
                context.out_json(&report);
            } else {
                let mut out = String::new();
                if let Some(error) = &report.load_error {
                    context.err(&format!("error: {error}"));
                    if let Some(detail) = report.load_detail.as_ref().filter(|_| context.verbose) {
                        context.err(&format!("\n{detail}"));
                    }
                }
                for plugin in &report.plugins {
                    let e = &plugin.entry;
                    match &plugin.error {
                        None => out.push_str(&format!(
                            "ok    {} {} {}: {}\n",
                            e.kind, e.name, e.version, plugin.exercised
                        )),
                        Some(error) => out.push_str(&format!(
                            "FAIL  {} {} {}: {error}\n",
                            e.kind, e.name, e.version
                        )),
                    }
                }
                out.push_str(&format!(
                    "{}: {}\n",
                    report.path,
                    if report.ok { "ok" } else { "failed" }
                ));
                context.out(&out);
            }
            Ok(Outcome { code: if report.ok { 0 } else { 1 } })
        }
    }
}

/// The plugin table (kind, name, version, source, summary), columns sized to fit.
pub(crate) fn table(entries: &[PluginEntry]) -> String {
    let rows: Vec<[String; 5]> = entries
        .iter()
        .map(|e| {
            [
                e.kind.clone(),
                e.name.clone(),
                e.version.clone(),
                e.source.to_string(),
                e.summary.clone(),
            ]
        })
        .collect();
    let header = ["KIND", "NAME", "VERSION", "SOURCE", "SUMMARY"].map(String::from);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i < 4 {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
