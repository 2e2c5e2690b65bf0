//! Each issue code of the validation report in plain words, for a district's
//! data manager reading the report page: what the code means and what to do
//! about it in the student information system or the export.

/// The plain-language explanation of `code`; `None` for a code this table
/// does not know (the issue's own message still says what is wrong).
pub fn explain(code: &str) -> Option<&'static str> {
    Some(match code {
        "manifest_missing" => "The package has no manifest.csv. ClassLink's OneRoster export always includes one: export again with the OneRoster 1.1 template.",
        "manifest_invalid" => "manifest.csv could not be read as OneRoster's list of property names and values.",
        "unsupported_version" => "The package is not OneRoster 1.1. Choose the OneRoster 1.1 template in ClassLink's Roster Server.",
        "declared_file_missing" => "manifest.csv says a file is in the package, but it is not there. The export or upload was incomplete: send the whole package again.",
        "required_column_missing" => "A column OneRoster requires is missing from this file's header. The export template was changed: restore the column.",
        "duplicate_column" => "The same column appears twice in this file's header.",
        "not_utf8" => "The file is not in UTF-8 text encoding at this line (often a file saved from a spreadsheet program). Export it again as UTF-8.",
        "not_a_package" => "The upload is not a OneRoster package: upload a .zip of the CSV files, or manifest.csv and the CSV files.",
        "csv_malformed" => "This line is not well-formed CSV (for example, a quote that is never closed).",
        "unsafe_entry_name" => "An entry in the zip has a name that could write outside its folder; the package is refused for safety.",
        "nested_archive" => "The zip contains another archive. Put the CSV files directly in one zip.",
        "archive_too_large" => "The package is larger than this system accepts.",
        "compression_ratio" => "An entry in the zip expands far more than real CSV data does; the package is refused for safety.",
        "not_a_regular_file" => "Where a CSV file should be, the package has a shortcut (symbolic link), a pipe, a device or a folder; it is refused for safety. Put the CSV file itself in the folder, or upload a .zip.",
        "entry_size_mismatch" => "An entry in the zip is not the size the zip says: the file is damaged. Upload it again.",
        "io" => "The file could not be read to the end. Upload it again.",
        "missing_value" => "A required value is empty in this row; the row is not imported.",
        "invalid_enum" => "The value is not one OneRoster allows in this column (for example a role or status); the row is not imported.",
        "invalid_date" => "The value is not a date in the form YYYY-MM-DD.",
        "invalid_datetime" => "The value is not a date and time in the form YYYY-MM-DDThh:mm:ssZ.",
        "invalid_boolean" => "The value is not true or false.",
        "invalid_year" => "The value is not a four-digit school year.",
        "invalid_grade" => "The value is not a grade OneRoster knows (for example KG, 01 to 13, PS).",
        "invalid_user_ids" => "The userIds value is not a list of {type:identifier} pairs.",
        "duplicate_sourced_id" => "Two rows of this file have the same sourcedId; the later one is not imported. Each record needs its own id in the SIS.",
        "unknown_user" => "The row refers to a user who is not in users.csv (or was not imported); the row is not imported.",
        "unknown_class" => "The row refers to a class that is not in classes.csv (or was not imported); the row is not imported.",
        "field_count" => "This line has more or fewer values than the header has columns.",
        "record_too_long" => "The row holds more than 64 KiB, or more than 16,384 fields; it is not imported (it is read past without being kept). OneRoster rows are a few hundred bytes: look for an unclosed quote on this line, which swallows the lines after it.",
        "value_too_long" => "The email or username is longer than 1,024 bytes; the row is not imported. These values are used to find people at sign-in, and no real one is that long.",
        "id_too_long" => "The sourcedId is longer than 256 bytes; the row is not imported. Ids that long are not ids: check the export's columns.",
        "bom" => "The file starts with a byte-order mark; it was ignored.",
        "crlf" => "The file uses Windows line endings; they were read as usual.",
        "header_order" => "The columns are in another order than OneRoster lists them; they were read by name.",
        "header_case" => "A column name is in another letter case than OneRoster's; it was read anyway.",
        "extension_column" => "A column OneRoster does not define; it was ignored.",
        "optional_column_missing" => "An optional column is missing; its values are taken as empty.",
        "enum_case" => "A value is in another letter case than OneRoster's (for example Teacher for teacher); it was read anyway.",
        "boolean_form" => "A true/false value was written as 1/0 or in another case; it was read anyway.",
        "grade_form" => "A grade was written in another form (9 for 09, kg for KG); it was read anyway.",
        "date_only_datetime" => "dateLastModified had a date but no time; midnight UTC was assumed.",
        "date_time_in_date_column" => "A date column (for example beginDate) had a date and a time; the date was kept as written and the time dropped.",
        "inactive_status" => "The status inactive (OneRoster 1.0) was read as tobedeleted.",
        "tobedeleted_in_bulk" => "A row marked tobedeleted inside a bulk file was read as a removal.",
        "undeclared_file" => "A CSV file that manifest.csv does not declare; it was read as bulk.",
        "file_declared_absent" => "manifest.csv says this file is absent, but it is present; it was not read.",
        "unresolved_reference" => "The row refers to a record that is not in this package; the reference was kept.",
        "unknown_manifest_property" => "manifest.csv has a property this system does not know; it was ignored.",
        "manifest_version" => "manifest.version is not 1.0; the package was read anyway.",
        "not_imported" => "Gradebook and resource files are counted, not imported.",
        "ignored_entry" => "A file that is not part of a OneRoster package; it was ignored.",
        "whitespace" => "A value had spaces before or after it; they were removed.",
        "set_aside" => "The upload was set aside without being read. The reason follows; nothing in the roster was changed.",
        "incomplete_set" => "Some of the package's files arrived, but not manifest.csv and all the files it declares, within the waiting time. Send the whole package again.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_issue_code_has_an_explanation() {
        let source = include_str!("report.rs");
        let codes = source
            .split("pub const ")
            .skip(1)
            .filter_map(|c| c.split_once("&str = \"").map(|(_, rest)| rest))
            .filter_map(|rest| rest.split('"').next())
            .filter(|code| *code != "package");
        let mut n = 0;
        for code in codes {
            n += 1;
            let text = explain(code).unwrap_or_else(|| panic!("no explanation for `{code}`"));
            assert!(text.ends_with('.') && text.len() > 20, "{code}: {text}");
        }
        assert!(n >= 45, "{n} codes");
        assert_eq!(explain("no_such_code"), None);
    }
}
