//! [`RecordReader`]: `csv_core` driven with fixed buffers, a row at a time.

use super::{RecordError, Rows};
use crate::report::{MAX_RECORD_BYTES, MAX_RECORD_FIELDS};
use csv_core::ReadRecordResult;
use std::cell::Cell;
use std::io::BufRead;

/// Field content a reader holds room for at first; it grows, up to one byte
/// over [`MAX_RECORD_BYTES`], as longer rows come, so that a small file does
/// not allocate (and zero) buffers sized for the longest row allowed.
const FIRST_FIELD_BYTES: usize = 4 * 1024;
/// Field ends a reader holds room for at first; likewise up to one over
/// [`MAX_RECORD_FIELDS`].
const FIRST_FIELD_ENDS: usize = 256;

thread_local! {
    /// The parser of the last reader dropped on this thread, kept for the
    /// next reader to reset and use: building a parser's transition table
    /// costs more than reading a small file does.
    static SPARE_PARSER: Cell<Option<csv_core::Reader>> = const { Cell::new(None) };
}

/// A parser with this crate's settings, as if new: the spare one of this
/// thread, reset, or a new one.
fn parser() -> csv_core::Reader {
    match SPARE_PARSER.try_with(Cell::take).ok().flatten() {
        Some(mut core) => {
            core.reset();
            core
        }
        None => csv_core::Reader::new(),
    }
}

/// A CSV reader with this crate's settings (RFC 4180 quoting, any line
/// ending, rows of any width: the caller checks widths) and bounded memory.
/// The header is read as the first row, so line numbers stay plain.
pub(crate) struct RecordReader<R> {
    input: R,
    core: csv_core::Reader,
    /// Field content of the row being read; grown as rows need, up to one
    /// byte over the limit, so that filling it means the row is too long.
    fields: Vec<u8>,
    /// Field ends of the row being read; grown up to one over the limit, likewise.
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
        let mut core = parser();
        // `csv_core` drops a byte order mark at the start of the first input
        // it is given: a blank line first makes that its start, so that a
        // mark is dropped once, by `skip_bom`, and a second one is data.
        let (result, ..) = core.read_record(b"\n", &mut [0], &mut [0]);
        debug_assert_eq!(result, ReadRecordResult::InputEmpty);
        RecordReader {
            input,
            core,
            fields: vec![0; FIRST_FIELD_BYTES],
            ends: vec![0; FIRST_FIELD_ENDS],
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
                ReadRecordResult::OutputFull
                    if !too_long && grow(&mut self.fields, MAX_RECORD_BYTES + 1) => {}
                ReadRecordResult::OutputEndsFull
                    if !too_long && grow(&mut self.ends, MAX_RECORD_FIELDS + 1) => {}
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
            rows.end_row(line, Some(self.byte - start), self.records);
        } else {
            let ends = &self.ends[..ends_len];
            let text = &self.fields[..ends.last().copied().unwrap_or(0)];
            let mut from = 0;
            rows.spans.extend(ends.iter().map(|end| {
                let span = (from, *end);
                from = span.1;
                span
            }));
            match fields_utf8(text, &rows.spans[spans_start..]) {
                Ok(text) => rows.text.push_str(text),
                Err((field, byte)) => {
                    rows.spans.truncate(spans_start);
                    return Err(RecordError::Utf8 { line, field, byte });
                }
            }
            rows.end_row(line, None, self.records);
        }
        Ok(true)
    }
}

impl<R> Drop for RecordReader<R> {
    /// Leaves the parser to the next reader made on this thread.
    fn drop(&mut self) {
        let core = std::mem::take(&mut self.core);
        let _ = SPARE_PARSER.try_with(|spare| spare.set(Some(core)));
    }
}

/// Doubles `buffer`, up to `most` items (and no more capacity); `false`
/// when it already holds that many.
fn grow<T: Copy + Default>(buffer: &mut Vec<T>, most: usize) -> bool {
    let len = (buffer.len() * 2).min(most);
    if len <= buffer.len() {
        return false;
    }
    buffer.reserve_exact(len - buffer.len());
    buffer.resize(len, T::default());
    true
}

/// `text`, the row's fields one after another at `spans`, as a `str` when
/// each field is UTF-8 on its own. Checking the text as a whole is not
/// enough: a character cut by a field boundary (`E7` `,` `80 80`) is whole
/// once the separator is gone. Otherwise the first field that is not UTF-8
/// (1-based) and the 1-based byte of it where the invalid sequence starts.
fn fields_utf8<'t>(text: &'t [u8], spans: &[(usize, usize)]) -> Result<&'t str, (usize, usize)> {
    if let Ok(text) = std::str::from_utf8(text) {
        if spans.iter().all(|(_, end)| text.is_char_boundary(*end)) {
            return Ok(text);
        }
    }
    for (i, (start, end)) in spans.iter().enumerate() {
        if let Err(e) = std::str::from_utf8(&text[*start..*end]) {
            return Err((i + 1, e.valid_up_to() + 1));
        }
    }
    // Every field is UTF-8, so their concatenation is: not reached.
    std::str::from_utf8(text).map_err(|e| (1, e.valid_up_to() + 1))
}

/// Opens a [`RecordReader`] on a buffered stream (see [`super::skip_bom`]).
pub(crate) fn csv_reader<R: BufRead>(input: R) -> RecordReader<R> {
    RecordReader::new(input)
}

#[cfg(test)]
mod tests;
