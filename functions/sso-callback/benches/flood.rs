//! Teachers' sign-ins during a flood of callbacks with random `state` values
//! (issue #17): how many teachers still sign in, how fast, and what the flood
//! writes. The real router on loopback, DynamoDB Local for the roster and the
//! sign-in records, the ClassLink look-alike (npm `oidc-provider`), moto for
//! the secrets, as the SSO tests.
//!
//! Two phases of BENCH_SECONDS each (default 15): teachers alone, then
//! teachers while BENCH_FLOOD_IN_FLIGHT (default 32) random-state callbacks
//! are kept in flight without pause. Teachers sign in one after another, the
//! whole flow (launch, the provider, the callback, the redeem). Printed: a
//! Markdown table. This measures the function and its store on this machine;
//! in AWS the redeem route throttle, the API's throttle and the reserved
//! concurrency stand in front of it.
//!
//! Needs ROSTER_DYNAMODB_ENDPOINT, ROSTER_MOTO_ENDPOINT and ROSTER_NODE.
//! `cargo bench -p sso-callback --bench flood`.

#[path = "../tests/suite/common.rs"]
mod common;

use futures::StreamExt;
use roster::SignInAudits;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Teachers signing in one after another for `length`: each sign-in's
/// milliseconds (all must succeed).
async fn teachers(h: &common::Harness, length: Duration) -> Vec<f64> {
    let mut times = Vec::new();
    let end = Instant::now() + length;
    while Instant::now() < end {
        let started = Instant::now();
        let response = h.sign_in("teacher").await;
        let identity = h.identity(&response, common::TEACHER_APP).await;
        assert_eq!(identity["sourced_id"], "t1");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times
}

/// Sign-in records: the district's, and those of no known district (where a
/// flood's would go).
async fn audits(h: &common::Harness) -> usize {
    let mut n = 0;
    for tenant in [Some("d1"), None] {
        n += h
            .store
            .list_sign_in_audits(tenant, 100_000, chrono::Utc::now())
            .await
            .unwrap()
            .len();
    }
    n
}

fn row(phase: &str, times: &mut [f64], seconds: f64, flood: Option<(u64, f64)>, audits: usize) {
    times.sort_by(f64::total_cmp);
    let q = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let (flood_count, flood_rate) = match flood {
        Some((n, rate)) => (format!("{n}"), format!("{rate:.0}/s")),
        None => ("0".into(), "—".into()),
    };
    println!(
        "| {phase} | {} | {:.1}/s | {:.1} ms | {:.1} ms | {flood_count} | {flood_rate} | {audits} |",
        times.len(),
        times.len() as f64 / seconds,
        q(0.5),
        q(0.95),
    );
}

fn main() {
    let seconds = env_or("BENCH_SECONDS", 15);
    let in_flight = env_or("BENCH_FLOOD_IN_FLIGHT", 32) as usize;
    let length = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let h = common::Harness::start().await;
        // Warm up: discovery, keys, secrets, connections.
        teachers(&h, Duration::from_secs(2)).await;

        println!("| phase | teacher sign-ins | rate | median | p95 | flood callbacks | flood rate | audit records written |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        let before = audits(&h).await;
        let mut alone = teachers(&h, length).await;
        let written = audits(&h).await - before;
        row("teachers alone", &mut alone, seconds as f64, None, written);

        let stop = AtomicBool::new(false);
        let refused = AtomicU64::new(0);
        let before = audits(&h).await;
        let started = Instant::now();
        let flood = async {
            futures::stream::iter(0u64..)
                .take_while(|_| futures::future::ready(!stop.load(Ordering::Relaxed)))
                .map(|i| {
                    let h = &h;
                    let refused = &refused;
                    async move {
                        let state = format!("{:032x}", rand::random::<u128>() ^ u128::from(i));
                        let response = h
                            .get(&format!("/sso/classlink/callback?state={state}&code=c{i}"), None)
                            .await;
                        assert_eq!(response.status(), 400, "a random state is refused");
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                })
                .buffer_unordered(in_flight)
                .collect::<()>()
                .await
        };
        let during = async {
            let times = teachers(&h, length).await;
            stop.store(true, Ordering::Relaxed);
            times
        };
        let ((), mut during) = tokio::join!(flood, during);
        let elapsed = started.elapsed().as_secs_f64();
        let flooded = refused.load(Ordering::Relaxed);
        let written = audits(&h).await - before;
        assert_eq!(written, during.len(), "only the teachers' sign-ins are audited");
        row(
            &format!("teachers during a flood ({in_flight} in flight)"),
            &mut during,
            elapsed,
            Some((flooded, flooded as f64 / elapsed)),
            written,
        );
    });
}
