//! The per-school hold: which school each planned write belongs to, how
//! much of one school's classes, enrollments and users a bulk delivery
//! would archive, and which schools' part of a run waits for a person.
//!
//! A school is an org some stored class is in. A course belongs to its org
//! when that is a school, a class to its school, an enrollment to the school
//! it names and its class's, a user to those of its orgs that are schools;
//! a school's own org record, and what hangs on a held user or a new class
//! of a held school, are held by the split (`apart`).

use crate::content::SisContent;
use crate::run::{SchoolArchive, SchoolHold};
use crate::school_year::RecordFacts;
use crate::store::StoredSummary;
use crate::tenant::HoldThresholds;
use oneroster::EntityKind;
use rustc_hash::FxHashMap;

/// The types whose archives the per-school hold counts.
const JUDGED: [EntityKind; 3] = [
    EntityKind::Classes,
    EntityKind::Users,
    EntityKind::Enrollments,
];

/// Each stored class's school, and per school and type the active records
/// before the run and the archives a bulk delivery plans.
#[derive(Debug, Default)]
pub struct Schools {
    class_school: FxHashMap<Box<str>, Box<str>>,
    /// Per school, a tally for each type of [`JUDGED`].
    tallies: FxHashMap<Box<str>, [Tally; 3]>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    active_before: u64,
    would_archive: u64,
}

impl Schools {
    /// Learns the stored classes' schools (call with the classes' summaries
    /// before users and enrollments are planned).
    pub fn learn_classes(&mut self, stored: &[StoredSummary]) {
        for s in stored {
            if let RecordFacts::Class {
                school: Some(school),
                ..
            } = &s.facts
            {
                self.class_school
                    .insert(s.sourced_id.as_str().into(), school.clone());
                self.tallies.entry(school.clone()).or_default();
            }
        }
    }

    /// The schools a stored record of `kind` belongs to, added to `schools`.
    pub fn add_stored(
        &self,
        kind: EntityKind,
        stored: &StoredSummary,
        schools: &mut Vec<Box<str>>,
    ) {
        each_of_stored(&self.class_school, kind, stored, |org| {
            self.add(org, schools)
        });
    }

    /// The schools a delivered record of `kind` with content `sis` belongs
    /// to, added to `schools`: an enrollment's the one it names and its
    /// class's (a stored class).
    pub fn add_delivered(&self, kind: EntityKind, sis: &SisContent, schools: &mut Vec<Box<str>>) {
        let probe = sis.probe();
        let mut add = |org: Option<&str>| {
            if let Some(org) = org {
                self.add(org, schools);
            }
        };
        match kind {
            EntityKind::Courses => add(probe.org_sourced_id.as_deref()),
            EntityKind::Classes => add(probe.school_sourced_id.as_deref()),
            EntityKind::Users => probe
                .org_sourced_ids
                .iter()
                .flatten()
                .for_each(|org| add(Some(org))),
            EntityKind::Enrollments => {
                add(probe.school_sourced_id.as_deref());
                add(probe
                    .class_sourced_id
                    .as_deref()
                    .and_then(|c| self.class_school.get(c))
                    .map(|s| &**s));
            }
            _ => {}
        }
    }

    /// Adds `org` to `schools` when it is a school not there yet.
    fn add(&self, org: &str, schools: &mut Vec<Box<str>>) {
        if self.tallies.contains_key(org) && !schools.iter().any(|s| &**s == org) {
            schools.push(org.into());
        }
    }

    /// Counts an active stored record of `kind` in its schools.
    pub fn count_active(&mut self, kind: EntityKind, stored: &StoredSummary) {
        let Some(at) = JUDGED.iter().position(|k| *k == kind) else {
            return;
        };
        let Schools {
            class_school,
            tallies,
        } = self;
        each_of_stored(class_school, kind, stored, |org| {
            if let Some(tally) = tallies.get_mut(org) {
                tally[at].active_before += 1;
            }
        });
    }

    /// Counts an archive (absent or deleted, not ended) a bulk file plans
    /// of a record of these schools.
    pub fn count_archive(&mut self, kind: EntityKind, schools: &[Box<str>]) {
        if let Some(at) = JUDGED.iter().position(|k| *k == kind) {
            for school in schools {
                if let Some(tally) = self.tallies.get_mut(school) {
                    tally[at].would_archive += 1;
                }
            }
        }
    }

    /// The schools whose archives go past the per-school limit of `hold`,
    /// in id order, with every judged type's numbers and the reasons in words.
    pub fn holds(&self, hold: &HoldThresholds) -> Vec<SchoolHold> {
        let mut holds: Vec<SchoolHold> = self
            .tallies
            .iter()
            .filter_map(|(school, tallies)| school_hold(school, tallies, hold))
            .collect();
        holds.sort_by(|a, b| a.school.cmp(&b.school));
        holds
    }
}

/// Calls `found` with each org a stored record of `kind` names as its
/// school (its class's, for an enrollment).
fn each_of_stored(
    class_school: &FxHashMap<Box<str>, Box<str>>,
    kind: EntityKind,
    stored: &StoredSummary,
    found: impl FnMut(&str),
) {
    match (kind, &stored.facts) {
        (EntityKind::Courses, RecordFacts::Course { org, .. }) => {
            org.as_deref().into_iter().for_each(found)
        }
        (EntityKind::Classes, RecordFacts::Class { school, .. }) => {
            school.as_deref().into_iter().for_each(found)
        }
        (EntityKind::Users, RecordFacts::User(user)) => user.orgs().for_each(found),
        (EntityKind::Enrollments, RecordFacts::Enrollment { class, .. }) => class
            .as_deref()
            .and_then(|c| class_school.get(c))
            .map(|s| &**s)
            .into_iter()
            .for_each(found),
        _ => {}
    }
}

/// One school's hold, when some type of it goes past the limit.
fn school_hold(school: &str, tallies: &[Tally; 3], hold: &HoldThresholds) -> Option<SchoolHold> {
    let mut reasons = Vec::new();
    let mut archives = Vec::new();
    for (kind, tally) in JUDGED.iter().zip(tallies) {
        let over = hold.school_archive_over_limit(tally.would_archive, tally.active_before);
        if over {
            reasons.push(format!(
                "{} of {} active {} ({:.1}%; the limit is {}% and at least {})",
                tally.would_archive,
                tally.active_before,
                kind.nouns().1,
                tally.would_archive as f64 * 100.0 / tally.active_before as f64,
                hold.max_school_archive_percent,
                hold.min_school_archive_count
            ));
        }
        archives.push(SchoolArchive {
            kind: kind.file_name().to_string(),
            active_before: tally.active_before,
            would_archive: tally.would_archive,
            over_limit: over,
        });
    }
    (!reasons.is_empty()).then(|| SchoolHold {
        school: school.to_string(),
        archives,
        message: format!("school `{school}` would archive {}", reasons.join(", ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::school_year::UserFacts;
    use std::sync::Arc;

    fn summary(id: &str, facts: RecordFacts) -> StoredSummary {
        StoredSummary {
            sourced_id: id.into(),
            digest: 0,
            archived: false,
            first_seen: Arc::new(crate::store::FirstSeen {
                at: chrono::Utc::now(),
                run: "r".into(),
            }),
            facts,
            provisional: false,
        }
    }

    fn class(id: &str, school: &str) -> StoredSummary {
        summary(
            id,
            RecordFacts::Class {
                terms: Box::new([]),
                school: Some(school.into()),
            },
        )
    }

    fn stored_schools(schools: &Schools, kind: EntityKind, s: &StoredSummary) -> Vec<String> {
        let mut found = Vec::new();
        schools.add_stored(kind, s, &mut found);
        found.into_iter().map(String::from).collect()
    }

    fn delivered_schools(schools: &Schools, kind: EntityKind, text: &str) -> Vec<String> {
        let mut found = Vec::new();
        schools.add_delivered(kind, &SisContent::from_stored(text.to_string()), &mut found);
        found.into_iter().map(String::from).collect()
    }

    #[test]
    fn records_belong_to_the_schools_their_classes_name() {
        let mut schools = Schools::default();
        schools.learn_classes(&[class("c1", "s1"), class("c2", "s2")]);
        let user = summary(
            "u1",
            RecordFacts::User(UserFacts::new(
                None,
                None,
                ["district", "s2", "s1"].into_iter(),
                false,
            )),
        );
        let enrollment = summary(
            "e1",
            RecordFacts::Enrollment {
                end: None,
                class: Some("c2".into()),
            },
        );
        assert_eq!(
            stored_schools(&schools, EntityKind::Users, &user),
            ["s2", "s1"]
        );
        assert_eq!(
            stored_schools(&schools, EntityKind::Enrollments, &enrollment),
            ["s2"]
        );
        let delivered = r#"{"sourcedId":"e9","classSourcedId":"c1","userSourcedId":"u1"}"#;
        assert_eq!(
            delivered_schools(&schools, EntityKind::Enrollments, delivered),
            ["s1"]
        );
        let moved = r#"{"sourcedId":"u1","orgSourcedIds":["s1","elsewhere"]}"#;
        assert_eq!(
            delivered_schools(&schools, EntityKind::Users, moved),
            ["s1"]
        );
    }

    #[test]
    fn a_school_is_held_only_past_both_its_share_and_the_minimum() {
        let mut schools = Schools::default();
        schools.learn_classes(&[class("c1", "s1"), class("c2", "s2")]);
        let in_class = |class: &str| {
            summary(
                "e",
                RecordFacts::Enrollment {
                    end: None,
                    class: Some(class.into()),
                },
            )
        };
        for _ in 0..100 {
            schools.count_active(EntityKind::Enrollments, &in_class("c1"));
            schools.count_active(EntityKind::Enrollments, &in_class("c2"));
        }
        let (s1, s2): (Vec<Box<str>>, Vec<Box<str>>) = (vec!["s1".into()], vec!["s2".into()]);
        for _ in 0..40 {
            schools.count_archive(EntityKind::Enrollments, &s1);
        }
        for _ in 0..20 {
            // 20%: under the share.
            schools.count_archive(EntityKind::Enrollments, &s2);
        }
        let holds = schools.holds(&HoldThresholds::default());
        assert_eq!(holds.len(), 1, "{holds:?}");
        assert_eq!(holds[0].school, "s1");
        assert_eq!(
            holds[0].message,
            "school `s1` would archive 40 of 100 active enrollments (40.0%; the limit is 30% and at least 25)"
        );
        let enrollments = &holds[0].archives[2];
        assert_eq!(
            (
                enrollments.active_before,
                enrollments.would_archive,
                enrollments.over_limit
            ),
            (100, 40, true)
        );
        let few = HoldThresholds {
            min_school_archive_count: 41,
            ..HoldThresholds::default()
        };
        assert!(
            schools.holds(&few).is_empty(),
            "40 archives are under a minimum of 41"
        );
    }
}
