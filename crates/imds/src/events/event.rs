//! What a watch reports: [`Event`]s, each a [`Change`] of one kind, and the
//! [`Interruption`] some of them announce.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::document::{
    MaintenanceEvent, MaintenanceState, RebalanceRecommendation, TargetLifecycleState,
};
use super::kind::EventKind;
use crate::document::SpotInstanceAction;

/// How something a watch follows changed between two polls.
///
/// In JSON, `{"change": "appeared", "current": ...}`,
/// `{"change": "changed", "previous": ..., "current": ...}` or
/// `{"change": "gone", "previous": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum Change<T> {
    /// It is there, and was not at the previous successful poll (on the
    /// first poll: it was already there).
    Appeared {
        /// What is there now.
        current: T,
    },
    /// It is still there, and different.
    Changed {
        /// What was there.
        previous: T,
        /// What is there now.
        current: T,
    },
    /// It was there and is not any more (IMDS answered 404, or a scheduled
    /// event left the list). Never because a poll failed.
    Gone {
        /// What was there.
        previous: T,
    },
}

impl<T> Change<T> {
    /// What is there now: `None` when it is gone.
    pub fn current(&self) -> Option<&T> {
        match self {
            Change::Appeared { current } | Change::Changed { current, .. } => Some(current),
            Change::Gone { .. } => None,
        }
    }

    /// What was there before: `None` when it appeared.
    pub fn previous(&self) -> Option<&T> {
        match self {
            Change::Changed { previous, .. } | Change::Gone { previous } => Some(previous),
            Change::Appeared { .. } => None,
        }
    }

    /// `appeared`, `changed` or `gone`.
    pub fn name(&self) -> &'static str {
        match self {
            Change::Appeared { .. } => "appeared",
            Change::Changed { .. } => "changed",
            Change::Gone { .. } => "gone",
        }
    }
}

/// One change a watch saw.
///
/// In JSON (as `imds events --watch` prints it), the kind's
/// [name](EventKind::name) and the [`Change`]:
///
/// ```
/// use imds::events::{Change, Event, TargetLifecycleState};
///
/// let event = Event::AutoScaling(Change::Changed {
///     previous: TargetLifecycleState::InService,
///     current: TargetLifecycleState::Terminated,
/// });
/// assert_eq!(
///     serde_json::to_string(&event)?,
///     r#"{"kind":"autoscaling","change":"changed","previous":"InService","current":"Terminated"}"#
/// );
/// assert!(event.is_warning());
/// # Ok::<(), serde_json::Error>(())
/// ```
// Not boxed: events come a few an hour, and patterns reach into an
// unboxed `Change` (`Event::Maintenance(Change::Appeared { current })`).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Event {
    /// The Spot interruption notice appeared, its action or time changed,
    /// or it was withdrawn.
    Spot(Change<SpotInstanceAction>),
    /// A rebalance recommendation appeared, changed or was withdrawn.
    Rebalance(Change<RebalanceRecommendation>),
    /// A scheduled maintenance event (identified by its `EventId`) appeared,
    /// changed (its state, window or description) or left the list.
    Maintenance(Change<MaintenanceEvent>),
    /// The Auto Scaling target lifecycle state appeared, changed or went.
    #[serde(rename = "autoscaling")]
    AutoScaling(Change<TargetLifecycleState>),
}

impl Event {
    /// The kind of event.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Spot(_) => EventKind::Spot,
            Event::Rebalance(_) => EventKind::Rebalance,
            Event::Maintenance(_) => EventKind::Maintenance,
            Event::AutoScaling(_) => EventKind::AutoScaling,
        }
    }

    /// `appeared`, `changed` or `gone`.
    pub fn change(&self) -> &'static str {
        match self {
            Event::Spot(change) => change.name(),
            Event::Rebalance(change) => change.name(),
            Event::Maintenance(change) => change.name(),
            Event::AutoScaling(change) => change.name(),
        }
    }

    /// Whether this event warns that the instance will be disrupted: a
    /// Spot notice or rebalance recommendation that appeared or changed, a
    /// maintenance event that appeared or changed and is `active`, or an
    /// Auto Scaling state that is [terminating](TargetLifecycleState::is_terminating).
    /// What `imds events --watch --until KIND` waits for.
    pub fn is_warning(&self) -> bool {
        match self {
            Event::Spot(change) => change.current().is_some(),
            Event::Rebalance(change) => change.current().is_some(),
            Event::Maintenance(change) => change
                .current()
                .is_some_and(|event| event.state == MaintenanceState::Active),
            Event::AutoScaling(change) => change
                .current()
                .is_some_and(TargetLifecycleState::is_terminating),
        }
    }

    /// The interruption this event announces: a Spot notice that appeared
    /// or changed, or an Auto Scaling state that is terminating.
    pub fn interruption(&self) -> Option<Interruption> {
        match self {
            Event::Spot(change) => change.current().cloned().map(Interruption::Spot),
            Event::AutoScaling(change) => change
                .current()
                .filter(|state| state.is_terminating())
                .cloned()
                .map(Interruption::AutoScaling),
            Event::Rebalance(_) | Event::Maintenance(_) => None,
        }
    }
}

/// The instance is going away: what
/// [`Client::interruption`](crate::Client::interruption) resolves with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Interruption {
    /// A Spot interruption notice: terminate or stop at its time (two
    /// minutes after the notice), or hibernate (at once: EC2 gives
    /// hibernation no warning).
    Spot(SpotInstanceAction),
    /// Auto Scaling is terminating the instance (`Terminated` or
    /// `Warmed:Terminated`); any lifecycle hook's timeout is the deadline.
    AutoScaling(TargetLifecycleState),
}

impl Interruption {
    /// When the instance goes, when IMDS says: a Spot notice's time.
    pub fn deadline(&self) -> Option<SystemTime> {
        match self {
            Interruption::Spot(action) => action.deadline(),
            Interruption::AutoScaling(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventTime;
    use crate::events::document::MaintenanceCode;
    use serde_json::json;

    fn spot(action: &str) -> SpotInstanceAction {
        serde_json::from_value(json!({"action": action, "time": "2026-12-02T10:04:05Z"})).unwrap()
    }

    fn maintenance(state: &str) -> MaintenanceEvent {
        MaintenanceEvent::new(
            "instance-event-1",
            MaintenanceCode::SystemReboot,
            MaintenanceState::from(state),
            EventTime::new("21 Jan 2026 09:00:43 GMT"),
        )
    }

    #[test]
    fn events_as_json_lines() {
        let event = Event::Spot(Change::Appeared {
            current: spot("terminate"),
        });
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(
            value,
            json!({"kind": "spot", "change": "appeared",
                   "current": {"action": "terminate", "time": "2026-12-02T10:04:05Z"}})
        );
        let event = Event::Maintenance(Change::Gone {
            previous: maintenance("canceled"),
        });
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(value["kind"], "maintenance");
        assert_eq!(value["change"], "gone");
        assert_eq!(value["previous"]["EventId"], "instance-event-1");
        assert_eq!(value["previous"]["NotBefore"], "21 Jan 2026 09:00:43 GMT");
        // They read back as they were.
        for event in [
            event,
            Event::Rebalance(Change::Changed {
                previous: RebalanceRecommendation::new(EventTime::new("a")),
                current: RebalanceRecommendation::new(EventTime::new("b")),
            }),
            Event::AutoScaling(Change::Appeared {
                current: TargetLifecycleState::from("Warmed:Pending"),
            }),
        ] {
            let text = serde_json::to_string(&event).unwrap();
            assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), event);
        }
    }

    #[test]
    fn warnings_and_interruptions() {
        let appeared = Event::Spot(Change::Appeared {
            current: spot("stop"),
        });
        assert!(appeared.is_warning());
        assert_eq!(
            appeared.interruption(),
            Some(Interruption::Spot(spot("stop")))
        );
        assert!(
            appeared.interruption().unwrap().deadline().is_some(),
            "the notice's time"
        );
        let withdrawn = Event::Spot(Change::Gone {
            previous: spot("stop"),
        });
        assert!(!withdrawn.is_warning());
        assert_eq!(withdrawn.interruption(), None);

        let canceled = Event::Maintenance(Change::Changed {
            previous: maintenance("active"),
            current: maintenance("canceled"),
        });
        assert!(!canceled.is_warning());
        let scheduled = Event::Maintenance(Change::Appeared {
            current: maintenance("active"),
        });
        assert!(scheduled.is_warning());
        assert_eq!(scheduled.interruption(), None, "not an interruption");

        let in_service = Event::AutoScaling(Change::Appeared {
            current: TargetLifecycleState::InService,
        });
        assert!(!in_service.is_warning());
        assert_eq!(in_service.interruption(), None);
        let terminating = Event::AutoScaling(Change::Changed {
            previous: TargetLifecycleState::InService,
            current: TargetLifecycleState::WarmedTerminated,
        });
        assert!(terminating.is_warning());
        let interruption = terminating.interruption().unwrap();
        assert_eq!(
            interruption,
            Interruption::AutoScaling(TargetLifecycleState::WarmedTerminated)
        );
        assert_eq!(interruption.deadline(), None);
        let rebalance = Event::Rebalance(Change::Appeared {
            current: RebalanceRecommendation::new(EventTime::new("x")),
        });
        assert!(rebalance.is_warning());
        assert_eq!(rebalance.interruption(), None);
        assert_eq!(rebalance.kind(), EventKind::Rebalance);
        assert_eq!(rebalance.change(), "appeared");
    }
}
