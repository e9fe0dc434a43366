//! Target `stdlib`: the Python analyser on real code, every `.py` file of
//! the installed CPython standard library (its `site-packages` left out):
//! no panic, and an analysis that [`crate::python::well_formed`] accepts.
//! For a fixed sample (every 20th file in path order; every file in long
//! mode, until the time is up) each mutant, as the variant function noot
//! writes, compiles under that CPython, and so does the whole mutated
//! module. Files the interpreter itself does not compile (test data of
//! bad syntax) are passed over.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::python::{Check, compiler, mutants_compile, well_formed};
use noot::mutate::lang::python::analyse;

/// The standard library's folder, from the `python3` on `PATH`.
fn stdlib() -> Option<PathBuf> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    dir.is_dir().then_some(dir)
}

/// Its `.py` files, sorted, without `site-packages`.
fn python_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() && entry.file_name() != "site-packages" {
                pending.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "py") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn files_or_skip() -> Option<Vec<PathBuf>> {
    let Some(dir) = stdlib() else {
        eprintln!("no python3 with a standard library on PATH: stdlib targets skipped");
        return None;
    };
    Some(python_files(&dir))
}

/// Long mode's time, if it is on.
fn long_mode() -> Option<u64> {
    std::env::var("NOOT_FUZZ_SECONDS").ok().and_then(|s| s.trim().parse::<u64>().ok())
}

#[test]
fn stdlib_modules_analyse_without_panic() {
    let Some(files) = files_or_skip() else { return };
    // Every file costs 45 s of a debug build's time: CI takes every 4th.
    let every = if long_mode().is_some() { 1 } else { 4 };
    let files: Vec<&PathBuf> = files.iter().step_by(every).collect();
    let outcomes: Vec<(usize, usize, usize, Vec<String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(files.len().div_ceil(2).max(1))
            .map(|chunk| scope.spawn(move || analyse_all(chunk)))
            .collect();
        workers.into_iter().filter_map(|w| w.join().ok()).collect()
    });
    let mut failures = Vec::new();
    let (mut analysed, mut syntax_errors, mut not_utf8) = (0, 0, 0);
    for (a, s, n, f) in outcomes {
        (analysed, syntax_errors, not_utf8) = (analysed + a, syntax_errors + s, not_utf8 + n);
        failures.extend(f);
    }
    eprintln!(
        "fuzz stdlib: {} files, {analysed} analysed, {syntax_errors} syntax errors, {not_utf8} not UTF-8",
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Analyses each file: (analysed, syntax errors, not UTF-8, failures).
fn analyse_all(files: &[&PathBuf]) -> (usize, usize, usize, Vec<String>) {
    let (mut analysed, mut syntax_errors, mut not_utf8) = (0, 0, 0);
    let mut failures = Vec::new();
    for path in files {
        let Ok(source) = std::fs::read(path).map(String::from_utf8) else { continue };
        let Ok(source) = source else {
            not_utf8 += 1;
            continue;
        };
        match catch_unwind(AssertUnwindSafe(|| analyse(&source, "stdlib.mod", false))) {
            Ok(Ok(module)) => {
                analysed += 1;
                if let Err(why) = well_formed(&source, &module) {
                    failures.push(format!("{}: {why}", path.display()));
                }
            }
            Ok(Err(_)) => syntax_errors += 1,
            Err(_) => failures.push(format!("{}: the analyser panicked", path.display())),
        }
    }
    (analysed, syntax_errors, not_utf8, failures)
}

#[test]
fn mutants_of_sampled_stdlib_modules_compile() {
    let Some(files) = files_or_skip() else { return };
    let Some(mut compiler) = compiler() else { return };
    // CI: every 20th file, at most 100 mutants of each, as variant
    // functions, and the mutated modules up to 256 KiB (every mutant of the
    // sample is 70 MB of Python to compile). Long mode: all of it.
    let (every, check, deadline) = match long_mode() {
        Some(seconds) => (
            1,
            Check { whole_module: false, max_mutants: usize::MAX, max_module_bytes: usize::MAX },
            Instant::now() + Duration::from_secs(seconds),
        ),
        None => (
            20,
            Check { whole_module: false, max_mutants: 100, max_module_bytes: 256 << 10 },
            Instant::now() + Duration::from_secs(24 * 3600),
        ),
    };
    // A long run stops when its time is up: `NOOT_FUZZ_START=N` starts the
    // next one at the N-th file (and wraps around).
    let start = std::env::var("NOOT_FUZZ_START").ok().and_then(|s| s.trim().parse().ok());
    let start: usize = start.unwrap_or(0) % files.len().max(1);
    let started = Instant::now();
    let (mut sampled, mut mutants) = (0, 0);
    let mut failures = Vec::new();
    for path in files[start..].iter().chain(&files[..start]).step_by(every) {
        if Instant::now() > deadline {
            break;
        }
        let Ok(Ok(source)) = std::fs::read(path).map(String::from_utf8) else { continue };
        let Ok(module) = analyse(&source, "stdlib.mod", false) else { continue };
        if compiler.compile(&source).is_err() {
            continue;
        }
        sampled += 1;
        match mutants_compile(&mut compiler, &source, &module, check) {
            Ok(compiled) => mutants += compiled,
            Err(why) => failures.push(format!("{}:\n  {why}", path.display())),
        }
    }
    let line = format!(
        "fuzz stdlib: from file {start}, {sampled} modules, {mutants} mutants compiled in {:.0} s, {} modules with mutants that do not compile\n",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    if long_mode().is_some() {
        crate::report(&line);
    } else {
        eprint!("{line}");
    }
    assert!(failures.is_empty(), "mutants that do not compile:\n{}", failures.join("\n"));
}
