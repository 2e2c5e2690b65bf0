//! The role sets' unit tests: precedence, order, kept roles, the mapping,
//! a delta's rows applied to stored roles.

use super::*;

fn role(role_type: RoleType, role: UserRole, org: &str) -> RoleAssignment {
    RoleAssignment {
        sourced_id: format!("r-{org}-{role}"),
        date_last_modified: None,
        role_type,
        role: RoleName::Known(role),
        begin_date: None,
        end_date: None,
        org_sourced_id: org.into(),
        user_profile_sourced_id: None,
        line: 2,
    }
}

#[test]
fn the_most_privileged_primary_role_decides_and_orgs_are_distinct() {
    let mut roles = UserRoles::default();
    roles.add("u", role(RoleType::Primary, UserRole::Teacher, "s1"));
    roles.add("u", role(RoleType::Secondary, UserRole::Guardian, "s1"));
    roles.add("u", role(RoleType::Primary, UserRole::Principal, "s2"));
    let set = roles.get("u").unwrap();
    assert_eq!(set.orgs(), "s1,s2");
    assert_eq!(set.platform_role(), Some(Role::Administrator));
    let mut counselor = UserRoles::default();
    counselor.add("c", role(RoleType::Primary, UserRole::Counselor, "s1"));
    counselor.add("c", role(RoleType::Secondary, UserRole::Teacher, "s1"));
    assert_eq!(counselor.get("c").unwrap().platform_role(), None);
}

#[test]
fn users_whose_only_role_is_primary_are_not_asked_about() {
    let mut roles = UserRoles::default();
    roles.add("plain", role(RoleType::Primary, UserRole::Student, "s1"));
    let mut asked = Vec::new();
    roles.mark(|user, _| {
        asked.push(user.to_string());
        None
    });
    assert!(asked.is_empty());

    roles.add("secondary", role(RoleType::Secondary, UserRole::Aide, "s1"));
    roles.add("two", role(RoleType::Primary, UserRole::Teacher, "s1"));
    roles.add("two", role(RoleType::Primary, UserRole::Teacher, "s1"));
    let problem = RolesProblem {
        line: 3,
        code: crate::report::IssueCode::NoPrimaryRole,
    };
    roles.mark(|user, _| {
        asked.push(user.to_string());
        Some(problem)
    });
    asked.sort();
    assert_eq!(asked, ["secondary", "two"]);
    assert_eq!(roles.get("plain").unwrap().problem, None);
    assert_eq!(roles.get("two").unwrap().problem, Some(problem));
    assert_eq!(roles.get("two").unwrap().orgs(), "s1");
    roles.add("two", role(RoleType::Secondary, UserRole::Aide, "s2"));
    roles.add("two", role(RoleType::Secondary, UserRole::Aide, "s1"));
    assert_eq!(roles.get("two").unwrap().orgs(), "s1,s2");
}

#[test]
fn orgs_and_roles_are_in_id_order_whatever_the_rows_order() {
    let rows = [
        role(RoleType::Primary, UserRole::Teacher, "s2"),
        role(RoleType::Primary, UserRole::Aide, "d1"),
        role(RoleType::Secondary, UserRole::Aide, "s2"),
    ];
    let in_order = |order: [usize; 3]| {
        let mut roles = UserRoles::default();
        for i in order {
            roles.add("u", rows[i].clone());
        }
        let set = roles.get("u").unwrap().clone();
        let ids: Vec<String> = set.roles.iter().map(|r| r.sourced_id.clone()).collect();
        (set.orgs().to_string(), ids)
    };
    let first = in_order([0, 1, 2]);
    assert_eq!(first.0, "d1,s2");
    assert_eq!(first.1, ["r-d1-aide", "r-s2-aide", "r-s2-teacher"]);
    assert_eq!(in_order([2, 1, 0]), first);
    assert_eq!(in_order([1, 2, 0]), first);
}

#[test]
fn roles_that_say_no_more_than_role_and_orgs_are_not_kept() {
    let mut plain = UserRoles::default();
    plain.add("u", role(RoleType::Primary, UserRole::Teacher, "s1"));
    plain.add("u", role(RoleType::Primary, UserRole::Teacher, "s2"));
    let set = plain.get("u").unwrap();
    assert!(set.kept_roles(Role::Teacher).is_empty());

    let kept = |edit: fn(&mut RoleAssignment)| {
        let mut roles = UserRoles::default();
        let mut row = role(RoleType::Primary, UserRole::Teacher, "s1");
        edit(&mut row);
        roles.add("u", row);
        roles.get("u").unwrap().kept_roles(Role::Teacher).len()
    };
    assert_eq!(kept(|r| r.role_type = RoleType::Secondary), 1);
    assert_eq!(kept(|r| r.role = RoleName::Known(UserRole::Principal)), 1);
    assert_eq!(
        kept(|r| r.end_date = NaiveDate::from_ymd_opt(2027, 6, 30)),
        1
    );
    assert_eq!(kept(|r| r.user_profile_sourced_id = Some("p1".into())), 1);
}

#[test]
fn every_1p2_role_maps_as_documented() {
    use UserRole::*;
    let admins = [
        DistrictAdministrator,
        Principal,
        SiteAdministrator,
        SystemAdministrator,
    ];
    for role in UserRole::ALL {
        let mapped = role.platform_role();
        if admins.contains(role) {
            assert_eq!(mapped, Some(Role::Administrator), "{role}");
        } else if *role == Counselor {
            assert_eq!(mapped, None);
        } else {
            assert_eq!(mapped.map(|r| r.as_str()), Some(role.as_str()), "{role}");
        }
    }
    assert_eq!(RoleName::Ext("ext:coach".into()).platform_role(), None);
}

#[test]
fn a_delta_replaces_roles_by_id_or_the_id_less_primary_at_its_org() {
    let implied = |org: &str| RoleAssignment {
        sourced_id: String::new(),
        role: RoleName::Platform(Role::Student),
        line: 0,
        ..role(RoleType::Primary, UserRole::Student, org)
    };
    let mut roles = UserRoles::default();
    roles.seed("u", &[implied("s1"), implied("s2")]);
    let at = |line: u64, r: RoleAssignment| RoleAssignment { line, ..r };
    // A secondary role at s1 is added; a primary one at s2 replaces the stored one.
    roles.apply_delta("u", at(7, role(RoleType::Secondary, UserRole::Aide, "s1")));
    roles.apply_delta("u", at(5, role(RoleType::Primary, UserRole::Teacher, "s2")));
    let set = roles.get("u").unwrap();
    let ids: Vec<&str> = set.roles.iter().map(|r| r.sourced_id.as_str()).collect();
    assert_eq!(ids, ["", "r-s1-aide", "r-s2-teacher"]);
    assert_eq!((set.delta_line, set.orgs()), (5, "s1,s2"));
    assert_eq!(set.platform_role(), Some(Role::Teacher));
    // The same row again changes nothing; deletions by id, then by org.
    roles.apply_delta("u", at(9, role(RoleType::Primary, UserRole::Teacher, "s2")));
    assert_eq!(roles.get("u").unwrap().roles.len(), 3);
    let deleted = |id: &str, org: Option<&str>, role_type, role| DeletedRole {
        sourced_id: id.into(),
        user: "u".into(),
        org: org.map(str::to_string),
        role_type,
        role,
        line: 8,
    };
    assert!(roles.apply_deletion(&deleted("r-s2-teacher", None, None, None)));
    // A secondary role, or another role, at s1 is not the stored primary one.
    let aide = Some(RoleName::Known(UserRole::Aide));
    assert!(!roles.apply_deletion(&deleted("x", Some("s1"), Some(RoleType::Secondary), None)));
    assert!(!roles.apply_deletion(&deleted("x", Some("s1"), None, aide)));
    let student = Some(RoleName::Known(UserRole::Student));
    assert!(roles.apply_deletion(&deleted("x", Some("s1"), Some(RoleType::Primary), student)));
    assert!(
        !roles.apply_deletion(&deleted("x", Some("s1"), None, None)),
        "nothing left to remove"
    );
    let set = roles.get("u").unwrap();
    assert_eq!(set.roles.len(), 1);
    assert_eq!(
        (set.roles[0].sourced_id.as_str(), set.orgs()),
        ("r-s1-aide", "s1")
    );
}
