//! Times as the settings pages show them: UTC, the same text on the server and in the browser,
//! so hydration never changes what was rendered.

const SECS_PER_DAY: i64 = 86_400;

/// `2026-12-03 09:45 UTC` for Unix seconds.
pub fn utc(secs: i64) -> String {
    let (days, of_day) = (secs.div_euclid(SECS_PER_DAY), secs.rem_euclid(SECS_PER_DAY));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        of_day / 3600,
        of_day % 3600 / 60
    )
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago": an age the server measured.
pub fn ago(secs: u64) -> String {
    let (count, unit) = match secs {
        0..60 => return "just now".to_owned(),
        60..3600 => (secs / 60, "minute"),
        3600..86_400 => (secs / 3600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural} ago")
}

/// Unix seconds at 00:00 UTC of a `YYYY-MM-DD` date, as an `<input type="date">` gives it.
pub fn start_of_day(date: &str) -> Option<i64> {
    let mut parts = date.trim().splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * SECS_PER_DAY)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's algorithms (chrono-compatible dates, proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_read_as_utc_date_and_time() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_796_290_000), "2026-12-03 09:26 UTC");
        assert_eq!(utc(951_825_600), "2000-02-29 12:00 UTC");
    }

    #[test]
    fn an_age_reads_in_its_largest_whole_unit() {
        assert_eq!(ago(59), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(3599), "59 minutes ago");
        assert_eq!(ago(7200), "2 hours ago");
        assert_eq!(ago(86_400 * 3 + 5), "3 days ago");
    }

    #[test]
    fn a_date_starts_at_midnight_utc() {
        assert_eq!(start_of_day("1970-01-01"), Some(0));
        assert_eq!(start_of_day("2026-12-03"), Some(1_796_256_000));
        assert_eq!(start_of_day("2000-02-29"), Some(951_782_400));
    }

    #[test]
    fn dates_and_times_round_trip_over_four_centuries() {
        for days in (0..2 * 146_097).step_by(97) {
            let shown = utc(days * SECS_PER_DAY);
            assert_eq!(
                start_of_day(&shown[..10]),
                Some(days * SECS_PER_DAY),
                "{shown}"
            );
        }
    }

    #[test]
    fn impossible_dates_are_none() {
        for date in [
            "",
            "2026",
            "2026-13-01",
            "2026-02-29",
            "2026-04-31",
            "2026-1-x",
        ] {
            assert_eq!(start_of_day(date), None, "{date}");
        }
    }
}
