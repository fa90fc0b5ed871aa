//! Quickstart: read instance metadata through `ImdsV2Layer`.
//!
//! ```text
//! cargo run --example quickstart                                      # embedded mock on 127.0.0.1
//! cargo run --example quickstart -- --endpoint http://169.254.169.254 # on EC2
//! ```
//!
//! Without `--endpoint` it starts `imds-mock` on loopback, so it runs
//! anywhere. It reads a few values through the layer, shows that every read
//! reused the token the first one fetched, and hands that token to a second
//! layer that never asks for one.

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use tower::{BoxError, Layer, ServiceBuilder, ServiceExt, retry::RetryLayer};
use tower_imds::{ImdsRetryPolicy, ImdsV2Layer, MetadataToken, get_metadata_token};

/// What the quickstart read, for the test that runs it.
#[derive(Debug)]
pub struct Summary {
    /// `(path, value)` for each read.
    pub values: Vec<(String, String)>,
    /// Whether every read went out with the same token.
    pub one_token: bool,
}

const PATHS: [&str; 4] = [
    "/latest/meta-data/instance-id",
    "/latest/meta-data/instance-type",
    "/latest/meta-data/placement/availability-zone",
    "/latest/meta-data/placement/region",
];

/// Reads [`PATHS`] from the IMDS at `base` and prints them.
pub async fn run(base: &str) -> Result<Summary, BoxError> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let imds = ServiceBuilder::new()
        .layer(RetryLayer::new(ImdsRetryPolicy::new()))
        .layer(ImdsV2Layer::new())
        .service(client.clone());

    let mut values = Vec::new();
    let mut tokens: Vec<MetadataToken> = Vec::new();
    for path in PATHS {
        let request = Request::get(format!("{base}{path}")).body(Empty::new())?;
        let response = imds.clone().oneshot(request).await?;
        if !response.status().is_success() {
            return Err(format!("{path}: IMDS answered {}", response.status()).into());
        }
        tokens.extend(get_metadata_token(&response).cloned());
        let body = response.into_body().collect().await?.to_bytes();
        let value = String::from_utf8_lossy(&body).into_owned();
        println!("{path:<48} {value}");
        values.push((path.to_owned(), value));
    }

    let one_token = tokens.len() == PATHS.len() && tokens.windows(2).all(|w| w[0] == w[1]);
    println!(
        "\n{} reads, {} token (the token itself is never printed: {:?})",
        PATHS.len(),
        if one_token {
            "one shared"
        } else {
            "more than one"
        },
        tokens.first(),
    );

    // A token taken from a response serves another layer with no PUT.
    if let Some(token) = tokens.first().cloned() {
        let reuse = ImdsV2Layer::new().metadata_token(token).layer(client);
        let request = Request::get(format!("{base}/latest/meta-data/ami-id")).body(Empty::new())?;
        let response = reuse.oneshot(request).await?;
        let ami = response.into_body().collect().await?.to_bytes();
        println!(
            "reused the token in a second layer: ami-id {}",
            String::from_utf8_lossy(&ami)
        );
    }
    Ok(Summary { values, one_token })
}

#[allow(dead_code)] // not used when a test includes this file as a module
#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let endpoint = match (args.next().as_deref(), args.next()) {
        (None, _) => None,
        (Some("--endpoint"), Some(url)) => Some(url.trim_end_matches('/').to_owned()),
        _ => {
            eprintln!("usage: quickstart [--endpoint URL]");
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
            println!("token PUTs the mock received: {}", mock.stats().token_puts);
            mock.shutdown().await;
        }
    }
    Ok(())
}
