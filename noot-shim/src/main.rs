//! `noot-shim`: the launcher every command double's shim hands over to.
//!
//! Linked as `git` (native backend) it reads its command from `argv[0]`;
//! run as `noot-shim --as git …` (script backend) from the flag. All the
//! work is in [`noot_mox::client`], shared with noot's own fallback.

fn main() {
    let code = noot_mox::client::run(std::env::args_os().collect());
    std::process::exit(code);
}
