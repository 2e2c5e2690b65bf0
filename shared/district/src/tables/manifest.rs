//! `manifest.csv`: fixed content.

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

/// The rows of `manifest.csv`.
pub(crate) fn write_manifest(t: &mut Table<'_, '_>) -> csv::Result<()> {
    for row in MANIFEST {
        t.row(row)?;
    }
    Ok(())
}
