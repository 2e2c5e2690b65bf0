//! Re-keys of the records that hang on people: courses, classes and
//! enrollments whose sourcedIds changed with the users'. Each is paired by
//! what it is rather than by its id: a course by `courseCode`, org and
//! school year; a class by `classCode`, school and terms; an enrollment by
//! role, user and class (the old one's user and class named by their new
//! ids when they were re-keyed too). Only a key held by exactly one old and
//! one new record pairs.

use crate::content::SisContent;
use oneroster::EntityKind;
use std::collections::HashMap;

/// The types re-keyed after users, in this order (an enrollment's key needs
/// its class's new id).
pub const DERIVED: [EntityKind; 3] = [
    EntityKind::Courses,
    EntityKind::Classes,
    EntityKind::Enrollments,
];

/// Old sourcedIds already paired, by type: old → new.
pub type Renamed = HashMap<(EntityKind, String), String>;

/// What identifies a record of `kind` apart from its sourcedId, with the ids
/// it names renamed by `renamed`; `None` when a part is missing (never paired).
pub fn record_key(kind: EntityKind, sis: &SisContent, renamed: &Renamed) -> Option<String> {
    let text = |key: &str| {
        sis.str(key)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
    };
    let id = |key: &str, of: EntityKind| {
        let value = text(key)?;
        Some(renamed.get(&(of, value.clone())).cloned().unwrap_or(value))
    };
    let parts: Vec<String> = match kind {
        EntityKind::Courses => vec![
            text("courseCode")?.to_lowercase(),
            text("orgSourcedId")?,
            text("schoolYearSourcedId").unwrap_or_default(),
        ],
        EntityKind::Classes => {
            let mut terms: Vec<&str> = sis.list("termSourcedIds");
            terms.sort_unstable();
            vec![
                text("classCode")?.to_lowercase(),
                text("schoolSourcedId")?,
                terms.join(","),
            ]
        }
        EntityKind::Enrollments => vec![
            text("role")?.to_lowercase(),
            id("userSourcedId", EntityKind::Users)?,
            id("classSourcedId", EntityKind::Classes)?,
        ],
        _ => return None,
    };
    Some(parts.join("\u{1f}"))
}

/// Pairs `old` and `new` records (sourcedId, key) whose key is held by
/// exactly one of each: (old, new) in the order of `old`.
pub fn pair_unique(old: &[(String, String)], new: &[(String, String)]) -> Vec<(String, String)> {
    let (olds, news) = (by_key(old), by_key(new));
    old.iter()
        .filter_map(|(id, key)| {
            let (1, _) = olds.get(key.as_str())? else {
                return None;
            };
            match news.get(key.as_str())? {
                (1, new_id) => Some((id.clone(), new_id.to_string())),
                _ => None,
            }
        })
        .collect()
}

/// How many records hold each key, and the (first) one that does.
fn by_key(records: &[(String, String)]) -> HashMap<&str, (usize, &str)> {
    let mut by_key: HashMap<&str, (usize, &str)> = HashMap::new();
    for (id, key) in records {
        by_key.entry(key.as_str()).or_insert((0, id.as_str())).0 += 1;
    }
    by_key
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sis(value: serde_json::Value) -> SisContent {
        SisContent::from_stored(value.to_string())
    }

    #[test]
    fn an_enrollment_is_known_by_its_role_user_and_class_under_their_new_ids() {
        let renamed: Renamed = [(
            (EntityKind::Users, "u-old".to_string()),
            "u-new".to_string(),
        )]
        .into();
        let old = sis(json!({"role": "student", "userSourcedId": "u-old", "classSourcedId": "c1"}));
        let new = sis(json!({"role": "Student", "userSourcedId": "u-new", "classSourcedId": "c1"}));
        let none = Renamed::new();
        assert_eq!(
            record_key(EntityKind::Enrollments, &old, &renamed),
            record_key(EntityKind::Enrollments, &new, &none)
        );
        let teacher =
            sis(json!({"role": "teacher", "userSourcedId": "u-new", "classSourcedId": "c1"}));
        assert_ne!(
            record_key(EntityKind::Enrollments, &teacher, &none),
            record_key(EntityKind::Enrollments, &new, &none)
        );
        assert_eq!(
            record_key(
                EntityKind::Classes,
                &sis(json!({"schoolSourcedId": "s1"})),
                &none
            ),
            None
        );
    }

    #[test]
    fn classes_pair_by_code_school_and_terms_and_only_one_to_one() {
        let none = Renamed::new();
        let class = |code: &str, terms: serde_json::Value| {
            record_key(
                EntityKind::Classes,
                &sis(json!({"classCode": code, "schoolSourcedId": "s1", "termSourcedIds": terms})),
                &none,
            )
            .unwrap()
        };
        assert_eq!(
            class("MATH-1", json!(["t2", "t1"])),
            class("math-1", json!(["t1", "t2"]))
        );
        let old = [
            ("c-a".to_string(), class("A", json!(["t1"]))),
            ("c-b".to_string(), class("B", json!(["t1"]))),
            ("c-b2".to_string(), class("B", json!(["t1"]))),
        ];
        let new = [
            ("n-a".to_string(), class("A", json!(["t1"]))),
            ("n-b".to_string(), class("B", json!(["t1"]))),
        ];
        assert_eq!(
            pair_unique(&old, &new),
            [("c-a".to_string(), "n-a".to_string())]
        );
    }
}
