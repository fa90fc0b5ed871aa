//! [`ClientBuilder`]: settings in code, resolved with the environment and
//! the config file into a [`Client`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower::{BoxError, Service};
use tower_imds::{ImdsRetryPolicy, ImdsV2Layer, UserAgent};

use super::probe::ClientRetryPolicy;
use super::race::Endpoints;
use super::stack::{self, RequestBody, Stacks};
use super::{Client, Enabled, Inner, State};
use crate::config::{self, ConfigError, Endpoint, EndpointMode, Overrides, Resolved, Settings};
use crate::env::Env;
use crate::error::Error;

/// The largest response body accepted by default: 1 MiB. IMDS values are
/// small; user-data is at most 16 KiB.
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 1024 * 1024;
/// How many requests a [`walk`](Client::walk) or [`tags`](Client::tags)
/// keeps in flight by default.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// In auto endpoint mode, how long the IPv4 endpoint has to itself before
/// the IPv6 endpoint is tried as well (RFC 8305's "connection attempt
/// delay").
pub const DEFAULT_RACE_DELAY: Duration = Duration::from_millis(250);

/// How hard the client tries to reach IMDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// For code that may not run on EC2 (the default): a connection that
    /// cannot be made, and a token request that gets no HTTP answer, are
    /// final at once, so that off EC2 a call fails after one attempt.
    /// IMDS's own answers that mean "try again" (429, 5xx) and reads that
    /// time out after a token was issued are still retried. Once the
    /// endpoint has answered over HTTP, IMDS is known to be there, and
    /// every failure is retried as in [`Mode::Expected`].
    #[default]
    Probe,
    /// For services that must run on EC2: every transport failure,
    /// connection failures included, is retried with backoff, up to the
    /// configured attempts.
    Expected,
}

/// Builds a [`Client`]. Every setting is optional; see
/// [`config`](crate::config) for the environment variables and profile
/// keys each one overrides.
///
/// ```
/// use std::time::Duration;
/// use imds::{Client, Env, ImdsV2Layer, Mode, TokenTtl};
///
/// let client = Client::builder()
///     .endpoint("http://127.0.0.1:1338")
///     .timeout(Duration::from_millis(500))
///     .attempts(2)
///     .mode(Mode::Expected)
///     .token_layer(ImdsV2Layer::new().ttl(TokenTtl::from_secs(300)?))
///     .env(Env::from_map([("AWS_EC2_METADATA_V1_DISABLED", "true")]))
///     .build()?;
/// assert!(client.settings()?.v1_disabled.value);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct ClientBuilder {
    overrides: Overrides,
    env: Env,
    token_layer: ImdsV2Layer,
    mode: Mode,
    backoff: Option<(Duration, Duration)>,
    max_response_size: usize,
    concurrency: usize,
    race_delay: Duration,
    http_service: Option<Box<dyn FnOnce(Wrap) -> Stacks + Send>>,
}

/// What the stack around a custom inner service is built from.
pub(crate) struct Wrap {
    layer: ImdsV2Layer,
    policy: ClientRetryPolicy,
    timeout: Duration,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            overrides: Overrides::default(),
            env: Env::process(),
            token_layer: ImdsV2Layer::new(),
            mode: Mode::default(),
            backoff: None,
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            race_delay: DEFAULT_RACE_DELAY,
            http_service: None,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("overrides", &self.overrides)
            .field("env", &self.env)
            .field("token_layer", &self.token_layer)
            .field("mode", &self.mode)
            .field("max_response_size", &self.max_response_size)
            .field("concurrency", &self.concurrency)
            .field("race_delay", &self.race_delay)
            .field("http_service", &self.http_service.as_ref().map(|_| ".."))
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Sends every request to `endpoint` (`http://HOST[:PORT]`), whatever
    /// the endpoint mode. Validated by [`build`](Self::build).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.overrides.endpoint = Some(endpoint.into());
        self
    }

    /// The endpoint mode: IPv4 (`http://169.254.169.254`), IPv6
    /// (`http://[fd00:ec2::254]`) or auto (race both, keep the winner).
    pub fn endpoint_mode(mut self, mode: EndpointMode) -> Self {
        self.overrides.endpoint_mode = Some(mode);
        self
    }

    /// Replaces the IPv4 address of the IPv4 and auto modes (tests point it
    /// at `http://127.0.0.1:PORT`).
    pub fn ipv4_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.overrides.ipv4_endpoint = Some(endpoint.into());
        self
    }

    /// Replaces the IPv6 address of the IPv6 and auto modes (tests point it
    /// at `http://[::1]:PORT`).
    pub fn ipv6_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.overrides.ipv6_endpoint = Some(endpoint.into());
        self
    }

    /// Disables IMDS (every call fails with [`Error::Disabled`] without any
    /// I/O), or with `false` enables it whatever `AWS_EC2_METADATA_DISABLED`
    /// says.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.overrides.disabled = Some(disabled);
        self
    }

    /// Forbids (or, with `false`, allows) falling back to IMDSv1, overriding
    /// `AWS_EC2_METADATA_V1_DISABLED`. Falling back is the token layer's
    /// option ([`ImdsV2Layer::fallback_to_imdsv1`]); this only vetoes it.
    pub fn imdsv1_disabled(mut self, disabled: bool) -> Self {
        self.overrides.v1_disabled = Some(disabled);
        self
    }

    /// The timeout (default 1 s). Each attempt must connect and get the
    /// response's head within it (the connect timeout is the same), the
    /// token request must be answered within it, and a body must then
    /// arrive within it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.overrides.timeout = Some(timeout);
        self
    }

    /// Attempts per request, the first included. Default 4.
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.overrides.attempts = Some(attempts);
        self
    }

    /// [`Mode::Probe`] (default) or [`Mode::Expected`].
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The backoff between attempts: from `min`, doubling up to `max`, plus
    /// jitter. Default 100 ms to 2 s.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff = Some((min, max));
        self
    }

    /// The token layer the client reads through: it owns every token
    /// setting (TTL, fallback to IMDSv1, a given token, a token store).
    /// Default: [`ImdsV2Layer::new()`].
    ///
    /// The client changes its settings by these rules:
    ///
    /// - **Token timeout**: set to the client's [`timeout`](Self::timeout),
    ///   which bounds every attempt, the token `PUT` included.
    /// - **Fallback to IMDSv1**: turned off when IMDSv1 is disabled
    ///   ([`imdsv1_disabled`](Self::imdsv1_disabled),
    ///   `AWS_EC2_METADATA_V1_DISABLED` or the profile's
    ///   `ec2_metadata_v1_disabled`), which a `debug` event says.
    /// - **User agent**: replaced by `imds/VERSION app/ID` when an
    ///   [application ID](Self::app_id) is configured.
    ///
    /// The layer's token cache is shared, not copied: a clone of `layer`
    /// kept for another tower stack uses the client's tokens.
    ///
    /// ```
    /// use imds::{Client, ImdsV2Layer, TokenTtl};
    ///
    /// let layer = ImdsV2Layer::new()
    ///     .ttl(TokenTtl::from_secs(300)?)
    ///     .fallback_to_imdsv1(true);
    /// let client = Client::builder()
    ///     .endpoint("http://127.0.0.1:1338")
    ///     .token_layer(layer.clone()) // `layer` now shares the client's tokens
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token_layer(mut self, layer: ImdsV2Layer) -> Self {
        self.token_layer = layer;
        self
    }

    /// Tags every request the client sends to IMDS, the token `PUT`
    /// included, with `User-Agent: imds/VERSION app/ID`, as the AWS SDKs
    /// tag theirs, so that an operator auditing IMDS traffic on a host can
    /// tell applications apart. Default: `AWS_SDK_UA_APP_ID`, else the
    /// profile's `sdk_ua_app_id`, else none; see [`config`](crate::config)
    /// for the characters allowed.
    ///
    /// The rule: the client hands the resulting user agent to its token
    /// layer, where it replaces the layer's own
    /// [`user_agent`](ImdsV2Layer::user_agent); without an application ID
    /// the layer's own applies. The client's requests carry no `User-Agent`
    /// of their own, so the layer adds it to every one. An
    /// [`http_service`](Self::http_service) that overwrites the header has
    /// the last word.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// let client = imds::Client::builder()
    ///     .endpoint(mock.base_url())
    ///     .app_id("billing-agent")
    ///     .build()?;
    /// client.instance_id().await?;
    /// let expected = format!("imds/{} app/billing-agent", env!("CARGO_PKG_VERSION"));
    /// assert!(mock.requests().iter().all(|r| r.user_agent.as_deref() == Some(&*expected)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.overrides.app_id = Some(app_id.into());
        self
    }

    /// Reads settings from `env` instead of the process environment.
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Reads this profile of the config file instead of `AWS_PROFILE`'s.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.overrides.profile = Some(profile.into());
        self
    }

    /// The IAM role whose credentials the
    /// [`credentials_provider`](Client::credentials_provider) fetches,
    /// instead of discovering it.
    pub fn role_name(mut self, role_name: impl Into<String>) -> Self {
        self.overrides.role_name = Some(role_name.into());
        self
    }

    /// The largest response body accepted; larger ones fail with
    /// [`ResponseError::TooLarge`](crate::error::ResponseError::TooLarge).
    /// Default 1 MiB.
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// How many requests [`walk`](Client::walk), [`tags`](Client::tags)
    /// and each poll of an [event watch](Client::events) keep in flight (at
    /// least 1). Default 16.
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// In auto endpoint mode, how long the IPv4 endpoint has to itself
    /// before IPv6 is raced against it. Default 250 ms.
    pub fn race_delay(mut self, delay: Duration) -> Self {
        self.race_delay = delay;
        self
    }

    /// Sends requests through `service` instead of the default hyper-util
    /// client. The client still wraps it in its retry, token and timeout
    /// layers; connect timeouts, proxies and TLS are then `service`'s
    /// business. Requests carry absolute URIs (`http://HOST/latest/...`).
    ///
    /// The token is added before `service` sees a request: a `service` that
    /// follows redirects must drop every header on a cross-origin hop
    /// (tower-http: `FilterCredentials::new().remove_all()`), or it carries
    /// the token wherever a redirect points.
    pub fn http_service<S, RB>(mut self, service: S) -> Self
    where
        S: Service<Request<RequestBody>, Response = Response<RB>> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        RB: Body<Data = Bytes> + Send + 'static,
        RB::Error: Into<BoxError>,
    {
        self.http_service = Some(Box::new(move |wrap: Wrap| {
            stack::wrap(service, wrap.layer, wrap.policy, wrap.timeout)
        }));
        self
    }

    /// Resolves the settings and builds the client. No request is sent.
    ///
    /// Fails with [`Error::Config`] when a setting is invalid, naming it and
    /// where it came from. When IMDS is disabled, the client is built and
    /// fails every call with [`Error::Disabled`].
    pub fn build(self) -> Result<Client, Error> {
        let resolved = config::resolve(&self.overrides, &self.env)?;
        let settings = match resolved {
            Resolved::Disabled(source) => {
                return Ok(Client {
                    inner: Arc::new(Inner {
                        state: State::Disabled(source),
                    }),
                });
            }
            Resolved::Enabled(settings) => settings,
        };
        let timeout = settings.timeout.value;
        let layer = adjusted(self.token_layer, &settings)?;
        let mut policy = ImdsRetryPolicy::new().max_attempts(settings.attempts.value);
        if let Some((min, max)) = self.backoff {
            policy = policy.backoff(min, max);
        }
        let policy = match (self.mode, &settings.endpoint.value) {
            (Mode::Expected, _) => ClientRetryPolicy::expected(policy),
            (Mode::Probe, Endpoint::Single(uri)) => ClientRetryPolicy::probe(policy, [uri]),
            (Mode::Probe, Endpoint::Race { ipv4, ipv6 }) => {
                ClientRetryPolicy::probe(policy, [ipv4, ipv6])
            }
        };
        let wrap = Wrap {
            layer: layer.clone(),
            policy,
            timeout,
        };
        let stacks = match self.http_service {
            Some(make) => make(wrap),
            None => stack::wrap(
                stack::default_http_client(timeout),
                wrap.layer,
                wrap.policy,
                wrap.timeout,
            ),
        };
        let enabled = Enabled {
            service: stacks.reads,
            token_service: stacks.token,
            layer,
            endpoints: Endpoints::new(&settings.endpoint.value, self.race_delay),
            settings,
            mode: self.mode,
            max_response_size: self.max_response_size,
            concurrency: self.concurrency,
            stable: Default::default(),
        };
        Ok(Client {
            inner: Arc::new(Inner {
                state: State::Enabled(Box::new(enabled)),
            }),
        })
    }
}

/// The token layer with what the client resolves itself: the token
/// timeout, and the veto of a disabled IMDSv1 (see
/// [`ClientBuilder::token_layer`]).
fn adjusted(layer: ImdsV2Layer, settings: &Settings) -> Result<ImdsV2Layer, Error> {
    let mut layer = layer.token_timeout(settings.timeout.value);
    if settings.v1_disabled.value && layer.falls_back_to_imdsv1() {
        tracing::debug!(
            source = %settings.v1_disabled.source,
            "IMDSv1 is disabled: the token layer will not fall back to IMDSv1"
        );
        layer = layer.fallback_to_imdsv1(false);
    }
    if let Some(app_id) = &settings.app_id {
        let agent = format!("imds/{} app/{}", env!("CARGO_PKG_VERSION"), app_id.value);
        // The ID was checked to be token characters, which a header allows.
        let agent = UserAgent::new(&agent).map_err(|error| {
            ConfigError::invalid(
                "application ID",
                app_id.value.clone(),
                app_id.source.clone(),
                error.to_string(),
            )
        })?;
        layer = layer.user_agent(agent);
    }
    Ok(layer)
}
