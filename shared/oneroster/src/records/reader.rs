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
mod tests {
    use super::*;

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
    fn a_character_cut_by_a_field_boundary_is_invalid_utf8() {
        // `E7 80 80` is one character; a comma (or a quote and a comma)
        // between its bytes makes two fields that are neither UTF-8.
        let cases: [(&[u8], usize, usize); 5] = [
            (b"\xe7,\x80\x80", 1, 1),
            (b"\xe7,\x80\x80\n", 1, 1),
            (b"ok,\"a\xe7\",\x80\x80\r\n", 2, 2),
            (b"ok,x\xe7\x80,\x80", 2, 2),
            (b"ok,x,\x80\x80", 3, 1),
        ];
        for (text, field, byte) in cases {
            let mut reader = csv_reader(text);
            let mut rows = Rows::default();
            let err = reader.read(&mut rows).unwrap_err();
            assert!(
                matches!(err, RecordError::Utf8 { line: 1, field: f, byte: b } if (f, b) == (field, byte)),
                "{text:?}: {err:?}"
            );
            assert_eq!((rows.len(), rows.spans.len(), rows.text.len()), (0, 0, 0));
        }
    }

    #[test]
    fn fields_utf8_accepts_valid_fields_and_places_the_first_invalid_one() {
        let text = "aé漢".as_bytes();
        assert_eq!(fields_utf8(text, &[(0, 1), (1, 3), (3, 6)]), Ok("aé漢"));
        assert_eq!(fields_utf8(text, &[(0, 2), (2, 6)]), Err((1, 2)));
        assert_eq!(fields_utf8(text, &[(0, 3), (3, 4), (4, 6)]), Err((2, 1)));
        assert_eq!(fields_utf8(b"", &[]), Ok(""));
        assert_eq!(fields_utf8(b"", &[(0, 0)]), Ok(""));
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
            // Neither the reader's buffers nor the row grew past the limits.
            assert!(reader.fields.capacity() <= MAX_RECORD_BYTES + 1);
            assert!(reader.ends.capacity() <= MAX_RECORD_FIELDS + 1);
            assert!(rows.text.len() <= MAX_RECORD_BYTES, "{}", rows.text.len());
            rows.clear();
        }
        // They grew to the limits, no further.
        assert_eq!(reader.fields.capacity(), MAX_RECORD_BYTES + 1);
        assert_eq!(reader.ends.capacity(), MAX_RECORD_FIELDS + 1);
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

    /// A reader uses the parser the one before it left, reset: a row cut
    /// off by the end of one file, its quote open, is nothing to the next.
    #[test]
    fn a_reader_reads_as_a_new_one_whatever_the_one_before_it_left() {
        let first = b"\xEF\xBB\xBFa,\"open\nquote";
        let second = b"\xEF\xBB\xBFb,c\nd,e\n";
        let mut reader = csv_reader(&first[..]);
        let mut rows = Rows::default();
        while reader.read(&mut rows).unwrap() {}
        drop(reader);
        assert!(SPARE_PARSER.with(|spare| {
            let core = spare.take();
            let kept = core.is_some();
            spare.set(core);
            kept
        }));
        // A second byte order mark is data, as in a new reader.
        let expected = rows_of_input(std::io::BufReader::new(&second[..]));
        SPARE_PARSER.with(|spare| spare.take());
        assert_eq!(rows_of(second), expected);
        assert_eq!(
            expected[0].1,
            Ok(vec!["\u{feff}b".to_string(), "c".to_string()])
        );
        assert_eq!(expected[1], (2, Ok(vec!["d".to_string(), "e".to_string()])));
    }

    #[test]
    fn a_small_file_is_read_with_small_buffers() {
        let mut reader = csv_reader(&b"sourcedId,status\ns1,active\n"[..]);
        let mut rows = Rows::default();
        while reader.read(&mut rows).unwrap() {}
        assert_eq!(rows.len(), 2);
        assert_eq!(reader.fields.capacity(), FIRST_FIELD_BYTES);
        assert_eq!(reader.ends.capacity(), FIRST_FIELD_ENDS);
    }

    /// Rows ever longer and wider, past the reader's first buffers, cut
    /// anywhere by the input's buffer: read as the `csv` crate reads them.
    #[test]
    fn rows_past_the_first_buffers_read_as_the_csv_crate_reads_them() {
        let mut text = String::new();
        for i in 0..40 {
            let long = "l".repeat(i * 997);
            let wide = ",w".repeat(i * 31);
            text.push_str(&format!("{i},{long}{wide}\n\"q{long}\",x{wide}\r\n"));
        }
        let expected = csv_crate_rows(text.as_bytes());
        assert_eq!(expected.len(), 80);
        assert!(text.lines().any(|l| l.len() > 8 * FIRST_FIELD_BYTES));
        for capacity in [1, 7, 4096, 1 << 20] {
            let input = std::io::BufReader::with_capacity(capacity, text.as_bytes());
            assert_eq!(
                rows_of_input(input),
                expected,
                "read {capacity} bytes at a time"
            );
        }
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
}
