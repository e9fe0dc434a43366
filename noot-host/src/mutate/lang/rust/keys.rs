//! Result keys of a Rust run: a stored verdict is reused while nothing its
//! mutant's tests can see has changed.
//!
//! What a test can see is split in two. The bodies of the functions noot
//! mutates: the stats run records which of them each test reaches (every
//! such body holds a switch), so a mutant's key covers the bodies its
//! selected tests reach, and an edit inside another function's body
//! leaves it alone. Everything else (types, constants, `macro_rules!`,
//! skipped and test code, the manifests, the lockfile and the feature
//! flags) is "the frame": any change there re-runs every mutant, since
//! noot cannot see which tests read it. Keys are built from contents and
//! sorted names, never from measured times or orders.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;

use crate::engine::digest::Digest;
use crate::mutate::catalog::Mutant;
use crate::mutate::selection::Selected;

/// One analysed file's text and the bodies of its mutated functions.
pub struct FileText<'a> {
    /// The file's text.
    pub source: &'a str,
    /// Each mutated function's key and body range in `source`.
    pub bodies: &'a [(String, Range<usize>)],
}

/// The frame's digest: every file with its mutated bodies left out, then
/// `extra` (manifests, lockfile, feature flags) in the order given.
pub fn frame_digest(files: &[FileText<'_>], extra: &[&str]) -> Digest {
    let mut frame = String::new();
    for file in files {
        let mut at = 0;
        let mut bodies: Vec<&Range<usize>> = file.bodies.iter().map(|(_, r)| r).collect();
        bodies.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        for body in bodies {
            // A nested function's body is inside its parent's: already out.
            if body.start < at {
                continue;
            }
            frame.push_str(file.source.get(at..body.start).unwrap_or(""));
            frame.push_str("{}");
            at = body.end;
        }
        frame.push_str(file.source.get(at..).unwrap_or(""));
        frame.push('\0');
    }
    for text in extra {
        frame.push_str(text);
        frame.push('\0');
    }
    Digest::of(frame.as_bytes())
}

/// The digest of each mutated function's body, by function key.
pub fn body_digests(files: &[FileText<'_>]) -> HashMap<String, String> {
    files
        .iter()
        .flat_map(|file| {
            file.bodies.iter().map(|(key, range)| {
                let body = file.source.get(range.clone()).unwrap_or("");
                (key.clone(), Digest::of(body.as_bytes()).to_string())
            })
        })
        .collect()
}

/// A mutant's key: its own digest (its function's text and the mutation),
/// the frame, its selected tests (sorted ids) and the bodies those tests
/// reach (`reached`: function keys, any order).
pub fn key(
    mutant_digest: &str,
    frame: &Digest,
    tests: &[&str],
    reached: &BTreeSet<&str>,
    bodies: &HashMap<String, String>,
) -> String {
    let mut tests: Vec<&str> = tests.to_vec();
    tests.sort_unstable();
    let reached: BTreeMap<&str, &str> =
        reached.iter().map(|f| (*f, bodies.get(*f).map_or("", String::as_str))).collect();
    let reached: Vec<String> = reached.iter().map(|(f, d)| format!("{f}={d}")).collect();
    Digest::of(
        format!("{mutant_digest}\0{frame}\0{}\0{}", tests.join("\0"), reached.join("\0"))
            .as_bytes(),
    )
    .to_string()
}

/// What the keys of a Rust run are made of.
pub struct KeyInputs<'a> {
    /// Every mutant.
    pub mutants: &'a [Mutant],
    /// Each analysed file's text, in catalog order.
    pub sources: Vec<&'a str>,
    /// Each analysed file's relative path, same order.
    pub paths: Vec<&'a str>,
    /// Each analysed file's mutated functions: key and body range.
    pub bodies: &'a [Vec<(String, Range<usize>)>],
    /// Mutant id → switch number.
    pub switches: &'a HashMap<String, u32>,
    /// Switch number → the mutant's function.
    pub function_of: &'a HashMap<u32, String>,
    /// The switches the build found unviable, with why.
    pub unviable: &'a BTreeMap<u32, String>,
    /// Every file of the project as `path\0digest` ([`super::build::Built::project_files`]).
    pub project_files: &'a [String],
    /// What else the build depends on: feature flags, the toolchain
    /// (`rustc -vV`), cargo's config files and flag variables
    /// ([`super::cargo_config`]).
    pub settings: &'a [String],
    /// Per mutant id, the switches its selected tests reach.
    pub reached_switches: &'a HashMap<String, BTreeSet<u32>>,
    /// Per mutant id, the functions its own runs reached ([`super::reach`]).
    pub reached_before: &'a HashMap<String, BTreeSet<String>>,
    /// Per mutant id, its tests.
    pub selection: &'a HashMap<String, Selected>,
}

/// What every key of a run shares (the frame, the bodies' digests, which
/// bodies are tracked) and what each mutant's own key starts from, kept so
/// that a key can be made again once a mutant's run has shown what it
/// reached: its verdict is stored under the key the next run computes.
pub struct KeyMaker {
    frame: Digest,
    body_digests: HashMap<String, String>,
    tracked: HashSet<String>,
    /// Per mutant id: its digest, its selected tests' ids, and the tracked
    /// bodies its tests reach without it or its earlier runs reached.
    own: HashMap<String, (String, Vec<String>, BTreeSet<String>)>,
}

impl KeyMaker {
    /// A function's body is tracked (left out of the frame, its edits
    /// seen only by the tests that reach it) when a viable body-replacing
    /// mutant puts a switch at its entry: only then does the stats run see
    /// every test that calls it.
    pub fn new(inputs: &KeyInputs<'_>) -> Self {
        let viable = |m: &&Mutant| {
            inputs.switches.get(&m.id).is_some_and(|n| !inputs.unviable.contains_key(n))
        };
        let tracked: HashSet<String> = inputs
            .mutants
            .iter()
            .filter(|m| m.operator == "replace_body")
            .filter(viable)
            .map(|m| m.function.clone())
            .collect();
        let tracked_bodies: Vec<Vec<(String, Range<usize>)>> = inputs
            .bodies
            .iter()
            .map(|file| {
                file.iter().filter(|(key, _)| tracked.contains(key.as_str())).cloned().collect()
            })
            .collect();
        let texts: Vec<FileText<'_>> = inputs
            .sources
            .iter()
            .zip(&tracked_bodies)
            .map(|(source, bodies)| FileText { source, bodies })
            .collect();
        let analysed: BTreeSet<&str> = inputs.paths.iter().copied().collect();
        // The project's other files: tests, manifests, the lockfile, data;
        // then the build's settings.
        let mut extra: Vec<&str> = inputs
            .project_files
            .iter()
            .map(String::as_str)
            .filter(|line| line.split_once('\0').is_none_or(|(path, _)| !analysed.contains(path)))
            .collect();
        extra.extend(inputs.settings.iter().map(String::as_str));
        let frame = frame_digest(&texts, &extra);
        let body_digests = body_digests(&texts);
        let own = inputs
            .mutants
            .iter()
            .map(|m| {
                let ids: Vec<String> =
                    inputs.selection.get(&m.id).map(|s| s.node_ids.clone()).unwrap_or_default();
                // What its tests reach without it, and what its own runs
                // reached ([`super::reach`]).
                let under_mutant = inputs.reached_before.get(&m.id).into_iter().flatten();
                let reached: BTreeSet<String> = inputs
                    .reached_switches
                    .get(&m.id)
                    .into_iter()
                    .flatten()
                    .filter_map(|n| inputs.function_of.get(n))
                    .chain(under_mutant)
                    .filter(|f| tracked.contains(f.as_str()))
                    .cloned()
                    .collect();
                (m.id.clone(), (m.digest.clone(), ids, reached))
            })
            .collect();
        Self { frame, body_digests, tracked, own }
    }

    /// Every mutant's key, with nothing reached beyond what the stats run
    /// and the reach journal say.
    pub fn keys(&self) -> HashMap<String, String> {
        self.own
            .keys()
            .filter_map(|id| Some((id.clone(), self.key(id, std::iter::empty())?)))
            .collect()
    }

    /// Mutant `id`'s key, its reach widened by `also_reached` (function
    /// keys; those whose bodies are not tracked are left out, as always).
    pub fn key<'a>(
        &'a self,
        id: &str,
        also_reached: impl IntoIterator<Item = &'a str>,
    ) -> Option<String> {
        let (digest, ids, reached) = self.own.get(id)?;
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let reached: BTreeSet<&str> = reached
            .iter()
            .map(String::as_str)
            .chain(also_reached.into_iter().filter(|f| self.tracked.contains(*f)))
            .collect();
        Some(key(digest, &self.frame, &ids, &reached, &self.body_digests))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "struct S;\nfn a() -> u8 { 1 }\nfn b() -> u8 { fn c() {} 2 }\n";

    fn bodies_of(source: &str) -> Vec<(String, Range<usize>)> {
        ["a", "b", "c"]
            .iter()
            .filter_map(|name| {
                let head = format!("fn {name}(");
                let at = source.find(&head)?;
                let open = at + source[at..].find('{')?;
                let mut depth = 0;
                for (offset, ch) in source[open..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some((name.to_string(), open..open + offset + 1));
                            }
                        }
                        _ => {}
                    }
                }
                None
            })
            .collect()
    }

    fn frame(source: &str, extra: &[&str]) -> Digest {
        let bodies = bodies_of(source);
        frame_digest(&[FileText { source, bodies: &bodies }], extra)
    }

    #[test]
    fn the_frame_ignores_edits_inside_mutated_bodies_and_sees_the_rest() {
        let base = frame(SOURCE, &["[package]"]);
        assert_eq!(base, frame(&SOURCE.replace("{ 1 }", "{ 1 + 0 }"), &["[package]"]));
        assert_eq!(base, frame(&SOURCE.replace("fn c() {}", "fn c() { () }"), &["[package]"]));
        assert_ne!(base, frame(&SOURCE.replace("struct S;", "struct S(u8);"), &["[package]"]));
        assert_ne!(base, frame(SOURCE, &["[package]", "--features x"]));
    }

    #[test]
    fn a_key_follows_the_bodies_its_tests_reach_and_nothing_else() {
        let bodies = bodies_of(SOURCE);
        let files = [FileText { source: SOURCE, bodies: &bodies }];
        let frame = frame_digest(&files, &[]);
        let digests = body_digests(&files);
        let reached: BTreeSet<&str> = ["a"].into();
        let base = key("m", &frame, &["t2", "t1"], &reached, &digests);
        assert_eq!(base, key("m", &frame, &["t1", "t2"], &reached, &digests), "test order");
        let edited = SOURCE.replace("2 }", "3 }");
        let edited_bodies = bodies_of(&edited);
        let edited_files = [FileText { source: &edited, bodies: &edited_bodies }];
        let edited_digests = body_digests(&edited_files);
        assert_eq!(frame, frame_digest(&edited_files, &[]));
        assert_eq!(base, key("m", &frame, &["t1", "t2"], &reached, &edited_digests), "b unreached");
        let both: BTreeSet<&str> = ["a", "b"].into();
        assert_ne!(
            key("m", &frame, &["t1"], &both, &digests),
            key("m", &frame, &["t1"], &both, &edited_digests),
            "b reached"
        );
    }

    /// Keys of mutants `a__noot_1` (replaces a's body) and `b__noot_1`
    /// (replaces b's; switch 2), the first reached by a test that also
    /// reaches `b`'s switch.
    fn keys_of(source: &str, unviable: &[u32], settings: &[&str]) -> HashMap<String, String> {
        let mutant = |function: &str| Mutant {
            id: format!("{function}__noot_1"),
            function: function.into(),
            operator: "replace_body".into(),
            digest: format!("digest of {function}"),
            ..Mutant::default()
        };
        let mutants = [mutant("a"), mutant("b")];
        let switches: HashMap<String, u32> =
            [("a__noot_1".to_owned(), 1), ("b__noot_1".to_owned(), 2)].into();
        let function_of: HashMap<u32, String> = [(1, "a".to_owned()), (2, "b".to_owned())].into();
        let unviable: BTreeMap<u32, String> =
            unviable.iter().map(|n| (*n, "E0308".to_owned())).collect();
        let selected = Selected { node_ids: vec!["lib::t".into()], ..Selected::default() };
        let settings: Vec<String> = settings.iter().map(|s| (*s).to_owned()).collect();
        KeyMaker::new(&KeyInputs {
            mutants: &mutants,
            sources: vec![source],
            paths: vec!["src/lib.rs"],
            bodies: &[bodies_of(source)],
            switches: &switches,
            function_of: &function_of,
            unviable: &unviable,
            project_files: &["src/lib.rs\0x".to_owned(), "Cargo.toml\0y".to_owned()],
            settings: &settings,
            reached_switches: &[("a__noot_1".to_owned(), BTreeSet::from([1, 2]))].into(),
            reached_before: &HashMap::new(),
            selection: &[("a__noot_1".to_owned(), selected)].into(),
        })
        .keys()
    }

    #[test]
    fn an_edit_reaches_the_keys_of_the_mutants_whose_tests_reach_it() {
        let base = keys_of(SOURCE, &[], &["rustc 1.95"]);
        let edited = keys_of(&SOURCE.replace("2 }", "3 }"), &[], &["rustc 1.95"]);
        assert_ne!(base["a__noot_1"], edited["a__noot_1"], "a's test reaches b");
        // b's own mutant sees its body through its digest (the catalog's,
        // fixed here), not through the frame.
        assert_eq!(base["b__noot_1"], edited["b__noot_1"], "no test reaches b's mutant");
        let a_edited = keys_of(&SOURCE.replace("{ 1 }", "{ 0 + 1 }"), &[], &["rustc 1.95"]);
        assert_eq!(base["b__noot_1"], a_edited["b__noot_1"], "nothing of b's reaches a");
        let new_compiler = keys_of(SOURCE, &[], &["rustc 1.96"]);
        assert!(
            base.iter().all(|(id, key)| new_compiler[id] != *key),
            "the toolchain is in the frame"
        );
    }

    #[test]
    fn a_body_whose_entry_switch_did_not_build_is_part_of_the_frame() {
        // b's body mutant is unviable: no switch at b's entry, so the stats
        // run cannot see who calls b, and an edit there re-runs everything.
        let base = keys_of(SOURCE, &[2], &[]);
        let edited = keys_of(&SOURCE.replace("2 }", "3 }"), &[2], &[]);
        assert_ne!(base["a__noot_1"], edited["a__noot_1"]);
        let a_edited = keys_of(&SOURCE.replace("{ 1 }", "{ 0 + 1 }"), &[2], &[]);
        assert_eq!(base["b__noot_1"], a_edited["b__noot_1"], "a is still tracked");
    }
}
