//! `noot config check` and `noot config show`.

use clap::Subcommand;
use serde::Serialize;

use crate::cli::{CliError, Context, Format, Outcome};
use crate::config::{CONFIG_SCHEMA_VERSION, Config};
use crate::scrub::ScrubPipeline;

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate the configuration: parse it, load its plugins, build its scrubbers.
    #[command(
        after_long_help = "Examples:\n  noot config check\n  noot --config ci/noot.toml config check\n\nExit 0 if valid; 2 with file:line:column and a fix if not."
    )]
    Check,
    /// Print the effective configuration and where each value came from.
    #[command(
        after_long_help = "Examples:\n  noot config show\n  NOOT_JOBS=8 noot config show --format json | jq .origins"
    )]
    Show,
}

#[derive(Serialize)]
struct Shown<'a> {
    schema_version: u32,
    #[serde(flatten)]
    config: &'a Config,
}

pub(crate) fn run(context: &Context, command: ConfigCommand) -> Result<Outcome, CliError> {
    let config = context.config()?;
    match command {
        ConfigCommand::Check => {
            let registry = context.registry(&config)?;
            ScrubPipeline::from_config(&registry, &config, &context.ports)?;
            let file = config.file.as_ref().map_or_else(
                || "no config file (defaults)".to_string(),
                |f| f.display().to_string(),
            );
            if context.format == Format::Json {
                context.out_json(&serde_json::json!({
                    "schema_version": CONFIG_SCHEMA_VERSION,
                    "ok": true,
                    "file": config.file,
                    "plugins": registry.entries().len(),
                }));
            } else {
                context.out(&format!(
                    "ok: {file}: {} plugin(s), scrubbers: {}\n",
                    registry.entries().len(),
                    config.scrub.scrubbers.join(", ")
                ));
            }
        }
        ConfigCommand::Show => {
            if context.format == Format::Json {
                context.out_json(&Shown { schema_version: CONFIG_SCHEMA_VERSION, config: &config });
            } else {
                context.out(&human(&config));
            }
        }
    }
    Ok(Outcome { code: 0 })
}

fn human(config: &Config) -> String {
    let origin = |key: &str| config.origins.get(key).map_or("default", String::as_str).to_string();
    let mut out = String::new();
    let file = config
        .file
        .as_ref()
        .map_or_else(|| "(none: defaults)".to_string(), |f| f.display().to_string());
    out.push_str(&format!("# config file: {file}\n# project root: {}\n\n", config.root.display()));
    out.push_str(&format!("jobs = {}  # {}\n\n", config.jobs, origin("jobs")));
    out.push_str("[plugins]\n");
    let paths: Vec<String> =
        config.plugins.paths.iter().map(|p| format!("{:?}", p.display().to_string())).collect();
    out.push_str(&format!("paths = [{}]", paths.join(", ")));
    if !paths.is_empty() {
        out.push_str(&format!("  # {}", origin("plugins.paths")));
    }
    out.push_str("\n\n[scrub]\n");
    let scrubbers: Vec<String> = config.scrub.scrubbers.iter().map(|s| format!("{s:?}")).collect();
    out.push_str(&format!(
        "scrubbers = [{}]  # {}\n",
        scrubbers.join(", "),
        origin("scrub.scrubbers")
    ));
    for (name, table) in &config.scrub.plugin {
        out.push_str(&format!("\n[scrub.plugin.{name}]\n# {table}\n"));
    }
    out
}
