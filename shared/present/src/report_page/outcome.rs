//! The top of the page: whose report, the outcome in a word, the next step
//! in a sentence, and where the report came from. A run fills it, a
//! validation alone fills it, and an upload set aside unread fills it.

use super::findings::Findings;
use crate::notice::{decision, next_step, next_step_for, outcome_word};
use chrono::{DateTime, Utc};
use roster::run::{RunRecord, RunStatus};

/// What the page says first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The tenant, when known (empty otherwise).
    pub tenant: String,
    /// The outcome in a word: a run's status, `acceptable`, `rejected` or
    /// `unknown`; also the class that colours it.
    pub word: &'static str,
    /// What to do next, in one sentence (empty when nothing needs doing).
    pub next_step: &'static str,
    /// What an operator decided about the run (approved, discarded,
    /// reverted), in one sentence, when one did.
    pub decision: Option<String>,
    /// Where the report came from, when known.
    pub origin: Option<Origin>,
}

/// Where a report came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A run: its id, its delivery (`csv`, `api`, …) and when it started.
    Run {
        /// The run id.
        id: String,
        /// The delivery kind.
        delivery: String,
        /// When the run started.
        started: DateTime<Utc>,
    },
    /// An upload set aside without being read.
    SetAside {
        /// The uploaded file's name.
        file: String,
        /// When it was set aside.
        at: DateTime<Utc>,
    },
}

/// The next step for a validation without a run.
fn validation_step(ok: bool) -> &'static str {
    if ok {
        "The file can be imported. Rows with errors below are left out; the rest would be applied."
    } else {
        "Nothing was changed. Please correct the errors below in your student information system or in ClassLink's export, then send the file again."
    }
}

impl Outcome {
    /// The outcome of a stored run.
    pub fn of_run(run: &RunRecord) -> Self {
        Outcome {
            tenant: run.tenant.clone(),
            word: outcome_word(run),
            next_step: next_step(run),
            decision: decision(run),
            origin: Some(Origin::Run {
                id: run.run_id.clone(),
                delivery: run.source.kind.clone(),
                started: run.started_at,
            }),
        }
    }

    /// The outcome of a validation without a run (`rosterctl validate --html`).
    pub fn of_validation(findings: Option<&Findings>) -> Self {
        let (word, next_step) = match findings.map(|f| f.ok) {
            Some(true) => ("acceptable", validation_step(true)),
            Some(false) => ("rejected", validation_step(false)),
            None => ("unknown", ""),
        };
        Outcome {
            tenant: String::new(),
            word,
            next_step,
            decision: None,
            origin: None,
        }
    }

    /// The outcome of an upload set aside unread: rejected, nothing changed.
    pub fn set_aside(file: &str, at: DateTime<Utc>) -> Self {
        Outcome {
            tenant: String::new(),
            word: RunStatus::Rejected.as_str(),
            next_step: next_step_for(RunStatus::Rejected, "upload"),
            decision: None,
            origin: Some(Origin::SetAside {
                file: file.to_string(),
                at,
            }),
        }
    }

    /// The page's title and heading.
    pub fn title(&self) -> String {
        if self.tenant.is_empty() {
            format!("Roster file report — {}", self.word)
        } else {
            format!("Roster file report: {} — {}", self.tenant, self.word)
        }
    }

    /// The outcome word as a headline (`Rejected`).
    pub fn headline(&self) -> String {
        let mut c = self.word.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_alone_says_whether_the_file_can_be_imported() {
        let ok = Findings {
            ok: true,
            ..Findings::default()
        };
        let outcome = Outcome::of_validation(Some(&ok));
        assert_eq!(outcome.word, "acceptable");
        assert_eq!(outcome.headline(), "Acceptable");
        assert!(outcome.next_step.starts_with("The file can be imported"));
        assert_eq!(outcome.title(), "Roster file report — acceptable");
        assert_eq!(Outcome::of_validation(None).word, "unknown");
    }

    #[test]
    fn a_set_aside_upload_is_rejected_with_nothing_changed() {
        let outcome = Outcome::set_aside("export.xlsx", Utc::now());
        assert_eq!(outcome.word, "rejected");
        assert!(outcome.next_step.starts_with("Nothing was changed"));
        assert!(
            matches!(outcome.origin, Some(Origin::SetAside { ref file, .. }) if file == "export.xlsx")
        );
    }
}
