//! Loads plugin libraries from paths.
//!
//! Each library is opened with `lib_header_from_path(p)?.init_root_module()`,
//! which checks the library's `noot-plugin-api` version and the layout of
//! every type reachable from its root module. abi_stable's own
//! `RootModule::load_from_file` is not used: it caches one module per
//! interface type, so a second plugin library would silently come back as
//! the first. Libraries are never unloaded.

use std::path::{Path, PathBuf};

use noot_plugin_api::abi_stable::library::{LibraryError, lib_header_from_path};
use noot_plugin_api::{API_VERSION, NootPluginLib_Ref};

/// Why a library did not load: one line for people, the whole story for
/// `--verbose`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{summary}")]
pub struct LoadError {
    /// The library.
    pub path: PathBuf,
    /// One line: what, and what to do.
    pub summary: String,
    /// abi_stable's full report (can run to hundreds of lines).
    pub detail: String,
}

/// Loads the root module of the library at `path`.
pub fn load_library(path: &Path) -> Result<NootPluginLib_Ref, LoadError> {
    let header = lib_header_from_path(path).map_err(|e| describe(path, &e, None))?;
    let built_against = header.version_strings().version.to_string();
    header
        .init_root_module::<NootPluginLib_Ref>()
        .map_err(|e| describe(path, &e, Some(&built_against)))
}

fn describe(path: &Path, error: &LibraryError, built_against: Option<&str>) -> LoadError {
    let shown = path.display();
    let summary = match error {
        LibraryError::OpenError { .. } => {
            format!(
                "cannot load plugin {shown}: not a loadable shared library; build it as a cdylib and check the path"
            )
        }
        LibraryError::GetSymbolError { .. } => format!(
            "{shown} is not a noot plugin: it exports no root module; add `noot_plugin_api::export_plugin_library!(root_module);` to the cdylib"
        ),
        LibraryError::IncompatibleVersionNumber { actual_version, .. } => format!(
            "plugin {shown} was built against noot-plugin-api {actual_version}, this noot has {API_VERSION}: rebuild it against noot-plugin-api {API_VERSION}"
        ),
        LibraryError::AbiInstability(_) => format!(
            "plugin {shown} was built against noot-plugin-api {}, this noot has {API_VERSION}, and their interfaces differ: rebuild it against this noot's noot-plugin-api",
            built_against.unwrap_or("(unknown)")
        ),
        LibraryError::InvalidAbiHeader(_) | LibraryError::InvalidCAbi { .. } => format!(
            "plugin {shown} was built with an incompatible abi_stable or Rust C ABI: rebuild it against noot-plugin-api {API_VERSION}"
        ),
        LibraryError::RootModule { .. } => format!(
            "plugin {shown} failed while building its root module; run with --verbose for its message"
        ),
        _ => format!("cannot load plugin {shown}; run with --verbose for details"),
    };
    LoadError { path: path.to_path_buf(), summary, detail: error.to_string() }
}
