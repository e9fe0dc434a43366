//! The `ShimBackend` kind: puts command shims for `noot mox` on disk.

use abi_stable::sabi_trait::prelude::TD_Opaque;
use abi_stable::std_types::{RBox, RResult, RString, RVec};
use abi_stable::{StableAbi, sabi_trait};

use crate::{PluginError, guard};

/// Which shims to make, and where.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq, Default)]
pub struct ShimRequest {
    /// The private folder the shims go into (put first on `PATH`).
    pub dir: RString,
    /// The launcher every shim hands over to (the `noot-shim` binary).
    pub launcher: RString,
    /// The command names to shim.
    pub commands: RVec<RString>,
}

/// One shim that was made.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ShimCreated {
    /// The command it stands in for.
    pub command: RString,
    /// Where it is.
    pub path: RString,
}

/// A shim backend, as the host sees it. Implement [`ShimBackendPlugin`] instead.
#[sabi_trait]
pub trait ShimBackend: Send + Sync {
    /// Makes one shim per command in `request.dir`.
    #[sabi(last_prefix_field)]
    fn materialise(&self, request: &ShimRequest) -> RResult<RVec<ShimCreated>, PluginError>;
}

/// Boxed [`ShimBackend`], as constructors return it.
pub type ShimBackendBox = ShimBackend_TO<'static, RBox<()>>;

/// The trait a shim-backend author implements, in plain Rust types.
pub trait ShimBackendPlugin: Send + Sync + 'static {
    /// See [`ShimBackend::materialise`].
    fn materialise(&self, request: &ShimRequest) -> Result<Vec<ShimCreated>, PluginError>;
}

struct GuardedShimBackend<T>(T);

impl<T: ShimBackendPlugin> ShimBackend for GuardedShimBackend<T> {
    fn materialise(&self, request: &ShimRequest) -> RResult<RVec<ShimCreated>, PluginError> {
        guard("ShimBackend::materialise", || self.0.materialise(request).map(RVec::from))
    }
}

/// Boxes a [`ShimBackendPlugin`] with every method panic-guarded.
pub fn shim_backend_box(plugin: impl ShimBackendPlugin) -> ShimBackendBox {
    ShimBackend_TO::from_value(GuardedShimBackend(plugin), TD_Opaque)
}
