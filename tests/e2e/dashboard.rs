//! The operators' dashboard in template.yaml: its body parses as CloudWatch
//! parses it, every metric widget has a plain title, and every RosterBridge
//! metric it draws is one the code emits (a renamed metric would leave a
//! widget empty for ever). Needs ROSTER_TEMPLATE_PYTHON (cfn-lint's decoder).

use std::collections::BTreeSet;
use std::process::Command;

fn repo() -> std::path::PathBuf {
    testkit::servers::repo_root()
}

/// Every Rust source file's text under `dir`.
fn sources(dir: &std::path::Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("target") && !path.ends_with(".tools") {
                sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_widget_is_titled_and_draws_a_metric_the_code_emits() {
    let out = Command::new(testkit::template::python())
        .current_dir(repo())
        .args(["infra/local/dashboard.py", "template.yaml"])
        .output()
        .expect("infra/local/dashboard.py runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dashboard: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let widgets = dashboard["widgets"].as_array().unwrap();
    let mut drawn = BTreeSet::new();
    for w in widgets.iter().filter(|w| w["type"] == "metric") {
        let title = w["title"].as_str().unwrap();
        assert!(
            title.split_whitespace().count() >= 3,
            "untitled widget: {w}"
        );
        let metrics = w["metrics"].as_array().unwrap();
        assert!(!metrics.is_empty(), "{title}: no metric");
        for m in metrics {
            drawn.insert(m.as_str().unwrap().to_string());
        }
    }
    let mut code = String::new();
    for dir in ["shared", "functions"] {
        sources(&repo().join(dir), &mut code);
    }
    // Formatting may break `Metric::count(` and its name over lines.
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    for metric in &drawn {
        if metric == "ApproximateNumberOfMessagesVisible" {
            continue; // AWS/SQS's own
        }
        assert!(
            code.contains(&format!("Metric::count(\"{metric}\""))
                || code.contains(&format!("Metric::millis(\"{metric}\"")),
            "the dashboard draws `{metric}`, which no function emits"
        );
    }
    // What the issue asks the page to show.
    for expected in [
        "RecordsWritten",
        "DurationMs",
        "SignIns",
        "TenantsOverdue",
        "ApproximateNumberOfMessagesVisible",
    ] {
        assert!(drawn.contains(expected), "{expected} not drawn: {drawn:?}");
    }
}
