//! What a command prints and its exit code: 0 ok, 1 refused (held, rejected,
//! busy, stale, not found), 2 usage, I/O or store error.

use roster::{RunStatus, StoreError, SyncError};
use serde_json::json;

/// Exit code: the package is acceptable, the command succeeded.
pub const EXIT_OK: i32 = 0;
/// Exit code: the package (or operation) was refused.
pub const EXIT_REFUSED: i32 = 1;
/// Exit code: usage, I/O or store error.
pub const EXIT_USAGE: i32 = 2;

/// The result of a command: what to print and the exit code.
pub struct Outcome {
    /// Text for stdout.
    pub stdout: String,
    /// Process exit code.
    pub exit_code: i32,
}

pub(crate) fn ok(stdout: String) -> Outcome {
    Outcome {
        stdout,
        exit_code: EXIT_OK,
    }
}

pub(crate) fn error_outcome(json: bool, label: &str, message: &str, exit_code: i32) -> Outcome {
    Outcome {
        stdout: if json {
            json!({"ok": false, "error": message}).to_string() + "\n"
        } else {
            format!("{label}: {message}\n")
        },
        exit_code,
    }
}

/// A usage error the parser cannot see (a missing credential): the message on
/// stderr, nothing on stdout, exit code 2.
pub(crate) fn usage(message: &str) -> Outcome {
    eprintln!("error: {message}");
    Outcome {
        stdout: String::new(),
        exit_code: EXIT_USAGE,
    }
}

pub(crate) fn refused(json: bool, message: &str) -> Outcome {
    error_outcome(json, "refused", message, EXIT_REFUSED)
}

/// A store or I/O failure: exit code 2.
pub fn failure(json: bool, message: &str) -> Outcome {
    error_outcome(json, "error", message, EXIT_USAGE)
}

/// The deployment's default pause window, `DEFAULT_PAUSE_WINDOW` (as the
/// functions read it; the engine reads it too): an invalid value fails the
/// command (exit 2), naming the variable and the form expected.
pub fn default_pause(json: bool) -> Result<Option<roster::YearlyWindow>, Outcome> {
    roster::YearlyWindow::from_env().map_err(|e| failure(json, &e))
}

pub(crate) fn store_failure(json: bool, e: &StoreError) -> Outcome {
    failure(json, &e.to_string())
}

pub(crate) fn sync_failure(json: bool, e: &SyncError) -> Outcome {
    match e {
        SyncError::NotFound(m) | SyncError::Refused(m) => refused(json, m),
        other => failure(json, &other.to_string()),
    }
}

/// Exit code for a run's status.
pub fn exit_code_for(status: RunStatus) -> i32 {
    match status {
        RunStatus::Applied | RunStatus::Planned | RunStatus::Discarded => EXIT_OK,
        RunStatus::Failed => EXIT_USAGE,
        _ => EXIT_REFUSED,
    }
}
