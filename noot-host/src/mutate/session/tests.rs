//! The shared session with a language and a runner of its own, on fake
//! ports: what is run, reused, decided without a run and stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use noot_plugin_api::abi_stable::std_types::{RNone, RString};
use noot_plugin_api::{MutantJob, MutantStatus, MutantVerdict, PluginError, RunnerSession};

use super::*;
use crate::engine::events::Event;
use crate::engine::fakes::{RecordingEvents, fake_ports};
use crate::mutate::catalog::Catalog;
use crate::mutate::execute::Limits;
use crate::mutate::lang::{Baseline, ChosenRunner, KeyAfterRun};
use crate::mutate::results::Status;
use crate::mutate::selection::Selected;

/// Kills a mutant whose id says `killed`, lets the rest survive, and
/// remembers which it ran.
struct Scripted {
    ran: Arc<Mutex<Vec<String>>>,
    /// Set when the first mutant runs: Ctrl-C in the middle of a run.
    interrupt: Option<Arc<AtomicBool>>,
}

impl noot_plugin_api::RunnerPlugin for Scripted {
    fn prepare(&self, _: &RunnerSession) -> Result<(), PluginError> {
        Ok(())
    }
    fn run_mutant(&self, job: &MutantJob) -> Result<MutantVerdict, PluginError> {
        self.ran.lock().unwrap_or_else(|e| e.into_inner()).push(job.mutant_id.to_string());
        if let Some(stop) = &self.interrupt {
            stop.store(true, Ordering::SeqCst);
        }
        let status = if job.mutant_id.contains("killed") {
            MutantStatus::Killed
        } else {
            MutantStatus::Survived
        };
        Ok(MutantVerdict {
            status,
            duration_ms: 4,
            exit_code: RNone,
            output: RString::new(),
            detail: "scripted".into(),
            cpu_limited: false,
        })
    }
    fn repro(&self, job: &MutantJob) -> String {
        format!("repro {}", job.mutant_id)
    }
    fn cancel(&self) {}
    fn shutdown(&self) -> Result<(), PluginError> {
        Ok(())
    }
}

/// A language whose analysis and stats run are given: every mutant but
/// `m.unreached__noot_1` is reached, `m.broken__noot_1` does not build,
/// and each key is `key-` and the id unless `keys` says otherwise.
struct Fake {
    catalog: Catalog,
    keys: HashMap<String, String>,
    /// Keys made anew once a mutant ran (see `KeyAfterRun`).
    after_run: HashMap<String, String>,
    runner: noot_plugin_api::RunnerBox,
    uses: Vec<RunnerUse>,
    finished: usize,
}

const IDS: [&str; 4] =
    ["m.killed__noot_1", "m.survived__noot_1", "m.unreached__noot_1", "m.broken__noot_1"];

impl Fake {
    fn new(ran: &Arc<Mutex<Vec<String>>>) -> Self {
        let mutants = IDS
            .iter()
            .map(|id| Mutant {
                id: (*id).into(),
                function: id.trim_end_matches("__noot_1").into(),
                file: "m.py".into(),
                ..Mutant::default()
            })
            .collect();
        Self {
            catalog: Catalog { mutants, ..Catalog::default() },
            keys: IDS.iter().map(|id| ((*id).to_owned(), format!("key-{id}"))).collect(),
            after_run: HashMap::new(),
            runner: noot_plugin_api::runner_box(Scripted { ran: Arc::clone(ran), interrupt: None }),
            uses: Vec::new(),
            finished: 0,
        }
    }
}

impl LanguageRun for Fake {
    fn catalog(&self) -> &Catalog {
        &self.catalog
    }
    fn baseline(&mut self, _stop: &AtomicBool) -> Result<Baseline, RunError> {
        let selected = Selected { tests: vec!["t.py::a".into()], ..Selected::default() };
        Ok(Baseline {
            selection: IDS
                .iter()
                .filter(|id| !id.contains("unreached"))
                .map(|id| ((*id).to_owned(), selected.clone()))
                .collect(),
            keys: self.keys.clone(),
            limits: Limits {
                multiplier: 10.0,
                cpu_multiplier: 10.0,
                floor_secs: 5.0,
                startup_ms: 0,
            },
            key_after_run: {
                let after_run = self.after_run.clone();
                KeyAfterRun::new(move |id| after_run.get(id).cloned())
            },
        })
    }
    fn verdict_without_running(&self, mutant: &Mutant) -> Option<(Status, String)> {
        mutant.id.contains("broken").then(|| (Status::Unviable, "does not build".to_owned()))
    }
    fn runner(
        &mut self,
        _baseline: &Baseline,
        usage: RunnerUse,
        _stop: &AtomicBool,
    ) -> Result<ChosenRunner<'_>, RunError> {
        self.uses.push(usage);
        Ok(ChosenRunner { runner: &self.runner, name: "scripted".into(), reason: "given".into() })
    }
    fn finish(&mut self, report: &mut RunReport, current: &BTreeSet<&str>) {
        self.finished += 1;
        report.summary.interpreter = format!("{} current", current.len());
    }
}

fn request() -> RunRequest {
    RunRequest { jobs: 2, ..RunRequest::default() }
}

fn run(fake: &mut Fake, ports: &Ports, request: &RunRequest) -> Result<RunReport, RunError> {
    let root = Path::new("/p");
    run_language(fake, root, &root.join(STATE_DIR), ports, request, &AtomicBool::new(false))
}

fn statuses(report: &RunReport) -> Vec<(String, Status)> {
    report.mutants.iter().map(|m| (m.id.clone(), m.status)).collect()
}

fn taken(ran: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    let mut ids = std::mem::take(&mut *ran.lock().unwrap_or_else(|e| e.into_inner()));
    ids.sort();
    ids
}

#[test]
fn a_first_run_tests_what_is_reached_and_decides_the_rest_without_a_run() {
    let ports = fake_ports();
    let ran = Arc::default();
    let mut fake = Fake::new(&ran);
    let report = run(&mut fake, &ports, &request()).expect("runs");
    assert_eq!(taken(&ran), ["m.killed__noot_1", "m.survived__noot_1"]);
    let mut got = statuses(&report);
    got.sort();
    assert_eq!(
        got,
        [
            ("m.broken__noot_1".to_owned(), Status::Unviable),
            ("m.killed__noot_1".to_owned(), Status::Killed),
            ("m.survived__noot_1".to_owned(), Status::Survived),
            ("m.unreached__noot_1".to_owned(), Status::NoTests),
        ]
    );
    assert_eq!((report.summary.tested, report.summary.reused), (2, 0));
    assert_eq!(report.runner, "scripted");
    assert_eq!(report.summary.runner_reason, "given");
    assert_eq!(fake.uses, [RunnerUse::Run]);
    assert_eq!((fake.finished, report.summary.interpreter.as_str()), (1, "4 current"));
    // What the next run and `noot results` read: the session file and
    // the compacted results, both through the Fs port.
    let fs = ports.fs.as_ref();
    let session: SessionFile = Store::new(fs)
        .load(&Path::new("/p").join(STATE_DIR).join("session.json"))
        .expect("reads")
        .expect("saved");
    assert_eq!((session.runner.as_str(), session.mutants.len()), ("scripted", 4));
    let stored = ResultStore::new(fs, &Path::new("/p").join(STATE_DIR)).load().expect("loads");
    assert_eq!(stored.results.len(), 4);
}

#[test]
fn a_second_run_reuses_every_result_whose_key_is_unchanged() {
    let ports = fake_ports();
    let ran = Arc::default();
    let mut fake = Fake::new(&ran);
    run(&mut fake, &ports, &request()).expect("first");
    taken(&ran);
    let report = run(&mut fake, &ports, &request()).expect("second");
    assert!(taken(&ran).is_empty(), "nothing runs again");
    assert_eq!((report.summary.tested, report.summary.reused), (0, 4));
    assert_eq!(fake.uses.last(), Some(&RunnerUse::Idle), "no worker starts for nothing");

    // One key changes: that mutant alone runs again.
    fake.keys.insert("m.killed__noot_1".into(), "edited".into());
    let report = run(&mut fake, &ports, &request()).expect("third");
    assert_eq!(taken(&ran), ["m.killed__noot_1"]);
    assert_eq!((report.summary.tested, report.summary.reused), (1, 3));

    // --force runs everything reached again.
    let forced = RunRequest { force: true, ..request() };
    run(&mut fake, &ports, &forced).expect("forced");
    assert_eq!(taken(&ran), ["m.killed__noot_1", "m.survived__noot_1"]);
}

#[test]
fn debug_describes_reused_results_without_running_them() {
    let events = Arc::new(RecordingEvents::default());
    let ports = Ports { events: Arc::clone(&events) as _, ..fake_ports() };
    let ran = Arc::default();
    let mut fake = Fake::new(&ran);
    run(&mut fake, &ports, &request()).expect("first");
    taken(&ran);
    let debug = RunRequest { debug: true, filters: vec!["m.killed".into()], ..request() };
    let report = run(&mut fake, &ports, &debug).expect("debug");
    assert!(taken(&ran).is_empty());
    assert_eq!(fake.uses.last(), Some(&RunnerUse::Describe));
    assert_eq!(statuses(&report), [("m.killed__noot_1".to_owned(), Status::Killed)]);
    let notes: Vec<String> = events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Note { message } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(notes, ["debug: m.killed__noot_1 (result reused): repro m.killed__noot_1"]);
}

#[test]
fn a_filter_that_matches_nothing_is_an_error_naming_the_closest_ids() {
    let ports = fake_ports();
    let ran = Arc::default();
    let mut fake = Fake::new(&ran);
    let typo = RunRequest { filters: vec!["m.kiled".into()], ..request() };
    let error = run(&mut fake, &ports, &typo).expect_err("nothing matches");
    let RunError::Setup { message, help, .. } = error else { panic!("a setup error") };
    assert!(message.contains("no mutant matches `m.kiled`"), "{message}");
    assert!(help.unwrap_or_default().contains("m.killed"), "the closest is named");
    assert!(taken(&ran).is_empty());
    assert_eq!(fake.finished, 0);
}

#[test]
fn ctrl_c_before_the_first_mutant_runs_nothing_and_says_interrupted() {
    let ports = fake_ports();
    let ran = Arc::default();
    let mut fake = Fake::new(&ran);
    let root = Path::new("/p");
    let stop = AtomicBool::new(true);
    let report = run_language(&mut fake, root, &root.join(STATE_DIR), &ports, &request(), &stop)
        .expect("a report of what there is");
    assert!(taken(&ran).is_empty());
    assert!(report.summary.interrupted);
    assert_eq!(report.summary.counts.unviable + report.summary.counts.no_tests, 2);
}

#[test]
fn results_outside_the_filter_are_kept_and_those_of_gone_mutants_dropped() {
    let ports = fake_ports();
    let ran = Arc::default();
    let mut fake = Fake::new(&ran);
    run(&mut fake, &ports, &request()).expect("first");
    // `broken` is gone from the code; only `killed` is asked for.
    fake.catalog.mutants.retain(|m| m.id != "m.broken__noot_1");
    let only = RunRequest { filters: vec!["m.killed".into()], ..request() };
    run(&mut fake, &ports, &only).expect("filtered");
    let stored = ResultStore::new(ports.fs.as_ref(), &Path::new("/p").join(STATE_DIR))
        .load()
        .expect("loads");
    let ids: Vec<&str> = stored.results.keys().map(String::as_str).collect();
    assert_eq!(ids, ["m.killed__noot_1", "m.survived__noot_1", "m.unreached__noot_1"]);
}

#[test]
fn ctrl_c_in_the_middle_drops_the_verdict_in_flight_and_keeps_the_rest() {
    let ports = fake_ports();
    let ran = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut fake = Fake::new(&ran);
    fake.runner = noot_plugin_api::runner_box(Scripted {
        ran: Arc::clone(&ran),
        interrupt: Some(Arc::clone(&stop)),
    });
    let root = Path::new("/p");
    let one_job = RunRequest { jobs: 1, ..request() };
    let report = run_language(&mut fake, root, &root.join(STATE_DIR), &ports, &one_job, &stop)
        .expect("a report of what there is");
    assert_eq!(taken(&ran).len(), 1, "nothing new starts after Ctrl-C");
    assert!(report.summary.interrupted);
    assert_eq!(report.summary.tested, 0, "the verdict in flight is not a result");
    let stored = ResultStore::new(ports.fs.as_ref(), &root.join(STATE_DIR)).load().expect("loads");
    let mut statuses: Vec<Status> = stored.results.values().map(|r| r.status).collect();
    statuses.sort_by_key(|s| s.name());
    assert_eq!(statuses, [Status::NoTests, Status::Unviable], "decided without a run: kept");
    // The next run tests both mutants that were to run.
    let again = run(&mut fake, &ports, &request()).expect("resumed");
    assert_eq!(again.summary.tested, 2);
}

/// A mutant's verdict is stored under the key its language makes once it
/// ran (a Rust run that reached more than its tests): the next run, whose
/// key is that one, reuses it.
#[test]
fn a_verdict_is_stored_under_the_key_made_after_its_run() {
    let ports = fake_ports();
    let ran = Arc::default();
    let mut fake = Fake::new(&ran);
    fake.after_run.insert("m.killed__noot_1".into(), "key covering its own reach".into());
    run(&mut fake, &ports, &request()).expect("first");
    taken(&ran);
    fake.keys.insert("m.killed__noot_1".into(), "key covering its own reach".into());
    let report = run(&mut fake, &ports, &request()).expect("second");
    assert!(taken(&ran).is_empty(), "nothing runs again");
    assert_eq!((report.summary.tested, report.summary.reused), (0, 4));
}
