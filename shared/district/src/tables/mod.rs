//! What the CSV files hold, one module per file: its header, in spec order
//! (`users.csv` ends with ClassLink's extension columns), and its rows, fixed
//! (the manifest) or drawn from the plan. `manifest.csv` and `users.csv`
//! have a OneRoster 1.2 form too, and `users` writes 1.2's `roles.csv`. `sessions` also holds the school
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
pub(crate) use manifest::{write_manifest, write_manifest_1p2, MANIFEST_HEADER};
#[cfg(test)]
pub(crate) use manifest::{MANIFEST, MANIFEST_1P2};
pub(crate) use orgs::{write_orgs, ORGS_HEADER};
pub(crate) use sessions::{write_sessions, ACADEMIC_SESSIONS_HEADER};
pub(crate) use users::{
    write_roles, write_users, write_users_1p2, ROLES_HEADER, USERS_1P2_HEADER, USERS_HEADER,
};

const ACTIVE: &str = "active";
/// `dateLastModified` of every row.
pub(crate) const DATE_LAST_MODIFIED: &str = "2026-08-01T12:00:00.000Z";
