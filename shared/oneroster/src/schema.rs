//! The columns of each rostering file, in specification order, and the
//! mapping from a file's actual header to them (by name, not position).

use crate::model::EntityKind;
use crate::report::{Issue, IssueCode, Severity};

/// One specified column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The header name.
    pub name: &'static str,
    /// Whether a value is required (`*` in the specification).
    pub required: bool,
}

pub(crate) const fn req(name: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        required: true,
    }
}

pub(crate) const fn opt(name: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        required: false,
    }
}

/// Index of `sourcedId`, `status` and `dateLastModified`: the same in every file.
pub(crate) const SOURCED_ID: usize = 0;
pub(crate) const STATUS: usize = 1;
pub(crate) const DATE_LAST_MODIFIED: usize = 2;

const ORGS: &[ColumnSpec] = &[
    req("sourcedId"),
    opt("status"),
    opt("dateLastModified"),
    req("name"),
    req("type"),
    opt("identifier"),
    opt("parentSourcedId"),
];

const ACADEMIC_SESSIONS: &[ColumnSpec] = &[
    req("sourcedId"),
    opt("status"),
    opt("dateLastModified"),
    req("title"),
    req("type"),
    req("startDate"),
    req("endDate"),
    opt("parentSourcedId"),
    req("schoolYear"),
];

const COURSES: &[ColumnSpec] = &[
    req("sourcedId"),
    opt("status"),
    opt("dateLastModified"),
    opt("schoolYearSourcedId"),
    req("title"),
    opt("courseCode"),
    opt("grades"),
    req("orgSourcedId"),
    opt("subjects"),
    opt("subjectCodes"),
];

const CLASSES: &[ColumnSpec] = &[
    req("sourcedId"),
    opt("status"),
    opt("dateLastModified"),
    req("title"),
    opt("grades"),
    req("courseSourcedId"),
    opt("classCode"),
    req("classType"),
    opt("location"),
    req("schoolSourcedId"),
    req("termSourcedIds"),
    opt("subjects"),
    opt("subjectCodes"),
    opt("periods"),
];

/// Index of the `password` column in `users`: mapped so it is recognised, never read.
#[cfg(test)]
pub(crate) const USERS_PASSWORD: usize = 17;

const USERS: &[ColumnSpec] = &[
    req("sourcedId"),
    opt("status"),
    opt("dateLastModified"),
    req("enabledUser"),
    req("orgSourcedIds"),
    req("role"),
    req("username"),
    opt("userIds"),
    req("givenName"),
    req("familyName"),
    opt("middleName"),
    opt("identifier"),
    opt("email"),
    opt("sms"),
    opt("phone"),
    opt("agentSourcedIds"),
    opt("grades"),
    opt("password"),
];

const ENROLLMENTS: &[ColumnSpec] = &[
    req("sourcedId"),
    opt("status"),
    opt("dateLastModified"),
    req("classSourcedId"),
    req("schoolSourcedId"),
    req("userSourcedId"),
    req("role"),
    opt("primary"),
    opt("beginDate"),
    opt("endDate"),
];

const DEMOGRAPHICS: &[ColumnSpec] = &[
    req("sourcedId"),
    opt("status"),
    opt("dateLastModified"),
    opt("birthDate"),
    opt("sex"),
    opt("americanIndianOrAlaskaNative"),
    opt("asian"),
    opt("blackOrAfricanAmerican"),
    opt("nativeHawaiianOrOtherPacificIslander"),
    opt("white"),
    opt("demographicRaceTwoOrMoreRaces"),
    opt("hispanicOrLatinoEthnicity"),
    opt("countryOfBirthCode"),
    opt("stateOfBirthAbbreviation"),
    opt("cityOfBirth"),
    opt("publicSchoolResidenceStatus"),
];

/// The specified columns of a rostering file, in specification order.
pub fn columns(kind: EntityKind) -> &'static [ColumnSpec] {
    match kind {
        EntityKind::Orgs => ORGS,
        EntityKind::AcademicSessions => ACADEMIC_SESSIONS,
        EntityKind::Courses => COURSES,
        EntityKind::Classes => CLASSES,
        EntityKind::Users => USERS,
        EntityKind::Enrollments => ENROLLMENTS,
        EntityKind::Demographics => DEMOGRAPHICS,
    }
}

/// Where each specified column is in a file's actual header.
#[derive(Debug, Clone)]
pub(crate) struct ColumnMap {
    pub(crate) spec: &'static [ColumnSpec],
    /// For each specified column, its position in the record, if present.
    pub(crate) position: Vec<Option<usize>>,
    /// Columns outside the specification: (header name, position).
    pub(crate) extensions: Vec<(String, usize)>,
    /// Positions of the columns with an empty header name (their values are ignored).
    pub(crate) unnamed: Vec<usize>,
    /// Number of columns in the header.
    pub(crate) width: usize,
}

/// The result of mapping a header: the map, plus fatal issues and warnings.
pub(crate) struct HeaderCheck {
    pub(crate) map: ColumnMap,
    /// The OneRoster version the header is read as ("1.1"), for messages.
    version: &'static str,
    pub(crate) fatal: Vec<Issue>,
    pub(crate) warnings: Vec<Issue>,
}

impl HeaderCheck {
    /// Places header column `idx`, named `name` (trimmed): at the specified
    /// column it names (in any letter case, with a warning), or among the
    /// extensions.
    fn place(&mut self, file: &'static str, idx: usize, name: &str) {
        let spec = self.map.spec;
        let exact = spec.iter().position(|c| c.name == name);
        let found = exact.or_else(|| spec.iter().position(|c| c.name.eq_ignore_ascii_case(name)));
        match found {
            Some(spec_idx) => {
                if exact.is_none() {
                    self.warnings.push(
                        Issue::new(
                            Severity::Warning,
                            file,
                            IssueCode::HeaderCase,
                            format!(
                                "column `{name}` read as `{}` (the specification's spelling)",
                                spec[spec_idx].name
                            ),
                        )
                        .at_line(1)
                        .in_column(name),
                    );
                }
                self.map.position[spec_idx] = Some(idx);
            }
            None if name.is_empty() => {}
            None => {
                self.warnings.push(
                    Issue::new(
                        Severity::Warning,
                        file,
                        IssueCode::ExtensionColumn,
                        if name.to_ascii_lowercase().starts_with("metadata.") {
                            format!("column `{name}` is a OneRoster metadata extension; kept as an extension attribute")
                        } else {
                            format!("column `{name}` is not one of OneRoster {}'s fields for this file; kept as an extension attribute", self.version)
                        },
                    )
                    .at_line(1)
                    .in_column(name),
                );
                self.map.extensions.push((name.to_string(), idx));
            }
        }
    }

    /// Reports each specified column the header lacks: fatal when it is required.
    fn note_missing(&mut self, file: &'static str) {
        let spec = self.map.spec;
        for (spec_idx, column) in spec.iter().enumerate() {
            if self.map.position[spec_idx].is_some() {
                continue;
            }
            if column.required {
                self.fatal.push(
                    Issue::new(
                        Severity::Fatal,
                        file,
                        IssueCode::RequiredColumnMissing,
                        format!(
                            "required column `{}` is missing from the header; expected the columns {}",
                            column.name,
                            spec.iter().map(|c| c.name).collect::<Vec<_>>().join(",")
                        ),
                    )
                    .at_line(1)
                    .in_column(column.name),
                );
            } else {
                self.warnings.push(
                    Issue::new(
                        Severity::Warning,
                        file,
                        IssueCode::OptionalColumnMissing,
                        format!(
                            "optional column `{}` is missing; its values are read as empty",
                            column.name
                        ),
                    )
                    .at_line(1)
                    .in_column(column.name),
                );
            }
        }
    }

    /// One warning for every column with an empty header name (`columns` are
    /// their 1-based positions): a tolerated quirk, however many there are.
    fn note_unnamed(&mut self, file: &'static str, columns: &[usize]) {
        let Some(first) = columns.first() else {
            return;
        };
        let which = match columns {
            [one] => format!("column {one} has"),
            _ => format!(
                "{} columns ({}) have",
                columns.len(),
                columns
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.warnings.push(
            Issue::new(
                Severity::Warning,
                file,
                IssueCode::EmptyColumnName,
                format!("{which} an empty header name; their values are ignored"),
            )
            .at_line(1)
            .in_column(format!("column {first}")),
        );
    }

    /// Warns when the specified columns present are out of the specification's order.
    fn note_order(&mut self, file: &'static str) {
        let present: Vec<usize> = self.map.position.iter().flatten().copied().collect();
        if present.windows(2).any(|w| w[0] > w[1]) {
            self.warnings.push(
                Issue::new(
                    Severity::Warning,
                    file,
                    IssueCode::HeaderOrder,
                    "columns are not in specification order; they are matched by name",
                )
                .at_line(1),
            );
        }
    }
}

impl ColumnMap {
    /// Maps `header` (already trimmed of a BOM) against `kind`'s 1.1 specification.
    #[cfg(test)]
    pub(crate) fn from_header(kind: EntityKind, header: crate::records::Fields<'_>) -> HeaderCheck {
        Self::from_spec(kind.file_name(), columns(kind), "1.1", header)
    }

    /// Maps `header` against `kind`'s columns in a package of `version`.
    pub(crate) fn from_header_in(
        kind: EntityKind,
        version: crate::OneRosterVersion,
        header: crate::records::Fields<'_>,
    ) -> HeaderCheck {
        let spec = crate::v1p2::columns::columns(kind, version);
        Self::from_spec(kind.file_name(), spec, version.as_str(), header)
    }

    /// Maps `header` of `file` against the columns `spec` of OneRoster `version`.
    pub(crate) fn from_spec(
        file: &'static str,
        spec: &'static [ColumnSpec],
        version: &'static str,
        header: crate::records::Fields<'_>,
    ) -> HeaderCheck {
        let mut check = HeaderCheck {
            version,
            map: ColumnMap {
                spec,
                position: vec![None; spec.len()],
                extensions: Vec::new(),
                unnamed: Vec::new(),
                width: header.len(),
            },
            fatal: Vec::new(),
            warnings: Vec::new(),
        };
        let mut seen: Vec<String> = Vec::with_capacity(header.len());
        let mut unnamed: Vec<usize> = Vec::new();
        for (idx, raw) in header.iter().enumerate() {
            let name = raw.trim();
            if name.is_empty() {
                unnamed.push(idx + 1);
                check.map.unnamed.push(idx);
                continue;
            }
            let lower = name.to_ascii_lowercase();
            if seen.contains(&lower) {
                check.fatal.push(
                    Issue::new(
                        Severity::Fatal,
                        file,
                        IssueCode::DuplicateColumn,
                        format!("column `{name}` appears more than once in the header"),
                    )
                    .at_line(1)
                    .in_column(name),
                );
                continue;
            }
            seen.push(lower);
            check.place(file, idx, name);
        }
        check.note_unnamed(file, &unnamed);
        check.note_missing(file);
        check.note_order(file);
        check
    }

    /// The header name of specified column `spec_idx`.
    pub(crate) fn name(&self, spec_idx: usize) -> &'static str {
        self.spec[spec_idx].name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> crate::records::Rows {
        crate::records::Rows::of(&[names])
    }

    #[test]
    fn empty_header_names_are_one_tolerated_quirk_however_many() {
        let mut names: Vec<&str> = columns(EntityKind::Orgs).iter().map(|c| c.name).collect();
        names.extend(["", "", ""]);
        let check = ColumnMap::from_header(EntityKind::Orgs, header(&names).get(0).record);
        assert!(check.fatal.is_empty(), "{:?}", check.fatal);
        let unnamed: Vec<&Issue> = check
            .warnings
            .iter()
            .filter(|w| w.code == IssueCode::EmptyColumnName)
            .collect();
        assert_eq!(unnamed.len(), 1, "{:?}", check.warnings);
        assert!(
            unnamed[0]
                .message
                .starts_with("3 columns (8, 9, 10) have an empty header name"),
            "{}",
            unnamed[0].message
        );
        assert!(check.map.extensions.is_empty());
        // A named duplicate is still refused.
        let check = ColumnMap::from_header(
            EntityKind::Orgs,
            header(&["sourcedId", "name", "name", ""]).get(0).record,
        );
        let fatal: Vec<IssueCode> = check.fatal.iter().map(|i| i.code).collect();
        assert!(fatal.contains(&IssueCode::DuplicateColumn), "{fatal:?}");
    }

    #[test]
    fn spec_header_maps_cleanly() {
        let names: Vec<&str> = columns(EntityKind::Orgs).iter().map(|c| c.name).collect();
        let check = ColumnMap::from_header(EntityKind::Orgs, header(&names).get(0).record);
        assert!(check.fatal.is_empty());
        assert!(check.warnings.is_empty());
        assert_eq!(check.map.position[4], Some(4));
    }

    #[test]
    fn reordered_extended_and_partial_headers_are_tolerated() {
        let check = ColumnMap::from_header(
            EntityKind::Orgs,
            header(&["Type", "name", "sourcedId", "metadata.foo", "ext_bar"])
                .get(0)
                .record,
        );
        assert!(check.fatal.is_empty());
        let codes: Vec<IssueCode> = check.warnings.iter().map(|w| w.code).collect();
        assert!(codes.contains(&IssueCode::HeaderCase));
        assert!(codes.contains(&IssueCode::HeaderOrder));
        assert_eq!(
            codes
                .iter()
                .filter(|c| **c == IssueCode::ExtensionColumn)
                .count(),
            2
        );
        assert_eq!(
            codes
                .iter()
                .filter(|c| **c == IssueCode::OptionalColumnMissing)
                .count(),
            4
        );
        assert_eq!(check.map.position[4], Some(0));
        assert_eq!(check.map.extensions[0], ("metadata.foo".to_string(), 3));
        let said: Vec<&str> = check
            .warnings
            .iter()
            .filter(|w| w.code == IssueCode::ExtensionColumn)
            .map(|w| w.message.as_str())
            .collect();
        assert_eq!(
            said,
            [
                "column `metadata.foo` is a OneRoster metadata extension; kept as an extension attribute",
                "column `ext_bar` is not one of OneRoster 1.1's fields for this file; kept as an extension attribute"
            ]
        );
        assert!(IssueCode::ExtensionColumn.explanation().contains("kept"));
    }

    #[test]
    fn missing_required_and_duplicate_columns_are_fatal() {
        let check = ColumnMap::from_header(
            EntityKind::Orgs,
            header(&["sourcedId", "name", "name"]).get(0).record,
        );
        let codes: Vec<IssueCode> = check.fatal.iter().map(|w| w.code).collect();
        assert_eq!(
            codes,
            vec![IssueCode::DuplicateColumn, IssueCode::RequiredColumnMissing]
        );
        assert_eq!(check.fatal[1].column.as_deref(), Some("type"));
    }

    #[test]
    fn password_index_points_at_password() {
        assert_eq!(columns(EntityKind::Users)[USERS_PASSWORD].name, "password");
    }
}
