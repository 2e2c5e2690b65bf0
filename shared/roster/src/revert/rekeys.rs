//! A revert puts a re-key's links back as they were before the run it
//! reverts. Of a run that applied a re-key: each pair the revert put back
//! (the old record active again, the new one archived by the revert) is
//! unlinked, and where the new id is a Primary Administrator the old id is
//! one again (the new keeps its flag, for a district that sends the new
//! ids again). Of such a revert: the pairs it unlinked are linked again
//! where the records are re-keyed again, and the old id's flag is cleared
//! where the new id still has its own.

use crate::artifacts::Artifacts;
use crate::engine::{record_applied, summary_of, Engine, LINKS_AT_ONCE, REKEY_APPLIED_FILE};
use crate::error::SyncError;
use crate::rekey::Pair;
use crate::run::RunRecord;
use crate::store::{ArchiveInfo, ArchiveReason, ArchivedBy, Store};
use oneroster::EntityKind;
use std::collections::HashSet;

/// The file of the pairs a revert unlinked, kept with it for its own revert.
const UNLINKED_FILE: &str = "rekey-unlinked.json";

/// Which way a revert puts a re-key's links.
#[derive(Clone, Copy, PartialEq)]
enum Direction {
    /// The revert of a re-key.
    Unlink,
    /// The revert of a revert that unlinked.
    LinkAgain,
}

impl Direction {
    /// Whether a pair's records are as this revert puts them: the old one
    /// active and the new one archived by a revert (unlinking), or the old
    /// one archived `rekeyed` and the new one active (linking again).
    fn put_back(
        self,
        old: Option<&Option<ArchiveInfo>>,
        new: Option<&Option<ArchiveInfo>>,
    ) -> bool {
        match (self, old, new) {
            (Direction::Unlink, Some(None), Some(Some(new))) => new.by == ArchivedBy::Revert,
            (Direction::LinkAgain, Some(Some(old)), Some(None)) => {
                old.reason == Some(ArchiveReason::Rekeyed)
            }
            _ => false,
        }
    }

    /// "; 3 re-key pairs unlinked (stu-1 a Primary Administrator again)".
    fn words(self, pairs: usize, admins: &[String]) -> String {
        let s = if pairs == 1 { "" } else { "s" };
        let (done, flag) = match self {
            Direction::Unlink => ("unlinked", "a Primary Administrator again"),
            Direction::LinkAgain => ("linked again", "no longer a Primary Administrator"),
        };
        let admins = match admins {
            [] => String::new(),
            ids => format!(" ({} {flag})", ids.join(", ")),
        };
        format!("; {pairs} re-key pair{s} {done}{admins}")
    }
}

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// Puts the links of the re-key `original` applied, or its revert
    /// unlinked, back as they were before `original`, where `run` (its
    /// revert) put the records back; a pair changed since is left, with a
    /// warning. Keeps the pairs it changed with `run`, for `run`'s own
    /// revert. The words for `run`'s message.
    pub(crate) async fn put_back_rekey_links(
        &self,
        run: &mut RunRecord,
        original: &RunRecord,
    ) -> Result<String, SyncError> {
        let rekey = original.rekey.as_ref();
        let (direction, reference) = match (
            rekey.and_then(|r| r.applied_ref.as_ref()),
            &original.unlinked_ref,
        ) {
            (Some(applied), _) => (Direction::Unlink, applied),
            (None, Some(unlinked)) => (Direction::LinkAgain, unlinked),
            (None, None) => {
                if rekey.is_some_and(|r| r.applied.is_some()) {
                    run.warnings.push(format!("run {} applied a re-key before its pairs were kept: its links are left as they are; promote a Primary Administrator by hand if one was re-keyed (`rosterctl admins promote`)", original.run_id));
                }
                return Ok(String::new());
            }
        };
        let pairs: Vec<(EntityKind, Pair)> = match self.read_pairs(reference) {
            Ok(pairs) => pairs,
            Err(e) => {
                run.warnings.push(format!("the re-key pairs of run {} ({reference}) could not be read ({e}): their links, and a Primary Administrator moved with them, are left as they are", original.run_id));
                return Ok(String::new());
            }
        };
        let archives = self.archive_states(&run.tenant, &pairs).await?;
        let state = |kind: EntityKind, id: &str| archives.get(&(kind, id.to_string()));
        let (done, left): (Vec<_>, Vec<_>) = pairs
            .into_iter()
            .partition(|(kind, p)| direction.put_back(state(*kind, &p.old), state(*kind, &p.new)));
        if !left.is_empty() {
            let (n, s) = (left.len(), if left.len() == 1 { "" } else { "s" });
            run.warnings.push(format!(
                "{n} re-key pair{s} of run {} not put back (links and Primary Administrator flags as they are): changed since the run",
                original.run_id
            ));
        }
        if done.is_empty() {
            return Ok(String::new());
        }
        self.relink(&run.tenant, direction, &done).await?;
        let admins = self.put_back_admins(&run.tenant, direction, &done).await?;
        match direction {
            Direction::Unlink => {
                run.unlinked_ref = Some(self.keep_pairs(run, UNLINKED_FILE, &done)?)
            }
            Direction::LinkAgain => {
                // A re-key applied again: counted as one.
                let kept = self.keep_pairs(run, REKEY_APPLIED_FILE, &done)?;
                record_applied(run, &done);
                summary_of(run).applied_ref = Some(kept);
            }
        }
        Ok(direction.words(done.len(), &admins))
    }

    /// Unlinks (or links again) `pairs`, 16 at a time.
    async fn relink(
        &self,
        tenant: &str,
        direction: Direction,
        pairs: &[(EntityKind, Pair)],
    ) -> Result<(), SyncError> {
        for chunk in pairs.chunks(LINKS_AT_ONCE) {
            let puts = chunk.iter().map(|(kind, p)| async move {
                match direction {
                    Direction::Unlink => Ok(self
                        .store
                        .unlink_rekey(tenant, *kind, &p.old, &p.new)
                        .await?),
                    Direction::LinkAgain => self.link_one(tenant, *kind, p).await.map(|_| ()),
                }
            });
            futures::future::try_join_all(puts).await?;
        }
        Ok(())
    }

    /// The Primary Administrator flags of the users' `pairs`: unlinking, the
    /// old id gets the new one's; linking again, the old id loses its flag
    /// where the new one has its own. The old ids whose flag changed.
    async fn put_back_admins(
        &self,
        tenant: &str,
        direction: Direction,
        pairs: &[(EntityKind, Pair)],
    ) -> Result<Vec<String>, SyncError> {
        let admins: HashSet<String> = self
            .store
            .primary_admins(tenant)
            .await?
            .into_iter()
            .collect();
        let mut changed = Vec::new();
        for (_, pair) in pairs.iter().filter(|(kind, _)| *kind == EntityKind::Users) {
            let (old, new) = (admins.contains(&pair.old), admins.contains(&pair.new));
            let flag = match direction {
                Direction::Unlink if new && !old => true,
                Direction::LinkAgain if new && old => false,
                _ => continue,
            };
            self.store
                .set_primary_admin(tenant, &pair.old, flag)
                .await?;
            changed.push(pair.old.clone());
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::Direction;

    #[test]
    fn words_name_the_pairs_and_the_admins() {
        assert_eq!(Direction::Unlink.words(1, &[]), "; 1 re-key pair unlinked");
        assert_eq!(
            Direction::Unlink.words(99, &["stu-1".into()]),
            "; 99 re-key pairs unlinked (stu-1 a Primary Administrator again)"
        );
        assert_eq!(
            Direction::LinkAgain.words(2, &["stu-1".into()]),
            "; 2 re-key pairs linked again (stu-1 no longer a Primary Administrator)"
        );
    }
}
