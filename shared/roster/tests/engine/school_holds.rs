//! The per-school hold on both stores: a delivery that leaves out one
//! school (ClassLink's sharing permissions dropped it) holds that school's
//! part apart and applies the rest; approving applies exactly the held
//! part, discarding leaves the school as it was.

use crate::common::*;
use oneroster::EntityKind;
use roster::tenant::HoldThresholds;
use roster::*;

/// 480 students in 24 classes in 12 schools: 40 students and 2 teachers a
/// school (school `s3` has classes 2 and 14).
fn twelve_schools() -> District {
    let mut district = District::new(480, 24);
    district.schools = 12;
    district
}

/// The same delivery without school `s3`, and one student of `s1` renamed.
fn without_s3(full: &District) -> District {
    let mut without = full.clone();
    without.dropped_schools = vec!["s3".into()];
    without.students[0].given = "Renamed".into();
    without
}

async fn a_dropped_school_is_held_apart_and_approving_applies_only_it<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let full = twelve_schools();
    sync(&store, &bench, &t, &full, None).await;

    let run = sync(&store, &bench, &t, &without_s3(&full), None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let held_id = run
        .held_apart
        .clone()
        .expect("the part of s3 is held apart");
    assert!(run.message.contains(&held_id), "{}", run.message);
    let schools: Vec<&str> = run.held_schools.iter().map(|h| h.school.as_str()).collect();
    assert_eq!(schools, ["s3"]);
    assert_eq!(
        run.held_schools[0].message,
        "school `s3` would archive 42 of 42 active users (100.0%; the limit is 30% and at least 25), 42 of 42 active enrollments (100.0%; the limit is 30% and at least 25)"
    );
    let users = counts(&run, EntityKind::Users);
    assert_eq!(
        (users.updated, users.archived),
        (1, 0),
        "the rest applied, s3 not"
    );
    let renamed = entity(&store, "d1", EntityKind::Users, "stu-0000").await;
    assert_eq!(renamed.sis.str("givenName"), Some("Renamed"));
    for (kind, id) in [
        (EntityKind::Users, "stu-0002"),
        (EntityKind::Users, "tch-14"),
        (EntityKind::Classes, "cl-2"),
        (EntityKind::Enrollments, "en-stu-0014"),
        (EntityKind::Orgs, "s3"),
    ] {
        let record = entity(&store, "d1", kind, id).await;
        assert!(
            record.archive.is_none(),
            "{kind} {id} waits with its school"
        );
    }

    let held = store.get_run(&held_id).await.unwrap().unwrap();
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    assert_eq!(held.held_from.as_deref(), Some(run.run_id.as_str()));
    assert!(held.message.contains("school `s3`"), "{}", held.message);
    let archived = |kind| counts(&held, kind).archived;
    assert_eq!(
        [
            EntityKind::Orgs,
            EntityKind::Classes,
            EntityKind::Users,
            EntityKind::Enrollments
        ]
        .map(archived),
        [1, 2, 42, 42]
    );

    let approved = Engine::new(&store, &bench.artifacts)
        .approve(&held_id, "ops@vendor")
        .await
        .unwrap();
    assert_eq!(approved.status, RunStatus::Applied, "{}", approved.message);
    assert_eq!(approved.items_written, 1 + 2 + 42 + 42);

    // The end state is the delivery's, as if nothing had been held.
    let whole = TenantConfig {
        hold: Some(HoldThresholds {
            min_school_archive_count: u64::MAX,
            ..HoldThresholds::default()
        }),
        ..tenant(&store, "d2").await
    };
    store.put_tenant(&whole).await.unwrap();
    sync(&store, &bench, &whole, &full, None).await;
    let direct = sync(&store, &bench, &whole, &without_s3(&full), None).await;
    assert!(direct.held_apart.is_none() && direct.held_schools.is_empty());
    assert_eq!(state_of(&store, "d1").await, state_of(&store, "d2").await);
}

async fn a_discarded_school_part_leaves_the_school_as_it_was<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let full = twelve_schools();
    sync(&store, &bench, &t, &full, None).await;
    let run = sync(&store, &bench, &t, &without_s3(&full), None).await;
    let held_id = run.held_apart.expect("held apart");
    let discarded = Engine::new(&store, &bench.artifacts)
        .discard(&held_id, "ops")
        .await
        .unwrap();
    assert_eq!(discarded.status, RunStatus::Discarded);
    assert!(entity(&store, "d1", EntityKind::Users, "stu-0002")
        .await
        .archive
        .is_none());
    // The next delivery has the school again: nothing of it changes.
    let mut back = full.clone();
    back.students[0].given = "Renamed".into();
    let again = sync(&store, &bench, &t, &back, None).await;
    assert_eq!(again.status, RunStatus::Applied, "{}", again.message);
    assert_eq!(again.total_writes(), 0, "{:?}", again.counts);
}

async fn a_school_under_its_limit_is_not_held<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let full = twelve_schools();
    sync(&store, &bench, &t, &full, None).await;
    // 10 of s3's 40 students leave (25% of its users, under 30%).
    let mut fewer = full.clone();
    let leaving: Vec<String> = full
        .students
        .iter()
        .filter(|s| s.class == 2 || s.class == 14)
        .take(10)
        .map(|s| s.id.clone())
        .collect();
    fewer.students.retain(|s| !leaving.contains(&s.id));
    let run = sync(&store, &bench, &t, &fewer, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert!(run.held_apart.is_none() && run.held_schools.is_empty());
    assert_eq!(counts(&run, EntityKind::Users).archived, 10);
}

async fn an_old_school_part_is_not_applied_after_a_newer_delivery<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let full = twelve_schools();
    sync(&store, &bench, &t, &full, None).await;
    let run = sync(&store, &bench, &t, &without_s3(&full), None).await;
    let held_id = run.held_apart.expect("held apart");
    // The next delivery has the school again: it writes nothing of it.
    let back = sync(
        &store,
        &bench,
        &t,
        &without_s3(&full).with_schools_back(),
        None,
    )
    .await;
    assert_eq!(back.status, RunStatus::Applied, "{}", back.message);
    let approved = Engine::new(&store, &bench.artifacts)
        .approve(&held_id, "ops")
        .await
        .unwrap();
    assert_eq!(approved.status, RunStatus::Stale, "{}", approved.message);
    assert!(
        approved.message.contains(&back.run_id),
        "{}",
        approved.message
    );
    assert!(entity(&store, "d1", EntityKind::Users, "stu-0002")
        .await
        .archive
        .is_none());
}

/// A district with state ids whose school s3's SIS gives its 40 students new
/// sourcedIds (state ids kept), synced: the part of s3 held apart.
async fn a_rekeyed_school_held_apart<S: Store>(store: &S, bench: &Bench) -> String {
    let t = tenant(store, "d1").await;
    let mut full = twelve_schools();
    for (i, s) in full.students.iter_mut().enumerate() {
        s.state_id = Some(format!("S{i}"));
    }
    sync(store, bench, &t, &full, None).await;
    let mut rekeyed = full.clone();
    for s in rekeyed.students.iter_mut().filter(|s| s.class % 12 == 2) {
        s.id = s.id.replace("stu-", "new-");
    }
    let run = sync(store, bench, &t, &rekeyed, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    run.held_apart.expect("the part of s3 is held apart")
}

async fn a_school_part_rekeyed_by_state_id_carries_on_when_approved<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let held_id = a_rekeyed_school_held_apart(&store, &bench).await;
    let approved = Engine::new(&store, &bench.artifacts)
        .approve(&held_id, "ops")
        .await
        .unwrap();
    assert_eq!(approved.status, RunStatus::Applied, "{}", approved.message);
    assert!(
        approved
            .message
            .contains("with the re-key of 40 users (and 40 enrollments)"),
        "{}",
        approved.message
    );
    let old = entity(&store, "d1", EntityKind::Users, "stu-0002").await;
    assert_eq!(
        old.archive.as_ref().and_then(|a| a.reason),
        Some(roster::store::ArchiveReason::Rekeyed)
    );
    assert_eq!(old.rekey.rekeyed_to.as_deref(), Some("new-0002"));
    let new = entity(&store, "d1", EntityKind::Users, "new-0002").await;
    assert_eq!(
        new.first_seen_at, old.first_seen_at,
        "first seen carries on"
    );
}

async fn a_school_part_approved_with_an_empty_mapping_pairs_no_one<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let held_id = a_rekeyed_school_held_apart(&store, &bench).await;
    let approved = Engine::new(&store, &bench.artifacts)
        .approve_with(
            &held_id,
            "ops",
            roster::engine::RekeyChoice::Mapping(Vec::new()),
        )
        .await
        .unwrap();
    assert_eq!(approved.status, RunStatus::Applied, "{}", approved.message);
    assert!(!approved.message.contains("re-key"), "{}", approved.message);
    let old = entity(&store, "d1", EntityKind::Users, "stu-0002").await;
    assert_eq!(
        old.archive.as_ref().and_then(|a| a.reason),
        Some(roster::store::ArchiveReason::Absent)
    );
    assert_eq!(old.rekey.rekeyed_to, None);
}

conformance!(
    a_school_part_rekeyed_by_state_id_carries_on_when_approved,
    a_school_part_approved_with_an_empty_mapping_pairs_no_one,
    an_old_school_part_is_not_applied_after_a_newer_delivery,
    a_dropped_school_is_held_apart_and_approving_applies_only_it,
    a_discarded_school_part_leaves_the_school_as_it_was,
    a_school_under_its_limit_is_not_held,
);
