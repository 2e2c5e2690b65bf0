//! A plan split in two by the per-school hold: the writes of the held
//! schools (kept for a person to approve) and the rest (applied now).
//!
//! A write is held when the record belongs to a held school (its class's,
//! its orgs, the one it names), when it is the held school's own org, or
//! when it hangs on a held user or class (an enrollment of the user or in
//! the class, the user's demographics): nothing applied may point at a
//! record the held part has not made yet.

use super::{read_plan, PlanWriter, PlannedWrite};
use crate::error::SyncError;
use crate::held_changes::{action_of, ChangeAction};
use crate::run::KindCounts;
use crate::store::ArchiveReason;
use oneroster::EntityKind;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// What a split gives: the held part's counts per type (file name).
#[derive(Debug, Default, PartialEq)]
pub struct HeldApart {
    /// Counts of the held writes, per type.
    pub counts: BTreeMap<String, KindCounts>,
    /// Held writes in all.
    pub writes: u64,
}

/// Splits the plan at `plan` into `applied` and `held` (both plan files)
/// for the held `schools`.
pub fn split_plan(
    plan: &Path,
    schools: &HashSet<&str>,
    applied: &Path,
    held: &Path,
) -> Result<HeldApart, SyncError> {
    let mut held_ids = HeldIds::default();
    for w in read_plan(plan)? {
        let w = w?;
        if of_held_school(&w, schools) {
            match w.kind {
                EntityKind::Users => held_ids.users.insert(w.id),
                EntityKind::Classes => held_ids.classes.insert(w.id),
                _ => false,
            };
        }
    }
    let (mut to_apply, mut to_hold) = (PlanWriter::create(applied)?, PlanWriter::create(held)?);
    let mut apart = HeldApart::default();
    for w in read_plan(plan)? {
        let w = w?;
        if is_held(&w, schools, &held_ids) {
            count(
                &w,
                apart
                    .counts
                    .entry(w.kind.file_name().to_string())
                    .or_default(),
            );
            apart.writes += 1;
            to_hold.write(&w)?;
        } else {
            to_apply.write(&w)?;
        }
    }
    to_apply.finish()?;
    to_hold.finish()?;
    Ok(apart)
}

fn of_held_school(w: &PlannedWrite, schools: &HashSet<&str>) -> bool {
    w.schools.iter().any(|s| schools.contains(&**s))
}

/// The users and classes of the held schools' writes: what hangs on them is held too.
#[derive(Default)]
struct HeldIds {
    users: HashSet<String>,
    classes: HashSet<String>,
}

/// Whether a planned write goes to the held part.
fn is_held(w: &PlannedWrite, schools: &HashSet<&str>, held: &HeldIds) -> bool {
    of_held_school(w, schools)
        || match w.kind {
            EntityKind::Orgs => schools.contains(w.id.as_str()),
            EntityKind::Demographics => held.users.contains(&w.id),
            EntityKind::Enrollments => w.sis.as_ref().is_some_and(|sis| {
                let probe = sis.probe();
                probe
                    .user_sourced_id
                    .is_some_and(|u| held.users.contains(&*u))
                    || probe
                        .class_sourced_id
                        .is_some_and(|c| held.classes.contains(&*c))
            }),
            _ => false,
        }
}

/// Counts a write as planning counted it (a provisional user made an
/// ordinary record counts as an update here).
fn count(w: &PlannedWrite, counts: &mut KindCounts) {
    match action_of(w) {
        ChangeAction::Insert => counts.inserted += 1,
        ChangeAction::Unarchive => counts.unarchived += 1,
        ChangeAction::Update => counts.updated += 1,
        ChangeAction::Archive if w.reason == Some(ArchiveReason::Ended) => counts.ended += 1,
        ChangeAction::Archive => counts.archived += 1,
    }
}

/// Takes the held part's counts out of a run's counts (the run applied the rest).
pub fn take_counts(counts: &mut BTreeMap<String, KindCounts>, held: &BTreeMap<String, KindCounts>) {
    for (kind, h) in held {
        if let Some(c) = counts.get_mut(kind) {
            c.inserted = c.inserted.saturating_sub(h.inserted);
            c.updated = c.updated.saturating_sub(h.updated);
            c.unarchived = c.unarchived.saturating_sub(h.unarchived);
            c.archived = c.archived.saturating_sub(h.archived);
            c.ended = c.ended.saturating_sub(h.ended);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::SisContent;
    use crate::plan::Before;

    fn write(kind: EntityKind, id: &str, sis: Option<&str>, schools: &[&str]) -> PlannedWrite {
        PlannedWrite {
            kind,
            id: id.into(),
            sis: sis.map(|s| SisContent::from_stored(s.to_string())),
            first_seen: None,
            before: sis.is_none().then_some(Before {
                digest: 1,
                archived: false,
            }),
            reason: sis.is_none().then_some(ArchiveReason::Absent),
            archived_by: None,
            restore: None,
            keys: None,
            schools: schools.iter().map(|s| Box::from(*s)).collect(),
        }
    }

    #[test]
    fn a_held_school_takes_its_records_and_what_hangs_on_its_users() {
        let dir = tempfile::tempdir().unwrap();
        let (plan, applied, held) = (
            dir.path().join("plan"),
            dir.path().join("applied"),
            dir.path().join("held"),
        );
        let mut out = PlanWriter::create(&plan).unwrap();
        let writes = [
            write(EntityKind::Orgs, "s1", None, &[]),
            write(EntityKind::Orgs, "s2", Some(r#"{"sourcedId":"s2"}"#), &[]),
            write(EntityKind::Classes, "c1", None, &["s1"]),
            write(
                EntityKind::Users,
                "new",
                Some(r#"{"sourcedId":"new"}"#),
                &["s1"],
            ),
            write(
                EntityKind::Users,
                "u2",
                Some(r#"{"sourcedId":"u2"}"#),
                &["s2"],
            ),
            // In a school not held, but of a user the held part makes.
            write(
                EntityKind::Enrollments,
                "e1",
                Some(r#"{"sourcedId":"e1","userSourcedId":"new","classSourcedId":"c2"}"#),
                &["s2"],
            ),
            write(
                EntityKind::Demographics,
                "new",
                Some(r#"{"sourcedId":"new"}"#),
                &[],
            ),
            // A new class of the held school, and an enrollment in it naming the district.
            write(
                EntityKind::Classes,
                "c9",
                Some(r#"{"sourcedId":"c9","schoolSourcedId":"s1"}"#),
                &["s1"],
            ),
            write(
                EntityKind::Enrollments,
                "e9",
                Some(
                    r#"{"sourcedId":"e9","userSourcedId":"u2","classSourcedId":"c9","schoolSourcedId":"d1"}"#,
                ),
                &[],
            ),
            write(EntityKind::Users, "u3", None, &["s2", "s1"]),
        ];
        for w in &writes {
            out.write(w).unwrap();
        }
        out.finish().unwrap();
        let apart = split_plan(&plan, &HashSet::from(["s1"]), &applied, &held).unwrap();
        let ids = |path: &Path| -> Vec<String> {
            read_plan(path).unwrap().map(|w| w.unwrap().id).collect()
        };
        assert_eq!(
            ids(&held),
            ["s1", "c1", "new", "e1", "new", "c9", "e9", "u3"]
        );
        assert_eq!(ids(&applied), ["s2", "u2"]);
        assert_eq!(apart.writes, 8);
        let users = &apart.counts["users"];
        assert_eq!((users.inserted, users.archived), (1, 1));
        let mut counts = BTreeMap::from([(
            "users".to_string(),
            KindCounts {
                inserted: 1,
                updated: 1,
                archived: 1,
                ..KindCounts::default()
            },
        )]);
        take_counts(&mut counts, &apart.counts);
        assert_eq!(
            (
                counts["users"].inserted,
                counts["users"].updated,
                counts["users"].archived
            ),
            (0, 1, 0)
        );
    }
}
