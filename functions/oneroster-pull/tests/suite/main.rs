//! oneroster-pull's tests: the OneRoster REST client and pulls against the local OneRoster
//! server, and the pull function end to end.
//! One test binary per crate: the AWS SDK and the crate are linked once.

mod client;
mod common;
mod lambda;
