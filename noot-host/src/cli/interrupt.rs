//! Ctrl-C (SIGINT) and SIGTERM: the first one sets a flag that long
//! commands watch (they stop starting work, kill what runs, save what
//! finished) and then exit with [`exit_code`]: 130 after SIGINT, 143
//! after SIGTERM, as a shell reports a process those signals killed. A
//! second signal exits at once with that code.
//!
//! The flag is a process-wide static because a signal handler can reach
//! nothing else; it is set only here.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The first signal received, 0 before any.
static FIRST_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    let _ = FIRST_SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + signal) };
    }
}

/// The exit code of a command that stopped because of a signal: 128 plus
/// the first signal's number (130 for Ctrl-C, 143 for SIGTERM).
pub fn exit_code() -> u8 {
    match FIRST_SIGNAL.load(Ordering::SeqCst) {
        libc::SIGTERM => 143,
        _ => 130,
    }
}

/// Installs the handlers and returns the flag they set.
pub fn install() -> &'static AtomicBool {
    let handler = on_signal as extern "C" fn(libc::c_int);
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only touches an atomic and calls _exit, both
        // async-signal-safe; sigaction is given a zeroed, valid struct.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
    &INTERRUPTED
}
