//! `manifest.csv`: fixed content, one per OneRoster version.

use crate::writer::Table;

pub(crate) const MANIFEST_HEADER: &[&str] = &["propertyName", "value"];

/// The rows of `manifest.csv`.
pub(crate) const MANIFEST: &[[&str; 2]] = &[
    ["manifest.version", "1.0"],
    ["oneroster.version", "1.1"],
    ["file.academicSessions", "bulk"],
    ["file.categories", "absent"],
    ["file.classes", "bulk"],
    ["file.classResources", "absent"],
    ["file.courses", "bulk"],
    ["file.courseResources", "absent"],
    ["file.demographics", "bulk"],
    ["file.enrollments", "bulk"],
    ["file.lineItems", "absent"],
    ["file.orgs", "bulk"],
    ["file.resources", "absent"],
    ["file.results", "absent"],
    ["file.users", "bulk"],
    ["source.systemName", "rosterctl generate"],
    ["source.systemCode", "synthetic"],
];

/// The rows of `manifest.csv` in OneRoster 1.2: the same files, and
/// `roles.csv` (bulk, as it must be beside a bulk `users.csv`).
pub(crate) const MANIFEST_1P2: &[[&str; 2]] = &[
    ["manifest.version", "1.0"],
    ["oneroster.version", "1.2"],
    ["file.academicSessions", "bulk"],
    ["file.categories", "absent"],
    ["file.classes", "bulk"],
    ["file.classResources", "absent"],
    ["file.courses", "bulk"],
    ["file.courseResources", "absent"],
    ["file.demographics", "bulk"],
    ["file.enrollments", "bulk"],
    ["file.lineItems", "absent"],
    ["file.orgs", "bulk"],
    ["file.resources", "absent"],
    ["file.results", "absent"],
    ["file.roles", "bulk"],
    ["file.userProfiles", "absent"],
    ["file.users", "bulk"],
    ["source.systemName", "rosterctl generate"],
    ["source.systemCode", "synthetic"],
];

/// The rows of `manifest.csv` in OneRoster 1.1.
pub(crate) fn write_manifest(t: &mut Table<'_, '_>) -> csv::Result<()> {
    write_rows(MANIFEST, t)
}

/// The rows of `manifest.csv` in OneRoster 1.2.
pub(crate) fn write_manifest_1p2(t: &mut Table<'_, '_>) -> csv::Result<()> {
    write_rows(MANIFEST_1P2, t)
}

fn write_rows(rows: &[[&str; 2]], t: &mut Table<'_, '_>) -> csv::Result<()> {
    for row in rows {
        t.row(row)?;
    }
    Ok(())
}
