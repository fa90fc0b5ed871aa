//! The event scenarios over HTTP: each appears at its time (on tokio's
//! paused clock), changes and disappears, listings follow, and the
//! library's live changes take effect at the next read.

mod common;

use std::time::{Duration, SystemTime};

use common::{get, token};
use http::StatusCode;
use imds_mock::{
    AutoScaling, Config, ConfigBuilder, ConfigError, EventError, MockImds, RebalanceRecommendation,
    ScheduledEvent, ScheduledEventCode, ScheduledEventState, SpotAction, SpotNotice,
};
use serde_json::Value;

const INSTANCE_ACTION: &str = "/latest/meta-data/spot/instance-action";
const TERMINATION_TIME: &str = "/latest/meta-data/spot/termination-time";
const REBALANCE: &str = "/latest/meta-data/events/recommendations/rebalance";
const SCHEDULED: &str = "/latest/meta-data/events/maintenance/scheduled";
const HISTORY: &str = "/latest/meta-data/events/maintenance/history";
const LIFECYCLE: &str = "/latest/meta-data/autoscaling/target-lifecycle-state";

/// A server and a token that outlives every test here.
struct Instance {
    server: MockImds,
    token: String,
}

impl Instance {
    async fn start(config: Config) -> Self {
        let server = config.start().await.unwrap();
        let token = token(&server).await;
        Self { server, token }
    }

    /// Starts `builder`'s config plus a rebalance recommendation that
    /// appears at once, whose `noticeTime` is the server's start (to the
    /// second: it drops the fraction); returns the instance and that time.
    async fn start_timed(builder: ConfigBuilder) -> (Self, SystemTime) {
        let config = builder
            .rebalance_recommendation(RebalanceRecommendation::new())
            .build();
        let imds = Self::start(config).await;
        let start = rfc3339(&imds.json(REBALANCE).await["noticeTime"]);
        (imds, start)
    }

    async fn status(&self, path: &str) -> StatusCode {
        get(&self.server, path, Some(&self.token)).await.status
    }

    async fn text(&self, path: &str) -> String {
        let reply = get(&self.server, path, Some(&self.token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        reply.text().to_owned()
    }

    async fn json(&self, path: &str) -> Value {
        serde_json::from_str(&self.text(path).await).unwrap()
    }

    async fn entries(&self, dir: &str) -> Vec<String> {
        let reply = get(&self.server, dir, Some(&self.token)).await;
        if reply.status == StatusCode::NOT_FOUND {
            return Vec::new();
        }
        reply.text().split('\n').map(str::to_owned).collect()
    }
}

fn rfc3339(value: &Value) -> SystemTime {
    let text = value.as_str().expect("a time string");
    assert_eq!(text.len(), 20, "{text}: whole seconds, UTC");
    humantime::parse_rfc3339(text).unwrap()
}

/// `21 Jan 2026 09:00:43 GMT`.
fn is_event_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split(' ').collect();
    matches!(parts.as_slice(), [day, month, year, clock, "GMT"]
        if (1..=2).contains(&day.len()) && !day.starts_with('0')
            && month.len() == 3 && year.len() == 4 && clock.len() == 8)
}

#[tokio::test(start_paused = true)]
async fn a_spot_notice_appears_after_its_delay_with_time_two_minutes_later() {
    let (imds, start) = Instance::start_timed(
        MockImds::builder()
            .spot_notice(SpotNotice::new(SpotAction::Terminate).after(Duration::from_secs(30))),
    )
    .await;

    assert_eq!(imds.status(INSTANCE_ACTION).await, StatusCode::NOT_FOUND);
    assert_eq!(imds.status(TERMINATION_TIME).await, StatusCode::NOT_FOUND);
    assert_eq!(
        imds.status("/latest/meta-data/spot/").await,
        StatusCode::NOT_FOUND
    );
    assert!(
        !imds
            .entries("/latest/meta-data/")
            .await
            .contains(&"spot/".to_owned())
    );

    tokio::time::advance(Duration::from_secs(30) - Duration::from_millis(1)).await;
    assert_eq!(imds.status(INSTANCE_ACTION).await, StatusCode::NOT_FOUND);
    tokio::time::advance(Duration::from_millis(1)).await;
    let text = imds.text(INSTANCE_ACTION).await;
    let action: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(action["action"], "terminate");
    let time = rfc3339(&action["time"]);
    assert_eq!(
        time.duration_since(start).unwrap(),
        Duration::from_secs(150)
    );
    assert_eq!(
        imds.text(TERMINATION_TIME).await,
        action["time"].as_str().unwrap()
    );
    assert!(
        text.starts_with("{\"action\": \"terminate\", \"time\": \""),
        "{text}"
    );
    assert!(
        imds.entries("/latest/meta-data/")
            .await
            .contains(&"spot/".to_owned())
    );
    assert_eq!(
        imds.entries("/latest/meta-data/spot/").await,
        ["instance-action", "termination-time"]
    );

    // Still the same notice later on: its time does not move.
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(imds.json(INSTANCE_ACTION).await, action);

    imds.server.withdraw_spot_notice();
    assert_eq!(imds.status(INSTANCE_ACTION).await, StatusCode::NOT_FOUND);
    assert_eq!(imds.status(TERMINATION_TIME).await, StatusCode::NOT_FOUND);
    assert!(
        !imds
            .entries("/latest/meta-data/")
            .await
            .contains(&"spot/".to_owned())
    );
}

#[tokio::test(start_paused = true)]
async fn a_live_spot_notice_counts_its_delay_from_the_call_and_can_change() {
    let imds = Instance::start(Config::default()).await;
    tokio::time::advance(Duration::from_secs(100)).await;
    imds.server
        .set_spot_notice(SpotNotice::new(SpotAction::Stop).after(Duration::from_secs(5)));
    tokio::time::advance(Duration::from_secs(4)).await;
    assert_eq!(imds.status(INSTANCE_ACTION).await, StatusCode::NOT_FOUND);
    tokio::time::advance(Duration::from_secs(1)).await;
    let first = imds.json(INSTANCE_ACTION).await;
    assert_eq!(first["action"], "stop");

    // Changed while clients poll: the action and the time move.
    tokio::time::advance(Duration::from_secs(10)).await;
    imds.server
        .set_spot_notice(SpotNotice::new(SpotAction::Terminate));
    let second = imds.json(INSTANCE_ACTION).await;
    assert_eq!(second["action"], "terminate");
    assert_eq!(
        rfc3339(&second["time"])
            .duration_since(rfc3339(&first["time"]))
            .unwrap(),
        Duration::from_secs(10)
    );
}

/// EC2's rules, which AEMM does not follow: a hibernation gets no
/// two-minute warning ("hibernation begins immediately"), and
/// `spot/termination-time` is there only when the instance is marked for
/// termination. AEMM's behaviour is a choice away.
#[tokio::test(start_paused = true)]
async fn only_a_termination_has_a_termination_time_and_a_hibernation_no_warning() {
    let (imds, start) = Instance::start_timed(MockImds::builder()).await;
    let lead = |action: &Value| rfc3339(&action["time"]).duration_since(start).unwrap();
    let spot_entries = || imds.entries("/latest/meta-data/spot/");

    imds.server
        .set_spot_notice(SpotNotice::new(SpotAction::Hibernate));
    let action = imds.json(INSTANCE_ACTION).await;
    assert_eq!(action["action"], "hibernate");
    assert_eq!(lead(&action), Duration::ZERO);
    assert_eq!(imds.status(TERMINATION_TIME).await, StatusCode::NOT_FOUND);
    assert_eq!(spot_entries().await, ["instance-action"]);

    imds.server
        .set_spot_notice(SpotNotice::new(SpotAction::Stop));
    let action = imds.json(INSTANCE_ACTION).await;
    assert_eq!(lead(&action), SpotNotice::LEAD_TIME);
    assert_eq!(imds.status(TERMINATION_TIME).await, StatusCode::NOT_FOUND);
    assert_eq!(spot_entries().await, ["instance-action"]);

    imds.server
        .set_spot_notice(SpotNotice::new(SpotAction::Terminate));
    let action = imds.json(INSTANCE_ACTION).await;
    assert_eq!(lead(&action), SpotNotice::LEAD_TIME);
    assert_eq!(
        imds.text(TERMINATION_TIME).await,
        action["time"].as_str().unwrap()
    );
    assert_eq!(
        spot_entries().await,
        ["instance-action", "termination-time"]
    );

    // AEMM's way: two minutes and a termination-time for every action.
    imds.server.set_spot_notice(
        SpotNotice::new(SpotAction::Hibernate)
            .lead_time(Duration::from_secs(120))
            .termination_time_for_any_action(),
    );
    let action = imds.json(INSTANCE_ACTION).await;
    assert_eq!(lead(&action), Duration::from_secs(120));
    assert_eq!(
        imds.text(TERMINATION_TIME).await,
        action["time"].as_str().unwrap()
    );
    // The same in JSON.
    let json: SpotNotice = serde_json::from_str(
        r#"{"action": "hibernate", "lead_secs": 120, "termination_time_for_any_action": true}"#,
    )
    .unwrap();
    assert_eq!(
        json,
        SpotNotice::new(SpotAction::Hibernate)
            .lead_time(Duration::from_secs(120))
            .termination_time_for_any_action()
    );
}

#[tokio::test(start_paused = true)]
async fn a_spot_notice_at_a_wall_clock_time() {
    let (imds, start) = Instance::start_timed(MockImds::builder()).await;
    let fixed = start + Duration::from_secs(3600);
    imds.server.set_spot_notice(
        SpotNotice::new(SpotAction::Terminate)
            .at(start + Duration::from_secs(10))
            .time(fixed),
    );
    tokio::time::advance(Duration::from_secs(8)).await;
    assert_eq!(imds.status(INSTANCE_ACTION).await, StatusCode::NOT_FOUND);
    tokio::time::advance(Duration::from_secs(2)).await;
    let action = imds.json(INSTANCE_ACTION).await;
    assert_eq!(rfc3339(&action["time"]), fixed);
}

#[tokio::test(start_paused = true)]
async fn a_rebalance_recommendation_has_its_own_delay_and_listing() {
    let imds = Instance::start(
        MockImds::builder()
            .rebalance_recommendation(RebalanceRecommendation::new().after(Duration::from_secs(10)))
            .build(),
    )
    .await;
    assert_eq!(imds.status(REBALANCE).await, StatusCode::NOT_FOUND);
    assert_eq!(
        imds.entries("/latest/meta-data/events/").await,
        ["maintenance/"]
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    let text = imds.text(REBALANCE).await;
    assert!(text.starts_with("{\"noticeTime\": \""), "{text}");
    assert_eq!(
        imds.entries("/latest/meta-data/events/").await,
        ["maintenance/", "recommendations/"]
    );
    assert_eq!(
        imds.entries("/latest/meta-data/events/recommendations/")
            .await,
        ["rebalance"]
    );
    imds.server.withdraw_rebalance_recommendation();
    assert_eq!(imds.status(REBALANCE).await, StatusCode::NOT_FOUND);
    assert_eq!(
        imds.entries("/latest/meta-data/events/").await,
        ["maintenance/"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_event_goes_from_scheduled_to_history_when_canceled() {
    let id = "instance-event-0d59937288b749b32";
    let imds = Instance::start(
        MockImds::builder()
            .scheduled_event(ScheduledEvent::new(ScheduledEventCode::SystemReboot).event_id(id))
            .build(),
    )
    .await;
    let scheduled = imds.json(SCHEDULED).await;
    let event = &scheduled.as_array().unwrap()[..];
    assert_eq!(event.len(), 1);
    let event = &event[0];
    assert_eq!(event["EventId"], id);
    assert_eq!(event["Code"], "system-reboot");
    assert_eq!(event["State"], "active");
    assert_eq!(
        event["Description"],
        "The instance is scheduled for a reboot"
    );
    assert!(
        is_event_date(event["NotBefore"].as_str().unwrap()),
        "{event}"
    );
    assert!(event.get("NotAfter").is_none() && event.get("NotBeforeDeadline").is_none());
    assert_eq!(imds.text(HISTORY).await, "[]");

    imds.server.cancel_scheduled_event(id).unwrap();
    assert_eq!(imds.text(SCHEDULED).await, "[]");
    let history = imds.json(HISTORY).await;
    assert_eq!(history[0]["EventId"], id);
    assert_eq!(history[0]["State"], "canceled");
    assert_eq!(
        history[0]["Description"],
        "[Canceled] The instance is scheduled for a reboot"
    );
    assert_eq!(history[0]["NotBefore"], event["NotBefore"]);

    imds.server.remove_scheduled_event(id).unwrap();
    assert_eq!(imds.text(HISTORY).await, "[]");
    assert_eq!(
        imds.server.complete_scheduled_event(id),
        Err(EventError::UnknownEventId(id.to_owned()))
    );
}

#[tokio::test(start_paused = true)]
async fn scheduled_events_appear_on_time_with_their_window_in_aws_form() {
    let not_before = SystemTime::UNIX_EPOCH + Duration::from_secs(1_548_061_243);
    let imds = Instance::start(
        MockImds::builder()
            .scheduled_event(
                ScheduledEvent::new(ScheduledEventCode::InstanceRetirement)
                    .event_id("instance-event-1")
                    .description("retiring")
                    .not_before(not_before)
                    .not_after(not_before + Duration::from_secs(1000))
                    .not_before_deadline(not_before + Duration::from_secs(9 * 86_400))
                    .after(Duration::from_secs(60)),
            )
            .build(),
    )
    .await;
    assert_eq!(imds.text(SCHEDULED).await, "[]");
    tokio::time::advance(Duration::from_secs(60)).await;
    let text = imds.text(SCHEDULED).await;
    assert!(
        text.starts_with("[ {\n  \"NotBefore\" : \"21 Jan 2019 09:00:43 GMT\",\n"),
        "{text}"
    );
    let event = &serde_json::from_str::<Value>(&text).unwrap()[0];
    assert_eq!(event["NotAfter"], "21 Jan 2019 09:17:23 GMT");
    assert_eq!(event["NotBeforeDeadline"], "30 Jan 2019 09:00:43 GMT");
    assert_eq!(event["Description"], "retiring");

    // A second event, added live; completing the first leaves it active.
    let second = imds
        .server
        .add_scheduled_event(ScheduledEvent::new(ScheduledEventCode::InstanceStop));
    assert!(
        second.starts_with("instance-event-") && second.len() == 32,
        "{second}"
    );
    imds.server
        .complete_scheduled_event("instance-event-1")
        .unwrap();
    let scheduled = imds.json(SCHEDULED).await;
    assert_eq!(scheduled.as_array().unwrap().len(), 1);
    assert_eq!(scheduled[0]["EventId"], second.as_str());
    let history = imds.json(HISTORY).await;
    assert_eq!(history[0]["Description"], "[Completed] retiring");
    assert_eq!(history[0]["State"], "completed");
    // Back to active (a test may want the odd transition too).
    imds.server
        .set_scheduled_event_state("instance-event-1", ScheduledEventState::Active)
        .unwrap();
    assert_eq!(imds.json(SCHEDULED).await.as_array().unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_lifecycle_state_turns_terminated_after_its_delay() {
    let imds = Instance::start(
        MockImds::builder()
            .autoscaling(AutoScaling::in_service().terminate_after(Duration::from_secs(60)))
            .build(),
    )
    .await;
    assert_eq!(imds.text(LIFECYCLE).await, "InService");
    assert!(
        imds.entries("/latest/meta-data/")
            .await
            .contains(&"autoscaling/".to_owned())
    );
    assert_eq!(
        imds.entries("/latest/meta-data/autoscaling/").await,
        ["target-lifecycle-state"]
    );
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(imds.text(LIFECYCLE).await, "InService");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(imds.text(LIFECYCLE).await, "Terminated");

    imds.server.set_target_lifecycle_state("Warmed:Hibernated");
    assert_eq!(imds.text(LIFECYCLE).await, "Warmed:Hibernated");
    imds.server.remove_target_lifecycle_state();
    assert_eq!(imds.status(LIFECYCLE).await, StatusCode::NOT_FOUND);
    assert!(
        !imds
            .entries("/latest/meta-data/")
            .await
            .contains(&"autoscaling/".to_owned())
    );
}

#[tokio::test]
async fn nothing_by_default_and_advance_clock_fires_triggers_too() {
    let imds = Instance::start(Config::default()).await;
    for path in [INSTANCE_ACTION, TERMINATION_TIME, REBALANCE, LIFECYCLE] {
        assert_eq!(imds.status(path).await, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(imds.text(SCHEDULED).await, "[]");
    assert_eq!(imds.text(HISTORY).await, "[]");

    // Without a paused clock: the server's own offset moves its triggers.
    imds.server
        .set_spot_notice(SpotNotice::new(SpotAction::Stop).after(Duration::from_secs(3600)));
    imds.server
        .set_autoscaling(AutoScaling::new("Standby").terminate_after(Duration::from_secs(3600)));
    assert_eq!(imds.status(INSTANCE_ACTION).await, StatusCode::NOT_FOUND);
    assert_eq!(imds.text(LIFECYCLE).await, "Standby");
    imds.server.advance_clock(Duration::from_secs(3600));
    assert_eq!(imds.json(INSTANCE_ACTION).await["action"], "stop");
    assert_eq!(imds.text(LIFECYCLE).await, "Terminated");
}

#[tokio::test(start_paused = true)]
async fn the_json_config_sets_every_scenario() {
    let file = common::temp_file(
        r#"{
          "events": {
            "spot": { "action": "hibernate", "delay_secs": 5 },
            "rebalance": { "notice_time": "2026-01-21T09:00:43Z" },
            "scheduled": [ { "code": "instance-reboot", "state": "completed", "event_id": "instance-event-2",
                             "not_before": "2026-01-21T09:00:43Z" } ],
            "autoscaling": { "state": "Standby" }
          }
        }"#,
    );
    let imds = Instance::start(Config::from_file(file.path()).unwrap()).await;
    assert_eq!(imds.status(INSTANCE_ACTION).await, StatusCode::NOT_FOUND);
    assert_eq!(
        imds.json(REBALANCE).await["noticeTime"],
        "2026-01-21T09:00:43Z"
    );
    assert_eq!(imds.text(SCHEDULED).await, "[]");
    let history = imds.json(HISTORY).await;
    assert_eq!(history[0]["NotBefore"], "21 Jan 2026 09:00:43 GMT");
    assert_eq!(
        history[0]["Description"],
        "[Completed] The instance is scheduled for a reboot"
    );
    assert_eq!(imds.text(LIFECYCLE).await, "Standby");
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(imds.json(INSTANCE_ACTION).await["action"], "hibernate");
}

#[test]
fn the_json_config_refuses_bad_events_with_a_clear_message() {
    for (text, needle) in [
        (
            r#"{"events": {"spot": {"action": "reboot"}}}"#,
            "unknown variant `reboot`",
        ),
        (
            r#"{"events": {"spot": {"delay": 5}}}"#,
            "unknown field `delay`",
        ),
        (r#"{"events": {"spoot": {}}}"#, "unknown field `spoot`"),
        (r#"{"events": {"rebalance": {"at": "noon"}}}"#, "RFC 3339"),
        (
            r#"{"events": {"scheduled": [{"code": "system-reboot", "state": "done"}]}}"#,
            "unknown variant `done`",
        ),
        (
            r#"{"events": {"autoscaling": {"terminate_after_secs": -3}}}"#,
            "0 or more",
        ),
    ] {
        let error = Config::from_json(text).unwrap_err();
        assert!(matches!(error, ConfigError::Json(_)), "{text}: {error:?}");
        assert!(error.to_string().contains(needle), "{text}: {error}");
    }
    for text in [
        r#"{"events": {"spot": {"delay_secs": 1, "at": "2026-01-21T09:00:43Z"}}}"#,
        r#"{"events": {"spot": {"time": "2026-01-21T09:00:43Z", "lead_secs": 120}}}"#,
    ] {
        let error = Config::from_json(text).unwrap_err();
        assert!(matches!(error, ConfigError::Invalid(_)), "{error:?}");
        assert!(error.to_string().contains("not both"), "{error}");
    }
}

#[tokio::test(start_paused = true)]
async fn set_events_replaces_every_scenario_at_once() {
    let imds = Instance::start(
        MockImds::builder()
            .spot_notice(SpotNotice::new(SpotAction::Stop))
            .autoscaling(AutoScaling::in_service())
            .build(),
    )
    .await;
    assert_eq!(imds.status(INSTANCE_ACTION).await, StatusCode::OK);
    let events: imds_mock::Events = serde_json::from_str(
        r#"{"rebalance": {"delay_secs": 5}, "scheduled": [{"code": "instance-reboot"}]}"#,
    )
    .unwrap();
    imds.server.set_events(events);
    assert_eq!(imds.status(INSTANCE_ACTION).await, StatusCode::NOT_FOUND);
    assert_eq!(imds.status(LIFECYCLE).await, StatusCode::NOT_FOUND);
    assert_eq!(imds.status(REBALANCE).await, StatusCode::NOT_FOUND);
    assert_eq!(imds.json(SCHEDULED).await[0]["Code"], "instance-reboot");
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(imds.status(REBALANCE).await, StatusCode::OK);
}
