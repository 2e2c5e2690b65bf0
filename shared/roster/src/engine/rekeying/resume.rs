//! A re-key stopped part way (a killed run, a function out of time): the
//! pairs a run is about to link and apply are named in the tenant's state
//! first, so that the next run carries on those it still writes: a new
//! record it inserts keeps its old one's first seen, an old one it
//! archives is archived as `rekeyed`, whichever of the two the stopped run
//! had written. The next run applied in full (nothing of it held apart)
//! or approved clears the name; a revert leaves it. The next run may be
//! another process: the file is kept with [`Artifacts::keep_lasting`].

use super::READ_CHUNK;
use crate::artifacts::Artifacts;
use crate::engine::Engine;
use crate::error::SyncError;
use crate::plan::read_plan;
use crate::rekey::Pair;
use crate::run::RunRecord;
use crate::store::{ArchiveInfo, Lease, Store};
use crate::tenant::TenantState;
use oneroster::EntityKind;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Re-key pairs, of every type.
type Pairs = Vec<(EntityKind, Pair)>;

/// The file of a re-key's pairs, kept with the run applying it.
const IN_PROGRESS_FILE: &str = "rekey-in-progress.json";
/// The file of the pairs the run itself applies, kept for its revert.
const APPLIED_PAIRS_FILE: &str = "rekey-applied.json";

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// Names `pairs` in `state` (written under `lease`) before any of them
    /// is linked or applied, with those of a re-key stopped earlier that
    /// this run does not carry on (a school part held apart may); and keeps
    /// `pairs` alone with the run, for its revert to unlink
    /// ([`RekeySummary::applied_ref`](crate::run::RekeySummary::applied_ref)).
    pub(in crate::engine) async fn note_rekey(
        &self,
        run: &mut RunRecord,
        lease: &Lease,
        state: &mut TenantState,
        pairs: &[(EntityKind, Pair)],
    ) -> Result<(), SyncError> {
        let mut named = pairs.to_vec();
        let earlier = match &state.rekey_in_progress {
            Some(reference) => self.read_lasting_pairs(reference).await?,
            None => None,
        };
        if let Some(earlier) = earlier {
            let known: HashSet<(EntityKind, String)> =
                pairs.iter().map(|(k, p)| (*k, p.old.clone())).collect();
            named.extend(
                earlier
                    .into_iter()
                    .filter(|(k, p)| !known.contains(&(*k, p.old.clone()))),
            );
        }
        self.keep_applied_pairs(run, pairs)?;
        let path = self.write_pairs(run, IN_PROGRESS_FILE, &named)?;
        let (tenant, run_id) = (&run.tenant, &run.run_id);
        let kept = self
            .artifacts
            .keep_lasting(tenant, run_id, IN_PROGRESS_FILE, &path);
        let kept = kept
            .await
            .map_err(|e| SyncError::lasting("keeping the pairs of a re-key in progress", e))?;
        state.rekey_in_progress = Some(kept);
        self.store.put_state(&run.tenant, state, lease).await?;
        Ok(())
    }

    /// Keeps `pairs` with `run` as the pairs it applies, for its revert
    /// ([`RekeySummary::applied_ref`](crate::run::RekeySummary::applied_ref)).
    pub(crate) fn keep_applied_pairs(
        &self,
        run: &mut RunRecord,
        pairs: &[(EntityKind, Pair)],
    ) -> Result<(), SyncError> {
        let kept = self.keep_pairs(run, APPLIED_PAIRS_FILE, pairs)?;
        super::summary_of(run).applied_ref = Some(kept);
        Ok(())
    }

    /// Keeps `pairs` (re-key pairs, as JSON) with `run` as its file `name`:
    /// the reference.
    pub(crate) fn keep_pairs(
        &self,
        run: &RunRecord,
        name: &str,
        pairs: &(impl serde::Serialize + ?Sized),
    ) -> Result<String, SyncError> {
        let path = self.write_pairs(run, name, pairs)?;
        Ok(self.artifacts.keep(&run.tenant, &run.run_id, name, &path)?)
    }

    /// Writes `pairs` (as JSON) to `run`'s scratch file `name`: its path.
    fn write_pairs(
        &self,
        run: &RunRecord,
        name: &str,
        pairs: &(impl serde::Serialize + ?Sized),
    ) -> Result<PathBuf, SyncError> {
        let path = self.artifacts.scratch(&run.tenant, &run.run_id, name)?;
        let text =
            serde_json::to_vec(pairs).map_err(|e| SyncError::io("writing re-key pairs", e))?;
        std::fs::write(&path, text)?;
        Ok(path)
    }

    /// The pairs of a stopped re-key `state` names that are still re-keys
    /// after `plan` and that it still writes: its old record archived (by
    /// `plan`, or already) and not delivered again, its new one inserted
    /// by `plan` or stored active and not archived by it, and `plan`
    /// archiving the old or inserting the new. When they cannot be read,
    /// none, with a warning on `run`.
    pub(in crate::engine) async fn resumed_pairs(
        &self,
        run: &mut RunRecord,
        state: &TenantState,
        plan: &Path,
    ) -> Result<Vec<(EntityKind, Pair)>, SyncError> {
        let Some(reference) = &state.rekey_in_progress else {
            return Ok(Vec::new());
        };
        let Some(pairs) = self.read_lasting_pairs(reference).await? else {
            run.warnings.push(format!("the pairs of a re-key stopped part way ({reference}) are gone or unreadable; what is left of it is applied as records archived absent and new ones"));
            return Ok(Vec::new());
        };
        let writes = PlanWrites::of(plan)?;
        let touched: Vec<(EntityKind, Pair)> = pairs
            .into_iter()
            .filter(|(kind, p)| writes.archives(*kind, &p.old) || writes.inserts(*kind, &p.new))
            .filter(|(kind, p)| !writes.upserts(*kind, &p.old) && !writes.archives(*kind, &p.new))
            .collect();
        // Whether each id is stored archived, for the records `plan` does not write.
        let archives = self.archive_states(&run.tenant, &touched).await?;
        let stored =
            |kind: EntityKind, id: &str| archives.get(&(kind, id.to_string())).map(Option::is_some);
        Ok(touched
            .into_iter()
            .filter(|(kind, p)| {
                let old_gone =
                    writes.archives(*kind, &p.old) || stored(*kind, &p.old) == Some(true);
                let new_here =
                    writes.inserts(*kind, &p.new) || stored(*kind, &p.new) == Some(false);
                old_gone && new_here
            })
            .collect())
    }

    /// How each stored record of `pairs` is archived (`None`: active).
    pub(crate) async fn archive_states(
        &self,
        tenant: &str,
        pairs: &[(EntityKind, Pair)],
    ) -> Result<HashMap<(EntityKind, String), Option<ArchiveInfo>>, SyncError> {
        let mut archives = HashMap::new();
        for kind in pairs.iter().map(|(k, _)| *k).collect::<HashSet<_>>() {
            let ids: Vec<String> = pairs
                .iter()
                .filter(|(k, _)| *k == kind)
                .flat_map(|(_, p)| [p.old.clone(), p.new.clone()])
                .collect();
            for chunk in ids.chunks(READ_CHUNK) {
                for (id, state) in self.store.record_states(tenant, kind, chunk).await? {
                    archives.insert((kind, id), state.archive);
                }
            }
        }
        Ok(archives)
    }

    /// The pairs of a re-key in progress, kept at `reference` by
    /// [`Self::note_rekey`] (perhaps in another process); `None` when the
    /// file is gone or not pairs (a retry cannot help). Any other failure
    /// is an error (retried), not a re-key lost.
    async fn read_lasting_pairs(&self, reference: &str) -> Result<Option<Pairs>, SyncError> {
        let failed = |e| SyncError::lasting("reading the pairs of a re-key in progress", e);
        let path = match self.artifacts.fetch_lasting(reference).await {
            Ok(path) => path,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(failed(e)),
        };
        let text = std::fs::read(path).map_err(failed)?;
        Ok(serde_json::from_slice(&text).ok())
    }

    /// The pairs kept at `reference` by [`Self::keep_pairs`].
    pub(crate) fn read_pairs<T: serde::de::DeserializeOwned>(
        &self,
        reference: &str,
    ) -> std::io::Result<T> {
        let text = std::fs::read(self.artifacts.fetch(reference)?)?;
        serde_json::from_slice(&text).map_err(std::io::Error::other)
    }
}

/// What a plan writes, by type and id: archives, inserts, other upserts.
#[derive(Default)]
struct PlanWrites {
    archived: HashSet<(EntityKind, String)>,
    inserted: HashSet<(EntityKind, String)>,
    upserted: HashSet<(EntityKind, String)>,
}

impl PlanWrites {
    fn of(plan: &Path) -> Result<PlanWrites, SyncError> {
        let mut writes = PlanWrites::default();
        for w in read_plan(plan)? {
            let w = w?;
            let set = match (&w.sis, &w.before) {
                (None, _) => &mut writes.archived,
                (Some(_), None) => &mut writes.inserted,
                (Some(_), Some(_)) => &mut writes.upserted,
            };
            set.insert((w.kind, w.id));
        }
        Ok(writes)
    }

    fn archives(&self, kind: EntityKind, id: &str) -> bool {
        self.archived.contains(&(kind, id.to_string()))
    }

    fn inserts(&self, kind: EntityKind, id: &str) -> bool {
        self.inserted.contains(&(kind, id.to_string()))
    }

    /// Whether the plan delivers `id` (inserted, updated or made active again).
    fn upserts(&self, kind: EntityKind, id: &str) -> bool {
        self.inserts(kind, id) || self.upserted.contains(&(kind, id.to_string()))
    }
}
