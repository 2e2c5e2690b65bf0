//! Progress as an operator sees it: bars with counts when stderr is a
//! terminal (a real pseudo-terminal, made by util-linux `script`), nothing
//! extra when it is not or when the output is JSON.

use std::path::Path;
use std::process::Command;
use testkit::cli::Cli;

const BIN: &str = env!("CARGO_BIN_EXE_rosterctl");

/// Runs rosterctl in `dir` with stdout and stderr on a pseudo-terminal;
/// returns what the terminal received.
fn on_a_terminal(dir: &Path, args: &[&str]) -> String {
    let command = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .current_dir(dir)
        .env("COLUMNS", "120")
        .env("TERM", "xterm")
        .output()
        .expect("util-linux `script` runs (the test needs a pseudo-terminal)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args:?} failed: {text}");
    text
}

#[test]
fn a_terminal_shows_each_stage_with_its_count_and_a_pipe_shows_none() {
    let dir = tempfile::tempdir().unwrap();
    let shown = on_a_terminal(
        dir.path(),
        &["generate", "--students", "300", "--seed", "2", "--out", "d"],
    );
    assert!(shown.contains("writing users.csv: "), "{shown}");
    let shown = on_a_terminal(dir.path(), &["validate", "d"]);
    assert!(shown.contains("validating users.csv: "), "{shown}");
    // A first load is written as it is planned: one stage per type.
    let shown = on_a_terminal(
        dir.path(),
        &["sync", "d", "--tenant", "t1", "--db", "roster.db"],
    );
    for stage in [
        "validating enrollments.csv: ",
        "loading users: ",
        "loading enrollments: ",
    ] {
        assert!(shown.contains(stage), "no `{stage}` in {shown}");
    }
    // Each finished stage keeps its count.
    let count = |shown: &str, stage: &str| -> u64 {
        let after = shown
            .split(stage)
            .nth(1)
            .unwrap_or_else(|| panic!("no {stage} in {shown}"));
        after
            .split_whitespace()
            .next()
            .unwrap()
            .replace(',', "")
            .parse()
            .unwrap()
    };
    assert!(count(&shown, "loading enrollments: ") > 1000, "{shown}");
    // A re-sync plans against the store, then applies what changed (nothing).
    let shown = on_a_terminal(
        dir.path(),
        &["sync", "d", "--tenant", "t1", "--db", "roster.db"],
    );
    assert_eq!(
        count(&shown, "planning users: "),
        count(&shown, "validating users.csv: ") - 30,
        "every user row but the 30 of roles not imported: {shown}"
    );
    assert_eq!(count(&shown, "applying: "), 0, "{shown}");

    // With --json on a terminal: the JSON alone.
    let shown = on_a_terminal(
        dir.path(),
        &["sync", "d", "--tenant", "t2", "--db", "roster.db", "--json"],
    );
    assert!(
        !shown.contains("planning") && !shown.contains('\u{1b}'),
        "{shown:?}"
    );
    // The terminal holds the note on stderr, then the JSON.
    let json_start = shown.find('{').unwrap();
    let json: serde_json::Value = serde_json::from_str(shown[json_start..].trim()).unwrap();
    assert_eq!(json["status"], "applied");

    // Not a terminal: no bars, no carriage returns, no escape sequences.
    let out =
        Cli::new(BIN)
            .dir(dir.path())
            .run(&["sync", "d", "--tenant", "t3", "--db", "roster.db"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains("planning"), "{text}");
        assert!(!text.contains('\r') && !text.contains('\u{1b}'), "{text:?}");
    }
}
