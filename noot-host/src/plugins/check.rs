//! `noot plugins check PATH`: load one library on its own, list what it
//! provides, and exercise each plugin once through its kind's smallest
//! contract (a scrubber scrubs, a strategy plans and learns, a shim backend
//! makes a shim), so an author sees at once whether the library works.

use std::path::Path;

use noot_plugin_api::abi_stable::std_types::{RString, RVec};
use noot_plugin_api::{BranchObservation, CallContext, PluginKind, ShimRequest};
use serde::Serialize;

use crate::config::{Config, Location};
use crate::engine::ports::Ports;
use crate::plugins::{PluginEntry, Registry, RegistryError};

/// The version of `noot plugins check --format json`.
pub const CHECK_SCHEMA_VERSION: u32 = 1;

/// One plugin's check.
#[derive(Debug, Clone, Serialize)]
pub struct PluginCheck {
    /// The plugin.
    #[serde(flatten)]
    pub entry: PluginEntry,
    /// `None` if it passed, else what went wrong.
    pub error: Option<String>,
    /// What the smoke call did, in one line.
    pub exercised: String,
}

/// The whole check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Always [`CHECK_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The library.
    pub path: String,
    /// Whether it loaded and every plugin passed.
    pub ok: bool,
    /// Why it did not load.
    pub load_error: Option<String>,
    /// abi_stable's full report, for `--verbose`.
    #[serde(skip)]
    pub load_detail: Option<String>,
    /// Each plugin.
    pub plugins: Vec<PluginCheck>,
}

/// Checks the library at `path`, building each plugin with the options
/// table `config` gives it (as the commands that use it would), else `{}`.
pub fn check_library(path: &Path, ports: &Ports, config: Option<&Config>) -> CheckReport {
    let mut registry = Registry::empty();
    let shown = path.display().to_string();
    if let Err(error) = registry.load(path, &Location::Cli("plugins check".into())) {
        let (summary, detail) = match &error {
            RegistryError::Load { error, .. } => {
                (error.summary.clone(), Some(error.detail.clone()))
            }
            other => (other.to_string(), None),
        };
        return CheckReport {
            schema_version: CHECK_SCHEMA_VERSION,
            path: shown,
            ok: false,
            load_error: Some(summary),
            load_detail: detail,
            plugins: Vec::new(),
        };
    }
    let plugins: Vec<PluginCheck> = registry
        .entries()
        .iter()
        .map(|entry| {
            let (exercised, error) = match exercise(&registry, entry, ports, config) {
                Ok(what) => (what, None),
                Err(message) => (String::new(), Some(message)),
            };
            PluginCheck { entry: entry.clone(), error, exercised }
        })
        .collect();
    let ok = !plugins.is_empty() && plugins.iter().all(|p| p.error.is_none());
    let load_error = plugins.is_empty().then(|| "the library provides no plugins".to_string());
    CheckReport {
        schema_version: CHECK_SCHEMA_VERSION,
        path: shown,
        ok,
        load_error,
        load_detail: None,
        plugins,
    }
}

/// The options table `config` gives plugin `name` of `kind`, as JSON text.
/// Strategies are configured per experiment: they get `{}`.
fn options(config: Option<&Config>, kind: PluginKind, name: &str) -> String {
    match (config, kind) {
        (Some(config), PluginKind::Scrubber) => config.scrubber_table(name),
        (Some(config), PluginKind::Runner) => config
            .mutate
            .runner_options
            .get(name)
            .map_or_else(|| "{}".to_string(), ToString::to_string),
        (Some(config), PluginKind::ShimBackend) => config.mox.backend_options(name),
        _ => "{}".to_string(),
    }
}

fn exercise(
    registry: &Registry,
    entry: &PluginEntry,
    ports: &Ports,
    config: Option<&Config>,
) -> Result<String, String> {
    let kind: PluginKind = entry.kind.parse()?;
    let options = options(config, kind, &entry.name);
    match kind {
        PluginKind::Scrubber => {
            let scrubber =
                registry.new_scrubber(&entry.name, &options, ports).map_err(|e| e.to_string())?;
            let rules = scrubber.rules().into_result().map_err(|e| e.to_string())?;
            let sample = "plain text with nothing secret in it\n";
            let out = scrubber
                .scrub(sample.into(), "file".into())
                .into_result()
                .map_err(|e| e.to_string())?;
            for finding in out.findings.iter() {
                if finding.start > finding.end || finding.end as usize > sample.len() {
                    return Err(format!("rule {} reported a span outside the input", finding.rule));
                }
            }
            Ok(format!(
                "{} rule(s); scrubbed a sample ({} finding(s))",
                rules.len(),
                out.findings.len()
            ))
        }
        PluginKind::Strategy => {
            let mut strategy =
                registry.new_strategy(&entry.name, "{}", ports).map_err(|e| e.to_string())?;
            let ids: RVec<RString> = ["a1", "b2", "c3"].into_iter().map(RString::from).collect();
            let call = CallContext {
                experiment: "noot-plugins-check".into(),
                call_number: 1,
                config_ids: ids.clone(),
                primary: None.into(),
            };
            let plan = strategy.plan(&call).into_result().map_err(|e| e.to_string())?;
            if plan.primary.is_empty() {
                return Err("plan chose no primary branch".into());
            }
            if let Some(stray) =
                plan.primary.iter().chain(plan.background.iter()).find(|id| !ids.contains(id))
            {
                return Err(format!(
                    "plan chose `{stray}`, which is not one of the call's config ids"
                ));
            }
            for id in plan.primary.iter().chain(plan.background.iter()) {
                let branch = BranchObservation {
                    config_id: id.clone(),
                    success: true,
                    duration_ms: 1,
                    metrics_json: "{\"score\": 1.0}".into(),
                };
                strategy.observe(&branch).into_result().map_err(|e| e.to_string())?;
            }
            let state = strategy.save_state().into_result().map_err(|e| e.to_string())?;
            serde_json::from_str::<serde_json::Value>(&state)
                .map_err(|e| format!("save_state returned invalid JSON: {e}"))?;
            strategy.load_state(state.as_str().into()).into_result().map_err(|e| e.to_string())?;
            Ok(format!(
                "planned a call: primary [{}], background [{}]",
                plan.primary.join(", "),
                plan.background.join(", ")
            ))
        }
        PluginKind::ShimBackend => {
            let backend = registry
                .new_shim_backend(&entry.name, &options, ports)
                .map_err(|e| e.to_string())?;
            let dir = tempfile_dir().map_err(|e| format!("cannot make a scratch folder: {e}"))?;
            let request = ShimRequest {
                dir: dir.display().to_string().into(),
                launcher: "/bin/true".into(),
                commands: RVec::from(vec![RString::from("noot-check-cmd")]),
            };
            let made = backend.materialise(&request).into_result().map_err(|e| e.to_string());
            let _ = std::fs::remove_dir_all(&dir);
            Ok(format!("made {} shim(s)", made?.len()))
        }
        PluginKind::Runner => {
            registry.new_runner(&entry.name, &options, ports).map_err(|e| e.to_string())?;
            Ok("constructed (a runner needs a project to run)".into())
        }
    }
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("noot-plugins-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
