//! Retention and forgetting: the personal fields of people archived past
//! the tenant's retention (and of one person on request) erased, exactly
//! those and nobody else's; the sign-in lookups forget them; a second pass
//! erases nothing; a re-delivery brings the district's content back.

use crate::common::*;
use chrono::{Duration, Utc};
use oneroster::EntityKind;
use roster::retention::ForgetOutcome;
use roster::*;
use std::collections::BTreeMap;

const DEMOGRAPHICS: &str = "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus\n\
stu-0000,active,,2015-03-04,female,false,false,false,false,true,false,false,US,NY,Albany,\n\
stu-0001,active,,2015-05-06,male,false,true,false,false,false,false,false,US,NY,Troy,\n";

/// Three students (with demographics), one teacher with an email, an administrator.
async fn synced_district<S: Store>(store: &S, bench: &Bench) -> (TenantConfig, District) {
    let mut t = TenantConfig::new("d1").unwrap();
    t.demographics = true;
    store.put_tenant(&t).await.unwrap();
    let district = District::new(3, 1);
    deliver(store, bench, &t, &district).await;
    (t, district)
}

/// Syncs `district` with the demographics file beside it.
async fn deliver<S: Store>(
    store: &S,
    bench: &Bench,
    t: &TenantConfig,
    district: &District,
) -> RunRecord {
    let path = bench.package(district);
    let manifest = std::fs::read_to_string(path.join("manifest.csv")).unwrap();
    std::fs::write(
        path.join("manifest.csv"),
        format!("{manifest}file.demographics,bulk\n"),
    )
    .unwrap();
    std::fs::write(path.join("demographics.csv"), DEMOGRAPHICS).unwrap();
    let run = Engine::new(store, &bench.artifacts)
        .sync_package(t, &path, source(&path), Delivered::now(None))
        .await
        .expect("sync completes");
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    run
}

/// Every stored record of the tenant, whole, by type and sourcedId.
async fn everything<S: Store>(store: &S) -> BTreeMap<(EntityKind, String), StoredEntity> {
    let mut all = BTreeMap::new();
    for kind in EntityKind::ALL {
        for s in store.load_summaries("d1", kind).await.unwrap() {
            let id = s.sourced_id.to_string();
            all.insert((kind, id.clone()), entity(store, "d1", kind, &id).await);
        }
    }
    all
}

async fn find<S: Store>(store: &S, lookup: Lookup) -> Vec<String> {
    store.lookup("d1", &lookup).await.unwrap()
}

async fn retention_erases_exactly_the_personal_fields_of_people_archived_past_it<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let (t, district) = synced_district(&store, &bench).await;
    let now = Utc::now();
    store.set_primary_admin("d1", "tch-0", true).await.unwrap();
    for (id, days) in [("stu-0000", 400), ("tch-0", 366), ("stu-0001", 10)] {
        store
            .archive_by_hand("d1", EntityKind::Users, id, now - Duration::days(days))
            .await
            .unwrap();
    }
    assert_eq!(
        find(&store, Lookup::UsersByEmail("TCH0@d.example".into())).await,
        ["tch-0"]
    );
    let before = everything(&store).await;

    let engine = Engine::new(&store, &bench.artifacts);
    let outcome = engine.retain(&t, 365, now).await.unwrap();

    let erased = [
        (EntityKind::Users, "stu-0000"),
        (EntityKind::Users, "tch-0"),
        (EntityKind::Demographics, "stu-0000"),
    ];
    let run = outcome
        .run
        .clone()
        .expect("a pass that erased records a run");
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(run.source.kind, "retention");
    assert_eq!(
        (
            counts(&run, EntityKind::Users).erased,
            counts(&run, EntityKind::Demographics).erased
        ),
        (2, 1)
    );
    assert_eq!(outcome.erased(), 3);
    let after = everything(&store).await;
    assert_eq!(after.len(), before.len());
    for (key, was) in &before {
        let now_stored = &after[key];
        if !erased.contains(&(key.0, key.1.as_str())) {
            assert_eq!(now_stored, was, "{key:?} must be untouched");
            continue;
        }
        let mark = now_stored.erasure.clone().expect("marked erased");
        assert_eq!(mark.cause, ErasureCause::Retention { days: 365 });
        assert_eq!(mark.run, run.run_id);
        assert!(mark.describe().contains("under the retention of 365 days"));
        assert_eq!(
            now_stored.sis,
            roster::personal::erase(key.0, &was.sis),
            "{key:?}"
        );
        assert!(
            now_stored.sis.str("givenName").is_none() && now_stored.sis.str("birthDate").is_none()
        );
        let unmarked = StoredEntity {
            sis: was.sis.clone(),
            erasure: None,
            ..now_stored.clone()
        };
        assert_eq!(&unmarked, was, "{key:?}: only the personal fields change");
    }
    let teacher = &after[&(EntityKind::Users, "tch-0".to_string())];
    assert_eq!(teacher.sis.str("role"), Some("teacher"));
    assert_eq!(teacher.sis.list("orgSourcedIds"), ["s1"]);
    assert!(teacher.primary_admin, "platform-owned fields stay");
    assert!(find(&store, Lookup::UsersByEmail("tch0@d.example".into()))
        .await
        .is_empty());
    assert!(find(&store, Lookup::UsersByUsername("stu-0000".into()))
        .await
        .is_empty());
    assert_eq!(
        find(&store, Lookup::UsersByUsername("stu-0001".into())).await,
        ["stu-0001"]
    );
    assert_eq!(
        find(&store, Lookup::UsersByEmail("ada@d.example".into())).await,
        ["adm-1"]
    );
    let listed = store.list_runs(Some("d1"), 1).await.unwrap();
    assert_eq!(listed[0].run_id, run.run_id);

    let again = engine.retain(&t, 365, now).await.unwrap();
    assert!(again.run.is_none() && again.due.is_empty(), "{again:?}");
    assert_eq!(
        everything(&store).await,
        after,
        "a second pass erases nothing"
    );

    let back = deliver(&store, &bench, &t, &district).await;
    assert_eq!(counts(&back, EntityKind::Users).unarchived, 3);
    for (kind, id) in erased {
        let restored = entity(&store, "d1", kind, id).await;
        let was = &before[&(kind, id.to_string())];
        assert_eq!(
            restored.sis, was.sis,
            "{kind:?} {id}: the district's content is back"
        );
        assert!(restored.erasure.is_none() && restored.archive.is_none());
    }
    assert_eq!(
        find(&store, Lookup::UsersByEmail("tch0@d.example".into())).await,
        ["tch-0"]
    );
}

async fn retention_off_or_longer_erases_nothing<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let (mut t, _) = synced_district(&store, &bench).await;
    let now = Utc::now();
    store
        .archive_by_hand(
            "d1",
            EntityKind::Users,
            "stu-0000",
            now - Duration::days(400),
        )
        .await
        .unwrap();
    let before = everything(&store).await;
    let engine = Engine::new(&store, &bench.artifacts);
    t.retain_archived_days = Some(0);
    let off = engine.retain(&t, 365, now).await.unwrap();
    assert_eq!((off.days, off.run.is_none()), (None, true));
    t.retain_archived_days = Some(401);
    let longer = engine.retain(&t, 30, now).await.unwrap();
    assert_eq!((longer.days, longer.due.len()), (Some(401), 0));
    let mut dry = Engine::new(&store, &bench.artifacts);
    dry.options.dry_run = true;
    t.retain_archived_days = None;
    let planned = dry.retain(&t, 365, now).await.unwrap();
    assert_eq!(planned.due.get("users"), Some(&1));
    assert!(planned.run.is_none());
    assert_eq!(everything(&store).await, before, "nothing was written");
}

async fn a_record_written_since_it_was_read_is_not_erased<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let (t, district) = synced_district(&store, &bench).await;
    let now = Utc::now();
    store
        .archive_by_hand(
            "d1",
            EntityKind::Users,
            "stu-0000",
            now - Duration::days(400),
        )
        .await
        .unwrap();
    let read = store
        .archived_before("d1", EntityKind::Users, now - Duration::days(365))
        .await
        .unwrap();
    assert_eq!(read.len(), 1);
    // The district delivers the student again before the erasure is written.
    deliver(&store, &bench, &t, &district).await;
    let erasure = Erasure {
        at: now,
        run: "r1".into(),
        cause: ErasureCause::Retention { days: 365 },
    };
    let erase = Erase::of(&read[0], erasure);
    let lease = match store
        .acquire_lease("d1", "r1", now, std::time::Duration::from_secs(60))
        .await
        .unwrap()
    {
        LeaseOutcome::Acquired { lease, .. } => lease,
        held => panic!("lease not free: {held:?}"),
    };
    assert_eq!(store.erase("d1", &lease, &[erase]).await.unwrap(), 0);
    let student = entity(&store, "d1", EntityKind::Users, "stu-0000").await;
    assert_eq!(student.sis.str("givenName"), Some("Given0"));
    assert!(student.erasure.is_none());
}

async fn forget_erases_one_person_at_once_active_or_archived<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let (_, _) = synced_district(&store, &bench).await;
    let before = everything(&store).await;
    let engine = Engine::new(&store, &bench.artifacts);
    let now = Utc::now();
    let ForgetOutcome::Run(run) = engine
        .forget("d1", "stu-0001", "dpo@d1", now)
        .await
        .unwrap()
    else {
        panic!("an active person is erased");
    };
    assert_eq!(
        (run.status, run.source.kind.as_str()),
        (RunStatus::Applied, "forget")
    );
    assert_eq!(run.decided_by.as_deref(), Some("dpo@d1"));
    assert_eq!(run.items_written, 2, "the user and their demographics");
    let after = everything(&store).await;
    for (key, was) in &before {
        let stored = &after[key];
        if key.1 == "stu-0001" && matches!(key.0, EntityKind::Users | EntityKind::Demographics) {
            assert_eq!(stored.sis, roster::personal::erase(key.0, &was.sis));
            assert!(stored.archive.is_none(), "an active person stays active");
            assert_eq!(
                stored.erasure.as_ref().map(|e| e.cause.clone()),
                Some(ErasureCause::Forget {
                    by: "dpo@d1".into()
                })
            );
        } else {
            assert_eq!(stored, was, "{key:?}");
        }
    }
    assert!(find(&store, Lookup::UsersByUsername("stu-0001".into()))
        .await
        .is_empty());
    match engine
        .forget("d1", "stu-0001", "dpo@d1", now)
        .await
        .unwrap()
    {
        ForgetOutcome::Already(e) => assert_eq!(e.run, run.run_id),
        other => panic!("erased already: {other:?}"),
    }
    let unknown = engine
        .forget("d1", "nobody", "dpo@d1", now)
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("has no user `nobody`"),
        "{unknown}"
    );
    assert_eq!(everything(&store).await, after);
}

conformance!(
    retention_erases_exactly_the_personal_fields_of_people_archived_past_it,
    retention_off_or_longer_erases_nothing,
    a_record_written_since_it_was_read_is_not_erased,
    forget_erases_one_person_at_once_active_or_archived,
);
