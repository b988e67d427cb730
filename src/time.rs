//! Beijing time (UTC+8, no DST), the only clock Jushuitan speaks, whatever the server's own zone.
//!
//! Times are carried as Unix seconds (`i64`) inside ferry and converted at the edges:
//! `yyyy-MM-dd HH:mm:ss` with an optional `.fff` on input, without on output.

use std::time::{SystemTime, UNIX_EPOCH};

/// Offset of Beijing time from UTC, in seconds.
pub const BEIJING_OFFSET: i64 = 8 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a time of the form yyyy-MM-dd HH:mm:ss: {0:?}")]
pub struct TimeParseError(pub String);

/// Now, in Unix seconds.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Now, in Unix milliseconds.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Broken-down Beijing wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Beijing wall-clock time of a Unix second.
pub fn to_beijing(unix: i64) -> Civil {
    let local = unix + BEIJING_OFFSET;
    let days = local.div_euclid(86400);
    let secs = local.rem_euclid(86400) as u32;
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: secs / 3600,
        minute: secs / 60 % 60,
        second: secs % 60,
    }
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time.
pub fn format_beijing(unix: i64) -> String {
    let c = to_beijing(unix);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `yyyy-MM-dd` in Beijing time.
pub fn format_beijing_date(unix: i64) -> String {
    let c = to_beijing(unix);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

/// Formats a Beijing time with a small pattern language: `yyyy MM dd HH mm ss` (anything else is copied).
pub fn format_pattern(unix: i64, pattern: &str) -> String {
    let c = to_beijing(unix);
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut rest = pattern;
    while !rest.is_empty() {
        let (tok, val): (&str, String) = if rest.starts_with("yyyy") {
            ("yyyy", format!("{:04}", c.year))
        } else if rest.starts_with("MM") {
            ("MM", format!("{:02}", c.month))
        } else if rest.starts_with("dd") {
            ("dd", format!("{:02}", c.day))
        } else if rest.starts_with("HH") {
            ("HH", format!("{:02}", c.hour))
        } else if rest.starts_with("mm") {
            ("mm", format!("{:02}", c.minute))
        } else if rest.starts_with("ss") {
            ("ss", format!("{:02}", c.second))
        } else {
            let ch = rest.chars().next().unwrap_or(' ');
            out.push(ch);
            rest = &rest[ch.len_utf8()..];
            continue;
        };
        out.push_str(&val);
        rest = &rest[tok.len()..];
    }
    out
}

fn num(s: &str, field: &str, full: &str) -> Result<u32, TimeParseError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        let _ = field;
        return Err(TimeParseError(full.to_string()));
    }
    s.parse().map_err(|_| TimeParseError(full.to_string()))
}

/// Parses `yyyy-MM-dd`, `yyyy-MM-dd HH:mm:ss`, `yyyy-MM-dd HH:mm:ss.fff` or the `T`-separated
/// form, as Beijing time, into Unix seconds (milliseconds are dropped).
pub fn parse_beijing(s: &str) -> Result<i64, TimeParseError> {
    let t = s.trim();
    let err = || TimeParseError(s.to_string());
    let (date, time) = match t.find([' ', 'T']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut dp = date.split('-');
    let (y, m, d) = match (dp.next(), dp.next(), dp.next(), dp.next()) {
        (Some(y), Some(m), Some(d), None) if y.len() == 4 => (
            num(y, "year", s)? as i64,
            num(m, "month", s)?,
            num(d, "day", s)?,
        ),
        _ => return Err(err()),
    };
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(err());
    }
    let (hh, mm, ss) = match time {
        None => (0, 0, 0),
        Some(tm) => {
            let tm = tm.split('.').next().unwrap_or("");
            let mut tp = tm.split(':');
            match (tp.next(), tp.next(), tp.next(), tp.next()) {
                (Some(h), Some(mi), sec, None) => {
                    let sec = match sec {
                        Some(x) => num(x, "second", s)?,
                        None => 0,
                    };
                    (num(h, "hour", s)?, num(mi, "minute", s)?, sec)
                }
                _ => return Err(err()),
            }
        }
    };
    if hh > 23 || mm > 59 || ss > 59 {
        return Err(err());
    }
    let days = days_from_civil(y, m, d);
    Ok(days * 86400 + (hh * 3600 + mm * 60 + ss) as i64 - BEIJING_OFFSET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_beijing() {
        // 2024-05-02 10:00:00 Beijing = 2024-05-02 02:00:00 UTC = 1714615200
        assert_eq!(parse_beijing("2024-05-02 10:00:00").unwrap(), 1714615200);
        assert_eq!(format_beijing(1714615200), "2024-05-02 10:00:00");
        assert_eq!(
            parse_beijing("2023-01-03 09:43:26.487").unwrap(),
            parse_beijing("2023-01-03 09:43:26").unwrap()
        );
        assert_eq!(parse_beijing("2024-05-02T10:00:00").unwrap(), 1714615200);
        assert_eq!(parse_beijing("2024-05-02").unwrap(), 1714615200 - 10 * 3600);
        assert_eq!(format_pattern(1714615200, "yyyy-MM-dd"), "2024-05-02");
        assert_eq!(
            format_pattern(1714615200, "yyyy年MM月dd日 HH"),
            "2024年05月02日 10"
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "2024-13-01",
            "2024-02-30 00:00:00",
            "24-05-02",
            "2024-05-02 25:00:00",
            "abc",
            "2024-05-02 1a:00:00",
        ] {
            assert!(parse_beijing(bad).is_err(), "{bad}");
        }
        assert!(parse_beijing("2024-02-29 00:00:00").is_ok());
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000i64, -1, 0, 1, 19_000, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }
}
