//! Reading CSV rows with bounded memory, on a second thread.
//!
//! [`RecordReader`] drives `csv_core` with fixed buffers: a row over
//! [`MAX_RECORD_BYTES`] of field content or [`MAX_RECORD_FIELDS`] fields is
//! read to its end through the same buffers and handed over as *too long*,
//! without its fields (but the first bytes of its sourcedId), so a 10 MB
//! field costs no more memory than a short one.
//! [`for_each_record`] reads ahead on a second thread, so that parsing overlaps
//! with validation: the reader thread fills batches of rows and the caller's
//! thread consumes them (see [`crate::pipeline`]).

use crate::pipeline;
use crate::report::{MAX_RECORD_BYTES, MAX_RECORD_FIELDS};
use csv_core::ReadRecordResult;
use std::io::{BufRead, BufReader, Read};

/// Rows per batch handed between the threads.
const BATCH: usize = 2048;
/// Field bytes per batch: a batch of long rows ends early, so the rows in
/// flight stay a few MiB whatever the file holds.
const BATCH_BYTES: usize = 1024 * 1024;
/// Batches in flight: enough to keep both threads busy, small enough to bound memory.
const IN_FLIGHT: usize = 4;

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
    /// `Some(bytes)` when the row held more than [`MAX_RECORD_BYTES`] of field
    /// content or more than [`MAX_RECORD_FIELDS`] fields: its length in the
    /// file. Its fields were read past, not kept.
    pub(crate) too_long: Option<u64>,
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
            all.end_row(i as u64 + 1, None);
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
        }
    }

    /// Every row, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// No rows.
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
        self.rows.clear();
    }

    /// Ends the row whose text and spans were just added.
    fn end_row(&mut self, line: u64, too_long: Option<u64>) {
        self.rows.push(RowEnd {
            text: self.text.len(),
            spans: self.spans.len(),
            line,
            too_long,
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

/// A CSV reader with this crate's settings (RFC 4180 quoting, any line
/// ending, rows of any width: the caller checks widths) and bounded memory.
/// The header is read as the first row, so line numbers stay plain.
pub(crate) struct RecordReader<R> {
    input: R,
    core: csv_core::Reader,
    /// Field content of the row being read; one byte over the limit, so that
    /// filling it means the row is too long.
    fields: Vec<u8>,
    /// Field ends of the row being read; one over the limit, likewise.
    ends: Vec<usize>,
    byte: u64,
    /// Line ends read past outside `core`, which counts only its own.
    lines_outside: u64,
    records: u64,
    done: bool,
    /// The column whose value a too-long row still reports (the sourcedId).
    key: Option<KeyCapture>,
}

/// Where the row just parsed lies in the reader's buffers.
struct Parsed {
    /// Its first byte in the input.
    start: u64,
    /// Field ends kept in the buffers (none past the limits).
    ends: usize,
    /// Fields it had, kept or not.
    fields: usize,
    /// Over [`MAX_RECORD_BYTES`] or [`MAX_RECORD_FIELDS`].
    too_long: bool,
}

/// The first bytes of one column's value, caught as a row streams past: a row
/// too long to keep still says which record it is, so a bulk file's rejected
/// row is never mistaken for an absent one.
struct KeyCapture {
    column: usize,
    /// Bytes kept: enough to tell an id over its limit from one within it.
    limit: usize,
    /// Where the column's content starts and ends in the row's content, once known.
    start: Option<usize>,
    end: Option<usize>,
    value: Vec<u8>,
}

impl KeyCapture {
    fn reset(&mut self) {
        self.start = (self.column == 0).then_some(0);
        self.end = None;
        self.value.clear();
    }

    /// Takes in one read step: `out` is the row's content from offset `base`
    /// on; `ends` are the ends of fields `first_field..`.
    fn observe(&mut self, base: usize, out: &[u8], first_field: usize, ends: &[usize]) {
        for (i, &end) in ends.iter().enumerate() {
            let field = first_field + i;
            if field + 1 == self.column {
                self.start = Some(end);
            } else if field == self.column {
                self.end = Some(end);
            }
        }
        let Some(start) = self.start else { return };
        let from = start.max(base);
        let to = self.end.unwrap_or(usize::MAX).min(base + out.len());
        if from < to && self.value.len() < self.limit {
            let piece = &out[from - base..to - base];
            let room = self.limit - self.value.len();
            self.value
                .extend_from_slice(&piece[..piece.len().min(room)]);
        }
    }
}

impl<R: BufRead> RecordReader<R> {
    /// A reader of `input`.
    pub(crate) fn new(input: R) -> Self {
        let mut core = csv_core::Reader::new();
        // `csv_core` drops a byte order mark at the start of the first input
        // it is given: a blank line first makes that its start, so that a
        // mark is dropped once, by `skip_bom`, and a second one is data.
        let (result, ..) = core.read_record(b"\n", &mut [0], &mut [0]);
        debug_assert_eq!(result, ReadRecordResult::InputEmpty);
        RecordReader {
            input,
            core,
            fields: vec![0; MAX_RECORD_BYTES + 1],
            ends: vec![0; MAX_RECORD_FIELDS + 1],
            byte: 0,
            lines_outside: 0,
            records: 0,
            done: false,
            key: None,
        }
    }

    /// The line the next byte of the input is on.
    fn line(&self) -> u64 {
        // Less the blank line `new` gave the parser.
        self.core.line() - 1 + self.lines_outside
    }

    /// Reads past the line ends before a row (blank lines, and the LF of a
    /// CRLF the parser stopped inside), as the parser would, so that a row's
    /// line is the line it starts on. `Ok(false)` at the end of the input.
    fn skip_line_ends(&mut self) -> std::io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        loop {
            let input = self.input.fill_buf()?;
            if input.is_empty() {
                self.done = true;
                return Ok(false);
            }
            let available = input.len();
            let ends = input
                .iter()
                .position(|b| *b != b'\n' && *b != b'\r')
                .unwrap_or(available);
            self.lines_outside += memchr::memchr_iter(b'\n', &input[..ends]).count() as u64;
            self.input.consume(ends);
            self.byte += ends as u64;
            if ends < available {
                return Ok(true);
            }
        }
    }

    /// Keeps the first `limit` bytes of `column` for rows too long to keep,
    /// which then hold that column alone (the others empty).
    pub(crate) fn keep_key_column(&mut self, column: usize, limit: usize) {
        self.key = Some(KeyCapture {
            column,
            limit,
            start: None,
            end: None,
            value: Vec::new(),
        });
    }

    /// A row has just turned out too long: the key column's bytes so far
    /// are in the kept part of the buffers.
    fn catch_key_up(&mut self, out_len: usize, ends_len: usize) {
        if let Some(key) = &mut self.key {
            key.reset();
            key.observe(0, &self.fields[..out_len], 0, &self.ends[..ends_len]);
        }
    }

    /// Parses the next row into the reader's buffers; `None` at the end of
    /// the input. After an error the reader is not to be used again.
    fn next_row(&mut self) -> std::io::Result<Option<Parsed>> {
        if !self.skip_line_ends()? {
            return Ok(None);
        }
        self.parse_row()
    }

    /// Parses the row the input is at (past its line ends) into the
    /// reader's buffers; `None` if the input ends first.
    fn parse_row(&mut self) -> std::io::Result<Option<Parsed>> {
        let start = self.byte;
        let (mut out_len, mut ends_len) = (0, 0);
        // Content bytes and field ends seen, kept or not.
        let (mut content, mut fields) = (0, 0);
        let mut too_long = false;
        loop {
            let input = self.input.fill_buf()?;
            let (result, n_in, n_out, n_ends) = if too_long {
                // Past the limit: read on to the row's end through the same
                // buffers, keeping nothing but the key column's first bytes.
                self.core
                    .read_record(input, &mut self.fields, &mut self.ends)
            } else {
                self.core.read_record(
                    input,
                    &mut self.fields[out_len..],
                    &mut self.ends[ends_len..],
                )
            };
            self.input.consume(n_in);
            self.byte += n_in as u64;
            if too_long {
                if let Some(key) = &mut self.key {
                    key.observe(content, &self.fields[..n_out], fields, &self.ends[..n_ends]);
                }
            } else {
                out_len += n_out;
                ends_len += n_ends;
            }
            content += n_out;
            fields += n_ends;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull | ReadRecordResult::OutputEndsFull => {
                    if !too_long {
                        self.catch_key_up(out_len, ends_len);
                        too_long = true;
                    }
                }
                ReadRecordResult::Record => break,
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
        // The buffers hold one past each limit: a row that just fills one is over it.
        if !too_long && (out_len > MAX_RECORD_BYTES || ends_len > MAX_RECORD_FIELDS) {
            self.catch_key_up(out_len, ends_len);
            too_long = true;
        }
        self.records += 1;
        Ok(Some(Parsed {
            start,
            ends: ends_len,
            fields,
            too_long,
        }))
    }

    /// Reads past the next row without making a record of it (no copy, no
    /// UTF-8 check); `Ok(false)` at the end of the input.
    pub(crate) fn skip(&mut self) -> std::io::Result<bool> {
        Ok(self.next_row()?.is_some())
    }

    /// Adds the next row to `rows`; `Ok(false)` at the end of the input.
    /// After an error the reader is not to be used again.
    pub(crate) fn read(&mut self, rows: &mut Rows) -> Result<bool, RecordError> {
        if !self.skip_line_ends()? {
            return Ok(false);
        }
        let line = self.line();
        let Some(Parsed {
            start,
            ends: ends_len,
            fields,
            too_long,
        }) = self.parse_row()?
        else {
            return Ok(false);
        };
        let spans_start = rows.next_spans_start();
        if too_long {
            if let Some(key) = &self.key {
                rows.spans
                    .resize(spans_start + key.column.min(fields), (0, 0));
                if key.column < fields {
                    // Cut at the limit, the value may end inside a character.
                    let value = String::from_utf8_lossy(&key.value);
                    rows.text.push_str(&value);
                    rows.spans.push((0, value.len()));
                }
            }
            rows.end_row(line, Some(self.byte - start));
        } else {
            let ends = &self.ends[..ends_len];
            let text = &self.fields[..ends.last().copied().unwrap_or(0)];
            let mut from = 0;
            rows.spans.extend(ends.iter().map(|end| {
                let span = (from, *end);
                from = span.1;
                span
            }));
            let text = std::str::from_utf8(text)
                .map_err(|e| utf8_error(line, &mut rows.spans, spans_start, e));
            rows.text.push_str(text?);
            rows.end_row(line, None);
        }
        Ok(true)
    }
}

/// The error for a row on `line` whose text is not UTF-8, naming the field
/// the invalid byte is in (not a quote or comma: it is in a field, by the
/// row's spans from `spans_start` on, which are then dropped) and the byte.
fn utf8_error(
    line: u64,
    spans: &mut Vec<(usize, usize)>,
    spans_start: usize,
    e: std::str::Utf8Error,
) -> RecordError {
    let at = e.valid_up_to();
    let row = &spans[spans_start..];
    let field = row.partition_point(|(_, end)| *end <= at);
    let start = row.get(field).map_or(0, |(start, _)| *start);
    spans.truncate(spans_start);
    RecordError::Utf8 {
        line,
        field: field + 1,
        byte: at.saturating_sub(start) + 1,
    }
}

/// Opens a [`RecordReader`] on a buffered stream (see [`skip_bom`]).
pub(crate) fn csv_reader<R: BufRead>(input: R) -> RecordReader<R> {
    RecordReader::new(input)
}

/// One batch of rows on its way from the reader thread, or the error that
/// stopped the reading (after the rows before it).
type Batch = Result<Rows, RecordError>;

/// Reads `reader` to its end (or first error) in batches of up to [`BATCH`]
/// rows or [`BATCH_BYTES`] of field content, sending each to `feed`; ends
/// early when the consumer stops.
fn read_batches<R: BufRead>(reader: &mut RecordReader<R>, feed: &mut pipeline::Feed<Batch>) {
    loop {
        let mut rows = Rows::default();
        let mut error = None;
        let mut done = false;
        while rows.len() < BATCH && rows.text.len() < BATCH_BYTES {
            match reader.read(&mut rows) {
                Ok(true) => {}
                Ok(false) => done = true,
                Err(e) => error = Some(e),
            }
            if done || error.is_some() {
                break;
            }
        }
        if !feed.send(Ok(rows)) {
            return;
        }
        if let Some(e) = error {
            feed.send(Err(e));
            return;
        }
        if done {
            return;
        }
    }
}

/// Hands every row of `reader` to `consume`, in order, reading ahead on a
/// second thread. Stops at the first read error and returns it; `consume` may
/// stop early by returning `false`.
pub(crate) fn for_each_record<R: BufRead + Send>(
    reader: &mut RecordReader<R>,
    mut consume: impl FnMut(&Row<'_>) -> bool,
) -> Result<(), RecordError> {
    pipeline::run(
        IN_FLIGHT,
        |feed| read_batches(reader, feed),
        |batches| {
            for rows in batches {
                if !rows?.iter().all(|row| consume(&row)) {
                    break;
                }
            }
            Ok(())
        },
    )
}

/// Most preparing threads [`preparing_threads`] gives.
const MAX_PREPARING_THREADS: usize = 4;

/// How many preparing threads to run: one per core, at most four.
pub(crate) fn preparing_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_PREPARING_THREADS)
}

/// Like [`for_each_record`], with preparing threads between the two: the
/// reader thread parses rows, `workers` preparing threads run `prepare` on
/// them (a batch each in turn, each row into a new `T`), and the caller's
/// thread hands each row with its `T` to `consume`, in file order.
/// Each preparing thread has a `W` of its own, made when it starts, for what
/// `prepare` remembers from row to row within this file. For consumers
/// whose per-row work is mostly a pure function of the row: that part runs
/// beside their own, on as many cores as there are (see [`preparing_threads`]).
pub(crate) fn for_each_record_prepared<R, T, W>(
    reader: &mut RecordReader<R>,
    workers: usize,
    prepare: impl Fn(&Row<'_>, &mut T, &mut W) + Sync,
    mut consume: impl FnMut(&Row<'_>, &mut T) -> bool,
) -> Result<(), RecordError>
where
    R: BufRead + Send,
    T: Default + Send,
    W: Default,
{
    pipeline::run_mapped(
        IN_FLIGHT,
        workers,
        |feed| read_batches(reader, feed),
        |batch: Batch, scratch: &mut W| {
            batch.map(|rows| {
                let prepared: Vec<T> = rows
                    .iter()
                    .map(|row| {
                        let mut value = T::default();
                        prepare(&row, &mut value, scratch);
                        value
                    })
                    .collect();
                (rows, prepared)
            })
        },
        |batches| {
            for batch in batches {
                let (rows, mut prepared) = batch?;
                for (row, value) in rows.iter().zip(&mut prepared) {
                    if !consume(&row, value) {
                        return Ok(());
                    }
                }
            }
            Ok(())
        },
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_arrives_in_order_with_its_line() {
        let text: String = (0..10_000).map(|i| format!("{i},x\n")).collect();
        let mut reader = csv_reader(text.as_bytes());
        let mut seen = Vec::new();
        for_each_record(&mut reader, |r| {
            seen.push((r.record[0].parse::<u32>().unwrap(), r.line()));
            true
        })
        .unwrap();
        assert_eq!(seen.len(), 10_000);
        assert!(seen
            .iter()
            .enumerate()
            .all(|(i, (v, line))| *v == i as u32 && *line == i as u64 + 1));
    }

    #[test]
    fn the_consumer_can_stop_early_and_errors_surface() {
        let text: String = (0..10_000).map(|i| format!("{i}\n")).collect();
        let mut n = 0;
        for_each_record(&mut csv_reader(text.as_bytes()), |_| {
            n += 1;
            n < 3
        })
        .unwrap();
        assert_eq!(n, 3);

        let bad = b"a\nb\n\xff\n".to_vec();
        let mut rows = 0;
        let err = for_each_record(&mut csv_reader(&bad[..]), |_| {
            rows += 1;
            true
        })
        .unwrap_err();
        assert!(
            matches!(
                err,
                RecordError::Utf8 {
                    line: 3,
                    field: 1,
                    byte: 1
                }
            ),
            "{err:?}"
        );
        assert_eq!(rows, 2);
    }

    #[test]
    fn prepared_rows_arrive_in_order_with_what_was_made_of_them() {
        for workers in [1, 2, 3] {
            prepared_rows_arrive_in_order(workers);
        }
    }

    fn prepared_rows_arrive_in_order(workers: usize) {
        let text: String = (0..10_000).map(|i| format!("{i},x\n")).collect();
        let mut seen = Vec::new();
        for_each_record_prepared(
            &mut csv_reader(text.as_bytes()),
            workers,
            |row, doubled: &mut u64, rows_here: &mut u64| {
                *rows_here += 1;
                // Each thread counts its own rows: a batch at a time in turn.
                assert!(*rows_here <= (10_000 / workers as u64 / BATCH as u64 + 1) * BATCH as u64);
                *doubled = row.record[0].parse::<u64>().unwrap() * 2
            },
            |row, doubled| {
                seen.push((row.line(), *doubled));
                true
            },
        )
        .unwrap();
        assert_eq!(seen.len(), 10_000);
        assert!(seen
            .iter()
            .enumerate()
            .all(|(i, (line, doubled))| *line == i as u64 + 1 && *doubled == 2 * i as u64));

        // The consumer stops early; the other threads end.
        let mut n = 0;
        for_each_record_prepared(
            &mut csv_reader(text.as_bytes()),
            workers,
            |_, _: &mut (), _: &mut ()| {},
            |_, _| {
                n += 1;
                n < 3
            },
        )
        .unwrap();
        assert_eq!(n, 3);

        // A read error arrives after the rows before it.
        let bad = b"a\nb\n\xff\n".to_vec();
        let mut rows = Vec::new();
        let err = for_each_record_prepared(
            &mut csv_reader(&bad[..]),
            workers,
            |row, first: &mut String, _: &mut ()| *first = row.record[0].to_string(),
            |_, first| {
                rows.push(first.clone());
                true
            },
        )
        .unwrap_err();
        assert!(matches!(err, RecordError::Utf8 { line: 3, .. }), "{err:?}");
        assert_eq!(rows, ["a", "b"]);
    }

    #[test]
    fn invalid_utf8_is_placed_by_field_and_byte() {
        // In a quoted field and in an unquoted one.
        for text in [
            &b"h1,h2,h3\nok,\"x\xffy\",z\n"[..],
            &b"h1,h2,h3\nok,x\xffy,z\n"[..],
        ] {
            let mut reader = csv_reader(text);
            let mut rows = Rows::default();
            assert!(reader.read(&mut rows).unwrap());
            assert_eq!(
                rows.get(0).record,
                Rows::of(&[&["h1", "h2", "h3"]]).get(0).record
            );
            let err = reader.read(&mut rows).unwrap_err();
            // Nothing of the bad row stays in the batch (the header's
            // fields, one after another, are all its text).
            assert_eq!(
                (rows.len(), rows.spans.len(), rows.text.len()),
                (1, 3, "h1h2h3".len())
            );
            assert!(
                matches!(
                    err,
                    RecordError::Utf8 {
                        line: 2,
                        field: 2,
                        byte: 2
                    }
                ),
                "{err:?}"
            );
        }
    }

    #[test]
    fn a_plain_line_is_read_as_a_quoted_one_is_up_to_the_limits() {
        let most = ",".repeat(MAX_RECORD_FIELDS - 1);
        let one_more = ",".repeat(MAX_RECORD_FIELDS);
        let text = format!("id{most}\n\"id\"{most}\nid{one_more}\n");
        let rows = rows_of(text.as_bytes());
        assert_eq!(rows.len(), 3);
        let fields = |i: usize| rows[i].1.as_ref().map(|f| f.len());
        assert_eq!(fields(0), Ok(MAX_RECORD_FIELDS));
        assert_eq!(rows[0].1, rows[1].1, "a plain line and a quoted one");
        assert_eq!((rows[0].0, rows[1].0, rows[2].0), (1, 2, 3));
        assert_eq!(fields(2), Err(&(one_more.len() as u64 + 3)));
    }

    /// Every row of `text`, as (line, fields) or (line, too long by bytes).
    fn rows_of(text: &[u8]) -> Vec<(u64, Result<Vec<String>, u64>)> {
        rows_of_input(text)
    }

    /// Every row read from `input`, as [`rows_of`] gives them.
    fn rows_of_input(input: impl BufRead) -> Vec<(u64, Result<Vec<String>, u64>)> {
        let mut reader = csv_reader(input);
        let mut batch = Rows::default();
        let mut rows = Vec::new();
        while reader.read(&mut batch).unwrap() {
            let row = batch.get(batch.len() - 1);
            let fields = match row.too_long {
                Some(bytes) => Err(bytes),
                None => Ok(row.record.iter().map(String::from).collect()),
            };
            rows.push((row.line(), fields));
        }
        rows
    }

    #[test]
    fn rows_read_as_the_csv_crate_reads_them() {
        let text = b"a,b,c\r\n\"quoted, with comma\",\"two\nlines\",\"a \"\"quote\"\"\"\n\n,,\nx,\"\",z\r\n\"\"\"\"\nlast,row";
        let expected = csv_crate_rows(text);
        assert_eq!(expected.len(), 6);
        assert_eq!(expected[1].0, 2, "the line after a CRLF");
        assert_eq!(expected[2].0, 5, "the line after a blank line");
        assert_eq!(rows_of(text), expected);
    }

    /// The rows the `csv` crate reads in `text`, as [`rows_of`] gives them,
    /// each with the line it starts on. (The crate's own line is where it
    /// began to read for the row: before the blank lines and the LF of a
    /// CRLF in front of it, one line early in a CRLF file.)
    fn csv_crate_rows(text: &[u8]) -> Vec<(u64, Result<Vec<String>, u64>)> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text);
        let mut rows = Vec::new();
        for record in csv.byte_records() {
            let record = record.unwrap();
            let from = record.position().unwrap().byte() as usize;
            let start = from
                + text[from..]
                    .iter()
                    .take_while(|b| **b == b'\n' || **b == b'\r')
                    .count();
            let line = 1 + text[..start].iter().filter(|b| **b == b'\n').count() as u64;
            let fields = record
                .iter()
                .map(|f| String::from_utf8(f.to_vec()).unwrap())
                .collect();
            rows.push((line, Ok(fields)));
        }
        rows
    }

    /// Random texts, each cut into buffers of random sizes: every row, its
    /// fields and its line are the `csv` crate's. Half the texts are noise
    /// (commas, quotes, line ends, blank lines, non-ASCII letters in any
    /// order); half are rows of well-formed fields, quoted or not, with
    /// commas, quotes and line ends inside the quoted ones now and then.
    #[test]
    fn random_texts_read_as_the_csv_crate_reads_them() {
        use rand::{Rng, SeedableRng};
        const NOISE: [&str; 10] = ["a", "bc", ",", ",", "\"", "\r", "\n", "\r\n", "é", "\"\""];
        const UNQUOTED: [&str; 4] = ["", "a", "bc", "é"];
        const QUOTED: [&str; 8] = ["", "a", "b c", "é", ",", "\r", "\n", "\"\""];
        const LINE_ENDS: [&str; 5] = ["\n", "\n", "\r\n", "\r", "\n\n"];
        let mut rng = rand::rngs::StdRng::seed_from_u64(16);
        let mut pick = |from: &[&'static str]| from[rng.gen_range(0..from.len())];
        let mut texts = Vec::new();
        for _ in 0..3_000 {
            let noise: String = (0..pick(&["0", "1", "9", "59"]).parse::<usize>().unwrap())
                .map(|_| pick(&NOISE))
                .collect();
            let mut rows = String::new();
            for _ in 0..pick(&["1", "2", "5"]).parse::<usize>().unwrap() {
                for field in 0..pick(&["1", "2", "4"]).parse::<usize>().unwrap() {
                    if field > 0 {
                        rows.push(',');
                    }
                    if pick(&["quoted", "plain"]) == "quoted" {
                        rows.push('"');
                        for _ in 0..pick(&["0", "1", "3"]).parse::<usize>().unwrap() {
                            rows.push_str(pick(&QUOTED));
                        }
                        rows.push('"');
                    } else {
                        rows.push_str(pick(&UNQUOTED));
                    }
                }
                rows.push_str(pick(&LINE_ENDS));
            }
            texts.push(noise);
            texts.push(rows);
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        for (case, text) in texts.iter().enumerate() {
            let expected = csv_crate_rows(text.as_bytes());
            // Small buffers cut rows, large ones hold them whole.
            let capacity = rng.gen_range(1..80);
            let input = std::io::BufReader::with_capacity(capacity, text.as_bytes());
            assert_eq!(rows_of_input(input), expected, "case {case}: {text:?}");
        }
    }

    #[test]
    fn a_row_over_the_limits_is_read_past_in_fixed_buffers() {
        let huge = "g".repeat(10 * 1024 * 1024);
        let commas = ",".repeat(MAX_RECORD_FIELDS);
        let at_limit = "n".repeat(MAX_RECORD_BYTES);
        let over_limit = "n".repeat(MAX_RECORD_BYTES + 1);
        let text = format!(
            "h1,h2\nbefore,1\nx,\"{huge}\"\ncommas{commas}\n{at_limit}\n\"{over_limit}\"\nafter,\"2\n2\"\nend,3\n{over_limit}"
        );
        let mut reader = csv_reader(text.as_bytes());
        let mut rows = Rows::default();
        let mut seen = Vec::new();
        while reader.read(&mut rows).unwrap() {
            let row = rows.get(0);
            seen.push((row.line(), row.too_long, row.record.len()));
            // Neither the reader's buffers nor the row grew with the long rows.
            assert_eq!(reader.fields.capacity(), MAX_RECORD_BYTES + 1);
            assert_eq!(reader.ends.capacity(), MAX_RECORD_FIELDS + 1);
            assert!(rows.text.len() <= MAX_RECORD_BYTES, "{}", rows.text.len());
            rows.clear();
        }
        let huge_row = (huge.len() + "x,\"\"\n".len()) as u64;
        let commas_row = (commas.len() + "commas\n".len()) as u64;
        let over_row = (over_limit.len() + 3) as u64;
        assert_eq!(
            seen,
            [
                (1, None, 2),
                (2, None, 2),
                (3, Some(huge_row), 0),
                (4, Some(commas_row), 0),
                (5, None, 1),
                (6, Some(over_row), 0),
                (7, None, 2),
                (9, None, 2),
                (10, Some(over_limit.len() as u64), 0),
            ]
        );
    }

    #[test]
    fn a_row_too_long_to_keep_still_gives_its_key_column() {
        let huge = "g".repeat(300_000);
        let long_id = "i".repeat(1000);
        let text = format!(
            "name,id,x\n\"{huge}\",u1,x\nshort,u2,x\n{huge},{long_id},x\na,\"u3\",\"{huge}\"\nend,\"{huge}"
        );
        let mut reader = csv_reader(text.as_bytes());
        reader.keep_key_column(1, 257);
        let mut rows = Rows::default();
        let mut seen = Vec::new();
        while reader.read(&mut rows).unwrap() {
            let row = rows.get(rows.len() - 1);
            let fields: Vec<String> = row.record.iter().map(String::from).collect();
            seen.push((row.too_long.is_some(), fields));
        }
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            seen,
            [
                (false, strings(&["name", "id", "x"])),
                (true, strings(&["", "u1"])),
                (false, strings(&["short", "u2", "x"])),
                (true, strings(&["", &long_id[..257]])),
                (true, strings(&["", "u3"])),
                (true, strings(&["", &huge[..257]])),
            ]
        );
    }

    #[test]
    fn rows_in_batches_cut_by_size_arrive_in_order() {
        // 64 rows of 60 KiB: one batch would hold 3.8 MB; batches end near 1 MiB.
        let long = "v".repeat(60 * 1024);
        let text: String = (0..64).map(|i| format!("{i},{long}\n")).collect();
        let mut lines = Vec::new();
        for_each_record(&mut csv_reader(text.as_bytes()), |row| {
            assert_eq!(row.too_long, None);
            lines.push(row.line());
            true
        })
        .unwrap();
        assert_eq!(lines, (1..=64).collect::<Vec<u64>>());
    }
}
