//! Mutation testing: find mutants, write the mutated tree once with every
//! mutant behind a runtime switch, learn which tests reach what (stats
//! run), run each mutant against only those tests through a runner plugin,
//! persist every result as it arrives, and report.

pub mod python;
