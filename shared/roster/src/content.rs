//! The SIS-owned content of a record, in canonical form, and its digest.
//!
//! Content is a JSON object with sorted keys, without empty values: the same
//! record read from a CSV file, from the API or back from a store gives the
//! same text and so the same digest. Digests are computed from what is
//! stored *now*, every run, so that a hand edit in the table is seen.

use oneroster::{EntityKind, Record};
use serde_json::{Map, Value};
use xxhash_rust::xxh3::xxh3_64;

/// Canonical SIS content: a JSON object, sorted keys, no null/empty values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SisContent(Map<String, Value>);

/// Fields of a record that are not content: the status is the archive state.
const NOT_CONTENT: [&str; 1] = ["status"];

fn prune(value: Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().filter_map(prune).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(map) => {
            let map: Map<String, Value> = map
                .into_iter()
                .filter_map(|(k, v)| prune(v).map(|v| (k, v)))
                .collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
        other => Some(other),
    }
}

impl SisContent {
    /// The content of a record read from a package or the API.
    pub fn from_record(record: &Record<'_>) -> SisContent {
        let value = serde_json::to_value(record).expect("records serialise");
        Self::from_value(value)
    }

    /// Canonicalises a JSON object read back from a store.
    pub fn from_value(value: Value) -> SisContent {
        match prune(value) {
            Some(Value::Object(mut map)) => {
                for key in NOT_CONTENT {
                    map.remove(key);
                }
                SisContent(map)
            }
            _ => SisContent(Map::new()),
        }
    }

    /// Parses canonical or non-canonical JSON text.
    pub fn from_json(text: &str) -> Result<SisContent, serde_json::Error> {
        serde_json::from_str::<Value>(text).map(Self::from_value)
    }

    /// The canonical JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("JSON serialises")
    }

    /// The digest of the canonical text (xxh3, 64 bits; stable across versions).
    pub fn digest(&self) -> u64 {
        xxh3_64(self.to_json().as_bytes())
    }

    /// The fields.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Mutable fields (tests and tools that simulate hand edits).
    pub fn fields_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.0
    }

    /// A string field.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// A list field's string items.
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.0
            .get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The lookup keys a store indexes this record by (see docs/data-model.md).
    pub fn index_keys(&self, kind: EntityKind) -> IndexKeys {
        let lower = |s: Option<&str>| s.map(str::to_lowercase);
        match kind {
            EntityKind::Users => IndexKeys {
                email: lower(self.str("email")),
                username: lower(self.str("username")),
                ..IndexKeys::default()
            },
            EntityKind::Classes => IndexKeys {
                school: self.str("schoolSourcedId").map(String::from),
                ..IndexKeys::default()
            },
            EntityKind::Enrollments => IndexKeys {
                class: self.str("classSourcedId").map(String::from),
                user: self.str("userSourcedId").map(String::from),
                ..IndexKeys::default()
            },
            _ => IndexKeys::default(),
        }
    }
}

/// Secondary lookup keys of a record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexKeys {
    /// Users: lower-case email.
    pub email: Option<String>,
    /// Users: lower-case username.
    pub username: Option<String>,
    /// Classes: school sourcedId.
    pub school: Option<String>,
    /// Enrollments: class sourcedId.
    pub class: Option<String>,
    /// Enrollments: user sourcedId.
    pub user: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_is_canonical_whatever_the_key_order_and_empties() {
        let a = SisContent::from_value(
            json!({"b": "2", "a": "1", "status": "active", "c": null, "d": [], "e": ""}),
        );
        let b = SisContent::from_json(r#"{"a":"1","b":"2"}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_json(), r#"{"a":"1","b":"2"}"#);
        assert_eq!(a.digest(), b.digest());
    }

    #[test]
    fn any_field_change_changes_the_digest() {
        let a =
            SisContent::from_value(json!({"givenName": "Ann", "extensions": {"metadata.x": "1"}}));
        let b =
            SisContent::from_value(json!({"givenName": "Anne", "extensions": {"metadata.x": "1"}}));
        let c =
            SisContent::from_value(json!({"givenName": "Ann", "extensions": {"metadata.x": "2"}}));
        assert_ne!(a.digest(), b.digest());
        assert_ne!(a.digest(), c.digest());
    }

    #[test]
    fn index_keys_are_lower_cased_lookups() {
        let user = SisContent::from_value(json!({"email": "Ann@X.org", "username": "ANN"}));
        let keys = user.index_keys(EntityKind::Users);
        assert_eq!(keys.email.as_deref(), Some("ann@x.org"));
        assert_eq!(keys.username.as_deref(), Some("ann"));
        let enrollment =
            SisContent::from_value(json!({"classSourcedId": "c1", "userSourcedId": "u1"}));
        let keys = enrollment.index_keys(EntityKind::Enrollments);
        assert_eq!(
            (keys.class.as_deref(), keys.user.as_deref()),
            (Some("c1"), Some("u1"))
        );
    }
}
