//! OneRoster 1.1 REST (JSON) records flattened to the CSV binding's columns,
//! so that API pulls go through the very same validation as CSV packages.
//!
//! Real-world looseness is absorbed here: booleans as `true`, `"true"` or `1`;
//! `primary` as a string; missing `status` (read as active); GUIDRefs
//! (`{href, sourcedId, type}` — only `sourcedId` is trusted, `href` is never
//! followed) or bare ids; unknown keys (ignored); `metadata` objects (kept as
//! `metadata.*` extension columns); ClassLink's `userIds` types. The
//! `password` field is dropped here and never written anywhere.

use oneroster::schema::columns;
use oneroster::EntityKind;
use serde_json::{Map, Value};

/// A record flattened to CSV columns: the specified columns in order, and
/// extension columns (name, value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatRow {
    /// Values of the specified columns, in specification order.
    pub fields: Vec<String>,
    /// `metadata.*` extension columns.
    pub extensions: Vec<(String, String)>,
}

/// The JSON key of each specified column, and how it is read.
pub(crate) enum Source {
    /// A scalar field of the same name.
    Scalar(&'static str),
    /// A GUIDRef field: its `sourcedId`.
    Ref(&'static str),
    /// A list of GUIDRefs: their sourcedIds, comma-separated.
    Refs(&'static str),
    /// A list of strings, comma-separated.
    Strings(&'static str),
    /// `userIds`: `{type:identifier}` entries.
    UserIds,
    /// A scalar under the first of these keys present (1.2's JSON names
    /// first, the CSV binding's after).
    FirstOf(&'static [&'static str]),
    /// Never read (`password`).
    Dropped,
}

use Source::{Dropped, Ref, Refs, Scalar, Strings, UserIds};

impl Source {
    /// The column's value in `record`.
    pub(crate) fn read(&self, record: &Map<String, Value>) -> String {
        match self {
            Source::Scalar(key) => scalar(record.get(*key)),
            Source::Ref(key) => reference(record.get(*key)),
            Source::Refs(key) => list(record.get(*key), reference),
            Source::Strings(key) => list(record.get(*key), scalar),
            Source::UserIds => user_ids(record.get("userIds")),
            Source::FirstOf(keys) => scalar(keys.iter().find_map(|k| record.get(*k))),
            Source::Dropped => String::new(),
        }
    }
}

/// The sources of the columns every file starts with.
pub(crate) const COMMON: &[Source] = &[
    Scalar("sourcedId"),
    Scalar("status"),
    Scalar("dateLastModified"),
];

// Each file's own columns, after the common ones.

const ORGS: &[Source] = &[
    Scalar("name"),
    Scalar("type"),
    Scalar("identifier"),
    Ref("parent"),
];

const ACADEMIC_SESSIONS: &[Source] = &[
    Scalar("title"),
    Scalar("type"),
    Scalar("startDate"),
    Scalar("endDate"),
    Ref("parent"),
    Scalar("schoolYear"),
];

const COURSES: &[Source] = &[
    Ref("schoolYear"),
    Scalar("title"),
    Scalar("courseCode"),
    Strings("grades"),
    Ref("org"),
    Strings("subjects"),
    Strings("subjectCodes"),
];

const CLASSES: &[Source] = &[
    Scalar("title"),
    Strings("grades"),
    Ref("course"),
    Scalar("classCode"),
    Scalar("classType"),
    Scalar("location"),
    Ref("school"),
    Refs("terms"),
    Strings("subjects"),
    Strings("subjectCodes"),
    Strings("periods"),
];

const USERS: &[Source] = &[
    Scalar("enabledUser"),
    Refs("orgs"),
    Scalar("role"),
    Scalar("username"),
    UserIds,
    Scalar("givenName"),
    Scalar("familyName"),
    Scalar("middleName"),
    Scalar("identifier"),
    Scalar("email"),
    Scalar("sms"),
    Scalar("phone"),
    Refs("agents"),
    Strings("grades"),
    Dropped,
];

const ENROLLMENTS: &[Source] = &[
    Ref("class"),
    Ref("school"),
    Ref("user"),
    Scalar("role"),
    Scalar("primary"),
    Scalar("beginDate"),
    Scalar("endDate"),
];

const DEMOGRAPHICS: &[Source] = &[
    Scalar("birthDate"),
    Scalar("sex"),
    Scalar("americanIndianOrAlaskaNative"),
    Scalar("asian"),
    Scalar("blackOrAfricanAmerican"),
    Scalar("nativeHawaiianOrOtherPacificIslander"),
    Scalar("white"),
    Scalar("demographicRaceTwoOrMoreRaces"),
    Scalar("hispanicOrLatinoEthnicity"),
    Scalar("countryOfBirthCode"),
    Scalar("stateOfBirthAbbreviation"),
    Scalar("cityOfBirth"),
    Scalar("publicSchoolResidenceStatus"),
];

/// The source of each column of `kind`, in specification order.
fn sources(kind: EntityKind) -> impl Iterator<Item = &'static Source> {
    let own = match kind {
        EntityKind::Orgs => ORGS,
        EntityKind::AcademicSessions => ACADEMIC_SESSIONS,
        EntityKind::Courses => COURSES,
        EntityKind::Classes => CLASSES,
        EntityKind::Users => USERS,
        EntityKind::Enrollments => ENROLLMENTS,
        EntityKind::Demographics => DEMOGRAPHICS,
    };
    COMMON.iter().chain(own)
}

/// A scalar as CSV text: strings as they are, numbers and booleans as text.
pub(crate) fn scalar(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => other.to_string(),
    }
}

/// The sourcedId of a GUIDRef (or a bare id string).
pub(crate) fn reference(value: Option<&Value>) -> String {
    match value {
        Some(Value::Object(o)) => scalar(o.get("sourcedId")),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn list(value: Option<&Value>, item: fn(Option<&Value>) -> String) -> String {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| item(Some(v)))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn user_ids(value: Option<&Value>) -> String {
    let Some(Value::Array(items)) = value else {
        return scalar(value);
    };
    items
        .iter()
        .filter_map(|v| {
            let o = v.as_object()?;
            Some(format!(
                "{{{}:{}}}",
                scalar(o.get("type")),
                scalar(o.get("identifier"))
            ))
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Flattens one JSON record of `kind`. A missing `status` reads as `active`.
pub fn flatten(kind: EntityKind, record: &Map<String, Value>) -> FlatRow {
    let specs: Vec<&Source> = sources(kind).collect();
    debug_assert_eq!(specs.len(), columns(kind).len());
    flatten_with(specs.into_iter(), record)
}

/// Flattens `record` by the column `sources`, which start with [`COMMON`]'s.
/// A missing `status` reads as `active`; `metadata` becomes `metadata.*`.
pub(crate) fn flatten_with<'s>(
    sources: impl Iterator<Item = &'s Source>,
    record: &Map<String, Value>,
) -> FlatRow {
    let mut fields: Vec<String> = sources.map(|s| s.read(record)).collect();
    if fields[1].is_empty() {
        fields[1] = "active".into();
    }
    let mut extensions = Vec::new();
    if let Some(Value::Object(metadata)) = record.get("metadata") {
        for (k, v) in metadata {
            extensions.push((format!("metadata.{k}"), scalar(Some(v))));
        }
    }
    FlatRow { fields, extensions }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn users_flatten_with_refs_user_ids_and_no_password() {
        let row = flatten(
            EntityKind::Users,
            &obj(json!({
                "sourcedId": "001", "status": "active", "enabledUser": 1, "role": "student",
                "orgs": [{"href": "orgs/015", "sourcedId": "015", "type": "org"}, "016"],
                "agents": [{"sourcedId": "002", "type": "user"}],
                "userIds": [{"type": "Fed", "identifier": "123"}, {"type": "StateID", "identifier": "NY9"}],
                "givenName": "Bob", "familyName": "Smith", "username": "bob", "password": "notReal",
                "grades": ["09", "10"], "metadata": {"classlink.tenantId": 42, "note": "x"}, "unknownKey": "ignored"
            })),
        );
        let cols: Vec<&str> = columns(EntityKind::Users).iter().map(|c| c.name).collect();
        let get = |name: &str| row.fields[cols.iter().position(|c| *c == name).unwrap()].as_str();
        assert_eq!(get("orgSourcedIds"), "015,016");
        assert_eq!(get("agentSourcedIds"), "002");
        assert_eq!(get("userIds"), "{Fed:123},{StateID:NY9}");
        assert_eq!(get("enabledUser"), "1");
        assert_eq!(get("grades"), "09,10");
        assert_eq!(get("password"), "", "the password is dropped");
        assert!(!format!("{row:?}").contains("notReal"));
        assert_eq!(
            row.extensions,
            vec![
                ("metadata.classlink.tenantId".into(), "42".into()),
                ("metadata.note".into(), "x".into())
            ]
        );
    }

    #[test]
    fn enrollments_take_ref_ids_and_missing_status_is_active() {
        let row = flatten(
            EntityKind::Enrollments,
            &obj(
                json!({"sourcedId": "e1", "user": {"sourcedId": "u1"}, "class": {"sourcedId": "c1", "href": "http://evil/"}, "school": {"sourcedId": "s1"}, "role": "teacher", "primary": "true"}),
            ),
        );
        assert_eq!(
            row.fields[..8],
            ["e1", "active", "", "c1", "s1", "u1", "teacher", "true"]
        );
    }
}
