//! The layer: configuration, plus the token cache its services share.

use std::{fmt, sync::Arc, time::Duration};

use http::HeaderValue;
use tower_layer::Layer;

use crate::{
    ImdsV2, MetadataToken, TokenStore, TokenTtl, UserAgent, cache::TokenCache, config::Config,
};

/// Adds IMDSv2 session tokens to the requests of the wrapped service.
///
/// Before a request goes out, the layer finds a token for its scheme, host
/// and port (cached, or fetched with `PUT /latest/api/token` through the
/// wrapped service), sends it as `x-aws-ec2-metadata-token`, and puts it in
/// the response's extensions ([`get_metadata_token`](crate::get_metadata_token)).
///
/// Clones of a layer, and every service built from them, share one token
/// cache: one token per endpoint for all of them. Build the layer once and
/// clone it; two separate [`ImdsV2Layer::new`] calls make two caches.
///
/// ```
/// use std::time::Duration;
/// use tower_imds::{ImdsV2Layer, TokenTtl};
///
/// let layer = ImdsV2Layer::new()
///     .ttl(TokenTtl::from_secs(300)?)
///     .token_timeout(Duration::from_millis(500))
///     .fallback_to_imdsv1(false);
/// # Ok::<(), tower_imds::InvalidTtl>(())
/// ```
#[derive(Clone)]
pub struct ImdsV2Layer {
    config: Arc<Config>,
    cache: Arc<TokenCache>,
}

impl ImdsV2Layer {
    /// A layer with the defaults: tokens live 21600 s (6 h), the token
    /// request times out after 1 s, no fallback to IMDSv1.
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config {
                ttl: TokenTtl::MAX,
                ttl_header: HeaderValue::from(TokenTtl::MAX.as_secs()),
                fallback_to_imdsv1: false,
                token_timeout: Duration::from_secs(1),
                token: None,
                store: None,
                user_agent: None,
            }),
            cache: Arc::default(),
        }
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Send this token with every request and never fetch one. A
    /// [`MetadataToken`] in a request's extensions still wins for that
    /// request.
    pub fn metadata_token(mut self, token: MetadataToken) -> Self {
        self.config_mut().token = Some(token);
        self
    }

    /// Lifetime to ask for new tokens. Default: [`TokenTtl::MAX`], 6 hours.
    pub fn ttl(mut self, ttl: TokenTtl) -> Self {
        let config = self.config_mut();
        config.ttl = ttl;
        config.ttl_header = HeaderValue::from(ttl.as_secs());
        self
    }

    /// When the token endpoint is unavailable (a 403, 404 or 405 to the
    /// `PUT`, a transport error, or no answer within the token timeout), send
    /// the request without a token, as IMDSv1. Default: `false`, and those
    /// cases are errors.
    ///
    /// After falling back the layer keeps using IMDSv1 for that endpoint for
    /// five minutes, or until an IMDSv1 request is answered with 401, and
    /// logs one warning per endpoint. A 400 to the `PUT` never falls back.
    pub fn fallback_to_imdsv1(mut self, fallback: bool) -> Self {
        self.config_mut().fallback_to_imdsv1 = fallback;
        self
    }

    /// Whether the layer falls back to IMDSv1; see
    /// [`fallback_to_imdsv1`](Self::fallback_to_imdsv1).
    ///
    /// ```
    /// use tower_imds::ImdsV2Layer;
    ///
    /// let layer = ImdsV2Layer::new().fallback_to_imdsv1(true);
    /// assert!(layer.falls_back_to_imdsv1());
    /// assert!(!layer.fallback_to_imdsv1(false).falls_back_to_imdsv1());
    /// ```
    pub fn falls_back_to_imdsv1(&self) -> bool {
        self.config.fallback_to_imdsv1
    }

    /// How long to wait for the token `PUT` to be answered, body included.
    /// Default: 1 s. On EC2, a `PUT` that is never answered is the signature
    /// of a hop limit of 1 seen from inside a container.
    pub fn token_timeout(mut self, timeout: Duration) -> Self {
        self.config_mut().token_timeout = timeout;
        self
    }

    /// Keep tokens in `store` as well as in memory, so they outlive the
    /// process. See [`TokenStore`].
    pub fn token_store(mut self, store: impl TokenStore) -> Self {
        self.config_mut().store = Some(Arc::new(store));
        self
    }

    /// Tags the layer's traffic with `User-Agent: user_agent`, so that an
    /// operator auditing IMDS requests on a host can tell applications
    /// apart. Default: none (the wrapped service's own, if it adds one).
    ///
    /// The rule: the token `PUT` always carries it (the `PUT` is the
    /// layer's own request), and so does every request that reaches the
    /// layer without a `User-Agent`; a request that has one keeps it. A
    /// service under the layer that overwrites the header (tower-http's
    /// `SetRequestHeaderLayer::overriding`) has the last word; clients that
    /// only fill in a default, such as reqwest's `ClientBuilder::user_agent`,
    /// leave it.
    ///
    /// The value is checked where it is made ([`UserAgent::new`], or
    /// `str::parse`), as a header value.
    ///
    /// ```
    /// use tower_imds::ImdsV2Layer;
    ///
    /// let layer = ImdsV2Layer::new().user_agent("billing-agent/1.4".parse()?);
    /// assert!(format!("{layer:?}").contains("billing-agent/1.4"));
    /// # Ok::<(), tower_imds::InvalidUserAgent>(())
    /// ```
    pub fn user_agent(mut self, user_agent: UserAgent) -> Self {
        self.config_mut().user_agent = Some(user_agent);
        self
    }
}

impl Default for ImdsV2Layer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for ImdsV2Layer {
    type Service = ImdsV2<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ImdsV2::from_parts(inner, self.config.clone(), self.cache.clone())
    }
}

impl fmt::Debug for ImdsV2Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.fmt(f)
    }
}
