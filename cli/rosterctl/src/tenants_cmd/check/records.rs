//! The roster: its records, its administrators, its Primary Administrator.

use super::{Facts, Line, Status};

/// What the roster holds: active records per type, provisional teachers.
pub(super) fn roster_line(f: &Facts) -> Line {
    let t = &f.config.tenant;
    let users = f.counts.get("users").copied().unwrap_or_default();
    let counts: Vec<String> = f
        .counts
        .iter()
        .map(|(kind, c)| format!("{kind} {}", c.active))
        .collect();
    if users.active == 0 {
        Line::new("roster", Status::Fail, "no active users stored")
            .then("wait for the first delivery (above), or check why it was not applied")
    } else {
        let mut detail = format!("active: {}", counts.join(", "));
        if f.provisional > 0 {
            detail.push_str(&format!(
                "; {} provisional teacher(s) made at sign-in (rosterctl users list --tenant {t} --provisional)",
                f.provisional
            ));
        }
        Line::new("roster", Status::Info, detail)
    }
}

/// Whether the roster has an active administrator.
pub(super) fn administrators_line(f: &Facts) -> Line {
    if f.administrators.is_empty() {
        Line::new("administrators", Status::Fail, "no active administrator in the roster")
            .then("turn on *Unenrolled Users* in ClassLink's Roster Server so administrators are sent, then promote one")
    } else {
        Line::new(
            "administrators",
            Status::Ok,
            format!("{} active administrator(s)", f.administrators.len()),
        )
    }
}

/// Whether one is a Primary Administrator.
pub(super) fn primary_admin_line(f: &Facts) -> Line {
    let t = &f.config.tenant;
    match (f.primary_admins.as_slice(), f.administrators.first()) {
        ([], Some(first)) => Line::new(
            "primary administrator",
            Status::Fail,
            "none promoted: the district cannot manage its account",
        )
        .then(format!(
            "promote one: rosterctl admins promote --tenant {t} {first} (administrators: {})",
            f.administrators.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        )),
        ([], None) => Line::new("primary administrator", Status::Fail, "none promoted")
            .then("once administrators are in the roster, promote one: rosterctl admins promote --tenant TENANT SOURCEDID"),
        (promoted, _) => Line::new(
            "primary administrator",
            Status::Ok,
            format!("promoted: {}", promoted.join(", ")),
        ),
    }
}
