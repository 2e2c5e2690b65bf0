//! A re-key stopped part way (a killed run, a function out of time): the
//! pairs a run is about to link and apply are named in the tenant's state
//! first, so that the next run carries on those it still writes: a new
//! record it inserts keeps its old one's first seen, an old one it
//! archives is archived as `rekeyed`, whichever of the two the stopped run
//! had written. The next applied run clears the name.

use crate::artifacts::Artifacts;
use crate::engine::Engine;
use crate::error::SyncError;
use crate::plan::read_plan;
use crate::rekey::Pair;
use crate::run::RunRecord;
use crate::store::{Lease, Store};
use crate::tenant::TenantState;
use oneroster::EntityKind;
use std::collections::HashSet;
use std::path::Path;

/// The file of a re-key's pairs, kept with the run applying it.
const IN_PROGRESS_FILE: &str = "rekey-in-progress.json";

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// Names `pairs` in `state` (written under `lease`) before any of them
    /// is linked or applied.
    pub(in crate::engine) async fn note_rekey(
        &self,
        run: &RunRecord,
        lease: &Lease,
        state: &mut TenantState,
        pairs: &[(EntityKind, Pair)],
    ) -> Result<(), SyncError> {
        let path = self
            .artifacts
            .scratch(&run.tenant, &run.run_id, IN_PROGRESS_FILE)?;
        let text =
            serde_json::to_vec(pairs).map_err(|e| SyncError::io("writing re-key pairs", e))?;
        std::fs::write(&path, text)?;
        let kept = self
            .artifacts
            .keep(&run.tenant, &run.run_id, IN_PROGRESS_FILE, &path)?;
        state.rekey_in_progress = Some(kept);
        self.store.put_state(&run.tenant, state, lease).await?;
        Ok(())
    }

    /// The pairs of a stopped re-key `state` names that `plan` still
    /// writes (archives the old record of, or inserts the new one of). When
    /// they cannot be read, none, with a warning on `run`.
    pub(in crate::engine) fn resumed_pairs(
        &self,
        run: &mut RunRecord,
        state: &TenantState,
        plan: &Path,
    ) -> Result<Vec<(EntityKind, Pair)>, SyncError> {
        let Some(reference) = &state.rekey_in_progress else {
            return Ok(Vec::new());
        };
        let read = self.artifacts.fetch(reference).and_then(|path| {
            let text = std::fs::read(path)?;
            serde_json::from_slice::<Vec<(EntityKind, Pair)>>(&text).map_err(std::io::Error::other)
        });
        let mut pairs = match read {
            Ok(pairs) => pairs,
            Err(e) => {
                run.warnings.push(format!("the pairs of a re-key stopped part way ({reference}) could not be read ({e}); what is left of it is applied as records archived absent and new ones"));
                return Ok(Vec::new());
            }
        };
        let mut written: HashSet<(EntityKind, String)> = HashSet::new();
        for w in read_plan(plan)? {
            let w = w?;
            if w.sis.is_none() || w.before.is_none() {
                written.insert((w.kind, w.id));
            }
        }
        pairs.retain(|(kind, p)| {
            written.contains(&(*kind, p.old.clone())) || written.contains(&(*kind, p.new.clone()))
        });
        Ok(pairs)
    }
}
