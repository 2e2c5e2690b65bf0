//! The OneRoster REST client and pulls against the project's local OneRoster
//! server (tests/servers/oneroster-api/server.py), which verifies every OAuth 1.0a
//! signature with oauthlib and injects faults on request.

use crate::common::*;
use oneroster::{validate_package, EntityKind, ValidationOptions};
use oneroster_rest::address::AddressPolicy;
use oneroster_rest::client::{Auth, Client, ClientBuildError, ClientError, ClientOptions};
use oneroster_rest::pull::{pull, PullError, PullMode};
use roster::roles::*;
use roster::{Engine, LocalArtifacts, RunSource, TenantConfig};
use roster_sqlite::SqliteStore;
use std::time::Duration;

const KINDS: [EntityKind; 7] = EntityKind::ALL;

fn options(page_size: usize) -> ClientOptions {
    ClientOptions {
        page_size,
        backoff_base: Duration::from_millis(20),
        // The test servers are on loopback, over http.
        addresses: AddressPolicy::LocalDevelopment,
        ..ClientOptions::default()
    }
}

/// A full pull of `kinds` into `folder` that must fail: its error.
async fn full_pull_error(
    client: &Client,
    kinds: &[EntityKind],
    folder: &std::path::Path,
    budget: Duration,
) -> PullError {
    pull(client, kinds, &[], PullMode::Full, folder, budget)
        .await
        .unwrap_err()
}

fn oauth1(secret: &str) -> Auth {
    Auth::OAuth1 {
        key: "district-key".into(),
        secret: secret.into(),
    }
}

async fn state_of(store: &SqliteStore, tenant: &str) -> Vec<(EntityKind, String, u64, bool)> {
    let mut out = Vec::new();
    for kind in EntityKind::ALL {
        for s in store.load_summaries(tenant, kind).await.unwrap() {
            out.push((kind, s.sourced_id.into_string(), s.digest, s.archived));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pull_gives_the_same_roster_as_the_csv_path() {
    let dir = tempfile::tempdir().unwrap();
    let package = district(dir.path(), 150);
    let server = start(&package, "oauth1", "district-key", "s3cr3t 'with' quotes");
    let client = Client::new(&server.url, oauth1("s3cr3t 'with' quotes"), options(97)).unwrap();
    let pulled = dir.path().join("pulled");
    let summary = pull(
        &client,
        &KINDS,
        &[],
        PullMode::Full,
        &pulled,
        Duration::from_secs(120),
    )
    .await
    .unwrap();
    assert!(
        summary.collections["enrollments"].pages > 5,
        "paged: {summary:?}"
    );
    assert_eq!(
        summary.collections["users"].rows,
        summary.collections["users"].total.unwrap()
    );
    assert_eq!(
        control(&server, "/_stats", None)["rejected_signatures"],
        0,
        "oauthlib accepted every signature"
    );

    let validation = validate_package(&pulled, &ValidationOptions::default());
    assert!(
        validation.report.ok && validation.report.error_count == 0,
        "{:?}",
        validation.report.errors.first()
    );

    let runs = tempfile::tempdir().unwrap();
    let artifacts = LocalArtifacts::new(runs.path());
    let (via_api, via_csv) = (
        SqliteStore::in_memory().unwrap(),
        SqliteStore::in_memory().unwrap(),
    );
    for (store, path, kind) in [(&via_api, &pulled, "api"), (&via_csv, &package, "csv")] {
        let tenant = TenantConfig::new("d1").unwrap();
        store.put_tenant(&tenant).await.unwrap();
        let source = RunSource {
            kind: kind.into(),
            reference: server.url.clone(),
        };
        let run = Engine::new(store, &artifacts)
            .sync_package(&tenant, path, source, roster::Delivered::now(None))
            .await
            .unwrap();
        assert_eq!(
            run.status,
            roster::RunStatus::Applied,
            "{kind}: {}",
            run.message
        );
    }
    let (a, c) = (
        state_of(&via_api, "d1").await,
        state_of(&via_csv, "d1").await,
    );
    assert!(a.len() > 1000);
    assert_eq!(a, c, "the API path and the CSV path store the same roster");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_fails_fast_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&district(dir.path(), 20), "oauth1", "district-key", "right");
    let client = Client::new(&server.url, oauth1("wrong-secret-value"), options(100)).unwrap();
    let error = full_pull_error(
        &client,
        &[EntityKind::Users],
        &dir.path().join("p"),
        Duration::from_secs(30),
    )
    .await;
    let message = error.to_string();
    assert!(
        matches!(
            error,
            PullError::Client(ClientError::CredentialsRejected { status: 401, .. })
        ),
        "{message}"
    );
    assert!(message.contains("credentials rejected"), "{message}");
    assert!(!message.contains("wrong-secret-value"));
    assert_eq!(client.counters().0, 1, "no retries on 401");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_are_retried_honouring_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&district(dir.path(), 60), "oauth1", "k", "s");
    control(
        &server,
        "/_faults",
        Some(r#"{"status_429_every": 4, "retry_after": 1, "status_500_every": 7}"#),
    );
    // Faults hit every 4th and 7th request server-wide, so with requests in
    // flight together one page can meet several in a row: allow enough attempts.
    let client = Client::new(
        &server.url,
        Auth::OAuth1 {
            key: "k".into(),
            secret: "s".into(),
        },
        ClientOptions {
            max_attempts: 12,
            ..options(50)
        },
    )
    .unwrap();
    let started = std::time::Instant::now();
    let summary = pull(
        &client,
        &KINDS,
        &[],
        PullMode::Full,
        &dir.path().join("p"),
        Duration::from_secs(120),
    )
    .await
    .unwrap();
    assert!(summary.retries >= 3, "{summary:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert!(
        validate_package(&dir.path().join("p"), &ValidationOptions::default())
            .report
            .ok
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_page_or_a_moving_total_makes_the_pull_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&district(dir.path(), 60), "bearer", "", "token-1");
    let client = Client::new(
        &server.url,
        Auth::Bearer {
            token: "token-1".into(),
        },
        options(40),
    )
    .unwrap();
    control(
        &server,
        "/_faults",
        Some(r#"{"short_page": "enrollments"}"#),
    );
    let error = full_pull_error(
        &client,
        &KINDS,
        &dir.path().join("a"),
        Duration::from_secs(60),
    )
    .await;
    assert!(
        matches!(&error, PullError::Incomplete { collection, .. } if collection == "enrollments"),
        "{error}"
    );
    assert!(
        !dir.path().join("a/manifest.csv").exists(),
        "no package is written from a partial pull"
    );
    control(&server, "/_faults", Some(r#"{"total_changes": "users"}"#));
    let error = full_pull_error(
        &client,
        &KINDS,
        &dir.path().join("b"),
        Duration::from_secs(60),
    )
    .await;
    assert!(
        error.to_string().contains("X-Total-Count changed"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_and_client_credentials_modes_work() {
    let dir = tempfile::tempdir().unwrap();
    let package = district(dir.path(), 30);
    let server = start(&package, "oauth2", "client-1", "cc-secret");
    let auth = Auth::ClientCredentials {
        token_url: format!("{}/token", server.url),
        client_id: "client-1".into(),
        client_secret: "cc-secret".into(),
    };
    let client = Client::new(&server.url, auth, options(25)).unwrap();
    let summary = pull(
        &client,
        &KINDS,
        &[],
        PullMode::Full,
        &dir.path().join("p"),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert!(summary.collections["users"].rows > 30);
    assert_eq!(
        control(&server, "/_stats", None)["tokens"],
        1,
        "the token is cached until it expires"
    );
    let bad = Auth::ClientCredentials {
        token_url: format!("{}/token", server.url),
        client_id: "client-1".into(),
        client_secret: "nope".into(),
    };
    let error = full_pull_error(
        &Client::new(&server.url, bad, options(25)).unwrap(),
        &[EntityKind::Orgs],
        &dir.path().join("q"),
        Duration::from_secs(30),
    )
    .await;
    assert!(
        matches!(
            error,
            PullError::Client(ClientError::CredentialsRejected { .. })
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_filter_with_quotes_and_spaces_is_signed_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&district(dir.path(), 30), "oauth1", "k", "s");
    let client = Client::new(
        &server.url,
        Auth::OAuth1 {
            key: "k".into(),
            secret: "s".into(),
        },
        options(1000),
    )
    .unwrap();
    let before: chrono::DateTime<chrono::Utc> = "2026-07-01T00:00:00Z".parse().unwrap();
    let all = pull(
        &client,
        &[EntityKind::Users, EntityKind::Enrollments],
        &[],
        PullMode::Delta { since: before },
        &dir.path().join("a"),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert!(all.collections["users"].rows > 30);
    let after: chrono::DateTime<chrono::Utc> = "2026-09-01T00:00:00Z".parse().unwrap();
    let none = pull(
        &client,
        &[EntityKind::Users],
        &[],
        PullMode::Delta { since: after },
        &dir.path().join("b"),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(none.collections["users"].rows, 0);
    assert_eq!(control(&server, "/_stats", None)["rejected_signatures"], 0);
    let manifest = std::fs::read_to_string(dir.path().join("a/manifest.csv")).unwrap();
    assert!(manifest.contains("file.users,delta") && manifest.contains("file.orgs,absent"));
    assert!(
        validate_package(&dir.path().join("a"), &ValidationOptions::default())
            .report
            .ok
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_pages_time_out_and_fail_the_pull_after_the_retries() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&district(dir.path(), 20), "oauth1", "k", "s");
    control(&server, "/_faults", Some(r#"{"slow_ms": 1500}"#));
    let options = ClientOptions {
        request_timeout: Duration::from_millis(300),
        max_attempts: 2,
        ..options(100)
    };
    let client = Client::new(
        &server.url,
        Auth::OAuth1 {
            key: "k".into(),
            secret: "s".into(),
        },
        options,
    )
    .unwrap();
    let error = full_pull_error(
        &client,
        &[EntityKind::Orgs],
        &dir.path().join("p"),
        Duration::from_secs(30),
    )
    .await;
    assert!(
        matches!(error, PullError::Client(ClientError::Request { .. })),
        "{error}"
    );
    assert!(
        error.to_string().contains("gave up after 2 attempts"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_urls_must_be_https_to_public_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&district(dir.path(), 5), "oauth1", "k", "s");
    let production = || ClientOptions {
        addresses: AddressPolicy::PublicHttps,
        ..options(10)
    };
    let port = server.url.rsplit(':').next().unwrap().trim_end_matches('/');
    for (url, expected) in [
        (server.url.clone(), "must be https, not http"),
        (format!("https://127.0.0.1:{port}/"), "127.0.0.1"),
        ("https://169.254.169.254/".to_string(), "169.254.169.254"),
        ("https://[::1]/".to_string(), "::1"),
    ] {
        let refused = Client::new(&url, oauth1("s"), production()).unwrap_err();
        assert!(matches!(refused, ClientBuildError::Address(_)), "{url}");
        assert!(refused.to_string().contains(expected), "{url}: {refused}");
    }
    let token_over_http = Auth::ClientCredentials {
        token_url: format!("{}/token", server.url),
        client_id: "c".into(),
        client_secret: "s".into(),
    };
    let refused =
        Client::new("https://roster.example.org/", token_over_http, production()).unwrap_err();
    assert!(
        refused.to_string().contains("token URL must be https"),
        "{refused}"
    );

    // A name is checked after resolution: `localhost` resolves to loopback,
    // so no connection is made, and the refusal is not retried.
    let client = Client::new(
        &format!("https://localhost:{port}/"),
        oauth1("s"),
        production(),
    )
    .unwrap();
    let error = full_pull_error(
        &client,
        &[EntityKind::Orgs],
        &dir.path().join("p"),
        Duration::from_secs(30),
    )
    .await;
    assert!(
        error.to_string().contains("not a public address"),
        "{error}"
    );
    assert_eq!(client.counters(), (1, 0), "refused at once, not retried");
    let stats = control(&server, "/_stats", None);
    assert_eq!(stats["requests"], 0, "the server saw nothing: {stats}");
}

/// A server on loopback that answers every request with 200 and a body of
/// `size` bytes, streamed in 1 MiB chunks (no length), or only announced by a
/// `Content-Length` when `announce` is set.
async fn huge_body_server(announce: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                if announce {
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000000\r\n\r\n{")
                        .await;
                    return;
                }
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await;
                let chunk = vec![b' '; 1024 * 1024];
                let head = format!("{:x}\r\n", chunk.len());
                for _ in 0..100 {
                    if socket.write_all(head.as_bytes()).await.is_err()
                        || socket.write_all(&chunk).await.is_err()
                        || socket.write_all(b"\r\n").await.is_err()
                    {
                        return;
                    }
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_over_64_mib_is_refused_as_it_arrives() {
    for announce in [false, true] {
        let url = huge_body_server(announce).await;
        let client = Client::new(&url, oauth1("s"), options(10)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let error = client.page("users", 0, None, deadline).await.unwrap_err();
        assert!(matches!(error, ClientError::Decode { .. }), "{error}");
        assert!(
            error.to_string().contains("over 67108864 bytes"),
            "announce={announce}: {error}"
        );
        assert_eq!(client.counters(), (1, 0), "not retried");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_past_the_budget_ends_the_pull_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&district(dir.path(), 5), "oauth1", "k", "s");
    control(
        &server,
        "/_faults",
        Some(r#"{"status_429_every": 1, "retry_after": 30}"#),
    );
    let client = Client::new(&server.url, oauth1_k_s(), options(100)).unwrap();
    let started = std::time::Instant::now();
    let error = full_pull_error(
        &client,
        &[EntityKind::Orgs],
        &dir.path().join("p"),
        Duration::from_secs(5),
    )
    .await;
    assert!(
        matches!(error, PullError::Client(ClientError::Budget { ref collection }) if collection == "orgs"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no wait that cannot end within the budget"
    );
    assert_eq!(client.counters(), (1, 0), "one request, no retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_up_to_the_attempts_then_named() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&district(dir.path(), 5), "oauth1", "k", "s");
    control(&server, "/_faults", Some(r#"{"status_500_every": 1}"#));
    let client = Client::new(
        &server.url,
        oauth1_k_s(),
        ClientOptions {
            max_attempts: 3,
            ..options(100)
        },
    )
    .unwrap();
    let error = full_pull_error(
        &client,
        &[EntityKind::Users],
        &dir.path().join("p"),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        error.to_string(),
        "users at offset 0: gave up after 3 attempts (throttled, server errors or network faults)"
    );
    assert_eq!(client.counters(), (3, 2), "three requests, two retries");
}

fn oauth1_k_s() -> Auth {
    Auth::OAuth1 {
        key: "k".into(),
        secret: "s".into(),
    }
}
