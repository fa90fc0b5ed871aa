//! `--profile`: one variant alone, for a profiler to watch. For example
//!
//! ```text
//! perf record -g target/release/imds-bench --profile layer --requests 200000
//! heaptrack target/release/imds-bench --profile bare --requests 100000
//! ```
//!
//! Comparing two runs' allocation counts (heaptrack) divided by
//! `--requests` gives the layer's (or the client's) allocations per
//! request, the mock's own (it runs in this process) cancelling out.

use std::time::Instant;

use tower::{BoxError, ServiceBuilder};
use tower_imds::ImdsV2Layer;

use imds_bench::fixture::{self, INSTANCE_ID, Mock, ReadRequest, Variant};

pub async fn run(mock: &Mock, variant: Variant, requests: u64) -> Result<(), BoxError> {
    let client = fixture::client();
    let uri = mock.uri(INSTANCE_ID)?;
    let started = Instant::now();
    match variant {
        Variant::Bare => {
            // Fetched the same way in both variants, so both do one PUT.
            let token = fixture::fetch_token(&client, mock).await?;
            let read = ReadRequest::for_bare(uri, &token);
            let mut service = client;
            for _ in 0..requests {
                fixture::send(&mut service, read.build()).await?;
            }
        }
        Variant::Layer => {
            let read = ReadRequest::for_layer(uri);
            let mut service = ServiceBuilder::new()
                .layer(ImdsV2Layer::new())
                .service(client);
            for _ in 0..requests {
                fixture::send(&mut service, read.build()).await?;
            }
        }
        Variant::Client => {
            let client = fixture::imds_client(mock)?;
            for _ in 0..requests {
                client.get(INSTANCE_ID).await?.ok_or("404")?;
            }
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{requests} reads through {} in {elapsed:.2?} ({:.1} µs each)",
        variant.name(),
        elapsed.as_secs_f64() * 1e6 / requests.max(1) as f64
    );
    Ok(())
}
