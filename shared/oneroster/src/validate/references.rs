//! Pass 1's references: each row's references checked against the files
//! read before (rejected targets deferred with their cause, references into
//! a refused file counted), and same-file references resolved at the file's end.

use super::findings::{resolve_in, Reference, ReferenceRule, RowFindings};
use super::scan::*;
use super::types::*;
use crate::model::*;
use crate::records::Row;
use crate::report::{Issue, IssueCode, Severity};
use crate::schema::ColumnMap;

/// References of the file being scanned into one refused file, from one column.
pub(super) struct RefusedCount {
    pub(super) target: EntityKind,
    pub(super) column: &'static str,
    pub(super) refusal: Refusal,
    pub(super) first_line: u64,
    pub(super) count: u64,
}

impl FileScan {
    /// Counts a reference on `line` into a file that was refused.
    fn refused_reference(
        &mut self,
        reference: &Reference,
        refusal: Refusal,
        line: u64,
        map: &ColumnMap,
    ) {
        let (target, column) = (reference.target, map.name(reference.column));
        match self
            .refused
            .iter_mut()
            .find(|r| r.target == target && r.column == column)
        {
            Some(counted) => counted.count += 1,
            None => self.refused.push(RefusedCount {
                target,
                column,
                refusal,
                first_line: line,
                count: 1,
            }),
        }
    }
}

impl Scanner<'_> {
    /// How a reference resolves: against another file as the preparing
    /// thread found, against this file's ids read so far.
    pub(super) fn resolve(scan: &FileScan, reference: &Reference, id: &str) -> Resolution {
        reference
            .resolved
            .unwrap_or_else(|| resolve_in(scan.mode, &scan.ids, id))
    }

    /// Checks an accepted row's references against the files read so far.
    /// Returns the row's state (accepted or skipped), or the code it is
    /// rejected with.
    pub(super) fn check_references(
        &mut self,
        scan: &mut FileScan,
        map: &ColumnMap,
        row: &Row,
        findings: &RowFindings,
        deferred: &mut Vec<DeferredReference>,
    ) -> Result<IdState, IssueCode> {
        let line = row.line();
        let kind = scan.kind;
        for reference in &findings.references {
            let id = findings.id(reference);
            let (column, target) = (reference.column, reference.target);
            let resolution = Self::resolve(scan, reference, id);
            let skipped = matches!(resolution, Resolution::Found(e) if e.state == IdState::Skipped);
            let code = match reference.rule {
                ReferenceRule::Kept => None,
                ReferenceRule::Subject if skipped => return Ok(IdState::Skipped),
                ReferenceRule::Subject => None,
                ReferenceRule::Required(_) if skipped => return Ok(IdState::Skipped),
                ReferenceRule::Required(code) => Some(code),
            };
            let Some(code) = code else {
                self.check_reference(scan, map, line, reference, id, resolution);
                continue;
            };
            match resolution {
                Resolution::Found(entry) if entry.state == IdState::Accepted => {}
                Resolution::Found(_) | Resolution::Unchecked => {
                    let cause = match resolution {
                        Resolution::Found(entry) => entry.rejected_row(target),
                        _ => None,
                    };
                    deferred.push(DeferredReference {
                        file: kind,
                        line,
                        sourced_id: findings.sourced_id.clone(),
                        column: map.name(column),
                        target,
                        target_id: id.to_string(),
                        cause,
                    });
                }
                Resolution::Refused(refusal) => {
                    scan.refused_reference(reference, refusal, line, map);
                    return Err(IssueCode::RefusedReference);
                }
                Resolution::Missing => {
                    self.sink.error(
                        Issue::new(
                            Severity::Error,
                            kind.file_name(),
                            code,
                            format!(
                                "`{id}` is not in {}.csv, which is a complete (bulk) file",
                                target.file_name()
                            ),
                        )
                        .at_line(line)
                        .in_column(map.name(column))
                        .with_value(id),
                    );
                    return Err(code);
                }
            }
        }
        Ok(IdState::Accepted)
    }

    /// Warns about a reference that a bulk file of the package cannot resolve;
    /// same-file references are kept for the end of the file (they may point forward).
    fn check_reference(
        &mut self,
        scan: &mut FileScan,
        map: &ColumnMap,
        line: u64,
        reference: &Reference,
        id: &str,
        resolution: Resolution,
    ) {
        let (column, target) = (reference.column, reference.target);
        match resolution {
            Resolution::Found(_) | Resolution::Unchecked => {}
            Resolution::Refused(refusal) => scan.refused_reference(reference, refusal, line, map),
            Resolution::Missing if target == scan.kind => {
                scan.pending.push((line, column, id.into()));
            }
            Resolution::Missing => scan.quirk(
                IssueCode::UnresolvedReference,
                column,
                line,
                format!(
                    "`{id}` is not in {}.csv; the reference is kept",
                    target.file_name()
                ),
                map,
            ),
        }
    }

    /// Same-file references (org parents, user agents) can point forward; check them at the end.
    pub(super) fn resolve_pending(&mut self, scan: &mut FileScan, map: &ColumnMap) {
        let pending = std::mem::take(&mut scan.pending);
        for (line, column, id) in pending {
            if !scan.ids.contains(&id) {
                scan.quirk(
                    IssueCode::UnresolvedReference,
                    column,
                    line,
                    format!(
                        "`{id}` is not in {}.csv; the reference is kept",
                        scan.kind.file_name()
                    ),
                    map,
                );
            }
        }
    }
}

/// The one error that counts a file's references into a refused file.
pub(super) fn refused_references(file: EntityKind, counted: RefusedCount) -> Issue {
    let target = counted.target.file_name();
    let at = match counted.refusal.line {
        Some(line) => format!("{target}.csv:{line} {}", counted.refusal.code),
        None => format!("{target}.csv {}", counted.refusal.code),
    };
    let issue = Issue::new(
        Severity::Error,
        file.file_name(),
        IssueCode::RefusedReference,
        format!(
            "names a {} in {target}.csv, which was refused ({at}); not checked",
            counted.target.nouns().0
        ),
    )
    .at_line(counted.first_line)
    .in_column(counted.column);
    Issue {
        count: Some(counted.count),
        ..issue
    }
}
