use super::*;
use crate::engine::test_tree::write;

const RUSTC: &str = "rustc 1.95.0 (59807616e 2026-04-14)\nhost: x86_64-unknown-linux-gnu\n";

/// A user's target folder as `cargo test` leaves it for a package `geo-kit`
/// with one dependency, `itoa`, built by [`RUSTC`].
fn user_target(root: &Path) -> PathBuf {
    let target = root.join("target");
    let info = serde_json::json!({"outputs": {"1": {"success": true, "stdout": RUSTC}}});
    write(&target, ".rustc_info.json", &info.to_string());
    for rel in [
        "debug/deps/libitoa-1a.rlib",
        "debug/deps/libitoa-1a.rmeta",
        "debug/deps/itoa-1a.d",
        "debug/build/itoa-2b/out/generated.rs",
        "debug/.fingerprint/itoa-1a/lib-itoa",
        "debug/.fingerprint/itoa-2b/run-build-script-build-script-build",
        "debug/deps/libgeo_kit-3c.rlib",
        "debug/deps/geo_kit-4d.d",
        "debug/.fingerprint/geo-kit-3c/lib-geo_kit",
        "debug/incremental/geo_kit-5e/s-1/dep-graph.bin",
        "debug/.fingerprint/rand-6f/lib-rand",
        "debug/deps/librand-6f.rlib",
        "debug/geo-kit",
    ] {
        write(&target, rel, rel);
    }
    let test_binary = target.join("debug/deps/geo_kit-4d");
    write(&target, "debug/deps/geo_kit-4d", "an executable");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&test_binary, std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    let times = std::fs::FileTimes::new().set_modified(old).set_accessed(old);
    std::fs::File::open(target.join("debug/.fingerprint/itoa-1a/lib-itoa"))
        .and_then(|f| f.set_times(times))
        .expect("times");
    target
}

/// What the project's `Cargo.lock` names: itself and `itoa`.
fn locked() -> BTreeSet<String> {
    ["geo-kit", "itoa"].map(String::from).into()
}

fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                found.insert(rel.to_string_lossy().into_owned());
            }
        }
    }
    found
}

#[test]
fn the_dependencies_of_the_users_build_are_copied_with_their_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = user_target(dir.path());
    let noot = dir.path().join(".noot/target");
    let members = ["geo-kit".to_owned()];
    let seeded =
        seed(&from, &noot, RUSTC, &locked(), &members).expect("io").expect("same toolchain");
    let seeded = seeded.expect("copied");
    assert_eq!((seeded.schema_version, seeded.files), (1, 6));
    assert_eq!(
        files_under(&noot.join("debug")),
        [
            ".fingerprint/itoa-1a/lib-itoa",
            ".fingerprint/itoa-2b/run-build-script-build-script-build",
            "build/itoa-2b/out/generated.rs",
            "deps/itoa-1a.d",
            "deps/libitoa-1a.rlib",
            "deps/libitoa-1a.rmeta",
            "noot-seed.json",
        ]
        .map(String::from)
        .into(),
        "not the package's own artifacts, its tests, incremental/, nor a package of another project"
    );
    let modified = |root: &Path| {
        std::fs::metadata(root.join("debug/.fingerprint/itoa-1a/lib-itoa"))
            .and_then(|m| m.modified())
            .expect("mtime")
    };
    assert_eq!(modified(&noot), modified(&from), "cargo judges freshness by times");
    assert!(is_seeded(&noot));
    let marker: Seeded =
        serde_json::from_slice(&std::fs::read(noot.join(MARKER)).expect("marker")).expect("json");
    assert_eq!(marker, seeded);
    assert!(!noot.join("debug.seeding").exists());
    assert_eq!(seed(&from, &noot, RUSTC, &locked(), &members).expect("io"), Ok(None), "only once");
}

#[test]
fn a_target_built_by_another_toolchain_or_none_at_all_is_not_copied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = user_target(dir.path());
    let noot = dir.path().join(".noot/target");
    let other = "rustc 1.94.0 (aaaa 2026-03-01)\n";
    assert_eq!(
        seed(&from, &noot, other, &locked(), &[]).expect("io"),
        Err(Skipped::OtherToolchain(from.clone()))
    );
    assert!(!noot.exists() && !is_seeded(&noot));
    let nothing = dir.path().join("nothing");
    assert_eq!(seed(&nothing, &noot, RUSTC, &locked(), &[]).expect("io"), Ok(None));
    assert_eq!(seed(&noot, &noot, RUSTC, &locked(), &[]).expect("io"), Ok(None), "the same folder");
    let unrelated = BTreeSet::from(["serde".to_owned()]);
    assert_eq!(
        seed(&from, &noot, RUSTC, &unrelated, &[]).expect("io"),
        Ok(None),
        "nothing to copy"
    );
    assert!(!noot.join("debug").exists());
}

#[cfg(unix)]
#[test]
fn a_unit_with_a_symbolic_link_is_left_out_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = user_target(dir.path());
    std::os::unix::fs::symlink("/etc/hostname", from.join("debug/build/itoa-2b/out/link"))
        .expect("symlink");
    let noot = dir.path().join(".noot/target");
    let seeded = seed(&from, &noot, RUSTC, &locked(), &[]).expect("io").expect("copied");
    assert!(seeded.is_some());
    let copied = files_under(&noot.join("debug"));
    assert!(copied.contains("deps/libitoa-1a.rlib"), "{copied:?}");
    assert!(!copied.iter().any(|f| f.contains("itoa-2b")), "the build script's unit: {copied:?}");
}

/// Not released and tried again in the same test: a process forked by
/// another test of this binary between fork and exec holds the lock too.
#[cfg(unix)]
#[test]
fn nothing_is_copied_while_cargo_holds_the_build_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = user_target(dir.path());
    let noot = dir.path().join(".noot/target");
    // cargo holds its build lock exclusively while it builds.
    let lock = std::fs::File::create(from.join("debug/.cargo-lock")).expect("lock file");
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this test owns and keeps open.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    assert_eq!(
        seed(&from, &noot, RUSTC, &locked(), &[]).expect("io"),
        Err(Skipped::Busy(from.clone()))
    );
    assert!(!noot.join("debug").exists() && !noot.join("debug.seeding").exists());
}
