//! The engine every subsystem shares.
//!
//! - [`ports`]: the outside world (time, environment, files, processes,
//!   events, progress) behind traits, with real implementations here and
//!   fakes for unit tests; [`abi_ports`] hands them to plugins.
//! - [`events`] and [`render`]: structured events and their human and JSON
//!   renderers, including the TTY-aware progress line.
//! - [`store`]: atomic, schema-versioned JSON files and JSONL logs.
//! - [`digest`]: content digests and staleness over a dependency graph.
//! - [`scheduler`]: a DAG of jobs run deps-first, critical path first.
//! - [`procs`]: child processes in their own process groups, with deadlines
//!   and capped output.
//! - [`reaper`]: what noot started dies with it, even under `kill -9`.
//! - [`process_bound`]: a fork bomb in a test meets a refused fork, not a
//!   full process table.
//! - [`strays`]: what a mutant's tests leave running dies soon after its
//!   verdict, not at the end of the run.

pub mod abi_ports;
pub mod digest;
pub mod events;
pub mod ports;
pub mod process_bound;
pub mod procs;
pub mod reaper;
pub mod render;
pub mod scheduler;
pub mod store;
pub mod strays;
pub mod text;

#[cfg(test)]
pub mod fakes;
#[cfg(test)]
pub mod test_tree;
