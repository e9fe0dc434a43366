//! Saving what was recorded: each fixture a double recorded to, scrubbed
//! (the configured scrubbers, then the values of secret-named variables)
//! and written atomically with its review, when the controller verifies,
//! whether a test, `noot mox record` or a harness over the socket asks.

use std::path::PathBuf;

use crate::fixture::Fixture;
use crate::mox::MoxError;
use crate::state::{Shared, lock};
use crate::verify::{Failure, VerifyError};

/// Who records: the test thread's name (cargo names it after the test), or
/// the program's name (not its arguments, which may hold a token).
pub(crate) fn recorded_by() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => std::env::args().next().unwrap_or_default(),
    }
}

/// Scrubs and writes every fixture recorded so far.
pub(crate) fn save_recordings(shared: &Shared, review: bool) -> Result<Vec<PathBuf>, MoxError> {
    let (recorded, scrubber, who, known) = {
        let state = lock(shared);
        (
            state.recorded.clone(),
            state.scrubber.clone(),
            state.recorded_by.clone(),
            state.secrets.clone(),
        )
    };
    let mut saved = Vec::new();
    for (path, recordings) in recorded {
        let mut fixture = Fixture::new(who.clone().unwrap_or_default());
        fixture.recordings = recordings;
        // Nothing unscrubbed ever reaches disk.
        let Some(scrubber) = &scrubber else {
            return Err(MoxError::Setup(format!(
                "cannot save {}: recording needs a scrubber; enable noot-mox's `default-scrubber` feature (on by default) or pass one with MoxBuilder::scrubber",
                path.display()
            )));
        };
        let redactions =
            crate::scrubbing::scrub_fixture(scrubber.as_ref(), &known, &mut fixture)
                .map_err(|e| MoxError::Setup(format!("cannot scrub {}: {e}", path.display())))?;
        fixture.save(&path)?;
        if review {
            crate::scrubbing::save_review(&path, redactions)?;
        } else {
            // A review from an earlier recording would describe recordings
            // this fixture no longer has.
            let _ = std::fs::remove_file(crate::scrubbing::review_path(&path));
        }
        saved.push(path);
    }
    Ok(saved)
}

/// Saves the recordings, then verifies; a failed save is one more failure.
pub(crate) fn verify_and_save(shared: &Shared, review: bool) -> Result<(), VerifyError> {
    let saved = save_recordings(shared, review);
    let outcome = lock(shared).verify();
    match saved {
        Ok(_) => outcome,
        Err(e) => {
            let mut failures = outcome.err().map(|e| e.failures).unwrap_or_default();
            failures.push(Failure::RecordFailed {
                fixture: "(recordings)".into(),
                message: e.to_string(),
            });
            Err(VerifyError { failures })
        }
    }
}
