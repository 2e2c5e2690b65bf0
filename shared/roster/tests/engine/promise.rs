//! The promise against bad data, on both stores: what a delivery says of time
//! ends no current record, a generation time from the future is not believed,
//! the summer and semester files still apply on their own, and a delivery
//! whose rows are rejected en masse is held.

use crate::common::*;
use chrono::{Duration as Days, Utc};
use oneroster::EntityKind;
use roster::*;
use LeaseOutcome::Acquired;

const SESSIONS_HEADER: &str =
    "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n";
const CLASSES_HEADER: &str = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n";
const ENROLLMENTS_HEADER: &str = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n";

/// School year 2026–27 (1 August to 30 June): 60 students in 30 classes.
fn school_year_2027() -> District {
    District::new(60, 30).in_school_year(2027)
}

async fn loaded<S: Store + PlatformEdits>(store: &S, bench: &Bench, district: &District) {
    let t = tenant(store, "d1").await;
    let run = sync(store, bench, &t, district, Some(at("2026-09-01"))).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
}

async fn a_delivery_moving_session_ends_earlier_is_held_not_ended<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let full = school_year_2027();
    loaded(&store, &bench, &full).await;
    let before = state_of(&store, "d1").await;
    // Every session kept, its end moved into the past; one class left.
    let mut moved = full.clone().with_file(
        "academicSessions.csv",
        format!("{SESSIONS_HEADER}y2027,active,,2026-27,schoolYear,2026-08-01,2026-08-31,,2027\n"),
    );
    moved.classes = 1;
    for s in &mut moved.students {
        s.class = 0;
    }
    let t = store.get_tenant("d1").await.unwrap().unwrap();
    let held = sync(&store, &bench, &t, &moved, Some(at("2026-09-01"))).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    assert_eq!(held.hold["classes"].would_archive, 29);
    assert_eq!(counts(&held, EntityKind::Classes).ended, 0);
    assert_eq!(counts(&held, EntityKind::Enrollments).ended, 0);
    assert!(
        held.message
            .contains("session y2027 end date moved from 2027-06-30 to 2026-08-31"),
        "{}",
        held.message
    );
    assert_eq!(state_of(&store, "d1").await, before, "nothing applied");
}

async fn a_delivery_ending_current_sessions_by_their_dates_is_held<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let full = school_year_2027();
    loaded(&store, &bench, &full).await;
    let before = state_of(&store, "d1").await;
    // Nothing left out: only the session's end moved into the past, which
    // would hide every class at sign-in and end them all with the next file.
    let moved = full.with_file(
        "academicSessions.csv",
        format!("{SESSIONS_HEADER}y2027,active,,2026-27,schoolYear,2026-08-01,2026-08-31,,2027\n"),
    );
    let t = store.get_tenant("d1").await.unwrap().unwrap();
    let held = sync(&store, &bench, &t, &moved, Some(at("2026-09-01"))).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    assert_eq!(
        held.hold.keys().collect::<Vec<_>>(),
        vec!["academicSessions"]
    );
    assert!(
        held.hold["academicSessions"].message.starts_with(
            "would end 1 current session at once by moving its end date into the past (session y2027"
        ),
        "{}",
        held.hold["academicSessions"].message
    );
    assert_eq!(state_of(&store, "d1").await, before, "nothing applied");
    // An end date moved earlier but still ahead is a correction: applied.
    let corrected = school_year_2027().with_file(
        "academicSessions.csv",
        format!("{SESSIONS_HEADER}y2027,active,,2026-27,schoolYear,2026-08-01,2027-06-11,,2027\n"),
    );
    let run = sync(&store, &bench, &t, &corrected, Some(at("2026-09-02"))).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
}

async fn a_far_school_year_ends_nothing<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    loaded(&store, &bench, &school_year_2027()).await;
    let before = state_of(&store, "d1").await;
    // A sessions file of school year 2099 only, its classes and enrollments.
    let far = District::new(60, 30).in_school_year(2099);
    let t = store.get_tenant("d1").await.unwrap().unwrap();
    let held = sync(&store, &bench, &t, &far, Some(at("2026-09-02"))).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    for kind in [
        EntityKind::AcademicSessions,
        EntityKind::Classes,
        EntityKind::Enrollments,
    ] {
        assert_eq!(counts(&held, kind).ended, 0, "{kind}");
    }
    assert_eq!(held.hold["classes"].would_archive, 30);
    assert!(
        held.message
            .contains("session y2099 brings school year 2099, beyond 2027"),
        "{}",
        held.message
    );
    assert_eq!(state_of(&store, "d1").await, before, "nothing applied");
}

async fn a_generation_time_from_the_future_is_not_believed<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(10, 2);
    let path = bench.package(&district);
    // An unzip stamped the files a year ahead; the delivery is received now.
    let future = Utc::now() + Days::days(365);
    let run = Engine::new(&store, &bench.artifacts)
        .sync_package(&t, &path, source(&path), Delivered::now(Some(future)))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let used = run.generated_at.unwrap();
    assert!(used <= Utc::now(), "{used}");
    assert!(
        run.calendar_notes
            .iter()
            .any(|w| w.contains("is later than the delivery's receipt")),
        "{:?}",
        run.calendar_notes
    );
    let state = store.get_state("d1").await.unwrap();
    assert!(state.last_bulk_generated_at.unwrap() <= Utc::now());
    // The next delivery, made now, is not stale.
    let next = sync(&store, &bench, &t, &district, Some(Utc::now())).await;
    assert_eq!(next.status, RunStatus::Applied, "{}", next.message);

    // A tenant whose state a future time poisoned before times were clamped.
    let Acquired { lease, .. } = store
        .acquire_lease(
            "d1",
            "repair",
            Utc::now(),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap()
    else {
        panic!("the lease is free");
    };
    let mut poisoned = store.get_state("d1").await.unwrap();
    poisoned.last_bulk_generated_at = Some(future);
    store.put_state("d1", &poisoned, &lease).await.unwrap();
    store.release_lease("d1", &lease).await.unwrap();
    let next = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(next.status, RunStatus::Applied, "{}", next.message);
    let state = store.get_state("d1").await.unwrap();
    assert!(
        state.last_bulk_generated_at.is_none_or(|t| t <= Utc::now()),
        "the time from the future is dropped"
    );
}

async fn the_july_file_applies_on_its_own<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    loaded(&store, &bench, &school_year_2027()).await;
    // July: next year's session, the course moved to it, no classes or
    // enrollments yet (the schedule is not built), three seniors gone.
    let july = District::new(57, 30)
        .in_school_year(2028)
        .with_file("classes.csv", CLASSES_HEADER)
        .with_file("enrollments.csv", ENROLLMENTS_HEADER);
    let t = store.get_tenant("d1").await.unwrap().unwrap();
    let run = sync(&store, &bench, &t, &july, Some(at("2027-07-15"))).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let ended = |kind| counts(&run, kind).ended;
    assert_eq!(ended(EntityKind::AcademicSessions), 1);
    assert_eq!(ended(EntityKind::Classes), 30);
    assert_eq!(ended(EntityKind::Enrollments), 90);
    assert_eq!(counts(&run, EntityKind::Users).archived, 3);
    assert_eq!(counts(&run, EntityKind::Courses).updated, 1);
    // Applied, but worth a word: most of the roster ended at once.
    assert!(
        run.mass_ended["classes"].starts_with("30 of 30 active records"),
        "{:?}",
        run.mass_ended
    );
    assert!(run.mass_ended.contains_key("enrollments"));
}

async fn an_approved_delta_is_not_taken_for_a_bulk<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(60, 4);
    let loaded = sync(&store, &bench, &t, &district, Some(at("2026-09-01"))).await;
    assert_eq!(loaded.status, RunStatus::Applied, "{}", loaded.message);
    // A delta rewriting every student's username is held; approved, it
    // must not stand for a bulk delivery of its time.
    let mut rewritten = district.clone();
    for s in &mut rewritten.students {
        s.username = format!("{}-x", s.username);
    }
    let only_users = [
        "orgs",
        "academicSessions",
        "courses",
        "classes",
        "enrollments",
    ]
    .into_iter()
    .fold(rewritten.clone().mode("users", "delta"), |d, file| {
        d.mode(file, "absent")
    });
    let held = sync(&store, &bench, &t, &only_users, Some(at("2026-10-01"))).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    let approved = Engine::new(&store, &bench.artifacts)
        .approve(&held.run_id, "ops")
        .await
        .unwrap();
    assert_eq!(approved.status, RunStatus::Applied, "{}", approved.message);
    let state = store.get_state("d1").await.unwrap();
    assert_eq!(state.last_bulk_generated_at, Some(at("2026-09-01")));
    // So a bulk file made in between is not stale.
    let between = sync(&store, &bench, &t, &rewritten, Some(at("2026-09-15"))).await;
    assert_eq!(between.status, RunStatus::Applied, "{}", between.message);
}

/// Fall and spring terms of 2026–27, and `classes` classes of `term`.
fn semester(district: District, term: &str) -> District {
    let sessions = format!(
        "{SESSIONS_HEADER}y2027,active,,2026-27,schoolYear,2026-08-01,2027-06-30,,2027\n\
         fall,active,,Fall,semester,2026-08-01,2026-12-20,y2027,2027\n\
         spring,active,,Spring,semester,2027-01-05,2027-06-30,y2027,2027\n"
    );
    let mut classes = CLASSES_HEADER.to_string();
    let mut enrollments = ENROLLMENTS_HEADER.to_string();
    for c in 0..district.classes {
        let class = format!("{term}-{c}");
        classes.push_str(&format!(
            "{class},active,,Reading {c},01,c1,R{c},scheduled,,s1,{term},,,\n"
        ));
        enrollments.push_str(&format!(
            "en-{class}-t,active,,{class},s1,tch-{c},teacher,true,,\n"
        ));
    }
    for s in &district.students {
        enrollments.push_str(&format!(
            "en-{term}-{},active,,{term}-{},s1,{},student,false,,\n",
            s.id, s.class, s.id
        ));
    }
    district
        .with_file("academicSessions.csv", sessions)
        .with_file("classes.csv", classes)
        .with_file("enrollments.csv", enrollments)
}

async fn the_january_semester_change_applies_unheld<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let fall = semester(school_year_2027(), "fall");
    loaded(&store, &bench, &fall).await;
    let spring = semester(school_year_2027(), "spring");
    let t = store.get_tenant("d1").await.unwrap().unwrap();
    let run = sync(&store, &bench, &t, &spring, Some(at("2027-01-10"))).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let classes = counts(&run, EntityKind::Classes);
    assert_eq!(
        (classes.ended, classes.archived, classes.inserted),
        (30, 0, 30)
    );
    let enrollments = counts(&run, EntityKind::Enrollments);
    assert_eq!(
        (
            enrollments.ended,
            enrollments.archived,
            enrollments.inserted
        ),
        (90, 0, 90)
    );
}

/// `district` with every student's enrollment naming an unknown role.
fn with_broken_enrollments(bench: &Bench, district: &District) -> District {
    let dir = bench.package(district);
    let text = std::fs::read_to_string(dir.join("enrollments.csv")).unwrap();
    district
        .clone()
        .with_file("enrollments.csv", text.replace(",student,", ",learner,"))
}

async fn a_delivery_whose_rows_are_rejected_en_masse_is_held<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(40, 4);
    let broken = with_broken_enrollments(&bench, &district);
    let engine = Engine::new(&store, &bench.artifacts);

    // A first load: held too, nothing written.
    let held = sync(&store, &bench, &t, &broken, None).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    assert!(
        held.hold["enrollments"]
            .message
            .starts_with("rejects 40 of 44 rows (90.9%"),
        "{}",
        held.hold["enrollments"].message
    );
    assert!(state_of(&store, "d1").await.is_empty(), "nothing written");
    engine.discard(&held.run_id, "ops").await.unwrap();

    // A populated tenant: held with the numbers, the store unchanged.
    let loaded = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(loaded.status, RunStatus::Applied, "{}", loaded.message);
    let before = state_of(&store, "d1").await;
    let held = sync(&store, &bench, &t, &broken, None).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    assert_eq!(held.hold.keys().collect::<Vec<_>>(), vec!["enrollments"]);
    assert_eq!(held.hold["enrollments"].rejected_rows, 40);
    assert_eq!(state_of(&store, "d1").await, before);
    // Approved, it applies what was valid and archives nothing rejected.
    let approved = engine.approve(&held.run_id, "ops").await.unwrap();
    assert_eq!(approved.status, RunStatus::Applied, "{}", approved.message);
    assert_eq!(counts(&held, EntityKind::Enrollments).archived, 0);
    assert_eq!(
        state_of(&store, "d1").await,
        before,
        "the rejected rows' records stay as they were, active"
    );

    // A first load whose skipped rows (guardians, not imported) would dilute
    // the share is held all the same, and writes nothing.
    let t2 = tenant(&store, "d2").await;
    let mut diluted = district.clone();
    diluted.extra_users = (0..500)
        .map(|i| format!("gua-{i},active,,true,s1,guardian,gua{i},,G,Gua,,,,,,,,\n"))
        .collect();
    // 500 skipped enrollments beside the 40 rejected: 7% of the file, 91% of what is read.
    diluted.extra_enrollments = (0..500)
        .map(|i| format!("en-gua-{i},active,,cl-0,s1,gua-{i},student,false,,\n"))
        .collect();
    let diluted = with_broken_enrollments(&bench, &diluted);
    let held = sync(&store, &bench, &t2, &diluted, None).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    assert!(state_of(&store, "d2").await.is_empty(), "nothing written");

    // A few rejected rows do not hold.
    let mut few = district.clone();
    few.extra_enrollments = "en-x1,active,,cl-0,s1,stu-0000,learner,false,,\n\
                             en-x2,active,,cl-0,s1,stu-0001,learner,false,,\n"
        .to_string();
    let run = sync(&store, &bench, &t, &few, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(counts(&run, EntityKind::Enrollments).rejected, 2);
}

/// A delivery during a pause window is validated, reported and recorded
/// `paused`, and nothing of it is applied; once the window is cleared the
/// same delivery applies as usual.
async fn a_delivery_during_a_pause_window_is_reported_not_applied<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let district = District::new(40, 4);
    let mut t = tenant(&store, "d1").await;
    sync(&store, &bench, &t, &district, None).await;
    let today = Utc::now().date_naive();
    let window = format!("{}..{}", today - Days::days(1), today + Days::days(1));
    t.pause = vec![PauseWindow::parse(&window, "UTC").unwrap()];
    store.put_tenant(&t).await.unwrap();
    let before = state_of(&store, "d1").await;

    let mut changed = district.clone();
    changed.students.truncate(37);
    let paused = sync(&store, &bench, &t, &changed, None).await;
    assert_eq!(paused.status, RunStatus::Paused, "{}", paused.message);
    assert!(
        paused.message.contains("pause window"),
        "{}",
        paused.message
    );
    assert_eq!(
        counts(&paused, EntityKind::Users).archived,
        3,
        "what it would do is counted"
    );
    assert!(paused.report_ref.is_some(), "its report is kept");
    assert_eq!(state_of(&store, "d1").await, before, "nothing applied");
    let stored = store.get_run(&paused.run_id).await.unwrap().unwrap();
    assert_eq!(stored.status, RunStatus::Paused);

    t.pause.clear();
    store.put_tenant(&t).await.unwrap();
    let applied = sync(&store, &bench, &t, &changed, None).await;
    assert_eq!(applied.status, RunStatus::Applied, "{}", applied.message);
    assert_eq!(counts(&applied, EntityKind::Users).archived, 3);
}

/// The deployment's yearly default window pauses a tenant without windows
/// of its own (once it has a roster), dated in the tenant's time zone; a
/// tenant with its own windows (none of them holding today) applies as usual.
async fn the_default_pause_window_pauses_only_tenants_without_windows<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let district = District::new(40, 4);
    // Month-days around today, wide enough for any time zone.
    let today = Utc::now().date_naive();
    let md = |d: chrono::NaiveDate| d.format("%m-%d").to_string();
    let yearly = format!(
        "{}..{}",
        md(today - Days::days(3)),
        md(today + Days::days(3))
    );
    let engine = Engine {
        store: &store,
        artifacts: &bench.artifacts,
        options: SyncOptions {
            default_pause: Some(YearlyWindow::parse(&yearly).unwrap()),
            ..SyncOptions::default()
        },
    };
    let run = |t: TenantConfig| {
        let path = bench.package(&district);
        let engine = &engine;
        async move {
            engine
                .sync_package(&t, &path, source(&path), Delivered::now(None))
                .await
                .expect("sync completes")
        }
    };

    let bare = tenant(&store, "d1").await;
    // Before its first applied run a tenant is not paused by the default:
    // a district onboarded in the summer gets its roster.
    let first = run(bare.clone()).await;
    assert_eq!(first.status, RunStatus::Applied, "{}", first.message);
    let loaded = state_of(&store, "d1").await;
    let paused = run(bare).await;
    assert_eq!(paused.status, RunStatus::Paused, "{}", paused.message);
    let start = today - Days::days(3);
    assert!(
        paused.message.contains(&format!("pause window {start}..")),
        "dated around today: {}",
        paused.message
    );
    assert!(
        paused.message.contains("(America/New_York)"),
        "the default time zone: {}",
        paused.message
    );
    assert_eq!(state_of(&store, "d1").await, loaded, "nothing applied");

    let mut own = tenant(&store, "d2").await;
    let past = format!("{}..{}", today - Days::days(60), today - Days::days(30));
    own.pause = vec![PauseWindow::parse(&past, "UTC").unwrap()];
    store.put_tenant(&own).await.unwrap();
    let applied = run(own).await;
    assert_eq!(applied.status, RunStatus::Applied, "{}", applied.message);
}

conformance!(
    the_default_pause_window_pauses_only_tenants_without_windows,
    a_delivery_during_a_pause_window_is_reported_not_applied,
    a_delivery_moving_session_ends_earlier_is_held_not_ended,
    a_delivery_ending_current_sessions_by_their_dates_is_held,
    a_far_school_year_ends_nothing,
    a_generation_time_from_the_future_is_not_believed,
    the_july_file_applies_on_its_own,
    the_january_semester_change_applies_unheld,
    a_delivery_whose_rows_are_rejected_en_masse_is_held,
    an_approved_delta_is_not_taken_for_a_bulk,
);
