//! The `noot` binary. Called by a doubled command's name (a shim made when
//! `noot-shim` is not installed), it acts as that shim.

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // cargo runs noot around rustc for a mutated copy's own crates.
    noot::mutate::lang::rust::cap_lints::run_if_wrapper(&args);
    if noot::mox::acts_as_shim(&args) {
        std::process::exit(noot_mox::client::run(args));
    }
    noot::cli::main(args)
}
