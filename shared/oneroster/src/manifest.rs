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
    /// `oneroster.version` (must be 1.1).
    pub oneroster_version: String,
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

/// Every file name a OneRoster 1.1 manifest may declare.
fn known_file(name: &str) -> Option<&'static str> {
    EntityKind::ALL
        .iter()
        .map(|k| k.file_name())
        .chain(NOT_IMPORTED_FILES)
        .find(|known| known.eq_ignore_ascii_case(name))
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
        } else if !property.is_empty() {
            self.warnings.push(
                issue(
                    Severity::Warning,
                    IssueCode::UnknownManifestProperty,
                    line,
                    format!("manifest property `{property}` is not part of OneRoster 1.1; ignored"),
                )
                .in_column("propertyName")
                .with_value(property),
            );
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

    /// Checks `oneroster.version`, once every row has been read: present, and 1.1.
    fn check_version(&mut self) {
        match self.oneroster_version.take() {
            None => self.fatal.push(Issue::new(
                Severity::Fatal,
                FILE,
                IssueCode::ManifestInvalid,
                "manifest.csv has no `oneroster.version` row; expected oneroster.version,1.1",
            )),
            Some((version, _)) if version == "1.1" => self.manifest.oneroster_version = version,
            Some((version, line)) => {
                let message = if version.starts_with("1.2") {
                    format!("this package is OneRoster {version}; OneRoster 1.2 is not supported. In the ClassLink Roster Server, choose the OneRoster 1.1 export template")
                } else {
                    format!("oneroster.version is `{version}`; only OneRoster 1.1 is supported")
                };
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
    fn version_1_2_is_refused_with_advice() {
        let fatal = parse("propertyName,value\noneroster.version,1.2\n").unwrap_err();
        assert_eq!(fatal[0].code, IssueCode::UnsupportedVersion);
        assert_eq!(fatal[0].line, Some(2));
        assert!(fatal[0].message.contains("OneRoster 1.1 export template"));
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
