//! "Why can't this teacher get in?" in words a support engineer can paste to
//! a district: the user's state, the tenant's sign-in switches, each class and
//! whether sign-in lists it, the last sign-ins, and what to do next.

use roster::explain::{Explanation, RunSeen, UserFacts};
use roster::sign_in::{ClassAtSignIn, ClassVerdict, TermDates};
use roster::{ArchiveInfo, ArchiveReason, ArchivedBy};

/// The whole answer; with `class`, only that class's line among the classes.
pub fn render(e: &Explanation, class: Option<&str>) -> String {
    let mut out = format!("User `{}` of tenant {}\n", e.user_id, e.tenant);
    out.push_str(&format!("State: {}\n", state(e)));
    out.push_str(&format!("Sign-in: {}\n", switches(e)));
    out.push_str(&classes(e, class));
    out.push_str(&sign_ins(e));
    if e.user.is_none() {
        out.push_str(&runs(&e.recent_runs));
    }
    out.push_str("Next:\n");
    for step in next_steps(e, class) {
        out.push_str(&format!("  - {step}\n"));
    }
    out
}

/// The user's state in one sentence.
fn state(e: &Explanation) -> String {
    let Some(user) = &e.user else {
        return format!("the roster has never had `{}`.", e.user_id);
    };
    let role = if user.role.is_empty() {
        "user without a role"
    } else {
        &user.role
    };
    let mut text = match (&user.archive, user.provisional) {
        (Some(archive), _) => format!("an archived {role}: {}", archived(archive)),
        (None, true) => format!(
            "a provisional {role}, made at sign-in on {} and not yet delivered by a sync",
            day(user.first_seen_at)
        ),
        (None, false) => format!(
            "an active {role}, first delivered by run {} on {}, last written by run {}",
            user.first_seen_run,
            day(user.first_seen_at),
            user.updated_run
        ),
    };
    if let Some(new) = &user.rekey.rekeyed_to {
        text.push_str(&format!(
            "; the same person carries on as `{new}` (explain that id for their sign-in)"
        ));
    }
    if !user.rekey.previous_sourced_ids.is_empty() {
        let earlier: Vec<String> = user
            .rekey
            .previous_sourced_ids
            .iter()
            .map(|id| format!("`{id}`"))
            .collect();
        text.push_str(&format!(
            "; earlier sourcedIds {} (a sign-in by them finds this record)",
            earlier.join(", ")
        ));
    }
    if user.primary_admin {
        text.push_str("; a Primary Administrator");
    }
    if let Some(erasure) = &user.erasure {
        text.push_str(&format!("; {}", erasure.describe()));
    }
    text.push('.');
    text
}

/// Who archived a record, when and why.
pub fn archived(a: &ArchiveInfo) -> String {
    let run = a
        .run
        .as_deref()
        .map(|r| format!(" by run {r}"))
        .unwrap_or_default();
    let why = match (a.by, a.reason) {
        (ArchivedBy::Manual, _) => "archived by hand in the platform".to_string(),
        (ArchivedBy::Revert, _) => format!("archived{run}, a revert of the run that brought it"),
        (ArchivedBy::Sync, Some(ArchiveReason::Absent)) => {
            format!("archived{run}: the district's full (bulk) file left it out")
        }
        (ArchivedBy::Sync, Some(ArchiveReason::Ended)) => {
            format!("archived{run}: its school year or term was over")
        }
        (ArchivedBy::Sync, Some(ArchiveReason::Deleted)) => {
            format!("archived{run}: the district deleted it (tobedeleted in a delta file)")
        }
        (ArchivedBy::Sync, Some(ArchiveReason::Rekeyed)) => {
            format!("archived{run}: the district gave this person a new sourcedId (re-key approved by an operator)")
        }
        (ArchivedBy::Sync, None) => format!("archived{run}"),
    };
    format!("{why}, on {}", day(a.at))
}

fn day(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// The tenant's switches that sign-in reads.
fn switches(e: &Explanation) -> String {
    let s = &e.switches;
    let on = |b: bool| if b { "on" } else { "off" };
    let classlink = match &s.classlink_tenant_id {
        Some(id) => format!("ClassLink TenantId {id}"),
        None => "no ClassLink TenantId".to_string(),
    };
    let matching = if s.match_by_email {
        "by ClassLink's SourcedId, else email or username"
    } else {
        "by ClassLink's SourcedId only"
    };
    format!(
        "tenant {}, SSO {}, {classlink}; users matched {matching}; aides {}, administrators {}, provisional teachers {}.",
        if s.enabled { "enabled" } else { "disabled" },
        on(s.sso),
        on(s.aides),
        on(s.admin_sso),
        on(s.provision_teachers)
    )
}

/// One line per class (or only `only`'s).
fn classes(e: &Explanation, only: Option<&str>) -> String {
    let shown: Vec<&ClassAtSignIn> = e
        .classes
        .iter()
        .filter(|c| only.is_none_or(|id| c.class == id))
        .collect();
    let listed = listed_count(e);
    let mut out = match only {
        Some(id) if shown.is_empty() => {
            format!("Class {id}: `{}` has no enrollment in it.\n", e.user_id)
        }
        Some(_) => String::new(),
        None if e.classes.is_empty() => "Classes: none.\n".to_string(),
        None => format!(
            "Classes ({} enrolled, {listed} listed at sign-in on {}):\n",
            e.classes.len(),
            e.today
        ),
    };
    for c in shown {
        out.push_str(&format!("  - {}: {}\n", c.class, verdict(&c.verdict, e)));
    }
    out
}

/// Why a class is or is not listed.
fn verdict(v: &ClassVerdict, e: &Explanation) -> String {
    match v {
        ClassVerdict::Listed { terms } if terms.is_empty() => "listed at sign-in (no terms)".into(),
        ClassVerdict::Listed { terms } => format!(
            "listed at sign-in (its {} includes {})",
            term_list(&terms[current_term(terms, e.today)..][..1]),
            e.today
        ),
        ClassVerdict::NotCurrent { terms } => format!(
            "not listed: none of its terms includes {} ({})",
            e.today,
            term_list(terms)
        ),
        ClassVerdict::ClassArchived { archive } => {
            format!("not listed: the class is {}", archived(archive))
        }
        ClassVerdict::EnrollmentArchived { archive } => {
            format!("not listed: the enrollment is {}", archived(archive))
        }
        ClassVerdict::NotTeacher { role } => format!(
            "not listed: `{}` is enrolled as {role}, not teacher",
            e.user_id
        ),
        ClassVerdict::ClassMissing => "not listed: the roster has no such class".into(),
    }
}

/// Which of a listed class's terms includes `day` (an open end includes it).
fn current_term(terms: &[TermDates], day: chrono::NaiveDate) -> usize {
    terms
        .iter()
        .position(|t| t.start.is_none_or(|s| s <= day) && t.end.is_none_or(|e| day <= e))
        .unwrap_or(0)
}

fn term_list(terms: &[TermDates]) -> String {
    let text = |d: Option<chrono::NaiveDate>| d.map_or("?".to_string(), |d| d.to_string());
    terms
        .iter()
        .map(|t| format!("term {} {} to {}", t.term, text(t.start), text(t.end)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sign_ins(e: &Explanation) -> String {
    if e.sign_ins.is_empty() {
        return format!("Last sign-ins: none found for `{}` (attempts that found nobody: `rosterctl sso audit --tenant {}`).\n", e.user_id, e.tenant);
    }
    let mut out = "Last sign-ins:\n".to_string();
    for s in &e.sign_ins {
        let key = s
            .matched_by
            .as_deref()
            .map(|k| format!(", matched by {k}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  - {} {}{key} (reference {})\n",
            s.at.format("%Y-%m-%d %H:%M UTC"),
            s.outcome,
            s.request_id
        ));
    }
    out
}

fn runs(runs: &[RunSeen]) -> String {
    if runs.is_empty() {
        return "Deliveries: none yet.\n".into();
    }
    let mut out = "Newest deliveries, none of which brought this id:\n".to_string();
    for r in runs {
        let users = r
            .users
            .map(|u| {
                format!(
                    ", users: {} inserted, {} rejected, {} skipped",
                    u.inserted, u.rejected, u.skipped
                )
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "  - {} {} ({}, {}{users})\n",
            day(r.started_at),
            r.run_id,
            r.source,
            r.status.as_str()
        ));
    }
    out
}

/// How many classes sign-in lists (each once, however many enrollments name it).
fn listed_count(e: &Explanation) -> usize {
    let mut listed: Vec<&str> = e
        .classes
        .iter()
        .filter(|c| c.verdict.listed())
        .map(|c| c.class.as_str())
        .collect();
    listed.sort_unstable();
    listed.dedup();
    listed.len()
}

/// What to do, most important first.
pub fn next_steps(e: &Explanation, class: Option<&str>) -> Vec<String> {
    let s = &e.switches;
    let t = &e.tenant;
    let mut steps = Vec::new();
    if !s.enabled {
        steps.push(format!("The tenant is disabled: nobody signs in and nothing syncs (`rosterctl tenants update {t} --enabled true`)."));
    }
    if !s.sso {
        steps.push(format!("SSO is off for the tenant: nobody of {t} signs in with ClassLink (`rosterctl tenants update {t} --sso true`)."));
    }
    if s.classlink_tenant_id.is_none() {
        steps.push(format!("No ClassLink TenantId is set: sign-in cannot tell this district (`rosterctl tenants update {t} --classlink-tenant-id ID`)."));
    }
    match &e.user {
        None => steps.extend(unknown_user(e)),
        // Once the tenant stops everyone, that is what to fix first.
        Some(user) if !steps.is_empty() && user.archive.is_none() => {}
        Some(user) => steps.extend(known_user(e, user, class)),
    }
    steps
}

fn unknown_user(e: &Explanation) -> Vec<String> {
    let mut steps = vec![format!(
        "The district has not sent `{}`: if the person is in the SIS, ClassLink's Roster Server does not share them with this app. The district checks the app's sharing rules in ClassLink, and turns on *Unenrolled Users* if the person has no classes yet; the next sync brings them.",
        e.user_id
    )];
    if e.switches.provision_teachers {
        steps.push("Provisional teachers are on: a teacher ClassLink knows gets a provisional record at their first sign-in, and can sign in meanwhile.".into());
    }
    steps
}

fn known_user(e: &Explanation, user: &UserFacts, class: Option<&str>) -> Vec<String> {
    let id = &e.user_id;
    let t = &e.tenant;
    if user.role == "student" {
        return vec![
            "Students never sign in with ClassLink here; nothing to do for sign-in.".into(),
        ];
    }
    if let Some(archive) = &user.archive {
        let what = match (archive.by, archive.reason) {
            (ArchivedBy::Manual, _) => "It was archived by hand: the next sync that delivers the user brings them back.".to_string(),
            (ArchivedBy::Sync, Some(ArchiveReason::Deleted)) => "The district deleted the user: if they still teach, the district restores them in the SIS; the next sync brings them back.".to_string(),
            _ => "If they still teach, the district restores them in the SIS or in ClassLink's sharing for this app; the next sync brings them back, un-archived.".to_string(),
        };
        return vec![format!("Archived users cannot sign in. {what}")];
    }
    if !user.role_admitted {
        let why = match user.role.as_str() {
            "aide" => format!("Aides sign in only where the tenant lets them (`rosterctl tenants update {t} --sso-allow-aides true`)."),
            "administrator" => format!("Administrators use the admin portal; admin SSO is off (`rosterctl tenants update {t} --admin-sso true`)."),
            role => format!("The role `{role}` does not sign in here; the district gives `{id}` a teacher role in the SIS if they teach."),
        };
        return vec![why];
    }
    let listed = listed_count(e);
    let shown = class.and_then(|c| e.classes.iter().find(|x| x.class == c));
    match (class, shown) {
        (Some(c), None) => vec![format!("The district enrolls `{id}` as teacher of {c} in the SIS; the next sync lists the class.")],
        (Some(c), Some(x)) if !x.verdict.listed() => vec![format!("{c} is not listed because {}; the district's change in the SIS (an active teacher enrollment in a class of a current term) lists it after the next sync.", verdict(&x.verdict, e).trim_start_matches("not listed: "))],
        _ if listed == 0 => vec![format!("`{id}` can sign in but sees no class: the district enrolls them as teacher of a class of a current term in the SIS; the next sync lists it.")],
        _ => vec![format!("Nothing on our side stops `{id}`: they can sign in and see {listed} class(es). If ClassLink still refuses, check that ClassLink sends their SourcedId `{id}`, or match by email (`rosterctl tenants update {t} --sso-match-by-email true`).")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};
    use roster::explain::{SignInSeen, Switches};
    use roster::RunStatus;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn explanation(user: Option<UserFacts>, classes: Vec<ClassAtSignIn>) -> Explanation {
        Explanation {
            tenant: "d1".into(),
            switches: Switches {
                enabled: true,
                sso: true,
                classlink_tenant_id: Some("4242".into()),
                admin_sso: false,
                aides: false,
                match_by_email: false,
                provision_teachers: false,
            },
            user_id: "tch-1".into(),
            user,
            classes,
            sign_ins: Vec::new(),
            recent_runs: Vec::new(),
            today: date("2026-12-06"),
        }
    }

    fn teacher(archive: Option<ArchiveInfo>) -> UserFacts {
        let at = Utc.with_ymd_and_hms(2026, 9, 1, 6, 0, 0).unwrap();
        UserFacts {
            role: "teacher".into(),
            archive,
            provisional: false,
            primary_admin: false,
            role_admitted: true,
            first_seen_at: at,
            first_seen_run: "run-1".into(),
            updated_at: at,
            updated_run: "run-2".into(),
            rekey: Default::default(),
            erasure: None,
        }
    }

    fn class(id: &str, verdict: ClassVerdict) -> ClassAtSignIn {
        ClassAtSignIn {
            class: id.into(),
            enrollment: format!("en-{id}"),
            verdict,
        }
    }

    fn year(start: &str, end: &str) -> Vec<TermDates> {
        vec![TermDates {
            term: "y1".into(),
            start: Some(date(start)),
            end: Some(date(end)),
        }]
    }

    #[test]
    fn an_active_teacher_with_a_current_class_is_told_nothing_stops_them() {
        let mut e = explanation(
            Some(teacher(None)),
            vec![class(
                "cl-0",
                ClassVerdict::Listed {
                    terms: year("2026-08-01", "2027-06-30"),
                },
            )],
        );
        e.sign_ins.push(SignInSeen {
            at: Utc.with_ymd_and_hms(2026, 12, 5, 14, 3, 0).unwrap(),
            outcome: "signed_in".into(),
            matched_by: Some("sourced_id".into()),
            request_id: "req-1".into(),
        });
        let text = render(&e, None);
        assert!(text.contains("State: an active teacher, first delivered by run run-1 on 2026-09-01, last written by run run-2."), "{text}");
        assert!(
            text.contains("Sign-in: tenant enabled, SSO on, ClassLink TenantId 4242;"),
            "{text}"
        );
        assert!(text.contains("  - cl-0: listed at sign-in (its term y1 2026-08-01 to 2027-06-30 includes 2026-12-06)"), "{text}");
        assert!(
            text.contains(
                "  - 2026-12-05 14:03 UTC signed_in, matched by sourced_id (reference req-1)"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "Nothing on our side stops `tch-1`: they can sign in and see 1 class(es)."
            ),
            "{text}"
        );
    }

    #[test]
    fn an_archived_teacher_is_told_the_run_the_reason_and_the_way_back() {
        let archive = ArchiveInfo {
            by: ArchivedBy::Sync,
            at: Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap(),
            run: Some("run-7".into()),
            reason: Some(ArchiveReason::Absent),
        };
        let text = render(&explanation(Some(teacher(Some(archive))), Vec::new()), None);
        assert!(text.contains("State: an archived teacher: archived by run run-7: the district's full (bulk) file left it out, on 2026-11-02."), "{text}");
        assert!(text.contains("Archived users cannot sign in. If they still teach, the district restores them in the SIS"), "{text}");
    }

    #[test]
    fn a_teacher_of_an_ended_class_is_told_which_term_ended() {
        let e = explanation(
            Some(teacher(None)),
            vec![class(
                "cl-old",
                ClassVerdict::NotCurrent {
                    terms: year("2025-08-01", "2026-06-30"),
                },
            )],
        );
        let text = render(&e, Some("cl-old"));
        assert!(text.contains("  - cl-old: not listed: none of its terms includes 2026-12-06 (term y1 2025-08-01 to 2026-06-30)"), "{text}");
        assert!(
            !text.contains("Classes ("),
            "only the class asked about: {text}"
        );
        assert!(
            text.contains("cl-old is not listed because none of its terms includes 2026-12-06"),
            "{text}"
        );
        let other = render(&e, Some("cl-9"));
        assert!(
            other.contains("Class cl-9: `tch-1` has no enrollment in it."),
            "{other}"
        );
    }

    #[test]
    fn a_student_is_told_students_never_sign_in() {
        let mut student = teacher(None);
        student.role = "student".into();
        let text = render(&explanation(Some(student), Vec::new()), None);
        assert!(text.contains("State: an active student"), "{text}");
        assert!(
            text.contains("Students never sign in with ClassLink here"),
            "{text}"
        );
    }

    #[test]
    fn an_unknown_id_is_told_the_deliveries_and_the_unenrolled_users_toggle() {
        let mut e = explanation(None, Vec::new());
        e.switches.sso = false;
        e.recent_runs.push(RunSeen {
            run_id: "run-9".into(),
            started_at: Utc.with_ymd_and_hms(2026, 12, 6, 5, 0, 0).unwrap(),
            status: RunStatus::Applied,
            source: "csv".into(),
            users: None,
        });
        let text = render(&e, None);
        assert!(
            text.contains("State: the roster has never had `tch-1`."),
            "{text}"
        );
        assert!(
            text.contains("  - 2026-12-06 run-9 (csv, applied)"),
            "{text}"
        );
        assert!(text.contains("SSO is off for the tenant: nobody of d1 signs in with ClassLink (`rosterctl tenants update d1 --sso true`)."), "{text}");
        assert!(text.contains("turns on *Unenrolled Users*"), "{text}");
    }

    #[test]
    fn a_tenant_that_stops_everyone_is_the_one_thing_said() {
        let mut e = explanation(
            Some(teacher(None)),
            vec![class(
                "cl-0",
                ClassVerdict::Listed {
                    terms: year("2026-08-01", "2027-06-30"),
                },
            )],
        );
        e.switches.sso = false;
        let steps = next_steps(&e, None);
        assert_eq!(steps.len(), 1, "{steps:?}");
        assert!(
            steps[0].starts_with("SSO is off for the tenant"),
            "{steps:?}"
        );
    }
}
