//! Word to a district about a run (issue #14's notifications): which outcomes
//! are worth a message, and the message itself. Pure: publishing it (SNS,
//! with the tenant as a message attribute for the subscribers' filter
//! policies) is the caller's. A message names the tenant, the outcome, the
//! counts per type, the first validation errors by file, line, column and
//! code, what to do next, and the run id; never a value from the data, so no
//! name, email or other personal data of students or staff.
//!
//! The notice is plain text (SNS email), written with `writeln!`: a template
//! library adds nothing to a few lines without markup. Every value in it that
//! a delivery or the store supplied (ids, file names, column headers, codes)
//! goes through [`shown`]: on one line (control characters, line and
//! paragraph separators and bidirectional overrides written as `\u{..}`), no
//! clickable link (`://` written `[:]//`), and at most [`NOTICE_VALUE_CHARS`]
//! characters, so a header such as `"\n<a href=http://evil>click</a>"`
//! cannot forge a line or a link of the message, nor make it endless.

use oneroster::report::escape_controls;
use roster::run::{RunRecord, RunStatus};
use roster::tenant::TenantConfig;
use std::fmt::Write as _;

/// How many validation errors a message lists.
pub const NOTICE_ERRORS: usize = 10;

/// The longest value a message shows, in characters (longer ones end in `…`).
pub const NOTICE_VALUE_CHARS: usize = 80;

/// The longest line of our own words around delivery values (a date note
/// naming a session) a message shows.
const NOTICE_NOTE_CHARS: usize = 240;

/// `value` as a notice shows it: one line, no link, at most
/// [`NOTICE_VALUE_CHARS`] characters (then `…`).
pub fn shown(value: &str) -> String {
    shown_at_most(value, NOTICE_VALUE_CHARS)
}

/// [`shown`], cut at `chars` characters.
fn shown_at_most(value: &str, chars: usize) -> String {
    let cut: String = value.chars().take(chars).collect();
    let mut out = escape_controls(&cut).replace("://", "[:]//");
    if cut.len() < value.len() {
        out.push('…');
    }
    out
}

/// A message about one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The tenant (the message attribute subscriptions filter on).
    pub tenant: String,
    /// The run's outcome (`rejected`, `held`, `failed`, `stale`, `applied`,
    /// and after an operator's decision `discarded` or `reverted`).
    pub outcome: String,
    /// A short subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// Whether a run's outcome is worth a message: rejected, held, failed and
/// stale runs always; applied runs when the tenant asked for them too (an
/// applied run that archived many records as ended asks for itself, and a
/// paused run with errors tells the district of them: see [`for_tenant`]).
pub fn worth_notice(status: RunStatus, applied_too: bool) -> bool {
    match status {
        RunStatus::Rejected | RunStatus::Held | RunStatus::Failed | RunStatus::Stale => true,
        RunStatus::Applied => applied_too,
        _ => false,
    }
}

/// The message a district's contacts get about `run`, if any: the tenant is
/// enabled (a disabled district is not mailed about the runs it refuses), has
/// contacts, and the outcome is worth a notice to it.
pub fn for_tenant(tenant: &TenantConfig, run: &RunRecord) -> Option<Notice> {
    (tenant.enabled
        && !tenant.notify_emails.is_empty()
        && (worth_notice(
            run.status,
            tenant.notify_applied
                || !run.mass_ended.is_empty()
                || !run.delivery_notes.is_empty()
                || run.held_apart.is_some(),
        ) || (run.status == RunStatus::Paused && run.error_count > 0)))
        .then(|| notice(run))
}

/// The message a district's contacts get when an operator decided about a
/// run (`rosterctl runs approve|discard|revert`): always, when the tenant is
/// enabled and has contacts. The district was told the run was held (or its
/// roster changed by it), so it hears what became of it.
pub fn for_decision(tenant: &TenantConfig, run: &RunRecord) -> Option<Notice> {
    (tenant.enabled && !tenant.notify_emails.is_empty()).then(|| notice(run))
}

/// The run's outcome in a word: its status, or `reverted` for a run a later
/// run undid and for the run that undid it.
pub fn outcome_word(run: &RunRecord) -> &'static str {
    if run.reverted_by.is_some() || run.reverts.is_some() {
        "reverted"
    } else {
        run.status.as_str()
    }
}

/// What an operator decided about `run`, in one sentence, when one did
/// (approved or discarded a held run, reverted an applied one). Ids only:
/// never the operator's name.
pub fn decision(run: &RunRecord) -> Option<String> {
    if let Some(by) = &run.reverted_by {
        return Some(format!(
            "The changes of this run were undone by run {}: the records it wrote are back as they were before it.",
            shown(by)
        ));
    }
    if let Some(undone) = &run.reverts {
        return Some(format!(
            "This run undid run {}: the records that run wrote are back as they were before it.",
            shown(undone)
        ));
    }
    run.decided_by.as_ref()?;
    match run.status {
        RunStatus::Applied => Some("This run was held, then approved by our team and applied.".into()),
        RunStatus::Discarded => Some("This run was held, then discarded by our team: nothing of it was applied.".into()),
        RunStatus::Stale => Some("This run was held; when it was approved, a newer delivery had been applied already, so it was not applied.".into()),
        _ => None,
    }
}

/// What the district should do next about `run`, in one sentence (empty for outcomes that need nothing).
pub fn next_step(run: &RunRecord) -> &'static str {
    if outcome_word(run) == "reverted" {
        return "Nothing needs doing. If the records should come back, send the file again and it is applied anew.";
    }
    if run.status == RunStatus::Applied && run.held_apart.is_some() {
        return "Your roster is up to date except for the schools below: this file would remove much of one school at once (as when a school's sharing in ClassLink is switched off), so that school's changes wait for a person. Please tell your Customer Success Manager whether the change is intended.";
    }
    if run.status == RunStatus::Held && run.held_from.is_some() {
        return "The rest of this delivery was applied; the changes of the schools below wait for a person, because the file would remove much of each at once. Please tell your Customer Success Manager whether the change is intended.";
    }
    next_step_for(run.status, &run.source.kind)
}

/// A re-key in a sentence: proposed (a held run whose users look re-keyed)
/// or applied (approved with the re-key).
pub fn rekey_line(run: &RunRecord) -> Option<String> {
    let rekey = run.rekey.as_ref()?;
    Some(match rekey.applied {
        Some(n) => format!(
            "Applied as a re-key: {n} users carry on under their new sourcedIds (their history in the product is kept)."
        ),
        None => format!(
            "The {}. We can apply it as a re-key so that each person keeps their history in the product; the proposed pairs can be sent to you to check.",
            rekey.sentence()
        ),
    })
}

/// The per-school hold in sentences: where the held part waits (or which
/// run applied the rest), then each held school's reason and numbers.
pub fn school_hold_lines(run: &RunRecord) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(held) = &run.held_apart {
        lines.push(format!(
            "Held apart for approval as run {}: the changes of the schools below.",
            shown(held)
        ));
    }
    if let Some(from) = &run.held_from {
        lines.push(format!(
            "This run holds the changes of the schools below; run {} applied the rest of the delivery.",
            shown(from)
        ));
    }
    for school in &run.held_schools {
        let numbers: Vec<String> = school
            .archives
            .iter()
            .map(|a| format!("{} {} of {}", a.kind, a.would_archive, a.active_before))
            .collect();
        lines.push(format!(
            "{} (would be archived: {}).",
            shown_at_most(&school.message, NOTICE_NOTE_CHARS),
            numbers.join(", ")
        ));
    }
    lines
}

/// What to do next about an outcome `status` of a delivery of kind
/// `delivery` (`csv`, `api`, `upload`), in one sentence.
pub fn next_step_for(status: RunStatus, delivery: &str) -> &'static str {
    match status {
        RunStatus::Rejected => "Nothing was changed. Please correct the errors below in your student information system or in ClassLink's export, then send the file again.",
        RunStatus::Held => "Nothing was changed yet: this file would remove or change many records at once, or many of its rows were rejected, so it waits for a person to approve it. Please tell your Customer Success Manager whether the change is intended.",
        RunStatus::Failed if delivery == "api" => "Nothing was changed: the pull from ClassLink's OneRoster API did not complete. If the Application Key, Secret or API URL changed in ClassLink, send the new ones to your Customer Success Manager; otherwise the next scheduled pull tries again.",
        RunStatus::Failed => "Nothing is assumed applied. We retry automatically; if this repeats, your Customer Success Manager will contact you.",
        RunStatus::Stale => "Nothing was changed: this file is older than one already applied. If it was sent again by mistake, nothing needs doing.",
        RunStatus::Applied => "Your roster is up to date.",
        RunStatus::Discarded => "Nothing was changed: this delivery was not applied. If it was right after all, send it again; otherwise send the corrected file.",
        RunStatus::Paused if delivery == "api" => "Nothing was changed yet: your district's sync is paused (a pause window agreed with your Customer Success Manager); the first scheduled pull after the pause applies your roster as it is then. Errors listed below are worth correcting before then.",
        RunStatus::Paused => "Nothing was changed yet: your district's sync is paused (a pause window agreed with your Customer Success Manager); the newest file sent during the pause is applied when it ends. Errors listed below are worth correcting before then.",
        _ => "",
    }
}

/// The message about `run` (for a district's contacts).
pub fn notice(run: &RunRecord) -> Notice {
    let outcome = outcome_word(run).to_string();
    let (tenant, run_id) = (shown(&run.tenant), shown(&run.run_id));
    let subject = format!("Roster sync for {tenant}: {outcome} (run {run_id})");
    let mut body = format!(
        "District: {tenant}\nOutcome: {outcome}\nRun: {run_id}\nSource: {}\n\n",
        shown(&run.source.kind),
    );
    if let Some(decision) = decision(run) {
        let _ = writeln!(body, "{decision}");
    }
    let _ = writeln!(body, "{}", next_step(run));
    if !run.counts.is_empty() {
        body.push_str("\nRecords by type (inserted / updated / archived / ended / un-archived / rejected rows):\n");
        for (kind, c) in run.counts_by_kind() {
            let counts = c.shown().map(|n| n.to_string());
            let _ = writeln!(body, "  {}: {}", shown(kind), counts.join(" / "));
        }
    }
    if run.status == RunStatus::Held {
        for (kind, hold) in &run.hold {
            let _ = writeln!(body, "\nHeld ({}): {}.", shown(kind), hold.message);
        }
    }
    if let Some(line) = rekey_line(run) {
        let _ = writeln!(body, "\n{line}");
    }
    let schools = school_hold_lines(run);
    if !schools.is_empty() {
        let _ = writeln!(body, "\n{}", schools.join("\n  "));
    }
    if !run.mass_ended.is_empty() {
        let archived = if run.status == RunStatus::Held {
            "Would be archived as ended"
        } else {
            "Archived as ended"
        };
        let _ = writeln!(body, "\n{archived}, beyond the safety hold's limits (their school year is over by the dates we hold; please check this is the rollover you expect):");
        for (kind, numbers) in &run.mass_ended {
            let _ = writeln!(body, "  {}: {numbers}", shown(kind));
        }
    }
    if !run.calendar_notes.is_empty() {
        body.push_str("\nWhat the delivery says of dates that we did not follow:\n");
        for note in &run.calendar_notes {
            let _ = writeln!(body, "  {}", shown_at_most(note, NOTICE_NOTE_CHARS));
        }
    }
    if !run.delivery_notes.is_empty() {
        body.push_str("\nWhat this delivery did not bring (this run went on without it):\n");
        for note in &run.delivery_notes {
            let _ = writeln!(body, "  {}", shown_at_most(note, NOTICE_NOTE_CHARS));
        }
    }
    if run.error_count > 0 {
        let _ = writeln!(
            body,
            "\n{} error(s); the first {}:",
            run.error_count,
            run.errors.len().min(NOTICE_ERRORS)
        );
        for e in run.errors.iter().take(NOTICE_ERRORS) {
            // A record pulled from the district's API is named as it was sent;
            // a row of a file by the file the district knows (`users.csv`).
            let place = match &e.record {
                Some(record) => shown_at_most(&record.render(), NOTICE_NOTE_CHARS),
                None => format!(
                    "{} line {}",
                    shown(&e.file_name()),
                    e.line.map_or("-".to_string(), |l| l.to_string())
                ),
            };
            let _ = writeln!(
                body,
                "  {place} column {}: {}",
                e.column.as_deref().map_or("-".to_string(), shown),
                shown(&e.code)
            );
        }
    }
    Notice {
        tenant: run.tenant.clone(),
        outcome,
        subject,
        body,
    }
}

#[cfg(test)]
mod tests;
