//! `manifest.csv`: `propertyName,value` rows declaring the OneRoster version
//! and how each file is delivered.

use crate::model::{EntityKind, FileMode, NOT_IMPORTED_FILES};
use crate::records::{csv_reader, skip_bom, RecordError, Rows};
use crate::report::{Issue, IssueCode, Severity, MAX_RECORD_BYTES};
use std::collections::BTreeMap;
use std::io::Read;

const FILE: &str = "manifest";

/// The parsed manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `manifest.version` (expected 1.0).
    pub manifest_version: Option<String>,
    /// `oneroster.version` (1.1 or 1.2), as written.
    pub oneroster_version: String,
    /// The version the package is read as (selects each file's columns).
    pub version: crate::OneRosterVersion,
    /// `file.<name>` declarations by lower-case name: (canonical name, mode).
    pub files: BTreeMap<String, (String, FileMode)>,
    /// `source.systemName`.
    pub source_system_name: Option<String>,
    /// `source.systemCode`.
    pub source_system_code: Option<String>,
}

impl Manifest {
    /// The file names (without extension, canonical spelling) declared `bulk` or `delta`:
    /// the files a complete delivery must contain.
    pub fn required_files(&self) -> Vec<&str> {
        self.files
            .values()
            .filter(|(_, mode)| *mode != FileMode::Absent)
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

/// Every file name a OneRoster 1.1 manifest may declare (1.2 adds
/// [`crate::v1p2::columns::FILES_1P2`]).
fn known_file(name: &str) -> Option<&'static str> {
    EntityKind::ALL
        .iter()
        .map(|k| k.file_name())
        .chain(NOT_IMPORTED_FILES)
        .find(|known| known.eq_ignore_ascii_case(name))
}

/// A file name only a OneRoster 1.2 manifest may declare.
fn only_1p2_file(name: &str) -> Option<&'static str> {
    crate::v1p2::columns::FILES_1P2
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(name))
}

/// The warning for a manifest property OneRoster 1.1 does not have.
fn unknown_property(property: &str, line: u64) -> Issue {
    issue(
        Severity::Warning,
        IssueCode::UnknownManifestProperty,
        line,
        format!("manifest property `{property}` is not part of OneRoster 1.1; ignored"),
    )
    .in_column("propertyName")
    .with_value(property)
}

fn issue(severity: Severity, code: IssueCode, line: u64, message: String) -> Issue {
    Issue::new(severity, FILE, code, message).at_line(line)
}

/// Reads a manifest. `Err` holds the fatal findings; `Ok` the manifest and its warnings.
pub fn parse_manifest(read: &mut (dyn Read + Send)) -> Result<(Manifest, Vec<Issue>), Vec<Issue>> {
    let mut reader = csv_reader(skip_bom(read).0);
    let mut scan = ManifestScan::default();
    let mut rows = Rows::default();
    let mut first = true;
    loop {
        rows.clear();
        match reader.read(&mut rows) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                scan.fatal.push(read_error(&e));
                return Err(scan.fatal);
            }
        }
        let row = rows.get(0);
        let line = row.line();
        if row.too_long.is_some() {
            scan.fatal.push(issue(
                Severity::Fatal,
                IssueCode::ManifestInvalid,
                line,
                format!(
                    "manifest.csv has a row over {} bytes; a manifest row is a property name and a value",
                    MAX_RECORD_BYTES
                ),
            ));
            return Err(scan.fatal);
        }
        let record = &row.record;
        let property = record.get(0).unwrap_or("").trim();
        let value = record.get(1).unwrap_or("").trim();
        if first {
            first = false;
            if property.eq_ignore_ascii_case("propertyName") {
                continue;
            }
            scan.warnings.push(issue(
                Severity::Warning,
                IssueCode::HeaderOrder,
                line,
                "manifest.csv has no `propertyName,value` header row; the first row is read as data".into(),
            ));
        }
        scan.property(property, value, line);
    }
    scan.check_version();
    if scan.fatal.is_empty() {
        Ok((scan.manifest, scan.warnings))
    } else {
        Err(scan.fatal)
    }
}

/// The fatal issue for a manifest that cannot be read to its end.
fn read_error(e: &RecordError) -> Issue {
    let (code, what) = match e {
        RecordError::Utf8 { .. } => (IssueCode::NotUtf8, "is not valid UTF-8"),
        RecordError::Io(_) => (IssueCode::ManifestInvalid, "cannot be read"),
    };
    issue(
        Severity::Fatal,
        code,
        e.line().unwrap_or(0),
        format!("manifest.csv {what}: {e}"),
    )
}

/// What reading a manifest has found so far.
#[derive(Default)]
struct ManifestScan {
    manifest: Manifest,
    /// The `oneroster.version` value and its line, checked at the end.
    oneroster_version: Option<(String, u64)>,
    /// `file.NAME` rows of the files only 1.2 has, taken in once the
    /// version is known: (where their 1.1 warning goes, the warning, name, value).
    only_1p2: Vec<(usize, Issue, &'static str, String)>,
    warnings: Vec<Issue>,
    fatal: Vec<Issue>,
}

impl ManifestScan {
    /// Takes in one `property,value` row (trimmed) on `line`.
    fn property(&mut self, property: &str, value: &str, line: u64) {
        let lower = property.to_ascii_lowercase();
        if lower == "manifest.version" {
            if value != "1.0" {
                self.warnings.push(
                    issue(
                        Severity::Warning,
                        IssueCode::ManifestVersion,
                        line,
                        format!("manifest.version is `{value}`; expected 1.0"),
                    )
                    .with_value(value),
                );
            }
            self.manifest.manifest_version = Some(value.to_string());
        } else if lower == "oneroster.version" {
            self.oneroster_version = Some((value.to_string(), line));
        } else if lower == "source.systemname" {
            self.manifest.source_system_name = Some(value.to_string());
        } else if lower == "source.systemcode" {
            self.manifest.source_system_code = Some(value.to_string());
        } else if let Some(name) = lower.strip_prefix("file.").and_then(known_file) {
            self.file(name, property, value, line);
        } else if let Some(name) = lower.strip_prefix("file.").and_then(only_1p2_file) {
            let warning = unknown_property(property, line);
            self.only_1p2
                .push((self.warnings.len(), warning, name, value.to_string()));
        } else if !property.is_empty() {
            self.warnings.push(unknown_property(property, line));
        }
    }

    /// Takes in a `file.NAME` row: how the known file `name` is delivered.
    fn file(&mut self, name: &'static str, property: &str, value: &str, line: u64) {
        let mode = match value.to_ascii_lowercase().as_str() {
            "bulk" => FileMode::Bulk,
            "delta" => FileMode::Delta,
            "absent" => FileMode::Absent,
            _ => {
                self.fatal.push(
                    issue(
                        Severity::Fatal,
                        IssueCode::ManifestInvalid,
                        line,
                        format!("`{property}` is `{value}`; expected bulk, delta or absent"),
                    )
                    .in_column("value")
                    .with_value(value),
                );
                return;
            }
        };
        self.manifest
            .files
            .insert(name.to_ascii_lowercase(), (name.to_string(), mode));
    }

    /// Checks `oneroster.version`, once every row has been read: present,
    /// and 1.1 or 1.2. The files only 1.2 has are then taken in (1.2) or
    /// warned of where their rows were (1.1).
    fn check_version(&mut self) {
        let version = self.oneroster_version.take();
        let v1p2 = version
            .as_ref()
            .and_then(|(v, _)| crate::OneRosterVersion::from_manifest(v))
            == Some(crate::OneRosterVersion::V1p2);
        for (at, warning, name, value) in std::mem::take(&mut self.only_1p2).into_iter().rev() {
            if v1p2 {
                let line = warning.line.unwrap_or(0);
                self.file(name, &format!("file.{name}"), &value, line);
            } else {
                self.warnings.insert(at, warning);
            }
        }
        match version {
            None => self.fatal.push(Issue::new(
                Severity::Fatal,
                FILE,
                IssueCode::ManifestInvalid,
                "manifest.csv has no `oneroster.version` row; expected oneroster.version,1.1",
            )),
            Some((version, _)) if crate::OneRosterVersion::from_manifest(&version).is_some() => {
                self.manifest.version =
                    crate::OneRosterVersion::from_manifest(&version).unwrap_or_default();
                self.manifest.oneroster_version = version;
            }
            Some((version, line)) => {
                let message = format!(
                    "oneroster.version is `{version}`; OneRoster 1.1 and 1.2 are supported"
                );
                self.fatal.push(
                    issue(
                        Severity::Fatal,
                        IssueCode::UnsupportedVersion,
                        line,
                        message,
                    )
                    .in_column("value")
                    .with_value(&version),
                );
                self.manifest.oneroster_version = version;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(Manifest, Vec<Issue>), Vec<Issue>> {
        let mut bytes = text.as_bytes();
        parse_manifest(&mut bytes)
    }

    #[test]
    fn reads_versions_files_and_source() {
        let (m, warnings) = parse(
            "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.users,bulk\nfile.Enrollments,Delta\nfile.results,absent\nsource.systemName,ClassLink\n",
        )
        .unwrap();
        assert!(warnings.is_empty());
        assert_eq!(m.oneroster_version, "1.1");
        assert_eq!(m.files["users"], ("users".to_string(), FileMode::Bulk));
        assert_eq!(
            m.files["enrollments"],
            ("enrollments".to_string(), FileMode::Delta)
        );
        assert_eq!(m.files["results"].1, FileMode::Absent);
        assert_eq!(m.source_system_name.as_deref(), Some("ClassLink"));
    }

    #[test]
    fn version_1_2_is_read_with_its_own_files() {
        let (m, warnings) = parse(
            "propertyName,value\nfile.roles,bulk\nfile.userProfiles,bulk\noneroster.version,1.2\nfile.users,bulk\n",
        )
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(m.version, crate::OneRosterVersion::V1p2);
        assert_eq!(m.oneroster_version, "1.2");
        assert_eq!(m.files["roles"], ("roles".to_string(), FileMode::Bulk));
        assert_eq!(m.files["userprofiles"].0, "userProfiles");
        let fatal =
            parse("propertyName,value\noneroster.version,1.2\nfile.roles,full\n").unwrap_err();
        assert_eq!(fatal[0].code, IssueCode::ManifestInvalid);
        assert_eq!(fatal[0].line, Some(3));
    }

    #[test]
    fn a_1p1_manifest_declaring_roles_is_warned_of_in_row_order() {
        let (m, warnings) =
            parse("propertyName,value\nfile.roles,bulk\nfiel.x,absent\noneroster.version,1.1\n")
                .unwrap();
        assert_eq!(m.version, crate::OneRosterVersion::V1p1);
        assert!(!m.files.contains_key("roles"));
        let lines: Vec<_> = warnings.iter().map(|w| (w.code, w.line)).collect();
        assert_eq!(
            lines,
            [
                (IssueCode::UnknownManifestProperty, Some(2)),
                (IssueCode::UnknownManifestProperty, Some(3))
            ]
        );
        assert!(warnings[0]
            .message
            .contains("`file.roles` is not part of OneRoster 1.1"));
    }

    #[test]
    fn other_versions_are_refused() {
        let fatal = parse("propertyName,value\noneroster.version,1.3\n").unwrap_err();
        assert_eq!(fatal[0].code, IssueCode::UnsupportedVersion);
        assert_eq!(fatal[0].line, Some(2));
        assert!(fatal[0].message.contains("1.1 and 1.2 are supported"));
    }

    #[test]
    fn missing_version_and_bad_mode_are_fatal() {
        let fatal = parse("propertyName,value\nfile.users,full\n").unwrap_err();
        let codes: Vec<_> = fatal.iter().map(|i| i.code).collect();
        assert_eq!(
            codes,
            vec![IssueCode::ManifestInvalid, IssueCode::ManifestInvalid]
        );
        assert!(fatal[0].message.contains("bulk, delta or absent"));
    }

    #[test]
    fn unknown_properties_are_warnings() {
        let (_, warnings) =
            parse("propertyName,value\noneroster.version,1.1\nfiel.demographics,absent\n").unwrap();
        assert_eq!(warnings[0].code, IssueCode::UnknownManifestProperty);
        assert_eq!(warnings[0].line, Some(3));
    }

    #[test]
    fn non_utf8_is_fatal() {
        let fatal = parse_manifest(&mut &b"propertyName,value\noneroster.version,1.1\xff\n"[..])
            .unwrap_err();
        assert_eq!(fatal[0].code, IssueCode::NotUtf8);
    }
}
