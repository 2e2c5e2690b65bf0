//! A date-time where a date is expected (`beginDate` of
//! `2025-08-11T00:00:00.000Z`) is read as the date it names, with a
//! `date_time_in_date_column` warning; an impossible date or a garbled time
//! still rejects the row.

use crate::common::*;
use oneroster::report::IssueCode;
use oneroster::{EntityKind, Record, RowItem};

const ENROLLMENTS_HEADER: &str = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n";

/// The streamed records of `kind` as the JSON their `Serialize` gives (the
/// text the sync engine's canonical content is written from).
fn records_json(v: &Checked, kind: EntityKind) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    v.package
        .as_ref()
        .expect("accepted")
        .for_each_row(kind, |row| {
            if let RowItem::Upsert(record) = row {
                out.push(serde_json::to_value(record).unwrap());
            }
            Ok::<(), oneroster::ReadError>(())
        })
        .unwrap();
    out
}

#[test]
fn thirty_six_enrollments_with_date_times_are_all_accepted_as_their_dates() {
    let mut users = format!("{USERS_HEADER}{USERS_ROWS}");
    let mut enrollments = ENROLLMENTS_HEADER.to_string();
    for i in 1..=36 {
        users.push_str(&format!(
            "s{i:02},active,,true,s1,student,s{i:02},,Stu,Dent{i},,,,,,,01,\n"
        ));
        enrollments.push_str(&format!(
            "e{i:02},active,2025-08-01T12:00:00.000Z,cl1,s1,s{i:02},student,false,2025-08-11T00:00:00.000Z,2026-06-05T00:00:00.000Z\n"
        ));
    }
    let v = Fixture::valid()
        .with("users.csv", &users)
        .with("enrollments.csv", &enrollments)
        .validate();
    assert!(v.report.ok, "{:#?}", v.report.errors);
    assert_eq!(v.report.error_count, 0, "{:#?}", v.report.errors);
    let file = &v.report.files["enrollments"];
    assert_eq!((file.rows, file.accepted, file.rejected), (36, 36, 0));
    let warnings: Vec<_> = v
        .report
        .warnings
        .iter()
        .filter(|w| w.code == IssueCode::DateTimeInDateColumn)
        .map(|w| (w.file.as_str(), w.column.as_deref(), w.line, w.count))
        .collect();
    assert_eq!(
        warnings,
        vec![
            ("enrollments", Some("beginDate"), Some(2), Some(36)),
            ("enrollments", Some("endDate"), Some(2), Some(36)),
        ]
    );
    let records = records_json(&v, EntityKind::Enrollments);
    assert_eq!(records.len(), 36);
    for record in &records {
        assert_eq!(record["beginDate"], "2025-08-11", "{record}");
        assert_eq!(record["endDate"], "2026-06-05", "{record}");
    }
}

#[test]
fn the_date_as_written_is_kept_whatever_the_offset() {
    let enrollments = format!(
        "{ENROLLMENTS_HEADER}e1,active,,cl1,s1,t1u,teacher,true,2025-08-11T22:30:00-05:00,2026-06-05T00:00:00+14:00\ne2,active,,cl1,s1,st1,student,false,2025-08-11T00:00:00,\n"
    );
    let v = Fixture::valid()
        .with("enrollments.csv", &enrollments)
        .validate();
    assert_eq!(v.report.error_count, 0, "{:#?}", v.report.errors);
    let records = records_json(&v, EntityKind::Enrollments);
    let dates: Vec<_> = records
        .iter()
        .map(|r| (r["beginDate"].clone(), r["endDate"].clone()))
        .collect();
    assert_eq!(
        dates,
        vec![
            ("2025-08-11".into(), "2026-06-05".into()),
            ("2025-08-11".into(), serde_json::Value::Null),
        ]
    );
}

#[test]
fn an_impossible_date_or_a_garbled_time_still_rejects_the_row() {
    let demographics = "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus\nst1,active,,2017-02-30T00:00:00Z,male,,,,,,,,,,,\nst2,active,,2017-03-04T25:00:00Z,female,,,,,,,,,,,\nt1u,active,,2017-03-04Tnoon,,,,,,,,,,,,\n";
    let v = Fixture::valid()
        .with("demographics.csv", demographics)
        .validate();
    assert!(v.report.ok);
    let rejected: Vec<_> = v
        .report
        .errors
        .iter()
        .map(|e| (e.code, e.line, e.value.as_deref()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (
                IssueCode::InvalidDate,
                Some(2),
                Some("2017-02-30T00:00:00Z")
            ),
            (
                IssueCode::InvalidDate,
                Some(3),
                Some("2017-03-04T25:00:00Z")
            ),
            (IssueCode::InvalidDate, Some(4), Some("2017-03-04Tnoon")),
        ]
    );
    assert_eq!(v.report.files["demographics"].rejected, 3);
    assert!(!warning_codes(&v).contains(&IssueCode::DateTimeInDateColumn));
}

#[test]
fn a_record_of_a_date_time_is_the_same_as_of_its_date() {
    let plain = Fixture::valid()
        .with(
            "enrollments.csv",
            &format!("{ENROLLMENTS_HEADER}e1,active,,cl1,s1,st1,student,false,2025-08-11,\n"),
        )
        .validate();
    let timed = Fixture::valid()
        .with(
            "enrollments.csv",
            &format!("{ENROLLMENTS_HEADER}e1,active,,cl1,s1,st1,student,false,2025-08-11T00:00:00.000Z,\n"),
        )
        .validate();
    let json = |v: &Checked| {
        let mut out = Vec::new();
        v.package
            .as_ref()
            .unwrap()
            .for_each_row(EntityKind::Enrollments, |row| {
                if let RowItem::Upsert(Record::Enrollment(e)) = row {
                    out.push(serde_json::to_string(&e).unwrap());
                }
                Ok::<(), oneroster::ReadError>(())
            })
            .unwrap();
        out
    };
    assert_eq!(json(&timed), json(&plain));
    assert_eq!(json(&plain).len(), 1);
}
