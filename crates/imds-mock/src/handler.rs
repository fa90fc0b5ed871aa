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
use crate::credentials::{CredentialRotor, rfc3339};
use crate::faults::{Fault, Faults};
use crate::server_clock::ServerClock;
use crate::stats::{Ending, RecordedRequest, Recorder};
use crate::sync::lock;
use crate::token::{IssuedTokens, TOKEN_HEADER, TTL_HEADER, parse_ttl};
use crate::token_fault::TokenReply;
use crate::tree::{Lookup, Node, Tree};

/// The token endpoint.
pub const TOKEN_PATH: &str = "/latest/api/token";

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
    max_token_ttl_secs: Option<u64>,
}

impl State {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            tree: Mutex::new(Tree::from_config(config)),
            tokens: IssuedTokens::default(),
            clock: ServerClock::default(),
            credentials: CredentialRotor::new(Duration::from_secs(config.credential_lifetime_secs)),
            faults: Faults::default(),
            recorder: Recorder::default(),
            imdsv1_allowed: AtomicBool::new(config.imdsv1_allowed),
            disabled: AtomicBool::new(config.disabled),
            max_token_ttl_secs: config.max_token_ttl_secs,
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
    let headers = request.headers();
    let is_token_path = path == TOKEN_PATH;
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
    let (response, ending) = match fault {
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
            let (response, token_issued) = respond(&state, &method, path, headers);
            (response, Ending::answered(token_issued))
        }
    };
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
    let authorized = match headers.get(TOKEN_HEADER) {
        Some(token) => state.tokens.is_valid(token.as_bytes(), state.clock.now()),
        None => state.imdsv1_allowed.load(Ordering::SeqCst),
    };
    if !authorized {
        return (error_page(StatusCode::UNAUTHORIZED), false);
    }
    (read(state, path), false)
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

fn read(state: &State, path: &str) -> Response<Body> {
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
    let tree = lock(&state.tree);
    match tree.lookup(relative) {
        Lookup::Listing(text) => ok("text/plain", text),
        Lookup::Leaf(Node::Static(bytes)) if relative == "user-data" => {
            ok("application/octet-stream", bytes)
        }
        Lookup::Leaf(Node::Static(bytes)) => ok("text/plain", bytes),
        Lookup::Leaf(Node::IamInfo) => {
            let last_updated = rfc3339(state.credentials.last_updated(&state.clock));
            ok("text/plain", tree.iam_info(&last_updated))
        }
        Lookup::Leaf(Node::RoleCredentials) => ok(
            "text/plain",
            state.credentials.credentials_json(&state.clock),
        ),
        Lookup::Leaf(Node::IdentityDocument) => ok("text/plain", tree.identity_document()),
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

/// IMDS answers errors with a small XHTML page.
fn error_page(status: StatusCode) -> Response<Body> {
    let title = format!(
        "{} - {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n\
         <!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\
         \t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n\
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
