//! [`EventTime`]: a time as IMDS wrote it, and parsed.
//!
//! IMDS writes event times two ways: RFC 3339 (`2026-12-02T10:04:05Z`, Spot
//! and rebalance notices) and `21 Jan 2026 09:00:43 GMT` (scheduled
//! maintenance). The second form is parsed here by hand: it is a few lines,
//! where a date crate would be a dependency for one format. Its calendar
//! arithmetic is checked against humantime's RFC 3339 parser by property
//! tests.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time in an event document: the text as IMDS wrote it, and the time
/// it means when it is in a form this crate knows (RFC 3339, or
/// `21 Jan 2026 09:00:43 GMT`, in UTC).
///
/// A time in another form is kept as text, with [`time`](Self::time)
/// `None`: a new format never makes a document fail to parse. Serializes
/// as the text, unchanged.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use imds::events::EventTime;
///
/// let maintenance = EventTime::new("21 Jan 2026 09:00:43 GMT");
/// let rfc3339 = EventTime::new("2026-01-21T09:00:43Z");
/// assert_eq!(maintenance.time(), rfc3339.time());
/// assert_eq!(maintenance.time(), Some(UNIX_EPOCH + Duration::from_secs(1_768_986_043)));
/// assert_eq!(maintenance.as_str(), "21 Jan 2026 09:00:43 GMT");
/// assert_eq!(EventTime::new("soon").time(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventTime {
    raw: String,
    time: Option<SystemTime>,
}

impl EventTime {
    /// `raw`, parsed (surrounding whitespace is ignored by the parse and
    /// kept in the text).
    pub fn new(raw: impl Into<String>) -> Self {
        let raw = raw.into();
        let time = parse(raw.trim());
        Self { raw, time }
    }

    /// The text as IMDS wrote it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The time, when the text is in a known form.
    pub fn time(&self) -> Option<SystemTime> {
        self.time
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for EventTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for EventTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// `text` as RFC 3339 or as `21 Jan 2026 09:00:43 GMT`.
fn parse(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text)
        .ok()
        .or_else(|| parse_aws_date(text))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `DAY MON YEAR HH:MM:SS GMT`, as in IMDS's maintenance events
/// (`21 Jan 2026 09:00:43 GMT`): a day of one or two digits, an English
/// month abbreviation (any case), a four-digit year from 1970, a 24-hour
/// time and `GMT` or `UTC`, separated by whitespace. A leap second (`:60`)
/// counts as `:59`, as humantime's RFC 3339 parser has it. `None` for
/// anything else, a day the month does not have included.
pub(crate) fn parse_aws_date(text: &str) -> Option<SystemTime> {
    let mut fields = text.split_ascii_whitespace();
    let (day, month, year, clock, zone) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    if fields.next().is_some() || !(zone == "GMT" || zone == "UTC") {
        return None;
    }
    let day = digits(day, 1..=2)?;
    let month = MONTHS
        .iter()
        .position(|name| name.eq_ignore_ascii_case(month))?;
    let year = digits(year, 4..=4)?;
    let mut parts = clock.split(':');
    let (hour, minute, second) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (hour, minute, second) = (
        digits(hour, 2..=2)?,
        digits(minute, 2..=2)?,
        digits(second, 2..=2)?,
    );
    if year < 1970 || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let month = u64::try_from(month).ok()? + 1;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let seconds =
        days_since_epoch(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second.min(59);
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// `text` as a decimal number of `len` ASCII digits (no sign, no space).
fn digits(text: &str, len: std::ops::RangeInclusive<usize>) -> Option<u64> {
    if !len.contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `year-month-day` (a valid date, year ≥ 1970).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let years = year - 1970;
    // Leap years in 1970..year: those in 0..year minus those in 0..1970.
    let leaps = |y: u64| y / 4 - y / 100 + y / 400;
    let leap_days = leaps(year - 1) - leaps(1969);
    let month_days: u64 = (1..month).map(|m| days_in_month(year, m)).sum();
    years * 365 + leap_days + month_days + day - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    #[test]
    fn imds_maintenance_dates() {
        // From AWS's documentation of `events/maintenance/scheduled`.
        assert_eq!(
            parse_aws_date("21 Jan 2019 09:00:43 GMT"),
            at(1_548_061_243)
        );
        assert_eq!(
            parse_aws_date("21 Jan 2019 09:17:23 GMT"),
            at(1_548_062_243)
        );
        assert_eq!(parse_aws_date("1 Jan 1970 00:00:00 GMT"), at(0));
        assert_eq!(parse_aws_date("01 jan 1970 00:00:01 UTC"), at(1));
        assert_eq!(
            parse_aws_date("29 Feb 2024 23:59:59 GMT"),
            at(1_709_251_199)
        );
        assert_eq!(
            parse_aws_date("31 Dec 9999 23:59:60 GMT"),
            at(253_402_300_799)
        );
        assert_eq!(
            parse_aws_date(" 21  Jan 2019\t09:00:43 GMT "),
            at(1_548_061_243)
        );
    }

    #[test]
    fn anything_else_is_none() {
        for text in [
            "",
            "21 Jan 2019 09:00:43",
            "21 Jan 2019 09:00:43 PST",
            "21 Jan 2019 09:00:43 GMT extra",
            "29 Feb 2023 00:00:00 GMT",
            "31 Apr 2026 00:00:00 GMT",
            "0 Jan 2026 00:00:00 GMT",
            "32 Jan 2026 00:00:00 GMT",
            "123 Jan 2026 00:00:00 GMT",
            "21 January 2026 00:00:00 GMT",
            "21 Jan 1969 23:59:59 GMT",
            "21 Jan 26 00:00:00 GMT",
            "21 Jan 12026 00:00:00 GMT",
            "21 Jan 2026 24:00:00 GMT",
            "21 Jan 2026 00:60:00 GMT",
            "21 Jan 2026 00:00:61 GMT",
            "21 Jan 2026 0:00:00 GMT",
            "21 Jan 2026 00:00 GMT",
            "21 Jan 2026 00:00:00:00 GMT",
            "+1 Jan 2026 00:00:00 GMT",
            "21 Jan +026 00:00:00 GMT",
            "2١ Jan 2026 00:00:00 GMT",
        ] {
            assert_eq!(parse_aws_date(text), None, "{text:?}");
        }
    }

    #[test]
    fn event_times_keep_their_text_and_parse_both_forms() {
        let time = EventTime::new("2026-12-02T10:04:05Z");
        assert_eq!(time.time(), at(1_796_205_845));
        assert_eq!(time.to_string(), "2026-12-02T10:04:05Z");
        let time = EventTime::new(" 2 Dec 2026 10:04:05 GMT\n");
        assert_eq!(time.time(), at(1_796_205_845));
        assert_eq!(time.as_str(), " 2 Dec 2026 10:04:05 GMT\n");
        let json = serde_json::to_string(&EventTime::new("not a time")).unwrap();
        assert_eq!(json, r#""not a time""#);
        let back: EventTime = serde_json::from_str(&json).unwrap();
        assert_eq!(back, EventTime::new("not a time"));
        assert_eq!(back.time(), None);
        assert!(serde_json::from_str::<EventTime>("12").is_err());
    }

    /// The AWS form of the RFC 3339 date `YYYY-MM-DDTHH:MM:SSZ`.
    fn aws_form(rfc3339: &str, pad_day: bool) -> String {
        let (year, month, day) = (&rfc3339[0..4], &rfc3339[5..7], &rfc3339[8..10]);
        let month = MONTHS[month.parse::<usize>().unwrap() - 1];
        let day = if pad_day {
            day
        } else {
            day.trim_start_matches('0')
        };
        format!("{day} {month} {year} {} GMT", &rfc3339[11..19])
    }

    proptest! {
        #![proptest_config(crate::proptests::config())]

        // Every second from 1970 to 9999 survives a trip through
        // humantime's RFC 3339 formatter and the AWS form.
        #[test]
        fn every_time_round_trips(seconds in 0u64..=253_402_300_799, pad_day: bool) {
            let time = UNIX_EPOCH + Duration::from_secs(seconds);
            let rfc3339 = humantime::format_rfc3339_seconds(time).to_string();
            let text = aws_form(&rfc3339, pad_day);
            prop_assert_eq!(parse_aws_date(&text), Some(time), "{}", text);
        }

        // Any fields, valid or not: the AWS form is accepted exactly when
        // humantime accepts the same date in RFC 3339, and means the same.
        #[test]
        fn agrees_with_humantime_field_by_field(
            year in 1960u64..=9_999,
            month in 1usize..=12,
            day in 0u64..=32,
            hour in 0u64..=25,
            minute in 0u64..=61,
            second in 0u64..=61,
        ) {
            let rfc3339 = format!(
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"
            );
            let aws = format!(
                "{day:02} {} {year:04} {hour:02}:{minute:02}:{second:02} GMT",
                MONTHS[month - 1]
            );
            prop_assert_eq!(
                parse_aws_date(&aws),
                humantime::parse_rfc3339(&rfc3339).ok(),
                "{} / {}", aws, rfc3339
            );
        }

        // No input panics, and whatever parses is a time from 1970 on.
        #[test]
        fn never_panics(text in "(?s).{0,40}") {
            let _ = EventTime::new(text.clone());
            if let Some(time) = parse_aws_date(&text) {
                prop_assert!(time >= UNIX_EPOCH);
            }
        }

        #[test]
        fn shaped_input_never_panics(
            text in "[0-9]{0,3} [A-Za-z]{0,4} [0-9+-]{0,5} [0-9:]{0,9} [A-Z]{0,4}"
        ) {
            let _ = parse_aws_date(&text);
        }
    }
}
