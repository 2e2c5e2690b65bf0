//! Benchmark of `validate` on a generated district (default 100,000 students).
//!
//! `cargo bench -p rosterctl --bench validate` generates the package once under
//! `target/bench-data/` (with the release `rosterctl generate`, in a child
//! process so its memory is not counted), then measures in this process:
//!
//! * the `csv` crate alone reading every file (the ceiling), and pass 1
//!   (`validate_package`, parse + validate) on the folder, in alternating
//!   pairs (with the median of the pairs' ratios),
//! * pass 1 on the zip,
//! * pass 2 (streaming every accepted row, as the sync engine will),
//!
//! and prints MB/s of CSV and the process's peak RSS (VmHWM). Results are
//! recorded by hand in docs/BENCHMARKS.md; no test depends on timings.
//! `BENCH_STUDENTS` and `BENCH_RUNS` override the size and repetitions.

use oneroster::{validate_package, EntityKind, ValidationOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn generate(students: u64, out: &Path) {
    if out.exists() {
        return;
    }
    let status = Command::new(env!("CARGO_BIN_EXE_rosterctl"))
        .args([
            "generate",
            "--students",
            &students.to_string(),
            "--seed",
            "1",
            "--out",
        ])
        .arg(out)
        .status()
        .expect("rosterctl generate runs");
    assert!(status.success(), "generate failed");
}

fn csv_bytes(folder: &Path) -> u64 {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != "manifest.csv")
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn measure(runs: u64, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

/// `f` and `g` timed in turn, `runs` times each (the first of each pair
/// alternating): their medians and the median of each pair's ratio `f / g`.
/// A pair's two runs are seconds apart, so a minute when the machine is
/// busier slows both sides of a pair, not one side of a whole series.
fn measure_pairs(runs: u64, mut f: impl FnMut(), mut g: impl FnMut()) -> (Duration, Duration, f64) {
    let time = |h: &mut dyn FnMut()| {
        let start = Instant::now();
        h();
        start.elapsed()
    };
    let mut fs = Vec::new();
    let mut gs = Vec::new();
    let mut ratios = Vec::new();
    for run in 0..runs {
        let (a, b) = if run % 2 == 0 {
            let a = time(&mut f);
            (a, time(&mut g))
        } else {
            let b = time(&mut g);
            (time(&mut f), b)
        };
        fs.push(a);
        gs.push(b);
        ratios.push(a.as_secs_f64() / b.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    (median(fs), median(gs), ratios[ratios.len() / 2])
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let students = env_u64("BENCH_STUDENTS", 100_000);
    let runs = env_u64("BENCH_RUNS", 5).max(1);
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    std::fs::create_dir_all(&data).unwrap();
    let folder = data.join(format!("students-{students}-seed-1"));
    let zip = data.join(format!("students-{students}-seed-1.zip"));
    generate(students, &folder);
    generate(students, &zip);
    let bytes = csv_bytes(&folder);
    let zip_bytes = std::fs::metadata(&zip).unwrap().len();
    println!(
        "package: {students} students, {:.1} MB of CSV ({:.1} MB zipped), {runs} runs each, median",
        bytes as f64 / 1e6,
        zip_bytes as f64 / 1e6
    );

    let options = ValidationOptions::default();
    let mut rows = 0;
    let (csv_only, pass1, ratio) = measure_pairs(
        runs,
        || {
            let mut record = csv::ByteRecord::new();
            let mut rows = 0u64;
            for entry in std::fs::read_dir(&folder).unwrap() {
                let mut reader = csv::Reader::from_path(entry.unwrap().path()).unwrap();
                while reader.read_byte_record(&mut record).unwrap() {
                    rows += 1;
                }
            }
            assert!(rows > 0);
        },
        || {
            let v = validate_package(&folder, &options);
            assert!(
                v.report.ok && v.report.error_count == 0,
                "{:?}",
                v.report.errors.first()
            );
            rows = v.report.files.values().map(|f| f.rows).sum::<u64>();
        },
    );
    println!(
        "csv crate alone (ByteRecord):   {:>8.0} ms {:>7.0} MB/s",
        csv_only.as_secs_f64() * 1e3,
        mbps(bytes, csv_only)
    );
    println!(
        "validate folder (pass 1):       {:>8.0} ms {:>7.0} MB/s  ({rows} rows)",
        pass1.as_secs_f64() * 1e3,
        mbps(bytes, pass1)
    );
    println!("  raw csv / pass 1, in pairs:   {ratio:>8.2}   (median of each pair's ratio)");

    let pass1_zip = measure(runs, || {
        let v = validate_package(&zip, &options);
        assert!(v.report.ok);
    });
    println!(
        "validate zip (pass 1, inflate): {:>8.0} ms {:>7.0} MB/s",
        pass1_zip.as_secs_f64() * 1e3,
        mbps(bytes, pass1_zip)
    );

    let validated = validate_package(&folder, &options).package.unwrap();
    let pass2 = measure(runs, || {
        let mut n = 0u64;
        for kind in EntityKind::ALL {
            validated
                .for_each_row(kind, |_| {
                    n += 1;
                    Ok::<(), oneroster::ReadError>(())
                })
                .unwrap();
        }
        assert!(n > 0);
    });
    println!(
        "stream accepted rows (pass 2):  {:>8.0} ms {:>7.0} MB/s",
        pass2.as_secs_f64() * 1e3,
        mbps(bytes, pass2)
    );
    println!(
        "peak RSS of this process:       {:>8.1} MiB",
        peak_rss_mib()
    );
}
