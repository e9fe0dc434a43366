//! Runs the rule table over a text, fast.
//!
//! One Aho-Corasick automaton over every rule's keywords finds the few
//! places worth a closer look. At each hit the rule's regex is searched
//! *anchored* where its match must start (the keyword, or the name just
//! before it, see [`Anchor`]), so a hit costs the length of one match
//! attempt, not a rescan of its line. Text without keywords costs one
//! linear automaton pass. A single RegexSet over all rules would instead run
//! every pattern over every byte and still need a second pass for spans.
//!
//! Compiling the rules takes a few milliseconds, which every noot
//! invocation that logs anything would pay up front. So [`RuleEngine::new`]
//! checks the configuration at once but compiles the rules on a thread of
//! their own, and the first scrub waits for it: an experiment's branch or a
//! mutation run overlaps the compile instead of following it.

use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use noot_plugin_api::abi_stable::std_types::RVec;
use noot_plugin_api::{Finding, PluginError, RuleInfo, ScrubOutput};
use regex_automata::meta::Regex;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};

use crate::config::DefaultScrubberConfig;
use crate::entropy::looks_random;
use crate::rules::{
    Anchor, BUILTIN_RULES, KeywordCase, MAX_LINE_MATCH, NEEDS_WINDOW, Rule, SECRET_ENV_NAME_PARTS,
    SECRET_ENV_RULE, Validator, Window,
};

struct CompiledRule {
    rule: &'static Rule,
    regex: Regex,
    secret_group: Option<usize>,
}

/// The compiled rules and their prefilter.
struct Automata {
    rules: Vec<CompiledRule>,
    prefilter: AhoCorasick,
    /// For each prefilter pattern, the rules it triggers and where in the
    /// hit each rule's own keyword starts (see [`keyword_triggers`]).
    triggers: Vec<Vec<(usize, usize)>>,
}

type Compiled = Result<Automata, String>;

/// The rule set: checked when built, compiled in the background.
pub struct RuleEngine {
    /// The rules that are on, in priority order.
    enabled: Vec<&'static Rule>,
    compiled: OnceLock<Compiled>,
    compiling: Mutex<Option<JoinHandle<Compiled>>>,
    allow: Vec<Regex>,
    entropy_threshold: f64,
}

/// A secret found, before overlaps are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Candidate {
    start: usize,
    end: usize,
    rule: usize,
}

impl RuleEngine {
    /// Compiles the rules that `config` leaves on.
    pub fn new(config: DefaultScrubberConfig) -> Result<Self, PluginError> {
        if let Some(unknown) =
            config.disable.iter().find(|id| !BUILTIN_RULES.iter().any(|r| r.id == id.as_str()))
        {
            let known: Vec<&str> = BUILTIN_RULES.iter().map(|r| r.id).collect();
            return Err(PluginError::invalid_config(format!(
                "[scrub.plugin.default] disable: no rule `{unknown}` (rules: {})",
                known.join(", ")
            )));
        }
        if !(0.0..=8.0).contains(&config.entropy_threshold) {
            return Err(PluginError::invalid_config(format!(
                "[scrub.plugin.default] entropy_threshold = {}: must be between 0 and 8 bits per byte",
                config.entropy_threshold
            )));
        }
        let enabled: Vec<&'static Rule> =
            BUILTIN_RULES.iter().filter(|r| !config.disable.iter().any(|d| d == r.id)).collect();
        let allow = config
            .allow
            .iter()
            .map(|pattern| {
                Regex::new(pattern).map_err(|e| {
                    PluginError::invalid_config(format!(
                        "[scrub.plugin.default] allow: `{pattern}` is not a valid regex: {e}"
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let to_compile = enabled.clone();
        let compiling = std::thread::Builder::new()
            .name("noot-scrub-compile".into())
            .spawn(move || compile(&to_compile))
            .map_err(|e| PluginError::failed(format!("cannot start compiling the rules: {e}")))?;
        Ok(Self {
            enabled,
            compiled: OnceLock::new(),
            compiling: Mutex::new(Some(compiling)),
            allow,
            entropy_threshold: config.entropy_threshold,
        })
    }

    /// The compiled rules, waiting for the compile if it still runs.
    fn automata(&self) -> Result<&Automata, PluginError> {
        let compiled = self.compiled.get_or_init(|| {
            let handle = self.compiling.lock().unwrap_or_else(|e| e.into_inner()).take();
            match handle.map(JoinHandle::join) {
                Some(Ok(compiled)) => compiled,
                Some(Err(_)) => Err("compiling the rules panicked".to_string()),
                // Only reachable if a compile was taken and then lost.
                None => compile(&self.enabled),
            }
        });
        compiled.as_ref().map_err(|e| PluginError::failed(e.clone()))
    }

    /// The rules that are on, as the plugin reports them.
    pub fn rule_infos(&self) -> Vec<RuleInfo> {
        let mut infos: Vec<RuleInfo> =
            self.enabled.iter().map(|rule| RuleInfo::new(rule.id, rule.description)).collect();
        infos.push(RuleInfo::new(
            SECRET_ENV_RULE,
            "the whole value of an environment variable whose name says it is secret",
        ));
        infos
    }

    /// Scrubs `text`; `field` of the form `env:NAME` marks an environment value.
    pub fn scrub(&self, text: &str, field: &str) -> Result<ScrubOutput, PluginError> {
        if let Some(name) = field.strip_prefix("env:")
            && is_secret_env_name(name)
            && !text.is_empty()
        {
            return Ok(ScrubOutput {
                text: redaction(SECRET_ENV_RULE).into(),
                findings: RVec::from(vec![Finding {
                    rule: SECRET_ENV_RULE.into(),
                    start: 0,
                    end: text.len() as u64,
                }]),
            });
        }
        let automata = self.automata()?;
        let candidates = self.find(automata, text);
        if candidates.is_empty() {
            return Ok(ScrubOutput::unchanged(text));
        }
        let mut out = String::with_capacity(text.len());
        let mut findings = Vec::with_capacity(candidates.len());
        let mut cursor = 0;
        for c in candidates {
            let id = automata.rules[c.rule].rule.id;
            out.push_str(&text[cursor..c.start]);
            out.push_str(&redaction(id));
            cursor = c.end;
            findings.push(Finding { rule: id.into(), start: c.start as u64, end: c.end as u64 });
        }
        out.push_str(&text[cursor..]);
        Ok(ScrubOutput { text: out.into(), findings: findings.into() })
    }

    /// Searches rule `rule_index` anchored at `anchor`; `hit_end` is where
    /// the keyword hit ended (windows reach from there).
    fn match_at(
        &self,
        automata: &Automata,
        text: &str,
        anchor: usize,
        hit_end: usize,
        rule_index: usize,
        caps: &mut Captures,
    ) -> Option<Candidate> {
        let bytes = text.as_bytes();
        let compiled = &automata.rules[rule_index];
        let end = match compiled.rule.window {
            Window::Line => {
                let limit = (anchor + MAX_LINE_MATCH).min(bytes.len());
                let from = hit_end.min(limit);
                // The newline is part of the window: a pattern may end by
                // consuming a terminator, and `$` is the end of the text,
                // not of the range.
                memchr::memchr(b'\n', &bytes[from..limit]).map_or(limit, |i| from + i + 1)
            }
            Window::Forward(limit) => hit_end.saturating_add(limit).min(bytes.len()),
        };
        let input = Input::new(text).range(anchor..end).anchored(Anchored::Yes);
        compiled.regex.search_captures(&input, caps);
        let span = match compiled.secret_group {
            Some(group) => caps.get_group(group),
            None => caps.get_match().map(|m| m.span()),
        }?;
        if span.is_empty() || !text.is_char_boundary(span.start) || !text.is_char_boundary(span.end)
        {
            return None;
        }
        let secret = &text[span.start..span.end];
        if compiled.rule.validator == Validator::LooksRandom
            && !looks_random(secret, self.entropy_threshold)
        {
            return None;
        }
        if self.allow.iter().any(|allowed| allowed.is_match(secret)) {
            return None;
        }
        Some(Candidate { start: span.start, end: span.end, rule: rule_index })
    }

    /// Every non-overlapping secret in `text`, in order.
    fn find(&self, automata: &Automata, text: &str) -> Vec<Candidate> {
        let bytes = text.as_bytes();
        let mut candidates = Vec::new();
        let mut captures: Vec<Option<Captures>> = (0..automata.rules.len()).map(|_| None).collect();
        // The last anchor searched per rule: several keywords of one rule
        // (`secret`, `secret_access_key`) often hit at one name.
        let mut last_anchor: Vec<Option<usize>> = vec![None; automata.rules.len()];
        for hit in automata.prefilter.find_iter(text) {
            for &(rule_index, offset) in &automata.triggers[hit.pattern().as_usize()] {
                let keyword_start = hit.start() + offset;
                if !needs_nearby(bytes, hit.end(), automata.rules[rule_index].rule.needs) {
                    continue;
                }
                let anchor = match automata.rules[rule_index].rule.anchor {
                    Anchor::Keyword => keyword_start,
                    Anchor::NameBefore => name_start(bytes, keyword_start),
                };
                if last_anchor[rule_index] == Some(anchor) {
                    continue;
                }
                last_anchor[rule_index] = Some(anchor);
                let caps = captures[rule_index]
                    .get_or_insert_with(|| automata.rules[rule_index].regex.create_captures());
                if let Some(found) =
                    self.match_at(automata, text, anchor, hit.end(), rule_index, caps)
                {
                    candidates.push(found);
                }
            }
        }
        resolve_overlaps(candidates)
    }
}

/// Compiles `enabled` and the keyword prefilter over them.
fn compile(enabled: &[&'static Rule]) -> Compiled {
    let mut rules = Vec::with_capacity(enabled.len());
    for &rule in enabled {
        let regex = Regex::new(rule.pattern)
            .map_err(|e| format!("rule {} does not compile: {e}", rule.id))?;
        let secret_group = regex.group_info().to_index(regex_automata::PatternID::ZERO, "s");
        rules.push(CompiledRule { rule, regex, secret_group });
    }
    let (keywords, triggers) = keyword_triggers(&rules);
    let prefilter = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::DFA))
        .build(&keywords)
        .map_err(|e| format!("keyword prefilter: {e}"))?;
    Ok(Automata { rules, prefilter, triggers })
}

/// The spellings of a keyword the prefilter looks for.
fn spellings(keyword: &str, case: KeywordCase) -> Vec<String> {
    let mut out = vec![keyword.to_string()];
    if case == KeywordCase::Words && !keyword.bytes().any(|b| b.is_ascii_uppercase()) {
        let lower = keyword.to_ascii_lowercase();
        let mut capitalised = lower.clone();
        if let Some(first) = capitalised.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        for spelling in [lower, capitalised, keyword.to_ascii_uppercase()] {
            if !out.contains(&spelling) {
                out.push(spelling);
            }
        }
    }
    out
}

/// True if one of `needs` occurs within [`NEEDS_WINDOW`] bytes from `from`.
fn needs_nearby(bytes: &[u8], from: usize, needs: &[u8]) -> bool {
    let window = &bytes[from..(from + NEEDS_WINDOW).min(bytes.len())];
    match needs {
        [] => true,
        [a] => memchr::memchr(*a, window).is_some(),
        [a, b] => memchr::memchr2(*a, *b, window).is_some(),
        [a, b, c] => memchr::memchr3(*a, *b, *c, window).is_some(),
        many => window.iter().any(|byte| many.contains(byte)),
    }
}

/// The prefilter's keywords (every spelling, deduplicated) and, for each,
/// the rules it triggers with the offset of that rule's keyword inside it.
///
/// The prefilter reports leftmost-longest, non-overlapping hits (the fast
/// path of Aho-Corasick). A keyword that contains another one (`aws_secret`
/// contains `secret`) would then hide the shorter one's rule, so every
/// keyword also triggers the rules of the keywords inside it.
fn keyword_triggers(rules: &[CompiledRule]) -> (Vec<String>, Vec<Vec<(usize, usize)>>) {
    let spelled: Vec<Vec<String>> = rules
        .iter()
        .map(|c| c.rule.keywords.iter().flat_map(|k| spellings(k, c.rule.case)).collect())
        .collect();
    let mut keywords: Vec<String> = Vec::new();
    for spelling in spelled.iter().flatten() {
        if !keywords.contains(spelling) {
            keywords.push(spelling.clone());
        }
    }
    let triggers = keywords
        .iter()
        .map(|keyword| {
            let mut triggered = Vec::new();
            for (index, inner_spellings) in spelled.iter().enumerate() {
                for inner in inner_spellings {
                    if let Some(offset) = keyword.find(inner.as_str())
                        && !triggered.contains(&(index, offset))
                    {
                        triggered.push((index, offset));
                    }
                }
            }
            triggered
        })
        .collect();
    (keywords, triggers)
}

/// The start of the run of name bytes (`[A-Za-z0-9_.+-]`) that ends at `at`.
fn name_start(bytes: &[u8], at: usize) -> usize {
    let mut start = at;
    while start > 0 && at - start < 256 {
        let b = bytes[start - 1];
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-') {
            start -= 1;
        } else {
            break;
        }
    }
    start
}

fn redaction(rule_id: &str) -> String {
    format!("<REDACTED:{rule_id}>")
}

fn is_secret_env_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_ENV_NAME_PARTS.iter().any(|part| upper.contains(part))
}

/// Sorts by start (then longer first, then rule priority) and drops every
/// candidate that overlaps one already kept.
fn resolve_overlaps(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates
        .sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(a.rule.cmp(&b.rule)));
    let mut kept: Vec<Candidate> = Vec::with_capacity(candidates.len());
    for c in candidates {
        if kept.last().is_none_or(|last| c.start >= last.end) {
            kept.push(c);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::MAX_PREFILTER_KEYWORDS;

    #[test]
    fn the_prefilter_stays_within_the_simd_searchers_pattern_limit() {
        let engine = RuleEngine::new(DefaultScrubberConfig::default()).expect("valid");
        let (keywords, _) = keyword_triggers(&engine.automata().expect("compiles").rules);
        assert!(keywords.len() <= MAX_PREFILTER_KEYWORDS, "{} keywords", keywords.len());
    }

    #[test]
    fn every_builtin_rule_compiles_and_disabled_ones_are_left_out() {
        let config = DefaultScrubberConfig {
            disable: vec!["jwt".into()],
            ..DefaultScrubberConfig::default()
        };
        let engine = RuleEngine::new(config).expect("valid");
        let automata = engine.automata().expect("compiles");
        assert_eq!(automata.rules.len(), BUILTIN_RULES.len() - 1);
        assert!(automata.rules.iter().all(|r| r.rule.id != "jwt"));
    }

    #[test]
    fn words_are_spelled_three_ways_and_camel_case_once() {
        assert_eq!(spellings("secret", KeywordCase::Words), ["secret", "Secret", "SECRET"]);
        assert_eq!(spellings("apiKey", KeywordCase::Words), ["apiKey"]);
        assert_eq!(spellings("ghp_", KeywordCase::Exact), ["ghp_"]);
    }

    #[test]
    fn a_longer_keyword_also_triggers_the_rules_of_the_keywords_inside_it() {
        let engine = RuleEngine::new(DefaultScrubberConfig::default()).expect("valid");
        let automata = engine.automata().expect("compiles");
        let (keywords, triggers) = keyword_triggers(&automata.rules);
        let index = keywords.iter().position(|k| k == "private_key").expect("keyword");
        let generic = automata.rules.iter().position(|r| r.rule.id == "generic-secret");
        assert!(triggers[index].iter().any(|&(rule, _)| Some(rule) == generic));
    }
}
