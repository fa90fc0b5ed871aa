//! [`Snapshot`]: what is there now, kind by kind; and how a new reading
//! of one kind differs from what was known (the [`Event`]s a watch
//! reports).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::document::{MaintenanceEvent, RebalanceRecommendation, TargetLifecycleState};
use super::event::{Change, Event};
use crate::document::SpotInstanceAction;

/// The state of every kind read: what `imds events` prints.
///
/// A kind that was not read is empty (`None`, no maintenance event).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// The Spot interruption notice, if there is one.
    pub spot: Option<SpotInstanceAction>,
    /// The rebalance recommendation, if there is one.
    pub rebalance: Option<RebalanceRecommendation>,
    /// The scheduled maintenance events, in IMDS's order, one per
    /// `EventId` (the first, should IMDS list one twice).
    pub maintenance: Vec<MaintenanceEvent>,
    /// The Auto Scaling target lifecycle state, if there is one.
    pub autoscaling: Option<TargetLifecycleState>,
}

/// One kind as one poll read it (404 read as `None` or no events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reading {
    Spot(Option<SpotInstanceAction>),
    Rebalance(Option<RebalanceRecommendation>),
    Maintenance(Vec<MaintenanceEvent>),
    AutoScaling(Option<TargetLifecycleState>),
}

impl Snapshot {
    /// Takes `reading` as the kind's state, and appends to `events` how it
    /// differs from the state known so far: nothing when it is the same.
    pub(crate) fn update(&mut self, reading: Reading, events: &mut Vec<Event>) {
        match reading {
            Reading::Spot(current) => {
                events.extend(replace(&mut self.spot, current).map(Event::Spot));
            }
            Reading::Rebalance(current) => {
                events.extend(replace(&mut self.rebalance, current).map(Event::Rebalance));
            }
            Reading::AutoScaling(current) => {
                events.extend(replace(&mut self.autoscaling, current).map(Event::AutoScaling));
            }
            Reading::Maintenance(current) => {
                let current = first_per_id(current);
                events.extend(
                    maintenance_changes(&self.maintenance, &current)
                        .into_iter()
                        .map(Event::Maintenance),
                );
                self.maintenance = current;
            }
        }
    }
}

/// Puts `current` in `slot`; the change from what was there, if any.
fn replace<T: PartialEq + Clone>(slot: &mut Option<T>, current: Option<T>) -> Option<Change<T>> {
    if *slot == current {
        return None;
    }
    let previous = std::mem::replace(slot, current.clone());
    match (previous, current) {
        (None, Some(current)) => Some(Change::Appeared { current }),
        (Some(previous), Some(current)) => Some(Change::Changed { previous, current }),
        (Some(previous), None) => Some(Change::Gone { previous }),
        (None, None) => None,
    }
}

/// `events` with only the first of each `EventId`, in order.
fn first_per_id(mut events: Vec<MaintenanceEvent>) -> Vec<MaintenanceEvent> {
    if events.len() > 1 {
        let mut seen = HashSet::with_capacity(events.len());
        events.retain(|event| seen.insert(event.event_id.clone()));
    }
    events
}

/// How `current` differs from `previous` (both one per `EventId`):
/// appeared and changed events in `current`'s order, then gone ones in
/// `previous`'s.
fn maintenance_changes(
    previous: &[MaintenanceEvent],
    current: &[MaintenanceEvent],
) -> Vec<Change<MaintenanceEvent>> {
    if previous == current {
        return Vec::new();
    }
    let before: HashMap<&str, &MaintenanceEvent> = previous
        .iter()
        .map(|event| (event.event_id.as_str(), event))
        .collect();
    let now: HashSet<&str> = current
        .iter()
        .map(|event| event.event_id.as_str())
        .collect();
    let mut changes = Vec::new();
    for event in current {
        match before.get(event.event_id.as_str()) {
            None => changes.push(Change::Appeared {
                current: event.clone(),
            }),
            Some(&old) if old != event => changes.push(Change::Changed {
                previous: old.clone(),
                current: event.clone(),
            }),
            Some(_) => {}
        }
    }
    for event in previous {
        if !now.contains(event.event_id.as_str()) {
            changes.push(Change::Gone {
                previous: event.clone(),
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventTime;
    use crate::events::document::{MaintenanceCode, MaintenanceState};
    use proptest::prelude::*;

    fn event(id: &str, state: &str) -> MaintenanceEvent {
        MaintenanceEvent::new(
            id,
            MaintenanceCode::InstanceStop,
            MaintenanceState::from(state),
            EventTime::new("21 Jan 2026 09:00:43 GMT"),
        )
    }

    fn updated(snapshot: &mut Snapshot, reading: Reading) -> Vec<Event> {
        let mut events = Vec::new();
        snapshot.update(reading, &mut events);
        events
    }

    #[test]
    fn a_notice_appears_changes_and_goes_once_each() {
        let mut snapshot = Snapshot::default();
        let spot = |time: &str| -> SpotInstanceAction {
            serde_json::from_value(serde_json::json!({"action": "stop", "time": time})).unwrap()
        };
        assert_eq!(updated(&mut snapshot, Reading::Spot(None)), []);
        assert_eq!(
            updated(&mut snapshot, Reading::Spot(Some(spot("a")))),
            [Event::Spot(Change::Appeared { current: spot("a") })]
        );
        assert_eq!(updated(&mut snapshot, Reading::Spot(Some(spot("a")))), []);
        assert_eq!(
            updated(&mut snapshot, Reading::Spot(Some(spot("b")))),
            [Event::Spot(Change::Changed {
                previous: spot("a"),
                current: spot("b")
            })]
        );
        assert_eq!(
            updated(&mut snapshot, Reading::Spot(None)),
            [Event::Spot(Change::Gone {
                previous: spot("b")
            })]
        );
        assert_eq!(updated(&mut snapshot, Reading::Spot(None)), []);
        assert_eq!(snapshot.spot, None);
    }

    #[test]
    fn maintenance_events_are_followed_by_id() {
        let mut snapshot = Snapshot::default();
        let events = updated(
            &mut snapshot,
            Reading::Maintenance(vec![event("a", "active"), event("b", "active")]),
        );
        assert_eq!(events.len(), 2);
        // Reordered: no change.
        let events = updated(
            &mut snapshot,
            Reading::Maintenance(vec![event("b", "active"), event("a", "active")]),
        );
        assert_eq!(events, []);
        let events = updated(
            &mut snapshot,
            Reading::Maintenance(vec![
                event("c", "active"),
                event("a", "canceled"),
                event("c", "completed"),
            ]),
        );
        assert_eq!(
            events,
            [
                Event::Maintenance(Change::Appeared {
                    current: event("c", "active")
                }),
                Event::Maintenance(Change::Changed {
                    previous: event("a", "active"),
                    current: event("a", "canceled")
                }),
                Event::Maintenance(Change::Gone {
                    previous: event("b", "active")
                }),
            ]
        );
        assert_eq!(snapshot.maintenance.len(), 2, "one per EventId");
    }

    fn maintenance_list() -> impl Strategy<Value = Vec<MaintenanceEvent>> {
        proptest::collection::vec(
            (
                prop_oneof![Just("a"), Just("b"), Just("c"), Just("d")],
                prop_oneof![Just("active"), Just("canceled"), Just("completed")],
            )
                .prop_map(|(id, state)| event(id, state)),
            0..6,
        )
    }

    /// `list` keyed by `EventId`.
    fn by_id(list: &[MaintenanceEvent]) -> HashMap<String, MaintenanceEvent> {
        list.iter()
            .map(|e| (e.event_id.clone(), e.clone()))
            .collect()
    }

    proptest! {
        #![proptest_config(crate::proptests::config())]

        // The changes are the whole difference: applied to the previous
        // state they give the new one; each EventId changes at most once;
        // the same reading again changes nothing.
        #[test]
        fn maintenance_changes_are_exact(
            first in maintenance_list(),
            second in maintenance_list(),
        ) {
            let mut snapshot = Snapshot::default();
            updated(&mut snapshot, Reading::Maintenance(first));
            let mut state = by_id(&snapshot.maintenance);
            let events = updated(&mut snapshot, Reading::Maintenance(second.clone()));
            let mut ids = HashSet::new();
            for event in events {
                let Event::Maintenance(change) = event else {
                    panic!("another kind")
                };
                let id = change
                    .current()
                    .or(change.previous())
                    .unwrap()
                    .event_id
                    .clone();
                prop_assert!(ids.insert(id.clone()), "{} changed twice", id);
                match change {
                    Change::Appeared { current } => {
                        prop_assert!(state.insert(id, current).is_none());
                    }
                    Change::Changed { previous, current } => {
                        prop_assert_ne!(&previous, &current);
                        prop_assert_eq!(state.insert(id, current), Some(previous));
                    }
                    Change::Gone { previous } => {
                        prop_assert_eq!(state.remove(&id), Some(previous));
                    }
                }
            }
            prop_assert_eq!(&state, &by_id(&snapshot.maintenance));
            let mut first_of_each = HashMap::new();
            for event in &second {
                first_of_each.entry(event.event_id.clone()).or_insert(event.clone());
            }
            prop_assert_eq!(&state, &first_of_each);
            prop_assert_eq!(updated(&mut snapshot, Reading::Maintenance(second)), vec![]);
        }

        // Any sequence of readings of the single-valued kinds: an event
        // exactly when the value differs from the last one read.
        #[test]
        fn single_values_change_exactly_when_they_differ(
            states in proptest::collection::vec(
                proptest::option::of(prop_oneof![
                    Just("InService"), Just("Terminated"), Just("Warmed:Odd")
                ]),
                0..12,
            ),
        ) {
            let mut snapshot = Snapshot::default();
            let mut last: Option<&str> = None;
            for state in states {
                let reading = Reading::AutoScaling(state.map(TargetLifecycleState::from));
                let events = updated(&mut snapshot, reading);
                prop_assert_eq!(events.len(), usize::from(state != last));
                if let Some(Event::AutoScaling(change)) = events.first() {
                    prop_assert_eq!(change.current().map(|s| s.as_str()), state);
                    prop_assert_eq!(change.previous().map(|s| s.as_str()), last);
                }
                last = state;
            }
        }
    }
}
