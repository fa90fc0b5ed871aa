//! The server's clock: real time plus a manual offset, so tests can expire
//! tokens and rotate credentials without sleeping.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::sync::lock;

/// Monotonic and wall-clock time as the mock server sees them.
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
        SystemTime::now() + *lock(&self.offset)
    }

    /// Moves both clocks forward by `by`.
    pub(crate) fn advance(&self, by: Duration) {
        let mut offset = lock(&self.offset);
        *offset = offset.saturating_add(by);
    }
}
