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

/// Files up to this size are read on the caller's thread alone: they hold
/// a batch or a few (a few hundred rows), too little for the threads to
/// overlap anything, while starting them and handing the batches between
/// them costs more than reading such a file.
const READ_HERE_BYTES: u64 = 64 * 1024;

/// Most preparing threads a file is read with.
const MAX_PREPARING_THREADS: usize = 4;

/// The threads a file is read with, besides the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threads {
    /// None: every row read, prepared and consumed on the caller's thread.
    Here,
    /// A reader thread reading ahead, and (where rows are prepared) this
    /// many preparing threads, at least one.
    Reader { preparing: usize },
}

impl Threads {
    /// For a file of `size` bytes: none up to [`READ_HERE_BYTES`], else a
    /// reader thread and one preparing thread per core, at most four.
    pub(crate) fn for_file(size: u64) -> Threads {
        if size <= READ_HERE_BYTES {
            return Threads::Here;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Threads::Reader {
            preparing: cores.min(MAX_PREPARING_THREADS),
        }
    }
}

/// Hands every row of `reader` to `consume`, in order, reading ahead on a
/// second thread unless `threads` says [`Threads::Here`]. Stops at the
/// first read error and returns it; `consume` may stop early by returning
/// `false`.
pub(crate) fn for_each_record<R: BufRead + Send>(
    reader: &mut RecordReader<R>,
    threads: Threads,
    mut consume: impl FnMut(&Row<'_>) -> bool,
) -> Result<(), RecordError> {
    let mut result = Ok(());
    let fill_batch = |batch: &mut Batch<()>| fill(reader, batch);
    let consume = |batch: &mut Batch<()>| {
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
    };
    match threads {
        Threads::Here => pipeline::run_here(fill_batch, |_, _: &mut ()| {}, consume),
        Threads::Reader { .. } => pipeline::run(IN_FLIGHT, fill_batch, consume),
    }
    result
}

/// Like [`for_each_record`], with preparing threads between the two: the
/// reader thread parses rows, the preparing threads `threads` gives run
/// `prepare` on them (a batch each in turn, into `T`s kept from batch to
/// batch, so their buffers are reused), and the caller's thread hands each
/// row with its `T` to `consume`, in file order ([`Threads::Here`]: all of
/// it on the caller's thread, a batch at a time).
/// Each preparing thread has a `W` of its own, made when it starts, for what
/// `prepare` remembers from row to row within this file. For consumers
/// whose per-row work is mostly a pure function of the row: that part runs
/// beside their own, on as many cores as there are (see [`Threads::for_file`]).
pub(crate) fn for_each_record_prepared<R, T, W>(
    reader: &mut RecordReader<R>,
    threads: Threads,
    prepare: impl Fn(&Row<'_>, &mut T, &mut W) + Sync,
    mut consume: impl FnMut(&Row<'_>, &mut T) -> bool,
) -> Result<(), RecordError>
where
    R: BufRead + Send,
    T: Default + Send,
    W: Default,
{
    let mut result = Ok(());
    let fill_batch = |batch: &mut Batch<T>| fill(reader, batch);
    let map = |batch: &mut Batch<T>, scratch: &mut W| {
        let Batch { rows, prepared, .. } = batch;
        prepared.resize_with(rows.len().max(prepared.len()), T::default);
        for (row, out) in rows.iter().zip(prepared.iter_mut()) {
            prepare(&row, out, scratch);
        }
    };
    let consume = |batch: &mut Batch<T>| {
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
    };
    match threads {
        Threads::Here => pipeline::run_here(fill_batch, map, consume),
        Threads::Reader { preparing } => {
            let workers = preparing.max(1);
            pipeline::run_mapped(IN_FLIGHT + workers, workers, fill_batch, map, consume)
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::csv_reader;

    /// Both ways of reading: on the caller's thread, and with a reader thread.
    const BOTH: [Threads; 2] = [Threads::Here, Threads::Reader { preparing: 1 }];

    #[test]
    fn small_files_are_read_here_larger_ones_with_threads() {
        assert_eq!(Threads::for_file(0), Threads::Here);
        assert_eq!(Threads::for_file(READ_HERE_BYTES), Threads::Here);
        let Threads::Reader { preparing } = Threads::for_file(READ_HERE_BYTES + 1) else {
            panic!("a file over {READ_HERE_BYTES} bytes is read with threads");
        };
        assert!((1..=MAX_PREPARING_THREADS).contains(&preparing));
    }

    #[test]
    fn every_record_arrives_in_order_with_its_line() {
        let text: String = (0..10_000).map(|i| format!("{i},x\n")).collect();
        for threads in BOTH {
            let mut reader = csv_reader(text.as_bytes());
            let mut seen = Vec::new();
            let here = std::thread::current().id();
            for_each_record(&mut reader, threads, |r| {
                assert_eq!(std::thread::current().id(), here, "consumed here");
                seen.push((r.record[0].parse::<u32>().unwrap(), r.line()));
                true
            })
            .unwrap();
            assert_eq!(seen.len(), 10_000, "{threads:?}");
            assert!(seen
                .iter()
                .enumerate()
                .all(|(i, (v, line))| *v == i as u32 && *line == i as u64 + 1));
        }
    }

    #[test]
    fn the_consumer_can_stop_early_and_errors_surface() {
        for threads in BOTH {
            consumer_stops_and_errors_surface(threads);
        }
    }

    fn consumer_stops_and_errors_surface(threads: Threads) {
        let text: String = (0..10_000).map(|i| format!("{i}\n")).collect();
        let mut n = 0;
        for_each_record(&mut csv_reader(text.as_bytes()), threads, |_| {
            n += 1;
            n < 3
        })
        .unwrap();
        assert_eq!(n, 3);

        let bad = b"a\nb\n\xff\n".to_vec();
        let mut rows = 0;
        let err = for_each_record(&mut csv_reader(&bad[..]), threads, |_| {
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
            prepared_rows_arrive_in_order(Threads::Reader { preparing: workers }, workers);
        }
        prepared_rows_arrive_in_order(Threads::Here, 1);
    }

    /// `workers`: how many threads prepare rows (one when `Here`).
    fn prepared_rows_arrive_in_order(threads: Threads, workers: usize) {
        let text: String = (0..10_000).map(|i| format!("{i},x\n")).collect();
        let mut seen = Vec::new();
        for_each_record_prepared(
            &mut csv_reader(text.as_bytes()),
            threads,
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
            threads,
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
            threads,
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
        for threads in BOTH {
            let mut lines = Vec::new();
            for_each_record(&mut csv_reader(text.as_bytes()), threads, |row| {
                assert_eq!(row.too_long, None);
                lines.push(row.line());
                true
            })
            .unwrap();
            assert_eq!(lines, (1..=64).collect::<Vec<u64>>());
        }
    }
}
