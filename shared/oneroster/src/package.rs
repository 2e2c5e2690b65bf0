//! Opening a package: a `.zip` or a folder of loose CSV files. Finds
//! `manifest.csv`, lists the CSV files beside it, and refuses unsafe archives
//! (path traversal, nested archives, zip bombs) before anything is read.

use crate::report::{codes, Issue, Severity, PACKAGE_FILE};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

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
    Folder(PathBuf),
    Zip(PathBuf),
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

fn fatal(code: &'static str, message: impl Into<String>) -> Issue {
    Issue::new(Severity::Fatal, PACKAGE_FILE, code, message)
}

fn ignored(name: &str, why: &str) -> Issue {
    Issue::new(
        Severity::Warning,
        PACKAGE_FILE,
        codes::IGNORED_ENTRY,
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
                codes::IO,
                format!("cannot read `{}`: {e}", path.display()),
            )],
            warnings: Vec::new(),
        };
        let meta = std::fs::metadata(path).map_err(io_failure)?;
        if meta.is_dir() {
            Self::open_folder(path, limits).map_err(io_failure)?
        } else if is_zip(path).map_err(io_failure)? {
            Self::open_zip(path, limits)
        } else if extension(&path.to_string_lossy()) == "csv" {
            Err(OpenFailure {
                fatal: vec![fatal(
                    codes::NOT_A_PACKAGE,
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
                    codes::NOT_A_PACKAGE,
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
        let mut files = BTreeMap::new();
        let mut manifest = None;
        let mut names: Vec<(String, u64, bool)> = Vec::new();
        for item in std::fs::read_dir(dir)? {
            let item = item?;
            let meta = item.metadata()?;
            let name = item.file_name().to_string_lossy().into_owned();
            names.push((name, meta.len(), meta.is_dir()));
        }
        names.sort();
        for (name, size, is_dir) in names {
            if is_dir {
                warnings.push(ignored(&name, "sub-folders are not part of a package"));
                continue;
            }
            if name.starts_with('.') {
                continue;
            }
            let entry = Entry {
                name: name.clone(),
                size,
            };
            match extension(&name).as_str() {
                "csv" if stem(&name) == "manifest" => manifest = Some(entry),
                "csv" => {
                    files.insert(stem(&name), entry);
                }
                _ => warnings.push(ignored(&name, "not a CSV file")),
            }
        }
        // Loose files have no compression ratio to check, but the same total:
        // a folder of huge CSVs is refused before a byte of it is read.
        let total: u64 = files.values().map(|e: &Entry| e.size).sum();
        if total > limits.max_uncompressed_bytes {
            return Ok(Err(OpenFailure {
                fatal: vec![fatal(
                    codes::ARCHIVE_TOO_LARGE,
                    format!(
                        "the CSV files hold {total} bytes; at most {} are accepted",
                        limits.max_uncompressed_bytes
                    ),
                )],
                warnings,
            }));
        }
        Ok(match manifest {
            Some(manifest) => Ok((
                Package {
                    source: Source::Folder(dir.to_path_buf()),
                    files,
                    manifest,
                },
                warnings,
            )),
            None => Err(OpenFailure {
                fatal: vec![manifest_missing(&dir.display().to_string())],
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
                codes::IO,
                format!("cannot read `{}`: {e}", path.display()),
            ))
        })?;
        let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
            fail(fatal(
                codes::NOT_A_PACKAGE,
                format!("`{}` is not a readable zip archive: {e}", path.display()),
            ))
        })?;
        if archive.len() > limits.max_entries {
            return Err(fail(fatal(
                codes::ARCHIVE_TOO_LARGE,
                format!(
                    "the archive has {} entries; at most {} are accepted",
                    archive.len(),
                    limits.max_entries
                ),
            )));
        }

        let mut fatals = Vec::new();
        let mut warnings = Vec::new();
        let mut csvs: Vec<(String, u64, u64)> = Vec::new();
        for i in 0..archive.len() {
            let entry = archive.by_index_raw(i).map_err(|e| {
                fail(fatal(
                    codes::NOT_A_PACKAGE,
                    format!("zip entry {i} cannot be read: {e}"),
                ))
            })?;
            let name = match entry.name() {
                Ok(name) => name.into_owned(),
                Err(e) => {
                    fatals.push(fatal(
                        codes::UNSAFE_ENTRY_NAME,
                        format!("zip entry {i} has an unreadable name: {e}"),
                    ));
                    continue;
                }
            };
            let unsafe_name = name.starts_with('/')
                || name.starts_with('\\')
                || name.split(['/', '\\']).any(|part| part == "..")
                || name.as_bytes().get(1) == Some(&b':')
                || entry.enclosed_name().is_none();
            if unsafe_name {
                fatals.push(
                    fatal(
                        codes::UNSAFE_ENTRY_NAME,
                        format!(
                            "archive entry `{name}` has an absolute path or climbs out with `..`"
                        ),
                    )
                    .with_value(&name),
                );
                continue;
            }
            if entry.is_dir() {
                continue;
            }
            let base = name.rsplit('/').next().unwrap_or(&name).to_string();
            if name.starts_with("__MACOSX/") || base.starts_with('.') {
                continue;
            }
            let ext = extension(&base);
            if ARCHIVE_EXTENSIONS.contains(&ext.as_str()) {
                fatals.push(
                    fatal(
                        codes::NESTED_ARCHIVE,
                        format!("archive entry `{name}` is itself an archive; nested archives are not accepted"),
                    )
                    .with_value(&name),
                );
                continue;
            }
            if ext != "csv" {
                warnings.push(ignored(&name, "not a CSV file"));
                continue;
            }
            csvs.push((name, entry.size(), entry.compressed_size()));
        }

        let total: u64 = csvs.iter().map(|(_, size, _)| *size).sum();
        if total > limits.max_uncompressed_bytes {
            fatals.push(fatal(
                codes::ARCHIVE_TOO_LARGE,
                format!(
                    "the CSV files would expand to {total} bytes; at most {} are accepted",
                    limits.max_uncompressed_bytes
                ),
            ));
        }
        for (name, size, compressed) in &csvs {
            if *size > RATIO_CHECK_MIN_BYTES
                && *size / (*compressed).max(1) > limits.max_compression_ratio
            {
                fatals.push(
                    fatal(
                        codes::COMPRESSION_RATIO,
                        format!(
                            "archive entry `{name}` expands {}:1 ({compressed} to {size} bytes); more than {}:1 is refused as a likely zip bomb",
                            size / (*compressed).max(1),
                            limits.max_compression_ratio
                        ),
                    )
                    .with_value(name),
                );
            }
        }
        if !fatals.is_empty() {
            return Err(OpenFailure {
                fatal: fatals,
                warnings,
            });
        }

        // The manifest may sit at the root or in one folder; its folder is the package.
        let manifest = csvs
            .iter()
            .filter(|(name, _, _)| stem(name) == "manifest")
            .min_by_key(|(name, _, _)| name.matches('/').count());
        let Some((manifest_name, manifest_size, _)) = manifest.cloned() else {
            return Err(OpenFailure {
                fatal: vec![manifest_missing(&path.display().to_string())],
                warnings,
            });
        };
        let prefix = match manifest_name.rfind('/') {
            Some(pos) => manifest_name[..=pos].to_string(),
            None => String::new(),
        };
        let mut files = BTreeMap::new();
        for (name, size, _) in csvs {
            if name == manifest_name {
                continue;
            }
            match name.strip_prefix(&prefix) {
                Some(rest) if !rest.contains('/') => {
                    files.insert(stem(rest), Entry { name, size });
                }
                _ => warnings.push(ignored(&name, "not in the folder that holds manifest.csv")),
            }
        }
        Ok((
            Package {
                source: Source::Zip(path.to_path_buf()),
                files,
                manifest: Entry {
                    name: manifest_name,
                    size: manifest_size,
                },
            },
            warnings,
        ))
    }

    /// Streams one file of the package through `read`. Zip entries are
    /// decompressed on the fly and may not exceed their declared size.
    pub(crate) fn with_entry<T>(
        &self,
        entry: &Entry,
        read: impl FnOnce(&mut (dyn Read + Send)) -> T,
    ) -> io::Result<T> {
        match &self.source {
            Source::Folder(dir) => {
                let mut file = File::open(dir.join(&entry.name))?;
                Ok(read(&mut file))
            }
            Source::Zip(path) => {
                let mut archive = zip::ZipArchive::new(BufReader::new(File::open(path)?))
                    .map_err(io::Error::other)?;
                let zipped = archive.by_name(&entry.name).map_err(io::Error::other)?;
                let mut bounded = SizeBound {
                    inner: zipped,
                    remaining: entry.size,
                };
                Ok(read(&mut bounded))
            }
        }
    }
}

fn manifest_missing(where_: &str) -> Issue {
    fatal(
        codes::MANIFEST_MISSING,
        format!("no manifest.csv in `{where_}`; every OneRoster 1.1 package starts with manifest.csv (propertyName,value)"),
    )
}

/// Fails a read that goes past the entry's declared size (a lying zip header).
struct SizeBound<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for SizeBound<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.remaining {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "entry decompresses to more bytes than its header declares",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}
