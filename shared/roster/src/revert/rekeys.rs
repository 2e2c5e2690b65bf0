//! A revert puts a re-key's links back as they were before the run it
//! reverts. Of a run that applied a re-key: each pair the revert put back
//! (the old record active again, the new one archived) is unlinked, and a
//! Primary Administrator under the new id is one under the old id again.
//! Of such a revert: the pairs it unlinked are linked again where the
//! records are re-keyed again, and the flags it moved back move forward.

use crate::artifacts::Artifacts;
use crate::engine::{record_applied, summary_of, Engine, APPLIED_FILE, LINKS_AT_ONCE};
use crate::error::SyncError;
use crate::rekey::Pair;
use crate::run::RunRecord;
use crate::store::Store;
use oneroster::EntityKind;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The file of what a revert unlinked, kept with it for its own revert.
const UNLINKED_FILE: &str = "rekey-unlinked.json";

/// Pairs a revert changed the links of, and the Primary Administrators it
/// moved with them (their ids as they are after the revert).
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct LinksPutBack {
    pairs: Vec<(EntityKind, Pair)>,
    admins: Vec<String>,
}

impl LinksPutBack {
    /// "; 3 re-key pairs unlinked (the Primary Administrator flag back on
    /// stu-1)", or nothing.
    fn words(&self, done: &str) -> String {
        let n = self.pairs.len();
        if n == 0 {
            return String::new();
        }
        let admins = match self.admins.as_slice() {
            [] => String::new(),
            ids => format!(
                " (the Primary Administrator flag back on {})",
                ids.join(", ")
            ),
        };
        let s = if n == 1 { "" } else { "s" };
        format!("; {n} re-key pair{s} {done}{admins}")
    }
}

/// Which records of a pair a revert must have put back: the old one
/// active and the new one archived (unlinking), or the other way round.
#[derive(Clone, Copy)]
enum Direction {
    Unlink,
    LinkAgain,
}

impl<S: Store, A: Artifacts> Engine<'_, S, A> {
    /// Puts the links of the re-key `original` applied, or its revert
    /// unlinked, back as they were before `original`, where `run` (its
    /// revert) put the records back; a pair changed since is left, with a
    /// warning. Keeps what it did with `run`, for `run`'s own revert. The
    /// words for `run`'s message.
    pub(crate) async fn put_back_rekey_links(
        &self,
        run: &mut RunRecord,
        original: &RunRecord,
    ) -> Result<String, SyncError> {
        let applied = original.rekey.as_ref().and_then(|r| r.applied_ref.as_ref());
        let (direction, reference) = match (applied, &original.unlinked_ref) {
            (Some(applied), _) => (Direction::Unlink, applied),
            (None, Some(unlinked)) => (Direction::LinkAgain, unlinked),
            (None, None) => return Ok(String::new()),
        };
        let earlier = match direction {
            Direction::Unlink => self.read_pairs(reference).map(|pairs| LinksPutBack {
                pairs,
                admins: Vec::new(),
            }),
            Direction::LinkAgain => self.read_pairs::<LinksPutBack>(reference),
        };
        let earlier = match earlier {
            Ok(earlier) => earlier,
            Err(e) => {
                run.warnings.push(format!("the re-key pairs of run {} ({reference}) could not be read ({e}): their links, and a Primary Administrator moved with them, are left as they are", original.run_id));
                return Ok(String::new());
            }
        };
        let (done, left) = self.put_back(run, direction, earlier).await?;
        if left > 0 {
            let s = if left == 1 { "" } else { "s" };
            run.warnings.push(format!(
                "{left} re-key pair{s} of run {} not put back (links and Primary Administrator flag as they are): changed since the run",
                original.run_id
            ));
        }
        if done.pairs.is_empty() {
            return Ok(String::new());
        }
        match direction {
            Direction::Unlink => {
                run.unlinked_ref = Some(self.keep_pairs(run, UNLINKED_FILE, &done)?);
                Ok(done.words("unlinked"))
            }
            Direction::LinkAgain => {
                // A re-key applied again: counted as one.
                let kept = self.keep_pairs(run, APPLIED_FILE, &done.pairs)?;
                record_applied(run, &done.pairs);
                summary_of(run).applied_ref = Some(kept);
                Ok(done.words("linked again"))
            }
        }
    }

    /// Unlinks (or links again) each pair of `earlier` whose records are
    /// put back, moving the Primary Administrators with them: what it did,
    /// and how many pairs it left.
    async fn put_back(
        &self,
        run: &RunRecord,
        direction: Direction,
        earlier: LinksPutBack,
    ) -> Result<(LinksPutBack, usize), SyncError> {
        let tenant = run.tenant.as_str();
        let archived = self.archived_states(tenant, &earlier.pairs).await?;
        let put_back = |kind: EntityKind, pair: &Pair| {
            let state = |id: &str| archived.get(&(kind, id.to_string())).copied();
            let wanted = matches!(direction, Direction::Unlink);
            state(&pair.old) == Some(!wanted) && state(&pair.new) == Some(wanted)
        };
        let (pairs, left): (Vec<_>, Vec<_>) = earlier
            .pairs
            .into_iter()
            .partition(|(kind, pair)| put_back(*kind, pair));
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
        let admins: HashSet<String> = self
            .store
            .primary_admins(tenant)
            .await?
            .into_iter()
            .collect();
        let mut moved = Vec::new();
        for (_, pair) in pairs.iter().filter(|(kind, _)| *kind == EntityKind::Users) {
            let (from, to) = match direction {
                Direction::Unlink => (&pair.new, &pair.old),
                Direction::LinkAgain if earlier.admins.contains(&pair.old) => {
                    (&pair.old, &pair.new)
                }
                Direction::LinkAgain => continue,
            };
            if admins.contains(from) {
                // The new holder first: a stop in between leaves two, never none.
                self.store.set_primary_admin(tenant, to, true).await?;
                self.store.set_primary_admin(tenant, from, false).await?;
                moved.push(to.clone());
            }
        }
        let done = LinksPutBack {
            pairs,
            admins: moved,
        };
        Ok((done, left.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::LinksPutBack;
    use crate::rekey::{MatchKey, Pair};
    use oneroster::EntityKind;

    fn pairs(n: usize) -> Vec<(EntityKind, Pair)> {
        let pair = Pair {
            old: "a".into(),
            new: "b".into(),
            key: MatchKey::ByHand,
        };
        vec![(EntityKind::Users, pair); n]
    }

    #[test]
    fn words_name_the_pairs_and_the_admins_moved() {
        assert_eq!(LinksPutBack::default().words("unlinked"), "");
        let one = LinksPutBack {
            pairs: pairs(1),
            admins: Vec::new(),
        };
        assert_eq!(one.words("unlinked"), "; 1 re-key pair unlinked");
        let more = LinksPutBack {
            pairs: pairs(99),
            admins: vec!["stu-1".into()],
        };
        assert_eq!(
            more.words("linked again"),
            "; 99 re-key pairs linked again (the Primary Administrator flag back on stu-1)"
        );
    }
}
