//! Which stored users a sync reads before it validates a OneRoster 1.2
//! package whose `roles.csv` is a delta (see [`crate::v1p2::stored`]).

use super::roles::{roles_to_read, users_file};
use super::{files::plan_files, read_manifest, ValidationOptions};
use crate::model::*;
use crate::package::{Entry, Package};
use crate::records::{csv_reader, skip_bom, Rows};
use crate::report::IssueSink;
use std::collections::BTreeMap;
use std::path::Path;

/// A user whose stored record a sync reads for a delta `roles.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedUser {
    /// Its sourcedId.
    pub sourced_id: String,
    /// Whether its whole content is needed (its roles change and its
    /// `users.csv` row is not delivered); else only its roles are.
    pub content: bool,
}

/// The users whose stored records a sync reads before it validates the
/// package at `path` (given back as [`ValidationOptions::stored_roles`]):
/// for a OneRoster 1.2 package whose `roles.csv` is a delta, the users its
/// rows name and those its delta `users.csv` has, by sourcedId; `None` for
/// any other package, or one that cannot be read (validation then says why).
pub fn stored_roles_wanted(path: &Path, options: &ValidationOptions) -> Option<Vec<WantedUser>> {
    let (package, _) = Package::open(path, &options.limits).ok()?;
    let mut sink = IssueSink::new(0);
    let manifest = read_manifest(&package, &mut sink)?;
    if manifest.version != crate::OneRosterVersion::V1p2 {
        return None;
    }
    let plan = plan_files(&package, &manifest, &mut sink);
    let (FileMode::Delta, roles) = roles_to_read(&plan, true, &mut sink)? else {
        return None;
    };
    let mut named = Vec::new();
    read_column(&package, &roles, "userSourcedId", &mut named)?;
    // Beside a delta roles.csv, users.csv is a delta or absent.
    let mut delivered_ids = Vec::new();
    if let Some((_, entry)) = users_file(&plan) {
        read_column(&package, entry, "sourcedId", &mut delivered_ids)?;
    }
    // A user's content is wanted unless its row is delivered.
    let mut users: BTreeMap<String, bool> = named.into_iter().map(|id| (id, true)).collect();
    users.extend(delivered_ids.into_iter().map(|id| (id, false)));
    let users = users.into_iter().map(|(sourced_id, content)| WantedUser {
        sourced_id,
        content,
    });
    Some(users.collect())
}

/// Adds the non-empty values of `column` of the file `entry` to `into`.
fn read_column(
    package: &Package,
    entry: &Entry,
    column: &str,
    into: &mut Vec<String>,
) -> Option<()> {
    let read = package.with_entry(entry, |read| {
        let (buffered, _) = skip_bom(read);
        let mut reader = csv_reader(buffered);
        let mut rows = Rows::default();
        if !reader.read(&mut rows).ok()? {
            return None;
        }
        let header = rows.get(0).record;
        let at = header
            .iter()
            .position(|name| name.trim().eq_ignore_ascii_case(column))?;
        loop {
            rows.clear();
            if !reader.read(&mut rows).ok()? {
                return Some(());
            }
            if let Some(value) = rows.get(0).record.get(at).map(str::trim) {
                if !value.is_empty() {
                    into.push(value.to_string());
                }
            }
        }
    });
    read.ok().flatten()
}
