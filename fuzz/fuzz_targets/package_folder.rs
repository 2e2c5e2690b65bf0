//! A package folder made of arbitrary files with OneRoster names: the input
//! is split into files (`roster_fuzz::split_files`), written to a folder,
//! and validated. The promise: `roster_fuzz::check`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Mutex;

/// The files the folder holds: the last input's.
static WRITTEN: Mutex<Vec<&str>> = Mutex::new(Vec::new());

fuzz_target!(|data: &[u8]| {
    let dir = roster_fuzz::scratch_dir();
    let files = roster_fuzz::split_files(data);
    let mut written = WRITTEN.lock().unwrap();
    for name in written.drain(..) {
        if !files.iter().any(|(n, _)| *n == name) {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
    }
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
        written.push(name);
    }
    drop(written);
    roster_fuzz::validate_and_check(dir);
});
