//! Times as the event documents and the config write them: RFC 3339 in UTC
//! (`2026-01-21T09:00:43Z`: the Spot and rebalance notices, the config, the
//! control API) and AWS's form for scheduled events
//! (`21 Jan 2026 09:00:43 GMT`), plus the serde adapters the config uses.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The latest time rendered: 9999-12-31T23:59:59Z (RFC 3339 has four-digit
/// years). Later times are shown as this one rather than failing.
const LATEST: Duration = Duration::from_secs(253_402_300_799);

/// Keeps `time` within what RFC 3339 can show, so formatting never fails.
fn representable(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) if since <= LATEST => time,
        Ok(_) => UNIX_EPOCH + LATEST,
        Err(_) => UNIX_EPOCH,
    }
}

/// `2026-01-21T09:00:43Z`: UTC, whole seconds.
pub(crate) fn format_rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(representable(time)).to_string()
}

/// `21 Jan 2026 09:00:43 GMT`, the form of `NotBefore`, `NotAfter` and
/// `NotBeforeDeadline` in `events/maintenance/*` (day without a leading 0).
pub(crate) fn format_event_date(time: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // Reuse the RFC 3339 rendering: `YYYY-MM-DDTHH:MM:SSZ`.
    let text = format_rfc3339(time);
    let (year, month, day, clock) = (&text[0..4], &text[5..7], &text[8..10], &text[11..19]);
    let month = month
        .parse::<usize>()
        .ok()
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("Jan");
    let day = day.trim_start_matches('0');
    format!("{day} {month} {year} {clock} GMT")
}

/// Parses RFC 3339: `2026-01-07T01:03:47Z`, with optional fractional
/// seconds, and a numeric offset (`+02:00`) as well as `Z`.
pub(crate) fn parse_rfc3339(text: &str) -> Result<SystemTime, String> {
    let invalid = || format!("{text:?} is not an RFC 3339 time such as 2026-01-07T01:03:47Z");
    let bytes = text.as_bytes();
    let offset = match bytes.len().checked_sub(6).map(|i| (i, &bytes[i..])) {
        Some((at, [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2])) if at >= 19 => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(invalid());
            }
            let [h1, h2, m1, m2] = digits.map(|d| u64::from(d - b'0'));
            let secs = (h1 * 10 + h2) * 3600 + (m1 * 10 + m2) * 60;
            Some((at, *sign == b'+', Duration::from_secs(secs)))
        }
        _ => None,
    };
    match offset {
        None => humantime::parse_rfc3339(text).map_err(|_| invalid()),
        Some((at, east, offset)) => {
            let local =
                humantime::parse_rfc3339(&format!("{}Z", &text[..at])).map_err(|_| invalid())?;
            // Local time east of UTC is ahead of it: subtract to get UTC.
            let utc = if east {
                local.checked_sub(offset)
            } else {
                local.checked_add(offset)
            };
            utc.filter(|t| *t >= UNIX_EPOCH).ok_or_else(invalid)
        }
    }
}

/// `Option<SystemTime>` as an RFC 3339 string (absent or `null`: `None`).
pub(crate) mod rfc3339_opt {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        time: &Option<SystemTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => serializer.serialize_str(&super::format_rfc3339(*time)),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| super::parse_rfc3339(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// `Option<Duration>` as a number of seconds (fractions allowed).
pub(crate) mod secs_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            // Whole seconds stay integers in the JSON written back.
            Some(d) if d.subsec_nanos() == 0 => serializer.serialize_u64(d.as_secs()),
            Some(d) => serializer.serialize_f64(d.as_secs_f64()),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(deserializer)?
            .map(|secs| {
                Duration::try_from_secs_f64(secs).map_err(|_| {
                    serde::de::Error::custom(format!(
                        "{secs} is not a number of seconds (0 or more)"
                    ))
                })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn formats_both_forms() {
        // 2019-01-21T09:00:43Z, AWS's documented example.
        let time = at(1_548_061_243);
        assert_eq!(format_rfc3339(time), "2019-01-21T09:00:43Z");
        assert_eq!(format_event_date(time), "21 Jan 2019 09:00:43 GMT");
        assert_eq!(format_event_date(at(0)), "1 Jan 1970 00:00:00 GMT");
        assert_eq!(
            format_event_date(at(1_577_840_627)),
            "1 Jan 2020 01:03:47 GMT"
        );
    }

    #[test]
    fn out_of_range_times_are_clamped_not_panics() {
        assert_eq!(
            format_rfc3339(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            format_rfc3339(UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 100)),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn parses_rfc3339_with_z_fractions_and_offsets() {
        let time = at(1_578_359_027); // 2020-01-07T01:03:47Z
        assert_eq!(parse_rfc3339("2020-01-07T01:03:47Z"), Ok(time));
        assert_eq!(parse_rfc3339("2020-01-07T01:03:47+00:00"), Ok(time));
        assert_eq!(parse_rfc3339("2020-01-07T03:03:47+02:00"), Ok(time));
        assert_eq!(parse_rfc3339("2020-01-06T23:33:47-01:30"), Ok(time));
        assert_eq!(
            parse_rfc3339("2020-01-07T01:03:47.5Z"),
            Ok(time + Duration::from_millis(500))
        );
        for bad in [
            "",
            "2020-01-07",
            "2020-01-07 01:03:47",
            "2020-01-07T01:03:47",
            "2020-13-07T01:03:47Z",
            "2020-01-07T01:03:47+0x:00",
            "yesterday",
        ] {
            let error = parse_rfc3339(bad).unwrap_err();
            assert!(error.contains("RFC 3339"), "{bad}: {error}");
        }
    }
}
