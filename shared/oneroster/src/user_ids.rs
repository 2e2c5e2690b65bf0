//! `users.userIds`: `{type:identifier}` entries, their splitting and checking.

use serde::Serialize;

/// One `{type:identifier}` entry of `users.userIds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UserId<'a> {
    /// The identifier's type, e.g. `Fed`, `StateID`.
    #[serde(rename = "type")]
    pub id_type: &'a str,
    /// The identifier.
    pub identifier: &'a str,
}

/// `users.userIds`, validated; iterate to get the entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserIds<'a>(pub(crate) &'a str);

impl<'a> UserIds<'a> {
    /// The entries.
    pub fn iter(&self) -> impl Iterator<Item = UserId<'a>> {
        split_user_ids(self.0).filter_map(Result::ok)
    }
}

impl Serialize for UserIds<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Why a `userIds` entry is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserIdsError {
    /// The malformed part of the field.
    pub at: usize,
}

/// Splits `{type:id},{type:id}` into entries; a malformed entry yields an error.
pub fn split_user_ids(text: &str) -> impl Iterator<Item = Result<UserId<'_>, UserIdsError>> {
    let mut rest = text;
    let mut offset = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let trimmed = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        offset += rest.len() - trimmed.len();
        rest = trimmed;
        if rest.is_empty() {
            return None;
        }
        let entry = rest
            .strip_prefix('{')
            .and_then(|inner| inner.find('}').map(|end| (&inner[..end], end + 2)))
            .and_then(|(inner, consumed)| {
                let (id_type, identifier) = inner.split_once(':')?;
                let (id_type, identifier) = (id_type.trim(), identifier.trim());
                (!id_type.is_empty() && !identifier.is_empty()).then_some((
                    UserId {
                        id_type,
                        identifier,
                    },
                    consumed,
                ))
            });
        match entry {
            Some((user_id, consumed)) => {
                rest = &rest[consumed..];
                offset += consumed;
                Some(Ok(user_id))
            }
            None => {
                failed = true;
                Some(Err(UserIdsError { at: offset }))
            }
        }
    })
}
