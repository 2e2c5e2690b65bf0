//! The OneRoster 1.1 REST binding: request signing, the paging client, and
//! pulls written as a CSV package so they share the CSV path's validation
//! (the `oneroster` crate) and the one merge engine.

pub mod address;
pub mod client;
pub mod flatten;
pub mod oauth1;
pub mod origins;
pub mod pull;
mod token;
