//! What a held run asks of a person, with the numbers: why each type was
//! held, which schools' part was held apart, and a proposed re-key.

use super::is_zero;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a type's changes were held, with the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldReason {
    /// Active records before the run.
    pub active_before: u64,
    /// Records the plan would archive as absent or deleted (ended ones aside).
    pub would_archive: u64,
    /// Active users whose email or username the plan would change (users only).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub would_change_identity: u64,
    /// Valid rows the delivery brought.
    pub incoming_rows: u64,
    /// Rows rejected (by validation and the engine's reference checks).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rejected_rows: u64,
    /// Human explanation.
    pub message: String,
}

/// A held run whose users look re-keyed: the proposal, in numbers (the
/// pairs themselves are in the mapping file kept with the run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RekeySummary {
    /// Users the delivery would archive (the old ids).
    pub archived: u64,
    /// Users it would insert (the new ids).
    pub inserted: u64,
    /// Pairs proposed, per key that matched (`identifier`, `userIds StateID`, …).
    pub paired_by: BTreeMap<String, u64>,
    /// The mapping file kept with the run (`old_sourcedId,new_sourcedId,matched_on`).
    pub mapping_ref: Option<String>,
    /// Users' pairs applied, once the run was applied with the re-key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<u64>,
    /// The courses, classes and enrollments re-keyed along with them, per type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub applied_others: BTreeMap<String, u64>,
    /// The pairs applied (every type), kept with the run: what a revert of
    /// the run unlinks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_ref: Option<String>,
}

impl RekeySummary {
    /// Pairs proposed.
    pub fn paired(&self) -> u64 {
        self.paired_by.values().sum()
    }

    /// The proposal in a sentence: "users look re-keyed: 1,204 of 1,210
    /// archived users paired with new ones (identifier 1,000, userIds StateID
    /// 204); 6 unpaired".
    pub fn sentence(&self) -> String {
        use oneroster::progress::thousands;
        let by: Vec<String> = self
            .paired_by
            .iter()
            .map(|(key, n)| format!("{key} {}", thousands(*n)))
            .collect();
        let keys = if by.is_empty() {
            String::new()
        } else {
            format!(" ({})", by.join(", "))
        };
        format!(
            "users look re-keyed: {} of {} archived users paired with new ones{keys}; {} unpaired",
            thousands(self.paired()),
            thousands(self.archived),
            thousands(self.archived.saturating_sub(self.paired()))
        )
    }
}

/// One school whose part of a bulk delivery was held apart (the per-school
/// hold), with the numbers of every type judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchoolHold {
    /// The school's sourcedId.
    pub school: String,
    /// Per type judged (classes, users, enrollments): what the school had and
    /// what the delivery would archive of it.
    pub archives: Vec<SchoolArchive>,
    /// Human explanation: `school `s1` would archive 40 of 100 active enrollments (…)`.
    pub message: String,
}

/// What a delivery would archive of one type of one school.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchoolArchive {
    /// Type (`classes`, `users`, `enrollments`).
    pub kind: String,
    /// The school's active records of the type before the run.
    pub active_before: u64,
    /// Records the delivery would archive as absent or deleted.
    pub would_archive: u64,
    /// Whether that goes past the per-school limit.
    pub over_limit: bool,
}
