//! An example third-party shim backend, built against `noot-plugin-api`
//! alone: `hardlink` makes each shim a hard link to the `noot-shim`
//! launcher (which reads its command from `argv[0]`, as through a symlink),
//! and copies the launcher where a link cannot cross filesystems. For
//! sandboxes that forbid symlinks but where an `sh` per call is too slow.
//!
//! Load it with `[plugins] paths = ["…/libnoot_example_hardlink_shims.so"]`
//! and choose it with `[mox] shim_backend = "hardlink"`.

use std::path::Path;

use noot_plugin_api::prelude::*;

struct Hardlink;

fn valid(command: &str) -> Result<(), PluginError> {
    if command.is_empty() || command == "." || command == ".." || command.contains('/') {
        return Err(PluginError::failed(format!("`{command}` is not a command name")));
    }
    Ok(())
}

impl ShimBackendPlugin for Hardlink {
    fn materialise(&self, request: &ShimRequest) -> Result<Vec<ShimCreated>, PluginError> {
        let dir = Path::new(request.dir.as_str());
        let launcher = Path::new(request.launcher.as_str());
        let mut made = Vec::new();
        for command in &request.commands {
            valid(command.as_str())?;
            let path = dir.join(command.as_str());
            if std::fs::hard_link(launcher, &path).is_err() {
                std::fs::copy(launcher, &path).map_err(|e| {
                    PluginError::failed(format!(
                        "cannot link or copy {} to {}: {e}",
                        launcher.display(),
                        path.display()
                    ))
                })?;
            }
            made.push(ShimCreated {
                command: command.clone(),
                path: RString::from(path.to_string_lossy().into_owned()),
            });
        }
        Ok(made)
    }
}

noot_plugin_api::plugin_library! {
    shim_backends: {
        "hardlink" => {
            version: env!("CARGO_PKG_VERSION"),
            summary: "a hard link per command to noot-shim (a copy across filesystems)",
            new: |config: &str, _ports: HostPorts| {
                parse_config::<std::collections::BTreeMap<String, ()>>("[mox.shim_backend_options.hardlink]", config)
                    .and_then(|table| if table.is_empty() { Ok(Hardlink) } else { Err(PluginError::invalid_config("the hardlink backend takes no options")) })
            },
        },
    },
}

noot_plugin_api::export_plugin_library!(root_module);
