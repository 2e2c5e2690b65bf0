//! Lambda cold starts, measured: each function's release binary started N
//! times under the Runtime API emulator, against moto and DynamoDB Local
//! (`ROSTER_MOTO_ENDPOINT`, `ROSTER_DYNAMODB_ENDPOINT`). For each start: the
//! time from spawning the process to its first `GET /invocation/next` (init
//! done) and to the answer of its first invocation (served), then the same
//! invocation again (warm). Prints a Markdown table of medians and 90th
//! percentiles.
//!
//! Usage: `cold-start BIN_DIR [RUNS]` (infra/bench/cold-start.sh builds the
//! binaries and runs it; RUNS defaults to 20, after one start of each not counted).

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::runtime_api::RuntimeApi;

/// One function: its binary, its own environment, its first event.
struct Function {
    name: &'static str,
    first: &'static str,
    env: Vec<(&'static str, String)>,
    event: Value,
    /// Whether the answer is the one expected (not an error of setup).
    served: fn(&Value) -> bool,
}

/// Init, first invocation served, and the same invocation again (warm), of one start.
fn start_once(bin_dir: &Path, f: &Function, tmp: &Path) -> Result<[Duration; 3], String> {
    let api = RuntimeApi::start(f.name);
    let mut command = Command::new(bin_dir.join(f.name));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", f.name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", f.name),
        )
        .env("TMPDIR", tmp);
    testkit::aws_env(&mut command)
        .envs(f.env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("{} does not start: {e}", f.name))?;
    let posted = api.invoke(f.event.clone(), Duration::from_secs(30));
    let served = started.elapsed();
    let again = Instant::now();
    let second = api.invoke(f.event.clone(), Duration::from_secs(30));
    let warm = again.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    for posted in [posted, second] {
        let posted = posted.map_err(|e| format!("{}: {e}", f.name))?;
        if !posted.ok || !(f.served)(&posted.body) {
            return Err(format!(
                "{}: not served as expected: {}",
                f.name, posted.body
            ));
        }
    }
    let init = api
        .first_poll()
        .map(|t| t - started)
        .ok_or_else(|| format!("{}: answered without polling", f.name))?;
    Ok([init, served, warm])
}

/// The value at percentile `p` (nearest rank) of sorted `values`, in ms.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

async fn functions() -> Vec<Function> {
    let store = testkit::dynamo_store("cold").await;
    let tenant = roster::TenantConfig::new("bench").unwrap();
    roster::roles::Tenants::put_tenant(&store, &tenant)
        .await
        .expect("tenant stored");
    let bucket = testkit::unique("cold");
    testkit::s3_client()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket on moto");
    let redeem = testkit::unique("cold-redeem");
    testkit::create_secret(&redeem, "bench-redeem-secret").await;
    let table = store.table().to_string();
    let ticket = json!({"ticket": "no-such-ticket"}).to_string();
    vec![
        Function {
            name: "csv-ingest",
            first: "`{\"sweep\": true}`: S3 list, DynamoDB scan",
            env: vec![("ROSTER_TABLE", table.clone()), ("INBOUND_BUCKET", bucket)],
            event: json!({"sweep": true}),
            served: |body| body.is_array(),
        },
        Function {
            name: "oneroster-pull",
            first: "a tenant without the API connection: DynamoDB read, run record written",
            env: vec![("ROSTER_TABLE", table.clone())],
            event: json!({"tenant": "bench"}),
            served: |body| body[0]["status"] == "rejected",
        },
        Function {
            name: "sso-callback",
            first: "ticket redeem (unknown ticket): Secrets Manager read, DynamoDB delete",
            env: vec![
                ("ROSTER_TABLE", table),
                ("CLASSLINK_CLIENT_ID", "bench".into()),
                ("CLASSLINK_CLIENT_SECRET_ID", "unused".into()),
                ("REDEEM_SECRET_ID", redeem),
                (
                    "SSO_REDIRECT_URL",
                    "https://sso.example/sso/classlink/callback".into(),
                ),
                ("TEACHER_APP_URL", "https://app.example/".into()),
                ("ADMIN_PORTAL_URL", "https://admin.example/".into()),
            ],
            event: testkit::events::http_api_event(
                "POST",
                "/sso/tickets/redeem",
                "",
                json!({"host": "sso.example", "content-type": "application/json",
                       "authorization": "Bearer bench-redeem-secret"}),
                &[],
                Some(&ticket),
            ),
            // Authorised (the secret was read), the ticket unknown: not 401, not 503.
            served: |body| {
                body["statusCode"]
                    .as_u64()
                    .is_some_and(|s| (400..500).contains(&s) && s != 401)
            },
        },
    ]
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let bin_dir = PathBuf::from(args.next().ok_or("usage: cold-start BIN_DIR [RUNS]")?);
    let runs: usize = args
        .next()
        .map(|r| r.parse().map_err(|_| format!("RUNS `{r}` is not a number")))
        .transpose()?
        .unwrap_or(20);
    let functions = functions().await;
    let tmp = tempfile_dir()?;
    let mut times: Vec<[Vec<Duration>; 3]> = vec![Default::default(); functions.len()];
    // One start of each not counted (the binaries into the page cache), then
    // the functions in turn, so that a noisy minute falls on all of them.
    for round in 0..=runs {
        for (f, series) in functions.iter().zip(times.iter_mut()) {
            let measured = start_once(&bin_dir, f, &tmp)?;
            if round > 0 {
                for (values, value) in series.iter_mut().zip(measured) {
                    values.push(value);
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!(
        "{runs} cold starts each (binaries in `{}`), median / p90:\n",
        bin_dir.display()
    );
    println!("| function | binary | init done | first invocation served | the same again, warm | first invocation |");
    println!("|---|---:|---:|---:|---:|---|");
    for (f, mut series) in functions.iter().zip(times) {
        let size = std::fs::metadata(bin_dir.join(f.name)).map_or(0, |m| m.len());
        let cells: Vec<String> = series
            .iter_mut()
            .map(|values| {
                values.sort();
                format!(
                    "{:.1} / {:.1} ms",
                    percentile(values, 0.5),
                    percentile(values, 0.9)
                )
            })
            .collect();
        let mib = size as f64 / (1024.0 * 1024.0);
        println!(
            "| {} | {mib:.1} MiB | {} | {} |",
            f.name,
            cells.join(" | "),
            f.first
        );
    }
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(testkit::unique("cold-start"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}
