//! P4, the whole tree with latency: `imds-mock` delays every response by
//! 1 ms, and the whole default tree (`/latest/`, user-data aside) is read
//!
//! - by our `Client::walk("")`, which keeps up to `concurrency` requests in
//!   flight (16 by default), sending the children of each listing as it
//!   arrives, listings before values;
//! - by a serial walk of the same tree through the same kind of client:
//!   one request at a time, depth first, each listing's entries fetched in
//!   turn (the strategy of the Python `ec2imds`);
//! - against the floor: (tree depth + 1) × latency, the round trips that
//!   must follow one another because a listing names what to fetch next.
//!
//! Goal: `walk()` at least 10× faster than the serial walk and within 1.5×
//! of the floor. The floor is judged with the latency a read really sees
//! at 1 ms injected (measured: the mock's tokio sleep rounds up to the next
//! millisecond tick, so about 2 ms), and shown against the nominal 1 ms
//! too. Both walks must send the same number of reads (checked).
//! Each client's token is fetched before timing, so neither pays the PUT.
//! Each tree has a mock of its own, so the latency touches nothing else.
//!
//! Two trees: the mock's default instance, whose 64 reads over 8 levels
//! cap any walk's speed-up at 8× (reads / (depth + 1)), and a larger,
//! common shape (secondary network interfaces, tags, volumes).

use std::time::Duration;

use tokio::time::Instant;

use imds::__internals::listing;
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

/// A tree to walk.
#[derive(Clone, Copy)]
enum Tree {
    /// `imds-mock`'s default instance.
    Default,
    /// A busier instance: 4 network interfaces, 12 tags, 4 EBS volumes
    /// and 3 key pairs, as on a node with secondary interfaces.
    Larger,
}

impl Tree {
    fn name(self) -> &'static str {
        match self {
            Tree::Default => "default mock instance",
            Tree::Larger => "larger instance (4 ENIs, 12 tags, 4 EBS, 3 keys)",
        }
    }

    fn config(self) -> imds_mock::Config {
        let builder = MockImds::builder();
        match self {
            Tree::Default => builder.build(),
            Tree::Larger => {
                let mut builder = builder
                    .tags_enabled(true)
                    .tags((1..=12).map(|i| (format!("tag-{i:02}"), format!("value {i}"))))
                    .public_keys(
                        (1..=3)
                            .map(|i| (format!("key-{i}"), format!("ssh-ed25519 AAAA{i} key-{i}"))),
                    );
                for ebs in 1..=4 {
                    builder = builder.metadata(
                        format!("meta-data/block-device-mapping/ebs{ebs}"),
                        format!("sd{}", char::from(b'a' + ebs)),
                    );
                }
                for eni in 1..=3u8 {
                    let mac = format!("0e:8f:62:3a:d1:{:02x}", 0x47 + eni);
                    let dir = format!("meta-data/network/interfaces/macs/{mac}");
                    let leaves = [
                        ("device-number", eni.to_string()),
                        ("interface-id", format!("eni-0a9b8c7d6e5f4031{eni}")),
                        (
                            "local-hostname",
                            format!("ip-172-31-20-{}.ec2.internal", 7 + eni),
                        ),
                        ("local-ipv4s", format!("172.31.20.{}", 7 + eni)),
                        ("mac", mac.clone()),
                        ("owner-id", "123456789012".into()),
                        ("security-group-ids", "sg-0123456789abcdef0".into()),
                        ("security-groups", "default".into()),
                        ("subnet-id", "subnet-0a1b2c3d4e5f60718".into()),
                        ("subnet-ipv4-cidr-block", "172.31.16.0/20".into()),
                        ("vpc-id", "vpc-0f1e2d3c4b5a69788".into()),
                        ("vpc-ipv4-cidr-block", "172.31.0.0/16".into()),
                        ("vpc-ipv4-cidr-blocks", "172.31.0.0/16".into()),
                    ];
                    for (leaf, value) in leaves {
                        builder = builder.metadata(format!("{dir}/{leaf}"), value);
                    }
                }
                builder.build()
            }
        }
    }
}

/// One tree's measurements.
struct Walked {
    tree: Tree,
    shape: Shape,
    /// One read alone at the injected latency.
    single: Samples,
    walk: Samples,
    wide: Samples,
    serial: Samples,
    /// Serial time / walk() time, per round.
    speedups: Vec<f64>,
}

pub async fn run(mode: Mode) -> Result<Vec<String>, BoxError> {
    let mut failures = Vec::new();
    let mut walked = Vec::new();
    for tree in [Tree::Default, Tree::Larger] {
        walked.push(measure_tree(tree, mode, &mut failures).await?);
    }

    report::heading("P4 whole-tree walk, 1 ms injected per request");
    println!(
        "The whole tree from /latest/ (user-data left out), imds-mock delaying every \
         response by 1 ms. walk(\"\") with the default concurrency ({}) and with 64; \
         serial: one request at a time, depth first, through the same kind of client. \
         Tokens fetched before timing; {} round(s) per tree, alternating the order. \
         Floor: (depth + 1) × 1 ms; \"measured floor\": (depth + 1) × the time one \
         read alone takes at 1 ms injected (\"one read\": the mock's 1 ms sleep \
         rounds up to the timer's millisecond tick, so a read takes about 2 ms). The \
         floor goal is judged against the measured floor.",
        imds::client::DEFAULT_CONCURRENCY,
        mode.pick(1, 10),
    );
    println!();
    let mut table = Table::new(&[
        "tree",
        "reads",
        "depth",
        "one read",
        "walk (c=16)",
        "walk (c=64)",
        "serial",
        "serial/walk",
        "walk/floor",
        "walk/measured floor",
    ]);
    let mut verdicts = Vec::new();
    for w in &walked {
        let levels = u32::try_from(w.shape.depth + 1).unwrap_or(u32::MAX);
        let floor = LATENCY * levels;
        let one = w.single.summary().p50;
        let measured_floor = one * levels;
        let walk = w.walk.summary().p50;
        let speedup = measure::median(&w.speedups);
        let to_floor = measure::ratio(walk, floor);
        table.row(vec![
            w.tree.name().into(),
            w.shape.reads.to_string(),
            w.shape.depth.to_string(),
            report::duration(one),
            report::duration(walk),
            report::duration(w.wide.summary().p50),
            report::duration(w.serial.summary().p50),
            report::times(speedup),
            report::times(to_floor),
            report::times(measure::ratio(walk, measured_floor)),
        ]);
        let wide = w.wide.summary().p50;
        let wide_speedup = measure::ratio(w.serial.summary().p50, wide);
        let to_measured = measure::ratio(walk, measured_floor);
        verdicts.push(format!(
            "{}: walk() {} faster than serial (goal ≥ {FAST_GOAL}×: {}; reads / (depth + 1) \
             caps it at {:.1}× here) and {} of the measured floor (goal ≤ {FLOOR_GOAL}×: \
             {}; {} of the nominal 1 ms floor). With concurrency 64: {} faster, {} of \
             the measured floor.",
            w.tree.name(),
            report::times(speedup),
            report::verdict_at_least(speedup, FAST_GOAL),
            w.shape.reads as f64 / f64::from(levels),
            report::times(to_measured),
            report::verdict(to_measured, FLOOR_GOAL),
            report::times(to_floor),
            report::times(wide_speedup),
            report::times(measure::ratio(wide, measured_floor)),
        ));
    }
    table.print();
    println!();
    println!("Times are medians over the rounds.");
    for verdict in verdicts {
        println!("- {verdict}");
    }
    Ok(failures)
}

async fn measure_tree(
    tree: Tree,
    mode: Mode,
    failures: &mut Vec<String>,
) -> Result<Walked, BoxError> {
    let rounds: usize = mode.pick(1, 10);
    let server = imds_bench::fixture::keep_alive(tree.config().start().await?);
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

    let mut single = Samples::default();
    for _ in 0..mode.pick(5, 50) {
        let sent = Instant::now();
        serial.get(INSTANCE_ID_PATH).await?;
        single.push(sent.elapsed());
    }

    let mut walked = Walked {
        tree,
        shape: Shape::default(),
        single,
        walk: Samples::default(),
        wide: Samples::default(),
        serial: Samples::default(),
        speedups: Vec::new(),
    };
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
            if which == 2 {
                let shape = serial_walk(&serial).await?;
                s = start.elapsed();
                walked.serial.push(s);
                let reads = server.stats().reads - before;
                if shape.reads != reads {
                    failures.push(format!(
                        "P4 ({}): the serial walk counted {} reads, the mock {reads}",
                        tree.name(),
                        shape.reads
                    ));
                }
                walked.shape = shape;
                continue;
            }
            let c = if which == 0 { &walker } else { &wide };
            if c.walk("").await?.is_none() {
                failures.push(format!("P4 ({}): walk(\"\") found no tree", tree.name()));
            }
            let elapsed = start.elapsed();
            let reads = server.stats().reads - before;
            if which == 0 {
                w = elapsed;
                walked.walk.push(elapsed);
            } else {
                walked.wide.push(elapsed);
            }
            if walked.shape.reads != 0 && reads != walked.shape.reads {
                failures.push(format!(
                    "P4 ({}): walk() sent {reads} reads, the serial walk {}",
                    tree.name(),
                    walked.shape.reads
                ));
            }
        }
        walked.speedups.push(measure::ratio(s, w));
    }
    server.set_latency(Duration::ZERO);
    server.shutdown().await;
    Ok(walked)
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
