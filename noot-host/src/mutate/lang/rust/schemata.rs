//! Mutant schemata for Rust: one source text per file with every mutant
//! of the file behind a runtime switch, so the crate is built once and
//! each mutant is chosen by `NOOT_MUTANT=N` when its tests run.
//!
//! Each mutation keeps the code it replaces and its own code in separate
//! branches, so a type error stays inside one mutant's branch. The
//! mutants of one site (a body, an operator, a `!` or `-`) are the arms of
//! one `match` on the active switch, `A` standing for
//! `crate::__noot_rt::active(&[N, M])`, which reads the switch once for
//! the site:
//! - a body replaced by values: `{ match A { N => { 0 } M => { 1 } _ => BODY } }`;
//! - an operator: the whole expression,
//!   `(match A { N => { a - b } M => { a * b } _ => { a + b } })`, with both
//!   operands written in every arm (only one runs, so each is still
//!   evaluated once);
//! - `!x` or `-x` deleted: `(match A { N => { x } _ => { !x } })`;
//! - a match guard: `if (if on(N) { true } else { GUARD })`;
//! - a match arm deleted: a guard `if !on(N)` on it, so the match goes on to
//!   the next arm, as if the arm were gone;
//! - a struct field deleted beside `..base`: the field takes base's value,
//!   `field: if on(N) { (base).field } else { VALUE }`.
//!
//! Mutations nest: an operand keeps its own switches in every branch. The
//! switches live in `crate::__noot_rt`, a module added at the end of every
//! crate root (see [`RUNTIME`]): it reads `NOOT_MUTANT` once, and in the
//! stats run (`NOOT_STATS_FILE`) appends each switch reached to that file.
//! On Linux it also arms the mutant's CPU budget (`NOOT_CPU_LIMIT_MS`) as a
//! profiling timer the first time a switch is read.

use std::collections::BTreeMap;
use std::ops::Range;

use tree_sitter::Node;

use super::Mutation;

/// The module appended to every crate root of the mutated copy, for a
/// build whose switches are numbered below `switches`. Edition 2024 wants
/// `unsafe extern` blocks, which rustc before 1.82 cannot parse: a crate
/// of an older edition gets a plain `extern` block.
pub fn runtime(switches: u32, edition_2024: bool) -> String {
    RUNTIME
        .replace("__NOOT_SWITCHES__", &switches.max(1).to_string())
        .replace("__NOOT_EXTERN__", if edition_2024 { "unsafe extern" } else { "extern" })
}

/// The runtime module; `__NOOT_SWITCHES__` is the number of switches.
///
/// `extern crate std;` makes it build in a `#![no_std]` crate too (its
/// tests link std anyway), and binds nothing new elsewhere.
///
/// `active` and `on` are read at every site, in test binaries built
/// without optimisation, where every call stays a call: each reads one
/// atomic word (the active switch, and whether this run records what it
/// reaches) and, when recording, one flag per switch, indexed in place;
/// everything else happens once, in `init`, or the first time a switch is
/// reached, in `record`. Reading the state through a `OnceLock` made
/// fastrand's tests six times slower than without switches (now about
/// three). They are `#[inline]`, not `#[inline(always)]`: inlining them
/// into each of semver's 2,000 sites made the build slower and the tests
/// no faster.
///
/// The stats run marks each switch reached in an array of flags, one
/// atomic load per switch read: a test that parses 100,000 versions took
/// 6.2 s instead of 0.3 s when every read locked a set, and that inflated
/// time became the baseline its mutants' budgets were cut from.
const RUNTIME: &str = r#"
#[doc(hidden)]
#[allow(dead_code, unused)]
mod __noot_rt {
    extern crate std;
    // `self::`: in edition 2015 a `use` path starts at the crate root,
    // where a `#![no_std]` crate has no `std`.
    use self::std::io::Write;
    use self::std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use self::std::sync::{Mutex, Once, OnceLock};

    /// Not read yet; else the active switch, with `RECORDING` set in the
    /// stats run.
    const UNREAD: u64 = u64::MAX;
    const RECORDING: u64 = 1 << 32;
    static WORD: AtomicU64 = AtomicU64::new(UNREAD);
    static INIT: Once = Once::new();
    static STATS: OnceLock<Mutex<Option<std::fs::File>>> = OnceLock::new();

    #[allow(clippy::declare_interior_mutable_const)]
    const UNSEEN: AtomicBool = AtomicBool::new(false);
    static SEEN: [AtomicBool; __NOOT_SWITCHES__] = [UNSEEN; __NOOT_SWITCHES__];

    /// Reads the environment once (whichever thread comes first; the
    /// others wait for it) and arms the CPU budget.
    #[cold]
    #[inline(never)]
    fn init() -> u64 {
        INIT.call_once(|| {
            arm_cpu_limit();
            let active: u64 = std::env::var("NOOT_MUTANT").ok().and_then(|v| v.parse::<u32>().ok()).unwrap_or(0).into();
            let mut word = active;
            if let Some(path) = std::env::var_os("NOOT_STATS_FILE") {
                let file = std::fs::OpenOptions::new().create(true).append(true).open(path).ok();
                let _ = STATS.set(Mutex::new(file));
                word |= RECORDING;
            }
            WORD.store(word, Ordering::Release);
        });
        WORD.load(Ordering::Acquire)
    }

    /// Recording (the stats run, and every mutant's run for its reach):
    /// switch `id` is written down the first time it is reached. Every
    /// later read costs one load of its flag, indexed in place (a call to
    /// `get` or to the file's `OnceLock` would be a call per switch read in
    /// the unoptimised build).
    #[inline(always)]
    fn note(id: u32) {
        let index = id as usize;
        if index < __NOOT_SWITCHES__ && !SEEN[index].load(Ordering::Relaxed) {
            record(index);
        }
    }

    #[cold]
    #[inline(never)]
    fn record(index: usize) {
        if SEEN[index].swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some(stats) = STATS.get() {
            let mut file = stats.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(file) = file.as_mut() {
                let _ = writeln!(file, "{index}");
            }
        }
    }

    /// `NOOT_CPU_LIMIT_MS`: the mutant's CPU budget, to the millisecond
    /// where RLIMIT_CPU counts whole seconds. SIGPROF, whose default
    /// action ends the process, comes when the process has used it.
    // `timeval` is two `long`s only where `long` is 64 bits (not on x32
    // or 32-bit targets with a 64-bit `time_t`).
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    fn arm_cpu_limit() {
        use self::std::os::raw::{c_int, c_long};
        #[repr(C)]
        struct TimeVal {
            sec: c_long,
            usec: c_long,
        }
        #[repr(C)]
        struct ITimerVal {
            interval: TimeVal,
            value: TimeVal,
        }
        __NOOT_EXTERN__ "C" {
            fn setitimer(which: c_int, new: *const ITimerVal, old: *mut ITimerVal) -> c_int;
        }
        const ITIMER_PROF: c_int = 2;
        let limit = std::env::var("NOOT_CPU_LIMIT_MS").ok().and_then(|v| v.parse::<u64>().ok());
        let Some(ms) = limit.filter(|ms| *ms > 0) else { return };
        let value = ITimerVal {
            interval: TimeVal { sec: 0, usec: 0 },
            value: TimeVal { sec: (ms / 1000) as c_long, usec: ((ms % 1000) * 1000) as c_long },
        };
        // SAFETY: setitimer reads `value`; the old value is not asked for.
        unsafe {
            setitimer(ITIMER_PROF, &value, std::ptr::null_mut());
        }
    }

    #[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
    fn arm_cpu_limit() {}

    /// The active switch, for a site whose switches are `ids` (all of
    /// them recorded in the stats run).
    #[inline]
    pub fn active(ids: &[u32]) -> u32 {
        let mut word = WORD.load(Ordering::Acquire);
        if word == UNREAD {
            word = init();
        }
        if word & RECORDING != 0 {
            let mut at = 0;
            while at < ids.len() {
                note(ids[at]);
                at += 1;
            }
        }
        word as u32
    }

    /// Whether mutant `id` is the one this process runs under.
    #[inline]
    pub fn on(id: u32) -> bool {
        let mut word = WORD.load(Ordering::Acquire);
        if word == UNREAD {
            word = init();
        }
        if word & RECORDING != 0 {
            note(id);
        }
        word as u32 == id
    }
}
"#;

/// A mutation with its switch number.
#[derive(Debug, Clone)]
pub struct Switched<'m> {
    /// The switch number (`NOOT_MUTANT`), unique in the build.
    pub number: u32,
    /// The mutation.
    pub mutation: &'m Mutation,
}

/// `source` with every mutation in `mutations` behind its switch. The
/// mutations must come from [`super::analyse`] of this very source.
pub fn write(source: &str, mutations: &[Switched<'_>]) -> Option<String> {
    let tree = super::parse(source)?;
    let mut by_span: BTreeMap<(usize, usize), Vec<&Switched<'_>>> = BTreeMap::new();
    for switched in mutations {
        let span = &switched.mutation.span;
        by_span.entry((span.start, span.end)).or_default().push(switched);
    }
    let writer = Writer { source, by_span };
    Some(writer.rewrite(tree.root_node()))
}

struct Writer<'s, 'm> {
    source: &'s str,
    /// Mutations by the exact bytes they replace.
    by_span: BTreeMap<(usize, usize), Vec<&'m Switched<'m>>>,
}

impl Writer<'_, '_> {
    fn text(&self, range: Range<usize>) -> &str {
        self.source.get(range).unwrap_or("")
    }

    /// The mutations named `operator` whose span starts where `node` does
    /// (a deleted arm or field also takes its comma).
    fn starting_at(&self, node: Node<'_>, operator: &str) -> Vec<&Switched<'_>> {
        let start = node.start_byte();
        self.by_span
            .range((start, 0)..=(start, usize::MAX))
            .flat_map(|(_, switched)| switched.iter().copied())
            .filter(|s| s.mutation.operator == operator)
            .collect()
    }

    fn at(&self, node: Node<'_>) -> &[&Switched<'_>] {
        self.by_span.get(&(node.start_byte(), node.end_byte())).map_or(&[], Vec::as_slice)
    }

    /// The node's text with its children rewritten, then its own switches.
    fn rewrite(&self, node: Node<'_>) -> String {
        let inner = self.children_rewritten(node, None);
        self.switch(node, inner)
    }

    /// The node's text with every child rewritten; `replace` swaps one
    /// child (by byte range) for a given text.
    fn children_rewritten(&self, node: Node<'_>, replace: Option<(Range<usize>, &str)>) -> String {
        let mut out = String::new();
        let mut at = node.start_byte();
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            out.push_str(self.text(at..child.start_byte()));
            match &replace {
                Some((range, text)) if *range == child.byte_range() => out.push_str(text),
                _ => out.push_str(&self.rewrite(child)),
            }
            at = child.end_byte();
        }
        out.push_str(self.text(at..node.end_byte()));
        out
    }

    /// `inner`, the node's rewritten text, behind the node's own switches.
    fn switch(&self, node: Node<'_>, inner: String) -> String {
        match node.kind() {
            "block" if !self.at(node).is_empty() => {
                let arms: Vec<(u32, String)> = self
                    .at(node)
                    .iter()
                    .map(|s| (s.number, s.mutation.replacement.clone()))
                    .collect();
                format!("{{ {} }}", choose(&arms, &inner))
            }
            "binary_expression" | "compound_assignment_expr" => {
                let Some(operator) = node.child_by_field_name("operator") else { return inner };
                let swaps = self.at(operator);
                if swaps.is_empty() {
                    return inner;
                }
                let arms: Vec<(u32, String)> = swaps
                    .iter()
                    .map(|switched| {
                        let swapped = self.children_rewritten(
                            node,
                            Some((operator.byte_range(), &switched.mutation.replacement)),
                        );
                        (switched.number, format!("{{ {swapped} }}"))
                    })
                    .collect();
                format!("({})", choose(&arms, &format!("{{ {inner} }}")))
            }
            "unary_expression" if !self.at(node).is_empty() => {
                let operand = node.child(1).map(|o| self.rewrite(o)).unwrap_or_default();
                let arms: Vec<(u32, String)> =
                    self.at(node).iter().map(|s| (s.number, format!("{{ {operand} }}"))).collect();
                format!("({})", choose(&arms, &format!("{{ {inner} }}")))
            }
            "match_arm" => self.match_arm(node, inner),
            "match_pattern" => {
                // A guard replaced by constants.
                let Some(condition) = node.child_by_field_name("condition") else { return inner };
                let switches = self.at(condition);
                if switches.is_empty() {
                    return inner;
                }
                let guard = self.rewrite(condition);
                let mut replaced = String::from("(");
                for switched in switches {
                    let value = &switched.mutation.replacement;
                    replaced.push_str(&format!("if {} {{ {value} }} else ", on(switched.number)));
                }
                replaced.push_str(&format!("{{ {guard} }})"));
                self.children_rewritten(node, Some((condition.byte_range(), &replaced)))
            }
            "field_initializer" | "shorthand_field_initializer" => self.struct_field(node, inner),
            _ => inner,
        }
    }

    /// A deleted arm: `PATTERN if !on(N) => …`. Its span includes its comma.
    fn match_arm(&self, arm: Node<'_>, inner: String) -> String {
        let deletions = self.starting_at(arm, "delete_match_arm");
        let Some(pattern) = arm.child_by_field_name("pattern") else { return inner };
        if deletions.is_empty() || pattern.child_by_field_name("condition").is_some() {
            return inner;
        }
        let guards: Vec<String> = deletions.iter().map(|s| format!("!{}", on(s.number))).collect();
        let guarded = format!("{} if {}", self.rewrite(pattern), guards.join(" && "));
        self.children_rewritten(arm, Some((pattern.byte_range(), &guarded)))
    }

    /// A deleted field takes the value `..base` would give it.
    fn struct_field(&self, field: Node<'_>, inner: String) -> String {
        let deletions = self.starting_at(field, "delete_field");
        let base = field
            .parent()
            .and_then(|list| {
                (0..list.named_child_count())
                    .filter_map(|index| list.named_child(index))
                    .find(|c| c.kind() == "base_field_initializer")
            })
            .and_then(|b| b.named_child(0));
        let (Some(first), Some(base)) = (deletions.first(), base) else { return inner };
        let name_node = field.child_by_field_name("field").unwrap_or(field);
        let name = self.text(name_node.byte_range()).to_owned();
        let value = match field.child_by_field_name("value") {
            Some(value) => self.rewrite(value),
            None => name.clone(),
        };
        format!(
            "{name}: if {} {{ ({}).{name} }} else {{ {value} }}",
            on(first.number),
            self.text(base.byte_range())
        )
    }
}

fn on(number: u32) -> String {
    format!("crate::__noot_rt::on({number})")
}

/// One site's mutants as one `match` on the active switch: each mutant's
/// code in its own arm (a type error stays attributable to it), the
/// original in `_`, and one read of the switch for the whole site, where
/// an `if on(N)` chain read it once per mutant.
fn choose(arms: &[(u32, String)], otherwise: &str) -> String {
    let numbers: Vec<String> = arms.iter().map(|(n, _)| n.to_string()).collect();
    let mut out = format!("match {}{}]) {{ ", CHOOSE, numbers.join(", "));
    for (number, code) in arms {
        out.push_str(&format!("{number} => {code} "));
    }
    out.push_str(&format!("_ => {otherwise} }}"));
    out
}

/// How a `match` of [`choose`] starts, up to its switch numbers.
pub const CHOOSE: &str = "crate::__noot_rt::active(&[";

#[cfg(test)]
mod tests;
