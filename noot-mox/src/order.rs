//! The order check of `in_order()` doubles.
//!
//! Ordered doubles must be called in the order `in_order` was declared:
//! once a later one has been called, an earlier one may not be called
//! again. Calls of unordered doubles, even of the same command, do not
//! count. (A double that may be called several times, `times(n)` or
//! `at_least(n)`, takes all its calls before the next step.) The report
//! shows the declared steps and the calls as they came, each with the step
//! it went to.

use std::collections::HashMap;

use crate::double::DoubleSpec;
use crate::journal::Journal;
use crate::verify::Failure;

/// The first order violation, if any. `ordered` are the ordered doubles in
/// declaration order; `calls` the (journal seq, double index) of each call
/// they answered, in arrival order.
pub fn check(
    ordered: &[&DoubleSpec],
    calls: &[(u64, usize)],
    journal: &Journal,
) -> Option<Failure> {
    let rank: HashMap<usize, usize> =
        ordered.iter().enumerate().map(|(rank, spec)| (spec.index, rank)).collect();
    let step = |rank: usize| ordered[rank].describe().replace('\n', " ");
    let mut highest = 0;
    for (position, (_, index)) in calls.iter().enumerate() {
        let Some(&r) = rank.get(index) else { continue };
        if r < highest {
            let expected = (0..ordered.len()).map(step).collect();
            let observed = calls
                .iter()
                .filter_map(|(seq, i)| {
                    let r = *rank.get(i)?;
                    let call = journal
                        .entries()
                        .find(|c| c.seq == *seq)
                        .map_or_else(|| step(r), |c| c.signature());
                    Some(format!("{call} (step {})", r + 1))
                })
                .collect();
            return Some(Failure::Order {
                expected,
                observed,
                first_mismatch: format!(
                    "call {} went to step {} after step {} had been called: {} must come before {}",
                    position + 1,
                    r + 1,
                    highest + 1,
                    step(r),
                    step(highest)
                ),
            });
        }
        highest = r;
    }
    None
}
