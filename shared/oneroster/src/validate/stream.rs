//! Pass 2: a validated package re-read, handing each accepted row to the consumer.

use super::types::*;
use crate::manifest::Manifest;
use crate::model::*;
use crate::records::{
    csv_reader, for_each_record, for_each_record_prepared, skip_bom, RecordError, RecordReader,
    Row, Rows, Threads,
};
use crate::rows::{parse_row, RowCx};
use crate::schema::ColumnMap;
use std::io::{BufReader, Read};

impl FileOutcome {
    /// (accepted, rejected, skipped) rows. Skipped rows have unique ids (a
    /// duplicated id turns every copy into a rejection), so they are counted by id.
    pub(super) fn counts(&self) -> (u64, u64, u64) {
        let skipped = self.skipped_ids.len() as u64;
        let rejected = self.excluded_rows.len() + self.first_copies_rejected - skipped;
        (self.rows - rejected - skipped, rejected, skipped)
    }
}

impl ValidatedPackage {
    /// How `kind` is delivered in this package: users as delta when a
    /// delta `roles.csv` changes stored users' roles without a `users.csv`.
    pub fn mode(&self, kind: EntityKind) -> FileMode {
        let mode = self.files.get(&kind).map_or(FileMode::Absent, |f| f.mode);
        match mode {
            FileMode::Absent if kind == EntityKind::Users && !self.role_changes.is_empty() => {
                FileMode::Delta
            }
            mode => mode,
        }
    }

    /// Stored users whose roles a delta `roles.csv` changes though its
    /// `users.csv` does not deliver them (by sourcedId): a sync writes each
    /// one's content as given, after the users' rows.
    pub fn role_changes(&self) -> &[crate::v1p2::RoleChange] {
        &self.role_changes
    }

    /// The roles of `kind`'s rows (users of a 1.2 package); an error when
    /// they are not known (see [`ReadError::RolesPending`]).
    fn roles_for(&self, kind: EntityKind) -> Result<Option<&crate::v1p2::UserRoles>, ReadError> {
        match self
            .user_roles
            .as_ref()
            .filter(|_| kind == EntityKind::Users)
        {
            Some(roles) if roles.pending => Err(ReadError::RolesPending),
            roles => Ok(roles),
        }
    }

    /// What pass 1 learned about `kind`.
    pub fn outcome(&self, kind: EntityKind) -> Option<&FileOutcome> {
        self.files.get(&kind)
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Enrollment references to check against the store.
    pub fn deferred_references(&self) -> &[DeferredReference] {
        &self.deferred
    }

    /// Streams every accepted row of `kind`, in file order, to `consume`.
    /// Rows that pass 1 rejected or skipped are not handed over.
    pub fn for_each_row<E, F>(&self, kind: EntityKind, mut consume: F) -> Result<(), E>
    where
        E: From<ReadError>,
        F: FnMut(RowItem<'_>) -> Result<(), E>,
    {
        let version = self.manifest.version;
        let roles = self.roles_for(kind)?;
        self.read_accepted(kind, |reader, threads, map, outcome| {
            let mut failure: Option<E> = None;
            let mut rows = 0;
            for_each_record(reader, threads, |row| {
                rows += 1;
                let outcome = match parse_accepted(kind, outcome, row, map, (version, roles)) {
                    Parsed::Excluded => return true,
                    Parsed::Item(item) => consume(item),
                    Parsed::Failed => Err(no_longer_valid(kind, row).into()),
                };
                outcome.map_err(|e| failure = Some(e)).is_ok()
            })
            .map_err(|e| csv_error(kind, e))?;
            match failure {
                Some(e) => Err(e),
                None => Ok(rows),
            }
        })
    }

    /// Like [`for_each_row`](Self::for_each_row), but each accepted row is
    /// first turned into a `T` by `prepare`, on threads of their own (one
    /// per core, at most four; none for a file of 64 KiB or less, read on
    /// the caller's thread alone), and `consume` gets the `T`s in file order. The `T`s are kept from batch to
    /// batch: `prepare` overwrites one that held an earlier row, so buffers
    /// in it are reused. For consumers whose per-row work is mostly a pure
    /// function of the row (canonical text, digests): that part then runs
    /// beside the consumer's own.
    pub fn for_each_row_prepared<T, E, P, F>(
        &self,
        kind: EntityKind,
        prepare: P,
        mut consume: F,
    ) -> Result<(), E>
    where
        T: Default + Send,
        E: From<ReadError>,
        P: Fn(RowItem<'_>, &mut T) + Sync,
        F: FnMut(&mut T) -> Result<(), E>,
    {
        let version = self.manifest.version;
        let roles = self.roles_for(kind)?;
        self.read_accepted(kind, |reader, threads, map, outcome| {
            let mut failure: Option<E> = None;
            let mut rows = 0;
            for_each_record_prepared(
                reader,
                threads,
                |row, slot: &mut Slot<T>, _: &mut ()| {
                    slot.state = match parse_accepted(kind, outcome, row, map, (version, roles)) {
                        Parsed::Excluded => SlotState::Excluded,
                        Parsed::Failed => SlotState::Failed,
                        Parsed::Item(item) => {
                            prepare(item, &mut slot.value);
                            SlotState::Ready
                        }
                    };
                },
                |row, slot| {
                    rows += 1;
                    let outcome = match slot.state {
                        SlotState::Excluded => return true,
                        SlotState::Ready => consume(&mut slot.value),
                        SlotState::Failed => Err(no_longer_valid(kind, row).into()),
                    };
                    outcome.map_err(|e| failure = Some(e)).is_ok()
                },
            )
            .map_err(|e| csv_error(kind, e))?;
            match failure {
                Some(e) => Err(e),
                None => Ok(rows),
            }
        })
    }

    /// Opens `kind`'s file, reads its header again, and hands the reader
    /// (and the threads to read the file with) to `read`, which returns how
    /// many data rows it read; checks that count against pass 1's.
    fn read_accepted<E, F>(&self, kind: EntityKind, read: F) -> Result<(), E>
    where
        E: From<ReadError>,
        F: FnOnce(&mut PackageReader<'_>, Threads, &ColumnMap, &FileOutcome) -> Result<u64, E>,
    {
        let Some(outcome) = self.files.get(&kind) else {
            return Ok(());
        };
        let Some(entry) = &outcome.entry else {
            return Ok(());
        };
        let file = kind.file_name();
        let changed = |line: u64, detail: String| ReadError::Changed { file, line, detail };
        let result = self.package.with_entry(entry, |input| -> Result<(), E> {
            let (buffered, _) = skip_bom(input);
            let mut reader = csv_reader(buffered);
            let mut header = Rows::default();
            if !reader.read(&mut header).map_err(|e| csv_error(kind, e))? {
                return Err(changed(1, "the header is gone".into()).into());
            }
            let version = self.manifest.version;
            let header = ColumnMap::from_header_in(kind, version, header.get(0).record);
            if !header.fatal.is_empty() {
                return Err(changed(1, "the header no longer validates".into()).into());
            }
            let threads = Threads::for_file(entry.size);
            let rows = read(&mut reader, threads, &header.map, outcome)?;
            if rows != outcome.rows {
                return Err(changed(
                    0,
                    format!("{rows} rows now, {} when validated", outcome.rows),
                )
                .into());
            }
            Ok(())
        });
        result.map_err(|source| E::from(ReadError::Io { file, source }))?
    }
}

/// The reader pass 2 reads a file of the package with.
type PackageReader<'a> = RecordReader<BufReader<&'a mut (dyn Read + Send)>>;

/// One row of a file, unless pass 1 excluded it (in any order: for rows
/// prepared on several threads).
fn parse_accepted<'r>(
    kind: EntityKind,
    outcome: &FileOutcome,
    row: &'r Row,
    map: &'r ColumnMap,
    (version, roles): (crate::OneRosterVersion, Option<&'r crate::v1p2::UserRoles>),
) -> Parsed<'r> {
    if outcome.excluded_rows.contains(row.index) {
        return Parsed::Excluded;
    }
    // The first copy of a duplicated id, accepted when pass 1 read it.
    if !outcome.rejected_ids.is_empty()
        && outcome
            .rejected_ids
            .contains(super::scan::row_sourced_id(map, row))
    {
        return Parsed::Excluded;
    }
    let line = row.line();
    let mut cx = RowCx::new(row.record, map, kind, line, false)
        .with_roles(roles)
        .in_version(version);
    match parse_row(kind, outcome.mode, &mut cx) {
        Some(item) => Parsed::Item(item),
        None => Parsed::Failed,
    }
}

/// What became of one row.
// Returned and matched at once, never stored: no need to box the item.
#[allow(clippy::large_enum_variant)]
enum Parsed<'r> {
    /// Rejected or skipped in pass 1: not handed over.
    Excluded,
    /// Accepted, and still valid.
    Item(RowItem<'r>),
    /// Accepted in pass 1 but no longer valid: the file changed.
    Failed,
}

fn no_longer_valid(kind: EntityKind, row: &Row) -> ReadError {
    ReadError::Changed {
        file: kind.file_name(),
        line: row.line(),
        detail: "a row that was accepted no longer validates".into(),
    }
}

fn csv_error(kind: EntityKind, e: RecordError) -> ReadError {
    ReadError::Changed {
        file: kind.file_name(),
        line: e.line().unwrap_or(0),
        detail: e.to_string(),
    }
}

/// A row on its way from the preparing thread to the consumer.
#[derive(Default)]
struct Slot<T> {
    state: SlotState,
    value: T,
}

#[derive(Default, Clone, Copy)]
enum SlotState {
    #[default]
    Excluded,
    Failed,
    Ready,
}
