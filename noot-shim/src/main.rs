//! `noot-shim`: the launcher every command double's shim hands over to.
//!
//! Linked as `git` (native backend) it reads its command from `argv[0]`;
//! run as `noot-shim --as git …` (script backend) from the flag. All the
//! work is in [`noot_mox::client`], shared with noot's own fallback.
//!
//! `no_main`: the C runtime calls this `main` directly, skipping the Rust
//! runtime's start-up (stack-guard discovery through `/proc/self/maps`,
//! signal set-up), a measurable share of a call that should cost little
//! more than spawning `true`. What that start-up did that matters here is
//! done below: arguments are read from `argv` itself, and descriptors 0-2
//! are opened on /dev/null when the caller closed them, so the socket never
//! lands on stdout. The client sets SIGPIPE itself.
#![no_main]

use std::ffi::{CStr, OsString, c_char, c_int};
use std::os::unix::ffi::OsStringExt;

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    reopen_closed_std_fds();
    let args = (0..usize::try_from(argc).unwrap_or(0))
        .filter_map(|i| {
            // SAFETY: the C runtime passes `argc` valid pointers in `argv`,
            // each to a NUL-terminated string that lives as long as the process.
            let arg = unsafe { *argv.add(i) };
            (!arg.is_null()).then(|| unsafe { CStr::from_ptr(arg) })
        })
        .map(|arg| OsString::from_vec(arg.to_bytes().to_vec()))
        .collect();
    noot_mox::client::run(args)
}

fn reopen_closed_std_fds() {
    for fd in 0..3 {
        // SAFETY: fcntl(F_GETFD) only queries a descriptor; open of a
        // constant NUL-terminated path has no other preconditions. The new
        // descriptor is the lowest free one, so it fills the closed slot.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1 {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
    }
}
