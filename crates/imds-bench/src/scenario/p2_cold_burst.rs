//! P2, the cold burst: 1,000 concurrent first reads, each through a service
//! built from a clone of one fresh `ImdsV2Layer`. Single-flight means the
//! mock sees exactly one token PUT (anything else fails the run). Its time,
//! from the release of the 1,000 tasks to the last body read, is set beside
//! the same burst through a layer given the token up front
//! (`ImdsV2Layer::new().metadata_token(..)`, which never PUTs): the
//! difference is what waiting for the one PUT costs the burst.
//!
//! Both kinds of burst use one client whose pool is warmed first, so they
//! measure the token machinery rather than 1,000 TCP handshakes, and they
//! alternate (cold first in even rounds).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{sync::Barrier, task::JoinSet};
use tower::{BoxError, ServiceBuilder};
use tower_imds::ImdsV2Layer;

use crate::{
    fixture::{self, HttpClient, INSTANCE_ID, Mock, ReadRequest},
    measure::{self, Samples},
    report::{self, Table},
    scenario::Mode,
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
    let mut round_ratios = Vec::new();
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
    }

    report::heading("P2 cold burst: 1,000 concurrent first reads");
    println!(
        "{BURST} tasks, each with a service built from a clone of one layer, released \
         together; time until every body is read. Cold: a fresh ImdsV2Layer::new(). \
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
        "cold/seeded burst time: {} (median of per-round ratios); single-flight: {}",
        report::times(measure::median(&round_ratios)),
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

/// `BURST` reads released together, each through its own service built from
/// a clone of `layer` over a clone of `client`; the time from their release
/// to the last body read.
async fn burst(
    client: &HttpClient,
    layer: &ImdsV2Layer,
    read: &ReadRequest,
) -> Result<Duration, BoxError> {
    let start_line = Arc::new(Barrier::new(BURST + 1));
    let mut tasks = JoinSet::new();
    for _ in 0..BURST {
        let mut service = ServiceBuilder::new()
            .layer(layer.clone())
            .service(client.clone());
        let request = read.build();
        let start_line = start_line.clone();
        tasks.spawn(async move {
            start_line.wait().await;
            fixture::send(&mut service, request).await
        });
    }
    start_line.wait().await;
    let start = Instant::now();
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    Ok(start.elapsed())
}
