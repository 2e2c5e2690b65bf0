//! Tests of the SQLite records: writes, reads whole, summaries.

use crate::{db_error, SqliteStore};
use chrono::{DateTime, TimeZone, Utc};
use oneroster::EntityKind;
use roster::content::{digest_of_text, SisContent};
use roster::school_year::RecordFacts;
use roster::store::*;
use rusqlite::params;
use std::sync::Arc;

fn put(id: String, text: &str, at: DateTime<Utc>, run: &str) -> EntityWrite {
    let sis = SisContent::from_json(text).unwrap();
    EntityWrite::Put {
        kind: EntityKind::Enrollments,
        sourced_id: id,
        keys: sis.index_keys(EntityKind::Enrollments),
        sis,
        first_seen_at: at,
        first_seen_run: run.into(),
        updated_at: at,
        run: run.into(),
    }
}

/// Writes to tenant `t` under a lease taken for the test.
fn write_leased(store: &SqliteStore, writes: &[EntityWrite]) -> StoreResult<u64> {
    let lease = Lease {
        owner: "test".into(),
        token: 1,
        ttl: std::time::Duration::from_secs(3600),
    };
    store.with(|c| {
        c.execute(
            "INSERT OR REPLACE INTO leases (tenant, owner, expires_at, token)
             VALUES ('t', 'test', '9999-01-01T00:00:00.000Z', 1)",
            [],
        )
        .map_err(db_error)
    })?;
    store.write_now("t", &lease, writes)
}

/// `n` puts of enrollments `e-00000`, `e-00001`, … made at `at` by `run`.
fn enrollments(n: usize, at: DateTime<Utc>, run: &str) -> Vec<EntityWrite> {
    (0..n)
        .map(|i| put(format!("e-{i:05}"), r#"{"classSourcedId":"c"}"#, at, run))
        .collect()
}

/// Another process writes the file while summaries are read: records
/// it has just written, with a run key it has just made, are read with
/// their run (the key and the records are read in one transaction).
#[test]
fn summaries_read_while_another_process_writes_name_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.db");
    let reader = SqliteStore::open(&path).unwrap();
    let writer = SqliteStore::open(&path).unwrap();
    let at = Utc.with_ymd_and_hms(2026, 8, 1, 12, 0, 0).unwrap();
    write_leased(&writer, &enrollments(2_000, at, "run-0")).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writes = scope.spawn(|| {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 5_000 {
                n += 1;
                let run = format!("run-{n}");
                let w = put("e-00000".into(), r#"{"classSourcedId":"c"}"#, at, &run);
                write_leased(&writer, &[w]).unwrap();
            }
            n
        });
        for _ in 0..100 {
            let summaries = reader.summaries("t", EntityKind::Enrollments).unwrap();
            assert_eq!(summaries.len(), 2_000);
            assert!(summaries[0].first_seen.run.starts_with("run-"));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(writes.join().unwrap() > 1, "the writer wrote meanwhile");
    });
}

/// A record read whole names its runs, and a run key `run_keys` lacks
/// is an error that names the key and the record.
#[tokio::test]
async fn a_record_read_whole_names_its_runs_or_the_missing_key() {
    let store = SqliteStore::in_memory().unwrap();
    let at = Utc.with_ymd_and_hms(2026, 8, 1, 12, 0, 0).unwrap();
    write_leased(&store, &enrollments(2, at, "run-1")).unwrap();
    let read = |id: &'static str| store.get_entity("t", EntityKind::Enrollments, id);
    let record = read("e-00000").await.unwrap().unwrap();
    assert_eq!(
        (record.first_seen_run.as_str(), record.updated_run.as_str()),
        ("run-1", "run-1")
    );
    store
        .with(|c| {
            c.execute(
                "UPDATE entities SET updated_run = 99 WHERE sourced_id = 'e-00001'",
                [],
            )
            .map_err(db_error)
        })
        .unwrap();
    let error = read("e-00001").await.unwrap_err();
    assert!(
        error.to_string().contains("run key 99 of record `e-00001`"),
        "{error}"
    );
}

/// A put's shared parameters (type, stamps, run) are bound only when
/// they change: whatever changes between two puts (another run id,
/// another type, another stamp, an archive between them), every record
/// is stored with its own fields and lookup keys.
#[tokio::test]
async fn puts_keep_each_record_its_own_fields_as_shared_parameters_change() {
    let store = SqliteStore::in_memory().unwrap();
    let first = Utc.with_ymd_and_hms(2026, 8, 1, 12, 0, 0).unwrap();
    let later = Utc.with_ymd_and_hms(2026, 9, 1, 12, 0, 0).unwrap();
    let mut writes = Vec::new();
    for i in 0..200usize {
        let (kind, text) = if (80..90).contains(&i) {
            (
                EntityKind::Users,
                format!(
                    r#"{{"email":"U{i}@d.example","sourcedId":"r-{i:03}","username":"Name{i}"}}"#
                ),
            )
        } else {
            (
                EntityKind::Enrollments,
                format!(
                    r#"{{"classSourcedId":"cls-{}","sourcedId":"r-{i:03}","userSourcedId":"u-{i}"}}"#,
                    i % 3
                ),
            )
        };
        let run = if (70..150).contains(&i) {
            "run-2"
        } else {
            "run-1"
        };
        let at = if i >= 120 { later } else { first };
        let sis = SisContent::from_json(&text).unwrap();
        writes.push(EntityWrite::Put {
            kind,
            sourced_id: format!("r-{i:03}"),
            keys: sis.index_keys(kind),
            sis,
            first_seen_at: first,
            first_seen_run: "run-0".into(),
            updated_at: at,
            run: run.into(),
        });
        if i == 40 {
            writes.push(EntityWrite::Archive {
                kind: EntityKind::Enrollments,
                sourced_id: "r-007".into(),
                at,
                run: run.into(),
                reason: Some(ArchiveReason::Absent),
                by: ArchivedBy::Sync,
            });
        }
    }
    assert_eq!(write_leased(&store, &writes).unwrap(), 201);
    for i in 0..200usize {
        let kind = if (80..90).contains(&i) {
            EntityKind::Users
        } else {
            EntityKind::Enrollments
        };
        let id = format!("r-{i:03}");
        let stored = store.get_entity("t", kind, &id).await.unwrap().unwrap();
        assert_eq!(stored.sourced_id, id);
        assert!(stored
            .sis
            .text()
            .contains(&format!(r#""sourcedId":"{id}""#)));
        assert_eq!(stored.first_seen_run, "run-0");
        assert_eq!(stored.first_seen_at, first);
        let run = if (70..150).contains(&i) {
            "run-2"
        } else {
            "run-1"
        };
        assert_eq!(stored.updated_run, run, "{id}");
        assert_eq!(
            stored.updated_at,
            if i >= 120 { later } else { first },
            "{id}"
        );
        assert_eq!(stored.archive.is_some(), i == 7, "{id}");
        let lookup = if kind == EntityKind::Users {
            Lookup::UsersByUsername(format!("name{i}"))
        } else {
            Lookup::EnrollmentsOfUser(format!("u-{i}"))
        };
        assert_eq!(store.lookup("t", &lookup).await.unwrap(), vec![id.clone()]);
    }
    let of_class = store
        .lookup("t", &Lookup::EnrollmentsOfClass("cls-1".into()))
        .await
        .unwrap();
    assert_eq!(
        of_class.len(),
        (0..200)
            .filter(|i| i % 3 == 1 && !(80..90).contains(i))
            .count()
    );
    let by_email = store
        .lookup("t", &Lookup::UsersByEmail("u85@d.example".into()))
        .await
        .unwrap();
    assert_eq!(by_email, vec!["r-085".to_string()]);
}

/// Rows cross the reading and the summarising thread in batches cut by
/// count and by size; every row arrives once, in order, summarised.
#[test]
fn summaries_are_read_in_batches_and_all_arrive() {
    let store = SqliteStore::in_memory().unwrap();
    let first = Utc.with_ymd_and_hms(2026, 8, 1, 12, 0, 0).unwrap();
    let second = Utc.with_ymd_and_hms(2026, 9, 1, 12, 0, 0).unwrap();
    let big = "x".repeat(1_500_000);
    let mut writes = Vec::new();
    for i in 0..5_000 {
        let note = if i == 2_500 { big.as_str() } else { "n" };
        let text = format!(
            r#"{{"classSourcedId":"cls-{}","endDate":"2027-06-11","note":"{note}","sourcedId":"e-{i:05}"}}"#,
            i % 7
        );
        let (at, run) = if i < 3_000 {
            (first, "run-1")
        } else {
            (second, "run-2")
        };
        writes.push(put(format!("e-{i:05}"), &text, at, run));
    }
    writes.push(EntityWrite::Archive {
        kind: EntityKind::Enrollments,
        sourced_id: "e-00042".into(),
        at: second,
        run: "run-2".into(),
        reason: Some(ArchiveReason::Absent),
        by: ArchivedBy::Sync,
    });
    assert_eq!(write_leased(&store, &writes).unwrap(), 5_001);

    let mut summaries = store.summaries("t", EntityKind::Enrollments).unwrap();
    summaries.sort_by(|a, b| a.sourced_id.cmp(&b.sourced_id));
    assert_eq!(summaries.len(), 5_000);
    let stored = store
        .with(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT sis FROM entities
                     WHERE tenant = (SELECT id FROM tenant_keys WHERE tenant = 't')
                     ORDER BY sourced_id",
                )
                .map_err(db_error)?;
            let texts = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(db_error)?;
            texts
                .map(|t| t.map_err(db_error))
                .collect::<StoreResult<Vec<_>>>()
        })
        .unwrap();
    for (i, (s, text)) in summaries.iter().zip(&stored).enumerate() {
        assert_eq!(s.sourced_id, format!("e-{i:05}"));
        assert_eq!(s.digest, digest_of_text(text), "{}", s.sourced_id);
        assert_eq!(s.archived, i == 42);
        assert_eq!(s.first_seen.at, if i < 3_000 { first } else { second });
        assert_eq!(s.first_seen.run, if i < 3_000 { "run-1" } else { "run-2" });
        if i != 42 {
            let RecordFacts::Enrollment { class, end } = &s.facts else {
                panic!("{} has no enrollment facts", s.sourced_id);
            };
            assert_eq!(class.as_deref(), Some(format!("cls-{}", i % 7).as_str()));
            assert_eq!(end.map(|d| d.to_string()).as_deref(), Some("2027-06-11"));
        }
    }
    // Records that came in runs of the same stamp share one copy of it.
    assert!(Arc::ptr_eq(
        &summaries[0].first_seen,
        &summaries[2_999].first_seen
    ));
}

/// A row whose stamp or run key cannot be read (a value of the wrong
/// type, a key `run_keys` does not have) stops the load with its error,
/// at any point of the table: nothing waits forever on the other thread.
#[test]
fn a_bad_stored_row_fails_the_load_without_hanging() {
    let store = SqliteStore::in_memory().unwrap();
    let at = Utc.with_ymd_and_hms(2026, 8, 1, 12, 0, 0).unwrap();
    write_leased(&store, &enrollments(10_000, at, "run-1")).unwrap();
    let bad_values: [(&str, rusqlite::types::Value, &str); 3] = [
        (
            "first_seen_at",
            "garbage".to_string().into(),
            "bad timestamp `garbage`",
        ),
        (
            "first_seen_run",
            "garbage".to_string().into(),
            "bad run key `garbage`",
        ),
        ("first_seen_run", 99.into(), "run key 99 of record `e-"),
    ];
    for (column, bad, expected) in bad_values {
        for id in ["e-00000", "e-05000", "e-09999"] {
            let set = |value: &rusqlite::types::Value| {
                store
                    .with(|c| {
                        c.execute(
                            &format!("UPDATE entities SET {column} = ?2 WHERE sourced_id = ?1"),
                            params![id, value],
                        )
                        .map_err(db_error)
                    })
                    .unwrap()
            };
            let good: rusqlite::types::Value = store
                .with(|c| {
                    c.query_row(
                        &format!("SELECT {column} FROM entities WHERE sourced_id = ?1"),
                        [id],
                        |r| r.get(0),
                    )
                    .map_err(db_error)
                })
                .unwrap();
            set(&bad);
            let error = store.summaries("t", EntityKind::Enrollments).unwrap_err();
            assert!(
                error.to_string().contains(expected),
                "{column} of {id}: {error}"
            );
            set(&good);
        }
    }
    assert_eq!(
        store.summaries("t", EntityKind::Enrollments).unwrap().len(),
        10_000
    );
}
