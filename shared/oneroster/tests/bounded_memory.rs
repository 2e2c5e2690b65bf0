//! Memory is bounded by what is kept, not by what is read: validating and
//! streaming a package whose users.csv holds a 64 MiB field, or millions of
//! rejected rows, stays within a few MiB of heap, counted by this binary's
//! own allocator. Its own test binary, with one test, so that no other
//! test's allocations are counted.

use oneroster::{validate_package, EntityKind, ValidationOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes held now and the most held since
/// the last [`reset_peak`].
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let held = HELD.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(held, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn reset_peak() -> usize {
    let held = HELD.load(Ordering::Relaxed);
    PEAK.store(held, Ordering::Relaxed);
    held
}

const FIELD_BYTES: usize = 64 * 1024 * 1024;
/// Heap the whole validation and stream may add, far under the field's size:
/// the reader's fixed buffers, the batches in flight and the id tables, which
/// are sized from the file's length.
const HEAP_BOUND: usize = 32 * 1024 * 1024;

/// Writes users.csv with a `FIELD_BYTES` given name on line 3, in 1 MiB pieces
/// of letters that do not compress far (the zip's ratio guard stays quiet).
fn write_users(path: &Path) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(b"sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n").unwrap();
    file.write_all(b"u1,,,true,s1,teacher,u1,,Ann,One,,,a@d.example,,,,,\n")
        .unwrap();
    file.write_all(b"u2,,,true,s1,teacher,u2,,\"").unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut piece = vec![0u8; 1024 * 1024];
    for _ in 0..FIELD_BYTES / piece.len() {
        for byte in piece.iter_mut() {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            *byte = b'a' + (state >> 59) as u8 % 26;
        }
        file.write_all(&piece).unwrap();
    }
    file.write_all(b"\",Two,,,b@d.example,,,,,\n").unwrap();
    file.write_all(b"u3,,,true,s1,teacher,u3,,Cy,Three,,,c@d.example,,,,,\n")
        .unwrap();
    file.flush().unwrap();
}

fn write_package(dir: &Path) {
    std::fs::write(
        dir.join("manifest.csv"),
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("orgs.csv"),
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\ns1,,,School,school,,\n",
    )
    .unwrap();
    write_users(&dir.join("users.csv"));
}

/// Validates and streams the package at `path`; the heap it added at its peak.
fn peak_heap_of_validate_and_stream(path: &Path) -> usize {
    let before = reset_peak();
    let validation = validate_package(path, &ValidationOptions::default());
    let report = &validation.report;
    assert!(report.ok, "{:?}", report.fatal().collect::<Vec<_>>());
    let users = &report.files["users"];
    assert_eq!((users.accepted, users.rejected), (2, 1));
    let first = &report.errors[0];
    assert_eq!(
        (first.code.name(), first.line),
        ("record_too_long", Some(3)),
        "{first:?}"
    );
    let package = validation.package.expect("applicable");
    // The too-long row still names its record: it is rejected, not absent.
    let outcome = package.outcome(EntityKind::Users).unwrap();
    assert!(outcome.rejected_ids.contains("u2"));
    let mut streamed = Vec::new();
    package
        .for_each_row(EntityKind::Users, |item| {
            streamed.push(format!("{item:?}").len());
            Ok::<(), oneroster::ReadError>(())
        })
        .unwrap();
    assert_eq!(streamed.len(), 2);
    PEAK.load(Ordering::Relaxed) - before
}

/// Rejected rows of two bytes each (`,` and a line break: no sourcedId).
const REJECTED_ROWS: usize = 1_500_000;

/// Validates and streams users.csv of `REJECTED_ROWS` rejected rows and one
/// good one; the heap it added at its peak.
fn peak_heap_of_rejected_rows(dir: &Path) -> usize {
    let mut users = std::fs::read_to_string(dir.join("users.csv")).unwrap();
    users.truncate(users.find('\n').unwrap() + 1);
    users.push_str("u1,,,true,s1,teacher,u1,,Ann,One,,,a@d.example,,,,,\n");
    users.push_str(&",\n".repeat(REJECTED_ROWS));
    std::fs::write(dir.join("users.csv"), users).unwrap();
    let before = reset_peak();
    let validation = validate_package(dir, &ValidationOptions::default());
    let summary = &validation.report.files["users"];
    assert_eq!(
        (summary.accepted, summary.rejected),
        (1, REJECTED_ROWS as u64)
    );
    let package = validation.package.expect("applicable");
    let mut streamed = 0;
    package
        .for_each_row(EntityKind::Users, |_| {
            streamed += 1;
            Ok::<(), oneroster::ReadError>(())
        })
        .unwrap();
    assert_eq!(streamed, 1);
    PEAK.load(Ordering::Relaxed) - before
}

#[test]
fn a_64_mib_field_or_millions_of_rejected_rows_are_read_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("export");
    std::fs::create_dir(&folder).unwrap();
    write_package(&folder);
    let zip = dir.path().join("export.zip");
    testkit::zip::zip_folder(&folder, &zip);

    for path in [&folder, &zip] {
        let peak = peak_heap_of_validate_and_stream(path);
        eprintln!("{}: peak heap added {peak} bytes", path.display());
        assert!(
            peak < HEAP_BOUND,
            "{}: {peak} bytes of heap for a {FIELD_BYTES}-byte field",
            path.display()
        );
    }
    let peak = peak_heap_of_rejected_rows(&folder);
    eprintln!("{REJECTED_ROWS} rejected rows: peak heap added {peak} bytes");
    assert!(
        peak < HEAP_BOUND,
        "{peak} bytes of heap for {REJECTED_ROWS} rejected rows"
    );
}
