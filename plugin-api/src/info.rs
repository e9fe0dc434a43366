//! What a library says it provides: one [`PluginInfo`] per plugin.

use std::fmt;
use std::str::FromStr;

use abi_stable::StableAbi;
use abi_stable::std_types::RString;

/// The four kinds of plugins noot knows.
///
/// On the wire the kind is a string (see [`PluginKind::as_str`]) rather than
/// an enum, so that a host that knows more kinds still reads the
/// [`PluginInfo`] of an older library, and the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PluginKind {
    /// Runs one mutant's tests: `subprocess`, `inprocess`, …
    Runner,
    /// Chooses which experiment branches run and which result is returned.
    Strategy,
    /// Materialises command shims for `noot mox`.
    ShimBackend,
    /// Redacts secrets from text noot stores.
    Scrubber,
}

impl PluginKind {
    /// Every kind, in display order.
    pub const ALL: [PluginKind; 4] =
        [Self::Runner, Self::Strategy, Self::ShimBackend, Self::Scrubber];

    /// The kind's name as it appears in `noot.toml` and in listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Runner => "runner",
            Self::Strategy => "strategy",
            Self::ShimBackend => "shim-backend",
            Self::Scrubber => "scrubber",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PluginKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == s).ok_or_else(|| {
            format!("unknown plugin kind `{s}` (known: runner, strategy, shim-backend, scrubber)")
        })
    }
}

/// One plugin a library provides.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// The kind, as [`PluginKind::as_str`] spells it.
    pub kind: RString,
    /// The name users select the plugin by, unique within its kind.
    pub name: RString,
    /// The plugin's own version (semver).
    pub version: RString,
    /// One line saying what it does.
    pub summary: RString,
}

impl PluginInfo {
    /// A record for a plugin of `kind` called `name`.
    pub fn new(kind: PluginKind, name: &str, version: &str, summary: &str) -> Self {
        Self {
            kind: kind.as_str().into(),
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
        }
    }

    /// The kind, or `None` if it is one this version of the API does not know.
    pub fn kind(&self) -> Option<PluginKind> {
        self.kind.parse().ok()
    }
}
