//! The report page in a real browser: Debian's headless Chromium (driven by
//! playwright-core, tests/browser/check-page.mjs) loads the page of a rejected
//! package and of a held run, as a district's data manager would open them.
//! The rendered text shows the errors, a `<script>` from a CSV value shows as
//! text and runs nothing, no request leaves the page, and a screenshot is kept
//! under target/ for a person to look at. Needs ROSTER_NODE and ROSTER_CHROMIUM
//! (infra/test.sh sets them); fails loudly without them.

use std::path::{Path, PathBuf};
use testkit::cli::Cli;

fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl")).dir(dir).run(args);
    (out.code, out.combined())
}

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the suite with infra/test.sh (it installs Chromium and playwright-core)")
    })
}

/// What Chromium shows of `page`; the screenshot goes to target/report-pages/`name`.png.
fn open_in_chromium(page: &Path, name: &str) -> serde_json::Value {
    let shots = testkit::servers::repo_root().join("target/report-pages");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    let out = std::process::Command::new(env("ROSTER_NODE"))
        .arg(testkit::servers::repo_root().join("tests/browser/check-page.mjs"))
        .arg(page)
        .arg(&shot)
        .arg(env("ROSTER_CHROMIUM"))
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "check-page.mjs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 10_000)
            .unwrap_or(false),
        "a screenshot at {}",
        shot.display()
    );
    // What every page must be, whatever it reports.
    assert_eq!(seen["scripts"], 0, "no script element: {seen}");
    assert_eq!(
        seen["requests"],
        serde_json::json!([]),
        "nothing leaves the page"
    );
    assert_eq!(seen["consoleErrors"], serde_json::json!([]), "{seen}");
    for landmark in ["main", "header", "footer"] {
        assert_eq!(seen[landmark], 1, "{landmark}: {seen}");
    }
    assert_eq!(seen["lang"], "en");
    assert_eq!(seen["bodyColor"], "rgb(26, 26, 26)");
    assert_eq!(seen["bodyBackground"], "rgb(255, 255, 255)");
    seen
}

fn generate(dir: &Path, out: &str, students: &str) -> PathBuf {
    let (code, text) = rosterctl(dir, &["generate", "--students", students, "--out", out]);
    assert_eq!(code, 0, "{text}");
    dir.join(out)
}

/// Replaces the value of `column` on data line `line` (the header is line 1) of a CSV file.
fn set_value(file: &Path, line: usize, column: &str, value: &str) {
    let mut reader = csv::Reader::from_path(file).unwrap();
    let header = reader.headers().unwrap().clone();
    let at = header.iter().position(|h| h == column).unwrap();
    let mut records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let mut cells: Vec<String> = records[line - 2].iter().map(str::to_string).collect();
    cells[at] = value.to_string();
    records[line - 2] = csv::StringRecord::from(cells);
    let mut writer = csv::Writer::from_path(file).unwrap();
    writer.write_record(&header).unwrap();
    for r in &records {
        writer.write_record(r).unwrap();
    }
    writer.flush().unwrap();
}

#[test]
fn a_rejected_package_and_a_held_run_read_right_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // A rejected package: users.csv is not UTF-8 on line 2. Its page is written beside
    // report.json in the runs folder by the sync itself.
    let broken = generate(d, "broken", "20");
    let users = broken.join("users.csv");
    let mut bytes = std::fs::read(&users).unwrap();
    let at = bytes.iter().position(|b| *b == b'\n').unwrap() + 5;
    bytes[at] = 0xFF;
    std::fs::write(&users, bytes).unwrap();
    let (code, out) = rosterctl(d, &["sync", "broken", "--tenant", "t1", "--json"]);
    assert_eq!(code, 1, "{out}");
    let run: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(run["status"], "rejected");
    let page = d
        .join(run["report_ref"].as_str().unwrap())
        .with_file_name("report.html");
    let seen = open_in_chromium(&page, "rejected-package");
    let text = seen["text"].as_str().unwrap();
    assert!(text.contains("Rejected."), "{text}");
    assert!(text.contains("Nothing was changed"), "{text}");
    assert!(
        text.contains("users.csv") && text.contains("not_utf8"),
        "{text}"
    );
    assert!(
        text.contains("not in UTF-8"),
        "the code in plain words: {text}"
    );

    // A held run: a first load, then a delivery missing most of its classes, with a
    // `<script>` in one class's title (a row error would quote it; this one is kept
    // as data, so put it where the validator quotes it: an invalid enum).
    let district = generate(d, "district", "200");
    assert_eq!(rosterctl(d, &["sync", "district", "--tenant", "t2"]).0, 0);
    let classes = district.join("classes.csv");
    let text = std::fs::read_to_string(&classes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&classes, lines[..lines.len() / 4].join("\n") + "\n").unwrap();
    set_value(&classes, 3, "classType", "<script>alert(1)</script>");
    let (code, out) = rosterctl(d, &["sync", "district", "--tenant", "t2", "--json"]);
    assert_eq!(code, 1, "{out}");
    let run: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(run["status"], "held", "{out}");
    let page = d.join("held.html");
    let (code, out) = rosterctl(
        d,
        &[
            "runs",
            "show",
            run["run_id"].as_str().unwrap(),
            "--html",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    let seen = open_in_chromium(&page, "held-run");
    let text = seen["text"].as_str().unwrap();
    assert!(text.contains("Held."), "{text}");
    assert!(text.contains("waits for a person to approve it"), "{text}");
    assert!(
        text.contains("Records by type") && text.contains("classes"),
        "{text}"
    );
    assert!(text.contains("would archive"), "{text}");
    assert!(
        text.contains("<script>alert(1)</script>"),
        "the value shows as text: {text}"
    );
    assert!(text.contains("invalid_enum"), "{text}");
}
