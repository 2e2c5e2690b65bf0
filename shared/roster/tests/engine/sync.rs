//! A sync on both stores: a first load, an unchanged re-sync, changes,
//! archives and their return, deltas, rejected rows, deferred references,
//! dry runs, rejected packages, and the runs it records.

use crate::common::*;
use chrono::{Duration as Days, Utc};
use oneroster::EntityKind;
use roster::*;
use std::time::Duration;

async fn first_load_inserts_everything<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(40, 4);
    assert!(!store.has_records("d1").await.unwrap());
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert!(store.has_records("d1").await.unwrap());
    assert!(!store.has_records("d2").await.unwrap(), "tenants are walls");
    assert!(
        run.before_ref.is_some(),
        "a first load keeps its before-images"
    );
    assert_eq!(counts(&run, EntityKind::Users).inserted, 45);
    assert_eq!(counts(&run, EntityKind::Enrollments).inserted, 44);
    assert_eq!(counts(&run, EntityKind::Classes).inserted, 4);
    assert_eq!(run.items_written as usize, district.record_count());
    let user = entity(&store, "d1", EntityKind::Users, "stu-0001").await;
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
    assert_eq!(first.retries, 0, "nothing failed, nothing sent again");
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
    let user = entity(&store, "d1", EntityKind::Users, "stu-0003").await;
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
    let gone = entity(&store, "d1", EntityKind::Users, "stu-0005").await;
    let archive = gone.archive.expect("archived, not deleted");
    assert_eq!(archive.by, ArchivedBy::Sync);
    assert_eq!(archive.run.as_deref(), Some(run.run_id.as_str()));
    assert_eq!(gone.sis.str("givenName"), Some("Given5"), "content is kept");

    let back = sync(&store, &bench, &t, &full, None).await;
    assert_eq!(counts(&back, EntityKind::Users).unarchived, 1);
    let user = entity(&store, "d1", EntityKind::Users, "stu-0005").await;
    assert!(user.archive.is_none());
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
    let admin = entity(&store, "d1", EntityKind::Users, "adm-1").await;
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
        entity(&store, "d1", EntityKind::Users, "adm-1")
            .await
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
    assert!(entity(&store, "d1", EntityKind::Users, "stu-0002")
        .await
        .archive
        .is_some());
    assert!(
        entity(&store, "d1", EntityKind::Users, "stu-0030")
            .await
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
    assert!(entity(&store, "d1", EntityKind::Users, "stu-0006")
        .await
        .archive
        .is_none());
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

/// A delta whose new user's row is rejected: its enrollment is rejected at
/// the sync, and the error points at the user's row, not at absence.
async fn a_reference_to_a_rejected_row_names_it_at_the_sync<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    sync(&store, &bench, &t, &District::new(10, 2), None).await;
    let dir = bench.dir.path().join("rejected-user");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("manifest.csv"),
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.users,delta\nfile.enrollments,delta\n",
    )
    .unwrap();
    std::fs::write(dir.join("users.csv"), "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\nnew-1,active,,true,s1,pupil,new1,,N,One,,,,,,,,\n").unwrap();
    std::fs::write(dir.join("enrollments.csv"), "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\nen-new,active,,cl-1,s1,new-1,student,false,,\n").unwrap();
    let run = Engine::new(&store, &bench.artifacts)
        .sync_package(&t, &dir, source(&dir), Delivered::now(None))
        .await
        .unwrap();
    let said: Vec<_> = run
        .errors
        .iter()
        .map(|e| (e.code.as_str(), e.file.as_str(), e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        said,
        vec![
            ("invalid_enum", "users", Some(2), said[0].3),
            (
                "unknown_user",
                "enrollments",
                Some(2),
                "`new-1`: its row users.csv:2 was rejected: invalid_enum, and the district's roster does not have it yet"
            ),
        ]
    );
    assert_eq!(counts(&run, EntityKind::Enrollments).rejected, 1);
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

/// A first load past its deadline writes its first chunk and stops,
/// `continued`; the next run goes on from the store and ends as a clean load.
async fn a_first_load_past_its_deadline_continues<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(120, 6);
    let path = bench.package(&district);
    let mut engine = Engine::new(&store, &bench.artifacts);
    engine.options.chunk = 50;
    engine.options.deadline = Some(std::time::Instant::now());
    let run = engine
        .sync_package(&t, &path, source(&path), Delivered::now(None))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Continued, "{}", run.message);
    assert_eq!(run.items_written, 50, "the first chunk only");
    assert_eq!(state_of(&store, "d1").await.len(), 50);
    let resumed = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(resumed.status, RunStatus::Applied, "{}", resumed.message);
    assert_eq!(resumed.items_written as usize, district.record_count() - 50);
}

/// The morning check tells a silent district from one whose delivery we did
/// not apply: one fresh, one held, one that sent nothing for six days.
async fn freshness_tells_silence_from_deliveries_not_applied<S: Store + PlatformEdits>(store: S) {
    use roster::freshness::{stale_tenants, tenant_last_delivery, Freshness};
    let bench = Bench::new();
    let district = District::new(40, 4);
    let fresh = tenant(&store, "fresh").await;
    sync(&store, &bench, &fresh, &district, None).await;
    let held = tenant(&store, "held").await;
    sync(&store, &bench, &held, &district, None).await;
    let mut smaller = district.clone();
    smaller.students.truncate(10);
    let run = sync(&store, &bench, &held, &smaller, None).await;
    assert_eq!(run.status, RunStatus::Held, "{}", run.message);
    tenant(&store, "quiet").await;
    let mut old = RunRecord::start(
        "quiet",
        source(bench.dir.path()),
        Utc::now() - Days::days(6),
    );
    old.status = RunStatus::Applied;
    store.put_run(&old).await.unwrap();
    tenant(&store, "new").await;

    let now = Utc::now();
    let (silent, not_applied) = stale_tenants(&store, now, 3).await.unwrap();
    assert_eq!(
        (silent, not_applied),
        (vec!["quiet".to_string()], vec!["held".to_string()])
    );
    let last = tenant_last_delivery(&store, "held").await.unwrap().unwrap();
    assert_eq!((last.run_id, last.status), (run.run_id, RunStatus::Held));
    let of = |l: Option<roster::freshness::LastDelivery>| Freshness::of(l.as_ref(), now, 3);
    assert_eq!(
        of(tenant_last_delivery(&store, "fresh").await.unwrap()),
        Freshness::Fresh
    );
    assert_eq!(
        of(tenant_last_delivery(&store, "new").await.unwrap()),
        Freshness::NothingYet
    );
}

conformance!(
    first_load_inserts_everything,
    freshness_tells_silence_from_deliveries_not_applied,
    a_first_load_past_its_deadline_continues,
    an_unchanged_resync_writes_nothing,
    a_run_records_what_its_requests_consumed,
    changes_write_only_the_changed_records,
    bulk_absence_archives_and_return_unarchives,
    a_primary_administrator_survives_syncs,
    delta_upserts_deletes_and_leaves_the_rest,
    rejected_rows_never_archive,
    tenants_are_walls,
    deferred_enrollment_references_are_checked_against_the_store,
    a_reference_to_a_rejected_row_names_it_at_the_sync,
    a_dry_run_writes_nothing,
    a_rejected_package_changes_nothing_and_is_recorded,
    runs_list_newest_first,
);
