//! The live event changes of [`MockImds`]: the scenarios of
//! [`events`](crate::events) set, withdrawn and moved on while clients
//! poll. Apart from `server.rs` so that the events depend on nothing of
//! the server's.

use crate::events::{
    AutoScaling, EventError, Events, RebalanceRecommendation, ScheduledEvent, ScheduledEventState,
    SpotNotice,
};
use crate::server::MockImds;

/// Live changes, effective from the next request.
impl MockImds {
    /// Replaces every event scenario at once (delays count from now).
    pub fn set_events(&self, events: Events) {
        let state = self.state();
        state.events.replace(&events, state.clock.wall_now());
    }

    /// Sets (or replaces) the Spot interruption notice; a delay counts
    /// from now.
    pub fn set_spot_notice(&self, notice: SpotNotice) {
        let state = self.state();
        state.events.set_spot(&notice, state.clock.wall_now());
    }

    /// Withdraws the Spot interruption notice: `spot/instance-action` and
    /// `spot/termination-time` are 404 again.
    pub fn withdraw_spot_notice(&self) {
        self.state().events.withdraw_spot();
    }

    /// Sets (or replaces) the rebalance recommendation; a delay counts
    /// from now.
    pub fn set_rebalance_recommendation(&self, recommendation: RebalanceRecommendation) {
        let state = self.state();
        state
            .events
            .set_rebalance(&recommendation, state.clock.wall_now());
    }

    /// Withdraws the rebalance recommendation (404 again).
    pub fn withdraw_rebalance_recommendation(&self) {
        self.state().events.withdraw_rebalance();
    }

    /// Adds a scheduled event (or replaces the one with the same
    /// `EventId`); a delay counts from now. Returns its `EventId`, made up
    /// if the event has none.
    pub fn add_scheduled_event(&self, event: ScheduledEvent) -> String {
        let state = self.state();
        state.events.add_scheduled(&event, state.clock.wall_now())
    }

    /// Changes a scheduled event's state: an active event is listed in
    /// `events/maintenance/scheduled`, a completed or canceled one in
    /// `.../history` with its description prefixed `[Completed] ` or
    /// `[Canceled] `.
    pub fn set_scheduled_event_state(
        &self,
        event_id: &str,
        state: ScheduledEventState,
    ) -> Result<(), EventError> {
        self.state().events.set_scheduled_state(event_id, state)
    }

    /// Cancels a scheduled event (it moves to `history`).
    pub fn cancel_scheduled_event(&self, event_id: &str) -> Result<(), EventError> {
        self.set_scheduled_event_state(event_id, ScheduledEventState::Canceled)
    }

    /// Completes a scheduled event (it moves to `history`).
    pub fn complete_scheduled_event(&self, event_id: &str) -> Result<(), EventError> {
        self.set_scheduled_event_state(event_id, ScheduledEventState::Completed)
    }

    /// Removes a scheduled event from both lists.
    pub fn remove_scheduled_event(&self, event_id: &str) -> Result<(), EventError> {
        self.state().events.remove_scheduled(event_id)
    }

    /// Sets the Auto Scaling target lifecycle state and its planned
    /// termination, if any (a delay counts from now).
    pub fn set_autoscaling(&self, autoscaling: AutoScaling) {
        let state = self.state();
        state
            .events
            .set_autoscaling(&autoscaling, state.clock.wall_now());
    }

    /// Serves `state` (any text) as the target lifecycle state from now on,
    /// dropping any planned termination.
    pub fn set_target_lifecycle_state(&self, state: impl Into<String>) {
        self.set_autoscaling(AutoScaling::new(state));
    }

    /// Takes the instance out of Auto Scaling:
    /// `autoscaling/target-lifecycle-state` is 404.
    pub fn remove_target_lifecycle_state(&self) {
        self.state().events.remove_autoscaling();
    }
}
