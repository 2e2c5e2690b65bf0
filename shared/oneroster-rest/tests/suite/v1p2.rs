//! OneRoster 1.2 pulls against the local server's 1.2 binding: the package
//! they write (users.csv with 1.2's columns, roles.csv), the OAuth 2 scopes
//! asked for, and the 1.2 error payloads told in messages.

use crate::common::*;
use oneroster::{validate_package, EntityKind, OneRosterVersion, ValidationOptions};
use oneroster_rest::address::AddressPolicy;
use oneroster_rest::client::{Auth, Client, ClientOptions};
use oneroster_rest::pull::{pull, PullMode};
use oneroster_rest::version::{SCOPE_DEMOGRAPHICS, SCOPE_ROSTER, SCOPE_ROSTER_CORE};
use std::path::Path;
use std::time::Duration;
use testkit::servers::Server;

fn oauth2(server: &Server) -> Auth {
    Auth::ClientCredentials {
        token_url: format!("{}/token", server.url),
        client_id: "client-1".into(),
        client_secret: "cc-secret".into(),
    }
}

fn options_1p2(page_size: usize, demographics: bool) -> ClientOptions {
    ClientOptions {
        page_size,
        backoff_base: Duration::from_millis(20),
        addresses: AddressPolicy::LocalDevelopment,
        version: Some(OneRosterVersion::V1p2),
        demographics,
        ..ClientOptions::default()
    }
}

fn serve_1p2(dir: &Path) -> Server {
    start(
        &testkit::v1p2::package(dir),
        "oauth2",
        "client-1",
        "cc-secret",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1p2_pull_writes_a_1p2_package_with_roles_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_1p2(dir.path());
    let client = Client::new(&server.url, oauth2(&server), options_1p2(2, true)).unwrap();
    assert_eq!(
        client.base(),
        format!("{}/ims/oneroster/rostering/v1p2", server.url)
    );
    let out = dir.path().join("pulled");
    let summary = pull(
        &client,
        &EntityKind::ALL,
        &[],
        PullMode::Full,
        &out,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(summary.collections["users"].rows, 5);
    assert_eq!(
        control(&server, "/_stats", None)["scopes"],
        serde_json::json!([SCOPE_ROSTER_CORE, SCOPE_ROSTER, SCOPE_DEMOGRAPHICS]),
        "the demographics scope is asked for when demographics are pulled"
    );
    let manifest = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    assert!(
        manifest.contains("oneroster.version,1.2") && manifest.contains("file.roles,bulk"),
        "{manifest}"
    );
    let roles = std::fs::read_to_string(out.join("roles.csv")).unwrap();
    assert!(
        roles.contains("t1-1,active,,t1,primary,teacher,2026-08-01,2027-06-30,s1,p1")
            && roles.contains("t1-2,active,,t1,primary,ext:coach,,,d1,"),
        "{roles}"
    );
    let users = std::fs::read_to_string(out.join("users.csv")).unwrap();
    assert!(users.starts_with("sourcedId,status,dateLastModified,enabledUser,username,"));
    assert!(
        users.contains(",UM-t1,,Tom,Quill,Teacher,s1,he/him"),
        "{users}"
    );
    // The server sends credentials (a `password`, `userProfiles[].credentials`):
    // no file of the pulled package holds them.
    let mut sent = String::new();
    for offset in [0, 2, 4] {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let page = client.page("users", offset, None, deadline).await.unwrap();
        sent += &serde_json::to_string(&page.records).unwrap();
    }
    for secret in testkit::v1p2::SECRETS {
        assert!(sent.contains(secret), "the server sends {secret}: {sent}");
    }
    assert!(sent.contains(r#""credentials":[{"#), "{sent}");
    assert!(testkit::v1p2::assert_no_secret_in(&out) >= 9);
    let validation = validate_package(&out, &ValidationOptions::default());
    let report = &validation.report;
    assert!(report.ok && report.error_count == 0, "{:?}", report.errors);
    assert_eq!(report.files["users"].accepted, 3, "{:?}", report.files);
    assert_eq!(
        report.files["users"].skipped, 2,
        "the counselor, and the guardian (not imported by default)"
    );
    assert_eq!(report.files["roles"].accepted, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_demographics_no_demographics_scope_is_asked_for_and_1p1_asks_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_1p2(dir.path());
    let client = Client::new(&server.url, oauth2(&server), options_1p2(100, false)).unwrap();
    assert_eq!(client.scopes(), [SCOPE_ROSTER_CORE, SCOPE_ROSTER]);
    pull_into(
        &client,
        EntityKind::Orgs,
        PullMode::Full,
        &dir.path().join("a"),
    )
    .await
    .unwrap();
    assert_eq!(
        control(&server, "/_stats", None)["scopes"],
        serde_json::json!([SCOPE_ROSTER_CORE, SCOPE_ROSTER])
    );
    // A 1.1 client asks for no scope; the server's 1.2 binding refuses its token.
    let v1p1 = ClientOptions {
        version: None,
        ..options_1p2(100, true)
    };
    let client = Client::new(&server.url, oauth2(&server), v1p1).unwrap();
    assert!(client.scopes().is_empty());
    pull_into(
        &client,
        EntityKind::Orgs,
        PullMode::Full,
        &dir.path().join("b"),
    )
    .await
    .unwrap();
    assert_eq!(control(&server, "/_stats", None)["tokens"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_that_withholds_demographics_gets_them_declined_with_its_403() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_1p2(dir.path());
    control(
        &server,
        "/_faults",
        Some(&format!(
            r#"{{"withhold_scopes": ["{SCOPE_DEMOGRAPHICS}"]}}"#
        )),
    );
    let client = Client::new(&server.url, oauth2(&server), options_1p2(100, true)).unwrap();
    let summary = pull(
        &client,
        &[EntityKind::Orgs, EntityKind::Demographics],
        &[EntityKind::Demographics],
        PullMode::Full,
        &dir.path().join("p"),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert_eq!(summary.collections["demographics"].declined, Some(403));
    // Asked outright, the 403's 1.2 payload is in the message.
    let error = client
        .page(
            "demographics",
            0,
            None,
            std::time::Instant::now() + Duration::from_secs(10),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("HTTP 403 (forbidden: the token lacks the scope"),
        "{error}"
    );
    assert!(!error.contains("cc-secret"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_refusing_the_core_scope_is_told_with_the_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_1p2(dir.path());
    control(
        &server,
        "/_faults",
        Some(&format!(
            r#"{{"withhold_scopes": ["{SCOPE_ROSTER_CORE}", "{SCOPE_ROSTER}"]}}"#
        )),
    );
    let client = Client::new(&server.url, oauth2(&server), options_1p2(100, false)).unwrap();
    let error = pull_error(
        &client,
        EntityKind::Orgs,
        PullMode::Full,
        &dir.path().join("p"),
    )
    .await;
    assert!(
        error.contains("the token endpoint refused the scopes asked for")
            && error.contains(SCOPE_ROSTER_CORE),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_delta_filter_says_so_with_the_1p2_code_minor() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_1p2(dir.path());
    control(&server, "/_faults", Some(r#"{"refuse_filter": true}"#));
    let client = Client::new(&server.url, oauth2(&server), options_1p2(100, false)).unwrap();
    let since = "2026-01-01T00:00:00Z".parse().unwrap();
    let error = pull_error(
        &client,
        EntityKind::Users,
        PullMode::Delta { since },
        &dir.path().join("p"),
    )
    .await;
    assert!(
        error.starts_with("users at offset 0: HTTP 400: invalid_filter_field: ")
            && error.contains("the server refuses the `dateLastModified` filter"),
        "{error}"
    );
    assert_eq!(client.counters().1, 0, "a 400 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_busy_is_retried_and_named_when_it_never_ends() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_1p2(dir.path());
    control(
        &server,
        "/_faults",
        Some(r#"{"status_429_every": 2, "retry_after": 0}"#),
    );
    let client = Client::new(&server.url, oauth2(&server), options_1p2(1, false)).unwrap();
    let summary = pull(
        &client,
        &[EntityKind::Users],
        &[],
        PullMode::Full,
        &dir.path().join("p"),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(summary.collections["users"].rows, 5);
    assert!(summary.retries > 0, "{summary:?}");

    control(
        &server,
        "/_faults",
        Some(r#"{"status_429_every": 1, "retry_after": 0}"#),
    );
    let client = Client::new(
        &server.url,
        oauth2(&server),
        ClientOptions {
            max_attempts: 2,
            ..options_1p2(1, false)
        },
    )
    .unwrap();
    let error = pull_error(
        &client,
        EntityKind::Orgs,
        PullMode::Full,
        &dir.path().join("q"),
    )
    .await;
    assert!(
        error.contains("gave up after 2 attempts")
            && error.contains("the server said: server_busy"),
        "{error}"
    );
}

/// A pull of `kind` alone into `out`, within 30 s.
async fn pull_into(
    client: &Client,
    kind: EntityKind,
    mode: PullMode,
    out: &std::path::Path,
) -> Result<oneroster_rest::pull::PullSummary, oneroster_rest::pull::PullError> {
    pull(client, &[kind], &[], mode, out, Duration::from_secs(30)).await
}

/// The error a pull of `kind` into `out` ends with.
async fn pull_error(
    client: &Client,
    kind: EntityKind,
    mode: PullMode,
    out: &std::path::Path,
) -> String {
    pull_into(client, kind, mode, out)
        .await
        .unwrap_err()
        .to_string()
}
