//! The sign-in decision against a real roster (the SQLite store, synced by the engine).

use roster::roles::*;
use roster::{Engine, LocalArtifacts, PlatformEdits, RunSource, TenantConfig};
use roster_sqlite::SqliteStore;
use sso_callback::decide::{decide, ClassLinkRole, Decision, MatchKey, UserInfo};

async fn roster() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let files = [
        ("manifest.csv", "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\n"),
        ("orgs.csv", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\ns1,active,,School,school,,\n"),
        ("users.csv", "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n\
t1,active,,true,s1,teacher,tina,,Tina,T,,,tina@d.example,,,,,\n\
t2,active,,true,s1,teacher,tom,,Tom,T,,,tom@d.example,,,,,\n\
a1,active,,true,s1,aide,amy,,Amy,A,,,amy@d.example,,,,,\n\
ad1,active,,true,s1,administrator,ada,,Ada,A,,,ada@d.example,,,,,\n\
s1u,active,,true,s1,student,sam,,Sam,S,,,sam@d.example,,,,,\n"),
    ];
    for (name, text) in files {
        std::fs::write(pkg.join(name), text).unwrap();
    }
    let store = SqliteStore::in_memory().unwrap();
    let mut tenant = TenantConfig::new("d1").unwrap();
    tenant.classlink_tenant_id = Some("4242".into());
    tenant.sso_enabled = true;
    store.put_tenant(&tenant).await.unwrap();
    let artifacts = LocalArtifacts::new(dir.path().join("runs"));
    let run = Engine::new(&store, &artifacts)
        .sync_package(
            &tenant,
            &pkg,
            RunSource {
                kind: "csv".into(),
                reference: "t".into(),
            },
            roster::Delivered::now(None),
        )
        .await
        .unwrap();
    assert_eq!(run.status, roster::RunStatus::Applied);
    let mut other = TenantConfig::new("d2").unwrap();
    other.classlink_tenant_id = Some("777".into());
    other.sso_enabled = true;
    other.sso_match_by_email = true;
    store.put_tenant(&other).await.unwrap();
    (store, dir)
}

/// Details as ClassLink's claims in the ID token give them: no LoginId.
fn info(tenant: &str, role: &str, sourced_id: Option<&str>, email: Option<&str>) -> UserInfo {
    UserInfo {
        user_id: Some(serde_json::json!(123)),
        tenant_id: Some(serde_json::json!(tenant.parse::<u64>().unwrap())),
        sourced_id: sourced_id.map(String::from),
        role: Some(role.into()),
        email: email.map(String::from),
        login_id: None,
        first_name: None,
        last_name: None,
        login_id_unknown: true,
    }
}

/// The same details as ClassLink's user info gives them, with its LoginId (or none).
fn read_from_user_info(details: UserInfo, login_id: Option<&str>) -> UserInfo {
    UserInfo {
        login_id: login_id.map(String::from),
        login_id_unknown: false,
        ..details
    }
}

#[tokio::test]
async fn active_teachers_sign_in_and_everyone_else_is_told_why() {
    let (store, _dir) = roster().await;
    let signed_in = decide(&store, &info("4242", "Teacher", Some("t1"), None))
        .await
        .unwrap();
    assert_eq!(
        signed_in,
        Decision::SignIn {
            tenant: "d1".into(),
            sourced_id: "t1".into(),
            role: "teacher".into(),
            matched_by: MatchKey::SourcedId,
            provisional: false,
        }
    );
    assert_eq!(
        decide(&store, &info("4242", "Student", Some("s1u"), None))
            .await
            .unwrap(),
        Decision::Student {
            tenant: "d1".into()
        }
    );
    assert_eq!(
        decide(
            &store,
            &info("4242", "Tenant Administrator", Some("ad1"), None)
        )
        .await
        .unwrap(),
        Decision::AdminPortal {
            tenant: "d1".into()
        }
    );
    assert_eq!(
        decide(&store, &info("9999", "Teacher", Some("t1"), None))
            .await
            .unwrap(),
        Decision::NotSetUp,
        "unknown district"
    );
    assert_eq!(
        decide(&store, &info("4242", "Teacher", Some("nobody"), None))
            .await
            .unwrap(),
        Decision::NotInRoster {
            tenant: "d1".into(),
            needs_login_id: false
        }
    );
    assert_eq!(
        decide(&store, &info("4242", "Teacher", Some("a1"), None))
            .await
            .unwrap(),
        Decision::NotInRoster {
            tenant: "d1".into(),
            needs_login_id: false
        },
        "aides only where allowed"
    );
    assert_eq!(
        decide(&store, &info("4242", "Teacher", Some("s1u"), None))
            .await
            .unwrap(),
        Decision::NotInRoster {
            tenant: "d1".into(),
            needs_login_id: false
        },
        "a roster student is no teacher"
    );
    store
        .archive_by_hand("d1", oneroster::EntityKind::Users, "t2", chrono_now())
        .await
        .unwrap();
    assert_eq!(
        decide(&store, &info("4242", "Teacher", Some("t2"), None))
            .await
            .unwrap(),
        Decision::NotInRoster {
            tenant: "d1".into(),
            needs_login_id: false
        },
        "archived"
    );
}

#[tokio::test]
async fn switches_and_fallbacks_are_per_tenant() {
    let (store, _dir) = roster().await;
    let mut t = store.get_tenant("d1").await.unwrap().unwrap();
    // Without a SourcedId, no fallback unless the tenant allows it.
    assert_eq!(
        decide(
            &store,
            &info("4242", "Teacher", None, Some("TINA@d.example"))
        )
        .await
        .unwrap(),
        Decision::NotInRoster {
            tenant: "d1".into(),
            needs_login_id: false
        }
    );
    t.sso_match_by_email = true;
    t.sso_allow_aides = true;
    t.admin_sso_enabled = true;
    store.put_tenant(&t).await.unwrap();
    assert_eq!(
        decide(
            &store,
            &info("4242", "Teacher", None, Some("TINA@d.example"))
        )
        .await
        .unwrap(),
        Decision::SignIn {
            tenant: "d1".into(),
            sourced_id: "t1".into(),
            role: "teacher".into(),
            matched_by: MatchKey::Email,
            provisional: false,
        }
    );
    assert_eq!(
        decide(&store, &info("4242", "Teacher", Some("a1"), None))
            .await
            .unwrap(),
        Decision::SignIn {
            tenant: "d1".into(),
            sourced_id: "a1".into(),
            role: "aide".into(),
            matched_by: MatchKey::SourcedId,
            provisional: false,
        }
    );
    assert_eq!(
        decide(
            &store,
            &info("4242", "Tenant Administrator", Some("ad1"), None)
        )
        .await
        .unwrap(),
        Decision::SignIn {
            tenant: "d1".into(),
            sourced_id: "ad1".into(),
            role: "administrator".into(),
            matched_by: MatchKey::SourcedId,
            provisional: false,
        }
    );
    // Never by email across tenants: district 777 has no such teacher.
    assert_eq!(
        decide(
            &store,
            &info("777", "Teacher", None, Some("tina@d.example"))
        )
        .await
        .unwrap(),
        Decision::NotInRoster {
            tenant: "d2".into(),
            needs_login_id: true
        }
    );
    t.sso_enabled = false;
    store.put_tenant(&t).await.unwrap();
    assert_eq!(
        decide(&store, &info("4242", "Teacher", Some("t1"), None))
            .await
            .unwrap(),
        Decision::NotSetUp
    );
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Syncs a users delta (a header and rows) into tenant `d1`.
async fn users_delta(store: &SqliteStore, dir: &std::path::Path, name: &str, rows: &str) {
    let pkg = dir.join(name);
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("manifest.csv"),
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.users,delta\n",
    )
    .unwrap();
    std::fs::write(pkg.join("users.csv"), format!("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n{rows}")).unwrap();
    let tenant = store.get_tenant("d1").await.unwrap().unwrap();
    let artifacts = LocalArtifacts::new(dir.join(format!("runs-{name}")));
    let run = Engine::new(store, &artifacts)
        .sync_package(
            &tenant,
            &pkg,
            RunSource {
                kind: "csv".into(),
                reference: name.into(),
            },
            roster::Delivered::now(None),
        )
        .await
        .unwrap();
    assert_eq!(run.status, roster::RunStatus::Applied, "{}", run.message);
}

#[tokio::test]
async fn a_teacher_re_keyed_by_the_district_signs_in_by_the_old_sourced_id() {
    let (store, dir) = roster().await;
    users_delta(
        &store,
        dir.path(),
        "id",
        "t1,active,,true,s1,teacher,tina,,Tina,T,,T-1,tina@d.example,,,,,\n",
    )
    .await;
    // The district's new SIS: Tina is `t1-new`, with the same identifier.
    users_delta(
        &store,
        dir.path(),
        "rekey",
        "t1,tobedeleted,,true,s1,teacher,tina,,Tina,T,,T-1,tina@d.example,,,,,\nt1-new,active,,true,s1,teacher,tina,,Tina,T,,T-1,tina@d.example,,,,,\n",
    )
    .await;
    let decision = decide(&store, &info("4242", "Teacher", Some("t1"), None))
        .await
        .unwrap();
    assert_eq!(
        decision,
        Decision::SignIn {
            tenant: "d1".into(),
            sourced_id: "t1-new".into(),
            role: "teacher".into(),
            matched_by: MatchKey::PreviousSourcedId,
            provisional: false,
        }
    );
    let now = chrono::Utc::now();
    let ticket = sso_callback::tickets::issue(&store, "d1", "t1-new", None, now)
        .await
        .unwrap();
    let identity = sso_callback::tickets::redeem(&store, &ticket, now)
        .await
        .unwrap()
        .expect("redeemed");
    assert_eq!(identity.previous_sourced_ids, ["t1"]);
}

#[tokio::test]
async fn a_ticket_is_redeemed_once_for_the_teachers_identity_and_classes() {
    let (store, dir) = roster().await;
    // Give t1 a class: sync classes and an enrollment as a delta.
    let pkg = dir.path().join("delta");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("manifest.csv"), "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.academicSessions,delta\nfile.courses,delta\nfile.classes,delta\nfile.enrollments,delta\n").unwrap();
    // This school year, whatever today is (redemption lists current classes only).
    let today = chrono::Utc::now().date_naive();
    let (start, end) = (
        today - chrono::Duration::days(120),
        today + chrono::Duration::days(240),
    );
    std::fs::write(pkg.join("academicSessions.csv"), format!("sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\ny1,active,,Year,schoolYear,{start},{end},,{}\n", chrono::Datelike::year(&end))).unwrap();
    std::fs::write(pkg.join("courses.csv"), "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\nc1,active,,y1,Reading,R,01,s1,,\n").unwrap();
    std::fs::write(pkg.join("classes.csv"), "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\ncl1,active,,Reading,01,c1,R1,scheduled,,s1,y1,,,\ncl2,active,,Art,01,c1,A1,scheduled,,s1,y1,,,\n").unwrap();
    std::fs::write(pkg.join("enrollments.csv"), "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\ne1,active,,cl1,s1,t1,teacher,true,,\ne2,active,,cl2,s1,s1u,student,false,,\n").unwrap();
    let tenant = store.get_tenant("d1").await.unwrap().unwrap();
    let artifacts = LocalArtifacts::new(dir.path().join("runs2"));
    let run = Engine::new(&store, &artifacts)
        .sync_package(
            &tenant,
            &pkg,
            RunSource {
                kind: "csv".into(),
                reference: "delta".into(),
            },
            roster::Delivered::now(None),
        )
        .await
        .unwrap();
    assert_eq!(run.status, roster::RunStatus::Applied, "{}", run.message);

    let now = chrono::Utc::now();
    let ticket = sso_callback::tickets::issue(&store, "d1", "t1", None, now)
        .await
        .unwrap();
    assert!(ticket.len() >= 43, "256 bits");
    let identity = sso_callback::tickets::redeem(&store, &ticket, now)
        .await
        .unwrap()
        .expect("redeemed");
    assert_eq!(identity.sourced_id, "t1");
    assert_eq!(identity.email.as_deref(), Some("tina@d.example"));
    assert_eq!(identity.orgs, vec!["s1".to_string()]);
    assert_eq!(
        identity.classes,
        vec!["cl1".to_string()],
        "only the classes they teach"
    );
    assert!(
        sso_callback::tickets::redeem(&store, &ticket, now)
            .await
            .unwrap()
            .is_none(),
        "single use"
    );

    let late = sso_callback::tickets::issue(&store, "d1", "t1", None, now)
        .await
        .unwrap();
    let after = now + chrono::Duration::seconds(61);
    assert!(
        sso_callback::tickets::redeem(&store, &late, after)
            .await
            .unwrap()
            .is_none(),
        "expired after 60 s"
    );
    assert!(sso_callback::tickets::redeem(&store, "forged", now)
        .await
        .unwrap()
        .is_none());
}

/// The decision for a user of district 4242 with ClassLink role `role` whose
/// SourcedId is a teacher's (`t1`): only the role decides who reaches the roster.
async fn outcome_for_role(role: &str) -> &'static str {
    let (store, _dir) = roster().await;
    decide(
        &store,
        &info("4242", role, Some("t1"), Some("tina@d.example")),
    )
    .await
    .unwrap()
    .outcome()
}

#[tokio::test]
async fn classlink_role_teacher_is_looked_up_in_the_roster() {
    assert_eq!(ClassLinkRole::parse("Teacher"), ClassLinkRole::Teacher);
    assert_eq!(outcome_for_role("Teacher").await, "signed_in");
}

#[tokio::test]
async fn classlink_role_student_never_signs_in() {
    assert_eq!(ClassLinkRole::parse("Student"), ClassLinkRole::Student);
    assert_eq!(outcome_for_role("Student").await, "student");
}

#[tokio::test]
async fn classlink_role_tenant_administrator_goes_to_the_admin_portal() {
    assert_eq!(
        ClassLinkRole::parse("Tenant Administrator"),
        ClassLinkRole::Administrator
    );
    assert_eq!(
        outcome_for_role("Tenant Administrator").await,
        "admin_portal"
    );
}

#[tokio::test]
async fn classlink_role_district_administrator_goes_to_the_admin_portal() {
    assert_eq!(
        ClassLinkRole::parse("District Administrator"),
        ClassLinkRole::Administrator
    );
    assert_eq!(
        outcome_for_role("District Administrator").await,
        "admin_portal"
    );
}

#[tokio::test]
async fn classlink_role_school_administrator_goes_to_the_admin_portal() {
    assert_eq!(
        ClassLinkRole::parse("School Administrator"),
        ClassLinkRole::Administrator
    );
    assert_eq!(
        outcome_for_role("School Administrator").await,
        "admin_portal"
    );
}

#[tokio::test]
async fn classlink_role_parent_never_reaches_the_roster() {
    assert_eq!(ClassLinkRole::parse("Parent"), ClassLinkRole::Parent);
    assert_eq!(ClassLinkRole::parse(" parent "), ClassLinkRole::Parent);
    assert_eq!(outcome_for_role("Parent").await, "parent");
}

#[tokio::test]
async fn an_unknown_classlink_role_is_judged_by_the_roster_role() {
    assert_eq!(ClassLinkRole::parse("Staff"), ClassLinkRole::Other);
    assert_eq!(
        outcome_for_role("Staff").await,
        "signed_in",
        "t1 is a roster teacher"
    );
    let (store, _dir) = roster().await;
    let student = decide(&store, &info("4242", "Staff", Some("s1u"), None))
        .await
        .unwrap();
    assert_eq!(
        student.outcome(),
        "not_in_roster",
        "a roster student is not let in"
    );
}

#[tokio::test]
async fn no_teacher_is_provisioned_before_user_info_gives_their_login_id() {
    let (store, _dir) = roster().await;
    let mut t = store.get_tenant("d1").await.unwrap().unwrap();
    t.sso_provision_teachers = true;
    t.sso_match_by_email = true;
    store.put_tenant(&t).await.unwrap();
    // Tina (t1, username `tina`) under a new SourcedId and an unknown email.
    let tina = info(
        "4242",
        "Teacher",
        Some("t1-new"),
        Some("tina.new@elsewhere.example"),
    );
    let needs_login_id = Decision::NotInRoster {
        tenant: "d1".into(),
        needs_login_id: true,
    };
    assert_eq!(
        decide(&store, &tina).await.unwrap(),
        needs_login_id,
        "no LoginId from the ID token: not decided, not provisioned"
    );
    assert_eq!(
        decide(&store, &read_from_user_info(tina.clone(), Some("tina")))
            .await
            .unwrap(),
        Decision::SignIn {
            tenant: "d1".into(),
            sourced_id: "t1".into(),
            role: "teacher".into(),
            matched_by: MatchKey::Username,
            provisional: false,
        }
    );
    // User info without a LoginId: nobody to find by username, so provisioned.
    assert_eq!(
        decide(&store, &read_from_user_info(tina.clone(), None))
            .await
            .unwrap(),
        Decision::Provision {
            tenant: "d1".into(),
            sourced_id: "t1-new".into(),
        }
    );
    // A LoginId the roster lacks: provisioned.
    let nina = info("4242", "Teacher", Some("t9"), Some("nina@d.example"));
    assert_eq!(decide(&store, &nina).await.unwrap(), needs_login_id);
    assert_eq!(
        decide(&store, &read_from_user_info(nina, Some("nina")))
            .await
            .unwrap(),
        Decision::Provision {
            tenant: "d1".into(),
            sourced_id: "t9".into(),
        }
    );
    // A role that is not staff is never matched by username: nothing to read.
    assert_eq!(
        decide(&store, &info("4242", "Volunteer", Some("v1"), None))
            .await
            .unwrap(),
        Decision::NotInRoster {
            tenant: "d1".into(),
            needs_login_id: false,
        }
    );
    // Without username matching, the ID token's details decide at once.
    t.sso_match_by_email = false;
    store.put_tenant(&t).await.unwrap();
    assert_eq!(
        decide(&store, &tina).await.unwrap(),
        Decision::Provision {
            tenant: "d1".into(),
            sourced_id: "t1-new".into(),
        }
    );
}
