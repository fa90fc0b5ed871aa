//! The control API over HTTP: every route changes what IMDS clients see
//! at their next read, and bad requests get a status and a message.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Reply, get, send, send_body, token};
use http::{Method, StatusCode};
use imds_mock::{MockImds, TOKEN_HEADER};
use serde_json::{Value, json};

const INSTANCE_ACTION: &str = "/latest/meta-data/spot/instance-action";
const REBALANCE: &str = "/latest/meta-data/events/recommendations/rebalance";
const SCHEDULED: &str = "/latest/meta-data/events/maintenance/scheduled";
const HISTORY: &str = "/latest/meta-data/events/maintenance/history";
const LIFECYCLE: &str = "/latest/meta-data/autoscaling/target-lifecycle-state";

struct Mock {
    server: MockImds,
    control: SocketAddr,
    token: String,
}

impl Mock {
    async fn start() -> Self {
        let server = MockImds::start_default().await.unwrap();
        let control = server
            .serve_control(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let token = token(&server).await;
        Self {
            server,
            control,
            token,
        }
    }

    async fn call(&self, method: Method, path: &str, body: &str) -> Reply {
        send_body(method, &format!("http://{}{path}", self.control), body)
            .await
            .expect("the control API answers")
    }

    /// A call that must succeed with `status`; its JSON answer.
    async fn ok(&self, method: Method, path: &str, body: &str, status: StatusCode) -> Value {
        let reply = self.call(method.clone(), path, body).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.text());
        assert_eq!(reply.header("content-type"), Some("application/json"));
        reply.json()
    }

    /// A call that must fail with `status`; its error message.
    async fn refused(&self, method: Method, path: &str, body: &str, status: StatusCode) -> String {
        let reply = self.call(method.clone(), path, body).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.text());
        reply.json()["error"]
            .as_str()
            .expect("an error message")
            .to_owned()
    }

    async fn imds(&self, path: &str) -> Reply {
        get(&self.server, path, Some(&self.token)).await
    }
}

#[tokio::test(start_paused = true)]
async fn spot_and_rebalance_are_set_and_withdrawn() {
    let mock = Mock::start().await;
    let state = mock.ok(Method::GET, "/events", "", StatusCode::OK).await;
    assert_eq!(state["spot"], Value::Null);
    assert_eq!(state["scheduled"], json!([]));

    let state = mock
        .ok(
            Method::PUT,
            "/events/spot",
            r#"{"action": "stop", "delay_secs": 10}"#,
            StatusCode::OK,
        )
        .await;
    assert_eq!(state["spot"]["action"], "stop");
    assert_eq!(state["spot"]["served"], false);
    // Marked to stop, not for termination: no spot/termination-time.
    assert_eq!(state["spot"]["termination_time"], false);
    assert_eq!(
        mock.imds(INSTANCE_ACTION).await.status,
        StatusCode::NOT_FOUND
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(mock.imds(INSTANCE_ACTION).await.json()["action"], "stop");
    let state = mock.ok(Method::GET, "/events", "", StatusCode::OK).await;
    assert_eq!(state["spot"]["served"], true);

    mock.ok(Method::DELETE, "/events/spot", "", StatusCode::OK)
        .await;
    assert_eq!(
        mock.imds(INSTANCE_ACTION).await.status,
        StatusCode::NOT_FOUND
    );

    // An empty body is `{}`: a rebalance recommendation at once.
    mock.ok(Method::PUT, "/events/rebalance", "", StatusCode::OK)
        .await;
    assert_eq!(mock.imds(REBALANCE).await.status, StatusCode::OK);
    mock.ok(Method::DELETE, "/events/rebalance", "", StatusCode::OK)
        .await;
    assert_eq!(mock.imds(REBALANCE).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_scheduled_event_is_added_canceled_and_removed() {
    let mock = Mock::start().await;
    let id = "instance-event-0123456789abcdef0";
    let event = mock
        .ok(
            Method::POST,
            "/events/scheduled",
            &json!({"code": "instance-stop", "event_id": id}).to_string(),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(event["event_id"], id);
    assert_eq!(event["listed_in"], "scheduled");
    assert_eq!(mock.imds(SCHEDULED).await.json()[0]["EventId"], id);

    let event = mock
        .ok(
            Method::PATCH,
            &format!("/events/scheduled/{id}"),
            r#"{"state": "canceled"}"#,
            StatusCode::OK,
        )
        .await;
    assert_eq!(event["listed_in"], "history");
    assert_eq!(mock.imds(SCHEDULED).await.text(), "[]");
    let history = mock.imds(HISTORY).await.json();
    assert_eq!(history[0]["State"], "canceled");
    assert!(
        history[0]["Description"]
            .as_str()
            .unwrap()
            .starts_with("[Canceled] ")
    );

    mock.ok(
        Method::DELETE,
        &format!("/events/scheduled/{id}"),
        "",
        StatusCode::OK,
    )
    .await;
    assert_eq!(mock.imds(HISTORY).await.text(), "[]");
    let error = mock
        .refused(
            Method::DELETE,
            &format!("/events/scheduled/{id}"),
            "",
            StatusCode::NOT_FOUND,
        )
        .await;
    assert!(error.contains(id), "{error}");

    // Without an id, one is made up and returned.
    let event = mock
        .ok(
            Method::POST,
            "/events/scheduled",
            r#"{"code": "system-maintenance"}"#,
            StatusCode::CREATED,
        )
        .await;
    assert!(
        event["event_id"]
            .as_str()
            .unwrap()
            .starts_with("instance-event-")
    );
}

#[tokio::test(start_paused = true)]
async fn the_lifecycle_state_and_the_whole_event_state() {
    let mock = Mock::start().await;
    mock.ok(
        Method::PUT,
        "/events/autoscaling",
        r#"{"state": "InService", "terminate_after_secs": 5}"#,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mock.imds(LIFECYCLE).await.text(), "InService");
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(mock.imds(LIFECYCLE).await.text(), "Terminated");
    mock.ok(Method::DELETE, "/events/autoscaling", "", StatusCode::OK)
        .await;
    assert_eq!(mock.imds(LIFECYCLE).await.status, StatusCode::NOT_FOUND);

    let state = mock
        .ok(
            Method::PUT,
            "/events",
            r#"{"spot": {}, "scheduled": [{"code": "system-reboot", "event_id": "e-1"}],
                "autoscaling": {"state": "Standby"}}"#,
            StatusCode::OK,
        )
        .await;
    assert_eq!(state["spot"]["action"], "terminate");
    assert_eq!(state["scheduled"][0]["event_id"], "e-1");
    assert_eq!(state["autoscaling"]["state"], "Standby");
    assert_eq!(state["rebalance"], Value::Null);
    assert_eq!(mock.imds(INSTANCE_ACTION).await.status, StatusCode::OK);
    assert_eq!(mock.imds(LIFECYCLE).await.text(), "Standby");
}

#[tokio::test]
async fn tokens_and_faults() {
    let mock = Mock::start().await;
    mock.ok(Method::POST, "/tokens/expire", "", StatusCode::OK)
        .await;
    assert_eq!(
        mock.imds("/latest/meta-data/instance-id").await.status,
        StatusCode::UNAUTHORIZED
    );
    let token = token(&mock.server).await;
    let read = || async {
        send(
            Method::GET,
            &format!("{}/latest/meta-data/instance-id", mock.server.base_url()),
            &[(TOKEN_HEADER, &token)],
        )
        .await
    };

    mock.ok(
        Method::POST,
        "/faults/fail-next",
        r#"{"count": 1, "status": 503}"#,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        read().await.unwrap().status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(read().await.unwrap().status, StatusCode::OK);

    mock.ok(
        Method::POST,
        "/faults/drop-next",
        r#"{"count": 1}"#,
        StatusCode::OK,
    )
    .await;
    assert!(read().await.is_err(), "the connection is dropped");
    assert_eq!(read().await.unwrap().status, StatusCode::OK);

    mock.ok(
        Method::POST,
        "/faults/fail-next",
        r#"{"count": 5, "status": 500}"#,
        StatusCode::OK,
    )
    .await;
    mock.ok(Method::DELETE, "/faults", "", StatusCode::OK).await;
    assert_eq!(read().await.unwrap().status, StatusCode::OK);
    assert_eq!(mock.server.stats().fault_statuses.get(&500), None);
}

#[tokio::test]
async fn bad_requests_get_a_status_and_a_message() {
    let mock = Mock::start().await;
    for (method, path, body, needle) in [
        (Method::PUT, "/events/spot", "{", "invalid JSON body"),
        (
            Method::PUT,
            "/events/spot",
            r#"{"action": "explode"}"#,
            "unknown variant `explode`",
        ),
        (
            Method::PUT,
            "/events/spot",
            r#"{"delay": 1}"#,
            "unknown field `delay`",
        ),
        (
            Method::PUT,
            "/events/spot",
            r#"{"delay_secs": 1, "at": "2026-01-21T09:00:43Z"}"#,
            "not both",
        ),
        (
            Method::PUT,
            "/events/rebalance",
            r#"{"at": "noon"}"#,
            "RFC 3339",
        ),
        (
            Method::POST,
            "/events/scheduled",
            "{}",
            "missing field `code`",
        ),
        (
            Method::POST,
            "/events/scheduled",
            r#"{"code": "system-reboot", "event_id": "a b"}"#,
            "event_id",
        ),
        (
            Method::PUT,
            "/events/autoscaling",
            r#"{"state": ""}"#,
            "non-empty",
        ),
        (
            Method::PUT,
            "/events",
            r#"{"spot": [], "x": 1}"#,
            "invalid JSON body",
        ),
        (
            Method::POST,
            "/faults/fail-next",
            r#"{"count": 1, "status": 1000}"#,
            "not an HTTP status",
        ),
    ] {
        let error = mock
            .refused(method.clone(), path, body, StatusCode::BAD_REQUEST)
            .await;
        assert!(error.contains(needle), "{method} {path} {body}: {error}");
    }
    mock.ok(
        Method::POST,
        "/events/scheduled",
        r#"{"code": "system-reboot", "event_id": "known"}"#,
        StatusCode::CREATED,
    )
    .await;
    let error = mock
        .refused(
            Method::PATCH,
            "/events/scheduled/known",
            r#"{"state": "finished"}"#,
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(error.contains("unknown variant `finished`"), "{error}");
    let error = mock
        .refused(
            Method::PATCH,
            "/events/scheduled/unknown",
            r#"{"state": "canceled"}"#,
            StatusCode::NOT_FOUND,
        )
        .await;
    assert!(error.contains("\"unknown\""), "{error}");

    let reply = mock.call(Method::GET, "/events/spot", "").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), Some("PUT, DELETE"));
    assert!(
        reply.json()["error"]
            .as_str()
            .unwrap()
            .contains("PUT, DELETE")
    );
    let error = mock
        .refused(Method::GET, "/latest/meta-data/", "", StatusCode::NOT_FOUND)
        .await;
    assert!(error.contains("no control route"), "{error}");
    let huge = format!(r#"{{"action": "stop", "pad": "{}"}}"#, "x".repeat(70_000));
    mock.refused(
        Method::PUT,
        "/events/spot",
        &huge,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;

    // Nothing refused changed anything.
    let state = mock.ok(Method::GET, "/events", "", StatusCode::OK).await;
    assert_eq!(state["spot"], Value::Null);
    assert_eq!(state["autoscaling"], Value::Null);
    assert_eq!(mock.server.stats().faults_injected, 0);
    // The index lists the routes.
    let index = mock.ok(Method::GET, "/", "", StatusCode::OK).await;
    assert!(
        index["routes"]
            .as_array()
            .unwrap()
            .contains(&json!("GET /events"))
    );
}

#[tokio::test]
async fn imds_clients_never_see_the_control_api() {
    let mock = Mock::start().await;
    assert_ne!(mock.control.port(), mock.server.addr().port());
    for path in ["/events", "/latest/events", "/latest/meta-data/events/spot"] {
        assert_eq!(
            mock.imds(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let listing = mock.imds("/latest/meta-data/").await.text().to_owned();
    assert!(!listing.contains("control"), "{listing}");
}
