//! Ordered batches produced on one thread, consumed on another.
//!
//! [`run`] runs a producer on a second thread and hands what it sends to a
//! consumer on the caller's thread, in the order it was sent. [`run_mapped`]
//! puts worker threads between the two, each turning a batch into something
//! else; the consumer still gets the results in the order the batches were
//! sent. Either way only a few batches wait between two threads (a bounded
//! channel), so a producer ahead of its consumer waits rather than fill
//! memory, and when the consumer stops early the producer's next
//! [`Feed::send`] returns `false`.
//!
//! Made of standard channels and scoped threads; it knows nothing of what
//! the batches hold.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Where a producer sends its batches.
pub struct Feed<T> {
    /// One channel per worker (one alone without workers), used in turn.
    to: Vec<SyncSender<T>>,
    turn: usize,
}

impl<T> Feed<T> {
    /// Sends `batch` on, waiting while the batches in flight are at the
    /// bound. `false` once the consumer has stopped: the producer should end.
    pub fn send(&mut self, batch: T) -> bool {
        let to = &self.to[self.turn % self.to.len()];
        self.turn += 1;
        to.send(batch).is_ok()
    }
}

/// The batches as the consumer gets them: in the order they were sent.
pub struct Batches<T> {
    /// One channel per worker (one alone without workers), read in turn.
    from: Vec<Receiver<T>>,
    turn: usize,
}

impl<T> Iterator for Batches<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        // Batch `i` went through channel `i % n`: the first channel found
        // closed and empty in turn means every batch sent has arrived.
        let from = &self.from[self.turn % self.from.len()];
        self.turn += 1;
        from.recv().ok()
    }
}

/// Runs `produce` on a second thread and `consume` on this one: `consume`
/// gets every batch `produce` sends, in order, and its result is returned.
/// At most `in_flight` batches (at least one) wait between the two. When
/// `consume` returns before the last batch, `produce`'s next send returns
/// `false`; `run` returns once `produce` has.
pub fn run<T: Send, R>(
    in_flight: usize,
    produce: impl FnOnce(&mut Feed<T>) + Send,
    consume: impl FnOnce(Batches<T>) -> R,
) -> R {
    let (to, from) = sync_channel(in_flight.max(1));
    std::thread::scope(|scope| {
        scope.spawn(move || {
            produce(&mut Feed {
                to: vec![to],
                turn: 0,
            })
        });
        consume(Batches {
            from: vec![from],
            turn: 0,
        })
    })
}

/// Like [`run`], with `workers` threads (at least one) between the producer
/// and the consumer: each batch is turned by `map` into a `U` on one of
/// them, in turn, and the consumer gets the `U`s in the order the batches
/// were sent. Each worker has an `S` of its own, made on its thread when it
/// starts, for what `map` keeps from batch to batch. At most `in_flight`
/// batches (at least one per worker) wait before the workers, and as many
/// after them.
pub fn run_mapped<T: Send, U: Send, S: Default, R>(
    in_flight: usize,
    workers: usize,
    produce: impl FnOnce(&mut Feed<T>) + Send,
    map: impl Fn(T, &mut S) -> U + Sync,
    consume: impl FnOnce(Batches<U>) -> R,
) -> R {
    let workers = workers.max(1);
    let bound = in_flight.div_ceil(workers).max(1);
    let (to_workers, worker_inputs): (Vec<_>, Vec<_>) =
        (0..workers).map(|_| sync_channel::<T>(bound)).unzip();
    let (worker_outputs, to_consumer): (Vec<_>, Vec<_>) =
        (0..workers).map(|_| sync_channel::<U>(bound)).unzip();
    let map = &map;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            produce(&mut Feed {
                to: to_workers,
                turn: 0,
            })
        });
        for (input, output) in worker_inputs.into_iter().zip(worker_outputs) {
            // Ends when the producer has ended or the consumer has stopped.
            scope.spawn(move || {
                let mut state = S::default();
                for batch in input {
                    if output.send(map(batch, &mut state)).is_err() {
                        return;
                    }
                }
            });
        }
        consume(Batches {
            from: to_consumer,
            turn: 0,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_arrive_in_order() {
        let got: Vec<u32> = run(
            2,
            |feed| {
                for i in 0..1_000 {
                    assert!(feed.send(i));
                }
            },
            |batches| batches.collect(),
        );
        assert_eq!(got, (0..1_000).collect::<Vec<_>>());
    }

    #[test]
    fn mapped_batches_arrive_in_order_whatever_the_workers() {
        for workers in [0, 1, 2, 3, 7] {
            let got: Vec<(u64, usize)> = run_mapped(
                4,
                workers,
                |feed| {
                    for i in 0..1_000u64 {
                        assert!(feed.send(i));
                    }
                },
                |i, seen: &mut usize| {
                    *seen += 1;
                    (i * 2, *seen)
                },
                |batches| batches.collect(),
            );
            let doubled: Vec<u64> = got.iter().map(|(d, _)| *d).collect();
            assert_eq!(doubled, (0..1_000).map(|i| i * 2).collect::<Vec<_>>());
            // Each worker kept its own state: batch i was its (i / n + 1)th.
            let n = workers.max(1);
            assert!(got
                .iter()
                .enumerate()
                .all(|(i, (_, seen))| *seen == i / n + 1));
        }
    }

    #[test]
    fn a_consumer_that_stops_stops_the_producer() {
        for workers in [None, Some(1), Some(3)] {
            let mut sent = 0;
            let produce = |feed: &mut Feed<u32>| {
                while feed.send(sent) {
                    sent += 1;
                }
            };
            let first: Vec<u32> = match workers {
                None => run(2, produce, |batches| batches.take(3).collect()),
                Some(n) => run_mapped(2, n, produce, |i, _: &mut ()| i, |b| b.take(3).collect()),
            };
            assert_eq!(first, [0, 1, 2]);
            // The producer ended (run returned) a bounded way ahead.
            assert!(sent < 3 + 2 * 2 + 3 * 2 + 4, "{sent}");
        }
    }
}
