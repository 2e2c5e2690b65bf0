//! The reader's tests: its policy line by line, and the public OneRoster samples.
//! One test binary per crate: the AWS SDK and the crate are linked once.

mod common;
mod date_columns;
mod folder_files;
mod one_cause;
mod policy;
mod samples;
mod v1p2;
mod v1p2_delta_roles;
mod v1p2_files;
mod v1p2_roles;
