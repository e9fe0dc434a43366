//! The `cargo-noot` binary: `cargo noot ARGS…` runs `cargo-noot noot ARGS…`,
//! which behaves exactly like `noot ARGS…`.

fn main() -> std::process::ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|first| first == "noot") {
        args.remove(1);
    }
    noot::cli::main(args)
}
