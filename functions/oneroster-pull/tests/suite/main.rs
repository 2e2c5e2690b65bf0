//! oneroster-pull's tests: the OneRoster REST client and pulls against the local OneRoster
//! server, the pull function end to end, and the real binary under a Runtime API emulator.
//! One test binary per crate: the AWS SDK and the crate are linked once.

mod bootstrap;
mod client;
mod common;
mod lambda;
