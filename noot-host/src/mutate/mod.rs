//! Mutation testing: find mutants, write the mutated tree once with every
//! mutant behind a runtime switch, learn which tests reach what (stats
//! run), run each mutant against only those tests through a runner plugin,
//! persist every result as it arrives, and report.

pub mod cargo_mutants_lists;
pub mod catalog;
pub mod diff;
pub mod execute;
pub mod github;
pub mod junit;
pub mod keys;
pub mod language;
pub mod project;
pub mod project_writes;
pub mod python;
pub mod report;
pub mod results;
pub mod runner_choice;
pub mod rust;
pub mod selection;
pub mod session;
pub mod stats;
pub mod stryker;
pub mod tree;
pub mod watch;
