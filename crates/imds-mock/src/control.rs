//! The control API: JSON over HTTP on a listener of its own, so that a test
//! in any language can change a running mock's events (and a few faults)
//! while its clients poll. Off unless asked for
//! ([`MockImds::serve_control`], the binary's `--control ADDR`); IMDS
//! clients never see it: it is not on their port and never listed. The
//! routes are documented on [`MockImds::serve_control`].

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::events::{
    AutoScaling, EventError, Events, RebalanceRecommendation, ScheduledEvent, ScheduledEventState,
    SpotNotice, is_event_id,
};
use crate::handler::{State, shutting_down};
use crate::server::MockImds;

/// The largest request body read.
const MAX_BODY: usize = 64 * 1024;

type Reply = Response<Full<Bytes>>;

impl MockImds {
    /// Serves the control API on `addr`, e.g. `127.0.0.1:0`, until this
    /// server shuts down; returns the address bound. It is JSON over HTTP
    /// on a listener of its own, never listed, and has no authentication:
    /// keep it on loopback.
    ///
    /// | method and path | body | effect |
    /// |---|---|---|
    /// | `GET /events` | | the current event state |
    /// | `PUT /events` | [`Events`] | replaces every scenario |
    /// | `PUT /events/spot` | [`SpotNotice`] | sets the Spot notice |
    /// | `DELETE /events/spot` | | withdraws it |
    /// | `PUT /events/rebalance` | [`RebalanceRecommendation`] | sets the recommendation |
    /// | `DELETE /events/rebalance` | | withdraws it |
    /// | `POST /events/scheduled` | [`ScheduledEvent`] | adds (or replaces by `event_id`) an event; `201` |
    /// | `PATCH /events/scheduled/{id}` | `{"state": "canceled"}` | changes its state |
    /// | `DELETE /events/scheduled/{id}` | | removes it |
    /// | `PUT /events/autoscaling` | [`AutoScaling`] | sets the lifecycle state |
    /// | `DELETE /events/autoscaling` | | removes it (404) |
    /// | `POST /tokens/expire` | | every token issued so far is invalid |
    /// | `POST /faults/fail-next` | `{"count": 3, "status": 503}` | the next requests fail |
    /// | `POST /faults/drop-next` | `{"count": 1}` | the next connections are dropped |
    /// | `DELETE /faults` | | clears every fault |
    ///
    /// Bodies are the config's JSON forms (an empty body is `{}`); delays count
    /// from the request. Answers are JSON: the event state for `/events...`
    /// (one event for `POST`/`PATCH /events/scheduled`), `{}` otherwise, and
    /// `{"error": "..."}` with `400` (bad JSON or values), `404` (no such
    /// route or event), `405` (with `Allow`) or `413` (body over 64 KiB).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let server = imds_mock::MockImds::start_default().await?;
    /// let control = server.serve_control(([127, 0, 0, 1], 0).into()).await?;
    /// // curl -X PUT -d '{"action": "stop"}' http://{control}/events/spot
    /// # let _ = control;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn serve_control(&self, addr: SocketAddr) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(accept_loop(
            listener,
            Arc::clone(self.state()),
            self.shutdown_signal(),
        ));
        tracing::debug!(%addr, "imds-mock control API listening");
        Ok(addr)
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutting_down(&mut shutdown) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&state)));
                }
                Err(error) => tracing::warn!(%error, "control API: accept failed"),
            },
        }
    }
    // The listener closes here; dropping the JoinSet ends its connections.
}

async fn serve_connection(stream: TcpStream, state: Arc<State>) {
    let service = service_fn(move |request| {
        let state = Arc::clone(&state);
        async move { Ok::<_, Infallible>(respond(&state, request).await) }
    });
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A failed control request: its status and a message for the caller.
struct Refusal(StatusCode, String);

impl Refusal {
    fn bad_request(message: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, message.into())
    }
}

impl From<EventError> for Refusal {
    fn from(error: EventError) -> Self {
        Self(StatusCode::NOT_FOUND, error.to_string())
    }
}

async fn respond(state: &State, request: Request<Incoming>) -> Reply {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return error_reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is over {MAX_BODY} bytes"),
            );
        }
        Err(error) => {
            return error_reply(
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {error}"),
            );
        }
    };
    let reply = match route(state, &parts.method, &path, &body) {
        Ok((status, value)) => json_reply(status, &value),
        Err(Refusal(status, message)) => {
            let mut reply = error_reply(status, message);
            if status == StatusCode::METHOD_NOT_ALLOWED
                && let Some(allowed) = allowed_methods(&segments(&path))
                && let Ok(allowed) = HeaderValue::from_str(&allowed)
            {
                reply.headers_mut().insert(ALLOW, allowed);
            }
            reply
        }
    };
    tracing::debug!(method = %parts.method, %path, status = reply.status().as_u16(), "control API");
    reply
}

fn segments(path: &str) -> Vec<&str> {
    path.trim_matches('/').split('/').collect()
}

/// Every route, as `GET /` lists them; `{event_id}` stands for any one
/// segment. `route` answers each; a path here with another method is a
/// `405` whose `Allow` names this table's methods for it.
const ROUTES: [(&str, &str); 16] = [
    ("GET", "/"),
    ("GET", "/events"),
    ("PUT", "/events"),
    ("PUT", "/events/spot"),
    ("DELETE", "/events/spot"),
    ("PUT", "/events/rebalance"),
    ("DELETE", "/events/rebalance"),
    ("POST", "/events/scheduled"),
    ("PATCH", "/events/scheduled/{event_id}"),
    ("DELETE", "/events/scheduled/{event_id}"),
    ("PUT", "/events/autoscaling"),
    ("DELETE", "/events/autoscaling"),
    ("POST", "/tokens/expire"),
    ("POST", "/faults/fail-next"),
    ("POST", "/faults/drop-next"),
    ("DELETE", "/faults"),
];

/// The methods a route takes (`PUT, DELETE`), or `None` for no such route.
fn allowed_methods(segments: &[&str]) -> Option<String> {
    let fits = |pattern: &str| {
        let pattern = self::segments(pattern);
        pattern.len() == segments.len()
            && pattern
                .iter()
                .zip(segments)
                .all(|(want, got)| want == got || want.starts_with('{'))
    };
    let methods: Vec<&str> = ROUTES
        .iter()
        .filter(|(_, pattern)| fits(pattern))
        .map(|(method, _)| *method)
        .collect();
    (!methods.is_empty()).then(|| methods.join(", "))
}

/// `{"state": "canceled"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateChange {
    state: ScheduledEventState,
}

/// `{"count": 3, "status": 503}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailNext {
    count: u64,
    status: u16,
}

/// `{"count": 1}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DropNext {
    count: u64,
}

fn route(
    state: &State,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<(StatusCode, Value), Refusal> {
    let events = &state.events;
    let now = state.clock.wall_now();
    let segments = segments(path);
    let snapshot = || Ok((StatusCode::OK, events.snapshot(state.clock.wall_now())));
    match (method.as_str(), segments.as_slice()) {
        ("GET", [""]) => Ok((StatusCode::OK, index())),
        ("GET", ["events"]) => snapshot(),
        ("PUT", ["events"]) => {
            let new: Events = parse(body)?;
            new.validate().map_err(Refusal::bad_request)?;
            events.replace(&new, now);
            snapshot()
        }
        ("PUT", ["events", "spot"]) => {
            let notice: SpotNotice = parse(body)?;
            notice.validate("spot").map_err(Refusal::bad_request)?;
            events.set_spot(&notice, now);
            snapshot()
        }
        ("DELETE", ["events", "spot"]) => {
            events.withdraw_spot();
            snapshot()
        }
        ("PUT", ["events", "rebalance"]) => {
            let recommendation: RebalanceRecommendation = parse(body)?;
            recommendation
                .validate("rebalance")
                .map_err(Refusal::bad_request)?;
            events.set_rebalance(&recommendation, now);
            snapshot()
        }
        ("DELETE", ["events", "rebalance"]) => {
            events.withdraw_rebalance();
            snapshot()
        }
        ("POST", ["events", "scheduled"]) => {
            let event: ScheduledEvent = parse(body)?;
            event.validate("event").map_err(Refusal::bad_request)?;
            let id = events.add_scheduled(&event, now);
            scheduled(state, &id).map(|event| (StatusCode::CREATED, event))
        }
        ("PATCH", ["events", "scheduled", id]) => {
            let change: StateChange = parse(body)?;
            events.set_scheduled_state(known_id(id)?, change.state)?;
            scheduled(state, id).map(|event| (StatusCode::OK, event))
        }
        ("DELETE", ["events", "scheduled", id]) => {
            events.remove_scheduled(known_id(id)?)?;
            snapshot()
        }
        ("PUT", ["events", "autoscaling"]) => {
            let autoscaling: AutoScaling = parse(body)?;
            autoscaling
                .validate("autoscaling")
                .map_err(Refusal::bad_request)?;
            events.set_autoscaling(&autoscaling, now);
            snapshot()
        }
        ("DELETE", ["events", "autoscaling"]) => {
            events.remove_autoscaling();
            snapshot()
        }
        ("POST", ["tokens", "expire"]) => {
            state.tokens.expire_all();
            Ok((StatusCode::OK, json!({})))
        }
        ("POST", ["faults", "fail-next"]) => {
            let fail: FailNext = parse(body)?;
            let status = StatusCode::from_u16(fail.status).map_err(|_| {
                Refusal::bad_request(format!(
                    "status {} is not an HTTP status (100..=999)",
                    fail.status
                ))
            })?;
            state.faults.fail_next(fail.count, status);
            Ok((StatusCode::OK, json!({})))
        }
        ("POST", ["faults", "drop-next"]) => {
            let drop: DropNext = parse(body)?;
            state.faults.drop_next(drop.count);
            Ok((StatusCode::OK, json!({})))
        }
        ("DELETE", ["faults"]) => {
            state.faults.clear();
            Ok((StatusCode::OK, json!({})))
        }
        (_, segments) => Err(match allowed_methods(segments) {
            Some(allowed) => Refusal(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{method} is not allowed on {path}; use {allowed}"),
            ),
            None => Refusal(
                StatusCode::NOT_FOUND,
                format!("no control route {path}; GET / lists them"),
            ),
        }),
    }
}

/// An id from the path: refused as a 404 if it could not be an event id.
fn known_id(id: &str) -> Result<&str, Refusal> {
    if is_event_id(id) {
        Ok(id)
    } else {
        Err(EventError::UnknownEventId(id.to_owned()).into())
    }
}

fn scheduled(state: &State, id: &str) -> Result<Value, Refusal> {
    state
        .events
        .scheduled_snapshot_of(id, state.clock.wall_now())
        .ok_or_else(|| EventError::UnknownEventId(id.to_owned()).into())
}

/// The body as JSON of type `T`; an empty body is `{}`.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|error| Refusal::bad_request(format!("invalid JSON body: {error}")))
}

fn index() -> Value {
    let routes: Vec<String> = ROUTES
        .iter()
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    json!({ "routes": routes })
}

fn json_reply(status: StatusCode, value: &Value) -> Reply {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    let mut reply = Response::new(Full::new(Bytes::from(text)));
    *reply.status_mut() = status;
    reply
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    reply
}

fn error_reply(status: StatusCode, message: String) -> Reply {
    json_reply(status, &json!({ "error": message }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::events::ScheduledEventCode;

    /// `ROUTES` and `route` agree: every listed route is answered (a 400
    /// for an empty body at worst, never a 404 or a 405).
    #[test]
    fn every_listed_route_is_answered() {
        let state = State::new(&Config::default());
        for (method, pattern) in ROUTES {
            // Present for every route (`PUT /events` replaces them all).
            let id = state.events.add_scheduled(
                &ScheduledEvent::new(ScheduledEventCode::SystemReboot).event_id("instance-event-1"),
                state.clock.wall_now(),
            );
            let path = pattern.replace("{event_id}", &id);
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            if let Err(Refusal(status, message)) = route(&state, &method, &path, b"") {
                assert_eq!(
                    status,
                    StatusCode::BAD_REQUEST,
                    "{method} {path}: {message}"
                );
            }
        }
    }

    #[test]
    fn allowed_methods_come_from_the_table() {
        let allowed = |path: &str| allowed_methods(&segments(path));
        assert_eq!(allowed("/").as_deref(), Some("GET"));
        assert_eq!(allowed("/events").as_deref(), Some("GET, PUT"));
        assert_eq!(allowed("/events/spot/").as_deref(), Some("PUT, DELETE"));
        assert_eq!(
            allowed("/events/scheduled/instance-event-1").as_deref(),
            Some("PATCH, DELETE")
        );
        assert_eq!(allowed("/faults").as_deref(), Some("DELETE"));
        assert_eq!(allowed("/events/scheduled/a/b"), None);
        assert_eq!(allowed("/latest/meta-data/"), None);
    }
}
