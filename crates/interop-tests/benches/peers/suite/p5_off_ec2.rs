//! P5, off EC2: how long a first read takes to fail when IMDS is not
//! there, for our client and aws-config's, each with its defaults, in the
//! same run. Two loopback endpoints:
//!
//! - **silent**: a listener that accepts connections and never answers (a
//!   firewall that drops, a container beyond the hop limit);
//! - **refused**: a port with nothing listening (bound, then closed).
//!
//! Goal: ours gives up no later than aws-config and within its configured
//! budget. Our default is probe mode: one attempt when IMDS is absent, so
//! the budget is one timeout (1 s), far below `attempts × timeout`.
//! In quick mode both clients' timeouts are cut to 100 ms so the run stays
//! short; the defaults are measured in full mode only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use imds_bench::{
    Mode,
    measure::Samples,
    report::{self, Table},
};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::BoxError;

use super::aws;

const PATH: &str = "/latest/meta-data/instance-id";
const QUICK_TIMEOUT: Duration = Duration::from_millis(100);

/// A listener that accepts and then holds every connection, silent.
struct Silent {
    url: String,
    accepted: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Silent {
    async fn start() -> Result<Self, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let accepted = Arc::new(AtomicU64::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        Ok(Self {
            url,
            accepted,
            task,
        })
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `http://127.0.0.1:PORT` with nothing listening: bound, then closed.
fn refused() -> Result<String, BoxError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    drop(listener);
    Ok(url)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Ours,
    Aws,
}

/// One client's failures against one endpoint.
struct Outcome {
    times: Samples,
    /// Connections the silent listener accepted, per read.
    connections: Option<u64>,
    error: String,
}

pub async fn run(mode: Mode) -> Result<Vec<String>, BoxError> {
    let repeats: usize = mode.pick(1, 4);
    let timeout = mode.pick(Some(QUICK_TIMEOUT), None);
    let silent = Silent::start().await?;
    let refused = refused()?;

    let mut failures = Vec::new();
    let mut rows = Vec::new();
    let mut verdicts = Vec::new();
    // Our configured budget: one attempt in probe mode (the default) when
    // IMDS is absent.
    let ours_settings = our_client(&silent.url, timeout)?;
    let settings = ours_settings.settings()?;
    let (per_attempt, attempts) = (settings.timeout.value, settings.attempts.value);
    let budget = per_attempt;
    for (endpoint, url, counted) in [
        ("silent (accepts, never answers)", silent.url.as_str(), true),
        ("refused (nothing listening)", refused.as_str(), false),
    ] {
        let mut outcomes = [(Who::Ours, new_outcome()), (Who::Aws, new_outcome())];
        for round in 0..repeats {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                let (who, outcome) = &mut outcomes[i];
                let before = silent.accepted.load(Ordering::SeqCst);
                // A fresh client each time: a first read, no state.
                let start = Instant::now();
                let error = match who {
                    Who::Ours => our_client(url, timeout)?
                        .get(PATH)
                        .await
                        .err()
                        .map(|e| e.to_string()),
                    Who::Aws => aws::client(url, timeout)?
                        .get(PATH)
                        .await
                        .err()
                        .map(|e| e.to_string()),
                };
                outcome.times.push(start.elapsed());
                // Let the accept loop count the last connection.
                tokio::task::yield_now().await;
                if counted {
                    let made = silent.accepted.load(Ordering::SeqCst) - before;
                    outcome.connections = Some(outcome.connections.unwrap_or(0).max(made));
                }
                match error {
                    Some(error) => outcome.error = short(&error),
                    None => {
                        failures.push(format!("P5: a read from the {endpoint} endpoint succeeded"))
                    }
                }
            }
        }
        let ours = outcomes[0].1.times.summary().p50;
        let theirs = outcomes[1].1.times.summary().p50;
        verdicts.push(verdict(endpoint, ours, theirs, budget));
        for (who, outcome) in outcomes {
            rows.push((endpoint, who, outcome));
        }
    }

    report::heading("P5 off EC2: time until a first read gives up");
    let configured_ours = format!(
        "timeout {} per attempt, {attempts} attempts, probe mode (1 attempt when IMDS \
         is absent)",
        report::duration(per_attempt)
    );
    match timeout {
        None => println!(
            "Each client with its defaults; a fresh client for every read. \
             {repeats} read(s) per client and endpoint, alternating the order."
        ),
        Some(t) => println!(
            "Quick mode: both clients' timeouts cut to {} (the defaults are \
             measured in full mode); {repeats} read(s) per client and endpoint.",
            report::duration(t)
        ),
    }
    println!();
    println!("- ours: {configured_ours}");
    println!("- aws-config: {}", aws::DEFAULTS);
    println!();
    let mut table = Table::new(&[
        "endpoint",
        "client",
        "gave up after (median)",
        "min",
        "max",
        "connections",
        "error",
    ]);
    for (endpoint, who, outcome) in rows {
        let s = outcome.times.summary();
        table.row(vec![
            endpoint.into(),
            match who {
                Who::Ours => "imds::Client (ours)".into(),
                Who::Aws => "aws-config imds::Client".into(),
            },
            precise(s.p50),
            precise(s.min),
            precise(s.max),
            outcome
                .connections
                .map_or("-".into(), |made| made.to_string()),
            outcome.error,
        ]);
    }
    table.print();
    println!();
    for verdict in verdicts {
        println!("- {verdict}");
    }
    println!(
        "(The budget allows 10 % over one timeout for scheduling; `connections` is the \
         most any one read opened to the silent listener.)"
    );
    Ok(failures)
}

/// P5's verdict for one place: our median give-up time against
/// aws-config's, and against our budget (10 % over it allowed for
/// scheduling).
pub(super) fn verdict(place: &str, ours: Duration, theirs: Duration, budget: Duration) -> String {
    let met = |met: bool| if met { "met" } else { "MISSED" };
    format!(
        "{place}: ours {} vs aws-config {} (ours ≤ theirs: {}; ours within its budget of {}: {})",
        precise(ours),
        precise(theirs),
        met(ours <= theirs),
        report::duration(budget),
        met(ours <= budget + budget / 10),
    )
}

/// Give-up times to a tenth of a millisecond: both clients give up near
/// the same second, and the difference is what is compared.
pub(super) fn precise(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        report::duration(d)
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    }
}

fn new_outcome() -> Outcome {
    Outcome {
        times: Samples::default(),
        connections: None,
        error: String::new(),
    }
}

fn our_client(url: &str, timeout: Option<Duration>) -> Result<imds::Client, BoxError> {
    let mut builder = imds::Client::builder()
        .env(imds::Env::from_map::<_, String, String>([]))
        .endpoint(url);
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    Ok(builder.build()?)
}

/// The error's first line, cut short for the table (no secret can be in
/// it: nothing was ever answered).
pub(super) fn short(error: &str) -> String {
    let line = error.lines().next().unwrap_or_default();
    let cut: String = line.chars().take(70).collect();
    let cut = cut.replace('|', "/");
    if cut.len() < line.len() {
        format!("{cut}…")
    } else {
        cut
    }
}
