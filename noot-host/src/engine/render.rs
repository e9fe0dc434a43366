//! Renderers for events and progress, all writing to stderr (or any
//! writer, in tests).
//!
//! - [`HumanEvents`]: warnings always; session and file events only when
//!   verbose.
//! - [`JsonEvents`]: every event as one JSON line (`--log-format json`).
//! - [`ProgressLine`]: a redrawn `done/total, percent, ETA` line, at most
//!   every 100 ms, only on a terminal and never in JSON mode.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::engine::events::Event;
use crate::engine::ports::{Clock, EventSink, ProgressSink};

/// A shared writer (stderr in the binary, a buffer in tests).
pub type SharedWriter = Arc<Mutex<dyn Write + Send>>;

fn write_line(out: &SharedWriter, line: &str) {
    let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
    // A closed stderr is no reason to fail the command.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Human-readable event lines.
pub struct HumanEvents {
    out: SharedWriter,
    verbose: bool,
}

impl HumanEvents {
    /// Writes to `out`; `verbose` shows the chatty events too.
    pub fn new(out: SharedWriter, verbose: bool) -> Self {
        Self { out, verbose }
    }
}

impl EventSink for HumanEvents {
    fn emit(&self, event: &Event) {
        let line = match event {
            Event::Warning { message } => Some(format!("warning: {message}")),
            Event::Note { message } => Some(message.clone()),
            Event::FileSkipped { path, reason } if self.verbose => {
                Some(format!("skipped {path}: {reason}"))
            }
            Event::SessionStarted { command } if self.verbose => {
                Some(format!("noot {command}: started"))
            }
            Event::SessionFinished { command, elapsed_ms } if self.verbose => {
                Some(format!("noot {command}: finished in {elapsed_ms} ms"))
            }
            Event::FileScrubbed { path, findings } if self.verbose => {
                Some(format!("scrubbed {path}: {findings} finding(s)"))
            }
            Event::Plugin { kind, payload } if self.verbose => {
                Some(format!("plugin event {kind}: {payload}"))
            }
            _ => None,
        };
        if let Some(line) = line {
            write_line(&self.out, &line);
        }
    }
}

/// One JSON object per event, one per line.
pub struct JsonEvents {
    out: SharedWriter,
}

impl JsonEvents {
    /// Writes to `out`.
    pub fn new(out: SharedWriter) -> Self {
        Self { out }
    }
}

impl EventSink for JsonEvents {
    fn emit(&self, event: &Event) {
        if let Ok(line) = serde_json::to_string(event) {
            write_line(&self.out, &line);
        }
    }
}

struct ProgressState {
    started_ms: Option<u64>,
    last_draw_ms: Option<u64>,
    drawn: bool,
}

/// A progress line redrawn in place, rate-limited.
pub struct ProgressLine {
    out: SharedWriter,
    clock: Arc<dyn Clock>,
    state: Mutex<ProgressState>,
}

/// The fewest milliseconds between two redraws.
pub const REDRAW_INTERVAL_MS: u64 = 100;

impl ProgressLine {
    /// A progress line on `out`. Only create one when `out` is a terminal
    /// and the output is not JSON; otherwise use
    /// [`crate::engine::ports::NoProgress`].
    pub fn new(out: SharedWriter, clock: Arc<dyn Clock>) -> Self {
        Self {
            out,
            clock,
            state: Mutex::new(ProgressState { started_ms: None, last_draw_ms: None, drawn: false }),
        }
    }
}

/// `1m05s`, `42s`.
fn format_duration(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    if secs >= 60 { format!("{}m{:02}s", secs / 60, secs % 60) } else { format!("{secs}s") }
}

/// The text of the progress line.
pub fn progress_text(done: u64, total: u64, elapsed_ms: u64, message: &str) -> String {
    let percent = done.saturating_mul(100).checked_div(total).unwrap_or(100);
    let eta = if done == 0 || done >= total {
        String::new()
    } else {
        let remaining = elapsed_ms.saturating_mul(total - done) / done;
        format!(", ETA {}", format_duration(remaining))
    };
    let mut line = format!("{done}/{total} ({percent}%{eta})");
    if !message.is_empty() {
        line.push_str(&format!(" {message}"));
    }
    line
}

impl ProgressSink for ProgressLine {
    fn progress(&self, done: u64, total: u64, message: &str) {
        let now = self.clock.monotonic_ms();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let started = *state.started_ms.get_or_insert(now);
        let due =
            state.last_draw_ms.is_none_or(|last| now.saturating_sub(last) >= REDRAW_INTERVAL_MS);
        if !due && done < total {
            return;
        }
        state.last_draw_ms = Some(now);
        state.drawn = true;
        let text = progress_text(done, total, now - started, message);
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = write!(out, "\r\x1b[2K{text}");
        let _ = out.flush();
    }

    fn finish(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.drawn {
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = write!(out, "\r\x1b[2K");
            let _ = out.flush();
            state.drawn = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fakes::{FakeClock, SharedBuffer};

    #[test]
    fn progress_is_rate_limited_but_always_shows_the_end() {
        let buffer = SharedBuffer::default();
        let clock = Arc::new(FakeClock::default());
        let line = ProgressLine::new(buffer.writer(), clock.clone());
        line.progress(1, 10, "a");
        clock.advance(10);
        line.progress(2, 10, "b"); // too soon: dropped
        clock.advance(100);
        line.progress(3, 10, "c");
        line.progress(10, 10, "done"); // the end is always drawn
        line.finish();
        let text = buffer.text();
        assert_eq!(text.matches("\r\x1b[2K").count(), 4, "{text:?}");
        assert!(text.contains("1/10 (10%"));
        assert!(!text.contains("2/10"));
        assert!(text.contains("3/10 (30%, ETA 1s) c"));
        assert!(text.contains("10/10 (100%) done"));
    }

    #[test]
    fn eta_extrapolates_the_rate_so_far() {
        assert_eq!(progress_text(1, 4, 20_000, ""), "1/4 (25%, ETA 1m00s)");
        assert_eq!(progress_text(0, 0, 0, "x"), "0/0 (100%) x");
    }

    #[test]
    fn json_events_are_one_object_per_line() {
        let buffer = SharedBuffer::default();
        let sink = JsonEvents::new(buffer.writer());
        sink.emit(&Event::Warning { message: "w".into() });
        sink.emit(&Event::SessionStarted { command: "scrub".into() });
        let text = buffer.text();
        let lines: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["event"], "session_started");
    }

    #[test]
    fn human_events_hide_chatter_unless_verbose() {
        let quiet = SharedBuffer::default();
        let sink = HumanEvents::new(quiet.writer(), false);
        sink.emit(&Event::SessionStarted { command: "scrub".into() });
        sink.emit(&Event::Warning { message: "careful".into() });
        assert_eq!(quiet.text(), "warning: careful\n");
        let loud = SharedBuffer::default();
        HumanEvents::new(loud.writer(), true)
            .emit(&Event::SessionStarted { command: "scrub".into() });
        assert_eq!(loud.text(), "noot scrub: started\n");
    }
}
