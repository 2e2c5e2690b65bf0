//! The typed record of each rostering file's row, field by field (a 1.2
//! user's in [`crate::v1p2::users`]).

use super::RowCx;
use crate::model::*;
use crate::schema::SOURCED_ID;

/// Reads one row of `kind` in a file of `mode`. `None` when the row is
/// rejected (the errors are in `cx`).
pub(crate) fn parse_row<'r>(
    kind: EntityKind,
    mode: FileMode,
    cx: &mut RowCx<'r>,
) -> Option<RowItem<'r>> {
    let sourced_id = cx.required(SOURCED_ID);
    let status = cx.status(mode);
    let date_last_modified = cx.date_last_modified();
    if status == Some(Status::ToBeDeleted) {
        // A deletion needs only its identity; other fields are not checked.
        return Some(RowItem::Delete {
            kind,
            sourced_id: sourced_id?,
            date_last_modified: date_last_modified?,
        });
    }
    // Every field is checked even when one already failed, so that a row's
    // report lists all of its problems at once.
    let common = Common {
        sourced_id: sourced_id.unwrap_or_default(),
        status: status.unwrap_or(Status::Active),
        date_last_modified: date_last_modified.flatten(),
        extensions: cx.extensions(),
    };
    let record = match kind {
        EntityKind::Orgs => parse_org(cx, common).map(Record::Org),
        EntityKind::AcademicSessions => {
            parse_academic_session(cx, common).map(Record::AcademicSession)
        }
        EntityKind::Courses => parse_course(cx, common).map(Record::Course),
        EntityKind::Classes => parse_class(cx, common).map(Record::Class),
        EntityKind::Users => match cx.roles {
            Some(roles) => crate::v1p2::users::parse_user(cx, common, roles).map(Record::User),
            None => parse_user(cx, common).map(Record::User),
        },
        EntityKind::Enrollments => parse_enrollment(cx, common).map(Record::Enrollment),
        EntityKind::Demographics => parse_demographics(cx, common).map(Record::Demographics),
    };
    if cx.failed || cx.skipped {
        return None;
    }
    record.map(RowItem::Upsert)
}

fn parse_org<'r>(cx: &mut RowCx<'r>, common: Common<'r>) -> Option<Org<'r>> {
    let name = cx.required(3);
    let org_type = cx.extensible::<OrgType>(4, true);
    let identifier = cx.optional(5);
    let parent_sourced_id = cx.optional(6);
    Some(Org {
        common,
        name: name?,
        org_type: org_type?,
        identifier,
        parent_sourced_id,
    })
}

fn parse_academic_session<'r>(
    cx: &mut RowCx<'r>,
    common: Common<'r>,
) -> Option<AcademicSession<'r>> {
    let title = cx.required(3);
    let session_type = cx.extensible::<SessionType>(4, true);
    let start_date = cx.date(5, true);
    let end_date = cx.date(6, true);
    let parent_sourced_id = cx.optional(7);
    let school_year = cx.year(8);
    Some(AcademicSession {
        common,
        title: title?,
        session_type: session_type?,
        start_date: start_date??,
        end_date: end_date??,
        parent_sourced_id,
        school_year: school_year?,
    })
}

fn parse_course<'r>(cx: &mut RowCx<'r>, common: Common<'r>) -> Option<Course<'r>> {
    let school_year_sourced_id = cx.optional(3);
    let title = cx.required(4);
    let course_code = cx.optional(5);
    let grades = cx.grades(6);
    let org_sourced_id = cx.required(7);
    let subjects = cx.list(8, false);
    let subject_codes = cx.list(9, false);
    Some(Course {
        common,
        school_year_sourced_id,
        title: title?,
        course_code,
        grades: grades?,
        org_sourced_id: org_sourced_id?,
        subjects: subjects?,
        subject_codes: subject_codes?,
    })
}

fn parse_class<'r>(cx: &mut RowCx<'r>, common: Common<'r>) -> Option<Class<'r>> {
    let title = cx.required(3);
    let grades = cx.grades(4);
    let course_sourced_id = cx.required(5);
    let class_code = cx.optional(6);
    let class_type = cx.extensible::<ClassType>(7, true);
    let location = cx.optional(8);
    let school_sourced_id = cx.required(9);
    let term_sourced_ids = cx.list(10, true);
    let subjects = cx.list(11, false);
    let subject_codes = cx.list(12, false);
    let periods = cx.list(13, false);
    Some(Class {
        common,
        title: title?,
        grades: grades?,
        course_sourced_id: course_sourced_id?,
        class_code,
        class_type: class_type?,
        location,
        school_sourced_id: school_sourced_id?,
        term_sourced_ids: term_sourced_ids?,
        subjects: subjects?,
        subject_codes: subject_codes?,
        periods: periods?,
    })
}

fn parse_user<'r>(cx: &mut RowCx<'r>, common: Common<'r>) -> Option<User<'r>> {
    // Column 17 (`password`) is deliberately never read.
    let enabled_user = cx.boolean(3, true);
    let org_sourced_ids = cx.list(4, true);
    let role = cx.vocabulary::<Role>(5, true);
    let username = cx.required(6);
    let user_ids = cx.user_ids(7);
    let given_name = cx.required(8);
    let family_name = cx.required(9);
    let middle_name = cx.optional(10);
    let identifier = cx.optional(11);
    let email = cx.optional(12);
    let sms = cx.optional(13);
    let phone = cx.optional(14);
    let agent_sourced_ids = cx.list(15, false);
    let grades = cx.grades(16);
    Some(User {
        common,
        enabled_user: enabled_user??,
        org_sourced_ids: org_sourced_ids?,
        role: role?,
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
        user_master_identifier: None,
        resource_sourced_ids: List::default(),
        preferred_given_name: None,
        preferred_middle_name: None,
        preferred_family_name: None,
        primary_org_sourced_id: None,
        pronouns: None,
        roles: &[],
    })
}

fn parse_enrollment<'r>(cx: &mut RowCx<'r>, common: Common<'r>) -> Option<Enrollment<'r>> {
    let class_sourced_id = cx.required(3);
    let school_sourced_id = cx.required(4);
    let user_sourced_id = cx.required(5);
    let role = cx.extensible::<EnrollmentRole>(6, true);
    let primary = cx.boolean(7, false);
    let begin_date = cx.date(8, false);
    let end_date = cx.date(9, false);
    Some(Enrollment {
        common,
        class_sourced_id: class_sourced_id?,
        school_sourced_id: school_sourced_id?,
        user_sourced_id: user_sourced_id?,
        role: role?,
        primary: primary?,
        begin_date: begin_date?,
        end_date: end_date?,
    })
}

fn parse_demographics<'r>(cx: &mut RowCx<'r>, common: Common<'r>) -> Option<Demographics<'r>> {
    let birth_date = cx.date(3, false);
    let sexes = if cx.is_v1p2() { Sex::ALL } else { Sex::V1P1 };
    let sex = cx.vocabulary_among(sexes, 4, false);
    let sex_ok = sex.is_some() || cx.optional(4).is_none();
    let flags: Vec<Option<Option<bool>>> = (5..=11).map(|idx| cx.boolean(idx, false)).collect();
    let country_of_birth_code = cx.optional(12);
    let state_of_birth_abbreviation = cx.optional(13);
    let city_of_birth = cx.optional(14);
    let public_school_residence_status = cx.optional(15);
    if !sex_ok || flags.iter().any(Option::is_none) {
        return None;
    }
    let flag = |i: usize| flags[i].flatten();
    Some(Demographics {
        common,
        birth_date: birth_date?,
        sex,
        american_indian_or_alaska_native: flag(0),
        asian: flag(1),
        black_or_african_american: flag(2),
        native_hawaiian_or_other_pacific_islander: flag(3),
        white: flag(4),
        demographic_race_two_or_more_races: flag(5),
        hispanic_or_latino_ethnicity: flag(6),
        country_of_birth_code,
        state_of_birth_abbreviation,
        city_of_birth,
        public_school_residence_status,
    })
}
