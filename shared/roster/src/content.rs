//! The SIS-owned content of a record, in canonical form, and its digest.
//!
//! Content is a JSON object with sorted keys, without empty values: the same
//! record read from a CSV file, from the API or back from a store gives the
//! same text and so the same digest. The text is the content: it is written
//! once from the record (`crate::canonical`), stored as it is, and its digest
//! is the hash of its bytes. A stored text that differs from the delivery's
//! in any way (a hand edit included) has another digest, and the record is
//! rewritten. Digests are computed from what is stored *now*, every run.

use oneroster::{EntityKind, Record};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::OnceLock;
use xxhash_rust::xxh3::xxh3_64;

/// SIS content: its canonical JSON text (or the text a store holds, as it
/// holds it), and its fields, parsed when first asked for.
#[derive(Debug, Clone)]
pub struct SisContent {
    text: String,
    fields: OnceLock<Map<String, Value>>,
}

impl PartialEq for SisContent {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for SisContent {}

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
        let mut out = String::with_capacity(256);
        let text = Self::record_text(record, &mut out);
        Self::from_stored(text.to_string())
    }

    /// Writes the canonical text of a record's content into `buffer` (its
    /// earlier content is dropped) and returns it: the text without making a
    /// content, for records whose digest alone is wanted.
    pub fn record_text<'b>(record: &Record<'_>, buffer: &'b mut String) -> &'b str {
        buffer.clear();
        if !crate::canonical::write(record, &NOT_CONTENT, buffer).expect("records serialise") {
            buffer.push_str("{}");
        }
        buffer
    }

    /// Canonicalises a JSON object (read back from a store, or made by hand).
    pub fn from_value(value: Value) -> SisContent {
        let map = match prune(value) {
            Some(Value::Object(mut map)) => {
                for key in NOT_CONTENT {
                    map.remove(key);
                }
                map
            }
            _ => Map::new(),
        };
        let text = serde_json::to_string(&map).expect("JSON serialises");
        SisContent {
            text,
            fields: OnceLock::from(map),
        }
    }

    /// Parses canonical or non-canonical JSON text into canonical content.
    pub fn from_json(text: &str) -> Result<SisContent, serde_json::Error> {
        serde_json::from_str::<Value>(text).map(Self::from_value)
    }

    /// Content as a store holds it, kept byte for byte: its digest is the
    /// hash of these bytes, so a hand edit is seen whatever form it took.
    pub fn from_stored(text: String) -> SisContent {
        SisContent {
            text,
            fields: OnceLock::new(),
        }
    }

    /// The JSON text (canonical, unless a store held it otherwise).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The JSON text, owned.
    pub fn into_text(self) -> String {
        self.text
    }

    /// The digest of the text (xxh3, 64 bits; stable across versions).
    pub fn digest(&self) -> u64 {
        digest_of_text(&self.text)
    }

    /// The fields (parsed from the text when first asked for; a text that is
    /// not a JSON object has none).
    pub fn fields(&self) -> &Map<String, Value> {
        self.fields
            .get_or_init(|| match serde_json::from_str::<Value>(&self.text) {
                Ok(Value::Object(map)) => map,
                _ => Map::new(),
            })
    }

    /// The content with one field set (tests and tools that simulate hand
    /// edits): canonical again afterwards.
    pub fn with_field(&self, key: &str, value: Value) -> SisContent {
        let mut map = self.fields().clone();
        map.insert(key.to_string(), value);
        Self::from_value(Value::Object(map))
    }

    /// A string field.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.fields().get(key).and_then(Value::as_str)
    }

    /// A list field's string items.
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.fields()
            .get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The fields the engine and the stores read of the content, read
    /// without parsing the rest.
    pub fn probe(&self) -> Probe<'_> {
        Probe::of_text(&self.text).unwrap_or_else(|| Probe::of_fields(self.fields()))
    }

    /// The lookup keys a store indexes this record by (see docs/data-model.md).
    pub fn index_keys(&self, kind: EntityKind) -> IndexKeys {
        self.probe().index_keys(kind)
    }
}

/// Content is written as the JSON object of its text, not re-serialised field
/// by field (plan files, before-images, stored records as JSON).
impl serde::Serialize for SisContent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        serde_json::value::RawValue::from_string(self.text.clone())
            .map_err(S::Error::custom)?
            .serialize(s)
    }
}

/// Content is read back as the text it was written as (a plan file holds
/// canonical text; a before-image restores exactly what was stored).
impl<'de> Deserialize<'de> for SisContent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SisContent, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        Ok(SisContent::from_stored(String::from(Box::<str>::from(raw))))
    }
}

/// The digest of a content text: what [`SisContent::digest`] gives for it.
pub fn digest_of_text(text: &str) -> u64 {
    xxh3_64(text.as_bytes())
}

/// `schoolYear` as the text has it: a number, or a string of one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum YearField<'a> {
    /// `2027`
    Number(u64),
    /// `"2027"`
    #[serde(borrow)]
    Text(Cow<'a, str>),
}

/// The fields of a content that the engine and the stores read: sign-in
/// keys, index keys and what the school-year rules use. Read from the text
/// without parsing the rest of it (fields of another JSON type than these
/// fall back to a full parse, where they read as absent).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe<'a> {
    /// `email`
    #[serde(borrow, default)]
    pub email: Option<Cow<'a, str>>,
    /// `username`
    #[serde(borrow, default)]
    pub username: Option<Cow<'a, str>>,
    /// `role`
    #[serde(borrow, default)]
    pub role: Option<Cow<'a, str>>,
    /// `schoolSourcedId`
    #[serde(borrow, default)]
    pub school_sourced_id: Option<Cow<'a, str>>,
    /// `classSourcedId`
    #[serde(borrow, default)]
    pub class_sourced_id: Option<Cow<'a, str>>,
    /// `userSourcedId`
    #[serde(borrow, default)]
    pub user_sourced_id: Option<Cow<'a, str>>,
    /// `startDate`
    #[serde(borrow, default)]
    pub start_date: Option<Cow<'a, str>>,
    /// `endDate`
    #[serde(borrow, default)]
    pub end_date: Option<Cow<'a, str>>,
    /// `schoolYear`
    #[serde(borrow, default)]
    pub school_year: Option<YearField<'a>>,
    /// `schoolYearSourcedId`
    #[serde(borrow, default)]
    pub school_year_sourced_id: Option<Cow<'a, str>>,
    /// `termSourcedIds`
    #[serde(borrow, default)]
    pub term_sourced_ids: Option<Vec<Cow<'a, str>>>,
    /// `orgSourcedIds`
    #[serde(borrow, default)]
    pub org_sourced_ids: Option<Vec<Cow<'a, str>>>,
    /// `orgSourcedId` (a course's)
    #[serde(borrow, default)]
    pub org_sourced_id: Option<Cow<'a, str>>,
}

impl<'a> Probe<'a> {
    /// Reads the fields from a JSON object's text; `None` when the text is
    /// not one or a field has another JSON type.
    pub fn of_text(text: &'a str) -> Option<Probe<'a>> {
        serde_json::from_str(text).ok()
    }

    /// Reads the fields from parsed ones (values of another type are absent).
    pub fn of_fields(fields: &'a Map<String, Value>) -> Probe<'a> {
        let text = |key: &str| fields.get(key).and_then(Value::as_str).map(Cow::Borrowed);
        let list = |key: &str| {
            fields.get(key).and_then(Value::as_array).map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(Cow::Borrowed)
                    .collect()
            })
        };
        Probe {
            email: text("email"),
            username: text("username"),
            role: text("role"),
            school_sourced_id: text("schoolSourcedId"),
            class_sourced_id: text("classSourcedId"),
            user_sourced_id: text("userSourcedId"),
            start_date: text("startDate"),
            end_date: text("endDate"),
            school_year: fields.get("schoolYear").and_then(|v| match v {
                Value::Number(n) => n.as_u64().map(YearField::Number),
                Value::String(s) => Some(YearField::Text(Cow::Borrowed(s))),
                _ => None,
            }),
            school_year_sourced_id: text("schoolYearSourcedId"),
            term_sourced_ids: list("termSourcedIds"),
            org_sourced_ids: list("orgSourcedIds"),
            org_sourced_id: text("orgSourcedId"),
        }
    }

    /// The lookup keys a store indexes a record of `kind` by.
    pub fn index_keys(&self, kind: EntityKind) -> IndexKeys {
        let lower = |s: &Option<Cow<'_, str>>| s.as_deref().map(str::to_lowercase);
        let owned = |s: &Option<Cow<'_, str>>| s.as_deref().map(String::from);
        match kind {
            EntityKind::Users => IndexKeys {
                email: lower(&self.email),
                username: lower(&self.username),
                ..IndexKeys::default()
            },
            EntityKind::Classes => IndexKeys {
                school: owned(&self.school_sourced_id),
                ..IndexKeys::default()
            },
            EntityKind::Enrollments => IndexKeys {
                class: owned(&self.class_sourced_id),
                user: owned(&self.user_sourced_id),
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

impl IndexKeys {
    /// Sets these keys to those of `record`, the same as the keys read from
    /// its canonical text ([`SisContent::index_keys`]) but without reading
    /// the text back; the strings already held are reused.
    pub fn set_from_record(&mut self, record: &Record<'_>) {
        fn set(slot: &mut Option<String>, value: Option<&str>, lower: bool) {
            let (Some(value), false) = (value, value.is_some_and(str::is_empty)) else {
                *slot = None;
                return;
            };
            let held = slot.get_or_insert_with(String::new);
            held.clear();
            if !lower {
                held.push_str(value);
            } else if value.is_ascii() {
                held.push_str(value);
                held.make_ascii_lowercase();
            } else {
                held.push_str(&value.to_lowercase());
            }
        }
        let (mut email, mut username, mut school, mut class, mut user) =
            (None, None, None, None, None);
        match record {
            Record::User(u) => (email, username) = (u.email, Some(u.username)),
            Record::Class(c) => school = Some(c.school_sourced_id),
            Record::Enrollment(e) => {
                (class, user) = (Some(e.class_sourced_id), Some(e.user_sourced_id))
            }
            _ => {}
        }
        set(&mut self.email, email, true);
        set(&mut self.username, username, true);
        set(&mut self.school, school, false);
        set(&mut self.class, class, false);
        set(&mut self.user, user, false);
    }
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
        assert_eq!(a.text(), r#"{"a":"1","b":"2"}"#);
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
