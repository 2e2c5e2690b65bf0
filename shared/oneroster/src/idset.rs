//! A map from sourcedId to a small value, built for pass 1's hundreds of
//! thousands of ids: the id texts live in one growing buffer (no allocation
//! per id, one free at the end), the table holds offsets.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// Kept small (16 bytes with an 8-byte value): the table of a large
/// enrollments file is probed at random, so its size is its speed.
struct Slot<V> {
    start: u32,
    len: u32,
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

    /// The value for `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&V> {
        let hash = self.hasher.hash_one(id);
        self.table
            .find(hash, |slot| Self::key(&self.text, slot) == id)
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
        let hash = self.hasher.hash_one(id);
        let (text, hasher) = (&mut self.text, &self.hasher);
        let entry = self.table.entry(
            hash,
            |slot| Self::key(text, slot) == id,
            |slot| hasher.hash_one(Self::key(text, slot)),
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
                vacant.insert(Slot { start, len, value });
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
