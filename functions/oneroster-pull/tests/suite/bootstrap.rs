//! The real `oneroster-pull` binary (its `main`) under the Lambda Runtime API
//! emulator: events it is not wired to receive fail their invocation with
//! what was wrong, and the same process goes on to the next event.

use serde_json::json;
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::runtime_api::RuntimeApi;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_binary_fails_events_it_cannot_handle_and_goes_on() {
    let store = crate::common::dynamo_store().await;
    let api = RuntimeApi::start("oneroster-pull");
    let tmp = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_oneroster-pull"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "oneroster-pull")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    let mut child = testkit::aws_env(&mut command)
        .env("ROSTER_TABLE", store.table())
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the oneroster-pull binary starts");
    let s3 = testkit::events::s3_event("b", "inbound/d1/a.zip", None, None);
    let cases = [
        (json!({"Records": []}), "`Records` is empty".to_string()),
        (
            s3,
            "records from `aws:s3` (this function takes a schedule's `{\"tenant\": ...}` and `aws:sqs`)".into(),
        ),
        (
            json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "not json"}]}),
            "SQS record 0 (message m1): not a pull request: expected ident".into(),
        ),
        (
            json!({"mode": "full"}),
            "not a pull request `{\"tenant\": ..., \"mode\": ...}`: missing field `tenant`".into(),
        ),
    ];
    for (event, why) in cases {
        let posted = api.invoke(event.clone(), Duration::from_secs(60));
        let posted = posted.unwrap_or_else(|e| panic!("{event}: {e}"));
        let message = posted.body["errorMessage"].as_str().unwrap_or_default();
        assert!(!posted.ok, "{event} was handled: {}", posted.body);
        assert!(
            message.contains(&format!("an event this function cannot handle: {why}")),
            "{event}: `{why}` expected in {}",
            posted.body
        );
    }
    // A well-formed request reaches the puller: this tenant is not configured.
    let posted = api.invoke(json!({"tenant": "nobody"}), Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    let posted = posted.unwrap();
    assert_eq!(
        (posted.ok, posted.body["errorType"].as_str()),
        (false, Some("Permanent")),
        "{}",
        posted.body
    );
    assert_eq!(
        posted.body["errorMessage"], "tenant `nobody` is not configured",
        "{}",
        posted.body
    );
}

/// An invalid `DEFAULT_PAUSE_WINDOW` stops the function at start-up, naming
/// the variable and its value, rather than being ignored.
#[test]
fn the_built_binary_refuses_to_start_with_an_invalid_default_pause_window() {
    let tmp = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_oneroster-pull"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Nothing listens here: the binary must stop before it asks.
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_LAMBDA_FUNCTION_NAME", "oneroster-pull")
        .env("ROSTER_TABLE", "roster")
        .env("DEFAULT_PAUSE_WINDOW", "12-20..01-32")
        .env("TMPDIR", tmp.path());
    let output = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("the oneroster-pull binary runs");
    let logs = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{logs}");
    assert!(
        logs.contains("DEFAULT_PAUSE_WINDOW") && logs.contains("12-20..01-32"),
        "{logs}"
    );
}
