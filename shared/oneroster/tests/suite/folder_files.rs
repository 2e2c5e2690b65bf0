//! A package folder holds regular files only: a symbolic link, a named pipe,
//! a device or a folder where a CSV file should be is refused before it is
//! read, and every read of a folder file is bounded. Each test finishes in
//! well under a second on the new code; a hang of the old code fails it
//! after [`PATIENCE`].

use crate::common::*;
use oneroster::report::IssueCode;
use oneroster::{validate_package, ArchiveLimits, EntityKind, Validation, ValidationOptions};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// How long a validation may take before the test calls it a hang.
const PATIENCE: Duration = Duration::from_secs(10);

/// Runs `work` on a thread and fails the test if it does not finish in time
/// (the thread is left behind: a hung read cannot be interrupted).
fn within_patience<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("{what} did not finish in {PATIENCE:?}: it hangs"))
}

fn validate(folder: PathBuf) -> Validation {
    let shown = folder.display().to_string();
    within_patience(&format!("validating {shown}"), move || {
        validate_package(&folder, &ValidationOptions::default())
    })
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// The one fatal finding, with its message.
fn refused(v: &Validation) -> &str {
    assert!(!v.report.ok, "accepted: {:#?}", v.report);
    assert_eq!(error_codes(v), vec![IssueCode::NotARegularFile]);
    &v.report.errors[0].message
}

#[test]
fn a_symbolic_link_to_dev_zero_is_refused_without_reading_it() {
    let fixture = Fixture::valid().without("demographics.csv");
    let folder = fixture.folder();
    std::os::unix::fs::symlink("/dev/zero", folder.join("demographics.csv")).unwrap();
    let v = validate(folder);
    let message = refused(&v);
    assert!(
        message.contains(
            "`demographics.csv` is a symbolic link; a package folder holds regular files only"
        ),
        "{message}"
    );
    assert_eq!(
        v.report.errors[0].value.as_deref(),
        Some("demographics.csv")
    );
}

#[test]
fn a_symbolic_link_to_a_valid_file_is_refused_too() {
    let fixture = Fixture::valid();
    let folder = fixture.folder();
    let elsewhere = fixture.root.join("users-real.csv");
    std::fs::rename(folder.join("users.csv"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, folder.join("users.csv")).unwrap();
    let v = validate(folder);
    assert!(refused(&v).contains("`users.csv` is a symbolic link"));
}

#[test]
fn a_named_pipe_is_refused_without_waiting_for_a_writer() {
    let fixture = Fixture::valid().without("enrollments.csv");
    let folder = fixture.folder();
    mkfifo(&folder.join("enrollments.csv"));
    let v = validate(folder);
    assert!(
        refused(&v).contains("`enrollments.csv` is a named pipe (FIFO)"),
        "{}",
        v.report.errors[0].message
    );
}

#[test]
fn a_folder_named_like_a_oneroster_file_is_refused() {
    let fixture = Fixture::valid().without("users.csv");
    let folder = fixture.folder();
    std::fs::create_dir(folder.join("users.csv")).unwrap();
    let v = validate(folder);
    assert!(refused(&v).contains("`users.csv` is a folder"));
}

#[test]
fn a_hidden_or_non_csv_special_file_is_never_read_and_not_fatal() {
    let fixture = Fixture::valid();
    let folder = fixture.folder();
    std::os::unix::fs::symlink("/dev/zero", folder.join(".users.csv")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", folder.join("notes.txt")).unwrap();
    mkfifo(&folder.join("pipe"));
    std::fs::create_dir(folder.join("old")).unwrap();
    let v = validate(folder);
    assert!(v.report.ok, "{:#?}", v.report.errors);
    assert_eq!(v.report.error_count, 0);
}

#[test]
fn a_file_replaced_by_a_link_or_a_pipe_after_validation_fails_its_read_at_once() {
    let fixture = Fixture::valid();
    let folder = fixture.folder();
    let validation = validate(folder.clone());
    let package = validation.package.expect("accepted");

    let users = folder.join("users.csv");
    std::fs::remove_file(&users).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &users).unwrap();
    let (package, error) = within_patience("pass 2 over a link to /dev/zero", move || {
        let error = package
            .for_each_row(EntityKind::Users, |_| Ok::<(), oneroster::ReadError>(()))
            .unwrap_err()
            .to_string();
        (package, error)
    });
    assert!(error.contains("symbolic link"), "{error}");

    std::fs::remove_file(&users).unwrap();
    mkfifo(&users);
    let error = within_patience("pass 2 over a named pipe", move || {
        package
            .for_each_row(EntityKind::Users, |_| Ok::<(), oneroster::ReadError>(()))
            .unwrap_err()
            .to_string()
    });
    assert!(error.contains("named pipe"), "{error}");
}

#[test]
fn a_file_that_grows_after_validation_is_not_read() {
    let fixture = Fixture::valid();
    let folder = fixture.folder();
    let size = |name: &str| std::fs::metadata(folder.join(name)).unwrap().len();
    let total: u64 = fixture.files.iter().map(|(name, _)| size(name)).sum();
    let options = ValidationOptions {
        limits: ArchiveLimits {
            max_uncompressed_bytes: total,
            ..ArchiveLimits::default()
        },
        ..ValidationOptions::default()
    };
    let validation = validate_package(&folder, &options);
    assert!(validation.report.ok, "{:#?}", validation.report.errors);
    let package = validation.package.as_ref().expect("accepted");
    // One byte more than listed, well under the package limit: not read.
    let listed = size("users.csv");
    let mut grown = std::fs::read(folder.join("users.csv")).unwrap();
    grown.push(b'\n');
    std::fs::write(folder.join("users.csv"), &grown).unwrap();
    let error = package
        .for_each_row(EntityKind::Users, |_| Ok::<(), oneroster::ReadError>(()))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!(
            "changed since the package was read: {} bytes now, {listed} then",
            listed + 1
        )),
        "{error}"
    );
}

#[test]
fn a_large_manifest_counts_toward_the_folder_limit() {
    let fixture = Fixture::valid();
    let folder = fixture.folder();
    let csvs: u64 = fixture
        .files
        .iter()
        .filter(|(name, _)| name != "manifest.csv")
        .map(|(name, _)| std::fs::metadata(folder.join(name)).unwrap().len())
        .sum();
    let options = ValidationOptions {
        limits: ArchiveLimits {
            max_uncompressed_bytes: csvs,
            ..ArchiveLimits::default()
        },
        ..ValidationOptions::default()
    };
    let v = validate_package(&folder, &options);
    assert_eq!(error_codes(&v), vec![IssueCode::ArchiveTooLarge]);
}

#[test]
fn a_symbolic_link_entry_in_a_zip_is_refused() {
    use std::io::Write;
    let fixture = Fixture::valid();
    let path = fixture.root.join("links.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in fixture.files.iter().filter(|(n, _)| n != "users.csv") {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.add_symlink("users.csv", "/dev/zero", options).unwrap();
    zip.finish().unwrap();
    let v = validate_package(&path, &ValidationOptions::default());
    let message = refused(&v);
    assert!(
        message.contains("archive entry `users.csv` is a symbolic link"),
        "{message}"
    );
}

#[test]
fn a_package_path_that_is_a_named_pipe_is_not_a_package() {
    let fixture = Fixture::empty();
    let pipe = fixture.root.join("export.zip");
    mkfifo(&pipe);
    let v = within_patience("validating a named pipe", move || {
        validate_package(&pipe, &ValidationOptions::default())
    });
    assert_eq!(error_codes(&v), vec![IssueCode::NotAPackage]);
}
