//! Interruptions and maintenance: the event documents, typed, and a
//! watcher that reports their changes.
//!
//! IMDS announces that an instance will go away, or may, in four places:
//!
//! | kind | path (under `meta-data/`) | document |
//! |---|---|---|
//! | `spot` | `spot/instance-action` | [`SpotInstanceAction`]: terminate or stop, two minutes ahead, or hibernate, at once |
//! | `rebalance` | `events/recommendations/rebalance` | [`RebalanceRecommendation`]: elevated risk of interruption |
//! | `maintenance` | `events/maintenance/scheduled` | [`MaintenanceEvent`]s: reboots, stops, retirements, with their windows |
//! | `autoscaling` | `autoscaling/target-lifecycle-state` | [`TargetLifecycleState`]: `InService`, `Terminated`, ... |
//!
//! The [`Client`](crate::Client) reads each one
//! ([`spot_instance_action`](crate::Client::spot_instance_action),
//! [`rebalance_recommendation`](crate::Client::rebalance_recommendation),
//! [`scheduled_maintenance`](crate::Client::scheduled_maintenance),
//! [`target_lifecycle_state`](crate::Client::target_lifecycle_state), and
//! [`spot_termination_time`](crate::Client::spot_termination_time) and
//! [`maintenance_history`](crate::Client::maintenance_history)). A 404
//! means "no such event now"; a 429, a 5xx, a timeout or a transport error
//! is an error, never "no event". Unknown JSON fields are ignored, and
//! unknown codes and states are kept as they are written, never a parse
//! failure. Times keep their text and are parsed as well ([`EventTime`]).
//!
//! [`Client::events`](crate::Client::events) watches them: a stream of the
//! changes ([`Event`]), polled every 5 s, that rides out IMDS's failures
//! (errors are items, never a false "gone"), and
//! [`Client::interruption`](crate::Client::interruption) waits for the one
//! that matters most:
//!
//! ```
//! use futures_util::StreamExt;
//! use imds::events::{Change, Event, MaintenanceState};
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mock = imds_mock::MockImds::start_default().await?;
//! # mock.set_metadata("meta-data/events/maintenance/scheduled", r#"[{"Code": "system-reboot",
//! #   "Description": "scheduled reboot", "EventId": "instance-event-0d59937288b749b32",
//! #   "NotBefore": "21 Jan 2026 09:00:43 GMT", "State": "active"}]"#);
//! let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
//! let mut events = client.events().stream();
//! while let Some(event) = events.next().await {
//!     match event? {
//!         Event::Maintenance(Change::Appeared { current }) if current.state == MaintenanceState::Active => {
//!             println!("{} from {}", current.code, current.not_before);
//!             break;
//!         }
//!         other => println!("{}: {}", other.kind(), other.change()),
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod document;
mod event;
mod getters;
mod kind;
mod state;
mod time;
mod watch;

pub use self::document::{
    MaintenanceCode, MaintenanceEvent, MaintenanceState, RebalanceRecommendation,
    TargetLifecycleState,
};
pub use self::event::{Change, Event, Interruption};
pub use self::kind::{EventKind, UnknownKind};
pub use self::state::Snapshot;
pub use self::time::EventTime;
pub use self::watch::{DEFAULT_INTERVAL, EventWatch, Events, MAX_BACKOFF_INTERVALS, MIN_INTERVAL};
pub use crate::document::SpotInstanceAction;
