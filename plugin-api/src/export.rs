//! [`export_plugin_library!`]: exports a root module from a `cdylib`.
//!
//! abi_stable's own `#[export_root_module]` expands to paths under
//! `::abi_stable`, which would force every plugin to depend on abi_stable
//! directly. This macro expands to the same static through this crate's
//! re-export, so a plugin depends on `noot-plugin-api` alone.

/// The symbol under which abi_stable looks for a library's header. Pinned by
/// a test against `abi_stable::library::ROOT_MODULE_LOADER_NAME`.
#[doc(hidden)]
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// Exports `$root` (a `fn() -> NootPluginLib_Ref`) as this library's root
/// module.
///
/// Use it once, in a crate built as a `cdylib`. A crate that is also linked
/// statically into another binary (as noot's built-in plugins are) must put
/// it behind a cargo feature: two exported roots in one binary clash at link
/// time.
///
/// ```ignore
/// noot_plugin_api::export_plugin_library!(root_module);
/// ```
#[macro_export]
macro_rules! export_plugin_library {
    ($root:path) => {
        #[doc(hidden)]
        #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
        pub static NOOT_PLUGIN_LIBRARY_HEADER: $crate::abi_stable::library::LibHeader = {
            extern "C" fn erased_root_module() -> $crate::abi_stable::library::RootModuleResult {
                $crate::abi_stable::library::__call_root_module_loader($root)
            }
            // SAFETY: `erased_root_module` returns the root module of type
            // `NootPluginLib_Ref`, the type the header is declared for, and
            // the layout check stays on.
            unsafe {
                $crate::abi_stable::library::LibHeader::from_constructor::<$crate::NootPluginLib_Ref>(
                    erased_root_module,
                    $crate::abi_stable::library::CheckTypeLayout::Yes,
                )
            }
        };
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_exported_symbol_is_the_one_abi_stable_looks_up() {
        assert_eq!(super::ROOT_MODULE_SYMBOL, abi_stable::library::ROOT_MODULE_LOADER_NAME);
    }

    #[test]
    fn the_macro_exports_under_that_symbol() {
        let needle = format!("export_name = \"{}\"", super::ROOT_MODULE_SYMBOL);
        assert!(include_str!("export.rs").contains(&needle));
    }
}
