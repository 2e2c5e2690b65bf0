//! Test support: the project's local OneRoster server and generated districts.

pub use testkit::servers::{control, district_package as district, oneroster_server as start};
