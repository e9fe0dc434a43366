//! Mutation testing: find mutants, write the mutated tree once with every
//! mutant behind a runtime switch, learn which tests reach what (stats
//! run), run each mutant against only those tests through a runner plugin,
//! persist every result as it arrives, and report.

pub mod cargo_mutants_lists;
pub mod catalog;
pub mod diff;
pub mod excludes;
pub mod execute;
pub mod filters;
pub mod github;
pub mod junit;
pub mod killers;
pub mod lang;
pub mod project_writes;
pub mod report;
pub mod request;
pub mod results;
pub mod selection;
pub mod session;
pub mod state;
pub mod stryker;
pub mod triage;
pub mod watch;
