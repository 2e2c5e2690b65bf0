//! An API run's findings told as what the district sent. The pull is read
//! from temporary CSV files the district never saw, so the reader's findings
//! name lines of them (`users.csv:2`); here each becomes the record the
//! district's API sent — its collection, the page (`offset`) and its
//! `sourcedId` — in the validation report, the run's errors and its message.
//! Collections the API declined are added as warnings and delivery notes.

use oneroster::report::{ApiLocation, Issue, Severity};
use oneroster::v1p2::columns::ROLES_FILE;
use oneroster::IssueCode;
use oneroster_rest::origins::{locate, locate_roles, Origins, RoleOrigins};
use oneroster_rest::pull::PullSummary;
use roster::run::RunRecord;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

/// The records behind (collection, line) pairs.
type Located = BTreeMap<(String, u64), ApiLocation>;

/// Rewrites `run` and its validation report at `report` (when there is one)
/// for a pull written to `folder` as `summary` says.
pub fn tell_as_sent(
    run: &mut RunRecord,
    report: Option<&Path>,
    folder: &Path,
    summary: &PullSummary,
) -> std::io::Result<()> {
    let mut json: Option<Value> = match report {
        Some(path) => Some(serde_json::from_slice(&std::fs::read(path)?)?),
        None => None,
    };
    let mut names: Vec<&str> = summary.collections.keys().map(String::as_str).collect();
    if role_origins(summary).is_some() {
        names.push(ROLES_FILE);
    }
    let mut wanted: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut want_text = |file: &str, text: &str| {
        for (_, name, line) in csv_mentions(text, &names) {
            if let Some(line) = line {
                wanted.insert((name.to_string(), line));
            }
        }
        if names.contains(&file) {
            for (_, line) in line_mentions(text) {
                wanted.insert((file.to_string(), line));
            }
        }
    };
    want_text("", &run.message);
    for e in &run.errors {
        want_text(&e.file, &e.message);
    }
    for issue in json.iter().flat_map(report_issues) {
        let file = issue["file"].as_str().unwrap_or_default();
        want_text(file, issue["message"].as_str().unwrap_or_default());
    }
    for e in &run.errors {
        if let Some(line) = e.line {
            wanted.insert((e.file.clone(), line));
        }
    }
    for issue in json.iter().flat_map(report_issues) {
        if let (Some(file), Some(line)) = (issue["file"].as_str(), issue["line"].as_u64()) {
            wanted.insert((file.to_string(), line));
        }
    }
    let located = resolve(folder, summary, &wanted)?;
    let reword = |file: &str, text: &str| reword(file, text, &names, &located);
    run.message = reword("", &run.message);
    for e in &mut run.errors {
        e.message = reword(&e.file, &e.message);
        if let Some(record) = e.line.and_then(|l| located.get(&(e.file.clone(), l))) {
            e.record = Some(record.clone());
            e.line = None;
        }
    }
    let declined = declined_warnings(summary);
    run.delivery_notes
        .extend(declined.iter().map(|w| w.message.clone()));
    if let (Some(path), Some(json)) = (report, json.as_mut()) {
        for issue in report_issues_mut(json) {
            relocate_issue(issue, &located, &reword);
        }
        if let Some(Value::Array(warnings)) = json.get_mut("warnings") {
            warnings.extend(declined.iter().filter_map(|w| serde_json::to_value(w).ok()));
        }
        std::fs::write(path, serde_json::to_vec_pretty(json)?)?;
    }
    Ok(())
}

/// The warning for each collection the API declined.
fn declined_warnings(summary: &PullSummary) -> Vec<Issue> {
    summary
        .collections
        .iter()
        .filter_map(|(name, c)| c.declined.map(|status| (name, status)))
        .map(|(name, status)| {
            Issue::new(
                Severity::Warning,
                name.as_str(),
                IssueCode::CollectionDeclined,
                format!("the district's OneRoster API answered HTTP {status} for {name}; this run left {name} out (nothing of it was archived or changed)"),
            )
        })
        .collect()
}

fn report_issues(json: &Value) -> impl Iterator<Item = &Value> {
    ["errors", "warnings"]
        .into_iter()
        .filter_map(|k| json.get(k).and_then(Value::as_array))
        .flatten()
}

fn report_issues_mut(json: &mut Value) -> Vec<&mut Value> {
    let Some(object) = json.as_object_mut() else {
        return Vec::new();
    };
    object
        .iter_mut()
        .filter(|(k, _)| *k == "errors" || *k == "warnings")
        .filter_map(|(_, v)| v.as_array_mut())
        .flatten()
        .collect()
}

/// One issue of the report JSON told as the record sent.
fn relocate_issue(issue: &mut Value, located: &Located, reword: &dyn Fn(&str, &str) -> String) {
    if let Some(message) = issue["message"].as_str() {
        let file = issue["file"].as_str().unwrap_or_default();
        issue["message"] = Value::String(reword(file, message));
    }
    let key = match (issue["file"].as_str(), issue["line"].as_u64()) {
        (Some(file), Some(line)) => (file.to_string(), line),
        _ => return,
    };
    if let Some(record) = located.get(&key) {
        issue["record"] = serde_json::to_value(record).unwrap_or(Value::Null);
        issue["line"] = Value::Null;
    }
}

/// The records on the wanted lines, read back from the pulled CSV files.
fn resolve(
    folder: &Path,
    summary: &PullSummary,
    wanted: &BTreeSet<(String, u64)>,
) -> std::io::Result<Located> {
    let mut located = Located::new();
    // The wanted lines of the pulled file `name`, when it is there.
    let wanted_in = |name: &str| {
        let lines: BTreeSet<u64> = wanted
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, l)| *l)
            .collect();
        let csv = folder.join(format!("{name}.csv"));
        (!lines.is_empty() && csv.is_file()).then_some((lines, csv))
    };
    for (name, pulled) in &summary.collections {
        let Some((lines, csv)) = wanted_in(name) else {
            continue;
        };
        for (line, record) in locate(name, &pulled.origins, &csv, &lines)? {
            located.insert((name.clone(), line), record);
        }
    }
    let roles = role_origins(summary).zip(wanted_in(ROLES_FILE));
    if let Some(((users, roles), (lines, csv))) = roles {
        for (line, record) in locate_roles(users, roles, &csv, &lines)? {
            located.insert((ROLES_FILE.to_string(), line), record);
        }
    }
    Ok(located)
}

/// A 1.2 pull's users and where the rows of its `roles.csv` came from.
fn role_origins(summary: &PullSummary) -> Option<(&Origins, &RoleOrigins)> {
    let users = summary.collections.get("users")?;
    Some((&users.origins, users.role_origins.as_ref()?))
}

/// `text` (of a finding on `file`) with every `users.csv:4` of a pulled
/// collection told as the record sent (`users record `u4` (page at offset
/// 0)`), and every other mention of its temporary file as the collection
/// (`the users collection`; `roles.csv`, made of the users' `roles[]`, as
/// `the users' roles`). In a finding on a pulled file, `at line 3` (a row
/// of it) is told as the record too.
fn reword(file: &str, text: &str, names: &[&str], located: &Located) -> String {
    let mut mentions: Vec<(Range<usize>, String)> = csv_mentions(text, names)
        .into_iter()
        .map(|(range, name, line)| {
            let told = match line.and_then(|l| located.get(&(name.to_string(), l))) {
                Some(record) => record.render(),
                None if name == ROLES_FILE => "the users' roles".to_string(),
                None => format!("the {name} collection"),
            };
            (range, told)
        })
        .collect();
    if names.contains(&file) {
        for (range, line) in line_mentions(text) {
            if let Some(record) = located.get(&(file.to_string(), line)) {
                mentions.push((range, format!("at {}", record.render())));
            }
        }
        mentions.sort_by_key(|(range, _)| range.start);
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (range, told) in mentions {
        out.push_str(&text[from..range.start]);
        out.push_str(&told);
        from = range.end;
    }
    out.push_str(&text[from..]);
    out
}

/// Each `at line N` in `text` (a word of its own, outside a quoted
/// `value`): its byte range and N.
fn line_mentions(text: &str) -> Vec<(Range<usize>, u64)> {
    const AT_LINE: &str = "at line ";
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(AT_LINE) {
        let start = from + at;
        let digits_at = start + AT_LINE.len();
        let digits = text[digits_at..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        from = digits_at + digits;
        let word = !text[..start].ends_with(|c: char| c.is_alphanumeric());
        let quoted = text[..start].matches('`').count() % 2 == 1;
        if let (true, false, Ok(line)) = (word, quoted, text[digits_at..from].parse()) {
            found.push((start..from, line));
        }
    }
    found
}

/// Each `NAME.csv` or `NAME.csv:LINE` in `text` whose NAME is one of
/// `names`: its byte range, the name and the line.
fn csv_mentions<'t>(text: &'t str, names: &[&str]) -> Vec<(Range<usize>, &'t str, Option<u64>)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(".csv") {
        let dot = from + at;
        let start = text[..dot]
            .trim_end_matches(|c: char| c.is_ascii_alphanumeric())
            .len();
        let mut end = dot + ".csv".len();
        from = end;
        if text[end..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
            continue;
        }
        let mut line = None;
        if let Some(rest) = text[end..].strip_prefix(':') {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                line = rest[..digits].parse().ok();
                end += 1 + digits;
            }
        }
        let name = &text[start..dot];
        if names.contains(&name) {
            found.push((start..end, name, line));
            from = end;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located() -> Located {
        Located::from([(
            ("users".to_string(), 4),
            ApiLocation {
                collection: "users".into(),
                offset: 200,
                sourced_id: "u-4".into(),
                field: None,
            },
        )])
    }

    #[test]
    fn temporary_file_lines_become_the_records_sent() {
        let names = ["users", "classes"];
        assert_eq!(
            reword(
                "users",
                "package rejected: users.csv:4 [role] invalid_enum: x",
                &names,
                &located()
            ),
            "package rejected: users record `u-4` (page at offset 200) [role] invalid_enum: x"
        );
        assert_eq!(
            reword(
                "users",
                "`604863` is not in users.csv; see classes.csv:9",
                &names,
                &located()
            ),
            "`604863` is not in the users collection; see the classes collection"
        );
        // Other files and words are left alone.
        for text in [
            "manifest.csv:2 bad",
            "myusers.csvx",
            "résumé.csv:3",
            "users.csv2",
        ] {
            assert_eq!(reword("users", text, &names, &located()), text);
        }
    }

    #[test]
    fn role_rows_are_told_as_the_users_that_held_them() {
        let names = ["users", ROLES_FILE];
        let mut located = located();
        for (line, n) in [(7, 1), (6, 0)] {
            located.insert(
                (ROLES_FILE.into(), line),
                ApiLocation {
                    collection: "users".into(),
                    offset: 2,
                    sourced_id: "t1".into(),
                    field: Some(format!("roles[{n}]")),
                },
            );
        }
        assert_eq!(
            reword(
                ROLES_FILE,
                "user `t1` has a second primary role at org `s1` (the first is at line 6); exactly one must be",
                &names,
                &located
            ),
            "user `t1` has a second primary role at org `s1` (the first is at users record `t1` (page at offset 2), roles[0]); exactly one must be"
        );
        assert_eq!(
            reword(
                "users",
                "the user's roles break a OneRoster 1.2 rule (roles.csv:7 multiple_primary_roles); user `x` has no accepted row in roles.csv",
                &names,
                &located
            ),
            "the user's roles break a OneRoster 1.2 rule (users record `t1` (page at offset 2), roles[1] multiple_primary_roles); user `x` has no accepted row in the users' roles"
        );
        assert_eq!(
            reword("users", "at line 7", &names, &located),
            "at line 7",
            "a line of the file the finding is on, not of another"
        );
    }

    #[test]
    fn a_line_a_finding_names_in_its_own_file_is_the_record_sent() {
        let names = ["users", "classes"];
        assert_eq!(
            reword(
                "users",
                "sourcedId `u-4` also appears at line 4; every copy is rejected",
                &names,
                &located()
            ),
            "sourcedId `u-4` also appears at users record `u-4` (page at offset 200); every copy is rejected"
        );
    }

    #[test]
    fn at_line_inside_a_word_or_a_quoted_value_is_left_alone() {
        let found = |text| {
            line_mentions(text)
                .into_iter()
                .map(|(_, l)| l)
                .collect::<Vec<_>>()
        };
        assert_eq!(found("also appears at line 4; at line 5"), [4, 5]);
        assert_eq!(found("that line 4 and flat line 5"), Vec::<u64>::new());
        assert_eq!(found("sourcedId `x at line 4` also appears at line 9"), [9]);
    }

    #[test]
    fn mentions_are_found_with_their_lines() {
        let found = csv_mentions("a users.csv:12, users.csv: x", &["users"]);
        assert_eq!(
            found.iter().map(|(_, n, l)| (*n, *l)).collect::<Vec<_>>(),
            vec![("users", Some(12)), ("users", None)]
        );
    }
}
