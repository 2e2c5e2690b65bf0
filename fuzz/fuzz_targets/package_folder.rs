//! A package folder made of arbitrary files with OneRoster names: the input
//! is split into files (`roster_fuzz::split_files`), written to a folder,
//! and validated. The promise: `roster_fuzz::check`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = roster_fuzz::scratch_dir();
    for name in roster_fuzz::FILE_NAMES {
        let _ = std::fs::remove_file(dir.join(name));
    }
    for (name, bytes) in roster_fuzz::split_files(data) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    roster_fuzz::validate_and_check(dir);
});
