//! A revert puts a re-key's links back as they were before the run it
//! reverts. Of a run that applied a re-key: each pair the revert put back
//! (the old record active again, the new one archived by a revert: this
//! one, or an earlier attempt of it) is unlinked; and wherever the old
//! record is active again and the new one archived holding the Primary
//! Administrator flag, the old id is given the flag (the new keeps its own,
//! for a district that sends the new ids again). Of such a revert: the
//! pairs it unlinked are linked again where the records are re-keyed again,
//! and an old id's flag moves to the new id.

use crate::artifacts::Artifacts;
use crate::engine::{record_applied, Engine, LINKS_AT_ONCE};
use crate::error::SyncError;
use crate::rekey::Pair;
use crate::run::RunRecord;
use crate::store::{ArchiveInfo, ArchiveReason, ArchivedBy, Store};
use oneroster::EntityKind;

/// The file of the pairs a revert unlinked, kept with it for its own revert.
const UNLINKED_FILE: &str = "rekey-unlinked.json";

/// Which way a revert puts a re-key's links.
#[derive(Clone, Copy)]
enum Direction {
    /// The revert of a re-key.
    Unlink,
    /// The revert of a revert that unlinked.
    LinkAgain,
}

/// A stored record's archive: `None` when not stored, `Some(None)` active.
type Archive<'a> = Option<Option<&'a ArchiveInfo>>;

impl Direction {
    /// Whether a pair's records are as this revert puts them: the old one
    /// active and the new one archived by a revert (unlinking), or the old
    /// one archived `rekeyed` and the new one active (linking again).
    fn put_back(self, old: Archive, new: Archive) -> bool {
        match (self, old, new) {
            (Direction::Unlink, Some(None), Some(Some(new))) => new.by == ArchivedBy::Revert,
            (Direction::LinkAgain, Some(Some(old)), Some(None)) => {
                old.reason == Some(ArchiveReason::Rekeyed)
            }
            _ => false,
        }
    }

    /// "; 3 re-key pairs unlinked; stu-1 a Primary Administrator again", or
    /// nothing.
    fn words(self, pairs: usize, admins: &[String]) -> String {
        let s = if pairs == 1 { "" } else { "s" };
        let (done, flag) = match self {
            Direction::Unlink => ("unlinked", "a Primary Administrator again"),
            Direction::LinkAgain => ("linked again", "a Primary Administrator under the new id"),
        };
        let mut words = String::new();
        if pairs > 0 {
            words += &format!("; {pairs} re-key pair{s} {done}");
        }
        if !admins.is_empty() {
            words += &format!("; {} {flag}", admins.join(", "));
        }
        words
    }

    /// Whether the flag of a users' pair follows the records: unlinking,
    /// wherever the old record is active and the new one archived, whatever
    /// became of the link; linking again, where the pair is linked again.
    fn moves_flag(self, old: Archive, new: Archive) -> bool {
        match self {
            Direction::Unlink => matches!((old, new), (Some(None), Some(Some(_)))),
            Direction::LinkAgain => self.put_back(old, new),
        }
    }
}

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// Puts the links of the re-key `original` applied, or its revert
    /// unlinked, back as they were before `original`, where `run` (its
    /// revert) put the records back, and the Primary Administrator flags
    /// with them; a pair changed since is left, with a warning. Keeps the
    /// pairs it changed with `run`, for `run`'s own revert. The words for
    /// `run`'s message.
    pub(crate) async fn put_back_rekey_links(
        &self,
        run: &mut RunRecord,
        original: &RunRecord,
    ) -> Result<String, SyncError> {
        let Some((direction, pairs)) = self.pairs_to_put_back(run, original) else {
            return Ok(String::new());
        };
        let archives = self.archive_states(&run.tenant, &pairs).await?;
        let state =
            |kind: EntityKind, id: &str| archives.get(&(kind, id.to_string())).map(Option::as_ref);
        let flagged: Vec<&Pair> = pairs
            .iter()
            .filter(|(kind, _)| *kind == EntityKind::Users)
            .filter(|(kind, p)| direction.moves_flag(state(*kind, &p.old), state(*kind, &p.new)))
            .map(|(_, p)| p)
            .collect();
        let (done, left): (Vec<_>, Vec<_>) = pairs
            .iter()
            .cloned()
            .partition(|(kind, p)| direction.put_back(state(*kind, &p.old), state(*kind, &p.new)));
        if !left.is_empty() {
            let (n, s) = (left.len(), if left.len() == 1 { "" } else { "s" });
            run.warnings.push(format!(
                "{n} re-key pair{s} of run {} not put back (their links as they are): changed since the run",
                original.run_id
            ));
        }
        match direction {
            Direction::Unlink => self.unlink_pairs(&run.tenant, &done).await?,
            Direction::LinkAgain => self.link_pairs(&run.tenant, &done).await?,
        }
        let admins = self
            .put_back_admins(&run.tenant, direction, &flagged)
            .await?;
        match direction {
            _ if done.is_empty() => {}
            Direction::Unlink => {
                run.unlinked_ref = Some(self.keep_pairs(run, UNLINKED_FILE, &done)?)
            }
            Direction::LinkAgain => {
                // A re-key applied again: counted as one.
                self.keep_applied_pairs(run, &done)?;
                record_applied(run, &done);
            }
        }
        Ok(direction.words(done.len(), &admins))
    }

    /// Which way `run`, the revert of `original`, puts re-key links, and
    /// the pairs; `None` (with a warning when something was lost) when
    /// there are none.
    fn pairs_to_put_back(
        &self,
        run: &mut RunRecord,
        original: &RunRecord,
    ) -> Option<(Direction, Vec<(EntityKind, Pair)>)> {
        let rekey = original.rekey.as_ref();
        let applied = rekey.and_then(|r| r.applied_ref.as_ref());
        let (direction, reference) = match (applied, &original.unlinked_ref) {
            (Some(applied), _) => (Direction::Unlink, applied),
            (None, Some(unlinked)) => (Direction::LinkAgain, unlinked),
            (None, None) => {
                if rekey.is_some_and(|r| r.applied.is_some()) {
                    run.warnings.push(format!("run {} applied a re-key before its pairs were kept: its links are left as they are; promote a Primary Administrator by hand if one was re-keyed (`rosterctl admins promote`)", original.run_id));
                }
                return None;
            }
        };
        match self.read_pairs(reference) {
            Ok(pairs) => Some((direction, pairs)),
            Err(e) => {
                run.warnings.push(format!("the re-key pairs of run {} ({reference}) could not be read ({e}): their links, and a Primary Administrator moved with them, are left as they are", original.run_id));
                None
            }
        }
    }

    /// Unlinks `pairs`, [`LINKS_AT_ONCE`] at a time.
    async fn unlink_pairs(
        &self,
        tenant: &str,
        pairs: &[(EntityKind, Pair)],
    ) -> Result<(), SyncError> {
        for chunk in pairs.chunks(LINKS_AT_ONCE) {
            let unlinks = chunk
                .iter()
                .map(|(kind, p)| self.store.unlink_rekey(tenant, *kind, &p.old, &p.new));
            futures::future::try_join_all(unlinks).await?;
        }
        Ok(())
    }

    /// The Primary Administrator flags of the users' `pairs`: unlinking,
    /// the old id gets the new one's flag (the new keeps it); linking
    /// again, the old id's flag moves to the new id. The old ids whose flag
    /// changed.
    async fn put_back_admins(
        &self,
        tenant: &str,
        direction: Direction,
        pairs: &[&Pair],
    ) -> Result<Vec<String>, SyncError> {
        let admins = self.primary_admin_set(tenant).await?;
        let mut changed = Vec::new();
        for pair in pairs {
            let (old, new) = (admins.contains(&pair.old), admins.contains(&pair.new));
            match direction {
                Direction::Unlink if new && !old => {
                    self.store
                        .set_primary_admin(tenant, &pair.old, true)
                        .await?;
                }
                Direction::LinkAgain if old => {
                    self.move_primary_admin(tenant, &pair.old, &pair.new)
                        .await?;
                }
                _ => continue,
            }
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
        assert_eq!(Direction::Unlink.words(0, &[]), "");
        assert_eq!(Direction::Unlink.words(1, &[]), "; 1 re-key pair unlinked");
        assert_eq!(
            Direction::Unlink.words(99, &["stu-1".into()]),
            "; 99 re-key pairs unlinked; stu-1 a Primary Administrator again"
        );
        assert_eq!(
            Direction::Unlink.words(0, &["stu-1".into()]),
            "; stu-1 a Primary Administrator again"
        );
        assert_eq!(
            Direction::LinkAgain.words(2, &["stu-1".into()]),
            "; 2 re-key pairs linked again; stu-1 a Primary Administrator under the new id"
        );
    }
}
