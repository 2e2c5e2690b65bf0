//! Pause windows: date ranges, in the district's time zone, during which a
//! tenant's deliveries are received, validated and reported but not applied
//! (a summer rollover in the SIS, say). The newest delivery of a window is
//! applied when it ends.

use chrono::{DateTime, NaiveDate, Utc};
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
        match self.timezone.parse::<Tz>() {
            Ok(tz) => at.with_timezone(&tz).date_naive(),
            Err(_) => at.date_naive(),
        }
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
}
