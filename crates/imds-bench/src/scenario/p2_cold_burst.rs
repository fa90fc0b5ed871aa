//! P2, the cold burst: 1,000 concurrent first reads, each through a service
//! built from a clone of one fresh `ImdsV2Layer`, all of them called before
//! any is driven, so all 1,000 miss the empty cache at once. Single-flight
//! means the mock sees exactly one token PUT (anything else fails the run).
//! Its time, from the first call to the last body read, is set beside
//! the same burst through a layer given the token up front
//! (`ImdsV2Layer::new().metadata_token(..)`, which never PUTs): the
//! difference is what waiting for the one PUT costs the burst.
//!
//! Both kinds of burst use one client whose pool is warmed first, so they
//! measure the token machinery rather than 1,000 TCP handshakes, and they
//! alternate (cold first in even rounds).

use std::time::Duration;

use tokio::time::Instant;

use tokio::task::JoinSet;
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};
use tower_imds::ImdsV2Layer;

use imds_bench::{
    Mode,
    fixture::{self, HttpClient, INSTANCE_ID, Mock, ReadRequest},
    measure::{self, Samples},
    report::{self, Table},
};

/// Concurrent first reads per burst, as issue 3 specifies.
const BURST: usize = 1_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A fresh layer: no token yet.
    Cold,
    /// A layer given the token: never PUTs.
    Seeded,
}

pub async fn run(mock: &Mock, mode: Mode) -> Result<Vec<String>, BoxError> {
    let rounds: usize = mode.pick(1, 12);
    let client = fixture::client();
    let token = fixture::fetch_token(&client, mock).await?;
    let read = ReadRequest::for_layer(mock.uri(INSTANCE_ID)?);
    let seeded = ImdsV2Layer::new().metadata_token(token);

    // Fill the pool with about BURST idle connections.
    for _ in 0..mode.pick(1, 2) {
        burst(&client, &seeded, &read).await?;
    }

    let mut failures = Vec::new();
    let mut cold_puts = Vec::new();
    let (mut cold_times, mut seeded_times) = (Samples::default(), Samples::default());
    let (mut round_ratios, mut round_extra) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let order = if round.is_multiple_of(2) {
            [Kind::Cold, Kind::Seeded]
        } else {
            [Kind::Seeded, Kind::Cold]
        };
        let (mut cold_time, mut seeded_time) = (Duration::ZERO, Duration::ZERO);
        for kind in order {
            let before = mock.stats().token_puts;
            let (layer, time) = match kind {
                Kind::Cold => (ImdsV2Layer::new(), &mut cold_time),
                Kind::Seeded => (seeded.clone(), &mut seeded_time),
            };
            *time = burst(&client, &layer, &read).await?;
            let puts = mock.stats().token_puts - before;
            match kind {
                Kind::Cold => {
                    if puts != 1 {
                        failures.push(format!(
                            "P2: a cold burst of {BURST} reads sent {puts} token PUTs, not 1"
                        ));
                    }
                    cold_puts.push(puts);
                }
                Kind::Seeded if puts != 0 => failures.push(format!(
                    "P2: a burst through a layer given its token sent {puts} token PUTs"
                )),
                Kind::Seeded => {}
            }
        }
        cold_times.push(cold_time);
        seeded_times.push(seeded_time);
        round_ratios.push(measure::ratio(cold_time, seeded_time));
        round_extra.push((cold_time.as_secs_f64() - seeded_time.as_secs_f64()) * 1e3);
    }

    report::heading("P2 cold burst: 1,000 concurrent first reads");
    println!(
        "{BURST} reads, each through a service built from a clone of one layer, all \
         called before any is driven, then each driven on its own task; time from the \
         first call to the last body read. Cold: a fresh ImdsV2Layer::new(). \
         Seeded: ImdsV2Layer::new().metadata_token(token). Warm pool, {rounds} round(s) \
         alternating the order."
    );
    println!();
    let mut table = Table::new(&[
        "burst",
        "bursts",
        "token PUTs per burst",
        "median time",
        "min",
        "max",
    ]);
    for (name, samples, puts) in [
        ("cold (fresh layer)", &cold_times, describe_puts(&cold_puts)),
        ("seeded (token given)", &seeded_times, "0".to_owned()),
    ] {
        let s = samples.summary();
        table.row(vec![
            name.into(),
            s.count.to_string(),
            puts,
            report::duration(s.p50),
            report::duration(s.min),
            report::duration(s.max),
        ]);
    }
    table.print();
    println!();
    println!(
        "cold/seeded burst time: {} ({:+.2} ms; medians of per-round ratios and \
         differences); single-flight: {}",
        report::times(measure::median(&round_ratios)),
        measure::median(&round_extra),
        if cold_puts.iter().all(|&p| p == 1) {
            "exactly 1 PUT per cold burst"
        } else {
            "FAILED"
        }
    );
    Ok(failures)
}

/// `1` when every burst sent one PUT, else the counts.
fn describe_puts(puts: &[u64]) -> String {
    if puts.iter().all(|&p| p == 1) {
        "1".into()
    } else {
        format!("{puts:?}")
    }
}

/// `BURST` reads through services built from clones of `layer` over clones
/// of `client`: every one is called (which is when the layer looks in its
/// cache) before any is polled, so all `BURST` are in flight before a token
/// exists, and with a fresh layer one leads the fetch and the other 999
/// wait for it. Then all are driven at once, each on its own task. Timed
/// from the first call to the last body read.
async fn burst(
    client: &HttpClient,
    layer: &ImdsV2Layer,
    read: &ReadRequest,
) -> Result<Duration, BoxError> {
    let start = Instant::now();
    let mut calls = Vec::with_capacity(BURST);
    for _ in 0..BURST {
        let mut service = ServiceBuilder::new()
            .layer(layer.clone())
            .service(client.clone());
        calls.push(service.ready().await?.call(read.build()));
    }
    let mut tasks = JoinSet::new();
    for call in calls {
        tasks.spawn(async move { fixture::read_to_end(call.await?).await });
    }
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    Ok(start.elapsed())
}
