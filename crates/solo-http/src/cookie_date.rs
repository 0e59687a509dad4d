//! The date of a cookie's `Expires` attribute, read with RFC 6265's
//! algorithm (section 5.1.1).
//!
//! Owns: turning an `Expires` value into a time.
//!
//! Must not: decide what a date means for a cookie (the jar does), or
//! read HTTP header dates (`Date`, `Retry-After`: `httpdate` does, with
//! RFC 9110's three formats).
//!
//! Design: cookies carry dates in many spellings: IMF-fixdate
//! (`Thu, 01 Jan 1970 00:00:01 GMT`), Netscape's original
//! (`Thursday, 01-Jan-70 00:00:01 GMT`, still sent by Perl's `CGI.pm` and
//! classic ASP.NET), asctime, `UTC` or `+0000` for `GMT`, any case. RFC
//! 6265 reads them all the same way, as browsers do: split the value at
//! delimiters, then take the first token that looks like a time
//! (`h:m:s`), a day of the month (1-2 digits), a month (its first three
//! letters) and a year (2-4 digits), ignoring the rest (weekday, zone).
//! Two-digit years 70-99 are 19xx, 00-69 20xx. A date without all four
//! parts, out of range or that does not exist (30 February) is no date,
//! and the cookie then has none (a session cookie), as the RFC says.
//! Written by hand: the `cookie` crate reads four fixed formats only, and
//! the algorithm is short and fully specified.

use std::time::{Duration, SystemTime};

/// The time `value` names, or `None` when RFC 6265 finds no date in it.
pub(crate) fn parse(value: &str) -> Option<SystemTime> {
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for token in value.split(is_delimiter).filter(|t| !t.is_empty()) {
        // Each token fills the first part still missing that it reads as.
        let _ = fill(&mut time, || hms(token))
            || fill(&mut day, || digits(token, 1, 2))
            || fill(&mut month, || month_of(token))
            || fill(&mut year, || digits(token, 2, 4));
    }
    let ((hour, minute, second), day, month, mut year) = (time?, day?, month?, year?);
    year += match year {
        70..=99 => 1900,
        0..=69 => 2000,
        _ => 0,
    };
    if !(1..=31).contains(&day) || year < 1601 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if day > days_in_month(year, month) {
        return None;
    }
    let secs =
        days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    let offset = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(offset)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(offset)
    }
}

/// Sets an empty `slot` to what `read` finds; true when it did.
fn fill<T>(slot: &mut Option<T>, read: impl FnOnce() -> Option<T>) -> bool {
    if slot.is_none() {
        *slot = read();
        slot.is_some()
    } else {
        false
    }
}

/// RFC 6265's delimiters: what separates the tokens of a date.
fn is_delimiter(c: char) -> bool {
    matches!(c, '\x09' | '\x20'..='\x2f' | '\x3b'..='\x40' | '\x5b'..='\x60' | '\x7b'..='\x7e')
}

/// `min` to `max` digits at the start of `token`, followed by its end or
/// a non-digit (and anything after it).
fn digits(token: &str, min: usize, max: usize) -> Option<u32> {
    let n = token.bytes().take_while(u8::is_ascii_digit).count();
    if n < min || n > max {
        return None;
    }
    token[..n].parse().ok()
}

/// `h:m:s` with 1-2 digits each, then the end or a non-digit.
fn hms(token: &str) -> Option<(u32, u32, u32)> {
    let mut fields = token.splitn(3, ':');
    let (h, m, rest) = (fields.next()?, fields.next()?, fields.next()?);
    let whole = |f: &str| match f.len() {
        1 | 2 if f.bytes().all(|b| b.is_ascii_digit()) => f.parse().ok(),
        _ => None,
    };
    Some((whole(h)?, whole(m)?, digits(rest, 1, 2)?))
}

/// The month (1-12) whose name's first three letters begin `token`.
fn month_of(token: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let start = token.get(..3)?.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| *m == start)
        .map(|i| i as u32 + 1)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `year-month-day` in the proleptic Gregorian
/// calendar (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(value: &str) -> Option<i64> {
        parse(value).map(|t| match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        })
    }

    #[test]
    fn the_spellings_in_the_wild_all_read_as_one_date() {
        for value in [
            "Thu, 01 Jan 1970 00:00:01 GMT",
            "Thu, 01-Jan-1970 00:00:01 GMT",
            "Thu, 01-Jan-70 00:00:01 GMT",
            "Thursday, 01-Jan-70 00:00:01 GMT",
            "Thu, 1 Jan 1970 00:00:01 GMT",
            "Thu Jan  1 00:00:01 1970",
            "Thu, 01 Jan 1970 00:00:01 UTC",
            "Thu, 01 Jan 1970 00:00:01 +0000",
            "thu, 01 jan 1970 00:00:01 gmt",
            "01 Jan 1970 00:00:01",
            "1970/January/01 0:0:1",
        ] {
            assert_eq!(secs(value), Some(1), "{value}");
        }
    }

    #[test]
    fn years_months_and_leap_days() {
        assert_eq!(secs("Wed, 09-Jun-21 10:18:14 GMT"), Some(1_623_233_894));
        assert_eq!(secs("Tue, 19 Jan 2038 03:14:08 GMT"), Some(1 << 31));
        assert_eq!(secs("Thu, 29 Feb 2024 00:00:00 GMT"), Some(1_709_164_800));
        assert_eq!(secs("Wed, 31 Dec 1969 23:59:59 GMT"), Some(-1));
        assert_eq!(secs("Mon, 01 Jan 1601 00:00:00 GMT"), Some(-11_644_473_600));
        assert_eq!(secs("Fri, 31 Dec 9999 23:59:59 GMT"), Some(253_402_300_799));
    }

    #[test]
    fn no_date_without_all_four_parts_or_out_of_range() {
        for value in [
            "",
            "0",
            "tomorrow",
            "Thu, 01 Jan 1970 GMT",
            "Thu, 01 Foo 1970 00:00:01 GMT",
            "Thu, 32 Jan 1970 00:00:01 GMT",
            "Thu, 00 Jan 1970 00:00:01 GMT",
            "Thu, 30 Feb 2024 00:00:01 GMT",
            "Thu, 29 Feb 2023 00:00:01 GMT",
            "Thu, 01 Jan 1600 00:00:01 GMT",
            "Thu, 01 Jan 1970 24:00:00 GMT",
            "Thu, 01 Jan 1970 00:60:00 GMT",
            "Thu, 01 Jan 1970 00:00:60 GMT",
            "Thu, 01 Jan 19700 00:00:01 GMT",
            "Thu, 001 Jan 1970 00:00:01 GMT",
        ] {
            assert_eq!(secs(value), None, "{value:?}");
        }
    }
}
