//! A first load into a SQLite file goes through a rollback journal when the
//! run has the file to itself, and through the WAL when another connection
//! has it open; the file is in WAL mode again afterwards either way.

use crate::common::*;
use oneroster::EntityKind;
use roster::*;
use std::sync::Arc;

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
    let user = entity(&store, "d1", EntityKind::Users, "stu-0001").await;
    assert_eq!(user.first_seen_run, run.run_id);
}

/// Thousands of records a type, written as they are planned: the writer
/// gets each type's records in chunks of 1,000, then 2,000, then twice as
/// many again up to the store's batch (here the rest); every record is
/// written once, with the lookup keys the planner read for it.
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
    // By type: 2 orgs, 1 session, 1 course, 10 classes, then 5,011 users
    // and 5,010 enrollments in growing chunks.
    assert_eq!(
        store.write_sizes(),
        [2, 1, 1, 10, 1_000, 2_000, 2_011, 1_000, 2_000, 2_010],
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
