//! Where each row of a pulled collection's temporary CSV came from, so that
//! a finding on `users.csv:2` (a file the district never saw) is told as the
//! record the district sent: its collection, the page (`offset`) that
//! carried it and its `sourcedId`.
//!
//! Kept small whatever the collection's size: the offset of each page, and
//! an anchor (line, record index) at the first row and after every row that
//! spans several lines (a value with a line break).
//!
//! A 1.2 pull's `roles.csv` is made of its users' `roles[]`: each of its
//! rows is told as the user record that held it, with the role's place
//! (`users record `t1` (page at offset 2), roles[1]`).

use oneroster::report::ApiLocation;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The column of `roles.csv` naming the role's user.
const USER_SOURCED_ID: usize = 3;

/// The rows of one pulled collection's CSV, by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins {
    /// The `offset` of each page read, in order: a page's offset is the index
    /// of its first record.
    page_offsets: Vec<u64>,
    /// (line, record index) where lines and records step apart: the first
    /// row (line 2, under the header) and the row after each multi-line row.
    anchors: Vec<(u64, u64)>,
    /// Rows written.
    rows: u64,
    /// The line the next row starts on.
    next_line: u64,
}

impl Default for Origins {
    fn default() -> Self {
        Origins {
            page_offsets: Vec::new(),
            anchors: vec![(2, 0)],
            rows: 0,
            next_line: 2,
        }
    }
}

impl Origins {
    /// A page read at `offset`.
    pub(crate) fn page(&mut self, offset: u64) {
        self.page_offsets.push(offset);
    }

    /// A row written whose fields hold `line_breaks` line feeds.
    pub(crate) fn row(&mut self, line_breaks: u64) {
        self.rows += 1;
        self.next_line += 1 + line_breaks;
        if line_breaks > 0 {
            self.anchors.push((self.next_line, self.rows));
        }
    }

    /// The record whose row starts on `line`: its index in the collection
    /// and the offset of the page that carried it.
    pub fn record_at(&self, line: u64) -> Option<(u64, u64)> {
        let at = self.anchors.partition_point(|(l, _)| *l <= line);
        let (anchor_line, anchor_index) = *self.anchors.get(at.checked_sub(1)?)?;
        let index = anchor_index + (line - anchor_line);
        let limit = self.anchors.get(at).map_or(self.rows, |(_, i)| *i);
        if index >= limit {
            return None;
        }
        Some((index, self.page_of(index)?))
    }

    /// The offset of the page that carried the record at `index`.
    pub fn page_of(&self, index: u64) -> Option<u64> {
        let page = self.page_offsets.partition_point(|o| *o <= index);
        self.page_offsets.get(page.checked_sub(1)?).copied()
    }
}

/// Where each row of a 1.2 pull's `roles.csv` came from: the user record
/// whose `roles[]` held it, and its place there. Kept small as [`Origins`]:
/// anchors only where rows and users step apart (a user with no role or
/// several; a row spanning lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleOrigins {
    /// The lines of `roles.csv`, by row (one page: a row's index).
    lines: Origins,
    /// (row, user index, several): from `row` on, one row for each user
    /// from `user` on; or (`several`) the rows of the user `user`.
    users: Vec<(u64, u64, bool)>,
    /// Users seen.
    users_seen: u64,
    /// Rows written.
    rows: u64,
    /// The last anchor gives one row to each user since.
    one_each: bool,
}

impl Default for RoleOrigins {
    fn default() -> Self {
        let mut lines = Origins::default();
        lines.page(0);
        RoleOrigins {
            lines,
            users: Vec::new(),
            users_seen: 0,
            rows: 0,
            one_each: false,
        }
    }
}

impl RoleOrigins {
    /// The next user of the collection, whose roles took rows holding
    /// `line_breaks` line feeds each.
    pub(crate) fn user(&mut self, line_breaks: &[u64]) {
        let index = self.users_seen;
        self.users_seen += 1;
        match line_breaks.len() {
            0 => self.one_each = false,
            1 if self.one_each => {}
            n => {
                self.users.push((self.rows, index, n > 1));
                self.one_each = n == 1;
            }
        }
        for breaks in line_breaks {
            self.lines.row(*breaks);
            self.rows += 1;
        }
    }

    /// The role whose row starts on `line`: its row, the index of its user
    /// in the users collection and its place in the user's `roles[]`.
    pub fn role_at(&self, line: u64) -> Option<(u64, u64, u64)> {
        let (row, _) = self.lines.record_at(line)?;
        let at = self.users.partition_point(|(r, _, _)| *r <= row);
        let (first, user, several) = *self.users.get(at.checked_sub(1)?)?;
        Some(match several {
            true => (row, user, row - first),
            false => (row, user + (row - first), 0),
        })
    }
}

/// The field `column` of each of `rows` (by index) of the CSV `csv`.
fn fields_of(
    csv: &Path,
    rows: &BTreeSet<u64>,
    column: usize,
) -> std::io::Result<BTreeMap<u64, String>> {
    let mut found = BTreeMap::new();
    if rows.is_empty() {
        return Ok(found);
    }
    let mut reader = csv::Reader::from_path(csv)?;
    for (index, record) in reader.records().enumerate() {
        if !rows.contains(&(index as u64)) {
            continue;
        }
        let record = record.map_err(std::io::Error::other)?;
        found.insert(
            index as u64,
            record.get(column).unwrap_or_default().to_string(),
        );
        if found.len() == rows.len() {
            break;
        }
    }
    Ok(found)
}

/// The records on `lines` of the pulled CSV `csv` of `collection`, as the
/// district sent them; lines that start no row are left out.
pub fn locate(
    collection: &str,
    origins: &Origins,
    csv: &Path,
    lines: &BTreeSet<u64>,
) -> std::io::Result<BTreeMap<u64, ApiLocation>> {
    let wanted: BTreeMap<u64, (u64, u64)> = lines
        .iter()
        .filter_map(|line| origins.record_at(*line).map(|r| (*line, r)))
        .collect();
    let rows = wanted.values().map(|(index, _)| *index).collect();
    let ids = fields_of(csv, &rows, 0)?;
    Ok(wanted
        .into_iter()
        .filter_map(|(line, (index, offset))| {
            let location = ApiLocation {
                collection: collection.to_string(),
                offset,
                sourced_id: ids.get(&index)?.clone(),
                field: None,
            };
            Some((line, location))
        })
        .collect())
}

/// The user records behind `lines` of a 1.2 pull's `roles.csv` (`csv`), as
/// the district sent them: the users collection's record (its page from
/// `users`, its sourcedId from the row's `userSourcedId`) and the role's
/// place, `roles[n]`. Lines that start no row are left out.
pub fn locate_roles(
    users: &Origins,
    roles: &RoleOrigins,
    csv: &Path,
    lines: &BTreeSet<u64>,
) -> std::io::Result<BTreeMap<u64, ApiLocation>> {
    let wanted: BTreeMap<u64, (u64, u64, u64)> = lines
        .iter()
        .filter_map(|line| roles.role_at(*line).map(|r| (*line, r)))
        .collect();
    let rows = wanted.values().map(|(row, _, _)| *row).collect();
    let ids = fields_of(csv, &rows, USER_SOURCED_ID)?;
    Ok(wanted
        .into_iter()
        .filter_map(|(line, (row, user, n))| {
            let location = ApiLocation {
                collection: "users".to_string(),
                offset: users.page_of(user)?,
                sourced_id: ids.get(&row)?.clone(),
                field: Some(format!("roles[{n}]")),
            };
            Some((line, location))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oneroster::v1p2::columns::ROLES;

    #[test]
    fn role_lines_map_to_their_users_and_places() {
        let mut o = RoleOrigins::default();
        o.user(&[0]); // line 2: user 0
        o.user(&[0]); // line 3: user 1
        o.user(&[]); // user 2, no role
        o.user(&[0, 1, 0]); // lines 4, 5-6, 7: user 3
        o.user(&[0]); // line 8: user 4
        o.user(&[0]); // line 9: user 5
        assert_eq!(o.role_at(2), Some((0, 0, 0)));
        assert_eq!(o.role_at(3), Some((1, 1, 0)));
        assert_eq!(o.role_at(4), Some((2, 3, 0)));
        assert_eq!(o.role_at(5), Some((3, 3, 1)));
        assert_eq!(o.role_at(6), None, "inside a multi-line row");
        assert_eq!(o.role_at(7), Some((4, 3, 2)));
        assert_eq!(o.role_at(8), Some((5, 4, 0)));
        assert_eq!(o.role_at(9), Some((6, 5, 0)));
        assert_eq!(o.role_at(10), None);
        assert_eq!(o.role_at(1), None);
        assert_eq!(
            o.users.len(),
            3,
            "anchors only where rows and users step apart"
        );
    }

    #[test]
    fn role_rows_are_told_as_the_user_records_that_held_them() {
        assert_eq!(ROLES[USER_SOURCED_ID].name, "userSourcedId");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roles.csv");
        std::fs::write(
            &path,
            "sourcedId,status,dateLastModified,userSourcedId\nu1-1,active,,u1\nu3-1,active,,u3\nu3-2,active,,u3\n",
        )
        .unwrap();
        let mut users = Origins::default();
        users.page(0);
        users.page(2);
        let mut roles = RoleOrigins::default();
        roles.user(&[0]);
        roles.user(&[]);
        roles.user(&[0, 0]);
        let found = locate_roles(&users, &roles, &path, &BTreeSet::from([2, 4, 9])).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[&2].render(),
            "users record `u1` (page at offset 0), roles[0]"
        );
        assert_eq!(
            found[&4].render(),
            "users record `u3` (page at offset 2), roles[1]"
        );
    }

    #[test]
    fn lines_map_to_records_and_pages_across_multi_line_rows() {
        let mut o = Origins::default();
        o.page(0);
        o.row(0); // line 2, record 0
        o.row(2); // lines 3-5, record 1
        o.page(2);
        o.row(0); // line 6, record 2
        o.row(0); // line 7, record 3
        assert_eq!(o.record_at(2), Some((0, 0)));
        assert_eq!(o.record_at(3), Some((1, 0)));
        assert_eq!(o.record_at(4), None, "inside a multi-line row");
        assert_eq!(o.record_at(6), Some((2, 2)));
        assert_eq!(o.record_at(7), Some((3, 2)));
        assert_eq!(o.record_at(8), None, "past the last row");
        assert_eq!(o.record_at(1), None, "the header");
        assert_eq!(o.record_at(0), None);
    }

    #[test]
    fn sourced_ids_are_read_back_from_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        std::fs::write(&path, "sourcedId,note\nu1,a\nu2,\"two\nlines\"\nu3,c\n").unwrap();
        let mut o = Origins::default();
        o.page(0);
        o.row(0);
        o.row(1);
        o.page(2);
        o.row(0);
        let found = locate("users", &o, &path, &BTreeSet::from([3, 5, 9])).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[&3].sourced_id, "u2");
        assert_eq!((found[&5].sourced_id.as_str(), found[&5].offset), ("u3", 2));
    }
}
