//! noot's built-in scrubber plugins.
//!
//! One plugin so far, `default`: a rule set for the secrets that leak into
//! test fixtures and logs most often (cloud and forge tokens, private keys,
//! JWTs, Authorization headers, passwords in URLs and in assignments). See
//! [`rules`] for the list and [`engine`] for how it runs fast.
//!
//! noot links this crate statically and registers it by calling
//! [`root_module`], the same function a `cdylib` build of the crate
//! exports (with the `export` feature) for the dynamic loader.

pub mod config;
pub mod engine;
pub mod entropy;
pub mod rules;

use noot_plugin_api::prelude::*;

use crate::config::DefaultScrubberConfig;
use crate::engine::RuleEngine;

/// The name of the default scrubber.
pub const DEFAULT_SCRUBBER: &str = "default";

/// The `default` scrubber: [`rules::BUILTIN_RULES`] behind a keyword prefilter.
pub struct DefaultScrubber {
    engine: RuleEngine,
}

impl DefaultScrubber {
    /// Builds the scrubber from its configuration.
    pub fn new(config: DefaultScrubberConfig) -> Result<Self, PluginError> {
        Ok(Self { engine: RuleEngine::new(config)? })
    }

    /// Builds it from the JSON text of its `noot.toml` table.
    pub fn from_json(config_json: &str) -> Result<Self, PluginError> {
        Self::new(DefaultScrubberConfig::from_json(config_json)?)
    }
}

impl ScrubberPlugin for DefaultScrubber {
    fn rules(&self) -> Vec<RuleInfo> {
        self.engine.rule_infos()
    }

    fn scrub(&self, text: &str, field: &str) -> Result<ScrubOutput, PluginError> {
        Ok(self.engine.scrub(text, field))
    }
}

extern "C" fn provides() -> RVec<PluginInfo> {
    RVec::from(vec![PluginInfo::new(
        PluginKind::Scrubber,
        DEFAULT_SCRUBBER,
        env!("CARGO_PKG_VERSION"),
        "redacts tokens, keys, JWTs, auth headers and passwords (keyword prefilter + per-rule regexes)",
    )])
}

extern "C" fn new_scrubber(
    name: RStr<'_>,
    config_json: RStr<'_>,
    _ports: HostPorts,
) -> RResult<ScrubberBox, PluginError> {
    guard("new_scrubber", || match name.as_str() {
        DEFAULT_SCRUBBER => Ok(scrubber_box(DefaultScrubber::from_json(config_json.as_str())?)),
        other => Err(PluginError::not_provided(PluginKind::Scrubber, other)),
    })
}

/// The library's root module: what the dynamic loader finds in the cdylib,
/// and what noot calls directly for the built-in copy.
pub fn root_module() -> NootPluginLib_Ref {
    NootPluginLib {
        provides,
        new_runner: no_runner,
        new_strategy: no_strategy,
        new_shim_backend: no_shim_backend,
        new_scrubber,
    }
    .leak_into_prefix()
}

#[cfg(feature = "export")]
noot_plugin_api::export_plugin_library!(root_module);
