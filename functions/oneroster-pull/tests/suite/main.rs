//! oneroster-pull's tests: the pull function end to end against the local OneRoster server,
//! and the real binary under a Runtime API emulator (the REST client's own tests are in
//! shared/oneroster-rest).
//! One test binary per crate: the AWS SDK and the crate are linked once.

mod bootstrap;
mod common;
mod faults;
mod lambda;
mod rekeys;
mod v1p2;
