//! Opening a package: a `.zip` or a folder of loose CSV files. Finds
//! `manifest.csv`, lists the CSV files beside it, and refuses unsafe archives
//! (path traversal, nested archives, zip bombs) and anything but regular files
//! where a CSV file should be (symbolic links, named pipes, devices, folders)
//! before anything is read. Every read of a file is bounded.

use crate::report::{Issue, IssueCode, Severity, PACKAGE_FILE};
use std::collections::BTreeMap;
use std::fs::{File, FileType, OpenOptions};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

mod bounds;
mod other_format;
mod zip_entries;

pub(crate) use bounds::read_failure;
use bounds::{CountingReader, RatioBound, SizeBound};

use zip_entries::{check_zip_sizes, zip_csv_entries, zip_package};

/// Limits that keep a hostile or broken archive from exhausting the machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArchiveLimits {
    /// Largest total uncompressed size of the CSV entries.
    pub max_uncompressed_bytes: u64,
    /// Largest uncompressed/compressed ratio of an entry (checked for entries over 1 MiB).
    pub max_compression_ratio: u64,
    /// Most entries in an archive.
    pub max_entries: usize,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            // ClassLink packages of the largest districts are a few GB of CSV.
            max_uncompressed_bytes: 16 * 1024 * 1024 * 1024,
            // CSV text compresses 5-20x; 200x is far beyond any real export.
            max_compression_ratio: 200,
            max_entries: 1000,
        }
    }
}

const RATIO_CHECK_MIN_BYTES: u64 = 1024 * 1024;

const ARCHIVE_EXTENSIONS: [&str; 9] = ["zip", "gz", "tgz", "tar", "7z", "rar", "bz2", "xz", "zst"];

/// Where the package's bytes are.
#[derive(Debug, Clone)]
enum Source {
    /// Loose files in `dir`, each read up to the size it was listed with.
    Folder { dir: PathBuf },
    /// A zip archive, whose entries may not inflate past `max_ratio` to one
    /// of the compressed bytes actually read (see [`RatioBound`]).
    Zip { path: PathBuf, max_ratio: u64 },
}

/// One CSV file of the package.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Name as the package spells it (`users.csv`, or the zip entry path).
    pub(crate) name: String,
    /// Declared uncompressed size (zip) or file size (folder).
    pub(crate) size: u64,
}

/// An opened package whose layout has been checked. Files are read on demand,
/// as streams, as often as needed.
#[derive(Debug, Clone)]
pub struct Package {
    source: Source,
    /// CSV files beside the manifest, by lower-case stem (`users`).
    pub(crate) files: BTreeMap<String, Entry>,
    /// The manifest entry.
    pub(crate) manifest: Entry,
}

/// Why a package could not be opened: fatal findings, plus warnings seen so far.
#[derive(Debug)]
pub(crate) struct OpenFailure {
    pub(crate) fatal: Vec<Issue>,
    pub(crate) warnings: Vec<Issue>,
}

/// A folder's entries, sorted by name, each with its own metadata (not
/// what a symbolic link points to).
fn folder_entries(dir: &Path) -> io::Result<Vec<(String, std::fs::Metadata)>> {
    let mut names = Vec::new();
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let meta = item.metadata()?;
        names.push((item.file_name().to_string_lossy().into_owned(), meta));
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(names)
}

fn fatal(code: IssueCode, message: impl Into<String>) -> Issue {
    Issue::new(Severity::Fatal, PACKAGE_FILE, code, message)
}

fn ignored(name: &str, why: &str) -> Issue {
    Issue::new(
        Severity::Warning,
        PACKAGE_FILE,
        IssueCode::IgnoredEntry,
        format!("`{name}` ignored: {why}"),
    )
    .with_value(name)
}

fn extension(name: &str) -> String {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn stem(name: &str) -> String {
    Path::new(name)
        .file_stem()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// What a file that is not a regular file is, for messages.
fn file_kind(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// The fatal finding for a folder file named like a CSV file that is `kind`.
fn not_regular(name: &str, kind: &str) -> Issue {
    fatal(
        IssueCode::NotARegularFile,
        format!("`{name}` is {kind}; a package folder holds regular files only"),
    )
    .with_value(name)
}

fn is_zip(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path)?;
    let n = file.read(&mut magic)?;
    // A local file header, or the end-of-central-directory record of an empty archive.
    Ok(n == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06"))
}

impl Package {
    /// Opens the package at `path` (a `.zip` or a folder).
    pub(crate) fn open(
        path: &Path,
        limits: &ArchiveLimits,
    ) -> Result<(Package, Vec<Issue>), OpenFailure> {
        let io_failure = |e: io::Error| OpenFailure {
            fatal: vec![fatal(
                IssueCode::Io,
                format!("cannot read `{}`: {e}", path.display()),
            )],
            warnings: Vec::new(),
        };
        let meta = std::fs::metadata(path).map_err(io_failure)?;
        if meta.is_dir() {
            Self::open_folder(path, limits).map_err(io_failure)?
        } else if !meta.is_file() {
            // A named pipe or a device is not opened: either could block or never end.
            Err(OpenFailure {
                fatal: vec![fatal(
                    IssueCode::NotAPackage,
                    format!(
                        "`{}` is {}, not a zip archive or a folder",
                        path.display(),
                        file_kind(meta.file_type())
                    ),
                )],
                warnings: Vec::new(),
            })
        } else if is_zip(path).map_err(io_failure)? {
            Self::open_zip(path, limits)
        } else if extension(&path.to_string_lossy()) == "csv" {
            Err(OpenFailure {
                fatal: vec![fatal(
                    IssueCode::NotAPackage,
                    format!(
                        "`{}` is a single CSV file; a OneRoster package is a .zip or a folder holding manifest.csv and the CSV files — pass the folder",
                        path.display()
                    ),
                )],
                warnings: Vec::new(),
            })
        } else {
            Err(OpenFailure {
                fatal: vec![fatal(
                    IssueCode::NotAPackage,
                    format!(
                        "`{}` is neither a zip archive nor a folder of CSV files",
                        path.display()
                    ),
                )],
                warnings: Vec::new(),
            })
        }
    }

    fn open_folder(
        dir: &Path,
        limits: &ArchiveLimits,
    ) -> io::Result<Result<(Package, Vec<Issue>), OpenFailure>> {
        let mut warnings = Vec::new();
        let mut fatals = Vec::new();
        let mut files = BTreeMap::new();
        let mut manifest = None;
        for (name, meta) in folder_entries(dir)? {
            let csv = extension(&name) == "csv";
            if meta.is_dir() && !csv {
                warnings.push(ignored(&name, "sub-folders are not part of a package"));
                continue;
            }
            if name.starts_with('.') {
                continue;
            }
            if !csv {
                warnings.push(ignored(&name, "not a CSV file"));
                continue;
            }
            if !meta.is_file() {
                fatals.push(not_regular(&name, file_kind(meta.file_type())));
                continue;
            }
            let entry = Entry {
                name: name.clone(),
                size: meta.len(),
            };
            if stem(&name) == "manifest" {
                manifest = Some(entry);
            } else {
                files.insert(stem(&name), entry);
            }
        }
        // Loose files have no compression ratio to check, but the same total:
        // a folder of huge CSVs is refused before a byte of it is read.
        let total: u64 = files
            .values()
            .chain(manifest.as_ref())
            .map(|e: &Entry| e.size)
            .sum();
        if total > limits.max_uncompressed_bytes {
            fatals.push(fatal(
                IssueCode::ArchiveTooLarge,
                format!(
                    "the CSV files hold {total} bytes; at most {} are accepted",
                    limits.max_uncompressed_bytes
                ),
            ));
        }
        if !fatals.is_empty() {
            return Ok(Err(OpenFailure {
                fatal: fatals,
                warnings,
            }));
        }
        Ok(match manifest {
            Some(manifest) => Ok((
                Package {
                    source: Source::Folder {
                        dir: dir.to_path_buf(),
                    },
                    files,
                    manifest,
                },
                warnings,
            )),
            None => Err(OpenFailure {
                fatal: vec![no_manifest(
                    &Source::Folder {
                        dir: dir.to_path_buf(),
                    },
                    files.values(),
                    &dir.display().to_string(),
                )],
                warnings,
            }),
        })
    }

    fn open_zip(path: &Path, limits: &ArchiveLimits) -> Result<(Package, Vec<Issue>), OpenFailure> {
        let fail = |issue: Issue| OpenFailure {
            fatal: vec![issue],
            warnings: Vec::new(),
        };
        let file = File::open(path).map_err(|e| {
            fail(fatal(
                IssueCode::Io,
                format!("cannot read `{}`: {e}", path.display()),
            ))
        })?;
        let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
            fail(fatal(
                IssueCode::NotAPackage,
                format!("`{}` is not a readable zip archive: {e}", path.display()),
            ))
        })?;
        if archive.len() > limits.max_entries {
            return Err(fail(fatal(
                IssueCode::ArchiveTooLarge,
                format!(
                    "the archive has {} entries; at most {} are accepted",
                    archive.len(),
                    limits.max_entries
                ),
            )));
        }

        let mut fatals = Vec::new();
        let mut warnings = Vec::new();
        let csvs = zip_csv_entries(&mut archive, &mut fatals, &mut warnings)?;
        check_zip_sizes(&csvs, limits, &mut fatals);
        if !fatals.is_empty() {
            return Err(OpenFailure {
                fatal: fatals,
                warnings,
            });
        }
        let entries: Vec<Entry> = csvs
            .iter()
            .map(|(name, size, _)| Entry {
                name: name.clone(),
                size: *size,
            })
            .collect();
        zip_package(path, limits, csvs, warnings).map_err(|mut failure| {
            // Without a manifest, the files' headers may show another format.
            for issue in &mut failure.fatal {
                if issue.code == IssueCode::ManifestMissing {
                    let source = Source::Zip {
                        path: path.to_path_buf(),
                        max_ratio: limits.max_compression_ratio,
                    };
                    *issue = no_manifest(&source, entries.iter(), &path.display().to_string());
                }
            }
            failure
        })
    }

    /// Streams one file of the package through `read`. Zip entries are
    /// decompressed on the fly and may not exceed their declared size, nor
    /// inflate past the ratio limit to the compressed bytes really read (a
    /// [`RatioExceeded`](bounds::RatioExceeded) error; see [`read_failure`]).
    pub(crate) fn with_entry<T>(
        &self,
        entry: &Entry,
        read: impl FnOnce(&mut (dyn Read + Send)) -> T,
    ) -> io::Result<T> {
        self.source.with_entry(entry, read)
    }
}

impl Source {
    /// [`Package::with_entry`], from the package's bytes alone.
    fn with_entry<T>(
        &self,
        entry: &Entry,
        read: impl FnOnce(&mut (dyn Read + Send)) -> T,
    ) -> io::Result<T> {
        match self {
            Source::Folder { dir } => {
                // Bounded by the size listed when the folder was read (the
                // listing's total was held to the package limit): a file
                // that grew since is not read.
                let file = open_regular(&dir.join(&entry.name), entry.size)?;
                let mut bounded = SizeBound {
                    inner: file,
                    remaining: entry.size,
                    excess: "the file grew while it was read",
                };
                Ok(read(&mut bounded))
            }
            Source::Zip { path, max_ratio } => {
                let counting = CountingReader::new(BufReader::new(File::open(path)?));
                let consumed = counting.count.clone();
                let mut archive = zip::ZipArchive::new(counting).map_err(io::Error::other)?;
                let zipped = archive.by_name(&entry.name).map_err(io::Error::other)?;
                let mut bounded = RatioBound {
                    inner: SizeBound {
                        inner: zipped,
                        remaining: entry.size,
                        excess: "entry decompresses to more bytes than its header declares",
                    },
                    name: &entry.name,
                    max_ratio: *max_ratio,
                    start: consumed.load(Ordering::Relaxed),
                    consumed,
                    inflated: 0,
                };
                Ok(read(&mut bounded))
            }
        }
    }
}

/// The fatal finding for a package without `manifest.csv` at `where_`:
/// [`IssueCode::OtherFormat`] when the header lines of its CSV `files` show
/// another roster format, else [`IssueCode::ManifestMissing`].
fn no_manifest<'e>(source: &Source, files: impl Iterator<Item = &'e Entry>, where_: &str) -> Issue {
    let mut headers: Vec<(String, Vec<String>)> = other_format::limit(files)
        .filter_map(|entry| {
            let columns = source
                .with_entry(entry, |read| other_format::read_header(read))
                .ok()
                .flatten()?;
            Some((entry.name.clone(), columns))
        })
        .collect();
    // In name order, whichever order a zip lists them in.
    headers.sort_by_key(|(name, _)| name.to_ascii_lowercase());
    match other_format::recognise(&headers) {
        Some(recognition) => fatal(IssueCode::OtherFormat, recognition.message(where_)),
        None => manifest_missing(where_),
    }
}

fn manifest_missing(where_: &str) -> Issue {
    fatal(
        IssueCode::ManifestMissing,
        format!("no manifest.csv in `{where_}`; every OneRoster 1.1 package starts with manifest.csv (propertyName,value)"),
    )
}

/// Opens a folder file for reading, if it is still a regular file of at most
/// `listed` bytes: it was one when the folder was listed, but may have been
/// replaced since. The opened handle is what is checked, so nothing can be
/// swapped in between; on Unix a symbolic link is not followed, and a named
/// pipe does not block the open waiting for a writer.
fn open_regular(path: &Path, listed: u64) -> io::Result<File> {
    let changed = |kind: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it has become {kind} since the package was opened; a package folder holds regular files only"),
        )
    };
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    {
        let meta = std::fs::symlink_metadata(path)?;
        if !meta.is_file() {
            return Err(changed(file_kind(meta.file_type())));
        }
    }
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return changed("a symbolic link");
        }
        e
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(changed(file_kind(meta.file_type())));
    }
    if meta.len() > listed {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it changed since the package was read: {} bytes now, {listed} then",
                meta.len()
            ),
        ));
    }
    Ok(file)
}
