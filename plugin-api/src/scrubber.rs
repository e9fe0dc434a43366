//! The `Scrubber` kind: redacts secrets from text before noot stores it.

use abi_stable::sabi_trait::prelude::TD_Opaque;
use abi_stable::std_types::{RBox, RResult, RStr, RString, RVec};
use abi_stable::{StableAbi, sabi_trait};

use crate::{PluginError, guard};

/// One rule a scrubber applies.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable id, used in `<REDACTED:id>` markers and in reports.
    pub id: RString,
    /// What it finds.
    pub description: RString,
}

impl RuleInfo {
    /// A rule record.
    pub fn new(id: &str, description: &str) -> Self {
        Self { id: id.into(), description: description.into() }
    }
}

/// One secret found: which rule, and where in the scrubbed input.
///
/// The span is in bytes of the text given to [`Scrubber::scrub`]; the
/// secret itself is never part of a finding.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The [`RuleInfo::id`] that matched.
    pub rule: RString,
    /// Byte offset where the redacted part starts.
    pub start: u64,
    /// Byte offset one past its end.
    pub end: u64,
}

/// The scrubbed text and what was found in it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ScrubOutput {
    /// The input with every finding replaced.
    pub text: RString,
    /// The findings, in input order.
    pub findings: RVec<Finding>,
}

impl ScrubOutput {
    /// The input unchanged, with no findings.
    pub fn unchanged(text: &str) -> Self {
        Self { text: text.into(), findings: RVec::new() }
    }
}

/// A scrubber, as the host sees it. Implement [`ScrubberPlugin`] instead.
#[sabi_trait]
pub trait Scrubber: Send + Sync {
    /// The rules this scrubber applies.
    fn rules(&self) -> RResult<RVec<RuleInfo>, PluginError>;

    /// Scrubs `text`. `field` names what the text is (`stdout`, `stderr`,
    /// `file`, `env:NAME`, …), so a scrubber may treat fields differently.
    #[sabi(last_prefix_field)]
    fn scrub(&self, text: RStr<'_>, field: RStr<'_>) -> RResult<ScrubOutput, PluginError>;
}

/// Boxed [`Scrubber`], as constructors return it.
pub type ScrubberBox = Scrubber_TO<'static, RBox<()>>;

/// The trait a scrubber author implements, in plain Rust types.
pub trait ScrubberPlugin: Send + Sync + 'static {
    /// The rules this scrubber applies.
    fn rules(&self) -> Vec<RuleInfo>;

    /// Scrubs `text` (see [`Scrubber::scrub`]).
    fn scrub(&self, text: &str, field: &str) -> Result<ScrubOutput, PluginError>;
}

struct GuardedScrubber<T>(T);

impl<T: ScrubberPlugin> Scrubber for GuardedScrubber<T> {
    fn rules(&self) -> RResult<RVec<RuleInfo>, PluginError> {
        guard("Scrubber::rules", || Ok(self.0.rules().into()))
    }

    fn scrub(&self, text: RStr<'_>, field: RStr<'_>) -> RResult<ScrubOutput, PluginError> {
        guard("Scrubber::scrub", || self.0.scrub(text.as_str(), field.as_str()))
    }
}

/// Boxes a [`ScrubberPlugin`] with every method panic-guarded.
pub fn scrubber_box(plugin: impl ScrubberPlugin) -> ScrubberBox {
    Scrubber_TO::from_value(GuardedScrubber(plugin), TD_Opaque)
}
