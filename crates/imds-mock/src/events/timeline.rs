//! The events of one running server: the scenarios with their triggers
//! resolved to wall-clock times on the server clock, the live changes, and
//! the sync that puts what exists *now* into the metadata tree.
//!
//! Nothing runs in the background: every read syncs first (cheaply: only
//! when a live change happened or a trigger time has passed since the last
//! sync), so documents and listings change exactly when the server clock
//! crosses a trigger, with tokio's clock paused or not.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

use bytes::Bytes;
use serde_json::{Value, json};

use super::EventError;
use super::render::{self, MaintenanceEvent};
use super::scenario::{
    AutoScaling, Events, RebalanceRecommendation, ScheduledEvent, ScheduledEventCode,
    ScheduledEventState, SpotAction, SpotNotice,
};
use super::time::format_rfc3339;
use crate::random;
use crate::sync::lock;
use crate::tree::Tree;

const INSTANCE_ACTION: &str = "meta-data/spot/instance-action";
const TERMINATION_TIME: &str = "meta-data/spot/termination-time";
const REBALANCE: &str = "meta-data/events/recommendations/rebalance";
const SCHEDULED: &str = "meta-data/events/maintenance/scheduled";
const HISTORY: &str = "meta-data/events/maintenance/history";
const TARGET_LIFECYCLE_STATE: &str = "meta-data/autoscaling/target-lifecycle-state";

#[derive(Debug)]
struct Spot {
    action: SpotAction,
    appears: SystemTime,
    time: SystemTime,
    /// Whether `spot/termination-time` is served with it.
    termination_time: bool,
}

#[derive(Debug)]
struct Rebalance {
    appears: SystemTime,
    notice_time: SystemTime,
}

#[derive(Debug)]
struct Scheduled {
    event_id: String,
    code: ScheduledEventCode,
    state: ScheduledEventState,
    description: String,
    appears: SystemTime,
    not_before: SystemTime,
    not_after: Option<SystemTime>,
    not_before_deadline: Option<SystemTime>,
}

impl Scheduled {
    fn resolve(event: &ScheduledEvent, origin: SystemTime) -> Self {
        let appears = event.trigger().resolve(origin);
        let (not_before, not_after, not_before_deadline) = event.window();
        Self {
            event_id: event.id().map_or_else(new_event_id, str::to_owned),
            code: event.code(),
            state: event.current_state(),
            description: event
                .fixed_description()
                .unwrap_or(event.code().default_description())
                .to_owned(),
            appears,
            not_before: not_before.unwrap_or_else(|| {
                appears
                    .checked_add(ScheduledEvent::DEFAULT_NOTICE)
                    .unwrap_or(appears)
            }),
            not_after,
            not_before_deadline,
        }
    }

    fn document(&self) -> MaintenanceEvent<'_> {
        MaintenanceEvent {
            code: self.code,
            state: self.state,
            event_id: &self.event_id,
            description: &self.description,
            not_before: self.not_before,
            not_after: self.not_after,
            not_before_deadline: self.not_before_deadline,
        }
    }
}

/// `instance-event-` and 17 hex digits, like AWS's ids.
fn new_event_id() -> String {
    let hex: String = random::bytes::<9>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("instance-event-{}", &hex[..17])
}

#[derive(Debug)]
struct Lifecycle {
    state: String,
    terminates: Option<SystemTime>,
}

impl Lifecycle {
    fn served(&self, now: SystemTime) -> &str {
        match self.terminates {
            Some(at) if now >= at => AutoScaling::TERMINATED,
            _ => &self.state,
        }
    }
}

/// When the tree last matched the events.
#[derive(Debug, Clone, Copy)]
struct Synced {
    generation: u64,
    /// The next trigger after that sync: the tree is stale from then on.
    next_change: Option<SystemTime>,
}

#[derive(Debug, Default)]
struct Inner {
    spot: Option<Spot>,
    rebalance: Option<Rebalance>,
    scheduled: Vec<Scheduled>,
    /// Whether `events/maintenance/*` are ours to write: once any
    /// scheduled event was configured or changed. Until then the tree's
    /// own `[]` (or whatever `set_metadata` put there) is left alone.
    scheduled_owned: bool,
    autoscaling: Option<Lifecycle>,
    /// Bumped by every live change.
    generation: u64,
    synced: Option<Synced>,
    /// The leaves the last sync wrote, so that the next one removes only
    /// its own.
    applied: BTreeMap<&'static str, Bytes>,
}

impl Inner {
    fn desired(&self, now: SystemTime) -> BTreeMap<&'static str, Bytes> {
        let mut leaves = BTreeMap::new();
        if let Some(spot) = self.spot.as_ref().filter(|s| now >= s.appears) {
            leaves.insert(
                INSTANCE_ACTION,
                render::instance_action(spot.action, spot.time).into(),
            );
            if spot.termination_time {
                leaves.insert(TERMINATION_TIME, render::termination_time(spot.time).into());
            }
        }
        if let Some(rebalance) = self.rebalance.as_ref().filter(|r| now >= r.appears) {
            leaves.insert(REBALANCE, render::rebalance(rebalance.notice_time).into());
        }
        if self.scheduled_owned {
            let (active, over): (Vec<_>, Vec<_>) = self
                .scheduled
                .iter()
                .filter(|event| now >= event.appears)
                .map(Scheduled::document)
                .partition(|event| event.state == ScheduledEventState::Active);
            leaves.insert(SCHEDULED, render::maintenance_list(&active).into());
            leaves.insert(HISTORY, render::maintenance_list(&over).into());
        }
        if let Some(lifecycle) = &self.autoscaling {
            leaves.insert(
                TARGET_LIFECYCLE_STATE,
                Bytes::copy_from_slice(lifecycle.served(now).as_bytes()),
            );
        }
        leaves
    }

    /// The earliest trigger still to come.
    fn next_change(&self, now: SystemTime) -> Option<SystemTime> {
        let spot = self.spot.as_ref().map(|s| s.appears);
        let rebalance = self.rebalance.as_ref().map(|r| r.appears);
        let scheduled = self.scheduled.iter().map(|e| e.appears);
        let termination = self.autoscaling.as_ref().and_then(|l| l.terminates);
        spot.into_iter()
            .chain(rebalance)
            .chain(scheduled)
            .chain(termination)
            .filter(|&t| t > now)
            .min()
    }

    fn changed(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    fn scheduled_mut(&mut self, event_id: &str) -> Result<&mut Scheduled, EventError> {
        self.scheduled
            .iter_mut()
            .find(|e| e.event_id == event_id)
            .ok_or_else(|| EventError::UnknownEventId(event_id.to_owned()))
    }

    fn replace(&mut self, events: &Events, origin: SystemTime) {
        self.spot = events.spot.as_ref().map(|s| resolve_spot(s, origin));
        self.rebalance = events
            .rebalance
            .as_ref()
            .map(|r| resolve_rebalance(r, origin));
        self.scheduled = Vec::new();
        for event in &events.scheduled {
            self.add_scheduled(event, origin);
        }
        self.autoscaling = events
            .autoscaling
            .as_ref()
            .map(|a| resolve_autoscaling(a, origin));
        self.changed();
    }

    fn add_scheduled(&mut self, event: &ScheduledEvent, origin: SystemTime) -> String {
        let event = Scheduled::resolve(event, origin);
        let id = event.event_id.clone();
        match self.scheduled.iter_mut().find(|e| e.event_id == id) {
            Some(existing) => *existing = event,
            None => self.scheduled.push(event),
        }
        self.scheduled_owned = true;
        self.changed();
        id
    }
}

fn resolve_spot(notice: &SpotNotice, origin: SystemTime) -> Spot {
    let appears = notice.trigger().resolve(origin);
    Spot {
        action: notice.action(),
        appears,
        time: notice.time_for(appears),
        termination_time: notice.serves_termination_time(),
    }
}

fn resolve_rebalance(recommendation: &RebalanceRecommendation, origin: SystemTime) -> Rebalance {
    let appears = recommendation.trigger().resolve(origin);
    Rebalance {
        appears,
        notice_time: recommendation.fixed_notice_time().unwrap_or(appears),
    }
}

fn resolve_autoscaling(autoscaling: &AutoScaling, origin: SystemTime) -> Lifecycle {
    Lifecycle {
        state: autoscaling.state().to_owned(),
        terminates: autoscaling.termination().map(|t| t.resolve(origin)),
    }
}

/// The events of one server. Every method that takes `origin` counts
/// delays from it (the server's start for the config, the call's time
/// for a live change).
#[derive(Debug, Default)]
pub(crate) struct Timeline {
    inner: Mutex<Inner>,
}

impl Timeline {
    pub(crate) fn new(events: &Events, origin: SystemTime) -> Self {
        let mut inner = Inner::default();
        inner.replace(events, origin);
        Self {
            inner: Mutex::new(inner),
        }
    }

    pub(crate) fn replace(&self, events: &Events, origin: SystemTime) {
        lock(&self.inner).replace(events, origin);
    }

    pub(crate) fn set_spot(&self, notice: &SpotNotice, origin: SystemTime) {
        let mut inner = lock(&self.inner);
        inner.spot = Some(resolve_spot(notice, origin));
        inner.changed();
    }

    pub(crate) fn withdraw_spot(&self) {
        let mut inner = lock(&self.inner);
        inner.spot = None;
        inner.changed();
    }

    pub(crate) fn set_rebalance(
        &self,
        recommendation: &RebalanceRecommendation,
        origin: SystemTime,
    ) {
        let mut inner = lock(&self.inner);
        inner.rebalance = Some(resolve_rebalance(recommendation, origin));
        inner.changed();
    }

    pub(crate) fn withdraw_rebalance(&self) {
        let mut inner = lock(&self.inner);
        inner.rebalance = None;
        inner.changed();
    }

    /// Adds the event, or replaces the one with its id; returns the id.
    pub(crate) fn add_scheduled(&self, event: &ScheduledEvent, origin: SystemTime) -> String {
        lock(&self.inner).add_scheduled(event, origin)
    }

    pub(crate) fn set_scheduled_state(
        &self,
        event_id: &str,
        state: ScheduledEventState,
    ) -> Result<(), EventError> {
        let mut inner = lock(&self.inner);
        inner.scheduled_mut(event_id)?.state = state;
        inner.changed();
        Ok(())
    }

    pub(crate) fn remove_scheduled(&self, event_id: &str) -> Result<(), EventError> {
        let mut inner = lock(&self.inner);
        let before = inner.scheduled.len();
        inner.scheduled.retain(|e| e.event_id != event_id);
        if inner.scheduled.len() == before {
            return Err(EventError::UnknownEventId(event_id.to_owned()));
        }
        inner.changed();
        Ok(())
    }

    pub(crate) fn set_autoscaling(&self, autoscaling: &AutoScaling, origin: SystemTime) {
        let mut inner = lock(&self.inner);
        inner.autoscaling = Some(resolve_autoscaling(autoscaling, origin));
        inner.changed();
    }

    pub(crate) fn remove_autoscaling(&self) {
        let mut inner = lock(&self.inner);
        inner.autoscaling = None;
        inner.changed();
    }

    /// Puts the events as they stand at `now` into `tree`: adds what has
    /// appeared, rewrites what changed, removes what was withdrawn.
    pub(crate) fn sync(&self, tree: &mut Tree, now: SystemTime) {
        let mut inner = lock(&self.inner);
        if let Some(synced) = inner.synced
            && synced.generation == inner.generation
            && synced.next_change.is_none_or(|at| now < at)
        {
            return;
        }
        let desired = inner.desired(now);
        for path in inner.applied.keys() {
            if !desired.contains_key(path) {
                tree.remove(path);
            }
        }
        for (path, body) in &desired {
            if inner.applied.get(path) != Some(body) {
                tree.set(path, body.clone());
            }
        }
        inner.applied = desired;
        inner.synced = Some(Synced {
            generation: inner.generation,
            next_change: inner.next_change(now),
        });
    }

    /// Everything configured, and whether it is served at `now`: the
    /// control API's `GET /events`.
    pub(crate) fn snapshot(&self, now: SystemTime) -> Value {
        let inner = lock(&self.inner);
        let spot = inner.spot.as_ref().map(|spot| {
            json!({
                "action": spot.action.as_str(),
                "time": format_rfc3339(spot.time),
                "termination_time": spot.termination_time,
                "appears_at": format_rfc3339(spot.appears),
                "served": now >= spot.appears,
            })
        });
        let rebalance = inner.rebalance.as_ref().map(|rebalance| {
            json!({
                "notice_time": format_rfc3339(rebalance.notice_time),
                "appears_at": format_rfc3339(rebalance.appears),
                "served": now >= rebalance.appears,
            })
        });
        let scheduled: Vec<Value> = inner
            .scheduled
            .iter()
            .map(|event| scheduled_snapshot(event, now))
            .collect();
        let autoscaling = inner.autoscaling.as_ref().map(|lifecycle| {
            json!({
                "state": lifecycle.served(now),
                "terminates_at": lifecycle.terminates.map(format_rfc3339),
                "served": true,
            })
        });
        json!({
            "now": format_rfc3339(now),
            "spot": spot,
            "rebalance": rebalance,
            "scheduled": scheduled,
            "autoscaling": autoscaling,
        })
    }

    /// One scheduled event as the control API shows it.
    pub(crate) fn scheduled_snapshot_of(&self, event_id: &str, now: SystemTime) -> Option<Value> {
        let inner = lock(&self.inner);
        inner
            .scheduled
            .iter()
            .find(|e| e.event_id == event_id)
            .map(|event| scheduled_snapshot(event, now))
    }
}

fn scheduled_snapshot(event: &Scheduled, now: SystemTime) -> Value {
    let served = now >= event.appears;
    let listed_in = match (served, event.state) {
        (false, _) => None,
        (true, ScheduledEventState::Active) => Some("scheduled"),
        (true, _) => Some("history"),
    };
    json!({
        "event_id": event.event_id,
        "code": event.code.as_str(),
        "state": event.state.as_str(),
        "description": event.document().served_description(),
        "not_before": format_rfc3339(event.not_before),
        "not_after": event.not_after.map(format_rfc3339),
        "not_before_deadline": event.not_before_deadline.map(format_rfc3339),
        "appears_at": format_rfc3339(event.appears),
        "served": served,
        "listed_in": listed_in,
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::config::Config;
    use crate::tree::{Lookup, Node};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    fn leaf(tree: &Tree, path: &str) -> Option<String> {
        match tree.lookup(path) {
            Lookup::Leaf(Node::Static(bytes)) => Some(String::from_utf8(bytes.to_vec()).unwrap()),
            Lookup::NotFound => None,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn triggers_fire_when_the_clock_crosses_them() {
        let events = Events {
            spot: Some(SpotNotice::new(SpotAction::Stop).after(Duration::from_secs(10))),
            autoscaling: Some(AutoScaling::in_service().terminate_after(Duration::from_secs(20))),
            ..Events::default()
        };
        let timeline = Timeline::new(&events, at(0));
        let mut tree = Tree::from_config(&Config::default());
        timeline.sync(&mut tree, at(9));
        assert_eq!(leaf(&tree, INSTANCE_ACTION), None);
        assert_eq!(
            leaf(&tree, TARGET_LIFECYCLE_STATE).as_deref(),
            Some("InService")
        );
        // Untouched: no scheduled event was ever configured.
        assert_eq!(leaf(&tree, SCHEDULED).as_deref(), Some("[]"));
        timeline.sync(&mut tree, at(10));
        let action: Value = serde_json::from_str(&leaf(&tree, INSTANCE_ACTION).unwrap()).unwrap();
        assert_eq!(action["action"], "stop");
        assert_eq!(action["time"], format_rfc3339(at(130)));
        // Marked to stop, not for termination.
        assert_eq!(leaf(&tree, TERMINATION_TIME), None);
        timeline.sync(&mut tree, at(20));
        assert_eq!(
            leaf(&tree, TARGET_LIFECYCLE_STATE).as_deref(),
            Some("Terminated")
        );
        timeline.withdraw_spot();
        timeline.sync(&mut tree, at(21));
        assert_eq!(leaf(&tree, INSTANCE_ACTION), None);
        assert_eq!(leaf(&tree, TERMINATION_TIME), None);
        assert_eq!(tree.lookup("meta-data/spot/"), Lookup::NotFound);
    }

    #[test]
    fn scheduled_events_move_to_history_and_can_be_removed() {
        let timeline = Timeline::default();
        let mut tree = Tree::from_config(&Config::default());
        let id = timeline.add_scheduled(
            &ScheduledEvent::new(ScheduledEventCode::InstanceReboot),
            at(0),
        );
        assert!(id.starts_with("instance-event-") && id.len() == 32, "{id}");
        timeline.sync(&mut tree, at(0));
        let scheduled: Value = serde_json::from_str(&leaf(&tree, SCHEDULED).unwrap()).unwrap();
        assert_eq!(scheduled[0]["EventId"], id.as_str());
        assert_eq!(scheduled[0]["State"], "active");
        assert_eq!(leaf(&tree, HISTORY).as_deref(), Some("[]"));

        timeline
            .set_scheduled_state(&id, ScheduledEventState::Canceled)
            .unwrap();
        timeline.sync(&mut tree, at(1));
        assert_eq!(leaf(&tree, SCHEDULED).as_deref(), Some("[]"));
        let history: Value = serde_json::from_str(&leaf(&tree, HISTORY).unwrap()).unwrap();
        assert_eq!(history[0]["State"], "canceled");
        assert_eq!(
            history[0]["Description"],
            "[Canceled] The instance is scheduled for a reboot"
        );

        timeline.remove_scheduled(&id).unwrap();
        timeline.sync(&mut tree, at(2));
        assert_eq!(leaf(&tree, HISTORY).as_deref(), Some("[]"));
        assert!(matches!(
            timeline.remove_scheduled(&id),
            Err(EventError::UnknownEventId(_))
        ));
    }

    #[test]
    fn a_sync_with_nothing_new_leaves_the_tree_alone() {
        let events = Events {
            rebalance: Some(RebalanceRecommendation::new()),
            ..Events::default()
        };
        let timeline = Timeline::new(&events, at(0));
        let mut tree = Tree::from_config(&Config::default());
        timeline.sync(&mut tree, at(0));
        // A test's own leaf at an event path stays until the event changes.
        tree.set(REBALANCE, "hand-made");
        timeline.sync(&mut tree, at(100));
        assert_eq!(leaf(&tree, REBALANCE).as_deref(), Some("hand-made"));
        timeline.set_rebalance(&RebalanceRecommendation::new(), at(100));
        timeline.sync(&mut tree, at(100));
        assert_eq!(leaf(&tree, REBALANCE), Some(render::rebalance(at(100))));
    }
}
