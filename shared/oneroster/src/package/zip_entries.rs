//! A zip archive's CSV entries: listed and checked (names, links, nested
//! archives, sizes), and placed in the folder that holds `manifest.csv`.

use super::{
    extension, fatal, ignored, manifest_missing, stem, ArchiveLimits, Entry, OpenFailure, Package,
    Source, ARCHIVE_EXTENSIONS, RATIO_CHECK_MIN_BYTES,
};
use crate::report::{Issue, IssueCode};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;

/// The CSV entries of a zip archive: (name, size, compressed size). Entries
/// that must refuse the package (an unsafe name, a link, a nested archive)
/// add to `fatals`; others that are not CSV files, to `warnings`. `Err`
/// when the archive cannot be read.
pub(super) fn zip_csv_entries<R: Read + io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    fatals: &mut Vec<Issue>,
    warnings: &mut Vec<Issue>,
) -> Result<Vec<(String, u64, u64)>, OpenFailure> {
    let mut csvs = Vec::new();
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| OpenFailure {
            fatal: vec![fatal(
                IssueCode::NotAPackage,
                format!("zip entry {i} cannot be read: {e}"),
            )],
            warnings: Vec::new(),
        })?;
        let name = match entry.name() {
            Ok(name) => name.into_owned(),
            Err(e) => {
                fatals.push(fatal(
                    IssueCode::UnsafeEntryName,
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
                    IssueCode::UnsafeEntryName,
                    format!("archive entry `{name}` has an absolute path or climbs out with `..`"),
                )
                .with_value(&name),
            );
            continue;
        }
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() && extension(&name) == "csv" {
            // Its bytes are the link's target, not a file: refused as a folder's link is.
            fatals.push(
                fatal(
                    IssueCode::NotARegularFile,
                    format!("archive entry `{name}` is a symbolic link; a package holds regular files only"),
                )
                .with_value(&name),
            );
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
                    IssueCode::NestedArchive,
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
    Ok(csvs)
}

/// Refuses CSV entries that expand past the limits: all of them together,
/// or one far more than real CSV data compresses.
pub(super) fn check_zip_sizes(
    csvs: &[(String, u64, u64)],
    limits: &ArchiveLimits,
    fatals: &mut Vec<Issue>,
) {
    let total: u64 = csvs.iter().map(|(_, size, _)| *size).sum();
    if total > limits.max_uncompressed_bytes {
        fatals.push(fatal(
            IssueCode::ArchiveTooLarge,
            format!(
                "the CSV files would expand to {total} bytes; at most {} are accepted",
                limits.max_uncompressed_bytes
            ),
        ));
    }
    for (name, size, compressed) in csvs {
        if *size > RATIO_CHECK_MIN_BYTES
            && *size / (*compressed).max(1) > limits.max_compression_ratio
        {
            fatals.push(
                fatal(
                    IssueCode::CompressionRatio,
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
}

/// The package a checked zip's CSV entries make: the folder that holds
/// `manifest.csv` (at the root or in one folder), and its files.
pub(super) fn zip_package(
    path: &Path,
    limits: &ArchiveLimits,
    csvs: Vec<(String, u64, u64)>,
    mut warnings: Vec<Issue>,
) -> Result<(Package, Vec<Issue>), OpenFailure> {
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
            source: Source::Zip {
                path: path.to_path_buf(),
                max_ratio: limits.max_compression_ratio,
            },
            files,
            manifest: Entry {
                name: manifest_name,
                size: manifest_size,
            },
        },
        warnings,
    ))
}
