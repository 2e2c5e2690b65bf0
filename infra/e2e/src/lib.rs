//! End-to-end tests of the whole bridge on the local stack (see
//! `tests/day_in_the_life.rs` and `infra/local/README.md`). No library code.
