//! The status payload a OneRoster API sends with an error (`imsx_StatusInfo`:
//! `imsx_codeMajor`, `imsx_severity`, `imsx_description`, `imsx_CodeMinor`),
//! read from a bounded body so that the code minor and the description can
//! be told to the operator.
//!
//! Servers vary: the fields at the top level or under `imsx_StatusInfo` (or
//! in a one-element `statusInfoSet`), `imsx_CodeMinor` or `imsx_codeMinor`,
//! holding `{imsx_codeMinorField: [{imsx_codeMinorFieldName,
//! imsx_codeMinorFieldValue}]}`, a single such field, or a bare string.
//! Only the code minor and the description are kept, cut short and cleared
//! of control characters; anything that looks like a credential (a bearer
//! token, an `oauth_signature`) makes the description dropped.

use serde_json::{Map, Value};

/// The most of an error body that is read.
pub const MAX_STATUS_BYTES: usize = 16 * 1024;

/// The longest description kept.
const MAX_DESCRIPTION_CHARS: usize = 200;

/// What an error payload said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusInfo {
    /// `imsx_codeMinorFieldValue`, e.g. `invalid_filter_field`.
    pub code_minor: Option<String>,
    /// `imsx_description`, cut short.
    pub description: Option<String>,
}

impl StatusInfo {
    /// Reads a status payload from an error body; `None` when the body is
    /// not one.
    pub fn parse(body: &[u8]) -> Option<StatusInfo> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let object = status_object(&value)?;
        let info = StatusInfo {
            code_minor: code_minor(object),
            description: field(object, "imsx_description").and_then(|d| clean(d.as_str()?)),
        };
        (info.code_minor.is_some() || info.description.is_some()).then_some(info)
    }

    /// `code_minor: description`, or whichever there is.
    pub fn summary(&self) -> String {
        match (&self.code_minor, &self.description) {
            (Some(code), Some(text)) => format!("{code}: {text}"),
            (Some(code), None) => code.clone(),
            (None, Some(text)) => text.clone(),
            (None, None) => String::new(),
        }
    }

    /// Whether the code minor is `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code_minor
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(code))
    }
}

/// The object holding the `imsx_` fields.
fn status_object(value: &Value) -> Option<&Map<String, Value>> {
    let root = value.as_object()?;
    if let Some(Value::Object(inner)) = field(root, "imsx_StatusInfo") {
        return Some(inner);
    }
    if let Some(Value::Array(set)) = field(root, "statusInfoSet") {
        return set.first()?.as_object();
    }
    Some(root)
}

/// A field by name, case-insensitively (`imsx_CodeMinor`, `imsx_codeMinor`).
fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The first `imsx_codeMinorFieldValue`, in any of the shapes servers send.
fn code_minor(object: &Map<String, Value>) -> Option<String> {
    let minor = field(object, "imsx_CodeMinor")?;
    let value = match minor {
        Value::String(text) => text.as_str(),
        Value::Object(o) => match field(o, "imsx_codeMinorField") {
            Some(Value::Array(fields)) => fields
                .iter()
                .filter_map(Value::as_object)
                .find_map(|f| field(f, "imsx_codeMinorFieldValue")?.as_str())?,
            Some(Value::Object(f)) => field(f, "imsx_codeMinorFieldValue")?.as_str()?,
            _ => field(o, "imsx_codeMinorFieldValue")?.as_str()?,
        },
        _ => return None,
    };
    let code: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        .take(64)
        .collect();
    (!code.is_empty()).then_some(code)
}

/// A description fit to show: no control characters, cut short, and none
/// at all when it looks like it quotes a credential or an e-mail address
/// (a person's).
fn clean(text: &str) -> Option<String> {
    if quotes_a_credential(text) || text.contains('@') {
        return None;
    }
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_DESCRIPTION_CHARS)
        .collect();
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        out.push('…');
    }
    let out = out.trim().to_string();
    (!out.is_empty()).then_some(out)
}

/// Whether `text` names a credential's field or holds a word that looks
/// like a token (32 or more characters of base64 or hex, nothing else).
fn quotes_a_credential(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let named = [
        "bearer ",
        "oauth_",
        "access_token",
        "client_secret",
        "password",
        "authorization:",
    ]
    .iter()
    .any(|w| lower.contains(w));
    // Words of token characters, whatever quotes, brackets or commas surround them.
    let separator = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '\'' | '"' | '`' | '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | ',' | ';'
            )
    };
    let opaque = text.split(separator).any(|word| {
        word.len() >= 32
            && word.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '.' | '_' | '-')
            })
    });
    named || opaque
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_token_or_an_email_address_is_never_shown() {
        let token = "655A0F1E2D3C4B5A69788796A5B4C3D2E1F00126";
        for text in [
            format!("invalid token '{token}'"),
            format!("token ({token}), expired"),
            format!("bad \"{token}\"."),
            "user jane.doe@example.org not found".to_string(),
        ] {
            assert_eq!(clean(&text), None, "{text}");
        }
        assert_eq!(
            clean("dateLastModified cannot be filtered").as_deref(),
            Some("dateLastModified cannot be filtered")
        );
    }

    #[test]
    fn the_code_minor_and_description_are_read_from_every_shape() {
        let spec = br#"{"imsx_codeMajor":"failure","imsx_severity":"error","imsx_description":"dateLastModified cannot be filtered","imsx_CodeMinor":{"imsx_codeMinorField":[{"imsx_codeMinorFieldName":"TargetEndSystem","imsx_codeMinorFieldValue":"invalid_filter_field"}]}}"#;
        let info = StatusInfo::parse(spec).unwrap();
        assert!(info.is("invalid_filter_field"));
        assert_eq!(
            info.summary(),
            "invalid_filter_field: dateLastModified cannot be filtered"
        );
        let wrapped = br#"{"imsx_StatusInfo":{"imsx_codeMajor":"failure","imsx_codeMinor":{"imsx_codeMinorField":{"imsx_codeMinorFieldValue":"server_busy"}}}}"#;
        assert_eq!(StatusInfo::parse(wrapped).unwrap().summary(), "server_busy");
        let bare = br#"{"imsx_codeMajor":"failure","imsx_CodeMinor":"unknownobject"}"#;
        assert!(StatusInfo::parse(bare).unwrap().is("unknownobject"));
        assert_eq!(StatusInfo::parse(b"<html>busy</html>"), None);
        assert_eq!(StatusInfo::parse(br#"{"error":"boom"}"#), None);
        assert_eq!(StatusInfo::parse(b"[1,2]"), None);
    }

    #[test]
    fn descriptions_are_cut_cleaned_and_dropped_when_they_quote_credentials() {
        let long = format!(
            r#"{{"imsx_description":"{}\nend","imsx_CodeMinor":"invalid_data"}}"#,
            "word ".repeat(100)
        );
        let info = StatusInfo::parse(long.as_bytes()).unwrap();
        let text = info.description.unwrap();
        assert!(text.chars().count() <= MAX_DESCRIPTION_CHARS + 1 && !text.contains('\n'));
        let leaky = br#"{"imsx_description":"bad header Authorization: Bearer abc.def","imsx_CodeMinor":"unauthorisedrequest"}"#;
        let info = StatusInfo::parse(leaky).unwrap();
        assert_eq!(info.description, None);
        assert_eq!(info.summary(), "unauthorisedrequest");
        let opaque = br#"{"imsx_description":"token 655A85C862950D2E8761E6F062EB0126 expired","imsx_CodeMinor":"unauthorisedrequest"}"#;
        assert_eq!(StatusInfo::parse(opaque).unwrap().description, None);
        let scope = br#"{"imsx_description":"the token lacks the scope https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly","imsx_CodeMinor":"forbidden"}"#;
        assert!(StatusInfo::parse(scope)
            .unwrap()
            .summary()
            .starts_with("forbidden: the token lacks the scope https://"));
        let odd = br#"{"imsx_CodeMinor":"bad\u0000code with spaces"}"#;
        assert_eq!(
            StatusInfo::parse(odd).unwrap().code_minor.as_deref(),
            Some("badcodewithspaces")
        );
    }
}
