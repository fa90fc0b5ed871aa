//! The client a command runs with: settings from the flags, the embedded
//! mock, and the token cache.
//!
//! # How the token cache reaches the client
//!
//! The cache is a [`TokenStore`](tower_imds::TokenStore) of the token
//! layer ([`FileTokenStore`]). `imds::ClientBuilder` does not take a store,
//! so the store is put on a clone of the client's own layer
//! ([`Client::token_layer`]): clones share the client's in-memory token
//! cache, and a layer's `token_store` setting leaves that cache shared.
//! Before the command runs, one request goes through that clone
//! ([`token_from`]): the layer loads the stored token (or fetches and saves
//! a new one), and every request of the client then finds it in the shared
//! cache.
//!
//! A token the client fetches later in the same run (after a 401, or a
//! refresh in a run longer than the token's remaining life) goes through
//! the client's layer, which has no store, and is not saved; the next run
//! tries the stored one and, if IMDS refuses it, fetches another. A
//! `token_store` setting on `imds::ClientBuilder` would close that gap and
//! make the warm-up request unnecessary.
//!
//! # Getting a token out
//!
//! [`token_from`] sends one request through a token layer to an inner
//! service that forwards the token `PUT` to IMDS and answers every other
//! request itself, and reads the token the layer attached
//! ([`tower_imds::get_metadata_token`]). So the layer does all the token
//! work (cache, store, TTL, validation, IMDSv1 fallback) and only the `PUT`
//! reaches the network.

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Method, Request, Response};
use http_body_util::{Either, Empty};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use imds::Client;
use imds::config::{Resolved, Settings};
use imds::error::ResponseError;
use imds_mock::MockImds;
use tower::retry::RetryLayer;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_imds::header::TOKEN_PATH;
use tower_imds::{ImdsRetryPolicy, ImdsV2Layer, MetadataToken};

use crate::cli::Global;
use crate::exit::Failure;
use crate::token_cache::FileTokenStore;

/// The client, and the mock it may be talking to.
pub struct Session {
    /// The client.
    pub client: Client,
    /// `--mock`'s server, kept running as long as the client is used.
    _mock: Option<MockImds>,
}

/// What a command needs besides the flags.
#[derive(Debug, Default)]
pub struct Options<'a> {
    /// `credentials --role`.
    pub role: Option<&'a str>,
    /// Whether the command reads through the token cache.
    pub token_cache: bool,
}

impl Session {
    /// Builds the client from the flags, the environment and the profile,
    /// starting the mock for `--mock`, and loads the cached token unless
    /// the cache is off.
    pub async fn start(global: &Global, options: Options<'_>) -> Result<Self, Failure> {
        let mut builder = Client::builder();
        let mock = if global.mock {
            let mock = MockImds::builder()
                .tags_enabled(true)
                .build()
                .start()
                .await
                .map_err(|error| Failure::Other(format!("cannot start the mock IMDS: {error}")))?;
            tracing::info!(endpoint = %mock.base_url(), "serving a mock IMDS");
            // The mock is asked for: a disabled IMDS in the environment
            // is about the real one.
            builder = builder.endpoint(mock.base_url()).disabled(false);
            Some(mock)
        } else {
            None
        };
        if let Some(endpoint) = &global.endpoint {
            builder = builder.endpoint(endpoint);
        }
        if let Some(mode) = global.endpoint_mode {
            builder = builder.endpoint_mode(mode);
        }
        if let Some(ttl) = global.ttl {
            builder = builder.ttl_seconds(ttl);
        }
        if let Some(timeout) = global.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(attempts) = global.attempts {
            builder = builder.attempts(attempts);
        }
        if let Some(profile) = &global.profile {
            builder = builder.profile(profile);
        }
        if let Some(role) = options.role {
            builder = builder.role_name(role);
        }
        let client = builder.fallback_to_imdsv1(global.fallback_v1).build()?;
        let session = Self {
            client,
            _mock: mock,
        };
        if options.token_cache && !global.no_token_cache && !global.mock {
            session.load_cached_token().await?;
        }
        Ok(session)
    }

    /// Puts the cached token (or a new one, then cached) in the client's
    /// token cache. Does nothing when IMDS is disabled, in auto endpoint
    /// mode (the endpoint is only known after the first request) and
    /// without a cache directory.
    async fn load_cached_token(&self) -> Result<(), Failure> {
        let (Ok(settings), Some(layer), Some(endpoint)) = (
            self.settings(),
            self.client.token_layer(),
            self.client.endpoint(),
        ) else {
            return Ok(());
        };
        let Some(dir) = FileTokenStore::default_dir(|name| std::env::var_os(name)) else {
            tracing::debug!("no XDG_CACHE_HOME or HOME: IMDS tokens are not cached");
            return Ok(());
        };
        tracing::debug!(dir = %dir.display(), "IMDS token cache");
        let layer = layer.token_store(FileTokenStore::new(dir));
        self.token_from(layer, endpoint, settings).await?;
        Ok(())
    }

    /// A new token, fetched for this call: `imds token`.
    pub async fn new_token(&self) -> Result<MetadataToken, Failure> {
        let settings = self.settings()?;
        if self.client.endpoint().is_none() {
            // Auto mode: the first request races the endpoints, and gets
            // the client a token of its own, fetched for this call.
            self.client.get("meta-data/").await?;
        }
        let (Some(layer), Some(endpoint)) = (self.client.token_layer(), self.client.endpoint())
        else {
            return Err(Failure::Other("no IMDS endpoint answered".to_owned()));
        };
        self.token_from(layer, endpoint, settings)
            .await?
            .ok_or(Failure::NoToken)
    }

    /// The settings; an error when IMDS is disabled.
    fn settings(&self) -> Result<&Settings, imds::Error> {
        match self.client.resolved() {
            Resolved::Enabled(settings) => Ok(settings),
            Resolved::Disabled(source) => Err(imds::Error::Disabled(source.clone())),
        }
    }

    /// The token `layer` sends to `endpoint`; `None` when it falls back to
    /// IMDSv1. See the [module docs](self).
    async fn token_from(
        &self,
        layer: ImdsV2Layer,
        endpoint: &str,
        settings: &Settings,
    ) -> Result<Option<MetadataToken>, imds::Error> {
        let timeout = settings.timeout.value;
        // As the client's probe mode: a token request that gets no HTTP
        // answer is final (IMDS is not there, or the hop limit); 429 and
        // 5xx are retried.
        let policy = ImdsRetryPolicy::new()
            .max_attempts(settings.attempts.value)
            .retry_transport_errors_if(|_| false);
        let service = ServiceBuilder::new()
            .layer(RetryLayer::new(policy))
            .layer(layer)
            .service(token_requests_only(timeout));
        let request = Request::get(format!("{endpoint}/latest/meta-data/"))
            .body(Empty::new())
            .map_err(|_| imds::Error::unreachable(endpoint, "the endpoint is not a valid URI"))?;
        let response = service
            .oneshot(request)
            .await
            .map_err(|error| token_error(error, endpoint))?;
        Ok(tower_imds::get_metadata_token(&response).cloned())
    }
}

type InnerBody = Either<hyper::body::Incoming, Empty<Bytes>>;

/// Forwards `PUT`s (token requests) over HTTP, as the client's default
/// stack does (plain HTTP, no proxy, a connect timeout), and answers every
/// other request itself with an empty 200.
fn token_requests_only(
    connect_timeout: Duration,
) -> impl tower::Service<
    Request<Empty<Bytes>>,
    Response = Response<InnerBody>,
    Error = BoxError,
    Future = BoxFuture<'static, Result<Response<InnerBody>, BoxError>>,
> + Clone {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_nodelay(true);
    connector.enforce_http(true);
    let http = HttpClient::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);
    tower::service_fn(move |request: Request<Empty<Bytes>>| {
        let forward = (request.method() == Method::PUT).then(|| http.request(request));
        Box::pin(async move {
            match forward {
                Some(response) => Ok(response.await?.map(Either::Left)),
                None => Ok(Response::new(Either::Right(Empty::new()))),
            }
        }) as BoxFuture<'static, _>
    })
}

/// The client's error for a failed token request.
fn token_error(error: BoxError, endpoint: &str) -> imds::Error {
    match error.downcast_ref::<tower_imds::Error>() {
        Some(tower_imds::Error::TokenRequestRefused { status, .. }) => imds::Error::Status {
            status: *status,
            path: TOKEN_PATH.to_owned(),
        },
        // The message carries the hop-limit hint; the layer's would repeat it.
        Some(tower_imds::Error::TokenRequestTimedOut { timeout, .. }) => {
            imds::Error::timeout(endpoint, *timeout, None)
        }
        Some(tower_imds::Error::InvalidTokenResponse { problem, .. }) => imds::Error::bad_response(
            TOKEN_PATH,
            ResponseError::InvalidField {
                field: "session token",
                reason: problem.to_string(),
            },
        ),
        _ => imds::Error::unreachable(endpoint, error),
    }
}
