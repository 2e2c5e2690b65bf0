//! ClassLink single sign-on end to end: a real OpenID provider (the ClassLink
//! look-alike on npm `oidc-provider`), DynamoDB Local for the roster, moto for
//! Secrets Manager, and the function's router on loopback.

use crate::common::*;
use futures::StreamExt;
use roster::roles::*;
use roster::PlatformEdits;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_signs_in_from_the_launchpad_and_the_app_redeems_the_ticket() {
    let h = Harness::start().await;
    let flow = h.begin("teacher", "/sso/classlink/launch").await;
    let code = url::Url::parse(&flow.callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let response = h.get(&flow.callback, Some(&flow.cookie)).await;
    assert_eq!(response.status(), 303);
    assert_security_headers(&response);
    assert!(
        set_cookies(&response)
            .iter()
            .any(|c| c.starts_with("__Host-sso_login=;") && c.contains("Max-Age=0")),
        "the login cookie is cleared"
    );
    let ticket = ticket_of(&location(&response), TEACHER_APP);
    assert!(ticket.len() >= 43, "256 random bits");

    // PKCE S256 was sent, the code was exchanged once, user info read once.
    let stats = h.stats().await;
    assert_eq!(stats["pkce_methods"], json!(["S256"]));
    assert_eq!(stats["token_requests"], 1);
    assert_eq!(
        stats["userinfo_requests"], 0,
        "ClassLink's claims in the ID token suffice: no user-info round trip"
    );

    // The teacher app redeems the ticket once.
    let redeemed = h.redeem(&ticket, Some(&h.redeem_secret)).await;
    assert_eq!(redeemed.status(), 200);
    assert_security_headers(&redeemed);
    let identity: Value = redeemed.json().await.unwrap();
    assert_eq!(identity["tenant"], "d1");
    assert_eq!(identity["sourced_id"], "t1");
    assert_eq!(identity["given_name"], "Tina");
    assert_eq!(identity["family_name"], "Teach");
    assert_eq!(identity["email"], "tina@d.example");
    assert_eq!(identity["orgs"], json!(["s1"]));
    assert_eq!(
        identity["classes"],
        json!(["c1"]),
        "the classes she teaches now: not last year's c0, which the district still delivers"
    );
    let again = h.redeem(&ticket, Some(&h.redeem_secret)).await;
    assert_eq!(again.status(), 404, "a ticket is redeemed once");
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "invalid_ticket");

    // The audit trail: ids and the outcome, no personal data.
    let audits = h
        .store
        .list_sign_in_audits(Some("d1"), 10, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].outcome, "signed_in");
    assert_eq!(audits[0].classlink_user_id.as_deref(), Some("9001"));
    assert_eq!(audits[0].classlink_tenant_id.as_deref(), Some("4242"));
    assert_eq!(audits[0].sourced_id.as_deref(), Some("t1"));
    assert!(audits[0].expires_at > chrono::Utc::now() + chrono::Duration::days(80));

    // Nothing secret or personal reached the logs.
    let logs = logs();
    assert!(logs.contains("sign-in attempt"), "the attempt was logged");
    for secret in [
        &code,
        &ticket,
        &flow.cookie,
        &h.client_secret,
        &h.redeem_secret,
    ] {
        assert!(!logs.contains(secret.as_str()), "a secret value was logged");
    }
    assert!(!logs.contains("tina@d.example"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeeming_needs_the_shared_secret_and_a_well_formed_body() {
    let h = Harness::start().await;
    let response = h.sign_in("teacher").await;
    let ticket = ticket_of(&location(&response), TEACHER_APP);
    for secret in [None, Some("wrong"), Some("")] {
        let denied = h.redeem(&ticket, secret).await;
        assert_eq!(denied.status(), 401);
        assert_eq!(denied.headers()["www-authenticate"], "Bearer");
    }
    let bad = h
        .http
        .post(format!("{}/sso/tickets/redeem", h.base))
        .bearer_auth(&h.redeem_secret)
        .body("ticket=abc")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let unknown = h.redeem("not-a-ticket", Some(&h.redeem_secret)).await;
    assert_eq!(unknown.status(), 404);
    // The denied attempts did not use the ticket up.
    let ok = h.redeem(&ticket, Some(&h.redeem_secret)).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn students_and_administrators_are_told_where_to_go() {
    let h = Harness::start().await;
    let body = page(h.sign_in("student").await, 403).await;
    assert!(body.contains("Students do not sign in here"));
    let body = page(h.sign_in("admin").await, 403).await;
    assert!(body.contains("admin portal"));
    assert!(body.contains(ADMIN_PORTAL), "links the admin portal");

    // The tenant switch lets administrators in, to the admin portal.
    let mut tenant = h.tenant().await;
    tenant.admin_sso_enabled = true;
    h.store.put_tenant(&tenant).await.unwrap();
    let identity = h.identity(&h.sign_in("admin").await, ADMIN_PORTAL).await;
    assert_eq!(identity["sourced_id"], "ad1");

    let outcomes: Vec<String> = h
        .store
        .list_sign_in_audits(Some("d1"), 10, chrono::Utc::now())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(outcomes, ["signed_in", "admin_portal", "student"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_districts_and_teachers_missing_from_the_roster_are_refused() {
    let h = Harness::start().await;
    let body = page(h.sign_in("stranger").await, 403).await;
    assert!(body.contains("not set up"));
    let body = page(h.sign_in("ghost").await, 403).await;
    assert!(body.contains("not received your roster"));

    // An archived teacher is not signed in.
    h.store
        .archive_by_hand("d1", oneroster::EntityKind::Users, "t2", chrono::Utc::now())
        .await
        .unwrap();
    let body = page(h.sign_in("archived-teacher").await, 403).await;
    assert!(body.contains("not received your roster"));

    // SSO switched off for the district.
    let mut tenant = h.tenant().await;
    tenant.sso_enabled = false;
    h.store.put_tenant(&tenant).await.unwrap();
    let body = page(h.sign_in("teacher").await, 403).await;
    assert!(body.contains("not set up"));
    let unknown = h
        .store
        .list_sign_in_audits(None, 10, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(
        unknown.len(),
        2,
        "attempts of unknown districts are audited too"
    );
    assert!(unknown.iter().all(|a| a.outcome == "not_set_up"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_claiming_one_classlink_tenant_refuse_sign_in_as_misconfigured() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use roster::TenantConfig;
    let h = Harness::start().await;
    // The store refuses a second tenant with d1's ClassLink TenantId.
    let mut twin = TenantConfig::new("d1-copy").unwrap();
    twin.classlink_tenant_id = Some(CLASSLINK_TENANT.to_string());
    twin.sso_enabled = true;
    let refused = h.store.put_tenant(&twin).await.unwrap_err();
    assert!(refused.is_conflict(), "{refused}");

    // A configuration written past the store does not take d1's district:
    // the mapping names d1, whose configuration still carries the id.
    let raw = testkit::dynamodb_client(&testkit::dynamodb());
    let s = |v: &str| AttributeValue::S(v.into());
    raw.put_item()
        .table_name(h.store.table())
        .item("pk", s("TENANTS"))
        .item("sk", s("d1-copy"))
        .item("config", s(&serde_json::to_string(&twin).unwrap()))
        .send()
        .await
        .unwrap();
    let identity = h.identity(&h.sign_in("teacher").await, TEACHER_APP).await;
    assert_eq!(identity["tenant"], "d1");

    // Without the mapping item (a tenant saved before it existed), two
    // tenants claim the district: nobody signs in, and it is audited.
    raw.delete_item()
        .table_name(h.store.table())
        .key("pk", s(&format!("CLASSLINK#{CLASSLINK_TENANT}")))
        .key("sk", s("TENANT"))
        .send()
        .await
        .unwrap();
    let response = h.sign_in("teacher").await;
    assert!(response.headers().get("location").is_none(), "no ticket");
    let body = page(response, 503).await;
    assert!(
        body.contains("not set up correctly for your district"),
        "{body}"
    );
    let audits = h
        .store
        .list_sign_in_audits(None, 10, chrono::Utc::now())
        .await
        .unwrap();
    let refused: Vec<_> = audits
        .iter()
        .filter(|a| a.outcome == "misconfigured")
        .collect();
    assert_eq!(refused.len(), 1, "{audits:?}");
    assert_eq!(
        refused[0].classlink_tenant_id,
        Some(CLASSLINK_TENANT.to_string())
    );
    assert_eq!(refused[0].sourced_id, None);
    let logs = logs();
    assert!(
        logs.contains("more than one tenant claims this ClassLink TenantId"),
        "the operator is told"
    );
    assert!(logs.contains("d1,d1-copy"), "which tenants");

    // Saving d1 again restores its mapping: d1's teachers sign in again.
    h.store.put_tenant(&h.tenant().await).await.unwrap();
    let identity = h.identity(&h.sign_in("teacher").await, TEACHER_APP).await;
    assert_eq!(identity["tenant"], "d1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_sourced_id_the_email_fallback_is_per_tenant() {
    let h = Harness::start().await;
    let body = page(h.sign_in("no-sourced-id").await, 403).await;
    assert!(
        body.contains("not received your roster"),
        "no fallback by default"
    );
    let mut tenant = h.tenant().await;
    tenant.sso_match_by_email = true;
    h.store.put_tenant(&tenant).await.unwrap();
    let identity = h
        .identity(&h.sign_in("no-sourced-id").await, TEACHER_APP)
        .await;
    assert_eq!(
        identity["sourced_id"], "t1",
        "matched by email within the tenant"
    );
    // The same email on an account whose ClassLink role is not a staff role: no match.
    let body = page(h.sign_in("other-role-same-email").await, 403).await;
    assert!(body.contains("not received your roster"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_state_missing_or_foreign_cookies_and_replays_are_refused() {
    let h = Harness::start().await;
    // Tampered state.
    let flow = h.begin("teacher", "/sso/classlink/start").await;
    let tampered = flow.callback.replace("state=", "state=x");
    let body = page(h.get(&tampered, Some(&flow.cookie)).await, 400).await;
    assert!(body.contains("expired or has already been used"));
    // Missing cookie.
    let flow = h.begin("teacher", "/sso/classlink/start").await;
    let body = page(h.get(&flow.callback, None).await, 400).await;
    assert!(body.contains("different browser"));
    // Another browser's cookie.
    let other = h.begin("teacher", "/sso/classlink/start").await;
    let flow = h.begin("teacher", "/sso/classlink/start").await;
    page(h.get(&flow.callback, Some(&other.cookie)).await, 400).await;
    assert_eq!(
        h.stats().await["token_requests"],
        0,
        "no code was exchanged for a refused callback"
    );
    // A replayed callback: the first succeeds, the replay is refused.
    let flow = h.begin("teacher", "/sso/classlink/start").await;
    let first = h.get(&flow.callback, Some(&flow.cookie)).await;
    assert_eq!(first.status(), 303);
    let body = page(h.get(&flow.callback, Some(&flow.cookie)).await, 400).await;
    assert!(body.contains("expired or has already been used"));
    assert_eq!(
        h.stats().await["token_requests"],
        1,
        "the code is exchanged once"
    );
    let outcomes: Vec<String> = h
        .store
        .list_sign_in_audits(None, 10, chrono::Utc::now())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    // The tampered state and the replay name no login the store holds: they are
    // logged and counted, not stored (anyone can send states; see the flood test).
    assert_eq!(outcomes, ["browser_mismatch", "browser_mismatch"]);
    assert!(logs().contains("login_expired_or_used"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_random_states_writes_no_audit_record() {
    let h = Harness::start().await;
    let before = h
        .store
        .list_sign_in_audits(None, 1000, chrono::Utc::now())
        .await
        .unwrap()
        .len();
    let started = std::time::Instant::now();
    let refused = futures::stream::iter(0..1000)
        .map(|i| {
            let h = &h;
            async move {
                let state = format!("{:032x}", rand::random::<u128>() ^ i);
                let response = h
                    .get(
                        &format!("/sso/classlink/callback?state={state}&code=c{i}"),
                        None,
                    )
                    .await;
                response.status().as_u16()
            }
        })
        .buffer_unordered(32)
        .filter(|status| futures::future::ready(*status == 400))
        .count()
        .await;
    let elapsed = started.elapsed();
    assert_eq!(refused, 1000, "every random state is refused");
    let after = h
        .store
        .list_sign_in_audits(None, 1000, chrono::Utc::now())
        .await
        .unwrap()
        .len();
    assert_eq!(
        after, before,
        "no audit record for a state the store does not hold"
    );
    assert_eq!(
        h.stats().await["token_requests"],
        0,
        "no code was exchanged"
    );
    eprintln!("1,000 random-state callbacks in {elapsed:?}");
    // A teacher still signs in afterwards.
    assert_eq!(h.sign_in("teacher").await.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_id_tokens_are_refused_and_a_rotated_key_is_fetched() {
    let h = Harness::start().await;
    // A new signing key (unknown kid): the keys are fetched again and it works.
    h.control("faults", json!({"id_token": "rotated_key"}))
        .await;
    let response = h.sign_in("teacher").await;
    assert_eq!(response.status(), 303, "a rotated key is picked up");
    for fault in [
        "bad_signature",
        "wrong_aud",
        "wrong_iss",
        "expired",
        "wrong_nonce",
    ] {
        h.control("faults", json!({ "id_token": fault })).await;
        let response = h.sign_in("teacher").await;
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        assert_eq!(location, None, "{fault}: no ticket");
        let body = page(response, 401).await;
        assert!(body.contains("could not verify"), "{fault}");
        assert!(!body.contains("eyJ"), "{fault}: no token on the page");
    }
    let audits = h
        .store
        .list_sign_in_audits(None, 10, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(audits.len(), 5);
    assert!(audits.iter().all(|a| a.outcome == "invalid_token"));
    // A token that does not parse (a claim of the wrong type): refused too.
    h.control("faults", json!({ "id_token": "malformed" }))
        .await;
    let response = h.sign_in("teacher").await;
    assert!(
        response.headers().get("location").is_none(),
        "malformed: no ticket"
    );
    assert!(!response.status().is_success(), "{}", response.status());
    // The refusals are logged, and say what was wrong without the token's claim values.
    let logs = logs();
    assert!(logs.contains("does not parse at"), "{logs}");
    assert!(logs.contains("another audience"), "{logs}");
    for value in [
        "some-other-client",
        "impostor.example",
        "not-the-nonce-you-sent",
        "leaky-claim-value",
    ] {
        assert!(!logs.contains(value), "`{value}` logged: {logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_without_our_state_is_never_exchanged() {
    let h = Harness::start().await;
    // ClassLink-initiated: a code at the callback without state.
    let response = h
        .get("/sso/classlink/callback?code=classlink-initiated", None)
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/sso/classlink/start");
    // A code at the launch URL starts a fresh login at ClassLink.
    let response = h
        .get("/sso/classlink/launch?code=classlink-initiated", None)
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with(&format!("{}/oauth2/v2/auth?", h.provider.url)));
    assert_eq!(h.stats().await["token_requests"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destinations_are_an_allow_list() {
    let h = Harness::start().await;
    let body = page(
        h.get(
            "/sso/classlink/start?destination=https%3A%2F%2Fevil.example%2F",
            None,
        )
        .await,
        400,
    )
    .await;
    assert!(body.contains("not allowed"));
    let flow = h
        .begin(
            "teacher",
            "/sso/classlink/start?destination=https%3A%2F%2Fteacher.example%2Fapp%2Fclasses",
        )
        .await;
    let response = h.get(&flow.callback, Some(&flow.cookie)).await;
    ticket_of(&location(&response), OTHER_DESTINATION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_state_is_bound_to_the_ticket_and_returned_on_redeem() {
    let h = Harness::start().await;
    // The teacher app starts the login with its own opaque value.
    let mine = "app-session-5f3a9c~signed.v1";
    let flow = h
        .begin("teacher", &format!("/sso/classlink/start?app_state={mine}"))
        .await;
    let response = h.get(&flow.callback, Some(&flow.cookie)).await;
    let identity = h.identity(&response, TEACHER_APP).await;
    assert_eq!(identity["sourced_id"], "t1");
    assert_eq!(identity["app_state"], mine, "returned exactly");

    // Login CSRF: an attacker signs in as themselves with their own app
    // state, stops at their 303 and hands the ticket to a victim's browser.
    // The victim's app expects its own value; the ticket carries the
    // attacker's, so the app can refuse it.
    let flow = h
        .begin("teacher", "/sso/classlink/start?app_state=attacker-777")
        .await;
    let attackers = h.get(&flow.callback, Some(&flow.cookie)).await;
    let identity = h.identity(&attackers, TEACHER_APP).await;
    assert_eq!(identity["app_state"], "attacker-777");
    assert_ne!(identity["app_state"], mine);

    // A LaunchPad launch has no app state: the key is there, null.
    let identity = h.identity(&h.sign_in("teacher").await, TEACHER_APP).await;
    assert!(identity.as_object().unwrap().contains_key("app_state"));
    assert_eq!(identity["app_state"], Value::Null);

    // A value that is not 1..=512 visible ASCII starts no login at all.
    let token_requests = h.stats().await["token_requests"].clone();
    for bad in ["", "has%20space", "line%0Abreak", &"x".repeat(513)] {
        let response = h
            .get(&format!("/sso/classlink/start?app_state={bad}"), None)
            .await;
        assert!(response.headers().get("location").is_none(), "{bad:?}");
        assert!(
            set_cookies(&response).is_empty(),
            "{bad:?}: no login cookie"
        );
        let body = page(response, 400).await;
        assert!(body.contains("This sign-in link is not valid"), "{bad:?}");
        assert!(body.contains("app_state"), "{bad:?}: says which parameter");
    }
    assert_eq!(h.stats().await["token_requests"], token_requests);
    assert!(!logs().contains(mine), "the app state is not logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_hangs_or_is_down_gives_a_clear_page_not_a_hang() {
    let mut h = Harness::start().await;
    h.control("faults", json!({"token": "hang"})).await;
    let body = page(h.sign_in("teacher").await, 502).await;
    assert!(body.contains("ClassLink is not responding"));
    h.control("faults", json!({"token": "error"})).await;
    let body = page(h.sign_in("teacher").await, 502).await;
    assert!(body.contains("ClassLink is not responding"));
    h.control("faults", json!({})).await;
    let flow = h.begin("teacher", "/sso/classlink/launch").await;
    h.provider.stop();
    let body = page(h.get(&flow.callback, Some(&flow.cookie)).await, 502).await;
    assert!(body.contains("ClassLink is not responding"));
    let outcomes: Vec<String> = h
        .store
        .list_sign_in_audits(None, 10, chrono::Utc::now())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            "provider_unreachable",
            "provider_error",
            "provider_unreachable"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_down_at_discovery_gives_a_clear_page() {
    let h = Harness::start_with(|c| {
        c.issuer = "http://127.0.0.1:9".into();
    })
    .await;
    let body = page(h.get("/sso/classlink/launch", None).await, 502).await;
    assert!(body.contains("ClassLink is not responding"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_unknown_paths_and_every_response_carry_the_security_headers() {
    let h = Harness::start().await;
    let health = h.get("/healthz", None).await;
    assert_eq!(health.status(), 200);
    assert_security_headers(&health);
    let body = page(h.get("/nowhere", None).await, 404).await;
    assert!(body.contains("Page not found"));
    let launch = h.get("/sso/classlink/launch", None).await;
    assert_security_headers(&launch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_id_token_claims_and_user_info_give_the_same_decision() {
    let h = Harness::start().await;
    let by_token = h.identity(&h.sign_in("teacher").await, TEACHER_APP).await;
    assert_eq!(h.stats().await["userinfo_requests"], 0);
    // A provider that puts none of ClassLink's claims in the ID token.
    h.control("faults", json!({"classlink_claims": "omit"}))
        .await;
    let by_user_info = h.identity(&h.sign_in("teacher").await, TEACHER_APP).await;
    assert_eq!(
        h.stats().await["userinfo_requests"],
        1,
        "read once, when needed"
    );
    assert_eq!(by_token, by_user_info);
    // User info of another user than the ID token's subject: refused, no ticket.
    h.control(
        "faults",
        json!({"classlink_claims": "omit", "userinfo": "other_user"}),
    )
    .await;
    let response = h.sign_in("teacher").await;
    assert!(response.headers().get("location").is_none(), "no ticket");
    let body = page(response, 401).await;
    assert!(body.contains("could not verify"), "{body}");
    h.control("faults", json!({"classlink_claims": "omit"}))
        .await;
    let audits = h
        .store
        .list_sign_in_audits(Some("d1"), 10, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(audits.len(), 2);
    for a in &audits {
        assert_eq!(
            (
                a.outcome.as_str(),
                a.sourced_id.as_deref(),
                a.classlink_user_id.as_deref()
            ),
            ("signed_in", Some("t1"), Some("9001"))
        );
        assert_eq!(a.matched_by.as_deref(), Some("sourced_id"));
    }
    // Other refusals read the same either way.
    for omit in [json!(null), json!("omit")] {
        h.control("faults", json!({ "classlink_claims": omit }))
            .await;
        let body = page(h.sign_in("student").await, 403).await;
        assert!(body.contains("Students do not sign in here"), "{omit}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_sourced_id_falls_back_by_email_or_username_where_the_tenant_allows() {
    let h = Harness::start().await;
    h.control(
        "accounts",
        json!({
            // ClassLink still sends Tina's old SourcedId.
            "stale": classlink_user(9101, CLASSLINK_TENANT, Some("t1-old"), "Teacher", "tina@d.example"),
            // An old SourcedId and an email the roster does not have; her LoginId is right.
            "stale-login": {
                "UserId": 9102, "TenantId": CLASSLINK_TENANT, "SourcedId": "t1-old", "Role": "Teacher",
                "Email": "tina.t@elsewhere.example", "LoginId": "tina",
                "FirstName": "Tina", "LastName": "Teach", "DisplayName": "Tina Teach",
            },
            // Two active teachers share this email: no match by it.
            "twin": classlink_user(9103, CLASSLINK_TENANT, Some("gone"), "Teacher", "twins@d.example"),
        }),
    )
    .await;
    let user_info_reads = || async { h.stats().await["userinfo_requests"].as_u64().unwrap() };
    // Without the switch: not in the roster (and no user info: it could not help).
    let body = page(h.sign_in("stale").await, 403).await;
    assert!(body.contains("We have not received your roster yet"));
    assert_eq!(user_info_reads().await, 0);

    let mut tenant = h.tenant().await;
    tenant.sso_match_by_email = true;
    h.store.put_tenant(&tenant).await.unwrap();
    let identity = h.identity(&h.sign_in("stale").await, TEACHER_APP).await;
    assert_eq!(identity["sourced_id"], "t1", "found by email");
    assert_eq!(user_info_reads().await, 0, "the ID token's email sufficed");
    let identity = h
        .identity(&h.sign_in("stale-login").await, TEACHER_APP)
        .await;
    assert_eq!(identity["sourced_id"], "t1", "found by username");
    assert_eq!(
        user_info_reads().await,
        1,
        "the LoginId is in user info only: read on the miss"
    );
    let body = page(h.sign_in("twin").await, 403).await;
    assert!(
        body.contains("We have not received your roster yet"),
        "ambiguous is no match"
    );

    let audits = h
        .store
        .list_sign_in_audits(Some("d1"), 10, chrono::Utc::now())
        .await
        .unwrap();
    let outcomes: Vec<(&str, Option<&str>)> = audits
        .iter()
        .rev()
        .map(|a| (a.outcome.as_str(), a.matched_by.as_deref()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("not_in_roster", None),
            ("signed_in", Some("email")),
            ("signed_in", Some("username")),
            ("not_in_roster", None),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_classlink_role_name_is_mapped_on_purpose() {
    let h = Harness::start().await;
    // Every account names Tina's SourcedId: only the role decides.
    let names = [
        ("Teacher", "signed_in"),
        ("Student", "student"),
        ("Tenant Administrator", "admin_portal"),
        ("District Administrator", "admin_portal"),
        ("School Administrator", "admin_portal"),
        ("Parent", "parent"),
    ];
    let accounts: serde_json::Map<String, Value> = names
        .iter()
        .enumerate()
        .map(|(i, (role, _))| {
            (
                format!("role-{i}"),
                classlink_user(
                    9200 + i as u64,
                    CLASSLINK_TENANT,
                    Some("t1"),
                    role,
                    "tina@d.example",
                ),
            )
        })
        .collect();
    h.control("accounts", Value::Object(accounts)).await;
    for (i, (role, _)) in names.iter().enumerate() {
        let response = h.sign_in(&format!("role-{i}")).await;
        if *role == "Teacher" {
            assert_eq!(response.status(), 303, "{role}");
        } else {
            let body = page(response, 403).await;
            if *role == "Parent" {
                assert!(
                    body.contains("Parents do not sign in here"),
                    "{role}: {body}"
                );
            }
        }
    }
    let audits = h
        .store
        .list_sign_in_audits(Some("d1"), 10, chrono::Utc::now())
        .await
        .unwrap();
    let outcomes: Vec<&str> = audits.iter().rev().map(|a| a.outcome.as_str()).collect();
    let expected: Vec<&str> = names.iter().map(|(_, outcome)| *outcome).collect();
    assert_eq!(outcomes, expected);
    assert!(
        audits
            .iter()
            .all(|a| a.outcome == "signed_in" || a.sourced_id.is_none()),
        "no one but the teacher reached a roster user"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_the_roster_lacks_is_provisioned_where_the_tenant_allows_until_a_sync_delivers_them(
) {
    let h = Harness::start().await;
    let person = |id: u64, sourced_id: &str, role: &str, email: &str, first: &str| {
        json!({
            "UserId": id, "TenantId": CLASSLINK_TENANT, "SourcedId": sourced_id, "Role": role,
            "Email": email, "LoginId": email.split('@').next().unwrap(),
            "FirstName": first, "LastName": "New", "DisplayName": format!("{first} New"),
        })
    };
    h.control(
        "accounts",
        json!({
            "newcomer": person(9301, "t9", "Teacher", "nina@d.example", "Nina"),
            "new-student": person(9302, "s9", "Student", "stella@d.example", "Stella"),
            "new-admin": person(9303, "ad9", "District Administrator", "abe@d.example", "Abe"),
            // Tom is in the roster as t2: a new SourcedId with his email is not a new person.
            "tom-again": person(9304, "t2-new", "Teacher", "tom@d.example", "Tom"),
        }),
    )
    .await;
    let user = |id: &'static str| {
        let store = &h.store;
        async move {
            store
                .get_entity("d1", oneroster::EntityKind::Users, id)
                .await
                .unwrap()
        }
    };

    // Off (the default): not in the roster, and nothing is stored.
    let body = page(h.sign_in("newcomer").await, 403).await;
    assert!(body.contains("We have not received your roster yet"));
    assert!(user("t9").await.is_none());

    let mut tenant = h.tenant().await;
    tenant.sso_provision_teachers = true;
    h.store.put_tenant(&tenant).await.unwrap();
    let identity = h.identity(&h.sign_in("newcomer").await, TEACHER_APP).await;
    assert_eq!(identity["sourced_id"], "t9");
    assert_eq!(identity["provisional"], true);
    assert_eq!(identity["given_name"], "Nina");
    assert_eq!(identity["family_name"], "New");
    assert_eq!(identity["email"], "nina@d.example");
    assert_eq!(identity["classes"], json!([]));
    assert_eq!(identity["orgs"], json!([]));
    let stored = user("t9").await.expect("a provisional record");
    assert!(stored.provisional && stored.archive.is_none());
    assert_eq!(stored.sis.str("role"), Some("teacher"));
    assert!(stored.first_seen_run.starts_with("sso:"));
    // The next sign-in finds the record the first one made.
    let identity = h.identity(&h.sign_in("newcomer").await, TEACHER_APP).await;
    assert_eq!(identity["provisional"], true);
    // Students and administrators are never provisioned; nor is a teacher
    // whose email the roster already has under another id.
    assert!(page(h.sign_in("new-student").await, 403)
        .await
        .contains("Students do not sign in here"));
    assert!(page(h.sign_in("new-admin").await, 403)
        .await
        .contains("Administrators use the admin portal"));
    assert!(page(h.sign_in("tom-again").await, 403)
        .await
        .contains("We have not received your roster yet"));
    for id in ["s9", "ad9", "t2-new"] {
        assert!(user(id).await.is_none(), "{id} was provisioned");
    }
    let provisional: Vec<String> = h
        .store
        .provisional_users("d1")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.sourced_id)
        .collect();
    assert_eq!(provisional, vec!["t9".to_string()]);

    // A bulk sync that does not deliver her leaves her provisional, and signed in.
    let run = h.sync_roster("").await;
    assert_eq!(run.status, roster::RunStatus::Applied, "{}", run.message);
    assert_eq!(run.items_written, 0);
    assert!(user("t9").await.unwrap().provisional);
    assert_eq!(
        h.identity(&h.sign_in("newcomer").await, TEACHER_APP).await["provisional"],
        true
    );

    // The sync that delivers her makes her an ordinary roster user, as the SIS has her.
    let run = h
        .sync_roster("t9,active,,true,s1,teacher,nina,,Nina,Newman,,,nina@d.example,,,,,\n")
        .await;
    assert_eq!(run.status, roster::RunStatus::Applied, "{}", run.message);
    let stored = user("t9").await.unwrap();
    assert!(!stored.provisional);
    assert_eq!(stored.sis.str("familyName"), Some("Newman"));
    let identity = h.identity(&h.sign_in("newcomer").await, TEACHER_APP).await;
    assert_eq!(identity["provisional"], false);
    assert_eq!(identity["family_name"], "Newman");
    assert_eq!(identity["orgs"], json!(["s1"]));

    let audits = h
        .store
        .list_sign_in_audits(Some("d1"), 20, chrono::Utc::now())
        .await
        .unwrap();
    let outcomes: Vec<&str> = audits.iter().rev().map(|a| a.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        vec![
            "not_in_roster",
            "provisioned",
            "signed_in",
            "student",
            "admin_portal",
            "not_in_roster",
            "signed_in",
            "signed_in",
        ]
    );
    assert!(!logs().contains("nina@d.example"), "no email in the logs");
    assert!(!logs().contains("Nina"), "no name in the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_info_read_again_for_the_login_id_must_name_the_token_user_and_district() {
    let h = Harness::start().await;
    let mut tenant = h.tenant().await;
    tenant.sso_match_by_email = true;
    h.store.put_tenant(&tenant).await.unwrap();
    h.control(
        "accounts",
        json!({
            // A stale SourcedId and an email the roster lacks: a miss that
            // reads user info again for the LoginId.
            "mallory": {
                "UserId": 9150, "TenantId": CLASSLINK_TENANT, "SourcedId": "m-old", "Role": "Teacher",
                "Email": "mallory.m@elsewhere.example", "LoginId": "mallory.m",
                "FirstName": "Mallory", "LastName": "Mal", "DisplayName": "Mallory Mal",
            },
        }),
    )
    .await;
    // User info of another teacher (Tina, UserId 9001: her SourcedId and
    // LoginId are in the roster), of another UserId, of another district.
    for (fault, other_id) in [
        ("account:teacher", "9001"),
        ("other_user", "424242"),
        ("other_tenant", "777777"),
    ] {
        h.control("faults", json!({ "userinfo": fault })).await;
        let response = h.sign_in("mallory").await;
        assert!(
            response.headers().get("location").is_none(),
            "{fault}: no ticket"
        );
        let body = page(response, 401).await;
        assert!(body.contains("could not verify"), "{fault}: {body}");
        // The refusal is logged by ids only (other tests log into the same buffer).
        let logs = logs();
        let line = logs
            .lines()
            .find(|l| {
                l.contains("user info is not of the ID token's user")
                    && l.contains("the ID token names UserId 9150")
                    && l.contains(other_id)
            })
            .unwrap_or_else(|| panic!("{fault}: the refusal is logged with the ids"));
        assert!(
            !line.contains('@') && !line.to_lowercase().contains("mallory"),
            "{line}"
        );
    }
    assert_eq!(h.stats().await["userinfo_requests"], 3);
    let audits = h
        .store
        .list_sign_in_audits(Some("d1"), 10, chrono::Utc::now())
        .await
        .unwrap();
    let seen: Vec<_> = audits
        .iter()
        .map(|a| {
            (
                a.outcome.as_str(),
                a.classlink_user_id.as_deref(),
                a.sourced_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(seen, vec![("invalid_token", Some("9150"), None); 3]);
    let logs = logs();
    assert!(!logs.contains("mallory.m@elsewhere.example") && !logs.contains("Mallory"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_the_roster_knows_by_username_is_matched_not_provisioned_again() {
    let h = Harness::start().await;
    let mut tenant = h.tenant().await;
    tenant.sso_match_by_email = true;
    tenant.sso_provision_teachers = true;
    h.store.put_tenant(&tenant).await.unwrap();
    h.control(
        "accounts",
        json!({
            // Tina (t1, username `tina`) under a new SourcedId and an email the
            // roster lacks: only her LoginId, in user info alone, finds her.
            "tina-new-id": {
                "UserId": 9160, "TenantId": CLASSLINK_TENANT, "SourcedId": "t1-new", "Role": "Teacher",
                "Email": "tina.new@elsewhere.example", "LoginId": "tina",
                "FirstName": "Tina", "LastName": "Teach", "DisplayName": "Tina Teach",
            },
            // A teacher the roster does not have at all.
            "nina": {
                "UserId": 9161, "TenantId": CLASSLINK_TENANT, "SourcedId": "t9", "Role": "Teacher",
                "Email": "nina@d.example", "LoginId": "nina",
                "FirstName": "Nina", "LastName": "New", "DisplayName": "Nina New",
            },
        }),
    )
    .await;
    let user = |id: &'static str| {
        let store = &h.store;
        async move {
            store
                .get_entity("d1", oneroster::EntityKind::Users, id)
                .await
                .unwrap()
        }
    };
    let user_info_reads = || async { h.stats().await["userinfo_requests"].as_u64().unwrap() };

    let identity = h
        .identity(&h.sign_in("tina-new-id").await, TEACHER_APP)
        .await;
    assert_eq!(identity["sourced_id"], "t1", "matched by username");
    assert_eq!(identity["provisional"], false);
    assert!(user("t1-new").await.is_none(), "no duplicate of Tina");
    assert_eq!(user_info_reads().await, 1, "read for the LoginId");

    // User info cannot be read: a clear page, and still no duplicate.
    h.control("faults", json!({"userinfo": "error"})).await;
    let response = h.sign_in("tina-new-id").await;
    assert!(response.headers().get("location").is_none(), "no ticket");
    let body = page(response, 502).await;
    assert!(body.contains("ClassLink is not responding"), "{body}");
    assert!(user("t1-new").await.is_none(), "no duplicate of Tina");
    h.control("faults", json!({})).await;

    // A teacher the roster lacks is still provisioned, with the username
    // user info gave.
    let identity = h.identity(&h.sign_in("nina").await, TEACHER_APP).await;
    assert_eq!(identity["sourced_id"], "t9");
    assert_eq!(identity["provisional"], true);
    let stored = user("t9").await.expect("a provisional record");
    assert_eq!(stored.sis.str("username"), Some("nina"));
    assert_eq!(user_info_reads().await, 3);

    let audits = h
        .store
        .list_sign_in_audits(Some("d1"), 10, chrono::Utc::now())
        .await
        .unwrap();
    let outcomes: Vec<(&str, Option<&str>)> = audits
        .iter()
        .rev()
        .map(|a| (a.outcome.as_str(), a.matched_by.as_deref()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("signed_in", Some("username")),
            ("provider_error", None),
            ("provisioned", None),
        ]
    );
}
