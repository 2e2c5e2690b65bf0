//! Ordered batches produced on one thread, consumed on another.
//!
//! A fixed number of batches circulate: the producer's thread fills an
//! empty one, the caller's thread consumes it, and it goes back to be filled
//! again. [`run`] is that loop; [`run_mapped`] puts worker threads between
//! the two, each working on a filled batch in turn (the consumer still gets
//! the batches in the order they were filled). The number of batches is the
//! bound on memory, and a batch's buffers serve again and again: a
//! measurement of a whole validation showed allocating each batch anew
//! costing about a fifth more CPU.
//!
//! Made of standard channels and scoped threads; it knows nothing of what
//! the batches hold.

use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// Runs `fill` on a second thread and `consume` on this one over `batches`
/// circulating batches (at least one), in the order they were filled.
/// `fill` gets a batch as `consume` left it (or `B::default()` at first) and
/// returns whether more batches follow this one; `consume` returns whether
/// to go on. Returns when both have ended.
pub fn run<B: Default + Send>(
    batches: usize,
    fill: impl FnMut(&mut B) -> bool + Send,
    consume: impl FnMut(&mut B) -> bool,
) {
    circulate(batches, 0, fill, &|_: &mut B, _: &mut ()| {}, consume)
}

/// Like [`run`], with `workers` threads (at least one) between `fill` and
/// `consume`: each filled batch goes to one of them in turn, whose `map`
/// works on it before `consume` gets it. Each worker has an `S` of its own,
/// made on its thread when it starts, for what `map` keeps from batch to
/// batch.
pub fn run_mapped<B: Default + Send, S: Default>(
    batches: usize,
    workers: usize,
    fill: impl FnMut(&mut B) -> bool + Send,
    map: impl Fn(&mut B, &mut S) + Sync,
    consume: impl FnMut(&mut B) -> bool,
) {
    circulate(batches, workers.max(1), fill, &map, consume)
}

/// Like [`run`] with the threads' roles swapped: `fill` runs on this thread
/// (a producer that cannot leave it, such as a database cursor), `consume`
/// on a second one.
pub fn run_filling_here<B: Default + Send>(
    batches: usize,
    mut fill: impl FnMut(&mut B) -> bool,
    mut consume: impl FnMut(&mut B) -> bool + Send,
) {
    let batches = batches.max(1);
    let (to_fill, empties) = channel::<B>();
    for _ in 0..batches {
        let _ = to_fill.send(B::default());
    }
    let (to_consumer, filled) = sync_channel::<B>(batches);
    std::thread::scope(|scope| {
        scope.spawn(move || consume_in_turn(&[filled], to_fill, &mut consume));
        produce(empties, vec![to_consumer], &mut fill);
    })
}

/// What [`run_mapped`] does, on the caller's thread alone: one batch,
/// filled, mapped (with an `S` made here) and consumed in turn, until `fill`
/// says no more follow or `consume` stops. For inputs too small for threads
/// to overlap anything, which would only hand the batch from one to the next.
pub fn run_here<B: Default, S: Default>(
    mut fill: impl FnMut(&mut B) -> bool,
    map: impl Fn(&mut B, &mut S),
    mut consume: impl FnMut(&mut B) -> bool,
) {
    let (mut batch, mut state) = (B::default(), S::default());
    loop {
        let more = fill(&mut batch);
        map(&mut batch, &mut state);
        if !consume(&mut batch) || !more {
            return;
        }
    }
}

/// [`run_mapped`], or [`run`] when `workers` is 0 (`map` then unused).
fn circulate<B: Default + Send, S: Default, M: Fn(&mut B, &mut S) + Sync>(
    batches: usize,
    workers: usize,
    mut fill: impl FnMut(&mut B) -> bool + Send,
    map: &M,
    mut consume: impl FnMut(&mut B) -> bool,
) {
    let batches = batches.max(1);
    // Empty batches go back to the producer; none is ever waited for by a sender.
    let (to_fill, empties) = channel::<B>();
    for _ in 0..batches {
        let _ = to_fill.send(B::default());
    }
    // Filled batch i travels through stage channel i % n, so the consumer
    // reads them in order with no sequence numbers.
    let stages = workers.max(1);
    let (to_stage, stage_inputs): (Vec<_>, Vec<_>) =
        (0..stages).map(|_| sync_channel::<B>(batches)).unzip();
    std::thread::scope(|scope| {
        let to_consumer: Vec<Receiver<B>> = if workers == 0 {
            stage_inputs
        } else {
            stage_inputs
                .into_iter()
                .map(|input| {
                    let (output, from_worker) = sync_channel::<B>(batches);
                    scope.spawn(move || work(input, output, map));
                    from_worker
                })
                .collect()
        };
        scope.spawn(move || produce(empties, to_stage, &mut fill));
        consume_in_turn(&to_consumer, to_fill, &mut consume);
    })
}

/// The producer's loop: fills each empty batch that comes back and sends it
/// to the next stage in turn. Ends after the last batch, or when the
/// consumer has stopped.
fn produce<B>(
    empties: Receiver<B>,
    to_stage: Vec<SyncSender<B>>,
    fill: &mut impl FnMut(&mut B) -> bool,
) {
    for (turn, mut batch) in empties.iter().enumerate() {
        let more = fill(&mut batch);
        if to_stage[turn % to_stage.len()].send(batch).is_err() || !more {
            return;
        }
    }
}

/// A worker's loop: `map` on each batch, passed on. Ends when the producer
/// has ended or the consumer has stopped.
fn work<B, S: Default>(input: Receiver<B>, output: SyncSender<B>, map: &impl Fn(&mut B, &mut S)) {
    let mut state = S::default();
    for mut batch in input {
        map(&mut batch, &mut state);
        if output.send(batch).is_err() {
            return;
        }
    }
}

/// The consumer's loop: batches in the order they were filled, each given
/// back to be filled again. The first stage found closed and empty in turn
/// means every batch filled has arrived.
fn consume_in_turn<B>(
    from: &[Receiver<B>],
    to_fill: Sender<B>,
    consume: &mut impl FnMut(&mut B) -> bool,
) {
    for turn in 0.. {
        let Ok(mut batch) = from[turn % from.len()].recv() else {
            return;
        };
        if !consume(&mut batch) {
            return;
        }
        let _ = to_fill.send(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills batches of 3 numbers, 0 to 999 in all; counts the batches it
    /// is handed that were filled before (given back, buffers kept).
    fn to_999(next: &mut u64, reused: &mut usize, batch: &mut Vec<u64>) -> bool {
        if batch.capacity() > 0 {
            *reused += 1;
        }
        batch.clear();
        while batch.len() < 3 && *next < 1_000 {
            batch.push(*next);
            *next += 1;
        }
        *next < 1_000
    }

    #[test]
    fn batches_filled_here_arrive_in_order_on_the_other_thread() {
        let (mut next, mut reused) = (0, 0);
        let here = std::thread::current().id();
        let mut got = Vec::new();
        run_filling_here(
            2,
            |batch| {
                assert_eq!(std::thread::current().id(), here);
                to_999(&mut next, &mut reused, batch)
            },
            |batch: &mut Vec<u64>| {
                assert_ne!(std::thread::current().id(), here);
                got.extend_from_slice(batch);
                got.len() < 600
            },
        );
        // Stopped after 600 (and any batch already filled never consumed).
        assert_eq!(got, (0..600).collect::<Vec<_>>());
        assert!(reused > 0, "batches given back are filled again");
    }

    #[test]
    fn batches_arrive_in_order_and_are_filled_again() {
        let (mut next, mut reused) = (0, 0);
        let mut got = Vec::new();
        run(
            2,
            |batch| to_999(&mut next, &mut reused, batch),
            |batch| {
                got.extend_from_slice(batch);
                true
            },
        );
        assert_eq!(got, (0..1_000).collect::<Vec<_>>());
        // 334 batches filled, all but the first two from batches given back.
        assert_eq!(reused, 332);
    }

    #[test]
    fn mapped_batches_arrive_in_order_whatever_the_workers() {
        for workers in [0, 1, 2, 3, 7] {
            // Zero workers are taken as one.
            let (mut next, mut reused) = (0, 0);
            let mut got = Vec::new();
            run_mapped(
                4,
                workers,
                |batch| to_999(&mut next, &mut reused, batch),
                |batch: &mut Vec<u64>, _: &mut ()| batch.iter_mut().for_each(|n| *n *= 2),
                |batch| {
                    got.extend_from_slice(batch);
                    true
                },
            );
            let doubled: Vec<u64> = (0..1_000).map(|i| i * 2).collect();
            assert_eq!(got, doubled, "{workers} workers");
            assert_eq!(reused, 334 - 4);
        }
    }

    #[test]
    fn each_worker_keeps_its_own_state() {
        let mut turns = Vec::new();
        let mut left = 100;
        run_mapped(
            5,
            3,
            |batch: &mut Vec<u64>| {
                batch.clear();
                left -= 1;
                left > 0
            },
            |batch: &mut Vec<u64>, seen: &mut u64| {
                *seen += 1;
                batch.push(*seen);
            },
            |batch| {
                turns.push(batch[0]);
                true
            },
        );
        // Batch i is worker (i % 3)'s (i / 3 + 1)th.
        assert_eq!(turns.len(), 100);
        assert!(turns
            .iter()
            .enumerate()
            .all(|(i, seen)| *seen == i as u64 / 3 + 1));
    }

    #[test]
    fn batches_run_here_arrive_in_order_mapped_on_this_thread() {
        let (mut next, mut reused) = (0, 0);
        let here = std::thread::current().id();
        let mut got = Vec::new();
        run_here(
            |batch| to_999(&mut next, &mut reused, batch),
            |batch: &mut Vec<u64>, mapped: &mut usize| {
                assert_eq!(std::thread::current().id(), here);
                *mapped += 1;
                batch.iter_mut().for_each(|n| *n *= 2);
            },
            |batch| {
                got.extend_from_slice(batch);
                true
            },
        );
        let doubled: Vec<u64> = (0..1_000).map(|i| i * 2).collect();
        assert_eq!(got, doubled);
        // One batch, filled again and again.
        assert_eq!(reused, 333);

        let mut consumed = 0;
        run_here(
            |_: &mut ()| true,
            |_, _: &mut ()| {},
            |_| {
                consumed += 1;
                consumed < 3
            },
        );
        assert_eq!(consumed, 3, "a consumer that stops ends the loop");
    }

    #[test]
    fn a_consumer_that_stops_stops_the_producer() {
        for workers in [0, 1, 3] {
            let mut filled = 0;
            let mut consumed = 0;
            run_mapped(
                2,
                workers,
                |_: &mut ()| {
                    filled += 1;
                    true
                },
                |_: &mut (), _: &mut ()| {},
                |_| {
                    consumed += 1;
                    consumed < 3
                },
            );
            assert_eq!(consumed, 3);
            // The producer ended (run returned), at most the circulating batches ahead.
            assert!(filled <= 3 + 2, "{filled}");
        }
    }
}
