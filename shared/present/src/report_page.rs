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

use roster::run::{KindCounts, RunRecord, RunStatus};
use serde_json::Value;
use std::fmt::Write as _;

/// The page's file name beside `report.json`.
pub const PAGE_FILE: &str = "report.html";

/// The page for an upload set aside without being read (not a package, a
/// tenant not configured or disabled): the file, when, and why.
pub fn render_set_aside(file: &str, reason: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let mut run = RunRecord::start(
        "",
        roster::run::RunSource {
            kind: "upload".into(),
            reference: file.to_string(),
        },
        at,
    );
    run.run_id = format!("(none: {file} was set aside unread)");
    run.errors.push(roster::run::RunIssue {
        file: file.to_string(),
        line: None,
        column: None,
        code: "set_aside".into(),
        message: reason.to_string(),
    });
    run.error_count = 1;
    run.status = RunStatus::Rejected;
    render(Some(&run), None)
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
    let validation: Option<Value> = serde_json::from_slice(&std::fs::read(report)?).ok();
    let page = report.with_file_name(PAGE_FILE);
    std::fs::write(&page, render(Some(run), validation.as_ref()))?;
    Ok(Some(page))
}

/// HTML-escapes `text` (element content and attribute values).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
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
    out
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0 auto;max-width:70rem;padding:1rem}\
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}\
.outcome{padding:.75rem 1rem;border-left:.5rem solid #1a1a1a;background:#f2f2f2}\
.rejected,.failed{border-color:#a40000}.held,.stale{border-color:#7a4a00}.applied{border-color:#0a6b2d}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #767676;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#e6e6e6}td.n{text-align:right}code,.value{font-family:ui-monospace,monospace;word-break:break-all}\
@media print{body{max-width:none;font-size:11pt}.outcome{background:none}th{background:none}}";

/// The head of an errors table (a validation's, or a run's own).
const ERROR_TABLE_HEAD: &str = "<table><thead><tr><th scope=\"col\">File</th><th scope=\"col\">Line</th><th scope=\"col\">Column</th><th scope=\"col\">Value</th><th scope=\"col\">What is wrong</th></tr></thead><tbody>";

/// The next step for a validation without a run.
fn sentence(status: Option<RunStatus>, valid: Option<bool>) -> &'static str {
    match (status, valid) {
        (None, Some(false)) => "Nothing was changed. Please correct the errors below in your student information system or in ClassLink's export, then send the file again.",
        (None, Some(true)) => "The file can be imported. Rows with errors below are left out; the rest would be applied.",
        _ => "",
    }
}

/// The page for a stored run (`run`) and/or a validation report (the JSON of
/// `oneroster::ValidationReport`, as in `report.json`).
pub fn render(run: Option<&RunRecord>, validation: Option<&Value>) -> String {
    let mut h = String::new();
    let status = run.map(|r| r.status);
    let valid = validation.and_then(|v| v["ok"].as_bool());
    let outcome = match (status, valid) {
        (Some(s), _) => s.as_str().to_string(),
        (None, Some(true)) => "acceptable".into(),
        (None, Some(false)) => "rejected".into(),
        (None, None) => "unknown".into(),
    };
    let next = run
        .map(crate::notice::next_step)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| sentence(status, valid));
    let title = match run {
        Some(r) if !r.tenant.is_empty() => {
            format!("Roster file report: {} — {outcome}", r.tenant)
        }
        Some(_) => format!("Roster file report — {outcome}"),
        None => format!("Roster file report — {outcome}"),
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\">\
<title>{}</title><style>{STYLE}</style></head><body>\n<header><h1>{}</h1>",
        escape(&title),
        escape(&title)
    );
    if let Some(r) = run {
        let _ = write!(
            h,
            "<p>Run <code>{}</code>, {} delivery, started {}.</p>",
            escape(&r.run_id),
            escape(&r.source.kind),
            escape(&r.started_at.format("%Y-%m-%d %H:%M UTC").to_string())
        );
    }
    let _ = write!(
        h,
        "</header>\n<main>\n<section aria-labelledby=\"outcome\"><h2 id=\"outcome\">Outcome</h2><p class=\"outcome {}\"><strong>{}.</strong> {}</p></section>\n",
        escape(&outcome),
        escape(&capitalise(&outcome)),
        escape(next)
    );
    if let Some(r) = run.filter(|r| !r.counts.is_empty()) {
        counts_table(&mut h, r);
    }
    if let Some(v) = validation {
        files_table(&mut h, v);
        errors_table(&mut h, v);
        quirks_table(&mut h, v);
    } else if let Some(r) = run.filter(|r| !r.errors.is_empty()) {
        run_errors_table(&mut h, r);
    }
    h.push_str("</main>\n<footer><p>Codes are explained in plain words beside each finding. This page holds only what your own file contained; it never shows a password.</p></footer>\n</body></html>\n");
    h
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn counts_table(h: &mut String, r: &RunRecord) {
    let caption = if r.status == RunStatus::Held {
        "What this run would apply once approved"
    } else {
        "What this run applied"
    };
    let _ = write!(h, "<section aria-labelledby=\"counts\"><h2 id=\"counts\">Records by type</h2><table><caption>{caption}</caption><thead>");
    h.push_str("<tr><th scope=\"col\">Type</th>");
    for name in KindCounts::SHOWN {
        let _ = write!(h, "<th scope=\"col\">{name}</th>");
    }
    h.push_str("</tr></thead><tbody>");
    for (kind, c) in r.counts_by_kind() {
        let _ = write!(h, "<tr><th scope=\"row\">{kind}</th>");
        for n in c.shown() {
            let _ = write!(h, "<td class=\"n\">{n}</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    for (kind, hold) in &r.hold {
        let _ = write!(
            h,
            "<p>Held ({}): {}.</p>",
            escape(kind),
            escape(&hold.message)
        );
    }
    let archived = if r.status == RunStatus::Held {
        "Would be archived as ended"
    } else {
        "Archived as ended"
    };
    for (kind, ended) in &r.mass_ended {
        let _ = write!(
            h,
            "<p>{archived} ({}): {}; their school year is over by the dates we hold.</p>",
            escape(kind),
            escape(ended)
        );
    }
    for note in &r.calendar_notes {
        let _ = write!(
            h,
            "<p>Your file's dates, not followed: {}.</p>",
            escape(note)
        );
    }
    h.push_str("</section>\n");
}

fn num(v: &Value) -> String {
    v.as_u64().map(|n| n.to_string()).unwrap_or_default()
}

fn files_table(h: &mut String, v: &Value) {
    let Some(files) = v["files"].as_object().filter(|f| !f.is_empty()) else {
        return;
    };
    h.push_str("<section aria-labelledby=\"files\"><h2 id=\"files\">Files</h2><table><thead><tr><th scope=\"col\">File</th><th scope=\"col\">Mode</th><th scope=\"col\">Rows</th><th scope=\"col\">Accepted</th><th scope=\"col\">Rejected</th><th scope=\"col\">Skipped</th><th scope=\"col\">Warnings</th></tr></thead><tbody>");
    for (name, f) in files {
        let _ = write!(
            h,
            "<tr><th scope=\"row\">{}.csv</th><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(name),
            escape(f["mode"].as_str().unwrap_or("")),
            num(&f["rows"]),
            num(&f["accepted"]),
            num(&f["rejected"]),
            num(&f["skipped"]),
            num(&f["warnings"])
        );
    }
    h.push_str("</tbody></table></section>\n");
}

fn file_name(file: &str) -> String {
    if file.contains('.') || file == "package" {
        file.to_string()
    } else {
        format!("{file}.csv")
    }
}

/// One finding's row: file, line, column, value (never a password), code
/// with its explanation, and the finding's own message.
fn issue_row(h: &mut String, i: &Value, with_count: bool) {
    let column = i["column"].as_str().unwrap_or("");
    let value = if column.eq_ignore_ascii_case("password") {
        String::new()
    } else {
        i["value"].as_str().map(escape).unwrap_or_default()
    };
    let code = i["code"].as_str().unwrap_or("");
    let explained = oneroster::explain::explain(code).unwrap_or("");
    let _ = write!(
        h,
        "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"value\">{}</td><td><code>{}</code><br>{} {}</td>",
        escape(&file_name(i["file"].as_str().unwrap_or(""))),
        num(&i["line"]),
        escape(column),
        value,
        escape(code),
        escape(explained),
        escape(i["message"].as_str().unwrap_or(""))
    );
    if with_count {
        let _ = write!(
            h,
            "<td class=\"n\">{}</td>",
            i["count"].as_u64().unwrap_or(1)
        );
    }
    h.push_str("</tr>");
}

fn errors_table(h: &mut String, v: &Value) {
    let errors = v["errors"].as_array().cloned().unwrap_or_default();
    let total = v["error_count"].as_u64().unwrap_or(errors.len() as u64);
    let _ = write!(
        h,
        "<section aria-labelledby=\"errors\"><h2 id=\"errors\">Errors ({total})</h2>"
    );
    if errors.is_empty() {
        h.push_str("<p>None.</p></section>\n");
        return;
    }
    if total > errors.len() as u64 {
        let _ = write!(
            h,
            "<p>The first {} of {total} are listed.</p>",
            errors.len()
        );
    }
    h.push_str(ERROR_TABLE_HEAD);
    for e in &errors {
        issue_row(h, e, false);
    }
    h.push_str("</tbody></table></section>\n");
}

fn quirks_table(h: &mut String, v: &Value) {
    let Some(warnings) = v["warnings"].as_array().filter(|w| !w.is_empty()) else {
        return;
    };
    h.push_str("<section aria-labelledby=\"quirks\"><h2 id=\"quirks\">Tolerated quirks</h2><p>These were read anyway; tidying the export removes them.</p><table><thead><tr><th scope=\"col\">File</th><th scope=\"col\">First line</th><th scope=\"col\">Column</th><th scope=\"col\">First value</th><th scope=\"col\">What was tolerated</th><th scope=\"col\">Times</th></tr></thead><tbody>");
    for w in warnings {
        issue_row(h, w, true);
    }
    h.push_str("</tbody></table></section>\n");
}

fn run_errors_table(h: &mut String, r: &RunRecord) {
    let _ = write!(
        h,
        "<section aria-labelledby=\"errors\"><h2 id=\"errors\">Errors ({})</h2>{ERROR_TABLE_HEAD}",
        r.error_count
    );
    for e in &r.errors {
        let issue = serde_json::json!({"file": e.file, "line": e.line, "column": e.column, "code": e.code, "message": e.message});
        issue_row(h, &issue, false);
    }
    h.push_str("</tbody></table></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rejected() -> Value {
        json!({
            "ok": false,
            "files": {"users": {"mode": "bulk", "imported": true, "rows": 3, "accepted": 1, "rejected": 2, "skipped": 0, "warnings": 1}},
            "errors": [
                {"file": "users", "line": 2, "column": "email", "value": "<script>alert(1)</script>", "code": "missing_value", "message": "email is empty", "severity": "error"},
                {"file": "users", "line": 3, "column": "password", "value": "hunter2", "code": "invalid_enum", "message": "bad", "severity": "error"}
            ],
            "error_count": 5,
            "warnings": [{"file": "users", "line": 2, "column": "role", "value": "Teacher", "code": "enum_case", "message": "read as teacher", "severity": "warning", "count": 7}]
        })
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
    fn control_characters_are_shown_not_emitted() {
        assert_eq!(escape("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(escape("\"'&"), "&quot;&#39;&amp;");
    }
}
