//! The real `csv-ingest` binary (its `main`) under a Lambda Runtime API
//! emulator written here: the binary asks for the next invocation, gets an
//! S3 event, and posts its response; the test checks the response, the
//! objects and the logs (JSON, an EMF line, no personal data).

use crate::common::*;
use serde_json::json;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use testkit::runtime_api::RuntimeApi;

/// The built binary under a Runtime API emulator, configured for `world`.
fn start_binary(world: &World, tmp: &std::path::Path) -> (RuntimeApi, Child) {
    start_binary_with(world, tmp, &[])
}

/// [`start_binary`] with more environment variables (an endpoint of its own for a service).
pub fn start_binary_with(
    world: &World,
    tmp: &std::path::Path,
    env: &[(&str, &str)],
) -> (RuntimeApi, Child) {
    let api = RuntimeApi::start("csv-ingest");
    let mut command = Command::new(env!("CARGO_BIN_EXE_csv-ingest"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "csv-ingest")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "3008")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/csv-ingest");
    let child = testkit::aws_env(&mut command)
        .env("ROSTER_TABLE", &world.ingest.config.table)
        .env("INBOUND_BUCKET", &world.bucket)
        .env("TMPDIR", tmp)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the csv-ingest binary starts");
    (api, child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_binary_processes_an_s3_event_through_the_runtime_api() {
    let world = World::new().await;
    world.tenant("d1").await;
    let zip = world.zip_of(&world.district("district", 30));
    let event = world.put_file("inbound/d1/My Export.zip", &zip).await;
    let tmp = tempfile::tempdir().unwrap();
    let (api, mut child) = start_binary(&world, tmp.path());
    let posted = api.invoke(event, Duration::from_secs(120));
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    let posted = posted.unwrap_or_else(|e| panic!("{e}; logs:\n{logs}"));
    let body = posted.body;
    assert!(posted.ok, "{body}\n{logs}");
    assert_eq!(body[0]["outcome"], "applied", "{body}");
    assert_eq!(body[0]["key"], "inbound/d1/My Export.zip");
    assert!(world.keys("inbound/").await.is_empty());

    // Logs: JSON lines, one EMF metrics line, ids and counts but no names or emails.
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "RosterBridge"),
        "EMF line missing:\n{logs}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "run finished" && l["tenant"] == "d1"),
        "summary line missing:\n{logs}"
    );
    let users = std::fs::read_to_string(world.dir.path().join("district/users.csv")).unwrap();
    let a_user: Vec<String> = csv::ReaderBuilder::new()
        .from_reader(users.as_bytes())
        .records()
        .nth(5)
        .unwrap()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    for personal in [&a_user[8], &a_user[9], &a_user[12]] {
        assert!(
            !personal.is_empty() && !logs.contains(personal.as_str()),
            "`{personal}` appears in the logs"
        );
    }
}

/// Events the function is not wired to receive fail their invocation with
/// what was wrong (the runtime decodes the typed event), and the same
/// process goes on to handle the next event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_binary_fails_events_it_cannot_handle_and_goes_on() {
    let world = World::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let (api, mut child) = start_binary(&world, tmp.path());
    let cases = [
        (json!({"Records": []}), "`Records` is empty"),
        (
            json!({"Records": [{"eventSource": "aws:dynamodb", "eventName": "INSERT"}]}),
            "records from `aws:dynamodb`",
        ),
        (
            json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "{}"}}]}),
            "record 0 has no `eventSource`",
        ),
        (
            json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "not json"}]}),
            "SQS record 0 (message m1): not a continuation message",
        ),
        (json!({"tenant": "d1"}), "an object with keys [\"tenant\"]"),
        (json!({"sweep": "yes"}), "`sweep` is \"yes\", not true"),
    ];
    for (event, why) in cases {
        let posted = api.invoke(event.clone(), Duration::from_secs(60));
        let posted = posted.unwrap_or_else(|e| panic!("{event}: {e}"));
        let message = posted.body["errorMessage"].as_str().unwrap_or_default();
        assert!(!posted.ok, "{event} was handled: {}", posted.body);
        // The runtime decodes the typed event, before the handler (docs/architecture.md).
        let error_type = posted.body["errorType"].as_str().unwrap_or_default();
        assert!(
            error_type.ends_with("lambda_runtime::deserializer::DeserializeError"),
            "{}",
            posted.body
        );
        assert!(
            message.contains("an event this function cannot handle") && message.contains(why),
            "{event}: `{why}` expected in {}",
            posted.body
        );
    }
    let posted = api.invoke(json!({"sweep": true}), Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    let posted = posted.unwrap();
    assert!(posted.ok, "the sweep after them fails: {}", posted.body);
}

/// An invalid `DEFAULT_PAUSE_WINDOW` stops the function at start-up, naming
/// the variable and its value, rather than being ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_binary_refuses_to_start_with_an_invalid_default_pause_window() {
    let world = World::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let (_api, mut child) = start_binary_with(
        &world,
        tmp.path(),
        &[("DEFAULT_PAUSE_WINDOW", "06-31..08-10")],
    );
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the binary started with an invalid DEFAULT_PAUSE_WINDOW");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(!status.success(), "{logs}");
    assert!(
        logs.contains("DEFAULT_PAUSE_WINDOW") && logs.contains("06-31..08-10"),
        "{logs}"
    );
}
