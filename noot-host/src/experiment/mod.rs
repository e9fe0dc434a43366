//! Experiments: one command (or, from Rust, one closure) run over a pool of
//! config variants, a strategy plugin deciding on each call which variants
//! run and whose result the caller gets, and every branch logged.
//!
//! [`pool`] loads the variants and their canonical ids; [`template`] fills
//! a command's placeholders; [`state`] keeps the call counter and the
//! strategy's state between invocations; [`call`] runs one call of a
//! command experiment, and [`detach`] hands its shadows to a helper that
//! outlives it; [`record`] is what each branch leaves; [`log`]
//! writes records to JSONL and MLflow, and [`sync`] sends MLflow what it
//! missed; [`summary`] aggregates them for
//! `noot experiment show`; [`api`] is the same machinery over closures.

pub mod api;
pub mod branch;
pub mod call;
pub mod detach;
pub mod log;
pub mod mlflow;
pub mod pool;
pub mod prepare;
pub mod record;
pub mod state;
pub mod summary;
pub mod sync;
pub mod template;
