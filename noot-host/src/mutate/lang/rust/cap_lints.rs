//! `--cap-lints=warn` for the mutated copy's own crates, through a rustc
//! wrapper: noot itself, run by cargo as `RUSTC_WORKSPACE_WRAPPER`.
//!
//! A crate that denies warnings must still build with its mutants in.
//! Adding the flag to the rustflags would replace or reorder the user's:
//! `RUSTFLAGS` makes cargo ignore every `rustflags` of the
//! `.cargo/config.toml` files, and a `--config` entry can hide
//! `build.rustflags` behind a `target` one. The wrapper leaves every flag
//! of the user's where cargo puts it, and reaches only the workspace's
//! members (cargo already caps the dependencies' lints). A wrapper the
//! user set for the workspace runs inside it.

use std::ffi::OsString;

/// Set for cargo: the user's own workspace wrapper (empty if none). Its
/// presence tells noot it runs as the wrapper.
pub const WRAPPER_VAR: &str = "NOOT_CAP_LINTS_WRAPPER";

/// The variables that make cargo run `noot` (`exe`) around rustc for the
/// workspace's crates.
pub fn cargo_env(exe: &std::path::Path, user_wrapper: Option<String>) -> Vec<(String, String)> {
    vec![
        ("RUSTC_WORKSPACE_WRAPPER".to_owned(), exe.display().to_string()),
        (WRAPPER_VAR.to_owned(), user_wrapper.unwrap_or_default()),
    ]
}

/// When noot runs as the wrapper (`args`: noot, rustc, its arguments):
/// the command to run instead, the flag added.
pub fn command(args: &[OsString], user_wrapper: &OsString) -> Option<std::process::Command> {
    let (rustc, rest) = args.get(1..)?.split_first()?;
    let mut command = if user_wrapper.is_empty() {
        std::process::Command::new(rustc)
    } else {
        let mut command = std::process::Command::new(user_wrapper);
        command.arg(rustc);
        command
    };
    // Not for the processes rustc or the user's wrapper start.
    command.args(rest).arg("--cap-lints=warn").env_remove(WRAPPER_VAR);
    Some(command)
}

/// Runs as the wrapper if cargo started noot as one; returns only when it
/// did not.
pub fn run_if_wrapper(args: &[OsString]) {
    let Some(user_wrapper) = std::env::var_os(WRAPPER_VAR) else { return };
    let Some(mut command) = command(args, &user_wrapper) else {
        eprintln!("noot: run as a rustc wrapper without a rustc to run");
        std::process::exit(101);
    };
    let code = match command.status() {
        Ok(status) => status.code().unwrap_or(101),
        Err(e) => {
            eprintln!("noot: cannot run rustc as a wrapper: {e}");
            101
        }
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_follows_rustcs_arguments_inside_the_users_wrapper() {
        let args: Vec<OsString> = ["noot", "rustc", "--crate-name", "x"].map(OsString::from).into();
        let plain = command(&args, &OsString::new()).expect("command");
        assert_eq!(plain.get_program(), "rustc");
        let given: Vec<_> = plain.get_args().collect();
        assert_eq!(given, ["--crate-name", "x", "--cap-lints=warn"]);
        let wrapped = command(&args, &OsString::from("sccache")).expect("command");
        assert_eq!(wrapped.get_program(), "sccache");
        assert_eq!(wrapped.get_args().next(), Some(std::ffi::OsStr::new("rustc")));
        assert!(command(&args[..1], &OsString::new()).is_none());
    }
}
