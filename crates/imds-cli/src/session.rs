//! The client a command runs with: settings from the flags, the token
//! layer (with the token cache as its store), and the embedded mock.
//!
//! The CLI reads IMDS through `imds::Client` only. Everything about tokens
//! is the layer's: the flags `--ttl` and `--fallback-v1` configure it, and
//! the token cache across runs is a [`TokenStore`](imds::TokenStore) on it
//! ([`FileTokenStore`]), so the layer loads a cached token before it asks
//! IMDS for one and saves every token it gets, at any point of the run.

use imds::{Client, ImdsV2Layer, TokenTtl};

use crate::cli::Global;
use crate::exit::Failure;
use crate::token_cache::FileTokenStore;

/// The client, and the mock it may be talking to.
pub struct Session {
    /// The client.
    pub client: Client,
    /// `--mock`'s server, kept running as long as the client is used.
    #[cfg(feature = "mock")]
    _mock: Option<imds_mock::MockImds>,
}

/// What a command needs besides the flags.
#[derive(Debug, Default, Clone, Copy)]
pub struct Options<'a> {
    /// `credentials --role`.
    pub role: Option<&'a str>,
    /// Whether the command reads through the token cache.
    pub token_cache: bool,
}

impl Session {
    /// Builds the client from the flags, the environment and the profile,
    /// starting the mock for `--mock`.
    pub async fn start(global: &Global, options: Options<'_>) -> Result<Self, Failure> {
        let mut builder = Client::builder();
        #[cfg(feature = "mock")]
        let mock = if global.mock {
            let mock = imds_mock::MockImds::builder()
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
        #[cfg(not(feature = "mock"))]
        if global.mock {
            return Err(Failure::Usage(
                "--mock is not available: this imds was built without the `mock` feature"
                    .to_owned(),
            ));
        }
        if let Some(endpoint) = &global.endpoint {
            builder = builder.endpoint(endpoint);
        }
        if let Some(mode) = global.endpoint_mode {
            builder = builder.endpoint_mode(mode);
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
        if let Some(app_id) = &global.app_id {
            builder = builder.app_id(app_id);
        }
        if let Some(role) = options.role {
            builder = builder.role_name(role);
        }
        let layer = token_layer(global, options)?;
        let client = builder.token_layer(layer).build()?;
        if let Ok(settings) = client.settings() {
            tracing::debug!("IMDS settings: {settings}");
        }
        Ok(Self {
            client,
            #[cfg(feature = "mock")]
            _mock: mock,
        })
    }
}

/// The token layer the flags describe, with the token cache unless it is
/// off (`--no-token-cache`, `--mock`, a command that must fetch, or no
/// cache directory).
fn token_layer(global: &Global, options: Options<'_>) -> Result<ImdsV2Layer, Failure> {
    let mut layer = ImdsV2Layer::new().fallback_to_imdsv1(global.fallback_v1);
    if let Some(ttl) = global.ttl {
        let ttl = TokenTtl::from_secs(ttl).map_err(|error| Failure::Usage(error.to_string()))?;
        layer = layer.ttl(ttl);
    }
    if !options.token_cache || global.no_token_cache || global.mock {
        return Ok(layer);
    }
    match FileTokenStore::default_dir(|name| std::env::var_os(name)) {
        Some(dir) => {
            tracing::debug!(dir = %dir.display(), "IMDS token cache");
            Ok(layer.token_store(FileTokenStore::new(dir)))
        }
        None => {
            tracing::debug!("no XDG_CACHE_HOME or HOME: IMDS tokens are not cached");
            Ok(layer)
        }
    }
}
