//! The event documents and the watcher, over the mock on tokio's paused
//! clock (the mock's server clock and the client's follow it together, so
//! thousands of 5 s polls take no time), and over a fake HTTP service where
//! one path must fail alone or concurrency is counted.

mod support;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use imds::events::{
    Change, Event, EventKind, Events, Interruption, MaintenanceCode, MaintenanceState,
    SpotInstanceAction, TargetLifecycleState,
};
use imds::{Client, Error};
use imds_mock::MockImds;
use support::{builder_for, isolated};
use tokio::time::Instant;

const SPOT: &str = "meta-data/spot/instance-action";
const REBALANCE: &str = "meta-data/events/recommendations/rebalance";
const SCHEDULED: &str = "meta-data/events/maintenance/scheduled";
const ASG: &str = "meta-data/autoscaling/target-lifecycle-state";
const INTERVAL: Duration = imds::events::DEFAULT_INTERVAL;

// ---- helpers ---------------------------------------------------------------

fn spot_body(action: &str, time: &str) -> String {
    format!(r#"{{"action": "{action}", "time": "{time}", "unknown": [1]}}"#)
}

fn spot(action: &str, time: &str) -> SpotInstanceAction {
    serde_json::from_str(&spot_body(action, time)).unwrap()
}

fn maintenance_body(events: &[(&str, &str)]) -> String {
    let events: Vec<_> = events
        .iter()
        .map(|(id, state)| {
            serde_json::json!({
                "Code": "system-reboot", "Description": "scheduled reboot", "EventId": id,
                "NotBefore": "21 Jan 2026 09:00:43 GMT", "NotAfter": "21 Jan 2026 09:17:23 GMT",
                "State": state,
            })
        })
        .collect();
    serde_json::Value::Array(events).to_string()
}

/// The next item, within two simulated minutes.
async fn next_item(events: &mut Events) -> Result<Event, Error> {
    tokio::time::timeout(Duration::from_secs(120), events.next())
        .await
        .expect("an item within 2 min")
        .expect("the stream goes on")
}

/// The next item, which must be an event.
async fn next_event(events: &mut Events) -> Event {
    next_item(events).await.expect("an event, not an error")
}

/// Asserts that nothing comes for `cycles` polls.
async fn quiet(events: &mut Events, cycles: u32) {
    let wait = (INTERVAL + INTERVAL / 10) * cycles;
    if let Ok(item) = tokio::time::timeout(wait, events.next()).await {
        panic!("expected nothing for {cycles} polls, got {item:?}");
    }
}

/// Every item until `cycles` polls pass with nothing new.
async fn items_until_quiet(events: &mut Events, cycles: u32) -> Vec<Result<Event, Error>> {
    let wait = (INTERVAL * MAX_BACKOFF) * cycles;
    let mut items = Vec::new();
    while let Ok(item) = tokio::time::timeout(wait, events.next()).await {
        items.push(item.expect("the stream goes on"));
    }
    items
}

/// Every item for `duration`.
async fn items_for(events: &mut Events, duration: Duration) -> Vec<Result<Event, Error>> {
    let deadline = Instant::now() + duration;
    let mut items = Vec::new();
    while let Ok(item) = tokio::time::timeout_at(deadline, events.next()).await {
        items.push(item.expect("the stream goes on"));
    }
    items
}

const MAX_BACKOFF: u32 = imds::events::MAX_BACKOFF_INTERVALS + 1;

fn events_only(items: &[Result<Event, Error>]) -> Vec<&Event> {
    items.iter().filter_map(|item| item.as_ref().ok()).collect()
}

// ---- the documents -----------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn getters_read_each_document_and_404_is_no_event() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock).build().unwrap();
    assert_eq!(client.spot_instance_action().await.unwrap(), None);
    assert_eq!(client.spot_termination_time().await.unwrap(), None);
    assert_eq!(client.rebalance_recommendation().await.unwrap(), None);
    assert_eq!(client.scheduled_maintenance().await.unwrap(), []);
    assert_eq!(client.maintenance_history().await.unwrap(), []);
    assert_eq!(client.target_lifecycle_state().await.unwrap(), None);
    mock.remove_metadata(SCHEDULED);
    assert_eq!(client.scheduled_maintenance().await.unwrap(), [], "404");

    // EC2 serves termination-time with a notice to terminate only.
    mock.set_metadata(SPOT, spot_body("terminate", "2026-12-02T10:04:05Z"));
    mock.set_metadata("meta-data/spot/termination-time", "2026-12-02T10:04:05Z\n");
    mock.set_metadata(REBALANCE, r#"{"noticeTime": "2026-12-02T10:02:05Z"}"#);
    mock.set_metadata(
        SCHEDULED,
        maintenance_body(&[("instance-event-1", "active")]),
    );
    mock.set_metadata(
        "meta-data/events/maintenance/history",
        maintenance_body(&[("instance-event-0", "completed")]),
    );
    mock.set_metadata(ASG, "Warmed:Running\n");

    let action = client.spot_instance_action().await.unwrap().unwrap();
    assert_eq!(action, spot("terminate", "2026-12-02T10:04:05Z"));
    let time = client.spot_termination_time().await.unwrap().unwrap();
    assert_eq!(time.as_str(), "2026-12-02T10:04:05Z");
    assert_eq!(time.time(), action.deadline());
    let rebalance = client.rebalance_recommendation().await.unwrap().unwrap();
    assert_eq!(rebalance.notice_time.as_str(), "2026-12-02T10:02:05Z");
    let scheduled = client.scheduled_maintenance().await.unwrap();
    assert_eq!(scheduled[0].code, MaintenanceCode::SystemReboot);
    assert_eq!(scheduled[0].state, MaintenanceState::Active);
    assert!(scheduled[0].not_after.as_ref().unwrap().time().is_some());
    let history = client.maintenance_history().await.unwrap();
    assert_eq!(history[0].state, MaintenanceState::Completed);
    assert_eq!(
        client.target_lifecycle_state().await.unwrap(),
        Some(TargetLifecycleState::WarmedRunning)
    );
    mock.set_metadata(ASG, "Pending:Proceed");
    assert_eq!(
        client.target_lifecycle_state().await.unwrap(),
        Some(TargetLifecycleState::Other("Pending:Proceed".into()))
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_and_server_errors_are_errors_never_no_event() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock).attempts(1).build().unwrap();
    client.token().await.unwrap();
    for status in [
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::SERVICE_UNAVAILABLE,
    ] {
        mock.fail_next(1, status);
        let error = client.spot_instance_action().await.unwrap_err();
        assert!(
            matches!(&error, Error::Status { status: s, .. } if *s == status),
            "{error:?}"
        );
        mock.fail_next(1, status);
        assert!(client.scheduled_maintenance().await.is_err(), "{status}");
        mock.fail_next(1, status);
        assert!(client.target_lifecycle_state().await.is_err(), "{status}");
    }
    mock.drop_next(1);
    assert!(client.rebalance_recommendation().await.is_err(), "dropped");
    mock.set_metadata(SCHEDULED, "[{\"State\": \"active\"}]");
    let error = client.scheduled_maintenance().await.unwrap_err();
    assert!(matches!(error, Error::BadResponse { .. }), "{error:?}");
}

// ---- the watcher: changes, once each ------------------------------------------

#[tokio::test(start_paused = true)]
async fn each_kind_appears_changes_and_goes_and_the_stream_says_so_once() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock).build().unwrap();
    let mut events = client.events().stream();
    quiet(&mut events, 3).await;

    let a = spot_body("stop", "2026-12-02T10:04:05Z");
    let b = spot_body("terminate", "2026-12-02T10:04:05Z");
    mock.set_metadata(SPOT, a.clone());
    let event = next_event(&mut events).await;
    assert_eq!(
        event,
        Event::Spot(Change::Appeared {
            current: spot("stop", "2026-12-02T10:04:05Z")
        })
    );
    quiet(&mut events, 3).await;
    mock.set_metadata(SPOT, b);
    let event = next_event(&mut events).await;
    assert_eq!(
        event,
        Event::Spot(Change::Changed {
            previous: spot("stop", "2026-12-02T10:04:05Z"),
            current: spot("terminate", "2026-12-02T10:04:05Z"),
        })
    );
    quiet(&mut events, 3).await;
    mock.remove_metadata(SPOT);
    let event = next_event(&mut events).await;
    assert!(
        matches!(&event, Event::Spot(Change::Gone { previous }) if previous.action == "terminate"),
        "{event:?}"
    );
    quiet(&mut events, 3).await;

    mock.set_metadata(REBALANCE, r#"{"noticeTime": "2026-12-02T10:00:00Z"}"#);
    let event = next_event(&mut events).await;
    assert!(
        matches!(&event, Event::Rebalance(Change::Appeared { current })
            if current.notice_time.as_str() == "2026-12-02T10:00:00Z"),
        "{event:?}"
    );
    quiet(&mut events, 3).await;
    mock.set_metadata(REBALANCE, r#"{"noticeTime": "2026-12-02T10:01:00Z"}"#);
    assert!(matches!(
        next_event(&mut events).await,
        Event::Rebalance(Change::Changed { .. })
    ));
    quiet(&mut events, 3).await;
    mock.remove_metadata(REBALANCE);
    assert!(matches!(
        next_event(&mut events).await,
        Event::Rebalance(Change::Gone { .. })
    ));
    quiet(&mut events, 3).await;

    mock.set_metadata(SCHEDULED, maintenance_body(&[("e-1", "active")]));
    let event = next_event(&mut events).await;
    assert!(
        matches!(&event, Event::Maintenance(Change::Appeared { current }) if current.event_id == "e-1"),
        "{event:?}"
    );
    assert!(event.is_warning());
    quiet(&mut events, 3).await;
    mock.set_metadata(
        SCHEDULED,
        maintenance_body(&[("e-2", "active"), ("e-1", "completed")]),
    );
    let event = next_event(&mut events).await;
    assert!(
        matches!(&event, Event::Maintenance(Change::Appeared { current }) if current.event_id == "e-2"),
        "{event:?}"
    );
    let event = next_event(&mut events).await;
    assert!(
        matches!(&event, Event::Maintenance(Change::Changed { previous, current })
            if previous.state == MaintenanceState::Active
                && current.state == MaintenanceState::Completed),
        "{event:?}"
    );
    quiet(&mut events, 3).await;
    mock.set_metadata(SCHEDULED, "[]");
    let gone: Vec<Event> = vec![next_event(&mut events).await, next_event(&mut events).await];
    let ids: Vec<&str> = gone
        .iter()
        .map(|event| match event {
            Event::Maintenance(Change::Gone { previous }) => previous.event_id.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, ["e-2", "e-1"], "in the order they were listed");
    quiet(&mut events, 3).await;

    mock.set_metadata(ASG, "InService");
    assert_eq!(
        next_event(&mut events).await,
        Event::AutoScaling(Change::Appeared {
            current: TargetLifecycleState::InService
        })
    );
    quiet(&mut events, 3).await;
    mock.set_metadata(ASG, "Terminated");
    let event = next_event(&mut events).await;
    assert_eq!(
        event,
        Event::AutoScaling(Change::Changed {
            previous: TargetLifecycleState::InService,
            current: TargetLifecycleState::Terminated,
        })
    );
    assert!(event.interruption().is_some());
    quiet(&mut events, 3).await;
    mock.remove_metadata(ASG);
    assert!(matches!(
        next_event(&mut events).await,
        Event::AutoScaling(Change::Gone { .. })
    ));
    quiet(&mut events, 3).await;

    // One GET per kind per poll, on one token.
    let stats = mock.stats();
    let polls = stats.path_count(&format!("/latest/{SPOT}"));
    assert!(polls > 40, "{polls}");
    for path in [REBALANCE, SCHEDULED, ASG] {
        assert_eq!(
            stats.path_count(&format!("/latest/{path}")),
            polls,
            "{path}"
        );
    }
    assert_eq!(stats.reads, 4 * polls);
    assert_eq!(stats.token_puts, 1);
}

#[tokio::test(start_paused = true)]
async fn the_first_poll_reports_what_is_there_in_kind_order() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_metadata(ASG, "InService");
    mock.set_metadata(SCHEDULED, maintenance_body(&[("e-1", "active")]));
    mock.set_metadata(REBALANCE, r#"{"noticeTime": "2026-12-02T10:00:00Z"}"#);
    mock.set_metadata(SPOT, spot_body("terminate", "2026-12-02T10:04:05Z"));
    let client = builder_for(&mock).build().unwrap();
    let started = Instant::now();
    let mut events = client.events().stream();
    let mut kinds = Vec::new();
    for _ in 0..4 {
        let event = next_event(&mut events).await;
        assert_eq!(event.change(), "appeared");
        kinds.push(event.kind());
    }
    assert_eq!(kinds, EventKind::ALL);
    assert_eq!(started.elapsed(), Duration::ZERO, "at once");
    quiet(&mut events, 5).await;
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_event_canceled_live() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_metadata(SCHEDULED, maintenance_body(&[("e-7", "active")]));
    let client = builder_for(&mock).build().unwrap();
    let mut events = client
        .events()
        .kinds([EventKind::Maintenance])
        .interval(Duration::from_secs(2))
        .stream();
    assert!(next_event(&mut events).await.is_warning());
    // Canceled while the watch runs; AWS keeps it listed a while.
    mock.set_metadata(SCHEDULED, maintenance_body(&[("e-7", "canceled")]));
    let event = next_event(&mut events).await;
    let Event::Maintenance(Change::Changed { previous, current }) = &event else {
        panic!("{event:?}");
    };
    assert_eq!(previous.state, MaintenanceState::Active);
    assert_eq!(current.state, MaintenanceState::Canceled);
    assert_eq!(current.event_id, "e-7");
    assert!(!event.is_warning());
    quiet(&mut events, 5).await;
    mock.set_metadata(SCHEDULED, "[]");
    assert!(matches!(
        next_event(&mut events).await,
        Event::Maintenance(Change::Gone { previous }) if previous.state == MaintenanceState::Canceled
    ));
    // Only the maintenance path was polled.
    let stats = mock.stats();
    assert_eq!(
        stats.reads,
        stats.path_count(&format!("/latest/{SCHEDULED}"))
    );
}

// ---- the watcher: IMDS's failures -------------------------------------------

#[tokio::test(start_paused = true)]
async fn an_expired_token_mid_watch_is_invisible() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_metadata(SPOT, spot_body("stop", "2026-12-02T10:04:05Z"));
    let client = builder_for(&mock).build().unwrap();
    let mut events = client.events().stream();
    assert_eq!(next_event(&mut events).await.kind(), EventKind::Spot);
    for round in 1..=3 {
        mock.expire_tokens();
        quiet(&mut events, 4).await;
        assert_eq!(mock.stats().token_puts, 1 + round, "refreshed once");
    }
    let unauthorized = mock
        .requests()
        .iter()
        .filter(|r| r.status == Some(StatusCode::UNAUTHORIZED))
        .count();
    assert!(unauthorized >= 3, "the mock refused the old token");
    mock.remove_metadata(SPOT);
    assert!(matches!(
        next_event(&mut events).await,
        Event::Spot(Change::Gone { .. })
    ));
}

/// Bursts of `status`: errors come as items, nothing changes, and the
/// next change is reported once.
async fn ride_out_bursts(status: StatusCode) {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_metadata(SPOT, spot_body("stop", "2026-12-02T10:04:05Z"));
    mock.set_metadata(ASG, "InService");
    let client = builder_for(&mock).build().unwrap();
    let mut events = client.events().stream();
    assert_eq!(next_event(&mut events).await.kind(), EventKind::Spot);
    assert_eq!(next_event(&mut events).await.kind(), EventKind::AutoScaling);
    let mut errors = 0;
    for burst in [8, 16, 40, 100] {
        mock.fail_next(burst, status);
        let items = items_until_quiet(&mut events, 2).await;
        assert_eq!(
            events_only(&items),
            Vec::<&Event>::new(),
            "{status}: {burst}"
        );
        for item in &items {
            let error = item.as_ref().unwrap_err();
            assert!(
                matches!(error, Error::Status { status: s, .. } if *s == status),
                "{error:?}"
            );
        }
        errors += items.len();
    }
    assert!(errors >= 8, "{status}: {errors} errors reported");
    mock.set_metadata(ASG, "Terminated");
    assert!(matches!(
        next_event(&mut events).await,
        Event::AutoScaling(Change::Changed { .. })
    ));
    quiet(&mut events, 3).await;
}

#[tokio::test(start_paused = true)]
async fn bursts_of_503_are_error_items_and_no_false_event() {
    ride_out_bursts(StatusCode::SERVICE_UNAVAILABLE).await;
}

#[tokio::test(start_paused = true)]
async fn bursts_of_429_are_error_items_and_no_false_event() {
    ride_out_bursts(StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test(start_paused = true)]
async fn while_polls_fail_the_wait_backs_off_up_to_four_intervals_and_comes_back() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock).attempts(1).build().unwrap();
    let mut events = client.events().kinds([EventKind::Spot]).stream();
    quiet(&mut events, 1).await;
    mock.set_disabled(true); // 403 to everything
    let mut times = Vec::new();
    for _ in 0..6 {
        let error = next_item(&mut events).await.unwrap_err();
        assert!(matches!(error, Error::Status { .. }), "{error:?}");
        times.push(Instant::now());
    }
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let at_most = |n: u32| INTERVAL * n + INTERVAL * n / 10;
    assert!(gaps[0] >= INTERVAL && gaps[0] <= at_most(1), "{gaps:?}");
    assert!(gaps[1] >= INTERVAL * 2 && gaps[1] <= at_most(2), "{gaps:?}");
    for gap in &gaps[2..] {
        assert!(*gap >= INTERVAL * 4 && *gap <= at_most(4), "{gaps:?}");
    }
    mock.set_disabled(false);
    quiet(&mut events, 5).await; // past the last backoff
    let before = mock.stats().reads;
    let nothing = tokio::time::timeout(INTERVAL * 10, events.next()).await;
    assert!(nothing.is_err());
    // Back to one poll per interval (and its jitter).
    let polls = mock.stats().reads - before;
    assert!((9..=10).contains(&polls), "{polls}");
}

#[tokio::test(start_paused = true)]
async fn dropped_connections_and_a_mock_restart_cause_no_false_event() {
    let mock = MockImds::start_default().await.unwrap();
    let addr: SocketAddr = mock.addr();
    let setup = |mock: &MockImds| {
        mock.set_metadata(SPOT, spot_body("stop", "2026-12-02T10:04:05Z"));
        mock.set_metadata(SCHEDULED, maintenance_body(&[("e-1", "active")]));
        mock.set_metadata(ASG, "InService");
    };
    setup(&mock);
    let client = builder_for(&mock).build().unwrap();
    let mut events = client.events().stream();
    for _ in 0..3 {
        assert_eq!(next_event(&mut events).await.change(), "appeared");
    }
    mock.drop_next(30);
    let items = items_until_quiet(&mut events, 2).await;
    assert_eq!(events_only(&items), Vec::<&Event>::new());
    assert!(!items.is_empty(), "dropped connections are reported");

    // IMDS restarts: gone for a while, back with the same state and none
    // of the old tokens.
    mock.shutdown().await;
    let items = items_for(&mut events, INTERVAL * 20).await;
    assert!(
        items
            .iter()
            .all(|item| matches!(item, Err(Error::Unreachable { .. }))),
        "{items:?}"
    );
    assert!(!items.is_empty());
    assert_eq!(events_only(&items), Vec::<&Event>::new());
    let mock = imds_mock::Config::default().start_on(addr).await.unwrap();
    setup(&mock);
    quiet(&mut events, 5).await;
    assert_eq!(mock.stats().token_puts, 1, "a new token from the new IMDS");
    mock.set_metadata(SCHEDULED, maintenance_body(&[("e-1", "completed")]));
    assert!(matches!(
        next_event(&mut events).await,
        Event::Maintenance(Change::Changed { .. })
    ));
    quiet(&mut events, 3).await;
}

/// A small PRNG for the soak (xorshift64*), seeded: a failure replays.
struct Prng(u64);

impl Prng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// The state of the mock, as the soak sets it.
#[derive(Default)]
struct Model {
    bodies: HashMap<&'static str, String>,
}

impl Model {
    fn apply(&self, mock: &MockImds) {
        for path in [SPOT, REBALANCE, SCHEDULED, ASG] {
            match self.bodies.get(path) {
                Some(body) => mock.set_metadata(path, body.clone()),
                None => mock.remove_metadata(path),
            }
        }
    }
}

/// A random body for `path`, or none (404); few values, so that a change
/// sometimes sets what is already there.
fn random_body(rng: &mut Prng, path: &'static str) -> Option<String> {
    if rng.below(4) == 0 {
        return None;
    }
    let pick = rng.below(2);
    Some(match path {
        SPOT => spot_body(["stop", "terminate"][pick as usize], "2026-12-02T10:04:05Z"),
        REBALANCE => format!(r#"{{"noticeTime": "2026-12-02T10:0{pick}:00Z"}}"#),
        SCHEDULED => maintenance_body(&[("e-1", ["active", "canceled"][pick as usize])]),
        _ => ["InService", "Terminated"][pick as usize].to_owned(),
    })
}

// Thousands of polls through every fault the mock has, changes made at
// random: every change is reported exactly once (compared with a model),
// nothing else is, and failures come as error items.
#[tokio::test(start_paused = true)]
async fn soak_thousands_of_polls_through_faults_no_false_and_no_missed_event() {
    let mut mock = MockImds::start_default().await.unwrap();
    let addr = mock.addr();
    let client = builder_for(&mock).build().unwrap();
    let mut events = client.events().stream();
    let mut rng = Prng(0x9E37_79B9_7F4A_7C15);
    let mut model = Model::default();
    model.apply(&mock);
    let mut reads = 0;
    let mut errors = 0;
    let mut reported = 0;
    for step in 0..150 {
        match rng.below(8) {
            0 => mock.fail_next(rng.below(40), StatusCode::SERVICE_UNAVAILABLE),
            1 => mock.fail_next(rng.below(40), StatusCode::TOO_MANY_REQUESTS),
            2 => mock.drop_next(rng.below(20)),
            3 => mock.expire_tokens(),
            4 => mock.fail_fraction(0.3, StatusCode::INTERNAL_SERVER_ERROR, step),
            5 => {
                reads += mock.stats().reads;
                mock.shutdown().await;
                // Down for a few polls.
                tokio::time::advance(INTERVAL * u32::try_from(rng.below(4)).unwrap()).await;
                mock = imds_mock::Config::default().start_on(addr).await.unwrap();
                model.apply(&mock);
            }
            _ => {}
        }
        // Change one kind (perhaps to what it already is).
        let path = [SPOT, REBALANCE, SCHEDULED, ASG][rng.below(4) as usize];
        let before = model.bodies.get(path).cloned();
        let after = random_body(&mut rng, path);
        match &after {
            Some(body) => model.bodies.insert(path, body.clone()),
            None => model.bodies.remove(path),
        };
        model.apply(&mock);
        let expected = match (&before, &after) {
            (a, b) if a == b => None,
            (None, Some(_)) => Some("appeared"),
            (Some(_), Some(_)) => Some("changed"),
            (Some(_), None) => Some("gone"),
            (None, None) => None,
        };

        // A dozen polls' time with the faults on, then none until the
        // stream has been quiet for a while: a change made must show.
        let mut items = items_for(&mut events, INTERVAL * 12).await;
        mock.clear_faults();
        mock.fail_fraction(0.0, StatusCode::INTERNAL_SERVER_ERROR, 0);
        items.extend(items_until_quiet(&mut events, 2).await);
        errors += items.iter().filter(|item| item.is_err()).count();
        let seen: Vec<Event> = items.into_iter().filter_map(Result::ok).collect();

        let changes: Vec<(&str, EventKind)> = seen.iter().map(|e| (e.change(), e.kind())).collect();
        let kind = match path {
            SPOT => EventKind::Spot,
            REBALANCE => EventKind::Rebalance,
            SCHEDULED => EventKind::Maintenance,
            _ => EventKind::AutoScaling,
        };
        match expected {
            None => assert_eq!(changes, [], "step {step}: no change made"),
            Some(change) => assert_eq!(changes, [(change, kind)], "step {step}"),
        }
        reported += seen.len();
    }
    reads += mock.stats().reads;
    let polls = reads / 4;
    assert!(polls > 2_000, "{polls} polls");
    assert!(errors > 20, "{errors} errors reported as items");
    assert!(reported > 60, "{reported} changes reported");
}

// ---- the watcher: dropping, cancelling, concurrency ---------------------------

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_stops_polling_at_once() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock).build().unwrap();
    let mut events = client.events().stream();
    quiet(&mut events, 3).await;
    mock.set_latency(Duration::from_millis(500));
    // Drop it in the middle of a poll: its four GETs are at IMDS.
    let before = mock.stats().reads;
    while mock.stats().reads < before + 4 {
        let _ = tokio::time::timeout(Duration::from_millis(10), events.next()).await;
    }
    let in_flight = mock.stats().reads;
    drop(events);
    tokio::time::advance(Duration::from_secs(3_600)).await;
    tokio::task::yield_now().await;
    assert_eq!(
        mock.stats().reads,
        in_flight,
        "nothing polls after the drop"
    );
}

#[tokio::test(start_paused = true)]
async fn a_next_dropped_mid_poll_loses_nothing() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_latency(Duration::from_millis(300));
    mock.set_metadata(SPOT, spot_body("stop", "2026-12-02T10:04:05Z"));
    let client = builder_for(&mock).build().unwrap();
    let mut events = client.events().kinds([EventKind::Spot]).stream();
    // Cancelled while the first poll waits on IMDS...
    let cancelled = tokio::time::timeout(Duration::from_millis(100), events.next()).await;
    assert!(cancelled.is_err());
    // ...which goes on at the next call: the notice, from that one GET.
    assert_eq!(next_event(&mut events).await.kind(), EventKind::Spot);
    assert_eq!(mock.stats().reads, 1);
}

#[tokio::test(start_paused = true)]
async fn a_disabled_client_yields_disabled_and_ends() {
    let client = isolated().disabled(true).build().unwrap();
    let mut events = client.events().stream();
    assert!(matches!(events.next().await, Some(Err(Error::Disabled(_)))));
    assert!(events.next().await.is_none());
    assert!(matches!(
        client.interruption().await,
        Err(Error::Disabled(_))
    ));
    assert!(matches!(
        client.events().snapshot().await,
        Err(Error::Disabled(_))
    ));
}

/// A fake IMDS behind `ClientBuilder::http_service`: answers the token PUT,
/// and each GET from a table (404 when absent) after a short delay,
/// counting requests in flight.
#[derive(Clone, Default)]
struct Fake {
    routes: Arc<Mutex<HashMap<String, (StatusCode, String)>>>,
    in_flight: Arc<Mutex<(usize, usize)>>,
    gets: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    fn set(&self, path: &str, status: StatusCode, body: &str) {
        self.routes
            .lock()
            .unwrap()
            .insert(format!("/latest/{path}"), (status, body.to_owned()));
    }

    fn remove(&self, path: &str) {
        self.routes
            .lock()
            .unwrap()
            .remove(&format!("/latest/{path}"));
    }

    fn max_in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    fn client(&self, concurrency: usize) -> Client {
        let fake = self.clone();
        let service = tower::service_fn(move |request: Request<imds::client::RequestBody>| {
            let fake = fake.clone();
            async move {
                if request.method() == Method::PUT {
                    let mut response = Response::new(Full::new(Bytes::from_static(b"a-token")));
                    response.headers_mut().insert(
                        "x-aws-ec2-metadata-token-ttl-seconds",
                        HeaderValue::from_static("21600"),
                    );
                    return Ok::<_, Infallible>(response);
                }
                let path = request.uri().path().to_owned();
                fake.gets.lock().unwrap().push(path.clone());
                {
                    let mut in_flight = fake.in_flight.lock().unwrap();
                    in_flight.0 += 1;
                    in_flight.1 = in_flight.1.max(in_flight.0);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                fake.in_flight.lock().unwrap().0 -= 1;
                let (status, body) = fake
                    .routes
                    .lock()
                    .unwrap()
                    .get(&path)
                    .cloned()
                    .unwrap_or((StatusCode::NOT_FOUND, String::new()));
                let mut response = Response::new(Full::new(Bytes::from(body)));
                *response.status_mut() = status;
                Ok(response)
            }
        });
        isolated()
            .endpoint("http://127.0.0.1:1")
            .attempts(1)
            .concurrency(concurrency)
            .http_service(service)
            .build()
            .unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn polls_respect_the_client_concurrency_and_send_one_get_per_kind() {
    for (concurrency, expected) in [(1, 1), (2, 2), (16, 4)] {
        let fake = Fake::default();
        let client = fake.client(concurrency);
        let mut events = client.events().stream();
        quiet(&mut events, 10).await;
        assert_eq!(fake.max_in_flight(), expected, "concurrency {concurrency}");
        let gets = fake.gets.lock().unwrap().clone();
        assert!(gets.len() >= 40 && gets.len() % 4 == 0, "{}", gets.len());
        for poll in gets.chunks(4) {
            let mut paths = poll.to_vec();
            paths.sort();
            let mut expected: Vec<String> =
                EventKind::ALL.iter().map(|k| k.path().to_owned()).collect();
            expected.sort();
            assert_eq!(paths, expected, "one GET per kind per poll");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_kind_whose_poll_fails_keeps_its_state_while_the_others_go_on() {
    let fake = Fake::default();
    fake.set(
        SPOT,
        StatusCode::OK,
        &spot_body("stop", "2026-12-02T10:04:05Z"),
    );
    fake.set(ASG, StatusCode::OK, "InService");
    let client = fake.client(16);
    let mut events = client.events().stream();
    assert_eq!(next_event(&mut events).await.kind(), EventKind::Spot);
    assert_eq!(next_event(&mut events).await.kind(), EventKind::AutoScaling);
    // The Spot path fails (and its notice is withdrawn behind the
    // failure) while the Auto Scaling state changes.
    fake.set(SPOT, StatusCode::SERVICE_UNAVAILABLE, "");
    fake.set(ASG, StatusCode::OK, "Standby");
    let mut items = Vec::new();
    for _ in 0..6 {
        items.push(next_item(&mut events).await);
    }
    let changes: Vec<&Event> = events_only(&items);
    assert_eq!(
        changes,
        [&Event::AutoScaling(Change::Changed {
            previous: TargetLifecycleState::InService,
            current: TargetLifecycleState::Standby,
        })]
    );
    assert_eq!(items.iter().filter(|item| item.is_err()).count(), 5);
    // The Spot path answers again, 404: now it is gone, once.
    fake.remove(SPOT);
    let event = loop {
        match next_item(&mut events).await {
            Ok(event) => break event,
            Err(_) => continue, // a failure from before the fix
        }
    };
    assert!(
        matches!(event, Event::Spot(Change::Gone { .. })),
        "{event:?}"
    );
    quiet(&mut events, 10).await;
}

// ---- interruption() -----------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn interruption_waits_for_a_spot_notice_and_ignores_the_rest() {
    let mock = Arc::new(MockImds::start_default().await.unwrap());
    mock.set_metadata(ASG, "InService");
    mock.set_metadata(REBALANCE, r#"{"noticeTime": "2026-12-02T10:00:00Z"}"#);
    mock.set_metadata(SCHEDULED, maintenance_body(&[("e-1", "active")]));
    let client = builder_for(&mock).build().unwrap();
    let setter = Arc::clone(&mock);
    let started = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(61)).await;
        setter.fail_next(6, StatusCode::SERVICE_UNAVAILABLE);
        tokio::time::sleep(Duration::from_secs(10)).await;
        setter.set_metadata(SPOT, spot_body("terminate", "2026-12-02T10:04:05Z"));
    });
    let interruption = client.interruption().await.unwrap();
    assert_eq!(
        interruption,
        Interruption::Spot(spot("terminate", "2026-12-02T10:04:05Z"))
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(71) && waited <= Duration::from_secs(71) + INTERVAL * 5,
        "{waited:?}"
    );
    // Only the two kinds that can interrupt were polled.
    let stats = mock.stats();
    assert_eq!(stats.path_count(&format!("/latest/{REBALANCE}")), 0);
    assert_eq!(stats.path_count(&format!("/latest/{SCHEDULED}")), 0);
}

#[tokio::test(start_paused = true)]
async fn interruption_resolves_on_auto_scaling_termination_or_at_once() {
    let mock = Arc::new(MockImds::start_default().await.unwrap());
    mock.set_metadata(ASG, "InService");
    let client = builder_for(&mock).build().unwrap();
    let setter = Arc::clone(&mock);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        setter.set_metadata(ASG, "Terminated");
    });
    assert_eq!(
        client.interruption().await.unwrap(),
        Interruption::AutoScaling(TargetLifecycleState::Terminated)
    );
    // Already there: at once.
    let started = Instant::now();
    client.interruption().await.unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
}
