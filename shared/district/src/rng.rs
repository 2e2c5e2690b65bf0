//! Seeded random streams and the draws made from them.
//!
//! Every random decision is drawn from its own `ChaCha8Rng` stream, keyed by
//! the seed, a kind of entity (`K_*`) and the entity's index, so that one
//! entity's draws never depend on how many draws another one made.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

// Stream kinds, one per kind of entity or decision.
pub(crate) const K_DISTRICT: u64 = 1;
pub(crate) const K_SCHOOL_NAMES: u64 = 2;
pub(crate) const K_CHOICE: u64 = 3;
pub(crate) const K_STUDENT: u64 = 4;
pub(crate) const K_FAMILY: u64 = 5;
pub(crate) const K_DEMOGRAPHICS: u64 = 6;
pub(crate) const K_TEACHER: u64 = 7;
pub(crate) const K_ADMIN: u64 = 8;
pub(crate) const K_GUARDIAN: u64 = 9;
pub(crate) const K_LEAVER: u64 = 10;

/// An independent, reproducible random stream for entity `idx` of `kind`.
pub(crate) fn rng_for(seed: u64, kind: u64, idx: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream((kind << 56) | (idx & ((1 << 56) - 1)));
    rng
}

/// A bijection of `[0, 10^digits)` used to make unique, random-looking ids.
pub(crate) fn scramble(x: u64, digits: u32) -> u64 {
    let m = 10u64.pow(digits);
    (x % m * 7_919 + 1_234_567) % m
}

/// A uniformly drawn item of `items`.
pub(crate) fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.gen_range(0..items.len())]
}

/// Index drawn with the given integer weights.
pub(crate) fn weighted(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.gen_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn scramble_is_a_bijection() {
        for digits in 1..=4 {
            let m = 10u64.pow(digits);
            let image: HashSet<u64> = (0..m).map(|x| scramble(x, digits)).collect();
            assert_eq!(image.len() as u64, m);
            assert!(image.iter().all(|&y| y < m));
        }
    }
}
