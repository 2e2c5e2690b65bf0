//! One run at a time per tenant, on both stores: concurrent runs, runs
//! killed or crashed halfway, dead processes, and the lease fence.

use crate::common::*;
use chrono::{Duration as Days, Utc};
use oneroster::EntityKind;
use roster::*;
use std::sync::Arc;
use std::time::Duration;

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
    let chunks = futures::stream::iter([archive("run-a"), archive("run-a")]);
    let refused = store.write_all("d1", &old, chunks).await.unwrap_err();
    assert!(refused.is_lease_lost(), "{refused}");
    assert_eq!(state_of(&store, "d1").await, before, "nothing was written");

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

conformance!(
    concurrent_runs_of_one_tenant_serialise,
    a_run_killed_halfway_converges_when_run_again,
    a_crashed_runs_expired_lease_is_taken_over,
    a_dead_local_process_lease_is_taken_over_at_once,
    a_long_run_keeps_its_short_lease_and_one_that_loses_it_stops,
    a_run_stopped_mid_apply_writes_nothing_after_its_lease_is_taken_over,
    writes_under_a_lease_taken_over_are_refused,
);
