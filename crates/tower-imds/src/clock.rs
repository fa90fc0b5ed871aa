//! Wall time, read off tokio's clock.
//!
//! Durations in this workspace are measured with [`tokio::time::Instant`],
//! which tests can pause and advance. Wall time (a stored token's expiry,
//! for one) comes from [`now`], which follows that same clock, so a test
//! that advances tokio's clock moves the wall clock with it.

use std::{
    sync::OnceLock,
    time::{Instant as StdInstant, SystemTime},
};

use tokio::time::Instant;

/// The current wall time, as tokio's clock sees it.
///
/// The system's wall clock is read once, the first time this is called, and
/// paired with the monotonic time of that moment; after that, wall time is
/// that reading plus however far [`tokio::time::Instant::now`] has moved. So
/// it never jumps with the system clock, and pausing or advancing tokio's
/// clock (`tokio::time::pause`, `advance`) moves it exactly:
///
/// ```
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), std::time::SystemTimeError> {
/// let before = tower_imds::clock::now();
/// tokio::time::advance(Duration::from_secs(600)).await;
/// assert_eq!(
///     tower_imds::clock::now().duration_since(before)?,
///     Duration::from_secs(600)
/// );
/// # Ok(()) }
/// ```
// The one place that reads the system's clocks: everything else follows
// tokio's clock, through this function or `tokio::time::Instant`.
#[allow(clippy::disallowed_methods)]
pub fn now() -> SystemTime {
    static ANCHOR: OnceLock<(SystemTime, StdInstant)> = OnceLock::new();
    let anchor = *ANCHOR.get_or_init(|| (SystemTime::now(), StdInstant::now()));
    wall_time(anchor, Instant::now().into_std())
}

/// The wall time at `instant`, given one moment known on both clocks.
fn wall_time((wall, instant): (SystemTime, StdInstant), at: StdInstant) -> SystemTime {
    // A paused tokio clock may stand before the anchor: it stops where it
    // was paused, and the anchor may be read later.
    match at.checked_duration_since(instant) {
        Some(after) => wall + after,
        None => wall - instant.duration_since(at),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn wall_time_follows_the_instant_both_ways_from_the_anchor() {
        let anchor_instant = Instant::now().into_std();
        let later = anchor_instant + Duration::from_secs(90);
        let anchor = (SystemTime::UNIX_EPOCH + Duration::from_secs(1_000), later);
        assert_eq!(
            wall_time(anchor, later + Duration::from_millis(1_500)),
            SystemTime::UNIX_EPOCH + Duration::from_millis(1_001_500)
        );
        assert_eq!(
            wall_time(anchor, anchor_instant),
            SystemTime::UNIX_EPOCH + Duration::from_secs(910)
        );
        assert_eq!(wall_time(anchor, later), anchor.0);
    }

    #[tokio::test(start_paused = true)]
    async fn now_moves_exactly_with_tokio_advance() {
        let start = now();
        assert_eq!(now(), start, "a paused clock stands still");
        tokio::time::advance(Duration::from_secs(600)).await;
        assert_eq!(
            now().duration_since(start).unwrap(),
            Duration::from_secs(600)
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(
            now().duration_since(start).unwrap(),
            Duration::from_millis(600_001)
        );
    }

    #[tokio::test]
    async fn now_is_the_wall_time() {
        // Later than 2024-01-01: read off the system's wall clock, not
        // counted from some other origin.
        let since_epoch = now().duration_since(SystemTime::UNIX_EPOCH).unwrap();
        assert!(
            since_epoch > Duration::from_secs(1_704_067_200),
            "{since_epoch:?}"
        );
    }
}
