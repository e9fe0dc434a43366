//! An example third-party noot plugin: the `long-hex` scrubber.
//!
//! Redacts standalone runs of hex digits at least `min_len` long (session
//! ids, hex API keys, signing secrets) that the `default` scrubber leaves
//! alone because they carry no telltale prefix. Git object ids (exactly 40
//! or 64 hex digits, lower-case) are kept unless `keep_git_ids = false`.
//!
//! ```toml
//! [plugins]
//! paths = ["target/debug/libnoot_example_long_hex.so"]
//! [scrub]
//! scrubbers = ["default", "long-hex"]
//! [scrub.plugin.long-hex]
//! min_len = 32
//! ```

use noot_plugin_api::prelude::*;
use noot_plugin_api::serde::Deserialize;

const RULE: &str = "long-hex";

#[derive(Debug, Deserialize)]
#[serde(crate = "noot_plugin_api::serde", deny_unknown_fields, default)]
struct Settings {
    min_len: usize,
    keep_git_ids: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self { min_len: 32, keep_git_ids: true }
    }
}

struct LongHex(Settings);

impl LongHex {
    fn is_git_id(&self, run: &str) -> bool {
        self.0.keep_git_ids
            && (run.len() == 40 || run.len() == 64)
            && !run.bytes().any(|b| b.is_ascii_uppercase())
    }
}

impl ScrubberPlugin for LongHex {
    fn rules(&self) -> Vec<RuleInfo> {
        vec![RuleInfo::new(RULE, "standalone hex strings at least min_len digits long")]
    }

    fn scrub(&self, text: &str, _field: &str) -> Result<ScrubOutput, PluginError> {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut findings = Vec::new();
        let (mut i, mut copied) = (0, 0);
        while i < bytes.len() {
            if !bytes[i].is_ascii_hexdigit() || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                i += 1;
            }
            let bounded = i == bytes.len() || !bytes[i].is_ascii_alphanumeric();
            let run = &text[start..i];
            let has_letter_and_digit = run.bytes().any(|b| b.is_ascii_digit())
                && run.bytes().any(|b| b.is_ascii_alphabetic());
            if bounded
                && run.len() >= self.0.min_len
                && has_letter_and_digit
                && !self.is_git_id(run)
            {
                out.push_str(&text[copied..start]);
                out.push_str("<REDACTED:long-hex>");
                copied = i;
                findings.push(Finding { rule: RULE.into(), start: start as u64, end: i as u64 });
            }
        }
        out.push_str(&text[copied..]);
        Ok(ScrubOutput { text: out.into(), findings: findings.into() })
    }
}

impl LongHex {
    fn from_config(config_json: &str) -> Result<Self, PluginError> {
        let settings: Settings = parse_config("[scrub.plugin.long-hex]", config_json)?;
        if settings.min_len < 8 {
            return Err(PluginError::invalid_config(
                "[scrub.plugin.long-hex] min_len must be at least 8",
            ));
        }
        Ok(Self(settings))
    }
}

noot_plugin_api::plugin_library! {
    scrubbers: {
        "long-hex" => {
            version: env!("CARGO_PKG_VERSION"),
            summary: "redacts standalone hex strings (session ids, hex keys), keeping git object ids",
            new: |config: &str, _ports: HostPorts| LongHex::from_config(config),
        },
    },
}

noot_plugin_api::export_plugin_library!(root_module);

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub(text: &str) -> String {
        LongHex(Settings::default()).scrub(text, "file").expect("scrubs").text.into_string()
    }

    #[test]
    fn long_hex_goes_and_git_ids_and_short_runs_stay() {
        assert_eq!(
            scrub("session=9f8e7d6c5b4a39281726354453627180aa"),
            "session=<REDACTED:long-hex>"
        );
        let sha = "3f786850e387550fdab836ed7e6dc881de23001b";
        assert_eq!(scrub(&format!("commit {sha}")), format!("commit {sha}"));
        assert_eq!(scrub("id deadbeef and 12345"), "id deadbeef and 12345");
        assert_eq!(
            scrub("xx9f8e7d6c5b4a39281726354453627180aa"),
            "xx9f8e7d6c5b4a39281726354453627180aa"
        );
    }
}
