//! Re-keys on both stores: a district whose every student got a new
//! sourcedId (state ids kept) is held with a proposal that pairs them;
//! approving with it keeps first seen and the Primary Administrator flag,
//! archives the old records as `rekeyed`, and a sign-in by an old id
//! reaches the new record. An ambiguous or conflicting pair is never made.
//! A re-key stopped part way carries on when the delivery is run again. A
//! revert of a re-key unlinks it and gives the Primary Administrator back.

use crate::common::*;
use oneroster::EntityKind;
use roster::engine::RekeyChoice;
use roster::rekey::Pair;
use roster::*;

/// 100 students with state ids `S0` …
fn with_state_ids() -> District {
    state_ids(District::new(100, 4))
}

/// `district` with its students' state ids `S0` …
fn state_ids(mut district: District) -> District {
    for (i, s) in district.students.iter_mut().enumerate() {
        s.state_id = Some(format!("S{i}"));
    }
    district
}

/// The same students under new sourcedIds (`new-0000` …), usernames and
/// state ids kept; the last two delivered with one state id between them.
fn rekeyed(full: &District) -> District {
    let mut district = full.clone();
    for s in district.students.iter_mut() {
        s.id = s.id.replace("stu-", "new-");
    }
    district.students[99].state_id = Some("S98".into());
    district
}

/// [`with_state_ids`] synced with `stu-0001` a Primary Administrator, then
/// [`rekeyed`]: the district and the held run.
async fn held_rekey<S: Store>(store: &S, bench: &Bench, t: &TenantConfig) -> (District, RunRecord) {
    let full = with_state_ids();
    sync(store, bench, t, &full, None).await;
    store
        .set_primary_admin("d1", "stu-0001", true)
        .await
        .unwrap();
    let held = sync(store, bench, t, &rekeyed(&full), None).await;
    (full, held)
}

async fn a_rekeyed_district_is_held_with_a_proposal_and_approved_with_it<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let (_, held) = held_rekey(&store, &bench, &t).await;
    let first_seen = entity(&store, "d1", EntityKind::Users, "stu-0001")
        .await
        .first_seen_at;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    let rekey = held.rekey.clone().expect("a re-key proposal");
    assert_eq!((rekey.archived, rekey.inserted), (100, 100));
    // The two that share a delivered state id are not paired by it; then
    // one pairs by username, and the other, by username too, would join two
    // different state ids: never paired.
    assert_eq!(
        rekey.paired_by,
        [
            ("userIds StateID".to_string(), 98),
            ("username".to_string(), 1)
        ]
        .into(),
    );
    assert!(
        held.message.contains("users look re-keyed: 99 of 100 archived users paired with new ones (userIds StateID 98, username 1); 1 unpaired"),
        "{}",
        held.message
    );

    let engine = Engine::new(&store, &bench.artifacts);
    let wrong = engine
        .approve_with(
            &held.run_id,
            "ops",
            RekeyChoice::Mapping(vec![Pair {
                old: "tch-0".into(),
                new: "new-0001".into(),
                key: roster::rekey::MatchKey::ByHand,
            }]),
        )
        .await;
    match wrong {
        Err(SyncError::Refused(message)) => assert!(
            message.contains("`tch-0` is not a user this run archives (absent or deleted)"),
            "{message}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let approved = engine
        .approve_with(&held.run_id, "ops", RekeyChoice::Proposed)
        .await
        .unwrap();
    assert_eq!(approved.status, RunStatus::Applied, "{}", approved.message);
    assert!(
        approved
            .message
            .contains("with the re-key of 99 users (and 99 enrollments)"),
        "{}",
        approved.message
    );
    assert_eq!(approved.rekey.unwrap().applied, Some(99));

    let new = entity(&store, "d1", EntityKind::Users, "new-0001").await;
    assert_eq!(new.first_seen_at, first_seen, "first seen carries on");
    assert!(new.primary_admin, "the Primary Administrator stays one");
    assert_eq!(new.rekey.previous_sourced_ids, ["stu-0001"]);
    let old = entity(&store, "d1", EntityKind::Users, "stu-0001").await;
    assert!(!old.primary_admin);
    assert_eq!(
        old.archive.as_ref().and_then(|a| a.reason),
        Some(roster::store::ArchiveReason::Rekeyed)
    );
    assert_eq!(old.rekey.rekeyed_to.as_deref(), Some("new-0001"));
    let unpaired = entity(&store, "d1", EntityKind::Users, "stu-0099").await;
    assert_eq!(
        unpaired.archive.and_then(|a| a.reason),
        Some(roster::store::ArchiveReason::Absent)
    );

    let (found, followed) = roster::sign_in::current_user(&store, "d1", "stu-0001")
        .await
        .unwrap()
        .expect("the old id is known");
    assert_eq!((found.sourced_id.as_str(), followed), ("new-0001", true));
}

async fn a_few_users_rekeyed_by_state_id_carry_on_without_a_hold<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let mut full = with_state_ids();
    full.students[3].state_id = None;
    sync(&store, &bench, &t, &full, None).await;
    let mut next = full.clone();
    for s in next.students.iter_mut().take(4) {
        s.id = s.id.replace("stu-", "new-");
    }
    let run = sync(&store, &bench, &t, &next, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let rekey = run.rekey.clone().expect("exact pairs are applied");
    assert_eq!(rekey.applied, Some(3));
    assert_eq!(rekey.paired_by, [("userIds StateID".to_string(), 3)].into());
    assert!(
        run.message.ends_with("; the re-key of 3 users (and 3 enrollments) applied (the same identifier or state id under a new sourcedId)"),
        "{}",
        run.message
    );
    assert_eq!(
        rekey.applied_others,
        [("enrollments".to_string(), 3)].into()
    );
    let enrollment = entity(&store, "d1", EntityKind::Enrollments, "en-stu-0000").await;
    assert_eq!(enrollment.rekey.rekeyed_to.as_deref(), Some("en-new-0000"));
    assert_eq!(
        enrollment.archive.and_then(|a| a.reason),
        Some(roster::store::ArchiveReason::Rekeyed)
    );
    let old = entity(&store, "d1", EntityKind::Users, "stu-0000").await;
    assert_eq!(old.rekey.rekeyed_to.as_deref(), Some("new-0000"));
    // Only exact keys without a person: the same username is not enough.
    let absent = entity(&store, "d1", EntityKind::Users, "stu-0003").await;
    assert_eq!(
        absent.archive.and_then(|a| a.reason),
        Some(roster::store::ArchiveReason::Absent)
    );
    assert!(absent.rekey.rekeyed_to.is_none());
}

async fn a_rekey_stopped_at_any_write_carries_on_when_run_again<S: Store + PlatformEdits>(
    store: S,
) {
    let store = std::sync::Arc::new(store);
    let bench = Bench::new();
    let full = forty_with_state_ids();
    let next = three_rekeyed(&full);
    for at in 0.. {
        let t = tenant(store.as_ref(), &format!("k{at}")).await;
        sync(store.as_ref(), &bench, &t, &full, None).await;
        let stopped = sync_stopped_at(&store, &bench, &t, &next, at).await;
        if stopped.is_ok() {
            // Past the last write: every stop before it was tried.
            assert!(at > 10, "only {at} writes");
            break;
        }
        let run = sync(store.as_ref(), &bench, &t, &next, None).await;
        assert_eq!(run.status, RunStatus::Applied, "at {at}: {}", run.message);
        for (kind, old, new) in [
            (EntityKind::Users, "stu-0001", "new-0001"),
            (EntityKind::Enrollments, "en-stu-0001", "en-new-0001"),
        ] {
            let (old_e, new_e) = (
                entity(store.as_ref(), &t.tenant, kind, old).await,
                entity(store.as_ref(), &t.tenant, kind, new).await,
            );
            assert_eq!(
                old_e.archive.and_then(|a| a.reason),
                Some(roster::store::ArchiveReason::Rekeyed),
                "{kind} {old} after a stop at write {at} ({:?})",
                stopped.as_ref().map(|r| r.status)
            );
            assert_eq!(old_e.rekey.rekeyed_to.as_deref(), Some(new), "at {at}");
            assert_eq!(
                new_e.first_seen_at, old_e.first_seen_at,
                "{kind} {new} keeps {old}'s first seen after a stop at write {at}"
            );
        }
        let state = store.get_state(&t.tenant).await.unwrap();
        assert_eq!(state.rekey_in_progress, None, "at {at}");
    }
}

/// Syncs `district` through a store that fails after `at` writes.
async fn sync_stopped_at<S: Store>(
    store: &std::sync::Arc<S>,
    bench: &Bench,
    t: &TenantConfig,
    district: &District,
    at: u64,
) -> Result<RunRecord, SyncError> {
    let path = bench.package(district);
    let faulty = Faulty::new(store.clone(), at);
    Engine::new(&faulty, &bench.artifacts)
        .sync_package(t, &path, source(&path), Delivered::now(None))
        .await
}

/// 40 students with state ids; `three_rekeyed` gives three of them new ids.
fn forty_with_state_ids() -> District {
    state_ids(District::new(40, 2))
}

fn three_rekeyed(full: &District) -> District {
    let mut next = full.clone();
    for s in next.students.iter_mut().take(3) {
        s.id = s.id.replace("stu-", "new-");
    }
    next
}

async fn a_stopped_rekey_the_district_undoes_is_not_carried_on<S: Store + PlatformEdits>(store: S) {
    let store = std::sync::Arc::new(store);
    let bench = Bench::new();
    let full = forty_with_state_ids();
    let next = three_rekeyed(&full);
    for at in 0.. {
        let t = tenant(store.as_ref(), &format!("u{at}")).await;
        sync(store.as_ref(), &bench, &t, &full, None).await;
        store
            .set_primary_admin(&t.tenant, "stu-0001", true)
            .await
            .unwrap();
        let stopped = sync_stopped_at(&store, &bench, &t, &next, at).await;
        if stopped.is_ok() {
            break;
        }
        // The district goes back to the old ids.
        let run = sync(store.as_ref(), &bench, &t, &full, None).await;
        assert_eq!(run.status, RunStatus::Applied, "at {at}: {}", run.message);
        assert!(!run.message.contains("re-key"), "at {at}: {}", run.message);
        let old = entity(store.as_ref(), &t.tenant, EntityKind::Users, "stu-0001").await;
        assert!(old.archive.is_none(), "at {at}: the old id is back");
        assert!(
            old.primary_admin,
            "at {at}: the Primary Administrator stays one"
        );
        assert_eq!(
            store.primary_admins(&t.tenant).await.unwrap(),
            ["stu-0001"],
            "at {at}"
        );
        let again = sync(store.as_ref(), &bench, &t, &full, None).await;
        assert_eq!(again.total_writes(), 0, "at {at}: {}", again.message);
        let state = store.get_state(&t.tenant).await.unwrap();
        assert_eq!(state.rekey_in_progress, None, "at {at}");
    }
}

/// Reverts `run` (with `force`): the revert's run.
async fn revert_run<S: Store>(store: &S, bench: &Bench, run: &str, force: bool) -> RunRecord {
    let request = roster::revert::RevertRequest {
        force,
        by: "ops".into(),
    };
    match Engine::new(store, &bench.artifacts)
        .revert(run, &request)
        .await
        .expect("the revert runs")
    {
        roster::revert::RevertOutcome::Run(run) => *run,
        other => panic!("not run: {other:?}"),
    }
}

async fn a_revert_of_an_approved_rekey_unlinks_it_and_gives_the_admin_back<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let (full, held) = held_rekey(&store, &bench, &t).await;
    let engine = Engine::new(&store, &bench.artifacts);
    let approved = engine
        .approve_with(&held.run_id, "ops", RekeyChoice::Proposed)
        .await
        .unwrap();
    assert_eq!(store.primary_admins("d1").await.unwrap(), ["new-0001"]);

    // The revert archives the 100 new students: held, then approved.
    let revert = revert_run(&store, &bench, &approved.run_id, false).await;
    assert_eq!(revert.status, RunStatus::Held, "{}", revert.message);
    let reverted = engine.approve(&revert.run_id, "ops").await.unwrap();
    assert_eq!(reverted.status, RunStatus::Applied, "{}", reverted.message);
    assert!(
        reverted
            .message
            .ends_with("; 198 re-key pairs unlinked; stu-0001 a Primary Administrator again"),
        "{}",
        reverted.message
    );
    assert!(reverted.warnings.is_empty(), "{:?}", reverted.warnings);
    // The new id keeps its flag, for a district that sends it again.
    assert_eq!(
        store.primary_admins("d1").await.unwrap(),
        ["new-0001", "stu-0001"]
    );
    for (kind, old, new) in [
        (EntityKind::Users, "stu-0001", "new-0001"),
        (EntityKind::Enrollments, "en-stu-0001", "en-new-0001"),
    ] {
        let old_e = entity(&store, "d1", kind, old).await;
        assert!(old_e.archive.is_none(), "{kind} {old} is back");
        assert_eq!(
            old_e.rekey,
            roster::store::RekeyLinks::default(),
            "{kind} {old}"
        );
        let new_e = entity(&store, "d1", kind, new).await;
        assert!(new_e.archive.is_some(), "{kind} {new} is archived");
        assert_eq!(
            new_e.rekey,
            roster::store::RekeyLinks::default(),
            "{kind} {new}"
        );
    }
    let (found, followed) = roster::sign_in::current_user(&store, "d1", "stu-0001")
        .await
        .unwrap()
        .expect("the old id is known");
    assert_eq!((found.sourced_id.as_str(), followed), ("stu-0001", false));

    // An operator tidies the archived id's flag away; reverting the revert
    // re-keys again: linked, the flag moved forward.
    store
        .set_primary_admin("d1", "new-0001", false)
        .await
        .unwrap();
    let revert = revert_run(&store, &bench, &reverted.run_id, false).await;
    assert_eq!(revert.status, RunStatus::Held, "{}", revert.message);
    let rekeyed_again = engine.approve(&revert.run_id, "ops").await.unwrap();
    assert!(
        rekeyed_again.message.ends_with(
            "; 198 re-key pairs linked again; stu-0001 a Primary Administrator under the new id"
        ),
        "{}",
        rekeyed_again.message
    );
    assert_eq!(rekeyed_again.rekey.and_then(|r| r.applied), Some(99));
    assert_eq!(store.primary_admins("d1").await.unwrap(), ["new-0001"]);
    let old = entity(&store, "d1", EntityKind::Enrollments, "en-stu-0001").await;
    assert_eq!(old.rekey.rekeyed_to.as_deref(), Some("en-new-0001"));
    let new = entity(&store, "d1", EntityKind::Users, "new-0001").await;
    assert_eq!(new.rekey.previous_sourced_ids, ["stu-0001"]);
    let (found, followed) = roster::sign_in::current_user(&store, "d1", "stu-0001")
        .await
        .unwrap()
        .expect("the old id is known");
    assert_eq!((found.sourced_id.as_str(), followed), ("new-0001", true));
    // The store is the re-keyed district again.
    let again = sync(&store, &bench, &t, &rekeyed(&full), None).await;
    assert_eq!(again.total_writes(), 0, "{}", again.message);
}

async fn a_forced_revert_leaves_a_rekey_changed_since_linked<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let full = forty_with_state_ids();
    sync(&store, &bench, &t, &full, None).await;
    let run = sync(&store, &bench, &t, &three_rekeyed(&full), None).await;
    assert_eq!(run.rekey.as_ref().and_then(|r| r.applied), Some(3));
    // Re-keyed without a person, the old ids stay Primary Administrators;
    // an operator moves the flag to the new id by hand.
    store
        .set_primary_admin("d1", "new-0000", true)
        .await
        .unwrap();
    store
        .set_primary_admin("d1", "stu-0000", false)
        .await
        .unwrap();
    store
        .edit_sis_field("d1", EntityKind::Users, "new-0002", "givenName", "Edited")
        .await
        .unwrap();

    let revert = revert_run(&store, &bench, &run.run_id, true).await;
    assert_eq!(revert.status, RunStatus::Applied, "{}", revert.message);
    assert!(
        revert
            .message
            .ends_with("; 5 re-key pairs unlinked; stu-0000 a Primary Administrator again"),
        "{}",
        revert.message
    );
    assert!(
        revert.warnings.iter().any(|w| w.starts_with(&format!(
            "1 re-key pair of run {} not put back (their links as they are): changed since the run",
            run.run_id
        ))),
        "{:?}",
        revert.warnings
    );
    assert_eq!(
        store.primary_admins("d1").await.unwrap(),
        ["new-0000", "stu-0000"]
    );
    let kept = entity(&store, "d1", EntityKind::Users, "stu-0002").await;
    assert_eq!(kept.rekey.rekeyed_to.as_deref(), Some("new-0002"));
    let unlinked = entity(&store, "d1", EntityKind::Enrollments, "en-stu-0002").await;
    assert_eq!(
        unlinked.rekey.rekeyed_to, None,
        "its enrollment was put back"
    );
}

async fn a_rekey_past_its_deadline_links_part_and_continues<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let full = with_state_ids();
    sync(&store, &bench, &t, &full, None).await;
    // 20 students re-keyed (under the hold): 40 pairs with their enrollments.
    let mut next = full.clone();
    for s in next.students.iter_mut().take(20) {
        s.id = s.id.replace("stu-", "new-");
    }
    let path = bench.package(&next);
    let (mut invocations, mut linking_only) = (0, 0);
    let applied = loop {
        invocations += 1;
        assert!(invocations <= 10, "no progress after 10 invocations");
        let mut engine = Engine::new(&store, &bench.artifacts);
        engine.options.deadline = Some(std::time::Instant::now());
        let run = engine
            .sync_package(&t, &path, source(&path), Delivered::now(None))
            .await
            .unwrap();
        match run.status {
            RunStatus::Continued => linking_only += u32::from(run.items_written == 0),
            _ => break run,
        }
    };
    assert_eq!(applied.status, RunStatus::Applied, "{}", applied.message);
    // 16 pairs linked an invocation, each past what the last one linked:
    // two stop while linking, the third links the last 8 and writes.
    assert_eq!(linking_only, 2);
    for i in 0..20 {
        let old = entity(&store, "d1", EntityKind::Users, &format!("stu-{i:04}")).await;
        let new = format!("new-{i:04}");
        assert_eq!(old.rekey.rekeyed_to.as_deref(), Some(new.as_str()));
        assert_eq!(
            old.archive.and_then(|a| a.reason),
            Some(roster::store::ArchiveReason::Rekeyed)
        );
        let carried = entity(&store, "d1", EntityKind::Users, &new).await;
        assert_eq!(carried.first_seen_at, old.first_seen_at, "{new}");
        assert_eq!(carried.rekey.previous_sourced_ids, [format!("stu-{i:04}")]);
    }
}

async fn a_forced_revert_gives_the_flag_back_where_the_new_record_was_archived_since<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let (_, held) = held_rekey(&store, &bench, &t).await;
    let engine = Engine::new(&store, &bench.artifacts);
    let approved = engine
        .approve_with(&held.run_id, "ops", RekeyChoice::Proposed)
        .await
        .unwrap();
    // The new record of the Primary Administrator is archived by hand since.
    store
        .archive_by_hand("d1", EntityKind::Users, "new-0001", chrono::Utc::now())
        .await
        .unwrap();
    let revert = revert_run(&store, &bench, &approved.run_id, true).await;
    let reverted = engine.approve(&revert.run_id, "ops").await.unwrap();
    assert_eq!(reverted.status, RunStatus::Applied, "{}", reverted.message);
    assert!(
        reverted
            .message
            .ends_with("; 197 re-key pairs unlinked; stu-0001 a Primary Administrator again"),
        "{}",
        reverted.message
    );
    // Its link is not the revert's to undo; the flag follows the records.
    let old = entity(&store, "d1", EntityKind::Users, "stu-0001").await;
    assert!(old.archive.is_none());
    assert_eq!(old.rekey.rekeyed_to.as_deref(), Some("new-0001"));
    assert_eq!(
        store.primary_admins("d1").await.unwrap(),
        ["new-0001", "stu-0001"]
    );
}

/// The bench's run files, except that a re-key in progress cannot be read
/// back for another reason than its being gone (S3 refusing, say).
struct Unreadable<'a>(&'a LocalArtifacts);

impl Artifacts for Unreadable<'_> {
    fn scratch(&self, tenant: &str, run: &str, name: &str) -> std::io::Result<std::path::PathBuf> {
        self.0.scratch(tenant, run, name)
    }

    fn keep(
        &self,
        tenant: &str,
        run: &str,
        name: &str,
        path: &std::path::Path,
    ) -> std::io::Result<String> {
        self.0.keep(tenant, run, name, path)
    }

    fn fetch(&self, reference: &str) -> std::io::Result<std::path::PathBuf> {
        self.0.fetch(reference)
    }

    async fn fetch_lasting(&self, _reference: &str) -> std::io::Result<std::path::PathBuf> {
        let denied = std::io::ErrorKind::PermissionDenied;
        Err(std::io::Error::new(denied, "access denied"))
    }
}

async fn a_rekey_in_progress_that_cannot_be_read_stops_the_run_for_a_retry<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let store = std::sync::Arc::new(store);
    let bench = Bench::new();
    let full = forty_with_state_ids();
    let next = three_rekeyed(&full);
    let t = tenant(store.as_ref(), "d1").await;
    sync(store.as_ref(), &bench, &t, &full, None).await;
    // Stopped at its first write: the re-key is named in the state.
    sync_stopped_at(&store, &bench, &t, &next, 0)
        .await
        .unwrap_err();
    let named = store.get_state("d1").await.unwrap().rekey_in_progress;
    assert!(named.is_some());

    let path = bench.package(&next);
    let unreadable = Unreadable(&bench.artifacts);
    let error = Engine::new(store.as_ref(), &unreadable)
        .sync_package(&t, &path, source(&path), Delivered::now(None))
        .await
        .expect_err("the pairs cannot be read");
    assert!(error.is_retryable(), "{error}");
    assert!(error.to_string().ends_with(": access denied"), "{error}");
    assert_eq!(
        store.get_state("d1").await.unwrap().rekey_in_progress,
        named
    );
    let old = entity(store.as_ref(), "d1", EntityKind::Users, "stu-0001").await;
    assert!(old.archive.is_none(), "nothing archived as absent");

    // A retry applies the re-key.
    let run = sync(store.as_ref(), &bench, &t, &next, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let old = entity(store.as_ref(), "d1", EntityKind::Users, "stu-0001").await;
    assert_eq!(
        old.archive.and_then(|a| a.reason),
        Some(roster::store::ArchiveReason::Rekeyed)
    );
}

conformance!(
    a_rekeyed_district_is_held_with_a_proposal_and_approved_with_it,
    a_rekey_in_progress_that_cannot_be_read_stops_the_run_for_a_retry,
    a_few_users_rekeyed_by_state_id_carry_on_without_a_hold,
    a_rekey_stopped_at_any_write_carries_on_when_run_again,
    a_stopped_rekey_the_district_undoes_is_not_carried_on,
    a_revert_of_an_approved_rekey_unlinks_it_and_gives_the_admin_back,
    a_forced_revert_leaves_a_rekey_changed_since_linked,
    a_rekey_past_its_deadline_links_part_and_continues,
    a_forced_revert_gives_the_flag_back_where_the_new_record_was_archived_since,
);
