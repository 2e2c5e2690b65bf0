//! Re-keys: the same people under new sourcedIds (a district migrated its
//! SIS, upgraded its OneRoster connection or re-created it in ClassLink).
//! Pure: pairs the users a delivery would archive with those it would
//! insert, by what the district says of each person.
//!
//! Keys are tried in order: `identifier`, then `userIds` entries of the same
//! type (`{StateID:…}`), then email, then username, then names with role,
//! schools and grades. At each key a pair is made only when each side has
//! exactly one candidate left for the other; a pair whose two records
//! disagree on a stronger key both have (two different state ids, say) is
//! never made. Values are compared trimmed and without case. The records
//! that hang on people are re-keyed after them ([`records`]).

pub mod records;

use crate::content::SisContent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// What a pair was matched on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKey {
    /// `identifier`.
    Identifier,
    /// A `userIds` entry of this type (as the district spells it).
    UserId(String),
    /// `email`.
    Email,
    /// `username`.
    Username,
    /// Given and family names with role, schools and grades.
    Name,
    /// A pair given in a corrected mapping file without a key.
    ByHand,
    /// A course, class or enrollment paired by what it is (see [`records`]).
    Record,
}

impl std::fmt::Display for MatchKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatchKey::Identifier => f.write_str("identifier"),
            MatchKey::UserId(kind) => write!(f, "userIds {kind}"),
            MatchKey::Email => f.write_str("email"),
            MatchKey::Username => f.write_str("username"),
            MatchKey::Name => f.write_str("name, role, schools and grades"),
            MatchKey::ByHand => f.write_str("by hand"),
            MatchKey::Record => f.write_str("code, school and terms (or role, user and class)"),
        }
    }
}

impl MatchKey {
    /// Reads the form [`Display`](std::fmt::Display) writes (a mapping file's column).
    pub fn parse(text: &str) -> Option<MatchKey> {
        match text.trim() {
            "identifier" => Some(MatchKey::Identifier),
            "email" => Some(MatchKey::Email),
            "username" => Some(MatchKey::Username),
            "name, role, schools and grades" => Some(MatchKey::Name),
            "by hand" => Some(MatchKey::ByHand),
            "code, school and terms (or role, user and class)" => Some(MatchKey::Record),
            other => other
                .strip_prefix("userIds ")
                .map(|kind| MatchKey::UserId(kind.to_string())),
        }
    }
}

/// What the matching reads of one user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Person {
    /// sourcedId.
    pub id: String,
    identifier: Option<String>,
    /// `userIds` entries: lower-case type (and the type as spelt), identifier.
    user_ids: Vec<(String, String, String)>,
    email: Option<String>,
    username: Option<String>,
    role: Option<String>,
    /// Names, role, schools and grades, when both names and the role are given.
    name: Option<String>,
}

fn norm(value: Option<&str>) -> Option<String> {
    value
        .map(|v| v.trim().to_lowercase())
        .filter(|v| !v.is_empty())
}

impl Person {
    /// What the district's content says of user `id`.
    pub fn of(id: &str, sis: &SisContent) -> Person {
        let text = |key: &str| norm(sis.str(key));
        let list = |key: &str| {
            let mut items: Vec<String> = sis
                .list(key)
                .iter()
                .map(|s| s.trim().to_lowercase())
                .collect();
            items.sort();
            items.join(",")
        };
        let name = match (text("givenName"), text("familyName"), text("role")) {
            (Some(given), Some(family), Some(role)) => Some(format!(
                "{given}\u{1f}{family}\u{1f}{role}\u{1f}{}\u{1f}{}",
                list("orgSourcedIds"),
                list("grades")
            )),
            _ => None,
        };
        Person {
            id: id.to_string(),
            identifier: text("identifier"),
            user_ids: user_ids(sis.fields().get("userIds")),
            email: text("email"),
            username: text("username"),
            role: text("role"),
            name,
        }
    }

    /// This person's values for `stage`, each with the key it stands for.
    fn values(&self, stage: Stage) -> Vec<(MatchKey, String)> {
        let one = |key: MatchKey, v: &Option<String>| {
            v.iter().map(|v| (key.clone(), v.clone())).collect()
        };
        match stage {
            Stage::Identifier => one(MatchKey::Identifier, &self.identifier),
            Stage::UserIds => self
                .user_ids
                .iter()
                .map(|(kind, spelt, id)| {
                    (MatchKey::UserId(spelt.clone()), format!("{kind}\u{1f}{id}"))
                })
                .collect(),
            Stage::Email => one(MatchKey::Email, &self.email),
            Stage::Username => one(MatchKey::Username, &self.username),
            Stage::Name => one(MatchKey::Name, &self.name),
        }
    }

    /// Whether two records disagree on their role, on a `userIds` entry of
    /// one type, or on a key both have that is stronger than `stage`: then
    /// they are not the same person.
    fn conflicts(&self, other: &Person, stage: Stage) -> bool {
        let differ =
            |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a != b);
        let ids_differ = self
            .user_ids
            .iter()
            .any(|(kind, _, id)| other.user_ids.iter().any(|(k, _, i)| k == kind && i != id));
        differ(&self.role, &other.role)
            || ids_differ
            || (stage > Stage::Identifier && differ(&self.identifier, &other.identifier))
            || (stage > Stage::Email && differ(&self.email, &other.email))
    }
}

/// `userIds` as stored: a list of `{type, identifier}` objects (or the CSV
/// text `{type:id},{type:id}`).
fn user_ids(value: Option<&Value>) -> Vec<(String, String, String)> {
    let entry = |kind: &str, id: &str| {
        let (kind, id) = (kind.trim(), id.trim().to_lowercase());
        (!kind.is_empty() && !id.is_empty()).then(|| (kind.to_lowercase(), kind.to_string(), id))
    };
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| {
                entry(
                    item.get("type")?.as_str()?,
                    item.get("identifier")?.as_str()?,
                )
            })
            .collect(),
        Some(Value::String(text)) => oneroster::fields::split_user_ids(text)
            .filter_map(Result::ok)
            .filter_map(|u| entry(u.id_type, u.identifier))
            .collect(),
        _ => Vec::new(),
    }
}

/// The keys, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Identifier,
    UserIds,
    Email,
    Username,
    Name,
}

const STAGES: [Stage; 5] = [
    Stage::Identifier,
    Stage::UserIds,
    Stage::Email,
    Stage::Username,
    Stage::Name,
];

/// One proposed pair: the stored record `old` is the delivered `new`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// The stored sourcedId.
    pub old: String,
    /// The delivered sourcedId.
    pub new: String,
    /// What matched.
    pub key: MatchKey,
}

/// A proposed mapping old → new, and who is left unpaired.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proposal {
    /// The pairs, in the order of the old records.
    pub pairs: Vec<Pair>,
    /// Stored records left unpaired (archived as absent if the run is approved as it is).
    pub unpaired_old: Vec<String>,
    /// Delivered records left unpaired (inserted as new people).
    pub unpaired_new: Vec<String>,
}

impl Proposal {
    /// Pairs per key, for the summary.
    pub fn by_key(&self) -> BTreeMap<&MatchKey, u64> {
        let mut counts = BTreeMap::new();
        for pair in &self.pairs {
            *counts.entry(&pair.key).or_insert(0) += 1;
        }
        counts
    }
}

/// Pairs the records a delivery would archive (`old`) with those it would
/// insert (`new`), by every key in turn.
pub fn propose(old: &[Person], new: &[Person]) -> Proposal {
    propose_by(old, new, &STAGES)
}

/// Pairs as [`propose`] does by the exact keys only: `identifier` and typed
/// `userIds` entries (what every delivery applies without a person).
pub fn propose_exact(old: &[Person], new: &[Person]) -> Proposal {
    propose_by(old, new, &STAGES[..2])
}

fn propose_by(old: &[Person], new: &[Person], stages: &[Stage]) -> Proposal {
    let mut old_of: HashMap<usize, usize> = HashMap::new();
    let mut pairs: Vec<(usize, usize, MatchKey)> = Vec::new();
    let mut paired_new: HashSet<usize> = HashSet::new();
    for &stage in stages {
        let index = |people: &[Person], taken: &dyn Fn(usize) -> bool| {
            let mut by_value: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, p) in people.iter().enumerate().filter(|(i, _)| !taken(*i)) {
                for (_, value) in p.values(stage) {
                    let list = by_value.entry(value).or_default();
                    if !list.contains(&i) {
                        list.push(i);
                    }
                }
            }
            by_value
        };
        let olds = index(old, &|i| old_of.contains_key(&i));
        let news = index(new, &|i| paired_new.contains(&i));
        // Each side's one candidate on the other, by every value it has.
        let candidates = |person: &Person,
                          mine: &HashMap<String, Vec<usize>>,
                          theirs: &HashMap<String, Vec<usize>>| {
            let mut found: Vec<(usize, MatchKey)> = Vec::new();
            for (key, value) in person.values(stage) {
                match (mine.get(&value).map(Vec::len), theirs.get(&value)) {
                    (Some(1), Some(other)) if other.len() == 1 => found.push((other[0], key)),
                    (_, Some(_)) => return None,
                    _ => {}
                }
            }
            found.dedup_by_key(|(i, _)| *i);
            match found.as_slice() {
                [(one, key)] => Some((*one, key.clone())),
                _ => None,
            }
        };
        let mut made = Vec::new();
        for (o, person) in old
            .iter()
            .enumerate()
            .filter(|(o, _)| !old_of.contains_key(o))
        {
            let Some((n, key)) = candidates(person, &olds, &news) else {
                continue;
            };
            let back = candidates(&new[n], &news, &olds).map(|(back, _)| back);
            if back == Some(o) && !person.conflicts(&new[n], stage) {
                made.push((o, n, key));
            }
        }
        for (o, n, key) in made {
            old_of.insert(o, n);
            paired_new.insert(n);
            pairs.push((o, n, key));
        }
    }
    pairs.sort_by_key(|(o, _, _)| *o);
    Proposal {
        pairs: pairs
            .into_iter()
            .map(|(o, n, key)| Pair {
                old: old[o].id.clone(),
                new: new[n].id.clone(),
                key,
            })
            .collect(),
        unpaired_old: (0..old.len())
            .filter(|o| !old_of.contains_key(o))
            .map(|o| old[o].id.clone())
            .collect(),
        unpaired_new: (0..new.len())
            .filter(|n| !paired_new.contains(n))
            .map(|n| new[n].id.clone())
            .collect(),
    }
}

/// The header of a mapping file.
pub const MAPPING_HEADER: [&str; 3] = ["old_sourcedId", "new_sourcedId", "matched_on"];

/// Writes `pairs` as a mapping file (CSV: [`MAPPING_HEADER`], a pair a row;
/// ids and the key that matched, nothing else).
pub fn write_mapping(path: &std::path::Path, pairs: &[Pair]) -> std::io::Result<()> {
    let mut out = csv::Writer::from_path(path)?;
    out.write_record(MAPPING_HEADER)?;
    for pair in pairs {
        out.write_record([pair.old.as_str(), pair.new.as_str(), &pair.key.to_string()])?;
    }
    out.flush()
}

/// Reads a mapping file as [`write_mapping`] writes it (a district may have
/// corrected it: rows removed, ids changed). A row's `matched_on` may be
/// empty or anything (a pair made by hand): it is kept as `by hand`.
/// Errors name the line.
pub fn read_mapping(path: &std::path::Path) -> Result<Vec<Pair>, String> {
    let shown = path.display();
    let mut input = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| format!("{shown}: {e}"))?;
    let header = input
        .headers()
        .map_err(|e| format!("{shown}: {e}"))?
        .clone();
    if header.len() < 2 || &header[0] != MAPPING_HEADER[0] || &header[1] != MAPPING_HEADER[1] {
        return Err(format!(
            "{shown}:1: the header must start with `{},{}`",
            MAPPING_HEADER[0], MAPPING_HEADER[1]
        ));
    }
    let mut pairs = Vec::new();
    for (i, row) in input.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| format!("{shown}:{line}: {e}"))?;
        let (old, new) = (
            row.get(0).unwrap_or("").trim(),
            row.get(1).unwrap_or("").trim(),
        );
        if old.is_empty() || new.is_empty() {
            return Err(format!(
                "{shown}:{line}: both `old_sourcedId` and `new_sourcedId` are needed"
            ));
        }
        let key = row
            .get(2)
            .and_then(MatchKey::parse)
            .unwrap_or(MatchKey::ByHand);
        pairs.push(Pair {
            old: old.to_string(),
            new: new.to_string(),
            key,
        });
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person(id: &str, fields: Value) -> Person {
        let mut fields = fields;
        fields["sourcedId"] = json!(id);
        Person::of(id, &SisContent::from_stored(fields.to_string()))
    }

    fn pairs(p: &Proposal) -> Vec<(&str, &str, String)> {
        p.pairs
            .iter()
            .map(|x| (x.old.as_str(), x.new.as_str(), x.key.to_string()))
            .collect()
    }

    #[test]
    fn each_key_in_turn_pairs_the_people_it_tells_apart() {
        let old = [
            person("o1", json!({"identifier": "1001", "email": "a@x.org"})),
            person(
                "o2",
                json!({"userIds": [{"type": "StateID", "identifier": "S-2"}]}),
            ),
            person("o3", json!({"email": "C@X.org"})),
            person("o4", json!({"username": "dee"})),
            person(
                "o5",
                json!({"givenName": "Eli", "familyName": "Ng", "role": "student", "orgSourcedIds": ["s1"], "grades": ["03"]}),
            ),
        ];
        let new = [
            person(
                "n5",
                json!({"givenName": "eli ", "familyName": "NG", "role": "student", "orgSourcedIds": ["s1"], "grades": ["03"]}),
            ),
            person("n3", json!({"email": "c@x.org"})),
            person("n1", json!({"identifier": "1001", "email": "other@x.org"})),
            person("n2", json!({"userIds": "{StateID:S-2},{Fed:9}"})),
            person("n4", json!({"username": "Dee"})),
        ];
        let p = propose(&old, &new);
        assert_eq!(
            pairs(&p),
            [
                ("o1", "n1", "identifier".to_string()),
                ("o2", "n2", "userIds StateID".to_string()),
                ("o3", "n3", "email".to_string()),
                ("o4", "n4", "username".to_string()),
                ("o5", "n5", "name, role, schools and grades".to_string()),
            ]
        );
        assert!(p.unpaired_old.is_empty() && p.unpaired_new.is_empty());
        assert_eq!(p.by_key()[&MatchKey::Identifier], 1);
    }

    #[test]
    fn ambiguous_and_conflicting_candidates_are_never_paired() {
        let old = [
            // Two stored twins with one name: neither is paired by name.
            person(
                "twin-a",
                json!({"givenName": "Al", "familyName": "Bo", "role": "student"}),
            ),
            person(
                "twin-b",
                json!({"givenName": "Al", "familyName": "Bo", "role": "student"}),
            ),
            // Same email, different state ids: two people.
            person(
                "o3",
                json!({"email": "c@x.org", "userIds": [{"type": "StateID", "identifier": "1"}]}),
            ),
            // One identifier delivered twice.
            person("o4", json!({"identifier": "44"})),
        ];
        let new = [
            person(
                "n-twin",
                json!({"givenName": "Al", "familyName": "Bo", "role": "student"}),
            ),
            person(
                "n3",
                json!({"email": "c@x.org", "userIds": [{"type": "StateID", "identifier": "2"}]}),
            ),
            person("n4a", json!({"identifier": "44"})),
            person("n4b", json!({"identifier": "44"})),
        ];
        let p = propose(&old, &new);
        assert!(p.pairs.is_empty(), "{:?}", p.pairs);
        assert_eq!(p.unpaired_old.len(), 4);
        assert_eq!(p.unpaired_new.len(), 4);
        // One identifier, but a teacher and a student; or two state ids.
        let old = [
            person("t", json!({"identifier": "1001", "role": "teacher"})),
            person(
                "s",
                json!({"identifier": "2002", "userIds": [{"type": "StateID", "identifier": "A"}]}),
            ),
        ];
        let new = [
            person("n-t", json!({"identifier": "1001", "role": "student"})),
            person(
                "n-s",
                json!({"identifier": "2002", "userIds": [{"type": "StateID", "identifier": "B"}]}),
            ),
        ];
        assert!(propose_exact(&old, &new).pairs.is_empty());
    }

    #[test]
    fn exact_pairs_need_an_identifier_or_a_typed_user_id() {
        let old = [
            person("o1", json!({"identifier": "1"})),
            person("o2", json!({"email": "b@x.org"})),
        ];
        let new = [
            person("n1", json!({"identifier": "1"})),
            person("n2", json!({"email": "b@x.org"})),
        ];
        let p = propose_exact(&old, &new);
        assert_eq!(pairs(&p), [("o1", "n1", "identifier".to_string())]);
        assert_eq!(
            (p.unpaired_old.as_slice(), p.unpaired_new.as_slice()),
            (&["o2".to_string()][..], &["n2".to_string()][..])
        );
    }

    #[test]
    fn a_match_key_reads_back_as_it_is_written() {
        for key in [
            MatchKey::Identifier,
            MatchKey::UserId("StateID".into()),
            MatchKey::Email,
            MatchKey::Username,
            MatchKey::Name,
            MatchKey::ByHand,
            MatchKey::Record,
        ] {
            assert_eq!(MatchKey::parse(&key.to_string()), Some(key));
        }
        assert_eq!(MatchKey::parse("shoe size"), None);
    }

    #[test]
    fn a_mapping_file_reads_back_and_its_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.csv");
        let pairs = [Pair {
            old: "o,1".into(),
            new: "n1".into(),
            key: MatchKey::UserId("StateID".into()),
        }];
        write_mapping(&path, &pairs).unwrap();
        assert_eq!(read_mapping(&path).unwrap(), pairs);
        std::fs::write(
            &path,
            "old_sourcedId,new_sourcedId,matched_on\no1,n1,\no2,,email\n",
        )
        .unwrap();
        let error = read_mapping(&path).unwrap_err();
        assert!(
            error.ends_with("map.csv:3: both `old_sourcedId` and `new_sourcedId` are needed"),
            "{error}"
        );
        std::fs::write(&path, "old,new\n").unwrap();
        assert!(read_mapping(&path).unwrap_err().contains(":1: the header"));
    }
}
