//! `rosterctl pull` against the project's local OneRoster server.

use std::path::Path;
use testkit::cli::Cli;
use testkit::servers::{oneroster_server, Server};

fn server(package: &Path) -> Server {
    oneroster_server(package, "oauth1", "k", "s")
}

fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl")).dir(dir).run(args);
    (out.code, out.stdout)
}

#[test]
fn pull_syncs_a_tenants_api_and_refuses_bad_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        rosterctl(d, &["generate", "--students", "80", "--out", "district"]).0,
        0
    );
    let api = server(&d.join("district"));
    let (code, out) = rosterctl(
        d,
        &[
            "pull",
            "--tenant",
            "t1",
            "--api-url",
            &api.url,
            "--key",
            "k",
            "--secret",
            "s",
            "--page-size",
            "50",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], "applied");
    assert_eq!(run["source"]["kind"], "api");
    assert!(run["items_written"].as_u64().unwrap() > 500);

    // The same pull again (a delta, by cadence) writes nothing.
    let (code, out) = rosterctl(
        d,
        &[
            "pull", "--tenant", "t1", "--key", "k", "--secret", "s", "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["items_written"],
        0
    );

    let (code, out) = rosterctl(
        d,
        &[
            "pull", "--tenant", "t1", "--key", "k", "--secret", "wrong", "--json",
        ],
    );
    assert_eq!(code, 2, "{out}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], "failed");
    assert!(run["message"]
        .as_str()
        .unwrap()
        .contains("credentials rejected"));
    assert!(!out.contains("\"wrong\""));

    assert_eq!(
        rosterctl(d, &["pull", "--tenant", "t1", "--key", "k"]).0,
        2,
        "a key needs its secret"
    );
    assert_eq!(
        rosterctl(d, &["pull", "--tenant", "t2"]).0,
        2,
        "credentials are required"
    );
}

#[test]
fn a_mode_that_is_not_one_is_a_usage_error_naming_the_modes() {
    let dir = tempfile::tempdir().unwrap();
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
        .dir(dir.path())
        .run(&[
            "pull", "--tenant", "t1", "--token", "x", "--mode", "sideways", "--json",
        ]);
    assert_eq!(out.code, 2, "{}", out.combined());
    assert!(
        out.stderr
            .contains("invalid value 'sideways' for '--mode <MODE>'"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("[possible values: full, delta, auto]"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
    assert!(!dir.path().join("roster.db").exists(), "nothing created");
}

/// The generated district's users.csv with its last student's role made `wizard`:
/// that student's sourcedId, and the offset of the page (of `page_size`)
/// the server sends it in (pages are sorted by sourcedId).
fn break_one_student(package: &Path, page_size: usize) -> (String, usize) {
    let path = package.join("users.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .rfind(|l| l.contains(",\"student\","))
        .unwrap()
        .to_string();
    std::fs::write(
        &path,
        text.replace(&line, &line.replace(",\"student\",", ",\"wizard\",")),
    )
    .unwrap();
    let id = |l: &str| l.split(',').next().unwrap().trim_matches('"').to_string();
    let mut ids: Vec<String> = text.lines().skip(1).map(id).collect();
    ids.sort();
    let student = id(&line);
    let index = ids.iter().position(|i| *i == student).unwrap();
    (student, index / page_size * page_size)
}

#[test]
fn an_api_run_keeps_its_report_and_names_the_records_the_district_sent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        rosterctl(d, &["generate", "--students", "60", "--out", "district"]).0,
        0
    );
    let (student, offset) = break_one_student(&d.join("district"), 25);
    assert!(offset > 0, "a record on a later page");
    let api = server(&d.join("district"));
    let (code, out) = rosterctl(
        d,
        &[
            "pull",
            "--tenant",
            "t1",
            "--api-url",
            &api.url,
            "--key",
            "k",
            "--secret",
            "s",
            "--page-size",
            "25",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], "applied", "{out}");
    // Demographics are opt-in: a new tenant pulls none.
    assert!(
        run["counts"]["demographics"].is_null() || run["counts"]["demographics"]["inserted"] == 0,
        "{out}"
    );
    // The error names the collection, the record's sourcedId and its page, never a temporary file's line.
    let error = run["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == "invalid_enum")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(error["record"]["collection"], "users", "{out}");
    assert_eq!(error["record"]["sourcedId"], student.as_str(), "{out}");
    assert_eq!(error["record"]["offset"], offset, "{out}");
    assert!(error["line"].is_null(), "{out}");
    assert!(!out.contains(".csv:"), "a temporary file's line: {out}");

    // The report and its page are kept in the runs folder, and `runs show` points at them.
    let report = d.join(run["report_ref"].as_str().unwrap());
    assert!(report.is_file(), "{}", report.display());
    let json = std::fs::read_to_string(&report).unwrap();
    assert!(
        json.contains(&format!("\"sourcedId\": \"{student}\"")),
        "{json}"
    );
    assert!(!json.contains(".csv:"), "{json}");
    let page = std::fs::read_to_string(report.with_file_name("report.html")).unwrap();
    assert!(
        page.contains(&format!("{student}, page at offset {offset}")),
        "{page}"
    );
    assert!(!page.contains(".csv:"), "{page}");
    let run_id = run["run_id"].as_str().unwrap();
    let (code, shown) = rosterctl(d, &["runs", "show", run_id]);
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains(&format!(
            "users record `{student}` (page at offset {offset}) [role] invalid_enum"
        )),
        "{shown}"
    );
    assert!(shown.contains(report.file_name().unwrap().to_str().unwrap()));
}
