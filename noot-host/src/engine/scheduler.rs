//! Runs a DAG of jobs: dependencies first, at most `jobs` at once, and among
//! the ready jobs the one with the longest remaining path first (the
//! critical path). For independent jobs with known durations that is
//! longest-first, which keeps the last worker from finishing long after
//! the others.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

/// A job's index in its [`JobGraph`].
pub type JobId = usize;

/// Why a graph cannot be scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// A dependency names a job that does not exist.
    #[error("job {job} depends on job {dependency}, which does not exist")]
    UnknownJob {
        /// The job.
        job: JobId,
        /// The missing dependency.
        dependency: JobId,
    },
    /// The dependencies form a cycle.
    #[error("the job dependencies form a cycle through job {0}")]
    Cycle(JobId),
}

/// Jobs, their estimated costs, and their dependencies.
#[derive(Debug, Default, Clone)]
pub struct JobGraph {
    cost: Vec<u64>,
    deps: Vec<Vec<JobId>>,
}

impl JobGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a job with an estimated cost (any unit, e.g. ms or bytes).
    pub fn add_job(&mut self, estimated_cost: u64) -> JobId {
        self.cost.push(estimated_cost);
        self.deps.push(Vec::new());
        self.cost.len() - 1
    }

    /// `job` may start only after `dependency` finished.
    pub fn add_dependency(&mut self, job: JobId, dependency: JobId) {
        if let Some(deps) = self.deps.get_mut(job) {
            deps.push(dependency);
        }
    }

    /// How many jobs.
    pub fn len(&self) -> usize {
        self.cost.len()
    }

    /// True if there are no jobs.
    pub fn is_empty(&self) -> bool {
        self.cost.is_empty()
    }

    /// For each job, its cost plus the longest chain of jobs waiting on it.
    pub fn remaining_path(&self) -> Result<Vec<u64>, ScheduleError> {
        let order = self.topological_order()?;
        let dependents = self.dependents();
        let mut path = vec![0u64; self.len()];
        for &job in order.iter().rev() {
            let longest_after = dependents[job].iter().map(|&d| path[d]).max().unwrap_or(0);
            path[job] = self.cost[job].saturating_add(longest_after);
        }
        Ok(path)
    }

    fn dependents(&self) -> Vec<Vec<JobId>> {
        let mut dependents = vec![Vec::new(); self.len()];
        for (job, deps) in self.deps.iter().enumerate() {
            for &dep in deps {
                dependents[dep].push(job);
            }
        }
        dependents
    }

    /// Dependencies before dependents (Kahn's algorithm).
    fn topological_order(&self) -> Result<Vec<JobId>, ScheduleError> {
        for (job, deps) in self.deps.iter().enumerate() {
            if let Some(&dependency) = deps.iter().find(|&&d| d >= self.len()) {
                return Err(ScheduleError::UnknownJob { job, dependency });
            }
        }
        let dependents = self.dependents();
        let mut waiting: Vec<usize> = self.deps.iter().map(Vec::len).collect();
        let mut ready: Vec<JobId> = (0..self.len()).filter(|&j| waiting[j] == 0).collect();
        let mut order = Vec::with_capacity(self.len());
        while let Some(job) = ready.pop() {
            order.push(job);
            for &d in &dependents[job] {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.push(d);
                }
            }
        }
        match (0..self.len()).find(|&j| waiting[j] > 0) {
            Some(stuck) => Err(ScheduleError::Cycle(stuck)),
            None => Ok(order),
        }
    }
}

struct State {
    ready: BinaryHeap<(u64, Reverse<JobId>)>,
    waiting: Vec<usize>,
    running: usize,
    finished: usize,
}

/// Runs every job of `graph` with `work`, on at most `jobs` threads.
///
/// Returns one entry per job: `Some(result)`, or `None` for a job that never
/// started because `stop` was set (say, by Ctrl-C) before its turn. Jobs
/// already running are never interrupted here; `work` watches `stop` itself
/// if it can stop early.
pub fn run<R, F>(
    graph: &JobGraph,
    jobs: usize,
    stop: &AtomicBool,
    work: F,
) -> Result<Vec<Option<R>>, ScheduleError>
where
    R: Send,
    F: Fn(JobId) -> R + Sync,
{
    let priority = graph.remaining_path()?;
    let dependents = graph.dependents();
    let waiting: Vec<usize> = graph.deps.iter().map(Vec::len).collect();
    let ready =
        (0..graph.len()).filter(|&j| waiting[j] == 0).map(|j| (priority[j], Reverse(j))).collect();
    let state = Mutex::new(State { ready, waiting, running: 0, finished: 0 });
    let wake = Condvar::new();
    let results: Vec<Mutex<Option<R>>> = (0..graph.len()).map(|_| Mutex::new(None)).collect();
    let threads = jobs.max(1).min(graph.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let job = {
                        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                        loop {
                            if stop.load(Ordering::SeqCst) || s.finished == graph.len() {
                                wake.notify_all();
                                return;
                            }
                            if let Some((_, Reverse(job))) = s.ready.pop() {
                                s.running += 1;
                                break job;
                            }
                            if s.running == 0 {
                                // Nothing runs and nothing is ready: the rest
                                // can never become ready.
                                wake.notify_all();
                                return;
                            }
                            s = wake.wait(s).unwrap_or_else(|e| e.into_inner());
                        }
                    };
                    let result = work(job);
                    *results[job].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                    s.running -= 1;
                    s.finished += 1;
                    for &d in &dependents[job] {
                        s.waiting[d] -= 1;
                        if s.waiting[d] == 0 {
                            s.ready.push((priority[d], Reverse(d)));
                        }
                    }
                    wake.notify_all();
                }
            });
        }
    });
    Ok(results.into_iter().map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn order_with_one_worker(graph: &JobGraph) -> Vec<JobId> {
        let order = Mutex::new(Vec::new());
        run(graph, 1, &AtomicBool::new(false), |job| order.lock().expect("lock").push(job))
            .expect("schedulable");
        order.into_inner().expect("lock")
    }

    #[test]
    fn independent_jobs_run_longest_first() {
        let mut g = JobGraph::new();
        for cost in [5, 50, 1, 20] {
            g.add_job(cost);
        }
        assert_eq!(order_with_one_worker(&g), [1, 3, 0, 2]);
    }

    #[test]
    fn the_critical_path_goes_first_and_deps_before_dependents() {
        // a(1) -> b(100): a is cheap but b waits on it, so a goes before c(50).
        let mut g = JobGraph::new();
        let a = g.add_job(1);
        let b = g.add_job(100);
        let c = g.add_job(50);
        g.add_dependency(b, a);
        assert_eq!(g.remaining_path().expect("dag"), [101, 100, 50]);
        assert_eq!(order_with_one_worker(&g), [a, b, c]);
    }

    #[test]
    fn never_more_than_jobs_at_once_and_every_job_runs_once() {
        let mut g = JobGraph::new();
        let root = g.add_job(1);
        for i in 0..40 {
            let j = g.add_job(i);
            g.add_dependency(j, root);
        }
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let results = run(&g, 3, &AtomicBool::new(false), |job| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(2));
            running.fetch_sub(1, Ordering::SeqCst);
            job * 2
        })
        .expect("dag");
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert_eq!(results.iter().flatten().count(), 41);
        assert_eq!(results[7], Some(14));
    }

    #[test]
    fn stop_leaves_later_jobs_unstarted() {
        let mut g = JobGraph::new();
        for _ in 0..10 {
            g.add_job(1);
        }
        let stop = AtomicBool::new(false);
        let results = run(&g, 1, &stop, |job| {
            if job == 2 {
                stop.store(true, Ordering::SeqCst);
            }
        })
        .expect("dag");
        assert_eq!(results.iter().filter(|r| r.is_some()).count(), 3);
    }

    #[test]
    fn cycles_and_unknown_jobs_are_refused() {
        let mut g = JobGraph::new();
        let a = g.add_job(1);
        let b = g.add_job(1);
        g.add_dependency(a, b);
        g.add_dependency(b, a);
        assert!(matches!(g.remaining_path(), Err(ScheduleError::Cycle(_))));
        let mut g = JobGraph::new();
        let a = g.add_job(1);
        g.add_dependency(a, 9);
        assert_eq!(g.remaining_path(), Err(ScheduleError::UnknownJob { job: 0, dependency: 9 }));
    }

    #[test]
    fn an_empty_graph_runs_nothing() {
        let results = run(&JobGraph::new(), 4, &AtomicBool::new(false), |_| ()).expect("dag");
        assert!(results.is_empty());
    }
}
