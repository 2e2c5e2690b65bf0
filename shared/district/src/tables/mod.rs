//! What the CSV files hold, one module per file: its header, in spec order
//! (`users.csv` ends with ClassLink's extension columns), and its rows, fixed
//! (the manifest) or drawn from the plan. `sessions` also holds the school
//! year whose sessions and dates the other tables refer to.

mod classes;
mod courses;
mod demographics;
mod enrollments;
mod manifest;
mod orgs;
mod sessions;
mod users;

pub(crate) use classes::{write_classes, CLASSES_HEADER};
pub(crate) use courses::{write_courses, COURSES_HEADER};
pub(crate) use demographics::{write_demographics, DEMOGRAPHICS_HEADER};
pub(crate) use enrollments::{write_enrollments, ENROLLMENTS_HEADER};
#[cfg(test)]
pub(crate) use manifest::MANIFEST;
pub(crate) use manifest::{write_manifest, MANIFEST_HEADER};
pub(crate) use orgs::{write_orgs, ORGS_HEADER};
pub(crate) use sessions::{write_sessions, ACADEMIC_SESSIONS_HEADER};
pub(crate) use users::{write_users, USERS_HEADER};

const ACTIVE: &str = "active";
/// `dateLastModified` of every row.
pub(crate) const DATE_LAST_MODIFIED: &str = "2026-08-01T12:00:00.000Z";
