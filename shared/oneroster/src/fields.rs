//! Parsers for single OneRoster field values. Pure functions: each returns the
//! normalised value, whether a tolerated quirk was normalised away, or what
//! was expected.

pub use crate::model::Vocabulary;
use crate::model::{Grade, Status};
pub use crate::user_ids::{split_user_ids, UserIdsError};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// A parsed value and whether it had to be normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Normalised<T> {
    /// The value.
    pub value: T,
    /// True when the input was not in canonical form (case, `1`/`0`, ...).
    pub quirk: bool,
}

fn exact<T>(value: T) -> Normalised<T> {
    Normalised {
        value,
        quirk: false,
    }
}

fn quirky<T>(value: T) -> Normalised<T> {
    Normalised { value, quirk: true }
}

/// Reads an enumeration value; other case is tolerated.
pub fn parse_vocabulary<V: Vocabulary>(text: &str) -> Option<Normalised<V>> {
    parse_among(V::ALL, text)
}

/// Reads one of `values` (a part of a vocabulary); other case is tolerated.
pub fn parse_among<V: Vocabulary>(values: &[V], text: &str) -> Option<Normalised<V>> {
    if let Some(v) = values.iter().find(|v| v.text() == text) {
        return Some(exact(*v));
    }
    values
        .iter()
        .find(|v| v.text().eq_ignore_ascii_case(text))
        .map(|v| quirky(*v))
}

/// The allowed spellings of a vocabulary, for messages: `a, b or c`.
pub fn expected_values<V: Vocabulary>() -> String {
    expected_among(V::ALL)
}

/// The spellings of `values`, for messages: `a, b or c`.
pub fn expected_among<V: Vocabulary>(values: &[V]) -> String {
    let names: Vec<&str> = values.iter().map(|v| v.text()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {}", rest.join(", "), last),
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
}

/// Reads `true`/`false`; other case and `1`/`0` are tolerated.
pub fn parse_bool(text: &str) -> Option<Normalised<bool>> {
    match text {
        "true" => Some(exact(true)),
        "false" => Some(exact(false)),
        "1" => Some(quirky(true)),
        "0" => Some(quirky(false)),
        _ if text.eq_ignore_ascii_case("true") => Some(quirky(true)),
        _ if text.eq_ignore_ascii_case("false") => Some(quirky(false)),
        _ => None,
    }
}

/// Reads a status. Blank reads as active (the caller decides whether blank
/// is allowed); OneRoster 1.0's `inactive` reads as `tobedeleted` with a quirk.
pub fn parse_status(text: &str) -> Option<Normalised<Status>> {
    match text {
        "active" | "" => Some(exact(Status::Active)),
        "tobedeleted" => Some(exact(Status::ToBeDeleted)),
        _ if text.eq_ignore_ascii_case("active") => Some(quirky(Status::Active)),
        _ if text.eq_ignore_ascii_case("tobedeleted") => Some(quirky(Status::ToBeDeleted)),
        _ if text.eq_ignore_ascii_case("inactive") => Some(quirky(Status::ToBeDeleted)),
        _ => None,
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0')),
    )
}

/// Reads a `YYYY-MM-DD` date (a real calendar date).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    NaiveDate::from_ymd_opt(year as i32, month, day)
}

/// Reads `YYYY-MM-DDTHH:MM:SS(.fraction)Z`. A date alone is tolerated and
/// read as midnight UTC (reported as a quirk).
pub fn parse_datetime(text: &str) -> Option<Normalised<DateTime<Utc>>> {
    if text.len() == 10 {
        let date = parse_date(text)?;
        return Some(quirky(
            Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)),
        ));
    }
    let b = text.as_bytes();
    if b.len() < 20 || b[10] != b'T' {
        return None;
    }
    let date = parse_date(&text[..10])?;
    let (time, zone) = time_of_day(&b[11..])?;
    if zone != b"Z" {
        return None;
    }
    Some(exact(
        Utc.from_utc_datetime(&NaiveDateTime::new(date, time)),
    ))
}

/// Reads the date of a date-time written where a date is expected:
/// `YYYY-MM-DDTHH:MM:SS(.fraction)` then `Z`, `±hh:mm` or nothing. The date
/// is the one written, whatever the offset: a school's begin or end date is
/// a day of its own calendar, not an instant to convert. `None` for anything
/// else, a plain date included (that is [`parse_date`]'s: callers try it
/// first, so that plain dates cost nothing more).
pub fn parse_date_of_datetime(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() < 19 || b[10] != b'T' {
        return None;
    }
    // Byte 10 is ASCII, so `..10` ends on a character boundary.
    let date = parse_date(&text[..10])?;
    let (_, zone) = time_of_day(&b[11..])?;
    let zone_ok = match zone {
        b"" | b"Z" => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            digits(&[*h1, *h2]).is_some_and(|h| h <= 23)
                && digits(&[*m1, *m2]).is_some_and(|m| m <= 59)
        }
        _ => false,
    };
    zone_ok.then_some(date)
}

/// Reads `HH:MM:SS(.fraction)` at the start of `b`: the time, and the bytes
/// after it (the zone, if any).
fn time_of_day(b: &[u8]) -> Option<(NaiveTime, &[u8])> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let hour = digits(&b[0..2])?;
    let minute = digits(&b[3..5])?;
    let second = digits(&b[6..8])?;
    let rest = &b[8..];
    let (fraction, zone) = match rest.first() {
        Some(b'.') => {
            let end = rest[1..]
                .iter()
                .position(|c| !c.is_ascii_digit())
                .map(|p| p + 1)
                .unwrap_or(rest.len());
            (&rest[1..end], &rest[end..])
        }
        _ => (&rest[..0], rest),
    };
    if fraction.len() > 9 || (rest.first() == Some(&b'.') && fraction.is_empty()) {
        return None;
    }
    let nanos = if fraction.is_empty() {
        0
    } else {
        digits(fraction)? * 10u32.pow(9 - fraction.len() as u32)
    };
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some((time, zone))
}

/// Serialisers of dates and instants that give the text chrono's own
/// `Serialize` gives (`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SSZ`), written from
/// the numbers rather than through `fmt`: every record has a
/// `dateLastModified`, and its canonical text is written at every sync.
/// Values the fast path does not cover (years outside 0–9999, fractions of a
/// second) are handed to chrono.
pub mod serde_text {
    use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
    use serde::{Serialize, Serializer};

    fn push_digits(out: &mut [u8], mut value: u32) {
        for slot in out.iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }

    /// `YYYY-MM-DD` into `out[..10]`; `false` when the year has no four digits.
    fn date_text(date: &NaiveDate, out: &mut [u8]) -> bool {
        let Ok(year) = u32::try_from(date.year()) else {
            return false;
        };
        if year > 9999 {
            return false;
        }
        push_digits(&mut out[0..4], year);
        out[4] = b'-';
        push_digits(&mut out[5..7], date.month());
        out[7] = b'-';
        push_digits(&mut out[8..10], date.day());
        true
    }

    /// A date, as chrono serialises it.
    pub fn date<S: Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; 10];
        if !date_text(date, &mut text) {
            return date.serialize(s);
        }
        s.serialize_str(std::str::from_utf8(&text).expect("ASCII digits"))
    }

    /// An optional date ([`date`] when there is one).
    pub fn option_date<S: Serializer>(date: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        optional(date.as_ref(), s)
    }

    /// An instant in UTC, as chrono serialises it.
    pub fn instant<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; 20];
        if at.nanosecond() != 0 || !date_text(&at.date_naive(), &mut text) {
            return at.serialize(s);
        }
        text[10] = b'T';
        push_digits(&mut text[11..13], at.hour());
        text[13] = b':';
        push_digits(&mut text[14..16], at.minute());
        text[16] = b':';
        push_digits(&mut text[17..19], at.second());
        text[19] = b'Z';
        s.serialize_str(std::str::from_utf8(&text).expect("ASCII digits"))
    }

    /// An optional instant ([`instant`] when there is one).
    pub fn option_instant<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        optional(at.as_ref(), s)
    }

    /// A value these serialisers write.
    trait Text {
        fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
    }

    impl Text for NaiveDate {
        fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            date(self, s)
        }
    }

    impl Text for DateTime<Utc> {
        fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            instant(self, s)
        }
    }

    /// `Some` with the value as [`Text`] writes it, or `None`.
    fn optional<T: Text, S: Serializer>(value: Option<&T>, s: S) -> Result<S::Ok, S::Error> {
        struct Present<'v, T>(&'v T);
        impl<T: Text> Serialize for Present<'_, T> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.write(s)
            }
        }
        match value {
            Some(value) => s.serialize_some(&Present(value)),
            None => s.serialize_none(),
        }
    }
}

/// Reads a four-digit `schoolYear`.
pub fn parse_year(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    if b.len() != 4 {
        return None;
    }
    digits(b).map(|y| y as u16)
}

/// Reads a CEDS grade. Other case (`kg`) and one-digit grades (`9`) are
/// tolerated as quirks.
pub fn parse_grade(text: &str) -> Option<Normalised<Grade>> {
    if let Some(g) = parse_vocabulary::<Grade>(text) {
        return Some(g);
    }
    if text.len() == 1 && text.as_bytes()[0].is_ascii_digit() && text != "0" {
        let padded = format!("0{text}");
        return parse_vocabulary::<Grade>(&padded).map(|g| quirky(g.value));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClassType, Role};
    use crate::user_ids::UserId;

    #[test]
    fn dates_and_instants_serialise_as_chrono_does() {
        #[derive(serde::Serialize)]
        struct Fast {
            #[serde(serialize_with = "serde_text::date")]
            d: NaiveDate,
            #[serde(serialize_with = "serde_text::option_date")]
            od: Option<NaiveDate>,
            #[serde(serialize_with = "serde_text::option_instant")]
            oi: Option<DateTime<Utc>>,
        }
        #[derive(serde::Serialize)]
        struct Chrono {
            d: NaiveDate,
            od: Option<NaiveDate>,
            oi: Option<DateTime<Utc>>,
        }
        let dates = [
            NaiveDate::from_ymd_opt(2026, 8, 17).unwrap(),
            NaiveDate::from_ymd_opt(1, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
            NaiveDate::from_ymd_opt(10000, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(-5, 3, 9).unwrap(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
        ];
        let times = [
            NaiveTime::MIN,
            NaiveTime::from_hms_opt(23, 59, 59).unwrap(),
            NaiveTime::from_hms_opt(9, 5, 7).unwrap(),
            NaiveTime::from_hms_milli_opt(12, 0, 0, 500).unwrap(),
            NaiveTime::from_hms_micro_opt(12, 0, 0, 123_456).unwrap(),
            NaiveTime::from_hms_nano_opt(12, 0, 0, 1).unwrap(),
            NaiveTime::from_hms_milli_opt(23, 59, 59, 1_500).unwrap(),
        ];
        let mut compared = 0;
        for d in dates {
            for t in times {
                for (od, oi) in [
                    (None, None),
                    (
                        Some(d),
                        Some(Utc.from_utc_datetime(&NaiveDateTime::new(d, t))),
                    ),
                ] {
                    let fast = serde_json::to_string(&Fast { d, od, oi }).unwrap();
                    let chrono = serde_json::to_string(&Chrono { d, od, oi }).unwrap();
                    assert_eq!(fast, chrono);
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 84);
    }

    #[test]
    fn vocabulary_is_exact_or_case_tolerant() {
        assert_eq!(
            parse_vocabulary::<ClassType>("scheduled"),
            Some(Normalised {
                value: ClassType::Scheduled,
                quirk: false
            })
        );
        assert_eq!(
            parse_vocabulary::<ClassType>("Scheduled"),
            Some(Normalised {
                value: ClassType::Scheduled,
                quirk: true
            })
        );
        assert_eq!(parse_vocabulary::<ClassType>("lecture"), None);
        assert_eq!(
            parse_vocabulary::<Role>("TEACHER").unwrap().value,
            Role::Teacher
        );
    }

    #[test]
    fn expected_values_reads_naturally() {
        assert_eq!(expected_values::<ClassType>(), "homeroom or scheduled");
    }

    #[test]
    fn booleans_accept_case_and_digits_as_quirks() {
        assert_eq!(parse_bool("true").unwrap(), exact(true));
        assert_eq!(parse_bool("TRUE").unwrap(), quirky(true));
        assert_eq!(parse_bool("0").unwrap(), quirky(false));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(parse_bool(""), None);
    }

    #[test]
    fn status_reads_inactive_as_tobedeleted() {
        assert_eq!(parse_status("").unwrap(), exact(Status::Active));
        assert_eq!(
            parse_status("tobedeleted").unwrap(),
            exact(Status::ToBeDeleted)
        );
        assert_eq!(
            parse_status("inactive").unwrap(),
            quirky(Status::ToBeDeleted)
        );
        assert_eq!(parse_status("deleted"), None);
    }

    #[test]
    fn dates_are_strict_calendar_dates() {
        assert_eq!(
            parse_date("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2023-13-01"), None);
        assert_eq!(parse_date("2023/01/01"), None);
        assert_eq!(parse_date("23-01-01"), None);
        assert_eq!(parse_date("２０２３-01-01"), None);
    }

    #[test]
    fn dates_in_any_order_read_as_a_plain_parse_reads_them() {
        let sequence = [
            "2024-02-29",
            "2024-02-29",
            "2023-02-29",
            "2024-02-29",
            "2024-02-28",
            "2024-02-29",
            "2024-02-2x",
            "2024-02-29",
            "2027-06-11",
            "2027-06-11",
        ];
        // Then many texts in a mixed order: valid dates, impossible ones,
        // and near misses.
        let texts: Vec<String> = (0..60)
            .map(|i| match i % 4 {
                0 => format!("20{:02}-{:02}-{:02}", 20 + i % 9, 1 + i % 12, 1 + i % 31),
                1 => format!("2024-02-{:02}", 27 + i % 4),
                2 => format!("19{:02}-1{}-0{}", 50 + i, i % 4, 1 + i % 9),
                _ => format!("2023-0{}-3{}", 1 + i % 9, i % 2),
            })
            .collect();
        let mut x = 7u64;
        let mixed = (0..5_000).map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            texts[(x >> 33) as usize % texts.len()].as_str()
        });
        for text in sequence.into_iter().chain(mixed) {
            let b = text.as_bytes();
            let fresh = || {
                let n = |r: std::ops::Range<usize>| text[r].parse().ok();
                NaiveDate::from_ymd_opt(n(0..4)? as i32, n(5..7)?, n(8..10)?)
                    .filter(|_| b[4] == b'-' && b[7] == b'-')
            };
            assert_eq!(parse_date(text), fresh(), "{text}");
        }
    }

    #[test]
    fn datetimes_accept_fractions_and_tolerate_dates() {
        let t = parse_datetime("2019-03-01T12:34:56.789Z").unwrap();
        assert!(!t.quirk);
        assert_eq!(t.value.to_rfc3339(), "2019-03-01T12:34:56.789+00:00");
        assert!(!parse_datetime("2019-03-01T12:34:56Z").unwrap().quirk);
        let d = parse_datetime("2019-03-01").unwrap();
        assert!(d.quirk);
        assert_eq!(d.value.to_rfc3339(), "2019-03-01T00:00:00+00:00");
        assert_eq!(parse_datetime("2019-03-01T12:34:56"), None);
        assert_eq!(parse_datetime("2019-03-01T12:34:56.Z"), None);
        assert_eq!(parse_datetime("2019-03-01T25:00:00Z"), None);
        assert_eq!(parse_datetime("2019-03-01 12:34:56Z"), None);
        assert_eq!(parse_datetime("2019-03-01T12:34:56+01:00"), None);
        assert_eq!(parse_datetime("2019-03-01T12:34:56.1234567890Z"), None);
        assert_eq!(parse_datetime("2019-03-01T12:34:56ZZ"), None);
        assert_eq!(parse_datetime("2019-03-01T12:34Z"), None);
        assert_eq!(
            parse_datetime("2019-03-01T12:34:56.000000001Z")
                .unwrap()
                .value
                .timestamp_subsec_nanos(),
            1
        );
    }

    #[test]
    fn a_date_time_in_a_date_column_reads_as_the_date_written() {
        let aug11 = NaiveDate::from_ymd_opt(2025, 8, 11);
        for text in [
            "2025-08-11T00:00:00.000Z",
            "2025-08-11T00:00:00Z",
            "2025-08-11T23:59:59",
            "2025-08-11T12:00:00.5",
            "2025-08-11T12:00:00.123456789Z",
            "2025-08-11T22:30:00-05:00",
            "2025-08-11T00:00:00+14:00",
            "2025-08-11T00:00:00.000+00:00",
        ] {
            assert_eq!(parse_date_of_datetime(text), aug11, "{text}");
        }
        for text in [
            "2025-08-11",
            "2025-02-30T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-08-11T24:00:00Z",
            "2025-08-11T12:60:00Z",
            "2025-08-11T12:00Z",
            "2025-08-11T12:00:00.Z",
            "2025-08-11T12:00:00.1234567890Z",
            "2025-08-11T12:00:00+5:00",
            "2025-08-11T12:00:00+0500",
            "2025-08-11T12:00:00+24:00",
            "2025-08-11T12:00:00+05:60",
            "2025-08-11T12:00:00 Z",
            "2025-08-11T12:00:00ZZ",
            "2025-08-11 12:00:00Z",
            "2025-08-11t12:00:00Z",
            "2025-08-11Tnoon",
            "2025-08-11T１2:00:00Z",
            "08/11/2025T00:00:00Z",
            "",
            "T",
        ] {
            assert_eq!(parse_date_of_datetime(text), None, "{text}");
        }
    }

    #[test]
    fn grades_are_ceds_codes() {
        assert_eq!(parse_grade("09").unwrap(), exact(Grade::G09));
        assert_eq!(parse_grade("9").unwrap(), quirky(Grade::G09));
        assert_eq!(parse_grade("kg").unwrap(), quirky(Grade::KG));
        assert_eq!(parse_grade("Other").unwrap(), exact(Grade::Other));
        assert_eq!(parse_grade("14"), None);
        assert_eq!(parse_grade("0"), None);
        assert_eq!(parse_grade("K"), None);
    }

    #[test]
    fn years_have_four_digits() {
        assert_eq!(parse_year("2024"), Some(2024));
        assert_eq!(parse_year("24"), None);
        assert_eq!(parse_year("2024-25"), None);
    }

    #[test]
    fn user_ids_split_into_typed_entries() {
        let ids: Vec<_> = split_user_ids("{Fed:123}, {StateID:NY-9}").collect();
        assert_eq!(
            ids,
            vec![
                Ok(UserId {
                    id_type: "Fed",
                    identifier: "123"
                }),
                Ok(UserId {
                    id_type: "StateID",
                    identifier: "NY-9"
                })
            ]
        );
        assert_eq!(split_user_ids("").count(), 0);
        assert!(split_user_ids("Fed:123").any(|r| r.is_err()));
        assert!(split_user_ids("{Fed123}").any(|r| r.is_err()));
        assert!(split_user_ids("{Fed:}").any(|r| r.is_err()));
        assert!(split_user_ids("{Fed:1},{Sta").any(|r| r.is_err()));
    }
}
