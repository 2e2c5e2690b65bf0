//! A package zip on arbitrary bytes: written to `package.zip` and
//! validated. The promise: `roster_fuzz::check` (a report, and an accepted
//! package's rows each handed over once).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = roster_fuzz::scratch_dir().join("package.zip");
    std::fs::write(&path, data).unwrap();
    roster_fuzz::validate_and_check(&path);
});
