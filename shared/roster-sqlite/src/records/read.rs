//! Reading records whole: the columns of a record, and the run ids of the
//! run keys they name.

use crate::db_error;
use crate::layout::{optional_stamp_at, run_key_at, run_name, stamp_at};
use oneroster::EntityKind;
use roster::content::SisContent;
use roster::store::*;
use std::collections::HashMap;

/// The run ids of the keys a read has met, looked up when first met, on the
/// connection of the read (inside its read transaction, so a key another
/// process has just made is there with the records that name it). Every
/// read of records names their runs through it.
#[derive(Default)]
pub(super) struct RunNames(HashMap<i64, String>);

impl RunNames {
    /// The run id of key `key`, named by record `id`; a key `run_keys`
    /// lacks is an error that names both.
    pub(super) fn name(
        &mut self,
        c: &rusqlite::Connection,
        key: i64,
        id: &str,
    ) -> StoreResult<&str> {
        use std::collections::hash_map::Entry;
        match self.0.entry(key) {
            Entry::Occupied(found) => Ok(found.into_mut()),
            Entry::Vacant(slot) => match run_name(c, key)? {
                Some(run) => Ok(slot.insert(run)),
                None => Err(StoreError::permanent(format!(
                    "run key {key} of record `{id}` in store is not in `run_keys`"
                ))),
            },
        }
    }
}

/// A text column of `row`, borrowed (no copy).
pub(super) fn text_at<'r>(row: &'r rusqlite::Row<'_>, column: usize) -> StoreResult<&'r str> {
    row.get_ref(column)
        .and_then(|v| v.as_str().map_err(rusqlite::Error::from))
        .map_err(db_error)
}

/// The columns [`entity_of`] reads, with the platform-owned flag beside
/// them, of a tenant's records of a type: `?1` the tenant, `?2` the type's
/// name (the platform table's key), `?3` and `?4` their key and code in
/// `entities`.
pub(super) const ENTITY_SELECT: &str =
    "SELECT e.sourced_id, e.sis, e.archived_by, e.archived_at, e.archived_run,
        e.first_seen_at, e.first_seen_run, e.updated_at, e.updated_run,
        COALESCE(p.primary_admin, 0), e.archive_reason, e.provisional, e.erasure,
        p.rekeyed_to, p.previous_ids
    FROM entities e LEFT JOIN platform p
      ON p.tenant = ?1 AND p.kind = ?2 AND p.sourced_id = e.sourced_id
    WHERE e.tenant = ?3 AND e.kind = ?4";

/// One row of [`ENTITY_SELECT`] as a stored record, its run keys looked up
/// through `runs` on `c`, the connection of the read.
pub(super) fn entity_of(
    kind: EntityKind,
    r: &rusqlite::Row<'_>,
    c: &rusqlite::Connection,
    runs: &mut RunNames,
) -> StoreResult<StoredEntity> {
    let sourced_id: String = r.get(0).map_err(db_error)?;
    let mut run = |column| -> StoreResult<String> {
        let key = run_key_at(r, column)?;
        runs.name(c, key, &sourced_id).map(str::to_string)
    };
    let by: Option<String> = r.get(2).map_err(db_error)?;
    let at = optional_stamp_at(r, 3)?;
    let reason: Option<String> = r.get(10).map_err(db_error)?;
    let archive = match (by, at) {
        (Some(by), Some(at)) => Some(ArchiveInfo {
            by: ArchivedBy::parse(&by),
            at,
            run: match r.get_ref(4).map_err(db_error)? {
                rusqlite::types::ValueRef::Null => None,
                _ => Some(run(4)?),
            },
            reason: reason.as_deref().and_then(ArchiveReason::parse),
        }),
        _ => None,
    };
    let first_seen_run = run(6)?;
    let updated_run = run(8)?;
    let sis: String = r.get(1).map_err(db_error)?;
    let erasure: Option<String> = r.get(12).map_err(db_error)?;
    let erasure = erasure
        .map(|text| serde_json::from_str::<Erasure>(&text).map_err(crate::json_error))
        .transpose()?;
    let rekey = RekeyLinks {
        rekeyed_to: r.get(13).map_err(db_error)?,
        previous_sourced_ids: match r.get::<_, Option<String>>(14).map_err(db_error)? {
            Some(list) => serde_json::from_str(&list).map_err(|e| {
                StoreError::permanent(format!("previous_ids of {kind} {sourced_id}: {e}"))
            })?,
            None => Vec::new(),
        },
    };
    Ok(StoredEntity {
        kind,
        sourced_id,
        sis: SisContent::from_stored(sis),
        archive,
        first_seen_at: stamp_at(r, 5)?,
        first_seen_run,
        updated_at: stamp_at(r, 7)?,
        updated_run,
        primary_admin: r.get(9).map_err(db_error)?,
        provisional: r.get(11).map_err(db_error)?,
        rekey,
        erasure,
    })
}
