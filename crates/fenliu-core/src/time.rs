//! Time as the core sees it: milliseconds since the Unix epoch, passed in.
//!
//! Nothing in the core reads a clock; the shell hands `now` to every command.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::InvalidInput;

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

/// A duration in seconds, as milliseconds.
pub(crate) fn secs_to_ms(secs: u64) -> Millis {
    secs as i64 * 1000
}

/// Milliseconds in one day.
pub const DAY_MS: i64 = 86_400_000;

/// A shop's day: days since the epoch in the shop's time zone.
pub type Day = i64;

/// A fixed UTC offset such as `+08:00`, the shop's `timezone`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TzOffset {
    minutes: i32,
}

impl TzOffset {
    /// China Standard Time, the default.
    pub const CST: TzOffset = TzOffset { minutes: 8 * 60 };

    /// Parses `±HH:MM` (or `Z`), within ±14:00.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let bad = || InvalidInput::new("timezone must be an offset like +08:00");
        if raw == "Z" {
            return Ok(Self { minutes: 0 });
        }
        let bytes = raw.as_bytes();
        if bytes.len() != 6 || bytes[3] != b':' {
            return Err(bad());
        }
        let sign = match bytes[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(bad()),
        };
        let hours: i32 = raw[1..3].parse().map_err(|_| bad())?;
        let mins: i32 = raw[4..6].parse().map_err(|_| bad())?;
        if hours > 14 || mins > 59 || (hours == 14 && mins > 0) {
            return Err(bad());
        }
        Ok(Self {
            minutes: sign * (hours * 60 + mins),
        })
    }

    /// The offset in minutes east of UTC.
    pub fn minutes(self) -> i32 {
        self.minutes
    }

    /// The shop day that contains `at`.
    pub fn day_of(self, at: Millis) -> Day {
        (at + i64::from(self.minutes) * 60_000).div_euclid(DAY_MS)
    }

    /// The instant at which `day` starts in this zone.
    pub fn start_of(self, day: Day) -> Millis {
        day * DAY_MS - i64::from(self.minutes) * 60_000
    }
}

impl Default for TzOffset {
    fn default() -> Self {
        Self::CST
    }
}

impl fmt::Display for TzOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let m = self.minutes.abs();
        write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

impl Serialize for TzOffset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TzOffset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_day_starts_at_local_midnight() {
        let tz = TzOffset::parse("+08:00").unwrap();
        // 2026-11-22T16:00:00Z is 2026-11-23T00:00:00+08:00.
        let midnight = 1_795_363_200_000;
        assert_eq!(tz.day_of(midnight) - tz.day_of(midnight - 1), 1);
        assert_eq!(tz.start_of(tz.day_of(midnight)), midnight);
    }

    #[test]
    fn offsets_parse_and_print() {
        assert_eq!(TzOffset::parse("-05:30").unwrap().to_string(), "-05:30");
        assert!(TzOffset::parse("+15:00").is_err());
        assert!(TzOffset::parse("8").is_err());
    }
}

/// The civil date (year, month, day) of a shop day.
pub fn civil_date(day: Day) -> (i64, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DD` of a shop day.
pub fn date_string(day: Day) -> String {
    let (y, m, d) = civil_date(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The shop day of a `YYYY-MM-DD` date (years 0000 to 9999, as RFC 3339's
/// `full-date`; days before 1970 are negative).
pub fn parse_date(raw: &str) -> Result<Day, InvalidInput> {
    let bad = || InvalidInput::new(format!("date must be YYYY-MM-DD, not {raw:?}"));
    let parts: Vec<&str> = raw.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let num = |s: &str| match s.bytes().all(|b| b.is_ascii_digit()) {
        true => s.parse::<u32>().map_err(|_| bad()),
        false => Err(bad()),
    };
    let (y, m, d) = (i64::from(num(y)?), num(m)?, num(d)?);
    if !(1..=12).contains(&m) || d == 0 {
        return Err(bad());
    }
    // Howard Hinnant's days-from-civil algorithm.
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let day = era * 146_097 + doe - 719_468;
    // A day past the month's end (2026-02-30) comes back as another date.
    if civil_date(day) != (y, m, d) {
        return Err(bad());
    }
    Ok(day)
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn dates_parse_back_to_their_days() {
        for day in [-719_528, -666_000, -1, 0, 19_000, 20_415, 20_513, 2_932_896] {
            assert_eq!(parse_date(&date_string(day)), Ok(day));
        }
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "26-01-01",
            "2026-1-01",
            "x",
            "+969-12-31",
            "0137-02-29",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shop_days_print_as_dates() {
        let tz = TzOffset::CST;
        assert_eq!(date_string(tz.day_of(1_795_363_200_000)), "2026-11-23");
        assert_eq!(date_string(0), "1970-01-01");
        assert_eq!(date_string(-719_528), "0000-01-01");
        assert_eq!(
            parse_date("0136-10-31").map(date_string).as_deref(),
            Ok("0136-10-31")
        );
    }
}
