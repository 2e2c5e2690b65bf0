//! A first load with and without faults (issue #38), in one process on
//! DynamoDB Local (`ROSTER_DYNAMODB_ENDPOINT`; `infra/bench/faults.sh`
//! starts one): the generated district loaded into one table directly, then
//! into another through `testkit::faults` (throttling, 500s, half-unprocessed
//! batches, lost answers, latency), then a re-sync of the faulted table
//! without the proxy, which must write nothing. Both stores use the SDK's
//! default retry strategy (standard, 3 attempts, 1 s first backoff).
//!
//! `BENCH_STUDENTS` (default 100000), `BENCH_FAULT_RATE` (each kind's share
//! of requests, default 0.02), `BENCH_MAX_LATENCY_MS` (default 5),
//! `BENCH_DATA` (where the district is generated once; default
//! `target/bench-data`). Prints a Markdown table.

use roster::store::Tenants;
use roster::{Delivered, Engine, LocalArtifacts, RunRecord, RunSource, TenantConfig};
use roster_dynamodb::DynamoStore;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use testkit::faults::{dynamodb_client, FaultPlan, FaultProxy, Injected};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

/// The generated district, made once under `BENCH_DATA`.
fn district(students: u32) -> PathBuf {
    let data = std::env::var("BENCH_DATA").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data"),
        PathBuf::from,
    );
    let dir = data.join(format!("faults-{students}/district"));
    if !dir.join("users.csv").exists() {
        let options = district::GenerateOptions {
            students,
            seed: 1,
            rollovers: 0,
            oneroster: district::OneRosterVersion::V1p1,
        };
        district::generate(&options, &dir).expect("district generated");
    }
    dir
}

async fn store(endpoint: &str, table: &str) -> DynamoStore {
    let store = DynamoStore::new(dynamodb_client(endpoint, Duration::from_secs(1)), table);
    store.ensure_table().await.expect("table on DynamoDB Local");
    store
}

/// Syncs `path` into `store`, timed.
async fn sync(store: &DynamoStore, runs: &Path, path: &Path) -> (RunRecord, f64) {
    let tenant = TenantConfig::new("bench").unwrap();
    store.put_tenant(&tenant).await.expect("tenant saved");
    let artifacts = LocalArtifacts::new(runs.to_path_buf());
    let source = RunSource {
        kind: "csv".into(),
        reference: path.display().to_string(),
    };
    let start = Instant::now();
    let run = Engine::new(store, &artifacts)
        .sync_package(&tenant, path, source, Delivered::now(None))
        .await
        .expect("the sync completes");
    (run, start.elapsed().as_secs_f64())
}

fn row(name: &str, (run, seconds): &(RunRecord, f64), faults: Option<Injected>) -> String {
    let usage = run.store_usage.unwrap_or_default();
    let faults = faults.map_or("none".to_string(), |i| {
        format!(
            "{} of {} requests: {} throttled, {} 500s, {} half batches, {} lost answers",
            i.faults(),
            i.requests,
            i.throttled,
            i.server_errors,
            i.half_unprocessed,
            i.lost_answers
        )
    });
    format!(
        "| {name} | {} | {seconds:.1} s | {} | {} | {} | {faults} |",
        run.status.as_str(),
        run.items_written,
        usage.requests,
        usage.retries,
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let students: u32 = env_or("BENCH_STUDENTS", 100_000);
    let rate: f64 = env_or("BENCH_FAULT_RATE", 0.02);
    let latency: u64 = env_or("BENCH_MAX_LATENCY_MS", 5);
    let endpoint = testkit::dynamodb();
    let path = district(students);
    let runs = tempfile::tempdir().unwrap();
    let suffix = format!("{:08x}", rand::random::<u32>());

    let clean = store(&endpoint, &format!("bench-clean-{suffix}")).await;
    let clean_load = sync(&clean, runs.path(), &path).await;

    let plan = FaultPlan::mixed(38, rate, Duration::from_millis(latency));
    let proxy = FaultProxy::start(&endpoint, plan).await;
    let faulted = store(proxy.endpoint(), &format!("bench-faulted-{suffix}")).await;
    let before = proxy.injected();
    let faulted_load = sync(&faulted, runs.path(), &path).await;
    let after = proxy.injected();
    let injected = Injected {
        requests: after.requests - before.requests,
        throttled: after.throttled - before.throttled,
        server_errors: after.server_errors - before.server_errors,
        half_unprocessed: after.half_unprocessed - before.half_unprocessed,
        lost_answers: after.lost_answers - before.lost_answers,
    };
    let direct = store(&endpoint, faulted.table()).await;
    let resync = sync(&direct, runs.path(), &path).await;

    println!(
        "{students} students on DynamoDB Local; faults: each kind at {rate} of requests, up to {latency} ms added to each\n"
    );
    println!("| run | status | time | items written | requests | retries | faults injected |");
    println!("|---|---|---:|---:|---:|---:|---|");
    println!("{}", row("first load, no faults", &clean_load, None));
    println!(
        "{}",
        row("first load, faults", &faulted_load, Some(injected))
    );
    println!(
        "{}",
        row("re-sync of the faulted table, no faults", &resync, None)
    );
    println!(
        "\nfaulted / clean first load: {:.2}x",
        faulted_load.1 / clean_load.1
    );
    assert_eq!(
        faulted_load.0.items_written, clean_load.0.items_written,
        "the faulted load wrote what the clean one did"
    );
    assert_eq!(resync.0.items_written, 0, "the faulted table is complete");
}
