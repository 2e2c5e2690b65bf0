//! A map from sourcedId to a small value, built for pass 1's hundreds of
//! thousands of ids: the id texts live in one growing buffer (no allocation
//! per id, one free at the end), and a [`hashbrown::HashTable`] holds where
//! each lies in it.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// One id: where its text lies in the map's buffer, and its value.
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

/// The text of `slot` in `text`.
fn key<'t, V>(text: &'t str, slot: &Slot<V>) -> &'t str {
    let start = slot.start as usize;
    &text[start..start + slot.len as usize]
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

    /// How many ids.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// The value for `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&V> {
        let hash = self.hasher.hash_one(id);
        self.table
            .find(hash, |slot| key(&self.text, slot) == id)
            .map(|slot| &slot.value)
    }

    /// Every id and its value, in no order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.table
            .iter()
            .map(|slot| (key(&self.text, slot), &slot.value))
    }

    /// Whether `id` is present.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// The value already stored for `id`, or `None` after storing `value` for it.
    pub(crate) fn get_or_insert(
        &mut self,
        id: &str,
        value: V,
    ) -> Result<Option<&mut V>, IdTextFull> {
        let IdMap {
            text,
            table,
            hasher,
        } = self;
        let hash = hasher.hash_one(id);
        let entry = table.entry(
            hash,
            |slot| key(text, slot) == id,
            |slot| hasher.hash_one(key(text, slot)),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(slot) => Ok(Some(&mut slot.into_mut().value)),
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
    /// non-ASCII, sharing long prefixes), with lookups of absent ids between
    /// the inserts, from a table that starts small and grows many times.
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
            let got = ours.get_or_insert(&id, n).unwrap().copied();
            let expected = theirs.get(&id).copied();
            assert_eq!(got, expected, "{id:?}");
            theirs.entry(id).or_insert(n);
            let absent = format!("absent-{}", next());
            assert_eq!(ours.get(&absent), None);
        }
        for (id, n) in &theirs {
            assert_eq!(ours.get(id), Some(n), "{id:?}");
        }
        assert_eq!(ours.len(), theirs.len());
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
