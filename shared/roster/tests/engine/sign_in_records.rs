//! What sign-in reads and keeps, on both stores: lookups, one-time records,
//! sign-in audits, claims, provisional teachers and ClassLink TenantIds.

use crate::common::*;
use chrono::{Duration as Days, Utc};
use oneroster::EntityKind;
use roster::*;
use std::sync::Arc;
use std::time::Duration;

async fn lookups_find_records_within_one_tenant<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let a = tenant(&store, "district-a").await;
    let b = tenant(&store, "district-b").await;
    let district = District::new(20, 2);
    sync(&store, &bench, &a, &district, None).await;
    sync(&store, &bench, &b, &district, None).await;
    let find = |t: &'static str, l: Lookup| {
        let store = &store;
        async move { store.lookup(t, &l).await.unwrap() }
    };
    assert_eq!(
        find("district-a", Lookup::UsersByEmail("TCH1@d.example".into())).await,
        vec!["tch-1"]
    );
    assert_eq!(
        find("district-a", Lookup::UsersByUsername("Ada".into())).await,
        vec!["adm-1"]
    );
    assert_eq!(
        find("district-a", Lookup::ClassesOfSchool("s1".into())).await,
        vec!["cl-0", "cl-1"]
    );
    let of_class = find("district-a", Lookup::EnrollmentsOfClass("cl-1".into())).await;
    assert_eq!(of_class.len(), 11, "{of_class:?}");
    assert!(of_class.contains(&"en-t1".to_string()));
    assert_eq!(
        find("district-a", Lookup::EnrollmentsOfUser("stu-0003".into())).await,
        vec!["en-stu-0003"]
    );
    assert!(find(
        "district-a",
        Lookup::UsersByEmail("nobody@d.example".into())
    )
    .await
    .is_empty());
    // The same email in another tenant is another tenant's record.
    assert_eq!(
        find("district-b", Lookup::UsersByEmail("tch1@d.example".into())).await,
        vec!["tch-1"]
    );
    assert!(
        find("district-c", Lookup::UsersByEmail("tch1@d.example".into()))
            .await
            .is_empty()
    );
}

async fn one_time_records_are_taken_once_and_expire<S: Store + PlatformEdits + 'static>(store: S) {
    let store = Arc::new(store);
    let now = Utc::now();
    let later = now + Days::seconds(60);
    store
        .put_one_time(
            OneTimeKind::LoginTicket,
            "hash-1",
            r#"{"tenant":"d1","user":"t1"}"#,
            later,
        )
        .await
        .unwrap();
    assert!(
        store
            .put_one_time(OneTimeKind::LoginTicket, "hash-1", "other", later)
            .await
            .is_err(),
        "a key is never reused"
    );
    // Many concurrent takers: exactly one gets the payload.
    let takers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .take_one_time(OneTimeKind::LoginTicket, "hash-1", Utc::now())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut got = Vec::new();
    for t in takers {
        got.extend(t.await.unwrap());
    }
    assert_eq!(got, vec![r#"{"tenant":"d1","user":"t1"}"#.to_string()]);
    // Kinds are separate key spaces; an expired record is gone.
    store
        .put_one_time(
            OneTimeKind::LoginTransaction,
            "hash-1",
            "tx",
            now + Days::seconds(1),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .take_one_time(
                OneTimeKind::LoginTransaction,
                "hash-1",
                now + Days::seconds(2)
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_one_time(OneTimeKind::LoginTransaction, "hash-1", now)
            .await
            .unwrap(),
        None,
        "taken even when expired"
    );
    assert_eq!(
        store
            .take_one_time(OneTimeKind::LoginTicket, "never", now)
            .await
            .unwrap(),
        None
    );
}

async fn sign_in_audits_are_kept_per_tenant_newest_first<S: Store + PlatformEdits>(store: S) {
    let now = Utc::now();
    let audit = |i: i64, tenant: Option<&str>, outcome: &str, keep: i64| SignInAudit {
        at: now + Days::seconds(i),
        request_id: format!("req-{i}"),
        tenant: tenant.map(String::from),
        classlink_tenant_id: Some("4242".into()),
        classlink_user_id: Some(format!("cl-{i}")),
        sourced_id: None,
        matched_by: None,
        outcome: outcome.into(),
        expires_at: now + Days::seconds(keep),
    };
    store
        .put_sign_in_audit(&audit(1, Some("d1"), "signed_in", 3600))
        .await
        .unwrap();
    store
        .put_sign_in_audit(&audit(2, Some("d1"), "not_in_roster", 3600))
        .await
        .unwrap();
    store
        .put_sign_in_audit(&audit(3, Some("d2"), "signed_in", 3600))
        .await
        .unwrap();
    store
        .put_sign_in_audit(&audit(4, None, "not_set_up", 3600))
        .await
        .unwrap();
    store
        .put_sign_in_audit(&audit(5, Some("d1"), "student", 10))
        .await
        .unwrap();
    let d1 = store
        .list_sign_in_audits(Some("d1"), 10, now)
        .await
        .unwrap();
    let ids: Vec<_> = d1.iter().map(|a| a.request_id.as_str()).collect();
    assert_eq!(
        ids,
        ["req-5", "req-2", "req-1"],
        "newest first, one tenant only"
    );
    assert_eq!(d1[1], audit(2, Some("d1"), "not_in_roster", 3600));
    let later = now + Days::seconds(60);
    let d1 = store
        .list_sign_in_audits(Some("d1"), 10, later)
        .await
        .unwrap();
    assert_eq!(d1.len(), 2, "expired records are left out");
    let unknown = store.list_sign_in_audits(None, 10, now).await.unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].outcome, "not_set_up");
    assert_eq!(
        store
            .list_sign_in_audits(Some("d1"), 1, now)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn claims_take_work_once_remember_it_done_and_free_it_when_released<
    S: Store + PlatformEdits + 'static,
>(
    store: S,
) {
    let store = Arc::new(store);
    let now = Utc::now();
    let lease = Duration::from_secs(600);
    // Many invocations of one event at once: exactly one claims it.
    let claimants: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim("s3://b/k#v1", &format!("owner-{i}"), now, lease)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for c in claimants {
        outcomes.push(c.await.unwrap());
    }
    let claimed = outcomes
        .iter()
        .filter(|o| **o == ClaimOutcome::Claimed)
        .count();
    assert_eq!(claimed, 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, ClaimOutcome::Claimed | ClaimOutcome::Busy { .. })));
    let owner = {
        let busy = store
            .claim("s3://b/k#v1", "late", now, lease)
            .await
            .unwrap();
        let ClaimOutcome::Busy { owner } = busy else {
            panic!("the claim is running: {busy:?}")
        };
        owner
    };
    // Only the holder finishes it; then duplicates find it done.
    assert!(store
        .finish_claim("s3://b/k#v1", "not-the-owner", "x", now, lease)
        .await
        .is_err());
    store
        .finish_claim("s3://b/k#v1", &owner, "run-1 applied", now, lease)
        .await
        .unwrap();
    assert_eq!(
        store.claim("s3://b/k#v1", "dup", now, lease).await.unwrap(),
        ClaimOutcome::Done {
            result: "run-1 applied".into()
        }
    );
    // A released claim is free again; an expired running claim is taken over.
    assert_eq!(
        store.claim("set-2", "a", now, lease).await.unwrap(),
        ClaimOutcome::Claimed
    );
    store.release_claim("set-2", "someone-else").await.unwrap();
    assert!(matches!(
        store.claim("set-2", "b", now, lease).await.unwrap(),
        ClaimOutcome::Busy { .. }
    ));
    store.release_claim("set-2", "a").await.unwrap();
    assert_eq!(
        store.claim("set-2", "b", now, lease).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(
        store
            .claim("set-2", "c", now + Days::seconds(601), lease)
            .await
            .unwrap(),
        ClaimOutcome::Claimed,
        "the crashed holder's lease expired"
    );
}

/// The content the sign-in gives a teacher the roster lacked.
fn provisional_teacher(id: &str, email: &str) -> SisContent {
    SisContent::from_value(serde_json::json!({
        "sourcedId": id,
        "role": "teacher",
        "givenName": "New",
        "familyName": "Teacher",
        "email": email,
        "enabledUser": true,
    }))
}

async fn a_provisional_teacher_is_adopted_by_a_sync_that_delivers_them_and_left_by_one_that_does_not<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let mut district = District::new(40, 4);
    sync(&store, &bench, &t, &district, None).await;
    let now = Utc::now();
    let content = provisional_teacher("tch-new", "new@d.example");
    assert!(store
        .provision_user("d1", "tch-new", &content, now, "sso:req-1")
        .await
        .unwrap());
    assert!(
        !store
            .provision_user("d1", "tch-new", &content, now, "sso:req-2")
            .await
            .unwrap(),
        "a second sign-in finds the record made by the first"
    );
    assert!(
        !store
            .provision_user("d1", "tch-0", &content, now, "sso:req-3")
            .await
            .unwrap(),
        "a roster user is never replaced by a provisional one"
    );
    let roster_teacher = entity(&store, "d1", EntityKind::Users, "tch-0").await;
    assert!(!roster_teacher.provisional);
    assert_eq!(roster_teacher.sis.str("givenName"), Some("Teacher0"));
    let user = entity(&store, "d1", EntityKind::Users, "tch-new").await;
    assert!(user.provisional && user.archive.is_none());
    assert_eq!(user.first_seen_run, "sso:req-1");
    assert_eq!(
        store
            .lookup("d1", &Lookup::UsersByEmail("NEW@d.example".into()))
            .await
            .unwrap(),
        vec!["tch-new".to_string()]
    );
    let listed: Vec<String> = store
        .provisional_users("d1")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.sourced_id)
        .collect();
    assert_eq!(listed, vec!["tch-new".to_string()]);
    assert!(store.provisional_users("d2").await.unwrap().is_empty());

    // A bulk sync that does not deliver them leaves them as they are.
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(run.items_written, 0, "{:?}", run.counts);
    assert_eq!(counts(&run, EntityKind::Users).archived, 0);
    let user = entity(&store, "d1", EntityKind::Users, "tch-new").await;
    assert!(user.provisional && user.archive.is_none());

    // The sync that delivers them makes them an ordinary roster user, as the SIS has them.
    district.extra_users =
        "tch-new,active,,true,s1,teacher,tnew,,Newton,Teacher,,,new@d.example,,,,,\n".into();
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(counts(&run, EntityKind::Users).inserted, 1);
    assert_eq!(run.items_written, 1);
    let user = entity(&store, "d1", EntityKind::Users, "tch-new").await;
    assert!(!user.provisional);
    assert_eq!(user.sis.str("givenName"), Some("Newton"));
    assert_eq!(user.first_seen_run, "sso:req-1", "first seen at sign-in");
    assert_eq!(user.updated_run, run.run_id);
    assert!(store.provisional_users("d1").await.unwrap().is_empty());

    // Now SIS data: a bulk sync without them archives them like anyone else.
    district.extra_users.clear();
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(counts(&run, EntityKind::Users).archived, 1);
}

async fn a_provisional_record_with_the_delivered_content_still_becomes_ordinary<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let mut district = District::new(10, 1);
    sync(&store, &bench, &t, &district, None).await;
    district.extra_users =
        "tch-new,active,,true,s1,teacher,tnew,,New,Teacher,,,new@d.example,,,,,\n".into();
    // Exactly the content the SIS will deliver: the digests agree.
    let content = provisional_teacher("tch-new", "new@d.example")
        .with_field("username", "tnew".into())
        .with_field("orgSourcedIds", serde_json::json!(["s1"]));
    store
        .provision_user("d1", "tch-new", &content, Utc::now(), "sso:req-1")
        .await
        .unwrap();
    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(run.items_written, 1, "{:?}", run.counts);
    let user = entity(&store, "d1", EntityKind::Users, "tch-new").await;
    assert_eq!(
        user.sis, content,
        "the SIS delivered what the sign-in had stored"
    );
    assert!(!user.provisional);
}

pub(crate) fn with_classlink(tenant: &str, classlink: Option<&str>) -> TenantConfig {
    let mut config = TenantConfig::new(tenant).unwrap();
    config.classlink_tenant_id = classlink.map(String::from);
    config
}

pub(crate) async fn owner_of<S: Store>(store: &S, classlink: &str) -> Option<String> {
    match tenant_for_classlink(store, classlink).await.unwrap() {
        ClassLinkOwner::Tenant(t) => Some(t.tenant),
        ClassLinkOwner::Unknown => None,
        other => panic!("{classlink}: {other:?}"),
    }
}

async fn a_classlink_tenant_id_belongs_to_one_tenant<S: Store + PlatformEdits + 'static>(store: S) {
    store
        .put_tenant(&with_classlink("a", Some("4242")))
        .await
        .unwrap();
    assert_eq!(
        store.classlink_mapping("4242").await.unwrap().as_deref(),
        Some("a")
    );
    assert_eq!(owner_of(&store, "4242").await.as_deref(), Some("a"));

    // Another tenant cannot take it, and is not saved.
    let refused = store
        .put_tenant(&with_classlink("b", Some("4242")))
        .await
        .unwrap_err();
    assert!(refused.is_conflict(), "{refused:?}");
    assert!(
        refused
            .to_string()
            .contains("already belongs to tenant `a`"),
        "{refused}"
    );
    assert!(store.get_tenant("b").await.unwrap().is_none());

    // Saving the owner again (another setting changed) keeps it.
    let mut a = with_classlink("a", Some("4242"));
    a.sso_enabled = true;
    store.put_tenant(&a).await.unwrap();
    assert!(store.get_tenant("a").await.unwrap().unwrap().sso_enabled);

    // The owner moves to another id: the old one is free.
    a.classlink_tenant_id = Some("5151".into());
    store.put_tenant(&a).await.unwrap();
    assert_eq!(store.classlink_mapping("4242").await.unwrap(), None);
    assert_eq!(owner_of(&store, "5151").await.as_deref(), Some("a"));
    store
        .put_tenant(&with_classlink("b", Some("4242")))
        .await
        .unwrap();
    assert_eq!(owner_of(&store, "4242").await.as_deref(), Some("b"));

    // Clearing the id removes the mapping.
    a.classlink_tenant_id = None;
    store.put_tenant(&a).await.unwrap();
    assert_eq!(store.classlink_mapping("5151").await.unwrap(), None);
    assert_eq!(owner_of(&store, "5151").await, None);

    // Six operators add six tenants with one id at once: exactly one wins.
    let store = Arc::new(store);
    let racers: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let config = with_classlink(&format!("race-{i}"), Some("7777"));
                store.put_tenant(&config).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, racer) in racers.into_iter().enumerate() {
        match racer.await.unwrap() {
            Ok(()) => winners.push(format!("race-{i}")),
            Err(e) => assert!(e.is_conflict(), "race-{i}: {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(owner_of(&*store, "7777").await, Some(winners[0].clone()));
    let saved: Vec<String> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.tenant.starts_with("race-"))
        .map(|t| t.tenant)
        .collect();
    assert_eq!(saved, winners, "the losers were not saved");
}

/// tch-0's classes and the kind of each one's verdict, sorted.
async fn verdicts<S: Store>(store: &S, today: chrono::NaiveDate) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> =
        roster::sign_in::classes_at_sign_in(store, "d1", "tch-0", today)
            .await
            .unwrap()
            .into_iter()
            .map(|c| {
                let kind = format!("{:?}", c.verdict);
                (c.class, kind.split([' ', '{']).next().unwrap().to_string())
            })
            .collect();
    seen.sort();
    seen
}

/// Which classes sign-in lists for a teacher, and why not the others, as
/// `rosterctl explain` and the SSO function both read them.
async fn sign_in_lists_current_classes_taught_and_says_why_not_the_others<
    S: Store + PlatformEdits,
>(
    store: S,
) {
    use roster::sign_in::{classes_at_sign_in, listed_classes, ClassVerdict};
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let mut district = District::new(6, 3);
    district.extra_enrollments =
        "en-x,active,,cl-1,s1,tch-0,teacher,false,,\nen-y,active,,cl-2,s1,tch-0,student,false,,\n"
            .into();
    sync(&store, &bench, &t, &district, None).await;
    let today = Utc::now().date_naive();
    let named = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(c, v)| (c.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        verdicts(&store, today).await,
        named(&[
            ("cl-0", "Listed"),
            ("cl-1", "Listed"),
            ("cl-2", "NotTeacher")
        ])
    );
    assert_eq!(
        listed_classes(&store, "d1", "tch-0", today).await.unwrap(),
        vec!["cl-0", "cl-1"]
    );

    // The school year ended: no class is current.
    store
        .edit_sis_field(
            "d1",
            EntityKind::AcademicSessions,
            "y1",
            "endDate",
            "2020-06-30",
        )
        .await
        .unwrap();
    assert_eq!(
        verdicts(&store, today).await,
        named(&[
            ("cl-0", "NotCurrent"),
            ("cl-1", "NotCurrent"),
            ("cl-2", "NotTeacher")
        ])
    );
    // An archived class, an archived enrollment: said before the dates.
    store
        .archive_by_hand("d1", EntityKind::Classes, "cl-1", Utc::now())
        .await
        .unwrap();
    store
        .archive_by_hand("d1", EntityKind::Enrollments, "en-t0", Utc::now())
        .await
        .unwrap();
    assert_eq!(
        verdicts(&store, today).await,
        named(&[
            ("cl-0", "EnrollmentArchived"),
            ("cl-1", "ClassArchived"),
            ("cl-2", "NotTeacher")
        ])
    );
    assert!(listed_classes(&store, "d1", "tch-0", today)
        .await
        .unwrap()
        .is_empty());
    let archived = classes_at_sign_in(&store, "d1", "tch-0", today)
        .await
        .unwrap();
    assert!(archived.iter().any(|c| matches!(&c.verdict, ClassVerdict::ClassArchived { archive } if archive.by == ArchivedBy::Manual)));

    // The whole explanation: a teacher the tenant admits; an id never delivered.
    let explained = roster::explain::explain_user(&store, &t, "tch-0", Utc::now())
        .await
        .unwrap();
    let user = explained.user.expect("tch-0 is stored");
    assert_eq!(
        (user.role.as_str(), user.role_admitted, user.archive),
        ("teacher", true, None)
    );
    assert_eq!(explained.classes.len(), 3);
    let ghost = roster::explain::explain_user(&store, &t, "ghost", Utc::now())
        .await
        .unwrap();
    assert!(ghost.user.is_none() && ghost.classes.is_empty());
    assert_eq!(
        ghost.recent_runs.len(),
        1,
        "the one sync, which did not bring it"
    );
}

conformance!(
    sign_in_lists_current_classes_taught_and_says_why_not_the_others,
    lookups_find_records_within_one_tenant,
    one_time_records_are_taken_once_and_expire,
    sign_in_audits_are_kept_per_tenant_newest_first,
    claims_take_work_once_remember_it_done_and_free_it_when_released,
    a_provisional_teacher_is_adopted_by_a_sync_that_delivers_them_and_left_by_one_that_does_not,
    a_provisional_record_with_the_delivered_content_still_becomes_ordinary,
    a_classlink_tenant_id_belongs_to_one_tenant,
);
