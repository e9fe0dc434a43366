//! Throughput of the `default` scrubber on mixed text, single-threaded.
//!
//! Run with `cargo bench -p noot-plugin-scrubbers`. Prints MiB/s for three
//! corpora (prose-and-code, logs with URLs and auth headers, JSON API
//! traffic), each with a secret about every 8 KiB, and for a naive baseline
//! that runs every rule's regex over the whole text (what you get without the
//! keyword prefilter), as a ratio. Goal: at least 300 MiB/s per core.

use std::hint::black_box;
use std::time::{Duration, Instant};

use noot_plugin_api::ScrubberPlugin;
use noot_plugin_scrubbers::DefaultScrubber;
use noot_plugin_scrubbers::config::DefaultScrubberConfig;
use noot_plugin_scrubbers::rules::BUILTIN_RULES;

const TARGET_BYTES: usize = 32 * 1024 * 1024;

/// A small deterministic generator, so every run scrubs the same bytes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
    fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len).map(|_| ALPHABET[(self.next() as usize) % ALPHABET.len()] as char).collect()
    }
}

const PROSE: &[&str] = &[
    "The scheduler picks the ready job with the longest remaining path first.\n",
    "    def reset_password(user, token_store):\n        return token_store.issue(user.id)\n",
    "fn main() { let config = Config::load(&path)?; println!(\"{config:?}\"); }\n",
    "See https://docs.example.com/guide#install for the installation guide.\n",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b\nAuthor: Dev <dev@example.com>\n",
    "Passwords must be rotated every 90 days; the secret manager does it for you.\n",
];
const LOGS: &[&str] = &[
    "2026-11-21T06:18:31Z INFO request id=123e4567-e89b-12d3-a456-426614174000 GET /api/v1/items 200 12ms\n",
    "2026-11-21T06:18:32Z DEBUG connecting to https://api.example.com:8443/v2/users?page=3\n",
    "2026-11-21T06:18:33Z WARN retrying after 503 from http://10.0.0.7:9000/health (attempt 2)\n",
    "2026-11-21T06:18:34Z INFO token refreshed for user 4182 (expires in 3600s)\n",
];
const JSON: &[&str] = &[
    "{\"id\": 4182, \"name\": \"Ada Lovelace\", \"email\": \"ada@example.com\", \"roles\": [\"admin\"]}\n",
    "{\"url\": \"https://example.com/a/b?c=d\", \"status\": 200, \"elapsed_ms\": 12.5}\n",
    "{\"password_policy\": {\"min_length\": 12}, \"session\": {\"ttl\": 3600}}\n",
];

fn corpus(lines: &[&str], seed: u64) -> String {
    let mut rng = Lcg(seed);
    let mut out = String::with_capacity(TARGET_BYTES + 4096);
    let mut next_secret = 8192;
    while out.len() < TARGET_BYTES {
        out.push_str(rng.pick(lines));
        if out.len() >= next_secret {
            next_secret += 8192;
            let secret = match rng.next() % 4 {
                0 => format!("GITHUB_TOKEN=ghp_{}\n", rng.token(36)),
                1 => format!("Authorization: Bearer {}\n", rng.token(32)),
                2 => format!("DATABASE_URL=postgres://app:{}@db:5432/app\n", rng.token(16)),
                _ => format!("api_key = \"{}\"\n", rng.token(24)),
            };
            out.push_str(&secret);
        }
    }
    out
}

fn measure(mut run: impl FnMut() -> usize, bytes: usize) -> (f64, usize) {
    let mut findings = run(); // warm-up
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        findings = black_box(run());
        best = best.min(start.elapsed());
    }
    (bytes as f64 / (1024.0 * 1024.0) / best.as_secs_f64(), findings)
}

fn main() {
    let scrubber = match DefaultScrubber::new(DefaultScrubberConfig::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot build the default scrubber: {e}");
            std::process::exit(2);
        }
    };
    let naive: Vec<regex::Regex> =
        BUILTIN_RULES.iter().filter_map(|r| regex::Regex::new(r.pattern).ok()).collect();
    println!("noot default scrubber, single thread, best of 5 runs over 32 MiB per corpus");
    println!(
        "{:<14} {:>12} {:>10} {:>22} {:>8}",
        "corpus", "noot MiB/s", "findings", "every-regex MiB/s", "ratio"
    );
    for (name, lines, seed) in [("prose+code", PROSE, 1), ("logs", LOGS, 2), ("json", JSON, 3)] {
        let text = corpus(lines, seed);
        let (noot, findings) = measure(
            || scrubber.scrub(&text, "file").map(|o| o.findings.len()).unwrap_or(0),
            text.len(),
        );
        // NOOT_BENCH_SKIP_BASELINE=1 leaves the baseline out (for profiling).
        let (baseline, _) = if std::env::var_os("NOOT_BENCH_SKIP_BASELINE").is_some() {
            (f64::NAN, 0)
        } else {
            measure(|| naive.iter().map(|re| re.find_iter(&text).count()).sum(), text.len())
        };
        println!(
            "{name:<14} {noot:>12.0} {findings:>10} {baseline:>22.0} {:>7.1}x",
            noot / baseline
        );
    }
}
