//! End-to-end tests: the real `noot` and `cargo-noot` binaries against
//! fixture projects, real plugin cdylibs built by cargo, and insta
//! snapshots (in `snapshots/`) of every machine-readable output.

mod cli;
mod config;
mod conformance;
mod experiment;
mod experiment_api;
mod mlflow;
mod mox;
mod mox_fixtures;
mod mutate;
mod mutate_rust;
mod plugins;
mod pytest_plugin;
mod scrub;
mod support;
