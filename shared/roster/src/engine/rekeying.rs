//! Re-keys in a run: a held delivery whose users look re-keyed gets a
//! proposed mapping old → new ([`crate::rekey`]); an approval with a
//! mapping applies the run so that each new record carries on the old one
//! (first seen, the Primary Administrator flag, the chain of earlier ids)
//! and the old one is archived as `rekeyed`, pointing to the new.

use super::Engine;
use crate::artifacts::Artifacts;
use crate::error::SyncError;
use crate::plan::{read_plan, PlanWriter, PlannedWrite};
use crate::rekey::records::DERIVED;
use crate::rekey::{propose, propose_exact, write_mapping, Pair, Person, Proposal};
use crate::run::{RekeySummary, RunRecord};
use crate::store::{ArchiveReason, Store};
use crate::tenant::HoldThresholds;
use chrono::{DateTime, Utc};
use oneroster::EntityKind;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

mod derived;
mod resume;

/// The mapping file kept with a held run.
pub(crate) const MAPPING_FILE: &str = "rekey.csv";
/// The plan rewritten for an approval with a re-key.
const REKEYED_PLAN_FILE: &str = "plan-rekeyed.jsonl";
/// Stored records read at a time.
pub(super) const READ_CHUNK: usize = 1_000;
/// Re-key links written at once.
pub(crate) const LINKS_AT_ONCE: usize = 16;

/// A plan's users: the ids it archives as absent or deleted (a delta's
/// `tobedeleted`), and those it inserts with their content.
struct PlannedUsers {
    archived: Vec<String>,
    inserted: Vec<Person>,
}

fn planned_users(plan: &Path) -> Result<PlannedUsers, SyncError> {
    let mut users = PlannedUsers {
        archived: Vec::new(),
        inserted: Vec::new(),
    };
    for w in read_plan(plan)? {
        let w = w?;
        if w.kind != EntityKind::Users {
            continue;
        }
        match (&w.sis, w.before) {
            (None, _)
                if matches!(
                    w.reason,
                    Some(ArchiveReason::Absent | ArchiveReason::Deleted)
                ) =>
            {
                users.archived.push(w.id)
            }
            (Some(sis), None) => users.inserted.push(Person::of(&w.id, sis)),
            _ => {}
        }
    }
    Ok(users)
}

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// When `run` is held with users archived and about as many inserted
    /// (both past the archive hold's limits), proposes a mapping: kept
    /// beside the plan, summed up on the run.
    pub(super) async fn propose_rekey(
        &self,
        tenant: &str,
        run: &mut RunRecord,
        plan: &Path,
        hold: &HoldThresholds,
    ) -> Result<(), SyncError> {
        let Some(users) = run.hold.get("users") else {
            return Ok(());
        };
        let inserted = run.counts.get("users").map_or(0, |c| c.inserted);
        if hold
            .archive_over_limit(users.would_archive, users.active_before)
            .is_none()
            || hold
                .archive_over_limit(inserted, users.active_before)
                .is_none()
        {
            return Ok(());
        }
        let planned = planned_users(plan)?;
        let old = self.archived_people(tenant, &planned.archived).await?;
        let proposal = propose(&old, &planned.inserted);
        self.keep_proposal(tenant, run, &planned, &proposal)
    }

    /// A delivery applied without a person: pairs the users it archives as
    /// absent with those it inserts, by the exact keys only (`identifier`,
    /// typed `userIds`), and carries on the `resumed` pairs of a re-key
    /// stopped part way; the plan rewritten to apply them as re-keys, and
    /// the pairs (none when nothing pairs).
    pub(super) async fn exact_rekeys(
        &self,
        run: &mut RunRecord,
        plan: &Path,
        resumed: Vec<(EntityKind, Pair)>,
    ) -> Result<Option<(PathBuf, Vec<(EntityKind, Pair)>)>, SyncError> {
        let mut pairs = Vec::new();
        let users = run.counts.get("users");
        if users.is_some_and(|c| c.archived > 0 && c.inserted > 0) {
            let tenant = run.tenant.clone();
            let planned = planned_users(plan)?;
            let old = self.archived_people(&tenant, &planned.archived).await?;
            let proposal = propose_exact(&old, &planned.inserted);
            if !proposal.pairs.is_empty() {
                self.keep_proposal(&tenant, run, &planned, &proposal)?;
                pairs = proposal.pairs;
            }
        }
        if pairs.is_empty() && resumed.is_empty() {
            return Ok(None);
        }
        let (rewritten, pairs) = self.rekeyed_plan(run, plan, &pairs, resumed).await?;
        Ok(Some((rewritten, pairs)))
    }

    /// What the district says of the stored users `ids`.
    async fn archived_people(
        &self,
        tenant: &str,
        ids: &[String],
    ) -> Result<Vec<Person>, SyncError> {
        let mut people = Vec::with_capacity(ids.len());
        for ids in ids.chunks(READ_CHUNK) {
            let states = self
                .store
                .record_states(tenant, EntityKind::Users, ids)
                .await?;
            people.extend(
                ids.iter()
                    .filter_map(|id| Some(Person::of(id, &states.get(id)?.sis))),
            );
        }
        Ok(people)
    }

    /// Keeps `proposal` as the run's mapping file and sums it up on the run.
    fn keep_proposal(
        &self,
        tenant: &str,
        run: &mut RunRecord,
        planned: &PlannedUsers,
        proposal: &Proposal,
    ) -> Result<(), SyncError> {
        let path = self.artifacts.scratch(tenant, &run.run_id, MAPPING_FILE)?;
        write_mapping(&path, &proposal.pairs)
            .map_err(|e| SyncError::io("writing the re-key mapping", e))?;
        run.rekey = Some(RekeySummary {
            archived: planned.archived.len() as u64,
            inserted: planned.inserted.len() as u64,
            paired_by: proposal
                .by_key()
                .into_iter()
                .map(|(key, n)| (key.to_string(), n))
                .collect(),
            mapping_ref: Some(
                self.artifacts
                    .keep(tenant, &run.run_id, MAPPING_FILE, &path)?,
            ),
            applied: None,
            applied_others: Default::default(),
            applied_ref: None,
        });
        Ok(())
    }

    /// Checks `pairs` against the held plan at `plan` (each old id a user
    /// the run archives, each new one a user it inserts, each once), pairs
    /// the courses, classes and enrollments that go with them, adds the
    /// `resumed` pairs of a re-key stopped part way, and writes the plan an
    /// approval with the re-key applies: the old records' archives as
    /// `rekeyed`, the new ones inserted with the old ones' first seen.
    /// Returns its path and every pair, users' first.
    pub(super) async fn rekeyed_plan(
        &self,
        run: &RunRecord,
        plan: &Path,
        pairs: &[Pair],
        resumed: Vec<(EntityKind, Pair)>,
    ) -> Result<(PathBuf, Vec<(EntityKind, Pair)>), SyncError> {
        check_pairs(&planned_users(plan)?, pairs)?;
        let mut all: Vec<(EntityKind, Pair)> = pairs
            .iter()
            .map(|p| (EntityKind::Users, p.clone()))
            .collect();
        let renames: Vec<Pair> = pairs
            .iter()
            .chain(
                resumed
                    .iter()
                    .filter(|(k, _)| *k == EntityKind::Users)
                    .map(|(_, p)| p),
            )
            .cloned()
            .collect();
        all.extend(self.derived_pairs(&run.tenant, plan, &renames).await?);
        // A resumed pair whose old or new record is paired already is not
        // made a second time.
        let mut paired: HashSet<(EntityKind, String)> = all
            .iter()
            .flat_map(|(k, p)| [(*k, p.old.clone()), (*k, p.new.clone())])
            .collect();
        for (kind, pair) in resumed {
            let fresh = !paired.contains(&(kind, pair.old.clone()))
                && !paired.contains(&(kind, pair.new.clone()));
            if fresh {
                paired.insert((kind, pair.old.clone()));
                paired.insert((kind, pair.new.clone()));
                all.push((kind, pair));
            }
        }
        let mut first_seen: HashMap<(EntityKind, String), (DateTime<Utc>, String)> = HashMap::new();
        for kind in [EntityKind::Users].into_iter().chain(DERIVED) {
            let ids: Vec<String> = all
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, p)| p.old.clone())
                .collect();
            for chunk in ids.chunks(READ_CHUNK) {
                for (id, state) in self.store.record_states(&run.tenant, kind, chunk).await? {
                    first_seen.insert((kind, id), (state.first_seen_at, state.first_seen_run));
                }
            }
        }
        let old_of: HashMap<(EntityKind, &str), &str> = all
            .iter()
            .map(|(k, p)| ((*k, p.new.as_str()), p.old.as_str()))
            .collect();
        let olds: HashSet<(EntityKind, &str)> =
            all.iter().map(|(k, p)| (*k, p.old.as_str())).collect();
        let path = self
            .artifacts
            .scratch(&run.tenant, &run.run_id, REKEYED_PLAN_FILE)?;
        let mut out = PlanWriter::create(&path)?;
        for w in read_plan(plan)? {
            let mut w: PlannedWrite = w?;
            if w.sis.is_none() && olds.contains(&(w.kind, w.id.as_str())) {
                w.reason = Some(ArchiveReason::Rekeyed);
            } else if let Some(old) = old_of
                .get(&(w.kind, w.id.as_str()))
                .filter(|_| w.sis.is_some())
            {
                let seen = first_seen.get(&(w.kind, old.to_string())).cloned();
                w.first_seen = seen.or(w.first_seen);
            }
            out.write(&w)?;
        }
        out.finish()?;
        Ok((path, all))
    }

    /// Links each pair, 16 at a time: the old record points to its new one,
    /// the new one lists the old ids (written before the records, so a run
    /// stopped halfway links again when it is planned again; sign-in follows
    /// a link only from a record archived as `rekeyed`). With `move_admins`
    /// (a person approved the re-key) a Primary Administrator stays one under
    /// the new id; without, `run` warns of each old id that was one.
    pub(super) async fn link_rekeys(
        &self,
        run: &mut RunRecord,
        pairs: &[(EntityKind, Pair)],
        move_admins: bool,
    ) -> Result<(), SyncError> {
        let tenant = run.tenant.as_str();
        self.link_pairs(tenant, pairs).await?;
        let admins = self.primary_admin_set(tenant).await?;
        let mut unmoved = Vec::new();
        for (_, pair) in pairs
            .iter()
            .filter(|(kind, p)| *kind == EntityKind::Users && admins.contains(&p.old))
        {
            if move_admins {
                self.move_primary_admin(tenant, &pair.old, &pair.new)
                    .await?;
            } else {
                unmoved.push(format!("user {} (now {}) was a Primary Administrator and was re-keyed by exact keys, which move no flag: promote the new id (`rosterctl admins promote`)", pair.old, pair.new));
            }
        }
        run.warnings.extend(unmoved);
        Ok(())
    }

    /// Links `pairs`, [`LINKS_AT_ONCE`] at a time, in one order every time:
    /// what an invocation linked comes first in the next, which passes over
    /// it. As the writes keep the deadline, past it nothing is linked after
    /// the first chunk that linked.
    pub(crate) async fn link_pairs(
        &self,
        tenant: &str,
        pairs: &[(EntityKind, Pair)],
    ) -> Result<(), SyncError> {
        let mut ordered: Vec<&(EntityKind, Pair)> = pairs.iter().collect();
        ordered.sort_by(|(a, p), (b, q)| (a, &p.old).cmp(&(b, &q.old)));
        let mut linked = 0;
        for chunk in ordered.chunks(LINKS_AT_ONCE) {
            if linked > 0 && self.options.deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(SyncError::DeadlineReached { written: 0 });
            }
            let links = chunk
                .iter()
                .map(|(kind, pair)| self.link_one(tenant, *kind, pair));
            let done = futures::future::try_join_all(links).await?;
            linked += done.into_iter().filter(|wrote| *wrote).count();
        }
        Ok(())
    }

    /// Moves the Primary Administrator flag from `from` to `to`, `to`
    /// first: a stop in between leaves two, never none.
    pub(crate) async fn move_primary_admin(
        &self,
        tenant: &str,
        from: &str,
        to: &str,
    ) -> Result<(), SyncError> {
        self.store.set_primary_admin(tenant, to, true).await?;
        self.store.set_primary_admin(tenant, from, false).await?;
        Ok(())
    }

    /// The sourcedIds of the tenant's Primary Administrators, as a set.
    pub(crate) async fn primary_admin_set(
        &self,
        tenant: &str,
    ) -> Result<HashSet<String>, SyncError> {
        Ok(self
            .store
            .primary_admins(tenant)
            .await?
            .into_iter()
            .collect())
    }

    /// Links one pair (see [`Self::link_pairs`]), unless the old record
    /// points to the new already (the link is then whole: see
    /// [`Rekeys::link_rekey`](crate::store::Rekeys::link_rekey)); whether
    /// it wrote.
    async fn link_one(
        &self,
        tenant: &str,
        kind: EntityKind,
        pair: &Pair,
    ) -> Result<bool, SyncError> {
        let old = self.store.get_entity(tenant, kind, &pair.old).await?;
        let old = old.map(|o| o.rekey).unwrap_or_default();
        if old.rekeyed_to.as_deref() == Some(pair.new.as_str()) {
            return Ok(false);
        }
        let mut previous = old.previous_sourced_ids;
        previous.push(pair.old.clone());
        self.store
            .link_rekey(tenant, kind, &pair.old, &pair.new, &previous)
            .await?;
        Ok(true)
    }
}

/// What a re-key applied, in words for a run's message: "the re-key of 99
/// users (and 4 classes, 99 enrollments)".
pub(super) fn rekeyed_words(run: &RunRecord) -> String {
    let Some(rekey) = &run.rekey else {
        return String::new();
    };
    let others: Vec<String> = rekey
        .applied_others
        .iter()
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect();
    let others = if others.is_empty() {
        String::new()
    } else {
        format!(" (and {})", others.join(", "))
    };
    format!("the re-key of {} users{others}", rekey.applied.unwrap_or(0))
}

/// What a re-key applied, on the run: users, and the other types by name.
pub(crate) fn record_applied(run: &mut RunRecord, pairs: &[(EntityKind, Pair)]) {
    let summary = summary_of(run);
    let users = pairs
        .iter()
        .filter(|(k, _)| *k == EntityKind::Users)
        .count();
    summary.applied = Some(users as u64);
    for (kind, _) in pairs.iter().filter(|(k, _)| *k != EntityKind::Users) {
        *summary
            .applied_others
            .entry(kind.file_name().to_string())
            .or_insert(0) += 1;
    }
}

/// The run's re-key summary, made empty when it has none.
pub(super) fn summary_of(run: &mut RunRecord) -> &mut RekeySummary {
    run.rekey.get_or_insert_with(|| RekeySummary {
        archived: 0,
        inserted: 0,
        paired_by: Default::default(),
        mapping_ref: None,
        applied: None,
        applied_others: Default::default(),
        applied_ref: None,
    })
}

/// Refuses a mapping that does not fit the plan, naming every problem (the
/// first ten).
fn check_pairs(planned: &PlannedUsers, pairs: &[Pair]) -> Result<(), SyncError> {
    let archived: HashSet<&str> = planned.archived.iter().map(String::as_str).collect();
    let inserted: HashSet<&str> = planned.inserted.iter().map(|p| p.id.as_str()).collect();
    let (mut olds, mut news) = (HashSet::new(), HashSet::new());
    let mut problems = Vec::new();
    for pair in pairs {
        if !archived.contains(pair.old.as_str()) {
            problems.push(format!(
                "`{}` is not a user this run archives (absent or deleted)",
                pair.old
            ));
        }
        if !inserted.contains(pair.new.as_str()) {
            problems.push(format!("`{}` is not a user this run inserts", pair.new));
        }
        if !olds.insert(pair.old.as_str()) {
            problems.push(format!("`{}` is paired more than once", pair.old));
        }
        if !news.insert(pair.new.as_str()) {
            problems.push(format!("`{}` is paired more than once", pair.new));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let more = problems.len().saturating_sub(10);
    problems.truncate(10);
    let tail = if more > 0 {
        format!("; and {more} more")
    } else {
        String::new()
    };
    Err(SyncError::Refused(format!(
        "the re-key mapping does not fit the held run: {}{tail}",
        problems.join("; ")
    )))
}
