//! The model's side: what a delivery says (and its package), and what the
//! store must hold after each step, as the docs promise it.

use super::{Row, Step, HOLD};
use crate::common::*;
use std::collections::{BTreeMap, BTreeSet};

/// What the store must hold: users (their given name) and enrollments, each
/// active or archived, and who is a Primary Administrator.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Model {
    pub(super) users: BTreeMap<String, Stored>,
    pub(super) enrollments: BTreeMap<String, Stored>,
    pub(super) primary: BTreeSet<String>,
    /// Whether the classes are stored (after a bulk delivery; never deleted).
    pub(super) classes: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stored {
    pub(super) given: String,
    pub(super) archived: bool,
}

pub(super) fn student_id(i: usize) -> String {
    format!("stu-{i}")
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

/// What a delivery says.
#[derive(Debug, Clone)]
pub(super) struct Delivery {
    pub(super) bulk: bool,
    pub(super) upserts: Vec<Upsert>,
    /// Students deleted (`tobedeleted`, with their enrollments).
    pub(super) deletes: Vec<usize>,
}

impl Delivery {
    pub(super) fn new(step: &Step) -> Option<Delivery> {
        let students = |rows: &[Row]| -> Vec<Upsert> {
            rows.iter()
                .map(|r| {
                    let user = student_id(r.student);
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
                Some(Delivery {
                    bulk: false,
                    upserts: students(rows),
                    deletes: deletes
                        .iter()
                        .copied()
                        .filter(|d| !upserted.contains(d))
                        .collect(),
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
            let (id, given) = (&u.user, &u.given);
            users.push_str(&format!(
                "{id},active,,true,s1,{role},{id},,{given},Fam,,,,,,,,\n"
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
        for &i in &self.deletes {
            let id = student_id(i);
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
    /// the user; what a bulk file leaves out is archived; what a delta deletes is archived.
    pub(super) fn apply(&mut self, d: &Delivery) {
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
        for &i in &d.deletes {
            let user = student_id(i);
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
    /// platform's flags stay.
    pub(super) fn revert_to(&mut self, before: &Model) {
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
