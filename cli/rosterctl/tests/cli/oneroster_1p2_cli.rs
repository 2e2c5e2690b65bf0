//! A OneRoster 1.2 CSV package as an operator handles it: `rosterctl
//! validate` reads it with the 1.2 binding, `rosterctl sync` stores each
//! user with its roles folded in, on the embedded store.

use std::path::Path;
use testkit::cli::Cli;

fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl")).dir(dir).run(args);
    (out.code, out.stdout)
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

const FILES: [(&str, &str); 5] = [
    (
        "manifest.csv",
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,bulk\nfile.roles,bulk\nfile.userProfiles,bulk\nfile.enrollments,absent\n",
    ),
    (
        "orgs.csv",
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nd1,active,,District,district,,\ns1,active,,School One,school,S1,d1\n",
    ),
    (
        "users.csv",
        "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\nadm1,active,,true,ada,,Ada,Admin,,,ada@example.org,,,,,pw-admin-1,,,,,,d1,\nt1,active,,true,tom,,Tom,Teach,,,tom@example.org,,,,,,,,Tommy,,,s1,he/him\nst1,active,,true,sal,,Sal,Stu,,,,,,,03,,,,,,,s1,\ncn1,active,,true,cora,,Cora,Couns,,,,,,,,,,,,,,s1,\n",
    ),
    (
        "roles.csv",
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\nr1,active,,adm1,primary,districtAdministrator,,,d1,\nr2,active,,t1,primary,teacher,,,s1,\nr3,active,,t1,primary,ext:coach,,,d1,\nr4,active,,st1,primary,student,,,s1,\nr5,active,,cn1,primary,counselor,,,s1,\n",
    ),
    (
        "userProfiles.csv",
        "sourcedId,status,dateLastModified,userSourcedId,profileType,vendorId,applicationId,description,credentialType,username,password\np1,active,,t1,app,v1,,,password,tom,Sekrit-PW-9\n",
    ),
];

#[test]
fn a_1p2_package_validates_and_syncs_with_roles_folded_into_users() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = d.join("district-1p2");
    std::fs::create_dir_all(&pkg).unwrap();
    for (name, text) in FILES {
        std::fs::write(pkg.join(name), text).unwrap();
    }
    let pkg = pkg.to_str().unwrap();

    let (code, out) = rosterctl(d, &["validate", pkg, "--json"]);
    assert_eq!(code, 0, "{out}");
    let v = json(&out);
    assert_eq!(v["ok"], true, "{out}");
    assert_eq!(v["oneroster_version"], "1.2");
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(0), "{out}");
    assert_eq!(v["files"]["users"]["accepted"], 3);
    assert_eq!(v["files"]["users"]["skipped"], 1, "the counselor");
    assert_eq!(v["files"]["roles"]["rows"], 5);
    assert_eq!(v["files"]["userProfiles"]["rows"], 1);
    assert_eq!(v["files"]["userProfiles"]["imported"], false);

    let (code, out) = rosterctl(d, &["sync", pkg, "--tenant", "t12", "--json"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["status"], "applied", "{out}");

    let show = |id: &str| {
        let (code, out) = rosterctl(d, &["users", "show", "--tenant", "t12", id, "--json"]);
        assert_eq!(code, 0, "{out}");
        json(&out)
    };
    let admin = show("adm1");
    assert_eq!(admin["sis"]["role"], "administrator");
    assert_eq!(admin["sis"]["roles"][0]["role"], "districtAdministrator");
    let teacher = show("t1");
    assert_eq!(teacher["sis"]["role"], "teacher");
    assert_eq!(
        teacher["sis"]["orgSourcedIds"],
        serde_json::json!(["d1", "s1"])
    );
    assert_eq!(teacher["sis"]["pronouns"], "he/him");
    assert_eq!(teacher["sis"]["roles"][1]["role"], "ext:coach");
    assert_eq!(show("st1")["sis"]["role"], "student");
    let (code, _) = rosterctl(d, &["users", "show", "--tenant", "t12", "cn1"]);
    assert_eq!(code, 1, "a counselor is skipped by default");
    // An administrator of 1.2 is one for the Primary Administrator promotion.
    let (code, out) = rosterctl(d, &["admins", "promote", "--tenant", "t12", "adm1"]);
    assert_eq!(code, 0, "{out}");

    // Credentials are read into nothing that is kept.
    let db = std::fs::read(d.join("roster.db")).unwrap();
    let db = String::from_utf8_lossy(&db);
    for secret in ["pw-admin-1", "Sekrit-PW-9"] {
        assert!(!db.contains(secret), "{secret} stored");
    }

    // A re-sync of the same delivery writes nothing.
    let (code, out) = rosterctl(d, &["sync", pkg, "--tenant", "t12", "--json"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["items_written"], 0, "{out}");
}

#[test]
fn the_same_district_in_1p1_and_1p2_is_stored_alike_in_two_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (new, old) = (d.join("v1p2"), d.join("v1p1"));
    both_versions(&old, &new);
    for (pkg, tenant) in [(&old, "old"), (&new, "new")] {
        let (code, out) = rosterctl(d, &["sync", pkg.to_str().unwrap(), "--tenant", tenant]);
        assert_eq!(code, 0, "{tenant}: {out}");
    }
    for id in ["adm1", "t1", "st1"] {
        let sis = |tenant: &str| {
            let (code, out) = rosterctl(d, &["users", "show", "--tenant", tenant, id, "--json"]);
            assert_eq!(code, 0, "{out}");
            json(&out)["sis"].clone()
        };
        let (before, after) = (sis("old"), sis("new"));
        for (field, value) in before.as_object().unwrap() {
            assert_eq!(&after[field], value, "{id}.{field}");
        }
    }
    let roles = |id: &str| {
        let (_, out) = rosterctl(d, &["users", "show", "--tenant", "new", id, "--json"]);
        json(&out)["sis"]["roles"].clone()
    };
    assert!(roles("adm1").is_array(), "districtAdministrator says more");
    assert!(roles("t1").is_array(), "the ext:coach role says more");
    assert!(
        roles("st1").is_null(),
        "a plain student's roles are not kept"
    );
}

/// Writes the district of [`FILES`] as a 1.1 package in `old` and a 1.2
/// package in `new`.
fn both_versions(old: &Path, new: &Path) {
    std::fs::create_dir_all(new).unwrap();
    std::fs::create_dir_all(old).unwrap();
    for (name, text) in FILES {
        std::fs::write(new.join(name), text).unwrap();
    }
    std::fs::write(
        old.join("manifest.csv"),
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\n",
    )
    .unwrap();
    std::fs::write(old.join("orgs.csv"), FILES[1].1).unwrap();
    std::fs::write(
        old.join("users.csv"),
        "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\nadm1,active,,true,d1,administrator,ada,,Ada,Admin,,,ada@example.org,,,,,pw-admin-1\nt1,active,,true,\"d1,s1\",teacher,tom,,Tom,Teach,,,tom@example.org,,,,,\nst1,active,,true,s1,student,sal,,Sal,Stu,,,,,,,03,\n",
    )
    .unwrap();
}

#[test]
fn a_tenant_moving_from_1p1_to_1p2_writes_only_what_1p2_adds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (new, old) = (d.join("v1p2"), d.join("v1p1"));
    both_versions(&old, &new);
    // The student's 1.2 row names no primary org: it says what 1.1 said.
    let users = std::fs::read_to_string(new.join("users.csv")).unwrap();
    std::fs::write(
        new.join("users.csv"),
        users.replace(",03,,,,,,,s1,", ",03,,,,,,,,"),
    )
    .unwrap();

    let sync = |pkg: &Path| {
        let (code, out) = rosterctl(
            d,
            &["sync", pkg.to_str().unwrap(), "--tenant", "t", "--json"],
        );
        assert_eq!(code, 0, "{out}");
        json(&out)
    };
    sync(&old);
    let moved = sync(&new);
    assert_eq!(moved["status"], "applied", "{moved}");
    assert_eq!(moved["counts"]["users"]["updated"], 2, "{moved}");
    assert_eq!(moved["counts"]["users"]["unchanged"], 1, "{moved}");
    assert_eq!(moved["counts"]["orgs"]["updated"], 0, "{moved}");
    assert_eq!(
        sync(&new)["items_written"],
        0,
        "a second 1.2 delivery writes nothing"
    );
}

/// A delta `roles.csv` as an operator meets it: `validate` checks its rows
/// and says the users' roles are checked at the sync; `sync` changes the
/// stored users' roles and lists what it refused; again, it writes nothing.
#[test]
fn a_delta_of_roles_validates_and_syncs_against_the_stored_users() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (full, delta) = (d.join("full"), d.join("delta"));
    std::fs::create_dir_all(&full).unwrap();
    std::fs::create_dir_all(&delta).unwrap();
    for (name, text) in FILES {
        std::fs::write(full.join(name), text).unwrap();
    }
    std::fs::write(
        delta.join("manifest.csv"),
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,absent\nfile.users,absent\nfile.roles,delta\nfile.enrollments,absent\n",
    )
    .unwrap();
    // Sal becomes an aide at s1 as well; Tom loses his ext:coach role; a
    // role of someone the district never sent.
    std::fs::write(
        delta.join("roles.csv"),
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\nr6,active,,st1,secondary,aide,,,s1,\nr3,tobedeleted,,t1,,,,,,\nr7,active,,nobody,primary,student,,,s1,\n",
    )
    .unwrap();
    let (full, delta) = (full.to_str().unwrap(), delta.to_str().unwrap());
    let (code, out) = rosterctl(d, &["sync", full, "--tenant", "t", "--json"]);
    assert_eq!(code, 0, "{out}");

    let (code, out) = rosterctl(d, &["validate", delta, "--json"]);
    assert_eq!(code, 0, "{out}");
    let v = json(&out);
    assert_eq!(v["files"]["roles"]["mode"], "delta", "{out}");
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(warnings.contains(&"roles_checked_at_sync"), "{out}");

    let (code, out) = rosterctl(d, &["sync", delta, "--tenant", "t", "--json"]);
    assert_eq!(code, 0, "{out}");
    let run = json(&out);
    assert_eq!(run["status"], "applied", "{out}");
    assert_eq!(run["counts"]["users"]["updated"], 2, "{out}");
    assert_eq!(run["errors"][0]["code"], "unknown_user", "{out}");
    assert_eq!(run["errors"][0]["line"], 4, "{out}");
    let show = |id: &str| {
        let (code, out) = rosterctl(d, &["users", "show", "--tenant", "t", id, "--json"]);
        assert_eq!(code, 0, "{out}");
        json(&out)["sis"].clone()
    };
    let student = show("st1");
    assert_eq!(student["role"], "student");
    assert_eq!(student["roles"][1]["role"], "aide", "{student}");
    let teacher = show("t1");
    assert_eq!(teacher["orgSourcedIds"], serde_json::json!(["s1"]));
    assert!(
        teacher["roles"].is_null(),
        "a plain teacher again: {teacher}"
    );

    let (code, out) = rosterctl(d, &["sync", delta, "--tenant", "t", "--json"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["items_written"], 0, "{out}");
}
