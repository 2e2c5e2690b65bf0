//! The school year on both stores: a rollover, a mid-year file, a year
//! without sessions, and hand-archived classes.

use crate::common::*;
use chrono::Utc;
use oneroster::EntityKind;
use roster::*;

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
            oneroster: district::OneRosterVersion::V1p1,
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
    let class = entity(&store, "d1", EntityKind::Classes, &old_class).await;
    let archive = class.archive.expect("last year's class is archived");
    assert_eq!(
        (archive.by, archive.reason),
        (ArchivedBy::Sync, Some(ArchiveReason::Ended))
    );
    let leaver = old_users
        .keys()
        .find(|id| !new_users.contains_key(*id))
        .unwrap();
    let leaver = entity(&store, "d1", EntityKind::Users, leaver).await;
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
    let current = entity(&store, "d1", EntityKind::Classes, &next.class_id(0)).await;
    assert!(current.archive.is_none(), "the SIS is authoritative");
    let ended = entity(&store, "d1", EntityKind::Classes, &first.class_id(0)).await;
    assert_eq!(
        ended.archive.map(|a| a.reason),
        Some(Some(ArchiveReason::Ended)),
        "last year's class stays archived"
    );
}

conformance!(
    a_rollover_applies_on_its_own_archiving_last_years_records_as_ended,
    a_mid_year_file_missing_a_third_of_the_classes_is_held,
    a_rollover_in_which_too_many_students_vanish_is_held,
    without_sessions_the_calendar_says_nothing_and_the_hold_is_as_before,
    a_hand_archived_current_class_returns_and_an_ended_one_does_not,
);
