//! The stable plugin ABI of noot.
//!
//! This crate is the only thing a third-party plugin depends on. A plugin
//! library (a `cdylib`) exports one root module, [`NootPluginLib`], through
//! [`export_plugin_library!`]. The root module lists what the library
//! provides ([`PluginInfo`]) and has one constructor per plugin kind. Each
//! constructor receives the plugin's name, its configuration table as JSON
//! text, and the [`HostPorts`] through which a plugin touches the outside
//! world, and returns an FFI-safe trait object.
//!
//! [`plugin_library!`] writes that root module for you. Plugin authors
//! implement the plain Rust traits [`ScrubberPlugin`],
//! [`StrategyPlugin`], [`RunnerPlugin`] and [`ShimBackendPlugin`] and box
//! them with [`scrubber_box`], [`strategy_box`], [`runner_box`] and
//! [`shim_backend_box`]. The boxing wraps every method in [`guard`], so a
//! panic inside a plugin becomes [`PluginError::Panicked`] instead of
//! unwinding across the library boundary (which would abort the host).
//!
//! # Compatibility
//!
//! The host checks, on load, that the library was built against a
//! compatible version of this crate (same `0.x` minor) and that the layout
//! of every type reachable from the root module matches. New plugin kinds
//! and trait methods are appended after the fields marked
//! `#[sabi(last_prefix_field)]`, so libraries built against an older
//! version of this crate keep loading: the host sees the missing
//! constructors as absent.
//!
//! # A minimal plugin
//!
//! ```
//! use noot_plugin_api::prelude::*;
//!
//! struct Upper;
//! impl ScrubberPlugin for Upper {
//!     fn rules(&self) -> Vec<RuleInfo> {
//!         vec![RuleInfo::new("shout", "upper-cases nothing, finds nothing")]
//!     }
//!     fn scrub(&self, text: &str, _field: &str) -> Result<ScrubOutput, PluginError> {
//!         Ok(ScrubOutput::unchanged(text))
//!     }
//! }
//!
//! // Generates `provides`, panic-guarded constructors and `root_module()`.
//! noot_plugin_api::plugin_library! {
//!     scrubbers: {
//!         "upper" => {
//!             version: "0.1.0",
//!             summary: "an example",
//!             new: |_config: &str, _ports: HostPorts| Ok(Upper),
//!         },
//!     },
//! }
//!
//! // In the cdylib: noot_plugin_api::export_plugin_library!(root_module);
//! # let lib = root_module();
//! # assert_eq!(lib.provides()().len(), 1);
//! ```

// abi_stable's derive and sabi_trait macros generate items (vtables,
// `_TO` constructors, prefix-field accessors) that carry no docs and
// trip `missing_docs`, so that lint stays at its default (allow) here.
// Everything written by hand in this crate is documented.
//
// `#[sabi_trait]` expands to impls inside a generated `const _: () = {…}`
// block, which rustc's `non_local_definitions` lint flags. The lint is about
// the macro's expansion, not our code, and is the only lint allowed here.
#![allow(non_local_definitions)]

pub use abi_stable;
/// Re-exported so a plugin can parse its JSON config table without a
/// dependency of its own: `#[derive(noot_plugin_api::serde::Deserialize)]`
/// with `#[serde(crate = "noot_plugin_api::serde")]`.
pub use serde;
/// Re-exported for [`parse_config`] and for plugins' own JSON.
pub use serde_json;

mod error;
mod export;
mod info;
mod ports;
mod root;
mod runner;
mod scrubber;
mod shim;
mod strategy;

pub use error::{PluginError, guard};
#[doc(hidden)]
pub use export::ROOT_MODULE_SYMBOL;
pub use info::{PluginInfo, PluginKind};
pub use ports::*;
pub use root::*;
pub use runner::*;
pub use scrubber::*;
pub use shim::*;
pub use strategy::*;

/// Parses a plugin's JSON config table (as handed to its constructor) into
/// `T`, turning a parse error into [`PluginError::InvalidConfig`] that names
/// the table. Use `#[serde(deny_unknown_fields)]` on `T` so typos are caught.
pub fn parse_config<T: serde::de::DeserializeOwned>(
    table: &str,
    json: &str,
) -> Result<T, PluginError> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| PluginError::invalid_config(format!("{table}: {e}")))
}

/// The version of this crate, which is the plugin ABI version a library was built against.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything a plugin author usually needs, in one import.
pub mod prelude {
    pub use crate::abi_stable::prefix_type::PrefixTypeTrait;
    pub use crate::abi_stable::std_types::{
        RBox, ROption, RResult, RSlice, RStr, RString, RVec, Tuple2,
    };
    pub use crate::*;
}
