//! A map from sourcedId to a small value, built for pass 1's hundreds of
//! thousands of ids: the id texts live in one growing buffer (no allocation
//! per id, one free at the end), the table holds offsets.
//!
//! Open addressing with linear probing over the slots themselves, with no
//! separate control bytes: a large file's table is probed at random, far
//! beyond the caches, and a probe here touches one cache line where a table
//! of control bytes and slots touches two. A caller that knows which ids
//! come next can have their lines fetched ahead ([`IdMap::prefetch`]).

use hashbrown::DefaultHashBuilder;
use std::hash::BuildHasher;

/// Kept small (20 bytes with an 8-byte value): the table's size is its
/// speed. The slot keeps its id's hash, so that a probe rarely reads an id's
/// text, and growing the table (millions of ids, a few times over) never does.
#[derive(Clone, Copy)]
struct Slot<V> {
    start: u32,
    /// [`EMPTY`] in a free slot.
    len: u32,
    hash: u32,
    value: V,
}

/// The length that marks a free slot (no id is that long: see [`IdTextFull`]).
const EMPTY: u32 = u32::MAX;

/// The smallest table.
const MIN_SLOTS: usize = 16;

/// The ids of one file exceed 4 GiB of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdTextFull;

/// An id's hash, as [`id_hash`] makes it: computed once, it serves a
/// prefetch and the lookup after it (on any thread; every map hashes alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct IdHash(u32);

/// The hash of `id`, the same in every map: it may be made on one thread
/// and used on another.
pub(crate) fn id_hash(id: &str) -> IdHash {
    // One hasher for all: maps built apart hash alike.
    static HASHER: std::sync::OnceLock<DefaultHashBuilder> = std::sync::OnceLock::new();
    let hasher = HASHER.get_or_init(DefaultHashBuilder::default);
    IdHash((hasher.hash_one(id) >> 32) as u32)
}

/// sourcedId -> `V`, append-only.
pub(crate) struct IdMap<V> {
    text: String,
    slots: Vec<Slot<V>>,
    /// `slots.len() - 1` (a power of two less one).
    mask: usize,
    /// `64 - log2(slots.len())`: a slot's index is the top bits of the spread hash.
    shift: u32,
    len: usize,
}

impl<V: Copy + Default> IdMap<V> {
    /// An empty map sized for about `ids` ids.
    pub(crate) fn with_capacity(ids: usize) -> Self {
        let slots = Self::slots_for(ids);
        IdMap {
            text: String::with_capacity(ids * 16),
            slots: vec![Self::free(); slots],
            mask: slots - 1,
            shift: 64 - slots.trailing_zeros(),
            len: 0,
        }
    }

    /// Slots for `ids` ids at most three quarters full.
    fn slots_for(ids: usize) -> usize {
        (ids.saturating_mul(4) / 3 + 1)
            .next_power_of_two()
            .max(MIN_SLOTS)
    }

    fn free() -> Slot<V> {
        Slot {
            start: 0,
            len: EMPTY,
            hash: 0,
            value: V::default(),
        }
    }

    /// Where the probe for `hash` starts: the kept 32 bits spread over 64
    /// again, and their top bits taken.
    fn home(&self, hash: IdHash) -> usize {
        (u64::from(hash.0).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    fn key<'t>(text: &'t str, slot: &Slot<V>) -> &'t str {
        let start = slot.start as usize;
        &text[start..start + slot.len as usize]
    }

    /// The index of `id`'s slot, or of the free slot where it would go.
    fn probe(&self, id: &str, hash: IdHash) -> usize {
        let mut at = self.home(hash);
        loop {
            let slot = &self.slots[at];
            if slot.len == EMPTY || (slot.hash == hash.0 && Self::key(&self.text, slot) == id) {
                return at;
            }
            at = (at + 1) & self.mask;
        }
    }

    /// Asks the processor to fetch the cache line where the probe for
    /// `hash` starts, so that a lookup or insert of it a little later does
    /// not wait for memory. Only a hint: it changes nothing.
    pub(crate) fn prefetch(&self, hash: IdHash) {
        let slot = &self.slots[self.home(hash)];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch never faults and writes nothing; the address is
        // that of a live slot.
        #[allow(unused_unsafe)]
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>((slot as *const Slot<V>).cast::<i8>());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    /// The value for `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&V> {
        self.get_hashed(id, id_hash(id))
    }

    /// The value for `id`, whose hash is `hash`.
    pub(crate) fn get_hashed(&self, id: &str, hash: IdHash) -> Option<&V> {
        let slot = &self.slots[self.probe(id, hash)];
        (slot.len != EMPTY).then_some(&slot.value)
    }

    /// Whether `id` is present.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// The value already stored for `id`, or `None` after storing `value` for it
    /// (one probe of the table either way).
    #[cfg(test)]
    pub(crate) fn get_or_insert(
        &mut self,
        id: &str,
        value: V,
    ) -> Result<Option<&mut V>, IdTextFull> {
        self.get_or_insert_hashed(id, id_hash(id), value)
    }

    /// [`IdMap::get_or_insert`], for an id whose hash is `hash`.
    pub(crate) fn get_or_insert_hashed(
        &mut self,
        id: &str,
        hash: IdHash,
        value: V,
    ) -> Result<Option<&mut V>, IdTextFull> {
        let mut at = self.probe(id, hash);
        if self.slots[at].len != EMPTY {
            return Ok(Some(&mut self.slots[at].value));
        }
        let start = u32::try_from(self.text.len()).map_err(|_| IdTextFull)?;
        let len = u32::try_from(id.len())
            .ok()
            .filter(|len| *len != EMPTY)
            .ok_or(IdTextFull)?;
        start.checked_add(len).ok_or(IdTextFull)?;
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
            at = self.probe(id, hash);
        }
        self.text.push_str(id);
        self.slots[at] = Slot {
            start,
            len,
            hash: hash.0,
            value,
        };
        self.len += 1;
        Ok(None)
    }

    /// Twice the slots, every id moved by its kept hash (no id text is read).
    fn grow(&mut self) {
        let slots = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![Self::free(); slots]);
        self.mask = slots - 1;
        self.shift = 64 - slots.trailing_zeros();
        for slot in old.into_iter().filter(|s| s.len != EMPTY) {
            let mut at = self.home(IdHash(slot.hash));
            while self.slots[at].len != EMPTY {
                at = (at + 1) & self.mask;
            }
            self.slots[at] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn ids_round_trip_through_growth() {
        let mut map = IdMap::with_capacity(1);
        for i in 0..10_000u32 {
            assert!(map.get_or_insert(&format!("id-{i}"), i).unwrap().is_none());
        }
        assert_eq!(map.get_or_insert("id-42", 0).unwrap(), Some(&mut 42));
        for i in 0..10_000u32 {
            assert_eq!(map.get(&format!("id-{i}")), Some(&i));
        }
        assert!(!map.contains("id-10000"));
        assert!(map.get("").is_none());
    }

    /// Against the standard map, over ids of every shape (empty, long,
    /// non-ASCII, sharing long prefixes, colliding in the table's bits),
    /// with lookups of absent ids between the inserts, from a table that
    /// starts small and grows many times.
    #[test]
    fn agrees_with_the_standard_map() {
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut ours = IdMap::with_capacity(0);
        let mut theirs = HashMap::new();
        for n in 0..60_000u32 {
            let id = match next() % 6 {
                0 => String::new(),
                1 => format!("stu-{:06}", next() % 50_000),
                2 => format!("{:032x}", next() % 40_000),
                3 => format!("école-{}", next() % 3_000),
                4 => "x".repeat((next() % 300) as usize),
                _ => format!("a/b/c/d/e/f/g/h/{}", next() % 20_000),
            };
            let hash = id_hash(&id);
            ours.prefetch(hash);
            let got = ours.get_or_insert_hashed(&id, hash, n).unwrap().copied();
            let expected = theirs.get(&id).copied();
            assert_eq!(got, expected, "{id:?}");
            theirs.entry(id).or_insert(n);
            let absent = format!("absent-{}", next());
            assert_eq!(ours.get(&absent), None);
        }
        for (id, n) in &theirs {
            assert_eq!(ours.get(id), Some(n), "{id:?}");
            assert_eq!(ours.get_hashed(id, id_hash(id)), Some(n));
        }
        assert_eq!(ours.len, theirs.len());
        // Never more than three quarters full.
        assert!(ours.len * 4 <= ours.slots.len() * 3);
    }

    /// A value can be changed through what `get_or_insert` returns.
    #[test]
    fn a_stored_value_can_be_changed() {
        let mut map = IdMap::with_capacity(4);
        assert!(map.get_or_insert("a", 1u32).unwrap().is_none());
        *map.get_or_insert("a", 9).unwrap().unwrap() = 7;
        assert_eq!(map.get("a"), Some(&7));
    }
}
