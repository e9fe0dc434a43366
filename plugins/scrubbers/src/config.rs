//! The `default` scrubber's own table in `noot.toml`
//! (`[scrub.plugin.default]`).

use noot_plugin_api::PluginError;
use serde::Deserialize;

/// Settings of the `default` scrubber.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DefaultScrubberConfig {
    /// Rule ids to switch off.
    pub disable: Vec<String>,
    /// Minimum Shannon entropy (bits per byte) for context-gated rules.
    pub entropy_threshold: f64,
    /// Regexes: a finding whose secret matches one is left alone (for
    /// well-known test keys).
    pub allow: Vec<String>,
}

impl Default for DefaultScrubberConfig {
    fn default() -> Self {
        Self { disable: Vec::new(), entropy_threshold: 3.0, allow: Vec::new() }
    }
}

impl DefaultScrubberConfig {
    /// Parses the JSON text of the table (`{}` or empty for defaults).
    pub fn from_json(json: &str) -> Result<Self, PluginError> {
        if json.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(json).map_err(|e| {
            PluginError::invalid_config(format!(
                "[scrub.plugin.default]: {e} (known keys: disable, entropy_threshold, allow)"
            ))
        })
    }
}
