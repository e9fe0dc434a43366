//! Ctrl-C while a phase of a run blocks: a watcher thread polls the stop
//! flag beside the work and, the moment it is set, calls `on_stop` (kill
//! the runner's processes), so the blocked call returns at once instead of
//! when its tests end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the watcher looks at the flag.
const POLL: Duration = Duration::from_millis(25);

/// Runs `work`; if `stop` is set before it returns, calls `on_stop` once.
pub fn until_done<T>(stop: &AtomicBool, on_stop: impl Fn() + Sync, work: impl FnOnce() -> T) -> T {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                if stop.load(Ordering::SeqCst) {
                    on_stop();
                    return;
                }
                std::thread::sleep(POLL);
            }
        });
        let result = work();
        done.store(true, Ordering::SeqCst);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_stop_during_the_work_calls_on_stop_once_and_the_work_ends() {
        let stop = AtomicBool::new(false);
        let stopped = AtomicUsize::new(0);
        let released = AtomicBool::new(false);
        let value = until_done(
            &stop,
            || {
                stopped.fetch_add(1, Ordering::SeqCst);
                released.store(true, Ordering::SeqCst);
            },
            || {
                stop.store(true, Ordering::SeqCst);
                while !released.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                7
            },
        );
        assert_eq!(value, 7);
        assert_eq!(stopped.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn without_a_stop_on_stop_is_never_called() {
        let stop = AtomicBool::new(false);
        let stopped = AtomicUsize::new(0);
        let value = until_done(&stop, || _ = stopped.fetch_add(1, Ordering::SeqCst), || 3);
        assert_eq!(value, 3);
        assert_eq!(stopped.load(Ordering::SeqCst), 0);
    }
}
