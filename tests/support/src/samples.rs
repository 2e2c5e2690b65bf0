//! The public OneRoster samples (`../shared/samples/csv/`, read at run time,
//! never copied into the repository; `ONEROSTER_SAMPLES` points elsewhere).

use crate::servers::repo_root;
use std::path::PathBuf;

/// The samples' `csv/` folder. Panics if it is not there.
pub fn csv_dir() -> PathBuf {
    let dir = std::env::var_os("ONEROSTER_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/samples"));
    assert!(
        dir.join("csv").is_dir(),
        "OneRoster samples not found at {} (set ONEROSTER_SAMPLES to the samples folder)",
        dir.display()
    );
    dir.join("csv")
}

/// One sample package folder, e.g. `roster-hub-en`. Panics if it is not there.
pub fn set(name: &str) -> PathBuf {
    let path = csv_dir().join(name);
    assert!(
        path.is_dir(),
        "OneRoster samples not found at {}",
        path.display()
    );
    path
}
