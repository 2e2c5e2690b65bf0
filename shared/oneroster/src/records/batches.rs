//! Rows read ahead on a second thread, in batches that circulate, and
//! optionally prepared on more threads (see [`crate::pipeline`]).

use super::{RecordError, RecordReader, Row, Rows};
use crate::pipeline;
use std::io::BufRead;

/// Rows per batch handed between the threads.
const BATCH: usize = 2048;
/// Field bytes per batch: a batch of long rows ends early, so the rows in
/// flight stay a few MiB whatever the file holds.
const BATCH_BYTES: usize = 1024 * 1024;
/// Batches in flight (besides one per preparing thread): enough to keep
/// the threads busy, few enough to bound memory.
const IN_FLIGHT: usize = 4;

/// Rows read together, what the preparing threads made of each (kept from
/// batch to batch, so their buffers serve again), and the error that
/// stopped the reading after them, if any.
struct Batch<T> {
    rows: Rows,
    prepared: Vec<T>,
    error: Option<RecordError>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            rows: Rows::default(),
            prepared: Vec::new(),
            error: None,
        }
    }
}

/// Fills `batch` from `reader` with up to [`BATCH`] rows or [`BATCH_BYTES`]
/// of field content; `false` when the input ended or failed (the error then
/// kept in the batch, after the rows before it).
fn fill<R: BufRead, T>(reader: &mut RecordReader<R>, batch: &mut Batch<T>) -> bool {
    batch.rows.clear();
    while batch.rows.len() < BATCH && batch.rows.text.len() < BATCH_BYTES {
        match reader.read(&mut batch.rows) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => {
                batch.error = Some(e);
                return false;
            }
        }
    }
    true
}

/// Hands every row of `reader` to `consume`, in order, reading ahead on a
/// second thread. Stops at the first read error and returns it; `consume` may
/// stop early by returning `false`.
pub(crate) fn for_each_record<R: BufRead + Send>(
    reader: &mut RecordReader<R>,
    mut consume: impl FnMut(&Row<'_>) -> bool,
) -> Result<(), RecordError> {
    let mut result = Ok(());
    pipeline::run(
        IN_FLIGHT,
        |batch: &mut Batch<()>| fill(reader, batch),
        |batch| {
            if !batch.rows.iter().all(|row| consume(&row)) {
                return false;
            }
            match batch.error.take() {
                Some(e) => {
                    result = Err(e);
                    false
                }
                None => true,
            }
        },
    );
    result
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
/// them (a batch each in turn, into `T`s kept from batch to batch, so their
/// buffers are reused), and the caller's thread hands each row with its `T`
/// to `consume`, in file order.
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
    let workers = workers.max(1);
    let mut result = Ok(());
    pipeline::run_mapped(
        IN_FLIGHT + workers,
        workers,
        |batch: &mut Batch<T>| fill(reader, batch),
        |batch, scratch: &mut W| {
            let Batch { rows, prepared, .. } = batch;
            prepared.resize_with(rows.len().max(prepared.len()), T::default);
            for (row, out) in rows.iter().zip(prepared.iter_mut()) {
                prepare(&row, out, scratch);
            }
        },
        |batch| {
            let Batch {
                rows,
                prepared,
                error,
            } = batch;
            for (row, value) in rows.iter().zip(prepared.iter_mut()) {
                if !consume(&row, value) {
                    return false;
                }
            }
            match error.take() {
                Some(e) => {
                    result = Err(e);
                    false
                }
                None => true,
            }
        },
    );
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::csv_reader;

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
