//! noot: test quality for Python and Rust projects.
//!
//! One host program with four rooms on one engine: mutation testing,
//! command doubles, experiments over config variants, and secret scrubbing.
//! Everything a user may swap is a plugin behind the stable ABI of
//! `noot-plugin-api`; the built-in plugins are linked in and registered
//! through the very same interface.
//!
//! Data flows one way: [`cli`] parses and renders, a session in the core
//! ([`scrub`], …) does the work through the [`engine`] and the plugins from
//! the [`plugins`] registry, and returns a report. The core never prints.

pub mod cli;
pub mod config;
pub mod engine;
pub mod experiment;
pub mod mox;
pub mod mutate;
pub mod plugins;
pub mod scrub;
