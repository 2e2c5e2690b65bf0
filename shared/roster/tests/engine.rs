//! The sync engine's behaviour, run against both stores (the conformance
//! suite): SQLite in memory and DynamoDB Local.

mod common;

use chrono::{Duration as Days, Utc};
use common::*;
use oneroster::EntityKind;
use roster::*;
use std::sync::Arc;
use std::time::Duration;

async fn first_load_inserts_everything<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(40, 4);
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(counts(&run, EntityKind::Users).inserted, 45);
    assert_eq!(counts(&run, EntityKind::Enrollments).inserted, 44);
    assert_eq!(counts(&run, EntityKind::Classes).inserted, 4);
    assert_eq!(run.items_written as usize, district.record_count());
    let user = store
        .get_entity("d1", EntityKind::Users, "stu-0001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.sis.str("givenName"), Some("Given1"));
    assert_eq!(user.sis.str("role"), Some("student"));
    assert!(user.archive.is_none());
    assert_eq!(user.first_seen_run, run.run_id);
    assert!(!user.primary_admin);
    let stored = store.get_run(&run.run_id).await.unwrap().unwrap();
    assert_eq!(stored.status, RunStatus::Applied);
    assert!(
        stored.report_ref.is_some(),
        "the validation report is kept beside the run"
    );
    let state = store.get_state("d1").await.unwrap();
    assert_eq!(state.last_applied_run.as_deref(), Some(run.run_id.as_str()));
}

async fn an_unchanged_resync_writes_nothing<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(40, 4);
    sync(&store, &bench, &t, &district, None).await;
    let before = state_of(&store, "d1").await;
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(run.status, RunStatus::Applied);
    assert_eq!(run.items_written, 0, "{:?}", run.counts);
    assert_eq!(run.total_writes(), 0);
    assert_eq!(counts(&run, EntityKind::Users).unchanged, 45);
    assert_eq!(state_of(&store, "d1").await, before);
}

async fn a_run_records_what_its_requests_consumed<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(40, 4);
    let first = sync(&store, &bench, &t, &district, None).await;
    let again = sync(&store, &bench, &t, &district, None).await;
    let stored = store.get_run(&again.run_id).await.unwrap().unwrap();
    if store.name() != "dynamodb" {
        assert_eq!(first.store_usage, None, "{} does not count", store.name());
        return;
    }
    let first = first.store_usage.expect("DynamoDB counts");
    assert!(first.requests > 0);
    // Every put of the first load costs at least one write unit.
    let items = district.record_count() as f64;
    assert!(first.write_units >= items, "{first:?} for {items} items");
    let again = again.store_usage.expect("DynamoDB counts");
    assert!(
        again.read_units > 0.0,
        "the re-sync reads what is stored: {again:?}"
    );
    // The run record, the lease and the tenant state: a handful of writes.
    assert!(again.write_units < 20.0, "{again:?}");
    assert_eq!(
        stored.store_usage,
        Some(again),
        "kept on the stored run record"
    );
}

async fn changes_write_only_the_changed_records<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let mut district = District::new(40, 4);
    sync(&store, &bench, &t, &district, None).await;
    district.students[3].given = "Renamed".into();
    district.students[7].given = "Also".into();
    district.students[9].class = 2; // moves class: the enrollment changes
    district.extra_enrollments = "en-extra,active,,cl-1,s1,stu-0001,student,false,,\n".into();
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(counts(&run, EntityKind::Users).updated, 2);
    assert_eq!(counts(&run, EntityKind::Enrollments).updated, 1);
    assert_eq!(counts(&run, EntityKind::Enrollments).inserted, 1);
    assert_eq!(run.items_written, 4, "writes equal the changed records");
    let user = store
        .get_entity("d1", EntityKind::Users, "stu-0003")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.sis.str("givenName"), Some("Renamed"));
}

async fn bulk_absence_archives_and_return_unarchives<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let full = District::new(40, 4);
    sync(&store, &bench, &t, &full, None).await;
    let mut less = full.clone();
    less.students.remove(5);
    let run = sync(&store, &bench, &t, &less, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(counts(&run, EntityKind::Users).archived, 1);
    assert_eq!(counts(&run, EntityKind::Enrollments).archived, 1);
    let gone = store
        .get_entity("d1", EntityKind::Users, "stu-0005")
        .await
        .unwrap()
        .unwrap();
    let archive = gone.archive.expect("archived, not deleted");
    assert_eq!(archive.by, ArchivedBy::Sync);
    assert_eq!(archive.run.as_deref(), Some(run.run_id.as_str()));
    assert_eq!(gone.sis.str("givenName"), Some("Given5"), "content is kept");

    let back = sync(&store, &bench, &t, &full, None).await;
    assert_eq!(counts(&back, EntityKind::Users).unarchived, 1);
    let user = store
        .get_entity("d1", EntityKind::Users, "stu-0005")
        .await
        .unwrap()
        .unwrap();
    assert!(user.archive.is_none());
}

async fn manual_archives_and_edits_are_overridden<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(40, 4);
    sync(&store, &bench, &t, &district, None).await;
    store
        .archive_by_hand("d1", EntityKind::Classes, "cl-2", Utc::now())
        .await
        .unwrap();
    store
        .edit_sis_field(
            "d1",
            EntityKind::Users,
            "stu-0004",
            "givenName",
            "Hand Edited",
        )
        .await
        .unwrap();
    let edited = store
        .get_entity("d1", EntityKind::Users, "stu-0004")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(edited.sis.str("givenName"), Some("Hand Edited"));
    assert_eq!(
        store
            .get_entity("d1", EntityKind::Classes, "cl-2")
            .await
            .unwrap()
            .unwrap()
            .archive
            .unwrap()
            .by,
        ArchivedBy::Manual
    );

    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(counts(&run, EntityKind::Classes).unarchived, 1);
    assert_eq!(counts(&run, EntityKind::Users).updated, 1);
    assert_eq!(run.items_written, 2);
    let user = store
        .get_entity("d1", EntityKind::Users, "stu-0004")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.sis.str("givenName"),
        Some("Given4"),
        "the SIS value wins"
    );
    assert!(store
        .get_entity("d1", EntityKind::Classes, "cl-2")
        .await
        .unwrap()
        .unwrap()
        .archive
        .is_none());
}

async fn a_primary_administrator_survives_syncs<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let mut district = District::new(40, 4);
    sync(&store, &bench, &t, &district, None).await;
    store.set_primary_admin("d1", "adm-1", true).await.unwrap();
    district.admin_given_name = "Adaline".into();
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(counts(&run, EntityKind::Users).updated, 1);
    let admin = store
        .get_entity("d1", EntityKind::Users, "adm-1")
        .await
        .unwrap()
        .unwrap();
    assert!(
        admin.primary_admin,
        "a sync never clears the platform-owned flag"
    );
    assert_eq!(admin.sis.str("givenName"), Some("Adaline"));
    assert_eq!(
        store.primary_admins("d1").await.unwrap(),
        vec!["adm-1".to_string()]
    );
    assert!(run.warnings.is_empty());

    // A sync that archives the Primary Administrator says so.
    let mut without = district.clone();
    without.extra_users = String::new();
    let path = bench.package(&without);
    let users = std::fs::read_to_string(path.join("users.csv")).unwrap();
    std::fs::write(
        path.join("users.csv"),
        users
            .lines()
            .filter(|l| !l.starts_with("adm-1,"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n",
    )
    .unwrap();
    let run = Engine::new(&store, &bench.artifacts)
        .sync_package(&t, &path, source(&path), Delivered::now(None))
        .await
        .unwrap();
    assert_eq!(counts(&run, EntityKind::Users).archived, 1);
    assert!(
        run.warnings
            .iter()
            .any(|w| w.contains("adm-1") && w.contains("Primary Administrator")),
        "{:?}",
        run.warnings
    );
    assert!(
        store
            .get_entity("d1", EntityKind::Users, "adm-1")
            .await
            .unwrap()
            .unwrap()
            .primary_admin
    );
}

async fn delta_upserts_deletes_and_leaves_the_rest<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    sync(&store, &bench, &t, &District::new(40, 4), None).await;
    let dir = bench.dir.path().join("delta");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("manifest.csv"), "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.users,delta\nfile.enrollments,delta\n").unwrap();
    std::fs::write(dir.join("users.csv"), "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\nstu-0001,active,,true,s1,student,stu-0001,,Changed,Stu,,,,,,,01,\nstu-new,active,,true,s1,student,stu-new,,New,Stu,,,,,,,01,\nstu-0002,tobedeleted,,,,,,,,,,,,,,,,\n").unwrap();
    std::fs::write(dir.join("enrollments.csv"), "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\nen-new,active,,cl-0,s1,stu-new,student,false,,\nen-stu-0002,tobedeleted,,,,,,,,\n").unwrap();
    let run = Engine::new(&store, &bench.artifacts)
        .sync_package(&t, &dir, source(&dir), Delivered::now(None))
        .await
        .unwrap();
    assert_eq!(
        run.status,
        RunStatus::Applied,
        "{} {:?}",
        run.message,
        run.errors
    );
    let users = counts(&run, EntityKind::Users);
    assert_eq!((users.updated, users.inserted, users.archived), (1, 1, 1));
    assert_eq!(counts(&run, EntityKind::Enrollments).archived, 1);
    assert_eq!(run.items_written, 5);
    assert!(store
        .get_entity("d1", EntityKind::Users, "stu-0002")
        .await
        .unwrap()
        .unwrap()
        .archive
        .is_some());
    assert!(
        store
            .get_entity("d1", EntityKind::Users, "stu-0030")
            .await
            .unwrap()
            .unwrap()
            .archive
            .is_none(),
        "untouched"
    );
    assert!(
        !run.counts.contains_key("classes"),
        "absent files are not planned"
    );
}

async fn rejected_rows_never_archive<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(40, 4);
    sync(&store, &bench, &t, &district, None).await;
    let path = bench.package(&district);
    let users = std::fs::read_to_string(path.join("users.csv")).unwrap();
    // stu-0006's row becomes malformed (role outside the enumeration).
    std::fs::write(
        path.join("users.csv"),
        users.replace(
            "stu-0006,active,,true,s1,student",
            "stu-0006,active,,true,s1,pupil",
        ),
    )
    .unwrap();
    let run = Engine::new(&store, &bench.artifacts)
        .sync_package(&t, &path, source(&path), Delivered::now(None))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Applied);
    let users = counts(&run, EntityKind::Users);
    assert_eq!((users.rejected, users.archived), (1, 0));
    assert!(
        run.errors
            .iter()
            .any(|e| e.code == "invalid_enum" && e.line == Some(13)),
        "{:?}",
        run.errors
    );
    assert!(store
        .get_entity("d1", EntityKind::Users, "stu-0006")
        .await
        .unwrap()
        .unwrap()
        .archive
        .is_none());
}

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
    assert!(store
        .get_entity("d1", EntityKind::Users, "stu-0080")
        .await
        .unwrap()
        .unwrap()
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
        store
            .get_entity("d1", EntityKind::Users, "stu-0000")
            .await
            .unwrap()
            .unwrap()
            .sis
            .str("givenName"),
        Some("Given0")
    );
    let newer = sync(&store, &bench, &t, &older, Some(now + Days::hours(1))).await;
    assert_eq!(newer.status, RunStatus::Applied);
}

async fn concurrent_runs_of_one_tenant_serialise<S: Store + PlatformEdits + 'static>(store: S) {
    let bench = Arc::new(Bench::new());
    let store = Arc::new(store);
    let t = tenant(store.as_ref(), "d1").await;
    let district = District::new(300, 10);
    let path_a = bench.package(&district);
    let path_b = bench.package(&district);
    let run = |path: std::path::PathBuf, wait: Duration| {
        let (store, bench, t) = (store.clone(), bench.clone(), t.clone());
        tokio::spawn(async move {
            let mut engine = Engine::new(store.as_ref(), &bench.artifacts);
            engine.options.lease_wait = wait;
            engine
                .sync_package(&t, &path, source(&path), Delivered::now(None))
                .await
                .unwrap()
        })
    };
    // Without waiting: one applies, the other ends busy.
    let (a, b) = (
        run(path_a.clone(), Duration::ZERO),
        run(path_b.clone(), Duration::ZERO),
    );
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let mut statuses = [a.status, b.status];
    statuses.sort_by_key(|s| s.as_str());
    assert_eq!(
        statuses,
        [RunStatus::Applied, RunStatus::Busy],
        "{} / {}",
        a.message,
        b.message
    );
    let busy = if a.status == RunStatus::Busy { &a } else { &b };
    assert!(busy.message.contains("in progress"));
    assert_eq!(
        store.get_run(&busy.run_id).await.unwrap().unwrap().status,
        RunStatus::Busy
    );

    // Waiting: both apply, one after the other; the second finds nothing to do.
    let mut changed = district.clone();
    changed.students[0].given = "Changed".into();
    let (c, d) = (
        run(bench.package(&changed), Duration::from_secs(60)),
        run(bench.package(&changed), Duration::from_secs(60)),
    );
    let (c, d) = (c.await.unwrap(), d.await.unwrap());
    assert_eq!(
        (c.status, d.status),
        (RunStatus::Applied, RunStatus::Applied)
    );
    assert_eq!(
        c.items_written + d.items_written,
        1,
        "serialised: exactly one wrote the change"
    );
}

async fn a_run_killed_halfway_converges_when_run_again<S: Store + PlatformEdits + 'static>(
    store: S,
) {
    let bench = Bench::new();
    let store = Arc::new(store);
    let t = tenant(store.as_ref(), "d1").await;
    let district = District::new(120, 6);
    let faulty = Faulty::new(store.clone(), 77);
    let path = bench.package(&district);
    let mut engine = Engine::new(&faulty, &bench.artifacts);
    engine.options.chunk = 50;
    let failed = engine
        .sync_package(&t, &path, source(&path), Delivered::now(None))
        .await;
    let error = failed.expect_err("the injected fault fails the run");
    assert!(error.is_retryable(), "{error}");
    let runs = store.list_runs(Some("d1"), 10).await.unwrap();
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert_eq!(
        state_of(store.as_ref(), "d1").await.len(),
        77,
        "half applied"
    );

    let resumed = sync(store.as_ref(), &bench, &t, &district, None).await;
    assert_eq!(resumed.status, RunStatus::Applied);
    assert_eq!(
        resumed.items_written as usize,
        district.record_count() - 77,
        "no duplicate effect"
    );

    let reference = sqlite();
    let rt = tenant(&reference, "d1").await;
    sync(&reference, &bench, &rt, &district, None).await;
    let end: Vec<_> = state_of(store.as_ref(), "d1").await;
    let expected: Vec<_> = state_of(&reference, "d1").await;
    assert_eq!(end, expected, "same end state as a clean load");
}

async fn a_crashed_runs_expired_lease_is_taken_over<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    // A run that died holding the lease: its record says running.
    let mut dead = RunRecord::start(
        "d1",
        RunSource {
            kind: "csv".into(),
            reference: "x".into(),
        },
        Utc::now() - Days::minutes(10),
    );
    store.put_run(&dead).await.unwrap();
    let outcome = store
        .acquire_lease(
            "d1",
            &dead.run_id,
            Utc::now() - Days::minutes(10),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, LeaseOutcome::Acquired { .. }));
    let run = sync(&store, &bench, &t, &District::new(10, 2), None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    dead = store.get_run(&dead.run_id).await.unwrap().unwrap();
    assert_eq!(dead.status, RunStatus::Failed);
    assert!(dead.message.contains("lease expired"));
}

async fn sync_with<S: Store>(
    engine: &Engine<'_, S, LocalArtifacts>,
    bench: &Bench,
    t: &TenantConfig,
) -> RunRecord {
    let path = bench.package(&District::new(10, 2));
    engine
        .sync_package(t, &path, source(&path), Delivered::now(None))
        .await
        .unwrap()
}

/// A run whose process is gone, holding `d1`'s lease for another minute.
async fn a_run_holding_the_lease<S: Store>(
    store: &S,
    process: Option<run::RunProcess>,
) -> (RunRecord, Lease) {
    let mut holder = RunRecord::start(
        "d1",
        RunSource {
            kind: "csv".into(),
            reference: "x".into(),
        },
        Utc::now(),
    );
    holder.process = process;
    store.put_run(&holder).await.unwrap();
    let outcome = store
        .acquire_lease("d1", &holder.run_id, Utc::now(), Duration::from_secs(60))
        .await
        .unwrap();
    let LeaseOutcome::Acquired { lease, .. } = outcome else {
        panic!("the lease is free: {outcome:?}");
    };
    (holder, lease)
}

async fn a_dead_local_process_lease_is_taken_over_at_once<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let me = run::RunProcess::current().expect("this process, from /proc");
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let dead = run::RunProcess {
        pid: dead_pid,
        started: Some(1),
        ..me.clone()
    };
    // Its process on this machine has ended: taken over at once, not in a minute.
    let (holder, _) = a_run_holding_the_lease(&store, Some(dead.clone())).await;
    let mut engine = Engine::new(&store, &bench.artifacts);
    engine.options.this_process = Some(me.clone());
    let run = sync_with(&engine, &bench, &t).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(
        run.process.as_ref(),
        Some(&me),
        "the run records its process"
    );
    let holder = store.get_run(&holder.run_id).await.unwrap().unwrap();
    assert_eq!(holder.status, RunStatus::Failed);
    assert!(
        holder.message.contains("took over at once"),
        "{}",
        holder.message
    );

    // A live process, another machine's (whatever its host name), or a run
    // without a process (Lambda): the lease is held until it expires.
    for (what, process, this) in [
        ("a live process", Some(me.clone()), Some(me.clone())),
        (
            "another machine",
            Some(run::RunProcess {
                host: format!("{}-elsewhere", me.host),
                ..dead.clone()
            }),
            Some(me.clone()),
        ),
        (
            "another PID namespace (a container), same host name",
            Some(run::RunProcess {
                pid_namespace: Some("pid:[1]".into()),
                ..dead.clone()
            }),
            Some(me.clone()),
        ),
        (
            "another boot, same host name",
            Some(run::RunProcess {
                boot_id: Some("another-boot".into()),
                ..dead.clone()
            }),
            Some(me.clone()),
        ),
        (
            "recorded by host name and pid only",
            Some(run::RunProcess {
                boot_id: None,
                pid_namespace: None,
                started: None,
                ..dead.clone()
            }),
            Some(me.clone()),
        ),
        ("no process recorded", None, Some(me.clone())),
        ("a run in Lambda", Some(dead.clone()), None),
    ] {
        let (_, lease) = a_run_holding_the_lease(&store, process).await;
        let mut engine = Engine::new(&store, &bench.artifacts);
        engine.options.this_process = this;
        let run = sync_with(&engine, &bench, &t).await;
        assert_eq!(run.status, RunStatus::Busy, "{what}: {}", run.message);
        store.release_lease("d1", &lease).await.unwrap();
    }
}

async fn a_long_run_keeps_its_short_lease_and_one_that_loses_it_stops<
    S: Store + PlatformEdits + 'static,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let store = Arc::new(store);
    // One write call longer than the whole lease: only the renewals beside
    // the work keep it.
    let slow = Faulty::slow(store.clone(), Duration::from_millis(2500));
    let short = |engine: &mut Engine<'_, _, LocalArtifacts>| {
        engine.options.lease_ttl = Duration::from_secs(1);
        engine.options.lease_renew_every = Duration::from_millis(200);
    };
    let path = bench.package(&District::new(10, 2));
    let mut engine = Engine::new(&slow, &bench.artifacts);
    short(&mut engine);
    let long_run = engine.sync_package(&t, &path, source(&path), Delivered::now(None));
    let rival = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        sync(&*store, &bench, &t, &District::new(10, 2), None).await
    };
    let (long_run, rival) = tokio::join!(long_run, rival);
    let long_run = long_run.unwrap();
    assert_eq!(long_run.status, RunStatus::Applied, "{}", long_run.message);
    assert_eq!(
        rival.status,
        RunStatus::Busy,
        "the lease was still held after 1.5 s: {}",
        rival.message
    );

    // Another run takes the lease (as after an expiry): the slow run's next
    // renewal finds it gone, and it stops before its write.
    let mut changed = District::new(10, 2);
    changed.admin_given_name = "Changed".into();
    let path = bench.package(&changed);
    let mut engine = Engine::new(&slow, &bench.artifacts);
    short(&mut engine);
    let doomed = engine.sync_package(&t, &path, source(&path), Delivered::now(None));
    let thief = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let LeaseOutcome::Held { lease: held, .. } = store
            .acquire_lease("d1", "thief", Utc::now(), Duration::from_secs(60))
            .await
            .unwrap()
        else {
            panic!("the slow run holds the lease");
        };
        store.release_lease("d1", &held).await.unwrap();
        let taken = store
            .acquire_lease("d1", "thief", Utc::now(), Duration::from_secs(60))
            .await
            .unwrap();
        assert!(matches!(taken, LeaseOutcome::Acquired { .. }));
        held.owner
    };
    let before = state_of(&*store, "d1").await;
    let (doomed, owner) = tokio::join!(doomed, thief);
    let error = doomed.unwrap_err();
    assert!(error.to_string().starts_with("lease lost"), "{error}");
    let recorded = store.get_run(&owner).await.unwrap().unwrap();
    assert_eq!(recorded.status, RunStatus::Failed);
    assert_eq!(state_of(&*store, "d1").await, before, "it wrote nothing");
}

/// The district with every student's given name `{prefix}-{id}`.
fn renamed(district: &District, prefix: &str) -> District {
    let mut renamed = district.clone();
    for student in &mut renamed.students {
        student.given = format!("{prefix}-{}", student.id);
    }
    renamed
}

/// Run A of an older delivery is stopped (as by SIGSTOP) with a chunk in
/// flight; run B of a newer delivery takes the lease over once A's expires
/// and applies; then A goes on. A writes nothing more and ends `failed:
/// lease lost`; only B is applied, and the store is B's delivery.
async fn a_run_stopped_mid_apply_writes_nothing_after_its_lease_is_taken_over<
    S: Store + PlatformEdits + 'static,
>(
    store: S,
) {
    let bench = Bench::new();
    let store = Arc::new(store);
    let t = tenant(store.as_ref(), "d1").await;
    let first = District::new(200, 5);
    let loaded = sync(store.as_ref(), &bench, &t, &first, Some(at("2026-01-05"))).await;
    assert_eq!(loaded.status, RunStatus::Applied, "{}", loaded.message);
    let (older, newer) = (renamed(&first, "Older"), renamed(&first, "Newer"));

    let pause = Pause::at_write(2);
    let stopping = Faulty::pausing(store.clone(), pause.clone());
    let mut engine_a = Engine::new(&stopping, &bench.artifacts);
    engine_a.options.chunk = 50;
    engine_a.options.lease_ttl = Duration::from_secs(1);
    engine_a.options.lease_renew_every = Duration::from_millis(200);
    let path_a = bench.package(&older);
    let run_a = engine_a.sync_package(
        &t,
        &path_a,
        source(&path_a),
        Delivered::at(at("2026-01-06")),
    );
    let run_b_then_resume_a = async {
        pause.stopped().await;
        let mut engine_b = Engine::new(store.as_ref(), &bench.artifacts);
        engine_b.options.lease_wait = Duration::from_secs(30);
        let path_b = bench.package(&newer);
        let b = engine_b
            .sync_package(
                &t,
                &path_b,
                source(&path_b),
                Delivered::at(at("2026-01-07")),
            )
            .await
            .expect("run B completes");
        pause.resume();
        b
    };
    let (a, b) = tokio::join!(run_a, run_b_then_resume_a);

    assert_eq!(b.status, RunStatus::Applied, "{}", b.message);
    let error = a.expect_err("run A cannot finish");
    assert!(error.to_string().starts_with("lease lost"), "{error}");
    let runs = store.list_runs(Some("d1"), 10).await.unwrap();
    let a = runs
        .iter()
        .find(|r| r.run_id != b.run_id && r.run_id != loaded.run_id)
        .expect("run A's record");
    assert_eq!(a.status, RunStatus::Failed, "{}", a.message);
    assert!(a.message.starts_with("lease lost"), "{}", a.message);
    let applied: Vec<&str> = runs
        .iter()
        .filter(|r| r.run_id != loaded.run_id && r.status == RunStatus::Applied)
        .map(|r| r.run_id.as_str())
        .collect();
    assert_eq!(applied, [b.run_id.as_str()], "exactly one run applied");

    let reference = sqlite();
    let rt = tenant(&reference, "d1").await;
    sync(&reference, &bench, &rt, &first, None).await;
    sync(&reference, &bench, &rt, &newer, None).await;
    let (stored, expected) = (
        state_of(store.as_ref(), "d1").await,
        state_of(&reference, "d1").await,
    );
    let differing: Vec<&str> = stored
        .iter()
        .zip(&expected)
        .filter(|(s, e)| s != e)
        .map(|(s, _)| s.1.as_str())
        .collect();
    assert_eq!(stored.len(), expected.len());
    assert!(
        differing.is_empty(),
        "the store is the newer delivery, every record; {} differ: {:?}",
        differing.len(),
        &differing[..differing.len().min(5)]
    );
    let state = store.get_state("d1").await.unwrap();
    assert_eq!(state.last_applied_run.as_deref(), Some(b.run_id.as_str()));
    assert_eq!(state.last_bulk_generated_at, Some(at("2026-01-07")));
}

/// The port's fence: a write, or a tenant state, under a lease another run
/// has taken over is refused and changes nothing; the lease's holder writes.
async fn writes_under_a_lease_taken_over_are_refused<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    sync(&store, &bench, &t, &District::new(10, 2), None).await;
    let ttl = Duration::from_millis(200);
    let LeaseOutcome::Acquired { lease: old, .. } = store
        .acquire_lease("d1", "run-a", Utc::now(), ttl)
        .await
        .unwrap()
    else {
        panic!("the lease is free");
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let LeaseOutcome::Acquired {
        lease: new,
        expired_owner,
    } = store
        .acquire_lease("d1", "run-b", Utc::now(), Duration::from_secs(60))
        .await
        .unwrap()
    else {
        panic!("the expired lease is taken");
    };
    assert_eq!(expired_owner.as_deref(), Some("run-a"));
    assert!(new.token > old.token, "{} > {}", new.token, old.token);

    let before = state_of(&store, "d1").await;
    let archive = |run: &str| {
        vec![EntityWrite::Archive {
            kind: EntityKind::Users,
            sourced_id: "stu-0000".into(),
            at: Utc::now(),
            run: run.into(),
            reason: Some(ArchiveReason::Absent),
            by: ArchivedBy::Sync,
        }]
    };
    let refused = store
        .write("d1", &old, &archive("run-a"))
        .await
        .unwrap_err();
    assert!(refused.is_lease_lost(), "{refused}");
    assert!(refused.to_string().starts_with("lease lost"), "{refused}");
    assert!(!store.renew_lease("d1", &old, Utc::now()).await.unwrap());
    let mut state = store.get_state("d1").await.unwrap();
    state.last_applied_run = Some("run-a".into());
    let refused = store.put_state("d1", &state, &old).await.unwrap_err();
    assert!(refused.is_lease_lost(), "{refused}");
    // Releasing under the old lease frees nothing.
    store.release_lease("d1", &old).await.unwrap();
    assert_eq!(state_of(&store, "d1").await, before, "nothing was written");
    assert_ne!(
        store
            .get_state("d1")
            .await
            .unwrap()
            .last_applied_run
            .as_deref(),
        Some("run-a")
    );
    if let Some(blocking) = store.blocking() {
        let refused = blocking.write("d1", &old, &archive("run-a")).unwrap_err();
        assert!(refused.is_lease_lost(), "{refused}");
        assert_eq!(state_of(&store, "d1").await, before, "nothing was written");
    }

    // The holder writes; once it released, so does nobody with its lease.
    assert_eq!(store.write("d1", &new, &archive("run-b")).await.unwrap(), 1);
    store.put_state("d1", &state, &new).await.unwrap();
    store.release_lease("d1", &new).await.unwrap();
    let LeaseOutcome::Acquired { lease: next, .. } = store
        .acquire_lease("d1", "run-c", Utc::now(), ttl)
        .await
        .unwrap()
    else {
        panic!("a released lease is free");
    };
    assert!(next.token > new.token, "{} > {}", next.token, new.token);
    let refused = store
        .write("d1", &new, &archive("run-b"))
        .await
        .unwrap_err();
    assert!(refused.is_lease_lost(), "{refused}");
}

async fn tenants_are_walls<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let a = tenant(&store, "district-a").await;
    let b = tenant(&store, "district-b").await;
    let district = District::new(40, 4);
    sync(&store, &bench, &a, &district, None).await;
    sync(&store, &bench, &b, &district, None).await;
    let b_before = state_of(&store, "district-b").await;
    let mut smaller = district.clone();
    smaller.students.truncate(35);
    smaller.classes = 4;
    let run = sync(&store, &bench, &a, &smaller, None).await;
    assert_eq!(counts(&run, EntityKind::Users).archived, 5);
    assert_eq!(
        state_of(&store, "district-b").await,
        b_before,
        "tenant B untouched"
    );
    store
        .set_primary_admin("district-a", "adm-1", true)
        .await
        .unwrap();
    assert!(store.primary_admins("district-b").await.unwrap().is_empty());
}

async fn deferred_enrollment_references_are_checked_against_the_store<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    sync(&store, &bench, &t, &District::new(10, 2), None).await;
    let dir = bench.dir.path().join("enrollments-only");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("manifest.csv"),
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.enrollments,delta\n",
    )
    .unwrap();
    std::fs::write(dir.join("enrollments.csv"), "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\nen-ok,active,,cl-1,s1,stu-0001,student,false,,\nen-nouser,active,,cl-1,s1,ghost,student,false,,\nen-noclass,active,,cl-9,s1,stu-0001,student,false,,\n").unwrap();
    let run = Engine::new(&store, &bench.artifacts)
        .sync_package(&t, &dir, source(&dir), Delivered::now(None))
        .await
        .unwrap();
    let e = counts(&run, EntityKind::Enrollments);
    assert_eq!((e.inserted, e.rejected), (1, 2), "{:?}", run.errors);
    let codes: Vec<_> = run
        .errors
        .iter()
        .map(|e| (e.code.as_str(), e.line))
        .collect();
    assert!(
        codes.contains(&("unknown_user", Some(3))) && codes.contains(&("unknown_class", Some(4))),
        "{codes:?}"
    );
    assert!(store
        .get_entity("d1", EntityKind::Enrollments, "en-nouser")
        .await
        .unwrap()
        .is_none());
}

async fn a_dry_run_writes_nothing<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(10, 2);
    let path = bench.package(&district);
    let mut engine = Engine::new(&store, &bench.artifacts);
    engine.options.dry_run = true;
    let run = engine
        .sync_package(&t, &path, source(&path), Delivered::now(None))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Planned);
    assert_eq!(run.total_writes() as usize, district.record_count());
    assert!(state_of(&store, "d1").await.is_empty());
    assert!(store.list_runs(Some("d1"), 10).await.unwrap().is_empty());
}

async fn a_rejected_package_changes_nothing_and_is_recorded<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(10, 2);
    sync(&store, &bench, &t, &district, None).await;
    let before = state_of(&store, "d1").await;
    let mut broken = district.clone();
    broken.omit = vec!["users.csv"];
    let run = sync(&store, &bench, &t, &broken, None).await;
    assert_eq!(run.status, RunStatus::Rejected);
    assert!(
        run.message.contains("declared_file_missing"),
        "{}",
        run.message
    );
    assert_eq!(state_of(&store, "d1").await, before);
    assert_eq!(
        store.get_run(&run.run_id).await.unwrap().unwrap().status,
        RunStatus::Rejected
    );
}

async fn runs_list_newest_first<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(5, 1);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(sync(&store, &bench, &t, &district, None).await.run_id);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let listed: Vec<String> = store
        .list_runs(Some("d1"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    ids.reverse();
    assert_eq!(listed, ids);
    assert_eq!(store.list_runs(None, 2).await.unwrap().len(), 2);
    assert_eq!(store.list_tenants().await.unwrap().len(), 1);
}

async fn lookups_find_records_within_one_tenant<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let a = tenant(&store, "district-a").await;
    let b = tenant(&store, "district-b").await;
    let district = District::new(20, 2);
    sync(&store, &bench, &a, &district, None).await;
    sync(&store, &bench, &b, &district, None).await;
    let find = |t: &'static str, l: Lookup| {
        let store = &store;
        async move { store.lookup(t, &l).await.unwrap() }
    };
    assert_eq!(
        find("district-a", Lookup::UsersByEmail("TCH1@d.example".into())).await,
        vec!["tch-1"]
    );
    assert_eq!(
        find("district-a", Lookup::UsersByUsername("Ada".into())).await,
        vec!["adm-1"]
    );
    assert_eq!(
        find("district-a", Lookup::ClassesOfSchool("s1".into())).await,
        vec!["cl-0", "cl-1"]
    );
    let of_class = find("district-a", Lookup::EnrollmentsOfClass("cl-1".into())).await;
    assert_eq!(of_class.len(), 11, "{of_class:?}");
    assert!(of_class.contains(&"en-t1".to_string()));
    assert_eq!(
        find("district-a", Lookup::EnrollmentsOfUser("stu-0003".into())).await,
        vec!["en-stu-0003"]
    );
    assert!(find(
        "district-a",
        Lookup::UsersByEmail("nobody@d.example".into())
    )
    .await
    .is_empty());
    // The same email in another tenant is another tenant's record.
    assert_eq!(
        find("district-b", Lookup::UsersByEmail("tch1@d.example".into())).await,
        vec!["tch-1"]
    );
    assert!(
        find("district-c", Lookup::UsersByEmail("tch1@d.example".into()))
            .await
            .is_empty()
    );
}

async fn one_time_records_are_taken_once_and_expire<S: Store + PlatformEdits + 'static>(store: S) {
    let store = Arc::new(store);
    let now = Utc::now();
    let later = now + Days::seconds(60);
    store
        .put_one_time(
            OneTimeKind::LoginTicket,
            "hash-1",
            r#"{"tenant":"d1","user":"t1"}"#,
            later,
        )
        .await
        .unwrap();
    assert!(
        store
            .put_one_time(OneTimeKind::LoginTicket, "hash-1", "other", later)
            .await
            .is_err(),
        "a key is never reused"
    );
    // Many concurrent takers: exactly one gets the payload.
    let takers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .take_one_time(OneTimeKind::LoginTicket, "hash-1", Utc::now())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut got = Vec::new();
    for t in takers {
        got.extend(t.await.unwrap());
    }
    assert_eq!(got, vec![r#"{"tenant":"d1","user":"t1"}"#.to_string()]);
    // Kinds are separate key spaces; an expired record is gone.
    store
        .put_one_time(
            OneTimeKind::LoginTransaction,
            "hash-1",
            "tx",
            now + Days::seconds(1),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .take_one_time(
                OneTimeKind::LoginTransaction,
                "hash-1",
                now + Days::seconds(2)
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_one_time(OneTimeKind::LoginTransaction, "hash-1", now)
            .await
            .unwrap(),
        None,
        "taken even when expired"
    );
    assert_eq!(
        store
            .take_one_time(OneTimeKind::LoginTicket, "never", now)
            .await
            .unwrap(),
        None
    );
}

async fn sign_in_audits_are_kept_per_tenant_newest_first<S: Store + PlatformEdits>(store: S) {
    let now = Utc::now();
    let audit = |i: i64, tenant: Option<&str>, outcome: &str, keep: i64| SignInAudit {
        at: now + Days::seconds(i),
        request_id: format!("req-{i}"),
        tenant: tenant.map(String::from),
        classlink_tenant_id: Some("4242".into()),
        classlink_user_id: Some(format!("cl-{i}")),
        sourced_id: None,
        matched_by: None,
        outcome: outcome.into(),
        expires_at: now + Days::seconds(keep),
    };
    store
        .put_sign_in_audit(&audit(1, Some("d1"), "signed_in", 3600))
        .await
        .unwrap();
    store
        .put_sign_in_audit(&audit(2, Some("d1"), "not_in_roster", 3600))
        .await
        .unwrap();
    store
        .put_sign_in_audit(&audit(3, Some("d2"), "signed_in", 3600))
        .await
        .unwrap();
    store
        .put_sign_in_audit(&audit(4, None, "not_set_up", 3600))
        .await
        .unwrap();
    store
        .put_sign_in_audit(&audit(5, Some("d1"), "student", 10))
        .await
        .unwrap();
    let d1 = store
        .list_sign_in_audits(Some("d1"), 10, now)
        .await
        .unwrap();
    let ids: Vec<_> = d1.iter().map(|a| a.request_id.as_str()).collect();
    assert_eq!(
        ids,
        ["req-5", "req-2", "req-1"],
        "newest first, one tenant only"
    );
    assert_eq!(d1[1], audit(2, Some("d1"), "not_in_roster", 3600));
    let later = now + Days::seconds(60);
    let d1 = store
        .list_sign_in_audits(Some("d1"), 10, later)
        .await
        .unwrap();
    assert_eq!(d1.len(), 2, "expired records are left out");
    let unknown = store.list_sign_in_audits(None, 10, now).await.unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].outcome, "not_set_up");
    assert_eq!(
        store
            .list_sign_in_audits(Some("d1"), 1, now)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn claims_take_work_once_remember_it_done_and_free_it_when_released<
    S: Store + PlatformEdits + 'static,
>(
    store: S,
) {
    let store = Arc::new(store);
    let now = Utc::now();
    let lease = Duration::from_secs(600);
    // Many invocations of one event at once: exactly one claims it.
    let claimants: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim("s3://b/k#v1", &format!("owner-{i}"), now, lease)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for c in claimants {
        outcomes.push(c.await.unwrap());
    }
    let claimed = outcomes
        .iter()
        .filter(|o| **o == ClaimOutcome::Claimed)
        .count();
    assert_eq!(claimed, 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, ClaimOutcome::Claimed | ClaimOutcome::Busy { .. })));
    let owner = {
        let busy = store
            .claim("s3://b/k#v1", "late", now, lease)
            .await
            .unwrap();
        let ClaimOutcome::Busy { owner } = busy else {
            panic!("the claim is running: {busy:?}")
        };
        owner
    };
    // Only the holder finishes it; then duplicates find it done.
    assert!(store
        .finish_claim("s3://b/k#v1", "not-the-owner", "x", now, lease)
        .await
        .is_err());
    store
        .finish_claim("s3://b/k#v1", &owner, "run-1 applied", now, lease)
        .await
        .unwrap();
    assert_eq!(
        store.claim("s3://b/k#v1", "dup", now, lease).await.unwrap(),
        ClaimOutcome::Done {
            result: "run-1 applied".into()
        }
    );
    // A released claim is free again; an expired running claim is taken over.
    assert_eq!(
        store.claim("set-2", "a", now, lease).await.unwrap(),
        ClaimOutcome::Claimed
    );
    store.release_claim("set-2", "someone-else").await.unwrap();
    assert!(matches!(
        store.claim("set-2", "b", now, lease).await.unwrap(),
        ClaimOutcome::Busy { .. }
    ));
    store.release_claim("set-2", "a").await.unwrap();
    assert_eq!(
        store.claim("set-2", "b", now, lease).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(
        store
            .claim("set-2", "c", now + Days::seconds(601), lease)
            .await
            .unwrap(),
        ClaimOutcome::Claimed,
        "the crashed holder's lease expired"
    );
}

// ---- The school year: rollover, ended records and the mass-update guard ----

/// The rows of a generated file by sourcedId (the first column).
fn rows_by_id(dir: &std::path::Path, file: &str) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let id = line
                .split(',')
                .next()
                .unwrap()
                .trim_matches('"')
                .to_string();
            (id, line.to_string())
        })
        .collect()
}

async fn a_rollover_applies_on_its_own_archiving_last_years_records_as_ended<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    // Two school years of one district from the generator (2026–27, 2027–28).
    let year = |rollovers: u32| {
        let dir = bench.dir.path().join(format!("year-{rollovers}"));
        let options = district::GenerateOptions {
            students: 400,
            seed: 3,
            rollovers,
        };
        district::generate(&options, &dir).unwrap();
        dir
    };
    let (first, next) = (year(0), year(1));
    let engine = Engine::new(&store, &bench.artifacts);
    let sync_year = |dir: std::path::PathBuf, day: &'static str| {
        let engine = &engine;
        let t = &t;
        async move {
            engine
                .sync_package(t, &dir, source(&dir), Delivered::at(at(day)))
                .await
                .unwrap()
        }
    };
    let loaded = sync_year(first.clone(), "2026-09-01").await;
    assert_eq!(loaded.status, RunStatus::Applied, "{}", loaded.message);
    store
        .set_primary_admin("d1", "adm-0001", true)
        .await
        .unwrap();

    let rollover = sync_year(next.clone(), "2027-08-20").await;
    assert_eq!(
        rollover.status,
        RunStatus::Applied,
        "a rollover applies on its own: {}",
        rollover.message
    );
    let count = |kind| counts(&rollover, kind);
    let last_year = |file| rows_by_id(&first, file).len() as u64;
    for (kind, file) in [
        (EntityKind::AcademicSessions, "academicSessions.csv"),
        (EntityKind::Classes, "classes.csv"),
        (EntityKind::Enrollments, "enrollments.csv"),
    ] {
        assert_eq!(
            count(kind).ended,
            last_year(file),
            "{kind}: all of last year's ended"
        );
        assert_eq!(count(kind).archived, 0, "{kind}: none absent");
        assert_eq!(
            count(kind).inserted,
            rows_by_id(&next, file).len() as u64,
            "{kind}"
        );
    }
    assert_eq!(count(EntityKind::Courses).updated, last_year("courses.csv"));

    // Users: leavers archived as absent, newcomers inserted, the others untouched.
    // Guardians are not imported (the tenant's default roles): leave them out.
    let imported = |dir: &std::path::Path| {
        let mut users = rows_by_id(dir, "users.csv");
        users.retain(|_, row| !row.contains(r#""guardian""#));
        users
    };
    let (old_users, new_users) = (imported(&first), imported(&next));
    let left = old_users
        .keys()
        .filter(|id| !new_users.contains_key(*id))
        .count() as u64;
    let joined = new_users
        .keys()
        .filter(|id| !old_users.contains_key(*id))
        .count() as u64;
    let same = old_users
        .iter()
        .filter(|(id, row)| new_users.get(*id) == Some(row))
        .count() as u64;
    let users = count(EntityKind::Users);
    assert!(left >= 25, "{left} students left: enough to count");
    assert_eq!(
        (users.archived, users.ended, users.inserted),
        (left, 0, joined)
    );
    assert_eq!(
        users.unchanged, same,
        "continuing users are not written: {users:?}"
    );
    assert_eq!(users.updated, old_users.len() as u64 - left - same);
    assert_eq!(
        store.primary_admins("d1").await.unwrap(),
        vec!["adm-0001".to_string()],
        "the Primary Administrator is kept"
    );

    // The reasons are stored, and the run says what happened in words.
    let old_class = rows_by_id(&first, "classes.csv")
        .into_keys()
        .next()
        .unwrap();
    let class = store
        .get_entity("d1", EntityKind::Classes, &old_class)
        .await
        .unwrap()
        .unwrap();
    let archive = class.archive.expect("last year's class is archived");
    assert_eq!(
        (archive.by, archive.reason),
        (ArchivedBy::Sync, Some(ArchiveReason::Ended))
    );
    let leaver = old_users
        .keys()
        .find(|id| !new_users.contains_key(*id))
        .unwrap();
    let leaver = store
        .get_entity("d1", EntityKind::Users, leaver)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(leaver.archive.unwrap().reason, Some(ArchiveReason::Absent));
    let words = rollover.rollover.clone().expect("the rollover in words");
    assert!(
        words.starts_with("rollover: 7 academic sessions, ")
            && words.contains("of school year 2026–2027 archived as ended")
            && words.contains(&format!("; {left} users archived as absent (")),
        "{words}"
    );
    assert!(rollover.message.contains(&words), "{}", rollover.message);
    // Applied, yet the district and the operators hear of it (7 sessions are
    // under the count that matters).
    assert_eq!(
        rollover.mass_ended.keys().collect::<Vec<_>>(),
        vec!["classes", "enrollments"],
        "{:?}",
        rollover.mass_ended
    );

    // The same package again: nothing to write.
    let again = sync_year(next, "2027-08-21").await;
    assert_eq!(again.total_writes(), 0, "{:?}", again.counts);
}

async fn a_mid_year_file_missing_a_third_of_the_classes_is_held<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let full = District::new(90, 90).in_school_year(2031);
    let loaded = sync(&store, &bench, &t, &full, Some(at("2030-10-01"))).await;
    assert_eq!(loaded.status, RunStatus::Applied, "{}", loaded.message);
    let before = state_of(&store, "d1").await;
    let mut broken = full.clone();
    broken.classes = 60;
    for s in &mut broken.students {
        s.class %= 60;
    }
    let held = sync(&store, &bench, &t, &broken, Some(at("2031-01-15"))).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    assert_eq!(held.hold["classes"].would_archive, 30);
    assert_eq!(
        counts(&held, EntityKind::Classes).ended,
        0,
        "this year's classes are current"
    );
    assert!(
        held.message.contains("classes: would archive 30 of 90"),
        "{}",
        held.message
    );
    assert_eq!(
        state_of(&store, "d1").await,
        before,
        "a held run changes nothing"
    );
}

async fn a_rollover_in_which_too_many_students_vanish_is_held<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let first = District::new(100, 4).in_school_year(2030);
    sync(&store, &bench, &t, &first, Some(at("2029-10-01"))).await;
    let mut next = first.clone().in_school_year(2031);
    next.students.truncate(70);
    let held = sync(&store, &bench, &t, &next, Some(at("2030-08-20"))).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    assert_eq!(
        held.hold.keys().collect::<Vec<_>>(),
        vec!["users"],
        "leavers are not ended; last year's classes and enrollments are"
    );
    assert_eq!(held.hold["users"].would_archive, 30);
    assert_eq!(counts(&held, EntityKind::Classes).ended, 4);
    assert_eq!(counts(&held, EntityKind::Enrollments).ended, 104);
}

async fn without_sessions_the_calendar_says_nothing_and_the_hold_is_as_before<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    // No academicSessions.csv in either delivery: no class's terms have dates.
    let without_sessions = |d: District| {
        let mut d = d.mode("academicSessions", "absent");
        d.omit = vec!["academicSessions.csv"];
        d
    };
    let first = without_sessions(District::new(30, 30).in_school_year(2030));
    let loaded = sync(&store, &bench, &t, &first, Some(at("2029-10-01"))).await;
    assert_eq!(loaded.status, RunStatus::Applied, "{}", loaded.message);
    let next = without_sessions(District::new(30, 30).in_school_year(2031));
    let held = sync(&store, &bench, &t, &next, Some(at("2030-08-20"))).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    assert_eq!(held.hold["classes"].would_archive, 30);
    assert_eq!(counts(&held, EntityKind::Classes).ended, 0);
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

async fn a_hand_archived_current_class_returns_and_an_ended_one_does_not<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let first = District::new(30, 3).in_school_year(2030);
    sync(&store, &bench, &t, &first, Some(at("2029-10-01"))).await;
    let next = first.clone().in_school_year(2031);
    let rollover = sync(&store, &bench, &t, &next, Some(at("2030-08-20"))).await;
    assert_eq!(rollover.status, RunStatus::Applied, "{}", rollover.message);
    assert_eq!(counts(&rollover, EntityKind::Classes).ended, 3);

    store
        .archive_by_hand("d1", EntityKind::Classes, &next.class_id(0), Utc::now())
        .await
        .unwrap();
    let again = sync(&store, &bench, &t, &next, Some(at("2030-08-21"))).await;
    let classes = counts(&again, EntityKind::Classes);
    assert_eq!(
        (classes.unarchived, classes.ended, classes.archived),
        (1, 0, 0)
    );
    let current = store
        .get_entity("d1", EntityKind::Classes, &next.class_id(0))
        .await
        .unwrap()
        .unwrap();
    assert!(current.archive.is_none(), "the SIS is authoritative");
    let ended = store
        .get_entity("d1", EntityKind::Classes, &first.class_id(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ended.archive.map(|a| a.reason),
        Some(Some(ArchiveReason::Ended)),
        "last year's class stays archived"
    );
}

/// The content the sign-in gives a teacher the roster lacked.
fn provisional_teacher(id: &str, email: &str) -> SisContent {
    SisContent::from_value(serde_json::json!({
        "sourcedId": id,
        "role": "teacher",
        "givenName": "New",
        "familyName": "Teacher",
        "email": email,
        "enabledUser": true,
    }))
}

async fn a_provisional_teacher_is_adopted_by_a_sync_that_delivers_them_and_left_by_one_that_does_not<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let mut district = District::new(40, 4);
    sync(&store, &bench, &t, &district, None).await;
    let now = Utc::now();
    let content = provisional_teacher("tch-new", "new@d.example");
    assert!(store
        .provision_user("d1", "tch-new", &content, now, "sso:req-1")
        .await
        .unwrap());
    assert!(
        !store
            .provision_user("d1", "tch-new", &content, now, "sso:req-2")
            .await
            .unwrap(),
        "a second sign-in finds the record made by the first"
    );
    assert!(
        !store
            .provision_user("d1", "tch-0", &content, now, "sso:req-3")
            .await
            .unwrap(),
        "a roster user is never replaced by a provisional one"
    );
    let roster_teacher = store
        .get_entity("d1", EntityKind::Users, "tch-0")
        .await
        .unwrap()
        .unwrap();
    assert!(!roster_teacher.provisional);
    assert_eq!(roster_teacher.sis.str("givenName"), Some("Teacher0"));
    let user = store
        .get_entity("d1", EntityKind::Users, "tch-new")
        .await
        .unwrap()
        .unwrap();
    assert!(user.provisional && user.archive.is_none());
    assert_eq!(user.first_seen_run, "sso:req-1");
    assert_eq!(
        store
            .lookup("d1", &Lookup::UsersByEmail("NEW@d.example".into()))
            .await
            .unwrap(),
        vec!["tch-new".to_string()]
    );
    let listed: Vec<String> = store
        .provisional_users("d1")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.sourced_id)
        .collect();
    assert_eq!(listed, vec!["tch-new".to_string()]);
    assert!(store.provisional_users("d2").await.unwrap().is_empty());

    // A bulk sync that does not deliver them leaves them as they are.
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(run.items_written, 0, "{:?}", run.counts);
    assert_eq!(counts(&run, EntityKind::Users).archived, 0);
    let user = store
        .get_entity("d1", EntityKind::Users, "tch-new")
        .await
        .unwrap()
        .unwrap();
    assert!(user.provisional && user.archive.is_none());

    // The sync that delivers them makes them an ordinary roster user, as the SIS has them.
    district.extra_users =
        "tch-new,active,,true,s1,teacher,tnew,,Newton,Teacher,,,new@d.example,,,,,\n".into();
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(counts(&run, EntityKind::Users).inserted, 1);
    assert_eq!(run.items_written, 1);
    let user = store
        .get_entity("d1", EntityKind::Users, "tch-new")
        .await
        .unwrap()
        .unwrap();
    assert!(!user.provisional);
    assert_eq!(user.sis.str("givenName"), Some("Newton"));
    assert_eq!(user.first_seen_run, "sso:req-1", "first seen at sign-in");
    assert_eq!(user.updated_run, run.run_id);
    assert!(store.provisional_users("d1").await.unwrap().is_empty());

    // Now SIS data: a bulk sync without them archives them like anyone else.
    district.extra_users.clear();
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(counts(&run, EntityKind::Users).archived, 1);
}

async fn a_provisional_record_with_the_delivered_content_still_becomes_ordinary<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let mut district = District::new(10, 1);
    sync(&store, &bench, &t, &district, None).await;
    district.extra_users =
        "tch-new,active,,true,s1,teacher,tnew,,New,Teacher,,,new@d.example,,,,,\n".into();
    // Exactly the content the SIS will deliver: the digests agree.
    let content = provisional_teacher("tch-new", "new@d.example")
        .with_field("username", "tnew".into())
        .with_field("orgSourcedIds", serde_json::json!(["s1"]));
    store
        .provision_user("d1", "tch-new", &content, Utc::now(), "sso:req-1")
        .await
        .unwrap();
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(run.items_written, 1, "{:?}", run.counts);
    let user = store
        .get_entity("d1", EntityKind::Users, "tch-new")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.sis, content,
        "the SIS delivered what the sign-in had stored"
    );
    assert!(!user.provisional);
}

fn with_classlink(tenant: &str, classlink: Option<&str>) -> TenantConfig {
    let mut config = TenantConfig::new(tenant).unwrap();
    config.classlink_tenant_id = classlink.map(String::from);
    config
}

async fn owner_of<S: Store>(store: &S, classlink: &str) -> Option<String> {
    match tenant_for_classlink(store, classlink).await.unwrap() {
        ClassLinkOwner::Tenant(t) => Some(t.tenant),
        ClassLinkOwner::Unknown => None,
        other => panic!("{classlink}: {other:?}"),
    }
}

async fn a_classlink_tenant_id_belongs_to_one_tenant<S: Store + PlatformEdits + 'static>(store: S) {
    store
        .put_tenant(&with_classlink("a", Some("4242")))
        .await
        .unwrap();
    assert_eq!(
        store.classlink_mapping("4242").await.unwrap().as_deref(),
        Some("a")
    );
    assert_eq!(owner_of(&store, "4242").await.as_deref(), Some("a"));

    // Another tenant cannot take it, and is not saved.
    let refused = store
        .put_tenant(&with_classlink("b", Some("4242")))
        .await
        .unwrap_err();
    assert!(refused.is_conflict(), "{refused:?}");
    assert!(
        refused
            .to_string()
            .contains("already belongs to tenant `a`"),
        "{refused}"
    );
    assert!(store.get_tenant("b").await.unwrap().is_none());

    // Saving the owner again (another setting changed) keeps it.
    let mut a = with_classlink("a", Some("4242"));
    a.sso_enabled = true;
    store.put_tenant(&a).await.unwrap();
    assert!(store.get_tenant("a").await.unwrap().unwrap().sso_enabled);

    // The owner moves to another id: the old one is free.
    a.classlink_tenant_id = Some("5151".into());
    store.put_tenant(&a).await.unwrap();
    assert_eq!(store.classlink_mapping("4242").await.unwrap(), None);
    assert_eq!(owner_of(&store, "5151").await.as_deref(), Some("a"));
    store
        .put_tenant(&with_classlink("b", Some("4242")))
        .await
        .unwrap();
    assert_eq!(owner_of(&store, "4242").await.as_deref(), Some("b"));

    // Clearing the id removes the mapping.
    a.classlink_tenant_id = None;
    store.put_tenant(&a).await.unwrap();
    assert_eq!(store.classlink_mapping("5151").await.unwrap(), None);
    assert_eq!(owner_of(&store, "5151").await, None);

    // Six operators add six tenants with one id at once: exactly one wins.
    let store = Arc::new(store);
    let racers: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let config = with_classlink(&format!("race-{i}"), Some("7777"));
                store.put_tenant(&config).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, racer) in racers.into_iter().enumerate() {
        match racer.await.unwrap() {
            Ok(()) => winners.push(format!("race-{i}")),
            Err(e) => assert!(e.is_conflict(), "race-{i}: {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(owner_of(&*store, "7777").await, Some(winners[0].clone()));
    let saved: Vec<String> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.tenant.starts_with("race-"))
        .map(|t| t.tenant)
        .collect();
    assert_eq!(saved, winners, "the losers were not saved");
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::sqlite()).await
                }
            )*
        }
        mod dynamodb_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::dynamo().await).await
                }
            )*
        }
    };
}

conformance!(
    first_load_inserts_everything,
    an_unchanged_resync_writes_nothing,
    a_run_records_what_its_requests_consumed,
    changes_write_only_the_changed_records,
    bulk_absence_archives_and_return_unarchives,
    manual_archives_and_edits_are_overridden,
    a_primary_administrator_survives_syncs,
    delta_upserts_deletes_and_leaves_the_rest,
    rejected_rows_never_archive,
    a_mass_archive_is_held_until_approved,
    an_empty_bulk_file_for_a_populated_type_is_held_and_can_be_discarded,
    approval_is_refused_when_the_store_changed_since_the_plan,
    a_stale_package_is_not_applied,
    concurrent_runs_of_one_tenant_serialise,
    a_run_killed_halfway_converges_when_run_again,
    a_crashed_runs_expired_lease_is_taken_over,
    a_dead_local_process_lease_is_taken_over_at_once,
    a_long_run_keeps_its_short_lease_and_one_that_loses_it_stops,
    a_run_stopped_mid_apply_writes_nothing_after_its_lease_is_taken_over,
    writes_under_a_lease_taken_over_are_refused,
    tenants_are_walls,
    a_classlink_tenant_id_belongs_to_one_tenant,
    deferred_enrollment_references_are_checked_against_the_store,
    a_dry_run_writes_nothing,
    a_rejected_package_changes_nothing_and_is_recorded,
    runs_list_newest_first,
    lookups_find_records_within_one_tenant,
    one_time_records_are_taken_once_and_expire,
    sign_in_audits_are_kept_per_tenant_newest_first,
    claims_take_work_once_remember_it_done_and_free_it_when_released,
    a_rollover_applies_on_its_own_archiving_last_years_records_as_ended,
    a_mid_year_file_missing_a_third_of_the_classes_is_held,
    a_rollover_in_which_too_many_students_vanish_is_held,
    without_sessions_the_calendar_says_nothing_and_the_hold_is_as_before,
    the_mass_update_guard_holds_a_file_that_rewrites_sign_in_keys,
    a_hand_archived_current_class_returns_and_an_ended_one_does_not,
    a_provisional_teacher_is_adopted_by_a_sync_that_delivers_them_and_left_by_one_that_does_not,
    a_provisional_record_with_the_delivered_content_still_becomes_ordinary,
);

mod engine_promise;
mod engine_revert;

/// A first load into a SQLite file goes through a rollback journal when the
/// run has the file to itself, and through the WAL when another connection
/// has it open; the file is in WAL mode again afterwards either way.
mod sqlite_bulk_load {
    use super::*;

    #[test]
    fn the_journal_switches_only_when_the_file_is_ours_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.db");
        let store = SqliteStore::open(&path).unwrap();
        let blocking = store.blocking().unwrap();
        assert_eq!(store.journal_mode().unwrap(), "wal");
        blocking.begin_bulk_load().unwrap();
        assert_eq!(store.journal_mode().unwrap(), "delete");
        blocking.end_bulk_load().unwrap();
        assert_eq!(store.journal_mode().unwrap(), "wal");
        // Ending twice, or without a beginning, changes nothing.
        blocking.end_bulk_load().unwrap();
        assert_eq!(store.journal_mode().unwrap(), "wal");

        // Another connection reading the file: SQLite refuses the switch.
        let reader = rusqlite::Connection::open(&path).unwrap();
        let _: i64 = reader
            .query_row("SELECT COUNT(*) FROM entities", [], |r| r.get(0))
            .unwrap();
        blocking.begin_bulk_load().unwrap();
        assert_eq!(store.journal_mode().unwrap(), "wal");
        blocking.end_bulk_load().unwrap();
        assert_eq!(store.journal_mode().unwrap(), "wal");

        // In memory there is no WAL to leave.
        let memory = SqliteStore::in_memory().unwrap();
        memory.blocking().unwrap().begin_bulk_load().unwrap();
        assert_eq!(memory.journal_mode().unwrap(), "memory");
        memory.blocking().unwrap().end_bulk_load().unwrap();
        assert_eq!(memory.journal_mode().unwrap(), "memory");
    }

    async fn first_load_then_resync(path: &std::path::Path, reader: Option<&rusqlite::Connection>) {
        let store = SqliteStore::open(path).unwrap();
        let bench = Bench::new();
        let t = tenant(&store, "d1").await;
        let district = District::new(120, 6);
        let run = sync(&store, &bench, &t, &district, None).await;
        assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
        assert_eq!(run.items_written as usize, district.record_count());
        assert_eq!(store.journal_mode().unwrap(), "wal");
        if let Some(reader) = reader {
            let stored: i64 = reader
                .query_row(
                    "SELECT COUNT(*) FROM entities WHERE tenant = (SELECT id FROM tenant_keys WHERE tenant = 'd1')",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(stored as usize, district.record_count());
        }
        let again = sync(&store, &bench, &t, &district, None).await;
        assert_eq!(again.status, RunStatus::Applied, "{}", again.message);
        assert_eq!(again.items_written, 0);
        // Its records carry the run that first saw them.
        let user = store
            .get_entity("d1", EntityKind::Users, "stu-0001")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.first_seen_run, run.run_id);
    }

    /// Thousands of records a type: the writer gets chunks of 1,000, then
    /// 2,000, then more; every record is written once, with the lookup keys
    /// the planner read for it.
    #[tokio::test]
    async fn a_first_load_in_growing_chunks_stores_and_indexes_everything() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("roster.db")).unwrap();
        let bench = Bench::new();
        let t = tenant(&store, "d1").await;
        let district = District::new(5_000, 10);
        let run = sync(&store, &bench, &t, &district, None).await;
        assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
        assert_eq!(run.items_written as usize, district.record_count());
        let of_user = store
            .lookup("d1", &Lookup::EnrollmentsOfUser("stu-4999".into()))
            .await
            .unwrap();
        assert_eq!(of_user.len(), 1, "{of_user:?}");
        let of_class = store
            .lookup("d1", &Lookup::EnrollmentsOfClass(district.class_id(3)))
            .await
            .unwrap();
        // 500 students and the class's teacher.
        assert_eq!(of_class.len(), 501, "{}", of_class.len());
        let by_username = store
            .lookup("d1", &Lookup::UsersByUsername("STU-2500".into()))
            .await
            .unwrap();
        assert_eq!(by_username, vec!["stu-2500".to_string()]);
        let again = sync(&store, &bench, &t, &district, None).await;
        assert_eq!(again.items_written, 0, "{}", again.message);
    }

    #[tokio::test]
    async fn a_first_load_alone_and_beside_a_reader_stores_everything() {
        let dir = tempfile::tempdir().unwrap();
        first_load_then_resync(&dir.path().join("alone.db"), None).await;
        let beside = dir.path().join("beside.db");
        drop(SqliteStore::open(&beside).unwrap());
        let reader = rusqlite::Connection::open(&beside).unwrap();
        let _: i64 = reader
            .query_row("SELECT COUNT(*) FROM entities", [], |r| r.get(0))
            .unwrap();
        first_load_then_resync(&beside, Some(&reader)).await;
    }
}

/// Configurations edited past the store (a hand edit of the table) that give
/// one ClassLink TenantId to two tenants: the mapping's tenant keeps it while
/// it still carries the id; without a mapping, sign-in sees a misconfiguration.
mod classlink_hand_edits {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    fn config_text(tenant: &str, classlink: &str) -> String {
        serde_json::to_string(&with_classlink(tenant, Some(classlink))).unwrap()
    }

    async fn misconfigured<S: Store>(store: &S, classlink: &str) -> Vec<String> {
        match tenant_for_classlink(store, classlink).await.unwrap() {
            ClassLinkOwner::Misconfigured { mut tenants } => {
                tenants.sort();
                tenants
            }
            other => panic!("expected a misconfiguration, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn sqlite_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .put_tenant(&with_classlink("a", Some("4242")))
            .await
            .unwrap();
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute(
            "INSERT INTO tenants (tenant, config) VALUES ('b', ?1)",
            [config_text("b", "4242")],
        )
        .unwrap();
        assert_eq!(owner_of(&store, "4242").await.as_deref(), Some("a"));
        // The owner's own configuration edited away from the id: nobody has it cleanly.
        raw.execute(
            "UPDATE tenants SET config = ?1 WHERE tenant = 'a'",
            [config_text("a", "9999")],
        )
        .unwrap();
        assert_eq!(misconfigured(&store, "4242").await, ["a", "b"]);
        raw.execute(
            "UPDATE tenants SET config = ?1 WHERE tenant = 'a'",
            [config_text("a", "4242")],
        )
        .unwrap();
        // A file from before the mapping: two claimants and no mapping stay unmapped.
        raw.execute("DELETE FROM classlink_tenants", []).unwrap();
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.classlink_mapping("4242").await.unwrap(), None);
        assert_eq!(misconfigured(&store, "4242").await, ["a", "b"]);
        // One claimant: opening the file maps it.
        raw.execute("DELETE FROM tenants WHERE tenant = 'b'", [])
            .unwrap();
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store.classlink_mapping("4242").await.unwrap().as_deref(),
            Some("a")
        );
    }

    #[tokio::test]
    async fn dynamodb_store() {
        let store = dynamo().await;
        store
            .put_tenant(&with_classlink("a", Some("4242")))
            .await
            .unwrap();
        let raw = testkit::dynamodb_client(&testkit::dynamodb());
        let s = |v: &str| AttributeValue::S(v.into());
        raw.put_item()
            .table_name(store.table())
            .item("pk", s("TENANTS"))
            .item("sk", s("b"))
            .item("config", s(&config_text("b", "4242")))
            .send()
            .await
            .unwrap();
        assert_eq!(owner_of(&store, "4242").await.as_deref(), Some("a"));
        // A tenant saved before the mapping existed: no mapping, two claimants.
        raw.delete_item()
            .table_name(store.table())
            .key("pk", s("CLASSLINK#4242"))
            .key("sk", s("TENANT"))
            .send()
            .await
            .unwrap();
        assert_eq!(misconfigured(&store, "4242").await, ["a", "b"]);
        // Saving `a` again writes its mapping back; `b` cannot be saved with the id.
        store
            .put_tenant(&with_classlink("a", Some("4242")))
            .await
            .unwrap();
        assert_eq!(owner_of(&store, "4242").await.as_deref(), Some("a"));
        let refused = store
            .put_tenant(&with_classlink("b", Some("4242")))
            .await
            .unwrap_err();
        assert!(refused.is_conflict());
    }
}
