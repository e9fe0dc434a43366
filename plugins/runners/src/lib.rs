//! noot's built-in mutation runners for pytest projects.
//!
//! - `subprocess` (the default): a fresh `python -m pytest -x …` per
//!   mutant, the mutant chosen by `MUTANT_UNDER_TEST`, started and
//!   supervised through the host's `Procs` port (own process group,
//!   deadline, CPU rlimit, capped output).
//! - `inprocess`: one warm worker per job slot that imported pytest and the
//!   project and collected the suite once, and forks a child per mutant
//!   that runs only the selected tests inside the live session.
//!
//! Both are linked into noot and registered through `root_module`, the
//! same function a `cdylib` build exports (with the `export` feature).

pub mod inprocess;
pub mod pytest;
pub mod subprocess;

noot_plugin_api::plugin_library! {
    runners: {
        "subprocess" => {
            version: env!("CARGO_PKG_VERSION"),
            summary: "a fresh pytest process per mutant (MUTANT_UNDER_TEST selects it)",
            new: |_config: &str, ports: HostPorts| Ok(subprocess::SubprocessRunner::new(ports)),
        },
        "inprocess" => {
            version: env!("CARGO_PKG_VERSION"),
            summary: "a warm pytest worker per job slot that forks a child per mutant",
            new: |_config: &str, ports: HostPorts| Ok(inprocess::InprocessRunner::new(ports)),
        },
    },
}

#[cfg(feature = "export")]
noot_plugin_api::export_plugin_library!(root_module);
