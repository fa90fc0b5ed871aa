//! P1, the hot path: a read of `/latest/meta-data/instance-id` with a token
//! in hand, through
//!
//! - the bare hyper-util client with the token header set by hand (the
//!   physical limit),
//! - `ImdsV2Layer` over a clone of the same client, token cached (goal:
//!   within 1.05× per request),
//! - our `imds::Client::get`, endpoint set to the mock, token cached (goal:
//!   within 1.15×). It has its own connection pool (the client builds its
//!   own hyper-util client) and its whole stack: retry, token layer,
//!   per-attempt timeout, body limit.
//!
//! The variants run in interleaved rounds (every order in turn), so drift
//! on a shared machine and any cost of going first fall on all alike.
//! Every body is read to the end. Measured at concurrency 1 (one task,
//! sequential reads) and 64 (64 tasks, each with its own clone).

use imds_bench::{
    Mode,
    fixture::{self, INSTANCE_ID, Mock, ReadRequest, Variant},
    load::{self, ClientRead, Read, ServiceRead},
    measure,
    report::{self, Table},
    rounds::{self, Comparison},
};
use tower::{BoxError, ServiceBuilder};
use tower_imds::ImdsV2Layer;

/// The variants, in the order of their index in a [`Comparison`]; ratios
/// are against the first.
const VARIANTS: [Variant; 3] = [Variant::Bare, Variant::Layer, Variant::Client];

/// The goal for variant / bare, per request.
fn goal(variant: Variant) -> Option<f64> {
    match variant {
        Variant::Bare => None,
        Variant::Layer => Some(1.05),
        Variant::Client => Some(1.15),
    }
}

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
            rounds: mode.pick(6, 42),
            per_round: mode.pick(60, 1_500),
            concurrency: 64,
            concurrent_rounds: mode.pick(3, 30),
            per_task: mode.pick(3, 40),
        }
    }
}

/// The three readers, each over its own clone or client.
struct Readers<B, L> {
    bare: B,
    layer: L,
    client: ClientRead,
}

impl<B: Read, L: Read> Readers<B, L> {
    async fn sequential(&mut self, i: usize, n: usize) -> Result<load::Batch, BoxError> {
        match VARIANTS[i] {
            Variant::Bare => load::sequential(&mut self.bare, n).await,
            Variant::Layer => load::sequential(&mut self.layer, n).await,
            Variant::Client => load::sequential(&mut self.client, n).await,
        }
    }

    async fn concurrent(
        &self,
        i: usize,
        tasks: usize,
        per: usize,
    ) -> Result<load::Batch, BoxError> {
        match VARIANTS[i] {
            Variant::Bare => load::concurrent(&self.bare, tasks, per).await,
            Variant::Layer => load::concurrent(&self.layer, tasks, per).await,
            Variant::Client => load::concurrent(&self.client, tasks, per).await,
        }
    }
}

pub async fn run(mock: &Mock, mode: Mode) -> Result<Vec<String>, BoxError> {
    let counts = Counts::for_mode(mode);
    let http = fixture::client();
    let token = fixture::fetch_token(&http, mock).await?;
    let uri = mock.uri(INSTANCE_ID)?;
    let mut readers = Readers {
        bare: ServiceRead::new(http.clone(), ReadRequest::for_bare(uri.clone(), &token)),
        layer: ServiceRead::new(
            ServiceBuilder::new()
                .layer(ImdsV2Layer::new())
                .service(http.clone()),
            ReadRequest::for_layer(uri),
        ),
        client: ClientRead::new(fixture::imds_client(mock)?, INSTANCE_ID),
    };

    // Warm up: pooled connections, the layer's and the client's tokens
    // cached (one PUT each), the code paths hot.
    for i in 0..VARIANTS.len() {
        readers.sequential(i, counts.warmup).await?;
    }
    let puts_before = mock.stats().token_puts;

    let one = rounds::interleaved(counts.rounds, VARIANTS.len(), async |i| {
        readers.sequential(i, counts.per_round).await
    })
    .await?;

    // Warm up again at concurrency: one connection per task in each pool.
    let n = counts.concurrency;
    for i in 0..VARIANTS.len() {
        readers.concurrent(i, n, counts.per_task).await?;
    }
    let many = rounds::interleaved(counts.concurrent_rounds, VARIANTS.len(), async |i| {
        readers.concurrent(i, n, counts.per_task).await
    })
    .await?;
    let puts_during = mock.stats().token_puts - puts_before;

    report::heading("P1 hot path: one read with a cached token");
    println!(
        "GET {INSTANCE_ID}, body read to the end. Bare: hyper-util legacy client, \
         token header set by hand. Layer: ImdsV2Layer over a clone of the same \
         client, token cached. Client: imds::Client::get (its own hyper-util client, \
         retry, token layer, timeouts), token cached. Rounds interleave the variants, \
         every order in turn."
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
        for (i, variant) in VARIANTS.iter().enumerate() {
            let s = comparison.samples[i].summary();
            table.row(vec![
                concurrency.to_string(),
                variant.name().into(),
                s.count.to_string(),
                report::duration(s.mean),
                report::duration(s.p50),
                report::duration(s.p99),
                report::rate(s.count, comparison.elapsed[i]),
            ]);
        }
    }
    table.print();
    println!();
    ratio_table(&one, &many, n);
    println!();
    println!("Token PUTs while measuring: {puts_during} (the tokens stayed cached).");

    let mut failures = Vec::new();
    if puts_during != 0 {
        failures.push(format!(
            "P1: {puts_during} token PUT(s) were sent with cached tokens"
        ));
    }
    Ok(failures)
}

fn ratio_table(one: &Comparison, many: &Comparison, n: usize) {
    let mut ratios = Table::new(&[
        "concurrency",
        "variant",
        "/bare: mean",
        "median of per-round means",
        "p50",
        "p99",
        "variant/bare throughput",
        "goal (per-round median)",
    ]);
    for (concurrency, comparison) in [(1, one), (n, many)] {
        let bare = comparison.samples[0].summary();
        for (i, &variant) in VARIANTS.iter().enumerate().skip(1) {
            let s = comparison.samples[i].summary();
            let per_round = comparison.mean_ratio(i, 0);
            let verdict = goal(variant).map_or(String::new(), |goal| {
                format!("≤ {goal:.2}×: {}", report::verdict(per_round, goal))
            });
            ratios.row(vec![
                concurrency.to_string(),
                variant.name().into(),
                report::times(measure::ratio(s.mean, bare.mean)),
                report::times(per_round),
                report::times(measure::ratio(s.p50, bare.p50)),
                report::times(measure::ratio(s.p99, bare.p99)),
                report::times(1.0 / comparison.time_ratio(i, 0)),
                verdict,
            ]);
        }
    }
    ratios.print();
}
