//! The courses, classes and enrollments a re-key carries along: after the
//! users' pairs, the records of those types the plan archives (absent or
//! deleted) are
//! paired with those it inserts by what they are ([`crate::rekey::records`]).

use super::READ_CHUNK;
use crate::artifacts::Artifacts;
use crate::engine::Engine;
use crate::error::SyncError;
use crate::plan::read_plan;
use crate::rekey::records::{pair_unique, record_key, Renamed, DERIVED};
use crate::rekey::Pair;
use crate::store::{ArchiveReason, Store};
use oneroster::EntityKind;
use std::collections::HashMap;
use std::path::Path;

/// Per derived type: the ids the plan archives as absent, and the
/// (id, key) of those it inserts.
#[derive(Default)]
struct Planned {
    archived: HashMap<EntityKind, Vec<String>>,
    inserted: HashMap<EntityKind, Vec<(String, String)>>,
}

fn planned(plan: &Path) -> Result<Planned, SyncError> {
    let mut planned = Planned::default();
    let none = Renamed::new();
    for w in read_plan(plan)? {
        let w = w?;
        if !DERIVED.contains(&w.kind) {
            continue;
        }
        match (&w.sis, w.before) {
            (None, _)
                if matches!(
                    w.reason,
                    Some(ArchiveReason::Absent | ArchiveReason::Deleted)
                ) =>
            {
                planned.archived.entry(w.kind).or_default().push(w.id)
            }
            (Some(sis), None) => {
                if let Some(key) = record_key(w.kind, sis, &none) {
                    planned
                        .inserted
                        .entry(w.kind)
                        .or_default()
                        .push((w.id, key));
                }
            }
            _ => {}
        }
    }
    Ok(planned)
}

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// The pairs of the courses, classes and enrollments the plan at `plan`
    /// re-keys along with the users' `users` pairs.
    pub(super) async fn derived_pairs(
        &self,
        tenant: &str,
        plan: &Path,
        users: &[Pair],
    ) -> Result<Vec<(EntityKind, Pair)>, SyncError> {
        let planned = planned(plan)?;
        let mut renamed: Renamed = users
            .iter()
            .map(|p| ((EntityKind::Users, p.old.clone()), p.new.clone()))
            .collect();
        let mut pairs = Vec::new();
        for kind in DERIVED {
            let (Some(archived), Some(inserted)) =
                (planned.archived.get(&kind), planned.inserted.get(&kind))
            else {
                continue;
            };
            let mut old = Vec::with_capacity(archived.len());
            for ids in archived.chunks(READ_CHUNK) {
                for (id, state) in self.store.record_states(tenant, kind, ids).await? {
                    if let Some(key) = record_key(kind, &state.sis, &renamed) {
                        old.push((id, key));
                    }
                }
            }
            // Reads come back in no order: pair in the plan's.
            let order: HashMap<&str, usize> = archived
                .iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i))
                .collect();
            old.sort_by_key(|(id, _)| order.get(id.as_str()).copied());
            for (old, new) in pair_unique(&old, inserted) {
                renamed.insert((kind, old.clone()), new.clone());
                pairs.push((
                    kind,
                    Pair {
                        old,
                        new,
                        key: crate::rekey::MatchKey::Record,
                    },
                ));
            }
        }
        Ok(pairs)
    }
}
