//! The `noot` binary.

fn main() -> std::process::ExitCode {
    noot::cli::main(std::env::args_os())
}
