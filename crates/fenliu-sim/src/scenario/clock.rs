//! Times of day (`HH:MM`), shifts (`HH:MM-HH:MM`) and dates (`YYYY-MM-DD`)
//! as a scenario writes them.

use fenliu_core::time::Day;

use super::Shift;

/// `HH:MM` as minutes since 00:00, hours 00..=24 (24 only as 24:00).
pub(super) fn parse_clock(raw: &str) -> Result<u32, String> {
    let b = raw.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return Err("a time is written HH:MM".into());
    }
    let hours: u32 = raw[0..2].parse().map_err(|_| "a time is written HH:MM")?;
    let minutes: u32 = raw[3..5].parse().map_err(|_| "a time is written HH:MM")?;
    if hours > 24 {
        return Err("hours are 00..=24".into());
    }
    if minutes > 59 {
        return Err("minutes are 00..=59".into());
    }
    if hours == 24 && minutes > 0 {
        return Err("24:00 is the latest time".into());
    }
    Ok(hours * 60 + minutes)
}

/// `HH:MM-HH:MM`, ending after it starts, within the day.
pub(super) fn parse_shift(raw: &str) -> Result<Shift, String> {
    let (start, end) = raw
        .split_once('-')
        .ok_or("a shift is written HH:MM-HH:MM")?;
    let (start_min, end_min) = (parse_clock(start)?, parse_clock(end)?);
    if end_min <= start_min {
        return Err("a shift ends after it starts, within the day".into());
    }
    Ok(Shift { start_min, end_min })
}

/// `YYYY-MM-DD` as days since 1970-01-01.
pub(super) fn parse_date(raw: &str) -> Result<Day, String> {
    let bad = || "a date is written YYYY-MM-DD".to_owned();
    let parts: Vec<&str> = raw.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return Err(bad());
    }
    let y: i64 = parts[0].parse().map_err(|_| bad())?;
    let m: i64 = parts[1].parse().map_err(|_| bad())?;
    let d: i64 = parts[2].parse().map_err(|_| bad())?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m)
        || d < 1
        || d > days_in[(m - 1) as usize]
        || !(1970..=9999).contains(&y)
    {
        return Err("no such date".into());
    }
    // Howard Hinnant's days-from-civil, the inverse of the core's civil_date.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_the_cores_days() {
        for date in ["1970-01-01", "2026-12-02", "2024-02-29", "2000-03-01"] {
            assert_eq!(
                fenliu_core::time::date_string(parse_date(date).unwrap()),
                date
            );
        }
        assert!(parse_date("2026-02-29").is_err());
    }

    #[test]
    fn shifts_read_within_the_day() {
        assert_eq!(
            parse_shift("08:00-18:00").unwrap(),
            Shift {
                start_min: 480,
                end_min: 1080
            }
        );
        assert_eq!(parse_shift("22:00-24:00").unwrap().end_min, 1440);
        assert_eq!(parse_shift("12:00-25:00").unwrap_err(), "hours are 00..=24");
        assert_eq!(
            parse_shift("12:60-13:00").unwrap_err(),
            "minutes are 00..=59"
        );
        assert!(parse_shift("18:00-08:00").is_err());
        assert!(parse_shift("8:00-18:00").is_err());
    }
}
