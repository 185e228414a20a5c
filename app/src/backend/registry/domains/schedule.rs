//! When the background check looks at a pending claim again: often while the admin is likely
//! still setting the record up, then hourly, and not at all after a week.

/// How long a claim is checked before it fails.
pub const WINDOW_SECS: i64 = 7 * 24 * 3600;
const EAGER_SECS: i64 = 3600;
const EAGER_STEP_SECS: i64 = 5 * 60;
const STEP_SECS: i64 = 3600;

/// The next check after one at `now` of a claim whose checks began at `from`; `None` when
/// the window has closed and the claim has failed.
pub fn next_check(from: i64, now: i64) -> Option<i64> {
    let age = now - from;
    if age >= WINDOW_SECS {
        return None;
    }
    let step = if age < EAGER_SECS {
        EAGER_STEP_SECS
    } else {
        STEP_SECS
    };
    Some((now + step).min(from + WINDOW_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_claim_is_checked_every_five_minutes() {
        assert_eq!(next_check(1_000, 1_000), Some(1_300));
        assert_eq!(next_check(1_000, 1_000 + 3_599), Some(1_000 + 3_599 + 300));
    }

    #[test]
    fn after_the_first_hour_it_is_checked_hourly() {
        assert_eq!(next_check(0, 3_600), Some(7_200));
        assert_eq!(next_check(0, 5 * 24 * 3600), Some(5 * 24 * 3600 + 3600));
    }

    #[test]
    fn the_last_check_falls_on_the_end_of_the_window_and_then_none() {
        let almost = WINDOW_SECS - 10;
        assert_eq!(next_check(0, almost), Some(WINDOW_SECS));
        assert_eq!(next_check(0, WINDOW_SECS), None);
        assert_eq!(next_check(0, WINDOW_SECS + 1), None);
    }
}
