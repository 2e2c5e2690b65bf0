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
