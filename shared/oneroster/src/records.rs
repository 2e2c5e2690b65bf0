//! Reading CSV rows with bounded memory, on a second thread.
//!
//! [`RecordReader`] drives `csv_core` with fixed buffers: a row over
//! [`MAX_RECORD_BYTES`](crate::report::MAX_RECORD_BYTES) of field content or [`MAX_RECORD_FIELDS`](crate::report::MAX_RECORD_FIELDS) fields is
//! read to its end through the same buffers and handed over as *too long*,
//! without its fields (but the first bytes of its sourcedId), so a 10 MB
//! field costs no more memory than a short one.
//! [`for_each_record`] reads ahead on a second thread, so that parsing overlaps
//! with validation: the reader thread fills batches of rows and the caller's
//! thread consumes them (see [`crate::pipeline`]); a small file is read on
//! the caller's thread alone (see [`Threads::for_file`]).

use std::io::{BufRead, BufReader, Read};

mod batches;
mod reader;

pub(crate) use batches::{for_each_record, for_each_record_prepared, Threads};
pub(crate) use reader::{csv_reader, RecordReader};

/// A batch whose text took more than this (a batch ending on a long row)
/// gives its buffer back when cleared rather than keep it for the rest of
/// the file.
const KEPT_BATCH_BYTES: usize = 2 * 1024 * 1024;

/// The fields of one row, borrowed from the [`Rows`] that hold it: the
/// `csv_core` parser's output, its fields one after another, and where each
/// field lies in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    text: &'a str,
    /// Where each field starts and ends in `text`.
    spans: &'a [(usize, usize)],
    line: u64,
}

/// Rows are equal when their fields and line are, however their text is kept.
impl PartialEq for Fields<'_> {
    fn eq(&self, other: &Fields<'_>) -> bool {
        self.line == other.line && self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Fields<'_> {}

impl<'a> Fields<'a> {
    /// How many fields.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Field `i`, if the row has it.
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        let (start, end) = *self.spans.get(i)?;
        Some(&self.text[start..end])
    }

    /// Every field, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or(""))
    }
}

impl std::ops::Index<usize> for Fields<'_> {
    type Output = str;
    fn index(&self, i: usize) -> &str {
        self.get(i).expect("field index in range")
    }
}

/// One row of a CSV file, borrowed from the [`Rows`] that hold it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    /// The fields, and the line the row starts on. When the row is too
    /// long: only the key column's first bytes (see
    /// [`RecordReader::keep_key_column`]) after empty fields, or no field.
    pub(crate) record: Fields<'a>,
    /// `Some(bytes)` when the row held more than [`MAX_RECORD_BYTES`](crate::report::MAX_RECORD_BYTES) of field
    /// content or more than [`MAX_RECORD_FIELDS`](crate::report::MAX_RECORD_FIELDS) fields: its length in the
    /// file. Its fields were read past, not kept.
    pub(crate) too_long: Option<u64>,
    /// The row's place in the file (1-based; the header is 1): unique, where
    /// lines are not (a row ended by a bare CR shares its line with the next).
    pub(crate) index: u64,
}

impl Row<'_> {
    /// The line the row starts on (1-based).
    pub(crate) fn line(&self) -> u64 {
        self.record.line
    }
}

/// Rows read together: their texts one after another in one buffer, their
/// fields' spans in another, so that a batch of thousands of rows is three
/// allocations, kept from batch to batch, and the threads that read it
/// after the reader's walk through memory in order.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    text: String,
    /// Each row's spans, relative to the start of its text.
    spans: Vec<(usize, usize)>,
    rows: Vec<RowEnd>,
}

/// Where one row of [`Rows`] ends in its buffers, and what else is known of it.
#[derive(Debug, Clone, Copy)]
struct RowEnd {
    text: usize,
    spans: usize,
    line: u64,
    too_long: Option<u64>,
    index: u64,
}

impl Rows {
    /// Rows made from their fields' values, each row on its own line (tests).
    #[cfg(test)]
    pub(crate) fn of(rows: &[&[&str]]) -> Rows {
        let mut all = Rows::default();
        for (i, values) in rows.iter().enumerate() {
            let start = all.text.len();
            for value in *values {
                let from = all.text.len() - start;
                all.text.push_str(value);
                all.spans.push((from, all.text.len() - start));
            }
            all.end_row(i as u64 + 1, None, i as u64 + 1);
        }
        all
    }

    /// How many rows.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Row `i` (of those there are).
    pub(crate) fn get(&self, i: usize) -> Row<'_> {
        let end = self.rows[i];
        let (text, spans) = self.start(i);
        Row {
            record: Fields {
                text: &self.text[text..end.text],
                spans: &self.spans[spans..end.spans],
                line: end.line,
            },
            too_long: end.too_long,
            index: end.index,
        }
    }

    /// Every row, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// No rows, the buffers kept (unless a long row grew them past
    /// [`KEPT_BATCH_BYTES`]).
    pub(crate) fn clear(&mut self) {
        if self.text.capacity() > KEPT_BATCH_BYTES {
            self.text = String::new();
        }
        self.text.clear();
        self.spans.clear();
        self.rows.clear();
    }

    /// Ends the row whose text and spans were just added.
    fn end_row(&mut self, line: u64, too_long: Option<u64>, index: u64) {
        self.rows.push(RowEnd {
            text: self.text.len(),
            spans: self.spans.len(),
            line,
            too_long,
            index,
        });
    }

    /// Where row `i` (one there is, or the next to be added) starts in
    /// `text` and `spans`: where the row before it ends.
    fn start(&self, i: usize) -> (usize, usize) {
        i.checked_sub(1).map_or((0, 0), |before| {
            (self.rows[before].text, self.rows[before].spans)
        })
    }

    /// Where the spans of the row being added start.
    fn next_spans_start(&self) -> usize {
        self.start(self.len()).1
    }
}

/// Why a row could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
    /// The underlying stream failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A field is not UTF-8.
    #[error("line {line}, field {field}: invalid UTF-8 at byte {byte} of the field")]
    Utf8 {
        /// The line the row starts on.
        line: u64,
        /// 1-based field number.
        field: usize,
        /// 1-based byte of the field where the invalid sequence starts.
        byte: usize,
    },
}

impl RecordError {
    /// The line of the row, when the error is about a row.
    pub(crate) fn line(&self) -> Option<u64> {
        match self {
            RecordError::Io(_) => None,
            RecordError::Utf8 { line, .. } => Some(*line),
        }
    }
}

/// What the first bytes of a file told us.
pub(crate) struct Peek {
    pub(crate) bom: bool,
    pub(crate) crlf: bool,
    /// A UTF-16 byte order mark: the file is not UTF-8 at all.
    pub(crate) utf16: bool,
}

/// Wraps `read` in a buffer, drops a UTF-8 byte order mark, and notes line endings.
pub(crate) fn skip_bom<R: Read>(read: R) -> (BufReader<R>, Peek) {
    let mut reader = BufReader::with_capacity(256 * 1024, read);
    let mut peek = Peek {
        bom: false,
        crlf: false,
        utf16: false,
    };
    if let Ok(buf) = reader.fill_buf() {
        peek.bom = buf.starts_with(&[0xEF, 0xBB, 0xBF]);
        peek.utf16 = buf.starts_with(&[0xFF, 0xFE]) || buf.starts_with(&[0xFE, 0xFF]);
        if let Some(nl) = buf.iter().position(|b| *b == b'\n') {
            peek.crlf = nl > 0 && buf[nl - 1] == b'\r';
        }
    }
    if peek.bom {
        reader.consume(3);
    }
    (reader, peek)
}
