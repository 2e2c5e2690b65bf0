//! Entry points for the fuzz targets in `fuzz/` (the `fuzzing` feature):
//! the crate's row reader, which is not public otherwise.

use crate::records::{csv_reader, for_each_record, RecordError, Row, Rows, Threads};
use std::io::BufReader;

/// One row as the reader hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRow {
    /// The line the row starts on (1-based).
    pub line: u64,
    /// Its fields; for a row too long to keep, none (no key column is kept).
    pub fields: Vec<String>,
    /// `Some(bytes)` for a row over the limits: its length in the input.
    pub too_long: Option<u64>,
}

/// How reading ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// At the end of the input.
    Done,
    /// At a row with a field that is not UTF-8.
    Utf8 {
        /// The line the row starts on.
        line: u64,
        /// 1-based field.
        field: usize,
        /// 1-based byte of the field where the invalid sequence starts.
        byte: usize,
    },
    /// The input failed (never, for a slice).
    Io(String),
}

/// Every row of `input` as validation reads a file (a leading UTF-8 byte
/// order mark dropped), through a buffer of `capacity` bytes, and how the
/// reading ended: on a reading thread, in batches, as validation reads a
/// file over 64 KiB (`threaded`), or row by row on this one (many times
/// faster to fuzz).
pub fn read_rows(input: &[u8], capacity: usize, threaded: bool) -> (Vec<ReadRow>, ReadEnd) {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut reader = csv_reader(BufReader::with_capacity(capacity.max(1), input));
    let mut rows = Vec::new();
    let mut take = |row: &Row<'_>| {
        rows.push(ReadRow {
            line: row.line(),
            fields: row.record.iter().map(String::from).collect(),
            too_long: row.too_long,
        });
        true
    };
    let result = if threaded {
        for_each_record(&mut reader, Threads::Reader { preparing: 1 }, take)
    } else {
        let mut batch = Rows::default();
        loop {
            match reader.read(&mut batch) {
                Ok(true) => take(&batch.get(0)),
                Ok(false) => break Ok(()),
                Err(e) => break Err(e),
            };
            batch.clear();
        }
    };
    let end = match result {
        Ok(()) => ReadEnd::Done,
        Err(RecordError::Utf8 { line, field, byte }) => ReadEnd::Utf8 { line, field, byte },
        Err(RecordError::Io(e)) => ReadEnd::Io(e.to_string()),
    };
    (rows, end)
}
