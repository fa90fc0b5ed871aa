//! `--profile`: one variant alone, for a profiler to watch. For example
//!
//! ```text
//! perf record -g target/release/imds-bench --profile layer --requests 200000
//! heaptrack target/release/imds-bench --profile bare --requests 100000
//! perf stat target/release/imds-bench --profile client --requests 200000 --tasks 64
//! ```
//!
//! Comparing two runs' allocation counts (heaptrack) divided by
//! `--requests` gives the layer's (or the client's) allocations per
//! request, the mock's own (it runs in this process) cancelling out.
//! `--tasks N` spreads the reads over N tasks, as P1 does at concurrency
//! 64, where the CPU is the limit: `perf stat` then gives the CPU time per
//! read (user and kernel) of one variant under load.

use tokio::time::Instant;

use tower::{BoxError, ServiceBuilder};
use tower_imds::ImdsV2Layer;

use imds_bench::fixture::{self, INSTANCE_ID, Mock, ReadRequest, Variant};
use imds_bench::load::{self, ClientRead, Read, ServiceRead};

pub async fn run(
    mock: &Mock,
    variant: Variant,
    requests: u64,
    tasks: usize,
) -> Result<(), BoxError> {
    let client = fixture::client();
    let uri = mock.uri(INSTANCE_ID)?;
    let started = Instant::now();
    match variant {
        Variant::Bare => {
            // Fetched the same way in both variants, so both do one PUT.
            let token = fixture::fetch_token(&client, mock).await?;
            let read = ServiceRead::new(client, ReadRequest::for_bare(uri, &token));
            drive(read, requests, tasks).await?;
        }
        Variant::Layer => {
            let service = ServiceBuilder::new()
                .layer(ImdsV2Layer::new())
                .service(client);
            drive(
                ServiceRead::new(service, ReadRequest::for_layer(uri)),
                requests,
                tasks,
            )
            .await?;
        }
        Variant::Client => {
            let read = ClientRead::new(fixture::imds_client(mock)?, INSTANCE_ID);
            drive(read, requests, tasks).await?;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{requests} reads through {} from {tasks} task(s) in {elapsed:.2?} ({:.1} µs each)",
        variant.name(),
        elapsed.as_secs_f64() * 1e6 / requests.max(1) as f64
    );
    Ok(())
}

/// `requests` reads: one after the other on this task, or spread over
/// `tasks` spawned tasks.
async fn drive<R: Read>(mut read: R, requests: u64, tasks: usize) -> Result<(), BoxError> {
    let requests = usize::try_from(requests)?;
    if tasks <= 1 {
        load::sequential(&mut read, requests).await?;
    } else {
        load::concurrent(&read, tasks, requests.div_ceil(tasks)).await?;
    }
    Ok(())
}
