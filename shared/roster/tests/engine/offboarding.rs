//! Offboarding a district, on both stores: every item of one tenant found
//! and deleted, another tenant's left exactly as it was, and a second
//! deletion finds nothing.

use crate::common::*;
use chrono::{Duration as Days, Utc};
use roster::*;
use std::collections::BTreeMap;
use std::time::Duration;

/// A tenant with something of every kind: configuration with a ClassLink
/// TenantId, a synced roster (records, runs, state, lease), a Primary
/// Administrator, a provisional teacher, a sign-in audit, a login ticket
/// and claims on its deliveries. Returns its first run's id.
async fn populate<S: Store>(store: &S, bench: &Bench, id: &str, classlink: &str) -> String {
    let mut config = TenantConfig::new(id).unwrap();
    config.classlink_tenant_id = Some(classlink.into());
    store.put_tenant(&config).await.unwrap();
    let run = sync(store, bench, &config, &District::new(20, 2), None).await;
    store.set_primary_admin(id, "adm-1", true).await.unwrap();
    let now = Utc::now();
    let teacher = SisContent::from_value(serde_json::json!({
        "sourcedId": "tch-new", "role": "teacher", "email": "new@d.example",
        "givenName": "New", "familyName": "Teacher", "enabledUser": "true",
    }));
    store
        .provision_user(id, "tch-new", &teacher, now, "sso:req-1")
        .await
        .unwrap();
    store
        .put_sign_in_audit(&SignInAudit {
            at: now,
            request_id: format!("req-{id}"),
            tenant: Some(id.into()),
            classlink_tenant_id: Some(classlink.into()),
            classlink_user_id: Some("cl-1".into()),
            sourced_id: Some("tch-1".into()),
            matched_by: None,
            outcome: "signed_in".into(),
            expires_at: now + Days::days(30),
        })
        .await
        .unwrap();
    let ticket = serde_json::json!({"tenant": id, "sourced_id": "tch-1"}).to_string();
    store
        .put_one_time(
            OneTimeKind::LoginTicket,
            &format!("h-{id}"),
            &ticket,
            now + Days::minutes(5),
        )
        .await
        .unwrap();
    for work in [
        format!("OBJ#bucket/inbound/{id}/export.zip#v1"),
        format!("FILING#OBJ#bucket/inbound/{id}/export.zip#v1"),
    ] {
        store
            .claim(&work, "ingest", now, Duration::from_secs(60))
            .await
            .unwrap();
        store
            .finish_claim(&work, "ingest", "applied", now, Duration::from_secs(3600))
            .await
            .unwrap();
    }
    run.run_id
}

/// Everything the roles read of a tenant, for a before/after comparison.
/// (Not the store's internal keys: a run key both tenants used, such as one
/// sign-in's, becomes the other's alone; it stays, as its records read.)
async fn everything_of<S: Store + TenantErasure>(store: &S, id: &str) -> String {
    let items: Vec<TenantItem> = store
        .tenant_items(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.kind != TenantItemKind::InternalKeys)
        .collect();
    let runs = store.list_runs(Some(id), 100).await.unwrap();
    let audits = store
        .list_sign_in_audits(Some(id), 100, Utc::now())
        .await
        .unwrap();
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{}\n{:?}",
        items,
        state_of(store, id).await,
        store.get_tenant(id).await.unwrap(),
        store.primary_admins(id).await.unwrap(),
        store.get_state(id).await.unwrap(),
        serde_json::to_string(&runs).unwrap(),
        audits,
    )
}

async fn offboarding_deletes_every_item_of_one_tenant_and_nothing_of_another<
    S: Store + TenantErasure,
>(
    store: S,
) {
    let bench = Bench::new();
    let run_a = populate(&store, &bench, "gone", "1001").await;
    populate(&store, &bench, "kept", "2002").await;
    let other_before = everything_of(&store, "kept").await;

    let found = store.tenant_items("gone").await.unwrap();
    let counts = count_items(&found);
    for kind in [
        TenantItemKind::Config,
        TenantItemKind::ClassLinkMapping,
        TenantItemKind::State,
        TenantItemKind::Lease,
        TenantItemKind::Records,
        TenantItemKind::PlatformRecords,
        TenantItemKind::Runs,
        TenantItemKind::SignInAudits,
        TenantItemKind::OneTimeRecords,
        TenantItemKind::Claims,
    ] {
        assert!(
            counts.get(&kind).is_some_and(|n| *n > 0),
            "no {kind:?} found: {counts:?}"
        );
    }
    // 20 students, 2 teachers, 1 administrator, the provisional teacher; orgs,
    // sessions, courses, classes and enrollments besides.
    assert!(counts[&TenantItemKind::Records] > 24, "{counts:?}");
    assert_eq!(counts[&TenantItemKind::Claims], 2);

    let erasure = store.delete_tenant("gone").await;
    assert!(erasure.error.is_none(), "{:?}", erasure.error);
    assert!(erasure.left.is_empty());
    assert_eq!(erasure.deleted, found, "what went is what was found");

    assert!(store.tenant_items("gone").await.unwrap().is_empty());
    assert!(state_of(&store, "gone").await.is_empty());
    assert_eq!(store.get_tenant("gone").await.unwrap(), None);
    assert_eq!(store.classlink_mapping("1001").await.unwrap(), None);
    assert_eq!(store.get_run(&run_a).await.unwrap(), None);
    assert!(store.list_runs(Some("gone"), 10).await.unwrap().is_empty());
    assert!(store.primary_admins("gone").await.unwrap().is_empty());
    let now = Utc::now();
    assert!(store
        .list_sign_in_audits(Some("gone"), 10, now)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .take_one_time(OneTimeKind::LoginTicket, "h-gone", now)
            .await
            .unwrap(),
        None
    );
    // Its delivery is no longer remembered as done.
    assert_eq!(
        store
            .claim(
                "OBJ#bucket/inbound/gone/export.zip#v1",
                "x",
                now,
                Duration::from_secs(1)
            )
            .await
            .unwrap(),
        ClaimOutcome::Claimed
    );
    store
        .release_claim("OBJ#bucket/inbound/gone/export.zip#v1", "x")
        .await
        .unwrap();

    // The other tenant: exactly as it was.
    assert_eq!(everything_of(&store, "kept").await, other_before);
    assert_eq!(
        store.classlink_mapping("2002").await.unwrap().as_deref(),
        Some("kept")
    );
    assert!(store
        .take_one_time(OneTimeKind::LoginTicket, "h-kept", now)
        .await
        .unwrap()
        .is_some());

    // Again: nothing to do.
    let again = store.delete_tenant("gone").await;
    assert!(again.error.is_none() && again.deleted.is_empty() && again.left.is_empty());
    let none: BTreeMap<TenantItemKind, u64> = BTreeMap::new();
    assert_eq!(count_items(&again.deleted), none);
}

conformance!(offboarding_deletes_every_item_of_one_tenant_and_nothing_of_another);
