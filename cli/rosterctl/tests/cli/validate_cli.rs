//! `rosterctl validate` and `rosterctl generate` as a user runs them: the real
//! binary, its stdout and its exit code.

use std::path::{Path, PathBuf};
use testkit::cli::Cli;

fn rosterctl(args: &[&str]) -> (i32, String, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl")).run(args);
    (out.code, out.stdout, out.stderr)
}

fn sample(set: &str) -> PathBuf {
    testkit::samples::set(set)
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not one JSON object ({e}): {stdout}"))
}

#[test]
fn a_sample_validates_with_exit_0_and_the_documented_json() {
    let path = sample("roster-hub-en");
    let (code, stdout, _) = rosterctl(&["validate", path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stdout}");
    let v = json(&stdout);
    assert_eq!(v["ok"], true);
    assert_eq!(v["oneroster_version"], "1.1");
    let users = &v["files"]["users"];
    for field in [
        "mode", "rows", "accepted", "rejected", "skipped", "warnings",
    ] {
        assert!(!users[field].is_null(), "files.users.{field} missing");
    }
    assert_eq!(users["mode"], "bulk");
    assert_eq!(users["rows"], 20);
    assert!(v["errors"].as_array().unwrap().is_empty());
    let warning = &v["warnings"][0];
    for field in ["file", "line", "column", "code", "message"] {
        assert!(warning.get(field).is_some(), "warnings[0].{field} missing");
    }
}

#[test]
fn the_zip_form_validates_with_a_human_report() {
    let path = sample("roster-hub-ja").join("oneroster.zip");
    let (code, stdout, _) = rosterctl(&["validate", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("users              bulk"), "{stdout}");
    assert!(stdout.contains("Package acceptable."));
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn a_rejected_package_exits_1_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "manifest.csv",
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.3\n",
    );
    let (code, stdout, _) = rosterctl(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("unsupported_version"), "{stdout}");
    assert!(stdout.contains("REJECTED"));

    let (code, stdout, _) = rosterctl(&["validate", dir.path().to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    let v = json(&stdout);
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"][0]["code"], "unsupported_version");
    assert_eq!(v["errors"][0]["line"], 3);
}

#[test]
fn row_errors_are_listed_with_their_location_and_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "manifest.csv",
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\n",
    );
    write(dir.path(), "orgs.csv", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\no1,,,One,school,,\no2,,,Two,campus,,\n");
    let (code, stdout, _) = rosterctl(&["validate", dir.path().to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "row errors do not reject the package: {stdout}");
    let v = json(&stdout);
    let e = &v["errors"][0];
    assert_eq!(
        (
            e["file"].as_str(),
            e["line"].as_u64(),
            e["column"].as_str(),
            e["code"].as_str()
        ),
        (Some("orgs"), Some(3), Some("type"), Some("invalid_enum"))
    );
    assert_eq!(v["files"]["orgs"]["rejected"], 1);
}

#[test]
fn usage_and_io_errors_exit_2() {
    let (code, _, _) = rosterctl(&["validate", "/nonexistent/export.zip"]);
    assert_eq!(code, 2);
    let path = sample("roster-hub-en");
    let (code, _, stderr) = rosterctl(&[
        "validate",
        path.to_str().unwrap(),
        "--tenant-roles",
        "janitor",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("janitor"));
    let (code, _, _) = rosterctl(&["validate"]);
    assert_eq!(code, 2);
}

#[test]
fn tenant_roles_decide_which_users_are_skipped() {
    let path = sample("roster-hub-en");
    let (code, stdout, _) = rosterctl(&[
        "validate",
        path.to_str().unwrap(),
        "--json",
        "--tenant-roles",
        "teacher",
    ]);
    assert_eq!(code, 0);
    let v = json(&stdout);
    // The sample's users are all students: with teachers only, all are skipped, and so are their enrollments.
    assert_eq!(v["files"]["users"]["skipped"], 20);
    assert_eq!(v["files"]["enrollments"]["skipped"], 30);
}

#[test]
fn a_generated_district_validates_cleanly_as_folder_and_zip() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("district");
    let zip = dir.path().join("district.zip");
    for out in [&folder, &zip] {
        let (code, stdout, stderr) = rosterctl(&[
            "generate",
            "--students",
            "600",
            "--seed",
            "7",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        let (code, stdout, _) = rosterctl(&["validate", out.to_str().unwrap(), "--json"]);
        assert_eq!(code, 0, "{stdout}");
        let v = json(&stdout);
        assert_eq!(v["ok"], true);
        assert_eq!(v["errors"].as_array().unwrap().len(), 0, "{}", v["errors"]);
        assert_eq!(v["files"]["users"]["rejected"], 0);
        assert!(
            v["files"]["users"]["skipped"].as_u64().unwrap() > 0,
            "guardians are skipped by default"
        );
        assert!(v["files"]["enrollments"]["accepted"].as_u64().unwrap() >= 600 * 5);
        assert_eq!(v["files"]["demographics"]["accepted"], 600);
        let unresolved = v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["code"] == "unresolved_reference")
            .count();
        assert_eq!(unresolved, 0, "{}", v["warnings"]);
    }
}

#[test]
fn validate_html_writes_the_page_with_values_escaped() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "manifest.csv",
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\n",
    );
    write(dir.path(), "orgs.csv", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\no1,,,One,school,,\no2,,,Two,<script>alert(1)</script>,,\n");
    let page = dir.path().join("report.html");
    let (code, stdout, _) = rosterctl(&[
        "validate",
        dir.path().to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}");
    let html = std::fs::read_to_string(&page).expect("the page is written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains("orgs.csv") && html.contains("invalid_enum"),
        "{html}"
    );
}

#[test]
fn control_characters_in_values_are_shown_escaped_never_emitted() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "manifest.csv",
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\n",
    );
    // A type with an escape sequence (clear the screen) and a carriage return.
    write(
        dir.path(),
        "orgs.csv",
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\no1,,,One,school,,\no2,,,Two,\"cam\u{1b}[2Jp\rus\",,\n",
    );
    let path = dir.path().to_str().unwrap();
    let (code, stdout, _) = rosterctl(&["validate", path]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("invalid_enum"), "{stdout}");
    assert!(
        stdout.contains("\\u{1b}[2J") && stdout.contains("\\u{d}"),
        "{stdout:?}"
    );
    assert_no_raw_controls(&stdout);

    // The same error in a stored run, as `runs show` and `runs list` print it.
    let db = dir.path().join("roster.db");
    let db = db.to_str().unwrap();
    let runs = dir.path().join("runs");
    let runs = runs.to_str().unwrap();
    let (code, stdout, _) = rosterctl(&[
        "sync",
        path,
        "--tenant",
        "t",
        "--db",
        db,
        "--runs-dir",
        runs,
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}");
    let run_id = json(&stdout)["run_id"].as_str().unwrap().to_string();
    let (code, shown, _) = rosterctl(&["runs", "show", &run_id, "--db", db]);
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("invalid_enum") && shown.contains("\\u{1b}[2J"),
        "{shown:?}"
    );
    assert_no_raw_controls(&shown);
    // The JSON keeps the value as it was (escaped by JSON itself).
    let (_, json_out, _) = rosterctl(&["runs", "show", &run_id, "--db", db, "--json"]);
    assert!(json(&json_out)["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains('\u{1b}'));
}

/// A character cut by a comma (`E7` `,` `80 80`) once passed the UTF-8
/// check and then panicked the reader (exit 101): it is the file's
/// invalid-UTF-8 error, in the header and in a row with no final line break.
#[test]
fn a_character_cut_by_a_field_boundary_is_invalid_utf8_not_a_panic() {
    let header = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,givenName,familyName";
    let cases: [(Vec<u8>, u64, &str); 2] = [
        (b"\xe7,\x80\x80".to_vec(), 1, "(field 1, byte 1)"),
        (
            [
                header.as_bytes(),
                b"\nu1,,,true,o1,student,\"a\xe7\",\x80\x80,B",
            ]
            .concat(),
            2,
            "(field 7, byte 2)",
        ),
    ];
    for (users, line, place) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            sample("roster-hub-ja").join("manifest.csv"),
            dir.path().join("manifest.csv"),
        )
        .unwrap();
        std::fs::write(dir.path().join("users.csv"), &users).unwrap();
        let (code, stdout, stderr) =
            rosterctl(&["validate", dir.path().to_str().unwrap(), "--json"]);
        assert_eq!(code, 1, "{stdout}{stderr}");
        let v = json(&stdout);
        let errors = v["errors"].as_array().unwrap();
        let e = errors
            .iter()
            .find(|e| e["code"] == "not_utf8")
            .unwrap_or_else(|| panic!("no not_utf8 error: {stdout}"));
        assert_eq!(
            (e["file"].as_str(), e["line"].as_u64()),
            (Some("users"), Some(line))
        );
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(place), "{message}");
    }
}

#[test]
fn a_sourced_id_over_256_bytes_is_a_row_rejection_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "manifest.csv",
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\n",
    );
    let long = "x".repeat(257);
    let near = "y".repeat(256);
    write(
        dir.path(),
        "orgs.csv",
        &format!("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\no1,,,One,school,,\n{long},,,Long,school,,\n{near},,,Near,school,,\n"),
    );
    let path = dir.path().to_str().unwrap();
    let (code, stdout, _) = rosterctl(&["validate", path, "--json"]);
    assert_eq!(code, 0, "one row, not the package: {stdout}");
    let v = json(&stdout);
    let e = &v["errors"][0];
    assert_eq!(
        (e["code"].as_str(), e["line"].as_u64(), e["column"].as_str()),
        (Some("id_too_long"), Some(3), Some("sourcedId"))
    );
    assert_eq!(
        v["errors"].as_array().unwrap().len(),
        1,
        "256 bytes are accepted"
    );
    assert_eq!(v["files"]["orgs"]["rejected"], 1);
    assert_eq!(v["files"]["orgs"]["accepted"], 2);
    // The sync stores the two others, not the long one.
    let run = sync_into_fresh_db(dir.path(), path);
    assert_eq!(run["counts"]["orgs"]["inserted"], 2, "{stdout}");
    assert_eq!(run["counts"]["orgs"]["rejected"], 1, "{stdout}");
}

#[test]
fn a_row_over_64_kib_and_an_email_over_1_kib_are_row_rejections_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "manifest.csv",
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\n",
    );
    write(
        dir.path(),
        "orgs.csv",
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\ns1,,,School,school,,\n",
    );
    // Line 3: a 10 MB given name. Line 4: an email of 1,025 bytes. Line 5:
    // 65,000 bytes in all, under the limit, accepted.
    let huge = "g".repeat(10 * 1024 * 1024);
    let long_email = format!("{}@d.example", "e".repeat(1025 - "@d.example".len()));
    let big_but_fine = "n".repeat(65_000);
    let header = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password";
    write(
        dir.path(),
        "users.csv",
        &format!("{header}\nu1,,,true,s1,teacher,u1,,Ann,One,,,a@d.example,,,,,\nu2,,,true,s1,teacher,u2,,{huge},Two,,,b@d.example,,,,,\nu3,,,true,s1,teacher,u3,,Cy,Three,,,{long_email},,,,,\nu4,,,true,s1,teacher,u4,,Di,{big_but_fine},,,d@d.example,,,,,\n"),
    );
    let path = dir.path().to_str().unwrap();
    let (code, stdout, _) = rosterctl(&["validate", path, "--json"]);
    assert_eq!(
        code,
        0,
        "rows, not the package: {}",
        &stdout[..stdout.len().min(2000)]
    );
    assert!(stdout.len() < 100_000, "the 10 MB value is not echoed back");
    let v = json(&stdout);
    let found: Vec<(Option<&str>, Option<u64>, Option<&str>)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["code"].as_str(), e["line"].as_u64(), e["column"].as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Some("record_too_long"), Some(3), None),
            (Some("value_too_long"), Some(4), Some("email")),
        ]
    );
    assert_eq!(v["files"]["users"]["rejected"], 2);
    assert_eq!(v["files"]["users"]["accepted"], 2);
    // The sync stores the two others.
    let run = sync_into_fresh_db(dir.path(), path);
    assert_eq!(run["counts"]["users"]["inserted"], 2);
    assert_eq!(run["counts"]["users"]["rejected"], 2);
}

/// Syncs the package at `path` into a new database in `dir` as tenant `t`:
/// the run, which must have been applied.
fn sync_into_fresh_db(dir: &std::path::Path, path: &str) -> serde_json::Value {
    let db = dir.join("roster.db");
    let (code, stdout, _) = rosterctl(&[
        "sync",
        path,
        "--tenant",
        "t",
        "--db",
        db.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{}", &stdout[..stdout.len().min(2000)]);
    json(&stdout)
}

/// Human output carries no raw escape or carriage return (a report value
/// could otherwise rewrite the operator's terminal).
fn assert_no_raw_controls(text: &str) {
    assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
}
