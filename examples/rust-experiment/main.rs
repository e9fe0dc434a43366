//! Runs the `ranker` experiment of this folder's noot.toml over Rust
//! closures: a sync call, then an async one (awaited with noot's
//! `block_on`; inside an async runtime, `.await` it instead).
//!
//! Each branch ranks the same documents, title matches weighted by its
//! variant's `boost`. The caller gets the primary's ranking (`boost=1.0`);
//! the other boosts run as shadows, are compared on the `top` metric and
//! logged to `.noot/experiments/ranker/branches.jsonl`, which
//! `noot experiment show ranker` (run in this folder) summarises.
//!
//! `cargo run -p noot --example experiment_closures`

use std::path::Path;

use noot::experiment::api::{Branch, Experiment, block_on};

const DOCUMENTS: &[(&str, &str)] = &[
    ("Rust error handling", "errors as values, the question-mark operator"),
    ("Mutation testing in practice", "rust and python projects, surviving mutants"),
    ("Shadow traffic", "compare a new rust service against the old one"),
];

/// Ranks the documents for `query`: body matches count 1, title matches `boost`.
fn rank(branch: &Branch, query: &str) -> Result<Vec<String>, String> {
    let boost: f64 = branch.get("boost").ok_or("the variant has no numeric `boost`")?;
    let mut scored: Vec<(f64, &str)> = DOCUMENTS
        .iter()
        .map(|(title, body)| {
            let in_title = title.to_lowercase().matches(query).count() as f64;
            let in_body = body.to_lowercase().matches(query).count() as f64;
            (in_title * boost + in_body, *title)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top = DOCUMENTS.iter().position(|(t, _)| *t == scored[0].1).unwrap_or_default();
    branch.metric("top", top as u64);
    branch.metric("best_score", scored[0].0);
    Ok(scored.into_iter().map(|(_, title)| title.to_string()).collect())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/rust-experiment");
    let mut experiment = Experiment::load_in(&here, "ranker")?;
    for warning in experiment.warnings() {
        eprintln!("warning: {warning}");
    }

    let call = experiment.call(|branch| rank(branch, "rust"))?;
    report("sync", &call.records);
    let ranking = call.into_primary().ok_or("no primary branch")??;
    println!("sync call, primary ranking: {ranking:?}");

    let call = block_on(experiment.call_async(|branch| async move { rank(&branch, "mutants") }))?;
    report("async", &call.records);
    let ranking = call.into_primary().ok_or("no primary branch")??;
    println!("async call, primary ranking: {ranking:?}");
    println!("log: {}", here.join(".noot/experiments/ranker/branches.jsonl").display());
    Ok(())
}

fn report(kind: &str, records: &[noot::experiment::record::BranchRecord]) {
    for record in records {
        let matched = match record.matched {
            Some(true) => "matches the primary",
            Some(false) => "differs from the primary",
            None => "primary",
        };
        eprintln!(
            "  {kind} call {} {:<10} {:?} {matched}",
            record.call, record.label, record.status
        );
    }
}
