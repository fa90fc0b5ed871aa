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
use crate::hop_limit::PutHopLimit;
use crate::path::normalize;
use crate::stats::{RecordedRequest, Stats};
use crate::sync::lock;
use crate::token_fault::TokenPutFault;

/// How long a shutdown waits for in-flight requests before cutting them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The listening sockets, shared so that the handle can close them at once
/// (on `shutdown` or drop) rather than when the accept task next runs: a
/// connection attempt right after the handle is dropped is refused. Empty
/// once closed.
type ListenerSlot = Arc<Mutex<Vec<TcpListener>>>;

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
    /// Never empty; the first is [`MockImds::addr`].
    addrs: Vec<SocketAddr>,
    shutdown: watch::Sender<bool>,
    listener: ListenerSlot,
    accept_task: Option<JoinHandle<()>>,
}

impl fmt::Debug for MockImds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockImds")
            .field("addrs", &self.addrs)
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
        self.start_on_all([addr]).await
    }

    /// Starts one server listening on each of `addrs`, as IMDS answers at
    /// `169.254.169.254` and `[fd00:ec2::254]` alike: one instance, one
    /// token store, one request log. [`MockImds::addr`] and
    /// [`MockImds::base_url`] name the first. Fails if `addrs` is empty,
    /// the config is invalid or a bind fails.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let addrs = ["127.0.0.1:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap()];
    /// let server = imds_mock::Config::default().start_on_all(addrs).await?;
    /// assert_eq!(server.addrs().len(), 2);
    /// assert_eq!(server.addr(), server.addrs()[0]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start_on_all(
        self,
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> io::Result<MockImds> {
        self.validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut listeners = Vec::new();
        let mut bound = Vec::new();
        for addr in addrs {
            let listener = TcpListener::bind(addr).await?;
            bound.push(listener.local_addr()?);
            listeners.push(listener);
        }
        if listeners.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no address to listen on",
            ));
        }
        let state = Arc::new(State::new(&self));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let listener: ListenerSlot = Arc::new(Mutex::new(listeners));
        let accept_task = tokio::spawn(accept_loop(
            Arc::clone(&listener),
            Arc::clone(&state),
            self.put_response_hop_limit,
            shutdown_rx,
        ));
        tracing::debug!(addrs = ?bound, "imds-mock listening");
        Ok(MockImds {
            state,
            addrs: bound,
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

    /// `http://127.0.0.1:PORT` or `http://[::1]:PORT`, no trailing slash
    /// (the first address, when it listens on several).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The address the server listens on (the first, when it listens on
    /// several).
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every address the server listens on, in the order given to
    /// [`Config::start_on_all`].
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// What the handler and the handle share (for the `events` and
    /// `control` modules' methods).
    pub(crate) fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// Resolves once this server shuts down (for the control listener).
    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
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

    /// Keep connections open across requests (`true`), or close each after
    /// its response with `Connection: close` (`false`, the default), as
    /// IMDS does. For benchmarks that measure a client rather than TCP
    /// set-up; a client under test should meet the real behaviour.
    pub fn set_keep_alive(&self, keep_alive: bool) {
        self.state.keep_alive.store(keep_alive, Ordering::SeqCst);
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
        lock(&self.listener).clear();
    }
}

impl Drop for MockImds {
    fn drop(&mut self) {
        // The port closes now; connections wind down on the runtime.
        self.stop();
    }
}

/// The next connection on any of the listeners (each registers the waker).
fn poll_accept(
    slot: &ListenerSlot,
    cx: &mut Context<'_>,
) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
    let listeners = lock(slot);
    if listeners.is_empty() {
        return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
    }
    listeners
        .iter()
        .find_map(|listener| match listener.poll_accept(cx) {
            Poll::Ready(accepted) => Some(Poll::Ready(accepted)),
            Poll::Pending => None,
        })
        .unwrap_or(Poll::Pending)
}

async fn accept_loop(
    slot: ListenerSlot,
    state: Arc<State>,
    put_hop_limit: Option<u8>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = handler::shutting_down(&mut shutdown) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = poll_fn(|cx| poll_accept(&slot, cx)) => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                let hop_limit = put_hop_limit.and_then(|limit| {
                    PutHopLimit::new(&stream, limit)
                        .inspect_err(|error| tracing::warn!(%error, "cannot set the hop limit"))
                        .ok()
                });
                connections.spawn(serve_connection(
                    stream,
                    Arc::clone(&state),
                    hop_limit,
                    shutdown.clone(),
                ));
            }
            Err(error) if lock(&slot).is_empty() => {
                tracing::trace!(%error, "listener closed");
                break;
            }
            // Per-connection errors (the peer reset before accept, too many
            // open files): keep serving others.
            Err(error) => tracing::warn!(%error, "accept failed"),
        }
    }
    lock(&slot).clear();
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
    hop_limit: Option<PutHopLimit>,
    mut shutdown: watch::Receiver<bool>,
) {
    let request_shutdown = shutdown.clone();
    let service = service_fn(move |request: http::Request<_>| {
        if let Some(hop_limit) = &hop_limit {
            hop_limit.on_request(handler::is_token_put(
                request.method(),
                request.uri().path(),
            ));
        }
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
