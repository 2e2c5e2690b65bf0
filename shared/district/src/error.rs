//! The generator's error.

use std::io;
use std::path::{Path, PathBuf};

/// Failure while writing the package.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A file or directory could not be created or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`creating`, `writing`, ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A CSV file could not be written.
    #[error("writing CSV {file}: {source}")]
    Csv {
        /// The file (`archive.zip:entry.csv` for a zip entry).
        file: String,
        /// The CSV error.
        #[source]
        source: csv::Error,
    },
    /// The zip archive could not be written.
    #[error("writing zip archive {}: {source}", path.display())]
    Zip {
        /// The archive.
        path: PathBuf,
        /// The zip error.
        #[source]
        source: zip::result::ZipError,
    },
}

impl GenerateError {
    /// A [`GenerateError::Io`] about `path`.
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        GenerateError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}
