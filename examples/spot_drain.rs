//! Spot drain: work until the instance is about to be interrupted, then
//! drain within the time left.
//!
//! ```text
//! cargo run --example spot_drain                                      # embedded mock; a Spot notice after 3 s
//! cargo run --example spot_drain -- --endpoint http://169.254.169.254 # on EC2
//! ```
//!
//! A worker takes jobs one after another. Meanwhile
//! `imds::Client::interruption` polls IMDS (every 5 s, riding out its
//! throttling and failures) until a Spot interruption notice appears or
//! Auto Scaling starts terminating the instance. Then the worker is told
//! to stop: it finishes the job in hand and takes no other, within the
//! time the notice leaves (less a safety margin). Without `--endpoint` it
//! starts `imds-mock` on loopback and has it announce a Spot termination
//! after 3 s, so it runs anywhere.

use std::sync::Arc;
use std::time::Duration;

use imds::events::Interruption;
use imds_mock::MockImds;
use tokio::sync::watch;
use tower::BoxError;

/// How long one job takes.
pub const JOB: Duration = Duration::from_secs(2);
/// Kept in hand before the deadline: the drain must be done by then.
pub const MARGIN: Duration = Duration::from_secs(20);
/// The drain's budget when IMDS gives no deadline (Auto Scaling: the
/// lifecycle hook's timeout, which the instance cannot read).
pub const NO_DEADLINE: Duration = Duration::from_secs(60);

/// What happened, for the test that runs the example.
#[derive(Debug)]
pub struct Drained {
    /// What IMDS announced.
    pub interruption: Interruption,
    /// Jobs finished, the one in hand at the notice included.
    pub jobs_done: u32,
    /// Time left before the deadline once drained; `None` without one.
    pub time_left: Option<Duration>,
}

/// Works until IMDS announces an interruption, then drains.
pub async fn run(client: &imds::Client) -> Result<Drained, BoxError> {
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(work(stopped));
    println!("working; polling IMDS for an interruption notice");

    let interruption = client.interruption().await?;
    let deadline = interruption.deadline();
    let budget = deadline
        .and_then(|deadline| deadline.duration_since(imds::clock::now()).ok())
        .unwrap_or(NO_DEADLINE)
        .saturating_sub(MARGIN);
    println!("interruption: {interruption:?}; draining within {budget:?}");

    stop.send_replace(true);
    let jobs_done = tokio::time::timeout(budget, worker)
        .await
        .map_err(|_| "the drain did not finish in time")??;
    // Checkpoint, deregister from the load balancer, flush logs: here.
    let time_left = deadline.and_then(|deadline| deadline.duration_since(imds::clock::now()).ok());
    println!("drained after {jobs_done} jobs; time left: {time_left:?}");
    Ok(Drained {
        interruption,
        jobs_done,
        time_left,
    })
}

/// Takes jobs until told to stop; a job started is finished.
async fn work(mut stopped: watch::Receiver<bool>) -> u32 {
    let mut done = 0;
    while !*stopped.borrow_and_update() {
        tokio::time::sleep(JOB).await;
        done += 1;
    }
    done
}

/// Has `mock` announce a Spot termination `after` from now, two minutes
/// ahead, as EC2 does (`spot/instance-action` and `spot/termination-time`).
pub fn announce_spot_termination(mock: Arc<MockImds>, after: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let time = humantime::format_rfc3339_seconds(imds::clock::now() + Duration::from_secs(120));
        mock.set_metadata(
            "meta-data/spot/instance-action",
            format!(r#"{{"action": "terminate", "time": "{time}"}}"#),
        );
        mock.set_metadata("meta-data/spot/termination-time", time.to_string());
    });
}

#[allow(dead_code)] // not used when a test includes this file as a module
#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let endpoint = match (args.next().as_deref(), args.next()) {
        (None, _) => None,
        (Some("--endpoint"), Some(url)) => Some(url.trim_end_matches('/').to_owned()),
        _ => {
            eprintln!("usage: spot_drain [--endpoint URL]");
            std::process::exit(2);
        }
    };
    match endpoint {
        Some(base) => {
            let client = imds::Client::builder().endpoint(base).build()?;
            run(&client).await?;
        }
        None => {
            let mock = Arc::new(MockImds::start_default().await?);
            println!(
                "no --endpoint given: using the embedded mock IMDS at {}, which announces a \
                 Spot termination in 3 s\n",
                mock.base_url()
            );
            announce_spot_termination(Arc::clone(&mock), Duration::from_secs(3));
            let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
            run(&client).await?;
        }
    }
    Ok(())
}
