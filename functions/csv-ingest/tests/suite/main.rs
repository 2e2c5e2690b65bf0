//! csv-ingest's tests: the handler end to end on moto and DynamoDB Local, and the real
//! binary under a Runtime API emulator.
//! One test binary per crate: the AWS SDK and the crate are linked once.

mod bootstrap;
mod common;
mod faults;
mod ingest;
mod notices;
mod rekeys;
mod retention;
