//! An object: its entries gathered, then written sorted by key, the empty
//! and the superseded ones left out.

use super::key::KeyText;
use super::{custom, json_str, Canon, Error};
use serde::ser::{self, Serialize};
use std::ops::Range;

/// Entry ranges of an object: (raw key, JSON value or `None` when empty).
type Entries = Vec<(Range<usize>, Option<Range<usize>>)>;

thread_local! {
    /// Emptied buffers of finished objects, reused by the next ones (one
    /// record after another, no allocation once warm).
    static BUFFERS: std::cell::RefCell<Vec<(String, Entries)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// An object being written: each entry's raw key and JSON value go to
/// `scratch`; at the end they are sorted by key and written out.
pub(super) struct Object<'o> {
    out: &'o mut String,
    skip: &'static [&'static str],
    scratch: String,
    /// (raw key, JSON value or `None` when empty) ranges in `scratch`.
    entries: Entries,
    /// The key of `serialize_key`, until its value comes.
    pending_key: Option<Range<usize>>,
}

impl<'o> Object<'o> {
    /// An object opened for `out`, leaving out the keys in `skip`.
    pub(super) fn open(out: &'o mut String, skip: &'static [&'static str]) -> Object<'o> {
        let (scratch, entries) = BUFFERS.with_borrow_mut(Vec::pop).unwrap_or_default();
        Object {
            out,
            skip,
            scratch,
            entries,
            pending_key: None,
        }
    }

    fn key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<Range<usize>, Error> {
        let start = self.scratch.len();
        key.serialize(KeyText(&mut self.scratch))?;
        Ok(start..self.scratch.len())
    }

    fn value<T: Serialize + ?Sized>(&mut self, key: Range<usize>, value: &T) -> Result<(), Error> {
        let raw = &self.scratch[key.clone()];
        if self.skip.contains(&raw) {
            self.scratch.truncate(key.start);
            return Ok(());
        }
        let start = self.scratch.len();
        let written = value.serialize(Canon {
            out: &mut self.scratch,
            skip: &[],
        })?;
        // An empty value is kept as `None`: as in a map, it replaces an
        // earlier value of the same key (and is then dropped).
        self.entries
            .push((key, written.then_some(start..self.scratch.len())));
        Ok(())
    }

    fn finish(mut self) -> Result<bool, Error> {
        let written = self.write_sorted();
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut entries = std::mem::take(&mut self.entries);
        scratch.clear();
        entries.clear();
        BUFFERS.with_borrow_mut(|pool| {
            // Keep a few, and none grown huge by one odd record.
            if pool.len() < 8 && scratch.capacity() <= 1 << 20 {
                pool.push((scratch, entries));
            }
        });
        written
    }

    fn write_sorted(&mut self) -> Result<bool, Error> {
        let scratch = &self.scratch;
        // Stable: of equal keys, the last one written is the one kept.
        self.entries
            .sort_by(|a, b| scratch[a.0.clone()].cmp(&scratch[b.0.clone()]));
        let start = self.out.len();
        self.out.push('{');
        let mut written = 0usize;
        for (i, (key, value)) in self.entries.iter().enumerate() {
            let superseded = self
                .entries
                .get(i + 1)
                .is_some_and(|(next, _)| scratch[next.clone()] == scratch[key.clone()]);
            let Some(value) = value.as_ref().filter(|_| !superseded) else {
                continue;
            };
            if written > 0 {
                self.out.push(',');
            }
            json_str(self.out, &scratch[key.clone()]);
            self.out.push(':');
            self.out.push_str(&scratch[value.clone()]);
            written += 1;
        }
        if written == 0 {
            self.out.truncate(start);
            return Ok(false);
        }
        self.out.push('}');
        Ok(true)
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = bool;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.pending_key = Some(self.key(key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| custom("a map value without its key"))?;
        self.value(key, value)
    }
    fn end(self) -> Result<bool, Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = bool;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let key = self.key(key)?;
        self.value(key, value)
    }
    fn end(self) -> Result<bool, Error> {
        self.finish()
    }
}
