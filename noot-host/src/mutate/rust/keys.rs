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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use crate::engine::digest::Digest;

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
}
