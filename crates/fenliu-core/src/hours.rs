//! Business hours (营业时间): a week of opening intervals and closed dates,
//! in the shop's timezone; when the shop is open, and when it opens next.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::InvalidInput;
use crate::time::{date_string, parse_date, Day, Millis, TzOffset};

/// A time of day, `HH:MM`, from `00:00` to `24:00` (the end of the day).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime(u16);

impl ClockTime {
    /// Parses `HH:MM`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let bad = || {
            InvalidInput::new(format!(
                "a time of day is HH:MM, 00:00 to 24:00, not {raw:?}"
            ))
        };
        let (h, m) = raw.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m > 59 || h > 24 || (h == 24 && m > 0) {
            return Err(bad());
        }
        Ok(Self(h * 60 + m))
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The opening intervals of each day of the week, `[start, end)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weekly {
    /// Monday.
    pub mon: Vec<[ClockTime; 2]>,
    /// Tuesday.
    pub tue: Vec<[ClockTime; 2]>,
    /// Wednesday.
    pub wed: Vec<[ClockTime; 2]>,
    /// Thursday.
    pub thu: Vec<[ClockTime; 2]>,
    /// Friday.
    pub fri: Vec<[ClockTime; 2]>,
    /// Saturday.
    pub sat: Vec<[ClockTime; 2]>,
    /// Sunday.
    pub sun: Vec<[ClockTime; 2]>,
}

/// Most intervals a day may have.
pub const MAX_INTERVALS: usize = 24;
/// Most closed dates.
pub const MAX_CLOSED_DATES: usize = 366;
/// How far ahead the next opening is looked for: a shop closed for longer
/// has no known opening.
const LOOKAHEAD_DAYS: Day = 400;

impl Weekly {
    fn days(&self) -> [(&'static str, &Vec<[ClockTime; 2]>); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }

    /// The intervals of a shop day (1970-01-01, day 0, was a Thursday).
    fn of(&self, day: Day) -> &[[ClockTime; 2]] {
        self.days()[(day + 3).rem_euclid(7) as usize].1
    }
}

/// Business hours: absent means always open.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Hours {
    /// Opening intervals by day of the week.
    pub weekly: Weekly,
    /// Dates (`YYYY-MM-DD`, the shop's) closed all day.
    pub closed_dates: Vec<String>,
}

impl Hours {
    /// Checks the intervals (sorted, not overlapping, each ending after it
    /// starts) and the dates.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        for (name, intervals) in self.weekly.days() {
            if intervals.len() > MAX_INTERVALS {
                return Err(InvalidInput::new(format!(
                    "hours.weekly.{name} has at most {MAX_INTERVALS} intervals"
                )));
            }
            let mut end_before = 0;
            for (i, [start, end]) in intervals.iter().enumerate() {
                if start >= end {
                    return Err(InvalidInput::new(format!(
                        "hours.weekly.{name}[{i}] must end after it starts"
                    )));
                }
                if start.minutes() < end_before {
                    return Err(InvalidInput::new(format!(
                        "hours.weekly.{name}[{i}] must start after the interval before ends \
                         (intervals sorted, not overlapping)"
                    )));
                }
                end_before = end.minutes();
            }
        }
        if self.closed_dates.len() > MAX_CLOSED_DATES {
            return Err(InvalidInput::new(format!(
                "hours.closed_dates holds at most {MAX_CLOSED_DATES} dates"
            )));
        }
        for (i, date) in self.closed_dates.iter().enumerate() {
            parse_date(date).map_err(|e| {
                InvalidInput::new(format!("hours.closed_dates[{i}]: {}", e.message()))
            })?;
        }
        Ok(())
    }

    fn closed_on(&self, day: Day) -> bool {
        let date = date_string(day);
        self.closed_dates.contains(&date)
    }

    /// Whether the shop is open at `now`.
    pub fn is_open(&self, tz: TzOffset, now: Millis) -> bool {
        let day = tz.day_of(now);
        if self.closed_on(day) {
            return false;
        }
        let minute = ((now - tz.start_of(day)) / 60_000) as u16;
        self.weekly
            .of(day)
            .iter()
            .any(|[s, e]| s.minutes() <= minute && minute < e.minutes())
    }

    /// The next opening after `now` (the start of the next interval on a
    /// day that is not closed), if there is one within a bit more than a
    /// year.
    pub fn next_opening(&self, tz: TzOffset, now: Millis) -> Option<Millis> {
        let today = tz.day_of(now);
        (today..today + LOOKAHEAD_DAYS)
            .filter(|d| !self.closed_on(*d))
            .flat_map(|d| {
                let start = tz.start_of(d);
                self.weekly
                    .of(d)
                    .iter()
                    .map(move |[s, _]| start + Millis::from(s.minutes()) * 60_000)
            })
            .find(|&at| at > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(raw: &str) -> ClockTime {
        ClockTime::parse(raw).unwrap()
    }

    #[test]
    fn times_of_day_parse_from_midnight_to_the_end_of_the_day() {
        assert_eq!(t("00:00").minutes(), 0);
        assert_eq!(t("24:00").minutes(), 1440);
        assert_eq!(t("09:30").to_string(), "09:30");
        for bad in ["24:01", "9:30", "09:60", "0930", "ab:cd", ""] {
            assert!(ClockTime::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn intervals_must_be_sorted_and_not_overlap() {
        let mut h = Hours::default();
        h.weekly.mon = vec![[t("09:00"), t("12:00")], [t("13:00"), t("24:00")]];
        assert!(h.validate().is_ok());
        h.weekly.mon = vec![[t("09:00"), t("12:00")], [t("11:00"), t("13:00")]];
        assert!(h.validate().is_err());
        h.weekly.mon = vec![[t("12:00"), t("09:00")]];
        assert!(h.validate().is_err());
        h.weekly.mon = vec![];
        h.closed_dates = vec!["2026-02-30".into()];
        assert!(h.validate().is_err());
    }
}
