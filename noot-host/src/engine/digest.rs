//! Content digests and staleness over a dependency graph.
//!
//! A unit (a function, a module, a config file) has a digest of its own
//! content. Its *closure digest* hashes its own digest with those of every
//! unit it depends on, directly or not; so a unit is stale exactly when its
//! closure digest differs from the one stored with its last result. Working
//! over reachable sets (not a recursive fold) keeps this correct when the
//! graph has cycles, as Python import graphs often do.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// A BLAKE3 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// The first 16 hex digits, for ids and display.
    pub fn short(&self) -> String {
        self.to_string()[..16].to_string()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.short())
    }
}

/// Units, their own digests, and who depends on whom.
#[derive(Debug, Default, Clone)]
pub struct DepGraph {
    own: BTreeMap<String, Digest>,
    deps: BTreeMap<String, BTreeSet<String>>,
}

impl DepGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a unit with the digest of its own content.
    pub fn add_unit(&mut self, unit: impl Into<String>, own: Digest) {
        self.own.insert(unit.into(), own);
    }

    /// Records that `unit` depends on `dependency`.
    pub fn add_dependency(&mut self, unit: impl Into<String>, dependency: impl Into<String>) {
        self.deps.entry(unit.into()).or_default().insert(dependency.into());
    }

    /// Every unit `unit` depends on, itself included. Dependencies that are
    /// not units (say, a module outside the project) are left out.
    pub fn closure<'a>(&'a self, unit: &'a str) -> BTreeSet<&'a str> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([unit]);
        while let Some(next) = queue.pop_front() {
            if !seen.insert(next) {
                continue;
            }
            if let Some(deps) = self.deps.get(next) {
                queue.extend(deps.iter().map(String::as_str).filter(|d| self.own.contains_key(*d)));
            }
        }
        seen.retain(|u| self.own.contains_key(*u));
        seen
    }

    /// The closure digest of every unit.
    pub fn closure_digests(&self) -> BTreeMap<String, Digest> {
        self.own
            .keys()
            .map(|unit| {
                let mut hasher = blake3::Hasher::new();
                for member in self.closure(unit) {
                    hasher.update(member.as_bytes());
                    hasher.update(&[0]);
                    hasher.update(&self.own[member].0);
                }
                (unit.clone(), Digest(*hasher.finalize().as_bytes()))
            })
            .collect()
    }

    /// The units to redo given the closure digests stored last time: new
    /// units, and units whose closure changed. `force` makes every unit stale.
    pub fn stale(&self, previous: &BTreeMap<String, Digest>, force: bool) -> BTreeSet<String> {
        self.closure_digests()
            .into_iter()
            .filter(|(unit, digest)| force || previous.get(unit) != Some(digest))
            .map(|(unit, _)| unit)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(units: &[(&str, &str)], edges: &[(&str, &str)]) -> DepGraph {
        let mut g = DepGraph::new();
        for (unit, content) in units {
            g.add_unit(*unit, Digest::of(content.as_bytes()));
        }
        for (from, to) in edges {
            g.add_dependency(*from, *to);
        }
        g
    }

    #[test]
    fn digests_are_stable_hex() {
        let d = Digest::of(b"abc");
        assert_eq!(
            d.to_string(),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
        assert_eq!(d.short(), "6437b3ac38465133");
    }

    #[test]
    fn a_change_makes_the_unit_and_everything_depending_on_it_stale() {
        // app -> lib -> util, and tests -> app; other is independent.
        let edges = [("app", "lib"), ("lib", "util"), ("tests", "app")];
        let before = graph(
            &[("app", "1"), ("lib", "1"), ("util", "1"), ("tests", "1"), ("other", "1")],
            &edges,
        );
        let stored = before.closure_digests();
        assert!(before.stale(&stored, false).is_empty());
        let after = graph(
            &[("app", "1"), ("lib", "1"), ("util", "2"), ("tests", "1"), ("other", "1")],
            &edges,
        );
        let stale: Vec<String> = after.stale(&stored, false).into_iter().collect();
        assert_eq!(stale, ["app", "lib", "tests", "util"]);
        assert_eq!(after.stale(&stored, true).len(), 5, "--force makes all stale");
    }

    #[test]
    fn cycles_terminate_and_propagate() {
        let edges = [("a", "b"), ("b", "a"), ("c", "a")];
        let before = graph(&[("a", "1"), ("b", "1"), ("c", "1")], &edges);
        let stored = before.closure_digests();
        let after = graph(&[("a", "1"), ("b", "2"), ("c", "1")], &edges);
        assert_eq!(after.stale(&stored, false).len(), 3);
    }

    #[test]
    fn new_units_are_stale_and_external_dependencies_ignored() {
        let mut g = graph(&[("a", "1")], &[("a", "os")]);
        let stored = g.closure_digests();
        g.add_unit("b", Digest::of(b"1"));
        assert_eq!(g.stale(&stored, false).into_iter().collect::<Vec<_>>(), ["b"]);
        assert_eq!(g.closure("a").into_iter().collect::<Vec<_>>(), ["a"]);
    }
}
