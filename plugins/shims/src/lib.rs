//! noot's built-in shim backends, as plugins.
//!
//! - `native`: a symlink per command to the `noot-shim` launcher, which
//!   reads its command from `argv[0]`. Fails with the fix where the
//!   filesystem refuses symlinks.
//! - `script`: a two-line POSIX `sh` wrapper per command that execs
//!   `noot-shim --as NAME`, for filesystems or sandboxes without symlinks.
//!
//! The code is `noot_mox::shims`, shared with Rust tests that use the
//! library alone; this crate puts it behind the plugin ABI so built-ins and
//! third-party backends are chosen the same way (`[mox] shim_backend`).

use std::path::Path;

use noot_mox::shims::{NativeShims, ScriptShims, ShimBackend as _, valid_command};
use noot_plugin_api::prelude::*;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoOptions {}

/// One of the two built-in backends.
#[derive(Debug, Clone, Copy)]
pub enum Builtin {
    /// Symlinks.
    Native,
    /// sh wrappers.
    Script,
}

impl ShimBackendPlugin for Builtin {
    fn materialise(&self, request: &ShimRequest) -> Result<Vec<ShimCreated>, PluginError> {
        let dir = Path::new(request.dir.as_str());
        let launcher = Path::new(request.launcher.as_str());
        let mut made = Vec::with_capacity(request.commands.len());
        for command in &request.commands {
            valid_command(command.as_str()).map_err(PluginError::failed)?;
            let path = match self {
                Self::Native => NativeShims.make(dir, launcher, command.as_str()),
                Self::Script => ScriptShims.make(dir, launcher, command.as_str()),
            }
            .map_err(PluginError::failed)?;
            made.push(ShimCreated {
                command: command.clone(),
                path: RString::from(path.to_string_lossy().into_owned()),
            });
        }
        Ok(made)
    }
}

fn build(which: Builtin, config: &str) -> Result<Builtin, PluginError> {
    let name = match which {
        Builtin::Native => "native",
        Builtin::Script => "script",
    };
    parse_config::<NoOptions>(&format!("[mox.shim_backend_options.{name}]"), config)?;
    Ok(which)
}

noot_plugin_api::plugin_library! {
    shim_backends: {
        "native" => {
            version: env!("CARGO_PKG_VERSION"),
            summary: "a symlink per command to the noot-shim launcher (fastest; needs symlinks)",
            new: |config: &str, _ports: HostPorts| build(Builtin::Native, config),
        },
        "script" => {
            version: env!("CARGO_PKG_VERSION"),
            summary: "a POSIX sh wrapper per command that execs noot-shim --as NAME (no symlinks needed)",
            new: |config: &str, _ports: HostPorts| build(Builtin::Script, config),
        },
    },
}

#[cfg(feature = "export")]
noot_plugin_api::export_plugin_library!(root_module);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_command_name_is_a_plugin_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let request = ShimRequest {
            dir: dir.path().to_string_lossy().into_owned().into(),
            launcher: "/bin/true".into(),
            commands: vec![RString::from("../escape")].into(),
        };
        let err = Builtin::Script.materialise(&request).expect_err("refused");
        assert!(err.to_string().contains("not a command name"), "{err}");
    }
}
