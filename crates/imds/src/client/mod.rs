//! The IMDS client: [`Client`] and its [`ClientBuilder`].
//!
//! ```
//! use imds::Client;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mock = imds_mock::MockImds::builder().tags_enabled(true).build().start().await?;
//! // On EC2 `Client::from_env()?` is all it takes; here, a local mock.
//! let client = Client::builder().endpoint(mock.base_url()).build()?;
//!
//! let id = client.instance_id().await?;
//! let document = client.identity_document().await?;
//! assert_eq!(document.instance_id, id);
//! assert_eq!(client.region().await?, document.region);
//!
//! // 404 is `None`, not an error.
//! assert_eq!(client.get("meta-data/spot/instance-action").await?, None);
//! assert_eq!(client.tags().await?.unwrap()["Name"], "imds-mock");
//!
//! // Clones share the one token fetched so far.
//! let clone = client.clone();
//! clone.get_text("meta-data/ami-id").await?;
//! assert_eq!(mock.stats().token_puts, 1);
//! # Ok(())
//! # }
//! ```

mod builder;
mod classify;
mod identity;
mod path;
mod probe;
mod race;
mod stable;
mod stack;
mod summary;
mod wait;
mod walk;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use tokio::time::error::Elapsed;
use tower::{BoxError, ServiceExt};
use tower_imds::header::TOKEN_PATH;
use tower_imds::{ImdsV2Layer, MetadataToken};

pub use self::builder::{
    ClientBuilder, DEFAULT_CONCURRENCY, DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_RACE_DELAY, Mode,
};
use self::race::{Endpoints, Family, Race, Target};
use self::stable::StableValues;
pub use self::stack::RequestBody;
use self::stack::{HttpService, ResponseBody};
pub use self::summary::InstanceSummary;
pub use self::wait::{WAIT_MAX_BACKOFF, WAIT_MIN_BACKOFF};
pub use self::walk::{MAX_WALK_DEPTH, MAX_WALK_ENTRIES};
use crate::config::{Settings, Source};
use crate::credentials::{CredentialsProvider, MetadataSource};
use crate::document::{self, IamInfo, IdentityDocument, SpotInstanceAction};
use crate::error::{Error, ResponseError};
use crate::listing;

/// A client for IMDS.
///
/// Settings are resolved once, when it is built (see
/// [`config`](crate::config)). Cheap to clone; all clones share one token
/// cache, one connection pool and, in auto endpoint mode, one endpoint.
///
/// # Paths
///
/// A path starting with `/` is sent as it is (`/latest/meta-data/ami-id`);
/// any other path is relative to `/latest/` (`meta-data/ami-id`). It must
/// be a valid URI path (percent-encode anything else), without query or
/// fragment, or the call fails with [`Error::InvalidPath`].
///
/// # Errors
///
/// Every call fails with [`Error::Disabled`], without any I/O, when IMDS is
/// disabled. A 404 is `Ok(None)` for the methods that return an `Option`
/// and [`Error::Status`] for the others; other statuses are
/// [`Error::Status`] once retries are spent; [`Error::Unreachable`] says no
/// connection could be made and [`Error::Timeout`] that IMDS did not answer
/// in time (with the hop-limit hint).
/// Errors never hold a token, credentials or a response body.
///
/// # The stack
///
/// Requests go through
/// `Retry(ImdsRetryPolicy) → ImdsV2Layer → Timeout → HTTP client`:
///
/// - the retry layer is outside the token layer, so every attempt asks it
///   for a token: the attempt after a 401 carries the fresh token, and a
///   failed token request is retried like a failed read;
/// - the per-attempt timeout is inside the token layer, so it bounds the
///   token `PUT` (which the layer sends through the service it wraps) as
///   well as each read, and a timed-out attempt can be retried; a deadline
///   outside the token layer would cut short a token fetch that other
///   requests wait on;
/// - the HTTP client is hyper-util's legacy client over a plain
///   `HttpConnector`: no proxy (a proxy would answer with its own host's
///   metadata), no TLS, `TCP_NODELAY`, connect timeout = the timeout.
///   [`ClientBuilder::http_service`] replaces it.
///
/// Bodies are read after the stack, within the timeout and the
/// [size limit](ClientBuilder::max_response_size).
///
/// # Boot-stable values
///
/// The instance ID, type, region, availability zone and its ID, account and
/// MAC cannot change while the instance is up: their getters read IMDS once
/// and then answer from memory, for every clone
/// ([`forget_cached`](Self::forget_cached) starts over). Concurrent first
/// calls share one read; a failed read is not kept. [`get`](Self::get) and
/// the other path-based methods always read IMDS.
///
/// # Modes
///
/// In [`Mode::Probe`] (the default) a connection that cannot be made, or a
/// token request with no HTTP answer, fails at once: off EC2 a call costs
/// one attempt. Once the endpoint has answered over HTTP, such failures are
/// passing faults and are retried with backoff. [`Mode::Expected`] retries
/// them from the start.
///
/// # Endpoint modes
///
/// IPv4 and IPv6 mode send every request to one address. Auto mode races
/// the two on the first request: IPv4 first, then IPv6 as well after the
/// [race delay](ClientBuilder::race_delay) (250 ms), or at once when IPv4
/// fails. The first to answer with any HTTP response wins, and every later
/// request of the client and its clones goes there. IPv4 goes first
/// (unlike RFC 8305's IPv6 first) because every instance serves IMDS on
/// IPv4 and only some on IPv6. When both fail, nothing is remembered and
/// the error of the endpoint that got furthest is returned.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    state: State,
}

enum State {
    Disabled(Source),
    Enabled(Box<Enabled>),
}

/// Everything an enabled client holds.
pub(crate) struct Enabled {
    service: HttpService,
    /// [`Client::token`]'s twin of `service` (see `stack::Stacks`).
    token_service: HttpService,
    /// The stack's token layer, as the client adjusted it: for `Debug`.
    layer: ImdsV2Layer,
    endpoints: Endpoints,
    settings: Settings,
    mode: Mode,
    max_response_size: usize,
    concurrency: usize,
    /// The boot-stable values read so far.
    stable: StableValues,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Client");
        match &self.inner.state {
            State::Disabled(source) => debug.field("disabled_by", source),
            State::Enabled(enabled) => debug
                .field("endpoints", &enabled.endpoints)
                .field("settings", &enabled.settings)
                .field("mode", &enabled.mode)
                .field("layer", &enabled.layer)
                .field("max_response_size", &enabled.max_response_size)
                .field("concurrency", &enabled.concurrency),
        };
        debug.finish_non_exhaustive()
    }
}

impl Client {
    /// A builder, to set things in code.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured by the environment and the config file alone.
    pub fn from_env() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// The settings as resolved when the client was built, each with where
    /// it came from; [`Error::Disabled`] when IMDS is disabled (no other
    /// setting is resolved then).
    pub fn settings(&self) -> Result<&Settings, Error> {
        Ok(&self.enabled()?.settings)
    }

    /// Where requests go: `http://HOST[:PORT]`. In auto endpoint mode,
    /// `None` until the first race has a winner. `None` when disabled.
    pub fn endpoint(&self) -> Option<&str> {
        match &self.inner.state {
            State::Enabled(enabled) => enabled.endpoints.current(),
            State::Disabled(_) => None,
        }
    }

    /// The session token the client reads with: the cached one, or a new
    /// one fetched now (with the client's retries and timeout, and through
    /// the layer's token store if it has one). No metadata is read: only
    /// the token request reaches IMDS. `None` when the layer fell back to
    /// IMDSv1 (see [`ImdsV2Layer::fallback_to_imdsv1`](crate::ImdsV2Layer::fallback_to_imdsv1)).
    ///
    /// For scripts and tools that hand the token to another program, as
    /// `imds token` does. Handle it as a secret.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// let token = client.token().await?.expect("IMDSv2");
    /// assert_eq!(format!("{token:?}"), "MetadataToken(<redacted>)");
    /// assert_eq!((mock.stats().token_puts, mock.stats().reads), (1, 0));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn token(&self) -> Result<Option<MetadataToken>, Error> {
        let enabled = self.enabled()?;
        let (_, response) = enabled.send(TOKEN_PATH, &enabled.token_service).await?;
        Ok(tower_imds::get_metadata_token(&response).cloned())
    }

    /// How many requests one call keeps in flight at most
    /// ([`ClientBuilder::concurrency`]).
    pub(crate) fn concurrency(&self) -> usize {
        self.enabled().map_or(1, |enabled| enabled.concurrency)
    }

    fn enabled(&self) -> Result<&Enabled, Error> {
        match &self.inner.state {
            State::Enabled(enabled) => Ok(enabled),
            State::Disabled(source) => Err(Error::Disabled(source.clone())),
        }
    }

    /// The body at `path`; `None` on 404. Binary safe.
    pub async fn get(&self, path: &str) -> Result<Option<Bytes>, Error> {
        let (_, body) = self.enabled()?.fetch_given(path).await?;
        Ok(body)
    }

    /// The body at `path` as UTF-8 text; `None` on 404.
    pub async fn get_text(&self, path: &str) -> Result<Option<String>, Error> {
        let (path, body) = self.enabled()?.fetch_given(path).await?;
        let Some(body) = body else {
            return Ok(None);
        };
        document::parse_text(&path, &body).map(|text| Some(text.to_owned()))
    }

    /// The JSON document at `path`; `None` on 404.
    ///
    /// For documents that hold no secret: a parse error may quote a value
    /// of the document, as serde's messages do. (Credentials go through
    /// [`credentials_provider`](Self::credentials_provider), whose errors
    /// never quote.)
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Error> {
        let (path, body) = self.enabled()?.fetch_given(path).await?;
        let Some(body) = body else {
            return Ok(None);
        };
        document::parse_json(&path, &body).map(Some)
    }

    /// `dynamic/instance-identity/document`.
    pub async fn identity_document(&self) -> Result<IdentityDocument, Error> {
        let path = "dynamic/instance-identity/document";
        self.get_json(path)
            .await?
            .ok_or_else(|| path::not_found(path))
    }

    /// `meta-data/iam/info`; `None` when no instance profile is attached.
    pub async fn iam_info(&self) -> Result<Option<IamInfo>, Error> {
        self.get_json("meta-data/iam/info").await
    }

    /// `meta-data/spot/instance-action`; `None` unless the Spot instance is
    /// about to be interrupted.
    pub async fn spot_instance_action(&self) -> Result<Option<SpotInstanceAction>, Error> {
        self.get_json("meta-data/spot/instance-action").await
    }

    /// `user-data`, as bytes (it may be gzip or anything else); `None` when
    /// the instance has none. A secret as far as this crate is concerned:
    /// it is never logged.
    pub async fn user_data(&self) -> Result<Option<Bytes>, Error> {
        self.get("user-data").await
    }

    /// The instance's tags, `meta-data/tags/instance/` (fetched with the
    /// client's concurrency); `None` when tags in metadata are not enabled
    /// for the instance.
    pub async fn tags(&self) -> Result<Option<BTreeMap<String, String>>, Error> {
        let enabled = self.enabled()?;
        let list = "/latest/meta-data/tags/instance/";
        let Some(body) = enabled.fetch(list).await? else {
            return Ok(None);
        };
        let keys: Vec<String> = listing::parse(document::parse_text(list, &body)?)
            .into_iter()
            .filter(|entry| !entry.is_dir())
            .map(|entry| entry.name().to_owned())
            .collect();
        let requests = keys.into_iter().filter_map(|key| {
            let path = format!("{list}{}", path::segment(&key)?);
            Some(async move {
                let value = enabled.fetch(&path).await?;
                let value = match value {
                    Some(body) => Some(document::parse_text(&path, &body)?.to_owned()),
                    None => None,
                };
                Ok::<_, Error>((key, value))
            })
        });
        let mut tags = BTreeMap::new();
        let mut results = futures_util::StreamExt::buffer_unordered(
            futures_util::stream::iter(requests),
            enabled.concurrency,
        );
        while let Some(result) = futures_util::StreamExt::next(&mut results).await {
            // A tag removed since the listing is skipped.
            if let (key, Some(value)) = result? {
                tags.insert(key, value);
            }
        }
        Ok(Some(tags))
    }

    /// A credentials provider for the instance role, reading IMDS through
    /// this client (and its token). The role is the configured one
    /// ([`ClientBuilder::role_name`], `AWS_EC2_INSTANCE_PROFILE_NAME`,
    /// `ec2_instance_profile_name`), else discovered.
    /// `CredentialsProvider::new(client)` does the same.
    pub fn credentials_provider(&self) -> CredentialsProvider<Client> {
        CredentialsProvider::new(self.clone())
    }
}

impl MetadataSource for Client {
    async fn get(&self, path: &str) -> Result<Option<Bytes>, Error> {
        Client::get(self, path).await
    }

    fn role_name(&self) -> Option<&str> {
        self.settings()
            .ok()?
            .role_name
            .as_ref()
            .map(|setting| setting.value.as_str())
    }
}

impl Enabled {
    /// [`fetch`](Self::fetch) of a path as a caller gave it (relative or
    /// absolute); returns the absolute path too. The hot path: the path is
    /// checked by the one parse of the request URI rather than copied and
    /// parsed first (see [`path::joined`]).
    async fn fetch_given<'p>(&self, path: &'p str) -> Result<(Cow<'p, str>, Option<Bytes>), Error> {
        let absolute = path::joined(path)?;
        match self.fetch(&absolute).await {
            Ok(body) => Ok((absolute, body)),
            // The URI did not parse: the error `path::absolute` gives, which
            // names the path as given.
            Err(error @ Error::InvalidPath { .. }) => {
                Err(path::absolute(path).err().unwrap_or(error))
            }
            Err(error) => Err(error),
        }
    }

    /// `GET path` (absolute) through the stack; the body on 2xx, `None` on
    /// 404.
    async fn fetch(&self, path: &str) -> Result<Option<Bytes>, Error> {
        let (base, response) = self.send(path, &self.service).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(Error::Status {
                status,
                path: path.to_owned(),
            });
        }
        self.read_body(base, path, response).await.map(Some)
    }

    /// Sends `GET path` to the current endpoint, racing for one first in
    /// auto mode. Returns the endpoint used (borrowed: no copy per request)
    /// and the response.
    async fn send(
        &self,
        path: &str,
        service: &HttpService,
    ) -> Result<(&str, Response<ResponseBody>), Error> {
        match self.endpoints.target() {
            Target::Known(base) => Ok((base, self.call(base, path, service).await?)),
            // Boxed: the race holds two requests and a timer, and its state
            // would otherwise make every request's future (moved as it is
            // built) several times larger. Only auto mode's first requests
            // come here.
            Target::Unraced(race) => Box::pin(self.race(race, path, service)).await,
        }
    }

    /// Auto mode before a winner is known: races IPv4 and IPv6 for it.
    async fn race<'a>(
        &'a self,
        race: &'a Race,
        path: &str,
        service: &HttpService,
    ) -> Result<(&'a str, Response<ResponseBody>), Error> {
        let Race {
            ipv4,
            ipv6,
            delay,
            winner,
        } = race;
        let mut first = None;
        let base = winner
            .get_or_try_init(|| async {
                let (family, response) =
                    race::race(
                    self.call(ipv4, path, service),
                    self.call(ipv6, path, service),
                    *delay,
                )
                .await?;
                first = Some(response);
                let base = match family {
                    Family::V4 => ipv4.clone(),
                    Family::V6 => ipv6.clone(),
                };
                tracing::debug!(endpoint = %base, "IMDS auto endpoint mode: using the first to answer");
                Ok::<_, Error>(base)
            })
            .await?;
        match first {
            Some(response) => Ok((base, response)),
            None => Ok((base, self.call(base, path, service).await?)),
        }
    }

    /// One request through `service` to `base`.
    async fn call(
        &self,
        base: &str,
        path: &str,
        service: &HttpService,
    ) -> Result<Response<ResponseBody>, Error> {
        // Concatenated rather than `format!`ed (the formatting machinery
        // cost more than the rest of building the request), into a string
        // of exact capacity, which the URI then owns without a copy.
        let mut uri = String::with_capacity(base.len() + path.len());
        uri.push_str(base);
        uri.push_str(path);
        let uri = Uri::try_from(uri).map_err(|_| Error::InvalidPath {
            path: path.to_owned(),
            reason: "not a valid URI path",
        })?;
        let mut request = Request::new(RequestBody::new()); // a GET
        *request.uri_mut() = uri;
        let timeout = self.settings.timeout.value;
        service
            .clone()
            .oneshot(request)
            .await
            .map_err(|error| classify::map_error(error, base, timeout))
    }

    /// The body, within the size limit and the timeout.
    async fn read_body(
        &self,
        base: &str,
        path: &str,
        response: Response<ResponseBody>,
    ) -> Result<Bytes, Error> {
        let limit = self.max_response_size;
        let timeout = self.settings.timeout.value;
        // A loop over frames rather than `http_body_util::Limited`, whose
        // `Into<BoxError>` bound trips rustc's check that this future is
        // `Send` (higher-ranked lifetimes in auto traits).
        let mut body = response.into_body();
        let collect = async {
            // IMDS values are small and usually arrive in one frame: that
            // frame is returned as it is, without a copy (as
            // `http_body_util::Collected::to_bytes` does). Only a second
            // frame starts a buffer.
            let mut first: Option<Bytes> = None;
            let mut collected = BytesMut::new();
            let mut len = 0usize;
            while let Some(frame) = body.frame().await {
                let Ok(data) = frame?.into_data() else {
                    continue; // trailers
                };
                len += data.len();
                if len > limit {
                    return Ok(None);
                }
                match &first {
                    None => first = Some(data),
                    Some(first) => {
                        if collected.is_empty() {
                            collected.extend_from_slice(first);
                        }
                        collected.extend_from_slice(&data);
                    }
                }
            }
            let body = if collected.is_empty() {
                first.unwrap_or_default()
            } else {
                collected.freeze()
            };
            Ok::<_, BoxError>(Some(body))
        };
        match within(timeout, collect).await {
            Err(_elapsed) => Err(Error::timeout(base, timeout, None)),
            Ok(Ok(Some(body))) => Ok(body),
            Ok(Ok(None)) => Err(Error::bad_response(path, ResponseError::TooLarge { limit })),
            Ok(Err(error)) => Err(classify::map_error(error, base, timeout)),
        }
    }
}

/// `tokio::time::timeout(timeout, future)`, but without a timer when
/// `future` is done at its first poll, as a body mostly is once its
/// response head has arrived. A tokio timer takes the runtime's timer lock
/// when it is dropped, armed or not, so this spares most reads a lock and
/// the timer's set-up (BENCHMARKS.md, P1). The deadline then counts from
/// the first poll, a moment later than the call.
async fn within<F: Future>(timeout: Duration, future: F) -> Result<F::Output, Elapsed> {
    let mut future = std::pin::pin!(future);
    let polled = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await;
    match polled {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => tokio::time::timeout(timeout, future).await,
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use futures_util::{StreamExt, stream};
    use http::{HeaderValue, Method};
    use http_body::Frame;
    use http_body_util::StreamBody;
    use http_body_util::combinators::UnsyncBoxBody;
    use tower_imds::header::X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS;

    use super::*;
    use crate::Env;

    type Body = UnsyncBoxBody<Bytes, Infallible>;

    /// A client whose HTTP service answers the token `PUT` and gives every
    /// read the body `frames` makes.
    fn client_over(frames: fn() -> Body, max: usize) -> Client {
        let service = tower::service_fn(move |request: Request<RequestBody>| async move {
            if request.method() == Method::PUT {
                let mut response = Response::new(frames_of(&["a-token"]));
                response.headers_mut().insert(
                    X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS,
                    HeaderValue::from_static("21600"),
                );
                return Ok::<_, Infallible>(response);
            }
            Ok(Response::new(frames()))
        });
        Client::builder()
            .env(Env::from_map::<_, String, String>([]))
            .endpoint("http://127.0.0.1:1")
            .max_response_size(max)
            .http_service(service)
            .build()
            .unwrap()
    }

    fn frames_of(chunks: &[&'static str]) -> Body {
        let frames: Vec<Result<Frame<Bytes>, Infallible>> = chunks
            .iter()
            .map(|chunk| Ok(Frame::data(Bytes::from_static(chunk.as_bytes()))))
            .collect();
        StreamBody::new(stream::iter(frames)).boxed_unsync()
    }

    // `read_body` keeps a lone frame as it is and gathers several in a
    // buffer: both must give the whole body, and the limit must count all
    // frames.
    #[tokio::test]
    async fn bodies_in_one_or_many_frames_are_read_whole_within_the_limit() {
        let one = client_over(|| frames_of(&["i-0123"]), 6);
        assert_eq!(
            one.get("meta-data/instance-id").await.unwrap().unwrap(),
            "i-0123"
        );
        let many = || frames_of(&["", "i-", "", "01", "23"]);
        let client = client_over(many, 6);
        assert_eq!(
            client.get("meta-data/instance-id").await.unwrap().unwrap(),
            "i-0123"
        );
        let empty = client_over(|| frames_of(&["", ""]), 6);
        assert_eq!(
            empty.get("meta-data/instance-id").await.unwrap().unwrap(),
            ""
        );
        let error = client_over(many, 5)
            .get("meta-data/instance-id")
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                Error::BadResponse {
                    reason: ResponseError::TooLarge { limit: 5 },
                    ..
                }
            ),
            "{error:?}"
        );
    }

    // A body that is not complete at the first poll gets the timeout: one
    // that stalls after its first frame fails after exactly the timeout.
    #[tokio::test(start_paused = true)]
    async fn a_body_that_stalls_times_out() {
        let stalled = || {
            let first = stream::iter([Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"i-")))]);
            StreamBody::new(first.chain(stream::pending())).boxed_unsync()
        };
        let client = client_over(stalled, 1024);
        let started = tokio::time::Instant::now();
        let read = client.get("meta-data/instance-id");
        let error = tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("the body's timeout fires")
            .unwrap_err();
        assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(1),
            "the default timeout"
        );
    }
}
