//! `ImdsV2Layer` over a reqwest client, through tower-reqwest's adapter
//! (which makes reqwest a tower `Service<http::Request<reqwest::Body>>`, so
//! tower and tower-http layers go on it).
//!
//! ```text
//! cargo run --example reqwest_layer                                      # embedded mock on 127.0.0.1
//! cargo run --example reqwest_layer -- --endpoint http://169.254.169.254 # on EC2
//! ```
//!
//! Without `--endpoint` it starts `imds-mock` on loopback, so it runs
//! anywhere. Two stacks share one layer, hence one token:
//!
//! - **Plain**: `ImdsV2Layer → HttpClientLayer → reqwest::Client`, with
//!   `reqwest::Body` requests. The layer builds its token `PUT`'s empty
//!   body with `Default`, which `reqwest::Body` implements.
//! - **With retries**: tower's `Retry` clones each request, and a
//!   `reqwest::Body` cannot be cloned; so requests carry a cloneable
//!   `Empty<Bytes>` through the retry and token layers and become
//!   `reqwest::Body` (`Body::wrap`) just above the adapter.
//!
//! The reqwest client is built with `no_proxy()`: reqwest reads
//! `HTTP_PROXY` and friends by default, and a proxy would answer with its
//! own host's metadata. And with `redirect::Policy::none()`: reqwest follows
//! redirects by default and, below the layer, would carry the token header
//! to wherever a redirect points (it drops `Authorization` and cookies on a
//! cross-host hop, not `X-aws-ec2-metadata-token`). IMDS never redirects.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use tower::retry::RetryLayer;
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};
use tower_imds::{ImdsRetryPolicy, ImdsV2Layer, MetadataToken, get_metadata_token};
use tower_reqwest::HttpClientLayer;

/// The user agent the example's IMDS requests carry.
pub const USER_AGENT: &str = "reqwest-example/1.0";

/// What the example read, for the test that runs it.
#[derive(Debug)]
pub struct Summary {
    /// `(path, value)` for each read, plain stack first.
    pub values: Vec<(String, String)>,
    /// The tokens the reads went out with, in order.
    pub tokens: Vec<Option<MetadataToken>>,
}

const PATHS: [&str; 3] = [
    "/latest/meta-data/instance-id",
    "/latest/meta-data/placement/region",
    "/latest/meta-data/ami-id",
];

/// reqwest for IMDS: no proxy, no redirects, plain HTTP, a 1 s timeout.
pub fn reqwest_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(1))
        .build()
}

/// `ImdsV2Layer → HttpClientLayer → reqwest`, for `reqwest::Body`
/// requests.
pub fn plain(
    client: reqwest::Client,
    layer: ImdsV2Layer,
) -> impl Service<Request<reqwest::Body>, Response = Response, Error = BoxError> + Clone {
    ServiceBuilder::new()
        .layer(layer)
        .layer(HttpClientLayer)
        .service(client)
}

/// `Retry → ImdsV2Layer → Body::wrap → HttpClientLayer → reqwest`, for
/// `Empty<Bytes>` requests, which the retry can clone.
pub fn retrying(
    client: reqwest::Client,
    layer: ImdsV2Layer,
) -> impl Service<Request<Empty<Bytes>>, Response = Response, Error = BoxError> + Clone {
    ServiceBuilder::new()
        .layer(RetryLayer::new(ImdsRetryPolicy::new()))
        .layer(layer)
        .map_request(|request: Request<Empty<Bytes>>| request.map(reqwest::Body::wrap))
        .layer(HttpClientLayer)
        .service(client)
}

/// What both stacks answer with.
pub type Response = http::Response<reqwest::Body>;

/// GETs `url` through `service`: the value and the token it was read with.
/// The status must be 2xx.
pub async fn read<S, B>(
    service: &S,
    url: String,
    body: B,
) -> Result<(String, Option<MetadataToken>), BoxError>
where
    S: Service<Request<B>, Response = Response, Error = BoxError> + Clone,
{
    let response = service
        .clone()
        .oneshot(Request::get(&url).body(body)?)
        .await?;
    if !response.status().is_success() {
        return Err(format!("{url}: IMDS answered {}", response.status()).into());
    }
    let token = get_metadata_token(&response).cloned();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((String::from_utf8_lossy(&body).into_owned(), token))
}

/// Reads [`PATHS`] from the IMDS at `base` through both stacks, which
/// share one layer (so one token), and prints them.
pub async fn run(base: &str) -> Result<Summary, BoxError> {
    let client = reqwest_client()?;
    let layer = ImdsV2Layer::new().user_agent(USER_AGENT.parse()?);
    let plain = plain(client.clone(), layer.clone());
    let retrying = retrying(client, layer);

    let mut summary = Summary {
        values: Vec::new(),
        tokens: Vec::new(),
    };
    for path in PATHS {
        let (value, token) =
            read(&plain, format!("{base}{path}"), reqwest::Body::default()).await?;
        println!("plain     {path:<40} {value}");
        summary.values.push((path.to_owned(), value));
        summary.tokens.push(token);
    }
    for path in PATHS {
        let (value, token) = read(&retrying, format!("{base}{path}"), Empty::new()).await?;
        println!("retrying  {path:<40} {value}");
        summary.values.push((path.to_owned(), value));
        summary.tokens.push(token);
    }
    Ok(summary)
}

#[allow(dead_code)] // not used when a test includes this file as a module
#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let endpoint = match (args.next().as_deref(), args.next()) {
        (None, _) => None,
        (Some("--endpoint"), Some(url)) => Some(url.trim_end_matches('/').to_owned()),
        _ => {
            eprintln!("usage: reqwest_layer [--endpoint URL]");
            std::process::exit(2);
        }
    };
    match endpoint {
        Some(base) => {
            run(&base).await?;
        }
        None => {
            let mock = imds_mock::MockImds::start_default().await?;
            println!(
                "no --endpoint given: using the embedded mock IMDS at {}\n",
                mock.base_url()
            );
            run(&mock.base_url()).await?;
            println!(
                "\ntoken PUTs the mock received: {}",
                mock.stats().token_puts
            );
            mock.shutdown().await;
        }
    }
    Ok(())
}
