//! The CSV row reader on arbitrary bytes, against the `csv` crate: the first
//! byte picks the read buffer's size (so rows are cut at every place; 0:
//! validation's own buffer and reading thread), the rest is the file. Every row is read once, in order, with the `csv`
//! crate's fields and the line it starts on; a row over the limits is handed
//! over as too long; the first row with a field that is not UTF-8 ends the
//! reading with that field and byte named; nothing else fails.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oneroster::fuzzing::{read_rows, ReadEnd, ReadRow};
use oneroster::report::{MAX_RECORD_BYTES, MAX_RECORD_FIELDS};

fuzz_target!(|data: &[u8]| {
    let Some((&size, input)) = data.split_first() else {
        return;
    };
    // 0: as validation reads, on a reading thread through 256 KiB; else
    // row by row through that many bytes.
    let (rows, end) = match size {
        0 => read_rows(input, 256 * 1024, true),
        size => read_rows(input, size as usize, false),
    };
    let mut read = rows.iter();
    for (line, fields) in csv_crate_rows(input) {
        let too_long = fields.iter().map(Vec::len).sum::<usize>() > MAX_RECORD_BYTES
            || fields.len() > MAX_RECORD_FIELDS;
        if !too_long {
            if let Some((field, byte)) = first_invalid(&fields) {
                assert_eq!(read.next(), None, "line {line}: a row past the invalid one");
                assert_eq!(end, ReadEnd::Utf8 { line, field, byte });
                return;
            }
        }
        let row = read
            .next()
            .unwrap_or_else(|| panic!("line {line}: row missing"));
        let expected = ReadRow {
            line,
            fields: match too_long {
                true => Vec::new(),
                false => fields
                    .into_iter()
                    .map(|f| String::from_utf8(f).unwrap())
                    .collect(),
            },
            too_long: row.too_long.filter(|_| too_long),
        };
        assert_eq!(row, &expected);
        assert_eq!(row.too_long.is_some(), too_long, "line {line}: too long");
    }
    assert_eq!(read.next(), None, "a row the csv crate does not read");
    assert_eq!(end, ReadEnd::Done);
});

/// The rows the `csv` crate reads in `text` (any width, no header), each
/// with the line it starts on: the crate's position is where it began to
/// read for the row, before the blank lines and line ends in front of it.
fn csv_crate_rows(text: &[u8]) -> Vec<(u64, Vec<Vec<u8>>)> {
    let body = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let offset = text.len() - body.len();
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut rows = Vec::new();
    // Lines counted up to where the last row started (rows come in order).
    let (mut counted, mut line) = (0, 1);
    for record in csv.byte_records() {
        let record = record.expect("reading a slice does not fail");
        let from = (record.position().unwrap().byte() as usize).max(offset);
        let start = from
            + text[from..]
                .iter()
                .take_while(|b| **b == b'\n' || **b == b'\r')
                .count();
        line += text[counted..start].iter().filter(|b| **b == b'\n').count() as u64;
        counted = start;
        rows.push((line, record.iter().map(<[u8]>::to_vec).collect()));
    }
    rows
}

/// The first field that is not UTF-8 (1-based) and the 1-based byte in it
/// where the invalid sequence starts.
fn first_invalid(fields: &[Vec<u8>]) -> Option<(usize, usize)> {
    fields.iter().enumerate().find_map(|(i, field)| {
        std::str::from_utf8(field)
            .err()
            .map(|e| (i + 1, e.valid_up_to() + 1))
    })
}
