//! Single sign-on: the ClassLink TenantId, its mapping, the recent sign-ins.

use super::{Facts, Line, Status, SIGN_IN_WINDOW_DAYS};

/// Single sign-on: the ClassLink TenantId and switch, its mapping, and (when
/// on) the recent sign-ins and refused teachers.
pub(super) fn sso_lines(f: &Facts) -> Vec<Line> {
    let mut lines = vec![sso_line(f)];
    lines.extend(sso_mapping_line(f));
    if f.config.sso_enabled {
        lines.extend(sign_in_lines(f));
    }
    lines
}

/// The ClassLink TenantId and whether SSO is on.
pub(super) fn sso_line(f: &Facts) -> Line {
    let t = &f.config.tenant;
    match (&f.config.classlink_tenant_id, f.config.sso_enabled) {
        (None, true) => Line::new("sso", Status::Fail, "SSO is on but there is no ClassLink TenantId: sign-in cannot find the district")
            .then(format!("rosterctl tenants update {t} --classlink-tenant-id ID (the TenantId is in ClassLink's Management Console)")),
        (None, false) => Line::new("sso", Status::Warn, "SSO is off and there is no ClassLink TenantId: teachers cannot sign in from the LaunchPad")
            .then(format!("when the district wants it: rosterctl tenants update {t} --classlink-tenant-id ID --sso true (the TenantId is in ClassLink's Management Console)")),
        (Some(id), false) => Line::new("sso", Status::Warn, format!("ClassLink TenantId {id}; SSO is off: teachers cannot sign in from the LaunchPad"))
            .then(format!("when the district wants it: rosterctl tenants update {t} --sso true")),
        (Some(id), true) => Line::new(
            "sso",
            Status::Ok,
            format!(
                "ClassLink TenantId {id}; SSO on{}{}",
                if f.config.sso_match_by_email { "; matching by email/username" } else { "" },
                if f.config.sso_provision_teachers { "; provisioning teachers" } else { "" },
            ),
        ),
    }
}

/// A ClassLink TenantId the store does not map to this tenant.
pub(super) fn sso_mapping_line(f: &Facts) -> Option<Line> {
    let t = &f.config.tenant;
    let id = f.config.classlink_tenant_id.as_ref()?;
    if f.classlink_mapping.as_deref() == Some(t.as_str()) {
        return None;
    }
    let status = if f.config.sso_enabled {
        Status::Fail
    } else {
        Status::Warn
    };
    let detail = match &f.classlink_mapping {
        None => format!("the store has no mapping of ClassLink TenantId {id} to {t} (saved before the mapping existed, or edited by hand): sign-in falls back to reading every tenant, and refuses the district if another claims the id"),
        Some(other) => format!("the store maps ClassLink TenantId {id} to tenant `{other}`, not {t}: {t}'s teachers are not signed in as {t}"),
    };
    Some(
        Line::new("sso mapping", status, detail)
            .then(format!("rosterctl tenants update {t} (saving the tenant writes its mapping; it is refused while another tenant holds the id)")),
    )
}

/// The recent sign-ins by outcome, and the teachers refused as not in the roster.
pub(super) fn sign_in_lines(f: &Facts) -> Vec<Line> {
    let t = &f.config.tenant;
    let mut lines = Vec::new();
    let total: u64 = f.sign_ins.values().sum();
    let by_outcome: Vec<String> = f
        .sign_ins
        .iter()
        .map(|(outcome, n)| format!("{outcome} {n}"))
        .collect();
    lines.push(if total == 0 {
        Line::new(
            "sign-ins",
            Status::Warn,
            format!("none in the last {SIGN_IN_WINDOW_DAYS} days"),
        )
        .then("check that the district assigned the app to its teachers on the ClassLink LaunchPad")
    } else {
        Line::new(
            "sign-ins",
            Status::Info,
            format!("last {SIGN_IN_WINDOW_DAYS} days: {}", by_outcome.join(", ")),
        )
    });
    if f.refused_teachers > 0 {
        let mut next = "turn on *Unenrolled Users* in ClassLink's Roster Server so teachers without classes are sent".to_string();
        if !f.config.sso_provision_teachers {
            next.push_str(&format!(", or let them in until then: rosterctl tenants update {t} --sso-provision-teachers true"));
        }
        lines.push(
            Line::new(
                "refused teachers",
                Status::Warn,
                format!(
                    "{} ClassLink user(s) refused as not in the roster (rosterctl sso audit --tenant {t})",
                    f.refused_teachers
                ),
            )
            .then(next),
        );
    }
    lines
}
