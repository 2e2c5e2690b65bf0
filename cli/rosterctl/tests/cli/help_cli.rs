//! The CLI reads right: every command and subcommand has its own one-line
//! help, found by walking `--help` from the top as a new user would, and the
//! errors a new user meets first name the fix.

use std::path::Path;
use testkit::cli::Cli;

fn help(path: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = path.to_vec();
    args.push("--help");
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
        .dir(dir.path())
        .run(&args);
    assert_eq!(out.code, 0, "{path:?}: {}", out.combined());
    out.stdout
}

/// The (name, description) lines of a help page's `Commands:` section, `help` left out.
fn commands(page: &str) -> Vec<(String, String)> {
    page.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| {
            let l = l.trim();
            let (name, description) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            (name != "help").then(|| (name.to_string(), description.trim().to_string()))
        })
        .collect()
}

#[test]
fn every_command_and_subcommand_says_what_it_does() {
    let mut pending: Vec<Vec<String>> = vec![vec![]];
    let mut seen = 0;
    while let Some(path) = pending.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let page = help(&args);
        let first = page.lines().next().unwrap_or("");
        assert!(
            !first.is_empty() && !first.starts_with("Usage:"),
            "`rosterctl {}` has no description of its own:\n{page}",
            args.join(" ")
        );
        let children = commands(&page);
        let mut descriptions = std::collections::BTreeSet::new();
        for (name, description) in &children {
            assert!(
                description.chars().next().is_some_and(char::is_uppercase)
                    && description.split_whitespace().count() >= 2,
                "`rosterctl {} {name}` is listed without a description: `{description}`",
                args.join(" ")
            );
            assert!(
                descriptions.insert(description.clone()),
                "two subcommands of `rosterctl {}` share the description `{description}`",
                args.join(" ")
            );
            let mut child = path.clone();
            child.push(name.clone());
            // The child's own page starts with the description it is listed with.
            let page = help(&child.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(
                page.starts_with(description.trim_end_matches('.')),
                "`rosterctl {}`: listed as `{description}`, its page says:\n{page}",
                child.join(" ")
            );
            pending.push(child);
        }
        seen += 1;
    }
    assert!(seen > 30, "walked {seen} pages");
}

#[test]
fn the_top_level_help_names_each_group_and_the_right_text_for_sso_and_admins() {
    let page = help(&[]);
    let top = commands(&page);
    let find = |name: &str| {
        top.iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("no `{name}` in:\n{page}"))
    };
    assert!(find("sso").contains("sign-in"), "{page}");
    assert!(!find("sso").contains("Primary Administrator"), "{page}");
    assert!(find("admins").contains("Primary Administrator"), "{page}");
    // Every top-level command is in exactly one group of "Commands by task".
    let groups: String = page
        .lines()
        .skip_while(|l| !l.starts_with("Commands by task:"))
        .collect::<Vec<_>>()
        .join("\n");
    for (name, _) in &top {
        let mentions = groups
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| w == name)
            .count();
        assert_eq!(mentions, 1, "`{name}` in the groups:\n{groups}");
    }
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl")).dir(dir).run(args);
    (out.code, out.combined())
}

#[test]
fn a_missing_database_says_where_it_looked_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = run(dir.path(), &["runs", "list"]);
    assert_eq!(code, 2, "{out}");
    let expected = std::path::absolute(dir.path().join("roster.db")).unwrap();
    assert!(
        out.contains(&format!("no roster database at {}", expected.display())),
        "{out}"
    );
    assert!(out.contains("--db FILE"), "{out}");
    assert!(!dir.path().join("roster.db").exists(), "nothing created");
    let (code, out) = run(
        dir.path(),
        &["users", "list", "--tenant", "t1", "--db", "elsewhere.db"],
    );
    assert_eq!(code, 2);
    assert!(out.contains("elsewhere.db"), "{out}");
}

#[test]
fn an_unknown_tenant_says_how_to_add_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        run(d, &["tenants", "add", "t1"]).0,
        0,
        "creates the database"
    );
    for args in [
        &["tenants", "show", "nope"][..],
        &["tenants", "update", "nope", "--sso", "true"],
        &["tenants", "check", "nope"],
        &["tenants", "status", "--tenant", "nope"],
        &["users", "list", "--tenant", "nope"],
    ] {
        let (code, out) = run(d, args);
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(
            out.contains("rosterctl tenants add nope"),
            "{args:?}: {out}"
        );
    }
}

#[test]
fn validate_and_pull_say_both_oneroster_versions() {
    let top = help(&[]);
    for (command, what) in [
        ("validate", "a OneRoster 1.1 or 1.2 CSV package"),
        ("pull", "a tenant's OneRoster 1.1 or 1.2 API"),
    ] {
        assert!(
            help(&[command]).contains(what),
            "`rosterctl {command} --help`"
        );
        let listed = commands(&top);
        let (_, description) = listed.iter().find(|(name, _)| name == command).unwrap();
        assert!(
            description.contains("1.1 or 1.2"),
            "{command}: {description}"
        );
    }
}
