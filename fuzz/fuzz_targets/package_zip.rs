//! A package zip on arbitrary bytes: written to `package.zip` and
//! validated. The promise: `roster_fuzz::check` (a report, and an accepted
//! package's rows each handed over once).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let path = DIR
        .get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .join("package.zip");
    std::fs::write(&path, data).unwrap();
    roster_fuzz::validate_and_check(&path);
});
