//! Processes a mutant's tests left behind are killed soon after the
//! mutant is judged, not at the end of the run.
//!
//! A runner kills a mutant's process group when its tests end, but a
//! process that left the group (`setsid`, a daemon a test forgot to stop)
//! lives on. The reaper ([`super::reaper`]) kills it when noot ends; until
//! then, one such process per mutant piles up: thousands over a long run,
//! until the run's process bound ([`super::process_bound`]) refuses the
//! next test's fork and turns survivors into false kills.
//!
//! Every process a test starts with `exec` carries `MUTANT_UNDER_TEST=ID`
//! in its initial environment (`/proc/PID/environ`), beside this run's
//! label. While mutants run, a sweeper thread looks twice a second for
//! processes with this run's label whose `MUTANT_UNDER_TEST` names a
//! mutant (or the stats run) that is no longer in flight, and kills them.
//! A process forked by a test without `exec` keeps its parent's initial
//! environment and is left to the reaper.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the sweeper looks.
const SWEEP_EVERY: Duration = Duration::from_millis(500);

/// The variable that names the mutant a test process runs under.
const SWITCH: &[u8] = b"MUTANT_UNDER_TEST=";

/// The mutants whose tests may be running now, by id (a mutant and its
/// re-checks may overlap, so each id is counted).
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashMap<String, usize>>);

impl InFlight {
    /// Marks `id` in flight until the returned guard is dropped.
    pub fn enter(&self, id: &str) -> Entry<'_> {
        *self.lock().entry(id.to_owned()).or_default() += 1;
        Entry { in_flight: self, id: id.to_owned() }
    }

    fn contains(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A mutant in flight; dropping it ends that.
pub struct Entry<'a> {
    in_flight: &'a InFlight,
    id: String,
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        let mut ids = self.in_flight.lock();
        if let Some(count) = ids.get_mut(&self.id) {
            *count -= 1;
            if *count == 0 {
                ids.remove(&self.id);
            }
        }
    }
}

/// The sweeper thread; dropping it stops the thread.
pub struct Sweeper {
    stop: Arc<AtomicBool>,
    killed: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Sweeper {
    /// Starts sweeping for this run's label, or returns `None` when this
    /// noot has no label (no reaper: nothing marks its processes).
    pub fn start(in_flight: Arc<InFlight>) -> Option<Self> {
        let label = format!("{}=", super::reaper::own_label()?);
        let stop = Arc::new(AtomicBool::new(false));
        let killed = Arc::new(AtomicUsize::new(0));
        let (stop_flag, count) = (Arc::clone(&stop), Arc::clone(&killed));
        let thread = std::thread::Builder::new()
            .name("noot-strays".into())
            .spawn(move || {
                while !stop_flag.load(Ordering::SeqCst) {
                    count.fetch_add(sweep(label.as_bytes(), &in_flight), Ordering::SeqCst);
                    std::thread::park_timeout(SWEEP_EVERY);
                }
            })
            .ok()?;
        Some(Self { stop, killed, thread: Some(thread) })
    }

    /// How many processes it killed so far.
    pub fn killed(&self) -> usize {
        self.killed.load(Ordering::SeqCst)
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// One look: kills the processes labelled `label` left by a mutant no
/// longer in flight; returns how many.
fn sweep(label: &[u8], in_flight: &InFlight) -> usize {
    let me = std::process::id();
    let mut killed = 0;
    for (pid, environ) in super::reaper::labelled_environments(label) {
        let Some(owner) = stray_of(&environ) else { continue };
        if pid == me || in_flight.contains(&owner) {
            continue;
        }
        let Ok(pid) = libc::pid_t::try_from(pid) else { continue };
        // SAFETY: kill has no memory-safety preconditions.
        if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
            killed += 1;
        }
    }
    killed
}

/// The mutant (or `stats`) whose tests started the process with this
/// initial environment; `None` for noot's own processes (its workers, a
/// re-check without a mutant), which are never swept.
fn stray_of(environ: &[u8]) -> Option<String> {
    let value = environ.split(|&byte| byte == 0).find_map(|v| v.strip_prefix(SWITCH))?;
    let value = std::str::from_utf8(value).ok()?;
    (value == "stats" || value.contains("__noot_")).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_processes_started_under_a_mutant_or_the_stats_run_are_strays() {
        let environ = |value: &str| format!("PATH=/bin\0MUTANT_UNDER_TEST={value}\0HOME=/root\0");
        assert_eq!(stray_of(environ("pkg.f__noot_3").as_bytes()), Some("pkg.f__noot_3".into()));
        assert_eq!(stray_of(environ("stats").as_bytes()), Some("stats".into()));
        // A worker, or a re-check run without a mutant.
        assert_eq!(stray_of(environ("").as_bytes()), None);
        assert_eq!(stray_of(b"PATH=/bin\0"), None);
    }

    #[test]
    fn a_mutant_is_in_flight_until_its_last_entry_ends() {
        let in_flight = InFlight::default();
        let first = in_flight.enter("m__noot_1");
        let again = in_flight.enter("m__noot_1");
        drop(first);
        assert!(in_flight.contains("m__noot_1"));
        drop(again);
        assert!(!in_flight.contains("m__noot_1"));
    }

    /// A process labelled like this test's run, started under a mutant no
    /// longer in flight, is killed; one under a mutant in flight is not.
    #[test]
    fn a_sweep_kills_what_a_finished_mutant_left_and_spares_the_rest() {
        let label = format!("NOOT_REAP_stray_test_{}", std::process::id());
        let start = |id: &str| {
            std::process::Command::new("sleep")
                .arg("300")
                .env(&label, "1")
                .env("MUTANT_UNDER_TEST", id)
                .spawn()
                .expect("sleep starts")
        };
        let mut finished = start("pkg.f__noot_1");
        let mut running = start("pkg.f__noot_2");
        let in_flight = InFlight::default();
        let _entry = in_flight.enter("pkg.f__noot_2");
        // A process just started may not show its new environment yet:
        // look until it does (bounded), as the sweeper's next round would.
        let needle = format!("{label}=");
        let killed = (0..100)
            .map(|_| {
                let killed = sweep(needle.as_bytes(), &in_flight);
                if killed == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                killed
            })
            .find(|killed| *killed > 0);
        assert_eq!(killed, Some(1));
        let status = finished.wait().expect("waits");
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
        assert!(running.try_wait().expect("try_wait").is_none(), "in flight: spared");
        let _ = running.kill();
        let _ = running.wait();
    }
}
