//! P4, the whole tree with latency: `imds-mock` delays every response by
//! 1 ms, and the whole default tree (`/latest/`, user-data aside) is read
//!
//! - by our `Client::walk("")`, which keeps up to `concurrency` requests in
//!   flight (16 by default), level after level as listings arrive;
//! - by a serial walk of the same tree through the same kind of client:
//!   one request at a time, depth first, each listing's entries fetched in
//!   turn (the strategy of the Python `ec2imds`);
//! - against the floor: (tree depth + 1) × latency, the round trips that
//!   must follow one another because a listing names what to fetch next.
//!
//! Goal: `walk()` at least 10× faster than the serial walk and within 1.5×
//! of the floor. Both walks must send the same number of reads (checked).
//! Each client's token is fetched before timing, so neither pays the PUT.
//! The mock is this scenario's own, so the latency touches nothing else.

use std::time::{Duration, Instant};

use imds::listing;
use imds_bench::{
    Mode,
    measure::{self, Samples},
    report::{self, Table},
};
use imds_mock::MockImds;
use tower::BoxError;

/// The latency injected into every response.
const LATENCY: Duration = Duration::from_millis(1);
const FAST_GOAL: f64 = 10.0;
const FLOOR_GOAL: f64 = 1.5;

/// What a walk read: how many requests, how deep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Shape {
    reads: u64,
    /// Levels below `/latest/` of the deepest path read (`/latest/` is 0).
    depth: usize,
}

pub async fn run(mode: Mode) -> Result<Vec<String>, BoxError> {
    let rounds: usize = mode.pick(1, 10);
    let server = MockImds::builder().build().start().await?;
    let client = |concurrency: usize| {
        imds::Client::builder()
            .env(imds::Env::from_map::<_, String, String>([]))
            .endpoint(server.base_url())
            .concurrency(concurrency)
            .build()
    };
    let walker = client(imds::client::DEFAULT_CONCURRENCY)?;
    let wide = client(64)?;
    let serial = client(1)?;
    // Tokens and connections first; then every response waits LATENCY.
    for c in [&walker, &wide, &serial] {
        c.get(INSTANCE_ID_PATH).await?;
    }
    server.set_latency(LATENCY);

    let mut failures = Vec::new();
    // One read alone, for the latency a request really sees (the mock's
    // sleep rounds up to the timer's tick, and loopback adds its bit).
    let mut single = Samples::default();
    for _ in 0..mode.pick(5, 50) {
        let sent = Instant::now();
        serial.get(INSTANCE_ID_PATH).await?;
        single.push(sent.elapsed());
    }

    let (mut walk_times, mut wide_times, mut serial_times) =
        (Samples::default(), Samples::default(), Samples::default());
    let mut speedups = Vec::new();
    let mut shape = Shape::default();
    for round in 0..rounds {
        let order: [usize; 3] = if round.is_multiple_of(2) {
            [0, 1, 2]
        } else {
            [2, 1, 0]
        };
        let (mut w, mut s) = (Duration::ZERO, Duration::ZERO);
        for which in order {
            let before = server.stats().reads;
            let start = Instant::now();
            match which {
                0 | 1 => {
                    let c = if which == 0 { &walker } else { &wide };
                    if c.walk("").await?.is_none() {
                        failures.push("P4: walk(\"\") found no tree".to_owned());
                    }
                    let elapsed = start.elapsed();
                    if which == 0 {
                        w = elapsed;
                        walk_times.push(elapsed);
                    } else {
                        wide_times.push(elapsed);
                    }
                    let reads = server.stats().reads - before;
                    if which == 0 && shape.reads != 0 && reads != shape.reads {
                        failures.push(format!(
                            "P4: walk() sent {reads} reads, the serial walk {}",
                            shape.reads
                        ));
                    }
                }
                _ => {
                    let walked = serial_walk(&serial).await?;
                    s = start.elapsed();
                    serial_times.push(s);
                    let reads = server.stats().reads - before;
                    if walked.reads != reads {
                        failures.push(format!(
                            "P4: the serial walk counted {} reads, the mock {reads}",
                            walked.reads
                        ));
                    }
                    shape = walked;
                }
            }
        }
        speedups.push(measure::ratio(s, w));
    }
    server.set_latency(Duration::ZERO);
    server.shutdown().await;

    let floor = LATENCY * u32::try_from(shape.depth + 1).unwrap_or(u32::MAX);
    let real_floor = single.summary().p50 * u32::try_from(shape.depth + 1).unwrap_or(u32::MAX);
    let (walk, wide, serial) = (
        walk_times.summary(),
        wide_times.summary(),
        serial_times.summary(),
    );

    report::heading("P4 whole-tree walk, 1 ms injected per request");
    println!(
        "The default mock tree from /latest/ (user-data left out): {} reads, {} levels \
         below /latest/. walk(\"\") with the default concurrency ({}) and with 64; \
         serial: one request at a time, depth first, through the same kind of client. \
         Tokens fetched before timing. {rounds} round(s), alternating the order. \
         One read alone at 1 ms injected takes {} (p50 of {}).",
        shape.reads,
        shape.depth,
        imds::client::DEFAULT_CONCURRENCY,
        report::duration(single.summary().p50),
        single.len()
    );
    println!();
    let mut table = Table::new(&["walk", "median time", "min", "max", "vs floor"]);
    for (name, s) in [
        (
            format!(
                "walk(\"\"), concurrency {}",
                imds::client::DEFAULT_CONCURRENCY
            ),
            walk,
        ),
        ("walk(\"\"), concurrency 64".to_owned(), wide),
        ("serial, depth first".to_owned(), serial),
    ] {
        table.row(vec![
            name,
            report::duration(s.p50),
            report::duration(s.min),
            report::duration(s.max),
            report::times(measure::ratio(s.p50, floor)),
        ]);
    }
    table.print();
    println!();
    let speedup = measure::median(&speedups);
    let to_floor = measure::ratio(walk.p50, floor);
    println!(
        "floor: (depth {} + 1) × 1 ms = {}; with the measured single-read latency, {}.",
        shape.depth,
        report::duration(floor),
        report::duration(real_floor)
    );
    println!(
        "walk() vs serial: {} faster (median of per-round ratios; goal ≥ {FAST_GOAL}×: {}). \
         walk() vs floor: {} (goal ≤ {FLOOR_GOAL}×: {}); vs the measured floor: {}.",
        report::times(speedup),
        report::verdict_at_least(speedup, FAST_GOAL),
        report::times(to_floor),
        report::verdict(to_floor, FLOOR_GOAL),
        report::times(measure::ratio(walk.p50, real_floor)),
    );
    Ok(failures)
}

const INSTANCE_ID_PATH: &str = "/latest/meta-data/instance-id";

/// What a path of the serial walk is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `/latest/`: its categories are listed without a trailing `/`.
    Version,
    Dir,
    /// `meta-data/public-keys/`, listed as `INDEX=NAME`.
    PublicKeys,
    Leaf,
}

/// The whole tree, one request at a time, depth first: the same reads as
/// `walk("")`, in another order and never two at once.
async fn serial_walk(client: &imds::Client) -> Result<Shape, BoxError> {
    let mut shape = Shape::default();
    let mut stack = vec![("/latest/".to_owned(), 0usize, Kind::Version)];
    while let Some((path, depth, kind)) = stack.pop() {
        shape.reads += 1;
        shape.depth = shape.depth.max(depth);
        let Some(body) = client.get(&path).await? else {
            continue;
        };
        if kind == Kind::Leaf {
            continue;
        }
        let text = std::str::from_utf8(&body)?;
        let mut children: Vec<(String, usize, Kind)> = match kind {
            Kind::PublicKeys => listing::parse_public_keys(text)
                .iter()
                .map(|key| (format!("{path}{}", key.path_segment()), Kind::Dir))
                .collect::<Vec<_>>(),
            Kind::Version => listing::parse(text)
                .iter()
                .filter(|entry| entry.name() != "user-data")
                .map(|entry| (format!("{path}{}/", entry.name()), Kind::Dir))
                .collect::<Vec<_>>(),
            _ => listing::parse(text)
                .iter()
                .map(|entry| {
                    let child = format!("{path}{}", entry.path_segment());
                    let kind = if child.ends_with("meta-data/public-keys/") {
                        Kind::PublicKeys
                    } else if entry.is_dir() {
                        Kind::Dir
                    } else {
                        Kind::Leaf
                    };
                    (child, kind)
                })
                .collect::<Vec<_>>(),
        }
        .into_iter()
        .map(|(child, kind)| (child, depth + 1, kind))
        .collect();
        // Popped in listing order.
        children.reverse();
        stack.extend(children);
    }
    Ok(shape)
}
