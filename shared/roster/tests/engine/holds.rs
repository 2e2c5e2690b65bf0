//! Holds on both stores: a mass archive, an empty bulk file, approval
//! against a changed store, a stale package, and the mass-update guard.

use crate::common::*;
use chrono::{Duration as Days, Utc};
use oneroster::EntityKind;
use roster::*;

async fn a_mass_archive_is_held_until_approved<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let full = District::new(100, 4);
    sync(&store, &bench, &t, &full, None).await;
    let before = state_of(&store, "d1").await;

    // 10 of 105 users: under the 25-record minimum — applied.
    let mut small = full.clone();
    small.students.truncate(90);
    let run = sync(&store, &bench, &t, &small, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let restore = sync(&store, &bench, &t, &full, None).await;
    assert_eq!(counts(&restore, EntityKind::Users).unarchived, 10);

    // 30 of 105 users (28.6%, at least 25): held, nothing applied.
    let mut truncated = full.clone();
    truncated.students.truncate(70);
    let held = sync(&store, &bench, &t, &truncated, None).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    let reason = &held.hold["users"];
    assert_eq!((reason.active_before, reason.would_archive), (105, 30));
    assert!(held.hold.contains_key("enrollments"));
    assert!(held.plan_ref.is_some());
    assert_eq!(
        state_of(&store, "d1").await,
        before,
        "a held run changes nothing"
    );
    assert_eq!(
        store.get_run(&held.run_id).await.unwrap().unwrap().status,
        RunStatus::Held
    );

    let approved = Engine::new(&store, &bench.artifacts)
        .approve(&held.run_id, "ops@vendor")
        .await
        .unwrap();
    assert_eq!(approved.status, RunStatus::Applied, "{}", approved.message);
    assert_eq!(approved.decided_by.as_deref(), Some("ops@vendor"));
    assert!(entity(&store, "d1", EntityKind::Users, "stu-0080")
        .await
        .archive
        .is_some());
    let again = Engine::new(&store, &bench.artifacts)
        .approve(&held.run_id, "ops@vendor")
        .await;
    assert!(
        matches!(again, Err(SyncError::Refused(_))),
        "a run is approved once"
    );
}

async fn an_empty_bulk_file_for_a_populated_type_is_held_and_can_be_discarded<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let full = District::new(10, 2);
    sync(&store, &bench, &t, &full, None).await;
    let path = bench.package(&full);
    std::fs::write(path.join("enrollments.csv"), "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n").unwrap();
    let held = Engine::new(&store, &bench.artifacts)
        .sync_package(&t, &path, source(&path), Delivered::now(None))
        .await
        .unwrap();
    assert_eq!(held.status, RunStatus::Held);
    assert!(held.hold["enrollments"].message.contains("no valid rows"));
    let discarded = Engine::new(&store, &bench.artifacts)
        .discard(&held.run_id, "ops")
        .await
        .unwrap();
    assert_eq!(discarded.status, RunStatus::Discarded);
    assert_eq!(
        state_of(&store, "d1").await.iter().filter(|r| r.3).count(),
        0
    );
}

async fn approval_is_refused_when_the_store_changed_since_the_plan<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let full = District::new(100, 4);
    sync(&store, &bench, &t, &full, None).await;
    let mut truncated = full.clone();
    truncated.students.truncate(60);
    let held = sync(&store, &bench, &t, &truncated, None).await;
    assert_eq!(held.status, RunStatus::Held);
    store
        .edit_sis_field(
            "d1",
            EntityKind::Users,
            "stu-0090",
            "givenName",
            "Changed meanwhile",
        )
        .await
        .unwrap();
    let refused = Engine::new(&store, &bench.artifacts)
        .approve(&held.run_id, "ops")
        .await;
    match refused {
        Err(SyncError::Refused(message)) => {
            assert!(message.contains("changed in the store"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        store.get_run(&held.run_id).await.unwrap().unwrap().status,
        RunStatus::Held
    );
}

async fn a_stale_package_is_not_applied<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let now = Utc::now();
    let district = District::new(20, 2);
    let first = sync(&store, &bench, &t, &district, Some(now)).await;
    assert_eq!(first.status, RunStatus::Applied);
    let mut older = district.clone();
    older.students[0].given = "Old".into();
    let stale = sync(&store, &bench, &t, &older, Some(now - Days::hours(1))).await;
    assert_eq!(stale.status, RunStatus::Stale, "{}", stale.message);
    assert_eq!(stale.items_written, 0);
    assert_eq!(
        entity(&store, "d1", EntityKind::Users, "stu-0000")
            .await
            .sis
            .str("givenName"),
        Some("Given0")
    );
    let newer = sync(&store, &bench, &t, &older, Some(now + Days::hours(1))).await;
    assert_eq!(newer.status, RunStatus::Applied);
}

async fn the_mass_update_guard_holds_a_file_that_rewrites_sign_in_keys<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let mut district = District::new(60, 4);
    sync(&store, &bench, &t, &district, None).await;
    let before = state_of(&store, "d1").await;

    // A broken export: every student's username rewritten.
    let mut broken = district.clone();
    for s in &mut broken.students {
        s.username = format!("{}-x", s.username);
    }
    let held = sync(&store, &bench, &t, &broken, None).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    let reason = &held.hold["users"];
    assert_eq!(
        (reason.would_change_identity, reason.would_archive),
        (60, 0)
    );
    assert!(
        held.message
            .contains("would change the email or username of 60 of 65 active users"),
        "{}",
        held.message
    );
    assert_eq!(
        state_of(&store, "d1").await,
        before,
        "a held run changes nothing"
    );

    // The same rewrite as a delta is held too.
    let delta = broken.clone().mode("users", "delta");
    let held = sync(&store, &bench, &t, &delta, None).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);

    // A normal file: a few usernames change, and it applies.
    for s in district.students.iter_mut().take(3) {
        s.username = format!("{}-new", s.username);
    }
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(counts(&run, EntityKind::Users).updated, 3);
}

conformance!(
    a_mass_archive_is_held_until_approved,
    an_empty_bulk_file_for_a_populated_type_is_held_and_can_be_discarded,
    approval_is_refused_when_the_store_changed_since_the_plan,
    a_stale_package_is_not_applied,
    the_mass_update_guard_holds_a_file_that_rewrites_sign_in_keys,
);
