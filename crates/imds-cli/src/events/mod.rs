//! `imds events`: the state of the interruption and maintenance events, or
//! (`--watch`) their changes as JSON lines, through the client's watcher.

mod args;
mod exec;
mod stop;

use std::time::Duration;

use futures_util::StreamExt;
use imds::Client;
use imds::events::{
    Event, EventKind, MaintenanceEvent, RebalanceRecommendation, Snapshot, SpotInstanceAction,
    TargetLifecycleState,
};
use serde::Serialize;

pub use self::args::{EventsArgs, HELP};
use self::exec::Outcome;
use self::stop::{Stop, Stopped};
use crate::exit::Failure;
use crate::output;

/// `imds events [--watch ...]`.
pub async fn run(client: &Client, args: &EventsArgs) -> Result<(), Failure> {
    let watched = args.watched();
    let mut watch = client.events().kinds(watched.iter().copied());
    if let Some(interval) = args.interval {
        watch = watch.interval(interval);
    }
    if !args.watch {
        let snapshot = watch.snapshot().await?;
        let document = snapshot_json(&snapshot, &watched);
        return Ok(output::write_stdout(
            output::json_line(&document, true).as_bytes(),
        )?);
    }
    let mut events = watch.stream();
    // With --exec, signals are ours to handle (see `stop`); without, they
    // end the process as usual.
    let mut exec = match &args.exec {
        Some(command) => {
            let stop = Stop::listen()
                .map_err(|error| Failure::Other(format!("cannot listen for signals: {error}")))?;
            Some((command.as_str(), stop))
        }
        None => None,
    };
    loop {
        let item = match exec.as_mut() {
            Some((_, stop)) => tokio::select! {
                item = events.next() => item,
                stopped = stop.received() => return Err(stopped_failure(stopped, false)),
            },
            None => events.next().await,
        };
        let Some(item) = item else { break };
        let event = match item {
            Ok(event) => event,
            // The first item, at once, and the stream's last.
            Err(error @ imds::Error::Disabled(_)) => return Err(error.into()),
            Err(error) => {
                // No secret in a client error; stderr may be a log.
                eprint!("{}", Failure::from(error));
                continue;
            }
        };
        let line = output::json_line(&event, false);
        if !output::try_write_stdout(line.as_bytes())? {
            return Ok(()); // stdout closed: nobody is listening
        }
        let ran = match exec.as_mut() {
            Some((command, stop)) => {
                let stopping = stop.received();
                match run_exec(command, args.exec_timeout(), &event, &line, stopping).await {
                    Ran::Succeeded => true,
                    Ran::Failed => false,
                    Ran::Stopped(stopped) => return Err(stopped_failure(stopped, true)),
                }
            }
            None => true,
        };
        if args.until.contains(&event.kind()) && event.is_warning() {
            return if ran {
                Ok(())
            } else {
                Err(Failure::Other(format!(
                    "--exec's command failed for the {} event --until waited for",
                    event.kind()
                )))
            };
        }
    }
    Ok(())
}

/// How `--exec`'s command ended, for the watch.
enum Ran {
    Succeeded,
    /// It could not run, failed or was killed at its timeout (a line on
    /// stderr said so).
    Failed,
    /// A signal stopped the watch; the command was killed.
    Stopped(Stopped),
}

/// Runs `--exec`'s command for `event`, killing it after `timeout` or
/// when `stop` resolves.
async fn run_exec(
    command: &str,
    timeout: Duration,
    event: &Event,
    line: &str,
    stop: impl Future<Output = Stopped>,
) -> Ran {
    let failure = match exec::run(command, event, line, timeout, stop).await {
        Ok(Outcome::Exited(status)) if status.success() => return Ran::Succeeded,
        Ok(Outcome::Stopped(stopped)) => return Ran::Stopped(stopped),
        Ok(Outcome::Exited(status)) => format!("exited with {status}"),
        Ok(Outcome::TimedOut) => format!(
            "was killed after running for {}; raise --exec-timeout to give it longer",
            humantime::format_duration(timeout)
        ),
        Err(error) => format!("could not be run: {error}"),
    };
    eprintln!(
        "imds: --exec's command {failure} (event: {} {})",
        event.kind(),
        event.change()
    );
    Ran::Failed
}

/// The watch's end on a signal: exit 128 + its number, as shells report.
fn stopped_failure(stopped: Stopped, killed_command: bool) -> Failure {
    let message = if killed_command {
        format!(
            "stopped by {}; --exec's command was killed with its process group",
            stopped.name
        )
    } else {
        format!("stopped by {}", stopped.name)
    };
    Failure::Stopped {
        code: stopped.code,
        message,
    }
}

/// `imds events`'s document: the watched kinds, by name, in kind order.
#[derive(Serialize)]
struct Document<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    spot: Option<&'a Option<SpotInstanceAction>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rebalance: Option<&'a Option<RebalanceRecommendation>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maintenance: Option<&'a [MaintenanceEvent]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    autoscaling: Option<&'a Option<TargetLifecycleState>>,
}

/// The snapshot as one object, with the watched kinds only.
fn snapshot_json<'a>(snapshot: &'a Snapshot, watched: &[EventKind]) -> Document<'a> {
    let watching = |kind| watched.contains(&kind);
    Document {
        spot: watching(EventKind::Spot).then_some(&snapshot.spot),
        rebalance: watching(EventKind::Rebalance).then_some(&snapshot.rebalance),
        maintenance: watching(EventKind::Maintenance).then_some(&snapshot.maintenance[..]),
        autoscaling: watching(EventKind::AutoScaling).then_some(&snapshot.autoscaling),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_snapshot_document_holds_the_watched_kinds_by_name_in_kind_order() {
        let snapshot = Snapshot::default();
        assert_eq!(
            serde_json::to_string(&snapshot_json(&snapshot, &EventKind::ALL)).unwrap(),
            r#"{"spot":null,"rebalance":null,"maintenance":[],"autoscaling":null}"#
        );
        assert_eq!(
            serde_json::to_value(snapshot_json(&snapshot, &[EventKind::Maintenance])).unwrap(),
            json!({"maintenance": []})
        );
    }
}
