//! `runs revert` on both stores: the inverse of an applied run, from its
//! before-images, through the engine's path.

use crate::common::*;
use oneroster::EntityKind;
use roster::revert::{RevertOutcome, RevertRequest};
use roster::*;
use std::sync::Arc;

/// Every stored record's whole state (content digest, archive state with who
/// and why, first-seen and last-written stamps), by type and id.
async fn full_state<S: Store>(store: &S, tenant: &str) -> Vec<(EntityKind, String, String)> {
    let mut out = Vec::new();
    for kind in EntityKind::ALL {
        for s in store.load_summaries(tenant, kind).await.unwrap() {
            let e = entity(store, tenant, kind, &s.sourced_id).await;
            let archive = e.archive.as_ref().map(|a| {
                format!(
                    "{}:{}:{}:{:?}",
                    a.by.as_str(),
                    a.at.timestamp_millis(),
                    a.run.as_deref().unwrap_or("-"),
                    a.reason
                )
            });
            out.push((
                kind,
                s.sourced_id.into_string(),
                format!(
                    "{:x} {archive:?} {} {} {} {} {}",
                    e.sis.digest(),
                    e.first_seen_at.timestamp_millis(),
                    e.first_seen_run,
                    e.updated_at.timestamp_millis(),
                    e.updated_run,
                    e.provisional
                ),
            ));
        }
    }
    out.sort();
    out
}

fn request() -> RevertRequest {
    RevertRequest {
        force: false,
        by: "tester".into(),
    }
}

async fn revert<S: Store>(store: &S, bench: &Bench, run: &str, force: bool) -> RevertOutcome {
    Engine::new(store, &bench.artifacts)
        .revert(run, &RevertRequest { force, ..request() })
        .await
        .expect("the revert runs")
}

fn applied(outcome: RevertOutcome) -> RunRecord {
    match outcome {
        RevertOutcome::Run(run) => {
            assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
            *run
        }
        other => panic!("not applied: {other:?}"),
    }
}

/// A second year's change: two students renamed, one gone, one new, one
/// archived by hand before (and back in the file), so that the change updates,
/// archives, inserts and un-archives.
fn changed(district: &District) -> District {
    let mut next = district.clone();
    next.students[0].given = "Renamed0".into();
    next.students[1].given = "Renamed1".into();
    next.students.remove(2);
    next.extra_users = "stu-new,active,,true,s1,student,stu-new,,New,Stu,,,,,,,01,\n".into();
    next
}

async fn a_revert_puts_every_record_back_as_it_was<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(40, 4);
    sync(&store, &bench, &t, &district, None).await;
    store
        .archive_by_hand("d1", EntityKind::Users, "stu-0003", chrono::Utc::now())
        .await
        .unwrap();
    let before = full_state(&store, "d1").await;
    let change = sync(&store, &bench, &t, &changed(&district), None).await;
    assert_eq!(change.status, RunStatus::Applied, "{}", change.message);
    let users = counts(&change, EntityKind::Users);
    assert_eq!(
        (
            users.updated,
            users.inserted,
            users.archived,
            users.unarchived
        ),
        (2, 1, 1, 1)
    );
    assert!(change.before_ref.is_some(), "before-images kept");

    // A dry run writes nothing.
    let mut dry = Engine::new(&store, &bench.artifacts);
    dry.options.dry_run = true;
    let RevertOutcome::Run(planned) = dry.revert(&change.run_id, &request()).await.unwrap() else {
        panic!("a plan")
    };
    assert_eq!(planned.status, RunStatus::Planned);
    assert_eq!(planned.total_writes(), change.total_writes());
    assert_ne!(full_state(&store, "d1").await, before);

    let reverted = applied(revert(&store, &bench, &change.run_id, false).await);
    assert_eq!(reverted.source.kind, "revert");
    assert_eq!(reverted.reverts.as_deref(), Some(change.run_id.as_str()));
    assert_eq!(reverted.items_written, change.items_written);
    let after = full_state(&store, "d1").await;
    let new_user = after
        .iter()
        .find(|(k, id, _)| *k == EntityKind::Users && id == "stu-new")
        .expect("an inserted record is kept, archived")
        .clone();
    assert!(
        new_user.2.contains("revert:"),
        "archived by the revert: {new_user:?}"
    );
    let without_new: Vec<_> = after.into_iter().filter(|r| r != &new_user).collect();
    assert_eq!(
        without_new, before,
        "record by record, the state before the run"
    );
    let e = entity(&store, "d1", EntityKind::Users, "stu-0003").await;
    assert_eq!(
        e.archive.map(|a| a.by),
        Some(ArchivedBy::Manual),
        "archived by hand again"
    );
    let original = store.get_run(&change.run_id).await.unwrap().unwrap();
    assert_eq!(
        original.reverted_by.as_deref(),
        Some(reverted.run_id.as_str())
    );

    // Twice: nothing to do.
    assert_eq!(
        revert(&store, &bench, &change.run_id, false).await,
        RevertOutcome::AlreadyReverted {
            by: reverted.run_id.clone()
        }
    );
    // The next ordinary sync is authoritative again.
    let again = sync(&store, &bench, &t, &changed(&district), None).await;
    assert_eq!(again.status, RunStatus::Applied);
    assert_eq!(counts(&again, EntityKind::Users).updated, 2);
}

async fn a_revert_leaves_what_a_later_run_changed_and_is_refused_without_force<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(40, 4);
    sync(&store, &bench, &t, &district, None).await;
    let change = sync(&store, &bench, &t, &changed(&district), None).await;
    // A later run renames student 0 again.
    let mut later = changed(&district);
    later.students[0].given = "Later0".into();
    let later_run = sync(&store, &bench, &t, &later, None).await;
    assert_eq!(counts(&later_run, EntityKind::Users).updated, 1);
    let before = full_state(&store, "d1").await;
    match revert(&store, &bench, &change.run_id, false).await {
        RevertOutcome::Refused { conflicts, total } => {
            assert_eq!(total, 1);
            assert_eq!(conflicts, vec!["users stu-0000".to_string()]);
        }
        other => panic!("not refused: {other:?}"),
    }
    assert_eq!(full_state(&store, "d1").await, before, "nothing written");
    let reverted = applied(revert(&store, &bench, &change.run_id, true).await);
    assert_eq!(reverted.items_written, change.items_written - 1);
    assert!(reverted
        .warnings
        .iter()
        .any(|w| w.contains("users stu-0000")));
    let get = |id: &'static str| {
        let store = &store;
        async move { entity(store, "d1", EntityKind::Users, id).await }
    };
    assert_eq!(
        get("stu-0000").await.sis.str("givenName"),
        Some("Later0"),
        "left alone"
    );
    assert_eq!(
        get("stu-0001").await.sis.str("givenName"),
        Some("Given1"),
        "reverted"
    );
    assert!(get("stu-0002").await.archive.is_none(), "un-archived");
}

async fn a_revert_of_a_first_load_archives_everything_it_inserted_once_approved<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(40, 4);
    let first = sync(&store, &bench, &t, &district, None).await;
    let held = match revert(&store, &bench, &first.run_id, false).await {
        RevertOutcome::Run(run) => run,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        held.status,
        RunStatus::Held,
        "it archives everything: {}",
        held.message
    );
    assert!(held.hold.contains_key("users"));
    let approved = Engine::new(&store, &bench.artifacts)
        .approve(&held.run_id, "tester")
        .await
        .unwrap();
    assert_eq!(approved.status, RunStatus::Applied, "{}", approved.message);
    assert_eq!(approved.items_written as usize, district.record_count());
    for kind in EntityKind::ALL {
        for s in store.load_summaries("d1", kind).await.unwrap() {
            let e = entity(&store, "d1", kind, &s.sourced_id).await;
            assert_eq!(
                e.archive.map(|a| a.by),
                Some(ArchivedBy::Revert),
                "{kind} {}",
                s.sourced_id
            );
        }
    }
    let first = store.get_run(&first.run_id).await.unwrap().unwrap();
    assert_eq!(first.reverted_by.as_deref(), Some(approved.run_id.as_str()));
}

async fn a_revert_killed_halfway_converges_when_run_again<S: Store + PlatformEdits + 'static>(
    store: S,
) {
    let bench = Bench::new();
    let store = Arc::new(store);
    let t = tenant(store.as_ref(), "d1").await;
    let district = District::new(60, 4);
    sync(store.as_ref(), &bench, &t, &district, None).await;
    let before = full_state(store.as_ref(), "d1").await;
    let mut next = district.clone();
    for s in next.students.iter_mut().take(20) {
        s.given.push_str("-x");
    }
    let change = sync(store.as_ref(), &bench, &t, &next, None).await;
    assert_eq!(counts(&change, EntityKind::Users).updated, 20);
    let faulty = Faulty::new(store.clone(), 7);
    let mut engine = Engine::new(&faulty, &bench.artifacts);
    engine.options.chunk = 5;
    let killed = engine.revert(&change.run_id, &request()).await;
    assert!(killed.is_err(), "the injected fault fails the revert");
    assert_ne!(
        full_state(store.as_ref(), "d1").await,
        before,
        "half reverted"
    );
    let reverted = applied(revert(store.as_ref(), &bench, &change.run_id, false).await);
    assert_eq!(reverted.items_written, 20 - 7, "only what was left");
    assert_eq!(full_state(store.as_ref(), "d1").await, before);
}

/// A teacher signs in (and is provisioned) after a run planned to insert
/// them and before it applied: the run's before-image is the provisional
/// record as read then, so a revert puts it back rather than archiving a
/// teacher who can sign in.
async fn a_revert_keeps_a_teacher_provisioned_between_plan_and_apply<
    S: Store + PlatformEdits + 'static,
>(
    store: S,
) {
    let bench = Bench::new();
    let store = Arc::new(store);
    let t = tenant(store.as_ref(), "d1").await;
    let mut district = District::new(10, 1);
    sync(store.as_ref(), &bench, &t, &district, None).await;
    district.extra_users =
        "tch-new,active,,true,s1,teacher,tnew,,Newton,Teacher,,,new@d.example,,,,,\n".into();
    let signing_in = Faulty::new(store.clone(), u64::MAX);
    let provisional = SisContent::from_value(serde_json::json!({
        "sourcedId": "tch-new",
        "role": "teacher",
        "givenName": "New",
        "familyName": "Teacher",
        "email": "new@d.example",
        "enabledUser": true,
    }));
    *signing_in.sign_in_after_planning.lock().unwrap() =
        Some(("d1".into(), "tch-new".into(), provisional.clone()));
    let run = sync(&signing_in, &bench, &t, &district, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(
        run.counts["users"].inserted, 1,
        "planned before the sign-in"
    );
    assert!(
        signing_in.sign_in_after_planning.lock().unwrap().is_none(),
        "the teacher signed in between plan and apply"
    );

    applied(revert(store.as_ref(), &bench, &run.run_id, false).await);
    let teacher = entity(&*store, "d1", EntityKind::Users, "tch-new").await;
    assert!(
        teacher.archive.is_none(),
        "not archived by the revert: {:?}",
        teacher.archive
    );
    assert!(teacher.provisional, "provisional again, as before the run");
    assert_eq!(teacher.sis, provisional);
}

conformance!(
    a_revert_puts_every_record_back_as_it_was,
    a_revert_keeps_a_teacher_provisioned_between_plan_and_apply,
    a_revert_leaves_what_a_later_run_changed_and_is_refused_without_force,
    a_revert_of_a_first_load_archives_everything_it_inserted_once_approved,
    a_revert_killed_halfway_converges_when_run_again,
);
