//! Hands the host's [`Ports`] to plugins as the sabi trait objects of
//! `noot-plugin-api`. Every method body runs under the API's `guard`, so a
//! host panic never unwinds into a plugin's stack frame.

use std::path::Path;
use std::sync::Arc;

use noot_plugin_api::abi_stable::sabi_trait::prelude::TD_Opaque;
use noot_plugin_api::abi_stable::std_types::{
    ROption, RResult, RSlice, RStr, RString, RVec, Tuple2,
};
use noot_plugin_api::{
    Clock, Clock_TO, Env, Env_TO, EventSink, EventSink_TO, ExitKind, Fs, Fs_TO, HostPorts,
    PluginError, ProcExit, ProcId, Procs, Procs_TO, ProgressSink, ProgressSink_TO, SpawnSpec,
    guard,
};

use crate::engine::events::Event;
use crate::engine::ports::Ports;
use crate::engine::procs::{ProcHandle, ProcStatus, SpawnRequest};

/// The ports a plugin gets, all backed by `ports`.
pub fn host_ports(ports: &Ports) -> HostPorts {
    HostPorts {
        clock: Clock_TO::from_value(ClockPort(ports.clock.clone()), TD_Opaque),
        env: Env_TO::from_value(EnvPort(ports.env.clone()), TD_Opaque),
        fs: Fs_TO::from_value(FsPort(ports.fs.clone()), TD_Opaque),
        procs: Procs_TO::from_value(ProcsPort(ports.procs.clone()), TD_Opaque),
        events: EventSink_TO::from_value(EventPort(ports.events.clone()), TD_Opaque),
        progress: ProgressSink_TO::from_value(ProgressPort(ports.progress.clone()), TD_Opaque),
    }
}

struct ClockPort(Arc<dyn crate::engine::ports::Clock>);

impl Clock for ClockPort {
    fn now_unix_ms(&self) -> u64 {
        self.0.now_unix_ms()
    }

    fn monotonic_ms(&self) -> u64 {
        self.0.monotonic_ms()
    }
}

struct EnvPort(Arc<dyn crate::engine::ports::Env>);

impl Env for EnvPort {
    fn var(&self, name: RStr<'_>) -> ROption<RString> {
        self.0.var(name.as_str()).map(RString::from).into()
    }

    fn vars(&self) -> RVec<Tuple2<RString, RString>> {
        self.0.vars().into_iter().map(|(k, v)| Tuple2(k.into(), v.into())).collect()
    }

    fn current_dir(&self) -> RString {
        self.0.current_dir().map(|p| p.display().to_string()).unwrap_or_default().into()
    }
}

struct FsPort(Arc<dyn crate::engine::ports::Fs>);

impl Fs for FsPort {
    fn read(&self, path: RStr<'_>) -> RResult<RVec<u8>, PluginError> {
        guard("Fs::read", || {
            self.0.read(Path::new(path.as_str())).map(RVec::from).map_err(|e| io_error(path, e))
        })
    }

    fn write(&self, path: RStr<'_>, data: RSlice<'_, u8>) -> RResult<(), PluginError> {
        guard("Fs::write", || {
            self.0.write(Path::new(path.as_str()), data.as_slice()).map_err(|e| io_error(path, e))
        })
    }

    fn replace_atomic(&self, path: RStr<'_>, data: RSlice<'_, u8>) -> RResult<(), PluginError> {
        guard("Fs::replace_atomic", || {
            self.0
                .replace_atomic(Path::new(path.as_str()), data.as_slice())
                .map_err(|e| io_error(path, e))
        })
    }
}

fn io_error(path: RStr<'_>, e: std::io::Error) -> PluginError {
    PluginError::io(format!("{path}: {e}"))
}

struct ProcsPort(Arc<dyn crate::engine::ports::Procs>);

impl Procs for ProcsPort {
    fn spawn(&self, spec: &SpawnSpec) -> RResult<ProcId, PluginError> {
        guard("Procs::spawn", || {
            let request = SpawnRequest {
                program: spec.program.to_string(),
                args: spec.args.iter().map(ToString::to_string).collect(),
                clear_env: spec.clear_env,
                env: spec.env.iter().map(|Tuple2(k, v)| (k.to_string(), v.to_string())).collect(),
                env_remove: spec.env_remove.iter().map(ToString::to_string).collect(),
                cwd: spec.cwd.as_ref().map(|c| c.as_str().into()).into_option(),
                stdin: spec.stdin.as_ref().map(|b| b.to_vec()).into_option(),
                output_cap_bytes: usize::try_from(spec.output_cap_bytes).unwrap_or(usize::MAX),
                cpu_limit_secs: spec.cpu_limit_secs.into_option(),
                ..SpawnRequest::default()
            };
            self.0
                .spawn(&request)
                .map(|h| ProcId(h.0))
                .map_err(|e| PluginError::io(format!("cannot start `{}`: {e}", spec.program)))
        })
    }

    fn wait(&self, id: ProcId, deadline_ms: ROption<u64>) -> RResult<ProcExit, PluginError> {
        guard("Procs::wait", || {
            let result = self
                .0
                .wait(ProcHandle(id.0), deadline_ms.into_option())
                .map_err(PluginError::io)?;
            let (kind, code) = match result.status {
                ProcStatus::Exited(code) => (ExitKind::Exited, code),
                ProcStatus::Signaled(signal) => (ExitKind::Signaled, signal),
                ProcStatus::TimedOut => (ExitKind::TimedOut, -1),
            };
            Ok(ProcExit {
                kind,
                code,
                stdout: result.stdout.into(),
                stderr: result.stderr.into(),
                stdout_truncated: result.stdout_truncated,
                stderr_truncated: result.stderr_truncated,
                elapsed_ms: result.elapsed_ms,
            })
        })
    }

    fn kill_group(&self, id: ProcId) -> RResult<(), PluginError> {
        guard("Procs::kill_group", || self.0.kill_group(ProcHandle(id.0)).map_err(PluginError::io))
    }
}

struct EventPort(Arc<dyn crate::engine::ports::EventSink>);

impl EventSink for EventPort {
    fn emit(&self, kind: RStr<'_>, payload_json: RStr<'_>) {
        let payload = serde_json::from_str(payload_json.as_str())
            .unwrap_or_else(|_| serde_json::Value::String(payload_json.to_string()));
        let event = Event::Plugin { kind: kind.to_string(), payload };
        // A panicking sink must not unwind into the plugin.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.0.emit(&event)));
    }
}

struct ProgressPort(Arc<dyn crate::engine::ports::ProgressSink>);

impl ProgressSink for ProgressPort {
    fn progress(&self, done: u64, total: u64, message: RStr<'_>) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.0.progress(done, total, message.as_str())
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fakes::{FakeClock, MemFs, RecordingEvents, fake_ports};

    #[test]
    fn plugins_reach_the_hosts_ports() {
        let clock = Arc::new(FakeClock::default());
        clock.advance(1234);
        let fs = Arc::new(MemFs::default());
        let events = Arc::new(RecordingEvents::default());
        let mut ports = fake_ports();
        ports.clock = clock;
        ports.fs = fs.clone();
        ports.events = events.clone();
        let abi = host_ports(&ports);
        assert_eq!(abi.clock.monotonic_ms(), 1234);
        abi.fs
            .replace_atomic("/x/state.json".into(), RSlice::from_slice(b"{}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            abi.fs.read("/x/state.json".into()).into_result().expect("read").as_slice(),
            b"{}"
        );
        let missing = abi.fs.read("/nope".into()).into_result().expect_err("missing file");
        assert!(matches!(missing, PluginError::Io(_)), "{missing}");
        abi.events.emit("branch_finished".into(), r#"{"ok":true}"#.into());
        assert_eq!(events.names(), ["plugin"]);
    }
}
