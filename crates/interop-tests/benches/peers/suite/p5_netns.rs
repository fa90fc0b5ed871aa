//! P5 off EC2, for real: the same question as `p5_off_ec2` (how long a
//! first read takes to fail when IMDS is not there), asked in network
//! namespaces (`imds-netns`) at IMDS's real address, `169.254.169.254:80`,
//! with each client as it would run on a machine off EC2:
//!
//! - **black hole**: the host's default route leads to a neighbour that
//!   discards every packet without a word, so the SYN is never answered (a
//!   firewall that drops; on a laptop, a route that goes nowhere);
//! - **no route**: the host has nothing but its loopback, so a connection
//!   fails at once (network unreachable).
//!
//! Ours is the default client (no endpoint, an empty environment: it goes
//! to `http://169.254.169.254`); aws-config's is given that same address,
//! its default. A fresh client for every read, alternating the order. In
//! quick mode both clients' timeouts are cut to 100 ms.
//!
//! Needs root and iproute2; without them it says why and is skipped, which
//! is a failure when `CI` is set.

use std::io::Write;
use std::time::Duration;

use imds_bench::{
    Mode,
    measure::Samples,
    report::{self, Table},
};
use imds_netns::OffEc2;
use tokio::time::Instant;
use tower::BoxError;

use super::aws;
use super::p5_off_ec2::{precise, short, verdict};

const PATH: &str = "/latest/meta-data/instance-id";
const QUICK_TIMEOUT: Duration = Duration::from_millis(100);
/// IMDS's default address, which aws-config's client is given.
const IMDS: &str = "http://169.254.169.254";

/// One client's failures in one place.
struct Outcome {
    client: &'static str,
    times: Samples,
    error: String,
}

pub async fn run(mode: Mode) -> Result<Vec<String>, BoxError> {
    report::heading("P5 off EC2 in network namespaces: time until a first read gives up");
    if let Some(reason) = imds_netns::unavailable() {
        println!("Not measured: {reason}.");
        // Past the test harness's capture (tests/peers_quick.rs): a skip must show.
        let _ = writeln!(
            std::io::stderr(),
            "P5 in network namespaces skipped: {reason}"
        );
        return Ok(match std::env::var_os("CI") {
            Some(_) => vec![format!(
                "P5 in network namespaces could not run ({reason}); CI is set, where it must"
            )],
            None => Vec::new(),
        });
    }
    // The namespaces' own thread does the measuring (imds_netns::run).
    tokio::task::spawn_blocking(move || measure(mode)).await?
}

fn measure(mode: Mode) -> Result<Vec<String>, BoxError> {
    let repeats: usize = mode.pick(1, 4);
    let timeout = mode.pick(Some(QUICK_TIMEOUT), None);
    let budget = our_client(timeout)?.settings()?.timeout.value;
    let black_hole = OffEc2::black_hole()?;
    let no_route = OffEc2::no_route()?;

    let mut failures = Vec::new();
    let mut rows = Vec::new();
    let mut verdicts = Vec::new();
    for (place, host) in [
        ("black hole (dropped silently)", &black_hole.host),
        ("no route (network unreachable)", &no_route.host),
    ] {
        let outcomes = imds_netns::run(|| async {
            host.enter()?;
            let mut outcomes = [
                Outcome::new("imds::Client (ours), default"),
                Outcome::new("aws-config imds::Client"),
            ];
            for round in 0..repeats {
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for i in order {
                    // A fresh client each time: a first read, no state.
                    let start = Instant::now();
                    let error = match i {
                        0 => our_client(timeout)?
                            .get(PATH)
                            .await
                            .err()
                            .map(|e| e.to_string()),
                        _ => aws::client(IMDS, timeout)?
                            .get(PATH)
                            .await
                            .err()
                            .map(|e| e.to_string()),
                    };
                    let outcome = &mut outcomes[i];
                    outcome.times.push(start.elapsed());
                    match error {
                        Some(error) => outcome.error = short(&error),
                        None => outcome.error = "read succeeded".into(),
                    }
                }
            }
            Ok::<_, BoxError>(outcomes)
        })?;
        for outcome in &outcomes {
            if outcome.error == "read succeeded" {
                failures.push(format!("P5 ({place}): {} read something", outcome.client));
            }
        }
        let ours = outcomes[0].times.summary().p50;
        let theirs = outcomes[1].times.summary().p50;
        verdicts.push(verdict(place, ours, theirs, budget));
        rows.extend(outcomes.map(|outcome| (place, outcome)));
    }

    match timeout {
        None => println!(
            "Each client with its defaults, from a host off EC2 with IMDS's address \
             {IMDS}; a fresh client for every read. {repeats} read(s) per client and \
             place, alternating the order."
        ),
        Some(t) => println!(
            "Quick mode: both clients' timeouts cut to {}; {repeats} read(s) per client \
             and place.",
            report::duration(t)
        ),
    }
    println!();
    let mut table = Table::new(&[
        "place",
        "client",
        "gave up after (median)",
        "min",
        "max",
        "error",
    ]);
    for (place, outcome) in rows {
        let s = outcome.times.summary();
        table.row(vec![
            place.into(),
            outcome.client.into(),
            precise(s.p50),
            precise(s.min),
            precise(s.max),
            outcome.error,
        ]);
    }
    table.print();
    println!();
    for verdict in verdicts {
        println!("- {verdict}");
    }
    Ok(failures)
}

impl Outcome {
    fn new(client: &'static str) -> Self {
        Self {
            client,
            times: Samples::default(),
            error: String::new(),
        }
    }
}

/// Our client with its defaults: no endpoint, no environment.
fn our_client(timeout: Option<Duration>) -> Result<imds::Client, BoxError> {
    let mut builder = imds::Client::builder().env(imds::Env::from_map::<_, String, String>([]));
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    Ok(builder.build()?)
}
