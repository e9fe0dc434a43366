//! Shim backends as noot chooses them: a plugin from the registry (built-in
//! `native` and `script`, or a third party's), adapted to the library's
//! [`ShimBackend`] trait. `auto` is native with a per-command fall-back to
//! script where the filesystem refuses symlinks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use noot_mox::shims::ShimBackend;
use noot_plugin_api::abi_stable::std_types::{RString, RVec};
use noot_plugin_api::{ShimBackendBox, ShimRequest};

use crate::cli::CliError;
use crate::config::Config;
use crate::engine::ports::Ports;
use crate::plugins::Registry;

/// A shim-backend plugin, as the library sees it.
pub struct PluginBackend {
    name: String,
    plugin: ShimBackendBox,
}

impl PluginBackend {
    /// Wraps a constructed plugin named `name`.
    pub fn new(name: impl Into<String>, plugin: ShimBackendBox) -> Self {
        Self { name: name.into(), plugin }
    }
}

impl ShimBackend for PluginBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn make(&self, dir: &Path, launcher: &Path, command: &str) -> Result<PathBuf, String> {
        let request = ShimRequest {
            dir: RString::from(dir.to_string_lossy().into_owned()),
            launcher: RString::from(launcher.to_string_lossy().into_owned()),
            commands: RVec::from(vec![RString::from(command)]),
        };
        let made = self.plugin.materialise(&request).into_result().map_err(|e| e.to_string())?;
        let path = made
            .iter()
            .find(|c| c.command.as_str() == command)
            .map(|c| PathBuf::from(c.path.as_str()))
            .ok_or_else(|| format!("the backend made no shim for `{command}`"))?;
        if !path.starts_with(dir) {
            return Err(format!(
                "the backend put the shim for `{command}` at {}, outside the shim folder",
                path.display()
            ));
        }
        Ok(path)
    }
}

/// `auto`: native, else script.
struct AutoBackend {
    native: PluginBackend,
    script: PluginBackend,
}

impl ShimBackend for AutoBackend {
    fn name(&self) -> &str {
        "auto"
    }

    fn make(&self, dir: &Path, launcher: &Path, command: &str) -> Result<PathBuf, String> {
        self.native
            .make(dir, launcher, command)
            .or_else(|_| self.script.make(dir, launcher, command))
    }
}

fn plugin(
    registry: &Registry,
    config: &Config,
    ports: &Ports,
    name: &str,
) -> Result<PluginBackend, CliError> {
    let plugin = registry
        .new_shim_backend(name, &config.mox.backend_options(name), ports)
        .map_err(|e| match &config.mox.backend_location {
            Some(location) => CliError::Usage(format!("{location}: {e}")),
            None => CliError::Registry(e),
        })?;
    Ok(PluginBackend { name: name.to_string(), plugin })
}

/// The backend `[mox] shim_backend` (or `NOOT_SHIM_BACKEND`) names.
pub fn choose(
    registry: &Registry,
    config: &Config,
    ports: &Ports,
) -> Result<noot_mox::Backend, CliError> {
    let name = config.mox.shim_backend.as_str();
    let backend: Arc<dyn ShimBackend> = if name == "auto" {
        Arc::new(AutoBackend {
            native: plugin(registry, config, ports, "native")?,
            script: plugin(registry, config, ports, "script")?,
        })
    } else {
        Arc::new(plugin(registry, config, ports, name)?)
    };
    Ok(noot_mox::Backend::Custom(backend))
}

/// The launcher: `noot-shim` (beside noot, `$NOOT_SHIM` or on `PATH`), or
/// noot itself, which acts as a shim when called by a command's name.
pub fn launcher() -> Result<PathBuf, CliError> {
    match noot_mox::shims::find_launcher() {
        Ok(path) => Ok(path),
        Err(message) if std::env::var_os(noot_mox::shims::LAUNCHER_ENV).is_some() => {
            Err(CliError::Usage(message))
        }
        Err(_) => std::env::current_exe()
            .map_err(|e| CliError::Usage(format!("cannot find noot-shim, nor noot itself: {e}"))),
    }
}
