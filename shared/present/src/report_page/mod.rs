//! The validation report as a page a district's data manager reads
//! (`report.html` beside `report.json`; `rosterctl validate --html`,
//! `runs show --html`). One self-contained HTML document: no script, no
//! external asset, a Content-Security-Policy that forbids loading anything,
//! landmarks and table headers for screen readers, dark-on-light colours with
//! sufficient contrast, and a print stylesheet.
//!
//! It shows the outcome and the next step in one sentence, a table per file,
//! every listed error with file, line, column, value and a plain-language
//! explanation of its code, the tolerated quirks with counts, and the counts
//! per type for applied or held runs. Values come only from the district's own
//! file, escaped; a `password` column's value is never shown.
//!
//! The page is rendered from typed values: an [`Outcome`] (filled by a run,
//! a validation alone, or an upload set aside unread), the run's counts, and
//! the [`Findings`] of its validation; the markup is `maud` templates.

mod findings;
mod html;
mod outcome;
#[cfg(feature = "s3")]
pub mod s3;

pub use findings::{FileCounts, Finding, Findings};
pub use outcome::{Origin, Outcome};

use roster::run::RunRecord;

/// The page's file name beside `report.json`.
pub const PAGE_FILE: &str = "report.html";

/// The page for a stored run (`run`) and/or the findings of a validation
/// (`validation`). A run without findings lists its own errors.
pub fn render(run: Option<&RunRecord>, validation: Option<&Findings>) -> String {
    let outcome = match run {
        Some(run) => Outcome::of_run(run),
        None => Outcome::of_validation(validation),
    };
    let of_run = run
        .filter(|_| validation.is_none())
        .and_then(Findings::of_run);
    html::page(&outcome, run, validation.or(of_run.as_ref())).into_string()
}

/// The page for an upload set aside without being read (not a package, a
/// tenant not configured or disabled): the file, when, and why.
pub fn render_set_aside(file: &str, reason: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let why = Findings {
        ok: false,
        errors: vec![Finding {
            file: file.to_string(),
            code: "set_aside".into(),
            message: reason.to_string(),
            ..Finding::default()
        }],
        ..Findings::default()
    };
    html::page(&Outcome::set_aside(file, at), None, Some(&why)).into_string()
}

/// Writes `report.html` beside a run's local `report.json` (the runs folder);
/// returns its path, or `None` when the run has no local report.
pub fn write_beside(run: &RunRecord) -> std::io::Result<Option<std::path::PathBuf>> {
    let Some(report) = run
        .report_ref
        .as_deref()
        .filter(|r| !r.starts_with("s3://"))
        .map(std::path::Path::new)
        .filter(|p| p.is_file())
    else {
        return Ok(None);
    };
    let validation = serde_json::from_slice(&std::fs::read(report)?)
        .ok()
        .and_then(|v: serde_json::Value| Findings::from_value(&v));
    let page = report.with_file_name(PAGE_FILE);
    std::fs::write(&page, render(Some(run), validation.as_ref()))?;
    Ok(Some(page))
}

/// HTML-escapes `text` (element content and attribute values); control
/// characters other than line breaks and tabs are shown as `\u{..}`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(text, &mut out);
    out
}

/// [`escape`], appended to `out`.
fn escape_into(text: &str, out: &mut String) {
    use std::fmt::Write as _;
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rejected() -> Findings {
        Findings::from_value(&json!({
            "ok": false,
            "files": {"users": {"mode": "bulk", "imported": true, "rows": 3, "accepted": 1, "rejected": 2, "skipped": 0, "warnings": 1}},
            "errors": [
                {"file": "users", "line": 2, "column": "email", "value": "<script>alert(1)</script>", "code": "missing_value", "message": "email is empty", "severity": "error"},
                {"file": "users", "line": 3, "column": "password", "value": "hunter2", "code": "invalid_enum", "message": "bad", "severity": "error"}
            ],
            "error_count": 5,
            "warnings": [{"file": "users", "line": 2, "column": "role", "value": "Teacher", "code": "enum_case", "message": "read as teacher", "severity": "warning", "count": 7}]
        }))
        .expect("a validation report")
    }

    #[test]
    fn values_are_escaped_passwords_never_shown_and_codes_explained() {
        let page = render(None, Some(&rejected()));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(
            !page.contains("<script"),
            "no script element, even from data"
        );
        assert!(!page.contains("hunter2"));
        assert!(page.contains("users.csv"));
        assert!(page.contains(oneroster::explain::explain("missing_value").unwrap()));
        assert!(page.contains("The first 2 of 5 are listed."));
        assert!(page.contains("<td class=\"n\">7</td>"), "quirk count");
        assert!(page.contains("Content-Security-Policy") && page.contains("default-src 'none'"));
        for landmark in ["<header>", "<main>", "<footer>", "scope=\"col\""] {
            assert!(page.contains(landmark), "{landmark}");
        }
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "no external reference"
        );
    }

    #[test]
    fn an_upload_set_aside_says_which_file_and_why() {
        let page = render_set_aside(
            "export.xlsx",
            "not part of a OneRoster package: upload a .zip",
            chrono::Utc::now(),
        );
        assert!(page.contains("export.xlsx"));
        assert!(page.contains("not part of a OneRoster package"));
        assert!(page.contains(oneroster::explain::explain("set_aside").unwrap()));
        assert!(page.contains("Nothing was changed"));
    }

    #[test]
    fn a_set_aside_page_names_no_run() {
        let page = render_set_aside("a.xlsx", "why", chrono::Utc::now());
        assert!(page.contains("Upload <code>a.xlsx</code>, set aside unread at "));
        assert!(!page.contains("Run <code>"), "no run was made: {page}");
    }

    fn held_run() -> RunRecord {
        use roster::run::{HoldReason, RunIssue, RunSource, RunStatus};
        let source = RunSource {
            kind: "csv".into(),
            reference: "district.zip".into(),
        };
        let mut run = RunRecord::start("t<1>", source, chrono::Utc::now());
        run.status = RunStatus::Held;
        run.counts.insert("classes".into(), Default::default());
        run.hold.insert(
            "classes".into(),
            HoldReason {
                active_before: 200,
                would_archive: 150,
                would_change_identity: 0,
                incoming_rows: 50,
                rejected_rows: 0,
                message: "would archive 150 of 200 <classes>".into(),
            },
        );
        run.errors.push(RunIssue {
            file: "classes".into(),
            line: Some(4),
            column: Some("classType".into()),
            code: "invalid_enum".into(),
            message: "not a class type".into(),
            record: None,
        });
        run.error_count = 3;
        run
    }

    #[test]
    fn a_held_run_shows_its_counts_hold_and_own_errors() {
        let run = held_run();
        let page = render(Some(&run), None);
        assert!(page.contains("Roster file report: t&lt;1&gt; — held"));
        assert!(page.contains("<strong>Held.</strong> Nothing was changed yet"));
        assert!(page.contains("What this run would apply once approved"));
        assert!(page.contains("<th scope=\"row\">classes</th>"));
        assert!(page.contains("Held (classes): would archive 150 of 200 &lt;classes&gt;."));
        assert!(page.contains("Errors (3)") && page.contains("The first 1 of 3 are listed."));
        assert!(page.contains("classes.csv") && page.contains("<code>invalid_enum</code>"));
        assert!(page.contains(oneroster::explain::explain("invalid_enum").unwrap()));
        let with_validation = render(Some(&run), Some(&rejected()));
        assert!(
            !with_validation.contains("not a class type"),
            "the validation's errors, not the run's copy of them"
        );
    }

    #[test]
    fn control_characters_are_shown_not_emitted() {
        assert_eq!(escape("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(escape("\"'&"), "&quot;&#39;&amp;");
    }
}
