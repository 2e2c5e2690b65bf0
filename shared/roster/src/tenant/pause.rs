//! Pause windows: date ranges, in the district's time zone, during which a
//! tenant's deliveries are received, validated and reported but not applied
//! (a summer rollover in the SIS, say). The newest delivery of a window is
//! applied when it ends. A deployment may set a yearly window
//! ([`YearlyWindow`], `DEFAULT_PAUSE_WINDOW`) for tenants that have none.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// One window: from `start` to `end`, both days included, in `timezone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseWindow {
    /// The first day paused.
    pub start: NaiveDate,
    /// The last day paused.
    pub end: NaiveDate,
    /// The district's IANA time zone, in which the days begin and end.
    pub timezone: String,
}

impl PauseWindow {
    /// Reads `START..END` (`2027-06-09..2027-08-10`, days included) in `timezone`.
    pub fn parse(range: &str, timezone: &str) -> Result<PauseWindow, String> {
        let (start, end) = range.split_once("..").ok_or_else(|| {
            format!("`{range}` is not a window; expected START..END, e.g. 2027-06-09..2027-08-10")
        })?;
        let day = |text: &str| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .map_err(|_| format!("`{}` in `{range}` is not a date YYYY-MM-DD", text.trim()))
        };
        let (start, end) = (day(start)?, day(end)?);
        if end < start {
            return Err(format!("the window `{range}` ends before it starts"));
        }
        timezone.parse::<Tz>().map_err(|_| {
            format!("time zone `{timezone}` is not an IANA name like America/Chicago")
        })?;
        Ok(PauseWindow {
            start,
            end,
            timezone: timezone.to_string(),
        })
    }

    /// The district's day at `at` (UTC when the time zone is unknown).
    fn day_of(&self, at: DateTime<Utc>) -> NaiveDate {
        day_in_zone(at, &self.timezone)
    }

    /// Whether `at` falls in the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let day = self.day_of(at);
        self.start <= day && day <= self.end
    }

    /// Whether the window is over at `at` (its last day has passed).
    pub fn is_over(&self, at: DateTime<Utc>) -> bool {
        self.day_of(at) > self.end
    }
}

impl std::fmt::Display for PauseWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{} ({})", self.start, self.end, self.timezone)
    }
}

/// The environment variable of the deployment's default pause window.
pub const DEFAULT_PAUSE_WINDOW_VAR: &str = "DEFAULT_PAUSE_WINDOW";

/// A window that comes back every year, `MM-DD..MM-DD` (both days included,
/// e.g. `06-15..08-10`); it may wrap the new year (`12-20..01-05`). The
/// deployment's default for tenants without windows of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearlyWindow {
    /// The first day paused: (month, day).
    start: (u32, u32),
    /// The last day paused: (month, day).
    end: (u32, u32),
}

impl YearlyWindow {
    /// Reads `MM-DD..MM-DD`; 29 February is allowed (28 February in a common year).
    pub fn parse(text: &str) -> Result<YearlyWindow, String> {
        let expected = "expected MM-DD..MM-DD (days included, every year), e.g. 06-15..08-10";
        let (start, end) = text
            .trim()
            .split_once("..")
            .ok_or_else(|| format!("`{text}` is not a yearly window; {expected}"))?;
        let month_day = |part: &str| {
            let part = part.trim();
            let bad = || format!("`{part}` in `{text}` is not a month and day MM-DD; {expected}");
            let (m, d) = part.split_once('-').ok_or_else(bad)?;
            let two_digits = |t: &str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit());
            if !two_digits(m) || !two_digits(d) {
                return Err(bad());
            }
            let (m, d) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
            // A leap year: 02-29 is a day.
            NaiveDate::from_ymd_opt(2000, m, d)
                .map(|_| (m, d))
                .ok_or_else(|| format!("`{part}` in `{text}` is not a day of the year; {expected}"))
        };
        Ok(YearlyWindow {
            start: month_day(start)?,
            end: month_day(end)?,
        })
    }

    /// The deployment's default window, `DEFAULT_PAUSE_WINDOW`: `None` when
    /// unset or empty; an error naming the variable when it is not a window.
    pub fn from_env() -> Result<Option<YearlyWindow>, String> {
        match std::env::var(DEFAULT_PAUSE_WINDOW_VAR) {
            Ok(v) if !v.trim().is_empty() => YearlyWindow::parse(&v)
                .map(Some)
                .map_err(|e| format!("environment variable {DEFAULT_PAUSE_WINDOW_VAR}: {e}")),
            _ => Ok(None),
        }
    }

    /// Whether the window runs over the new year.
    fn wraps(&self) -> bool {
        self.end < self.start
    }

    /// The window's `(month, day)` in `year` (29 February: 28th in a common year).
    fn day_in(year: i32, (month, day): (u32, u32)) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day)
            .or_else(|| NaiveDate::from_ymd_opt(year, month, day - 1))
            .unwrap_or(NaiveDate::MIN)
    }

    /// The dated window, in `timezone`, that holds `day`, if any: this
    /// year's, or, for a window over the new year, the one that began last
    /// year when `day` is early in the year.
    pub fn dated_around(&self, day: NaiveDate, timezone: &str) -> Option<PauseWindow> {
        let year = day.year();
        [year - 1, year].into_iter().find_map(|first| {
            let start = Self::day_in(first, self.start);
            let end = Self::day_in(first + i32::from(self.wraps()), self.end);
            (start <= day && day <= end).then(|| PauseWindow {
                start,
                end,
                timezone: timezone.to_string(),
            })
        })
    }
}

impl std::str::FromStr for YearlyWindow {
    type Err = String;

    fn from_str(text: &str) -> Result<YearlyWindow, String> {
        YearlyWindow::parse(text)
    }
}

impl std::fmt::Display for YearlyWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ((sm, sd), (em, ed)) = (self.start, self.end);
        write!(f, "{sm:02}-{sd:02}..{em:02}-{ed:02}")
    }
}

/// The day in `timezone` (UTC when the time zone is unknown) at `at`.
pub(crate) fn day_in_zone(at: DateTime<Utc>, timezone: &str) -> NaiveDate {
    match timezone.parse::<Tz>() {
        Ok(tz) => at.with_timezone(&tz).date_naive(),
        Err(_) => at.date_naive(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_window_holds_its_days_in_the_district_s_time_zone() {
        let w = PauseWindow::parse("2027-06-09..2027-08-10", "America/Chicago").unwrap();
        let utc = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        // 03:00 UTC on 9 June is still 8 June in Chicago.
        assert!(!w.contains(utc(2027, 6, 9, 3)));
        assert!(w.contains(utc(2027, 6, 9, 12)));
        // 04:00 UTC on 11 August is 10 August, 23:00, in Chicago: still paused.
        assert!(w.contains(utc(2027, 8, 11, 4)) && !w.is_over(utc(2027, 8, 11, 4)));
        assert!(w.is_over(utc(2027, 8, 11, 6)));
        assert_eq!(w.to_string(), "2027-06-09..2027-08-10 (America/Chicago)");
    }

    #[test]
    fn bad_windows_are_refused_with_what_was_expected() {
        let err = |range, tz| PauseWindow::parse(range, tz).unwrap_err();
        assert!(err("2027-06-09", "UTC").contains("expected START..END"));
        assert!(
            err("2027-06-09..soon", "UTC").contains("`soon` in `2027-06-09..soon` is not a date")
        );
        assert!(err("2027-08-10..2027-06-09", "UTC").contains("ends before it starts"));
        assert!(err("2027-06-09..2027-08-10", "Mars/Olympus").contains("not an IANA name"));
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn yearly_windows_read_month_days_and_may_wrap_the_new_year() {
        let summer = YearlyWindow::parse("06-15..08-10").unwrap();
        assert_eq!(summer.to_string(), "06-15..08-10");
        assert!(!summer.wraps());
        let winter = YearlyWindow::parse(" 12-20..01-05 ").unwrap();
        assert_eq!(winter.to_string(), "12-20..01-05");
        assert!(winter.wraps());
        assert_eq!(
            YearlyWindow::parse("02-29..03-01").unwrap().to_string(),
            "02-29..03-01",
            "29 February is a day of the year"
        );
    }

    #[test]
    fn bad_yearly_windows_name_the_value_and_the_expected_form() {
        let err = |text| YearlyWindow::parse(text).unwrap_err();
        let e = err("06-15");
        assert!(e.contains("`06-15` is not a yearly window"), "{e}");
        assert!(e.contains("expected MM-DD..MM-DD"), "{e}");
        let e = err("2027-06-15..2027-08-10");
        assert!(
            e.contains("`2027-06-15` in `2027-06-15..2027-08-10` is not a month and day MM-DD"),
            "{e}"
        );
        let e = err("6-15..08-10");
        assert!(
            e.contains("`6-15` in `6-15..08-10` is not a month and day"),
            "{e}"
        );
        let e = err("06-31..08-10");
        assert!(
            e.contains("`06-31` in `06-31..08-10` is not a day of the year"),
            "{e}"
        );
        let e = err("13-01..08-10");
        assert!(
            e.contains("`13-01`") && e.contains("not a day of the year"),
            "{e}"
        );
        assert!(err("02-30..03-01").contains("`02-30`"));
        assert!(err("06-15..soon").contains("`soon` in `06-15..soon`"));
    }

    #[test]
    fn a_yearly_window_is_dated_around_the_day_it_holds() {
        let summer = YearlyWindow::parse("06-15..08-10").unwrap();
        let dated = summer
            .dated_around(day(2027, 7, 1), "America/Chicago")
            .unwrap();
        assert_eq!(
            dated.to_string(),
            "2027-06-15..2027-08-10 (America/Chicago)"
        );
        assert!(
            summer.dated_around(day(2027, 6, 15), "UTC").is_some(),
            "first day"
        );
        assert!(
            summer.dated_around(day(2027, 8, 10), "UTC").is_some(),
            "last day"
        );
        assert!(summer.dated_around(day(2027, 6, 14), "UTC").is_none());
        assert!(summer.dated_around(day(2027, 8, 11), "UTC").is_none());
        assert!(summer.dated_around(day(2027, 1, 2), "UTC").is_none());

        // Over the new year: in January, the window that began the year before.
        let winter = YearlyWindow::parse("12-20..01-05").unwrap();
        let january = winter.dated_around(day(2028, 1, 3), "UTC").unwrap();
        assert_eq!(
            (january.start, january.end),
            (day(2027, 12, 20), day(2028, 1, 5))
        );
        let december = winter.dated_around(day(2027, 12, 24), "UTC").unwrap();
        assert_eq!(december, january, "the same window from both sides");
        assert!(winter.dated_around(day(2028, 1, 6), "UTC").is_none());
        assert!(winter.dated_around(day(2027, 12, 19), "UTC").is_none());
        assert!(winter.dated_around(day(2027, 7, 1), "UTC").is_none());

        // 29 February: the 28th in a common year.
        let leap = YearlyWindow::parse("02-29..03-02").unwrap();
        assert_eq!(
            leap.dated_around(day(2027, 2, 28), "UTC").unwrap().start,
            day(2027, 2, 28)
        );
        assert_eq!(
            leap.dated_around(day(2028, 2, 29), "UTC").unwrap().start,
            day(2028, 2, 29)
        );
        assert!(leap.dated_around(day(2028, 2, 28), "UTC").is_none());
    }

    #[test]
    fn a_yearly_window_begins_on_the_district_s_day_not_utc_s() {
        let summer = YearlyWindow::parse("06-15..08-10").unwrap();
        // 03:00 UTC on 15 June is still 14 June, 20:00, in Los Angeles.
        let at = Utc.with_ymd_and_hms(2027, 6, 15, 3, 0, 0).unwrap();
        let la = "America/Los_Angeles";
        assert!(summer.dated_around(day_in_zone(at, la), la).is_none());
        assert!(summer.dated_around(day_in_zone(at, "UTC"), "UTC").is_some());
        let later = Utc.with_ymd_and_hms(2027, 6, 15, 8, 0, 0).unwrap();
        let dated = summer.dated_around(day_in_zone(later, la), la).unwrap();
        assert!(dated.contains(later) && !dated.contains(at));
    }
}
