//! The scenarios as written: what should happen to the instance and when,
//! relative to the server's start (or, for a live change, to the call).
//! Serde types of the config's `events` object and of the control API.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::time::{rfc3339_opt, secs_opt};

/// The instance's events: a Spot interruption notice, a rebalance
/// recommendation, scheduled maintenance events and an Auto Scaling target
/// lifecycle state. Part of [`Config`](crate::Config) (its `events`
/// object) and of [`ConfigBuilder`](crate::ConfigBuilder); changed live
/// with [`MockImds`](crate::MockImds)'s methods or the control API.
///
/// | scenario | paths (404 while absent) |
/// |---|---|
/// | [`SpotNotice`] | `meta-data/spot/instance-action`, `meta-data/spot/termination-time` (`terminate` only) |
/// | [`RebalanceRecommendation`] | `meta-data/events/recommendations/rebalance` |
/// | [`ScheduledEvent`] | `meta-data/events/maintenance/scheduled` (active), `.../history` (completed, canceled) |
/// | [`AutoScaling`] | `meta-data/autoscaling/target-lifecycle-state` |
///
/// Each appears after a delay (from the server's start, or from the call
/// for a live change) or at a wall-clock time, both on the server clock:
/// tokio's clock, which a test pauses and advances, plus
/// [`MockImds::advance_clock`](crate::MockImds::advance_clock). Directory
/// listings (`meta-data/`, `meta-data/spot/`, `meta-data/events/`, ...)
/// list exactly what exists at that moment.
///
/// ```
/// use std::time::Duration;
/// use imds_mock::{AutoScaling, MockImds, ScheduledEvent, ScheduledEventCode, SpotAction, SpotNotice};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let server = MockImds::builder()
///     .spot_notice(SpotNotice::new(SpotAction::Terminate).after(Duration::from_secs(30)))
///     .autoscaling(AutoScaling::in_service().terminate_after(Duration::from_secs(60)))
///     .build()
///     .start()
///     .await?;
/// // While a client polls:
/// let id = server.add_scheduled_event(ScheduledEvent::new(ScheduledEventCode::SystemReboot));
/// server.cancel_scheduled_event(&id).expect("the event exists"); // moves to history
/// server.withdraw_spot_notice();
/// server.set_target_lifecycle_state("Standby");
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
///
/// In the JSON config:
///
/// ```json
/// "events": {
///   "spot": { "action": "terminate", "delay_secs": 30 },
///   "rebalance": { "delay_secs": 10 },
///   "scheduled": [ { "code": "system-reboot", "event_id": "instance-event-0d59937288b749b32" } ],
///   "autoscaling": { "state": "InService", "terminate_after_secs": 60 }
/// }
/// ```
///
/// Nothing is set by default: `spot/` and `events/recommendations/` are
/// 404, `events/maintenance/scheduled` and `.../history` are `[]`, and
/// `autoscaling/` is 404 (an instance outside any Auto Scaling group).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Events {
    /// `meta-data/spot/instance-action` and `spot/termination-time`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spot: Option<SpotNotice>,
    /// `meta-data/events/recommendations/rebalance`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebalance: Option<RebalanceRecommendation>,
    /// `meta-data/events/maintenance/scheduled` (active events) and
    /// `.../history` (completed and canceled ones).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scheduled: Vec<ScheduledEvent>,
    /// `meta-data/autoscaling/target-lifecycle-state`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoScaling>,
}

impl Events {
    /// Checks what serde cannot: one trigger per scenario, unique event
    /// ids, lifecycle states that IMDS could serve.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(spot) = &self.spot {
            spot.validate("events.spot")?;
        }
        if let Some(rebalance) = &self.rebalance {
            rebalance.validate("events.rebalance")?;
        }
        for (i, event) in self.scheduled.iter().enumerate() {
            event.validate(&format!("events.scheduled[{i}]"))?;
            if let Some(id) = &event.event_id
                && self.scheduled[..i]
                    .iter()
                    .any(|e| e.event_id.as_ref() == Some(id))
            {
                return Err(format!(
                    "events.scheduled[{i}]: event_id {id:?} is used twice"
                ));
            }
        }
        if let Some(autoscaling) = &self.autoscaling {
            autoscaling.validate("events.autoscaling")?;
        }
        Ok(())
    }
}

fn one_trigger(what: &str, delay: Option<Duration>, at: Option<SystemTime>) -> Result<(), String> {
    match (delay, at) {
        (Some(_), Some(_)) => Err(format!(
            "{what}: give delay_secs or at, not both (delay_secs counts from the server's start)"
        )),
        _ => Ok(()),
    }
}

/// When a scenario takes effect: so long after the server started (or,
/// for a live change, after the call), or at a wall-clock time. Both are
/// read off the server clock, which is tokio's (pausable) clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    After(Duration),
    At(SystemTime),
}

impl Trigger {
    fn of(delay: Option<Duration>, at: Option<SystemTime>) -> Self {
        match (at, delay) {
            (Some(at), _) => Self::At(at),
            (None, delay) => Self::After(delay.unwrap_or_default()),
        }
    }

    /// The wall time this trigger fires, counting delays from `origin`.
    /// Saturates far in the future rather than overflowing.
    pub(crate) fn resolve(self, origin: SystemTime) -> SystemTime {
        match self {
            Self::At(at) => at,
            Self::After(delay) => origin
                .checked_add(delay)
                .unwrap_or_else(|| origin + Duration::from_secs(1 << 40)),
        }
    }
}

/// What a Spot interruption notice announces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpotAction {
    /// The instance will be terminated (the default).
    #[default]
    Terminate,
    /// The instance will be stopped.
    Stop,
    /// The instance will be hibernated.
    Hibernate,
}

impl SpotAction {
    /// `terminate`, `stop` or `hibernate`, as IMDS writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Terminate => "terminate",
            Self::Stop => "stop",
            Self::Hibernate => "hibernate",
        }
    }
}

impl fmt::Display for SpotAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Spot interruption notice: `meta-data/spot/instance-action`
/// (`{"action": "terminate", "time": "2026-12-02T10:04:05Z"}`), 404 until
/// the notice appears, and for a `terminate` notice
/// `meta-data/spot/termination-time` (the same time, bare).
///
/// As EC2 does: the action's `time` is two minutes after the notice for
/// `terminate` and `stop`, and the notice's own time for `hibernate`
/// ("hibernation begins immediately": no two-minute warning); and
/// `termination-time` is present only when the instance is marked for
/// termination, so a `stop` or `hibernate` notice has none (AEMM gives
/// every action both: [`lead_time`](Self::lead_time) and
/// [`termination_time_for_any_action`](Self::termination_time_for_any_action)
/// do the same).
///
/// ```
/// use std::time::Duration;
/// use imds_mock::{SpotAction, SpotNotice};
///
/// // Appears 30 s after the server starts; `time` is then 2 minutes later.
/// let notice = SpotNotice::new(SpotAction::Stop).after(Duration::from_secs(30));
/// # let _ = notice;
/// ```
///
/// JSON: `{"action": "stop", "delay_secs": 30}`; `"at": "RFC 3339"` instead
/// of `delay_secs`; `"time": "RFC 3339"` to set the action's time, or
/// `"lead_secs": 120` to set how long after the notice it is;
/// `"termination_time_for_any_action": true`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotNotice {
    #[serde(default)]
    action: SpotAction,
    #[serde(
        default,
        rename = "delay_secs",
        with = "secs_opt",
        skip_serializing_if = "Option::is_none"
    )]
    delay: Option<Duration>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    at: Option<SystemTime>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    time: Option<SystemTime>,
    #[serde(
        default,
        rename = "lead_secs",
        with = "secs_opt",
        skip_serializing_if = "Option::is_none"
    )]
    lead: Option<Duration>,
    #[serde(default, skip_serializing_if = "is_false")]
    termination_time_for_any_action: bool,
}

fn is_false(value: &bool) -> bool {
    !value
}

impl SpotNotice {
    /// How long before a stop or a termination its notice comes, by
    /// default: EC2's two-minute warning. A hibernation has none.
    pub const LEAD_TIME: Duration = Duration::from_secs(120);

    /// A notice of `action` that appears at once.
    pub fn new(action: SpotAction) -> Self {
        Self {
            action,
            ..Self::default()
        }
    }

    /// Appears `delay` after the server starts (for a live change: after
    /// the call).
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self.at = None;
        self
    }

    /// Appears at this wall-clock time (on the server clock).
    pub fn at(mut self, time: SystemTime) -> Self {
        self.at = Some(time);
        self.delay = None;
        self
    }

    /// The action's `time`; by default the notice's appearance plus its
    /// [lead time](Self::lead_time).
    pub fn time(mut self, time: SystemTime) -> Self {
        self.time = Some(time);
        self.lead = None;
        self
    }

    /// How long after the notice's appearance the action's `time` is:
    /// [`LEAD_TIME`](Self::LEAD_TIME) for terminate and stop and zero for
    /// hibernate unless set (AEMM: two minutes for every action).
    pub fn lead_time(mut self, lead: Duration) -> Self {
        self.lead = Some(lead);
        self.time = None;
        self
    }

    /// Serves `spot/termination-time` whatever the action, as AEMM does.
    /// By default only a `terminate` notice has it: EC2 serves it only
    /// when the instance is marked for termination.
    pub fn termination_time_for_any_action(mut self) -> Self {
        self.termination_time_for_any_action = true;
        self
    }

    /// The announced action.
    pub fn action(&self) -> SpotAction {
        self.action
    }

    pub(crate) fn trigger(&self) -> Trigger {
        Trigger::of(self.delay, self.at)
    }

    /// The action's `time` for a notice that appears at `appears`.
    pub(crate) fn time_for(&self, appears: SystemTime) -> SystemTime {
        let lead = self.lead.unwrap_or(match self.action {
            SpotAction::Hibernate => Duration::ZERO,
            SpotAction::Terminate | SpotAction::Stop => Self::LEAD_TIME,
        });
        self.time
            .unwrap_or_else(|| appears.checked_add(lead).unwrap_or(appears))
    }

    /// Whether `spot/termination-time` is served with the notice.
    pub(crate) fn serves_termination_time(&self) -> bool {
        self.termination_time_for_any_action || self.action == SpotAction::Terminate
    }

    pub(crate) fn validate(&self, what: &str) -> Result<(), String> {
        one_trigger(what, self.delay, self.at)?;
        if self.time.is_some() && self.lead.is_some() {
            return Err(format!("{what}: give time or lead_secs, not both"));
        }
        Ok(())
    }
}

/// A rebalance recommendation: `meta-data/events/recommendations/rebalance`
/// (`{"noticeTime": "2026-12-02T10:00:00Z"}`), 404 until it appears.
///
/// JSON: `{"delay_secs": 10}` or `{"at": "RFC 3339"}`; `"notice_time"` to
/// set `noticeTime` (by default the time it appears).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebalanceRecommendation {
    #[serde(
        default,
        rename = "delay_secs",
        with = "secs_opt",
        skip_serializing_if = "Option::is_none"
    )]
    delay: Option<Duration>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    at: Option<SystemTime>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    notice_time: Option<SystemTime>,
}

impl RebalanceRecommendation {
    /// A recommendation that appears at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appears `delay` after the server starts (for a live change: after
    /// the call).
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self.at = None;
        self
    }

    /// Appears at this wall-clock time (on the server clock).
    pub fn at(mut self, time: SystemTime) -> Self {
        self.at = Some(time);
        self.delay = None;
        self
    }

    /// `noticeTime`; by default the time the recommendation appears.
    pub fn notice_time(mut self, time: SystemTime) -> Self {
        self.notice_time = Some(time);
        self
    }

    pub(crate) fn trigger(&self) -> Trigger {
        Trigger::of(self.delay, self.at)
    }

    pub(crate) fn fixed_notice_time(&self) -> Option<SystemTime> {
        self.notice_time
    }

    pub(crate) fn validate(&self, what: &str) -> Result<(), String> {
        one_trigger(what, self.delay, self.at)
    }
}

/// A scheduled event's `Code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduledEventCode {
    /// `instance-reboot`.
    InstanceReboot,
    /// `system-reboot`.
    SystemReboot,
    /// `system-maintenance`.
    SystemMaintenance,
    /// `instance-retirement`.
    InstanceRetirement,
    /// `instance-stop`.
    InstanceStop,
}

impl ScheduledEventCode {
    /// Every code, in AWS's documented order.
    pub const ALL: [Self; 5] = [
        Self::InstanceReboot,
        Self::SystemReboot,
        Self::SystemMaintenance,
        Self::InstanceRetirement,
        Self::InstanceStop,
    ];

    /// `instance-reboot`, `system-reboot`, ... as IMDS writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InstanceReboot => "instance-reboot",
            Self::SystemReboot => "system-reboot",
            Self::SystemMaintenance => "system-maintenance",
            Self::InstanceRetirement => "instance-retirement",
            Self::InstanceStop => "instance-stop",
        }
    }

    /// The code named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == text)
    }

    /// The description AWS gives such an event while it is active.
    pub(crate) fn default_description(self) -> &'static str {
        match self {
            Self::InstanceReboot | Self::SystemReboot => "The instance is scheduled for a reboot",
            Self::SystemMaintenance => "The instance is scheduled for system maintenance",
            Self::InstanceRetirement | Self::InstanceStop => {
                "The instance is running on degraded hardware"
            }
        }
    }
}

impl fmt::Display for ScheduledEventCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scheduled event's `State`. Active events are listed in
/// `events/maintenance/scheduled`; completed and canceled ones in
/// `events/maintenance/history`, their `Description` starting with
/// `[Completed]` or `[Canceled]`, as on a real instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduledEventState {
    /// Upcoming or under way (the default).
    #[default]
    Active,
    /// Done.
    Completed,
    /// Called off.
    Canceled,
}

impl ScheduledEventState {
    /// Every state.
    pub const ALL: [Self; 3] = [Self::Active, Self::Completed, Self::Canceled];

    /// `active`, `completed` or `canceled`, as IMDS writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Canceled => "canceled",
        }
    }

    /// The state named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// What AWS puts before the description once the event is over.
    pub(crate) fn description_prefix(self) -> Option<&'static str> {
        match self {
            Self::Active => None,
            Self::Completed => Some("[Completed] "),
            Self::Canceled => Some("[Canceled] "),
        }
    }
}

impl fmt::Display for ScheduledEventState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scheduled maintenance event, one object of
/// `events/maintenance/scheduled` or `.../history`:
/// `{"NotBefore", "Code", "Description", "EventId", "NotAfter",
/// "NotBeforeDeadline", "State"}`, dates as `21 Jan 2026 09:00:43 GMT`.
///
/// Defaults: `State` active; `EventId` `instance-event-` and 17 random hex
/// digits; `Description` AWS's for the code; `NotBefore` 7 days after the
/// event appears; `NotAfter` and `NotBeforeDeadline` absent unless set.
///
/// ```
/// use imds_mock::{ScheduledEvent, ScheduledEventCode};
///
/// let event = ScheduledEvent::new(ScheduledEventCode::SystemReboot)
///     .event_id("instance-event-0d59937288b749b32");
/// # let _ = event;
/// ```
///
/// JSON: `{"code": "system-reboot", "state": "active", "event_id": "...",
/// "description": "...", "not_before": "RFC 3339", "not_after": "RFC 3339",
/// "not_before_deadline": "RFC 3339", "delay_secs": 0}` (or `"at"`), all but
/// `code` optional.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledEvent {
    code: ScheduledEventCode,
    #[serde(default)]
    state: ScheduledEventState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    not_before: Option<SystemTime>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    not_after: Option<SystemTime>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    not_before_deadline: Option<SystemTime>,
    #[serde(
        default,
        rename = "delay_secs",
        with = "secs_opt",
        skip_serializing_if = "Option::is_none"
    )]
    delay: Option<Duration>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    at: Option<SystemTime>,
}

impl ScheduledEvent {
    /// How far after its appearance an event's window opens by default.
    pub const DEFAULT_NOTICE: Duration = Duration::from_secs(7 * 24 * 3600);

    /// An active event with this code, appearing at once.
    pub fn new(code: ScheduledEventCode) -> Self {
        Self {
            code,
            state: ScheduledEventState::Active,
            event_id: None,
            description: None,
            not_before: None,
            not_after: None,
            not_before_deadline: None,
            delay: None,
            at: None,
        }
    }

    /// `State` (listed in `history` unless active).
    pub fn state(mut self, state: ScheduledEventState) -> Self {
        self.state = state;
        self
    }

    /// `EventId`, e.g. `instance-event-0d59937288b749b32`.
    pub fn event_id(mut self, id: impl Into<String>) -> Self {
        self.event_id = Some(id.into());
        self
    }

    /// `Description` (prefixed `[Completed] ` or `[Canceled] ` when over).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// `NotBefore`: the earliest start of the event.
    pub fn not_before(mut self, time: SystemTime) -> Self {
        self.not_before = Some(time);
        self
    }

    /// `NotAfter`: the latest end of the event (absent unless set).
    pub fn not_after(mut self, time: SystemTime) -> Self {
        self.not_after = Some(time);
        self
    }

    /// `NotBeforeDeadline`: how late the event may be rescheduled to
    /// (absent unless set).
    pub fn not_before_deadline(mut self, time: SystemTime) -> Self {
        self.not_before_deadline = Some(time);
        self
    }

    /// Appears `delay` after the server starts (for a live change: after
    /// the call).
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self.at = None;
        self
    }

    /// Appears at this wall-clock time (on the server clock).
    pub fn at(mut self, time: SystemTime) -> Self {
        self.at = Some(time);
        self.delay = None;
        self
    }

    /// The event's code.
    pub fn code(&self) -> ScheduledEventCode {
        self.code
    }

    /// The event's `EventId`, if set (one is made up when it is added).
    pub fn id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    pub(crate) fn current_state(&self) -> ScheduledEventState {
        self.state
    }

    pub(crate) fn fixed_description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    pub(crate) fn window(&self) -> (Option<SystemTime>, Option<SystemTime>, Option<SystemTime>) {
        (self.not_before, self.not_after, self.not_before_deadline)
    }

    pub(crate) fn trigger(&self) -> Trigger {
        Trigger::of(self.delay, self.at)
    }

    pub(crate) fn validate(&self, what: &str) -> Result<(), String> {
        one_trigger(what, self.delay, self.at)?;
        if let Some(id) = &self.event_id
            && !is_event_id(id)
        {
            return Err(format!(
                "{what}: event_id {id:?} must be 1 to 128 characters of [A-Za-z0-9-_.]"
            ));
        }
        if let Some(description) = &self.description
            && description.chars().any(char::is_control)
        {
            return Err(format!(
                "{what}: description must not hold control characters"
            ));
        }
        Ok(())
    }
}

/// Event ids travel in control API paths: keep them to URL-safe text.
pub(crate) fn is_event_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// The Auto Scaling target lifecycle state,
/// `meta-data/autoscaling/target-lifecycle-state`: text such as
/// `InService`, `Terminated`, `Detached`, `Standby`, `Warmed:Running`.
///
/// ```
/// use std::time::Duration;
/// use imds_mock::AutoScaling;
///
/// // InService, then Terminated 60 s after the server starts.
/// let asg = AutoScaling::in_service().terminate_after(Duration::from_secs(60));
/// # let _ = asg;
/// ```
///
/// JSON: `{"state": "InService", "terminate_after_secs": 60}` (or
/// `"terminate_at": "RFC 3339"`); `state` defaults to `InService`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoScaling {
    #[serde(default = "in_service")]
    state: String,
    #[serde(
        default,
        rename = "terminate_after_secs",
        with = "secs_opt",
        skip_serializing_if = "Option::is_none"
    )]
    terminate_after: Option<Duration>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    terminate_at: Option<SystemTime>,
}

fn in_service() -> String {
    AutoScaling::IN_SERVICE.to_owned()
}

impl Default for AutoScaling {
    fn default() -> Self {
        Self::in_service()
    }
}

impl AutoScaling {
    /// `InService`.
    pub const IN_SERVICE: &str = "InService";
    /// `Terminated`.
    pub const TERMINATED: &str = "Terminated";

    /// `InService`, with no change planned.
    pub fn in_service() -> Self {
        Self::new(Self::IN_SERVICE)
    }

    /// This state (any text: unknown states are served as given), with no
    /// change planned.
    pub fn new(state: impl Into<String>) -> Self {
        Self {
            state: state.into(),
            terminate_after: None,
            terminate_at: None,
        }
    }

    /// Turns `Terminated` `delay` after the server starts (for a live
    /// change: after the call).
    pub fn terminate_after(mut self, delay: Duration) -> Self {
        self.terminate_after = Some(delay);
        self.terminate_at = None;
        self
    }

    /// Turns `Terminated` at this wall-clock time (on the server clock).
    pub fn terminate_at(mut self, time: SystemTime) -> Self {
        self.terminate_at = Some(time);
        self.terminate_after = None;
        self
    }

    /// The state served until the planned termination, if any.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// When it turns `Terminated`, if planned.
    pub(crate) fn termination(&self) -> Option<Trigger> {
        match (self.terminate_after, self.terminate_at) {
            (None, None) => None,
            (delay, at) => Some(Trigger::of(delay, at)),
        }
    }

    pub(crate) fn validate(&self, what: &str) -> Result<(), String> {
        if self.terminate_after.is_some() && self.terminate_at.is_some() {
            return Err(format!(
                "{what}: give terminate_after_secs or terminate_at, not both"
            ));
        }
        if self.state.is_empty() || self.state.chars().any(char::is_control) {
            return Err(format!(
                "{what}: state {:?} must be non-empty text on one line (InService, Terminated, Detached, Standby, Warmed:Running, ...)",
                self.state
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_forms_round_trip() {
        let text = r#"{
            "spot": {"action": "hibernate", "delay_secs": 1.5, "time": "2026-01-07T01:03:47Z"},
            "rebalance": {"at": "2026-01-07T01:00:00Z"},
            "scheduled": [{"code": "instance-stop", "state": "canceled", "event_id": "instance-event-1"}],
            "autoscaling": {"terminate_after_secs": 60}
        }"#;
        let events: Events = serde_json::from_str(text).unwrap();
        events.validate().unwrap();
        let spot = events.spot.as_ref().unwrap();
        assert_eq!(spot.action(), SpotAction::Hibernate);
        assert_eq!(spot.trigger(), Trigger::After(Duration::from_millis(1500)));
        assert_eq!(events.autoscaling.as_ref().unwrap().state(), "InService");
        let again: Events = serde_json::from_value(serde_json::to_value(&events).unwrap()).unwrap();
        assert_eq!(again, events);
        assert_eq!(
            serde_json::to_value(AutoScaling::in_service().terminate_after(Duration::from_secs(5)))
                .unwrap(),
            serde_json::json!({"state": "InService", "terminate_after_secs": 5})
        );
    }

    #[test]
    fn refuses_what_imds_could_not_serve() {
        let refused = |text: &str| {
            serde_json::from_str::<Events>(text)
                .map_err(|e| e.to_string())
                .and_then(|events| events.validate())
                .unwrap_err()
        };
        assert!(refused(r#"{"spot": {"action": "explode"}}"#).contains("unknown variant"));
        assert!(refused(r#"{"spot": {"delay_secs": -1}}"#).contains("0 or more"));
        assert!(
            refused(r#"{"spot": {"delay_secs": 1, "at": "2026-01-07T01:03:47Z"}}"#)
                .contains("not both")
        );
        assert!(refused(r#"{"spot": {"delay": 1}}"#).contains("unknown field"));
        assert!(refused(r#"{"rebalance": {"at": "tomorrow"}}"#).contains("RFC 3339"));
        assert!(
            refused(r#"{"scheduled": [{"state": "active"}]}"#).contains("missing field `code`")
        );
        assert!(refused(r#"{"scheduled": [{"code": "reboot"}]}"#).contains("unknown variant"));
        assert!(
            refused(r#"{"scheduled": [{"code": "system-reboot", "state": "done"}]}"#)
                .contains("unknown variant")
        );
        assert!(
            refused(r#"{"scheduled": [{"code": "system-reboot", "event_id": "a"}, {"code": "instance-stop", "event_id": "a"}]}"#)
                .contains("used twice")
        );
        assert!(
            refused(r#"{"scheduled": [{"code": "system-reboot", "event_id": "a/b"}]}"#)
                .contains("event_id")
        );
        assert!(refused(r#"{"autoscaling": {"state": ""}}"#).contains("non-empty"));
        assert!(refused(r#"{"autoscaling": {"state": "In\nService"}}"#).contains("one line"));
    }

    #[test]
    fn codes_and_states_parse_their_own_names() {
        for code in ScheduledEventCode::ALL {
            assert_eq!(ScheduledEventCode::parse(code.as_str()), Some(code));
        }
        for state in ScheduledEventState::ALL {
            assert_eq!(ScheduledEventState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ScheduledEventCode::parse("reboot"), None);
    }
}
