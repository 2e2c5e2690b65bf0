//! A generated district's zip (default 100,000 students) through the real
//! handler against the emulators (moto S3/SQS, DynamoDB Local): duration,
//! items written, peak RSS. Needs ROSTER_MOTO_ENDPOINT and
//! ROSTER_DYNAMODB_ENDPOINT (start them with infra/local/*.sh).
//! `cargo bench -p csv-ingest --bench ingest`; BENCH_STUDENTS overrides the size.

#[path = "../tests/suite/common.rs"]
mod common;

use csv_ingest::event::IngestEvent;
use roster::roles::*;
use std::time::{Duration, Instant};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    let students: u32 = std::env::var("BENCH_STUDENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let world = common::World::new().await;
        world.tenant("bench").await;
        let zip = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
            "../../target/bench-data/students-{students}-seed-1.zip"
        ));
        let zip = if zip.is_file() {
            zip
        } else {
            let folder = world.district("bench", students);
            world.zip_of(&folder)
        };
        let event = world.put_file("inbound/bench/district.zip", &zip).await;
        for (label, event) in [
            ("first load", event.clone()),
            (
                "re-upload (unchanged)",
                world.put_file("inbound/bench/district.zip", &zip).await,
            ),
        ] {
            let started = Instant::now();
            let out = world
                .ingest
                .handle(
                    serde_json::from_value::<IngestEvent>(event)
                        .unwrap()
                        .into_invocation()
                        .unwrap(),
                    Some(Instant::now() + Duration::from_secs(3600)),
                )
                .await
                .unwrap();
            let elapsed = started.elapsed();
            let run = world
                .ingest
                .store
                .get_run(out[0].run_id.as_deref().unwrap())
                .await
                .unwrap()
                .unwrap();
            println!(
                "{label}: {} in {:.1} s, items written {}, peak RSS so far {:.0} MiB",
                out[0].outcome,
                elapsed.as_secs_f64(),
                run.items_written,
                peak_rss_mib()
            );
        }
    });
}
