//! Pass 2: a validated package re-read, handing each accepted row to the consumer.

use super::types::*;
use crate::manifest::Manifest;
use crate::model::*;
use crate::records::{csv_reader, for_each_record, skip_bom, RecordError, Row};
use crate::rows::{parse_row, RowCx};
use crate::schema::ColumnMap;

impl FileOutcome {
    /// (accepted, rejected, skipped) rows. Skipped rows have unique ids (a
    /// duplicated id turns every copy into a rejection), so they are counted by id.
    pub(super) fn counts(&self) -> (u64, u64, u64) {
        let skipped = self.skipped_ids.len() as u64;
        let rejected = self.excluded_lines.len() as u64 - skipped;
        (self.rows - rejected - skipped, rejected, skipped)
    }
}

impl ValidatedPackage {
    /// How `kind` is delivered in this package.
    pub fn mode(&self, kind: EntityKind) -> FileMode {
        self.files
            .get(&kind)
            .map(|f| f.mode)
            .unwrap_or(FileMode::Absent)
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
        let Some(outcome) = self.files.get(&kind) else {
            return Ok(());
        };
        let Some(entry) = &outcome.entry else {
            return Ok(());
        };
        let file = kind.file_name();
        let io = |source: std::io::Error| ReadError::Io { file, source };
        let changed = |line: u64, detail: String| ReadError::Changed { file, line, detail };
        let result = self.package.with_entry(entry, |read| -> Result<(), E> {
            let (buffered, _) = skip_bom(read);
            let mut reader = csv_reader(buffered);
            let mut header = Row::default();
            let csv_error = |e: RecordError| changed(e.line().unwrap_or(0), e.to_string());
            if !reader.read(&mut header).map_err(csv_error)? {
                return Err(changed(1, "the header is gone".into()).into());
            }
            let header = ColumnMap::from_header(kind, &header.record);
            if !header.fatal.is_empty() {
                return Err(changed(1, "the header no longer validates".into()).into());
            }
            let map = header.map;
            let mut excluded = outcome.excluded_lines.iter().peekable();
            let mut rows = 0u64;
            let mut failure: Option<E> = None;
            for_each_record(&mut reader, |row| {
                rows += 1;
                let line = row.line();
                while excluded.next_if(|l| **l < line).is_some() {}
                if excluded.next_if(|l| **l == line).is_some() {
                    return true;
                }
                let mut cx = RowCx::new(&row.record, &map, kind, line, false);
                let outcome = match parse_row(kind, outcome.mode, &mut cx) {
                    Some(item) => consume(item),
                    None => Err(changed(
                        line,
                        "a row that was accepted no longer validates".into(),
                    )
                    .into()),
                };
                match outcome {
                    Ok(()) => true,
                    Err(e) => {
                        failure = Some(e);
                        false
                    }
                }
            })
            .map_err(csv_error)?;
            if let Some(e) = failure {
                return Err(e);
            }
            if rows != outcome.rows {
                return Err(changed(
                    0,
                    format!("{rows} rows now, {} when validated", outcome.rows),
                )
                .into());
            }
            Ok(())
        });
        result.map_err(|e| E::from(io(e)))?
    }
}
