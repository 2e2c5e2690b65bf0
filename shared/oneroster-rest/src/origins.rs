//! Where each row of a pulled collection's temporary CSV came from, so that
//! a finding on `users.csv:2` (a file the district never saw) is told as the
//! record the district sent: its collection, the page (`offset`) that
//! carried it and its `sourcedId`.
//!
//! Kept small whatever the collection's size: the offset of each page, and
//! an anchor (line, record index) at the first row and after every row that
//! spans several lines (a value with a line break).

use oneroster::report::ApiLocation;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

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
        let page = self.page_offsets.partition_point(|o| *o <= index);
        Some((index, *self.page_offsets.get(page.checked_sub(1)?)?))
    }
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
        .filter_map(|line| origins.record_at(*line).map(|r| (r.0, (*line, r.1))))
        .collect();
    let mut found = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut reader = csv::Reader::from_path(csv)?;
    for (index, record) in reader.records().enumerate() {
        let Some((line, offset)) = wanted.get(&(index as u64)) else {
            continue;
        };
        let record = record.map_err(std::io::Error::other)?;
        found.insert(
            *line,
            ApiLocation {
                collection: collection.to_string(),
                offset: *offset,
                sourced_id: record.get(0).unwrap_or_default().to_string(),
            },
        );
        if found.len() == wanted.len() {
            break;
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

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
