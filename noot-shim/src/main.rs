//! `noot-shim`: the launcher every command double's shim hands over to.
//!
//! Linked as `git` (native backend) it reads its command from `argv[0]`;
//! run as `noot-shim --as git …` (script backend) from the flag. All the
//! work is in [`noot_mox::client`], shared with noot's own fallback.
//!
//! `no_main`: the C runtime calls this `main` directly, skipping the Rust
//! runtime's start-up (stack-guard discovery through `/proc/self/maps`,
//! signal set-up), which is a measurable share of a call that should cost
//! little more than spawning `true`. It also leaves SIGPIPE at its default,
//! so a shim whose reader went away dies of it as the real command would.
#![no_main]

use std::ffi::{c_char, c_int};

#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // glibc hands argv to Rust's std through .init_array, so args_os works.
    noot_mox::client::run(std::env::args_os().collect())
}
