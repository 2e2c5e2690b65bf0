//! A map from sourcedId to a small value, built for pass 1's hundreds of
//! thousands of ids: the id texts live in one growing buffer (no allocation
//! per id, one free at the end), the table holds offsets.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// Kept small (20 bytes with an 8-byte value): the table of a large
/// enrollments file is probed at random, so its size is its speed. The
/// slot keeps its id's hash, so that growing the table (millions of ids, a
/// few times over) never reads the ids' text, which lies all over memory.
struct Slot<V> {
    start: u32,
    len: u32,
    hash: u32,
    value: V,
}

/// The ids of one file exceed 4 GiB of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdTextFull;

/// sourcedId -> `V`, append-only.
pub(crate) struct IdMap<V> {
    text: String,
    table: HashTable<Slot<V>>,
    hasher: DefaultHashBuilder,
}

impl<V> IdMap<V> {
    /// An empty map sized for about `ids` ids.
    pub(crate) fn with_capacity(ids: usize) -> Self {
        IdMap {
            text: String::with_capacity(ids * 16),
            table: HashTable::with_capacity(ids),
            hasher: DefaultHashBuilder::default(),
        }
    }

    fn key<'t>(text: &'t str, slot: &Slot<V>) -> &'t str {
        let start = slot.start as usize;
        &text[start..start + slot.len as usize]
    }

    /// The id's hash as kept in its slot.
    fn short_hash(&self, id: &str) -> u32 {
        (self.hasher.hash_one(id) >> 32) as u32
    }

    /// The table's hash of a kept hash: spread over 64 bits again, since the
    /// table takes its buckets from the low bits and its tags from the top ones.
    fn table_hash(short: u32) -> u64 {
        u64::from(short).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    fn matches(text: &str, slot: &Slot<V>, short: u32, id: &str) -> bool {
        slot.hash == short && Self::key(text, slot) == id
    }

    /// The value for `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&V> {
        let short = self.short_hash(id);
        self.table
            .find(Self::table_hash(short), |slot| {
                Self::matches(&self.text, slot, short, id)
            })
            .map(|slot| &slot.value)
    }

    /// Whether `id` is present.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// The value already stored for `id`, or `None` after storing `value` for it
    /// (one probe of the table either way).
    pub(crate) fn get_or_insert(
        &mut self,
        id: &str,
        value: V,
    ) -> Result<Option<&mut V>, IdTextFull> {
        let short = self.short_hash(id);
        let text = &mut self.text;
        let entry = self.table.entry(
            Self::table_hash(short),
            |slot| Self::matches(text, slot, short, id),
            |slot| Self::table_hash(slot.hash),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(occupied) => {
                Ok(Some(&mut occupied.into_mut().value))
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                let start = u32::try_from(text.len()).map_err(|_| IdTextFull)?;
                let len = u32::try_from(id.len()).map_err(|_| IdTextFull)?;
                start.checked_add(len).ok_or(IdTextFull)?;
                text.push_str(id);
                vacant.insert(Slot {
                    start,
                    len,
                    hash: short,
                    value,
                });
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
