//! The plugin registry: built-in plugins and third-party libraries, side by
//! side, behind the one ABI of `noot-plugin-api`.
//!
//! Built-ins are linked statically and registered by calling the very root
//! module function that their `cdylib` build exports, so they go through
//! the same interface as anything loaded from a path. Third-party libraries
//! come from `[plugins] paths` (see [`loader`]). Two plugins of one kind
//! with one name are an error naming both sources.

pub mod check;
pub mod loader;

use std::fmt;
use std::path::{Path, PathBuf};

use noot_plugin_api::abi_stable::std_types::RResult;
use noot_plugin_api::{
    HostPorts, NootPluginLib_Ref, PluginError, PluginInfo, PluginKind, RunnerBox, ScrubberBox,
    ShimBackendBox, StrategyBox,
};
use serde::Serialize;

use crate::config::{Location, error::closest};
use crate::engine::abi_ports::host_ports;
use crate::engine::ports::Ports;
pub use loader::LoadError;

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "path")]
pub enum PluginSource {
    /// Linked into noot.
    BuiltIn,
    /// Loaded from a library file.
    Path(PathBuf),
}

impl fmt::Display for PluginSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BuiltIn => f.write_str("built-in"),
            Self::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One registered plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginEntry {
    /// Its kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// What it does.
    pub summary: String,
    /// Where it came from.
    pub source: PluginSource,
    #[serde(skip)]
    library: usize,
}

/// Registry errors.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A library did not load.
    #[error("{location}: {error}")]
    Load {
        /// Where the path was named.
        location: Location,
        /// Why.
        error: LoadError,
    },
    /// Two plugins share a kind and a name.
    #[error(
        "two {kind} plugins are named `{name}`: one from {first}, one from {second}; remove one of the libraries from [plugins] paths"
    )]
    Duplicate {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// Where the first came from.
        first: PluginSource,
        /// Where the second came from.
        second: PluginSource,
    },
    /// No plugin of that kind and name.
    #[error("no {kind} plugin named `{name}`{suggestion}; `noot plugins list` shows them all")]
    Unknown {
        /// Kind.
        kind: PluginKind,
        /// Name.
        name: String,
        /// A "did you mean" clause, or the known names.
        suggestion: String,
    },
    /// A library lists a plugin of a kind this noot does not know.
    #[error(
        "{origin} lists a plugin `{name}` of unknown kind `{kind}`; upgrade noot or rebuild the plugin"
    )]
    UnknownKind {
        /// The library.
        origin: PluginSource,
        /// Name.
        name: String,
        /// The kind it gave.
        kind: String,
    },
    /// The plugin's constructor failed (bad config, panic, …).
    #[error("{kind} plugin `{name}` ({origin}): {error}")]
    Construct {
        /// Kind.
        kind: PluginKind,
        /// Name.
        name: String,
        /// Where it came from.
        origin: PluginSource,
        /// What it said.
        error: PluginError,
    },
}

struct Library {
    root: NootPluginLib_Ref,
    source: PluginSource,
}

/// Every plugin noot can use in this session.
pub struct Registry {
    libraries: Vec<Library>,
    entries: Vec<PluginEntry>,
}

/// The root modules of the built-in plugin crates, in listing order.
pub fn builtin_roots() -> Vec<fn() -> NootPluginLib_Ref> {
    vec![
        noot_plugin_scrubbers::root_module,
        noot_plugin_runners::root_module,
        noot_plugin_strategies::root_module,
        noot_plugin_shims::root_module,
    ]
}

impl Registry {
    /// A registry holding only the built-in plugins.
    pub fn with_builtins() -> Result<Self, RegistryError> {
        let mut registry = Self { libraries: Vec::new(), entries: Vec::new() };
        for root in builtin_roots() {
            registry.add(root(), PluginSource::BuiltIn)?;
        }
        Ok(registry)
    }

    /// A registry with no plugins (for `noot plugins check`).
    pub fn empty() -> Self {
        Self { libraries: Vec::new(), entries: Vec::new() }
    }

    /// Loads a library and registers its plugins.
    pub fn load(&mut self, path: &Path, location: &Location) -> Result<(), RegistryError> {
        let root = loader::load_library(path)
            .map_err(|error| RegistryError::Load { location: location.clone(), error })?;
        self.add(root, PluginSource::Path(path.to_path_buf()))
    }

    fn add(&mut self, root: NootPluginLib_Ref, source: PluginSource) -> Result<(), RegistryError> {
        let library = self.libraries.len();
        let infos: Vec<PluginInfo> = (root.provides())().into_iter().collect();
        for info in &infos {
            if info.kind().is_none() {
                return Err(RegistryError::UnknownKind {
                    origin: source,
                    name: info.name.to_string(),
                    kind: info.kind.to_string(),
                });
            }
            if let Some(existing) = self
                .entries
                .iter()
                .find(|e| e.kind == info.kind.as_str() && e.name == info.name.as_str())
            {
                return Err(RegistryError::Duplicate {
                    kind: info.kind.to_string(),
                    name: info.name.to_string(),
                    first: existing.source.clone(),
                    second: source,
                });
            }
        }
        for info in infos {
            self.entries.push(PluginEntry {
                kind: info.kind.to_string(),
                name: info.name.to_string(),
                version: info.version.to_string(),
                summary: info.summary.to_string(),
                source: source.clone(),
                library,
            });
        }
        self.libraries.push(Library { root, source });
        Ok(())
    }

    /// Every plugin, built-ins first, in registration order.
    pub fn entries(&self) -> &[PluginEntry] {
        &self.entries
    }

    /// The plugin of `kind` called `name`.
    pub fn find(&self, kind: PluginKind, name: &str) -> Result<&PluginEntry, RegistryError> {
        self.entries.iter().find(|e| e.kind == kind.as_str() && e.name == name).ok_or_else(|| {
            let known: Vec<&str> = self
                .entries
                .iter()
                .filter(|e| e.kind == kind.as_str())
                .map(|e| e.name.as_str())
                .collect();
            let suggestion = match closest(name, &known) {
                Some(best) => format!(" (did you mean `{best}`?)"),
                None if known.is_empty() => String::new(),
                None => format!(" (known: {})", known.join(", ")),
            };
            RegistryError::Unknown { kind, name: name.to_string(), suggestion }
        })
    }

    fn construct<T>(
        &self,
        kind: PluginKind,
        name: &str,
        config_json: &str,
        ports: &Ports,
        pick: impl FnOnce(
            &NootPluginLib_Ref,
        ) -> extern "C" fn(
            noot_plugin_api::abi_stable::std_types::RStr<'_>,
            noot_plugin_api::abi_stable::std_types::RStr<'_>,
            HostPorts,
        ) -> RResult<T, PluginError>,
    ) -> Result<T, RegistryError> {
        let entry = self.find(kind, name)?;
        let library = &self.libraries[entry.library];
        let source = library.source.clone();
        // Every kind so far is in the ABI's first prefix. A kind appended
        // later comes back as an `Option` and needs a "rebuild the plugin"
        // error here.
        let constructor = pick(&library.root);
        constructor(name.into(), config_json.into(), host_ports(ports)).into_result().map_err(
            |error| RegistryError::Construct {
                kind,
                name: name.to_string(),
                origin: source,
                error,
            },
        )
    }

    /// Builds scrubber `name` with its JSON config table.
    pub fn new_scrubber(
        &self,
        name: &str,
        config_json: &str,
        ports: &Ports,
    ) -> Result<ScrubberBox, RegistryError> {
        self.construct(PluginKind::Scrubber, name, config_json, ports, |root| root.new_scrubber())
    }

    /// Builds strategy `name` with its JSON config table.
    pub fn new_strategy(
        &self,
        name: &str,
        config_json: &str,
        ports: &Ports,
    ) -> Result<StrategyBox, RegistryError> {
        self.construct(PluginKind::Strategy, name, config_json, ports, |root| root.new_strategy())
    }

    /// Builds runner `name` with its JSON config table.
    pub fn new_runner(
        &self,
        name: &str,
        config_json: &str,
        ports: &Ports,
    ) -> Result<RunnerBox, RegistryError> {
        self.construct(PluginKind::Runner, name, config_json, ports, |root| root.new_runner())
    }

    /// Builds shim backend `name` with its JSON config table.
    pub fn new_shim_backend(
        &self,
        name: &str,
        config_json: &str,
        ports: &Ports,
    ) -> Result<ShimBackendBox, RegistryError> {
        self.construct(PluginKind::ShimBackend, name, config_json, ports, |root| {
            root.new_shim_backend()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fakes::fake_ports;

    #[test]
    fn builtins_are_registered_through_their_root_modules() {
        let registry = Registry::with_builtins().expect("built-ins load");
        let entry = registry.find(PluginKind::Scrubber, "default").expect("default scrubber");
        assert_eq!(entry.source, PluginSource::BuiltIn);
        let scrubber = registry.new_scrubber("default", "{}", &fake_ports()).expect("constructs");
        let out =
            scrubber.scrub("x ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9".into(), "file".into());
        assert_eq!(out.into_result().expect("scrubs").findings.len(), 1);
    }

    #[test]
    fn the_same_root_twice_is_a_duplicate_naming_both_sources() {
        let mut registry = Registry::with_builtins().expect("built-ins");
        let err = registry
            .add(noot_plugin_scrubbers::root_module(), PluginSource::Path("/x/libdup.so".into()))
            .expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "two scrubber plugins are named `default`: one from built-in, one from /x/libdup.so; remove one of the libraries from [plugins] paths"
        );
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        let registry = Registry::with_builtins().expect("built-ins");
        let err = registry.find(PluginKind::Scrubber, "defualt").expect_err("typo");
        assert!(err.to_string().contains("(did you mean `default`?)"), "{err}");
        let err = registry.find(PluginKind::ShimBackend, "path").expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "no shim-backend plugin named `path` (known: native, script); `noot plugins list` shows them all"
        );
        let err = registry.find(PluginKind::ShimBackend, "natve").expect_err("typo");
        assert!(err.to_string().contains("(did you mean `native`?)"), "{err}");
        let err = registry.find(PluginKind::Strategy, "round_robin").expect_err("typo");
        assert!(err.to_string().contains("(did you mean `round-robin`?)"), "{err}");
    }

    #[test]
    fn constructor_errors_carry_the_plugin_and_its_message() {
        let registry = Registry::with_builtins().expect("built-ins");
        let err = registry
            .new_scrubber("default", r#"{"entropy": 1}"#, &fake_ports())
            .err()
            .expect("bad config");
        let text = err.to_string();
        assert!(
            text.starts_with("scrubber plugin `default` (built-in): invalid configuration:"),
            "{text}"
        );
        assert!(text.contains("unknown field `entropy`"), "{text}");
    }

    #[test]
    fn a_file_that_is_not_a_library_is_refused_in_one_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = dir.path().join("libfake.so");
        std::fs::write(&fake, "definitely not ELF").expect("write");
        let mut registry = Registry::empty();
        let err = registry.load(&fake, &Location::Cli("--plugin".into())).expect_err("refused");
        let text = err.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.contains("not a loadable shared library"), "{text}");
    }
}
