//! The sign-in callback's own latency: how long our router takes per callback,
//! not counting the identity provider's time. Each sign-in goes through the real
//! router on loopback against the ClassLink look-alike (npm `oidc-provider`),
//! DynamoDB Local for the roster and moto for the secrets, as the SSO tests do;
//! only the callback request is timed, and the provider's own time answering it
//! (its token endpoint, and user info where read; measured inside the provider)
//! is subtracted. Both paths are measured: ClassLink's claims in the ID token,
//! and an ID token without them (user info read).
//!
//! Needs ROSTER_DYNAMODB_ENDPOINT, ROSTER_MOTO_ENDPOINT and ROSTER_NODE (start
//! them with infra/local/*.sh). `cargo bench -p sso-callback --bench callback`;
//! BENCH_SIGN_INS overrides the number of sign-ins per path (default 200). The
//! paths alternate callback by callback after a warm-up of 20 each.

#[path = "../tests/suite/common.rs"]
mod common;

use serde_json::json;
use std::time::{Duration, Instant};

/// The `q`-quantile of sorted durations, in milliseconds.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// One timed callback: (total, ours) in milliseconds.
async fn sign_in_once(h: &common::Harness) -> (f64, f64) {
    let flow = h.begin("teacher", "/sso/classlink/launch").await;
    let before = h.stats().await;
    let started = Instant::now();
    let response = h.get(&flow.callback, Some(&flow.cookie)).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 303, "a ticket each time");
    let after = h.stats().await;
    let provider_ms = ["token_ms", "userinfo_ms"]
        .iter()
        .map(|k| after[k].as_f64().unwrap() - before[k].as_f64().unwrap())
        .sum::<f64>();
    let ms = elapsed.as_secs_f64() * 1000.0;
    (ms, ms - provider_ms)
}

/// The two paths: ClassLink's claims in the ID token, or not (user info read).
const PATHS: [(&str, Option<&str>); 2] = [
    ("ClassLink's claims in the ID token", None),
    ("ID token without them: user info read", Some("omit")),
];

fn main() {
    let sign_ins: usize = std::env::var("BENCH_SIGN_INS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let h = common::Harness::start().await;
        // Warm up both paths: discovery, keys and secrets are fetched once and
        // cached; connections are opened.
        for _ in 0..20 {
            for (_, omit) in PATHS {
                h.control("faults", json!({ "classlink_claims": omit }))
                    .await;
                sign_in_once(&h).await;
            }
        }
        // The paths alternate callback by callback, so that neither gains from
        // going second (a warmer process, a fuller DynamoDB Local).
        let mut samples: Vec<(Vec<f64>, Vec<f64>, u64)> = vec![Default::default(); PATHS.len()];
        for _ in 0..sign_ins {
            for (i, (_, omit)) in PATHS.iter().enumerate() {
                h.control("faults", json!({ "classlink_claims": omit }))
                    .await;
                let reads_before = h.stats().await["userinfo_requests"].as_u64().unwrap();
                let (total, own) = sign_in_once(&h).await;
                let reads = h.stats().await["userinfo_requests"].as_u64().unwrap() - reads_before;
                samples[i].0.push(total);
                samples[i].1.push(own);
                samples[i].2 += reads;
            }
        }
        println!(
            "| path | callbacks | median (total) | median (ours) | p95 (ours) | user-info reads |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
        for ((path, _), (mut total, mut own, reads)) in PATHS.iter().zip(samples) {
            total.sort_by(f64::total_cmp);
            own.sort_by(f64::total_cmp);
            println!(
                "| {path} | {sign_ins} | {:.2} ms | {:.2} ms | {:.2} ms | {reads} |",
                quantile(&total, 0.5),
                quantile(&own, 0.5),
                quantile(&own, 0.95),
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    });
}
