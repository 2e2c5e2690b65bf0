//! Reading CSV records on a second thread, so that parsing overlaps with
//! validation: the reader thread fills batches of records, the caller's
//! thread consumes them, and emptied batches go back to be refilled (no
//! allocation per record once the batches are warm).

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;

/// Records per batch handed between the threads.
const BATCH: usize = 2048;
/// Batches in flight: enough to keep both threads busy, small enough to bound memory.
const IN_FLIGHT: usize = 4;

/// Opens a CSV reader with this crate's settings: no header handling (the
/// caller reads the header as the first record, so line numbers stay plain),
/// rows of any width (checked by the caller), a large buffer.
pub(crate) fn csv_reader<R: Read>(read: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_reader(read)
}

/// Hands every record of `reader` to `consume`, in order, reading ahead on a
/// second thread. Stops at the first CSV error and returns it; `consume` may
/// stop early by returning `false`.
pub(crate) fn for_each_record<R: Read + Send>(
    reader: &mut csv::Reader<R>,
    mut consume: impl FnMut(&csv::StringRecord) -> bool,
) -> Result<(), csv::Error> {
    let (full_tx, full_rx) =
        mpsc::sync_channel::<Result<Vec<csv::StringRecord>, csv::Error>>(IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<csv::StringRecord>>();
    for _ in 0..IN_FLIGHT {
        let _ = empty_tx.send(vec![csv::StringRecord::new(); BATCH]);
    }
    std::thread::scope(|scope| {
        scope.spawn(move || {
            // Ends when the consumer hangs up (empty_rx fails) or input ends.
            while let Ok(mut batch) = empty_rx.recv() {
                let mut filled = 0;
                while filled < batch.len() {
                    match reader.read_record(&mut batch[filled]) {
                        Ok(true) => filled += 1,
                        Ok(false) => break,
                        Err(e) => {
                            // The records before the error still count.
                            batch.truncate(filled);
                            let _ = full_tx.send(Ok(batch));
                            let _ = full_tx.send(Err(e));
                            return;
                        }
                    }
                }
                let done = filled < batch.len();
                batch.truncate(filled);
                if full_tx.send(Ok(batch)).is_err() || done {
                    return;
                }
            }
        });
        let mut result = Ok(());
        'batches: for message in full_rx.iter() {
            match message {
                Ok(mut batch) => {
                    for record in &batch {
                        if !consume(record) {
                            break 'batches;
                        }
                    }
                    // A record that held a long row keeps its capacity:
                    // drop it rather than recycle it.
                    for record in batch.iter_mut() {
                        if record.as_byte_record().as_slice().len()
                            > crate::report::MAX_RECORD_BYTES
                        {
                            *record = csv::StringRecord::new();
                        }
                    }
                    batch.resize(BATCH, csv::StringRecord::new());
                    let _ = empty_tx.send(batch);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        // Dropping the receivers lets a reader still running finish.
        drop(full_rx);
        drop(empty_tx);
        result
    })
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
            seen.push((r[0].parse::<u32>().unwrap(), r.position().unwrap().line()));
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
        assert!(matches!(err.kind(), csv::ErrorKind::Utf8 { .. }));
        assert_eq!(rows, 2);
    }
}
