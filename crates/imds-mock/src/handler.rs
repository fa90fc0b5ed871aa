//! The request handler: faults first, then IMDS's rules in the order a real
//! instance applies them (disabled, token endpoint, method, token check,
//! path lookup).

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, LOCATION, SERVER};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tokio::sync::watch;

use crate::config::Config;
use crate::credentials::{CredentialRotor, Delivery, rfc3339};
use crate::events::Timeline;
use crate::faults::{Fault, Faults};
use crate::headers;
use crate::path;
use crate::server_clock::ServerClock;
use crate::stats::{Ending, RecordedRequest, Recorder};
use crate::sync::lock;
use crate::token::{IssuedTokens, TOKEN_HEADER, TTL_HEADER, parse_ttl};
use crate::token_fault::TokenReply;
use crate::tree::{Lookup, Node, Tree};

/// The token endpoint.
pub const TOKEN_PATH: &str = "/latest/api/token";

/// Whether a request is a token `PUT` as IMDS routes it: repeated slashes
/// do not count (the JavaScript SDK sends `//latest/api/token`).
pub(crate) fn is_token_put(method: &Method, path: &str) -> bool {
    method == Method::PUT && path::route(path) == TOKEN_PATH
}

/// Response bodies are always complete in memory.
pub(crate) type Body = Full<Bytes>;

/// Returned to hyper to close the connection without writing a response.
#[derive(Debug)]
pub(crate) struct CloseConnection;

impl fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection closed without a response")
    }
}

impl std::error::Error for CloseConnection {}

/// Everything a server's handler and handle share.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) tree: Mutex<Tree>,
    pub(crate) tokens: IssuedTokens,
    pub(crate) clock: ServerClock,
    pub(crate) credentials: CredentialRotor,
    pub(crate) faults: Faults,
    pub(crate) recorder: Recorder,
    pub(crate) imdsv1_allowed: AtomicBool,
    pub(crate) disabled: AtomicBool,
    /// Keep connections open across requests (IMDS closes them).
    pub(crate) keep_alive: AtomicBool,
    max_token_ttl_secs: Option<u64>,
    /// When the instance launched (`pendingTime`): the `Last-Modified` of
    /// what does not change while it runs.
    launched: std::time::SystemTime,
    /// Spot, rebalance, scheduled and Auto Scaling events (see `events`).
    pub(crate) events: Timeline,
    #[cfg(feature = "signing")]
    pub(crate) signatures: crate::signing::Signatures,
}

impl State {
    pub(crate) fn new(config: &Config) -> Self {
        let clock = ServerClock::default();
        Self {
            tree: Mutex::new(Tree::from_config(config)),
            tokens: IssuedTokens::default(),
            events: Timeline::new(&config.events, clock.wall_now()),
            clock,
            credentials: CredentialRotor::new(Duration::from_secs(config.credential_lifetime_secs)),
            faults: Faults::default(),
            recorder: Recorder::default(),
            imdsv1_allowed: AtomicBool::new(config.imdsv1_allowed),
            disabled: AtomicBool::new(config.disabled),
            keep_alive: AtomicBool::new(false),
            max_token_ttl_secs: config.max_token_ttl_secs,
            launched: headers::launch_time(config.pending_time.as_deref()),
            #[cfg(feature = "signing")]
            signatures: Default::default(),
        }
    }
}

/// Resolves once the server is shutting down (or its handle is gone).
pub(crate) async fn shutting_down(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender, owned by the handle, was dropped: stop too.
    let _ = shutdown.wait_for(|&stopping| stopping).await;
}

/// Answers one request, or closes the connection (`Err`) for a dropped or
/// abandoned one.
pub(crate) async fn handle<B>(
    state: Arc<State>,
    request: Request<B>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<Response<Body>, CloseConnection> {
    let method = request.method().clone();
    // Borrowed from the request; the log's copy is the only one made.
    let path = request.uri().path();
    // The log keeps the path as sent; IMDS ignores repeated slashes.
    let routed = path::route(path);
    let headers = request.headers();
    let is_token_path = routed == TOKEN_PATH;
    let mut record = RecordedRequest {
        method: method.clone(),
        path: path.to_owned(),
        has_token: headers.contains_key(TOKEN_HEADER),
        has_ttl: headers.contains_key(TTL_HEADER),
        has_forwarded_for: headers.contains_key("x-forwarded-for"),
        user_agent: headers
            .get(http::header::USER_AGENT)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
        status: None,
    };
    state.recorder.arrived(&method, path, is_token_path);

    let (latency, fault) = state.faults.decide(is_token_path && method == Method::PUT);
    if !latency.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(latency) => {}
            () = shutting_down(&mut shutdown) => {
                state.recorder.ended(record, Ending::ShutDown);
                return Err(CloseConnection);
            }
        }
    }
    let (mut response, ending) = match fault {
        Some(Fault::Drop) => {
            tracing::debug!(%method, %path, "dropped without a response (fault)");
            state.recorder.ended(record, Ending::Dropped);
            return Err(CloseConnection);
        }
        Some(Fault::Hang) => {
            tracing::debug!(%method, %path, "left unanswered (fault)");
            state.recorder.ended(record, Ending::Unanswered);
            shutting_down(&mut shutdown).await;
            return Err(CloseConnection);
        }
        Some(Fault::Redirect(location)) => {
            let mut response = error_page(StatusCode::TEMPORARY_REDIRECT);
            if let Ok(location) = HeaderValue::try_from(location) {
                response.headers_mut().insert(LOCATION, location);
            }
            (response, Ending::by_fault(StatusCode::TEMPORARY_REDIRECT))
        }
        Some(Fault::TokenReply(reply)) => (token_reply(reply), Ending::by_fault(StatusCode::OK)),
        Some(Fault::Fail(status)) => (error_page(status), Ending::by_fault(status)),
        None => {
            let (response, token_issued) = respond(&state, &method, &routed, headers);
            (response, Ending::answered(token_issued))
        }
    };
    if !state.keep_alive.load(Ordering::SeqCst) {
        headers::close(response.headers_mut());
    }
    record.status = Some(response.status());
    tracing::debug!(%method, %path, status = response.status().as_u16(), "answered");
    state.recorder.ended(record, ending);
    Ok(response)
}

/// The normal answer; `true` when a token was issued.
fn respond(
    state: &State,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> (Response<Body>, bool) {
    if state.disabled.load(Ordering::SeqCst) {
        return (error_page(StatusCode::FORBIDDEN), false);
    }
    if path == TOKEN_PATH {
        return issue_token(state, method, headers);
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = error_page(StatusCode::METHOD_NOT_ALLOWED);
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return (response, false);
    }
    // A valid token: IMDSv2, and the answer says how long the token lasts.
    let token_left = match headers.get(TOKEN_HEADER) {
        Some(token) => match state.tokens.remaining(token.as_bytes(), state.clock.now()) {
            Some(left) => Some(left),
            None => return (error_page(StatusCode::UNAUTHORIZED), false),
        },
        None if state.imdsv1_allowed.load(Ordering::SeqCst) => None,
        None => return (error_page(StatusCode::UNAUTHORIZED), false),
    };
    let delivery = match token_left {
        Some(_) => Delivery::Imdsv2,
        None => Delivery::Imdsv1,
    };
    let mut response = read(state, path, delivery);
    if let Some(left) = token_left {
        headers::remaining_ttl(response.headers_mut(), left);
    }
    (response, false)
}

fn issue_token(state: &State, method: &Method, headers: &HeaderMap) -> (Response<Body>, bool) {
    if method != Method::PUT {
        let mut response = error_page(StatusCode::METHOD_NOT_ALLOWED);
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("PUT"));
        return (response, false);
    }
    // Anti-SSRF: a request that went through a proxy is refused.
    if headers.contains_key("x-forwarded-for") {
        return (error_page(StatusCode::FORBIDDEN), false);
    }
    let requested = match parse_ttl(headers.get(TTL_HEADER)) {
        Ok(ttl) => ttl,
        Err(_) => return (error_page(StatusCode::BAD_REQUEST), false),
    };
    let ttl = state
        .max_token_ttl_secs
        .map_or(requested, |cap| requested.min(cap));
    let token = state
        .tokens
        .issue(Duration::from_secs(ttl), state.clock.now());
    let mut response = ok("text/plain", token);
    response
        .headers_mut()
        .insert(TTL_HEADER, HeaderValue::from(ttl));
    (response, true)
}

/// A read's answer: the content, or a 404. A `200` carries
/// `Accept-Ranges` and `Last-Modified` (the launch time, or when the
/// credentials it shows were issued).
fn read(state: &State, path: &str, delivery: Delivery) -> Response<Body> {
    let mut last_modified = state.launched;
    let mut response = read_content(state, path, delivery, &mut last_modified);
    if response.status() == StatusCode::OK {
        headers::read_ok(response.headers_mut(), last_modified);
    }
    response
}

fn read_content(
    state: &State,
    path: &str,
    delivery: Delivery,
    last_modified: &mut std::time::SystemTime,
) -> Response<Body> {
    if path == "/" {
        return ok("text/plain", "latest");
    }
    let relative = match path {
        "/latest" => "",
        _ => match path.strip_prefix("/latest/") {
            Some(relative) => relative,
            None => return error_page(StatusCode::NOT_FOUND),
        },
    };
    let mut tree = lock(&state.tree);
    state.events.sync(&mut tree, state.clock.wall_now());
    match tree.lookup(relative) {
        Lookup::Listing(text) => ok("text/plain", text),
        Lookup::Leaf(Node::Static(bytes)) if relative.trim_end_matches('/') == "user-data" => {
            ok("application/octet-stream", bytes)
        }
        Lookup::Leaf(Node::Static(bytes)) => ok("text/plain", bytes),
        Lookup::Leaf(Node::IamInfo) => {
            *last_modified = state.credentials.last_updated(&state.clock, delivery);
            ok("text/plain", tree.iam_info(&rfc3339(*last_modified)))
        }
        Lookup::Leaf(Node::RoleCredentials) => {
            *last_modified = state.credentials.last_updated(&state.clock, delivery);
            ok(
                "text/plain",
                state.credentials.credentials_json(&state.clock, delivery),
            )
        }
        Lookup::Leaf(Node::IdentityDocument) => ok("text/plain", tree.identity_document()),
        #[cfg(feature = "signing")]
        Lookup::Leaf(Node::IdentitySignature(form)) => {
            let Some(document) = tree.served_identity_document() else {
                return error_page(StatusCode::NOT_FOUND);
            };
            drop(tree);
            match state.signatures.sign(form, &document) {
                Ok(text) => ok("text/plain", text),
                Err(error) => {
                    tracing::error!(%error, "cannot sign the identity document");
                    error_page(StatusCode::INTERNAL_SERVER_ERROR)
                }
            }
        }
        Lookup::NotFound => error_page(StatusCode::NOT_FOUND),
    }
}

fn ok(content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(SERVER, HeaderValue::from_static("EC2ws"));
    response
}

/// IMDS answers errors with a small XHTML page, byte for byte (a 404 is
/// 339 bytes, as captured from EC2).
fn error_page(status: StatusCode) -> Response<Body> {
    let title = format!(
        "{} - {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n\
         <!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\
         \t\t \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n \
         <head>\n  <title>{title}</title>\n </head>\n <body>\n  <h1>{title}</h1>\n </body>\n\
         </html>\n"
    );
    let mut response = ok("text/html", body);
    *response.status_mut() = status;
    response
}

/// A token reply fault: 200, the test's body and TTL header.
fn token_reply(reply: TokenReply) -> Response<Body> {
    let mut response = ok("text/plain", reply.body);
    if let Some(ttl) = reply.ttl {
        response.headers_mut().insert(TTL_HEADER, ttl);
    }
    response
}

impl Ending {
    fn by_fault(status: StatusCode) -> Self {
        Ending::Answered {
            token_issued: false,
            by_fault: Some(status),
        }
    }

    fn answered(token_issued: bool) -> Self {
        Ending::Answered {
            token_issued,
            by_fault: None,
        }
    }
}
