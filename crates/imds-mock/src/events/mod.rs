//! Interruptions and maintenance: the scenarios of
//! amazon-ec2-metadata-mock (AEMM), served at the paths and in the layout
//! of a real instance, timed on the server clock, and changed live.
//!
//! The public overview is on [`Events`].

mod render;
mod scenario;
mod time;
mod timeline;

pub(crate) use scenario::is_event_id;
pub use scenario::{
    AutoScaling, Events, RebalanceRecommendation, ScheduledEvent, ScheduledEventCode,
    ScheduledEventState, SpotAction, SpotNotice,
};
pub(crate) use timeline::Timeline;

/// A live change that could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// No scheduled event has this `EventId` (see
    /// [`MockImds::add_scheduled_event`](crate::MockImds::add_scheduled_event),
    /// which returns the id).
    #[error("no scheduled event has EventId {0:?}")]
    UnknownEventId(String),
}
