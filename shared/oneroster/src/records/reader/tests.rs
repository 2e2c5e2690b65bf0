//! The row reader against the `csv` crate, and its buffers and parser reuse.

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
