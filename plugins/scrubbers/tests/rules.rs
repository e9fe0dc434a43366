//! True- and false-positive cases for every rule of the `default` scrubber.
//! Every token below is made up; the shapes are the real ones.

use noot_plugin_api::ScrubberPlugin;
use noot_plugin_scrubbers::DefaultScrubber;
use noot_plugin_scrubbers::config::DefaultScrubberConfig;
use noot_plugin_scrubbers::rules::BUILTIN_RULES;

fn scrubber() -> DefaultScrubber {
    DefaultScrubber::new(DefaultScrubberConfig::default()).expect("default config is valid")
}

/// Scrubs `input` and returns (output, rule ids found).
fn scrub(input: &str) -> (String, Vec<String>) {
    let out = scrubber().scrub(input, "file").expect("scrub succeeds");
    let rules = out.findings.iter().map(|f| f.rule.to_string()).collect();
    (out.text.to_string(), rules)
}

/// `secret` occurs in `input`, is found by `rule`, and is gone from the output.
fn assert_redacts(rule: &str, input: &str, secret: &str) {
    assert!(input.contains(secret), "bad case: {secret} not in {input}");
    let (out, rules) = scrub(input);
    assert!(rules.iter().any(|r| r == rule), "{rule} missed in {input:?}; found {rules:?}");
    assert!(!out.contains(secret), "secret survived: {out}");
    assert!(out.contains(&format!("<REDACTED:{rule}>")), "no marker in {out}");
}

fn assert_clean(input: &str) {
    let (out, rules) = scrub(input);
    assert!(rules.is_empty(), "false positive {rules:?} in {input:?} -> {out:?}");
    assert_eq!(out, input);
}

const GH: &str = "ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9";

#[test]
fn github_tokens() {
    assert_redacts("github-token", &format!("GITHUB_TOKEN={GH}"), GH);
    for prefix in ["gho_", "ghu_", "ghs_", "ghr_"] {
        let token = format!("{prefix}{}", &GH[4..]);
        assert_redacts("github-token", &format!("token: {token}\n"), &token);
    }
    let pat = "github_pat_11ABCDEFG0123456789abc_DefGhiJklMnoPqrStuVwxYz0123456789";
    assert_redacts("github-token", &format!("auth {pat} end"), pat);
    assert_clean("see ghp_short and the ghp_ prefix docs");
}

#[test]
fn gitlab_tokens() {
    let t = "glpat-AbCdEf123456_7890xyzQ";
    assert_redacts("gitlab-token", &format!("CI_TOKEN {t}"), t);
    assert_clean("glpat- is the prefix of GitLab tokens");
}

#[test]
fn slack_tokens_and_webhooks() {
    let bot = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp";
    assert_redacts("slack-token", &format!("SLACK={bot}"), bot);
    let user = "xoxp-2222222222-3333333333-4444444444-abcdef0123456789";
    assert_redacts("slack-token", user, user);
    let app = "xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef";
    assert_redacts("slack-token", &format!("app token {app}"), app);
    let hook = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";
    assert_redacts("slack-webhook", &format!("url = \"{hook}\""), hook);
    assert_clean("post to hooks.slack.com when the build breaks; xoxb- tokens are for bots");
}

#[test]
fn stripe_keys() {
    let live = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
    assert_redacts("stripe-key", &format!("stripe.api_key = '{live}'"), live);
    let restricted = "rk_test_51H8abcdefghijklmnopqrstu";
    assert_redacts("stripe-key", restricted, restricted);
    assert_clean("publishable keys like pk_live_abcdef are public; sk_live_ needs care");
}

#[test]
fn npm_tokens() {
    let t = "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
    assert_redacts("npm-token", &format!("//registry.npmjs.org/:_authToken={t}"), t);
    assert_clean("run npm_config_cache=/tmp npm ci");
}

#[test]
fn aws_keys() {
    assert_redacts(
        "aws-access-key-id",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "AKIAIOSFODNN7EXAMPLE",
    );
    assert_redacts("aws-access-key-id", "ASIAY34FZKBOKMUTVV7A in a log", "ASIAY34FZKBOKMUTVV7A");
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    assert_redacts("aws-secret-access-key", &format!("aws_secret_access_key = {secret}"), secret);
    assert_redacts(
        "aws-secret-access-key",
        &format!("{{\"SecretAccessKey\": \"{secret}\"}}"),
        secret,
    );
    assert_redacts(
        "aws-secret-access-key",
        &format!("AWS_SECRET_ACCESS_KEY=\"{secret}\"\n"),
        secret,
    );
    assert_clean("the AKIA prefix marks long-term keys; Nakia went home");
    assert_clean("aws_secret_access_key = ${AWS_SECRET}");
}

#[test]
fn google_api_keys() {
    let k = "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q";
    assert_eq!(k.len(), 39);
    assert_redacts("google-api-key", &format!("key={k}&q=x"), k);
    assert_clean("AIza is how Google keys start");
}

#[test]
fn jwts() {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    assert_redacts("jwt", &format!("cookie: session={jwt}; Path=/"), jwt);
    assert_clean("the header eyJ means {\" in base64");
}

#[test]
fn pem_private_keys_keep_their_frame() {
    let body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n";
    let input = format!(
        "key:\n-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\nafter\n"
    );
    let (out, rules) = scrub(&input);
    assert_eq!(rules, ["pem-private-key"]);
    assert_eq!(
        out,
        "key:\n-----BEGIN RSA PRIVATE KEY-----\n<REDACTED:pem-private-key>\n-----END RSA PRIVATE KEY-----\nafter\n"
    );
    let escaped = "\"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\"";
    assert_redacts("pem-private-key", escaped, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC");
    assert_clean("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n");
    assert_clean(
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n",
    );
}

#[test]
fn authorization_headers() {
    let bearer = "eyJraWQiOi.abc123DEF456ghi789";
    assert_redacts("auth-bearer", &format!("Authorization: Bearer {bearer}"), bearer);
    let token = "a9F3kL0pQ7zX2mN8vB4c";
    assert_redacts("auth-bearer", &format!("-H 'authorization: bearer {token}'"), token);
    assert_redacts("auth-basic", "Authorization: Basic dXNlcjpzM2NyM3Q=", "dXNlcjpzM2NyM3Q=");
    assert_clean("the bearer of bad news; a bearer authentication scheme");
    assert_clean("basic usage: see the Basic Auth section");
}

#[test]
fn passwords_in_urls_only_lose_the_password() {
    let (out, rules) = scrub("DATABASE_URL=postgres://app:hunter2@db.internal:5432/app");
    assert_eq!(rules, ["url-password"]);
    assert_eq!(out, "DATABASE_URL=postgres://app:<REDACTED:url-password>@db.internal:5432/app");
    assert_redacts("url-password", "redis://:s3cr3t@cache:6379", "s3cr3t");
    assert_clean("https://example.com:8443/path?x=1 and git@github.com:org/repo.git");
    assert_clean("ssh://git@example.com/repo and http://user@host/");
}

#[test]
fn generic_assignments_gated_by_entropy() {
    assert_redacts("generic-secret", "api_key = \"Zk3u9QmV7xLp2Rt8\"", "Zk3u9QmV7xLp2Rt8");
    assert_redacts("generic-secret", "DB_PASSWORD: p4ssW0rd-9f8e7d6c", "p4ssW0rd-9f8e7d6c");
    assert_redacts(
        "generic-secret",
        "{\"client_secret\": \"8f2b1c9d4e7a6f3b\"}",
        "8f2b1c9d4e7a6f3b",
    );
    assert_redacts("generic-secret", "SECRET_KEY := 'x8#Kq2!vLm9@Tz4$'", "x8#Kq2!vLm9@Tz4$");
    assert_clean("Click 'password reset' to choose a new password.");
    assert_clean("password = changeme");
    assert_clean("token = settings.API_TOKEN");
    assert_clean("password: ${DB_PASSWORD}");
    assert_clean("SECRET_KEY = DJANGO_SECRET_KEY");
    assert_clean("tokens: 42 and passwords: none");
}

#[test]
fn ordinary_text_survives() {
    assert_clean("commit 3f786850e387550fdab836ed7e6dc881de23001b (HEAD -> main)");
    assert_clean("request id 123e4567-e89b-12d3-a456-426614174000 took 12 ms");
    assert_clean("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    assert_clean("def reset_password(user):\n    send_token_email(user)\n");
    assert_clean("The quick brown fox jumps over the lazy dog. Basic, bearer, secret, token.");
    assert_clean("");
}

#[test]
fn secret_environment_variables_lose_their_whole_value() {
    let s = scrubber();
    let out = s.scrub("abc", "env:GITHUB_TOKEN").expect("scrub");
    assert_eq!(out.text.as_str(), "<REDACTED:secret-env-var>");
    let out = s.scrub("/usr/bin", "env:PATH").expect("scrub");
    assert_eq!(out.text.as_str(), "/usr/bin");
}

#[test]
fn spans_point_at_the_secret_and_overlaps_collapse() {
    let input = format!("a {GH} b aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    let out = scrubber().scrub(&input, "file").expect("scrub");
    let spans: Vec<(&str, &str)> = out
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), &input[f.start as usize..f.end as usize]))
        .collect();
    assert_eq!(
        spans,
        [
            ("github-token", GH),
            ("aws-secret-access-key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        ]
    );
}

#[test]
fn config_disables_rules_and_allows_known_test_values() {
    let cfg = DefaultScrubberConfig {
        disable: vec!["jwt".into()],
        allow: vec!["EXAMPLE$".into()],
        ..DefaultScrubberConfig::default()
    };
    let s = DefaultScrubber::new(cfg).expect("valid");
    let out = s
        .scrub("AKIAIOSFODNN7EXAMPLE eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig", "file")
        .expect("scrub");
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    let bad = DefaultScrubberConfig { disable: vec!["nope".into()], ..Default::default() };
    let err = DefaultScrubber::new(bad).err().expect("unknown rule is an error");
    assert!(err.message().contains("no rule `nope`"), "{err}");
    let err = DefaultScrubber::from_json("{\"entropy\": 3}").err().expect("unknown key");
    assert!(err.message().contains("unknown field `entropy`"), "{err}");
}

#[test]
fn every_rule_has_a_keyword_and_an_id_in_kebab_case() {
    for rule in BUILTIN_RULES {
        assert!(!rule.keywords.is_empty(), "{}", rule.id);
        assert!(rule.keywords.iter().all(|k| k.is_ascii()), "{}", rule.id);
        assert!(rule.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit()));
    }
}

#[test]
fn multibyte_text_around_secrets_is_kept_intact() {
    let input = format!("ключ → {GH} ✓ naïve");
    let (out, _) = scrub(&input);
    assert_eq!(out, "ключ → <REDACTED:github-token> ✓ naïve");
}
