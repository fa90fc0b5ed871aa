//! P1, the hot path: a read of `/latest/meta-data/instance-id` with a token
//! in hand, through the bare hyper-util client with the token header set by
//! hand (the physical limit) and through `ImdsV2Layer` over a clone of the
//! same client with its token already cached. Goal: the layer within 1.05×
//! per request.
//!
//! Both variants share one connection pool and run in alternating rounds
//! (bare then layer, then layer then bare, ...), so drift on a shared
//! machine and any cost of going first fall on both alike. Every body is
//! read to the end. Measured at concurrency 1 (one task, sequential reads)
//! and 64 (64 tasks, each with its own clone of the service).

use std::time::{Duration, Instant};

use http::{Request, Response};
use http_body::Body;
use tokio::task::JoinSet;
use tower::{BoxError, Service, ServiceBuilder};
use tower_imds::ImdsV2Layer;

use crate::{
    fixture::{self, INSTANCE_ID, Mock, ReadRequest, ReqBody, Variant},
    measure::{self, Samples},
    report::{self, Table},
    scenario::Mode,
};

/// The goal for layer / bare, per request.
const GOAL: f64 = 1.05;

struct Counts {
    /// Reads per variant before measuring (pool, token cache, code paths).
    warmup: usize,
    /// Concurrency 1: rounds, and reads per variant per round.
    rounds: usize,
    per_round: usize,
    /// Concurrency `concurrency`: rounds, and reads per task per round.
    concurrency: usize,
    concurrent_rounds: usize,
    per_task: usize,
}

impl Counts {
    fn for_mode(mode: Mode) -> Self {
        Self {
            warmup: mode.pick(100, 2_000),
            rounds: mode.pick(4, 40),
            per_round: mode.pick(100, 1_500),
            concurrency: 64,
            concurrent_rounds: mode.pick(2, 30),
            per_task: mode.pick(4, 40),
        }
    }
}

/// One variant's reads in one round.
struct Batch {
    samples: Samples,
    elapsed: Duration,
}

/// Both variants' rounds at one concurrency.
#[derive(Default)]
struct Comparison {
    bare: Samples,
    layer: Samples,
    bare_elapsed: Duration,
    layer_elapsed: Duration,
    /// layer mean / bare mean, per round.
    round_ratios: Vec<f64>,
}

impl Comparison {
    fn add_round(&mut self, mut bare: Batch, mut layer: Batch) {
        self.round_ratios
            .push(measure::ratio(layer.samples.mean(), bare.samples.mean()));
        self.bare_elapsed += bare.elapsed;
        self.layer_elapsed += layer.elapsed;
        self.bare.append(&mut bare.samples);
        self.layer.append(&mut layer.samples);
    }
}

/// Bare first in even rounds, layer first in odd ones.
fn order(round: usize) -> [Variant; 2] {
    if round.is_multiple_of(2) {
        [Variant::Bare, Variant::Layer]
    } else {
        [Variant::Layer, Variant::Bare]
    }
}

pub async fn run(mock: &Mock, mode: Mode) -> Result<Vec<String>, BoxError> {
    let counts = Counts::for_mode(mode);
    let client = fixture::client();
    let token = fixture::fetch_token(&client, mock).await?;
    let uri = mock.uri(INSTANCE_ID)?;
    let bare_read = ReadRequest::for_bare(uri.clone(), &token);
    let layer_read = ReadRequest::for_layer(uri);

    let mut bare = client.clone();
    let mut layer = ServiceBuilder::new()
        .layer(ImdsV2Layer::new())
        .service(client.clone());

    // Warm up: a pooled connection, the layer's token cached (its one PUT),
    // the code paths hot.
    sequential(&mut bare, &bare_read, counts.warmup).await?;
    sequential(&mut layer, &layer_read, counts.warmup).await?;
    let puts_before = mock.stats().token_puts;

    let mut one = Comparison::default();
    for round in 0..counts.rounds {
        let (mut b, mut l) = (None, None);
        for variant in order(round) {
            match variant {
                Variant::Bare => {
                    b = Some(sequential(&mut bare, &bare_read, counts.per_round).await?)
                }
                Variant::Layer => {
                    l = Some(sequential(&mut layer, &layer_read, counts.per_round).await?)
                }
            }
        }
        one.add_round(b.expect("ran"), l.expect("ran"));
    }

    // Warm up again at concurrency: one connection per task in the pool.
    let n = counts.concurrency;
    concurrent(&bare, &bare_read, n, counts.per_task).await?;
    concurrent(&layer, &layer_read, n, counts.per_task).await?;
    let mut many = Comparison::default();
    for round in 0..counts.concurrent_rounds {
        let (mut b, mut l) = (None, None);
        for variant in order(round) {
            match variant {
                Variant::Bare => b = Some(concurrent(&bare, &bare_read, n, counts.per_task).await?),
                Variant::Layer => {
                    l = Some(concurrent(&layer, &layer_read, n, counts.per_task).await?)
                }
            }
        }
        many.add_round(b.expect("ran"), l.expect("ran"));
    }
    let puts_during = mock.stats().token_puts - puts_before;

    report::heading("P1 hot path: one read with a cached token");
    println!(
        "GET {INSTANCE_ID}, body read to the end. Bare: hyper-util legacy client, \
         token header set by hand. Layer: ImdsV2Layer over a clone of the same \
         client, token cached. Rounds alternate the order of the variants."
    );
    println!();
    let mut table = Table::new(&[
        "concurrency",
        "variant",
        "reads",
        "mean",
        "p50",
        "p99",
        "throughput",
    ]);
    for (concurrency, comparison) in [(1, &one), (n, &many)] {
        for (variant, samples, elapsed) in [
            (Variant::Bare, &comparison.bare, comparison.bare_elapsed),
            (Variant::Layer, &comparison.layer, comparison.layer_elapsed),
        ] {
            let s = samples.summary();
            table.row(vec![
                concurrency.to_string(),
                variant.name().into(),
                s.count.to_string(),
                report::duration(s.mean),
                report::duration(s.p50),
                report::duration(s.p99),
                report::rate(s.count, elapsed),
            ]);
        }
    }
    table.print();
    println!();

    let mut ratios = Table::new(&[
        "concurrency",
        "layer/bare: mean",
        "median of per-round means",
        "p50",
        "p99",
        "bare/layer throughput",
        "goal ≤ 1.05× (per-round median)",
    ]);
    for (concurrency, comparison) in [(1, &one), (n, &many)] {
        let (b, l) = (comparison.bare.summary(), comparison.layer.summary());
        let per_round = measure::median(&comparison.round_ratios);
        ratios.row(vec![
            concurrency.to_string(),
            report::times(measure::ratio(l.mean, b.mean)),
            report::times(per_round),
            report::times(measure::ratio(l.p50, b.p50)),
            report::times(measure::ratio(l.p99, b.p99)),
            report::times(measure::ratio(
                comparison.layer_elapsed,
                comparison.bare_elapsed,
            )),
            report::verdict(per_round, GOAL).into(),
        ]);
    }
    ratios.print();
    println!();
    println!("Token PUTs while measuring: {puts_during} (the layer's token stayed cached).");

    let mut failures = Vec::new();
    if puts_during != 0 {
        failures.push(format!(
            "P1: the layer sent {puts_during} token PUT(s) with a cached token"
        ));
    }
    Ok(failures)
}

/// `n` reads one after the other, each timed from building the request to
/// the last byte of the body.
async fn sequential<S, RB>(service: &mut S, read: &ReadRequest, n: usize) -> Result<Batch, BoxError>
where
    S: Service<Request<ReqBody>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    RB: Body,
    RB::Error: Into<BoxError>,
{
    let mut samples = Samples::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let sent = Instant::now();
        fixture::send(service, read.build()).await?;
        samples.push(sent.elapsed());
    }
    Ok(Batch {
        samples,
        elapsed: start.elapsed(),
    })
}

/// `concurrency` tasks, each with its own clone of `service`, each doing
/// `per_task` sequential reads.
async fn concurrent<S, RB>(
    service: &S,
    read: &ReadRequest,
    concurrency: usize,
    per_task: usize,
) -> Result<Batch, BoxError>
where
    S: Service<Request<ReqBody>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    RB: Body + Send + 'static,
    RB::Data: Send,
    RB::Error: Into<BoxError>,
{
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let mut service = service.clone();
        let read = read.clone();
        tasks.spawn(async move { sequential(&mut service, &read, per_task).await });
    }
    let mut samples = Samples::with_capacity(concurrency * per_task);
    while let Some(joined) = tasks.join_next().await {
        samples.append(&mut joined??.samples);
    }
    Ok(Batch {
        samples,
        elapsed: start.elapsed(),
    })
}
