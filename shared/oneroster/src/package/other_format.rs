//! A package without `manifest.csv` that is another roster format: OneRoster
//! 1.0 (no manifest yet; `grade`, `userId`, `agents`, `termSourcedId`,
//! `schoolYearId` where 1.1 has `grades`, `userIds`, `agentSourcedIds`,
//! `termSourcedIds`, `schoolYearSourcedId`), or Microsoft School Data Sync:
//! v1 (`School.csv`, `Student.csv`, ... with `SIS ID` columns) or v2.1
//! (`orgs.csv` of `sourcedId,name,type`, `roles.csv`, no `status` or
//! `dateLastModified` columns). Recognised from the header line of each file
//! present, never a full read, so that the district hears what it sent and
//! what to send instead, not only that a manifest is missing.

use std::io::Read;

/// The most bytes read of a file to find its header line.
const HEADER_BYTES: u64 = 64 * 1024;

/// The most files whose header is read.
const MAX_FILES: usize = 32;

/// The most facts a message lists.
const SHOWN_EVIDENCE: usize = 6;

/// A roster format that is not OneRoster 1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Format {
    /// Microsoft School Data Sync, v1 CSV format.
    SdsV1,
    /// Microsoft School Data Sync, v2.1 CSV format.
    SdsV2,
    /// OneRoster 1.0.
    OneRoster10,
}

impl Format {
    /// How a district's data manager knows it.
    fn name(self) -> &'static str {
        match self {
            Format::SdsV1 => "a Microsoft School Data Sync (v1 format) export",
            Format::SdsV2 => "a Microsoft School Data Sync v2 (v2.1 format) export",
            Format::OneRoster10 => "a OneRoster 1.0 export",
        }
    }
}

/// What the headers show: the format, and the facts that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recognition {
    /// The format.
    pub(crate) format: Format,
    /// What shows it, in words (`users.csv has grade, not grades`).
    pub(crate) evidence: Vec<String>,
}

impl Recognition {
    /// The package's one fatal message (the first [`SHOWN_EVIDENCE`] facts, and how many more).
    pub(crate) fn message(&self, where_: &str) -> String {
        let mut facts = self.evidence[..self.evidence.len().min(SHOWN_EVIDENCE)].join("; ");
        if self.evidence.len() > SHOWN_EVIDENCE {
            facts.push_str(&format!(
                "; and {} more",
                self.evidence.len() - SHOWN_EVIDENCE
            ));
        }
        format!(
            "no manifest.csv in `{where_}`, and this looks like {}, not OneRoster 1.1 ({facts}). ClassLink's OneRoster 1.1 export template is what we read: choose it in ClassLink's Roster Server and export again",
            self.format.name(),
        )
    }
}

/// The header line of a file (first 64 KiB at most), as column names: a
/// byte-order mark and spaces around names removed. `None` when it cannot
/// be read or parsed.
pub(crate) fn read_header(read: &mut dyn Read) -> Option<Vec<String>> {
    let mut bytes = Vec::new();
    read.take(HEADER_BYTES).read_to_end(&mut bytes).ok()?;
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let record = reader.byte_records().next()?.ok()?;
    Some(
        record
            .iter()
            .map(|c| String::from_utf8_lossy(c).trim().to_string())
            .collect(),
    )
}

/// The files to read headers of: at most [`MAX_FILES`].
pub(crate) fn limit<T>(files: impl Iterator<Item = T>) -> impl Iterator<Item = T> {
    files.take(MAX_FILES)
}

/// The format `files` (each a file name and its header's columns) are in,
/// when they are recognisably not OneRoster 1.1: the format with the most
/// evidence (School Data Sync first on a tie: its files can carry 1.0-like
/// names too). `None` when nothing shows another format.
pub(crate) fn recognise(files: &[(String, Vec<String>)]) -> Option<Recognition> {
    [
        (Format::SdsV1, sds_v1(files)),
        (Format::SdsV2, sds_v2(files)),
        (Format::OneRoster10, oneroster_10(files)),
    ]
    .into_iter()
    .filter(|(_, evidence)| !evidence.is_empty())
    .max_by_key(|(format, evidence)| (evidence.len(), std::cmp::Reverse(*format)))
    .map(|(format, evidence)| Recognition { format, evidence })
}

/// A file's name without folders, and its stem in lower case.
fn names(path: &str) -> (&str, String) {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    (name, stem.to_ascii_lowercase())
}

fn has(columns: &[String], name: &str) -> bool {
    columns.iter().any(|c| c.eq_ignore_ascii_case(name))
}

/// SDS v1: its own file names, or its `SIS ID` columns.
fn sds_v1(files: &[(String, Vec<String>)]) -> Vec<String> {
    const FILES: [&str; 6] = [
        "school",
        "section",
        "student",
        "teacher",
        "studentenrollment",
        "teacherroster",
    ];
    const COLUMNS: [&str; 3] = ["SIS ID", "School SIS ID", "Section SIS ID"];
    let mut evidence = Vec::new();
    for (path, columns) in files {
        let (name, stem) = names(path);
        if FILES.contains(&stem.as_str()) {
            evidence.push(format!("`{name}` is a School Data Sync file name"));
        }
        let sds: Vec<&str> = COLUMNS.into_iter().filter(|c| has(columns, c)).collect();
        if !sds.is_empty() {
            evidence.push(format!("`{name}` has the column(s) `{}`", sds.join("`, `")));
        }
    }
    evidence
}

/// SDS v2.1: `roles.csv` (user, org, role, `isPrimary`), its own columns,
/// and OneRoster-named files without `status` and `dateLastModified`.
fn sds_v2(files: &[(String, Vec<String>)]) -> Vec<String> {
    const ONEROSTER: [&str; 6] = [
        "orgs",
        "users",
        "classes",
        "courses",
        "enrollments",
        "academicsessions",
    ];
    const COLUMNS: [&str; 3] = ["activeDirectoryMatchId", "sessionSourcedIds", "isPrimary"];
    let mut evidence = Vec::new();
    for (path, columns) in files {
        let (name, stem) = names(path);
        // OneRoster 1.2's roles.csv has a roleType; School Data Sync's has none.
        if stem == "roles" && !has(columns, "roleType") {
            evidence.push(format!("`{name}` (School Data Sync's users' roles)"));
        }
        let sds: Vec<&str> = COLUMNS.into_iter().filter(|c| has(columns, c)).collect();
        if !sds.is_empty() {
            evidence.push(format!("`{name}` has the column(s) `{}`", sds.join("`, `")));
        }
        if ONEROSTER.contains(&stem.as_str())
            && !columns.is_empty()
            && !has(columns, "status")
            && !has(columns, "dateLastModified")
        {
            evidence.push(format!(
                "`{name}` is `{}`, without `status` and `dateLastModified`",
                columns.join(",")
            ));
        }
    }
    evidence
}

/// OneRoster 1.0: the column names 1.1 renamed, in the files that carry them.
fn oneroster_10(files: &[(String, Vec<String>)]) -> Vec<String> {
    const RENAMED: [(&str, &str, &str); 7] = [
        ("users", "grade", "grades"),
        ("users", "userId", "userIds"),
        ("users", "agents", "agentSourcedIds"),
        ("classes", "grade", "grades"),
        ("classes", "termSourcedId", "termSourcedIds"),
        ("courses", "grade", "grades"),
        ("courses", "schoolYearId", "schoolYearSourcedId"),
    ];
    let mut evidence = Vec::new();
    for (path, columns) in files {
        let (name, stem) = names(path);
        for (file, old, new) in RENAMED {
            if stem == file && has(columns, old) && !has(columns, new) {
                evidence.push(format!("`{name}` has `{old}`, not `{new}`"));
            }
        }
    }
    evidence
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, header: &str) -> (String, Vec<String>) {
        let columns = read_header(&mut header.as_bytes()).unwrap();
        (name.to_string(), columns)
    }

    #[test]
    fn oneroster_1_0_headers_are_recognised_by_the_columns_1_1_renamed() {
        let files = [
            file("users.csv", "sourcedId,status,dateLastModified,orgSourcedIds,role,username,userId,givenName,familyName,identifier,email,sms,phone,agents,grade\n"),
            file("classes.csv", "sourcedId,status,dateLastModified,title,grade,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedId,subjects\n"),
            file("orgs.csv", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"),
        ];
        let r = recognise(&files).unwrap();
        assert_eq!(r.format, Format::OneRoster10);
        assert!(r
            .evidence
            .contains(&"`users.csv` has `grade`, not `grades`".to_string()));
        assert!(r
            .evidence
            .contains(&"`classes.csv` has `termSourcedId`, not `termSourcedIds`".to_string()));
        assert_eq!(r.evidence.len(), 5, "{:?}", r.evidence);
    }

    #[test]
    fn school_data_sync_v1_is_recognised_by_its_names_and_sis_id_columns() {
        let files = [
            file("School.csv", "SIS ID,Name\n"),
            file(
                "users.csv",
                "\u{feff}\"SIS ID\",School SIS ID,First Name,Last Name,Username\r\n",
            ),
        ];
        let r = recognise(&files).unwrap();
        assert_eq!(r.format, Format::SdsV1);
        assert_eq!(
            r.evidence,
            [
                "`School.csv` is a School Data Sync file name",
                "`School.csv` has the column(s) `SIS ID`",
                "`users.csv` has the column(s) `SIS ID`, `School SIS ID`",
            ]
        );
    }

    #[test]
    fn school_data_sync_v2_is_recognised_by_roles_and_status_less_files() {
        let files = [
            file("orgs.csv", "sourcedId,name,type\n"),
            file("roles.csv", "userSourcedId,orgSourcedId,role,isPrimary\n"),
        ];
        let r = recognise(&files).unwrap();
        assert_eq!(r.format, Format::SdsV2);
        assert!(
            r.message("x.zip").contains("School Data Sync v2"),
            "{}",
            r.message("x.zip")
        );
        assert!(r.evidence.contains(
            &"`orgs.csv` is `sourcedId,name,type`, without `status` and `dateLastModified`"
                .to_string()
        ));
    }

    #[test]
    fn oneroster_1_1_and_1_2_headers_are_not_another_format() {
        let files = [
            file("users.csv", "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"),
            file("classes.csv", "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n"),
            file("roles.csv", "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\n"),
            ("empty.csv".to_string(), Vec::new()),
        ];
        assert_eq!(recognise(&files), None);
    }

    #[test]
    fn a_header_is_read_from_the_first_line_only_and_never_past_its_bound() {
        let mut long = "a,b\n".to_string();
        long.push_str(&"x".repeat(200_000));
        assert_eq!(read_header(&mut long.as_bytes()).unwrap(), ["a", "b"]);
        let endless = "c".repeat(100_000);
        let one = read_header(&mut endless.as_bytes()).unwrap();
        assert_eq!(one[0].len(), HEADER_BYTES as usize, "cut at the bound");
        assert_eq!(read_header(&mut "".as_bytes()), None);
    }
}
