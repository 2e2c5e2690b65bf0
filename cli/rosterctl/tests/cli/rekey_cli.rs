//! A re-keyed district through the CLI (embedded store): every student gets
//! a new sourcedId, the sync is held with a proposal, `runs show --rekey`
//! writes it, `runs approve --rekey` applies it, and `explain` and `users
//! history` of an old id say where the person went.

use std::path::Path;
use testkit::cli::Cli;

fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl")).dir(dir).run(args);
    (out.code, out.combined())
}

fn first_json(out: &str) -> serde_json::Value {
    serde_json::from_str(out.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

#[test]
fn a_rekeyed_district_is_proposed_written_and_approved_with_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = [
        "generate",
        "--students",
        "200",
        "--seed",
        "5",
        "--out",
        "district",
    ];
    assert_eq!(rosterctl(d, &gen).0, 0);
    let (code, out) = rosterctl(d, &["sync", "district", "--tenant", "t1", "--json"]);
    assert_eq!(code, 0, "{out}");

    // Every student's sourcedId changes, everywhere it is named.
    for file in std::fs::read_dir(d.join("district")).unwrap() {
        let path = file.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"stu-", "\"s2-")).unwrap();
    }
    let (code, out) = rosterctl(d, &["sync", "district", "--tenant", "t1", "--json"]);
    assert_eq!(code, 1, "held: {out}");
    let held = first_json(&out);
    let run_id = held["run_id"].as_str().unwrap().to_string();
    assert_eq!(held["status"], "held");
    let paired = held["rekey"]["paired_by"]["identifier"].as_u64().unwrap();
    assert_eq!(
        paired,
        held["rekey"]["archived"].as_u64().unwrap(),
        "{}",
        held["rekey"]
    );

    let (code, out) = rosterctl(d, &["runs", "show", &run_id, "--rekey", "map.csv"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("wrote {paired} proposed pairs to map.csv")),
        "{out}"
    );
    assert!(out.contains("REKEY: users look re-keyed"), "{out}");
    let map = std::fs::read_to_string(d.join("map.csv")).unwrap();
    assert!(
        map.starts_with("old_sourcedId,new_sourcedId,matched_on\n"),
        "{map}"
    );
    assert!(map.contains("stu-000001,s2-000001,identifier\n"), "{map}");

    // The district drops one pair from the file: that student is archived as absent.
    let corrected: String = map
        .lines()
        .filter(|l| !l.starts_with("stu-000002,"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(d.join("corrected.csv"), corrected).unwrap();
    let approve = [
        "runs",
        "approve",
        &run_id,
        "--by",
        "ops",
        "--rekey",
        "corrected.csv",
        "--json",
    ];
    let (code, out) = rosterctl(d, &approve);
    assert_eq!(code, 0, "{out}");
    let approved = first_json(&out);
    assert_eq!(approved["status"], "applied");
    assert_eq!(approved["rekey"]["applied"].as_u64(), Some(paired - 1));

    let (code, out) = rosterctl(d, &["explain", "--tenant", "t1", "stu-000001"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("new sourcedId"), "{out}");
    assert!(out.contains("s2-000001"), "{out}");
    let (code, out) = rosterctl(d, &["users", "history", "--tenant", "t1", "stu-000001"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("the history goes on under `s2-000001`"),
        "{out}"
    );
    let (code, out) = rosterctl(
        d,
        &["users", "history", "--tenant", "t1", "s2-000001", "--json"],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        first_json(&out)["rekey"]["previous_sourced_ids"],
        serde_json::json!(["stu-000001"])
    );
    let (_, out) = rosterctl(d, &["explain", "--tenant", "t1", "stu-000002"]);
    assert!(
        out.contains("left it out"),
        "the dropped pair is an ordinary archive: {out}"
    );
}
