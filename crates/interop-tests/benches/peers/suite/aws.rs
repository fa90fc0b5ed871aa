//! aws-config's IMDS client, built the way its defaults have it.

use std::time::Duration;

use aws_config::imds::Client;
use aws_config::provider_config::ProviderConfig;
use imds_bench::load::Read;
use tower::BoxError;

/// The aws-config release measured (keep in step with Cargo.lock).
pub const VERSION: &str = "aws-config 1.13 (aws-smithy-http-client 1.5, hyper 1)";

/// aws-config 1.13's IMDS defaults (`imds/client.rs`: DEFAULT_*, and its
/// retry classifier, which retries neither timeouts nor connection
/// failures), as printed in P5.
pub const DEFAULTS: &str = "connect 1 s, read 1 s, attempt 10 s, operation 30 s, \
     4 attempts (timeouts and connection failures not retried)";

/// aws-config's IMDS client for `endpoint`, over aws-smithy-http-client's
/// hyper 1 client without TLS (the mock is plain HTTP). Everything else
/// (token flow, retries, timeouts) is aws-config's default, unless
/// `timeouts` shortens the connect and read timeouts (quick mode).
pub fn client(endpoint: &str, timeouts: Option<Duration>) -> Result<Client, BoxError> {
    let http_client = aws_smithy_http_client::Builder::new().build_http();
    let mut builder = Client::builder()
        .configure(&ProviderConfig::default().with_http_client(http_client))
        .endpoint(endpoint)?;
    if let Some(timeout) = timeouts {
        builder = builder.connect_timeout(timeout).read_timeout(timeout);
    }
    Ok(builder.build())
}

/// A read through aws-config's `Client::get`.
#[derive(Clone, Debug)]
pub struct AwsRead {
    client: Client,
    path: &'static str,
}

impl AwsRead {
    pub fn new(client: Client, path: &'static str) -> Self {
        Self { client, path }
    }
}

impl Read for AwsRead {
    async fn read(&mut self) -> Result<usize, BoxError> {
        Ok(self.client.get(self.path).await?.as_ref().len())
    }
}
