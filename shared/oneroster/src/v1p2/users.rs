//! A 1.2 `users.csv` row: 1.1's fields less `role` and `orgSourcedIds`
//! (read from the user's rows in `roles.csv`), and the fields 1.2 adds.

use super::{UserRoleSet, UserRoles};
use crate::model::*;
use crate::report::IssueCode;
use crate::rows::RowCx;
use crate::schema::SOURCED_ID;

/// Reads a 1.2 user row, whose roles `roles` holds. Column 15 (`password`)
/// is deliberately never read.
pub(crate) fn parse_user<'r>(
    cx: &mut RowCx<'r>,
    common: Common<'r>,
    roles: &'r UserRoles,
) -> Option<User<'r>> {
    let enabled_user = cx.boolean(3, true);
    let username = cx.required(4);
    let user_ids = cx.user_ids(5);
    let given_name = cx.required(6);
    let family_name = cx.required(7);
    let middle_name = cx.optional(8);
    let identifier = cx.optional(9);
    let email = cx.optional(10);
    let sms = cx.optional(11);
    let phone = cx.optional(12);
    let agent_sourced_ids = cx.list(13, false);
    let grades = cx.grades(14);
    let user_master_identifier = cx.optional(16);
    let resource_sourced_ids = cx.list(17, false);
    let preferred_given_name = cx.optional(18);
    let preferred_middle_name = cx.optional(19);
    let preferred_family_name = cx.optional(20);
    let primary_org_sourced_id = cx.optional(21);
    let pronouns = cx.optional(22);
    let (role, set) = roles_of(cx, common.sourced_id, roles)?;
    Some(User {
        common,
        enabled_user: enabled_user??,
        org_sourced_ids: List(set.orgs()),
        role,
        username: username?,
        user_ids: user_ids?,
        given_name: given_name?,
        family_name: family_name?,
        middle_name,
        identifier,
        email,
        sms,
        phone,
        agent_sourced_ids: agent_sourced_ids?,
        grades: grades?,
        user_master_identifier,
        resource_sourced_ids: resource_sourced_ids?,
        preferred_given_name,
        preferred_middle_name,
        preferred_family_name,
        primary_org_sourced_id,
        pronouns,
        roles: set.kept_roles(role),
    })
}

/// The roles of a user whose stored roles a delta changes, while they are
/// unknown (validation without the store): never made into a record.
static PENDING: UserRoleSet = UserRoleSet::EMPTY;

/// The user's role as the platform knows it, and its roles. `None` after
/// an error when it has no usable roles, or with `cx.skipped` set when its
/// primary role is none the platform knows (the row is skipped, not rejected).
fn roles_of<'r>(
    cx: &mut RowCx<'r>,
    sourced_id: &str,
    roles: &'r UserRoles,
) -> Option<(Role, &'r UserRoleSet)> {
    if sourced_id.is_empty() {
        return None;
    }
    let set = roles.get(sourced_id);
    if let Some(problem) = set.and_then(|set| set.problem) {
        cx.error(
            problem.code,
            SOURCED_ID,
            sourced_id,
            format!(
                "the user's roles break a OneRoster 1.2 rule (roles.csv:{} {}); the user is not imported",
                problem.line, problem.code
            ),
        );
        return None;
    }
    if roles.pending {
        // A delta's roles, without the stored ones: known at the sync.
        return Some((Role::Student, &PENDING));
    }
    let Some(set) = set else {
        let why = match (roles.delta, roles.lost_all(sourced_id)) {
            (true, true) => "has no role left: this delta's roles.csv deletes its last",
            (true, false) => "is not stored with roles, and this delta's roles.csv gives it no accepted role (a rejected one is reported there)",
            (false, _) => "has no accepted row in roles.csv (a rejected one is reported there)",
        };
        cx.error(
            IssueCode::UserWithoutRole,
            SOURCED_ID,
            sourced_id,
            format!("user `{sourced_id}` {why}; in OneRoster 1.2 a user's role and orgs come from roles.csv"),
        );
        return None;
    };
    match set.platform_role() {
        Some(role) => Some((role, set)),
        None => {
            cx.skipped = true;
            None
        }
    }
}
