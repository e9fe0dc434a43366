//! One conformance suite per plugin kind, run against the built-in plugins
//! as linked into noot and against the same crates loaded as cdylibs
//! through the dynamic loader, plus the example third-party plugins.

use std::sync::Arc;

use noot::config::Location;
use noot::engine::ports::{NoEvents, NoProgress, Ports};
use noot::plugins::Registry;
use noot_plugin_api::abi_stable::std_types::{RString, RVec};
use noot_plugin_api::{BranchObservation, CallContext, PluginError, ScrubberBox, StrategyBox};

use crate::support::build_cdylib;

fn ports() -> Ports {
    Ports::real(Arc::new(NoEvents), Arc::new(NoProgress))
}

fn registry_with(libraries: &[&std::path::Path]) -> Registry {
    let mut registry = Registry::empty();
    for library in libraries {
        registry.load(library, &Location::Cli("--plugin".into())).unwrap_or_else(|e| panic!("{e}"));
    }
    registry
}

/// What every scrubber must do. `secret` is a value it must redact.
fn scrubber_conformance(scrubber: &ScrubberBox, secret: &str) {
    let rules = scrubber.rules().into_result().expect("rules");
    assert!(!rules.is_empty(), "a scrubber has rules");
    let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), rules.len(), "rule ids are unique");

    let clean = "nothing secret here — ünïcödé, 3f786850e387550fdab836ed7e6dc881de23001b\n";
    let out = scrubber.scrub(clean.into(), "file".into()).into_result().expect("scrubs");
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    assert_eq!(out.text.as_str(), clean, "clean text comes back unchanged");

    let input = format!("before {secret} after ✓\nline two {secret}\n");
    let out = scrubber.scrub(input.as_str().into(), "file".into()).into_result().expect("scrubs");
    assert!(!out.text.contains(secret), "the secret is gone");
    assert_eq!(out.findings.len(), 2);
    let mut last_end = 0;
    for finding in out.findings.iter() {
        let (start, end) = (finding.start as usize, finding.end as usize);
        assert!(start >= last_end && start < end && end <= input.len(), "sorted, disjoint, inside");
        assert!(input.is_char_boundary(start) && input.is_char_boundary(end));
        assert!(rules.iter().any(|r| r.id == finding.rule), "findings name a listed rule");
        last_end = end;
    }
    assert!(out.text.contains("<REDACTED:"), "redactions are marked");
    let again =
        scrubber.scrub(out.text.as_str().into(), "file".into()).into_result().expect("scrubs");
    assert!(again.findings.is_empty(), "scrubbing is idempotent");
}

/// What every strategy must do.
fn strategy_conformance(mut strategy: StrategyBox) {
    let ids: RVec<RString> = ["aa", "bb", "cc"].into_iter().map(RString::from).collect();
    for call_number in 1..=12 {
        let call = CallContext {
            experiment: "conformance".into(),
            call_number,
            config_ids: ids.clone(),
            primary: None.into(),
        };
        let plan = strategy.plan(&call).into_result().expect("plans");
        assert!(!plan.primary.is_empty(), "every call has a primary");
        for id in plan.primary.iter().chain(plan.background.iter()) {
            assert!(ids.contains(id), "plans name only the call's configs");
            let metrics = format!("{{\"score\": {}}}", call_number % 3);
            let branch = BranchObservation {
                config_id: id.clone(),
                success: true,
                duration_ms: 3,
                metrics_json: metrics.into(),
            };
            strategy.observe(&branch).into_result().expect("observes");
        }
    }
    let state = strategy.save_state().into_result().expect("saves");
    serde_json::from_str::<serde_json::Value>(&state).expect("state is JSON");
    strategy.load_state(state.as_str().into()).into_result().expect("reloads its own state");
}

#[test]
fn builtin_default_scrubber_statically_linked() {
    let registry = Registry::with_builtins().expect("built-ins");
    let scrubber = registry.new_scrubber("default", "{}", &ports()).expect("constructs");
    scrubber_conformance(&scrubber, "ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9");
}

#[test]
fn builtin_default_scrubber_as_a_cdylib() {
    let library = build_cdylib("noot-plugin-scrubbers", &["export"]);
    let registry = registry_with(&[&library]);
    let scrubber = registry.new_scrubber("default", "{}", &ports()).expect("constructs");
    scrubber_conformance(&scrubber, "ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9");
    let err =
        registry.new_scrubber("default", "{\"bogus\": 1}", &ports()).err().expect("bad config");
    assert!(err.to_string().contains("invalid configuration"), "{err}");
}

#[test]
fn example_long_hex_scrubber_as_a_cdylib() {
    let library = build_cdylib("noot-example-long-hex", &[]);
    let registry = registry_with(&[&library]);
    let scrubber = registry.new_scrubber("long-hex", "{}", &ports()).expect("constructs");
    scrubber_conformance(&scrubber, "9f8e7d6c5b4a39281726354453627180aa");
}

#[test]
fn example_epsilon_greedy_strategy_as_a_cdylib() {
    let library = build_cdylib("noot-example-epsilon-greedy", &[]);
    let registry = registry_with(&[&library]);
    strategy_conformance(
        registry.new_strategy("epsilon-greedy", "{}", &ports()).expect("constructs"),
    );
    let err =
        registry.new_strategy("epsilon-greedy", "{\"epsilon\": 3}", &ports()).err().expect("bad");
    assert!(err.to_string().contains("epsilon = 3"), "{err}");
}

#[test]
fn three_libraries_in_one_process_each_keep_their_own_root_module() {
    let scrubbers = build_cdylib("noot-plugin-scrubbers", &["export"]);
    let epsilon = build_cdylib("noot-example-epsilon-greedy", &[]);
    let long_hex = build_cdylib("noot-example-long-hex", &[]);
    let registry = registry_with(&[&scrubbers, &epsilon, &long_hex]);
    let names: Vec<(&str, &str)> =
        registry.entries().iter().map(|e| (e.kind.as_str(), e.name.as_str())).collect();
    assert_eq!(
        names,
        [("scrubber", "default"), ("strategy", "epsilon-greedy"), ("scrubber", "long-hex")]
    );
    let hex = registry.new_scrubber("long-hex", "{}", &ports()).expect("long-hex");
    let out = hex
        .scrub("ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9".into(), "file".into())
        .into_result()
        .expect("scrubs");
    assert!(out.findings.is_empty(), "long-hex is not the default scrubber in disguise");
    let err = registry.new_scrubber("epsilon-greedy", "{}", &ports()).err().expect("wrong kind");
    assert!(err.to_string().contains("no scrubber plugin named `epsilon-greedy`"), "{err}");
}

#[test]
fn a_panicking_strategy_returns_panicked() {
    let library = build_cdylib("noot-fixture-panicky", &[]);
    let registry = registry_with(&[&library]);
    let mut strategy = registry.new_strategy("panicky", "{}", &ports()).expect("constructs");
    let call = CallContext {
        experiment: "x".into(),
        call_number: 1,
        config_ids: RVec::new(),
        primary: None.into(),
    };
    let err = strategy.plan(&call).into_result().expect_err("panics");
    assert!(matches!(err, PluginError::Panicked(_)), "{err}");
}

/// What every shim backend must do: make a shim inside the folder that,
/// under a real controller, answers for its command; refuse a name that is
/// not a command without panicking.
fn shim_backend_conformance(registry: &Registry, name: &str) {
    use noot::mox::backend::PluginBackend;
    use noot_plugin_api::ShimRequest;

    let plugin = registry.new_shim_backend(name, "{}", &ports()).unwrap_or_else(|e| panic!("{e}"));
    let launcher = crate::support::shim_launcher();
    let dir = tempfile::tempdir().expect("tempdir");
    let refused = plugin.materialise(&ShimRequest {
        dir: dir.path().to_string_lossy().into_owned().into(),
        launcher: launcher.to_string_lossy().into_owned().into(),
        commands: vec![RString::from("../escape")].into(),
    });
    assert!(refused.into_result().is_err(), "{name}: a path is not a command name");
    assert!(!dir.path().parent().expect("parent").join("escape").exists());

    let backend = noot_mox::Backend::Custom(Arc::new(PluginBackend::new(name, plugin)));
    let mox =
        noot_mox::Mox::builder().backend(backend).launcher(&launcher).build().expect("controller");
    mox.stub("hello").returns(noot_mox::ok("hi from the double\n"));
    let shim = mox.shim_dir().join("hello");
    assert!(shim.exists(), "{name}: the shim is in the shim folder");
    let out = mox
        .command("sh")
        .args(["-c", "hello; echo \"exit=$?\""])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sh runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi from the double\nexit=0\n", "{name}");
    mox.verify().expect("stub");
}

#[test]
fn builtin_shim_backends_statically_linked() {
    let registry = Registry::with_builtins().expect("built-ins");
    shim_backend_conformance(&registry, "native");
    shim_backend_conformance(&registry, "script");
}

#[test]
fn builtin_shim_backends_as_a_cdylib() {
    let library = build_cdylib("noot-plugin-shims", &["export"]);
    let registry = registry_with(&[&library]);
    shim_backend_conformance(&registry, "native");
    shim_backend_conformance(&registry, "script");
}

#[test]
fn example_hardlink_shim_backend_as_a_cdylib() {
    let library = build_cdylib("noot-example-hardlink-shims", &[]);
    shim_backend_conformance(&registry_with(&[&library]), "hardlink");
}
