//! Putting shims on disk, and finding the launcher they hand over to.
//!
//! A shim is a file named like the doubled command in the controller's
//! private folder. The `native` backend makes it a symlink to `noot-shim`
//! (which reads its command from `argv[0]`); the `script` backend writes a
//! two-line POSIX `sh` script that execs `noot-shim --as NAME`, for
//! filesystems or sandboxes without symlinks. `auto` prefers `native`.
//! noot exposes both as shim-backend plugins; this module holds the code
//! they share with a Rust test that uses the library alone.

use std::ffi::OsString;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The environment variable choosing the backend: `auto`, `native`, `script`.
pub const BACKEND_ENV: &str = "NOOT_SHIM_BACKEND";
/// The environment variable naming the launcher binary.
pub const LAUNCHER_ENV: &str = "NOOT_SHIM";
/// The launcher's file name.
pub const LAUNCHER_NAME: &str = "noot-shim";
/// The controller's socket, beside the shims. Command names starting with
/// `.noot` are refused so no shim can take its place.
pub const SOCKET_NAME: &str = ".noot-mox.sock";

/// Something that puts a shim for one command on disk.
pub trait ShimBackend: Send + Sync {
    /// Its name, for messages.
    fn name(&self) -> &str;
    /// Makes `dir/command`, handing over to `launcher`. Returns its path.
    fn make(&self, dir: &Path, launcher: &Path, command: &str) -> Result<PathBuf, String>;
}

/// `native`: a symlink to the launcher.
#[derive(Debug, Default, Clone, Copy)]
pub struct NativeShims;

impl ShimBackend for NativeShims {
    fn name(&self) -> &str {
        "native"
    }

    fn make(&self, dir: &Path, launcher: &Path, command: &str) -> Result<PathBuf, String> {
        valid_command(command)?;
        let path = dir.join(command);
        std::os::unix::fs::symlink(launcher, &path).map_err(|e| {
            format!(
                "cannot make a symlink at {}: {e}; this filesystem may not support symlinks: use the script backend (NOOT_SHIM_BACKEND=script or [mox] shim_backend = \"script\")",
                path.display()
            )
        })?;
        Ok(path)
    }
}

/// `script`: a POSIX sh wrapper that execs the launcher with `--as NAME`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScriptShims;

/// `'text'` for sh, with embedded quotes closed and escaped.
pub fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl ShimBackend for ScriptShims {
    fn name(&self) -> &str {
        "script"
    }

    fn make(&self, dir: &Path, launcher: &Path, command: &str) -> Result<PathBuf, String> {
        let launcher = launcher
            .to_str()
            .ok_or_else(|| format!("the launcher path {} is not UTF-8", launcher.display()))?;
        valid_command(command)?;
        let path = dir.join(command);
        let script = format!(
            "#!/bin/sh\n# a noot mox shim\nexec {} --as {} \"$@\"\n",
            sh_quote(launcher),
            sh_quote(command)
        );
        let write = || -> io::Result<()> {
            std::fs::write(&path, script)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        };
        write().map_err(|e| format!("cannot write the shim script {}: {e}", path.display()))?;
        Ok(path)
    }
}

/// Which backend a controller uses.
#[derive(Clone)]
pub enum Backend {
    /// `native` where symlinks work in the shim folder, else `script`.
    Auto,
    /// Symlinks; fails fast where they do not work.
    Native,
    /// sh wrappers.
    Script,
    /// Any other (a plugin, in noot).
    Custom(Arc<dyn ShimBackend>),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => f.write_str("Auto"),
            Self::Native => f.write_str("Native"),
            Self::Script => f.write_str("Script"),
            Self::Custom(b) => write!(f, "Custom({})", b.name()),
        }
    }
}

impl Backend {
    /// Parses `auto`, `native` or `script`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(Self::Auto),
            "native" => Some(Self::Native),
            "script" => Some(Self::Script),
            _ => None,
        }
    }

    /// The backend [`BACKEND_ENV`] names, or `auto`.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var(BACKEND_ENV) {
            Ok(name) if !name.is_empty() => Self::parse(&name).ok_or_else(|| {
                format!("{BACKEND_ENV}={name} is not a shim backend; use auto, native or script")
            }),
            _ => Ok(Self::Auto),
        }
    }

    /// Resolves `auto` by trying a symlink in `dir`.
    pub fn resolve(&self, dir: &Path) -> Result<Arc<dyn ShimBackend>, String> {
        match self {
            Self::Native => {
                if symlinks_work(dir) {
                    Ok(Arc::new(NativeShims))
                } else {
                    Err(format!(
                        "the native shim backend needs symlinks, and {} does not allow them; set NOOT_SHIM_BACKEND=script (or auto)",
                        dir.display()
                    ))
                }
            }
            Self::Script => Ok(Arc::new(ScriptShims)),
            Self::Auto if symlinks_work(dir) => Ok(Arc::new(NativeShims)),
            Self::Auto => Ok(Arc::new(ScriptShims)),
            Self::Custom(backend) => Ok(backend.clone()),
        }
    }
}

fn symlinks_work(dir: &Path) -> bool {
    let probe = dir.join(".noot-symlink-probe");
    let ok = std::os::unix::fs::symlink("target", &probe).is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

/// Checks that `command` can be a file name in the shim folder.
pub fn valid_command(command: &str) -> Result<(), String> {
    if command.is_empty() || command == "." || command == ".." {
        return Err(format!("`{command}` is not a command name"));
    }
    if command.chars().any(char::is_control) {
        return Err(format!("{command:?} is not a command name: it contains a control character"));
    }
    if command.starts_with(".noot") {
        return Err(format!("`{command}` is reserved for noot's own files in the shim folder"));
    }
    if command.contains('/') {
        return Err(format!(
            "`{command}` is not a command name: give the name found on PATH (such as `git`), not a path"
        ));
    }
    Ok(())
}

fn executable(path: &Path) -> bool {
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds the `noot-shim` launcher: `$NOOT_SHIM`, then beside the running
/// program (and one folder up, for test binaries under `target/*/deps`),
/// then on `PATH`.
pub fn find_launcher() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(LAUNCHER_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if executable(&path) {
            Ok(path)
        } else {
            Err(format!("{LAUNCHER_ENV}={} is not an executable file", path.display()))
        };
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            candidates.push(dir.join(LAUNCHER_NAME));
            if let Some(up) = dir.parent() {
                candidates.push(up.join(LAUNCHER_NAME));
            }
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    candidates.extend(std::env::split_paths(&path).map(|dir| dir.join(LAUNCHER_NAME)));
    candidates.into_iter().find(|p| executable(p)).ok_or_else(|| {
        format!(
            "cannot find the {LAUNCHER_NAME} launcher beside this program or on PATH; install it with `cargo install noot-shim` (or build it: `cargo build -p noot-shim`), or set {LAUNCHER_ENV} to its path"
        )
    })
}

/// `PATH` with every entry equal to `dir` removed.
pub fn path_without(path: &std::ffi::OsStr, dir: &Path) -> OsString {
    let kept: Vec<PathBuf> = std::env::split_paths(path).filter(|p| p != dir).collect();
    std::env::join_paths(kept).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_quote_survives_quotes_and_spaces() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn command_names_must_be_file_names() {
        assert!(valid_command("git").is_ok());
        assert!(valid_command("docker-compose").is_ok());
        for bad in ["", ".", "..", "/usr/bin/git", "a/b"] {
            assert!(valid_command(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn both_backends_make_a_shim_that_names_the_launcher() {
        let dir = tempfile::tempdir().expect("tempdir");
        let launcher = Path::new("/opt/noot shim/noot-shim");
        let link = NativeShims.make(dir.path(), launcher, "git").expect("symlink");
        assert_eq!(std::fs::read_link(&link).expect("link"), launcher);
        let script = ScriptShims.make(dir.path(), launcher, "gh").expect("script");
        let text = std::fs::read_to_string(&script).expect("read");
        assert!(text.contains("exec '/opt/noot shim/noot-shim' --as 'gh' \"$@\""), "{text}");
        assert!(executable(&script));
    }

    #[test]
    fn path_without_drops_only_the_shim_folder() {
        let path = std::ffi::OsString::from("/shims:/usr/bin:/bin");
        assert_eq!(path_without(&path, Path::new("/shims")), "/usr/bin:/bin");
    }

    #[test]
    fn backend_names_parse() {
        assert!(matches!(Backend::parse("native"), Some(Backend::Native)));
        assert!(Backend::parse("symlink").is_none());
    }
}
