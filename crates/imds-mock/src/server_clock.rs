//! The mock instance's clock: tokio's clock plus a manual offset.
//!
//! Token expiry and credential rotation are measured on tokio's clock, and
//! the wall time in responses (`LastUpdated`, `Expiration`) is read off that
//! same clock, from one anchor: so a test that pauses and advances tokio's
//! clock expires tokens, rotates credentials and moves timestamps together,
//! just as it moves the client's wall clock (which works the same way).
//! [`ServerClock::advance`] moves one server's clock further, without
//! touching tokio's.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::sync::lock;

/// Monotonic and wall-clock time as one mock server sees them.
#[derive(Debug, Default)]
pub(crate) struct ServerClock {
    offset: Mutex<Duration>,
}

impl ServerClock {
    /// Monotonic "now": decides token expiry and credential rotation.
    pub(crate) fn now(&self) -> Instant {
        Instant::now() + *lock(&self.offset)
    }

    /// Wall-clock "now": what the RFC 3339 timestamps in responses show.
    pub(crate) fn wall_now(&self) -> SystemTime {
        let (anchor_wall, anchor_instant) = anchor();
        let now = Instant::now();
        // A paused tokio clock can stand before the anchor, if the anchor
        // was taken after the runtime paused its clock.
        let wall = match now.checked_duration_since(anchor_instant) {
            Some(since) => anchor_wall + since,
            None => anchor_wall - anchor_instant.duration_since(now),
        };
        wall + *lock(&self.offset)
    }

    /// Moves both clocks forward by `by`.
    pub(crate) fn advance(&self, by: Duration) {
        let mut offset = lock(&self.offset);
        *offset = offset.saturating_add(by);
    }
}

/// The system's wall clock and monotonic clock, read together once per
/// process: wall time is the anchor's plus how far tokio's clock has moved
/// since.
fn anchor() -> (SystemTime, Instant) {
    static ANCHOR: OnceLock<(SystemTime, std::time::Instant)> = OnceLock::new();
    let (wall, instant) = *ANCHOR.get_or_init(read_system_clocks);
    (wall, Instant::from_std(instant))
}

// The workspace reads wall time through `tower_imds::clock`; the mock keeps
// its own clock because it shares no code with the client it checks. This
// is the library's one read of the system's clocks (the binary's AEMM front
// reads the wall clock once more, at start, for AEMM's default windows).
#[allow(clippy::disallowed_methods)]
fn read_system_clocks() -> (SystemTime, std::time::Instant) {
    (SystemTime::now(), std::time::Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn wall_time_follows_tokios_clock_and_the_offset() {
        let clock = ServerClock::default();
        let (wall, instant) = (clock.wall_now(), clock.now());
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now() - instant, Duration::from_secs(90));
        assert_eq!(
            clock.wall_now().duration_since(wall).unwrap(),
            Duration::from_secs(90)
        );
        clock.advance(Duration::from_secs(10));
        assert_eq!(clock.now() - instant, Duration::from_secs(100));
        assert_eq!(
            clock.wall_now().duration_since(wall).unwrap(),
            Duration::from_secs(100)
        );
        // Nothing moves while tokio's clock stands still.
        assert_eq!(
            clock.wall_now().duration_since(wall).unwrap(),
            Duration::from_secs(100)
        );
    }
}
