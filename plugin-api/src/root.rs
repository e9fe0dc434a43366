//! The root module every plugin library exports, and the "not provided"
//! constructors a library puts in the slots of kinds it does not offer.

// `#[derive(StableAbi)]` with `prefix_ref` names the generated reference
// type `NootPluginLib_Ref`; the name is abi_stable's convention, not ours.
#![allow(non_camel_case_types)]

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RResult, RStr, RVec};
use abi_stable::{StableAbi, package_version_strings};

use crate::{
    HostPorts, PluginError, PluginInfo, PluginKind, RunnerBox, ScrubberBox, ShimBackendBox,
    StrategyBox,
};

/// The root module of a noot plugin library.
///
/// Each constructor takes `(name, config_json, ports)`: the plugin's name,
/// its own table from `noot.toml` as a JSON object (`{}` when there is
/// none), and the host ports. A constructor rejects keys it does not know
/// with [`PluginError::InvalidConfig`].
///
/// Build it with `NootPluginLib { … }.leak_into_prefix()` and export it
/// with [`crate::export_plugin_library!`]. Fields after the one marked
/// `last_prefix_field` were added in later versions; the host reads them as
/// optional, so older libraries keep loading.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = NootPluginLib_Ref)))]
#[sabi(missing_field(option))]
pub struct NootPluginLib {
    /// Every plugin the library provides.
    pub provides: extern "C" fn() -> RVec<PluginInfo>,
    /// Constructs a mutation runner.
    pub new_runner: extern "C" fn(RStr<'_>, RStr<'_>, HostPorts) -> RResult<RunnerBox, PluginError>,
    /// Constructs an experiment strategy.
    pub new_strategy:
        extern "C" fn(RStr<'_>, RStr<'_>, HostPorts) -> RResult<StrategyBox, PluginError>,
    /// Constructs a shim backend.
    pub new_shim_backend:
        extern "C" fn(RStr<'_>, RStr<'_>, HostPorts) -> RResult<ShimBackendBox, PluginError>,
    /// Constructs a scrubber.
    #[sabi(last_prefix_field)]
    pub new_scrubber:
        extern "C" fn(RStr<'_>, RStr<'_>, HostPorts) -> RResult<ScrubberBox, PluginError>,
}

impl RootModule for NootPluginLib_Ref {
    abi_stable::declare_root_module_statics! {NootPluginLib_Ref}

    const BASE_NAME: &'static str = "noot_plugin";
    const NAME: &'static str = "noot_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The `new_runner` of a library that provides no runner.
pub extern "C" fn no_runner(
    name: RStr<'_>,
    _: RStr<'_>,
    _: HostPorts,
) -> RResult<RunnerBox, PluginError> {
    RResult::RErr(PluginError::not_provided(PluginKind::Runner, name.as_str()))
}

/// The `new_strategy` of a library that provides no strategy.
pub extern "C" fn no_strategy(
    name: RStr<'_>,
    _: RStr<'_>,
    _: HostPorts,
) -> RResult<StrategyBox, PluginError> {
    RResult::RErr(PluginError::not_provided(PluginKind::Strategy, name.as_str()))
}

/// The `new_shim_backend` of a library that provides no shim backend.
pub extern "C" fn no_shim_backend(
    name: RStr<'_>,
    _: RStr<'_>,
    _: HostPorts,
) -> RResult<ShimBackendBox, PluginError> {
    RResult::RErr(PluginError::not_provided(PluginKind::ShimBackend, name.as_str()))
}

/// The `new_scrubber` of a library that provides no scrubber.
pub extern "C" fn no_scrubber(
    name: RStr<'_>,
    _: RStr<'_>,
    _: HostPorts,
) -> RResult<ScrubberBox, PluginError> {
    RResult::RErr(PluginError::not_provided(PluginKind::Scrubber, name.as_str()))
}
