//! [`IssueCode`]: every code the validation report and run records use,
//! each with its stable name and its plain-language explanation.

use serde::Serialize;

/// Defines [`IssueCode`] from one table: each code's variant, its stable
/// name and its plain-language explanation, so that a code cannot lack either.
macro_rules! issue_codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal : $explanation:literal;)*) => {
        /// A stable issue code. Part of the interface: tools and runbooks
        /// match on its name, which is what reports and run records store.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum IssueCode {
            $($(#[$doc])* $variant,)*
        }

        impl IssueCode {
            /// Every code, in the order they are listed.
            pub const ALL: &'static [IssueCode] = &[$(IssueCode::$variant,)*];

            /// The stable snake_case name (`not_utf8`), as reports store it.
            pub fn name(self) -> &'static str {
                match self {
                    $(IssueCode::$variant => $name,)*
                }
            }

            /// What the code means and what to do about it, in plain words
            /// for a district's data manager reading the report page.
            pub fn explanation(self) -> &'static str {
                match self {
                    $(IssueCode::$variant => $explanation,)*
                }
            }
        }
    };
}

issue_codes! {
    // Fatal: the package is rejected.
    /// No `manifest.csv` in the package.
    ManifestMissing = "manifest_missing":
        "The package has no manifest.csv. ClassLink's OneRoster export always includes one: export again with the OneRoster 1.1 template.";
    /// No `manifest.csv`, and the files' headers are another roster format's
    /// (OneRoster 1.0, Microsoft School Data Sync v1 or v2.1).
    OtherFormat = "other_format":
        "The package is in another roster format, not OneRoster 1.1: the message says which (OneRoster 1.0, or Microsoft School Data Sync) and what shows it. ClassLink's OneRoster 1.1 export template is what we read: choose it in ClassLink's Roster Server and export again.";
    /// `manifest.csv` is unreadable or has an invalid row.
    ManifestInvalid = "manifest_invalid":
        "manifest.csv could not be read as OneRoster's list of property names and values.";
    /// `oneroster.version` is neither 1.1 nor 1.2.
    UnsupportedVersion = "unsupported_version":
        "The package is neither OneRoster 1.1 nor 1.2. Choose the OneRoster 1.1 or 1.2 template in ClassLink's Roster Server.";
    /// A OneRoster 1.2 package delivers `users.csv` without `roles.csv`, or
    /// a bulk `users.csv` with a delta `roles.csv`.
    RolesFileMissing = "roles_file_missing":
        "In OneRoster 1.2 a user's role and schools come from roles.csv, but this package delivers users.csv without it, or a complete (bulk) users.csv with roles.csv as a delta. Export roles.csv with users.csv: in bulk with a bulk users.csv; a delta roles.csv goes with a delta users.csv (or none).";
    /// A file declared `bulk` or `delta` is not in the package.
    DeclaredFileMissing = "declared_file_missing":
        "manifest.csv says a file is in the package, but it is not there. The export or upload was incomplete: send the whole package again.";
    /// A column that carries a required value is missing from the header.
    RequiredColumnMissing = "required_column_missing":
        "A column OneRoster requires is missing from this file's header. The export template was changed: restore the column.";
    /// The same column name appears twice in a header.
    DuplicateColumn = "duplicate_column":
        "The same column appears twice in this file's header.";
    /// A file is not valid UTF-8.
    NotUtf8 = "not_utf8":
        "The file is not in UTF-8 text encoding at this line (often a file saved from a spreadsheet program). Export it again as UTF-8.";
    /// The path is neither a zip nor a folder of CSV files.
    NotAPackage = "not_a_package":
        "The upload is not a OneRoster package: upload a .zip of the CSV files, or manifest.csv and the CSV files.";
    /// The CSV could not be parsed at all.
    CsvMalformed = "csv_malformed":
        "This line is not well-formed CSV (for example, a quote that is never closed).";
    /// An archive entry name is absolute or climbs out with `..`.
    UnsafeEntryName = "unsafe_entry_name":
        "An entry in the zip has a name that could write outside its folder; the package is refused for safety.";
    /// An archive inside the archive.
    NestedArchive = "nested_archive":
        "The zip contains another archive. Put the CSV files directly in one zip.";
    /// Uncompressed size over the limit.
    ArchiveTooLarge = "archive_too_large":
        "The package is larger than this system accepts.";
    /// Compression ratio over the limit (zip bomb).
    CompressionRatio = "compression_ratio":
        "An entry in the zip expands far more than real CSV data does; the package is refused for safety.";
    /// A folder file or zip entry named like a CSV file that is not a regular
    /// file (a symbolic link, a named pipe, a device, a folder).
    NotARegularFile = "not_a_regular_file":
        "Where a CSV file should be, the package has a shortcut (symbolic link), a pipe, a device or a folder; it is refused for safety. Put the CSV file itself in the folder, or upload a .zip.";
    /// An entry decompressed to more bytes than its header declared.
    EntrySizeMismatch = "entry_size_mismatch":
        "An entry in the zip is not the size the zip says: the file is damaged. Upload it again.";
    /// The package could not be read.
    Io = "io":
        "The file could not be read to the end. Upload it again.";

    // Row errors: the row is rejected.
    /// A required value is empty.
    MissingValue = "missing_value":
        "A required value is empty in this row; the row is not imported.";
    /// A value outside its enumeration.
    InvalidEnum = "invalid_enum":
        "The value is not one OneRoster allows in this column (for example a role or status); the row is not imported.";
    /// Not a `YYYY-MM-DD` date.
    InvalidDate = "invalid_date":
        "The value is not a date in the form YYYY-MM-DD.";
    /// Not a `YYYY-MM-DDTHH:MM:SS(.sss)Z` date-time.
    InvalidDatetime = "invalid_datetime":
        "The value is not a date and time in the form YYYY-MM-DDThh:mm:ssZ.";
    /// Not a boolean.
    InvalidBoolean = "invalid_boolean":
        "The value is not true or false.";
    /// `schoolYear` is not a four-digit year.
    InvalidYear = "invalid_year":
        "The value is not a four-digit school year.";
    /// A grade that is not a CEDS code.
    InvalidGrade = "invalid_grade":
        "The value is not a grade OneRoster knows (for example KG, 01 to 13, PS).";
    /// A malformed `userIds` entry.
    InvalidUserIds = "invalid_user_ids":
        "The userIds value is not a list of {type:identifier} pairs.";
    /// The same sourcedId more than once in one file (every copy is rejected).
    DuplicateSourcedId = "duplicate_sourced_id":
        "Two or more rows of this file have the same sourcedId; none of them is imported, since which one is right cannot be told. Each record needs its own id in the SIS.";
    /// An enrollment's user is neither in the package nor resolvable later.
    UnknownUser = "unknown_user":
        "The row refers to a user who is not in users.csv (or was not imported); the row is not imported.";
    /// An enrollment's class is neither in the package nor resolvable later.
    UnknownClass = "unknown_class":
        "The row refers to a class that is not in classes.csv (or was not imported); the row is not imported.";
    /// A 1.2 user with no accepted row in `roles.csv`.
    UserWithoutRole = "user_without_role":
        "In OneRoster 1.2 a user's role and schools come from roles.csv, and this user has no row there that was accepted (a rejected one is reported on its own line); the user is not imported. Give the user a role in the SIS.";
    /// A 1.2 user with roles at an org but none of them primary.
    NoPrimaryRole = "no_primary_role":
        "The user has roles at this org in roles.csv but none is primary; OneRoster 1.2 wants exactly one primary role per user and org. The user is not imported until one role there is primary.";
    /// A 1.2 user with more than one primary role at one org.
    MultiplePrimaryRoles = "multiple_primary_roles":
        "The user has more than one primary role at this org in roles.csv; OneRoster 1.2 wants exactly one primary role per user and org. The user is not imported until only one is primary.";
    /// A 1.2 role at an org whose sourcedId holds a comma.
    OrgIdWithComma = "org_id_with_comma":
        "The role's org has a comma in its sourcedId. A user's orgs are kept as a list separated by commas (as OneRoster 1.1's orgSourcedIds), so that org cannot be one of them; the role is not imported. Give the org an id without a comma in the SIS.";
    /// A row names a record of a file that was refused (counted once per file and column).
    RefusedReference = "refused_reference":
        "The row names a record of a file that was refused as a whole (the message names that file's error); it cannot be checked. Fix the refused file: this error then goes away with it.";
    /// A row with more fields than the header.
    FieldCount = "field_count":
        "This line has more or fewer values than the header has columns.";
    /// A sourcedId longer than [`crate::report::MAX_SOURCED_ID_BYTES`].
    IdTooLong = "id_too_long":
        "The sourcedId is longer than 256 bytes; the row is not imported. Ids that long are not ids: check the export's columns.";
    /// A row longer than [`crate::report::MAX_RECORD_BYTES`].
    RecordTooLong = "record_too_long":
        "The row holds more than 64 KiB, or more than 16,384 fields; it is not imported (it is read past without being kept). OneRoster rows are a few hundred bytes: look for an unclosed quote on this line, which swallows the lines after it.";
    /// An email or username longer than [`crate::report::MAX_INDEXED_VALUE_BYTES`].
    ValueTooLong = "value_too_long":
        "The email or username is longer than 1,024 bytes; the row is not imported. These values are used to find people at sign-in, and no real one is that long.";

    // Warnings: tolerated and normalised.
    /// UTF-8 byte order mark at the start of a file.
    Bom = "bom":
        "The file starts with a byte-order mark; it was ignored.";
    /// CRLF line endings.
    Crlf = "crlf":
        "The file uses Windows line endings; they were read as usual.";
    /// Columns in a different order than the specification.
    HeaderOrder = "header_order":
        "The columns are in another order than OneRoster lists them; they were read by name.";
    /// A column name differing from the specification only in case.
    HeaderCase = "header_case":
        "A column name is in another letter case than OneRoster's; it was read anyway.";
    /// A column outside the specification, kept as an extension attribute.
    ExtensionColumn = "extension_column":
        "A column that is not one of OneRoster 1.1's fields for this file (`metadata.*` columns are OneRoster's own way to extend a file); its values are kept with the record as extension attributes.";
    /// Columns with empty header names (a header ending `role,,,`): their values are ignored.
    EmptyColumnName = "empty_column_name":
        "Some columns of this file's header have no name (often a header ending in commas, as spreadsheet programs write it); their values are ignored.";
    /// A row has a value under a column whose header has no name.
    UnnamedColumnValue = "unnamed_column_value":
        "A row has a value under a column whose header has no name; the value is ignored. If it matters, give the column its OneRoster name in the export.";
    /// Enrollments naming users or classes this package does not have (a delta): the store must have them.
    DeferredReference = "deferred_reference":
        "Some rows name users or classes this package does not deliver (absent, or not in a delta file). That is normal in a delta file when they were sent before; a row whose user or class the district's roster does not have either is rejected at the sync.";
    /// Enrollments naming users or classes whose own rows were rejected.
    RejectedReference = "rejected_reference":
        "Some rows name users or classes that are in this package, but whose own rows were rejected (the message points at the first such row and its error). Fix that row: until then, a row naming it is applied only if the district's roster already has the user or class.";
    /// A column of an optional value is missing (read as empty).
    OptionalColumnMissing = "optional_column_missing":
        "An optional column is missing; its values are taken as empty.";
    /// An enumeration value in non-canonical case.
    EnumCase = "enum_case":
        "A value is in another letter case than OneRoster's (for example Teacher for teacher); it was read anyway.";
    /// A boolean written as `1`/`0` or in non-canonical case.
    BooleanForm = "boolean_form":
        "A true/false value was written as 1/0 or in another case; it was read anyway.";
    /// A grade written in a non-canonical form (`9` for `09`, `kg`).
    GradeForm = "grade_form":
        "A grade was written in another form (9 for 09, kg for KG); it was read anyway.";
    /// `dateLastModified` given as a date only.
    DateOnlyDatetime = "date_only_datetime":
        "dateLastModified had a date but no time; midnight UTC was assumed.";
    /// A date-time in a date column (`beginDate` of `2025-08-11T00:00:00Z`): read as its date.
    DateTimeInDateColumn = "date_time_in_date_column":
        "A date column (for example beginDate) had a date and a time; the date was kept as written and the time dropped.";
    /// OneRoster 1.0's `inactive` status, read as `tobedeleted`.
    InactiveStatus = "inactive_status":
        "The status inactive (OneRoster 1.0) was read as tobedeleted.";
    /// A `tobedeleted` row inside a bulk file, read as a deletion.
    TobedeletedInBulk = "tobedeleted_in_bulk":
        "A row marked tobedeleted inside a bulk file was read as a removal.";
    /// A CSV file not declared in the manifest, read as bulk.
    UndeclaredFile = "undeclared_file":
        "A CSV file that manifest.csv does not declare; it was read as bulk.";
    /// A file declared `absent` that is present anyway; it is not read.
    FileDeclaredAbsent = "file_declared_absent":
        "manifest.csv says this file is absent, but it is present; it was not read.";
    /// A reference to a record that is not in the package; kept.
    UnresolvedReference = "unresolved_reference":
        "The row refers to a record that is not in this package; the reference was kept.";
    /// A manifest property this reader does not know.
    UnknownManifestProperty = "unknown_manifest_property":
        "manifest.csv has a property this system does not know; it was ignored.";
    /// `manifest.version` other than 1.0.
    ManifestVersion = "manifest_version":
        "manifest.version is not 1.0; the package was read anyway.";
    /// A gradebook or resource file: counted, not imported.
    NotImported = "not_imported":
        "Gradebook and resource files are counted, not imported.";
    /// Roles of users a 1.2 package's `users.csv` does not deliver.
    RolesNotApplied = "roles_not_applied":
        "In OneRoster 1.2 a complete (bulk) roles.csv is applied with the users' rows of users.csv. These roles are of users this package does not deliver (a delta's users.csv, or no users.csv at all), so they are not applied. That is expected when roles.csv is complete and the users did not change; if one of these users' roles changed, deliver the user in users.csv, or send the changed roles as a delta roles.csv. A delta's role changes are not applied either to a user the store has archived: deliver the user to bring it back.";
    /// A deleted role of a delta `roles.csv` that its user does not have.
    RoleNotFound = "role_not_found":
        "A deleted role of a delta roles.csv is not among its user's roles as stored: not by its sourcedId, nor (for a user whose role rows the store does not keep, because they said no more than its role and orgs) as the primary role at the row's org. There was nothing to remove.";
    /// A stored user read for a delta `roles.csv`, changed before the run planned.
    StoredRecordChanged = "stored_record_changed":
        "This user's stored record changed after this delivery read it to apply its delta roles.csv (another run of the district was applied in between, or the record was edited). The delivery's change to the user is not applied, so that it does not undo that change. Sync the package again only if it is still the newest delivery for the user: a newer one already says what the user is.";
    /// A delta `roles.csv` validated without the stored roles it changes.
    RolesCheckedAtSync = "roles_checked_at_sync":
        "This package's roles.csv is a delta: it changes the roles the store holds for its users, which validation alone does not read. Each row is checked here; each user's roles as changed (exactly one primary role per org, at least one role, a role the platform imports) are checked when the package is synced, which rejects a user whose changed roles break a rule and leaves its stored record as it is.";
    /// A file or archive entry that is not part of a OneRoster package; ignored.
    IgnoredEntry = "ignored_entry":
        "A file that is not part of a OneRoster package; it was ignored.";
    /// A value with leading or trailing spaces, trimmed.
    Whitespace = "whitespace":
        "A value had spaces before or after it; they were removed.";

    // The OneRoster API path.
    /// The district's API declined an optional collection (404 or 403): left out of the run.
    CollectionDeclined = "collection_declined":
        "The district's OneRoster API declined to send this collection (HTTP 404 or 403), so this run left it out: the records of it we already hold are kept as they are, none archived. If the district means to share it, check the app's permissions in ClassLink's Roster Server.";

    // Run records: an upload not validated at all.
    /// An upload set aside without being read (not a package, a tenant not
    /// configured or disabled).
    SetAside = "set_aside":
        "The upload was set aside without being read. The reason follows; nothing in the roster was changed.";
    /// Part of a package arrived, but not all of it within the waiting time.
    IncompleteSet = "incomplete_set":
        "Some of the package's files arrived, but not manifest.csv and all the files it declares, within the waiting time. Send the whole package again.";
}

impl IssueCode {
    /// The code named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<IssueCode> {
        IssueCode::ALL
            .iter()
            .copied()
            .find(|code| code.name() == name)
    }
}

impl std::fmt::Display for IssueCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Stored as its name.
impl Serialize for IssueCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// A code equals its name.
impl PartialEq<str> for IssueCode {
    fn eq(&self, name: &str) -> bool {
        self.name() == name
    }
}

/// A code equals its name.
impl PartialEq<&str> for IssueCode {
    fn eq(&self, name: &&str) -> bool {
        self.name() == *name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Issue, Severity};

    /// Reports and run records store a code as its name: the same
    /// snake_case text the codes had as string constants.
    #[test]
    fn a_code_is_stored_as_its_name() {
        let issue = Issue::new(Severity::Fatal, "users", IssueCode::NotUtf8, "m");
        let json = serde_json::to_value(&issue).unwrap();
        assert_eq!(json["code"], "not_utf8");
        assert_eq!(
            IssueCode::TobedeletedInBulk.to_string(),
            "tobedeleted_in_bulk"
        );
        assert_eq!(
            IssueCode::DateTimeInDateColumn.name(),
            "date_time_in_date_column"
        );
        let mut names = std::collections::BTreeSet::new();
        for code in IssueCode::ALL {
            let name = code.name();
            assert!(names.insert(name), "{name} twice");
            assert!(name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            assert_eq!(IssueCode::from_name(name), Some(*code));
            assert_eq!(serde_json::to_value(code).unwrap(), name);
            assert!(*code == name);
        }
        assert_eq!(IssueCode::from_name("no_such_code"), None);
    }
}
