//! A `roles.csv` row: a user's role at an org, primary or secondary.

use super::{DeletedRole, RoleAssignment, RoleName};
use crate::fields::parse_vocabulary;
use crate::model::{FileMode, RoleType, Status, UserRole};
use crate::report::IssueCode;
use crate::rows::RowCx;
use crate::schema::SOURCED_ID;

/// Column indexes of `roles.csv` (see [`super::columns::ROLES`]).
pub(crate) const USER_SOURCED_ID: usize = 3;
pub(crate) const ROLE_TYPE: usize = 4;
pub(crate) const ROLE: usize = 5;
pub(crate) const ORG_SOURCED_ID: usize = 8;

/// What a valid role row says.
#[derive(Debug)]
pub(crate) enum RoleRow<'r> {
    /// The role of `user`.
    Active {
        /// userSourcedId
        user: &'r str,
        /// The role.
        role: RoleAssignment,
    },
    /// A `tobedeleted` row: not one of the user's roles. In a delta, it
    /// removes the role from its user's stored roles (`None` in bulk).
    Deleted(Option<DeletedRole>),
}

/// Reads one role row of a file in `mode`; `None` when it is rejected (the
/// errors are in `cx`).
pub(crate) fn parse_role<'r>(cx: &mut RowCx<'r>, mode: FileMode) -> Option<RoleRow<'r>> {
    let sourced_id = cx.required(SOURCED_ID);
    let status = cx.status(mode);
    let date_last_modified = cx.date_last_modified();
    if status == Some(Status::ToBeDeleted) {
        return deleted_role(cx, mode, sourced_id?);
    }
    let user = cx.required(USER_SOURCED_ID);
    let role_type = cx.vocabulary::<RoleType>(ROLE_TYPE, true);
    let role = match cx.optional(ROLE) {
        Some(value) if crate::model::is_ext_value(value) => Some(RoleName::Ext(value.to_string())),
        _ => cx.vocabulary::<UserRole>(ROLE, true).map(RoleName::Known),
    };
    let begin_date = cx.date(6, false);
    let end_date = cx.date(7, false);
    let org = cx.required(ORG_SOURCED_ID);
    if let Some(org) = org.filter(|org| org.contains(',')) {
        cx.error(
            IssueCode::OrgIdWithComma,
            ORG_SOURCED_ID,
            org,
            format!("org `{org}` has a comma in its sourcedId, and a user's orgs are a comma-separated list; the role is not imported"),
        );
    }
    let user_profile = cx.optional(9);
    if cx.failed {
        return None;
    }
    Some(RoleRow::Active {
        user: user?,
        role: RoleAssignment {
            sourced_id: sourced_id?.to_string(),
            date_last_modified: date_last_modified?,
            role_type: role_type?,
            role: role?,
            begin_date: begin_date?,
            end_date: end_date?,
            org_sourced_id: org?.to_string(),
            user_profile_sourced_id: user_profile.map(str::to_string),
            line: cx.line(),
        },
    })
}

/// A `tobedeleted` role row. In a delta it must name its user: the role is
/// removed from that user's stored roles (its org, role type and role, when
/// given, find a stored role whose sourcedId the store never had).
fn deleted_role<'r>(
    cx: &mut RowCx<'r>,
    mode: FileMode,
    sourced_id: &'r str,
) -> Option<RoleRow<'r>> {
    if mode != FileMode::Delta {
        return Some(RoleRow::Deleted(None));
    }
    let Some(user) = cx.optional(USER_SOURCED_ID) else {
        cx.error(
            IssueCode::MissingValue,
            USER_SOURCED_ID,
            "",
            format!("the deleted role `{sourced_id}` names no user; in a delta roles.csv a deleted role must give its userSourcedId (a user's roles are kept with the user)"),
        );
        return None;
    };
    // Read only to find a stored role: a value that is none is not asked of.
    let role = cx.optional(ROLE).and_then(RoleName::parse);
    Some(RoleRow::Deleted(Some(DeletedRole {
        sourced_id: sourced_id.to_string(),
        user: user.to_string(),
        org: cx.optional(ORG_SOURCED_ID).map(str::to_string),
        role_type: cx
            .optional(ROLE_TYPE)
            .and_then(parse_vocabulary::<RoleType>)
            .map(|t| t.value),
        role,
        line: cx.line(),
    })))
}
