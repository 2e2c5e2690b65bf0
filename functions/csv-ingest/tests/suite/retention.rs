//! The daily retention pass through the real handler (`{"retention": true}`)
//! on DynamoDB Local: people archived past their tenant's retention lose
//! their personal fields, nobody else, each tenant by its own setting.

use crate::common::*;
use chrono::{Duration, Utc};
use oneroster::EntityKind;
use roster::roles::*;
use roster::RunStatus;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_event_erases_people_archived_past_each_tenants_retention() {
    let world = World::new().await;
    world.tenant("d1").await;
    let mut off = world.tenant("d2").await;
    off.retain_archived_days = Some(0);
    world.ingest.store.put_tenant(&off).await.unwrap();
    let zip = world.zip_of(&world.district("district", 40));
    for tenant in ["d1", "d2"] {
        let event = world
            .put_file(&format!("inbound/{tenant}/district.zip"), &zip)
            .await;
        let out = world
            .ingest
            .handle(decode(event).unwrap(), None)
            .await
            .unwrap();
        assert_eq!(out[0].outcome, "applied", "{out:?}");
    }
    let store = &world.ingest.store;
    let users = store.load_summaries("d1", EntityKind::Users).await.unwrap();
    let (old, recent) = (
        users[0].sourced_id.to_string(),
        users[1].sourced_id.to_string(),
    );
    let now = Utc::now();
    for tenant in ["d1", "d2"] {
        store
            .archive_by_hand(tenant, EntityKind::Users, &old, now - Duration::days(400))
            .await
            .unwrap();
        store
            .archive_by_hand(tenant, EntityKind::Users, &recent, now - Duration::days(30))
            .await
            .unwrap();
    }
    let before_recent = store
        .get_entity("d1", EntityKind::Users, &recent)
        .await
        .unwrap();
    let before_d2 = store
        .get_entity("d2", EntityKind::Users, &old)
        .await
        .unwrap();

    let deadline = Some(Instant::now() + std::time::Duration::from_secs(600));
    let invocation = decode(serde_json::json!({"retention": true})).unwrap();
    let out = world.ingest.handle(invocation, deadline).await.unwrap();
    let said: Vec<(&str, &str)> = out
        .iter()
        .map(|o| (o.key.as_str(), o.outcome.as_str()))
        .collect();
    assert_eq!(said, [("d1", "erased"), ("d2", "off")]);

    let erased = store
        .get_entity("d1", EntityKind::Users, &old)
        .await
        .unwrap()
        .unwrap();
    assert!(erased.sis.str("givenName").is_none() && erased.sis.str("username").is_none());
    assert_eq!(erased.sis.str("sourcedId"), Some(old.as_str()));
    let run = store
        .get_run(out[0].run_id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (run.status, run.source.kind.as_str()),
        (RunStatus::Applied, "retention")
    );
    assert_eq!(run.counts["users"].erased, 1);
    assert_eq!(erased.erasure.unwrap().run, run.run_id);
    assert_eq!(
        store
            .get_entity("d1", EntityKind::Users, &recent)
            .await
            .unwrap(),
        before_recent,
        "archived 30 days ago: kept"
    );
    assert_eq!(
        store
            .get_entity("d2", EntityKind::Users, &old)
            .await
            .unwrap(),
        before_d2,
        "retention off for d2"
    );

    let again = decode(serde_json::json!({"retention": true})).unwrap();
    let out = world.ingest.handle(again, deadline).await.unwrap();
    assert_eq!(out[0].outcome, "nothing", "{out:?}");
    assert!(
        world.scratch_left().is_empty(),
        "{:?}",
        world.scratch_left()
    );
}
