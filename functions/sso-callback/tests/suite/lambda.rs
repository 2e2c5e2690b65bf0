//! The real `sso-callback` binary under a Lambda Runtime API emulator, fed
//! API Gateway HTTP API (payload 2.0) events: `lambda_http` carries requests
//! to the router and responses (headers, cookies, bodies) back, and the
//! Lambda request id becomes the support reference.

use crate::common::*;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::runtime_api::RuntimeApi;

fn http_event(method: &str, path: &str, query: &str, headers: Value, body: Option<&str>) -> Value {
    testkit::events::http_api_event(method, path, query, headers, &[], body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_binary_serves_http_api_events_through_the_runtime_api() {
    let h = Harness::start().await;
    // A ticket from a sign-in through the harness, for the binary to redeem.
    let response = h.sign_in("teacher").await;
    let ticket = ticket_of(&location(&response), TEACHER_APP);

    let api = RuntimeApi::start("sso-callback");
    let mut command = Command::new(env!("CARGO_BIN_EXE_sso-callback"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "sso-callback")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/sso-callback");
    let mut child = testkit::aws_env(&mut command)
        .env("ROSTER_TABLE", h.store.table())
        .env("CLASSLINK_ISSUER", &h.config.issuer)
        .env("CLASSLINK_USERINFO_URL", h.config.userinfo_url.as_str())
        .env("CLASSLINK_CLIENT_ID", &h.config.client_id)
        .env("CLASSLINK_CLIENT_SECRET_ID", &h.config.client_secret_id)
        .env("REDEEM_SECRET_ID", &h.config.redeem_secret_id)
        .env("SSO_REDIRECT_URL", h.config.redirect_url.as_str())
        .env("TEACHER_APP_URL", TEACHER_APP)
        .env("ADMIN_PORTAL_URL", ADMIN_PORTAL)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sso-callback binary starts");
    let timeout = Duration::from_secs(60);
    let health = api.invoke(
        http_event("GET", "/healthz", "", json!({"host": "sso.example"}), None),
        timeout,
    );
    let launch = api.invoke(
        http_event(
            "GET",
            "/sso/classlink/launch",
            "code=unsolicited",
            json!({"host": "sso.example"}),
            None,
        ),
        timeout,
    );
    let body = json!({ "ticket": ticket }).to_string();
    let redeem = api.invoke(
        http_event(
            "POST",
            "/sso/tickets/redeem",
            "",
            json!({"host": "sso.example", "content-type": "application/json", "authorization": format!("Bearer {}", h.redeem_secret)}),
            Some(&body),
        ),
        timeout,
    );
    // A callback nobody started: refused, audited, and counted for the dashboard.
    let stray = api.invoke(
        http_event(
            "GET",
            "/sso/classlink/callback",
            "code=stray&state=nobody-started-this",
            json!({"host": "sso.example"}),
            None,
        ),
        timeout,
    );
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);

    let health = health.unwrap_or_else(|e| panic!("{e}; logs:\n{logs}"));
    assert!(health.ok, "{:?}\n{logs}", health.body);
    assert_eq!(health.body["statusCode"], 200);
    assert_eq!(health.body["headers"]["cache-control"], "no-store");
    assert_eq!(health.body["headers"]["referrer-policy"], "no-referrer");
    assert_eq!(
        health.body["headers"]["x-request-id"], "req-1",
        "the Lambda request id is the support reference"
    );
    let health_body: Value = serde_json::from_str(health.body["body"].as_str().unwrap()).unwrap();
    assert_eq!(health_body["status"], "ok");

    let launch = launch.unwrap_or_else(|e| panic!("{e}; logs:\n{logs}"));
    assert_eq!(launch.body["statusCode"], 303, "{:?}", launch.body);
    let to = launch.body["headers"]["location"].as_str().unwrap();
    assert!(
        to.starts_with(&format!("{}/oauth2/v2/auth?", h.provider.url)),
        "{to}"
    );
    assert!(to.contains("code_challenge_method=S256"), "{to}");
    let cookies = launch.body["cookies"]
        .as_array()
        .expect("cookies (payload 2.0)");
    assert!(cookies
        .iter()
        .any(|c| c.as_str().unwrap().starts_with("__Host-sso_login=")));

    let redeem = redeem.unwrap_or_else(|e| panic!("{e}; logs:\n{logs}"));
    assert_eq!(redeem.body["statusCode"], 200, "{:?}", redeem.body);
    let identity: Value = serde_json::from_str(redeem.body["body"].as_str().unwrap()).unwrap();
    assert_eq!(identity["sourced_id"], "t1");
    assert_eq!(identity["classes"], json!(["c1"]));

    let stray = stray.unwrap_or_else(|e| panic!("{e}; logs:\n{logs}"));
    assert_eq!(stray.body["statusCode"], 400, "{:?}", stray.body);
    let emf: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l.get("SignIns").is_some())
        .collect();
    assert_eq!(emf.len(), 1, "one sign-in metric line:\n{logs}");
    assert_eq!(emf[0]["Function"], "sso-callback");
    assert!(emf[0]["Outcome"].as_str().is_some_and(|o| !o.is_empty()));
    assert_eq!(
        emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "RosterBridge"
    );

    // JSON logs with the request id; never the ticket or the redeem secret.
    assert!(
        logs.lines().any(|l| l.starts_with('{')),
        "JSON logs:\n{logs}"
    );
    assert!(logs.contains("ticket redeemed"), "{logs}");
    assert!(!logs.contains(&ticket));
    assert!(!logs.contains(&h.redeem_secret));
}
