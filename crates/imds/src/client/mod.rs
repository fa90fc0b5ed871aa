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
mod endpoint;
mod path;
mod probe;
mod stack;
mod walk;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use tower::{BoxError, ServiceExt};
use tower_imds::ImdsV2Layer;

pub use self::builder::{
    ClientBuilder, DEFAULT_CONCURRENCY, DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_RACE_DELAY,
    DEFAULT_TTL_SECONDS, Mode,
};
use self::endpoint::{Endpoints, Family};
pub use self::stack::RequestBody;
use self::stack::{HttpService, ResponseBody};
pub use self::walk::{MAX_WALK_DEPTH, MAX_WALK_ENTRIES};
use crate::config::{Resolved, Settings, Source};
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
    resolved: Resolved,
}

enum State {
    Disabled(Source),
    Enabled(Box<Enabled>),
}

/// Everything an enabled client holds.
pub(crate) struct Enabled {
    service: HttpService,
    layer: ImdsV2Layer,
    endpoints: Endpoints,
    settings: Settings,
    mode: Mode,
    max_response_size: usize,
    concurrency: usize,
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

    /// The settings as resolved when the client was built.
    pub fn resolved(&self) -> &Resolved {
        &self.inner.resolved
    }

    /// The settings, or `None` when IMDS is disabled.
    pub fn settings(&self) -> Option<&Settings> {
        match &self.inner.state {
            State::Enabled(enabled) => Some(&enabled.settings),
            State::Disabled(_) => None,
        }
    }

    /// Where requests go: `http://HOST[:PORT]`. In auto endpoint mode,
    /// `None` until the first race has a winner. `None` when disabled.
    pub fn endpoint(&self) -> Option<&str> {
        match &self.inner.state {
            State::Enabled(enabled) => enabled.endpoints.current(),
            State::Disabled(_) => None,
        }
    }

    /// The token layer of this client. Build other tower stacks with it to
    /// share the client's token cache: one token for every IMDS consumer
    /// of the process. `None` when disabled.
    pub fn token_layer(&self) -> Option<ImdsV2Layer> {
        match &self.inner.state {
            State::Enabled(enabled) => Some(enabled.layer.clone()),
            State::Disabled(_) => None,
        }
    }

    fn enabled(&self) -> Result<&Enabled, Error> {
        match &self.inner.state {
            State::Enabled(enabled) => Ok(enabled),
            State::Disabled(source) => Err(Error::Disabled(source.clone())),
        }
    }

    /// The body at `path`; `None` on 404. Binary safe.
    pub async fn get(&self, path: &str) -> Result<Option<Bytes>, Error> {
        let enabled = self.enabled()?;
        let path = path::absolute(path)?;
        enabled.fetch(&path).await
    }

    /// The body at `path` as UTF-8 text; `None` on 404.
    pub async fn get_text(&self, path: &str) -> Result<Option<String>, Error> {
        let enabled = self.enabled()?;
        let path = path::absolute(path)?;
        let Some(body) = enabled.fetch(&path).await? else {
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
        let enabled = self.enabled()?;
        let path = path::absolute(path)?;
        let Some(body) = enabled.fetch(&path).await? else {
            return Ok(None);
        };
        document::parse_json(&path, &body).map(Some)
    }

    /// Text that must exist: 404 is [`Error::Status`]. Surrounding
    /// whitespace is trimmed.
    async fn required_text(&self, path: &str) -> Result<String, Error> {
        match self.get_text(path).await? {
            Some(text) => Ok(text.trim().to_owned()),
            None => Err(Error::Status {
                status: StatusCode::NOT_FOUND,
                path: path::absolute(path)?,
            }),
        }
    }

    /// `meta-data/instance-id`.
    pub async fn instance_id(&self) -> Result<String, Error> {
        self.required_text("meta-data/instance-id").await
    }

    /// `meta-data/instance-type`, e.g. `t3.micro`.
    pub async fn instance_type(&self) -> Result<String, Error> {
        self.required_text("meta-data/instance-type").await
    }

    /// `meta-data/placement/availability-zone`, e.g. `us-east-1a`.
    pub async fn availability_zone(&self) -> Result<String, Error> {
        self.required_text("meta-data/placement/availability-zone")
            .await
    }

    /// The region: `meta-data/placement/region`, or the identity document's
    /// when an older instance has no such path.
    pub async fn region(&self) -> Result<String, Error> {
        match self.get_text("meta-data/placement/region").await? {
            Some(region) => Ok(region.trim().to_owned()),
            None => Ok(self.identity_document().await?.region),
        }
    }

    /// `dynamic/instance-identity/document`.
    pub async fn identity_document(&self) -> Result<IdentityDocument, Error> {
        let path = "dynamic/instance-identity/document";
        self.get_json(path).await?.ok_or_else(|| Error::Status {
            status: StatusCode::NOT_FOUND,
            path: format!("{}{path}", path::LATEST),
        })
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
        self.settings()?
            .role_name
            .as_ref()
            .map(|setting| setting.value.as_str())
    }
}

impl Enabled {
    /// `GET path` (absolute) through the stack; the body on 2xx, `None` on
    /// 404.
    async fn fetch(&self, path: &str) -> Result<Option<Bytes>, Error> {
        let (base, response) = self.send(path).await?;
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
        self.read_body(&base, path, response).await.map(Some)
    }

    /// Sends `GET path` to the current endpoint, racing for one first in
    /// auto mode. Returns the endpoint used and the response.
    async fn send(&self, path: &str) -> Result<(String, Response<ResponseBody>), Error> {
        let (ipv4, ipv6, delay, winner) = match &self.endpoints {
            Endpoints::Single(base) => {
                return Ok((base.clone(), self.call(base, path).await?));
            }
            Endpoints::Race {
                ipv4,
                ipv6,
                delay,
                winner,
            } => (ipv4, ipv6, *delay, winner),
        };
        if let Some(base) = winner.get() {
            return Ok((base.clone(), self.call(base, path).await?));
        }
        let mut first = None;
        let base = winner
            .get_or_try_init(|| async {
                let (family, response) =
                    endpoint::race(self.call(ipv4, path), self.call(ipv6, path), delay).await?;
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
            Some(response) => Ok((base.clone(), response)),
            None => Ok((base.clone(), self.call(base, path).await?)),
        }
    }

    /// One request through the stack to `base`.
    async fn call(&self, base: &str, path: &str) -> Result<Response<ResponseBody>, Error> {
        let request = Request::get(format!("{base}{path}"))
            .body(RequestBody::new())
            .map_err(|_| Error::InvalidPath {
                path: path.to_owned(),
                reason: "not a valid URI path",
            })?;
        let timeout = self.settings.timeout.value;
        self.service
            .clone()
            .oneshot(request)
            .await
            .map_err(|error| stack::map_error(error, base, timeout))
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
            let mut collected = BytesMut::new();
            while let Some(frame) = body.frame().await {
                let Ok(data) = frame?.into_data() else {
                    continue; // trailers
                };
                if collected.len() + data.len() > limit {
                    return Ok(None);
                }
                collected.extend_from_slice(&data);
            }
            Ok::<_, BoxError>(Some(collected.freeze()))
        };
        match tokio::time::timeout(timeout, collect).await {
            Err(_elapsed) => Err(Error::timeout(base, timeout, None)),
            Ok(Ok(Some(body))) => Ok(body),
            Ok(Ok(None)) => Err(Error::bad_response(path, ResponseError::TooLarge { limit })),
            Ok(Err(error)) => Err(stack::map_error(error, base, timeout)),
        }
    }
}
