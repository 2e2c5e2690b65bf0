//! A first load into a SQLite file goes through a rollback journal when the
//! run has the file to itself, and through the WAL when another connection
//! has it open; the file is in WAL mode again afterwards either way. A first
//! load's writes come in chunks that grow as the planner makes them.

use crate::common::*;
use chrono::Utc;
use futures::StreamExt;
use oneroster::EntityKind;
use roster::*;
use std::sync::Arc;
use std::time::Duration;

/// The journal mode seen while each chunk of a `write_all` into `tenant`
/// is handed over, and after it.
async fn journal_during_write_all(store: &SqliteStore, tenant: &str) -> (Vec<String>, String) {
    let LeaseOutcome::Acquired { lease, .. } = store
        .acquire_lease(tenant, "run-a", Utc::now(), Duration::from_secs(60))
        .await
        .unwrap()
    else {
        panic!("the lease is free");
    };
    let archive = |id: &str| {
        vec![EntityWrite::Archive {
            kind: EntityKind::Users,
            sourced_id: id.into(),
            at: Utc::now(),
            run: "run-a".into(),
            reason: Some(ArchiveReason::Absent),
            by: ArchivedBy::Sync,
        }]
    };
    let seen = std::sync::Mutex::new(Vec::new());
    let chunks = futures::stream::iter([archive("stu-0000"), archive("stu-0001")]).inspect(|_| {
        let (mode, synced) = (store.journal_mode().unwrap(), store.synchronous().unwrap());
        // Outside the WAL every commit is synced in full.
        assert_eq!(synced, if mode == "delete" { 2 } else { 1 }, "{mode}");
        seen.lock().unwrap().push(mode);
    });
    store.write_all(tenant, &lease, chunks).await.unwrap();
    store.release_lease(tenant, &lease).await.unwrap();
    assert_eq!(store.synchronous().unwrap(), 1, "NORMAL again in WAL mode");
    (seen.into_inner().unwrap(), store.journal_mode().unwrap())
}

#[tokio::test]
async fn the_journal_switches_only_for_a_first_load_with_the_file_ours_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.db");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.journal_mode().unwrap(), "wal");
    let (during, after) = journal_during_write_all(&store, "empty").await;
    assert_eq!(
        (during, after.as_str()),
        (vec!["delete".into(), "delete".into()], "wal")
    );

    // A tenant with records: its writes go through the WAL.
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    sync(&store, &bench, &t, &District::new(10, 2), None).await;
    let (during, after) = journal_during_write_all(&store, "d1").await;
    assert_eq!(
        (during, after.as_str()),
        (vec!["wal".into(), "wal".into()], "wal")
    );

    // Another connection reading the file: SQLite refuses the switch.
    let reader = rusqlite::Connection::open(&path).unwrap();
    let _: i64 = reader
        .query_row("SELECT COUNT(*) FROM entities", [], |r| r.get(0))
        .unwrap();
    let (during, after) = journal_during_write_all(&store, "empty-too").await;
    assert_eq!(
        (during, after.as_str()),
        (vec!["wal".into(), "wal".into()], "wal")
    );

    // In memory there is no WAL to leave.
    let memory = SqliteStore::in_memory().unwrap();
    let (during, after) = journal_during_write_all(&memory, "empty").await;
    assert_eq!(
        (during, after.as_str()),
        (vec!["memory".into(), "memory".into()], "memory")
    );
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
    let user = entity(&store, "d1", EntityKind::Users, "stu-0001").await;
    assert_eq!(user.first_seen_run, run.run_id);
}

/// Thousands of records, written as they are planned: the store gets them
/// in chunks of 1,000, then 2,000, then twice as many again up to its batch
/// (here the rest), whatever their types; every record is written once,
/// with the lookup keys the planner read for it.
#[tokio::test]
async fn a_first_load_in_growing_chunks_stores_and_indexes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("roster.db")).unwrap();
    let store = Faulty::recording(Arc::new(sqlite));
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(5_000, 10);
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(run.items_written as usize, district.record_count());
    // 2 orgs, 1 session, 1 course, 10 classes, 5,011 users and 5,010
    // enrollments in growing chunks.
    assert_eq!(
        store.write_sizes(),
        [1_000, 2_000, 4_000, 3_035],
        "the chunks handed to the writer"
    );
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
