//! The pull with Secrets Manager and S3 behind a fault-injecting proxy
//! (testkit::moto_faults): throttling and server errors are retried and the
//! run completes; a secret that cannot be read for good is a `failed` run
//! naming the secret and the error, never its value.

use crate::common::*;
use crate::lambda::{deadline, event, setup, GOOD_SECRET};
use oneroster_pull::RequestedMode;
use roster::roles::*;
use roster::RunStatus;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::moto_faults::{Fault, MotoFaults, Op};
use testkit::runtime_api::RuntimeApi;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_secret_and_report_writes_are_retried_and_the_pull_completes() {
    let (mut puller, _server, _dir, secret) = setup(20, GOOD_SECRET, "the-secret").await;
    let faults = MotoFaults::start();
    puller.secrets = faults.secrets_client();
    let s3 = faults.s3_client();
    let bucket = unique("inbound");
    testkit::s3_client()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    puller.run_files = Some(oneroster_pull::RunFilesBucket {
        s3,
        bucket: bucket.clone(),
    });
    faults.inject(Op::GetSecretValue, &secret, Fault::throttling(), 1);
    faults.inject(
        Op::GetSecretValue,
        &secret,
        Fault::error(500, "InternalServiceError"),
        1,
    );
    faults.inject(Op::PutObject, "report.json", Fault::slow_down(), 1);
    faults.inject(Op::PutObject, "report.html", Fault::Reset, 1);
    let run = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .expect("the SDK's retries absorb them");
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(faults.injected(Op::GetSecretValue, &secret), 2);
    assert_eq!(
        faults.requests(Op::GetSecretValue, &secret),
        3,
        "two retries"
    );
    for file in ["report.json", "report.html"] {
        assert_eq!(faults.requests(Op::PutObject, file), 2, "{file}: one retry");
    }
    let mut keys: Vec<String> = testkit::s3_client()
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(String::from))
        .collect();
    keys.sort();
    let folder = format!("processed/d1/{}/", run.run_id);
    assert_eq!(
        keys,
        ["before.jsonl.gz", "report.html", "report.json"].map(|f| format!("{folder}{f}")),
        "the report once"
    );
}

/// Secrets Manager failing past the SDK's retries: the invocation fails as
/// retryable, nothing is pulled or recorded; the retry pulls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_unavailable_past_the_retries_fails_the_invocation_and_the_retry_pulls() {
    let (mut puller, _server, _dir, secret) = setup(20, GOOD_SECRET, "the-secret").await;
    let faults = MotoFaults::start();
    puller.secrets = faults.secrets_client();
    faults.always(
        Op::GetSecretValue,
        &secret,
        Fault::error(503, "ServiceUnavailable"),
    );
    let error = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .expect_err("the invocation fails");
    assert!(error.is_retryable(), "{error}");
    assert!(
        error.to_string().contains(&secret) && error.to_string().contains("ServiceUnavailable"),
        "{error}"
    );
    assert_eq!(faults.requests(Op::GetSecretValue, &secret), 3);
    assert!(puller
        .store
        .list_runs(Some("d1"), 5)
        .await
        .unwrap()
        .is_empty());
    faults.heal();
    let run = puller
        .handle(event(RequestedMode::Full), deadline())
        .await
        .expect("the retry");
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(
        puller.store.list_runs(Some("d1"), 5).await.unwrap().len(),
        1
    );
}

/// Refusals are not retried: a `failed` run names the secret and the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_refused_or_gone_is_a_failed_run_naming_it() {
    let (mut puller, _server, _dir, secret) = setup(20, GOOD_SECRET, "the-secret").await;
    let faults = MotoFaults::start();
    puller.secrets = faults.secrets_client();
    for code in ["AccessDeniedException", "ResourceNotFoundException"] {
        faults.heal();
        faults.always(Op::GetSecretValue, &secret, Fault::error(400, code));
        let before = faults.requests(Op::GetSecretValue, &secret);
        let run = puller
            .handle(event(RequestedMode::Full), deadline())
            .await
            .expect("a failed run, not an error");
        assert_eq!(run.status, RunStatus::Failed, "{code}");
        assert_eq!(
            run.message,
            format!("the secret `{secret}` cannot be read: {code}")
        );
        assert!(!run.message.contains("the-secret") && !run.message.contains("district-key"));
        assert_eq!(
            faults.requests(Op::GetSecretValue, &secret),
            before + 1,
            "not retried"
        );
        let stored = puller.store.get_run(&run.run_id).await.unwrap().unwrap();
        assert_eq!(stored.status, RunStatus::Failed);
    }
}

/// The real binary, its Secrets Manager through the proxy: the refused
/// secret is a `failed` run in the answer, and a log line names the
/// failure (the secret's name and the error), never the value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_binary_logs_an_unreadable_secret() {
    let (puller, _server, _dir, secret) = setup(20, GOOD_SECRET, "the-secret").await;
    let faults = MotoFaults::start();
    faults.always(
        Op::GetSecretValue,
        &secret,
        Fault::error(400, "AccessDeniedException"),
    );
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
    let child = testkit::aws_env(&mut command)
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &faults.endpoint)
        .env("ROSTER_TABLE", puller.store.table())
        .env("TENANT_SECRET_PREFIX", "roster/tenants/")
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the oneroster-pull binary starts");
    let posted = api.invoke(
        json!({"tenant": "d1", "mode": "full"}),
        Duration::from_secs(60),
    );
    let mut child = child;
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    let posted = posted.unwrap_or_else(|e| panic!("{e}; logs:\n{logs}"));
    assert!(posted.ok, "{}", posted.body);
    assert_eq!(posted.body[0]["status"], "failed", "{}", posted.body);
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "API secret unreadable: run failed"
                && l["error"]
                    .as_str()
                    .is_some_and(|e| e.contains(&secret) && e.contains("AccessDeniedException"))),
        "{logs}"
    );
    for value in ["the-secret", "district-key"] {
        assert!(!logs.contains(value), "`{value}` in the logs");
    }
}
