//! OneRoster 1.2 deliveries on both stores: a 1.2 package (folder or zip,
//! bulk or delta) lands as the same records as the district in 1.1; a
//! tenant moving from 1.1 to 1.2 writes only what 1.2 adds, and a move that
//! re-keys the ids is held with a re-key proposal; a delta `roles.csv`
//! changes the stored users' roles.

use crate::common::*;
use oneroster::EntityKind;
use roster::*;
use std::sync::Arc;

fn in_1p2(district: &District) -> District {
    District {
        oneroster_1p2: true,
        ..district.clone()
    }
}

/// Records written by a run, over every type.
fn writes(run: &RunRecord) -> u64 {
    EntityKind::ALL
        .iter()
        .map(|k| counts(run, *k).writes())
        .sum()
}

async fn a_1p2_district_is_stored_as_in_1p1<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let district = District::new(30, 3);
    let (old, new) = (tenant(&store, "v11").await, tenant(&store, "v12").await);
    let run = sync(&store, &bench, &old, &district, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let run = sync(&store, &bench, &new, &in_1p2(&district), None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(writes(&run) as usize, district.record_count());

    let (before, after) = (state_of(&store, "v11").await, state_of(&store, "v12").await);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        if b.1 == "adm-1" {
            // A siteAdministrator keeps its role row: 1.1 cannot say it.
            assert_ne!(b.2, a.2, "adm-1 carries its 1.2 role");
        } else {
            assert_eq!(b, a, "{} {} stored alike", b.0, b.1);
        }
    }
    let admin = entity(&store, "v12", EntityKind::Users, "adm-1").await;
    assert_eq!(admin.sis.str("role"), Some("administrator"));
    store.set_primary_admin("v12", "adm-1", true).await.unwrap();

    let again = sync(&store, &bench, &new, &in_1p2(&district), None).await;
    assert_eq!(writes(&again), 0, "a re-sync of 1.2 writes nothing");
    assert_eq!(store.primary_admins("v12").await.unwrap(), ["adm-1"]);
}

async fn moving_from_1p1_to_1p2_writes_only_what_1p2_adds<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let district = District::new(30, 3);
    let t = tenant(&store, "d1").await;
    sync(&store, &bench, &t, &district, None).await;
    let moved = sync(&store, &bench, &t, &in_1p2(&district), None).await;
    assert_eq!(moved.status, RunStatus::Applied, "{}", moved.message);
    let users = counts(&moved, EntityKind::Users);
    assert_eq!(
        (users.updated, users.unchanged),
        (1, 33),
        "only adm-1's role"
    );
    assert_eq!(writes(&moved), 1);
}

async fn a_1p2_zip_and_a_1p2_delta_apply<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let district = in_1p2(&District::new(30, 3));
    let t = tenant(&store, "d1").await;
    let folder = bench.package(&district);
    let zip = bench.dir.path().join("district-1p2.zip");
    testkit::zip::zip_folder(&folder, &zip);
    let run = Engine::new(&store, &bench.artifacts)
        .sync_package(&t, &zip, source(&zip), Delivered::now(None))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(writes(&run) as usize, district.record_count());

    // A delta of users (roles.csv stays complete): one renamed, one leaving.
    let mut delta = district.clone().mode("users", "delta");
    delta.students.truncate(2);
    delta.students[0].given = "Renamed".into();
    let users = delta
        .users_csv()
        .replace("stu-0001,active,", "stu-0001,tobedeleted,");
    let delta = delta
        .with_file("users.csv", users)
        .mode("orgs", "absent")
        .mode("academicSessions", "absent")
        .mode("courses", "absent")
        .mode("classes", "absent")
        .mode("enrollments", "absent");
    let run = sync(&store, &bench, &t, &delta, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let users = counts(&run, EntityKind::Users);
    assert_eq!((users.updated, users.archived), (1, 1), "{}", run.message);
    let renamed = entity(&store, "d1", EntityKind::Users, "stu-0000").await;
    assert_eq!(renamed.sis.str("givenName"), Some("Renamed"));
    assert!(entity(&store, "d1", EntityKind::Users, "stu-0001")
        .await
        .archive
        .is_some());
    let again = sync(&store, &bench, &t, &delta, None).await;
    assert_eq!(writes(&again), 0, "the same delta again writes nothing");
}

const ROLES_HEADER: &str = "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\n";

/// `district` delivering `roles` as a delta roles.csv, and users in `users`
/// mode; nothing else.
fn roles_delta(district: &District, users: &'static str, roles: &str) -> District {
    let mut delta = district
        .clone()
        .with_file("roles.csv", format!("{ROLES_HEADER}{roles}"))
        .mode("roles", "delta")
        .mode("users", users);
    for file in [
        "orgs",
        "academicSessions",
        "courses",
        "classes",
        "enrollments",
    ] {
        delta = delta.mode(file, "absent");
    }
    delta.omit = vec![
        "orgs.csv",
        "academicSessions.csv",
        "courses.csv",
        "classes.csv",
        "enrollments.csv",
    ];
    if users == "absent" {
        delta.omit.push("users.csv");
    }
    delta
}

/// The role rows of a stored user, as (sourcedId, role); "" for a role whose
/// sourcedId the store never had.
async fn stored_roles<S: Store>(store: &S, user: &str) -> Vec<(String, String)> {
    let user = entity(store, "d1", EntityKind::Users, user).await;
    let Some(roles) = user.sis.fields().get("roles") else {
        return Vec::new();
    };
    let text = |r: &serde_json::Value, key: &str| r[key].as_str().unwrap_or("").to_string();
    roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (text(r, "sourcedId"), text(r, "role")))
        .collect()
}

/// A delta of roles alone changes the stored users it names, refuses what
/// it cannot apply, and writes nothing when delivered again; a complete
/// delivery of the same roles afterwards writes only the role id the store
/// never had.
async fn a_1p2_delta_of_roles_changes_stored_users<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let district = in_1p2(&District::new(30, 3));
    let t = tenant(&store, "d1").await;
    sync(&store, &bench, &t, &district, None).await;
    store.set_primary_admin("d1", "adm-1", true).await.unwrap();

    let roles = "r-stu-0000,active,,stu-0000,primary,teacher,,,s1,\nr-tch-0-b,active,,tch-0,secondary,aide,,,s1,\nr-adm-1,active,,adm-1,primary,principal,,,s1,\nr-stu-0001,tobedeleted,,stu-0001,,,,,s1,\nr-gone,tobedeleted,,stu-0002,,,,,s9,\n";
    let delta = roles_delta(&district, "absent", roles);
    let run = sync(&store, &bench, &t, &delta, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let users = counts(&run, EntityKind::Users);
    assert_eq!((users.updated, users.archived), (3, 0), "{}", run.message);
    assert_eq!(writes(&run), 3);
    let codes: Vec<&str> = run.errors.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["user_without_role"], "stu-0001 keeps its last role");

    let student = entity(&store, "d1", EntityKind::Users, "stu-0000").await;
    assert_eq!(student.sis.str("role"), Some("teacher"));
    assert!(stored_roles(&store, "stu-0000").await.is_empty(), "plain");
    let teacher = entity(&store, "d1", EntityKind::Users, "tch-0").await;
    assert_eq!(teacher.sis.str("role"), Some("teacher"));
    assert_eq!(teacher.sis.str("givenName"), Some("Teacher0"), "as stored");
    assert_eq!(
        stored_roles(&store, "tch-0").await,
        [
            (String::new(), "teacher".to_string()),
            ("r-tch-0-b".to_string(), "aide".to_string())
        ]
    );
    let admin = entity(&store, "d1", EntityKind::Users, "adm-1").await;
    assert_eq!(admin.sis.str("role"), Some("administrator"));
    assert!(
        admin.primary_admin,
        "no sync changes the Primary Administrator"
    );
    assert_eq!(
        stored_roles(&store, "adm-1").await,
        [("r-adm-1".to_string(), "principal".to_string())]
    );
    let again = sync(&store, &bench, &t, &delta, None).await;
    assert_eq!(writes(&again), 0, "the same delta again writes nothing");

    let full = district
        .roles_csv()
        .replace("stu-0000,primary,student", "stu-0000,primary,teacher")
        .replace("adm-1,primary,siteAdministrator", "adm-1,primary,principal")
        + "r-tch-0-b,active,,tch-0,secondary,aide,,,s1,\n";
    let bulk = district.clone().with_file("roles.csv", full);
    let run = sync(&store, &bench, &t, &bulk, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    assert_eq!(writes(&run), 1, "tch-0's teaching role gets its id");
    assert_eq!(stored_roles(&store, "tch-0").await[0].0, "r-tch-0");
}

/// A delta of users beside a delta of roles: a user without role rows keeps
/// its stored roles, a new user takes the delta's.
async fn a_1p2_delta_of_users_and_roles_keeps_stored_roles<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let district = in_1p2(&District::new(30, 3));
    let t = tenant(&store, "d1").await;
    sync(&store, &bench, &t, &district, None).await;

    let mut next = district.clone();
    let mut newcomer = next.students[0].clone();
    newcomer.id = "stu-0030".into();
    newcomer.username = "stu-0030".into();
    next.students.push(newcomer);
    next.students[3].given = "Renamed".into();
    let roles = "r-stu-0030,active,,stu-0030,primary,student,,,s1,\n";
    let delta = roles_delta(&next, "delta", roles);
    let run = sync(&store, &bench, &t, &delta, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let users = counts(&run, EntityKind::Users);
    assert_eq!(
        (users.inserted, users.updated, users.unchanged),
        (1, 1, 33),
        "{}",
        run.message
    );
    let newcomer = entity(&store, "d1", EntityKind::Users, "stu-0030").await;
    assert_eq!(newcomer.sis.str("role"), Some("student"));
    assert_eq!(newcomer.sis.list("orgSourcedIds"), ["s1"]);
    let again = sync(&store, &bench, &t, &delta, None).await;
    assert_eq!(writes(&again), 0, "the same delta again writes nothing");
}

/// A delta of roles read from the store, then another run applied before
/// it plans (as after `--wait` for the lease): the user it read is left out
/// with `stored_record_changed`, not reverted to what was read.
async fn a_delta_of_roles_does_not_undo_a_run_applied_after_its_read<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let district = in_1p2(&District::new(30, 3));
    let t = tenant(&store, "d1").await;
    sync(&store, &bench, &t, &district, None).await;
    // stu-0003 is read too, for a deletion that finds nothing: no write.
    let roles = "r-stu-0000,active,,stu-0000,primary,teacher,,,s1,\nr-tch-0-b,active,,tch-0,secondary,aide,,,s1,\nr-x,tobedeleted,,stu-0003,,,,,s9,\n";
    let path = bench.package(&roles_delta(&district, "absent", roles));

    // Read and validated as `sync_package` does.
    let mut options = oneroster::ValidationOptions::default();
    let wanted = oneroster::stored_roles_wanted(&path, &options).expect("a delta of roles");
    let ids: Vec<String> = wanted.iter().map(|w| w.sourced_id.clone()).collect();
    let states = store
        .record_states("d1", EntityKind::Users, &ids)
        .await
        .unwrap();
    let mut stored = oneroster::v1p2::StoredRoles::default();
    let mut reads = StoredReads::new();
    for want in &wanted {
        let state = &states[&want.sourced_id];
        stored.insert(&want.sourced_id, state.sis.text(), false, want.content);
        reads.insert(want.sourced_id.clone(), Some(ReadState::of(state)));
    }
    options.stored_roles = Some(std::sync::Arc::new(stored));
    let validation = oneroster::validate_package(&path, &options);
    let snapshot = CsvSnapshot {
        package: validation.package.expect("valid"),
        report: validation.report,
        stored_users: reads,
    };

    // Another delivery renames stu-0000 and stu-0003 meanwhile.
    let mut renamed = district.clone().mode("users", "delta");
    renamed.students[0].given = "Renamed".into();
    renamed.students[3].given = "Renamed".into();
    let run = sync(&store, &bench, &t, &renamed, None).await;
    let updated = counts(&run, EntityKind::Users).updated;
    assert_eq!(updated, 2, "{}", run.message);

    let engine = Engine::new(&store, &bench.artifacts);
    let start = RunRecord::start("d1", source(&path), chrono::Utc::now());
    let run = engine
        .sync_snapshot(&t, Arc::new(snapshot), start)
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let codes: Vec<&str> = run.errors.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(
        codes,
        ["stored_record_changed"],
        "stu-0000's, not stu-0003's"
    );
    assert!(
        run.errors[0].message.contains("`stu-0000`"),
        "{:?}",
        run.errors
    );
    let users = counts(&run, EntityKind::Users);
    assert_eq!((users.updated, users.rejected), (1, 1), "tch-0 only");
    let student = entity(&store, "d1", EntityKind::Users, "stu-0000").await;
    assert_eq!(student.sis.str("givenName"), Some("Renamed"), "not undone");
    assert_eq!(student.sis.str("role"), Some("student"));
}

async fn a_1p2_redelivery_with_its_roles_reordered_writes_nothing<S: Store + PlatformEdits>(
    store: S,
) {
    let bench = Bench::new();
    let district = in_1p2(&District::new(30, 3));
    // tch-0 teaches at s1 (its first row), and is an aide there and at the district.
    let mut roles = district.roles_csv();
    roles.push_str("r-tch-0-b,active,,tch-0,primary,aide,,,d1,\n");
    roles.push_str("r-tch-0-a,active,,tch-0,secondary,aide,,,s1,\n");
    let t = tenant(&store, "d1").await;
    let first = district.clone().with_file("roles.csv", roles.clone());
    let run = sync(&store, &bench, &t, &first, None).await;
    assert_eq!(run.status, RunStatus::Applied, "{}", run.message);
    let teacher = entity(&store, "d1", EntityKind::Users, "tch-0").await;
    assert_eq!(teacher.sis.list("orgSourcedIds"), ["d1", "s1"], "by id");
    let ids: Vec<&str> = teacher.sis.fields()["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sourcedId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["r-tch-0", "r-tch-0-a", "r-tch-0-b"], "by sourcedId");

    let mut lines: Vec<&str> = roles.lines().collect();
    lines[1..].reverse();
    let reordered = district.with_file("roles.csv", lines.join("\n") + "\n");
    let again = sync(&store, &bench, &t, &reordered, None).await;
    assert_eq!(again.status, RunStatus::Applied, "{}", again.message);
    assert_eq!(writes(&again), 0, "the same roles in another order");
}

async fn a_move_to_1p2_that_rekeys_is_held_with_a_proposal<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let mut district = District::new(40, 4);
    for (i, s) in district.students.iter_mut().enumerate() {
        s.state_id = Some(format!("S{i}"));
    }
    let t = tenant(&store, "d1").await;
    sync(&store, &bench, &t, &district, None).await;
    store
        .set_primary_admin("d1", "stu-0001", true)
        .await
        .unwrap();

    // The 1.2 export gives every student a new sourcedId, state ids kept.
    let mut moved = in_1p2(&district);
    for s in moved.students.iter_mut() {
        s.id = s.id.replace("stu-", "new-");
    }
    let held = sync(&store, &bench, &t, &moved, None).await;
    assert_eq!(held.status, RunStatus::Held, "{}", held.message);
    let rekey = held.rekey.clone().expect("a re-key proposal");
    assert_eq!(
        rekey.paired_by,
        [("userIds StateID".to_string(), 40)].into(),
        "{}",
        held.message
    );
    let approved = Engine::new(&store, &bench.artifacts)
        .approve_with(&held.run_id, "ops", roster::engine::RekeyChoice::Proposed)
        .await
        .unwrap();
    assert_eq!(approved.status, RunStatus::Applied, "{}", approved.message);
    let new = entity(&store, "d1", EntityKind::Users, "new-0001").await;
    assert_eq!(new.rekey.previous_sourced_ids, ["stu-0001"]);
    assert!(new.primary_admin, "the Primary Administrator stays one");
    assert_eq!(new.sis.str("role"), Some("student"));
    let again = sync(&store, &bench, &t, &moved, None).await;
    assert_eq!(writes(&again), 0, "the 1.2 delivery again writes nothing");
}

conformance!(
    a_delta_of_roles_does_not_undo_a_run_applied_after_its_read,
    a_1p2_delta_of_roles_changes_stored_users,
    a_1p2_delta_of_users_and_roles_keeps_stored_roles,
    a_move_to_1p2_that_rekeys_is_held_with_a_proposal,
    a_1p2_redelivery_with_its_roles_reordered_writes_nothing,
    a_1p2_district_is_stored_as_in_1p1,
    moving_from_1p1_to_1p2_writes_only_what_1p2_adds,
    a_1p2_zip_and_a_1p2_delta_apply,
);
