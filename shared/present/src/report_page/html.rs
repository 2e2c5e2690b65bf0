//! The page's markup, as `maud` templates: checked when compiled, and every
//! interpolated string escaped. A value from a delivery goes through [`Text`],
//! which also shows control characters instead of emitting them.

use super::escape_into;
use super::findings::{Finding, Findings};
use super::outcome::{Origin, Outcome};
use maud::{html, Markup, PreEscaped, Render, DOCTYPE};
use roster::run::{KindCounts, RunRecord, RunStatus};

/// Loads nothing: no script, image, frame, font, form target or base.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'";

/// Dark on light with sufficient contrast, outcome colours, and print.
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0 auto;max-width:70rem;padding:1rem}\
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}\
.outcome{padding:.75rem 1rem;border-left:.5rem solid #1a1a1a;background:#f2f2f2}\
.rejected,.failed{border-color:#a40000}.held,.stale,.discarded,.reverted{border-color:#7a4a00}.applied{border-color:#0a6b2d}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #767676;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#e6e6e6}td.n{text-align:right}code,.value{font-family:ui-monospace,monospace;word-break:break-all}\
@media print{body{max-width:none;font-size:11pt}.outcome{background:none}th{background:none}}";

/// The column headers of the files table, the errors table and the quirks table.
const FILE_COLUMNS: [&str; 7] = [
    "File", "Mode", "Rows", "Accepted", "Rejected", "Skipped", "Warnings",
];
const ERROR_COLUMNS: [&str; 5] = ["File", "Line", "Column", "Value", "What is wrong"];
const QUIRK_COLUMNS: [&str; 6] = [
    "File",
    "First line",
    "Column",
    "First value",
    "What was tolerated",
    "Times",
];
/// The first two headers where records were pulled from a OneRoster API.
const API_PLACE_COLUMNS: [&str; 2] = ["Collection", "Record (sourcedId, page)"];

/// `columns`, with the place named as a pulled record when `findings` has one.
fn place_columns<const N: usize>(
    columns: [&'static str; N],
    findings: &[Finding],
) -> [&'static str; N] {
    let mut columns = columns;
    if findings.iter().any(|f| f.record.is_some()) {
        columns[..2].copy_from_slice(&API_PLACE_COLUMNS);
    }
    columns
}

/// Text from a delivery or the store, escaped for HTML, control characters shown.
struct Text<'a>(&'a str);

impl Render for Text<'_> {
    fn render_to(&self, buffer: &mut String) {
        escape_into(self.0, buffer);
    }
}

/// The whole page: the outcome, a run's counts, and the findings.
pub(super) fn page(
    outcome: &Outcome,
    run: Option<&RunRecord>,
    findings: Option<&Findings>,
) -> Markup {
    let title = outcome.title();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(CSP);
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (Text(&title)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { (Text(&title)) }
                    @if let Some(origin) = &outcome.origin { (origin_line(origin)) }
                }
                main {
                    section aria-labelledby="outcome" {
                        h2 #outcome { "Outcome" }
                        p class={ "outcome " (outcome.word) } {
                            strong { (outcome.headline()) "." } " "
                            @if let Some(decision) = &outcome.decision { (decision) " " }
                            (outcome.next_step)
                        }
                    }
                    @if let Some(run) = run.filter(|r| !r.counts.is_empty()) { (counts(run)) }
                    @if let Some(findings) = findings {
                        (files(findings))
                        (errors(findings))
                        (quirks(findings))
                    }
                }
                footer {
                    p { "Codes are explained in plain words beside each finding. This page holds only what your own file contained; it never shows a password." }
                }
            }
        }
    }
}

/// Where the report came from, under the title.
fn origin_line(origin: &Origin) -> Markup {
    let when = |at: &chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    match origin {
        Origin::Run {
            id,
            delivery,
            started,
        } => html! {
            p { "Run " code { (Text(id)) } ", " (Text(delivery)) " delivery, started " (when(started)) "." }
        },
        Origin::SetAside { file, at } => html! {
            p { "Upload " code { (Text(file)) } ", set aside unread at " (when(at)) "." }
        },
    }
}

/// The head row of a table.
fn head_row(columns: &[&str]) -> Markup {
    html! { thead { tr { @for c in columns { th scope="col" { (c) } } } } }
}

/// A run's counts per type, and what it held, archived as ended or did not follow.
fn counts(run: &RunRecord) -> Markup {
    let held = run.status == RunStatus::Held;
    let caption = if held {
        "What this run would apply once approved"
    } else {
        "What this run applied"
    };
    let archived = if held {
        "Would be archived as ended"
    } else {
        "Archived as ended"
    };
    let mut columns = vec!["Type"];
    columns.extend(KindCounts::SHOWN);
    html! {
        section aria-labelledby="counts" {
            h2 #counts { "Records by type" }
            table {
                caption { (caption) }
                (head_row(&columns))
                tbody {
                    @for (kind, c) in run.counts_by_kind() {
                        tr { th scope="row" { (kind) } @for n in c.shown() { td.n { (n) } } }
                    }
                }
            }
            @for (kind, hold) in &run.hold {
                p { "Held (" (Text(kind)) "): " (Text(&hold.message)) "." }
            }
            @if let Some(line) = crate::notice::rekey_line(run) {
                p { (Text(&line)) }
            }
            @for line in crate::notice::school_hold_lines(run) {
                p { (Text(&line)) }
            }
            @for (kind, ended) in &run.mass_ended {
                p { (archived) " (" (Text(kind)) "): " (Text(ended)) "; their school year is over by the dates we hold." }
            }
            @for note in &run.calendar_notes {
                p { "Your file's dates, not followed: " (Text(note)) "." }
            }
        }
    }
}

/// The counts per file, when there are files.
fn files(findings: &Findings) -> Markup {
    if findings.files.is_empty() {
        return html! {};
    }
    html! {
        section aria-labelledby="files" {
            h2 #files { "Files" }
            table {
                (head_row(&FILE_COLUMNS))
                tbody {
                    @for (name, f) in &findings.files {
                        tr {
                            th scope="row" { (Text(name)) ".csv" }
                            td { (Text(&f.mode)) }
                            @for n in [f.rows, f.accepted, f.rejected, f.skipped, f.warnings] {
                                td.n { (n) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One finding's row: file, line, column, value (never a password), the
/// code with its explanation and the finding's own words; a quirk's count.
fn finding_row(finding: &Finding, with_count: bool) -> Markup {
    let explained = oneroster::explain::explain(&finding.code).unwrap_or("");
    html! {
        tr {
            td { (Text(&finding.file_name())) }
            @if finding.record.is_some() { td { (Text(&finding.place())) } } @else { td.n { (finding.place()) } }
            td { (Text(finding.column.as_deref().unwrap_or(""))) }
            td.value { (Text(finding.shown_value())) }
            td { code { (Text(&finding.code)) } br; (explained) " " (Text(&finding.message)) }
            @if with_count { td.n { (finding.count.unwrap_or(1)) } }
        }
    }
}

/// Every listed error (and how many there are in all).
fn errors(findings: &Findings) -> Markup {
    let total = findings.error_total();
    let listed = findings.errors.len();
    html! {
        section aria-labelledby="errors" {
            h2 #errors { "Errors (" (total) ")" }
            @if listed == 0 {
                p { "None." }
            } @else {
                @if total > listed as u64 {
                    p { "The first " (listed) " of " (total) " are listed." }
                }
                table {
                    (head_row(&place_columns(ERROR_COLUMNS, &findings.errors)))
                    tbody { @for e in &findings.errors { (finding_row(e, false)) } }
                }
            }
        }
    }
}

/// The tolerated quirks with their counts, when there are any.
fn quirks(findings: &Findings) -> Markup {
    if findings.warnings.is_empty() {
        return html! {};
    }
    html! {
        section aria-labelledby="quirks" {
            h2 #quirks { "Tolerated quirks" }
            p { "These were read anyway; tidying the export removes them." }
            table {
                (head_row(&place_columns(QUIRK_COLUMNS, &findings.warnings)))
                tbody { @for w in &findings.warnings { (finding_row(w, true)) } }
            }
        }
    }
}
