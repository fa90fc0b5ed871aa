//! The listener, its connections, and [`MockImds`], the handle tests hold.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::{Config, ConfigBuilder};
use crate::handler::{self, State};
use crate::path::normalize;
use crate::stats::{RecordedRequest, Stats};
use crate::sync::lock;
use crate::token_fault::TokenPutFault;

/// How long a shutdown waits for in-flight requests before cutting them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The listening socket, shared so that the handle can close it at once
/// (on `shutdown` or drop) rather than when the accept task next runs: a
/// connection attempt right after the handle is dropped is refused.
type ListenerSlot = Arc<Mutex<Option<TcpListener>>>;

/// A running mock IMDS server, listening on loopback.
///
/// `Send + Sync`: share it by reference or in an `Arc` with any task.
/// Dropping it stops the server (see [`MockImds::shutdown`] to wait for that).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let server = imds_mock::MockImds::builder()
///     .imdsv1_allowed(true)
///     .build()
///     .start()
///     .await?;
/// assert!(server.base_url().starts_with("http://127.0.0.1:"));
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct MockImds {
    pub(crate) state: Arc<State>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    listener: ListenerSlot,
    accept_task: Option<JoinHandle<()>>,
}

impl fmt::Debug for MockImds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockImds")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Starts a server with this config on `127.0.0.1`, on a free port.
    pub async fn start(self) -> io::Result<MockImds> {
        self.start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
    }

    /// Starts a server with this config on `addr` (`[::1]:0`, a fixed
    /// port, ...). Fails if the config is invalid or the bind fails.
    pub async fn start_on(self, addr: SocketAddr) -> io::Result<MockImds> {
        self.validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(&self));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let listener: ListenerSlot = Arc::new(Mutex::new(Some(listener)));
        let accept_task = tokio::spawn(accept_loop(
            Arc::clone(&listener),
            Arc::clone(&state),
            shutdown_rx,
        ));
        tracing::debug!(%addr, "imds-mock listening");
        Ok(MockImds {
            state,
            addr,
            shutdown,
            listener,
            accept_task: Some(accept_task),
        })
    }
}

impl MockImds {
    /// A config builder starting from the default instance.
    pub fn builder() -> ConfigBuilder {
        Config::builder()
    }

    /// Starts the default instance on `127.0.0.1`, on a free port.
    pub async fn start_default() -> io::Result<Self> {
        Config::default().start().await
    }

    /// `http://127.0.0.1:PORT` or `http://[::1]:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.state.recorder.stats()
    }

    /// The requests seen so far (oldest first), as facts without header
    /// values.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.requests()
    }

    /// Empties the request log (the counters keep counting).
    pub fn clear_requests(&self) {
        self.state.recorder.clear_requests();
    }

    /// Moves the server clock forward: tokens expire, credentials rotate
    /// and timestamps move as if `by` had passed. The server clock is
    /// tokio's clock plus what this added, so a test that pauses tokio's
    /// clock can advance that instead (`tokio::time::advance`), moving the
    /// client's time too.
    pub fn advance_clock(&self, by: Duration) {
        self.state.clock.advance(by);
    }

    /// Invalidates every token issued so far, as an IMDS restart would.
    pub fn expire_tokens(&self) {
        self.state.tokens.expire_all();
    }

    /// Serve token-less reads (`true`) or require IMDSv2 (`false`).
    pub fn set_imdsv1_allowed(&self, allowed: bool) {
        self.state.imdsv1_allowed.store(allowed, Ordering::SeqCst);
    }

    /// Turn IMDS off (403 on every request) or back on.
    pub fn set_disabled(&self, disabled: bool) {
        self.state.disabled.store(disabled, Ordering::SeqCst);
    }

    /// Delays every response by `latency` (zero: no delay).
    pub fn set_latency(&self, latency: Duration) {
        self.state.faults.set_latency(latency);
    }

    /// Answers the next `n` requests with `status` instead (an error page).
    pub fn fail_next(&self, n: u64, status: StatusCode) {
        self.state.faults.fail_next(n, status);
    }

    /// Answers a reproducible `fraction` (clamped to `0..=1`) of requests
    /// with `status`, chosen by a PRNG seeded with `seed`. Replaces any
    /// earlier fraction; `fraction` 0 turns it off.
    pub fn fail_fraction(&self, fraction: f64, status: StatusCode, seed: u64) {
        self.state.faults.fail_fraction(fraction, status, seed);
    }

    /// Closes the connection of the next `n` requests without any response.
    pub fn drop_next(&self, n: u64) {
        self.state.faults.drop_next(n);
    }

    /// Leaves the next `n` requests (token PUTs and reads) unanswered: the
    /// connection stays open and silent until the client gives up or the
    /// server shuts down, as a stalled IMDS would.
    pub fn stall_next(&self, n: u64) {
        self.state.faults.stall_next(n);
    }

    /// Applies `fault` to the next `n` token PUTs, and to nothing else:
    /// dropped, stalled, an error status, or a [`TokenReply`](crate::TokenReply)
    /// (an empty or huge token, control characters, a missing or garbage TTL
    /// header) instead of a token. Other PUTs to the token path (a missing
    /// TTL header, ...) count as token PUTs here.
    pub fn fault_next_token_puts(&self, n: u64, fault: TokenPutFault) {
        self.state.faults.fault_next_token_puts(n, fault);
    }

    /// While `true`, token PUTs are never answered (as when the PUT
    /// response hop limit is too small for a container); reads still are.
    pub fn set_token_put_unanswered(&self, unanswered: bool) {
        self.state.faults.set_token_put_unanswered(unanswered);
    }

    /// Answers the next `n` requests with `307 Temporary Redirect` to
    /// `location` (sent as given; an invalid header value sends no Location).
    pub fn redirect_next(&self, n: u64, location: impl Into<String>) {
        self.state.faults.redirect_next(n, location.into());
    }

    /// Turns every fault off: no latency, nothing pending.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Adds or replaces the leaf at `path` (under `/latest/`, e.g.
    /// `meta-data/spot/instance-action`) while the server runs.
    ///
    /// # Panics
    ///
    /// If `path` is not a valid path (empty or `.`/`..` segments, ...).
    pub fn set_metadata(&self, path: &str, value: impl Into<Bytes>) {
        let path =
            normalize(path).unwrap_or_else(|| panic!("{path:?} is not a path under /latest/"));
        lock(&self.state.tree).set(&path, value);
    }

    /// Serves `text`, verbatim, as the listing of the directory at `path`
    /// (under `/latest/`, e.g. `meta-data/tags/instance`), whatever its
    /// entries are: blank lines, `\r\n`, `..`, entries that do not exist.
    /// The parent's listing is unchanged; [`remove_metadata`](Self::remove_metadata)
    /// of the directory drops the override.
    ///
    /// # Panics
    ///
    /// If `path` is not a valid path.
    pub fn set_listing(&self, path: &str, text: impl Into<String>) {
        let path =
            normalize(path).unwrap_or_else(|| panic!("{path:?} is not a path under /latest/"));
        lock(&self.state.tree).set_listing(&path, text.into());
    }

    /// Serves an error document at the role's credentials path instead of
    /// credentials, as IMDS does when EC2 cannot assume the role:
    /// `{"Code": code, "Message": message, "LastUpdated": now}` with
    /// `200 OK`. Until [`clear_credentials_error`](Self::clear_credentials_error).
    pub fn set_credentials_error(&self, code: impl Into<String>, message: impl Into<String>) {
        self.state
            .credentials
            .set_error(Some((code.into(), message.into())));
    }

    /// Serves credentials again after [`set_credentials_error`](Self::set_credentials_error).
    pub fn clear_credentials_error(&self) {
        self.state.credentials.set_error(None);
    }

    /// Removes the leaf or directory at `path` (under `/latest/`).
    ///
    /// # Panics
    ///
    /// If `path` is not a valid path.
    pub fn remove_metadata(&self, path: &str) {
        let path =
            normalize(path).unwrap_or_else(|| panic!("{path:?} is not a path under /latest/"));
        lock(&self.state.tree).remove(&path);
    }

    /// Stops accepting (the port is closed when this is called), lets
    /// in-flight requests finish (up to 5 s; unanswered and delayed ones are
    /// cut off at once) and waits for every connection to close.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(task) = self.accept_task.take() {
            let _ = task.await;
        }
    }

    fn stop(&self) {
        self.shutdown.send_replace(true);
        lock(&self.listener).take();
    }
}

impl Drop for MockImds {
    fn drop(&mut self) {
        // The port closes now; connections wind down on the runtime.
        self.stop();
    }
}

fn poll_accept(
    slot: &ListenerSlot,
    cx: &mut Context<'_>,
) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
    match lock(slot).as_ref() {
        Some(listener) => listener.poll_accept(cx),
        None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
    }
}

async fn accept_loop(slot: ListenerSlot, state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = handler::shutting_down(&mut shutdown) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = poll_fn(|cx| poll_accept(&slot, cx)) => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                connections.spawn(serve_connection(
                    stream,
                    Arc::clone(&state),
                    shutdown.clone(),
                ));
            }
            Err(error) if lock(&slot).is_none() => {
                tracing::trace!(%error, "listener closed");
                break;
            }
            // Per-connection errors (the peer reset before accept, too many
            // open files): keep serving others.
            Err(error) => tracing::warn!(%error, "accept failed"),
        }
    }
    lock(&slot).take();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("connections still open after the shutdown grace period; aborting them");
    }
    // Dropping the JoinSet aborts whatever is left.
}

async fn serve_connection(
    stream: TcpStream,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    let request_shutdown = shutdown.clone();
    let service = service_fn(move |request| {
        handler::handle(Arc::clone(&state), request, request_shutdown.clone())
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        () = handler::shutting_down(&mut shutdown) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}
