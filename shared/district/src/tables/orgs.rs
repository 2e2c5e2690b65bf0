//! `orgs.csv`: the district, then its schools.

use super::{ACTIVE, DATE_LAST_MODIFIED};
use crate::plan::Plan;
use crate::writer::Table;

pub(crate) const ORGS_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "name",
    "type",
    "identifier",
    "parentSourcedId",
];

/// The rows of `orgs.csv`: the district, then its schools.
pub(crate) fn write_orgs(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    let d = &plan.district;
    t.row([
        d.id.as_str(),
        ACTIVE,
        DATE_LAST_MODIFIED,
        &d.name,
        "district",
        &d.identifier,
        "",
    ])?;
    for s in &plan.schools {
        t.row([
            s.id.as_str(),
            ACTIVE,
            DATE_LAST_MODIFIED,
            &s.name(),
            "school",
            &s.identifier,
            &d.id,
        ])?;
    }
    Ok(())
}
