//! What one branch leaves behind: the record every backend logs.
//!
//! Everything in a record that came from the user's process (output tails,
//! metrics, the exception) has been through the scrubbers before the
//! record is built; see [`crate::experiment::call`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The version of a branch record (a line of `branches.jsonl`). 2: the
/// status `interrupted`, and branches that were interrupted or timed out
/// are never compared (version 1 logged them `failed` and compared them;
/// [`BranchRecord::upgrade`] reads them as version 2 would have written).
pub const RECORD_SCHEMA_VERSION: u32 = 2;

/// Whether the caller gets a branch's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Its result goes to the caller.
    Primary,
    /// It runs beside the primary and is only logged.
    Background,
}

impl Role {
    /// The name the records and MLflow tags use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Background => "background",
        }
    }
}

/// How a branch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchStatus {
    /// Exit code 0 (or the closure returned `Ok`).
    Success,
    /// Anything else: an exit code, a signal, a timeout, a start failure.
    Failed,
    /// Killed unfinished because noot was interrupted (Ctrl-C, SIGTERM):
    /// it says nothing about the variant, so it is neither a run nor
    /// compared.
    Interrupted,
    /// Planned but never started (interrupted first).
    Skipped,
}

impl BranchStatus {
    /// The name the records and MLflow tags use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
            Self::Skipped => "skipped",
        }
    }
}

/// Why a branch failed, in the terms of what ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionInfo {
    /// `exit`, `signal`, `timeout`, `spawn`, `panic`, `error`, or a Python
    /// exception's class (`ValueError`) when stderr ends in a traceback.
    #[serde(rename = "type")]
    pub kind: String,
    /// One line saying what happened.
    pub message: String,
    /// The traceback, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
}

/// One branch of one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchRecord {
    /// The experiment.
    pub experiment: String,
    /// The call, from 1, counting across invocations.
    pub call: u64,
    /// The variant's canonical id.
    pub config_id: String,
    /// The variant's label.
    pub label: String,
    /// The variant's config.
    pub config: Value,
    /// The strategy that planned the call.
    pub strategy: String,
    /// Primary or background.
    pub role: Role,
    /// RFC 3339, UTC, milliseconds.
    pub started_at: String,
    /// RFC 3339, UTC, milliseconds.
    pub ended_at: String,
    /// Wall-clock milliseconds.
    pub duration_ms: u64,
    /// How it ended.
    pub status: BranchStatus,
    /// The exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The signal, when one killed it.
    pub signal: Option<i32>,
    /// Whether its time limit killed it.
    pub timed_out: bool,
    /// What it wrote to `NOOT_METRICS_FILE` (an object; `{}` if nothing).
    pub metrics: Map<String, Value>,
    /// Why the metrics file could not be read, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_error: Option<String>,
    /// The end of its stdout.
    pub stdout_tail: String,
    /// The end of its stderr.
    pub stderr_tail: String,
    /// Whether stdout was longer than its tail.
    pub stdout_truncated: bool,
    /// Whether stderr was longer than its tail.
    pub stderr_truncated: bool,
    /// Why it failed.
    pub exception: Option<ExceptionInfo>,
    /// Compared with the call's primary: same result? `None` for the
    /// primary itself and when nothing was compared.
    pub matched: Option<bool>,
    /// What differed, when `matched` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<String>,
    /// Secrets the scrubbers replaced in this record.
    #[serde(default)]
    pub redactions: usize,
}

impl BranchRecord {
    /// A branch of `variant` that has not run yet (status `skipped`, no
    /// times): what runs it fills in the rest.
    pub fn planned(
        experiment: &str,
        call: u64,
        variant: &crate::experiment::pool::Variant,
        strategy: &str,
        role: Role,
    ) -> Self {
        Self {
            experiment: experiment.to_string(),
            call,
            config_id: variant.id.clone(),
            label: variant.label.clone(),
            config: variant.config.clone(),
            strategy: strategy.to_string(),
            role,
            started_at: String::new(),
            ended_at: String::new(),
            duration_ms: 0,
            status: BranchStatus::Skipped,
            exit_code: None,
            signal: None,
            timed_out: false,
            metrics: Map::new(),
            metrics_error: None,
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            exception: None,
            matched: None,
            mismatch: None,
            redactions: 0,
        }
    }
}

impl BranchRecord {
    /// Whether it ran to an end of its own, so its result can be compared
    /// with another's: not skipped, not interrupted, not timed out (a
    /// branch cut short would differ from one that was not for that
    /// reason alone).
    pub fn comparable(&self) -> bool {
        matches!(self.status, BranchStatus::Success | BranchStatus::Failed) && !self.timed_out
    }

    /// A record as version 2 would have written it: version 1 logged an
    /// interrupted branch as `failed` (with an `interrupted` exception)
    /// and compared interrupted and timed-out branches like any other.
    pub fn upgrade(&mut self) {
        let interrupted = self.exception.as_ref().is_some_and(|e| e.kind == "interrupted");
        if self.status == BranchStatus::Failed && interrupted {
            self.status = BranchStatus::Interrupted;
        }
        if !self.comparable() {
            self.matched = None;
            self.mismatch = None;
        }
    }
}

/// A record as one JSONL line: `schema_version` first, newline last.
pub fn to_line(record: &BranchRecord) -> Result<Vec<u8>, String> {
    let mut map = Map::new();
    map.insert("schema_version".into(), Value::from(RECORD_SCHEMA_VERSION));
    let Value::Object(fields) = serde_json::to_value(record).map_err(|e| e.to_string())? else {
        return Err("a branch record is not a JSON object".into());
    };
    map.extend(fields);
    let mut line = serde_json::to_vec(&Value::Object(map)).map_err(|e| e.to_string())?;
    line.push(b'\n');
    Ok(line)
}

/// RFC 3339 in UTC with milliseconds, from Unix milliseconds.
pub fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        unix_ms % 1000
    )
}

/// The Unix milliseconds of a time [`rfc3339`] wrote
/// (`2026-11-21T09:17:11.754Z`); `None` for any other shape.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() != 24 || bytes[23] != b'Z' {
        return None;
    }
    let number = |from: usize, len: usize| -> Option<i64> {
        let digits = text.get(from..from + len)?;
        digits.bytes().all(|b| b.is_ascii_digit()).then(|| digits.parse().ok())?
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.')];
    if separators.iter().any(|&(at, sep)| bytes[at] != sep) {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
    let (hour, minute, second, milli) =
        (number(11, 2)?, number(14, 2)?, number(17, 2)?, number(20, 3)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let ms = ((days * 86_400 + hour * 3600 + minute * 60 + second) * 1000) + milli;
    u64::try_from(ms).ok()
}

/// Days since 1970-01-01 of a Gregorian date (the inverse of
/// [`civil_from_days`], from the same published algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// published algorithm, valid for every day a u64 of milliseconds reaches).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The exception a failed process left: a Python traceback's last line if
/// stderr ends in one, else what the exit says.
pub fn exception_from_stderr(
    stderr_tail: &str,
    fallback_kind: &str,
    fallback: String,
) -> ExceptionInfo {
    if let Some(start) = stderr_tail.rfind("Traceback (most recent call last):") {
        let traceback = stderr_tail[start..].trim_end();
        let last = traceback.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
        let (kind, message) = match last.split_once(':') {
            Some((kind, message)) if is_exception_name(kind) => (kind.trim(), message.trim()),
            _ if is_exception_name(last) => (last.trim(), ""),
            _ => (fallback_kind, fallback.as_str()),
        };
        return ExceptionInfo {
            kind: kind.to_string(),
            message: if message.is_empty() { fallback.clone() } else { message.to_string() },
            traceback: Some(traceback.to_string()),
        };
    }
    ExceptionInfo { kind: fallback_kind.to_string(), message: fallback, traceback: None }
}

fn is_exception_name(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && !text.starts_with(' ')
        && text.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_timestamps_read_back_to_the_same_millisecond() {
        for ms in [0, 951_782_400_000, 1_795_684_631_754, 4_102_444_799_999] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms), "{}", rfc3339(ms));
        }
        for bad in [
            "",
            "2026-11-21",
            "2026-11-21T09:17:11Z",
            "2026-13-21T09:17:11.754Z",
            "2026-11-21 09:17:11.754Z",
            "2026-11-21T09:17:11.7a4Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_version_1_record_of_an_interrupted_or_timed_out_branch_is_not_compared() {
        let variant = crate::experiment::pool::Variant {
            id: "abc".into(),
            label: "x".into(),
            config: Value::Null,
            source: String::new(),
        };
        let mut record = BranchRecord::planned("e", 1, &variant, "shadow", Role::Background);
        record.status = BranchStatus::Failed;
        record.matched = Some(false);
        record.mismatch = Some("stdout differs from the primary's".into());
        let mut failed = record.clone();
        failed.upgrade();
        assert_eq!(failed, record, "a plain failure stays compared");
        let mut interrupted = record.clone();
        interrupted.exception = Some(ExceptionInfo {
            kind: "interrupted".into(),
            message: "killed because noot was interrupted".into(),
            traceback: None,
        });
        interrupted.upgrade();
        assert_eq!(
            (interrupted.status, interrupted.matched, interrupted.mismatch),
            (BranchStatus::Interrupted, None, None)
        );
        let mut timed_out = record;
        timed_out.timed_out = true;
        timed_out.upgrade();
        assert_eq!(
            (timed_out.status, timed_out.matched, timed_out.mismatch),
            (BranchStatus::Failed, None, None)
        );
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_795_262_461_007), "2026-11-21T12:01:01.007Z");
    }

    #[test]
    fn a_python_traceback_gives_the_exception_class_and_message() {
        let stderr = "warming up\nTraceback (most recent call last):\n  File \"x.py\", line 3, in <module>\n    raise ValueError('temperature too high: 2.0')\nValueError: temperature too high: 2.0\n";
        let info = exception_from_stderr(stderr, "exit", "exited with code 1".into());
        assert_eq!(info.kind, "ValueError");
        assert_eq!(info.message, "temperature too high: 2.0");
        assert!(info.traceback.as_deref().is_some_and(|t| t.starts_with("Traceback")));
        let info = exception_from_stderr(
            "Traceback (most recent call last):\n  File \"x\"\nKeyboardInterrupt\n",
            "signal",
            "killed".into(),
        );
        assert_eq!((info.kind.as_str(), info.message.as_str()), ("KeyboardInterrupt", "killed"));
        let info = exception_from_stderr("plain failure\n", "exit", "exited with code 3".into());
        assert_eq!(
            info,
            ExceptionInfo {
                kind: "exit".into(),
                message: "exited with code 3".into(),
                traceback: None
            }
        );
    }
}
