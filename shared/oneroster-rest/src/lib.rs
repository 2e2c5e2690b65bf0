//! The OneRoster REST binding, 1.1 and the 1.2 Rostering Service: request
//! signing, the paging client, and pulls written as a CSV package (1.1, or
//! 1.2 with `roles.csv`) so they share the CSV path's validation (the
//! `oneroster` crate) and the one merge engine.

pub mod address;
pub mod client;
pub mod flatten;
pub mod flatten_v1p2;
pub mod oauth1;
pub mod origins;
pub mod pull;
mod request;
pub mod status;
mod token;
pub mod version;
