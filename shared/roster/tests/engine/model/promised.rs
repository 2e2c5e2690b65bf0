//! The model's side: what a delivery says (and its package), and what the
//! store must hold after each step, as the docs promise it.

use super::{Row, Step, HOLD, POOL};
use crate::common::*;
use std::collections::{BTreeMap, BTreeSet};

/// What the store must hold: users (their given name) and enrollments, each
/// active or archived, who is a Primary Administrator, and which records
/// carry on under a new sourcedId.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Model {
    pub(super) users: BTreeMap<String, Stored>,
    pub(super) enrollments: BTreeMap<String, Stored>,
    pub(super) primary: BTreeSet<String>,
    /// Whether the classes are stored (after a bulk delivery; never deleted).
    pub(super) classes: bool,
    /// Re-key links, old sourcedId to new (platform-owned: a revert undoes
    /// only those of its run that it puts back).
    pub(super) links: BTreeMap<String, String>,
    /// Records carrying on under a new id whose first seen is not the old
    /// record's (never, as promised).
    pub(super) first_seen_lost: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stored {
    pub(super) given: String,
    pub(super) archived: bool,
}

/// How a delivery's re-keys are paired: not at all (a proposal declined),
/// by state id alone (as every delivery, and an approval without a
/// proposal), or as a proposal approved pairs them (by state id, then, where
/// several share one, by name).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Pairing {
    None,
    Exact,
    Proposed,
}

/// Each student's sourcedId generation at the SIS: `stu-3`, then after a
/// re-key `stu-3-k1`, … The state id `S3` stays.
#[derive(Debug, Clone, Default)]
pub(super) struct Generations([u8; POOL]);

impl Generations {
    /// The student's sourcedId at the SIS now.
    pub(super) fn id(&self, i: usize) -> String {
        match self.0[i] {
            0 => format!("stu-{i}"),
            k => format!("stu-{i}-k{k}"),
        }
    }

    /// Gives the student a new sourcedId; the old one.
    fn rekey(&mut self, i: usize) -> String {
        let old = self.id(i);
        self.0[i] += 1;
        old
    }
}

/// The student a sourcedId is of (its state id), for students.
fn student_of(id: &str) -> Option<&str> {
    let rest = id.strip_prefix("stu-")?;
    Some(rest.split('-').next().unwrap_or(rest))
}

pub(super) fn given(row: &Row) -> String {
    format!("G{}v{}", row.student, row.version)
}

/// The staff every bulk delivery carries: (user, given name, class).
const STAFF: [(&str, &str, Option<usize>); 3] = [
    ("adm-1", "Ada", None),
    ("tch-0", "Teacher0", Some(0)),
    ("tch-1", "Teacher1", Some(1)),
];

/// One user row of a delivery, and the user's enrollment in its class.
#[derive(Debug, Clone)]
pub(super) struct Upsert {
    pub(super) user: String,
    pub(super) given: String,
    pub(super) role: &'static str,
    /// (enrollment, class)
    pub(super) enrollment: Option<(String, String)>,
    pub(super) rejected: bool,
}

impl Upsert {
    /// Its `userIds`: a student's state id.
    fn user_ids(&self) -> String {
        student_of(&self.user).map_or_else(String::new, |s| format!("{{StateID:S{s}}}"))
    }
}

/// What a delivery says.
#[derive(Debug, Clone)]
pub(super) struct Delivery {
    pub(super) bulk: bool,
    pub(super) upserts: Vec<Upsert>,
    /// Students deleted by sourcedId (`tobedeleted`, with their enrollments).
    pub(super) deletes: Vec<String>,
}

impl Delivery {
    /// What `step` delivers, re-keying at `sis` the students whose rows say so.
    pub(super) fn new(step: &Step, sis: &mut Generations) -> Option<Delivery> {
        // In a delta, the SIS deletes a re-keyed student's earlier id.
        let mut rekeyed = Vec::new();
        for r in step_rows(step).iter().filter(|r| r.rekey) {
            rekeyed.push(sis.rekey(r.student));
        }
        let students = |rows: &[Row]| -> Vec<Upsert> {
            rows.iter()
                .map(|r| {
                    let user = sis.id(r.student);
                    let enrollment = (format!("en-{user}"), format!("cl-{}", r.student % 2));
                    Upsert {
                        given: given(r),
                        role: "student",
                        enrollment: Some(enrollment),
                        rejected: r.rejected,
                        user,
                    }
                })
                .collect()
        };
        match step {
            Step::Bulk(rows) | Step::Killed(rows, _) => {
                let mut upserts: Vec<Upsert> = STAFF
                    .iter()
                    .map(|&(user, given, class)| Upsert {
                        user: user.to_string(),
                        given: given.to_string(),
                        role: if class.is_some() {
                            "teacher"
                        } else {
                            "administrator"
                        },
                        enrollment: class.map(|c| (format!("en-t{c}"), format!("cl-{c}"))),
                        rejected: false,
                    })
                    .collect();
                upserts.extend(students(rows));
                Some(Delivery {
                    bulk: true,
                    upserts,
                    deletes: Vec::new(),
                })
            }
            Step::Delta(rows, deletes) => {
                let upserted: BTreeSet<usize> = rows.iter().map(|r| r.student).collect();
                let mut deletes: Vec<String> = deletes
                    .iter()
                    .filter(|d| !upserted.contains(d))
                    .map(|d| sis.id(*d))
                    .collect();
                deletes.extend(rekeyed);
                Some(Delivery {
                    bulk: false,
                    upserts: students(rows),
                    deletes,
                })
            }
            _ => None,
        }
    }

    /// Writes the delivery as a package folder.
    pub(super) fn write(&self, bench: &Bench) -> std::path::PathBuf {
        let mut users = USERS_HEADER.to_string();
        let mut enrollments = ENROLLMENTS_HEADER.to_string();
        for u in &self.upserts {
            let role = if u.rejected { "pupil" } else { u.role };
            let (id, given, user_ids) = (&u.user, &u.given, u.user_ids());
            users.push_str(&format!(
                "{id},active,,true,s1,{role},{id},{user_ids},{given},Fam,,,,,,,,\n"
            ));
            if let Some((en, class)) = &u.enrollment {
                let role = if u.role == "teacher" {
                    "teacher"
                } else {
                    "student"
                };
                enrollments.push_str(&format!("{en},active,,{class},s1,{id},{role},false,,\n"));
            }
        }
        for id in &self.deletes {
            users.push_str(&format!("{id},tobedeleted,,,,,,,,,,,,,,,,\n"));
            enrollments.push_str(&format!("en-{id},tobedeleted,,,,,,,,\n"));
        }
        let mut district = District::new(0, 2)
            .with_file("users.csv", users)
            .with_file("enrollments.csv", enrollments);
        if !self.bulk {
            for file in ["orgs", "academicSessions", "courses", "classes"] {
                district = district.mode(file, "absent");
            }
            district = district.mode("users", "delta").mode("enrollments", "delta");
            district.omit = vec![
                "orgs.csv",
                "academicSessions.csv",
                "courses.csv",
                "classes.csv",
            ];
        }
        bench.package(&district)
    }
}

impl Model {
    /// Whether a bulk delivery archives more of a type than [`HOLD`] allows.
    pub(super) fn holds(&self, d: &Delivery) -> bool {
        if !d.bulk {
            return false;
        }
        let users: BTreeSet<&str> = d.upserts.iter().map(|u| u.user.as_str()).collect();
        let enrollments: BTreeSet<&str> = d
            .upserts
            .iter()
            .filter_map(|u| u.enrollment.as_ref().map(|(en, _)| en.as_str()))
            .collect();
        over_limit(&self.users, &users) || over_limit(&self.enrollments, &enrollments)
    }

    /// The delivery applied as promised: the SIS wins over earlier data and
    /// hand changes; a rejected row leaves its record as it was (never
    /// archived); an enrollment of a rejected user stands if the store had
    /// the user; what a bulk file leaves out is archived; what a delta
    /// deletes is archived. Re-keys are paired as `pairing` says, and their
    /// enrollments with them: whether any were.
    pub(super) fn apply(&mut self, d: &Delivery, pairing: Pairing) -> bool {
        let linked = pairing != Pairing::None && self.link_rekeys(d, pairing);
        self.apply_records(d);
        linked
    }

    fn apply_records(&mut self, d: &Delivery) {
        let known_before: BTreeSet<String> = self.users.keys().cloned().collect();
        // A delta's enrollments name classes only the store can have.
        self.classes |= d.bulk;
        let classes = self.classes;
        for u in d.upserts.iter().filter(|u| !u.rejected) {
            let stored = Stored {
                given: u.given.clone(),
                archived: false,
            };
            self.users.insert(u.user.clone(), stored);
        }
        for u in &d.upserts {
            let Some((en, _)) = &u.enrollment else {
                continue;
            };
            if classes && (!u.rejected || known_before.contains(&u.user)) {
                let stored = Stored {
                    given: String::new(),
                    archived: false,
                };
                self.enrollments.insert(en.clone(), stored);
            }
        }
        if d.bulk {
            let users: BTreeSet<&String> = d.upserts.iter().map(|u| &u.user).collect();
            let enrollments: BTreeSet<&String> = d
                .upserts
                .iter()
                .filter_map(|u| u.enrollment.as_ref().map(|(en, _)| en))
                .collect();
            archive_all_but(&mut self.users, &users);
            archive_all_but(&mut self.enrollments, &enrollments);
        }
        for user in &d.deletes {
            for (map, id) in [
                (&mut self.users, user.clone()),
                (&mut self.enrollments, format!("en-{user}")),
            ] {
                if let Some(stored) = map.get_mut(&id) {
                    stored.archived = true;
                }
            }
        }
    }

    /// Links the re-keys `d` makes (before it is applied): whether any.
    fn link_rekeys(&mut self, d: &Delivery, pairing: Pairing) -> bool {
        let delivered: BTreeSet<&str> = d.upserts.iter().map(|u| u.user.as_str()).collect();
        let archived_by_d = |id: &str| {
            if d.bulk {
                !delivered.contains(id)
            } else {
                d.deletes.iter().any(|x| x == id)
            }
        };
        let mut linked = false;
        for u in d.upserts.iter().filter(|u| !u.rejected) {
            let Some(student) = student_of(&u.user) else {
                continue;
            };
            if self.users.contains_key(&u.user) {
                continue;
            }
            let old: Vec<&String> = self
                .users
                .iter()
                .filter(|(id, s)| !s.archived && student_of(id) == Some(student))
                .map(|(id, _)| id)
                .filter(|id| archived_by_d(id))
                .collect();
            // Several of one state id: a proposal pairs the one of the same name.
            let named: Vec<&String> = match pairing {
                Pairing::Proposed => old
                    .iter()
                    .copied()
                    .filter(|id| self.users[*id].given == u.given)
                    .collect(),
                _ => Vec::new(),
            };
            let old = match (&old[..], &named[..]) {
                ([one], _) | (_, [one]) => (*one).clone(),
                _ => continue,
            };
            let (old_en, new_en) = (format!("en-{old}"), format!("en-{}", u.user));
            let en_active = self.enrollments.get(&old_en).is_some_and(|s| !s.archived);
            if en_active && (self.classes || d.bulk) && !self.enrollments.contains_key(&new_en) {
                self.links.insert(old_en, new_en);
            }
            self.links.insert(old, u.user.clone());
            linked = true;
        }
        linked
    }

    /// Whether going from this model to `next` archives more of a type than [`HOLD`] allows.
    pub(super) fn archives_over_limit(&self, next: &Model) -> bool {
        let over = |now: &BTreeMap<String, Stored>, then: &BTreeMap<String, Stored>| {
            let active: Vec<&String> = now
                .iter()
                .filter(|(_, s)| !s.archived)
                .map(|(id, _)| id)
                .collect();
            let archive = active
                .iter()
                .filter(|id| then.get(**id).is_some_and(|s| s.archived))
                .count();
            HOLD.archive_over_limit(archive as u64, active.len() as u64)
                .is_some()
        };
        over(&self.users, &next.users) || over(&self.enrollments, &next.enrollments)
    }

    /// Back to `before` (a revert of the run applied since): records the run
    /// inserted are archived, the others get their earlier state; the
    /// platform's flags stay, but a re-key link the run made is gone where
    /// both its records are put back (the old one active, the new archived).
    pub(super) fn revert_to(&mut self, before: &Model) {
        self.revert_records(before);
        let put_back = |old: &str, new: &str| {
            let records = match old.starts_with("en-") {
                true => &self.enrollments,
                false => &self.users,
            };
            let archived = |id: &str| records.get(id).map(|s| s.archived);
            archived(old) == Some(false) && archived(new) == Some(true)
        };
        let unlinked: Vec<String> = self
            .links
            .iter()
            .filter(|(old, new)| before.links.get(*old) != Some(new) && put_back(old, new))
            .map(|(old, _)| old.clone())
            .collect();
        for old in unlinked {
            self.links.remove(&old);
        }
    }

    fn revert_records(&mut self, before: &Model) {
        for (now, then) in [
            (&mut self.users, &before.users),
            (&mut self.enrollments, &before.enrollments),
        ] {
            for (id, stored) in now.iter_mut() {
                match then.get(id) {
                    Some(earlier) => *stored = earlier.clone(),
                    None => stored.archived = true,
                }
            }
        }
    }
}

/// The rows of a delivery step.
fn step_rows(step: &Step) -> &[Row] {
    match step {
        Step::Bulk(rows) | Step::Killed(rows, _) | Step::Delta(rows, _) => rows,
        _ => &[],
    }
}

/// Whether archiving the active records of `stored` missing from `delivered` passes [`HOLD`].
fn over_limit(stored: &BTreeMap<String, Stored>, delivered: &BTreeSet<&str>) -> bool {
    let active = stored.values().filter(|s| !s.archived).count() as u64;
    let archive = stored
        .iter()
        .filter(|(id, s)| !s.archived && !delivered.contains(id.as_str()))
        .count() as u64;
    HOLD.archive_over_limit(archive, active).is_some()
}

fn archive_all_but(stored: &mut BTreeMap<String, Stored>, delivered: &BTreeSet<&String>) {
    for (id, s) in stored.iter_mut() {
        if !delivered.contains(id) {
            s.archived = true;
        }
    }
}

const USERS_HEADER: &str = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n";
const ENROLLMENTS_HEADER: &str = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n";
