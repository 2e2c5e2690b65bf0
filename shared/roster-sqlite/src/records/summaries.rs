//! Summarising a type's stored records, on two threads.

use super::read::{text_at, RunNames};
use crate::layout::{run_key_at, stamp_at, tenant_key};
use crate::{db_error, kind_code, SqliteStore};
use chrono::{DateTime, Utc};
use oneroster::EntityKind;
use roster::content::digest_of_text;
use roster::school_year::RecordFacts;
use roster::store::*;
use rusqlite::params;

impl SqliteStore {
    /// Every stored record of a type, summarised (the stored text's digest,
    /// its facts; timestamps and run ids that repeat parsed once).
    ///
    /// Two threads share the work ([`oneroster::pipeline`]): this one steps
    /// through the rows and copies their columns into batches, a second one
    /// summarises them (hashing, reading the facts, building the list). A large district's
    /// enrollments take seconds to load, and nothing else runs meanwhile.
    pub(super) fn summaries(
        &self,
        tenant: &str,
        kind: EntityKind,
    ) -> StoreResult<Vec<StoredSummary>> {
        self.with(|c| {
            let Some(key) = tenant_key(c, tenant)? else {
                return Ok(Vec::new());
            };
            let mut stmt = c
                .prepare_cached(
                    "SELECT sourced_id, sis, archived_by IS NOT NULL, first_seen_at, first_seen_run, provisional
                     FROM entities WHERE tenant = ?1 AND kind = ?2",
                )
                .map_err(db_error)?;
            let mut rows = stmt
                .query(params![key, kind_code(kind)])
                .map_err(db_error)?;
            let mut runs = RunNames::default();
            let mut read: StoreResult<()> = Ok(());
            let mut out = Vec::new();
            let mut first_seen = FirstSeenCache::default();
            oneroster::pipeline::run_filling_here(
                SUMMARY_BATCHES_IN_FLIGHT,
                |batch: &mut RawRows| {
                    batch.clear();
                    let filled = fill(batch, &mut rows, &mut runs, c);
                    let more = matches!(filled, Ok(true));
                    read = filled.map(drop);
                    more
                },
                |batch| {
                    summarise(kind, batch, &mut first_seen, &mut out);
                    true
                },
            );
            read.map(|()| out)
        })
    }
}

/// Fills `batch` with the next rows; whether rows are left.
fn fill(
    batch: &mut RawRows,
    rows: &mut rusqlite::Rows<'_>,
    runs: &mut RunNames,
    c: &rusqlite::Connection,
) -> StoreResult<bool> {
    while let Some(row) = rows.next().map_err(db_error)? {
        let id = text_at(row, 0)?;
        let run = runs.name(c, run_key_at(row, 4)?, id)?;
        batch.push(
            [id, text_at(row, 1)?, run],
            stamp_at(row, 3)?,
            row.get(2).map_err(db_error)?,
            row.get(5).map_err(db_error)?,
        );
        if batch.is_full() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Batches of rows between the reading and the summarising thread.
const SUMMARY_BATCHES_IN_FLIGHT: usize = 4;

/// Rows of [`SqliteStore::summaries`] as read: their text columns side by
/// side in one buffer (reused from batch to batch).
#[derive(Default)]
struct RawRows {
    text: String,
    rows: Vec<RawRow>,
}

/// One row of [`RawRows`]: where its text columns end in the buffer
/// (sourcedId, content, first-seen run), its first-seen stamp and its two flags.
struct RawRow {
    ends: [usize; 3],
    first_seen_at: DateTime<Utc>,
    archived: bool,
    provisional: bool,
}

impl RawRows {
    fn push(
        &mut self,
        columns: [&str; 3],
        first_seen_at: DateTime<Utc>,
        archived: bool,
        provisional: bool,
    ) {
        let mut ends = [0; 3];
        for (end, column) in ends.iter_mut().zip(columns) {
            self.text.push_str(column);
            *end = self.text.len();
        }
        self.rows.push(RawRow {
            ends,
            first_seen_at,
            archived,
            provisional,
        });
    }

    /// 2,048 rows or 1 MiB of text: a batch stays small, whatever the records.
    fn is_full(&self) -> bool {
        self.rows.len() >= 2048 || self.text.len() >= 1 << 20
    }

    /// Each row's columns, in order.
    fn each(&self) -> impl Iterator<Item = ([&str; 3], &RawRow)> {
        let mut start = 0;
        self.rows.iter().map(move |row| {
            let mut columns = [""; 3];
            for (column, end) in columns.iter_mut().zip(row.ends) {
                *column = &self.text[start..end];
                start = end;
            }
            (columns, row)
        })
    }

    fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }
}

/// The summarising side of [`SqliteStore::summaries`]: a batch's rows
/// summarised into `out`.
fn summarise(
    kind: EntityKind,
    batch: &RawRows,
    first_seen: &mut FirstSeenCache,
    out: &mut Vec<StoredSummary>,
) {
    for ([id, sis, run], row) in batch.each() {
        // The stored text as it is: its digest is the hash of its bytes.
        out.push(StoredSummary {
            sourced_id: id.into(),
            digest: digest_of_text(sis),
            facts: RecordFacts::for_stored_text(kind, sis, row.archived),
            archived: row.archived,
            first_seen: first_seen.get(row.first_seen_at, run),
            provisional: row.provisional,
        });
    }
}
