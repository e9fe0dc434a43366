//! `noot status`: what noot keeps in the project's `.noot/` between runs
//! (the decisions later runs follow, each part of the folder with its
//! size), and `--forget NAME` to make the next run decide again.

use clap::Args;

use crate::cli::{CliError, Context, Format, Outcome};
use crate::mutate::results::ResultStore;
use crate::mutate::session::{STATE_DIR, lock_project};
use crate::mutate::state::{self, DecisionKind, State};

/// Arguments of `noot status`.
#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLES)]
pub struct StatusArgs {
    /// Forget a remembered decision (repeatable; `all` for every one), so
    /// the next `noot run` makes it again: `build` (Rust: optimised or
    /// not), `dependencies` (Rust: removes `.noot/target/`, which started
    /// from your build's dependencies), `runner` (Python: warm or fresh
    /// processes).
    #[arg(long, value_name = "NAME", value_parser = forget_parser())]
    forget: Vec<String>,
}

const EXAMPLES: &str = "\
Examples:
  noot status                        what .noot/ holds and the decisions runs follow
  noot status --forget build         decide again whether to build the crates optimised
  noot status --forget all           every decision made again on the next run";

fn forget_parser() -> clap::builder::PossibleValuesParser {
    let mut names: Vec<&'static str> = DecisionKind::ALL.iter().map(|k| k.name()).collect();
    names.push("all");
    clap::builder::PossibleValuesParser::new(names)
}

pub(crate) fn run(context: &Context, args: StatusArgs) -> Result<Outcome, CliError> {
    let config = context.config()?;
    let root = &config.root;
    let mut forgotten = Vec::new();
    if !args.forget.is_empty() {
        // Not under a run: it reads what it would remove.
        let _lock = lock_project(root).map_err(|e| CliError::Usage(e.to_string()))?;
        let kinds: Vec<DecisionKind> = if args.forget.iter().any(|n| n == "all") {
            DecisionKind::ALL.to_vec()
        } else {
            args.forget.iter().filter_map(|n| DecisionKind::from_name(n)).collect()
        };
        for kind in kinds {
            let removed = state::forget(root, kind)
                .map_err(|e| CliError::Usage(format!("forgetting {}: {e}", kind.name())))?;
            if removed.is_none() && !args.forget.iter().any(|n| n == "all") {
                context.err(&format!(
                    "note: nothing to forget: no `{}` decision is recorded in {}",
                    kind.name(),
                    root.join(STATE_DIR).display()
                ));
            }
            forgotten.extend(removed);
        }
    }
    let results = ResultStore::new(context.ports.fs.as_ref(), &root.join(STATE_DIR))
        .load()
        .map(|stored| stored.results.len())
        .unwrap_or(0);
    let mut state = state::inventory(context.ports.fs.as_ref(), root, results);
    state.forgotten = forgotten;
    match context.format {
        Format::Json => context.out_json(&state),
        Format::Human => context.out(&render(&state)),
    }
    Ok(Outcome { code: 0 })
}

fn render(state: &State) -> String {
    let mut out = format!("noot status · {}\n", state.root.display());
    for path in &state.forgotten {
        out.push_str(&format!("\nforgotten: removed {path}\n"));
    }
    out.push_str("\nDecisions later runs follow:\n");
    if state.decisions.is_empty() {
        out.push_str("  none\n");
    }
    for decision in &state.decisions {
        out.push_str(&format!(
            "  {:<13} {}\n  {:<13} in {}; `noot status --forget {}`: {}\n",
            decision.kind.name(),
            decision.summary,
            "",
            decision.file,
            decision.kind.name(),
            decision.forgetting
        ));
    }
    if state.parts.is_empty() {
        out.push_str("\nNothing stored: no `noot run` here yet.\n");
        return out;
    }
    let total: u64 = state.parts.iter().map(|p| p.bytes).sum();
    out.push_str(&format!("\nStored in .noot/ ({}):\n", size(total)));
    for part in &state.parts {
        out.push_str(&format!("  {:<14} {:>9}  {}\n", part.path, size(part.bytes), part.holds));
    }
    if state.results > 0 {
        out.push_str(&format!(
            "\n{} mutation results stored: noot results lists them.\n",
            state.results
        ));
    }
    out
}

/// Bytes for people.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
